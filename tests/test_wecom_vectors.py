"""The official WeCom encryption vectors (and two earlier public sets), through the bot's callback code."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
import wechatpy.enterprise.crypto as wecrypto
from flask import Flask

from bot.channels.wecom.inbound import parse_inbound
from bot.channels.wecom.wire import CallbackCrypto
from tests.fakes.wecom_client import WecomClient

VECTORS = json.loads((Path(__file__).parent / "data" / "wecom_vectors.json").read_text(encoding="utf-8"))
SETS = ["official_wecom_sample", "sbzhu_weworkapi_python_sample", "wechatpy_test_crypto_v1_8_18"]


def crypto_of(v: dict) -> CallbackCrypto:
    return CallbackCrypto(v["token"], v["encoding_aes_key"], v["receive_id_corpid"])


@pytest.mark.parametrize("name", SETS)
def test_url_verification(name):
    v = VECTORS[name]
    u = v["url_verification"]
    assert crypto_of(v).verify_url(u["msg_signature"], u["timestamp"], u["nonce"], u["echostr"]) \
        == u["expected_response_body"]


@pytest.mark.parametrize("name", SETS)
def test_message_decryption(name):
    v = VECTORS[name]
    m = v["receive_message"]
    plain = crypto_of(v).decrypt(m["post_body"].encode(), m["msg_signature"], m["timestamp"], m["nonce"])
    assert plain == m["expected_plaintext_xml"]
    inbound = parse_inbound(plain)
    assert inbound.incoming is not None and inbound.incoming.platform == "wecom"


def test_official_message_fields():
    m = VECTORS["official_wecom_sample"]["receive_message"]
    v = VECTORS["official_wecom_sample"]
    incoming = parse_inbound(crypto_of(v).decrypt(m["post_body"].encode(), m["msg_signature"], m["timestamp"],
                                                  m["nonce"])).incoming
    expected = m["expected_fields"]
    assert (incoming.user_id, incoming.text) == (expected["FromUserName"], expected["Content"])
    assert incoming.message_id == f"msg:{expected['MsgId']}"
    assert int(incoming.received_at.timestamp()) == expected["CreateTime"]


@pytest.mark.parametrize("name", ["official_wecom_sample", "wechatpy_test_crypto_v1_8_18"])
def test_deterministic_reply(name, monkeypatch):
    v = VECTORS[name]
    r = v["reply_encryption"]
    det = r.get("deterministic_reply", r)
    plaintext = r.get("plaintext_xml_from_official_samples") or r["plaintext_xml"]
    monkeypatch.setattr(wecrypto.PrpCrypto, "get_random_string", lambda self: det["random_prefix"])
    envelope = crypto_of(v).encrypt_reply(plaintext, r["nonce"], r["timestamp"])
    assert envelope == det["expected_response_xml_wechatpy_format"]
    # the test client's independent cipher agrees byte for byte, and opens the reply as WeCom would
    client = WecomClient(v["token"], v["encoding_aes_key"], v["receive_id_corpid"])
    assert client.encrypt(plaintext, det["random_prefix"].encode()) == det["expected_encrypt"]
    opened = client.open_reply(envelope)
    assert opened.receive_id == v["receive_id_corpid"]
    assert det["expected_msg_signature"] in envelope


@pytest.mark.parametrize("name", SETS)
def test_client_decrypts_the_official_messages(name):
    v = VECTORS[name]
    client = WecomClient(v["token"], v["encoding_aes_key"], v["receive_id_corpid"])
    plain, rid = client.decrypt(v["receive_message"]["encrypt"])
    assert plain == v["receive_message"]["expected_plaintext_xml"] and rid == v["receive_id_corpid"]


def test_url_verification_over_flask_with_the_query_as_sent(wecom_demo):
    """The official GET, %-encoded exactly as WeCom sends it, against the mounted blueprint."""
    from bot.app import create_app

    v = VECTORS["official_wecom_sample"]["url_verification"]
    app: Flask = create_app(runtime=wecom_demo)
    res = app.test_client().get("/wecom/callback?" + v["query_string_as_sent"])
    assert res.status_code == 200
    assert res.data == v["expected_response_body"].encode()  # bare: no quotes, no newline
    assert res.mimetype == "text/plain"
    # the same parameters with '+' left raw decode to spaces and must be refused, not crash
    raw = "&".join(f"{k}={v[k]}" for k in ("msg_signature", "timestamp", "nonce", "echostr"))
    assert app.test_client().get("/wecom/callback?" + raw).status_code == 403
    # and a properly encoded query for the same values works
    assert app.test_client().get("/wecom/callback?" + urlencode(
        {k: v[k] for k in ("msg_signature", "timestamp", "nonce", "echostr")})).data == b"1616140317555161061"
