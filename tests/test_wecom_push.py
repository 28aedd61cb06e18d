"""The WeCom pusher against the fake WeCom API on loopback: tokens, bounded refresh, error codes, duplicate check."""
from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import select

from bot.channels.wecom.push import WecomPusher, message_bodies
from bot.channels.wecom.text import CUT_NOTE
from bot.messages import Button, Card, Reply
from bot.settings import WecomSettings
from storage.db import make_engine, make_session_factory, upgrade
from storage.models import Member, PlatformToken
from tests.conftest import WECOM_AES_KEY, WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_SECRET, WECOM_TOKEN


def wecom_settings(server, secret: str = WECOM_SECRET) -> WecomSettings:
    return WecomSettings(WECOM_CORP_ID, WECOM_AGENT_ID, secret, WECOM_TOKEN, WECOM_AES_KEY, server.url)


@pytest.fixture
def pusher(wecom_demo) -> WecomPusher:
    return wecom_demo.services.pushers["wecom"]


def test_runtime_builds_the_pusher_from_settings(wecom_demo, fake_wecom):
    p = wecom_demo.services.pushers["wecom"]
    assert isinstance(p, WecomPusher) and p.platform == "wecom"
    assert p.client.API_BASE_URL == fake_wecom.url


def test_text_push_carries_the_duplicate_check(pusher, fake_wecom):
    result = pusher.push("demo-dangyuan", Reply(text="请于本周五前交纳11月党费。"), "dues:demo-dangyuan:2026-11")
    assert result.ok and not result.retry
    body = fake_wecom.calls("message/send")[0].body
    assert body["touser"] == "demo-dangyuan" and body["agentid"] == WECOM_AGENT_ID
    assert body["msgtype"] == "text" and body["text"]["content"] == "请于本周五前交纳11月党费。"
    assert body["enable_duplicate_check"] == 1 and body["duplicate_check_interval"] >= 1800
    assert [d.content for d in fake_wecom.inbox["demo-dangyuan"]] == ["请于本周五前交纳11月党费。"]
    # gettoken went to the configured base, not Tencent's host
    assert fake_wecom.gettoken_count == 1


def test_resend_after_a_crash_is_dropped_by_wecom(pusher, fake_wecom):
    reply = Reply(text="11月主题党日：周四下午三点，三楼会议室。")
    assert pusher.push("demo-zuzhi", reply, "k1").ok
    assert pusher.push("demo-zuzhi", reply, "k1").ok  # the outbox re-sends the in-flight row
    assert len(fake_wecom.inbox["demo-zuzhi"]) == 1
    assert [why for _, why, _ in fake_wecom.dropped] == ["duplicate"]


def test_token_is_fetched_once_and_reused(pusher, fake_wecom, wecom_demo):
    for i in range(5):
        assert pusher.push("demo-dangyuan", Reply(text=f"第{i}条"), f"k{i}").ok
    assert fake_wecom.gettoken_count == 1
    with wecom_demo.sessions() as s:
        row = s.scalars(select(PlatformToken)).one()
    assert row.platform == "wecom" and row.token and row.app == f"{WECOM_CORP_ID}:{WECOM_AGENT_ID}"


