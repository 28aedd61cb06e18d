"""Loading every branch's `OrgState` for a date in a few bulk queries (no per-branch round trips).

One query each for organisations, active members, roles, committee terms, meetings (with their kinds) around the
date, the first dues month per branch and the year's fixed dues amounts; dues payments come through
`storage.dues.paid_months` in chunks. Members of a 党小组 count as members of its 党支部.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reminders.rules import TZ, GroupState, MeetingRecord, OrgState, Person, Term
from storage.dues import paid_months
from storage.models import (
    CalendarOverride,
    CommitteeTerm,
    DuesPayment,
    DuesRate,
    Meeting,
    MeetingKind,
    Member,
    Organization,
    Role,
)

BRANCH, GROUP = "党支部", "党小组"
CHUNK = 5000  # ids per IN (...) list: well under SQLite's and PostgreSQL's bound-parameter limits
MEETINGS_BACK, MEETINGS_AHEAD = timedelta(days=460), timedelta(days=70)  # a year of cycles plus next month


def load_calendar(session: Session) -> dict[date, str]:
    return dict(session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all())


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def load_states(session: Session, today: date, org_ids: Iterable[int] | None = None) -> list[OrgState]:
    """Every 党支部's state (or only those in `org_ids`), ordered by organisation id."""
    conn = session.connection()  # Core rows: no ORM bookkeeping for hundreds of thousands of tuples
    orgs = {row.id: row for row in conn.execute(select(
        Organization.id, Organization.name, Organization.type, Organization.parent_id, Organization.settings))}
    wanted = set(org_ids) if org_ids is not None else None
    branches = [o for o in orgs.values() if o.type == BRANCH and (wanted is None or o.id in wanted)]
    if not branches:
        return []
    branch_ids = {b.id for b in branches}

    # 党小组 under a branch (one level, as the roster allows) and the organisation each member is counted in
    groups: dict[int, list[int]] = defaultdict(list)
    unit_of = {b.id: b.id for b in branches}
    for o in orgs.values():
        if o.type == GROUP and o.parent_id in branch_ids:
            groups[o.parent_id].append(o.id)
            unit_of[o.id] = o.parent_id

    # the 上级管理员 of each branch live in an ancestor: load those organisations' members too
    ancestors: dict[int, list[int]] = {}
    for b in branches:
        chain, pid = [], b.parent_id
        while pid is not None and pid not in chain:
            chain.append(pid)
            pid = orgs[pid].parent_id if pid in orgs else None
        ancestors[b.id] = chain
    upper_ids = {a for chain in ancestors.values() for a in chain}

    people: dict[int, Person] = {}
    members_of: dict[int, list[Person]] = defaultdict(list)
    member_orgs = list(unit_of) + list(upper_ids - set(unit_of))
    for chunk in _chunks(member_orgs):
        rows = conn.execute(select(Member.id, Member.name, Member.wecom_userid, Member.dingtalk_userid,
                                      Member.organization_id, Member.category, Member.joined_on)
                               .where(Member.organization_id.in_(chunk), Member.status == "active")
                               .order_by(Member.id))
        for mid, name, wecom, ding, org_id, category, joined in rows:
            p = Person(mid, name, wecom or ding, category, joined)
            people[mid] = p
            if org_id in unit_of:
                members_of[unit_of[org_id]].append(p)

    roles: dict[int, dict[str, list[Person]]] = defaultdict(lambda: defaultdict(list))
    for chunk in _chunks(list(unit_of) + list(upper_ids)):
        for mid, org_id, role in conn.execute(select(Role.member_id, Role.organization_id, Role.role)
                                                 .where(Role.organization_id.in_(chunk)).order_by(Role.member_id)):
            if mid in people:
                roles[org_id][role].append(people[mid])

    terms: dict[int, Term] = {}
    for chunk in _chunks(sorted(branch_ids)):
        for org_id, elected, years, ends in conn.execute(
                select(CommitteeTerm.organization_id, CommitteeTerm.elected_on, CommitteeTerm.term_years,
                       CommitteeTerm.ends_on).where(CommitteeTerm.organization_id.in_(chunk))
                .order_by(CommitteeTerm.elected_on)):
            terms[org_id] = Term(elected, years, ends)  # ordered by election: the last one is current

    meetings: dict[int, dict[datetime, set[str]]] = defaultdict(lambda: defaultdict(set))
    lo = datetime.combine(today, time(0), tzinfo=TZ) - MEETINGS_BACK
    hi = datetime.combine(today, time(0), tzinfo=TZ) + MEETINGS_AHEAD
    for chunk in _chunks(list(unit_of)):
        for mid, org_id, starts, kind in conn.execute(
                select(Meeting.id, Meeting.organization_id, Meeting.starts_at, MeetingKind.kind)
                .join(MeetingKind, MeetingKind.meeting_id == Meeting.id)
                .where(Meeting.organization_id.in_(chunk), Meeting.starts_at >= lo, Meeting.starts_at < hi)):
            meetings[org_id][(mid, starts)].add(kind)

    def records(org_id: int) -> tuple[MeetingRecord, ...]:
        return tuple(sorted(MeetingRecord(starts.astimezone(TZ).date(), frozenset(kinds))
                            for (_, starts), kinds in meetings.get(org_id, {}).items()))

    all_ids = [p.id for ps in members_of.values() for p in ps]
    paid: dict[int, set[str]] = {}  # one mapping for all branches: a member id belongs to one
    for chunk in _chunks(all_ids):
        paid.update(paid_months(session, chunk))
    dues_since: dict[int, str] = {}
    for chunk in _chunks(list(unit_of)):
        for org_id, first in conn.execute(
                select(Member.organization_id, func.min(DuesPayment.month))
                .join(DuesPayment, DuesPayment.member_id == Member.id)
                .where(Member.organization_id.in_(chunk)).group_by(Member.organization_id)):
            b = unit_of[org_id]
            dues_since[b] = min(first, dues_since.get(b, first))
    rated: set[tuple[int, int]] = set()
    for chunk in _chunks(all_ids):
        rated.update((mid, today.year) for (mid,) in conn.execute(
            select(DuesRate.member_id).where(DuesRate.member_id.in_(chunk), DuesRate.year == today.year)))

    rated_by: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for k in rated:
        rated_by[k[0]].append(k)

    out = []
    for b in sorted(branches, key=lambda o: o.id):
        ms = members_of.get(b.id, [])
        upper = next((tuple(roles[a]["上级管理员"]) for a in ancestors[b.id] if roles.get(a, {}).get("上级管理员")), ())
        group_states = tuple(GroupState(orgs[g].name, tuple(roles.get(g, {}).get("党小组长", ())), records(g))
                             for g in sorted(groups.get(b.id, ())))
        out.append(OrgState(
            org_id=b.id, name=b.name, settings=b.settings or {}, members=tuple(ms),
            roles={r: tuple(ps) for r, ps in roles.get(b.id, {}).items()}, upper_admins=upper,
            term=terms.get(b.id), meetings=records(b.id), groups=group_states,
            paid=paid, dues_since=dues_since.get(b.id),
            rated=frozenset(k for p in ms for k in rated_by.get(p.id, ()))))
    return out
