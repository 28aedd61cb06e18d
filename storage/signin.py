"""Signing one member in to one meeting: the rules shared by the code (签到 4827) and the QR scan.

Once per member (the unique row), only members of the host or an invited organisation, only while the window is
open. Refusals carry a reason; the wording is the caller's, so each channel can say what to do next.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from storage import attendance as att
from storage.meetings import may_attend
from storage.models import Attendance, Meeting, Member
from storage.org_settings import get_setting

OUT_OF_SCOPE, NOT_OPEN, ENDED = "out_of_scope", "not_open", "ended"
BY_OPENER = "opener"  # `via` of the committee member who opened the sign-in on the spot


class SignInRefused(Exception):
    def __init__(self, reason: str, meeting: Meeting) -> None:
        super().__init__(reason)
        self.reason = reason
        self.meeting = meeting


@dataclass
class SignedIn:
    row: Attendance
    new: bool  # False: the member had already signed in (row.at says when)
    replaced: str | None = None  # the status text of a leave/absence record the sign-in replaced

    @property
    def status(self) -> str:
        return self.row.status


def is_live(meeting: Meeting, now: datetime) -> bool:
    return meeting.status != "closed" and meeting.signin_closes_at > now


def sign_in(session: Session, meeting: Meeting, member: Member, now: datetime, via: str) -> SignedIn:
    """Record the member's attendance; raises SignInRefused. Two concurrent calls end with one row."""
    if not is_live(meeting, now):
        raise SignInRefused(ENDED, meeting)
    if not may_attend(meeting, member):
        raise SignInRefused(OUT_OF_SCOPE, meeting)
    if now < meeting.signin_opens_at:
        raise SignInRefused(NOT_OPEN, meeting)
    status = att.status_for(meeting, now, get_setting(meeting.organization, "late_after_minutes"))
    inserted = att.insert_once(session, meeting_id=meeting.id, member_id=member.id, status=status, at=now, via=via)
    row = att.row_for(session, meeting.id, member.id)
    if inserted or row.status in (att.PRESENT, att.LATE):
        return SignedIn(row=row, new=inserted)
    # a leave (or refused leave) on record, and the member came after all: the attendance replaces it
    was = att.STATUS_TEXT[row.status]
    note = f"原登记为{was}" + (f"：{row.note}" if row.note else "")
    row.status, row.at, row.via, row.note, row.recorded_by_id = status, now, via, note, None
    return SignedIn(row=row, new=True, replaced=was)
