"""Dues months: which months a member owes, and the run of consecutive unpaid months (the arrears signal).

The month logic is pure; `paid_months` is the one query. Dues run from the month the member was accepted.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import DuesPayment


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


def unpaid_months(joined_on: date | None, paid: set[str], through: str, since: str | None = None) -> list[str]:
    """Months from max(joined month, since) to `through` with no payment."""
    if joined_on is None:
        return []
    first = max(month_key(joined_on), since or "0000-00")
    return [m for m in months_between(first, through) if m not in paid]


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


def paid_months(session: Session, member_ids: Iterable[int]) -> dict[int, set[str]]:
    ids = list(member_ids)
    out: dict[int, set[str]] = defaultdict(set)
    if not ids:
        return out
    for member_id, month in session.execute(select(DuesPayment.member_id, DuesPayment.month)
                                            .where(DuesPayment.member_id.in_(ids))):
        out[member_id].add(month)
    return out
