"""Working days in China: weekends, statutory holidays and 调休 make-up working days.

`chinese_calendar` (pinned) knows the State Council's schedule for the years it was released with. For a later year
we fall back to Monday–Friday minus the fixed-date holidays (元旦, 劳动节, 国庆), say so once in the log, and let the
operator load that year's official schedule into `calendar_overrides` (`zhibu calendar set`), which always wins.

Everything here is a pure function of a date and the overrides (a mapping day → "off"/"work").
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)

OFF, WORK = "off", "work"
# fixed-date statutory holidays (全国年节及纪念日放假办法, 2025): 元旦 1 day, 劳动节 2 days, 国庆 3 days
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

Overrides = Mapping[date, str]


@cache
def _fallback_noted(year: int) -> bool:
    # the cache makes this log line appear once per year per process, however many days are asked about
    log.warning("chinese_calendar 没有 %d 年的放假安排：按周一至周五、扣除元旦/劳动节/国庆计算工作日；"
                "国务院公布安排后请用 zhibu calendar set 录入。", year)
    return True


def fallback_is_workday(d: date) -> bool:
    return d.weekday() < 5 and (d.month, d.day) not in FIXED_HOLIDAYS


def is_workday(d: date, overrides: Overrides | None = None, *, note: bool = True) -> bool:
    if overrides:
        kind = overrides.get(d)
        if kind is not None:
            return kind == WORK
    try:
        return chinese_calendar.is_workday(d)
    except NotImplementedError:
        if note:
            _fallback_noted(d.year)
        return fallback_is_workday(d)


def previous_workday(d: date, overrides: Overrides | None = None) -> date:
    """`d` itself when it is a working day, else the closest working day before it (notices move earlier)."""
    return Calendar(overrides).previous(d)


def next_workday(d: date, overrides: Overrides | None = None) -> date:
    """`d` itself when it is a working day, else the closest working day after it."""
    return Calendar(overrides).next(d)


def first_workday_of_month(year: int, month: int, overrides: Overrides | None = None) -> date:
    return Calendar(overrides).first_of_month(year, month)


class Calendar:
    """Working days for one set of overrides, remembered per day (the functions above ask a fresh one).

    A planning run asks about the same few dozen days for every branch; chinese_calendar validates each call
    against its whole table, so answering from memory is what keeps 10,000 branches cheap.
    """

    def __init__(self, overrides: Overrides | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._loaded_years = {d.year for d in self.overrides}  # the operator has loaded these: no fallback warning
        self._memo: dict[date, bool] = {}
        self._previous: dict[date, date] = {}
        self._next: dict[date, date] = {}

    def is_workday(self, d: date) -> bool:
        hit = self._memo.get(d)
        if hit is None:
            hit = self._memo[d] = is_workday(d, self.overrides, note=d.year not in self._loaded_years)
        return hit

    def previous(self, d: date) -> date:
        return self._walk(d, -1, self._previous)

    def next(self, d: date) -> date:
        return self._walk(d, 1, self._next)

    def _walk(self, d: date, step: int, memo: dict[date, date]) -> date:
        """The first working day from `d` on in direction `step`, remembered per starting day."""
        hit = memo.get(d)
        if hit is None:
            hit = d
            while not self.is_workday(hit):
                hit += timedelta(days=step)
            memo[d] = hit
        return hit

    def first_of_month(self, year: int, month: int) -> date:
        return self.next(date(year, month, 1))


def parse_range(text: str) -> list[date]:
    """2027-10-01..2027-10-07 (inclusive) or one day 2027-09-26; ValueError with a Chinese reason."""
    parts = text.strip().split("..")
    try:
        days = [date.fromisoformat(p.strip()) for p in parts]
    except ValueError:
        raise ValueError("日期请写成 2027-10-01 或 2027-10-01..2027-10-07") from None
    if len(days) == 1:
        return days
    if len(days) != 2 or days[1] < days[0]:
        raise ValueError("日期范围请写成 开始..结束，结束不早于开始")
    if (days[1] - days[0]).days > 366:
        raise ValueError("一次最多设置一年内的日期")
    return [days[0] + timedelta(days=i) for i in range((days[1] - days[0]).days + 1)]
