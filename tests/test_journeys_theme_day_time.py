"""主题党日时间 and 主题党日地点: set by the secretary like the other settings, and used wherever the rule's 主题党日
is spoken of: the meeting a 请假 makes from the rule, the member's 下次开会 answer, the notices.

The clock starts frozen at 2026-11-24 10:00 (Beijing); 第一党支部's rule is 每月20日, so December's 主题党日 is
Friday 12月18日 (the 20th is a Sunday)."""
from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import Meeting, Organization
from tests.signin_helpers import beijing


def branch_settings(rt) -> dict:
    with transaction(rt.sessions) as s:
        return dict(s.scalars(select(Organization).where(Organization.name == "第一党支部")).one().settings or {})


def test_the_secretary_sets_the_time_and_place_and_a_bad_time_changes_nothing(demo, say):
    shown = say("demo-shuji", "支部设置")
    assert "· 主题党日时间：09:00" in shown and "· 主题党日地点：（未设置，创建活动时再定）" in shown
    for bad in ("25:00", "14:75", "下班后"):
        refused = say("demo-shuji", f"设置 主题党日时间 {bad}")
        assert refused.startswith("未修改：主题党日时间：") and "14:30" in refused, refused
    assert "theme_day_time" not in branch_settings(demo)
    assert say("demo-shuji", "设置 主题党日时间 下午2点半") == \
        "已修改第一党支部的主题党日时间：14:30。发送「支部设置」查看全部设置。"
    assert "主题党日地点：三楼会议室" in say("demo-shuji", "设置 主题党日地点为三楼会议室")
    shown = say("demo-shuji", "支部设置")
    assert "· 主题党日时间：14:30" in shown and "· 主题党日地点：三楼会议室" in shown
    assert say("demo-dangyuan", "设置 主题党日时间 8:00").startswith("「设置」只有支部书记、副书记、组织委员可以使用")
    assert branch_settings(demo)["theme_day_time"] == "14:30"


def test_the_member_is_told_the_rule_days_time_and_place(demo, say):
    before = say("demo-dangyuan", "下个月主题党日是几号")
    assert "12月18日（周五）（按支部规定的每月20日，具体时间地点以通知为准）" in before, before
    say("demo-shuji", "设置 主题党日时间 14:30")
    only_time = say("demo-dangyuan", "下个月主题党日是几号")
    assert "12月18日（周五） 14:30（按支部规定的每月20日，具体地点以通知为准）" in only_time, only_time
    say("demo-shuji", "设置 主题党日地点 三楼会议室")
    assert "第一党支部12月主题党日：12月18日（周五） 14:30，三楼会议室（按支部规定的每月20日）。" in \
        say("demo-dangyuan", "下个月主题党日是几号")
    assert "· 12月18日（周五） 14:30 主题党日，三楼会议室（按支部规定的每月20日）" in \
        say("demo-dangyuan", "下次开会什么时候")


def test_a_leave_makes_the_meeting_at_the_branchs_time_and_place(demo, say):
    say("demo-shuji", "设置 主题党日时间 14:30")
    say("demo-shuji", "设置 主题党日地点 三楼会议室")
    assert "主题党日（12月18日（周五）14:30）" in say("demo-dangyuan", "请假 主题党日 出差")
    with transaction(demo.sessions) as s:
        meeting = s.scalars(select(Meeting)).one()
        local = meeting.starts_at.astimezone(demo.settings.tz)
        assert (local.date().isoformat(), local.strftime("%H:%M"), meeting.place) == ("2026-12-18", "14:30", "三楼会议室")
    assert "· 12月18日（周五） 14:30 主题党日，三楼会议室" in say("demo-dangyuan", "下次开会什么时候")


def test_without_the_settings_the_rule_meeting_keeps_nine_oclock(demo, say):
    assert "主题党日（12月18日（周五）09:00）" in say("demo-dangyuan", "请假 主题党日 出差")


def test_the_notices_say_when_and_where(demo, say, clock):
    say("demo-shuji", "设置 主题党日时间 14:30")
    say("demo-shuji", "设置 主题党日地点 三楼会议室")
    clock.set(beijing(2026, 12, 15, 9, 0))  # T−3: the notice is out
    coming = say("demo-shuji", "待办提醒")
    assert "第一党支部将于12月18日（周五）14:30在三楼会议室开展12月主题党日活动" in coming, coming
    assert "今天是第一党支部12月主题党日，14:30在三楼会议室开始，请按时参加" in coming


def test_set_over_dingtalk(dingtalk_rt, clock):
    from bot.app import create_app
    from tests.fakes.dingtalk_client import SignedClient
    from tests.test_channels_conversation import dingtalk_text

    client = create_app(runtime=dingtalk_rt).test_client()
    signer = SignedClient("ding-app-secret", clock)

    def say(user: str, text: str) -> str:
        status, body = signer.post_flask(client, signer.message(user, text))
        assert status == 200
        return dingtalk_text(body)

    assert "未修改：主题党日时间" in say("demo-shuji", "设置 主题党日时间 24:10")
    assert "已修改第一党支部的主题党日时间：15:00" in say("demo-shuji", "设置 主题党日时间 15点")
    assert "12月18日（周五） 15:00" in say("demo-dangyuan", "下个月主题党日是几号")
