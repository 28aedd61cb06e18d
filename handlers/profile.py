"""我的信息: the member's own record."""
from __future__ import annotations

from bot.core import Context, Handler, Incoming, Reply
from storage.models import Organization


def my_info(incoming: Incoming, ctx: Context) -> Reply:
    m = ctx.member
    org_names = {o.id: o.name for o in ctx.session.query(Organization).filter(
        Organization.id.in_({org for _, org in ctx.roles.pairs} | {m.organization_id}))}
    roles = "、".join(f"{org_names[o]}{r}" for r, o in sorted(ctx.roles.pairs)) or "无"
    lines = [
        f"姓名：{m.name}",
        f"所在党组织：{org_names[m.organization_id]}",
        f"党员类别：{m.category}党员",
        f"入党日期：{m.joined_on.isoformat() if m.joined_on else '未登记'}",
    ]
    if m.category == "正式" and m.full_member_on:
        lines.append(f"转正日期：{m.full_member_on.isoformat()}")
    lines.append(f"职务：{roles}")
    lines.append("信息有误请联系支部组织委员更正。")
    return Reply(text="\n".join(lines), private=True)


HANDLERS = (
    Handler(name="my_info", func=my_info, commands=("我的信息", "个人信息"), keywords=(frozenset({"我的信息"}),),
            summary="查看自己的党员信息", example="我的信息"),
)
