"""Loading the 党委's overview: every branch's `OrgState` (reminders.state.load_states) plus participation, in a fixed
number of aggregate queries whatever the number of branches (no query per branch).

Participation is read as one grouped query over the signed-in meetings of this month and last month: per meeting,
how many attended (present or late) and how many were excused (leave); those due are the ones the meeting's kinds
call (the branch's active members, its 委员 for a 支委会, a named 党小组's members) minus the excused.
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
from reminders.state import load_states, stream_rows
from storage import attendee_rules as who
from storage.attendance import ATTENDED
from storage.models import (
    Attendance,
    DuesPayment,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    Member,
    Organization,
    Role,
)
from storage.months import previous_month

BRANCH = "党支部"
GROUP = "党小组"


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


def load_participation(session: Session, states: list[OrgState], today: date, tz: tzinfo = DEFAULT_TZ,
                       tree: Mapping[int, OrgNode] | None = None) -> dict[int, Participation]:
    """Per branch: this month's signed-in meetings, else last month's. Those due at a meeting are the ones its
    kinds call (storage/attendee_rules.py): the branch, its 委员, or the 党小组 it names. A fixed number of
    queries for all branches: the meetings, their kinds, the groups they name, the committee roles, the groups'
    sizes."""
    if not states:
        return {}
    tree = tree if tree is not None else load_tree(session)
    first = date(today.year, today.month, 1)
    start = datetime.combine(add_months(first, -1), time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz)
    in_window = (Meeting.starts_at >= start, Meeting.starts_at < end)
    attended = func.sum(case((Attendance.status.in_(ATTENDED), 1), else_=0))
    excused = func.sum(case((Attendance.status == "leave", 1), else_=0))
    stmt = (select(Meeting.id, Meeting.organization_id, Meeting.starts_at, attended, excused)
            .join(Attendance, Attendance.meeting_id == Meeting.id).where(*in_window)
            .group_by(Meeting.id, Meeting.organization_id, Meeting.starts_at))
    size = {s.org_id: len(s.members) for s in states}
    groups_of = {o.id: o.parent_id for o in tree.values() if o.type == GROUP and o.parent_id in size}
    # every branch there is: whole tables (rows of other organisations are passed over), no IN lists — whose
    # chunks would add statements as the branches grow
    every = len(size) == sum(1 for o in tree.values() if o.type == BRANCH)
    branch_ids = None if every else sorted(size)
    kinds: dict[int, set[str]] = defaultdict(set)
    for meeting_id, kind in stream_rows(session, select(MeetingKind.meeting_id, MeetingKind.kind)
                                         .join(Meeting, Meeting.id == MeetingKind.meeting_id).where(*in_window),
                                         Meeting.organization_id, branch_ids):
        kinds[meeting_id].add(kind)
    named: dict[int, set[int]] = defaultdict(set)  # meeting → the 党小组 under its host it is held for
    for meeting_id, host, org_id in stream_rows(session, select(
            MeetingInvitation.meeting_id, Meeting.organization_id, MeetingInvitation.organization_id)
            .join(Meeting, Meeting.id == MeetingInvitation.meeting_id).where(*in_window),
            Meeting.organization_id, branch_ids):
        if groups_of.get(org_id) == host:
            named[meeting_id].add(org_id)
    unit_ids = None if every else sorted({*size, *groups_of})
    committee: dict[int, dict[int, int]] = defaultdict(dict)  # branch → 委员 id → the organisation they are in
    for member_id, member_org, role_org, role in stream_rows(session, select(
            Role.member_id, Member.organization_id, Role.organization_id, Role.role)
            .join(Member, Member.id == Role.member_id).where(Member.status == "active"),
            Role.organization_id, unit_ids):
        if who.is_committee_role(role):
            committee[groups_of.get(role_org, role_org)][member_id] = member_org
    group_size: dict[int, int] = {}
    if groups_of:  # the 党小组' sizes; no statement where there are none
        group_size = dict(stream_rows(session, select(Member.organization_id, func.count())
                                      .where(Member.status == "active").group_by(Member.organization_id),
                                      Member.organization_id, None if every else sorted(groups_of)))

    def expected(org_id: int, meeting_id: int) -> int:
        parts, groups, seats = who.audiences(kinds[meeting_id]), named[meeting_id], committee.get(org_id, {})
        if who.BRANCH in parts or (who.COMMITTEE in parts and not seats) or (who.GROUP in parts and not groups):
            return size[org_id]
        n = sum(group_size.get(g, 0) for g in groups) if who.GROUP in parts else 0
        if who.COMMITTEE in parts:  # the 委员 not already counted in a group named
            n += sum(1 for org in seats.values() if who.GROUP not in parts or org not in groups)
        return n

    by_month: dict[tuple[int, bool], list[int]] = defaultdict(lambda: [0, 0, 0])  # (org, this month) → n, att, due
    for meeting_id, org_id, starts, att, exc in stream_rows(session, stmt, Meeting.organization_id, branch_ids):
        if org_id not in size:
            continue
        this = starts.astimezone(tz).date() >= first
        acc = by_month[(org_id, this)]
        acc[0] += 1
        acc[1] += int(att or 0)
        acc[2] += max(expected(org_id, meeting_id) - int(exc or 0), int(att or 0))
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
    """Member id → the latest month paid up to last month: one query, a row per member. The month is a correlated
    max over the (member, month) index, a seek per member rather than a pass over every payment (a year of
    payments is 12 rows a member, and only the last one matters)."""
    through = previous_month(today)
    latest = (select(func.max(DuesPayment.month))
              .where(DuesPayment.member_id == Member.id, DuesPayment.month <= through).scalar_subquery())
    stmt = select(Member.id, latest)
    wanted = None
    if branch_ids is not None:  # the branches and their 党小组; every branch: the whole table, no IN lists
        wanted = set(branch_ids)
        wanted = sorted(o.id for o in tree.values() if o.id in wanted or o.parent_id in wanted)
    return {mid: month for mid, month in stream_rows(session, stmt, Member.organization_id, wanted)
            if month is not None}


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
    part = load_participation(session, states, today, tz, tree)
    latest = load_latest_paid(session, tree, None if every else ids, today)
    out = [(s, checkup(s, today, part.get(s.org_id), upper_settings(tree, s.org_id), latest)) for s in states]
    return sorted(out, key=lambda sc: (("红", "黄", "绿").index(sc[1].status), sc[1].org_id))
