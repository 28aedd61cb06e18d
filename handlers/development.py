"""发展党员 for the branch committee: 登记发展 (a dated milestone, checked against the rules on entry) and
撤销发展登记 (undo the last entry of a step, audited). The views are in handlers/development_views.py.

登记发展 姓名 环节 日期 [备注]: the 环节 by its usual name or a common variant (积极分子, 确定积极分子, 入党积极分子 …);
what some steps carry is written after the date — 联系人/介绍人 names, 政审 结论, 培训 3天 or 24学时, 公示 2026-11-20
(ends on its fifth working day) or 2026-11-20至2026-11-26, 支部大会 应到12 实到10 赞成10, 延长预备期 6个月; and for
any step 出生2000-01-01, 手机…, 企业微信…, 钉钉… to complete the person's details (登记发展 张三 资料 … alone does
only that). A new person starts with their application.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.core import Context, Handler, Incoming, Reply, UserError
from bot.roles import is_committee
from handlers.common import managed_org
from handlers.development_text import next_lines
from storage.development import (
    DevelopmentError,
    PersonInfo,
    create_record,
    enter,
    find_named,
    revoke,
    to_record,
    update_person,
)
from storage.development_rules import STEPS, Milestone, resolve_step, usual_names
from storage.quoting import clip

if TYPE_CHECKING:
    from reminders.workdays import Calendar

COMMITTEE = "支部书记、副书记、组织委员"
USAGE = "登记发展 姓名 环节 日期 [备注]，例如：登记发展 张三 积极分子 2026-04-10"
REVOKE_USAGE = "撤销发展登记 姓名 环节，例如：撤销发展登记 张三 积极分子"
INFO_WORDS = ("资料", "信息", "个人信息", "基本信息")
RANGE = re.compile(r"(?:至|到|~|～|—|--)")
SHORT_DAY = re.compile(r"(\d{1,2})月(\d{1,2})日?")
NAME_SPLIT = re.compile(r"[、，,/和]+")
NUMBERS = (("due", re.compile(r"应到(?:会)?(\d+)人?")), ("present", re.compile(r"实到(?:会)?(\d+)人?")),
           ("yes", re.compile(r"(?:赞成|同意)(\d+)(?:票|人)?")), ("days", re.compile(r"(\d+)天")),
           ("hours", re.compile(r"(\d+)个?学时")), ("months", re.compile(r"(\d+)个?月")))
INFO = (("birth", re.compile(r"出生(?:日期)?[:：]?(.+)")), ("mobile", re.compile(r"手机(?:号)?[:：]?(1\d{10})")),
        ("wecom", re.compile(r"企业微信(?:账号)?[:：]?(\S+)")), ("dingtalk", re.compile(r"钉钉(?:账号)?[:：]?(\S+)")))


def calendar(ctx: Context) -> Calendar:
    from reminders.state import load_calendar
    from reminders.workdays import Calendar

    return Calendar(load_calendar(ctx.session))


def parse_day(text: str, today: date) -> date:
    from storage.sheets import parse_date  # openpyxl: only when a date is read this way

    t = text.strip()
    if t in ("今天", "今日"):
        return today
    if t == "昨天":
        return today - timedelta(days=1)
    try:
        if m := SHORT_DAY.fullmatch(t):  # 4月10日: the most recent one
            d = date(today.year, int(m.group(1)), int(m.group(2)))
            return d if d <= today else d.replace(year=today.year - 1)
        return parse_date(t)
    except ValueError:
        raise UserError(f"“{clip(t)}”不是日期，请写成 2026-04-10。") from None


def parse_when(token: str, today: date) -> tuple[date, date | None]:
    parts = [p for p in RANGE.split(token) if p]
    if len(parts) == 2:
        return parse_day(parts[0], today), parse_day(parts[1], today)
    return parse_day(token, today), None


@dataclass
class Extras:
    info: PersonInfo = field(default_factory=PersonInfo)
    data: dict = field(default_factory=dict)
    free: list[str] = field(default_factory=list)


def parse_extras(tokens: list[str], today: date) -> Extras:
    out = Extras()
    for token in tokens:
        for key, pattern in INFO:
            if m := pattern.fullmatch(token):
                value = m.group(1)
                setattr(out.info, key, parse_day(value, today) if key == "birth" else value)
                break
        else:
            for key, pattern in NUMBERS:
                if m := pattern.fullmatch(token):
                    out.data[key] = int(m.group(1))
                    break
            else:
                out.free.append(token)
    return out


def step_data(step: str, extras: Extras) -> tuple[dict, str | None]:
    """The step's own data from the words after the date, and what is left as the note."""
    data, free = dict(extras.data), list(extras.free)
    if step in ("contacts", "introducers"):
        data["names"] = [n for t in free for n in NAME_SPLIT.split(t) if n]
        free = []
    elif step == "political_review" and free:
        data["conclusion"] = free.pop(0)
    note = " ".join(free)[:200] or None
    return data, note


