"""The chat side: 本月安排, 待办提醒, 换届情况, 换届完成 and the reminder settings through 设置."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from reminders.planner import plan
from storage.db import transaction
from storage.models import AuditLog, CommitteeTerm, Organization
from tests.reminder_helpers import add_meeting, local


def test_month_plan_shows_theme_day_meetings_and_own_dues(demo, say, clock):
    clock.set(local(date(2026, 12, 2), 10))
    with transaction(demo.sessions) as s:
        add_meeting(s, "第一党支部", date(2026, 12, 9), "支委会")
    text = say("demo-dangyuan", "本月安排")
    assert "主题党日：12月18日（周五）" in text  # the 20th is a Sunday
    assert "12月9日（周三） 14:00 支委会" in text
    assert "12月的党费还没有交" in text
    assert "支委会" not in say("demo-shuji2", "本月安排")  # another branch's meeting is not listed


def test_theme_day_setting_changes_the_plan(say, clock):
    clock.set(local(date(2026, 12, 2), 10))
    assert "已修改" in say("demo-shuji", "设置 主题党日 每月第三个周五")
    assert "主题党日：12月18日（周五）" in say("demo-dangyuan", "本月安排")
    assert "已修改" in say("demo-shuji", "设置 主题党日 每月10日")
    assert "主题党日：12月10日（周四）" in say("demo-dangyuan", "本月安排")
    assert "未修改" in say("demo-shuji", "设置 主题党日 每月32日")


def test_org_life_window_through_the_chat(demo, say):
    reply = say("demo-shuji", "设置 组织生活会 2027-01-10至2027-03-31")
    assert "已修改" in reply and "2027-01-10至2027-03-31" in reply
    assert "未修改" in say("demo-shuji", "设置 组织生活会 2027-03-31至2027-01-10")
    with transaction(demo.sessions) as s:
        org = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        assert org.settings["org_life_window"] == {"start": "2027-01-10", "end": "2027-03-31"}
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "org.set")) == 1


def test_coming_up_lists_the_next_30_days_for_the_secretary(say, clock):
    clock.set(local(date(2026, 12, 2), 10))
    text = say("demo-shuji", "待办提醒")
    assert "12月15日（周二） 换届提醒" in text and "2027年6月15日届满" in text
    assert "12月18日（周五） 主题党日通知" in text
    assert "12 名党员本月党费未交" in text
    assert "12月25日（周五） 支委会提醒" in text
    assert "12月4日（周五） 发展党员提醒：入党积极分子许诺上次考察是2026年6月20日" in text  # the pipeline too
    assert "第二党支部" not in text
    assert "只有" in say("demo-dangyuan", "待办提醒")


def test_terms_for_a_secretary_and_for_the_upper_level(say, clock):
    clock.set(local(date(2026, 12, 21), 10))
    mine = say("demo-shuji", "换届情况")
    assert "第一党支部：2024-06-15 选举，任期3年，2027-06-15 届满" in mine and "届满前6个月" in mine
    upper = say("demo-dangwei", "换届情况")
    lines = upper.splitlines()
    assert "2 个党支部" in lines[0]
    assert lines[1].startswith("· 第二党支部") and "已届满 1 天" in lines[1]
    assert lines[2].startswith("· 第一党支部")
    assert "只有" in say("demo-dangyuan", "换届情况")


def test_recording_an_election_starts_a_new_term_and_stops_the_old_reminders(demo, say, clock):
    clock.set(local(date(2026, 12, 22), 10))
    assert "还没到" in say("demo-shuji2", "换届完成 2026-12-30 任期3年")
    assert "只有" in say("demo-dangyuan", "换届完成 2026-12-21 任期3年")
    assert "请写明是哪个党支部" in say("demo-dangwei", "换届完成 2026-12-21 任期3年")
    assert "不能为" in say("demo-shuji", "换届完成 第二党支部 2026-12-21 任期3年")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(CommitteeTerm)) == 2  # nothing changed yet
        before = {d.key for d in plan(s, date(2026, 12, 22), now=clock()).dues
                  if d.kind.startswith("term") and d.organization == "第二党支部"}
    assert before == {"term_overdue:第二党支部:2026-12-20:T0"}
    reply = say("demo-dangwei", "换届完成 第二党支部 2026-12-21 任期5年")
    assert "已登记第二党支部换届" in reply and "2031-12-21 届满" in reply
    assert "须晚于上一届的选举日期 2026-12-21" in say("demo-shuji2", "换届完成 2026-12-21")
    with transaction(demo.sessions) as s:
        after = {d.key for d in plan(s, date(2026, 12, 23), now=clock()).dues
                 if d.kind.startswith("term") and d.organization == "第二党支部"}
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "term.elected")).one()
    assert after == set()
    assert audit.actor == "周敏" and audit.detail["ends_on"] == "2031-12-21" and audit.detail["term_years"] == 5
    assert "2026-12-21 选举，任期5年" in say("demo-shuji2", "换届情况")
    assert "已登记第一党支部换届" in say("demo-shuji", "换届完成 2026-12-22")  # years default to the last term's
