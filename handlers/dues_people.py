"""Finding the member a secretary names, within the branch they act for; two people of one name → ask which.

The caller resumes through a pending choice: `ask_which` stores the candidates with the caller's own payload,
and the resolver registered for that kind gets them back with `pick(ctx, payload)`.
"""
from __future__ import annotations

from typing import Any

from bot.core import Context, Reply, UserError
from handlers.people import chosen_member
from storage.dues import branch_members
from storage.models import Member, Organization
from storage.quoting import clip

MAX_CHOICES = 9  # the router takes 1–9 as an answer


def resolve_member_by_name(ctx: Context, name: str, org: Organization) -> Member | list[Member]:
    """The one active member of `org` (and its 党小组) called `name`; a list when several share the name.
    Nobody of that name in the branch is a UserError (people of other branches are never looked at)."""
    from storage.names import normalize_name

    name = normalize_name(name)
    if not name:
        raise UserError("请写上党员姓名。")
    found = [m for m in branch_members(ctx.session, org) if normalize_name(m.name) == name]
    if not found:
        raise UserError(f"{org.name}没有名叫“{clip(name)}”的党员，请核对姓名。")
    return found[0] if len(found) == 1 else found[:MAX_CHOICES]


def describe(member: Member) -> str:
    mobile = f"手机尾号{member.mobile[-4:]}" if member.mobile else "未登记手机"
    joined = f"，{member.joined_on.isoformat()}入党" if member.joined_on else ""
    return f"{member.name}（{member.organization.name}，{mobile}{joined}）"


def ask_which(ctx: Context, kind: str, candidates: list[Member], payload: dict[str, Any], question: str) -> Reply:
    ctx.set_pending(kind, {**payload, "candidates": [m.id for m in candidates]})
    lines = [f"{question}有 {len(candidates)} 位同名党员，请回复序号选择："]
    lines += [f"{i}. {describe(m)}" for i, m in enumerate(candidates, start=1)]
    lines.append("10 分钟内有效；回复其他内容则取消。")
    return Reply(text="\n".join(lines), private=True)


def pick(ctx: Context, payload: dict[str, Any]) -> Member:
    """The member chosen by the answer, still active (the same check as sign-in's name choices)."""
    return chosen_member(ctx, payload)
