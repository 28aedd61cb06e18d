"""The 上级管理员's monthly digest: on the month's first working day, last month's meetings across their branches, the
红 and 黄 branches with their first reason, and the committee terms ending within six months.

Pure text from the branches' checkups (reminders/oversight_rules.py): the same definitions as 支部概况, so the digest
and the chat never disagree. The planner (reminders/planner.py) decides the day and the recipients.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from reminders.oversight_rules import GREEN, RED, YELLOW, Checkup, PeriodCheck
from reminders.workdays import Calendar
from storage.months import add_months

DIGEST_KIND = "oversight_digest"
TITLE = "党建工作月报"
CONSOLE_PATH = "/console"  # the web console's overview; the dispatcher prefixes ZHIBU_PUBLIC_URL
CONSOLE_LABEL = "打开管理控制台"
LISTED = 10  # branches named per line; the rest are counted
TERM_AHEAD_MONTHS = 6


def digest_season(today: date, calendar: Calendar) -> bool:
    """From the month's first working day on (2027-01-01 is 元旦, so January's is the 4th). Later days of the month
    catch up a digest a stopped server missed, as other reminders do; the month's key keeps it to one."""
    return today >= calendar.first_of_month(today.year, today.month)


def reported_month(today: date) -> date:
    """The first day of the month the digest reports on: last month."""
    return add_months(date(today.year, today.month, 1), -1)


def digest_prefix(today: date) -> str:
    month = reported_month(today)
    return f"{DIGEST_KIND}:{month.year}-{month.month:02d}:"


def digest_key(today: date, account: str) -> str:
    """One digest per 上级管理员 per month, whatever day it is planned on."""
    return digest_prefix(today) + account


def names(items: Sequence[str], limit: int = LISTED) -> str:
    """甲、乙、丙 / 甲、乙 … 等 12 个"""
    shown = "、".join(items[:limit])
    return f"{shown} 等 {len(items)} 个" if len(items) > limit else shown


def meeting_lines(checks: list[PeriodCheck], branch_names: dict[int, str], owners: list[int]) -> list[str]:
    """For each kind the period required: how many branches had to hold it, how many did, which did not."""
    label = checks[0].period.label
    kinds: list[str] = []
    for pc in checks:
        kinds += [k for k in pc.required if k not in kinds]
    lines = []
    for kind in kinds:
        need = [(o, pc) for o, pc in zip(owners, checks, strict=True) if kind in pc.required]
        missing = [branch_names[o] for o, pc in need if kind in pc.missing]
        text = f"· {label}{kind}：应开 {len(need)} 个支部，已开 {len(need) - len(missing)} 个"
        lines.append(text + (f"；未开：{names(missing)}" if missing else "，全部开了"))
    return lines


def digest_text(cs: Sequence[Checkup], today: date) -> str:
    """The digest for the branches of `cs` (their checkups on `today`, the digest day)."""
    month = reported_month(today)
    counts = {colour: sum(1 for c in cs if c.status == colour) for colour in (RED, YELLOW, GREEN)}
    lines = [f"【{TITLE}】{month.year}年{month.month}月，所辖 {len(cs)} 个党支部",
             f"截至{today.month}月{today.day}日：红 {counts[RED]}、黄 {counts[YELLOW]}、绿 {counts[GREEN]}", "",
             "一、上月应开会议"]
    branch_names = {c.org_id: c.name for c in cs}
    # the periods that ended as this month began: last month, and the quarter or 组织生活会 cycle ending with it
    first = date(today.year, today.month, 1)
    by_period: dict[str, tuple[list[int], list[PeriodCheck]]] = {}
    for c in cs:
        for pc in c.periods:
            if pc.period.closed and pc.period.end == first and pc.required:
                owners, checks = by_period.setdefault(pc.period.label, ([], []))
                owners.append(c.org_id)
                checks.append(pc)
    for owners, checks in by_period.values():
        lines += meeting_lines(checks, branch_names, owners)
    if not by_period:
        lines.append("· 上月没有必须召开的会议")

    lines += ["", "二、需要关注的支部"]
    for colour in (RED, YELLOW):
        group = [c for c in cs if c.status == colour]
        lines += [f"· {colour} {c.name}：{c.first_reason()}" for c in group[:LISTED]]
        if len(group) > LISTED:
            lines.append(f"· 另有 {len(group) - LISTED} 个{colour}色支部")
    if not counts[RED] and not counts[YELLOW]:
        lines.append("· 各支部都是绿色，各项正常")

    horizon = add_months(today, TERM_AHEAD_MONTHS)
    ending = sorted((c.term_end, c.name) for c in cs if c.term_end is not None and today <= c.term_end <= horizon)
    lines += ["", f"三、{TERM_AHEAD_MONTHS} 个月内任期届满"]
    lines += [f"· {name}：{end.year}年{end.month}月{end.day}日届满（还有 {(end - today).days} 天）"
              for end, name in ending[:LISTED]]
    if len(ending) > LISTED:
        lines.append(f"· 另有 {len(ending) - LISTED} 个支部")
    if not ending:
        lines.append("· 没有")
    lines += ["", "查看一个支部请发送“支部体检 支部名称”；导出表格请发送“导出概况 上月”。"]
    return "\n".join(lines)
