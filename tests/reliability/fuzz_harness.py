"""What the endpoint fuzzing shares between the light test and the heavy benchmark: the app with both channels on,
the hypothesis strategies (random and near-miss requests), and the check applied to every answer."""
from __future__ import annotations

import base64
import json
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hypothesis import assume
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import create_app
from bot.runtime import Runtime, build_runtime
from storage.models import Attendance, AuditLog, ProcessedMessage
from tests.conftest import (
    DINGTALK_ENV,
    WECOM_AES_KEY,
    WECOM_AGENT_ID,
    WECOM_CORP_ID,
    WECOM_TOKEN,
    make_settings,
    wecom_env,
)
from tests.fakes.dingtalk_client import SignedClient
from tests.fakes.wecom_client import WecomClient, cdata

WECOM_URL, DINGTALK_URL = "/wecom/callback", "/dingtalk/callback"
ALLOWED = {200, 400, 403}
WATCHED = (ProcessedMessage, Attendance, AuditLog)


def build_fuzz_runtime(db_url: str, wecom_api: str, dingtalk_api: str, clock, segmenter) -> Runtime:
    """Both channels configured (DingTalk in HTTP mode), their APIs pointed at the loopback fakes."""
    settings = make_settings(db_url, **wecom_env(wecom_api), **DINGTALK_ENV, ZHIBU_DINGTALK_API_BASE=dingtalk_api,
                             ZHIBU_DINGTALK_MODE="http")
    return build_runtime(settings, clock=clock, segmenter=segmenter)


@dataclass
class Fuzzer:
    """Sends one request through Flask's test client and checks the answer: an allowed status, no 500, and no row
    written by a rejected request. Keeps the count of each status per endpoint for the report."""

    runtime: Runtime
    clock: Callable
    counts: dict[str, Counter] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.app = create_app(runtime=self.runtime)
        self.http = self.app.test_client()
        self.wecom = WecomClient(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID, WECOM_AGENT_ID)
        self.dingtalk = SignedClient(DINGTALK_ENV["ZHIBU_DINGTALK_APP_SECRET"], self.clock)

    def stored(self) -> tuple[int, ...]:
        with self.runtime.sessions() as s:
            return tuple(s.scalar(select(func.count()).select_from(m)) for m in WATCHED)

    def send(self, endpoint: str, method: str, path: str, *, body: bytes = b"", headers: dict | None = None) -> int:
        before = self.stored()
        if method == "GET":
            res = self.http.get(path, headers=headers or {})
        else:
            res = self.http.post(path, data=body, headers=headers or {})
        status = res.status_code
        self.counts.setdefault(endpoint, Counter())[status] += 1
        assert status in ALLOWED, f"{method} {path[:80]!r} answered {status}"
        if status != 200:
            assert self.stored() == before, f"{method} {path[:80]!r} was refused ({status}) but wrote rows"
        return status

    def report(self) -> str:
        return "; ".join(f"{ep}: {sum(c.values())} requests, " + ", ".join(f"{k}×{v}" for k, v in sorted(c.items()))
                         for ep, c in sorted(self.counts.items()))


# --- strategies ----------------------------------------------------------------------------------------------------
QUERY_KEYS = ("msg_signature", "timestamp", "nonce", "echostr")
text = st.text(max_size=200)
header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=120)


@st.composite
def random_query(draw) -> str:
    keys = draw(st.lists(st.sampled_from(QUERY_KEYS) | st.text(min_size=1, max_size=10), max_size=6))
    pairs = [(k, draw(text | st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()))) for k in keys]
    if draw(st.booleans()):
        return urlencode(pairs)
    return "&".join(f"{k}={v}" for k, v in pairs)  # not encoded: '+', '%', '&' and non-ASCII as they come


random_headers = st.dictionaries(st.sampled_from(["timestamp", "sign", "Content-Type", "X-Forwarded-For", "Cookie",
                                                  "Content-Encoding", "Accept", "X-Junk"]), header_value, max_size=5)

random_body = st.one_of(
    st.binary(max_size=2000),
    text.map(str.encode),
    st.builds(lambda s: f"<xml><Encrypt>{cdata(s)}</Encrypt></xml>".encode(), text),
    st.builds(lambda b: f"<xml><Encrypt>{base64.b64encode(b).decode()}</Encrypt></xml>".encode(),
              st.binary(max_size=300)),
    st.just(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaa">]><xml><Encrypt>&a;</Encrypt></xml>'),
)

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                           max_leaves=20)

USERS = ("demo-dangyuan", "demo-shuji", "stranger")
COMMANDS = ("帮助", "签到 1234", "我的信息", "设置 参与率下限 85%", "")


def flip(data: bytes, position: int, bit: int) -> bytes:
    i = position % len(data)
    return data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]


# the spoilings an endpoint must refuse (400 or 403); the others may be accepted (e.g. a long but valid message)
MUST_REFUSE = {"flip_body", "flip_query", "wrong_agent", "wrong_corp", "garbage_plain", "stale_echo_flip",
               "body_over_limit", "signed_random_body", "signed_random_json", "flipped_sign", "unsigned_valid"}


def huge(n: int) -> str:
    return "".join(random.Random(n).choices(string.ascii_letters + "中文", k=n))


