"""签到情况: the four lists and participation = (present + late) ÷ (expected − approved leave), flagged below the threshold."""
from __future__ import annotations

from tests.signin_helpers import code_of, later

BRANCH_1_OTHERS = ["demo-b1-01", "demo-b1-02", "demo-b1-03", "demo-b1-04", "demo-b1-05", "demo-b1-06"]


def meeting_with_9_of_12(say, clock) -> str:
    """12 expected: 8 on time, 1 late, 1 on leave, 2 absent → 9 ÷ 11 = 81.8%."""
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    for uid in ["demo-shuji", "demo-zuzhi", *BRANCH_1_OTHERS]:
        say(uid, f"签到 {code}")
    later(clock, 12)
    say("demo-dangyuan", f"签到 {code}")
    say("demo-shuji", "请假 陈晨 出差")
    return code


def test_status_lists_and_participation(demo, say, clock):
    code = meeting_with_9_of_12(say, clock)
    text = say("demo-zuzhi", "签到情况")
    assert f"签到进行中，签到码 {code}" in text
    assert "应到 12 人，实到 9 人（出席 8，迟到 1），请假 1 人，缺席 2 人。" in text
    assert "参与率：81.8%" in text and "低于" not in text
    assert "迟到：张伟 10:12" in text and "请假：陈晨（出差）" in text and "缺席：马超、黄蕾" in text
    assert "出席：王建国 10:00、李红梅 10:00、赵静 10:00" in text


def test_below_the_branch_threshold_is_flagged(demo, say, clock):
    meeting_with_9_of_12(say, clock)
    say("demo-shuji", "设置 参与率下限 85%")
    assert "参与率：81.8%（(出席+迟到)÷(应到−请假)）  ⚠ 低于参与率下限85%" in say("demo-shuji", "签到情况")


def test_status_after_close_and_by_code(demo, say, clock):
    code = meeting_with_9_of_12(say, clock)
    say("demo-shuji", "结束签到")
    assert "签到已于10:12结束" in say("demo-shuji", "签到情况")
    second = code_of(say("demo-shuji", "发起签到 党课"))
    assert f"签到码 {second}" in say("demo-shuji", "签到情况")
    assert "实到 9 人" in say("demo-shuji", f"签到情况 {code}")
    assert "没有签到码为 0000 的会议" in say("demo-shuji", "签到情况 0000")


def test_status_with_no_meeting_and_for_a_member(demo, say):
    assert "还没有会议签到记录" in say("demo-shuji", "签到情况")
    assert "只有" in say("demo-dangyuan", "签到情况")
