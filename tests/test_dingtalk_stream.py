"""Stream mode against a fake Stream gateway on loopback: acks, replies, de-duplication, reconnects."""
import asyncio
import json
import threading
import time
from datetime import UTC, datetime

import pytest

from bot.channels.dingtalk.render import PRIVATE_SENT
from bot.channels.dingtalk.stream import Backoff, build_stream_client
from bot.cli import main
from storage.db import transaction
from storage.models import AuditLog, ProcessedMessage
from tests.fakes.dingtalk_client import SignedClient
from tests.fakes.dingtalk_server import FakeStreamGateway


@pytest.fixture
def dingtalk_mode():
    return "stream"


@pytest.fixture
def gateway(fake_dingtalk):
    gw = FakeStreamGateway(fake_dingtalk).start()
    yield gw
    gw.stop()


@pytest.fixture
def bodies(clock):
    return SignedClient("ding-app-secret", clock)


def start(client):
    thread = threading.Thread(target=client.run_forever, daemon=True)
    thread.start()
    return thread


def stop(client, thread):
    client.stop()
    thread.join(20)
    assert not thread.is_alive()


@pytest.fixture
def make_client(dingtalk_rt, trusting_http):
    started = []

    def make(**kwargs):
        async def quick_sleep(delay):  # record the back-off instead of waiting it out
            await asyncio.sleep(0.01)

        kwargs.setdefault("backoff", Backoff(jitter=lambda: 0.0))
        kwargs.setdefault("sleep", quick_sleep)
        client = build_stream_client(dingtalk_rt, http=trusting_http, **kwargs)
        client.test_thread = start(client)
        started.append((client, client.test_thread))
        return client

    yield make
    for client, thread in started:
        stop(client, thread)


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_round_trip(make_client, gateway, fake_dingtalk, bodies):
    make_client()
    assert gateway.wait_for(lambda: gateway.current is not None)
    url, expires = fake_dingtalk.add_session()
    frame_id = gateway.send_robot_message(bodies.message("demo-dangyuan", "帮助", session_webhook=url,
                                                         session_expires_ms=expires))
    assert gateway.wait_for(lambda: gateway.ack_for(frame_id) is not None)
    assert gateway.ack_for(frame_id)["code"] == 200
    assert wait_until(lambda: fake_dingtalk.session_messages(url))
    [reply] = fake_dingtalk.session_messages(url)
    assert reply["msgtype"] == "text" and "张伟同志" in reply["text"]["content"]
    open_call = fake_dingtalk.open_calls[0]
    assert open_call["subscriptions"] == [{"type": "CALLBACK", "topic": "/v1.0/im/bot/messages/get"}]


def test_duplicates_have_one_effect(dingtalk_rt, make_client, gateway, fake_dingtalk, bodies, trusting_http):
    client = make_client()
    assert gateway.wait_for(lambda: gateway.current is not None)
    url, expires = fake_dingtalk.add_session()
    body = bodies.message("demo-shuji", "设置 参与率下限 85%", msg_id="msgSTREAMDUP", session_webhook=url,
                          session_expires_ms=expires)
    ids = [gateway.send_robot_message(body), gateway.send_robot_message(body, message_id="same-frame"),
           gateway.send_robot_message(body, message_id="same-frame")]  # a redelivery with a new and a reused id
    assert gateway.wait_for(lambda: all(gateway.ack_for(i) for i in ids))
    assert wait_until(lambda: fake_dingtalk.session_messages(url))
    stop(client, client.test_thread)  # run() returns after the worker pool drained: every copy is handled
    assert len(fake_dingtalk.session_messages(url)) == 1
    with transaction(dingtalk_rt.sessions) as s:
        assert s.query(AuditLog).filter_by(action="org.set").count() == 1
        assert s.query(ProcessedMessage).filter_by(platform="dingtalk", key="msgSTREAMDUP").count() == 1


def test_expired_session_webhook_falls_back_to_the_robot_api(make_client, gateway, fake_dingtalk, bodies, clock):
    make_client()
    assert gateway.wait_for(lambda: gateway.current is not None)
    url, _ = fake_dingtalk.add_session(ttl_ms=1)
    gateway.send_robot_message(bodies.message("demo-yubei", "我的信息", session_webhook=url,
                                              session_expires_ms=bodies.now_ms() - 1))
    assert wait_until(lambda: fake_dingtalk.oto)
    user, key, param = fake_dingtalk.oto[0]
    assert user == "demo-yubei" and "陈晨" in param["content"]
    assert fake_dingtalk.session_messages(url) == []


def test_private_reply_in_a_group(make_client, gateway, fake_dingtalk, bodies):
    make_client()
    assert gateway.wait_for(lambda: gateway.current is not None)
    url, expires = fake_dingtalk.add_session()
    gateway.send_robot_message(bodies.message("demo-zuzhi", "我的信息", group=True, session_webhook=url,
                                              session_expires_ms=expires))
    assert wait_until(lambda: fake_dingtalk.session_messages(url))
    assert fake_dingtalk.session_messages(url)[0]["text"]["content"] == PRIVATE_SENT
    assert fake_dingtalk.oto[0][0] == "demo-zuzhi" and "李红梅" in fake_dingtalk.oto[0][2]["content"]