def test_token_shared_across_processes(any_db_url, fake_wecom):
    """Four 'processes' (separate engines and pushers on one database), eight threads: one gettoken in all."""
    upgrade(any_db_url)
    engines = [make_engine(any_db_url) for _ in range(4)]
    pushers = [WecomPusher(wecom_settings(fake_wecom), make_session_factory(e)) for e in engines]
    fake_wecom.delays["gettoken"] = 0.3  # slow enough that they all find the token missing at once
    results = []
    barrier = threading.Barrier(8)

    def run(i: int) -> None:
        barrier.wait()
        results.append(pushers[i % 4].push(f"user{i}", Reply(text=f"通知{i}"), f"k{i}"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert all(r.ok for r in results) and len(results) == 8
        assert fake_wecom.gettoken_count == 1
        tokens = {c.params["access_token"] for c in fake_wecom.calls("message/send")}
        assert len(tokens) == 1
    finally:
        for e in engines:
            e.dispose()


def test_token_expiring_mid_push_one_gettoken_one_retry(pusher, fake_wecom):
    assert pusher.push("demo-dangyuan", Reply(text="一"), "k1").ok
    fake_wecom.expire_tokens()
    result = pusher.push("demo-dangyuan", Reply(text="二"), "k2")
    assert result.ok
    assert fake_wecom.gettoken_count == 2
    sends = fake_wecom.calls("message/send")
    assert len(sends) == 3  # ok, 42001, retried ok
    assert sends[1].params["access_token"] != sends[2].params["access_token"]
    assert [d.content for d in fake_wecom.inbox["demo-dangyuan"]] == ["一", "二"]


def test_token_revoked_early_is_refreshed_even_though_it_looks_fresh(pusher, fake_wecom):
    assert pusher.push("demo-dangyuan", Reply(text="一"), "k1").ok
    fake_wecom.revoke_tokens()  # 40014 before its expiry: the stored token still looks valid
    assert pusher.push("demo-dangyuan", Reply(text="二"), "k2").ok
    assert fake_wecom.gettoken_count == 2 and len(fake_wecom.calls("message/send")) == 3


def test_token_rejected_for_good_is_bounded(pusher, fake_wecom):
    fake_wecom.reject_all_tokens = True
    result = pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry
    assert "新令牌仍被拒绝" in result.error and "wecom check" in result.error
    assert fake_wecom.gettoken_count == 2  # the first fetch, and one forced refresh: never recursive
    assert len(fake_wecom.calls("message/send")) == 2
    # the process backs off instead of hammering gettoken with every queued push
    again = pusher.push("demo-dangyuan", Reply(text="二"), "k2")
    assert not again.ok and again.retry
    assert fake_wecom.gettoken_count == 2 and len(fake_wecom.calls("message/send")) == 2


@pytest.mark.parametrize("code", [45009, 45033])
def test_rate_limit_backs_off_and_says_retry_later(pusher, fake_wecom, code):
    fake_wecom.fail_next("message/send", code)
    result = pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry and str(code) in result.error and "稍后" in result.error
    later = pusher.push("demo-dangyuan", Reply(text="二"), "k2")
    assert not later.ok and later.retry
    assert len(fake_wecom.calls("message/send")) == 1  # paused: no second call during the back-off


def test_invalid_user_is_recorded_and_not_retried(pusher, fake_wecom, wecom_demo):
    fake_wecom.invalid_users.add("demo-yubei")
    result = pusher.push("demo-yubei", Reply(text="转正提醒"), "k1")
    assert not result.ok and not result.retry and "可见范围" in result.error
    with wecom_demo.sessions() as s:
        member = s.scalars(select(Member).where(Member.wecom_userid == "demo-yubei")).one()
    assert member.unreachable_reason and "81013" in member.unreachable_reason
    # once WeCom accepts the member again, the mark is cleared
    fake_wecom.invalid_users.clear()
    assert pusher.push("demo-yubei", Reply(text="转正提醒（补发）"), "k2").ok
    with wecom_demo.sessions() as s:
        assert s.scalars(select(Member).where(Member.wecom_userid == "demo-yubei")).one().unreachable_reason is None


def test_trusted_ip_error_logs_one_clear_line(pusher, fake_wecom, caplog):
    fake_wecom.blocked_ip = True
    with caplog.at_level(logging.ERROR, logger="bot.channels.wecom.push"):
        first = pusher.push("demo-dangyuan", Reply(text="一"), "k1")
        second = pusher.push("demo-dangyuan", Reply(text="二"), "k2")
    assert not first.ok and first.retry and "60020" in first.error and "127.0.0.1" in first.error
    assert not second.ok
    lines = [r.getMessage() for r in caplog.records if "60020" in r.getMessage()]
    assert len(lines) == 1 and "企业可信IP" in lines[0] and "127.0.0.1" in lines[0]


def test_slow_send_and_slow_gettoken_time_out(wecom_demo, fake_wecom):
    p = WecomPusher(wecom_settings(fake_wecom), wecom_demo.sessions, timeout=(1.0, 0.3))
    fake_wecom.delays["gettoken"] = 1.0  # wechatpy's own gettoken has no timeout at all
    result = p.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry and "超时" in result.error
    fake_wecom.delays.clear()
    fake_wecom.delays["message/send"] = 1.0
    result = p.push("demo-dangyuan", Reply(text="二"), "k2")
    assert not result.ok and result.retry and "超时" in result.error


def test_wrong_secret_is_a_clear_error(wecom_demo, fake_wecom):
    p = WecomPusher(wecom_settings(fake_wecom, secret="wrong"), wecom_demo.sessions)
    result = p.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and "40001" in result.error


def test_system_busy_is_retried_later(pusher, fake_wecom):
    fake_wecom.fail_next("message/send", -1)
    result = pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry
    assert pusher.push("demo-dangyuan", Reply(text="一"), "k1").ok


def test_long_text_is_pushed_in_numbered_parts(pusher, fake_wecom):
    text = "\n".join(f"{i}. " + "党员发展工作流程说明" * 6 for i in range(25))
    assert 2 * 2048 < len(text.encode()) < 3 * 2000
    assert pusher.push("demo-dangyuan", Reply(text=text), "long").ok
    got = [d.content for d in fake_wecom.inbox["demo-dangyuan"]]
    assert len(got) == 3 and all(len(c.encode()) <= 2048 for c in got)
    assert got[0].startswith("（1/3）") and got[-1].startswith("（3/3）")
    assert "\n".join(c.split("\n", 1)[1] for c in got) == text


def test_a_very_long_text_is_cut_to_three_parts(pusher, fake_wecom):
    text = "\n".join(f"{i}. " + "党员发展工作流程说明" * 6 for i in range(400))
    assert pusher.push("demo-dangyuan", Reply(text=text), "very long").ok
    got = [d.content for d in fake_wecom.inbox["demo-dangyuan"]]
    assert len(got) == 3 and all(len(c.encode()) <= 2048 for c in got)
    assert got[-1].startswith("（3/3）") and got[-1].endswith(CUT_NOTE)
    assert text.startswith("\n".join(c.split("\n", 1)[1] for c in got).removesuffix("\n" + CUT_NOTE))


def test_markdown_and_textcard_bodies(pusher, fake_wecom):
    card = Card(title="主题党日签到", lines=("时间：11月27日 15:00", "地点：三楼会议室"),
                buttons=(Button(label="去签到", url="https://dj.example.cn/s/abc"),))
    assert pusher.push("demo-dangyuan", Reply(card=card), "card").ok
    assert pusher.push("demo-dangyuan", Reply(markdown="**党费**：已交至 2026-10"), "md").ok
    kinds = [d.msgtype for d in fake_wecom.inbox["demo-dangyuan"]]
    assert kinds == ["textcard", "markdown"]
    textcard = fake_wecom.inbox["demo-dangyuan"][0].payload
    assert textcard["url"] == "https://dj.example.cn/s/abc" and "三楼会议室" in textcard["description"]
    # a card whose buttons are commands has no link for a textcard: it goes as text
    bodies = message_bodies(1, "u", Reply(card=Card("菜单", ("a",), (Button("签到", command="签到"),))))
    assert bodies[0]["msgtype"] == "text" and "发送「签到」" in bodies[0]["text"]["content"]


def test_empty_reply_sends_nothing(pusher, fake_wecom):
    assert pusher.push("demo-dangyuan", Reply(), "empty").ok
    assert fake_wecom.requests == []