# near misses: each returns (kind, endpoint, method, path, body, headers) built from a valid request spoiled one way
@st.composite
def wecom_near_miss(draw, fuzzer: Fuzzer):
    client = fuzzer.wecom
    kind = draw(st.sampled_from(["flip_body", "flip_query", "wrong_agent", "wrong_corp", "garbage_plain",
                                 "huge_content", "huge_query", "stale_echo_flip", "body_over_limit"]))
    user, command = draw(st.sampled_from(USERS)), draw(st.sampled_from(COMMANDS))
    msg_id = draw(st.integers(min_value=1, max_value=2**62))
    plain = client.text_xml(user, command, msg_id=msg_id)
    headers = {"Content-Type": "text/xml"}
    if kind == "wrong_agent":
        other = WecomClient(WECOM_TOKEN, WECOM_AES_KEY, WECOM_CORP_ID,
                            draw(st.integers(min_value=1, max_value=10**7).filter(lambda a: a != WECOM_AGENT_ID)))
        query, body = other.encrypt_envelope(other.text_xml(user, command, msg_id=msg_id))
    elif kind == "wrong_corp":
        query, body = client.encrypt_envelope(plain, receive_id=draw(st.sampled_from(["", "wx0000000000000000",
                                                                                       WECOM_CORP_ID + "x"])))
    elif kind == "garbage_plain":  # valid signature and cipher around a plaintext that is not a message
        query, body = client.encrypt_envelope(draw(text | st.sampled_from(
            ["<xml></xml>", "<xml><MsgType>text</MsgType></xml>", "<root/>",
             "<xml><FromUserName>a</FromUserName><CreateTime>x</CreateTime><MsgType>text</MsgType></xml>"])))
    elif kind == "huge_content":
        query, body = client.encrypt_envelope(client.text_xml(user, huge(draw(st.integers(3000, 40_000))),
                                                              msg_id=msg_id))
    else:
        query, body = client.encrypt_envelope(plain)
    raw = body.encode()
    if kind == "flip_body":  # inside the ciphertext: the outer ToUserName/AgentID are not signed and not trusted
        start = raw.index(b"<Encrypt><![CDATA[") + len(b"<Encrypt><![CDATA[")
        end = raw.index(b"]]></Encrypt>")
        at = start + draw(st.integers(min_value=0)) % (end - start)
        raw = raw[:at] + flip(raw[at:at + 1], 0, draw(st.integers(0, 6))) + raw[at + 1:]
    elif kind == "flip_query":  # a digit of the signed timestamp or nonce: low bits, so never the same character
        name = draw(st.sampled_from(["timestamp=", "nonce="]))
        at = query.index(name) + len(name) + draw(st.integers(0, 5))
        query = query[:at] + chr(ord(query[at]) ^ (1 << draw(st.integers(0, 2)))) + query[at + 1:]
    elif kind == "huge_query":
        query += "&nonce=" + huge(draw(st.integers(1000, 60_000)))
    elif kind == "body_over_limit":
        raw = raw + b" " * (1024 * 1024)
    if kind == "stale_echo_flip":  # the GET verification with one byte of the signature changed
        q = client.verify_query(str(msg_id))
        sig_at = q.index("msg_signature=") + len("msg_signature=")
        q = q[:sig_at] + ("0" if q[sig_at] != "0" else "1") + q[sig_at + 1:]
        return kind, "wecom GET", "GET", f"{WECOM_URL}?{q}", b"", {}
    return kind, "wecom POST", "POST", f"{WECOM_URL}?{query}", raw, headers


@st.composite
def dingtalk_near_miss(draw, fuzzer: Fuzzer):
    signer = fuzzer.dingtalk
    kind = draw(st.sampled_from(["signed_random_body", "signed_random_json", "signed_spoiled_message",
                                 "flipped_sign", "huge_fields", "unsigned_valid"]))
    headers = signer.headers()
    message = signer.message(draw(st.sampled_from(USERS)), draw(st.sampled_from(COMMANDS)))
    if kind == "signed_random_body":
        body = draw(st.binary(max_size=3000) | text.map(str.encode))
    elif kind == "signed_random_json":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "signed_spoiled_message":
        key = draw(st.sampled_from(sorted(message)))
        if draw(st.booleans()):
            del message[key]
        else:
            message[key] = draw(json_values)
        body = json.dumps(message).encode()
    elif kind == "flipped_sign":
        sign = headers["sign"].encode()
        flipped = flip(sign, draw(st.integers(min_value=0)), draw(st.integers(0, 6))).decode("latin-1")
        assume(not any(c in flipped for c in "\r\n\0"))  # no HTTP client can send these in a header
        headers["sign"] = flipped
        body = json.dumps(message).encode()
    elif kind == "huge_fields":  # signed, but absurd sizes: the request-body limit or the parser refuses it
        field_name = draw(st.sampled_from(["senderStaffId", "msgId", "conversationId", "senderNick"]))
        message[field_name] = huge(draw(st.integers(2000, 1_100_000)))
        body = json.dumps(message).encode()
    else:
        headers = {"Content-Type": "application/json"}
        body = json.dumps(message).encode()
    return kind, "dingtalk POST", "POST", DINGTALK_URL, body, headers
