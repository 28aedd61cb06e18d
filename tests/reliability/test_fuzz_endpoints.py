"""Hypothesis fuzzing of /wecom/callback (GET and POST) and /dingtalk/callback with both channels configured: random
requests and near misses of valid ones. Every answer is 200, 400 or 403 (never 500) and a refused request stores
nothing (processed_messages, attendances and audit_log are counted around each request). The hostile classes of
issue #24 (digits int() refuses, deep JSON, wrong JSON types, absurd times, signed links whose content has the wrong
shape) must each be refused: 403 unauthenticated, 400 malformed (a file link: 403 for both).

The heavy variant (thousands of examples) is benchmarks/bench_fuzz.py; `pytest -s` prints the status counts here."""
from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.fuzz_harness import (
    DEEP_JSON,
    DINGTALK_URL,
    MUST_REFUSE,
    WECOM_URL,
    WRONG_CREATE_TIME,
    WRONG_EXPIRES,
    WRONG_LETTER_DATA,
    WRONG_MEETING_DATA,
    WRONG_PAYLOAD,
    WRONG_RICH_CONTENT,
    WRONG_TEXT,
    Fuzzer,
    build_fuzz_runtime,
    dingtalk_near_miss,
    hostile,
    hostile_request,
    nested_json,
    random_body,
    random_headers,
    random_query,
    wecom_near_miss,
)

