"""规范化自查 in chat: a branch's score against the 党委's standard, each item's result with its evidence, and what
to fix first. A 书记 (or 副书记) sees their own branch; a 上级管理员 the branches under them — without a branch
name, every one of them by score, lowest first.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.core import Context, Handler, Incoming, Reply, UserError
from handlers.oversight import ROLES_TEXT, may_oversee, seen_branches, target_branch

if TYPE_CHECKING:
    from reminders.selfcheck_rules import BranchSelfCheck, Standard

COMMAND = "规范化自查"
LISTED = 20  # branches listed by score; the rest (scoring no lower) are counted
log = logging.getLogger(__name__)


BROKEN = "规范化自查标准文件有问题，暂时无法自查。请系统管理员运行 zhibu selfcheck check 查看并修改。"


def _standard() -> Standard:
    """The standard file as it is now: an edit by the 党委 counts from the next self-check, no restart."""
    from reminders.selfcheck_standard import StandardError, load_standard

    try:
        return load_standard()
    except StandardError as err:
        log.error("self-check standard unusable: %s", err.problems[0])
        raise UserError(BROKEN) from None


def selfcheck(incoming: Incoming, ctx: Context) -> Reply:
    from reminders.oversight_state import load_tree
    from reminders.selfcheck_state import selfcheck_for

    tree = load_tree(ctx.session)
    ids = seen_branches(ctx, tree)
    if not ctx.args.strip() and len(ids) > 1:
        checks = selfcheck_for(ctx.session, ids, ctx.today, ctx.settings.tz, _standard(), tree)
        return Reply(text="\n".join(ranking_lines(checks)), private=True)
    target = target_branch(ctx, tree, COMMAND)
    check = selfcheck_for(ctx.session, [target], ctx.today, ctx.settings.tz, _standard(), tree)[0]
    return Reply(text="\n".join(selfcheck_lines(check)), private=True)


def score(check: BranchSelfCheck) -> str:
    return f"{check.earned}/{check.scorable} 分"


def selfcheck_lines(check: BranchSelfCheck) -> list[str]:
    from reminders.selfcheck_rules import PASS

    lines = [f"【{check.name} 规范化自查】得分 {score(check)}（数据能反映的项目）",
             f"检查期：{'、'.join(check.periods)}"]
    if check.to_fix:
        lines.append("先改这些（未达标，分值高的在前）：")
        lines += [f"{i}. {f.item.name}（{f.item.points}分）：{f.evidence}" for i, f in enumerate(check.to_fix, 1)]
    else:
        lines.append("先改这些：无，数据能反映的项目全部达标。")
    passed = [f for f in check.findings if f.status == PASS]
    if passed:
        lines.append("已达标：")
        lines += [f"· {f.item.name}（{f.item.points}分）：{f.evidence}" for f in passed]
    if check.manual:
        names = "、".join(f"{f.item.name}（{f.item.points}分）" for f in check.manual)
        lines.append(f"需人工核查（不计分）：{names}")
    lines.append("会议开过但没有登记的，请补登后再自查。")
    return lines


def ranking_lines(checks: list[BranchSelfCheck]) -> list[str]:
    """Every branch's score, lowest share first, with its first thing to fix."""
    ranked = sorted(checks, key=lambda c: (c.earned / c.scorable if c.scorable else 1, c.org_id))
    lines = [f"【规范化自查】共 {len(ranked)} 个党支部，按得分从低到高："]
    for c in ranked[:LISTED]:
        first = c.to_fix[0] if c.to_fix else None
        lines.append(f"· {c.name} {score(c)}" + (f"，先改：{first.item.name}" if first else "，全部达标"))
    if len(ranked) > LISTED:
        rest = ranked[LISTED:]
        done = sum(1 for c in rest if not c.to_fix)
        lines.append(f"· 另有 {len(rest)} 个党支部，得分不低于上面各支部（其中 {done} 个全部达标）")
    lines.append(f"查看一个支部请发送“{COMMAND} 支部名称”。")
    return lines


HANDLERS = (
    Handler(name="selfcheck", func=selfcheck, commands=(COMMAND,), allowed=may_oversee, roles_text=ROLES_TEXT,
            summary="对照党支部标准化规范化标准自查：得分、逐项结果、先改什么", example="规范化自查 第一党支部",
            section="支部委员"),
)
