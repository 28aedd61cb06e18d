"""管理后台: a one-time sign-in link to the read-only web console, for a 上级管理员 (the branches under their
organisation) or a 书记 / 副书记 (their own branch). Sent only in private: the link signs in as the asker."""
from __future__ import annotations

from bot.console_links import LOGIN_LIFE, login_url
from bot.core import Context, Handler, Incoming, Reply, UserError
from handlers.oversight import ROLES_TEXT, branch_scope, may_oversee


def console_link(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.oversight_state import load_tree

    if ctx.incoming.in_group:
        return Reply(text="管理后台的登录链接只发给本人：请私聊我发送“管理后台”。")
    if not branch_scope(ctx.roles, load_tree(ctx.session)):
        raise UserError("你所在的组织下没有党支部，管理后台没有可看的内容。")
    minutes = int(LOGIN_LIFE.total_seconds() // 60)
    url = login_url(ctx.settings, ctx.member.id, ctx.now)
    ctx.audit("console.link")
    return Reply(text="\n".join([
        "管理后台登录链接（只能你本人使用，只能用一次）：",
        url,
        f"请在{minutes}分钟内打开；登录后8小时内有效，用完请点页面右上角的“退出”。",
        "链接请勿转发。过期了再发一次“管理后台”即可。",
    ]), private=True)


HANDLERS = (
    Handler(name="console_link", func=console_link, commands=("管理后台",), allowed=may_oversee,
            roles_text=ROLES_TEXT, summary="在电脑或手机浏览器里看所辖支部的概况", example="管理后台",
            section="支部委员"),
)
