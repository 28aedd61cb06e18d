"""Pushes against the fake DingTalk: the shared token, batchSend errors, the group robot's 加签, msgUuid and
20-a-minute limit."""
import threading
from datetime import timedelta

import pytest

from bot.channels.dingtalk.api import DingtalkApi
from bot.channels.dingtalk.push import DingtalkPusher, GroupRobotPusher, msg_uuid
from bot.messages import Button, Card, Reply
from storage.db import transaction
from storage.models import Organization, PlatformToken
from storage.org_settings import set_setting

SECRET = "SEC" + "0123456789abcdef" * 4


def test_push_text_and_token_is_cached(dingtalk_rt, fake_dingtalk):
    pusher = dingtalk_rt.services.pushers["dingtalk"]
    assert pusher.push("demo-dangyuan", Reply(text="本月主题党日 11月20日"), "k1").ok
    assert pusher.push("demo-yubei", Reply(markdown="# 通知\n请按时参加"), "k2").ok
    assert fake_dingtalk.token_calls == 1
    assert fake_dingtalk.oto[0] == ("demo-dangyuan", "sampleText", {"content": "本月主题党日 11月20日"})
    user, key, param = fake_dingtalk.oto[1]
    assert (user, key, param["title"]) == ("demo-yubei", "sampleMarkdown", "通知")


def test_token_is_shared_between_processes(dingtalk_rt, fake_dingtalk, clock, trusting_http):
    dingtalk_rt.services.pushers["dingtalk"].push("demo-dangyuan", Reply(text="一"), "k1")
    # another process: its own API object and HTTP session, the same database
    other = DingtalkPusher(DingtalkApi(dingtalk_rt.settings.dingtalk, dingtalk_rt.sessions, clock, trusting_http))
    assert other.push("demo-dangyuan", Reply(text="二"), "k2").ok
    assert fake_dingtalk.token_calls == 1 and other.api.tokens.fetches == 0
    with transaction(dingtalk_rt.sessions) as s:
        row = s.query(PlatformToken).one()
        assert row.platform == "dingtalk" and row.app == "ding-app-key"


def test_token_refreshed_before_expiry(dingtalk_rt, fake_dingtalk, clock):
    pusher = dingtalk_rt.services.pushers["dingtalk"]
    pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    clock.set(clock() + timedelta(seconds=7200 - 299))  # inside the five-minute margin
    assert pusher.push("demo-dangyuan", Reply(text="二"), "k2").ok
    assert fake_dingtalk.token_calls == 2


def test_revoked_token_is_replaced_once(dingtalk_rt, fake_dingtalk):
    pusher = dingtalk_rt.services.pushers["dingtalk"]
    pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    fake_dingtalk.expire_tokens()
    assert pusher.push("demo-dangyuan", Reply(text="二"), "k2").ok
    assert fake_dingtalk.token_calls == 2 and len(fake_dingtalk.oto) == 2


def test_token_refresh_is_bounded(dingtalk_rt, fake_dingtalk):
    pusher = dingtalk_rt.services.pushers["dingtalk"]
    fake_dingtalk.fail_next = [(400, "InvalidAuthentication")] * 5
    result = pusher.push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry
    assert fake_dingtalk.token_calls == 2  # first token, one replacement, then give the row back to the outbox
    assert len(fake_dingtalk.fail_next) == 3


