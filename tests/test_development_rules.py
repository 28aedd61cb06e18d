"""The 发展党员 time rules (storage/development_rules.py), each at its edge: the day before, the day, the day after.

Working days come from the real calendar: 2026's 中秋 (09-25) and 国庆 (10-01…10-07) with the 10-10 make-up day."""
from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from reminders.workdays import Calendar
from storage.development_rules import (
    STEPS,
    V2014,
    V2026,
    Milestone,
    Record,
    check_entry,
    dependents,
    limits,
    next_steps,
    probation_end,
    resolve_step,
    stage,
    version_on,
    with_publicity_end,
)

CAL = Calendar()
TODAY = date(2030, 1, 1)  # far enough on that no date below is "in the future"
FULL = {"李红梅": "正式", "张伟": "正式"}


def rec(*steps: tuple, birth: date | None = date(1990, 1, 1)) -> Record:
    """A record with these (step, day[, end][, data]) milestones, taken as recorded (no checks)."""
    ms = []
    for s in steps:
        step, day, *rest = s
        end = rest[0] if rest and isinstance(rest[0], date) else None
        data = rest[-1] if rest and isinstance(rest[-1], dict) else {}
        ms.append(Milestone(step, day, end, data))
    return Record("张三", birth, tuple(ms))


def check(record: Record, step: str, day: date, end: date | None = None, data: dict | None = None,
          people: dict | None = None, today: date = TODAY):
    return check_entry(record, with_publicity_end(Milestone(step, day, end, data or {}), CAL), today, CAL, people)


def upto(step: str, **days: date) -> Record:
    """A record complete up to and including `step`, on consecutive plausible dates (overridable by step key)."""
    plan = [
        ("application", date(2024, 1, 2)), ("talk", date(2024, 1, 10)), ("activist", date(2024, 3, 1)),
        ("activist_filed", date(2024, 3, 5)), ("contacts", date(2024, 3, 1), {"names": ["李红梅"]}),
        ("review", date(2024, 8, 30)), ("object", date(2025, 3, 1)), ("object_upper", date(2025, 3, 5)),
        ("introducers", date(2025, 3, 10), {"names": ["李红梅", "张伟"]}),
        ("political_review", date(2025, 4, 1), {"conclusion": "合格"}), ("training", date(2025, 4, 10), {"days": 3}),
        ("committee_review", date(2025, 5, 1)), ("prereview", date(2025, 5, 10)), ("volunteer_form", date(2025, 5, 15)),
        ("branch_meeting", date(2025, 6, 1), {"due": 10, "present": 8, "yes": 8}), ("upper_talk", date(2025, 6, 10)),
        ("approval", date(2025, 7, 1)), ("oath", date(2025, 7, 10)),
        ("conversion_application", date(2026, 5, 20)),
        ("conversion_meeting", date(2026, 6, 1), {"due": 10, "present": 8, "yes": 8}),
    ]
    out = []
    for item in plan:
        key, day, *rest = item
        out.append((key, days.get(key, day), *rest))
        if key == step:
            break
    return rec(*out)


def errors(v) -> str:
    return "\n".join(v.errors)


def warnings(v) -> str:
    return "\n".join(v.warnings)


# --- ≥ 18 years (第五条) ---------------------------------------------------------------------------------------------
def test_application_at_eighteen_day_before_day_after():
    r = Record("少年", date(2008, 12, 1))
    assert "未满18岁" in errors(before := check(r, "application", date(2026, 11, 30), today=date(2026, 12, 5)))
    assert "第五条" in errors(before) and "章程》第一条" in errors(before)
    assert check(r, "application", date(2026, 12, 1), today=date(2026, 12, 5)).ok
    assert check(r, "application", date(2026, 12, 2), today=date(2026, 12, 5)).ok


def test_application_without_birth_date_is_recorded_with_a_warning():
    v = check(Record("无生日"), "application", date(2026, 1, 5))
    assert v.ok and "出生日期" in warnings(v)


# --- talk within 1 month (第七条): a deadline, late is a warning -------------------------------------------------------
@pytest.mark.parametrize("day,late", [(date(2026, 2, 27), False), (date(2026, 2, 28), False), (date(2026, 3, 1), True)])
def test_talk_within_a_month_of_the_application(day, late):
    v = check(rec(("application", date(2026, 1, 31))), "talk", day)  # 1 month after 01-31 is 02-28
    assert v.ok
    assert ("谈话逾期" in warnings(v)) is late
    if late:
        assert "第七条" in warnings(v) and "应在2026-02-28前" in warnings(v)


