"""Guessing sign-in codes: wrong codes are counted in the database, so every worker process sees the same count.

- A member with MEMBER_LIMIT wrong codes within MEMBER_WINDOW is paused for PAUSE from the last of them: every
  签到 by code is refused until then, a right one too (nothing is looked up and nothing recorded meanwhile, so the
  count starts afresh after the pause). On PostgreSQL the member's row is locked first, so that messages handled
  at once by several workers are counted one after another and a flood cannot slip past the limit.
- A meeting that sees MEETING_LIMIT wrong codes within MEETING_WINDOW tells its secretaries once: one outbox row
  each, inserted unless already there, in the transaction that recorded the wrong code.

A wrong code is one that opened no meeting the member may attend: it counts against the member's own open meeting,
or against the other branch's meeting the code belongs to. A member's rows older than KEEP go when they next get one.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_present
from storage.models import Meeting, Member, OutboxMessage, SigninFailure

MEMBER_LIMIT = 5
MEMBER_WINDOW = timedelta(minutes=10)
PAUSE = timedelta(minutes=10)
MEETING_LIMIT = 20
MEETING_WINDOW = timedelta(minutes=5)
KEEP = timedelta(days=1)
ALERT_KIND = "signin_guessing"
ALERT_RELEVANT = timedelta(hours=2)


def lock_member(session: Session, member_id: int) -> None:
    """Hold the member's row until the transaction ends (PostgreSQL; SQLite's writers already take turns). FOR NO KEY
    UPDATE: a QR sign-in of the same member inserting an attendance row (whose foreign key takes KEY SHARE on the
    member) is not blocked by it, so the two cannot deadlock on that row and the unique attendance key."""
    if session.get_bind().dialect.name == "postgresql":
        no_key_update = select(Member.id).where(Member.id == member_id).with_for_update(key_share=True)
        session.execute(no_key_update)


def paused_until(session: Session, member_id: int, now: datetime) -> datetime | None:
    """When the member's pause ends, if they are paused now: their last MEMBER_LIMIT wrong codes came within less
    than MEMBER_WINDOW, and PAUSE has not passed since the last. Nothing is recorded during a pause and PAUSE is no
    shorter than MEMBER_WINDOW, so the wrong codes before a pause never count towards the next one."""
    recent = session.scalars(select(SigninFailure.at).where(SigninFailure.member_id == member_id)
                             .order_by(SigninFailure.at.desc()).limit(MEMBER_LIMIT)).all()
    if len(recent) < MEMBER_LIMIT or recent[0] - recent[-1] >= MEMBER_WINDOW:
        return None
    until = recent[0] + PAUSE
    return until if now < until else None


def record_failure(session: Session, member_id: int, meeting_id: int | None, now: datetime) -> int:
    """Record one wrong code; the number the meeting has seen within MEETING_WINDOW (0 when none is meant)."""
    session.execute(delete(SigninFailure).where(SigninFailure.member_id == member_id, SigninFailure.at < now - KEEP))
    session.execute(insert(SigninFailure).values(member_id=member_id, meeting_id=meeting_id, at=now))
    if meeting_id is None:
        return 0
    return session.scalar(select(func.count()).select_from(SigninFailure).where(
        SigninFailure.meeting_id == meeting_id, SigninFailure.at > now - MEETING_WINDOW))


def alert_secretaries(session: Session, meeting: Meeting, secretaries: list[Member], text: str,
                      now: datetime) -> None:
    """The one notice per secretary that the meeting's code is being guessed (a second call inserts nothing)."""
    statement = insert_unless_present(OutboxMessage.__table__, ["dedupe_key"], session.get_bind().dialect.name)
    until = max(now, meeting.signin_closes_at) + ALERT_RELEVANT
    for secretary in secretaries:
        session.execute(statement.values(
            dedupe_key=f"{ALERT_KIND}:{meeting.id}:{secretary.id}", recipient_id=secretary.id, kind=ALERT_KIND,
            organization_id=meeting.organization_id, content={"title": "签到码疑被试猜", "text": text,
                                                              "kind": ALERT_KIND},
            due_at=now, relevant_until=until, status="pending", attempts=0, created_at=now))
