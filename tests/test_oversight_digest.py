"""The 上级管理员's monthly digest: planned on the month's first working day, one per 上级管理员, for the branches
under them, never twice; and the text the demo's 党委 receives through the outbox."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import select

from bot.demo import seed_demo_oversight
from reminders.digest import DIGEST_KIND
from reminders.planner import plan
from reminders.rules import DEFAULT_TZ
from reminders.scheduler import SchedulerJobs
from storage.db import transaction
from storage.models import Member, Organization, OutboxMessage, Role

DEC_1 = date(2026, 12, 1)  # a Tuesday, a working day


def morning(day: date) -> datetime:
    return datetime.combine(day, time(7, 0), tzinfo=DEFAULT_TZ).astimezone(UTC)


@pytest.fixture
def overseen(demo, clock):
    """The demo with its four branches' year of meetings and its dues, as of the 1st of December."""
    from bot.demo import seed_demo_dues

    clock.set(morning(DEC_1))
    with transaction(demo.sessions) as s:
        seed_demo_dues(s, DEC_1)
        seed_demo_oversight(s, DEC_1, demo.settings.tz)
    return demo


def digests(rt) -> list[OutboxMessage]:
    with rt.sessions() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == DIGEST_KIND)
                              .order_by(OutboxMessage.id)))


def plan_on(rt, day: date):
    with transaction(rt.sessions) as s:
        return plan(s, day, now=morning(day), tz=rt.settings.tz)


def test_the_first_working_day_plans_one_digest_per_upper_admin(overseen):
    plan_on(overseen, DEC_1)
    [row] = digests(overseen)
    with overseen.sessions() as s:
        assert s.get(Member, row.recipient_id).wecom_userid == "demo-dangwei"
    assert row.dedupe_key == "oversight_digest:2026-11:demo-dangwei"
    assert row.content["link"] == "/console"
    text = row.content["text"]
    assert text.startswith("【党建工作月报】2026年11月，所辖 4 个党支部")
    lines = text.splitlines()
    # last month's required meetings: 第三党支部 has been quiet since 22 October
    assert "· 11月主题党日：应开 4 个支部，已开 3 个；未开：第三党支部" in lines
    assert "· 11月支委会：应开 4 个支部，已开 3 个；未开：第三党支部" in lines
    assert "· 红 第三党支部：任期已届满 16 天未换届" in lines
    assert any(line.startswith("· 黄 第二党支部：") for line in lines)
    assert "· 第二党支部：2026年12月20日届满（还有 19 天）" in lines  # within six months
    assert not any("第一党支部：2027年6月15日" in line for line in lines)  # not yet within six months


def test_once_a_month_and_a_missed_first_is_caught_up(overseen):
    plan_on(overseen, date(2026, 11, 30))  # November's digest reports on October: another key
    before = {r.dedupe_key for r in digests(overseen)}
    plan_on(overseen, DEC_1)
    again = plan_on(overseen, DEC_1)
    later = plan_on(overseen, date(2026, 12, 2))
    assert [r.dedupe_key for r in digests(overseen) if r.dedupe_key not in before] == [
        "oversight_digest:2026-11:demo-dangwei"]
    assert again.new == 0 and later.planned_for == date(2026, 12, 2)


def test_a_server_down_on_the_first_working_day_sends_it_the_next_day(overseen):
    plan_on(overseen, date(2026, 12, 2))
    assert [r.dedupe_key for r in digests(overseen)] == ["oversight_digest:2026-11:demo-dangwei"]


def test_a_holiday_on_the_first_moves_the_digest_to_the_next_working_day(overseen):
    for day in (date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3)):  # 元旦 and a weekend
        plan_on(overseen, day)
    assert digests(overseen) == []
    plan_on(overseen, date(2027, 1, 4))
    [row] = digests(overseen)
    assert row.dedupe_key == "oversight_digest:2026-12:demo-dangwei"
    lines = row.content["text"].splitlines()
    assert lines[0] == "【党建工作月报】2026年12月，所辖 4 个党支部"
    assert "· 第一党支部：2027年6月15日届满（还有 162 天）" in lines
    # the quarter that ended with December is reported with the month
    assert any(line.startswith("· 2026年第4季度党员大会：应开 4 个支部") for line in lines)


def test_each_upper_admin_gets_the_branches_under_them(overseen):
    with transaction(overseen.sessions) as s:
        branch4 = s.scalars(select(Organization).where(Organization.name == "第四党支部")).one()
        shuji2 = s.scalars(select(Member).where(Member.wecom_userid == "demo-shuji2")).one()
        s.add(Role(member_id=shuji2.id, organization_id=branch4.id, role="上级管理员"))
    plan_on(overseen, DEC_1)
    rows = {r.dedupe_key.rsplit(":", 1)[1]: r.content["text"] for r in digests(overseen)}
    assert sorted(rows) == ["demo-dangwei", "demo-shuji2"]
    assert "所辖 4 个党支部" in rows["demo-dangwei"]
    assert "所辖 1 个党支部" in rows["demo-shuji2"] and "第三党支部" not in rows["demo-shuji2"]


def test_the_party_committee_receives_it_with_the_console_link(overseen, clock, pushed):
    from reminders.outbox import dispatcher_for

    clock.set(datetime.combine(DEC_1, time(8, 1), tzinfo=DEFAULT_TZ).astimezone(UTC))
    jobs = SchedulerJobs(overseen.sessions, dispatcher_for(overseen.sessions, overseen.services), clock,
                         overseen.settings.tz)
    jobs.plan()
    jobs.dispatch()
    [text] = [p for p in pushed if "党建工作月报" in p]
    assert text.startswith("［推送给 demo-dangwei］\n【党建工作月报】2026年11月")
    assert f"打开管理控制台：{overseen.settings.public_url}/console" in text
    assert "一、上月应开会议" in text and "二、需要关注的支部" in text and "三、6 个月内任期届满" in text



def test_long_lists_are_capped_and_counted():
    from reminders.digest import digest_text
    from reminders.oversight_rules import RED, Checkup, Period, PeriodCheck

    november = Period("month", "11月", date(2026, 11, 1), DEC_1, True)
    cs = [Checkup(i, f"第{i}支部", RED, ((RED, "11月未召开主题党日"),),
                  (PeriodCheck(november, ("主题党日",), ("主题党日",) if i <= 12 else ()),), None, 0.8, None, None,
                  date(2027, 1, i), None, 0, 0) for i in range(1, 16)]
    lines = digest_text(cs, DEC_1).splitlines()
    assert "· 11月主题党日：应开 15 个支部，已开 3 个；未开：" + "、".join(f"第{i}支部" for i in range(1, 11)) + \
        " 等 12 个" in lines
    assert lines.count("· 红 第1支部：11月未召开主题党日") == 1 and "· 另有 5 个红色支部" in lines
    assert "· 第10支部：2027年1月10日届满（还有 40 天）" in lines and "· 另有 5 个支部" in lines