# --- a review every 6 months (第十一条) ------------------------------------------------------------------------------
@pytest.mark.parametrize("day,late", [(date(2026, 7, 9), False), (date(2026, 7, 10), False), (date(2026, 7, 11), True)])
def test_review_every_six_months(day, late):
    r = upto("contacts", activist=date(2026, 1, 10), activist_filed=date(2026, 1, 12), contacts=date(2026, 1, 10))
    v = check(r, "review", day)
    assert v.ok and ("超过半年" in warnings(v)) is late


def test_review_due_rolls_from_the_last_review():
    r = upto("review", review=date(2024, 8, 30))
    lim = [x for x in limits(r) if x.rule == "review"]
    assert lim[0].since == date(2024, 8, 30) and lim[0].due == date(2025, 2, 28)


# --- ≥ 1 year as 积极分子 (第十三条): a hard rule ------------------------------------------------------------------------
def test_object_after_a_full_year_of_training_day_before_day_after():
    r = upto("review", activist=date(2025, 3, 10), contacts=date(2025, 3, 10), activist_filed=date(2025, 3, 12),
             review=date(2025, 9, 1))
    before = check(r, "object", date(2026, 3, 9))
    assert not before.ok and "不满1年" in errors(before) and "最早2026-03-10" in errors(before)
    assert "（2014年）第十三条" in errors(before)  # the decision date (2026-03) is before the 2026 text
    assert check(r, "object", date(2026, 3, 10)).ok
    assert check(r, "object", date(2026, 3, 11)).ok


def test_an_activist_confirmed_as_development_object_after_ten_months_is_refused():
    r = upto("review", activist=date(2026, 1, 6), contacts=date(2026, 1, 6), activist_filed=date(2026, 1, 13),
             review=date(2026, 7, 2))
    v = check(r, "object", date(2026, 11, 6))
    assert "只培养了10个月" in errors(v)


def test_object_warns_of_half_years_without_a_review():
    r = upto("contacts", activist=date(2025, 1, 10), contacts=date(2025, 1, 10), activist_filed=date(2025, 1, 12))
    v = check(r, "object", date(2026, 1, 20))
    assert v.ok and "2025-01-10至2026-01-20超过半年没有考察记录" in warnings(v)


# --- 公示 ≥ 5 working days (2026 第十三条), across a holiday -------------------------------------------------------------
def _published_object(day: date = date(2026, 9, 20)) -> Record:
    return upto("object_upper", object=day, object_upper=day)


@pytest.mark.parametrize("end,ok", [(date(2026, 10, 8), False), (date(2026, 10, 9), True), (date(2026, 10, 10), True)])
def test_publicity_of_five_working_days_across_national_day(end, ok):
    # 09-28 Mon, 09-29, 09-30, [10-01…10-07 off], 10-08 → 4 working days; 10-09 the fifth; 10-10 (Sat) a make-up day
    v = check(_published_object(), "publicity", date(2026, 9, 28), end)
    assert v.ok is ok
    if not ok:
        assert "只有4个工作日" in errors(v) and "最早2026-10-09结束" in errors(v) and "第十三条" in errors(v)


def test_publicity_given_its_first_day_ends_on_the_fifth_working_day():
    m = with_publicity_end(Milestone("publicity", date(2026, 9, 28)), CAL)
    assert m.end == date(2026, 10, 9)
    m = with_publicity_end(Milestone("publicity", date(2026, 9, 24)), CAL)  # Thu; 09-25 中秋, weekend
    assert m.end == date(2026, 10, 8)  # 09-24, 09-28, 09-29, 09-30, 10-08


