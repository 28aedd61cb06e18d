"""Meetings: kinds, sign-in codes, who is expected, which meeting a command means.

A meeting is *live* while it is not closed and its sign-in window has not ended; sign-in codes are unique among live
meetings. A scheduled meeting's window opens before it starts; one opened on the spot starts now.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.orm import Session, joinedload, object_session

from storage.attendance import Summary, rows_by_member, summarize
from storage.attendee_rules import BRANCH, COMMITTEE, GROUP, audiences, is_committee_role
from storage.models import (
    MEETING_KINDS,
    Attendance,
    Meeting,
    MeetingInvitation,
    MeetingKind,
    Member,
    Organization,
    Role,
)
from storage.orgs import descendants
from storage.quoting import clip

WINDOW = timedelta(hours=2)  # sign-in stays open this long after the start
OPENS_BEFORE = timedelta(minutes=30)  # a scheduled meeting's sign-in opens this long before it starts
KIND_ALIASES = {"主题党日活动": "主题党日", "支部委员会": "支委会", "支委会议": "支委会", "支部党员大会": "党员大会",
                "民主评议党员": "民主评议", "党小组会议": "党小组会", "专题组织生活会": "组织生活会"}
GROUP_ORG = "党小组"
CODE_LOCK = 5829_0001  # PostgreSQL advisory lock taken while choosing a code


class MeetingError(ValueError):
    """A reason in Chinese, for the member."""


def parse_kinds(token: str) -> list[str]:
    """'主题党日+党课' -> ['主题党日', '党课'] in the canonical order; ValueError names the unknown part."""
    parts = [p for p in token.replace("＋", "+").replace("、", "+").replace("和", "+").split("+") if p]
    kinds: list[str] = []
    for part in parts:
        kind = KIND_ALIASES.get(part, part)
        if kind not in MEETING_KINDS:
            raise MeetingError(f"“{clip(part)}”不是会议类型。可选：{'、'.join(MEETING_KINDS)}；"
                               "一次会议兼有几种时用“+”连接，如 主题党日+党课")
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        raise MeetingError(f"请写会议类型：{'、'.join(MEETING_KINDS)}")
    return sorted(kinds, key=MEETING_KINDS.index)


def is_kinds_token(token: str) -> bool:
    try:
        parse_kinds(token)
    except MeetingError:
        return False
    return True


def kinds_text(meeting: Meeting) -> str:
    return "+".join(sorted(meeting.kinds, key=MEETING_KINDS.index))


def label(meeting: Meeting) -> str:
    """主题党日+党课, with the title when the secretary gave one."""
    kinds = kinds_text(meeting)
    return kinds if meeting.title in ("", kinds) else f"{kinds}「{meeting.title}」"


def live_filter(now: datetime):
    return (Meeting.status != "closed", Meeting.signin_closes_at > now)


def allocate_code(session: Session, now: datetime, randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    """A 4-digit code no live meeting uses. On PostgreSQL an advisory lock keeps two secretaries from drawing the
    same code at once; SQLite writers are already serialised (BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": CODE_LOCK})
    used = set(session.scalars(select(Meeting.code).where(*live_filter(now), Meeting.code.is_not(None))))
    if len(used) >= 9000:
        raise MeetingError("进行中的签到太多，暂时分配不出签到码，请先结束已完成的签到。")
    while True:
        code = f"{1000 + randbelow(9000)}"
        if code not in used:
            return code


def create_meeting(session: Session, *, org: Organization, kinds: list[str], starts_at: datetime,
                   opens_at: datetime, closes_at: datetime, title: str | None, place: str | None,
                   creator: Member | None, invited: Iterable[Organization], status: str, now: datetime) -> Meeting:
    meeting = Meeting(organization_id=org.id, title=title or "+".join(kinds), starts_at=starts_at, place=place,
                      signin_opens_at=opens_at, signin_closes_at=closes_at, status=status,
                      code=allocate_code(session, now), created_by_id=creator.id if creator else None, created_at=now)
    meeting.kind_rows = [MeetingKind(kind=k) for k in kinds]
    meeting.invitations = [MeetingInvitation(organization_id=o.id) for o in invited if o.id != org.id]
    session.add(meeting)
    session.flush()
    return meeting


# one round trip for the meeting, its kinds, invitations and host; built once (a sign-in burst runs it per message)
_LIVE_BY_CODE = (select(Meeting).options(joinedload(Meeting.kind_rows), joinedload(Meeting.invitations),
                                         joinedload(Meeting.organization))
                 .where(Meeting.code == bindparam("code"), *live_filter(bindparam("now"))))


def find_live_by_code(session: Session, code: str, now: datetime) -> Meeting | None:
    found = session.scalars(_LIVE_BY_CODE, {"code": code, "now": now}).unique().all()
    return found[0] if found else None


def find_latest_by_code(session: Session, code: str) -> Meeting | None:
    return session.scalars(select(Meeting).where(Meeting.code == code).order_by(Meeting.starts_at.desc())).first()


def org_chain_ids(org: Organization) -> set[int]:
    """The organisation and every organisation above it."""
    ids = set()
    while org is not None:
        ids.add(org.id)
        org = org.parent
    return ids


def invited_ids(meeting: Meeting) -> set[int]:
    return {inv.organization_id for inv in meeting.invitations}


def in_scope(meeting: Meeting, member: Member) -> bool:
    """The member belongs to the host organisation (or a group under it) or to an invited one."""
    return bool(org_chain_ids(member.organization) & ({meeting.organization_id} | invited_ids(meeting)))


def may_attend(meeting: Meeting, member: Member) -> bool:
    """In scope, and among those the meeting's kinds are for (a 支委会 is for the 支部委员 only)."""
    if not in_scope(meeting, member):
        return False
    if BRANCH in audiences(meeting.kinds):
        return True
    found = audience_of(meeting)
    return member.id in found.committee or member.organization_id in found.everyone_in


def scope_org_ids(session: Session, meeting: Meeting) -> set[int]:
    roots = [meeting.organization, *(session.get(Organization, i) for i in invited_ids(meeting))]
    return {o.id for root in roots for o in (root, *descendants(session, root))}


@dataclass(frozen=True)
class Audience:
    """Who a meeting is for by its kinds (storage/attendee_rules.py): every active member of `everyone_in`, and the
    委员 in `committee`. `text` names them when that is not the whole branch (支部委员, 第一党小组)."""

    everyone_in: frozenset[int]
    committee: frozenset[int]
    text: str
    committee_size: int | None  # a 支委会: how many 委员 its quorum counts; None otherwise


def committee_ids(session: Session, org_ids: Iterable[int]) -> set[int]:
    """Active members holding a committee role (书记, 副书记, 委员) in these organisations."""
    rows = session.execute(select(Role.member_id, Role.role).join(Member, Member.id == Role.member_id).where(
        Role.organization_id.in_(list(org_ids)), Member.status == "active"))
    return {member_id for member_id, role in rows if is_committee_role(role)}


def named_groups(session: Session, meeting: Meeting) -> list[Organization]:
    """The 党小组 under the host a meeting names (they arrive as invitations: 发起签到 党小组会 第一党小组)."""
    found = (session.get(Organization, i) for i in sorted(invited_ids(meeting)))
    return [o for o in found if o is not None and o.type == GROUP_ORG and o.parent_id == meeting.organization_id]


def audience(session: Session, meeting: Meeting) -> Audience:
    """Whom the meeting's kinds call, within its host and invited organisations; a combined meeting, the union."""
    parts = audiences(meeting.kinds)
    scope = scope_org_ids(session, meeting)
    everyone: set[int] = set()
    committee: set[int] = set()
    said: list[str] = []
    groups = named_groups(session, meeting) if GROUP in parts else []
    if BRANCH in parts:
        everyone |= scope
    if COMMITTEE in parts:
        committee = committee_ids(session, scope)
        if committee:
            said.append("支部委员")
        else:  # no 委员 on record: the whole branch rather than nobody
            everyone |= scope
    if GROUP in parts:
        if groups:
            everyone |= {o.id for g in groups for o in (g, *descendants(session, g))}
            said.extend(g.name for g in groups)
        else:
            everyone |= scope
    whole = scope <= everyone
    return Audience(frozenset(everyone), frozenset(committee), "" if whole else "和".join(said),
                    len(committee) if COMMITTEE in parts and committee else None)


def audience_of(meeting: Meeting) -> Audience:
    return audience(object_session(meeting), meeting)


def due_members(session: Session, meeting: Meeting, found: Audience | None = None) -> list[Member]:
    """The active members the meeting's kinds are for."""
    found = found or audience(session, meeting)
    return list(session.scalars(select(Member).where(Member.status == "active", or_(
        Member.organization_id.in_(found.everyone_in), Member.id.in_(found.committee)))
        .order_by(Member.organization_id, Member.id)))


def expected_members(session: Session, meeting: Meeting, found: Audience | None = None) -> list[Member]:
    """Everyone due to attend: the active members the kinds are for, plus anyone with a record (who may have moved
    on since)."""
    found = found or audience(session, meeting)
    with_rows = select(Attendance.member_id).where(Attendance.meeting_id == meeting.id)
    return list(session.scalars(select(Member).where(or_(
        Member.organization_id.in_(found.everyone_in) & (Member.status == "active"),
        Member.id.in_(found.committee) & (Member.status == "active"),
        Member.id.in_(with_rows))).order_by(Member.organization_id, Member.id)))


def hosted_or_invited(org: Organization):
    invited = select(MeetingInvitation.meeting_id).where(MeetingInvitation.organization_id == org.id)
    return or_(Meeting.organization_id == org.id, Meeting.id.in_(invited))


def current_meeting(session: Session, org: Organization, now: datetime, code: str | None = None,
                    open_only: bool = False, hosted_only: bool = False) -> Meeting | None:
    """The meeting a secretary's 签到情况 / 结束签到 / 补签 means: the one with this code, else the latest whose sign-in
    has opened and is not closed, else (unless open_only) the latest that has started."""
    base = select(Meeting).where(Meeting.organization_id == org.id if hosted_only else hosted_or_invited(org))
    if code:
        return session.scalars(base.where(Meeting.code == code).order_by(Meeting.starts_at.desc())).first()
    found = session.scalars(base.where(Meeting.status != "closed", Meeting.signin_opens_at <= now)
                            .order_by(Meeting.starts_at.desc())).first()
    if found is not None or open_only:
        return found
    return session.scalars(base.where(Meeting.starts_at <= now).order_by(Meeting.starts_at.desc())).first()


def open_for_member(session: Session, member: Member, now: datetime) -> Meeting | None:
    """The latest meeting the member may attend whose sign-in is open now (what a wrong code of theirs was aimed at)."""
    found = open_meetings_for_member(session, member, now)
    return found[0] if found else None


def open_meetings_for_member(session: Session, member: Member, now: datetime) -> list[Meeting]:
    """Every meeting the member may attend whose sign-in is open now, latest first."""
    chain = org_chain_ids(member.organization)
    invited = select(MeetingInvitation.meeting_id).where(MeetingInvitation.organization_id.in_(chain))
    return [m for m in session.scalars(select(Meeting).where(
        *live_filter(now), Meeting.signin_opens_at <= now,
        or_(Meeting.organization_id.in_(chain), Meeting.id.in_(invited))).order_by(Meeting.starts_at.desc()))
        if may_attend(m, member)]


def open_hosted(session: Session, org: Organization, now: datetime) -> list[Meeting]:
    """The meetings `org` hosts whose sign-in is open now, latest first."""
    return list(session.scalars(select(Meeting).where(
        Meeting.organization_id == org.id, *live_filter(now), Meeting.signin_opens_at <= now)
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())))


