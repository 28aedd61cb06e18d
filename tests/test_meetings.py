"""安排: a meeting scheduled ahead keeps its date and opens sign-in 30 minutes before it starts."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.db import transaction
from storage.models import Meeting
from tests.signin_helpers import BEIJING, beijing, code_of, meeting, rows


def test_schedule_keeps_the_date_and_opens_30_minutes_before(demo, say, clock):
    reply = say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室")
    code = code_of(reply)
    assert "12月18日（周五）14:30" in reply and "地点：三楼会议室" in reply and "14:00起可签到" in reply
    m = meeting(demo, code)
    assert m.starts_at == beijing(2026, 12, 18, 14, 30) and m.place == "三楼会议室" and m.kinds == {"主题党日"}
    assert m.signin_opens_at == beijing(2026, 12, 18, 14, 0) and m.status == "scheduled"
    assert m.signin_closes_at == beijing(2026, 12, 18, 16, 30)

    clock.set(beijing(2026, 12, 18, 13, 59))
    early = say("demo-dangyuan", f"签到 {code}")
    assert "14:00开放" in early and rows(demo) == {}
    clock.set(beijing(2026, 12, 18, 14, 5))
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功")
    clock.set(beijing(2026, 12, 18, 14, 41))
    assert "迟到 11 分钟" in say("demo-yubei", f"签到 {code}")
    assert {n: a.status for n, a in rows(demo, code).items()} == {"张伟": "present", "陈晨": "late"}


def test_a_weekend_date_is_kept_as_given(demo, say):
    code = code_of(say("demo-shuji", "安排 党员大会 2026年12月19日 9:00 大礼堂 年终总结"))
    m = meeting(demo, code)
    assert m.starts_at == beijing(2026, 12, 19, 9, 0) and m.starts_at.astimezone(BEIJING).weekday() == 5
    assert m.place == "大礼堂" and m.title == "年终总结"


def test_date_without_year_and_afternoon(demo, say):
    m = meeting(demo, code_of(say("demo-shuji", "安排 支委会 12月1日 下午3:00")))
    assert m.starts_at == beijing(2026, 12, 1, 15, 0)
    m = meeting(demo, code_of(say("demo-shuji", "安排 党课 1月8日 9:30")))
    assert m.starts_at == beijing(2027, 1, 8, 9, 30)  # January, written in November, is next year


def test_bad_schedules_change_nothing(demo, say):
    assert "已经过去了" in say("demo-shuji", "安排 主题党日 2026-11-20 14:30")
    assert "不是有效的日期时间" in say("demo-shuji", "安排 主题党日 2026-02-30 14:30")
    assert "开始日期和时间" in say("demo-shuji", "安排 主题党日 三楼会议室")
    assert "不是会议类型" in say("demo-shuji", "安排 联欢会 2026-12-18 14:30")
    assert "只有" in say("demo-dangyuan", "安排 主题党日 2026-12-18 14:30")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0


def test_open_signin_in_a_scheduled_window_reuses_its_code(demo, say, clock):
    code = code_of(say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室"))
    clock.set(beijing(2026, 12, 18, 14, 10))
    opened = say("demo-zuzhi", "发起签到 主题党日")  # the 安排's window is open: this opens it, same code
    assert "已发起签到" in opened and code_of(opened) == code and "你是发起人，已记为出席" in opened
    again = say("demo-zuzhi", "发起签到 主题党日")
    assert "已在进行中" in again and code_of(again) == code
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1
    clock.set(clock() + timedelta(minutes=1))
    assert "应到 12 人" in say("demo-shuji", "签到情况")


def test_cancel_a_meeting_nobody_signed_in_to(demo, say, clock):
    code = code_of(say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室"))
    say("demo-dangyuan", "请假 主题党日 出差")
    assert "只有" in say("demo-dangyuan", f"取消会议 {code}")
    assert "请写上要取消的会议的签到码" in say("demo-shuji", "取消会议")
    assert f"已取消主题党日（12月18日（周五）14:30），签到码 {code} 作废" in say("demo-shuji", f"取消会议 {code}")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0
    assert rows(demo) == {}
    assert "不对或已失效" in say("demo-dangyuan", f"签到 {code}")

    live = code_of(say("demo-shuji", "发起签到 党课"))
    say("demo-dangyuan", f"签到 {live}")
    assert "已有 2 人签到，不能取消" in say("demo-shuji", f"取消会议 {live}")  # 张伟 and the 书记 who opened it
    assert "没有签到码为 0000" in say("demo-shuji", "取消会议 0000")


def test_title_place_and_invitations_are_told_apart(demo, say):
    m = meeting(demo, code_of(say("demo-shuji", "发起签到 党课 在线学习 以人民为中心")))
    assert m.title == "在线学习 以人民为中心" and m.place is None
    m = meeting(demo, code_of(say("demo-shuji", "发起签到 支委会 在二楼小会议室 主题:研究发展党员 确认")))
    assert m.place == "二楼小会议室" and m.title == "研究发展党员"
    m = meeting(demo, code_of(say("demo-shuji", "安排 党员大会 2026-12-10 9:00 地点:党员活动中心 邀请第二党支部")))
    assert m.place == "党员活动中心" and m.title == "党员大会" and len(m.invitations) == 1


def test_scheduling_the_same_meeting_twice_keeps_one(demo, say):
    first = code_of(say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室"))
    again = say("demo-zuzhi", "安排 主题党日 2026-12-18 14:30")
    assert "已经安排过了" in again and code_of(again) == first
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1