@pytest.mark.parametrize("day,ok", [(date(2026, 10, 9), False), (date(2026, 10, 10), True)])
def test_committee_review_only_after_the_publicity_ends(day, ok):
    r = _published_object()
    for m in (("introducers", date(2026, 9, 21), {"names": ["李红梅", "张伟"]}),
              ("political_review", date(2026, 9, 22), {"conclusion": "合格"}), ("training", date(2026, 9, 23), {"days": 3}),
              ("publicity", date(2026, 9, 28), date(2026, 10, 9))):
        r = r.with_(Milestone(m[0], m[1], m[2] if isinstance(m[2], date) else None, m[-1] if isinstance(m[-1], dict) else {}))
    v = check(r, "committee_review", day)
    assert v.ok is ok
    if not ok:
        assert "公示2026-10-09才结束" in errors(v)


# --- versions: 2014 until 2026-05-10, 2026 from 2026-05-11 ------------------------------------------------------------
def test_the_version_in_force_by_date():
    assert version_on(date(2026, 5, 10)) == V2014 and version_on(date(2026, 5, 11)) == V2026


def test_publicity_is_required_only_of_a_development_object_decided_under_2026():
    def ready(obj: date) -> Record:
        r = upto("object_upper", object=obj, object_upper=obj)
        for step, data in (("introducers", {"names": ["李红梅", "张伟"]}), ("political_review", {"conclusion": "合格"}),
                           ("training", {"hours": 24})):
            r = r.with_(Milestone(step, date(2026, 6, 1), None, data))
        return r
    old = check(ready(date(2026, 5, 10)), "committee_review", date(2026, 6, 10))
    assert old.ok and old.version == V2026  # the review itself is under 2026, the 公示 rule follows the decision
    new = check(ready(date(2026, 5, 11)), "committee_review", date(2026, 6, 10))
    assert not new.ok and "发展对象公示" in errors(new)
    assert STEPS["object_upper"].title(V2014) == "发展对象报上级党委备案"
    assert STEPS["object_upper"].title(V2026) == "发展对象报上级党委同意"


def test_a_2014_refusal_cites_the_2014_text():
    r = upto("review", activist=date(2024, 3, 1))
    v = check(r, "object", date(2025, 2, 1))
    assert "（2014年）第十三条，以原文为准" in errors(v)


# --- 介绍人 and 联系人: two (one or two) 正式党员 --------------------------------------------------------------------------
def test_introducers_are_two_full_members():
    r = upto("object_upper")
    one = check(r, "introducers", date(2025, 3, 10), data={"names": ["李红梅"]}, people=FULL)
    assert "应为2名正式党员" in errors(one) and "第十四条" in errors(one)
    three = check(r, "introducers", date(2025, 3, 10), data={"names": ["李红梅", "张伟", "王五"]}, people=FULL)
    assert not three.ok
    probationer = check(r, "introducers", date(2025, 3, 10), data={"names": ["李红梅", "陈晨"]},
                        people={**FULL, "陈晨": "预备"})
    assert "陈晨是预备党员" in errors(probationer)
    unknown = check(r, "introducers", date(2025, 3, 10), data={"names": ["李红梅", "外单位"]}, people=FULL)
    assert unknown.ok and "没有找到外单位" in warnings(unknown)
    assert check(r, "introducers", date(2025, 3, 10), data={"names": ["李红梅", "张伟"]}, people=FULL).ok


def test_contacts_are_one_or_two():
    r = upto("activist")
    assert check(r, "contacts", date(2024, 3, 1), data={"names": ["李红梅"]}, people=FULL).ok
    assert not check(r, "contacts", date(2024, 3, 1), data={"names": []}, people=FULL).ok


# --- training ≥ 3 days or 24 学时 (第十七条) ---------------------------------------------------------------------------
@pytest.mark.parametrize("data,ok", [({"days": 2}, False), ({"days": 3}, True), ({"hours": 23}, False),
                                     ({"hours": 24}, True), ({"days": 2, "hours": 24}, True), ({}, False)])
def test_training_at_least_three_days_or_24_hours(data, ok):
    v = check(upto("object_upper"), "training", date(2025, 4, 10), data=data)
    assert v.ok is ok
    if data and not ok:
        assert "不足3天或24学时" in errors(v) and "（2014年）第十八条" in errors(v)


def test_failed_political_review_stops_the_committee_review():
    r = upto("training", political_review=date(2025, 4, 1))
    r = Record(r.name, r.birth, tuple(m._replace(data={"conclusion": "不合格"}) if m.step == "political_review" else m
                                      for m in r.milestones))
    assert "不能发展入党" in errors(check(r, "committee_review", date(2025, 5, 1)))


