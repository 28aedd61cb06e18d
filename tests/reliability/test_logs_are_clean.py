"""A full conversation over the WeCom and DingTalk callbacks with every logger at DEBUG: the logs hold no secret,
token, mobile number, platform account or dues amount, and each message left its one JSON request line."""
from __future__ import annotations

import json
import logging
import re
import shutil
import time

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.channels.dingtalk import make_pushers as dingtalk_pushers
from bot.demo import seed_demo_dues
from bot.messages import Reply
from bot.router import user_hash
from storage.db import transaction
from storage.models import Member
from tests.conftest import DINGTALK_ENV, WECOM_AES_KEY, WECOM_SECRET, WECOM_TOKEN
from tests.reliability.fuzz_harness import build_fuzz_runtime
from tests.signin_helpers import code_of

# the in-process fakes' own werkzeug access lines are the fake platform's logs, not the bot's (under gunicorn the bot
# has no werkzeug logging; its access log is checked in tests/test_deploy_script.py)
FAKES_LOGGER = "werkzeug"


@pytest.fixture
def both(demo_db_template, tmp_path, clock, segmenter, fake_wecom, fake_dingtalk, trusting_http):
    db = tmp_path / "zhibu.db"
    shutil.copyfile(demo_db_template, db)
    rt = build_fuzz_runtime(f"sqlite:///{db}", fake_wecom.url, fake_dingtalk.base_url, clock, segmenter)
    rt.services.pushers.update(dingtalk_pushers(rt.settings, rt.sessions, clock, trusting_http))
    with transaction(rt.sessions) as session:
        seed_demo_dues(session, clock().astimezone(rt.settings.tz).date())
    yield rt
    rt.close()


CONVERSATION = [  # (user, text): each channel runs all of it
    ("demo-dangyuan", "帮助"),
    ("demo-dangyuan", "我的信息"),
    ("demo-dangyuan", "我的党费"),
    ("demo-dangyuan", "党费怎么算 月收入6500"),
    ("demo-shuji", "帮助"),
    ("demo-shuji", "发起签到 主题党日"),
    ("demo-dangyuan", "签到 {code}"),
    ("demo-shuji", "未交党费"),
    ("demo-dangyuan", "预备党员的预备期是多长时间"),
]


def amounts(text: str) -> set[str]:
    """Every yuan amount in a reply, as shown (62.50) and in fen (6250)."""
    found = set()
    for value in re.findall(r"(?<![\d.])(\d{1,7}\.\d{2})(?![\d])", text):
        found |= {value, str(round(float(value) * 100))}
    return found