def register(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    tokens = ctx.args.split()
    if len(tokens) < 2:
        raise UserError(f"请写成：{USAGE}。环节可写：{usual_names()}。")
    name, word, rest = tokens[0], tokens[1], tokens[2:]
    found = find_named(ctx.session, [org.id], name)
    row = found[0] if found else None
    if word in INFO_WORDS:
        return _update_info(ctx, org, row, name, rest)
    step = resolve_step(word, to_record(row) if row else None)
    if step is None:
        raise UserError(f"“{clip(word)}”不是可识别的环节。可写：{usual_names()}。例如：{USAGE}")
    if not rest:
        raise UserError(f"请写上日期，例如：登记发展 {name} {word} {ctx.today.isoformat()}")
    day, end = parse_when(rest[0], ctx.today)
    extras = parse_extras(rest[1:], ctx.today)
    data, note = step_data(step, extras)
    created = row is None
    if created:
        if step != "application":
            raise UserError(f"{org.name}还没有{clip(name)}的发展记录。新的入党申请人请先登记申请：登记发展 {clip(name)} 申请 日期"
                            "（可加“出生2000-01-01”）。")
        row = create_record(ctx.session, org, name, ctx.now)
    try:
        changed = update_person(ctx.session, row, extras.info) if extras.info.given() else []
        entered = enter(ctx.session, row, Milestone(step, day, end, data), today=ctx.today, cal=calendar(ctx),
                        actor=ctx.member, at=ctx.now, note=note)
    except DevelopmentError as err:
        raise UserError(f"未登记：{name}的“{STEPS[step].short}”（{day.isoformat()}）。\n" + "\n".join(err.errors)) from None
    record = to_record(row)
    m = entered.row
    span = f"至{m.end_day.isoformat()}" if m.end_day else ""
    lines = [f"已登记{name}：{STEPS[step].title(entered.version)} {m.day.isoformat()}{span}"
             f"（按{entered.version}年细则核对）。"]
    if created:
        lines.append(f"已为{name}建立发展记录（{org.name}）。")
    if changed:
        lines.append("已补充：" + "、".join(changed) + "。")
    lines += [f"注意：{w}" for w in entered.warnings]
    lines += entered.notes
    nxt = next_lines(record, ctx.today)
    if nxt:
        lines += ["下一步：", *nxt[:3]]
    lines.append(f"发送「发展进度 {name}」查看全部。")
    return Reply(text="\n".join(lines), private=True)


def _update_info(ctx: Context, org, row, name: str, rest: list[str]) -> Reply:
    if row is None:
        raise UserError(f"{org.name}还没有{clip(name)}的发展记录。请先登记申请：登记发展 {clip(name)} 申请 日期")
    extras = parse_extras(rest, ctx.today)
    if not extras.info.given() or extras.free or extras.data:
        raise UserError(f"请写成：登记发展 {name} 资料 出生2000-01-01 手机13800000000 企业微信zhangsan 钉钉zhangsan"
                        "（写需要补充的几项即可）。")
    try:
        changed = update_person(ctx.session, row, extras.info)
    except DevelopmentError as err:
        raise UserError("未修改：" + "\n".join(err.errors)) from None
    ctx.audit("development.person", name, record_id=row.id, changed=changed)
    return Reply(text=f"已补充{name}的资料：" + ("、".join(changed) or "没有变化") + "。", private=True)


def revoke_entry(incoming: Incoming, ctx: Context) -> Reply:
    org = managed_org(ctx)
    tokens = ctx.args.split()
    if len(tokens) < 2:
        raise UserError(f"请写成：{REVOKE_USAGE}")
    name, word = tokens[0], tokens[1]
    found = find_named(ctx.session, [org.id], name)
    if not found:
        raise UserError(f"{org.name}没有{clip(name)}的发展记录，请核对姓名。")
    row = found[0]
    state = to_record(row)
    step = resolve_step(word, state)
    if step is None:
        raise UserError(f"“{clip(word)}”不是可识别的环节。可写：{usual_names()}。")
    if not state.has(step) and state.has(plain := resolve_step(word)):
        step = plain  # 审批 of a 预备党员 whose 转正 is not recorded: the approval itself
    day = parse_day(tokens[2], ctx.today) if len(tokens) > 2 else None
    try:
        removed, notes, deleted = revoke(ctx.session, row, step, day=day, actor=ctx.member, at=ctx.now)
    except DevelopmentError as err:
        raise UserError("未撤销：" + "\n".join(err.errors)) from None
    lines = [f"已撤销{name}的“{STEPS[step].short}”（{removed.day.isoformat()}，{removed.recorded_by}登记），已记入审计日志。",
             *notes]
    if not deleted:
        lines.append(f"需要时请重新登记：登记发展 {name} {STEPS[step].short} 日期")
    return Reply(text="\n".join(lines), private=True)


HANDLERS = (
    Handler(name="development_register", func=register, commands=("登记发展", "发展登记"), allowed=is_committee,
            roles_text=COMMITTEE, summary="登记发展党员的一个环节（按细则核对时限）", example="登记发展 杨帆 谈话 今天",
            section="支部委员"),
    Handler(name="development_revoke", func=revoke_entry, commands=("撤销发展登记", "撤销发展"), allowed=is_committee,
            roles_text=COMMITTEE, summary="撤销登记错的发展环节（记入审计）", example="撤销发展登记 宋佳 公示",
            section="支部委员"),
)
