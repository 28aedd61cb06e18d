"""What the endpoint fuzzing shares between the light test and the heavy benchmark: the app with both channels on,
the hypothesis strategies (random and near-miss requests), and the check applied to every answer."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import time
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
    slowest: dict[str, float] = field(default_factory=dict)  # seconds, per endpoint (bench_fuzz holds it to 1 s)

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
        started = time.perf_counter()
        if method == "GET":
            res = self.http.get(path, headers=headers or {})
        else:
            res = self.http.post(path, data=body, headers=headers or {})
        status = res.status_code
        self.slowest[endpoint] = max(self.slowest.get(endpoint, 0.0), time.perf_counter() - started)
        self.counts.setdefault(endpoint, Counter())[status] += 1
        assert status in ALLOWED, f"{method} {path[:80]!r} answered {status}"
        if status != 200:
            assert self.stored() == before, f"{method} {path[:80]!r} was refused ({status}) but wrote rows"
        return status

    def report(self) -> str:
        return "; ".join(f"{ep}: {sum(c.values())} requests, " + ", ".join(f"{k}×{v}" for k, v in sorted(c.items()))
                         + f", slowest {self.slowest.get(ep, 0) * 1000:.0f} ms" for ep, c in sorted(self.counts.items()))


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


# --- hostile requests: each class the probe of issue #24 found answering 500 --------------------------------------
# Every one must be refused (403 unauthenticated, 400 malformed) and store nothing. `hostile_request` draws them;
# HOSTILE_CASES names a fixed example of each for the plain test.
UNICODE_DIGITS = ("²", "¹²³", "١٧٩٤٦٤٧٨٤٠٠٠٠", "𝟏𝟕𝟗𝟒𝟔𝟒𝟕𝟖𝟒𝟎𝟎𝟎𝟎", "１７９４６４７８４００００")
WRONG_TEXT = (5, [], {"content": 5}, {"content": None}, {"content": ["签到"]})
WRONG_RICH_CONTENT = (5, "签到", [1], True, {"richText": 5}, {"richText": "签到"}, {"richText": {"text": "x"}},
                      {"richText": [5]}, {"richText": [{"text": 5}]}, {"richText": [{"text": ["x"]}]},
                      {"richText": [None]})
WRONG_EXPIRES = ("²", "¹²³", "9" * 5000, 10**300, -5, 1.5e300, "١٢٣", True, "1e9", [1])
WRONG_CREATE_TIME = ("9" * 30, "²", "١٧٩٤٦٤٧٨٤٠", "１７９４６４７８４０", "-1", "1.5")
WRONG_MEETING_DATA = ({"m": 10**30}, {"m": True}, {"m": "1"}, {"m": -1}, {"m": 0}, {"m": 1.5}, {"m": None}, {},
                      {"m": [1]})
WRONG_LETTER_DATA = ({"org": 10**30, "on": "2026-12-15"}, {"org": True, "on": "2026-12-15"}, {"org": 2, "on": 5},
                     {"org": 2, "on": "x" * 200}, {"org": 2, "on": "2026-13-45"}, {"org": 2}, {"on": "2026-12-15"},
                     {"org": "2", "on": "2026-12-15"})
WRONG_PAYLOAD = ([1], "x", None, {"d": [1], "exp": 4102444800}, {"d": {"m": 1}, "exp": 10**30},
                 {"d": {"m": 1}, "exp": "4102444800"}, {"d": {"m": 1}, "exp": True}, {"d": {"m": 1}, "exp": -1e300},
                 {"d": {"m": 1}})
SCREEN_PATHS = ("/signin/screen/{t}", "/signin/screen/{t}/state.json", "/signin/screen/{t}/qr.svg")


def sign_payload(secret: str, purpose: str, payload) -> str:
    """A token as bot/signing.py's protocol makes one (base64url JSON, '.', base64url HMAC-SHA256 over purpose and
    body), around any payload: what a holder of the key, or a bug, could sign."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    body = b64(raw)
    mac = hmac.new(secret.encode(), (purpose + "\n" + body).encode(), hashlib.sha256).digest()
    return f"{body}.{b64(mac)}"


def nested_json(depth: int, kind: str) -> bytes:
    return ("[" * depth + "]" * depth if kind == "list" else '{"a":' * depth + "1" + "}" * depth).encode()


