"""登记会议 / 修改会议 / 删除会议 as conversations: a meeting recorded after the fact counts like a held one."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from storage.db import transaction
from storage.models import Attendance, Meeting
from tests.signin_helpers import beijing, code_of, rows

# Sunday 2026-12-06, 16:00 in Beijing: 12月3日 was Thursday, 上周五 is 11月27日
SUNDAY = beijing(2026, 12, 6, 16, 0)


def number_of(reply: str) -> int:
    m = re.search(r"编号 (\d+)", reply)
    assert m, reply
    return int(m.group(1))


def recorded_day(runtime, number: int) -> date:
    with transaction(runtime.sessions) as s:
        meeting = s.get(Meeting, number)
        return meeting.starts_at.astimezone(runtime.settings.tz).date()


def test_record_with_everyone_present_by_default(demo, say, clock):
    clock.set(SUNDAY)
    reply = say("demo-shuji", "登记会议 支委会 2026-12-03 研究发展对象")
    n = number_of(reply)
    assert "已登记第一党支部已召开的会议" in reply and "支委会「研究发展对象」" in reply
    assert "12月3日（周四）" in reply and "未写参会情况，已按支部委员全体出席登记" in reply
    assert f"修改会议 {n}" in reply and f"删除会议 {n}" in reply
    got = rows(demo)
    assert got and {r.status for r in got.values()} == {"present"} and {r.via for r in got.values()} == {"manual"}
    # 签到情况 shows it as recorded after the fact, 本月安排 lists it
    status = say("demo-shuji", "签到情况")
    assert f"会后登记，编号 {n}" in status and "缺席：无" in status
    assert "12月3日（周四） 09:00 支委会" in say("demo-dangyuan", "本月安排")
    # an older one is found by its 编号
    later = number_of(say("demo-shuji", "登记会议 党课 12月4日 缺席 张伟"))
    assert "缺席：张伟" in say("demo-shuji", "签到情况")
    older = say("demo-shuji", f"签到情况 {n}")
    assert f"会后登记，编号 {n}" in older and "缺席：无" in older and later != n


def test_dates_and_attendance_as_secretaries_type_them(demo, say, clock):
    clock.set(SUNDAY)
    n = number_of(say("demo-shuji", "登记会议 主题党日+党课 12.3 缺席 张伟 请假 陈晨"))
    assert recorded_day(demo, n) == date(2026, 12, 3)
    with transaction(demo.sessions) as s:
        by_name = {a.member_id: a.status for a in s.scalars(select(Attendance).where(Attendance.meeting_id == n))}
    assert sorted(by_name.values()).count("absent") == 1 and sorted(by_name.values()).count("leave") == 1
    reply = say("demo-shuji", "登记会议 党员大会 上周五 参加 王建国、李红梅")
    assert "11月27日（周五）" in reply and "出席：王建国、李红梅" in reply and "缺席：张伟、陈晨" in reply
    assert recorded_day(demo, number_of(say("demo-shuji", "登记会议 党小组会 昨天"))) == date(2026, 12, 5)
    assert recorded_day(demo, number_of(say("demo-shuji", "登记会议 组织生活会 11月30日 地点 三楼会议室"))) == \
        date(2026, 11, 30)


def test_bad_input_changes_nothing(demo, say, clock):
    clock.set(SUNDAY)
    assert "12月8日（周二）还没到，不能登记" in say("demo-shuji", "登记会议 党课 12月8日")
    assert "请写会议日期" in say("demo-shuji", "登记会议 党课 学习党章")
    assert "“座谈会”不是会议类型" in say("demo-shuji", "登记会议 座谈会 昨天")
    assert "没有名为“李四”的党员" in say("demo-shuji", "登记会议 党课 昨天 缺席 张伟、李四")
    assert "“2月30日”不是有效的日期" in say("demo-shuji", "登记会议 党课 2月30日")
    assert "只有支部书记、副书记、组织委员可以使用" in say("demo-dangyuan", "登记会议 党课 昨天")
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0


def test_the_same_kind_twice_on_one_day_needs_confirming(demo, say, clock):
    clock.set(SUNDAY)
    n = number_of(say("demo-shuji", "登记会议 支委会 12月3日"))
    again = say("demo-shuji", "登记会议 支委会 2026-12-03 第二次")
    assert f"已有支委会的记录（编号 {n}）" in again and f"修改会议 {n}" in again and "确认" in again
    assert number_of(say("demo-shuji", "登记会议 支委会 2026-12-03 第二次 确认")) != n
    assert "已登记" in say("demo-shuji", "登记会议 党课 12月3日")  # another kind the same day is fine
    # a meeting held with a sign-in that day counts too
    clock.set(beijing(2026, 12, 4, 9, 0))
    code = code_of(say("demo-shuji", "发起签到 党员大会"))
    clock.set(SUNDAY)
    assert f"已有党员大会的记录（签到码 {code}）" in say("demo-shuji", "登记会议 党员大会 12月4日")


def test_correct_and_delete_a_recorded_meeting(demo, say, clock):
    clock.set(SUNDAY)
    n = number_of(say("demo-shuji", "登记会议 支委会 12月3日 研究发展对象"))
    assert "张伟不是这次支委会「研究发展对象」的参会人员" in say("demo-shuji", f"修改会议 {n} 缺席 张伟")  # 委员 only
    fixed = say("demo-shuji", f"修改会议 {n} 缺席 孙磊")
    assert f"已修改编号 {n} 的会议" in fixed and "缺席：孙磊" in fixed and "请假：无" in fixed
    moved = say("demo-shuji", f"修改会议 {n} 支委会+党课 12月2日 14:30")  # a 党课 too: the whole branch
    assert "支委会+党课「研究发展对象」" in moved and "12月2日（周三）14:30" in moved and "缺席：孙磊" in moved
    assert "应到 12 人，" in moved and "张伟" in moved
    assert recorded_day(demo, n) == date(2026, 12, 2)
    assert "支委会+党课「学习党章」" in say("demo-shuji", f"修改会议 {n} 主题 学习党章")
    assert "请写要改的内容" in say("demo-shuji", f"修改会议 {n}")
    assert "还没到" in say("demo-shuji", f"修改会议 {n} 12月9日")
    # a meeting with a sign-in is not changed or deleted this way
    clock.set(beijing(2026, 12, 4, 9, 0))
    say("demo-shuji", "发起签到 党员大会")
    clock.set(SUNDAY)
    with transaction(demo.sessions) as s:
        signed = s.scalars(select(Meeting.id).where(Meeting.code.is_not(None))).one()
    assert "没有编号为" in say("demo-shuji", f"删除会议 {signed}")
    assert "没有编号为" in say("demo-shuji2", f"删除会议 {n}")  # another branch's secretary
    assert f"已删除编号 {n} 的登记会议：支委会+党课「学习党章」（12月2日（周三））" in say("demo-shuji", f"删除会议 {n}")
    with transaction(demo.sessions) as s:
        assert s.get(Meeting, n) is None
        assert s.scalar(select(func.count()).select_from(Attendance).where(Attendance.meeting_id == n)) == 0


def test_a_scheduled_meeting_never_opened_is_recorded_with_its_leave(demo, say, clock):
    code = code_of(say("demo-shuji", "安排 主题党日 2026-12-03 14:30 三楼会议室"))
    say("demo-dangyuan", "请假 主题党日 出差")
    clock.set(SUNDAY)
    reply = say("demo-shuji", "登记会议 主题党日 12月3日")
    assert "请假：张伟（出差）" in reply and "三楼会议室" in reply
    with transaction(demo.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 1
        assert s.scalars(select(Meeting)).one().code is None
    assert rows(demo).get("张伟").status == "leave" and code


def test_a_recorded_committee_meeting_stops_the_reminder_and_counts_as_held(demo, say, clock):
    clock.set(beijing(2026, 11, 26, 10, 0))  # after the 25th, the month's 支委会 reminder is due
    assert "11月还没有召开支委会的记录" in say("demo-shuji", "待办提醒")
    checkup = say("demo-dangwei", "支部体检 第一党支部")
    assert re.search(r"11月（进行中）：应开 主题党日、支委会；已开 无", checkup), checkup
    say("demo-shuji", "登记会议 支委会 昨天 研究发展对象")
    coming = say("demo-shuji", "待办提醒")
    assert "11月还没有召开支委会的记录" not in coming and "12月还没有召开支委会的记录" in coming
    checkup = say("demo-dangwei", "支部体检 第一党支部")
    assert re.search(r"11月（进行中）：应开 主题党日、支委会；已开 支委会；尚未开 主题党日", checkup), checkup
    assert "最近一次组织活动：2026-11-25" in checkup
    assert "· 第一党支部：主题党日\n" in say("demo-dangwei", "未开会支部 本月") + "\n"


def test_a_recorded_meeting_is_in_the_months_ledger(demo, say, clock):
    import io

    from openpyxl import load_workbook

    from storage.ledger_data import month_ledger
    from storage.orgs import find_org

    clock.set(SUNDAY)
    say("demo-shuji", "登记会议 主题党日+党课 11月20日 缺席 张伟")
    assert "（1次会议）" in say("demo-shuji", "导出台账 2026-11")
    with transaction(demo.sessions) as s:
        ledger = month_ledger(s, find_org(s, "第一党支部"), 2026, 11, demo.settings.tz, SUNDAY)
    wb = load_workbook(io.BytesIO(ledger.data))
    assert "11-20 主题党日+党课" in wb.sheetnames
    text = "\n".join(str(c.value) for row in wb["11-20 主题党日+党课"].iter_rows() for c in row if c.value)
    assert "张伟" in text and "缺席" in text and "书记登记" in text


def test_record_over_dingtalk(dingtalk_rt, clock):
    from bot.app import create_app
    from tests.fakes.dingtalk_client import SignedClient
    from tests.test_channels_conversation import dingtalk_text

    clock.set(SUNDAY)
    client = create_app(runtime=dingtalk_rt).test_client()
    signer = SignedClient("ding-app-secret", clock)
    status, body = signer.post_flask(client, signer.message("demo-shuji", "登记会议 支委会 上周五 研究发展对象 缺席 孙磊"))
    assert status == 200
    text = dingtalk_text(body)
    assert "已登记第一党支部已召开的会议" in text and "11月27日（周五）" in text and "缺席：孙磊" in text
