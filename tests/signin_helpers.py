"""Helpers shared by the sign-in tests: reading codes out of replies, moving the clock, looking at the rows."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from storage.db import transaction
from storage.models import Attendance, Meeting, Member, Organization, SigninFailure

BEIJING = ZoneInfo("Asia/Shanghai")


def code_of(reply: str) -> str:
    m = re.search(r"签到码：(\d{4})", reply)
    assert m, reply
    return m.group(1)


def beijing(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BEIJING)


def later(clock, minutes: float) -> None:
    clock.set(clock() + timedelta(minutes=minutes))


def rows(runtime, code: str | None = None) -> dict[str, Attendance]:
    """{member name: attendance} for the meeting with `code` (or every meeting when None)."""
    with transaction(runtime.sessions) as s:
        q = select(Member.name, Attendance).join(Attendance, Attendance.member_id == Member.id)
        if code is not None:
            q = q.join(Meeting, Meeting.id == Attendance.meeting_id).where(Meeting.code == code)
        return {name: a for name, a in s.execute(q)}


def meeting(runtime, code: str) -> Meeting:
    with transaction(runtime.sessions) as s:
        m = s.scalars(select(Meeting).where(Meeting.code == code).order_by(Meeting.id.desc())).first()
        _ = m.kinds, m.invitations  # load before the session closes
        return m


def add_member(runtime, name: str, org_name: str, uid: str, mobile: str) -> None:
    with transaction(runtime.sessions) as s:
        org = s.scalars(select(Organization).where(Organization.name == org_name)).one()
        s.add(Member(name=name, organization_id=org.id, wecom_userid=uid, mobile=mobile, category="正式"))


def failures(rt) -> int:
    """Wrong codes on record (the guessing guard's rows)."""
    with transaction(rt.sessions) as s:
        return s.scalar(select(func.count()).select_from(SigninFailure))


def meetings(rt) -> int:
    with transaction(rt.sessions) as s:
        return s.scalar(select(func.count()).select_from(Meeting))
