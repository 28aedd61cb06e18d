"""Loading every branch's `OrgState` for a date in a few bulk queries (no per-branch round trips).

One query each for organisations, active members, roles, committee terms, meetings (with their kinds) around the
date, dues payments of the last 13 months, the first dues month per branch and the year's fixed dues amounts.
Planning every branch reads whole tables (no IN lists to build); planning a few (a chat view) filters by
organisation in chunks. Rows are read as SQLAlchemy Core rows on the session's connection (no ORM objects for
hundreds of thousands of members). Members of a 党小组 count as members of its 党支部.

Dues: only payments from 13 months back are read. The rules never look further (the collection reminder wants
this month and next, an arrears run older than a year has no stage still relevant), and a full history through
`storage.dues.paid_months` would grow by 360,000 rows a year at 10,000 branches. The run itself is counted by
`storage.dues.consecutive_unpaid`.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from reminders.rules import DEFAULT_TZ, GroupState, MeetingRecord, OrgState, Person, Term, add_months
from storage.attendance import ATTENDED
from storage.dues import month_key
from storage.models import (
    Attendance,
    CalendarOverride,
    CommitteeTerm,
    DevelopmentMilestone,
    DevelopmentRecord,
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
DUES_MONTHS_BACK = 13
KIND_SEP = ","  # no meeting kind has one


def load_calendar(session: Session) -> dict[date, str]:
    return dict(session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all())


def _parts(stmt: Select, column: Any, ids: Sequence[Any] | None) -> list[Select]:
    """`stmt` whole, or (when `ids` is given) one statement per CHUNK of ids with `column` in them."""
    return [stmt] if ids is None else [stmt.where(column.in_(ids[i:i + CHUNK])) for i in range(0, len(ids), CHUNK)]


def chunked_rows(session: Session, stmt: Select, column: Any, ids: Sequence[Any] | None) -> list[Any]:
    """All rows of `stmt`, or (when `ids` is given) those whose `column` is in `ids`, chunked."""
    return list(stream_rows(session, stmt, column, ids))


def stream_rows(session: Session, stmt: Select, column: Any, ids: Sequence[Any] | None) -> Iterator[Any]:
    """chunked_rows one at a time, for a caller that keeps a digest of each row rather than the row: a row gone
    before the collector runs is never promoted, so a whole table read does not make Python's cyclic collector
    sweep every live object over and over (what made the 党委's overview of 1,000 branches super-linear)."""
    conn = session.connection()  # Core rows: no ORM bookkeeping for hundreds of thousands of tuples
    for part in _parts(stmt, column, ids):
        yield from conn.execute(part)


def load_states(session: Session, today: date, org_ids: Iterable[int] | None = None,
                tz: tzinfo = DEFAULT_TZ, dues: bool = True) -> list[OrgState]:
    """Every 党支部's state (or only those in `org_ids`), ordered by organisation id; `tz` is the configured zone
    (settings.tz): it decides which day a meeting was on, and the rules' dates and times mean it. With
    `dues=False` the payments and the year's amounts are not read (`paid` and `rated` are empty): for a caller that
    counts arrears with an aggregate of its own (reminders/oversight_state.py)."""
    orgs = {row.id: row for row in session.connection().execute(select(
        Organization.id, Organization.name, Organization.type, Organization.parent_id, Organization.settings)).all()}
    wanted = set(org_ids) if org_ids is not None else None
    branches = sorted((o for o in orgs.values() if o.type == BRANCH and (wanted is None or o.id in wanted)),
                      key=lambda o: o.id)
    if not branches:
        return []
    branch_ids = {b.id for b in branches}

    # 党小组 under a branch (one level, as the roster allows) and the branch each organisation's members count in
    groups: dict[int, list[int]] = defaultdict(list)
    unit_of = {b.id: b.id for b in branches}
    for o in orgs.values():
        if o.type == GROUP and o.parent_id in branch_ids:
            groups[o.parent_id].append(o.id)
            unit_of[o.id] = o.parent_id

    # the 上级管理员 of each branch is in an ancestor: those organisations' members are read too
    ancestors: dict[int, list[int]] = {}
    for b in branches:
        chain, pid = [], b.parent_id
        while pid is not None and pid not in chain:
            chain.append(pid)
            pid = orgs[pid].parent_id if pid in orgs else None
        ancestors[b.id] = chain
    upper_ids = {a for chain in ancestors.values() for a in chain}
    subset = None if wanted is None else sorted(set(unit_of) | upper_ids)

    people: dict[int, Person] = {}
    read_orgs = set(unit_of) | upper_ids
    members_of: dict[int, list[Person]] = defaultdict(list)
    for mid, name, wecom, ding, org_id, category, joined in stream_rows(session, select(
            Member.id, Member.name, Member.wecom_userid, Member.dingtalk_userid, Member.organization_id,
            Member.category, Member.joined_on).where(Member.status == "active").order_by(Member.id),
            Member.organization_id, subset):
        if org_id in read_orgs:
            p = people[mid] = Person(mid, name, wecom or ding, category, joined)
            unit = unit_of.get(org_id)
            if unit is not None:
                members_of[unit].append(p)

    roles: dict[int, dict[str, list[Person]]] = defaultdict(lambda: defaultdict(list))
    for mid, org_id, role in stream_rows(session, select(Role.member_id, Role.organization_id, Role.role)
                                          .order_by(Role.member_id), Role.organization_id, subset):
        if mid in people:
            roles[org_id][role].append(people[mid])

    terms: dict[int, Term] = {}
    for org_id, elected, years, ends in stream_rows(session, select(
            CommitteeTerm.organization_id, CommitteeTerm.elected_on, CommitteeTerm.term_years, CommitteeTerm.ends_on)
            .order_by(CommitteeTerm.elected_on), CommitteeTerm.organization_id, subset):
        terms[org_id] = Term(elected, years, ends)  # ordered by election: the last one is current

    meetings: dict[int, dict[int, MeetingRecord]] = defaultdict(dict)
    midnight = datetime.combine(today, time(0), tzinfo=tz)
    window = (Meeting.starts_at >= midnight - MEETINGS_BACK, Meeting.starts_at < midnight + MEETINGS_AHEAD)
    # an arranged meeting members signed in to without anyone opening it (its window opens by itself) has begun
    begun = {mid for (mid,) in stream_rows(session, select(Attendance.meeting_id).distinct()
                                           .join(Meeting, Meeting.id == Attendance.meeting_id)
                                           .where(*window, Meeting.status == "scheduled",
                                                  Attendance.status.in_(ATTENDED)),
                                           Meeting.organization_id, subset)}
    # a meeting's kinds come folded into its row (a meeting without any is no record); the few distinct kind sets
    # are shared by the thousands of meetings that have them
    shapes: dict[str, frozenset[str]] = {}
    for mid, org_id, starts, status, place, kinds in stream_rows(
            session, select(Meeting.id, Meeting.organization_id, Meeting.starts_at, Meeting.status, Meeting.place,
                            func.aggregate_strings(MeetingKind.kind, KIND_SEP))
            .join(MeetingKind, MeetingKind.meeting_id == Meeting.id).where(*window)
            .group_by(Meeting.id, Meeting.organization_id, Meeting.starts_at, Meeting.status, Meeting.place),
            Meeting.organization_id, subset):
        if org_id not in unit_of:
            continue
        local = starts.astimezone(tz)
        held = status != "scheduled" or mid in begun
        if not held and local.date() < today:
            continue  # arranged, but its day passed with no sign-in and no 登记会议: it was not held
        shape = shapes.get(kinds)
        if shape is None:
            shape = shapes[kinds] = frozenset(kinds.split(KIND_SEP))
        meetings[org_id][mid] = MeetingRecord(local.date(), shape, local, held, place or None)

    def records(org_id: int) -> tuple[MeetingRecord, ...]:
        return tuple(sorted(meetings.get(org_id, {}).values()))

    member_ids = None if subset is None else sorted(p.id for ps in members_of.values() for p in ps)
    since = month_key(add_months(date(today.year, today.month, 1), -DUES_MONTHS_BACK))
    paid: dict[int, set[str]] = defaultdict(set)  # one mapping for all branches: a member id belongs to one
    for mid, month in stream_rows(session, select(DuesPayment.member_id, DuesPayment.month)
                                   .where(DuesPayment.month >= since), DuesPayment.member_id, member_ids) if dues else ():
        paid[mid].add(month)
    dues_since: dict[int, str] = {}
    # each member's first month is a seek on the (member, month) index, not a pass over all their payments
    first_paid = select(func.min(DuesPayment.month)).where(DuesPayment.member_id == Member.id).scalar_subquery()
    firsts = select(Member.organization_id, first_paid.label("first")).subquery()
    for org_id, first in stream_rows(session, select(firsts.c.organization_id, func.min(firsts.c.first))
                                     .group_by(firsts.c.organization_id), firsts.c.organization_id, subset):
        if first is not None and org_id in unit_of:
            b = unit_of[org_id]
            dues_since[b] = min(first, dues_since.get(b, first))
    rated_by: dict[int, tuple[int, int]] = {}
    for (mid,) in stream_rows(session, select(DuesRate.member_id).where(DuesRate.year == today.year),
                               DuesRate.member_id, member_ids) if dues else ():
        rated_by[mid] = (mid, today.year)

    # 预备党员 whose 预备期 a 发展党员 record follows (not stopped): reminders/development_rules.py reminds of their 转正
    followed = set(session.scalars(select(DevelopmentRecord.member_id).where(
        DevelopmentRecord.member_id.is_not(None),
        ~select(DevelopmentMilestone.id).where(DevelopmentMilestone.record_id == DevelopmentRecord.id,
                                               DevelopmentMilestone.step == "stop").exists())))

    out = []
    for b in branches:
        ms = members_of.get(b.id, [])
        upper = next((tuple(roles[a]["上级管理员"]) for a in ancestors[b.id] if roles.get(a, {}).get("上级管理员")), ())
        group_states = tuple(GroupState(orgs[g].name, tuple(roles.get(g, {}).get("党小组长", ())), records(g))
                             for g in sorted(groups.get(b.id, ())))
        out.append(OrgState(
            org_id=b.id, name=b.name, settings=b.settings or {}, members=tuple(ms),
            roles={r: tuple(ps) for r, ps in roles.get(b.id, {}).items()}, upper_admins=upper,
            term=terms.get(b.id), meetings=records(b.id), groups=group_states, paid=paid,
            dues_since=dues_since.get(b.id),
            rated=frozenset(rated_by[p.id] for p in ms if p.id in rated_by),
            followed=frozenset(p.id for p in ms if p.id in followed), tz=tz))
    return out
