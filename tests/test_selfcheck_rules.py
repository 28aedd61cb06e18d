"""The 规范化 self-check as pure functions: several branch states against the shipped standard, the score, the
evidence, what to fix first; and the standard file's checks (one Chinese line per problem, all at once)."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reminders.oversight_rules import checkup
from reminders.rules import GroupState, MeetingRecord, OrgState, Person, Term
from reminders.selfcheck_rules import FAIL, MANUAL, MEASURES, PASS, selfcheck
from reminders.selfcheck_standard import StandardError, load_standard, parse_standard

TODAY = date(2026, 11, 24)  # October, the 3rd quarter and the 2025 year are over; November is running


def people(n: int, start: int = 1, category: str = "正式") -> tuple[Person, ...]:
    return tuple(Person(i, f"党员{i}", f"u{i}", category, date(2010, 1, 1)) for i in range(start, start + n))


MEMBERS = people(9)
SHUJI = MEMBERS[0]
TERM = Term(date(2025, 3, 1), 3, date(2028, 3, 1))


def m(day: date, *kinds: str) -> MeetingRecord:
    return MeetingRecord(day, frozenset(kinds))


# a branch in order: every month 主题党日 + 支委会, each quarter's last month 党员大会 + 党课, last December 组织生活会
IN_ORDER_MEETINGS = tuple(m(date(2026, mo, 20), "主题党日", "支委会", *(("党员大会", "党课") if mo % 3 == 0 else ()))
                          for mo in range(1, 11)) + (m(date(2025, 12, 20), "组织生活会", "民主评议"),)


def branch(**kw) -> OrgState:
    base = dict(org_id=1, name="测试支部", settings={}, members=MEMBERS, roles={"书记": (SHUJI,)}, term=TERM,
                meetings=IN_ORDER_MEETINGS, dues_since="2025-01")
    return OrgState(**{**base, **kw})


def paid_up(state: OrgState) -> dict[int, str]:
    return {p.id: "2026-10" for p in state.members}


def run(state: OrgState, latest_paid: dict[int, str] | None = None, today: date = TODAY):
    paid = paid_up(state) if latest_paid is None else latest_paid
    return selfcheck(state, checkup(state, today, latest_paid=paid), load_standard())


def by_id(result) -> dict[str, tuple[str, str]]:
    return {f.item.id: (f.status, f.evidence) for f in result.findings}


def test_a_branch_in_order_passes_every_scored_item_and_lists_the_manual_ones():
    r = run(branch())
    assert (r.earned, r.scorable) == (85, 85) and r.to_fix == ()
    found = by_id(r)
    assert found["branch-size"] == (PASS, "正式党员 9 人")
    assert found["committee"] == (PASS, "正式党员 9 人，支委会 2025-03-01 选举产生")
    assert found["secretary"] == (PASS, "书记：党员1")
    assert found["three-meetings"] == (PASS, "2026年10月 支委会 已召开；2026年第3季度 党员大会和党课 已召开")
    assert found["org-life"] == (PASS, "2025年度 组织生活会 已召开")
    assert [f.item.id for f in r.manual] == ["heart-to-heart", "venue", "records"]
    assert all(f.status == MANUAL for f in r.manual)
    assert r.periods == ("2026年10月", "2026年第3季度", "2025年度")


def test_the_running_month_is_not_failed():
    # nothing held in November yet: the self-check judges October, which is over
    r = run(branch(), today=date(2026, 11, 2))
    assert by_id(r)["theme-day"] == (PASS, "2026年10月 主题党日 已召开")


def test_a_quiet_branch_with_an_expired_term_fixes_the_heaviest_items_first():
    quiet = branch(term=Term(date(2023, 10, 15), 3, date(2026, 10, 15)),
                   meetings=tuple(x for x in IN_ORDER_MEETINGS if x.day < date(2026, 7, 1)))
    r = run(quiet)
    assert [(f.item.id, f.item.points) for f in r.to_fix] == [
        ("three-meetings", 15), ("term", 10), ("theme-day", 10)]
    found = by_id(r)
    assert found["three-meetings"] == (FAIL, "2026年10月 支委会 未召开；2026年第3季度 党员大会和党课 未召开")
    assert found["term"] == (FAIL, "任期 2026-10-15 届满，已逾期 40 天未换届")
    assert found["theme-day"] == (FAIL, "2026年10月 主题党日 未召开")
    assert (r.earned, r.scorable) == (50, 85)


def test_a_small_branch_needs_no_committee_but_three_full_members():
    members = people(2) + people(1, start=3, category="预备")
    small = branch(members=members, roles={"书记": (members[0],)}, term=None,
                   meetings=tuple(m(x.day, *(k for k in x.kinds if k != "支委会")) for x in IN_ORDER_MEETINGS))
    found = by_id(run(small))
    assert found["branch-size"] == (FAIL, "正式党员 2 人，不足 3 人")
    assert found["committee"] == (PASS, "正式党员 2 人，不足 7 人，可不设支委会")
    assert found["term"] == (FAIL, "系统中没有任期记录，无法确认按期换届")
    # without a committee no 支委会 is due: 三会一课 is the quarter's 党员大会 and 党课
    assert found["three-meetings"] == (PASS, "2026年第3季度 党员大会和党课 已召开")


def test_seven_full_members_without_a_committee_or_a_secretary():
    found = by_id(run(branch(term=None, roles={"副书记": (MEMBERS[1],)})))
    assert found["committee"] == (FAIL, "正式党员 9 人，应设支委会，系统中没有支委会任期记录")
    assert found["secretary"] == (FAIL, "未设书记（副书记：党员2）")


def test_party_groups_from_twenty_members():
    big = branch(members=people(25))
    assert by_id(run(big))["party-groups"] == (FAIL, "党员 25 人，未划分党小组")
    group = GroupState("第一党小组", (MEMBERS[0],), tuple(m(date(2026, mo, 10), "党小组会") for mo in range(1, 12)))
    assert by_id(run(branch(members=people(25), groups=(group,))))["party-groups"] == (PASS, "党员 25 人，设 1 个党小组")
    assert by_id(run(branch()))["party-groups"] == (PASS, "党员 9 人，不足 20 人，可不划分党小组")


def test_dues_behind_and_no_dues_records():
    state = branch()
    behind = {**paid_up(state), 2: "2026-07", 3: "2026-04"}  # three and six months unpaid through October
    assert by_id(run(state, behind))["dues"] == (FAIL, "2 人连续 3 个月以上未交党费（其中 6 个月以上 1 人）")
    assert by_id(run(state))["dues"] == (PASS, "没有连续 3 个月以上未交党费的党员")
    assert by_id(run(branch(dues_since=None), {}))["dues"] == (FAIL, "系统中没有党费交纳记录")


def test_probation_over_without_conversion():
    late = Person(20, "陈预备", "chen", "预备", date(2025, 9, 1))
    found = by_id(run(branch(members=MEMBERS + (late,))))
    assert found["probation"] == (FAIL, "预备期已满未转正：陈预备")
    on_time = Person(21, "李预备", "li", "预备", date(2026, 6, 1))
    assert by_id(run(branch(members=MEMBERS + (on_time,))))["probation"] == (
        PASS, "预备党员 1 人，没有预备期已满未转正的")


def test_the_shipped_standard_uses_every_measure_and_cites_its_source():
    standard = load_standard()
    assert {i.measure for i in standard.items if i.measure} == set(MEASURES)
    assert sum(i.points for i in standard.items) == 100
    assert "标准化规范化建设工作方案" in standard.source and "苏委工〔2020〕6号" in standard.source


GOOD_ITEM = {"id": "theme-day", "area": "组织生活", "name": "主题党日", "points": 10, "basis": "每月1天",
             "measure": "theme_day"}


def problems(data) -> list[str]:
    with pytest.raises(StandardError) as err:
        parse_standard(data, "std.yaml")
    return err.value.problems


def test_every_problem_of_a_standard_file_is_one_chinese_line():
    items = [GOOD_ITEM,
             {**GOOD_ITEM, "id": "theme-day"},
             {**GOOD_ITEM, "id": "typo", "measure": "theme_days"},
             {k: v for k, v in GOOD_ITEM.items() if k != "points"} | {"id": "no-points"},
             {**GOOD_ITEM, "id": "zero", "points": 0},
             {**GOOD_ITEM, "id": "extra", "weight": 3}]
    found = problems({"title": "自查", "source": "某方案", "items": items})
    assert found == [
        "std.yaml 第2项（id: theme-day）：id 重复，第1项已经用了这个 id",
        "std.yaml 第3项（id: typo）：measure “theme_days” 不认识（可用：" + "、".join(MEASURES)
        + "；数据无法反映的项不写 measure，按需人工核查列出）",
        "std.yaml 第4项（id: no-points）：缺少字段 points（这一项的分值）",
        "std.yaml 第5项（id: zero）：字段 points 应是正整数（分值），现在是“0”",
        "std.yaml 第6项（id: extra）：不认识的字段 weight（可用：id、area、name、points、basis、measure）"]
    assert all("\n" not in p for p in found)


def test_a_standard_without_items_or_source_is_refused():
    assert problems({"title": "自查", "items": []}) == ["std.yaml：缺少字段 source", "std.yaml：缺少字段 items"]
    assert problems(["not", "a", "mapping"]) == ["std.yaml：文件应以“title:”“source:”“items:”三个字段组成"]
    manual = parse_standard({"title": "自查", "source": "某方案", "items": [
        {k: v for k, v in GOOD_ITEM.items() if k != "measure"}]}, "std.yaml")
    assert manual.items[0].manual


def test_the_scoring_does_no_io():
    """Like the reminder rules, the scoring is a pure function: importing it loads no database driver or ORM."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = "import sys, reminders.selfcheck_rules\nprint('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    modules = loaded.stdout.split()
    assert "reminders.selfcheck_rules" in modules
    assert [m for m in modules if m.split(".")[0] in ("sqlalchemy", "psycopg", "sqlite3", "yaml")] == []
