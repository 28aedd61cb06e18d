"""发起签到, 签到 in all its spellings, lateness, the window, branches and joint meetings, 结束签到."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from storage.db import transaction
from storage.meetings import allocate_code
from storage.models import Attendance, AuditLog, Meeting, Organization
from tests.signin_helpers import BEIJING, add_member, code_of, later, meeting, rows

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_open_signin_gives_a_code_and_records_the_meeting(demo, say, clock):
    reply = say("demo-shuji", "发起签到 主题党日+党课 学习全会精神 三楼会议室")
    code = code_of(reply)
    assert "主题党日+党课「学习全会精神」" in reply and "三楼会议室" in reply and f"签到 {code}" in reply
    assert "12:00截止" in reply  # a 2-hour window from 10:00
    m = meeting(demo, code)
    assert m.kinds == {"主题党日", "党课"} and m.title == "学习全会精神" and m.place == "三楼会议室"
    assert m.status == "open" and m.starts_at == clock() and m.signin_closes_at - m.starts_at == timedelta(hours=2)
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "meeting.open")) == 1


def test_organizer_may_open_a_member_may_not(demo, say):
    assert "签到码" in say("demo-zuzhi", "发起签到 支委会")
    refused = say("demo-dangyuan", "发起签到 主题党日")
    assert "只有" in refused and "签到码" not in refused


def test_bad_or_missing_kind_changes_nothing(demo, say):
    assert "会议类型" in say("demo-shuji", "发起签到")
    bad = say("demo-shuji", "发起签到 茶话会")
    assert "“茶话会”不是会议类型" in bad and "主题党日+党课" in bad
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0


def test_every_spelling_of_sign_in(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 2)
    for uid, text in [("demo-dangyuan", f"签到 {code}"), ("demo-yubei", f"签到{code}"),
                      ("demo-zuzhi", f"签到 {code}".translate(FULL_WIDTH)), ("demo-b1-01", f"qd {code}"),
                      ("demo-b1-02", f"ＱＤ　{code.translate(FULL_WIDTH)}")]:
        reply = say(uid, text)
        assert reply.startswith("签到成功") and "主题党日" in reply and "10:02" in reply and "迟到" not in reply, reply
    signed = rows(demo, code)
    assert set(signed) == {"王建国", "张伟", "陈晨", "李红梅", "赵静", "孙磊"}  # the 书记 who opened it counts too
    assert signed.pop("王建国").via == "opener"
    assert all(a.status == "present" and a.via == "code" for a in signed.values())


def test_reply_names_the_member_and_repeat_says_when(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 2)
    assert "张伟" in say("demo-dangyuan", f"签到 {code}")
    later(clock, 5)
    again = say("demo-dangyuan", f"签到 {code}")
    assert "已于10:02签到" in again and "无需重复" in again
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Attendance)) == 2  # 张伟's, and the opener's


def test_late_after_the_setting(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 10)
    assert "迟到" not in say("demo-dangyuan", f"签到 {code}")  # exactly 10 minutes is on time
    later(clock, 1)
    assert "迟到 11 分钟" in say("demo-yubei", f"签到 {code}")
    say("demo-shuji", "设置 late_after_minutes 30")
    later(clock, 5)
    assert "迟到" not in say("demo-b1-01", f"签到 {code}")
    got = rows(demo, code)
    assert (got["张伟"].status, got["陈晨"].status, got["赵静"].status) == ("present", "late", "present")


def test_wrong_code_and_bad_input_store_nothing(demo, say):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    wrong = "1000" if code != "1000" else "1001"
    assert "不对或已失效" in say("demo-dangyuan", f"签到 {wrong}")
    assert "4位数字" in say("demo-dangyuan", "签到 123")
    assert "4位签到码" in say("demo-dangyuan", "签到")
    assert set(rows(demo)) == {"王建国"}  # only the 书记 who opened it


def test_window_end_and_close_refuse_sign_in(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 121)
    late = say("demo-dangyuan", f"签到 {code}")
    assert "签到已经结束" in late and "补签" in late
    code2 = code_of(say("demo-shuji", "发起签到 党课"))
    say("demo-shuji", "结束签到")
    assert "签到已经结束" in say("demo-yubei", f"签到 {code2}")
    assert set(rows(demo)) == {"王建国"}  # only the 书记 who opened them


def test_other_branch_refused_unless_invited(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    refused = say("demo-shuji2", f"签到 {code}")
    assert "第二党支部不在参会范围内" in refused
    say("demo-shuji", "结束签到")
    joint = say("demo-shuji", "发起签到 主题党日 联合 第二党支部 三楼会议室")
    assert "联合参会：第二党支部" in joint
    code2 = code_of(joint)
    assert say("demo-shuji2", f"签到 {code2}").startswith("签到成功")
    assert say("demo-dangyuan", f"签到 {code2}").startswith("签到成功")
    status = say("demo-shuji", "签到情况")
    assert "应到 20 人" in status and "刘洋（第二党支部）" in status  # both branches are expected
    assert set(rows(demo, code2)) == {"王建国", "刘洋", "张伟"}
    assert "没有找到党组织“第九党支部”" in say("demo-shuji", "发起签到 党课 邀请第九党支部")


def test_member_of_a_party_group_signs_in_to_its_branch_meeting(demo, say):
    with transaction(demo.sessions) as s:
        branch = s.scalars(select(Organization).where(Organization.name == "第一党支部")).one()
        group = Organization(name="第一党小组", type="党小组", parent_id=branch.id)
        s.add(group)
        s.flush()
    add_member(demo, "钱多", "第一党小组", "demo-group-1", "13911110000")
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    assert say("demo-group-1", f"签到 {code}").startswith("签到成功")
    assert "应到 13 人" in say("demo-shuji", "签到情况")


def test_opening_twice_hands_out_the_same_code(demo, say):
    first = code_of(say("demo-shuji", "发起签到 主题党日"))
    again = say("demo-zuzhi", "发起签到 主题党日")
    assert "已在进行中" in again and code_of(again) == first
    ask = say("demo-shuji", "发起签到 支委会")  # another meeting while this one runs: asked first
    assert f"签到码 {first}" in ask and "结束签到" in ask and "确认" in ask
    assert code_of(say("demo-shuji", "发起签到 支委会 确认")) != first  # another meeting, another code


def test_codes_are_unique_among_live_meetings(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    draws = iter([int(code) - 1000, int(code) - 1000, (int(code) - 999) % 9000])
    with transaction(demo.sessions) as s:
        fresh = allocate_code(s, clock(), randbelow=lambda n: next(draws))
    assert fresh != code and fresh == f"{1000 + (int(code) - 999) % 9000}"
    later(clock, 121)  # the first meeting's window has ended: its code is free again
    with transaction(demo.sessions) as s:
        assert allocate_code(s, clock(), randbelow=lambda n: int(code) - 1000) == code


def test_close_pushes_the_summary_with_absentees_to_the_secretary(demo, say, clock, pushed):
    code = code_of(say("demo-zuzhi", "发起签到 主题党日"))
    say("demo-dangyuan", f"签到 {code}")
    later(clock, 20)
    say("demo-yubei", f"签到 {code}")
    reply = say("demo-zuzhi", "结束签到")
    assert "已结束主题党日的签到" in reply and "结果已推送给王建国" in reply
    assert len(pushed) == 1 and pushed[0].startswith("［推送给 demo-shuji］")
    push = pushed[0]
    # 李红梅 opened it on the spot: present
    assert "应到 12 人，实到 3 人（出席 2，迟到 1），请假 0 人，缺席 9 人" in push
    assert "出席：李红梅、张伟" in push
    assert "缺席：王建国、赵静" in push and "张伟" not in push.split("缺席：")[1]
    assert "⚠ 低于参与率下限80%" in push
    m = meeting(demo, code)
    assert m.status == "closed" and m.signin_closes_at.astimezone(BEIJING).strftime("%H:%M") == "10:20"
    assert "没有进行中的签到" in say("demo-zuzhi", "结束签到")
    assert "已于11月24日（周二）10:20结束" in say("demo-zuzhi", f"结束签到 {code}")


def test_close_over_wecom_pushes_after_the_commit(wecom_demo, fake_wecom):
    """The summary push waits for the handler's commit: on SQLite a push inside the transaction would wait on the
    write lock the handler itself holds."""
    from bot.messages import Incoming

    def send(text: str, n: int) -> str:  # the 组织委员 closes: the 书记 is told
        return wecom_demo.router.handle(Incoming("wecom", "demo-zuzhi", text, f"close-{n}")).as_text()

    assert "签到码" in send("发起签到 主题党日", 1)
    closed = send("结束签到", 2)
    assert "结果已推送给王建国" in closed
    [summary] = [d.content for d in fake_wecom.inbox["demo-shuji"] if "签到已结束" in d.content]
    assert "应到" in summary
