"""帮助 / 菜单: what this member may do, by role."""
from __future__ import annotations

from functools import lru_cache

from bot.core import Context, Handler, Incoming, Reply
from bot.roles import RoleSet

SECTIONS = ("党员", "支部委员", "党费管理员", "上级管理员")


def help_reply(incoming: Incoming, ctx: Context) -> Reply:
    roles = "、".join(sorted(ctx.roles.names())) or "党员"
    return Reply(text=f"{ctx.member.name}同志，你好！你的身份：{roles}。可以发送：\n{menu(ctx.handlers, ctx.roles)}")


@lru_cache(maxsize=64)
def menu(handlers: tuple[Handler, ...], roles: RoleSet) -> str:
    """What these roles may send, by section. The same for everyone who holds them, and asked on every opening of
    the app (enter_agent answers with 帮助): built once per role set and router."""
    visible = [h for h in handlers if h.allowed(roles) and h.summary]
    lines = []
    for section in SECTIONS:
        items = [h for h in visible if h.section == section]
        if not items:
            continue
        lines.append("" if section == "党员" else f"\n〔{section}〕")
        lines.extend(f"· {h.example or h.commands[0]}：{h.summary}" for h in items)
    lines.append("\n办事流程和规定可以直接问，例如“预备期多长时间”。")
    return "\n".join(line for line in lines if line != "")


HANDLERS = (
    Handler(name="help", func=help_reply, commands=("帮助", "菜单", "help", "?", "？"),
            summary="看看我能做什么", example="帮助"),
)
