"""请假 for the branch's regular 主题党日 when nobody typed 安排, and 请假 by the day (“我明天请假”), as conversations."""
from __future__ import annotations

from sqlalchemy import func, select

from storage.db import transaction
from storage.models import Meeting, MeetingKind
from tests.signin_helpers import beijing, code_of, rows


def theme_meetings(runtime) -> list[Meeting]:
    with transaction(runtime.sessions) as s:
        found = list(s.scalars(select(Meeting).join(MeetingKind).where(MeetingKind.kind == "主题党日")))
        for m in found:
            _ = m.kinds
        return found


def test_leave_for_the_rule_theme_day_then_scheduled_and_opened_on_it(demo, say, clock, pushed):
    # 11月20日 has passed; 12月20日 is a Sunday, so the rule's day moves to Friday 12月18日
    reply = say("demo-dangyuan", "请假 主题党日 出差")
    assert "已向书记请假：主题党日（12月18日（周五）09:00），事由：出差" in reply
    assert any("张伟（第一党支部）请假" in p for p in pushed)
    [made] = theme_meetings(demo)
    assert made.status == "scheduled" and made.created_by_id is None
    # a second request does not make a second meeting
    assert "已更新请假事由" in say("demo-dangyuan", "请假 主题党日 外出学习")
    assert len(theme_meetings(demo)) == 1
    # the secretary's 安排 gives it the real time and place, keeping the leave and the code
    scheduled = say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室")
    assert "已有 1 人请假" in scheduled and "三楼会议室" in scheduled and code_of(scheduled) == made.code
    # on the day, 发起签到 opens that meeting instead of a second one
    clock.set(beijing(2026, 12, 18, 13, 0))
    opened = say("demo-shuji", "发起签到 主题党日")
    assert code_of(opened) == made.code
    assert len(theme_meetings(demo)) == 1
    assert rows(demo, made.code)["张伟"].status == "leave"
    assert "请假：张伟（外出学习）" in say("demo-shuji", "签到情况")


def test_sign_in_opened_after_the_rules_hour_reuses_the_meeting(demo, say, clock):
    say("demo-yubei", "请假 主题党日 身体不适")
    [made] = theme_meetings(demo)
    clock.set(beijing(2026, 12, 18, 15, 0))  # the rule's 09:00 has long passed: the meeting starts now
    opened = say("demo-shuji", "发起签到 主题党日")
    assert code_of(opened) == made.code and "15:00" in opened
    assert "签到成功" in say("demo-dangyuan", f"签到 {made.code}")
    status = say("demo-shuji", "签到情况")
    assert "出席：王建国 15:00、张伟 15:00" in status and "请假：陈晨（身体不适）" in status  # the opener is in the room


def test_leave_by_the_day_in_the_members_own_words(demo, say, clock):
    clock.set(beijing(2026, 12, 17, 10, 0))
    reply = say("demo-dangyuan", "我明天请假，要去医院")
    assert "已向书记请假：主题党日（12月18日（周五）09:00），事由：要去医院" in reply
    reply = say("demo-yubei", "明天的会我请个假")
    assert "已向书记请假：主题党日（12月18日（周五）09:00）" in reply and "未写事由" in reply
    got = rows(demo)
    assert got["张伟"].note == "要去医院" and got["陈晨"].note is None and got["陈晨"].status == "leave"
    assert len(theme_meetings(demo)) == 1


def test_next_friday_and_a_day_without_a_meeting(demo, say, clock):
    # on Tuesday 11月24日 “下周五” is 12月4日: no meeting then, and the answer says when the 主题党日 is
    reply = say("demo-dangyuan", "下周五主题党日请假 孩子生病")
    assert "12月4日（周五）没有需要你参加、还没开始的主题党日" in reply
    assert "下次主题党日是12月18日（周五）" in reply
    assert theme_meetings(demo) == [] and rows(demo) == {}
    clock.set(beijing(2026, 12, 8, 9, 0))  # a week later “下周五” is 12月18日
    assert "主题党日（12月18日（周五）09:00），事由：孩子生病" in say("demo-dangyuan", "下周五主题党日请假 孩子生病")
    assert "11月20日（周五）已经过去了" in say("demo-dangyuan", "请假 11月20日 出差")


def test_several_meetings_that_day_ask_which_one(demo, say, clock):
    say("demo-shuji", "安排 党课 2026-12-18 15:30 三楼会议室")
    clock.set(beijing(2026, 12, 17, 18, 0))
    question = say("demo-dangyuan", "明天请假 出差")
    assert "12月18日（周五）有 2 个会议" in question
    assert "1. 主题党日（12月18日（周五）09:00）" in question and "2. 党课（12月18日（周五）15:30）" in question
    assert "已向书记请假：党课（12月18日（周五）15:30），事由：出差" in say("demo-dangyuan", "2")
    [(name, row)] = rows(demo).items()
    assert name == "张伟" and row.status == "leave"
    assert "请回复 1 到 2 之间的序号" in (say("demo-dangyuan", "明天请假 出差") and say("demo-dangyuan", "5"))


def test_a_question_about_leave_is_not_a_request(demo, say):
    reply = say("demo-dangyuan", "明天主题党日请假要写假条吗")
    assert "已向书记请假" not in reply
    assert rows(demo) == {} and theme_meetings(demo) == []


def test_secretary_records_leave_for_the_rule_theme_day(demo, say):
    assert "已为黄蕾登记请假：主题党日（12月18日（周五）09:00），事由：出差" in say("demo-shuji", "请假 黄蕾 出差")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1


def test_leave_by_the_day_over_dingtalk(dingtalk_rt, clock):
    from bot.app import create_app
    from tests.fakes.dingtalk_client import SignedClient
    from tests.test_channels_conversation import dingtalk_text

    clock.set(beijing(2026, 12, 17, 10, 0))
    client = create_app(runtime=dingtalk_rt).test_client()
    signer = SignedClient("ding-app-secret", clock)
    status, body = signer.post_flask(client, signer.message("demo-dangyuan", "我明天请假，要去医院"))
    assert status == 200
    assert "已向书记请假：主题党日（12月18日（周五）09:00），事由：要去医院" in dingtalk_text(body)
