"""The rules as pure functions of an OrgState and a date (no database)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from reminders.rules import (
    DEFAULT_TZ,
    GroupState,
    MeetingRecord,
    OrgState,
    Person,
    Term,
    due_items,
    rule_day,
    theme_date,
)
from reminders.workdays import Calendar
from storage.org_settings import parse_theme_day, parse_window

SHUJI = Person(1, "王书记", "shuji")
ZUZHI = Person(2, "李组织", "zuzhi")
KEEPER = Person(3, "吴管理", "keeper")
LEADER = Person(4, "赵组长", "leader")
UPPER = Person(9, "周上级", "upper")
PLAIN = Person(5, "张党员", None, "正式", date(2015, 11, 12))


def branch(**kw) -> OrgState:
    base = dict(org_id=1, name="测试支部", settings={}, members=(SHUJI, ZUZHI, KEEPER, LEADER, PLAIN),
                roles={"书记": (SHUJI,), "组织委员": (ZUZHI,), "党费管理员": (KEEPER,)}, upper_admins=(UPPER,),
                term=Term(date(2025, 3, 1), 3, date(2028, 3, 1)))
    return OrgState(**{**base, **kw})


def kinds(dues, kind):
    return [d for d in dues if d.kind == kind]


def test_nth_weekday_rule_and_next_shift():
    third_friday = parse_theme_day("每月第三个周五")
    assert rule_day(third_friday, 2026, 12) == date(2026, 12, 18)
    assert rule_day(parse_theme_day("每月最后一个周一"), 2026, 11) == date(2026, 11, 30)
    s = branch(settings={"theme_day": third_friday})
    assert theme_date(s, 2026, 12, Calendar()) == (date(2026, 12, 18), False)
    # the 20th of December 2026 is a Sunday: previous by default, next when the branch chose it
    assert theme_date(branch(), 2026, 12, Calendar())[0] == date(2026, 12, 18)
    assert theme_date(branch(settings={"theme_day_shift": "next"}), 2026, 12, Calendar())[0] == date(2026, 12, 21)


def test_explicit_meeting_overrides_the_rule():
    s = branch(meetings=(MeetingRecord(date(2026, 12, 26), frozenset({"主题党日"})),))
    assert theme_date(s, 2026, 12, Calendar()) == (date(2026, 12, 26), True)
    keys = {d.key for d in kinds(due_items(s, date(2026, 12, 23)), "theme_day")}
    assert keys == {"theme_day:测试支部:2026-12-26:T-3"}  # the rule date (12-18) gives nothing


def test_the_time_zone_is_the_branch_states():
    """Asia/Shanghai unless the state says otherwise (the configured ZHIBU_TIMEZONE): notices at 08:00 there,
    deadlines at its midnight, and "today" is a date there."""
    assert branch().tz == DEFAULT_TZ == ZoneInfo("Asia/Shanghai")
    shanghai = {d.key: d for d in due_items(branch(), date(2026, 12, 15))}
    urumqi = ZoneInfo("Asia/Urumqi")
    local = {d.key: d for d in due_items(branch(tz=urumqi), date(2026, 12, 15))}
    assert set(local) == set(shanghai) and local
    for key, d in local.items():
        assert d.due_at == shanghai[key].due_at.replace(tzinfo=urumqi)
        assert d.relevant_until == shanghai[key].relevant_until.replace(tzinfo=urumqi)
    t3 = local["theme_day:测试支部:2026-12-18:T-3"]
    assert t3.due_at.astimezone(UTC) == datetime(2026, 12, 15, 2, tzinfo=UTC)  # 08:00 at UTC+6


def test_catch_up_after_a_stopped_server():
    # nothing planned between 12-10 and 12-17: on 12-17 the T−3 notice (due 12-15) is still relevant
    dues = due_items(branch(), date(2026, 12, 17))
    t3 = [d for d in kinds(dues, "theme_day") if d.key.endswith("T-3")]
    assert len(t3) == 1 and t3[0].due_at.date() == date(2026, 12, 15)
    assert len(kinds(dues, "dues_collection")) == 5  # nobody has paid December
    # …but not after the day itself
    assert not [d for d in kinds(due_items(branch(), date(2026, 12, 19)), "theme_day")]
    assert not kinds(due_items(branch(), date(2026, 12, 19)), "dues_collection")


def test_group_meeting_goes_to_the_leader_and_the_secretary_unless_recorded():
    group = GroupState("第一党小组", (LEADER,))
    dues = kinds(due_items(branch(groups=(group,)), date(2026, 12, 25)), "group_meeting")
    assert len(dues) == 1 and {p.id for p in dues[0].recipients} == {LEADER.id, SHUJI.id}
    held = GroupState("第一党小组", (LEADER,), (MeetingRecord(date(2026, 12, 3), frozenset({"党小组会"})),))
    assert not kinds(due_items(branch(groups=(held,)), date(2026, 12, 25)), "group_meeting")
    assert not kinds(due_items(branch(), date(2026, 12, 25)), "group_meeting")  # no groups, no 党小组会


def test_a_meeting_with_several_kinds_counts_for_each():
    both = MeetingRecord(date(2026, 12, 10), frozenset({"党员大会", "党课", "支委会"}))
    dues = due_items(branch(meetings=(both,)), date(2026, 12, 25))
    assert not kinds(dues, "general_meeting") and not kinds(dues, "party_lecture")
    assert not kinds(dues, "committee_meeting")
    lecture_only = MeetingRecord(date(2026, 12, 10), frozenset({"党课"}))
    dues = due_items(branch(meetings=(lecture_only,)), date(2026, 12, 25))
    assert kinds(dues, "general_meeting") and not kinds(dues, "party_lecture")


def test_org_life_window_from_the_upper_level_notice():
    s = branch(settings={"org_life_window": parse_window("2027-01-10至2027-03-31")})
    assert not kinds(due_items(s, date(2026, 12, 1)), "org_life_meeting")  # the Q4 alert is replaced
    notice = kinds(due_items(s, date(2027, 1, 11)), "org_life_meeting")
    assert [d.key for d in notice] == ["org_life_meeting:测试支部:2026:notice"]  # 01-10 is a Sunday
    alert = [d for d in kinds(due_items(s, date(2027, 3, 1)), "org_life_meeting") if d.key.endswith("alert")]
    assert len(alert) == 1 and alert[0].due_at.date() == date(2027, 3, 1)
    done = branch(settings=s.settings, meetings=(MeetingRecord(date(2027, 2, 20), frozenset({"组织生活会", "民主评议"})),))
    assert not kinds(due_items(done, date(2027, 3, 1)), "org_life_meeting")


def test_arrears_alert_at_three_escalate_at_six_never_more():
    year = frozenset(f"2026-{m:02d}" for m in range(1, 13))
    paid = {PLAIN.id: frozenset({"2026-01"}), SHUJI.id: year, KEEPER.id: year}
    s = branch(members=(SHUJI, KEEPER, PLAIN), paid=paid, dues_since="2026-01")
    # unpaid since 2026-02: three months complete at the end of April
    assert not kinds(due_items(s, date(2026, 4, 30)), "dues_arrears")
    three = kinds(due_items(s, date(2026, 5, 6)), "dues_arrears")
    assert {(d.recipients[0].id, "研究处理" in d.text) for d in three} == {(PLAIN.id, False), (KEEPER.id, False)}
    six = kinds(due_items(s, date(2026, 8, 3)), "dues_arrears")
    assert [(d.recipients[0].id, "研究处理" in d.text) for d in six] == [(SHUJI.id, True)]
    assert not kinds(due_items(s, date(2026, 9, 1)), "dues_arrears")
    assert not kinds(due_items(s, date(2027, 3, 1)), "dues_arrears")
    # a branch that records no dues here is never told its members owe for years
    assert not kinds(due_items(branch(), date(2026, 5, 6)), "dues_arrears")


def test_term_stages_follow_the_current_term():
    s = branch(term=Term(date(2024, 6, 15), 3, date(2027, 6, 15)))
    keys = [d.key for d in due_items(s, date(2027, 3, 20)) if d.kind.startswith("term")]
    assert keys == ["term_expiry:测试支部:2027-06-15:T-3m"]  # the T−6 stage stopped being relevant on 03-15
    renewed = branch(term=Term(date(2027, 6, 10), 3, date(2030, 6, 10)))
    assert not [d for d in due_items(renewed, date(2027, 6, 20)) if d.kind.startswith("term")]
    assert {p.id for p in due_items(s, date(2027, 6, 15))[-1].recipients} >= {UPPER.id, SHUJI.id}


def test_political_birthday_and_probation():
    probationer = Person(7, "陈预备", "yubei", "预备", date(2026, 3, 1))
    s = branch(members=(SHUJI, ZUZHI, probationer, PLAIN))
    lst = [d for d in kinds(due_items(s, date(2026, 11, 17)), "political_birthday") if d.key.endswith("list")]
    assert len(lst) == 1 and "张党员" in lst[0].text and "11周年" in lst[0].text
    assert {p.id for p in lst[0].recipients} == {SHUJI.id, ZUZHI.id}
    greet = kinds(due_items(s, date(2026, 11, 20)), "political_birthday")
    assert [d.recipients for d in greet] == [(PLAIN,)]
    due = kinds(due_items(s, date(2027, 1, 29)), "probation_due")
    assert len(due) == 1 and "陈预备" in due[0].text and {p.id for p in due[0].recipients} == {ZUZHI.id, SHUJI.id}
    assert not kinds(due_items(branch(members=(SHUJI, ZUZHI, probationer._replace(category="正式"))),
                               date(2027, 1, 29)), "probation_due")


def test_rebase_in_january_unless_every_amount_is_fixed():
    assert kinds(due_items(branch(), date(2027, 1, 4)), "dues_rebase")
    rated = frozenset((p.id, 2027) for p in branch().members)
    assert not kinds(due_items(branch(rated=rated), date(2027, 1, 4)), "dues_rebase")
    assert not kinds(due_items(branch(), date(2027, 2, 1)), "dues_rebase")