def next_hosted(session: Session, org: Organization, now: datetime) -> Meeting | None:
    """The next meeting `org` hosts that has not started yet."""
    return session.scalars(select(Meeting).where(Meeting.organization_id == org.id, Meeting.status != "closed",
                                                 Meeting.starts_at > now).order_by(Meeting.starts_at)).first()


def planned_for_day(session: Session, org: Organization, kinds: list[str], now: datetime,
                    tz: tzinfo) -> Meeting | None:
    """A meeting `org` scheduled today with these kinds, or some of them (the 主题党日 a 请假 made from the rule, opened
    as 主题党日+党课), whose sign-in has not been opened: what a 发起签到 that day means (the leave already recorded
    on it stays), instead of a second meeting. Exact kinds first."""
    day = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)
    partial = None
    for meeting in session.scalars(select(Meeting).where(
            Meeting.organization_id == org.id, Meeting.status == "scheduled", Meeting.starts_at >= day,
            Meeting.starts_at < day + timedelta(days=1)).order_by(Meeting.starts_at)):
        if meeting.kinds == set(kinds):
            return meeting
        if meeting.kinds < set(kinds) and partial is None:
            partial = meeting
    return partial


def same_day_meetings(session: Session, org: Organization, at: datetime, tz: tzinfo) -> list[Meeting]:
    """The meetings `org` hosts on the (local) day of `at`."""
    day = datetime.combine(at.astimezone(tz).date(), time(0), tzinfo=tz)
    return list(session.scalars(select(Meeting).where(
        Meeting.organization_id == org.id, Meeting.starts_at >= day, Meeting.starts_at < day + timedelta(days=1))
        .order_by(Meeting.starts_at, Meeting.id)))


