"""HTTP mode: /dingtalk/callback through Flask's test client and over a real loopback socket."""
import json
import logging
import threading

import pytest
from werkzeug.serving import make_server

from bot.app import create_app
from bot.channels.dingtalk.render import EMPTY, PRIVATE_SENT
from storage.db import transaction
from storage.models import AuditLog, ProcessedMessage
from tests.conftest import make_settings
from tests.fakes.dingtalk_client import SignedClient


@pytest.fixture
def app(dingtalk_rt):
    return create_app(runtime=dingtalk_rt)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signer(clock):
    return SignedClient("ding-app-secret", clock)


def processed(rt) -> int:
    with transaction(rt.sessions) as s:
        return s.query(ProcessedMessage).filter_by(platform="dingtalk").count()


def test_help_round_trip(client, signer):
    status, body = signer.post_flask(client, signer.message("demo-dangyuan", "帮助"))
    assert status == 200 and body["msgtype"] == "text"
    assert "张伟同志" in body["text"]["content"] and "我的信息" in body["text"]["content"]


def test_my_info_in_a_one_to_one_chat(client, signer):
    status, body = signer.post_flask(client, signer.message("demo-yubei", "我的信息"))
    assert status == 200
    assert "陈晨" in body["text"]["content"] and "预备党员" in body["text"]["content"]


def test_group_mention_is_stripped_and_private_reply_goes_to_the_one_to_one_chat(client, signer, fake_dingtalk):
    body = signer.message("demo-yubei", "我的信息", group=True)
    body["text"]["content"] = "@支部助手 我的信息"  # some clients leave the @-name in the text
    status, answer = signer.post_flask(client, body)
    assert status == 200 and answer == {"msgtype": "text", "text": {"content": PRIVATE_SENT}}
    [(user, key, param)] = fake_dingtalk.oto
    assert user == "demo-yubei" and key == "sampleText" and "2026-03-01" in param["content"]


def test_duplicate_msgid_has_one_effect_and_the_same_answer(client, signer, dingtalk_rt):
    body = signer.message("demo-shuji", "设置 参与率下限 85%", msg_id="msgDUP1")
    first = signer.post_flask(client, body)
    second = signer.post_flask(client, body, headers=signer.headers())
    assert first[0] == 200 and "已修改" in first[1]["text"]["content"]
    assert second == first
    with transaction(dingtalk_rt.sessions) as s:
        assert s.query(AuditLog).filter_by(action="org.set").count() == 1
    assert processed(dingtalk_rt) == 1


def test_message_dated_two_days_ago_has_no_effect(client, signer, dingtalk_rt):
    body = signer.message("demo-shuji", "设置 参与率下限 85%")
    body["createAt"] = signer.now_ms() - 2 * 86_400_000  # a captured message replayed with fresh headers
    assert signer.post_flask(client, body) == (200, EMPTY)
    assert processed(dingtalk_rt) == 0
    with transaction(dingtalk_rt.sessions) as s:
        assert s.query(AuditLog).filter_by(action="org.set").count() == 0
    body = signer.message("demo-shuji", "设置 参与率下限 85%")  # dated by the test's clock, as DingTalk would
    status, answer = signer.post_flask(client, body)
    assert status == 200 and "已修改" in answer["text"]["content"]


def test_unknown_user_is_told_whom_to_ask(client, signer):
    _, body = signer.post_flask(client, signer.message("stranger01", "帮助"))
    assert "不在支部助手的党员名单里" in body["text"]["content"]


def test_picture_gets_a_hint(client, signer):
    body = signer.message("demo-dangyuan", "x")
    del body["text"]
    body |= {"msgtype": "picture", "content": {"downloadCode": "abc"}}
    _, answer = signer.post_flask(client, body)
    assert "请发送文字消息" in answer["text"]["content"]


@pytest.mark.parametrize("case", ["bad_sign", "stale", "future", "no_headers", "encoded_sign", "app_key_as_secret",
                                  "text_timestamp"])
