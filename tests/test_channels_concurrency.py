"""A slow export delays only its own member, on SQLite as on PostgreSQL. The export's handler only checks the request
and answers at once; the file is built after the message's transaction, on the runtime's background pool, in a
read-only session (on SQLite a deferred transaction, so it holds no write lock while it runs), and is sent when ready.
Meanwhile every other member is answered as usual, through WeCom, DingTalk HTTP and DingTalk Stream.

A slow *handler* still gets the platform's budget and no more: past it the channel answers empty and sends the reply
when it is ready (the late-reply test below)."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from bot.app import create_app
from bot.channels.dingtalk import make_pushers as dingtalk_pushers
from bot.channels.dingtalk.callback import HANDLER_TIMEOUT as DINGTALK_BUDGET
from bot.channels.dingtalk.render import EMPTY
from bot.channels.dingtalk.stream import build_stream_client
from bot.channels.wecom.callback import HANDLER_TIMEOUT as WECOM_BUDGET
from bot.core import Handler
from bot.demo import seed_demo
from bot.files import FILE_MAKERS
from bot.messages import Attachment, Reply
from bot.runtime import build_runtime
from storage.db import transaction, upgrade
from tests.conftest import DINGTALK_ENV, make_settings, wecom_env
from tests.fakes.dingtalk_client import SignedClient
from tests.fakes.dingtalk_server import FakeStreamGateway

SLOW_SECONDS = 5.0
SLOW_TEXT = "导出完成：慢慢算好的结果"


class Slow:
    """A handler (慢导出) that runs until released, at most SLOW_SECONDS, as an export of a big ledger might."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def __call__(self, incoming, ctx) -> Reply:
        self.started.set()
        self.release.wait(SLOW_SECONDS)
        self.finished.set()
        return Reply(text=SLOW_TEXT)

    def register(self, rt) -> None:
        rt.router.register(Handler(name="slow_export", func=self, commands=("慢导出",)))


SLOW_FILE = "慢慢算好的台账.xlsx"


class SlowExport:
    """慢导出: a handler that answers at once with a file whose maker runs until released (at most SLOW_SECONDS) and
    reads the database meanwhile, as the build of a big ledger would."""

    purpose = "slow-export-test"

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def handler(self, incoming, ctx) -> Reply:
        return Reply(text=SLOW_TEXT, file=ctx.file(self.purpose, {}, SLOW_FILE), private=True)

    def maker(self, session, params) -> Attachment:
        from sqlalchemy import func, select

        from storage.models import Member

        count = session.scalar(select(func.count()).select_from(Member))  # a read, inside its transaction
        self.started.set()
        self.release.wait(SLOW_SECONDS)
        self.finished.set()
        return Attachment(SLOW_FILE, f"members={count}".encode())

    def register(self, rt) -> None:
        FILE_MAKERS[self.purpose] = self.maker
        rt.router.register(Handler(name="slow_export", func=self.handler, commands=("慢导出",)))


@pytest.fixture
def both(request, any_db_url, clock, segmenter, fake_wecom, fake_dingtalk, trusting_http):
    """The demo on each database, with WeCom and DingTalk (HTTP mode) pointed at their fakes."""
    upgrade(any_db_url)
    settings = make_settings(any_db_url, **wecom_env(fake_wecom.url), **DINGTALK_ENV,
                             ZHIBU_DINGTALK_API_BASE=fake_dingtalk.base_url, ZHIBU_DINGTALK_ROBOT_BASE=fake_dingtalk.base_url)
    rt = build_runtime(settings, clock=clock, segmenter=segmenter)
    rt.services.pushers.update(dingtalk_pushers(settings, rt.sessions, clock, trusting_http))
    with transaction(rt.sessions) as session:
        seed_demo(session)
    yield rt
    rt.close()


@pytest.fixture
def slow():
    handler = Slow()
    yield handler
    handler.release.set()  # never leave a handler thread waiting after a failed assertion


@pytest.fixture
def slow_export():
    export = SlowExport()
    yield export
    export.release.set()
    FILE_MAKERS.pop(export.purpose, None)


