"""A secretary's own branch: its members, its settings (shown and changed, audited)."""
from __future__ import annotations

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import active_members, managed_org
from storage.org_settings import describe, get_setting, resolve_key, set_setting, split_setting

COMMITTEE = "支部书记、副书记、组织委员"


def roster(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    members = active_members(ctx, org)
    lines = [f"{org.name}共有党员 {len(members)} 名（正式 {sum(m.category == '正式' for m in members)}，"
             f"预备 {sum(m.category == '预备' for m in members)}）："]
    for m in members:
        roles = "、".join(r.role for r in m.roles if r.organization_id == org.id)
        lines.append(f"· {m.name}{'（预备）' if m.category == '预备' else ''}{('　' + roles) if roles else ''}")
    return Reply(text="\n".join(lines), private=True)


def show_settings(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    return Reply(text="\n".join([f"{org.name}的设置：", *describe(org),
                                 "修改请发送：设置 项目 值，例如“设置 主题党日 每月15日”“设置 党费取整方式 四舍五入”"]))


def change_setting(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    try:
        name, value = split_setting(ctx.args)
    except ValueError:
        raise UserError("请写成：设置 项目 值，例如“设置 主题党日 每月15日”。发送「支部设置」查看可设置的项目。") from None
    try:
        spec = resolve_key(name)
        set_setting(ctx.session, org, name, value, actor=ctx.member, robots=ctx.settings.group_robots)
    except ValueError as err:
        raise UserError(f"未修改：{err}。发送「支部设置」查看各项的写法。") from None
    return Reply(text=f"已修改{org.name}的{spec.label}：{spec.show(get_setting(org, spec.key))}。"
                      "发送「支部设置」查看全部设置。")


HANDLERS = (
    Handler(name="branch_roster", func=roster, commands=("党员名单", "支部名单"), allowed=is_committee,
            roles_text=COMMITTEE, summary="本支部党员名单", example="党员名单", section="支部委员"),
    Handler(name="branch_settings", func=show_settings, commands=("支部设置",), allowed=is_committee,
            roles_text=COMMITTEE, summary="查看本支部的设置", example="支部设置", section="支部委员"),
    Handler(name="branch_set", func=change_setting, commands=("设置",), allowed=is_committee,
            roles_text=COMMITTEE, summary="修改本支部的设置", example="设置 主题党日 每月15日", section="支部委员"),
)