LIGHT = settings(max_examples=150, deadline=None, derandomize=False,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                        HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def fuzzer(demo_db_template, tmp_path_factory, segmenter, fake_tls):
    """One app for the whole module (hypothesis runs many examples per test); the fakes live as long."""
    from tests.conftest import WECOM_AGENT_ID, WECOM_CORP_ID, WECOM_SECRET, Clock
    from tests.fakes.dingtalk_server import FakeDingtalk
    from tests.fakes.wecom_server import FakeWecomServer

    db = tmp_path_factory.mktemp("fuzz") / "zhibu.db"
    shutil.copyfile(demo_db_template, db)
    clock = Clock()
    dingtalk = FakeDingtalk(clock=clock, tls=fake_tls).start()
    with FakeWecomServer(corp_id=WECOM_CORP_ID, secret=WECOM_SECRET, agent_id=WECOM_AGENT_ID) as wecom:
        rt = build_fuzz_runtime(f"sqlite:///{db}", wecom.url, dingtalk.base_url, clock, segmenter)
        f = Fuzzer(rt, clock)
        yield f
        print(f"\nfuzz counts: {f.report()}")
        rt.close()
    dingtalk.stop()


@LIGHT
@given(query=random_query(), headers=random_headers)
def test_wecom_get_random(fuzzer, query, headers):
    fuzzer.send("wecom GET", "GET", f"{WECOM_URL}?{query}", headers=headers)


@LIGHT
@given(query=random_query(), headers=random_headers, body=random_body)
def test_wecom_post_random(fuzzer, query, headers, body):
    fuzzer.send("wecom POST", "POST", f"{WECOM_URL}?{query}", body=body, headers=headers)


@LIGHT
@given(query=random_query(), headers=random_headers, body=random_body | st.binary(max_size=500))
def test_dingtalk_random(fuzzer, query, headers, body):
    fuzzer.send("dingtalk POST", "POST", f"{DINGTALK_URL}?{query}", body=body, headers=headers)


@LIGHT
@given(data=st.data())
def test_wecom_near_misses_are_refused(fuzzer, data):
    kind, endpoint, method, path, body, headers = data.draw(wecom_near_miss(fuzzer))
    status = fuzzer.send(endpoint, method, path, body=body, headers=headers)
    if kind in MUST_REFUSE:
        assert status in (400, 403), f"{kind} was accepted"


@LIGHT
@given(data=st.data())
def test_dingtalk_near_misses(fuzzer, data):
    kind, endpoint, method, path, body, headers = data.draw(dingtalk_near_miss(fuzzer))
    status = fuzzer.send(endpoint, method, path, body=body, headers=headers)
    if kind in MUST_REFUSE:
        assert status in (400, 403), f"{kind} was accepted"


def test_the_near_misses_that_must_be_refused_are(fuzzer):
    """Fixed spoilings that are never acceptable: each is refused and stores nothing (fuzzer.send checks storing)."""
    w, d = fuzzer.wecom, fuzzer.dingtalk
    plain = w.text_xml("demo-dangyuan", "签到 1234", msg_id=77)
    query, body = w.encrypt_envelope(plain)
    # one bit of the ciphertext changed: the signature no longer matches
    at = body.index("<Encrypt>") + len("<Encrypt><![CDATA[") + 10
    assert fuzzer.send("wecom POST", "POST", f"{WECOM_URL}?{query}", body=body[:at].encode()
                       + bytes([ord(body[at]) ^ 1]) + body[at + 1:].encode()) in (400, 403)
    from tests.fakes.wecom_client import WecomClient

    other = WecomClient(w.token, "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", w.corp_id, 1000003)
    query, body = other.encrypt_envelope(other.text_xml("demo-dangyuan", "签到 1234", msg_id=78))
    assert fuzzer.send("wecom POST", "POST", f"{WECOM_URL}?{query}", body=body.encode()) == 403  # another AgentID
    query, body = w.encrypt_envelope(plain, receive_id="wx0000000000000000")
    assert fuzzer.send("wecom POST", "POST", f"{WECOM_URL}?{query}", body=body.encode()) == 403  # another corp
    assert fuzzer.send("dingtalk POST", "POST", DINGTALK_URL, body=b"\xff\xfe not json",
                       headers=d.headers()) == 400  # signed, body not JSON
    assert fuzzer.send("dingtalk POST", "POST", DINGTALK_URL, body=b'{"msgtype": "text"}',
                       headers=d.headers()) == 400  # signed, not a message
    assert fuzzer.send("dingtalk POST", "POST", DINGTALK_URL, body=b"{}", headers={**d.headers(), "sign": "x"}) == 403


@LIGHT
@given(data=st.data())
def test_hostile_requests_are_refused(fuzzer, data):
    kind, endpoint, method, path, body, headers, expected = data.draw(hostile_request(fuzzer))
    assert fuzzer.send(endpoint, method, path, body=body, headers=headers) == expected, kind


# one fixed example of every value of every hostile class, so a failure names its case
HOSTILE_CASES = [
    *[("dingtalk_unicode_timestamp", v) for v in ("²", "¹²³", "١٧٩٤٦٤٧٨٤٠٠٠٠")],
    *[("dingtalk_wrong_text", v) for v in WRONG_TEXT],
    *[("dingtalk_wrong_rich_text", v) for v in WRONG_RICH_CONTENT],
    *[("dingtalk_wrong_expires", v) for v in WRONG_EXPIRES],
    *[("wecom_wrong_create_time", v) for v in WRONG_CREATE_TIME],
    *[("screen_token_shape", (path, v)) for path in ("/signin/screen/{t}", "/signin/screen/{t}/state.json",
                                                     "/signin/screen/{t}/qr.svg") for v in WRONG_MEETING_DATA],
    *[("scan_token_shape", v) for v in WRONG_MEETING_DATA],
    *[("oauth_state_shape", v) for v in WRONG_MEETING_DATA],
    *[("file_token_shape", v) for v in WRONG_LETTER_DATA],
    *[("token_payload_shape", (("signin-screen", "/signin/screen/{t}"), v)) for v in WRONG_PAYLOAD],
    ("token_payload_shape", (("term-letter", "/files/term-letter/{t}"), nested_json(100_000, "list"))),
]


@pytest.mark.parametrize(("kind", "value"), HOSTILE_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(HOSTILE_CASES)])
def test_each_hostile_class_is_refused(fuzzer, kind, value):
    endpoint, method, path, body, headers, expected = hostile(fuzzer, kind, value)
    assert fuzzer.send(endpoint, method, path, body=body, headers=headers) == expected


def test_a_deeply_nested_body_is_refused_by_the_parser():
    """What the DingTalk channel needs to refuse deep JSON: load_body turns json's RecursionError into BadMessage."""
    from bot.channels.dingtalk.parse import BadMessage, load_body

    for depth, kind in [(100_000, "list"), (100_000, "object")]:
        with pytest.raises(BadMessage):
            load_body(nested_json(depth, kind))


@LIGHT
@given(value=DEEP_JSON)
def test_a_deeply_nested_dingtalk_body_is_refused(fuzzer, value):
    endpoint, method, path, body, headers, expected = hostile(fuzzer, "dingtalk_deep_json", value)
    assert fuzzer.send(endpoint, method, path, body=body, headers=headers) == expected