@contextmanager
def serve(app):
    """The app on a real loopback socket, one thread per request, as gunicorn's threads would serve it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def in_thread(func) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        out["started"] = time.monotonic()
        out["result"] = func()
        out["answered"] = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def timed(func):
    began = time.monotonic()
    result = func()
    return result, time.monotonic() - began


def wait_until(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_wecom_slow_export_delays_only_its_own_member(both, wecom_client, fake_wecom, slow_export):
    slow_export.register(both)
    with serve(create_app(runtime=both)) as base:
        url = f"{base}/wecom/callback"
        response, took = timed(lambda: wecom_client.send_text(url, "demo-shuji", "慢导出"))
        assert response.status_code == 200 and wecom_client.open_reply(response.content).content == SLOW_TEXT
        assert took < WECOM_BUDGET / 2
        assert slow_export.started.wait(5)  # the file is being built, its transaction open
        # two other members write while the export runs: each is answered at once, passively
        for user, words in (("demo-dangyuan", "张伟同志"), ("demo-yubei", "陈晨")):
            response, took = timed(lambda u=user: wecom_client.send_text(url, u, "帮助" if u == "demo-dangyuan"
                                                                         else "我的信息"))
            assert response.status_code == 200 and words in wecom_client.open_reply(response.content).content
            assert took < WECOM_BUDGET / 2, f"{user} waited {took:.2f} s behind the slow export"
        # and a write (a sign-in session started) goes through too
        response, took = timed(lambda: wecom_client.send_text(url, "demo-zuzhi", "发起签到 支委会"))
        assert "签到码" in wecom_client.open_reply(response.content).content and took < WECOM_BUDGET / 2
        assert not slow_export.finished.is_set()  # all of that happened while the file was still being built
        assert fake_wecom.files_for("demo-shuji") == []
        slow_export.release.set()
        assert wait_until(lambda: fake_wecom.files_for("demo-shuji"))
        [(name, data)] = fake_wecom.files_for("demo-shuji")
        assert name == SLOW_FILE and data.startswith(b"members=")


def test_dingtalk_http_slow_export_delays_only_its_own_member(both, fake_dingtalk, clock, slow_export):
    slow_export.register(both)
    signer = SignedClient("ding-app-secret", clock)
    with serve(create_app(runtime=both)) as base:
        (status, body), took = timed(lambda: signer.post_http(base, signer.message("demo-shuji", "慢导出")))
        assert status == 200 and body["text"]["content"] == SLOW_TEXT and took < DINGTALK_BUDGET
        assert slow_export.started.wait(5)
        (status, body), took = timed(lambda: signer.post_http(base, signer.message("demo-dangyuan", "帮助")))
        assert status == 200 and "张伟同志" in body["text"]["content"]
        assert took < DINGTALK_BUDGET, f"waited {took:.2f} s behind the slow export"
        (status, body), took = timed(lambda: signer.post_http(base, signer.message("demo-zuzhi", "发起签到 支委会")))
        assert status == 200 and "签到码" in body["text"]["content"] and took < DINGTALK_BUDGET
        assert not slow_export.finished.is_set() and fake_dingtalk.files_for("demo-shuji") == []
        slow_export.release.set()
        assert wait_until(lambda: fake_dingtalk.files_for("demo-shuji"))
        [(name, data)] = fake_dingtalk.files_for("demo-shuji")
        assert name == SLOW_FILE and data.startswith(b"members=")


@pytest.mark.parametrize("group", [False, True], ids=["one-to-one", "group"])
def test_dingtalk_http_late_reply_without_a_session_webhook_goes_through_the_robot_api(
        group, dingtalk_rt, fake_dingtalk, clock, slow):
    slow.register(dingtalk_rt)
    app = create_app(runtime=dingtalk_rt)
    app.extensions["zhibu.dingtalk"].handler_timeout = 0.2
    signer = SignedClient("ding-app-secret", clock)
    webhook, _ = fake_dingtalk.add_session(ttl_ms=1)
    body = signer.message("demo-shuji", "慢导出", group=group, session_webhook=webhook,
                          session_expires_ms=signer.now_ms() - 1)  # expired by the time the reply is ready
    assert signer.post_flask(app.test_client(), body) == (200, EMPTY)
    slow.release.set()
    if group:
        assert wait_until(lambda: fake_dingtalk.group_api)
        [(conversation, key, param)] = fake_dingtalk.group_api
        assert conversation == "cidGroup0001==" and param["content"] == SLOW_TEXT
    else:
        assert wait_until(lambda: fake_dingtalk.oto)
        [(user, key, param)] = fake_dingtalk.oto
        assert user == "demo-shuji" and param["content"] == SLOW_TEXT
    assert fake_dingtalk.session_messages(webhook) == []


def test_dingtalk_stream_slow_export_delays_only_its_own_member(both, fake_dingtalk, clock, trusting_http,
                                                                slow_export):
    slow_export.register(both)
    gateway = FakeStreamGateway(fake_dingtalk).start()
    client = build_stream_client(both, http=trusting_http)
    thread = threading.Thread(target=client.run_forever, daemon=True)
    thread.start()
    try:
        assert gateway.wait_for(lambda: gateway.current is not None)
        signer = SignedClient("ding-app-secret", clock)
        slow_hook, expires = fake_dingtalk.add_session()
        frame = gateway.send_robot_message(signer.message("demo-shuji", "慢导出", session_webhook=slow_hook,
                                                          session_expires_ms=expires))
        assert gateway.wait_for(lambda: gateway.ack_for(frame) is not None)
        assert wait_until(lambda: fake_dingtalk.session_messages(slow_hook), timeout=DINGTALK_BUDGET)
        assert fake_dingtalk.session_messages(slow_hook)[0]["text"]["content"] == SLOW_TEXT
        assert slow_export.started.wait(5) and not slow_export.finished.is_set()
        fast_hook, expires = fake_dingtalk.add_session()
        asked = time.monotonic()
        gateway.send_robot_message(signer.message("demo-dangyuan", "帮助", session_webhook=fast_hook,
                                                  session_expires_ms=expires))
        assert wait_until(lambda: fake_dingtalk.session_messages(fast_hook), timeout=DINGTALK_BUDGET)
        assert time.monotonic() - asked < DINGTALK_BUDGET
        assert "张伟同志" in fake_dingtalk.session_messages(fast_hook)[0]["text"]["content"]
        assert not slow_export.finished.is_set() and fake_dingtalk.files_for("demo-shuji") == []
        slow_export.release.set()
        assert wait_until(lambda: fake_dingtalk.files_for("demo-shuji"))
        assert [name for name, _ in fake_dingtalk.files_for("demo-shuji")] == [SLOW_FILE]
    finally:
        slow_export.release.set()
        client.stop()
        thread.join(20)
        gateway.stop()
    assert not thread.is_alive()
