"""Small builders the reminder tests share: meetings, payments, dues rates and planning at a local time."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.rules import DEFAULT_TZ
from storage.models import DuesPayment, DuesRate, Meeting, MeetingKind, Member, Organization


def local(d: date, hour: int = 8) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=DEFAULT_TZ)


def org_id(session: Session, name: str) -> int:
    return session.scalars(select(Organization.id).where(Organization.name == name)).one()


def member(session: Session, userid: str) -> Member:
    return session.scalars(select(Member).where(Member.wecom_userid == userid)).one()


def add_meeting(session: Session, org_name: str, day: date, *kinds: str, hour: int = 14,
                status: str = "closed") -> Meeting:
    """A meeting of the branch: held and closed by default; status="scheduled" for one only arranged (安排), which
    stops counting once its day has passed without a sign-in."""
    starts = local(day, hour)
    m = Meeting(organization_id=org_id(session, org_name), title="、".join(kinds), starts_at=starts, status=status,
                signin_opens_at=starts - timedelta(minutes=30), signin_closes_at=starts + timedelta(hours=2),
                kind_rows=[MeetingKind(kind=k) for k in kinds])
    session.add(m)
    session.flush()
    return m


def branch_members(session: Session, org_name: str) -> list[Member]:
    return list(session.scalars(select(Member).where(Member.organization_id == org_id(session, org_name),
                                                     Member.status == "active").order_by(Member.id)))


def pay(session: Session, who: Member, month: str, on: date) -> None:
    session.add(DuesPayment(member_id=who.id, month=month, amount_fen=1000, paid_on=on))


def rate(session: Session, who: Member, year: int) -> None:
    session.add(DuesRate(member_id=who.id, year=year, monthly_fen=1000))


def committee_with_branches(session: Session, n: int) -> list[Organization]:
    """A 党委 (党委{n}) with n 党支部 under it (支部{n}-0, 支部{n}-1, …), flushed so their ids are set."""
    top = Organization(name=f"党委{n}", type="党委", settings={})
    session.add(top)
    session.flush()
    branches = [Organization(name=f"支部{n}-{b}", type="党支部", parent_id=top.id, settings={}) for b in range(n)]
    session.add_all(branches)
    session.flush()
    return branches
