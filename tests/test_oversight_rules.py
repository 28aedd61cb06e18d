"""The 党委's overview as pure functions, and its agreement with the reminder rules: for any branch and any day,
a reminder chases a missing meeting exactly when the overview shows that meeting as missing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from reminders.oversight_rules import GREEN, RED, YELLOW, Participation, check_period, checkup, current_periods
from reminders.rules import MONTH, QUARTER, YEAR, GroupState, MeetingRecord, OrgState, Person, Term, due_items
from reminders.workdays import Calendar

SHUJI = Person(1, "王书记", "shuji", "正式", date(2001, 7, 1))
ZUZHI = Person(2, "李组织", "zuzhi", "正式", date(2008, 6, 20))
XUAN = Person(3, "赵宣传", "xuan", "正式", date(2010, 1, 5))
LEADER = Person(4, "孙组长", "leader", "正式", date(2012, 3, 8))
YUBEI = Person(5, "陈预备", "yubei", "预备", date(2026, 1, 10))


def branch(**kw) -> OrgState:
    base = dict(org_id=1, name="测试支部", settings={}, members=(SHUJI, ZUZHI, XUAN, LEADER),
                roles={"书记": (SHUJI,), "组织委员": (ZUZHI,), "宣传委员": (XUAN,)},
                term=Term(date(2025, 3, 1), 3, date(2028, 3, 1)))
    return OrgState(**{**base, **kw})


def m(day: date, *kinds: str) -> MeetingRecord:
    return MeetingRecord(day, frozenset(kinds))


def monthly(year: int, months: range, *kinds: str, day: int = 20) -> tuple[MeetingRecord, ...]:
    return tuple(m(date(year, mo, day), *kinds) for mo in months)


GROUP_FULL = GroupState("第一党小组", (LEADER,), monthly(2026, range(1, 13), "党小组会", day=10))
GROUP_PART = GroupState("第二党小组", (LEADER,), monthly(2026, range(1, 7), "党小组会", day=10))

STATES = {
    "nothing recorded": branch(),
    "no committee term": branch(term=None),
    "combined meetings": branch(meetings=monthly(2026, range(1, 13), "主题党日", "支委会", "党员大会", "党课")
                                + (m(date(2025, 12, 26), "组织生活会", "民主评议"),)),
    "half a year": branch(meetings=monthly(2026, range(1, 7), "主题党日", "支委会")
                          + (m(date(2026, 3, 5), "党员大会"), m(date(2026, 12, 2), "组织生活会"))),
    "groups, one behind": branch(groups=(GROUP_FULL, GROUP_PART)),
    "groups, branch-wide meeting": branch(groups=(GROUP_PART,), meetings=monthly(2026, range(1, 13), "党小组会")),
    "explicit window": branch(settings={"org_life_window": {"start": "2027-01-10", "end": "2027-03-31"}},
                              meetings=(m(date(2027, 2, 1), "组织生活会", "民主评议"),)),
}
REMINDED = {"committee_meeting": ("支委会", MONTH), "group_meeting": ("党小组会", MONTH),
            "general_meeting": ("党员大会", QUARTER), "party_lecture": ("党课", QUARTER)}


@pytest.mark.parametrize("name", list(STATES))
def test_reminders_and_overview_never_disagree(name):
    state, cal = STATES[name], Calendar()
    day = date(2026, 1, 1)
    while day < date(2027, 4, 1):
        dues = due_items(state, day, cal)
        periods = {p.kind: p for p in current_periods(state, day) if p.start <= day < p.end}
        checks = {kind: check_period(state, p) for kind, p in periods.items()}
        for kind, (meeting, period) in REMINDED.items():
            reminded = any(d.kind == kind for d in dues)
            if reminded:  # whatever the reminders chase is missing in the overview
                assert meeting in checks[period].missing, (day, kind)
            # and what the overview shows missing is chased once its reminder season has come
            season = (day.day >= 25 and cal.previous(date(day.year, day.month, 25)) <= day) if period == MONTH \
                else (day.month % 3 == 0 and cal.first_of_month(day.year, day.month) <= day)
            if meeting in checks[period].missing and season:
                assert reminded, (day, kind)
        life = [d for d in dues if d.kind == "org_life_meeting" and d.key.endswith(":alert")]
        for d in life:
            year = d.key.split(":")[2]
            cycle = next(p for p in current_periods(state, day) if p.kind == YEAR and p.label == f"{year}年度")
            assert check_period(state, cycle).missing, (day, d.key)
            assert all(k in d.text for k in check_period(state, cycle).missing)
        day += timedelta(days=1)


def test_combined_meeting_counts_for_each_kind():
    c = checkup(STATES["combined meetings"], date(2026, 11, 24))
    assert all(not pc.missing for pc in c.periods if pc.period.closed)
    assert c.status == GREEN and c.summary() == "绿：各项正常"


def test_red_and_yellow_reasons():
    today = date(2026, 11, 24)
    s = branch(term=Term(date(2023, 10, 15), 3, date(2026, 10, 15)), meetings=(m(date(2026, 10, 15), "主题党日"),))
    c = checkup(s, today, Participation("11月", 1, 7, 10))
    assert c.status == RED
    assert c.reasons[0] == (RED, "任期已届满 40 天未换届")
    assert (RED, "10月未召开支委会") in c.reasons and (RED, "第3季度未召开党员大会和党课") in c.reasons
    assert (YELLOW, "40 天没有组织活动") in c.reasons and (YELLOW, "11月参与率 70%") in c.reasons
    assert c.summary().startswith("红：任期已届满 40 天未换届、") and "；黄：40 天没有组织活动、11月参与率 70%" in c.summary()
    assert c.term_overdue_days == 40 and c.quiet_days == 40


def test_thresholds_come_from_settings():
    today = date(2026, 11, 24)
    full = STATES["combined meetings"]
    s = OrgState(**{**full.__dict__, "settings": {"participation_threshold": 0.6, "quiet_days": 60}})
    c = checkup(s, today, Participation("11月", 1, 7, 10))
    assert c.status == GREEN
    c = checkup(full, today, Participation("11月", 1, 7, 10), upper_settings={"participation_threshold": 0.75})
    assert c.reasons == ((YELLOW, "11月参与率 70%"),)
    warn = OrgState(**{**full.__dict__, "term": Term(date(2024, 3, 1), 3, date(2027, 3, 1))})
    assert checkup(warn, today).reasons == ((YELLOW, "任期 2027-03-01 届满（还有3个月零5天）"),)
    assert checkup(warn, today, upper_settings={"term_warning_months": 3}).status == GREEN


def test_dues_and_probation():
    today = date(2026, 11, 24)
    full = STATES["combined meetings"]
    months = [f"2026-{k:02d}" for k in range(1, 11)]
    paid = {1: set(months), 2: set(months[:4]), 3: set(months[:7]), 4: set(months), 5: set(months)}
    s = OrgState(**{**full.__dict__, "members": (SHUJI, ZUZHI, XUAN, LEADER, YUBEI), "paid": paid,
                    "dues_since": "2026-01"})
    c = checkup(s, today)
    assert (c.dues_3, c.dues_6) == (1, 1)
    assert (RED, "1 名党员连续 6 个月未交党费") in c.reasons and (YELLOW, "1 名党员连续 3 个月未交党费") in c.reasons
    assert c.probation_soon == ("陈预备",) and c.probation_over == ()
    later = checkup(s, date(2027, 1, 12))
    assert later.probation_over == ("陈预备",) and (RED, "1 名预备党员预备期已满未转正") in later.reasons


def test_arrears_from_the_latest_month_paid_agree_with_the_months_paid():
    """The loader counts arrears from each member's latest month paid (one grouped query); the rules from the set of
    months paid. Both give the same runs."""
    import random

    from reminders.oversight_rules import dues_runs

    rng = random.Random(5)
    today = date(2026, 11, 24)
    all_months = [f"{y}-{mo:02d}" for y in (2025, 2026) for mo in range(1, 13)]
    for _ in range(200):
        people = tuple(Person(i, f"党员{i}", None, "正式", date(rng.choice((2010, 2025, 2026)), rng.randint(1, 12), 1))
                       for i in range(1, 6))
        paid = {p.id: {m for m in all_months if rng.random() < 0.7} for p in people}
        s = branch(members=people, paid=paid, dues_since=rng.choice(("2025-01", "2025-09", "2026-04")))
        latest = {pid: max((m for m in ms if m <= "2026-10"), default=None) for pid, ms in paid.items()}
        latest = {k: v for k, v in latest.items() if v}
        assert sorted(dues_runs(s, today)) == sorted(dues_runs(s, today, latest))
