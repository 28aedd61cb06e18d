"""How long until a date, said the way a secretary counts it: computed from the two dates, never from the name of
the reminder stage that sent it (a "1个月" notice planned late, or moved to a working day, may have 14 days left)."""
from __future__ import annotations

from datetime import date

from storage.months import add_months

DAYS_BELOW_MONTHS = 2  # under two months, whole days are clearer than "1个月"


def whole_months(start: date, end: date) -> int:
    """The most whole calendar months from `start` that do not pass `end` (0 when end is before start)."""
    n = max(0, (end.year - start.year) * 12 + end.month - start.month)
    while n > 0 and add_months(start, n) > end:
        n -= 1
    return n


def time_left(today: date, end: date, *, past: str = "已过") -> str:
    """还有14天 / 还有3个月零5天 / 还有1年2个月 / 就在今天 / 已过3天 (`past` may say 已逾期 or 已届满)."""
    days = (end - today).days
    if days < 0:
        return f"{past}{-days}天"
    if days == 0:
        return "就在今天"
    months = whole_months(today, end)
    if months < DAYS_BELOW_MONTHS:
        return f"还有{days}天"
    if months >= 12:
        years, rest = divmod(months, 12)
        return f"还有{years}年" + (f"{rest}个月" if rest else "")
    rest = (end - add_months(today, months)).days
    return f"还有{months}个月" + (f"零{rest}天" if rest else "")