def test_ping_is_answered(make_client, gateway):
    make_client()
    assert gateway.wait_for(lambda: gateway.current is not None)
    frame_id = gateway.send_ping()
    assert gateway.wait_for(lambda: gateway.ack_for(frame_id) is not None)
    ack = gateway.ack_for(frame_id)
    assert ack["code"] == 200 and "opaque" in json.loads(ack["data"])


def test_reconnect_backs_off_then_resets(make_client, gateway, fake_dingtalk, bodies):
    fake_dingtalk.open_refusals = 4
    client = make_client()
    assert gateway.wait_for(lambda: len(gateway.connections) == 1)
    assert list(client.delays) == [1.0, 2.0, 4.0, 8.0]
    gateway.send_ping()  # a frame: the connection is good, so the next outage starts from the base delay
    gateway.send_disconnect()
    assert gateway.wait_for(lambda: len(gateway.connections) == 2)
    assert list(client.delays) == [1.0, 2.0, 4.0, 8.0, 1.0]
    assert len(fake_dingtalk.open_calls) == 6 and gateway.refused_tickets == 0
    url, expires = fake_dingtalk.add_session()
    gateway.send_robot_message(bodies.message("demo-dangyuan", "帮助", session_webhook=url,
                                              session_expires_ms=expires))
    assert wait_until(lambda: fake_dingtalk.session_messages(url))


def test_dropped_connection_and_silent_connection_reconnect(make_client, gateway):
    make_client(idle_timeout=1.0)
    assert gateway.wait_for(lambda: len(gateway.connections) == 1)
    gateway.drop()  # no disconnect frame, the socket just dies
    assert gateway.wait_for(lambda: len(gateway.connections) == 2)
    # then nothing arrives at all: the watchdog reconnects instead of waiting forever
    assert gateway.wait_for(lambda: len(gateway.connections) >= 3)


def test_backoff_is_bounded():
    b = Backoff(base=1.0, cap=60.0, jitter=lambda: 0.5)
    delays = [b.next() for _ in range(10)]
    assert delays[:6] == [1.5, 2.5, 4.5, 8.5, 16.5, 32.5] and delays[6:] == [60.0] * 4
    b.reset()
    assert b.next() == 1.5


@pytest.mark.parametrize(("env", "words"), [
    ({}, "未配置钉钉"),
    ({"ZHIBU_DINGTALK_APP_KEY": "k", "ZHIBU_DINGTALK_APP_SECRET": "s", "ZHIBU_DINGTALK_ROBOT_CODE": "r"},
     "ZHIBU_DINGTALK_MODE"),
])
def test_command_refuses_without_stream_settings(env, words, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("ZHIBU_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(["dingtalk-stream"]) == 1
    assert words in capsys.readouterr().err


def test_command_runs_and_stops_on_sigterm(demo_db_template, tmp_path, fake_dingtalk, gateway, fake_tls):
    import os
    import shutil
    import signal
    import subprocess
    import sys

    # the command runs on the real clock, so the fake and the message do too (a sessionWebhook expires)
    fake_dingtalk.clock = lambda: datetime.now(UTC)
    bodies = SignedClient("ding-app-secret", fake_dingtalk.clock)
    db = tmp_path / "cli.db"
    shutil.copy(demo_db_template, db)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIBU_")}
    env |= {"ZHIBU_DATABASE_URL": f"sqlite:///{db}", "ZHIBU_SECRET_KEY": "test-service-secret-key-0123456789",
            "ZHIBU_DINGTALK_APP_KEY": "ding-app-key", "ZHIBU_DINGTALK_APP_SECRET": "ding-app-secret",
            "ZHIBU_DINGTALK_ROBOT_CODE": "ding-robot-code", "ZHIBU_DINGTALK_MODE": "stream",
            "ZHIBU_DINGTALK_API_BASE": fake_dingtalk.base_url, "REQUESTS_CA_BUNDLE": str(fake_tls[0])}
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "dingtalk-stream"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert gateway.wait_for(lambda: gateway.current is not None, timeout=60)
        url, expires = fake_dingtalk.add_session()
        gateway.send_robot_message(bodies.message("demo-shuji2", "我的信息", session_webhook=url,
                                                  session_expires_ms=expires))
        if not wait_until(lambda: fake_dingtalk.session_messages(url), timeout=30):
            proc.kill()
            pytest.fail("no reply; the command said: " + proc.communicate(timeout=10)[1][-3000:])
        assert "刘洋" in fake_dingtalk.session_messages(url)[0]["text"]["content"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "已启动" in out and "已停止" in out
