"""请假 by a member before a meeting (seen and refusable by the secretary); 补签 / 请假 by the secretary; shared names."""
from __future__ import annotations

from sqlalchemy import select

from storage.db import transaction
from storage.models import AuditLog, ConversationState, Member
from tests.signin_helpers import add_member, beijing, code_of, later, rows


def schedule(say) -> str:
    return code_of(say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室"))


def test_member_asks_leave_and_the_secretary_is_told(demo, say, pushed):
    code = schedule(say)
    reply = say("demo-dangyuan", "请假 主题党日 出差")
    assert "已向书记请假" in reply and "12月18日（周五）14:30" in reply and "出差" in reply
    row = rows(demo, code)["张伟"]
    assert (row.status, row.note, row.via) == ("leave", "出差", "manual")
    assert len(pushed) == 1 and pushed[0].startswith("［推送给 demo-shuji］")
    assert "张伟（第一党支部）请假" in pushed[0] and "不准假 张伟" in pushed[0]
    status = say("demo-shuji", f"签到情况 {code}")
    assert "请假：张伟（出差）" in status and "14:00开放" in status
    again = say("demo-dangyuan", "请假 主题党日 家中有事")
    assert "已更新请假事由" in again and rows(demo, code)["张伟"].note == "家中有事"


def test_leave_without_kind_takes_the_next_meeting(demo, say):
    say("demo-shuji", "安排 党课 2026-12-20 9:00")
    code = schedule(say)  # 12-18 comes first
    assert "主题党日" in say("demo-yubei", "请假 身体不适")
    assert rows(demo, code)["陈晨"].status == "leave"


def test_leave_needs_a_meeting_and_a_reason(demo, say):
    # (a 主题党日 always has its day by the branch's rule: tests/test_journeys_leave_rule.py)
    assert "近期没有安排需要你参加的党课" in say("demo-dangyuan", "请假 党课 出差")
    schedule(say)
    assert "请写上请假事由" in say("demo-dangyuan", "请假 主题党日")
    assert "近期没有安排需要你参加的党课" in say("demo-dangyuan", "请假 党课 出差")
    assert rows(demo) == {}


def test_secretary_refuses_leave_and_the_member_is_told(demo, say, pushed, clock):
    code = schedule(say)
    say("demo-dangyuan", "请假 主题党日 出差")
    pushed.clear()
    reply = say("demo-shuji", "不准假 张伟 本次有重要学习")
    assert "已不准张伟的请假" in reply
    assert len(pushed) == 1 and pushed[0].startswith("［推送给 demo-dangyuan］") and "未获批准" in pushed[0]
    row = rows(demo, code)["张伟"]
    assert row.status == "absent" and "本次有重要学习" in row.note
    assert "书记未批准" in say("demo-dangyuan", "请假 主题党日 出差")
    assert "没有找到张伟待处理的请假" in say("demo-shuji", "不准假 张伟")
    # the member comes after all: the sign-in replaces the refused leave
    clock.set(beijing(2026, 12, 18, 14, 20))
    came = say("demo-dangyuan", f"签到 {code}")
    assert came.startswith("签到成功") and "原登记为缺席" in came
    assert rows(demo, code)["张伟"].status == "present"
    with transaction(demo.sessions) as s:
        assert s.scalars(select(AuditLog).where(AuditLog.action == "leave.refuse")).one().target == "张伟"


def test_member_on_leave_who_comes_is_counted_present(demo, say, clock):
    code = schedule(say)
    say("demo-yubei", "请假 主题党日 出差")
    clock.set(beijing(2026, 12, 18, 14, 25))
    assert "原登记为请假" in say("demo-yubei", f"签到 {code}")
    assert rows(demo, code)["陈晨"].status == "present"


def test_make_up_and_leave_by_the_secretary_after_the_window(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    say("demo-dangyuan", f"签到 {code}")
    later(clock, 150)  # the window has ended
    assert "已为马超登记补签（迟到）" in say("demo-shuji", "补签 马超")
    assert "已为赵静登记补签（按时出席）" in say("demo-shuji", "补签 赵静 按时")
    assert "已为黄蕾登记请假" in say("demo-zuzhi", "请假 黄蕾 出差")
    assert "张伟已于10:00签到" in say("demo-shuji", "补签 张伟")
    assert "无需登记请假" in say("demo-shuji", "请假 张伟 出差")
    got = rows(demo, code)
    assert (got["马超"].status, got["马超"].via) == ("late", "manual")
    assert got["赵静"].status == "present" and (got["黄蕾"].status, got["黄蕾"].note) == ("leave", "出差")
    assert got["张伟"].status == "present" and got["张伟"].via == "code"
    with transaction(demo.sessions) as s:
        secretary = s.scalars(select(Member).where(Member.wecom_userid == "demo-shuji")).one()
        assert got["马超"].recorded_by_id == secretary.id
        assert s.query(AuditLog).filter_by(action="attendance.manual").count() == 3
    # after 结束签到 too, and a member cannot do it
    say("demo-shuji", "结束签到")
    assert "已为何军登记补签" in say("demo-shuji", "补签 何军")
    assert "只有" in say("demo-dangyuan", "补签 冯丽")
    assert "没有找到名为“张三丰”" in say("demo-shuji", "补签 张三丰")


def test_make_up_needs_a_meeting(demo, say):
    assert "没有可以登记的会议" in say("demo-shuji", "补签 马超")


def test_shared_name_asks_which_one(demo, say, clock):
    add_member(demo, "张伟", "第一党支部", "zhangwei-2", "13812345678")
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 130)
    ask = say("demo-shuji", "补签 张伟")
    assert "有 2 位党员名叫“张伟”" in ask
    assert "1. 张伟（第一党支部，尾号0002）" in ask and "2. 张伟（第一党支部，尾号5678）" in ask
    assert set(rows(demo, code)) == {"王建国"}  # only the 书记 who opened it
    assert "请回复 1 到 2" in say("demo-shuji", "3")
    done = say("demo-shuji", "2")
    assert "已为张伟登记补签（迟到）" in done
    with transaction(demo.sessions) as s:
        second = s.scalars(select(Member).where(Member.wecom_userid == "zhangwei-2")).one()
        assert s.query(ConversationState).count() == 0
    got = rows(demo, code)
    assert list(got) == ["王建国", "张伟"] and got["张伟"].member_id == second.id


def test_shared_name_across_a_joint_meeting_shows_the_branch(demo, say, clock):
    add_member(demo, "张伟", "第二党支部", "zhangwei-b2", "13800009999")
    code = code_of(say("demo-shuji", "发起签到 主题党日 邀请第二党支部"))
    ask = say("demo-shuji", "请假 张伟 出差")
    assert "1. 张伟（第一党支部" in ask and "2. 张伟（第二党支部，尾号9999）" in ask
    assert "登记请假" in say("demo-shuji", "1")
    row = rows(demo, code)["张伟"]
    assert row.status == "leave" and row.note == "出差"
    # another message instead of a number drops the question
    assert "有 2 位党员名叫“张伟”" in say("demo-shuji", "请假 张伟 病假")
    assert "看看我能做什么" in say("demo-shuji", "帮助")
    with transaction(demo.sessions) as s:
        assert s.query(ConversationState).count() == 0


def test_secretary_records_leave_ahead_for_the_next_meeting(demo, say):
    # nothing scheduled: the leave goes to the 主题党日 by the branch's rule, which 安排 then gives its time
    assert "已为黄蕾登记请假：主题党日（12月18日（周五）09:00）" in say("demo-shuji", "请假 黄蕾 出差")
    code = schedule(say)
    assert "已为黄蕾登记请假：主题党日（12月18日（周五）14:30）" in say("demo-shuji", "请假 黄蕾 出差")
    got = rows(demo, code)
    assert got["黄蕾"].status == "leave" and "王建国" not in got  # not the secretary's own leave
    # a secretary's own leave still works: the first word is not a member's name
    assert "已向书记请假" in say("demo-zuzhi", "请假 外出培训")
    assert rows(demo, code)["李红梅"].note == "外出培训"


def test_make_up_with_the_arrival_time(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 90)
    assert "到会 10:05" in say("demo-shuji", "补签 马超 10:05")
    assert "补签（迟到）" in say("demo-shuji", "补签 黄蕾 10:25")
    assert "到会时间须在10:00到现在之间" in say("demo-shuji", "补签 何军 12:00")
    assert "不是有效的时间" in say("demo-shuji", "补签 何军 25:00")
    got = rows(demo, code)
    assert (got["马超"].status, got["马超"].at) == ("present", beijing(2026, 11, 24, 10, 5))
    assert (got["黄蕾"].status, got["黄蕾"].at) == ("late", beijing(2026, 11, 24, 10, 25))
    assert "何军" not in got


def test_leave_for_the_meeting_with_a_code(demo, say):
    schedule(say)
    later_code = code_of(say("demo-shuji", "安排 主题党日 2027-01-15 14:30"))
    assert "1月15日" in say("demo-dangyuan", f"请假 主题党日 {later_code} 出差")
    assert rows(demo, later_code)["张伟"].note == "出差"
    assert "近期没有安排" in say("demo-dangyuan", "请假 0000 出差")