@pytest.mark.parametrize(("setup", "retry", "words"), [
    (lambda f: f.unknown_users.add("demo-dangyuan"), False, "账号无效"),
    (lambda f: f.flow_controlled.add("demo-dangyuan"), True, "限流"),
    (lambda f: f.fail_next.append((403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")), True, "QpsLimit"),
    (lambda f: f.fail_next.append((500, "system.error")), True, "500"),
    (lambda f: f.fail_next.append((400, "invalidParameter.robotCode.auth")), False, "robotCode"),
])
def test_batch_send_errors(setup, retry, words, dingtalk_rt, fake_dingtalk):
    setup(fake_dingtalk)
    result = dingtalk_rt.services.pushers["dingtalk"].push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and result.retry is retry and words in result.error
    assert fake_dingtalk.oto == []


def test_wrong_app_secret_is_named(dingtalk_rt, fake_dingtalk):
    fake_dingtalk.app_secret = "rotated"
    result = dingtalk_rt.services.pushers["dingtalk"].push("demo-dangyuan", Reply(text="一"), "k1")
    assert not result.ok and not result.retry and "APP_SECRET" in result.error


def test_cards_become_action_cards(dingtalk_rt, fake_dingtalk):
    card = Card("换届提醒", ("第一党支部委员会 2027-06-15 届满",), (Button("查看", command="换届情况"),
                                                               Button("说明", url="https://example.cn/a")))
    assert dingtalk_rt.services.pushers["dingtalk"].push("demo-shuji", Reply(card=card), "k1").ok
    _, key, param = fake_dingtalk.oto[0]
    assert key == "sampleActionCard2" and param["actionTitle1"] == "查看"
    assert param["actionURL1"].startswith("dtmd://dingtalkclient/sendMessage?content=%E6%8D%A2")
    assert param["actionURL2"] == "https://example.cn/a"


# group robot ---------------------------------------------------------------------------------------------------------
class FakeTime:
    """Monotonic time that moves only when the pusher sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def ftime():
    return FakeTime()


def configure_group(rt, webhook: str, secret: str = SECRET) -> None:
    with transaction(rt.sessions) as s:
        org = s.query(Organization).filter_by(name="第一党支部").one()
        set_setting(s, org, "group_webhook", webhook, robots=rt.settings.group_robots)  # the fake's robot URL
        if secret:
            set_setting(s, org, "group_webhook_secret", secret)


@pytest.fixture
def group(dingtalk_rt, fake_dingtalk, clock, trusting_http, ftime):
    fake_dingtalk.monotonic = ftime.monotonic
    webhook = fake_dingtalk.add_robot(secret=SECRET)
    configure_group(dingtalk_rt, webhook)
    pusher = GroupRobotPusher(dingtalk_rt.sessions, clock, trusting_http, monotonic=ftime.monotonic,
                              sleep=ftime.sleep)
    return pusher, fake_dingtalk.robot(webhook)


def test_group_push_is_signed_and_carries_msg_uuid(group):
    pusher, robot = group
    assert pusher.push("第一党支部", Reply(markdown="## 主题党日\n11月20日"), "theme_day:第一党支部:2026-11").ok
    [message] = robot.messages
    assert message["msgtype"] == "markdown" and message["msgUuid"] == msg_uuid("theme_day:第一党支部:2026-11")
    assert "主题党日" in message["markdown"]["text"]


def test_resend_after_a_crash_is_not_delivered_twice(group, clock, trusting_http, dingtalk_rt, ftime):
    pusher, robot = group
    assert pusher.push("第一党支部", Reply(text="提醒"), "dues:2026-11").ok
    restarted = GroupRobotPusher(dingtalk_rt.sessions, clock, trusting_http, monotonic=ftime.monotonic,
                                 sleep=ftime.sleep)
    assert restarted.push("第一党支部", Reply(text="提醒"), "dues:2026-11").ok
    assert len(robot.messages) == 1 and robot.duplicates == 1


def test_wrong_secret_is_reported_not_retried(dingtalk_rt, fake_dingtalk, clock, trusting_http):
    webhook = fake_dingtalk.add_robot(secret=SECRET)
    configure_group(dingtalk_rt, webhook, secret="SEC" + "f" * 64)
    result = GroupRobotPusher(dingtalk_rt.sessions, clock, trusting_http).push("第一党支部", Reply(text="x"), "k")
    assert not result.ok and not result.retry and "310000" in result.error


def test_unknown_robot_and_missing_webhook(dingtalk_rt, fake_dingtalk, clock, trusting_http):
    pusher = GroupRobotPusher(dingtalk_rt.sessions, clock, trusting_http)
    result = pusher.push("第一党支部", Reply(text="x"), "k")
    assert not result.ok and "group_webhook" in result.error
    configure_group(dingtalk_rt, f"{fake_dingtalk.base_url}/robot/send?access_token=nope")
    result = pusher.push("第一党支部", Reply(text="x"), "k")
    assert not result.ok and not result.retry and "300001" in result.error


def test_twenty_a_minute_queue_never_drops(group, ftime):
    pusher, robot = group
    results = [pusher.push("第一党支部", Reply(text=f"第{i}条"), f"k{i}") for i in range(45)]
    assert all(r.ok for r in results)
    assert [m["text"]["content"] for m in robot.messages] == [f"第{i}条" for i in range(45)]
    assert robot.refused == []  # the fake enforces 20/min; the pusher never hit it
    assert ftime.slept and sum(ftime.slept) >= 120  # 45 sends need at least two full windows of waiting


def test_concurrent_pushers_keep_order_and_limit(group, ftime):
    pusher, robot = group
    errors = []

    def send(i):
        r = pusher.push("第一党支部", Reply(text=f"m{i}"), f"c{i}")
        if not r.ok:
            errors.append(r)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(robot.messages) == 30 and robot.refused == []


@pytest.mark.parametrize("code", [130101, 410100])
def test_too_fast_holds_the_robot_and_retries_later(code, dingtalk_rt, fake_dingtalk, clock, trusting_http, ftime):
    fake_dingtalk.monotonic = ftime.monotonic
    webhook = fake_dingtalk.add_robot(secret=SECRET, too_fast_code=code)
    configure_group(dingtalk_rt, webhook)
    robot = fake_dingtalk.robot(webhook)
    robot.sent.extend([ftime.now] * 20)  # another sender used up this minute
    pusher = GroupRobotPusher(dingtalk_rt.sessions, clock, trusting_http, monotonic=ftime.monotonic,
                              sleep=ftime.sleep)
    first = pusher.push("第一党支部", Reply(text="提醒"), "k1")
    assert not first.ok and first.retry and str(code) in first.error
    ftime.now += 120
    held = pusher.push("第一党支部", Reply(text="提醒"), "k1")
    assert not held.ok and held.retry and robot.refused == [code]  # not sent into the ten-minute block again
    ftime.now += 600
    assert pusher.push("第一党支部", Reply(text="提醒"), "k1").ok
    assert len(robot.messages) == 1


def test_a_process_without_the_app_posts_to_the_group_robot_with_a_session_made_when_it_posts(
        dingtalk_rt, fake_dingtalk, fake_tls, clock, monkeypatch):
    """`zhibu say` makes the group robot's pusher without loading requests; its first post makes the session."""
    import dataclasses

    from bot.channels.dingtalk import make_pushers

    webhook = fake_dingtalk.add_robot(secret=SECRET)
    configure_group(dingtalk_rt, webhook)
    pushers = make_pushers(dataclasses.replace(dingtalk_rt.settings, dingtalk=None), dingtalk_rt.sessions, clock)
    assert set(pushers) == {"dingtalk_group"}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fake_tls[0]))  # the session is the default one: it reads this
    assert pushers["dingtalk_group"].push("第一党支部", Reply(text="支部大会改到周五"), "k1").ok
    assert pushers["dingtalk_group"].push("第一党支部", Reply(text="地点不变"), "k2").ok
    assert [m["text"]["content"] for m in fake_dingtalk.robot(webhook).messages] == ["支部大会改到周五", "地点不变"]
