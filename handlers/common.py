"""Small helpers handlers share: which organisation a secretary acts for, masking, dates."""
from __future__ import annotations

from sqlalchemy import select

from bot.core import Context, UserError
from bot.roles import SECRETARY_ROLES
from storage.models import Member, Organization
from storage.quoting import clip


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


def chosen_branch(ctx: Context, command: str) -> Organization | None:
    """A 上级管理员 viewing a branch under them (`待办提醒 第二党支部`): that branch. None when the speaker acts for
    their own branch instead (no name given, or what follows is not a branch name and they hold a committee role).
    A name outside their organisations is "not found", like one that does not exist."""
    from reminders.oversight_state import branches_under, load_tree

    admin = ctx.roles.orgs_where("上级管理员")
    if not admin:
        return None
    name = ctx.args.strip().split(" ")[0] if ctx.args.strip() else ""
    committee = bool(ctx.roles.orgs_where(*SECRETARY_ROLES))
    if not name:
        if committee:
            return None
        raise UserError(f"请写支部名称，例如“{command} 第一党支部”。")
    tree = load_tree(ctx.session)
    for org_id in branches_under(tree, admin):
        if tree[org_id].name == name:
            return ctx.session.get(Organization, org_id)
    if committee and (name.isdigit() or not name.endswith("支部")):
        return None
    raise UserError(f"没有找到“{clip(name)}”。请写你所辖党支部的全称，发送“支部概况”可查看支部列表。")
