"""Small helpers shared by the dues tests."""
from __future__ import annotations

from sqlalchemy import select

from bot.messages import Incoming, Reply
from storage.db import transaction
from storage.models import AuditLog, DuesPayment, DuesRate, Member, Organization

_ids = iter(range(1, 10**9))


def send(rt, user: str, text: str, chat_type: str = "private") -> Reply:
    return rt.router.handle(Incoming(platform="wecom", user_id=user, text=text, message_id=f"t-{next(_ids)}",
                                     chat_type=chat_type, conversation_id="grp-1" if chat_type == "group" else None))


def member_id(rt, userid: str) -> int:
    with transaction(rt.sessions) as s:
        return s.scalars(select(Member.id).where(Member.wecom_userid == userid)).one()


def rate_fen(rt, userid: str, year: int = 2026) -> int:
    with transaction(rt.sessions) as s:
        return s.scalars(select(DuesRate.monthly_fen).join(Member, Member.id == DuesRate.member_id)
                         .where(Member.wecom_userid == userid, DuesRate.year == year)).one()


def payments(rt, userid: str) -> dict[str, int]:
    with transaction(rt.sessions) as s:
        return {p.month: p.amount_fen for p in s.scalars(
            select(DuesPayment).join(Member, Member.id == DuesPayment.member_id).where(Member.wecom_userid == userid))}


def payment_count(rt) -> int:
    with transaction(rt.sessions) as s:
        return s.query(DuesPayment).count()


def audits(rt, action: str) -> list[AuditLog]:
    with transaction(rt.sessions) as s:
        rows = list(s.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))
        s.expunge_all()
        return rows


def add_member(rt, name: str, userid: str, branch: str, joined, mobile: str) -> int:
    with transaction(rt.sessions) as s:
        org = s.scalars(select(Organization).where(Organization.name == branch)).one()
        m = Member(name=name, mobile=mobile, wecom_userid=userid, organization_id=org.id, category="正式",
                   joined_on=joined)
        s.add(m)
        s.flush()
        return m.id
