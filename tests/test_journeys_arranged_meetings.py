"""An 安排 is a plan, not a meeting held: it counts while its day is ahead, and stops counting once the day has
passed with no sign-in (and no 登记会议). The arranged meeting's own time and place reach the 主题党日 notices."""
from __future__ import annotations

from tests.signin_helpers import beijing


def committee_line(checkup: str) -> str:
    return next(line for line in checkup.splitlines() if line.startswith("· 12月"))


def test_an_arranged_committee_meeting_that_never_opened_was_not_held(demo, say, clock):
    assert "已安排" in say("demo-shuji", "安排 支委会 2026-12-09 14:00 三楼会议室")
    clock.set(beijing(2026, 12, 8, 10, 0))  # still ahead: arranged counts, nothing is chased
    ahead = say("demo-dangwei", "支部体检 第一党支部")
    assert "支委会" not in committee_line(ahead).split("尚未开")[-1], ahead
    clock.set(beijing(2026, 12, 28, 10, 0))  # the day passed and nobody signed in
    after = say("demo-dangwei", "支部体检 第一党支部")
    assert "支委会" in committee_line(after).split("尚未开")[-1], after
    assert "12月还没有召开支委会的记录" in say("demo-shuji", "待办提醒")


def test_an_arranged_committee_meeting_signed_in_on_its_day_was_held(demo, say, clock):
    say("demo-shuji", "安排 支委会 2026-12-09 14:00 三楼会议室")
    clock.set(beijing(2026, 12, 9, 14, 0))
    assert "已发起签到" in say("demo-shuji", "发起签到 支委会")
    say("demo-shuji", "结束签到")
    clock.set(beijing(2026, 12, 28, 10, 0))
    after = say("demo-dangwei", "支部体检 第一党支部")
    assert "支委会" not in committee_line(after).split("尚未开")[-1], after
    assert "12月还没有召开支委会的记录" not in say("demo-shuji", "待办提醒")


def test_the_theme_day_notice_gives_the_arranged_time_and_place(demo, say, clock):
    say("demo-shuji", "安排 主题党日 2026-12-16 15:00 二楼报告厅")
    clock.set(beijing(2026, 12, 14, 9, 0))
    todo = say("demo-shuji", "待办提醒")
    assert "将于12月16日（周三）15:00在二楼报告厅开展12月主题党日活动" in todo, todo


def test_members_signing_in_to_an_arranged_meeting_make_it_held(demo, say, clock):
    """The window of an 安排 opens by itself: members may sign in before anyone sends 发起签到."""
    reply = say("demo-shuji", "安排 支委会 2026-12-09 14:00 三楼会议室")
    code = reply.split("签到码：")[1][:4]
    clock.set(beijing(2026, 12, 9, 13, 50))
    assert "签到成功" in say("demo-zuzhi", f"签到 {code}")
    clock.set(beijing(2026, 12, 28, 10, 0))
    after = say("demo-dangwei", "支部体检 第一党支部")
    assert "支委会" not in committee_line(after).split("尚未开")[-1], after


def test_this_months_plan_lists_the_theme_day_once_with_each_meetings_state(demo, say, clock):
    say("demo-shuji", "安排 主题党日 2026-12-16 15:00 二楼报告厅")
    say("demo-shuji", "安排 支委会 2026-12-03 14:00")
    clock.set(beijing(2026, 12, 10, 9, 0))
    plan = say("demo-dangyuan", "本月安排")
    assert sum("主题党日" in line and "党费" not in line for line in plan.splitlines()) == 1, plan
    assert "（按支部规定日期）" not in plan
    assert "12月16日（周三） 15:00 主题党日，二楼报告厅（已安排）" in plan
    assert "12月3日（周四） 14:00 支委会（没有签到记录；开过的请发送“登记会议”补登）" in plan


def test_opening_the_theme_day_with_a_party_lecture_takes_over_the_arranged_theme_day(demo, say, clock):
    say("demo-yubei", "请假 主题党日 出差")  # makes the rule's 主题党日
    code = say("demo-shuji", "安排 主题党日 2026-12-18 14:30 三楼会议室").split("签到码：")[1][:4]
    clock.set(beijing(2026, 12, 18, 14, 20))  # inside its sign-in window
    opened = say("demo-shuji", "发起签到 主题党日+党课 学习党章")
    assert "已发起签到，签到码：" + code in opened and "党课" in opened, opened
    status = say("demo-shuji", "签到情况")
    assert "会议：主题党日+党课「学习党章」" in status and "请假：陈晨（出差）" in status, status
