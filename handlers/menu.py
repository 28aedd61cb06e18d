"""帮助 / 菜单: what this member may do, by role."""
from __future__ import annotations

from bot.context import Context
from bot.messages import Incoming, Reply
from bot.router import Handler

SECTIONS = ("党员", "支部委员", "党费管理员", "上级管理员")


def help_reply(incoming: Incoming, ctx: Context) -> Reply:
    visible = [h for h in ctx.handlers if h.allowed(ctx.roles) and h.summary]
    roles = "、".join(sorted(ctx.roles.names())) or "党员"
    lines = [f"{ctx.speaker.name}同志，你好！你的身份：{roles}。可以发送："]
    for section in SECTIONS:
        items = [h for h in visible if h.section == section]
        if not items:
            continue
        lines.append("" if section == "党员" else f"\n〔{section}〕")
        lines.extend(f"· {h.example or h.commands[0]}：{h.summary}" for h in items)
    lines.append("\n办事流程和规定可以直接问，例如“预备期多长”。")
    return Reply(text="\n".join(line for line in lines if line != ""))


HANDLERS = (
    Handler(name="help", func=help_reply, commands=("帮助", "菜单", "help", "?", "？"),
            summary="看看我能做什么", example="帮助"),
)
