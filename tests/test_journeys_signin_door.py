"""Issue 25 item 3 and the sign-in part of item 8: signing in at the door as members really type it, the
secretary's 签到情况 with punctuation, 结束签到 told once, the opener counted present, and a second sign-in asked
about first. The clock is frozen at 2026-11-24 10:00 (Beijing); 王建国 (demo-shuji) is the 书记 of 第一党支部,
李红梅 (demo-zuzhi) its 组织委员, 张伟 (demo-dangyuan) and 陈晨 (demo-yubei) members, 刘洋 (demo-shuji2) the 书记
of 第二党支部."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.models import OutboxMessage
from tests.signin_helpers import code_of, failures, later, meetings, rows

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE = str.maketrans("0123456789", "零一二三四五六七八九")


def spaced(code: str) -> str:
    return " ".join(code)


# how members type the code at the door: each must sign 张伟 in
DOOR_FORMS = {
    "签到码连写": lambda c: f"签到码{c}",
    "数字间有空格": lambda c: f"签到 {spaced(c)}",
    "句号结尾": lambda c: f"签到{c}。",
    "全角冒号和数字": lambda c: f"签到：{c.translate(FULL_WIDTH)}",
    "只发数字": lambda c: c,
    "只发数字带空格": lambda c: spaced(c),
    "签倒": lambda c: f"签倒{c}",
    "繁体": lambda c: f"簽到{c}",
    "繁体签到碼": lambda c: f"簽到碼：{c}",
    "前到": lambda c: f"前到 {c}",
    "qd连写": lambda c: f"qd{c}",
    "QD大写": lambda c: f"QD {c}",
    "签个到": lambda c: f"签个到 {c}",
    "打卡": lambda c: f"打卡 {c}",
    "先数字后签到": lambda c: f"{c}签到",
    "中文数字": lambda c: f"签到 {c.translate(CHINESE)}",
    "感叹号": lambda c: f"签到＃{c}！",
}


def summary_notices(rt) -> list[str]:
    with transaction(rt.sessions) as s:
        return [o.dedupe_key for o in s.scalars(select(OutboxMessage)) if "checkin_summary" in o.dedupe_key]


@pytest.mark.parametrize("form", DOOR_FORMS.values(), ids=DOOR_FORMS.keys())
def test_every_door_form_signs_in(demo, say, clock, form):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    later(clock, 3)
    reply = say("demo-dangyuan", form(code))
    assert reply.startswith("签到成功！张伟，主题党日") and "10:03" in reply, reply
    assert rows(demo, code)["张伟"].via == "code"
    assert "无需重复签到" in say("demo-dangyuan", form(code))


def test_a_bare_number_is_a_code_only_while_a_sign_in_is_open(demo, say, clock):
    # nothing open: a clear answer, not a knowledge-base article, and nothing counted as a guess
    idle = say("demo-dangyuan", "7280")
    assert "现在没有你可以签到的会议" in idle and "【" not in idle
    assert failures(demo) == 0
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    wrong = "1000" if code != "1000" else "1001"
    assert "签到码 " + wrong + " 不对或已失效" in say("demo-yubei", wrong)
    assert failures(demo) == 1  # a wrong bare code is a wrong code
    # 第二党支部 has no sign-in open: its member's number is not read as a code for 第一党支部's meeting
    assert "现在没有你可以签到的会议" in say("demo-shuji2", code)
    assert say("demo-yubei", code).startswith("签到成功！陈晨")
    say("demo-shuji", "结束签到")
    late = say("demo-dangyuan", code)  # after 结束签到 the number means nothing
    assert "现在没有你可以签到的会议" in late and "补签" in late
    assert "张伟" not in rows(demo, code)


def test_sign_in_without_the_code_asks_for_it(demo, say, clock):
    assert "现在没有你可以签到的会议" in say("demo-dangyuan", "签到")
    code = code_of(say("demo-shuji", "发起签到 主题党日+党课"))
    for text in ("签到", "签倒", "簽到", "签到。", "qd"):
        ask = say("demo-dangyuan", text)
        assert "主题党日+党课（10:00开始）正在签到" in ask and "屏幕上显示的4位签到码" in ask, (text, ask)
        assert code not in ask  # the code is only shown in the room
    assert "张伟" not in rows(demo, code)  # asking is not signing in
    later(clock, 1)
    say("demo-dangyuan", f"签到 {code}")
    assert "你已于10:01签到主题党日+党课" in say("demo-dangyuan", "签到")


def test_bad_codes_in_the_new_forms_change_nothing(demo, say):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    assert "4位数字，“728”不对" in say("demo-dangyuan", "签到 7 2 8")
    assert "4位数字，“12345”不对" in say("demo-dangyuan", "签倒12345")
    assert set(rows(demo, code)) == {"王建国"} and failures(demo) == 0


def test_guessing_in_the_new_forms_is_still_paused(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    wrong = [w for w in ("1000", "1001", "1002", "1003", "1004", "1005") if w != code][:5]
    tries = [wrong[0], f"签倒 {spaced(wrong[1])}", f"簽到：{wrong[2].translate(FULL_WIDTH)}", f"qd{wrong[3]}。",
             f"签个到 {wrong[4]}"]
    for n, text in enumerate(tries):
        reply = say("demo-dangyuan", text)
        assert "不对或已失效" in reply and (("签到已暂停到10:10" in reply) == (n == 4)), (text, reply)
    for text in (code, f"签到 {spaced(code)}", f"签倒{code}"):
        assert "签到已暂停到10:10" in say("demo-dangyuan", text)
    assert failures(demo) == 5 and "张伟" not in rows(demo, code)
    later(clock, 10)
    assert say("demo-dangyuan", spaced(code)).startswith("签到成功")


@pytest.mark.parametrize("text", ["签到情况？", "签到情况?", "签到情况。", "签到情况 ！", "簽到情況", "签到情况怎么样"])
def test_the_secretarys_view_with_punctuation(demo, say, text):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    view = say("demo-shuji", text)
    assert view.startswith(f"【主题党日签到情况】签到进行中，签到码 {code}"), view
    assert "出席：王建国 10:00" in view  # the 书记 opened it in the room
    assert "只有" in say("demo-dangyuan", text)  # a member is not shown the roll, and nothing is signed
    assert failures(demo) == 0


def test_the_opener_is_present_a_scheduled_meeting_creator_is_not(demo, say, clock):
    opened = say("demo-zuzhi", "发起签到 党课 三楼会议室")
    assert "你是发起人，已记为出席" in opened
    code = code_of(opened)
    assert {n: (a.status, a.via) for n, a in rows(demo, code).items()} == {"李红梅": ("present", "opener")}
    assert "出席：李红梅 10:00" in say("demo-shuji", "签到情况")
    say("demo-zuzhi", "结束签到")

    arranged = say("demo-shuji", "安排 主题党日 2026-11-24 14:00 三楼会议室")
    ahead = code_of(arranged)
    assert "你是发起人" not in arranged
    clock.set(clock().replace(hour=6))  # 14:00 in Beijing: the meeting starts
    assert rows(demo, ahead) == {}
    status = say("demo-shuji", "签到情况")
    assert "缺席：王建国" in status and "出席：无" in status


def test_a_second_sign_in_asks_first(demo, say, clock):
    first = code_of(say("demo-shuji", "发起签到 主题党日"))
    ask = say("demo-zuzhi", "发起签到 支委会 二楼小会议室")
    assert f"主题党日，11月24日（周二）10:00开始，签到码 {first}" in ask
    assert "请先发送「结束签到」" in ask and "发起签到 支委会 确认" in ask
    assert meetings(demo) == 1
    assert code_of(say("demo-shuji", "发起签到 主题党日")) == first  # the same meeting: the same code, no question
    second = code_of(say("demo-zuzhi", "发起签到 支委会 二楼小会议室 确认"))
    assert second != first and meetings(demo) == 2
    assert rows(demo, second)["李红梅"].via == "opener"
    # closing first and then opening needs no confirmation
    say("demo-shuji", f"结束签到 {first}")
    say("demo-shuji", f"结束签到 {second}")
    later(clock, 5)
    assert "已发起签到" in say("demo-shuji", "发起签到 党课")
    # another branch's live sign-in is no reason to ask
    assert "已发起签到" in say("demo-shuji2", "发起签到 党课")


def test_close_prints_the_summary_once(demo, say, clock, pushed):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    say("demo-dangyuan", spaced(code))
    closed = say("demo-shuji", "结束签到。")
    assert closed.count("应到 12 人，实到 2 人") == 1 and "出席：王建国、张伟" in closed
    assert "推送" not in closed and pushed == [] and summary_notices(demo) == []

    code = code_of(say("demo-zuzhi", "发起签到 党课"))
    closed = say("demo-zuzhi", "结束签到")
    assert "结果已推送给王建国" in closed and closed.count("应到 12 人") == 1
    assert len(pushed) == 1 and pushed[0].startswith("［推送给 demo-shuji］") and "出席：李红梅" in pushed[0]


def test_a_door_journey_over_wecom(wecom_demo, wecom_client, fake_wecom, clock):
    """The 组织委员 opens and closes through the WeCom callback; members sign in with slips and a bare code; the
    书记 is pushed the summary exactly once, the 组织委员 reads it in the reply."""
    from bot.app import create_app

    http = create_app(runtime=wecom_demo).test_client()

    def say(user: str, text: str) -> str:
        query, body = wecom_client.encrypt_envelope(wecom_client.text_xml(user, text))
        response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
        assert response.status_code == 200
        text = wecom_client.open_reply(response.data).content
        response.close()
        return text

    code = code_of(say("demo-zuzhi", "发起签到 主题党日"))
    later(clock, 2)
    assert say("demo-dangyuan", f"簽到：{code.translate(FULL_WIDTH)}").startswith("签到成功！张伟")
    assert say("demo-yubei", spaced(code)).startswith("签到成功！陈晨")
    assert "屏幕上显示的4位签到码" in say("demo-b1-01", "签倒")
    assert "签到进行中" in say("demo-zuzhi", "签到情况？")
    closed = say("demo-zuzhi", "结束签到")
    assert "实到 3 人" in closed and "结果已推送给王建国" in closed
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any("签到已结束" in d.content for d in fake_wecom.inbox["demo-shuji"]):
        time.sleep(0.05)
    summaries = [d.content for d in fake_wecom.inbox["demo-shuji"] if "签到已结束" in d.content]
    assert len(summaries) == 1 and "出席：李红梅、张伟、陈晨" in summaries[0]
    assert not any("签到已结束" in d.content for d in fake_wecom.inbox["demo-zuzhi"])
