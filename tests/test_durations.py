"""Durations said from the dates: days under two months, months (and days) beyond, and how long past."""
from __future__ import annotations

from datetime import date

import pytest

from reminders.durations import time_left, whole_months
from reminders.rules import OrgState, Person, Term, due_items

SHUJI = Person(1, "王书记", "shuji")


@pytest.mark.parametrize(("today", "end", "said"), [
    (date(2027, 6, 1), date(2027, 6, 15), "还有14天"),
    (date(2027, 6, 15), date(2027, 6, 15), "就在今天"),
    (date(2027, 6, 16), date(2027, 6, 15), "已过1天"),
    (date(2027, 4, 16), date(2027, 6, 15), "还有60天"),  # one day short of two months: still days
    (date(2027, 4, 15), date(2027, 6, 15), "还有2个月"),
    (date(2027, 3, 10), date(2027, 6, 15), "还有3个月零5天"),
    (date(2026, 11, 24), date(2027, 3, 1), "还有3个月零5天"),
    (date(2026, 1, 31), date(2026, 3, 31), "还有2个月"),  # 1-31 + 1 month is 2-28: months count by the calendar
    (date(2026, 5, 15), date(2027, 6, 15), "还有1年1个月"),
    (date(2024, 6, 15), date(2027, 6, 15), "还有3年"),
])
def test_time_left(today, end, said):
    assert time_left(today, end) == said


def test_past_can_be_named():
    assert time_left(date(2027, 1, 10), date(2027, 1, 1), past="已逾期") == "已逾期9天"


def test_whole_months_never_pass_the_end():
    assert whole_months(date(2027, 1, 31), date(2027, 2, 28)) == 1
    assert whole_months(date(2027, 1, 31), date(2027, 2, 27)) == 0
    assert whole_months(date(2027, 6, 16), date(2027, 6, 15)) == 0


def _branch(ends: date) -> OrgState:
    return OrgState(org_id=1, name="测试支部", settings={}, members=(SHUJI,), roles={"书记": (SHUJI,)},
                    term=Term(date(ends.year - 3, ends.month, ends.day), 3, ends))


def _term_text(state: OrgState, today: date, stage: str) -> str:
    return next(d.text for d in due_items(state, today) if d.key.endswith(stage))


def test_term_notice_says_what_is_left_on_the_day_it_goes_out():
    state = _branch(date(2027, 6, 15))
    # on time: the T−1 month notice (2027-05-14, a Friday) says the days, the T−3 months one the months
    assert "届满，还有32天。" in _term_text(state, date(2027, 5, 14), "T-1m")
    assert "届满，还有3个月。" in _term_text(state, date(2027, 3, 15), "T-3m")
    # a branch whose term was entered two weeks before its end is told 14 days, not "1个月"
    assert "届满，还有14天。" in _term_text(state, date(2027, 6, 1), "T-1m")
