"""Loading the 党委's overview: every branch's `OrgState` (reminders.state.load_states) plus participation, in a fixed
number of aggregate queries whatever the number of branches (no query per branch).

Participation is read as one grouped query over the signed-in meetings of this month and last month: per meeting,
how many attended (present or late) and how many were excused (leave); those due are the branch's active members
minus the excused.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from reminders.oversight_rules import Checkup, Participation, checkup
from reminders.rules import DEFAULT_TZ, OrgState, add_months
from reminders.state import chunked_rows, load_states
from storage.models import Attendance, DuesPayment, Meeting, Member, Organization
from storage.months import previous_month

BRANCH = "党支部"


class OrgNode(NamedTuple):
    id: int
    name: str
    type: str
    parent_id: int | None
    settings: Mapping[str, Any] | None


def load_tree(session: Session) -> dict[int, OrgNode]:
    """Every organisation, one query: the tree is walked in memory."""
    return {r.id: OrgNode(r.id, r.name, r.type, r.parent_id, r.settings) for r in session.connection().execute(
        select(Organization.id, Organization.name, Organization.type, Organization.parent_id, Organization.settings))}


def ancestors(tree: Mapping[int, OrgNode], org_id: int) -> list[int]:
    """The organisation's ancestors, nearest first."""
    out: list[int] = []
    pid = tree[org_id].parent_id if org_id in tree else None
    while pid is not None and pid in tree and pid not in out:
        out.append(pid)
        pid = tree[pid].parent_id
    return out


def branches_under(tree: Mapping[int, OrgNode], roots: Iterable[int]) -> list[int]:
    """The 党支部 in the subtrees of `roots` (a root that is a 党支部 counts itself)."""
    roots = set(roots)
    return sorted(o.id for o in tree.values()
                  if o.type == BRANCH and (o.id in roots or not roots.isdisjoint(ancestors(tree, o.id))))


def upper_settings(tree: Mapping[int, OrgNode], org_id: int) -> dict[str, Any]:
    """The ancestors' settings merged, the nearest winning: thresholds a 党委 sets apply to the branches below."""
    out: dict[str, Any] = {}
    for a in reversed(ancestors(tree, org_id)):
        out.update(tree[a].settings or {})
    return out


def load_participation(session: Session, states: list[OrgState], today: date,
                       tz: tzinfo = DEFAULT_TZ) -> dict[int, Participation]:
    """Per branch: this month's signed-in meetings, else last month's (one grouped query for all branches)."""
    if not states:
        return {}
    first = date(today.year, today.month, 1)
    start = datetime.combine(add_months(first, -1), time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    attended = func.sum(case((Attendance.status.in_(("present", "late")), 1), else_=0))
    excused = func.sum(case((Attendance.status == "leave", 1), else_=0))
    stmt = (select(Meeting.organization_id, Meeting.starts_at, attended, excused)
            .join(Attendance, Attendance.meeting_id == Meeting.id)
            .where(Meeting.starts_at >= start, Meeting.starts_at < end)
            .group_by(Meeting.id, Meeting.organization_id, Meeting.starts_at))
    size = {s.org_id: len(s.members) for s in states}
    by_month: dict[tuple[int, bool], list[int]] = defaultdict(lambda: [0, 0, 0])  # (org, this month) → n, att, due
    for org_id, starts, att, exc in chunked_rows(session, stmt, Meeting.organization_id, sorted(size)):
        if org_id not in size:
            continue
        this = starts.astimezone(tz).date() >= first
        acc = by_month[(org_id, this)]
        acc[0] += 1
        acc[1] += int(att or 0)
        acc[2] += max(size[org_id] - int(exc or 0), int(att or 0))
    out: dict[int, Participation] = {}
    last = add_months(first, -1)
    for org_id in size:
        for this, label in ((True, f"{first.month}月"), (False, f"{last.month}月")):
            acc = by_month.get((org_id, this))
            if acc:
                out[org_id] = Participation(label, *acc)
                break
    return out


def load_latest_paid(session: Session, tree: Mapping[int, OrgNode], branch_ids: list[int] | None,
                     today: date) -> dict[int, str]:
    """Member id → the latest month paid up to last month: one grouped query (a row per member, not per payment)."""
    through = previous_month(today)
    stmt = (select(DuesPayment.member_id, func.max(DuesPayment.month))
            .where(DuesPayment.month <= through).group_by(DuesPayment.member_id))
    if branch_ids is None:  # every branch: the whole table, no join
        return dict(session.connection().execute(stmt).all())
    wanted = set(branch_ids)  # the branches and their 党小组
    org_ids = sorted(o.id for o in tree.values() if o.id in wanted or o.parent_id in wanted)
    return dict(chunked_rows(session, stmt.join(Member, Member.id == DuesPayment.member_id),
                             Member.organization_id, org_ids))


def load_checkups(session: Session, today: date, branch_ids: Iterable[int], tz: tzinfo = DEFAULT_TZ,
                  tree: Mapping[int, OrgNode] | None = None) -> list[Checkup]:
    """The checkup of each branch in `branch_ids`, worst first (红, 黄, 绿), then in the order they were set up."""
    return [c for _state, c in load_branch_checkups(session, today, branch_ids, tz, tree)]


def load_branch_checkups(session: Session, today: date, branch_ids: Iterable[int], tz: tzinfo = DEFAULT_TZ,
                         tree: Mapping[int, OrgNode] | None = None) -> list[tuple[OrgState, Checkup]]:
    """Each branch's state with its checkup, in load_checkups' order: for a caller that checks other periods too
    (the 导出概况 workbook)."""
    ids = sorted(set(branch_ids))
    if not ids:
        return []
    tree = tree if tree is not None else load_tree(session)
    # every branch there is (the usual 上级管理员 of a whole 党委): whole tables, no IN lists of member ids
    every = len(ids) == sum(1 for o in tree.values() if o.type == BRANCH)
    wanted = set(ids)
    states = [s for s in load_states(session, today, None if every else ids, tz, dues=False) if s.org_id in wanted]
    part = load_participation(session, states, today, tz)
    latest = load_latest_paid(session, tree, None if every else ids, today)
    out = [(s, checkup(s, today, part.get(s.org_id), upper_settings(tree, s.org_id), latest)) for s in states]
    return sorted(out, key=lambda sc: (("红", "黄", "绿").index(sc[1].status), sc[1].org_id))
