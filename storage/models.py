"""The schema: one typed model per table of DESIGN.md.

Money is integer fen; times are timezone-aware (UTC in the database); personal settings live in validated JSON.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORG_TYPES = ("党委", "党总支", "党支部", "党小组")
MEMBER_CATEGORIES = ("正式", "预备")
ROLE_NAMES = ("书记", "副书记", "组织委员", "宣传委员", "纪检委员", "党小组长", "党费管理员", "上级管理员")
MEETING_KINDS = ("主题党日", "支委会", "党员大会", "党小组会", "党课", "组织生活会", "民主评议")
ATTENDANCE_STATUSES = ("present", "late", "leave", "absent")
ATTENDANCE_VIA = ("code", "qr", "scan", "manual")
PAYMENT_SOURCES = ("manual", "import", "online")
OUTBOX_STATUSES = ("pending", "in_flight", "sent", "failed", "expired")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Organization | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Organization]] = relationship(back_populates="parent")
    members: Mapped[list[Member]] = relationship(back_populates="organization")
    terms: Mapped[list[CommitteeTerm]] = relationship(back_populates="organization", order_by="CommitteeTerm.elected_on")


class Member(Base):
    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(String(4), default="正式")
    joined_on: Mapped[date | None] = mapped_column(Date)
    full_member_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="active")
    # the platform this member last wrote from: pushes go there first
    last_platform: Mapped[str | None] = mapped_column(String(16))
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="members")
    roles: Mapped[list[Role]] = relationship(back_populates="member", cascade="all, delete-orphan")


class Role(Base):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("member_id", "organization_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))

    member: Mapped[Member] = relationship(back_populates="roles")
    organization: Mapped[Organization] = relationship()


class CommitteeTerm(Base):
    __tablename__ = "committee_terms"
    __table_args__ = (UniqueConstraint("organization_id", "elected_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    elected_on: Mapped[date] = mapped_column(Date)
    term_years: Mapped[int] = mapped_column(Integer, default=3)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="terms")


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str | None] = mapped_column(String(200))
    signin_opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signin_closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    code: Mapped[str | None] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")  # scheduled / open / closed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship()
    kind_rows: Mapped[list[MeetingKind]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    invitations: Mapped[list[MeetingInvitation]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def kinds(self) -> set[str]:
        return {k.kind for k in self.kind_rows}


class MeetingKind(Base):
    """A meeting's kinds are a set: a 主题党日 may also be the quarter's 党课."""

    __tablename__ = "meeting_kinds"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)


class MeetingInvitation(Base):
    """Other organisations invited to a joint meeting."""

    __tablename__ = "meeting_invitations"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)


class Attendance(Base):
    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    via: Mapped[str] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))


class SigninFailure(Base):
    """A 签到 whose code opened no meeting the member may attend (storage/signin_guard.py): five in ten minutes pause
    the member's sign-ins, twenty at one meeting in five minutes tell its secretary. Kept for a day."""

    __tablename__ = "signin_failures"
    __table_args__ = (Index("ix_signin_failures_member_id_at", "member_id", "at"),
                      Index("ix_signin_failures_meeting_id_at", "meeting_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    # the meeting the wrong code was aimed at: the member's own live one, or the other branch's the code opened
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class DuesRate(Base):
    __tablename__ = "dues_rates"
    __table_args__ = (UniqueConstraint("member_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    base_category: Mapped[str] = mapped_column(String(20), default="在职")
    base_fen: Mapped[int | None] = mapped_column(Integer)
    monthly_fen: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DuesPayment(Base):
    __tablename__ = "dues_payments"
    __table_args__ = (UniqueConstraint("member_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amount_fen: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    source: Mapped[str] = mapped_column(String(10), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """One push to one recipient; the dedupe key makes planning idempotent."""

    __tablename__ = "outbox"
    # only the indexes a query uses: every planned row updates each one, and a day can plan hundreds of thousands.
    # (status, due_at) serves the dispatcher's claim, recipient_id its per-member rate count.
    __table_args__ = (Index("ix_outbox_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    channel: Mapped[str | None] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    relevant_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlannerState(Base):
    __tablename__ = "planner_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    planned_for: Mapped[date] = mapped_column(Date, index=True)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    new_count: Mapped[int] = mapped_column(Integer, default=0)
    existing_count: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedMessage(Base):
    __tablename__ = "processed_messages"
    __table_args__ = (UniqueConstraint("platform", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reply: Mapped[str | None] = mapped_column(Text)  # the answer given, for a platform's retry of the message


class ConversationState(Base):
    """A pending choice (e.g. "reply 1/2/3") for one member on one platform."""

    __tablename__ = "conversation_state"
    __table_args__ = (UniqueConstraint("member_id", "platform"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PlatformToken(Base):
    __tablename__ = "platform_tokens"
    __table_args__ = (UniqueConstraint("platform", "app"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    app: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(String(600))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ServiceHeartbeat(Base):
    __tablename__ = "service_heartbeats"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(100))


class CalendarOverride(Base):
    """The State Council's schedule for a year the calendar package does not know yet: off or work."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(4))  # off / work
    note: Mapped[str | None] = mapped_column(String(100))


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    actor: Mapped[str] = mapped_column(String(100))  # a name, or "命令行"
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DevelopmentRecord(Base):
    """A person in the 发展党员 pipeline: one person, one record, from the application to the archive.

    Not necessarily in the roster: approval as a 预备党员 adds them (member_id), 转正 updates that member."""

    __tablename__ = "development_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the 党支部
    name: Mapped[str] = mapped_column(String(50))
    birth_on: Mapped[date | None] = mapped_column(Date)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    wecom_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    dingtalk_userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), unique=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship()
    member: Mapped[Member | None] = relationship()
    milestones: Mapped[list[DevelopmentMilestone]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="(DevelopmentMilestone.day, DevelopmentMilestone.id)")


class DevelopmentMilestone(Base):
    """One dated milestone of a record (storage/development_rules.py names them), with who recorded it, the rule
    version it was checked against and the warnings it was recorded with."""

    __tablename__ = "development_milestones"
    __table_args__ = (UniqueConstraint("record_id", "step", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("development_records.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(30))
    day: Mapped[date] = mapped_column(Date)
    end_day: Mapped[date | None] = mapped_column(Date)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(String(200))
    rule_version: Mapped[str] = mapped_column(String(4))
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    record: Mapped[DevelopmentRecord] = relationship(back_populates="milestones")


class ConsoleLogin(Base):
    """A console sign-in link that has been used: its token id, so the link works once."""

    __tablename__ = "console_logins"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(String(40), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