def test_a_full_conversation_logs_nothing_secret(both, fake_wecom, fake_dingtalk, wecom_client, clock, caplog):
    from tests.fakes.dingtalk_client import SignedClient

    app = create_app(runtime=both)
    http = app.test_client()
    signer = SignedClient(DINGTALK_ENV["ZHIBU_DINGTALK_APP_SECRET"], clock)
    replies: list[str] = []
    sent = 0
    caplog.set_level(logging.DEBUG)  # the root logger, so every logger's DEBUG records are captured
    for name in [None, *logging.root.manager.loggerDict]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        for platform in ("wecom", "dingtalk"):
            code = ""
            for user, text in CONVERSATION:
                text = text.format(code=code)
                if platform == "wecom":
                    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml(user, text))
                    res = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
                    assert res.status_code == 200
                    reply = wecom_client.open_reply(res.data).content
                else:
                    status, answer = signer.post_flask(http, signer.message(user, text))
                    assert status == 200
                    reply = answer["text"]["content"] if answer.get("msgtype") == "text" else \
                        json.dumps(answer, ensure_ascii=False)
                sent += 1
                replies.append(reply)
                if text.startswith("发起签到"):
                    code = code_of(reply)
        # a group message answered privately: the DingTalk side fetches and uses an access token
        status, _ = signer.post_flask(http, signer.message("demo-dangyuan", "我的信息", group=True))
        assert status == 200
        sent += 1
        # a message that is answered by a push (WeCom side: the bot fetches a token and calls message/send)
        both.services.pushers["wecom"].push("demo-dangyuan", Reply(text="测试推送"), "log-test-push")
        deadline = time.monotonic() + 5
        while not fake_wecom.inbox.get("demo-dangyuan") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for name in [None, *logging.root.manager.loggerDict]:
            logging.getLogger(name).setLevel(logging.NOTSET if name else logging.WARNING)

    records = [r for r in caplog.records if not r.name.startswith(FAKES_LOGGER)]
    logged = "\n".join(r.getMessage() for r in records)
    logged += "\n".join(str(r.args) for r in records)
    logged += "\n".join(logging.Formatter().formatException(r.exc_info) for r in records if r.exc_info)
    assert len(records) > sent  # DEBUG really was on (urllib3, the request lines, …)

    # what must never be logged
    wecom_tokens, dingtalk_tokens = list(fake_wecom._tokens), list(fake_dingtalk.tokens)
    assert wecom_tokens and dingtalk_tokens, "the conversation was meant to make both channels fetch a token"
    with both.sessions() as s:
        members = s.execute(select(Member.mobile, Member.wecom_userid, Member.dingtalk_userid)).all()
    shown = set().union(*(amounts(r) for r in replies))
    assert shown, "the dues replies were expected to show amounts"
    secrets = {"WeCom secret": [WECOM_SECRET], "WeCom token": [WECOM_TOKEN], "WeCom AES key": [WECOM_AES_KEY],
               "DingTalk app secret": [DINGTALK_ENV["ZHIBU_DINGTALK_APP_SECRET"]],
               "access token": wecom_tokens + dingtalk_tokens,
               "mobile": [m for m, _, _ in members if m],
               "account": sorted({u for _, w, d in members for u in (w, d) if u})}
    for what, values in secrets.items():
        for value in values:
            assert re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", logged) is None, f"{what} {value!r} logged: {_debug_where(logged, value)}"
    for value in shown:
        assert re.search(rf"(?<![\d.]){re.escape(value)}(?![\d]|\.\d)", logged) is None, f"dues amount {value} logged"

    # one JSON request line per message: platform, hashed user, handler, latency, outcome
    lines = [json.loads(r.getMessage()) for r in records if r.name == "zhibu.requests"]
    assert len(lines) == sent
    for line in lines:
        assert set(line) == {"platform", "user", "handler", "latency_ms", "outcome"}
        assert line["platform"] in ("wecom", "dingtalk") and isinstance(line["latency_ms"], int | float)
    assert [line["platform"] for line in lines] == ["wecom"] * len(CONVERSATION) + ["dingtalk"] * (sent - len(CONVERSATION))
    assert {line["user"] for line in lines} == {user_hash("demo-dangyuan"), user_hash("demo-shuji")}
    assert {"help", "my_info", "dues_mine", "dues_amount_question", "checkin_open", "checkin_sign", "dues_unpaid",
            "knowledge"} <= {line["handler"] for line in lines}
    assert {line["outcome"] for line in lines} == {"ok"}


def _debug_where(logged: str, value: str) -> str:
    at = logged.find(value)
    return logged[max(0, at - 300):at + 100]


def test_credential_query_values_and_sql_rows_are_blanked():
    from bot.log_redact import HideRows, RedactQuery

    line = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s "%s %s"', (
        "http://127.0.0.1:1", "GET", "/cgi-bin/gettoken?corpid=ww1&corpsecret=s3cr3t&x=1"), None)
    RedactQuery().filter(line)
    assert line.getMessage() == 'http://127.0.0.1:1 "GET /cgi-bin/gettoken?corpid=ww1&corpsecret=***&x=1"'
    send = logging.LogRecord("urllib3.connectionpool", logging.DEBUG, __file__, 1,
                             "POST /cgi-bin/message/send?access_token=tok-1 HTTP/1.1", None, None)
    RedactQuery().filter(send)
    assert "tok-1" not in send.getMessage() and "access_token=***" in send.getMessage()
    row = logging.LogRecord("sqlalchemy.engine.Engine", logging.DEBUG, __file__, 1, "Row %r", (("tok-1", 6250),), None)
    HideRows().filter(row)
    assert row.getMessage() == "Row '[row hidden]'"
