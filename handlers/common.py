"""Small helpers handlers share: which organisation a secretary acts for, masking, dates."""
from __future__ import annotations

from sqlalchemy import select

from bot.core import Context, UserError
from bot.roles import SECRETARY_ROLES
from storage.models import Member, Organization


def managed_org(ctx: Context, roles: frozenset[str] | set[str] = SECRETARY_ROLES) -> Organization:
    """The organisation the speaker acts for with one of `roles`: their own when they hold it there."""
    orgs = ctx.roles.orgs_where(*roles)
    if not orgs:
        raise UserError("你没有这项操作所需的职务。")
    org_id = ctx.member.organization_id if ctx.member.organization_id in orgs else min(orgs)
    return ctx.session.get(Organization, org_id)


def active_members(ctx: Context, org: Organization) -> list[Member]:
    return list(ctx.session.scalars(select(Member).where(Member.organization_id == org.id,
                                                         Member.status == "active").order_by(Member.id)))


def mask_mobile(mobile: str | None) -> str:
    return f"尾号{mobile[-4:]}" if mobile else "未登记手机"