def hostile(fuzzer: Fuzzer, kind: str, value, user: str = "demo-dangyuan"):
    """(endpoint, method, path, body, headers, expected status) for one hostile request of `kind` built with `value`."""
    from bot.signin_links import SCAN, SCREEN, STATE
    from reminders.letter import LETTER_PURPOSE

    d, w = fuzzer.dingtalk, fuzzer.wecom
    secret = fuzzer.runtime.settings.secret_key
    later = int(fuzzer.clock().timestamp()) + 3600
    if kind == "dingtalk_unicode_timestamp":  # the sign is right for that text: only the digits are wrong
        headers = d.headers(timestamp=value)
        return "dingtalk POST", "POST", DINGTALK_URL, json.dumps(d.message(user, "帮助")).encode(), headers, 403
    if kind == "dingtalk_deep_json":
        return "dingtalk POST", "POST", DINGTALK_URL, nested_json(*value), d.headers(), 400
    if kind == "dingtalk_wrong_text":
        message = d.message(user, "帮助")
        message["text"] = value
        return "dingtalk POST", "POST", DINGTALK_URL, json.dumps(message).encode(), d.headers(), 400
    if kind == "dingtalk_wrong_rich_text":
        message = d.message(user, "帮助")
        del message["text"]
        message.update(msgtype="richText", content=value)
        return "dingtalk POST", "POST", DINGTALK_URL, json.dumps(message).encode(), d.headers(), 400
    if kind == "dingtalk_wrong_expires":
        message = d.message(user, "帮助")
        message["sessionWebhookExpiredTime"] = value
        return "dingtalk POST", "POST", DINGTALK_URL, json.dumps(message).encode(), d.headers(), 400
    if kind == "wecom_wrong_create_time":
        plain = w.text_xml(user, "帮助", create_time=1794647840).replace(
            "<CreateTime>1794647840</CreateTime>", f"<CreateTime>{value}</CreateTime>")
        query, body = w.encrypt_envelope(plain)
        return "wecom POST", "POST", f"{WECOM_URL}?{query}", body.encode(), {"Content-Type": "text/xml"}, 400
    if kind == "screen_token_shape":
        path, data = value
        return "signin GET", "GET", path.format(t=sign_payload(secret, SCREEN, {"d": data, "exp": later})), b"", {}, 400
    if kind == "scan_token_shape":
        return "signin GET", "GET", f"/signin/s/{sign_payload(secret, SCAN, {'d': value, 'exp': later})}", b"", {}, 400
    if kind == "oauth_state_shape":
        state = sign_payload(secret, STATE, {"d": value, "exp": later})
        return "signin GET", "GET", f"/signin/wecom/callback?code=abc&state={state}", b"", {}, 400
    if kind == "file_token_shape":
        token = sign_payload(secret, LETTER_PURPOSE, {"d": value, "exp": later})
        return "files GET", "GET", f"/files/{LETTER_PURPOSE}/{token}", b"", {}, 403  # a file link: 403/410 only
    if kind == "token_payload_shape":
        purpose, path = value[0]
        status = 403 if path.startswith("/files/") else 400
        return "signin GET", "GET", path.format(t=sign_payload(secret, purpose, value[1])), b"", {}, status
    raise ValueError(kind)


HOSTILE_KINDS = {
    "dingtalk_unicode_timestamp": st.sampled_from(UNICODE_DIGITS),
    "dingtalk_wrong_text": st.sampled_from(WRONG_TEXT),
    "dingtalk_wrong_rich_text": st.sampled_from(WRONG_RICH_CONTENT),
    "dingtalk_wrong_expires": st.sampled_from(WRONG_EXPIRES),
    "wecom_wrong_create_time": st.sampled_from(WRONG_CREATE_TIME) | st.integers(12, 40).map(lambda n: "9" * n),
    "screen_token_shape": st.tuples(st.sampled_from(SCREEN_PATHS), st.sampled_from(WRONG_MEETING_DATA)),
    "scan_token_shape": st.sampled_from(WRONG_MEETING_DATA),
    "oauth_state_shape": st.sampled_from(WRONG_MEETING_DATA),
    "file_token_shape": st.sampled_from(WRONG_LETTER_DATA),
    "token_payload_shape": st.tuples(
        st.sampled_from([("signin-screen", p) for p in SCREEN_PATHS] + [("signin-scan", "/signin/s/{t}"),
                                                                         ("term-letter", "/files/term-letter/{t}")]),
        st.sampled_from(WRONG_PAYLOAD) | st.integers(20_000, 100_000).map(lambda n: nested_json(n, "list"))),
}
# a deeply nested DingTalk body: the callback reads it through bot.channels.dingtalk.parse.load_body, which turns
# json's RecursionError into a 400 (see test_fuzz_endpoints)
DEEP_JSON = st.tuples(st.integers(50_000, 300_000), st.sampled_from(["list", "object"]))


@st.composite
def hostile_request(draw, fuzzer: Fuzzer):
    kind = draw(st.sampled_from(sorted(HOSTILE_KINDS)))
    return (kind, *hostile(fuzzer, kind, draw(HOSTILE_KINDS[kind]), draw(st.sampled_from(USERS))))
