"""Attendance rows and the rules read from them.

One row per meeting × member, guaranteed by the unique constraint: a sign-in is an INSERT … ON CONFLICT DO NOTHING,
so a burst of concurrent (or repeated) sign-ins can neither lose nor duplicate a row, whatever the interleaving.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Insert, bindparam, func, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_present
from storage.models import Attendance, Meeting, Member

PRESENT, LATE, LEAVE, ABSENT = "present", "late", "leave", "absent"
ATTENDED = (PRESENT, LATE)  # came: on time or late
STATUS_TEXT = {PRESENT: "出席", LATE: "迟到", LEAVE: "请假", ABSENT: "缺席"}
VIA_TEXT = {"code": "签到码", "qr": "扫码", "scan": "扫码", "manual": "书记登记", "opener": "发起签到"}


def status_for(meeting: Meeting, at: datetime, late_after_minutes: int) -> str:
    """Late when more than `late_after_minutes` after the start."""
    return LATE if at > meeting.starts_at + timedelta(minutes=late_after_minutes) else PRESENT


# built once per database kind, on first use: a sign-in burst runs it for every message, and building a statement
# costs more than running it (and building the PostgreSQL one at import would load that dialect on SQLite too)
_INSERT_ABSENT: dict[str, Insert] = {}


def _insert_absent(dialect: str) -> Insert:
    stmt = _INSERT_ABSENT.get(dialect)
    if stmt is None:
        stmt = _INSERT_ABSENT.setdefault(dialect, insert_unless_present(
            Attendance.__table__, ["meeting_id", "member_id"], dialect).returning(Attendance.__table__.c.id))
    return stmt
_ROW_FOR = select(Attendance).where(Attendance.meeting_id == bindparam("meeting_id"),
                                    Attendance.member_id == bindparam("member_id"))


def insert_once(session: Session, *, meeting_id: int, member_id: int, status: str, at: datetime, via: str,
                note: str | None = None, recorded_by_id: int | None = None) -> bool:
    """Insert the row unless one exists for this meeting × member; True when this call inserted it."""
    values = dict(meeting_id=meeting_id, member_id=member_id, status=status, at=at, via=via, note=note,
                  recorded_by_id=recorded_by_id)
    stmt = _insert_absent(session.get_bind().dialect.name)  # settings admit only SQLite and PostgreSQL
    return session.connection().execute(stmt, values).scalar() is not None


def row_for(session: Session, meeting_id: int, member_id: int) -> Attendance | None:
    return session.scalars(_ROW_FOR, {"meeting_id": meeting_id, "member_id": member_id}).first()


def signed_in_count(session: Session, meeting_id: int) -> int:
    """How many came to the meeting (on time or late)."""
    return session.scalar(select(func.count()).select_from(Attendance).where(
        Attendance.meeting_id == meeting_id, Attendance.status.in_(ATTENDED)))


def rows_by_member(session: Session, meeting_id: int) -> dict[int, Attendance]:
    return {a.member_id: a for a in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))}


@dataclass
class Summary:
    """Who came, who was late, who had leave, who was missing; participation = (present + late) ÷ (expected − leave)."""

    expected: list[Member]
    present: list[Member] = field(default_factory=list)
    late: list[Member] = field(default_factory=list)
    leave: list[Member] = field(default_factory=list)
    absent: list[Member] = field(default_factory=list)
    rows: dict[int, Attendance] = field(default_factory=dict)
    audience: str = ""  # who the meeting is for when not the whole branch: 支部委员, 第一党小组
    committee: frozenset[int] = frozenset()  # a 支委会's 委员 (member ids), whose presence makes its quorum
    committee_size: int | None = None  # None: not a 支委会 (or no 委员 on record)

    @property
    def committee_attended(self) -> int:
        return sum(m.id in self.committee for m in (*self.present, *self.late))

    @property
    def attended(self) -> int:
        return len(self.present) + len(self.late)

    @property
    def due(self) -> int:
        return len(self.expected) - len(self.leave)

    @property
    def participation(self) -> float | None:
        return self.attended / self.due if self.due > 0 else None

    def below(self, threshold: float) -> bool:
        return self.participation is not None and self.participation < threshold


def summarize(expected: list[Member], rows: dict[int, Attendance]) -> Summary:
    summary = Summary(expected=list(expected), rows=rows)
    buckets = {PRESENT: summary.present, LATE: summary.late, LEAVE: summary.leave, ABSENT: summary.absent}
    for member in expected:
        row = rows.get(member.id)
        buckets[row.status if row is not None else ABSENT].append(member)
    return summary


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
