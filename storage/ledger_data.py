"""Gathers one organisation's month of meetings and attendance into the plain data the ledger workbook is built from.

Shared by the chat's 导出台账 and `zhibu ledger`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import attendance as att
from storage.attendance_ledger import LedgerMeeting, LedgerMember, LedgerRow, build_ledger, ledger_filename
from storage.meetings import audience, expected_members, invited_ids, kinds_text, meetings_between
from storage.models import Meeting, Member, Organization
from storage.org_settings import get_setting


class LedgerError(ValueError):
    """Nothing to export, with the reason in Chinese."""


@dataclass(frozen=True)
class MonthLedger:
    month: str  # YYYY-MM
    filename: str
    data: bytes
    meetings: int
    members: int


def month_meetings(session: Session, org: Organization, year: int, mon: int, tz: ZoneInfo,
                   now: datetime) -> list[Meeting]:
    """The meetings the month's ledger lists; LedgerError when there are none (the reason in Chinese)."""
    start = datetime.combine(date(year, mon, 1), time(0), tzinfo=tz)
    end = datetime.combine(date(year + mon // 12, mon % 12 + 1, 1), time(0), tzinfo=tz)
    if start > now:
        raise LedgerError(f"{year}年{mon}月还没到，没有台账可导出。")
    meetings = meetings_between(session, org, start, end, opened_by=now)
    if not meetings:
        raise LedgerError(f"{org.name}{year}年{mon}月没有会议签到记录，没有台账可导出。发起签到请发送：发起签到 主题党日")
    return meetings


def month_ledger(session: Session, org: Organization, year: int, mon: int, tz: ZoneInfo,
                 now: datetime) -> MonthLedger:
    """The .xlsx for meetings hosted by (or inviting) `org` that started in the month and whose sign-in has opened."""
    meetings = month_meetings(session, org, year, mon, tz, now)
    ledger_meetings = [ledger_meeting(session, m, tz) for m in meetings]
    members = [LedgerMember(m.id, m.name, m.category) for m in session.scalars(
        select(Member).where(Member.organization_id == org.id, Member.status == "active").order_by(Member.id))]
    known = {m.member_key for m in members}
    # someone who attended this month and has left since still belongs in the month's summary
    for lm in ledger_meetings:
        for row in lm.rows:
            member = session.get(Member, row.member_key)
            if row.member_key not in known and member.organization_id == org.id:
                members.append(LedgerMember(member.id, member.name, member.category))
                known.add(member.id)
    month = f"{year}-{mon:02d}"
    return MonthLedger(month=month, filename=ledger_filename(org.name, month),
                       data=build_ledger(org.name, month, ledger_meetings, members),
                       meetings=len(meetings), members=len(members))


def ledger_meeting(session: Session, meeting: Meeting, tz: ZoneInfo) -> LedgerMeeting:
    rows = att.rows_by_member(session, meeting.id)
    found = audience(session, meeting)

    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(tz).replace(tzinfo=None) if at else None  # Excel keeps wall-clock times

    ledger_rows = []
    for member in expected_members(session, meeting, found):
        row = rows.get(member.id)
        ledger_rows.append(LedgerRow(
            member_key=member.id, name=member.name, org=member.organization.name, category=member.category,
            status=row.status if row else None, at=local(row.at) if row else None, via=row.via if row else None,
            note=row.note if row else None))
    host = session.get(Member, meeting.created_by_id) if meeting.created_by_id else None
    scope = [meeting.organization.name, *(session.get(Organization, i).name for i in invited_ids(meeting))]
    who = f"（{found.text}）" if found.text else ""  # a 支委会: its 委员 only
    return LedgerMeeting(kinds=kinds_text(meeting), title=meeting.title, starts_at=local(meeting.starts_at),
                         place=meeting.place, host=host.name if host else "", scope="、".join(scope) + who,
                         threshold=get_setting(meeting.organization, "participation_threshold"), rows=ledger_rows)
