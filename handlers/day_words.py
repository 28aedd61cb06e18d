"""A day as secretaries and members type it: 2026-12-03, 2026年12月3日, 12月3日, 12.3, 今天/明天/后天/昨天/前天,
周五, 这周五, 下周五, 上周五.

A date written without its year is read towards the side the command looks at: a 请假 is about a coming meeting
(1月8日 typed in December is next January's), a 登记会议 about a past one (11月5日 typed in January is last
November's). Within two months of today it is this year's: 请假 11月20日 typed on 12月8日 is told it has passed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = "一二三四五六日"
RELATIVE = {"前天": -2, "昨天": -1, "今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
DAY = re.compile(
    r"(?P<y>\d{4})[-/.年](?P<ym>\d{1,2})[-/.月](?P<yd>\d{1,2})[日号]?"
    r"|(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]?"
    r"|(?<![\d:：])(?P<dm>\d{1,2})[./](?P<dd>\d{1,2})(?![\d:：.])"
    r"|(?P<rel>大后天|前天|昨天|今天|今日|明天|明日|后天)"
    r"|(?P<which>上|下|这|本)?个?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天])")
PAST, FUTURE = "past", "future"
NEAR = timedelta(days=60)  # a day this close on the other side is that day (and refused as past/future by the caller)


@dataclass(frozen=True)
class FoundDay:
    day: date
    written: str  # the words that said it, as typed
    rest: str  # the text without them


class DayError(ValueError):
    """A date that does not exist (2月30日), with the reason in Chinese."""


def has_day(text: str) -> bool:
    return DAY.search(text) is not None


def find_day(text: str, today: date, lean: str = FUTURE) -> FoundDay | None:
    """The first day written in `text`, or None; DayError when it names no real date."""
    m = DAY.search(text)
    if m is None:
        return None
    rest = (text[:m.start()] + " " + text[m.end():]).strip()
    return FoundDay(_day_of(m, today, lean), m.group(0), rest)


def _day_of(m: re.Match, today: date, lean: str) -> date:
    try:
        if m["y"]:
            return date(int(m["y"]), int(m["ym"]), int(m["yd"]))
        if m["m"] or m["dm"]:
            month, day = (int(m["m"]), int(m["d"])) if m["m"] else (int(m["dm"]), int(m["dd"]))
            found = date(today.year, month, day)
    except ValueError:
        raise DayError(f"“{m.group(0)}”不是有效的日期，请写成 2026-12-03 或 12月3日。") from None
    if m["m"] or m["dm"]:
        if lean == FUTURE and found < today - NEAR:
            return _same_day(found, today.year + 1)
        if lean == PAST and found > today + NEAR:
            return _same_day(found, today.year - 1)
        return found
    if m["rel"]:
        return today + timedelta(days=RELATIVE[m["rel"]])
    weekday = WEEKDAYS.index(m["wd"].replace("天", "日"))
    monday = today - timedelta(days=today.weekday())
    weeks = {"上": -1, "下": 1}.get(m["which"] or "", 0)
    found = monday + timedelta(days=7 * weeks + weekday)
    if not m["which"]:  # a bare 周五: the coming one for a 请假, the last one for a 登记
        if lean == FUTURE and found < today:
            found += timedelta(days=7)
        elif lean == PAST and found > today:
            found -= timedelta(days=7)
    return found


def _same_day(d: date, year: int) -> date:
    try:
        return d.replace(year=year)
    except ValueError:  # 2月29日 of a leap year
        raise DayError(f"{year}年没有{d.month}月{d.day}日。") from None