# --- 支部大会: within 1 month of 预审 (2026), quorum and vote ------------------------------------------------------------
COUNTS = {"due": 12, "present": 10, "yes": 10}


@pytest.mark.parametrize("day,late", [(date(2026, 7, 14), False), (date(2026, 7, 15), False), (date(2026, 7, 16), True)])
def test_branch_meeting_within_a_month_of_prereview(day, late):
    r = upto("volunteer_form", prereview=date(2026, 6, 15), volunteer_form=date(2026, 6, 20))
    v = check(r, "branch_meeting", day, data=COUNTS)
    assert v.ok and ("预审后召开支部大会逾期" in warnings(v)) is late
    if late:
        assert "第十九条" in warnings(v)


def test_no_meeting_window_when_prereview_was_under_2014():
    r = upto("volunteer_form", prereview=date(2026, 4, 15), volunteer_form=date(2026, 4, 20))
    v = check(r, "branch_meeting", date(2026, 7, 1), data=COUNTS)
    assert v.ok and not v.warnings


@pytest.mark.parametrize("due,present,yes,ok,why", [
    (12, 6, 6, False, "会议无效"), (12, 7, 6, False, "决议未通过"), (12, 7, 7, True, ""),
    (11, 5, 5, False, "会议无效"), (11, 6, 6, True, ""), (12, 13, 7, False, "人数不对"), (12, 7, 13, False, "人数不对"),
])
def test_branch_meeting_quorum_and_vote(due, present, yes, ok, why):
    r = upto("volunteer_form", prereview=date(2026, 6, 15), volunteer_form=date(2026, 6, 20))
    v = check(r, "branch_meeting", date(2026, 7, 1), data={"due": due, "present": present, "yes": yes})
    assert v.ok is ok and why in errors(v)
    if why in ("会议无效", "决议未通过"):
        assert "第十九条" in errors(v) or "第二十条" in errors(v)


def test_branch_meeting_needs_its_counts():
    r = upto("volunteer_form")
    assert "应到12 实到10 赞成10" in errors(check(r, "branch_meeting", date(2025, 6, 1)))


# --- 审批 within 3 months, at most 6 (第二十五条) -----------------------------------------------------------------------
@pytest.mark.parametrize("day,late,ceiling", [
    (date(2026, 9, 14), False, False), (date(2026, 9, 15), False, False), (date(2026, 9, 16), True, False),
    (date(2026, 12, 15), True, False), (date(2026, 12, 16), True, True)])
def test_approval_within_three_months_at_most_six(day, late, ceiling):
    r = upto("upper_talk", branch_meeting=date(2026, 6, 15), upper_talk=date(2026, 6, 20),
             prereview=date(2026, 6, 1), volunteer_form=date(2026, 6, 5))
    v = check(r, "approval", day)
    assert v.ok and bool(v.warnings) is late
    assert ("超过最长6个月" in warnings(v)) is ceiling
    if late:
        assert "第二十五条" in warnings(v)


# --- oath within 1 month of approval (2026 第二十九条) -----------------------------------------------------------------
@pytest.mark.parametrize("day,late", [(date(2026, 7, 19), False), (date(2026, 7, 20), False), (date(2026, 7, 21), True)])
def test_oath_within_a_month_of_approval(day, late):
    r = upto("approval", approval=date(2026, 6, 20))
    v = check(r, "oath", day)
    assert v.ok and ("入党宣誓逾期" in warnings(v)) is late


def test_no_oath_window_for_an_approval_under_2014():
    r = upto("approval", approval=date(2026, 4, 20))
    assert not check(r, "oath", date(2026, 6, 30)).warnings


# --- 预备期 1 year from the 支部大会; one extension of 6–12 months (第三十一条) --------------------------------------------
@pytest.mark.parametrize("day,ok", [(date(2026, 5, 31), False), (date(2026, 6, 1), True), (date(2026, 6, 2), True)])
def test_conversion_meeting_only_after_the_probation_year(day, ok):
    r = upto("conversion_application")  # 支部大会 2025-06-01
    v = check(r, "conversion_meeting", day, data=COUNTS)
    assert v.ok is ok
    if not ok:
        assert "预备期到2026-06-01才满" in errors(v) and "（2014年）第三十二条" in errors(v)


