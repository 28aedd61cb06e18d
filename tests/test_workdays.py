"""Working days on real dates: weekends, 调休 make-up days, 春节 and 国庆, the fallback and the operator's overrides."""
from __future__ import annotations

import logging
from datetime import date

import pytest

from reminders import workdays
from reminders.workdays import first_workday_of_month, is_workday, next_workday, parse_range, previous_workday


def test_an_ordinary_sunday_is_off_and_notices_move_to_friday():
    assert not is_workday(date(2026, 12, 20))  # Sunday
    assert previous_workday(date(2026, 12, 20)) == date(2026, 12, 18)
    assert next_workday(date(2026, 12, 20)) == date(2026, 12, 21)


def test_a_sunday_that_is_a_make_up_working_day():
    # 2026-09-20 is a Sunday worked in exchange for the 国庆/中秋 holiday
    assert is_workday(date(2026, 9, 20))
    assert previous_workday(date(2026, 9, 20)) == date(2026, 9, 20)


def test_spring_festival_2026():
    for d in range(15, 24):  # 2026-02-15 … 02-23: 春节 holiday (including its weekdays)
        assert not is_workday(date(2026, 2, d)), d
    assert is_workday(date(2026, 2, 14))  # a Saturday worked in exchange
    assert is_workday(date(2026, 2, 24))
    assert previous_workday(date(2026, 2, 20)) == date(2026, 2, 14)


def test_national_day_2026():
    for d in range(1, 8):
        assert not is_workday(date(2026, 10, d)), d
    assert is_workday(date(2026, 10, 10))  # Saturday make-up day
    assert first_workday_of_month(2026, 10) == date(2026, 10, 8)


def test_unknown_year_falls_back_and_says_so_once(caplog):
    workdays._fallback_noted.cache_clear()
    with caplog.at_level(logging.WARNING, logger="reminders.workdays"):
        assert not is_workday(date(2027, 1, 1))  # 元旦
        assert not is_workday(date(2027, 5, 1)) and is_workday(date(2027, 5, 3))  # fallback: 劳动节 is 5-1, 5-2
        assert not is_workday(date(2027, 10, 1)) and not is_workday(date(2027, 10, 3))  # 国庆
        assert is_workday(date(2027, 10, 4))
        assert not is_workday(date(2027, 10, 9))  # Saturday
    assert sum("2027" in r.getMessage() for r in caplog.records) == 1


def test_no_fallback_warning_for_a_year_the_operator_loaded(caplog):
    workdays._fallback_noted.cache_clear()
    cal = workdays.Calendar({date(2028, 10, 2): "off"})
    with caplog.at_level(logging.WARNING, logger="reminders.workdays"):
        assert not cal.is_workday(date(2028, 10, 2)) and cal.is_workday(date(2028, 10, 9))
        assert cal.previous(date(2028, 10, 2)) == date(2028, 9, 29)
    assert not caplog.records


def test_operator_overrides_win_over_fallback_and_package():
    loaded = {d: "off" for d in parse_range("2027-10-01..2027-10-07")} | {date(2027, 9, 26): "work"}
    assert not is_workday(date(2027, 10, 4), loaded) and not is_workday(date(2027, 10, 7), loaded)
    assert is_workday(date(2027, 9, 26), loaded)  # a Sunday
    assert first_workday_of_month(2027, 10, loaded) == date(2027, 10, 8)
    assert is_workday(date(2026, 10, 1), {date(2026, 10, 1): "work"})  # even a year the package knows


def test_parse_range_rejects_bad_input():
    assert parse_range("2027-09-26") == [date(2027, 9, 26)]
    assert len(parse_range("2027-10-01..2027-10-07")) == 7
    for bad in ("2027-10-07..2027-10-01", "2027-13-01", "十月一日"):
        with pytest.raises(ValueError):
            parse_range(bad)
