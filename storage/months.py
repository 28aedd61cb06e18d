"""Month and year arithmetic for dues and terms, and the arrears thresholds: pure, so the reminder rules can use them
without loading the database layer."""
from __future__ import annotations

from datetime import date, timedelta

ESCALATE_MONTHS = 6  # 党费规定 第十三条 / 党章 第九条: six months is for the branch to study, never for the software
ALERT_MONTHS = 3  # local practice (2–3 months); the per-branch setting dues_alert_months overrides it


def month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def previous_month(d: date) -> str:
    return month_key(date(d.year - 1, 12, 1) if d.month == 1 else date(d.year, d.month - 1, 1))


def months_between(first: str, last: str) -> list[str]:
    """Inclusive list of YYYY-MM from first to last (empty when first > last)."""
    y, m = int(first[:4]), int(first[5:])
    ly, lm = int(last[:4]), int(last[5:])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def consecutive_unpaid(joined_on: date | None, paid: set[str], through: str) -> list[str]:
    """The unbroken run of unpaid months ending at `through` (oldest first)."""
    if joined_on is None:
        return []
    run: list[str] = []
    for m in reversed(months_between(month_key(joined_on), through)):
        if m in paid:
            break
        run.append(m)
    return run[::-1]


def add_months(d: date, months: int) -> date:
    """The same day `months` later (or earlier), the month's last day where it has no such day."""
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def add_years(d: date, years: int) -> date:
    return add_months(d, 12 * years)  # 29 February → 28 February