def recorded_meeting(meeting: Meeting) -> bool:
    """Recorded after the fact (登记会议): closed and never given a sign-in code."""
    return meeting.status == "closed" and meeting.code is None


def recorded_numbered(session: Session, org: Organization, number: int) -> Meeting | None:
    """The recorded meeting `org` hosts with this 编号 (its id), if any."""
    meeting = session.get(Meeting, number)
    return meeting if meeting is not None and meeting.organization_id == org.id and recorded_meeting(meeting) else None


def open_planned(meeting: Meeting, now: datetime, kinds: Iterable[str] = ()) -> Meeting:
    """Open a planned meeting's sign-in now: early, it keeps its start; past its window, it starts now. `kinds` the
    opener named beyond the planned ones are added (a 主题党日 held together with the quarter's 党课)."""
    meeting.kind_rows.extend(MeetingKind(kind=k) for k in kinds if k not in meeting.kinds)
    if meeting.signin_closes_at <= now:
        meeting.starts_at, meeting.signin_closes_at = now, now + WINDOW
    meeting.signin_opens_at = min(meeting.signin_opens_at, now)
    meeting.status = "open"
    return meeting


def upcoming_for_member(session: Session, member: Member, now: datetime, kinds: list[str] | None,
                        include_closed: bool = False) -> list[Meeting]:
    """Meetings the member is due at that have not started yet, soonest first (closed ones too when asked)."""
    chain = org_chain_ids(member.organization)
    invited = select(MeetingInvitation.meeting_id).where(MeetingInvitation.organization_id.in_(chain))
    q = select(Meeting).where(Meeting.starts_at > now,
                              or_(Meeting.organization_id.in_(chain), Meeting.id.in_(invited)))
    if not include_closed:
        q = q.where(Meeting.status != "closed")
    if kinds:
        q = q.where(Meeting.id.in_(select(MeetingKind.meeting_id).where(MeetingKind.kind.in_(kinds))))
    return [m for m in session.scalars(q.order_by(Meeting.starts_at)) if may_attend(m, member)]


def meetings_between(session: Session, org: Organization, start: datetime, end: datetime,
                     opened_by: datetime) -> list[Meeting]:
    """Meetings hosted by or inviting `org` that start in [start, end) and whose sign-in has opened."""
    return list(session.scalars(select(Meeting).where(
        hosted_or_invited(org), Meeting.starts_at >= start, Meeting.starts_at < end,
        Meeting.signin_opens_at <= opened_by).order_by(Meeting.starts_at, Meeting.id)))


def meeting_summary(session: Session, meeting: Meeting) -> Summary:
    """Who was expected and what each did: the roll behind 签到情况, 结束签到 and the projector."""
    found = audience(session, meeting)
    summary = summarize(expected_members(session, meeting, found), rows_by_member(session, meeting.id))
    summary.audience, summary.committee_size = found.text, found.committee_size
    summary.committee = frozenset(found.committee)
    return summary
