"""Sign-in codes cannot be guessed: five wrong codes in ten minutes pause a member's sign-ins for ten minutes (a right
code too), a meeting that sees twenty wrong codes in five minutes tells its secretary once, and a code of another
branch's meeting counts as a wrong one. The counts live in the database, so every worker process sees them."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.demo import seed_demo
from bot.messages import Incoming
from storage.db import transaction, upgrade
from storage.models import Attendance, Member, OutboxMessage
from tests.signin_helpers import code_of, failures, later, rows

WRONG = [f"{n:04d}" for n in range(1, 100)]  # codes are drawn from 1000–9999: these open nothing


def alerts(rt) -> list[tuple[str, str]]:
    with transaction(rt.sessions) as s:
        return [(m.wecom_userid, o.content["text"]) for o, m in s.execute(
            select(OutboxMessage, Member).join(Member, Member.id == OutboxMessage.recipient_id)
            .where(OutboxMessage.kind == "signin_guessing"))]


def test_five_wrong_codes_pause_sign_in_for_ten_minutes(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    for wrong in WRONG[:4]:
        reply = say("demo-dangyuan", f"签到 {wrong}")
        assert "不对或已失效" in reply and "暂停" not in reply
        later(clock, 1)
    fifth = say("demo-dangyuan", f"签到 {WRONG[4]}")  # 10:04
    assert "不对或已失效" in fifth and "签到已暂停到10:14" in fifth
    later(clock, 5)
    refused = say("demo-dangyuan", f"签到 {code}")  # the right code, during the pause
    assert "签到已暂停到10:14" in refused and "签到成功" not in refused
    assert set(rows(demo)) == {"王建国"} and failures(demo) == 5  # the pause is no sixth wrong code; 王建国 opened it
    later(clock, 4)  # 10:13
    assert "暂停到10:14" in say("demo-dangyuan", f"签到 {code}")
    later(clock, 1)  # 10:14: the pause is over
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功")
    assert say("demo-yubei", f"签到 {code}").startswith("签到成功")  # others were never paused


def test_wrong_codes_spread_over_more_than_ten_minutes_do_not_pause(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    for wrong in WRONG[:5]:
        assert "暂停" not in say("demo-dangyuan", f"签到 {wrong}")
        later(clock, 2.6)  # five wrong codes over 10.4 minutes
    assert "暂停" not in say("demo-dangyuan", f"签到 {WRONG[5]}")  # the last five span 10.4 minutes
    assert say("demo-dangyuan", f"签到 {code}").startswith("签到成功")


def test_after_the_pause_the_count_starts_again(demo, say, clock):
    code = code_of(say("demo-shuji", "发起签到 主题党日"))
    for wrong in WRONG[:5]:
        say("demo-dangyuan", f"签到 {wrong}")
    later(clock, 10)
    for wrong in WRONG[5:9]:
        assert "暂停" not in say("demo-dangyuan", f"签到 {wrong}")
    assert "签到已暂停到10:20" in say("demo-dangyuan", f"签到 {WRONG[9]}")
    assert "暂停" in say("demo-dangyuan", f"签到 {code}")


def test_another_branch_code_counts_as_wrong(demo, say, clock):
    first = code_of(say("demo-shuji", "发起签到 主题党日"))
    own = code_of(say("demo-shuji2", "发起签到 党课"))
    for n in range(5):
        reply = say("demo-shuji2", f"签到 {first}")
        assert "第二党支部不在参会范围内" in reply  # the helpful answer stays
        assert ("签到已暂停到10:10" in reply) == (n == 4)
    assert "签到已暂停" in say("demo-shuji2", f"签到 {own}")
    assert {n for n, a in rows(demo).items() if a.via == "code"} == set() and failures(demo) == 5


def test_a_meeting_guessed_twenty_times_tells_its_secretary_once(demo, say, clock):
    code_of(say("demo-shuji", "发起签到 主题党日"))
    guessers = ["demo-dangyuan", "demo-yubei", "demo-zuzhi", "demo-b1-01", "demo-b1-02", "demo-b1-03"]
    sent = 0
    for uid in guessers[:5]:
        for _ in range(4):  # four each: none of them is paused
            say(uid, f"签到 {WRONG[sent]}")
            sent += 1
            if sent == 19:
                assert alerts(demo) == []
            later(clock, 0.2)  # twenty within four minutes
    [(to, text)] = alerts(demo)
    assert to == "demo-shuji" and "主题党日" in text and "20次错误的签到码" in text
    for _ in range(4):
        say(guessers[5], f"签到 {WRONG[sent]}")
        sent += 1
    assert len(alerts(demo)) == 1  # once


def test_twenty_wrong_codes_over_more_than_five_minutes_tell_nobody(demo, say, clock):
    code_of(say("demo-shuji", "发起签到 主题党日"))
    for n, uid in enumerate(["demo-dangyuan", "demo-yubei", "demo-zuzhi", "demo-b1-01", "demo-b1-02"] * 4):
        say(uid, f"签到 {WRONG[n]}")
        later(clock, 0.3)  # twenty over six minutes: never twenty within five
    assert alerts(demo) == [] and failures(demo) == 20


def test_a_long_or_malformed_code_is_not_echoed_and_not_counted(demo, say):
    reply = say("demo-dangyuan", "签到 " + "1" * 1990)
    assert "4位数字" in reply and "1" * 21 not in reply and len(reply) < 100
    reply = say("demo-dangyuan", "签到 " + "1" * 30_000)  # beyond what a message may be: never routed
    assert "消息太长" in reply and "1" * 21 not in reply
    assert failures(demo) == 0


@pytest.fixture
def rt_any(any_db_url, clock, segmenter):
    from bot.runtime import build_runtime
    from tests.conftest import make_settings

    upgrade(any_db_url)
    rt = build_runtime(make_settings(any_db_url), clock=clock, segmenter=segmenter)
    with transaction(rt.sessions) as s:
        seed_demo(s)
    yield rt
    rt.close()


def test_a_flood_from_many_threads_gets_five_tries(rt_any):
    """One member's wrong codes arriving at once on many threads (as on several workers): five are checked and
    recorded, every other one is answered with the pause, and the right code sent in the flood signs nobody in."""
    from bot.channels import console

    code = code_of(console.say(rt_any.router, "demo-shuji", "发起签到 主题党日")[0])
    guesses = [*WRONG[:40], code, *WRONG[40:80]]
    messages = [Incoming(platform="wecom", user_id="demo-dangyuan", text=f"签到 {g}", message_id=f"flood-{n}")
                for n, g in enumerate(guesses)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda m: rt_any.router.handle(m).text, messages))
    assert sum("不对或已失效" in r for r in replies) + sum(r.startswith("签到成功") for r in replies) <= 5
    assert sum("签到已暂停" in r for r in replies) >= len(replies) - 5
    assert failures(rt_any) <= 5
    with transaction(rt_any.sessions) as s:
        signed = s.scalar(select(func.count()).select_from(Attendance).where(Attendance.via == "code"))
    assert signed == (1 if any(r.startswith("签到成功") for r in replies) else 0)
