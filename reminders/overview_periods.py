"""The periods 导出概况 accepts — 2026, 2026-12, 2026Q4, 本月, 上月, 本季度, 上季度, 今年, 去年 — and the
requirement periods (oversight_rules.Period) each one covers. Pure functions of the words and a date.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from reminders.oversight_rules import Period, month_period, quarter_period, year_periods
from reminders.rules import MONTH, QUARTER, YEAR, OrgState, next_month_start, quarter_of

ACCEPTED = "2026、2026-12、2026Q4、本月、上月、本季度、上季度、今年、去年"

_YEAR = re.compile(r"(\d{4})\s*年?(?:度)?")
_MONTH = re.compile(r"(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*月?")
_QUARTER = re.compile(r"(\d{4})\s*(?:-|年)?\s*(?:[Qq]\s*([1-4])|第?\s*([1-4一二三四])\s*季度?)")
_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True)
class ExportPeriod:
    kind: str  # MONTH / QUARTER / YEAR
    year: int
    number: int  # the month or the quarter; 0 for a year
    start: date
    end: date  # exclusive

    @property
    def label(self) -> str:
        if self.kind == YEAR:
            return f"{self.year}年"
        if self.kind == QUARTER:
            return f"{self.year}年第{self.number}季度"
        return f"{self.year}年{self.number}月"

    @property
    def key(self) -> str:
        """2026 / 2026Q4 / 2026-12: what parse_export_period reads back (a file link carries this)."""
        if self.kind == YEAR:
            return str(self.year)
        return f"{self.year}Q{self.number}" if self.kind == QUARTER else f"{self.year}-{self.number:02d}"

    def as_of(self, today: date) -> date:
        """The day its measures are read on: its last day, or today while it is under way."""
        return min(self.end - timedelta(days=1), today)


def scope_name(roots: list[tuple[str, str]]) -> str:
    """The (name, type) of the organisations exported, as the file and the reply call them: 示范机关党委 /
    示范机关党委等 / 第一党支部."""
    return roots[0][0] + ("等" if len(roots) > 1 else "")


def overview_filename(roots: list[tuple[str, str]], period: ExportPeriod) -> str:
    """示范机关党委党支部概况2026年第4季度.xlsx; a 书记's own branch: 第一党支部概况2026年11月.xlsx"""
    one_branch = len(roots) == 1 and roots[0][1] == "党支部"
    return f"{scope_name(roots)}{'' if one_branch else '党支部'}概况{period.label}.xlsx"


def month_of(y: int, m: int) -> ExportPeriod:
    return ExportPeriod(MONTH, y, m, date(y, m, 1), next_month_start(y, m))


def quarter_of_year(y: int, q: int) -> ExportPeriod:
    return ExportPeriod(QUARTER, y, q, date(y, 3 * q - 2, 1), next_month_start(y, 3 * q))


def year_of(y: int) -> ExportPeriod:
    return ExportPeriod(YEAR, y, 0, date(y, 1, 1), date(y + 1, 1, 1))


def parse_export_period(text: str, today: date) -> ExportPeriod:
    """The period the words name (nothing: this month); ValueError with a Chinese reason naming the accepted forms."""
    word = re.sub(r"\s+", "", text)
    last_month = date(today.year, today.month, 1) - timedelta(days=1)
    q = quarter_of(today)
    named = {"": month_of(today.year, today.month), "本月": month_of(today.year, today.month),
             "上月": month_of(last_month.year, last_month.month), "本季度": quarter_of_year(today.year, q),
             "上季度": quarter_of_year(today.year, q - 1) if q > 1 else quarter_of_year(today.year - 1, 4),
             "今年": year_of(today.year), "本年": year_of(today.year), "本年度": year_of(today.year),
             "去年": year_of(today.year - 1), "上年度": year_of(today.year - 1)}
    period = named.get(word)
    if period is None:
        period = _numbered(word)
    if period is None:
        raise ValueError(f"请写要导出的期间：{ACCEPTED}，例如“导出概况 2026Q4”。")
    if period.year < 2000:
        raise ValueError(f"{period.label}太早了，请写 2000 年以后的期间。")
    if period.start > today:
        raise ValueError(f"{period.label}还没有开始，请写已经开始的期间，例如“导出概况 本月”。")
    return period


def _numbered(word: str) -> ExportPeriod | None:
    if m := _QUARTER.fullmatch(word):
        return quarter_of_year(int(m.group(1)), int(m.group(2) or _CN_DIGIT.get(m.group(3)) or m.group(3)))
    if (m := _MONTH.fullmatch(word)) and 1 <= int(m.group(2)) <= 12:
        return month_of(int(m.group(1)), int(m.group(2)))
    if m := _YEAR.fullmatch(word):
        return year_of(int(m.group(1)))
    return None


def sub_periods(period: ExportPeriod, today: date) -> list[list[ExportPeriod]]:
    """The finer periods within `period` that have begun by `today`, by kind: a year's quarters and months, a
    quarter's months, nothing for a month."""
    months = [month_of(period.year, m) for m in range(period.start.month, 13)
              if date(period.year, m, 1) < period.end and date(period.year, m, 1) <= today]
    if period.kind == YEAR:
        quarters = [quarter_of_year(period.year, q) for q in range(1, 5) if date(period.year, 3 * q - 2, 1) <= today]
        return [quarters, months]
    if period.kind == QUARTER:
        return [months]
    return []


def requirement_periods(state: OrgState, period: ExportPeriod, today: date) -> list[Period]:
    """The rules' periods inside `period` that have begun by its as-of day: its months, its quarters, and for a year
    the 组织生活会 cycle named after it (oversight_rules' own windows and labels)."""
    as_of = period.as_of(today)
    out: list[Period] = []
    for m in range(period.start.month, 13):
        if date(period.year, m, 1) >= period.end or date(period.year, m, 1) > as_of:
            break
        out.append(month_period(period.year, m, today))
    for q in range(1, 5):
        p = quarter_period(period.year, q, today)
        if period.start <= p.start and p.end <= period.end and p.start <= as_of:
            out.append(p)
    if period.kind == YEAR:
        out += [p for p in year_periods(state, as_of) if p.label == f"{period.year}年度" and p.start <= as_of]
    return out
