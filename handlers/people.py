"""Finding the person a secretary names, and reaching people by push.

`pick_member` answers a name with the one member it means, or asks which one (a numbered choice showing branch and
the last digits of the mobile) when several share it. The caller registers a pending resolver for `kind` and calls
`chosen_member` there with the payload it gets back.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from bot.core import Context, Reply, UserError
from bot.push import choose_platform
from handlers.common import mask_mobile
from storage.models import Member, Organization, Role
from storage.quoting import clip

log = logging.getLogger(__name__)


def members_named(ctx: Context, name: str, org_ids: Iterable[int]) -> list[Member]:
    """Active members of `org_ids` called `name`, however it was typed (names are stored normalised: storage.names)."""
    from storage.names import normalize_name

    return list(ctx.session.scalars(select(Member).where(
        Member.name == normalize_name(name), Member.organization_id.in_(set(org_ids)), Member.status == "active")
        .order_by(Member.organization_id, Member.id)))


def describe_member(member: Member) -> str:
    return f"{member.name}（{member.organization.name}，{mask_mobile(member.mobile)}）"


def pick_member(ctx: Context, name: str, org_ids: Iterable[int], *, kind: str, payload: dict[str, Any],
                action: str) -> Member | Reply:
    """The one active member called `name` in `org_ids`; several → a numbered question (pending `kind`); none → error."""
    found = members_named(ctx, name, org_ids)
    if not found:
        raise UserError(f"没有找到名为“{clip(name)}”的党员。请核对姓名（发送「党员名单」可查看本支部名单）。")
    return pick_from(ctx, name, found, kind=kind, payload=payload, action=action)


def pick_from(ctx: Context, name: str, found: list[Member], *, kind: str, payload: dict[str, Any],
              action: str) -> Member | Reply:
    """One of `found` (all called `name`): itself when alone, else a numbered question remembered as pending `kind`."""
    if len(found) == 1:
        return found[0]
    if len(found) > 9:
        raise UserError(f"名为“{clip(name)}”的党员超过9位，请联系管理员在名单中区分后再试。")
    ctx.set_pending(kind, {**payload, "candidates": [m.id for m in found]})
    lines = [f"有 {len(found)} 位党员名叫“{clip(name)}”，{action}的是哪一位？请回复序号："]
    lines += [f"{i}. {describe_member(m)}" for i, m in enumerate(found, start=1)]
    return Reply(text="\n".join(lines))


def chosen_member(ctx: Context, payload: dict[str, Any]) -> Member:
    """The member picked by the numbered reply; refuses a number out of range."""
    candidates = payload.get("candidates", [])
    choice = payload.get("choice", 0)
    if not 1 <= choice <= len(candidates):
        raise UserError(f"请回复 1 到 {len(candidates)} 之间的序号。")
    member = ctx.session.get(Member, candidates[choice - 1])
    if member is None or member.status != "active":
        raise UserError("这位党员已不在名单中，请重新发送原来的命令。")
    return member


def secretaries_of(ctx: Context, org: Organization) -> list[Member]:
    """The 书记 of an organisation; the 副书记 or 组织委员 when it has none."""
    for roles in (("书记",), ("副书记", "组织委员")):
        found = list(ctx.session.scalars(select(Member).join(Role, Role.member_id == Member.id).where(
            Role.organization_id == org.id, Role.role.in_(roles), Member.status == "active").order_by(Member.id)))
        if found:
            return found
    return []


def push_to(ctx: Context, member: Member, reply: Reply, key: str) -> bool:
    """Tell `member` (not the asker) through the outbox once this message's writes are committed (Context.notify).

    True when a platform reaches the member; when none does, nothing is queued and the caller says so.
    """
    if choose_platform(member, member.organization, set(ctx.services.pushers)) is None:
        log.warning("no platform reaches member %s for %s", member.id, key)
        return False
    ctx.notify(member, reply.as_text(), key)
    return True