@pytest.mark.parametrize("months,ok", [(5, False), (6, True), (12, True), (13, False), (None, False)])
def test_extension_of_six_to_twelve_months(months, ok):
    v = check(upto("oath"), "extension", date(2026, 6, 1), data={"months": months} if months else {})
    assert v.ok is ok


def test_extension_once_and_it_moves_the_end_of_probation():
    r = upto("oath").with_(Milestone("extension", date(2026, 6, 1), None, {"months": 6}))
    assert probation_end(r) == date(2026, 12, 1)
    assert "已登记过" in errors(check(r, "extension", date(2026, 6, 2), data={"months": 6}))
    r = r.with_(Milestone("conversion_application", date(2026, 11, 20)))
    assert not check(r, "conversion_meeting", date(2026, 11, 30), data=COUNTS).ok
    assert check(r, "conversion_meeting", date(2026, 12, 1), data=COUNTS).ok


# --- 转正审批 within 3 months (第三十三条) ------------------------------------------------------------------------------
@pytest.mark.parametrize("day,late", [(date(2026, 8, 31), False), (date(2026, 9, 1), False), (date(2026, 9, 2), True)])
def test_conversion_approval_within_three_months(day, late):
    v = check(upto("conversion_meeting"), "conversion_approval", day)  # 转正大会 2026-06-01
    assert v.ok and ("转正审批逾期" in warnings(v)) is late


# --- order, duplicates, the future, a stopped record --------------------------------------------------------------------
def test_a_step_before_its_prerequisite_is_refused():
    r = rec(("application", date(2026, 11, 1)))
    v = check(r, "activist", date(2026, 11, 20))
    assert "还没有登记“党组织派人谈话”" in errors(v) and "登记发展 张三 谈话 日期" in errors(v)
    early = check(rec(("application", date(2026, 11, 1))), "talk", date(2026, 10, 30))
    assert "早于申请" in errors(early)


def test_duplicates_future_dates_and_stopped_records():
    r = rec(("application", date(2026, 11, 1)))
    assert "已登记过" in errors(check(r, "application", date(2026, 11, 2)))
    assert "还没到" in errors(check(r, "talk", date(2026, 12, 1), today=date(2026, 11, 24)))
    stopped = r.with_(Milestone("stop", date(2026, 11, 10)))
    assert stage(stopped) == "已终止" and "已终止" in errors(check(stopped, "talk", date(2026, 11, 11)))
    assert limits(stopped) == [] and next_steps(stopped) == []


def test_reviews_stop_at_the_development_object():
    r = upto("object")
    assert "不再登记" in errors(check(r, "review", date(2025, 3, 2)))
    assert [x.rule for x in limits(r)] == []


def test_dependents_block_revoking_an_earlier_step():
    r = upto("activist")
    assert dependents(r, "talk") == ["activist"]
    assert dependents(r, "activist") == []


def test_step_names_and_the_meaning_of_meeting_for_a_probationer():
    assert resolve_step("积极分子") == resolve_step("确定入党积极分子") == "activist"
    assert resolve_step("支部大会") == "branch_meeting"
    approved = upto("approval")
    assert resolve_step("支部大会", approved) == "conversion_meeting"
    assert resolve_step("审批", approved) == "conversion_approval"
    assert resolve_step("随便") is None


def test_next_steps_with_earliest_and_latest():
    r = upto("review", activist=date(2025, 3, 10), contacts=date(2025, 3, 10), activist_filed=date(2025, 3, 12),
             review=date(2025, 9, 1))
    nxt = {n.step: n for n in next_steps(r)}
    assert nxt["object"].earliest == date(2026, 3, 10)
    assert nxt["review"].latest == date(2026, 3, 1)
    app = rec(("application", date(2026, 11, 1)))
    assert next_steps(app)[0] == ("talk", date(2026, 11, 1), date(2026, 12, 1))


def test_the_rules_do_no_io():
    code = "import sys, storage.development_rules\nprint('\\n'.join(sys.modules))"
    root = Path(__file__).resolve().parent.parent
    loaded = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    io = [m for m in loaded.stdout.split() if m.split(".")[0] in ("sqlalchemy", "openpyxl", "requests", "psycopg",
                                                                 "sqlite3", "flask") or m == "storage.models"]
    assert io == []
