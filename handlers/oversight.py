"""The 党委's view in chat: 支部概况, 未开会支部, 支部体检. A 上级管理员 sees the branches under their organisation; a
书记 (or 副书记) only their own branch. A branch outside the asker's scope is "not found", like one that does not exist.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import RoleSet
from storage.quoting import clip

if TYPE_CHECKING:
    from reminders.oversight_rules import Checkup
    from reminders.oversight_state import OrgNode

ROLES_TEXT = "上级管理员或支部书记"
SECRETARY = ("书记", "副书记")
PERIOD_WORDS = ("本月", "上月", "本季度", "上季度", "本年度")
LISTED = 20  # branches listed per colour in 支部概况; the rest are counted


def may_oversee(roles: RoleSet) -> bool:
    return roles.holds("上级管理员", *SECRETARY)


def scope_roots(roles: RoleSet, tree: Mapping[int, OrgNode]) -> list[int]:
    """The organisations whose branches a person may see: those they administer, else their own branches."""
    from reminders.oversight_state import BRANCH

    admin = roles.orgs_where("上级管理员")
    if admin:
        return sorted(o for o in admin if o in tree)
    return sorted(o for o in roles.orgs_where(*SECRETARY) if o in tree and tree[o].type == BRANCH)


def branch_scope(roles: RoleSet, tree: Mapping[int, OrgNode]) -> list[int]:
    """The branches a person may see — one scope for 支部概况, 导出概况 and the web console."""
    from reminders.oversight_state import branches_under

    return branches_under(tree, scope_roots(roles, tree))


def _scope(ctx: Context, tree: dict[int, OrgNode]) -> list[int]:
    return branch_scope(ctx.roles, tree)


def _checkups(ctx: Context) -> tuple[dict[int, OrgNode], list[Checkup]]:
    from reminders.oversight_state import load_checkups, load_tree

    tree = load_tree(ctx.session)
    ids = _scope(ctx, tree)
    if not ids:
        raise UserError("你所在的组织下没有党支部。")
    return tree, load_checkups(ctx.session, ctx.today, ids, ctx.settings.tz, tree)


def overview(incoming: Incoming, ctx: Context) -> Reply:
    _tree, cs = _checkups(ctx)
    return Reply(text="\n".join(overview_lines(cs, ctx.today)), private=True)


def overview_lines(cs: list[Checkup], today: date) -> list[str]:
    """Counts by status, then the 红 and 黄 branches with their first reason, the 绿 ones by name."""
    from reminders.oversight_rules import GREEN, RED, YELLOW

    counts = {c: sum(1 for x in cs if x.status == c) for c in (RED, YELLOW, GREEN)}
    lines = [f"【支部概况】{today.year}年{today.month}月{today.day}日，共 {len(cs)} 个党支部："
             f"红 {counts[RED]}、黄 {counts[YELLOW]}、绿 {counts[GREEN]}"]
    for colour in (RED, YELLOW):
        group = [c for c in cs if c.status == colour]
        for c in group[:LISTED]:
            lines.append(f"· {colour} {c.name}：{c.first_reason()}")
        if len(group) > LISTED:
            lines.append(f"· 另有 {len(group) - LISTED} 个{colour}色支部")
    if counts[GREEN]:
        greens = [c.name for c in cs if c.status == GREEN]
        more = f"等 {len(greens)} 个" if len(greens) > 5 else ""
        lines.append(f"· 绿 {'、'.join(greens[:5])}{more}：各项正常")
    lines.append("查看一个支部请发送“支部体检 支部名称”；未开会的支部请发送“未开会支部 上月”。")
    return lines


def missing_meetings(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.oversight_rules import check_period, named_period
    from reminders.oversight_state import load_tree
    from reminders.state import load_states

    word = ctx.args.strip() or "本月"
    if word not in PERIOD_WORDS:
        raise UserError(f"请写“未开会支部”加{('、'.join(PERIOD_WORDS))}之一，例如“未开会支部 上月”。")
    tree = load_tree(ctx.session)
    ids = _scope(ctx, tree)
    if not ids:
        raise UserError("你所在的组织下没有党支部。")
    states = load_states(ctx.session, ctx.today, ids, ctx.settings.tz)
    missing, label = [], word
    for s in states:
        check = check_period(s, named_period(s, ctx.today, word))
        label = check.period.label
        if check.missing:
            missing.append((s.name, check.missing))
    state_word = "已结束" if states and named_period(states[0], ctx.today, word).closed else "截至今天"
    if not missing:
        return Reply(text=f"{label}（{state_word}）{len(states)} 个党支部都已按要求开会。", private=True)
    lines = [f"{label}（{state_word}）{len(missing)} 个党支部还有应开未开的会议（共 {len(states)} 个）："]
    lines += [f"· {name}：{'、'.join(kinds)}" for name, kinds in missing]
    lines.append("会议开过但没有登记的，请支部书记补登；查看一个支部请发送“支部体检 支部名称”。")
    return Reply(text="\n".join(lines), private=True)


def seen_branches(ctx: Context, tree: dict[int, OrgNode]) -> list[int]:
    """The branches the asker may see; none is a plain answer, not an empty list."""
    ids = _scope(ctx, tree)
    if not ids:
        raise UserError("你所在的组织下没有党支部。")
    return ids


def target_branch(ctx: Context, tree: dict[int, OrgNode], command: str) -> int:
    """The branch named after `command` among those the asker may see; without a name, their only one."""
    ids = _scope(ctx, tree)
    name = ctx.args.strip()
    if not name:
        if len(ids) != 1:
            raise UserError(f"请写支部名称，例如“{command} 第一党支部”。")
        return ids[0]
    found = [i for i in ids if tree[i].name == name]
    if not found:
        raise UserError(f"没有找到“{clip(name)}”。请写你所辖党支部的全称，发送“支部概况”可查看支部列表。")
    return found[0]


def branch_checkup(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.oversight_state import load_checkups, load_tree

    tree = load_tree(ctx.session)
    target = target_branch(ctx, tree, "支部体检")
    c = load_checkups(ctx.session, ctx.today, [target], ctx.settings.tz, tree)[0]
    return Reply(text="\n".join(checkup_lines(c)), private=True)


def checkup_lines(c: Checkup) -> list[str]:
    from reminders.oversight_rules import GREEN

    lines = [f"【{c.name} 支部体检】{c.status}", c.summary()]
    for pc in c.periods:
        if not pc.required:
            continue
        held = [k for k in pc.required if k not in pc.missing]
        state = "已结束" if pc.period.closed else "进行中"
        text = f"· {pc.period.label}（{state}）：应开 {'、'.join(pc.required)}"
        text += f"；已开 {'、'.join(held) if held else '无'}"
        if pc.missing:
            text += f"；{'未开' if pc.period.closed else '尚未开'} {'、'.join(pc.missing)}"
        lines.append(text)
    p = c.participation
    if p is not None and p.rate is not None:
        lines.append(f"· 参与率：{p.label} {p.meetings} 次签到会议，平均 {p.rate:.0%}（下限 {c.threshold:.0%}）")
    else:
        lines.append("· 参与率：近两个月没有签到记录")
    lines.append(f"· 最近一次组织活动：{c.last_activity.isoformat()}（{c.quiet_days} 天前）" if c.last_activity
                 else "· 最近一次组织活动：没有记录")
    if c.term_end is None:
        lines.append("· 支委会任期：未登记")
    elif c.term_overdue_days is not None:
        lines.append(f"· 支委会任期：{c.term_end.isoformat()} 届满，已逾期 {c.term_overdue_days} 天未换届")
    else:
        lines.append(f"· 支委会任期：{c.term_end.isoformat()} 届满")
    lines.append(f"· 党费：连续欠交 3 个月以上 {c.dues_3 + c.dues_6} 人，其中 6 个月以上 {c.dues_6} 人")
    if c.probation_over:
        lines.append(f"· 预备期已满未转正：{'、'.join(c.probation_over)}")
    if c.probation_soon:
        lines.append(f"· 60 天内预备期满：{'、'.join(c.probation_soon)}")
    if c.status != GREEN:
        lines.append("请督促支部按上面的原因整改；会议开过未登记的，请支部书记补登。")
    return lines


# --- 导出概况 ------------------------------------------------------------------------------------------------------
def export_overview(incoming: Incoming, ctx: Context) -> Reply:
    """导出概况 2026Q4: the workbook is built after the reply (bot.files) and sent to the asker alone."""
    from reminders.oversight_state import branches_under, load_tree
    from reminders.overview_periods import overview_filename, parse_export_period, scope_name, sub_periods

    tree = load_tree(ctx.session)
    roots = scope_roots(ctx.roles, tree)
    ids = branches_under(tree, roots)
    if not ids:
        raise UserError("你所在的组织下没有党支部。")
    try:
        period = parse_export_period(ctx.args, ctx.today)
    except ValueError as err:
        raise UserError(str(err)) from None
    named = [(tree[r].name, tree[r].type) for r in roots]
    filename, scope = overview_filename(named, period), scope_name(named)
    sheets = 1 + len(sub_periods(period, ctx.today))
    ctx.audit("oversight.export", scope, period=period.key, branches=len(ids))
    ref = ctx.file("overview", {"orgs": roots, "period": period.key, "on": ctx.today.isoformat(),
                                "tz": ctx.settings.timezone}, filename)
    return Reply(text=f"正在生成{scope}{period.label}概况表（{len(ids)} 个党支部，{sheets} 张表），"
                      f"稍后单独发给你：{filename}", file=ref, private=True)


HANDLERS = (
    Handler(name="oversight_overview", func=overview, commands=("支部概况",), allowed=may_oversee,
            roles_text=ROLES_TEXT, summary="所辖党支部红黄绿状态和原因", example="支部概况", section="支部委员"),
    Handler(name="oversight_missing", func=missing_meetings, commands=("未开会支部",), allowed=may_oversee,
            roles_text=ROLES_TEXT, summary="本月、上月或本季度应开未开会议的支部", example="未开会支部 上月",
            section="支部委员"),
    Handler(name="oversight_checkup", func=branch_checkup, commands=("支部体检",), allowed=may_oversee,
            roles_text=ROLES_TEXT, summary="一个支部的各项指标和原因", example="支部体检 第一党支部",
            section="支部委员"),
    Handler(name="oversight_export", func=export_overview, commands=("导出概况",), allowed=may_oversee,
            roles_text=ROLES_TEXT, summary="所辖党支部各项指标导出为表格（Excel）", example="导出概况 2026Q4",
            section="支部委员"),
)