def test_bad_signature_is_403_and_stores_nothing(case, client, signer, dingtalk_rt):
    now = signer.now_ms()
    headers = {
        "bad_sign": {**signer.headers(), "sign": signer.headers(secret="other")["sign"]},
        "stale": signer.headers(timestamp=now - 3_600_001),
        "future": signer.headers(timestamp=now + 3_600_001),
        "no_headers": {"Content-Type": "application/json"},
        "encoded_sign": {**signer.headers(), "sign": signer.headers()["sign"].replace("=", "%3D")},
        "app_key_as_secret": signer.headers(secret="ding-app-key"),
        "text_timestamp": {**signer.headers(), "timestamp": "yesterday"},
    }[case]
    status, _ = signer.post_flask(client, signer.message("demo-shuji", "设置 参与率下限 85%"), headers=headers)
    assert status == 403
    assert processed(dingtalk_rt) == 0


def test_timestamp_inside_the_window_is_accepted(client, signer):
    status, _ = signer.post_flask(client, signer.message("demo-dangyuan", "帮助"),
                                  headers=signer.headers(timestamp=signer.now_ms() - 3_500_000))
    assert status == 200


def _without(key):
    def edit(body):
        body.pop(key)
        return body
    return edit


@pytest.mark.parametrize("mutate", [
    lambda b: "{not json",
    lambda b: json.dumps([b]),
    _without("msgId"),
    _without("senderStaffId"),
    _without("conversationType"),
    lambda b: b | {"conversationType": "3"},
    lambda b: b | {"text": "帮助"},
    lambda b: b | {"msgId": 12345},
], ids=["malformed", "array", "no_msgId", "no_sender", "no_conversation_type", "bad_conversation_type",
        "text_not_object", "msgId_not_string"])
def test_bad_body_is_400_and_stores_nothing(mutate, client, signer, dingtalk_rt):
    body = mutate(signer.message("demo-shuji", "设置 参与率下限 85%"))
    status, _ = signer.post_flask(client, body)
    assert status == 400
    assert processed(dingtalk_rt) == 0
    with transaction(dingtalk_rt.sessions) as s:
        assert s.query(AuditLog).filter_by(action="org.set").count() == 0


def test_quota_notice_is_acknowledged_and_logged_once(client, signer, dingtalk_rt, caplog):
    notice = {"errorCode": "20001", "errorMessage": "受调用量超量影响，当前我的消息服务已经暂停", "createAt": 1,
              "conversationType": "1", "senderStaffId": "demo-dangyuan"}
    with caplog.at_level(logging.ERROR, logger="bot.channels.dingtalk.reply"):
        assert signer.post_flask(client, notice) == (200, EMPTY)
        assert signer.post_flask(client, dict(notice)) == (200, EMPTY)
    assert len([r for r in caplog.records if "quota" in r.getMessage()]) == 1
    assert processed(dingtalk_rt) == 0


def test_headers_are_never_logged(client, signer, caplog):
    headers = signer.headers(secret="wrong")
    with caplog.at_level(logging.DEBUG):
        signer.post_flask(client, signer.message("demo-dangyuan", "帮助"), headers=headers)
        signer.post_flask(client, {"msgtype": "text"})
    assert headers["sign"] not in caplog.text


@pytest.mark.parametrize("env", [{}, {"ZHIBU_DINGTALK_MODE": "stream"}])
def test_callback_exists_only_in_http_mode(env, db_url, segmenter):
    from bot.runtime import build_runtime
    from tests.conftest import DINGTALK_ENV

    extra = {**DINGTALK_ENV, **env} if env else {}
    app = create_app(runtime=build_runtime(make_settings(db_url, **extra), segmenter=segmenter))
    try:
        assert app.test_client().post("/dingtalk/callback", json={}).status_code == 404
    finally:
        app.extensions["zhibu"].close()


def test_round_trip_over_a_real_socket(app, signer, trusting_http):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        status, body = signer.post_http(base, signer.message("demo-zuzhi", "我的信息"))
        assert status == 200 and "李红梅" in body["text"]["content"] and "组织委员" in body["text"]["content"]
        status, _ = signer.post_http(base, signer.message("demo-zuzhi", "我的信息"), headers=signer.headers(
            timestamp=signer.now_ms() - 3_600_001))
        assert status == 403
        status, _ = signer.post_http(base, b"\xff\xfe not json")
        assert status == 400
    finally:
        server.shutdown()
        server.server_close()
