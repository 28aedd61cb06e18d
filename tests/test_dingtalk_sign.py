"""Public DingTalk signature vectors (third-party values computed with the official sample inputs)."""
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.channels.dingtalk.sign import robot_sign, signed_webhook_url, verify_callback

# callback header: the official receive-message sample inputs; value from StateKnot/JiaClaw dingtalk.rs @4f62ecf
CB_TS, CB_SECRET, CB_SIGN = "1577262236757", "this is a secret", "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA="


def test_callback_vector():
    assert robot_sign(CB_TS, CB_SECRET) == CB_SIGN
    assert verify_callback(CB_TS, CB_SIGN, CB_SECRET, now_ms=int(CB_TS))


@pytest.mark.parametrize("sign", [
    "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA%3D",  # URL-encoded: the header is raw base64
    "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CA",  # unpadded
    "DJrE6qdyVGCQz9z5r2MDuNcNAhwYnuAkyj13cx169CB=",  # one character off
    "", " " + CB_SIGN,
])
def test_callback_rejects_variants(sign):
    assert not verify_callback(CB_TS, sign, CB_SECRET, now_ms=int(CB_TS))


def test_callback_window_edges():
    assert verify_callback(CB_TS, CB_SIGN, CB_SECRET, now_ms=1577258636757)
    assert verify_callback(CB_TS, CB_SIGN, CB_SECRET, now_ms=1577265836757)
    assert not verify_callback(CB_TS, CB_SIGN, CB_SECRET, now_ms=1577258636756)
    assert not verify_callback(CB_TS, CB_SIGN, CB_SECRET, now_ms=1577265836758)


def test_callback_needs_the_app_secret_and_a_numeric_timestamp():
    assert not verify_callback(CB_TS, CB_SIGN, "this is secret", now_ms=int(CB_TS))
    assert not verify_callback(None, CB_SIGN, CB_SECRET, now_ms=int(CB_TS))
    assert not verify_callback("1577262236757.0", CB_SIGN, CB_SECRET, now_ms=int(CB_TS))
    assert not verify_callback("-1577262236757", CB_SIGN, CB_SECRET, now_ms=int(CB_TS))


WEBHOOK_VECTORS = [
    # practigo/dingbot bot_test.go @465007d
    ("1601187240000", "this is a secret", "7gmCSzcAc2XzfB14K9+cRSM1hqBng7kT+N5k61qXXz0=",
     "7gmCSzcAc2XzfB14K9%2BcRSM1hqBng7kT%2BN5k61qXXz0%3D"),
    # liuzhcn/CodeIsland PushSigningAndResponseTests.swift @fb4a9e6: the '+' case
    ("1577262236757", "this is secret", "hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=",
     "hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D"),
    ("1700000000000", "SEC1234567890abcdef", "RqBq3E1RTBDv3n2QBCh4adZ2WHk9mVklyUoDBLxarjI=",
     "RqBq3E1RTBDv3n2QBCh4adZ2WHk9mVklyUoDBLxarjI%3D"),
]


@pytest.mark.parametrize(("ts", "secret", "raw", "encoded"), WEBHOOK_VECTORS)
def test_webhook_vectors(ts, secret, raw, encoded):
    assert robot_sign(ts, secret) == raw
    url = signed_webhook_url("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, int(ts))
    assert url.endswith(f"&timestamp={ts}&sign={encoded}")
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=abc&")
    assert parse_qs(urlsplit(url).query)["sign"] == [raw]  # the server decodes it back, '+' intact


def test_webhook_url_replaces_an_old_signature_and_skips_signing_without_secret():
    url = signed_webhook_url("https://x.example/robot/send?access_token=t&timestamp=1&sign=old", "s", 1700000000000)
    q = parse_qs(urlsplit(url).query)
    assert q["timestamp"] == ["1700000000000"] and q["sign"] == [robot_sign(1700000000000, "s")]
    assert signed_webhook_url("https://x.example/robot/send?access_token=t", "", 5) == \
        "https://x.example/robot/send?access_token=t"


def test_not_the_login_free_scheme():
    # the personal login-free signature MACs the timestamp only; ours must not produce it
    assert robot_sign("1546084445901", "testappSecret") != "HCbG3xNE3vzhO+u7qCUL1jS5hsu2n5r2cFhnTrtyDAE="
