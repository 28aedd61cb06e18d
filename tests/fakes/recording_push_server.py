"""A loopback push target that records what each member would see, with a platform-style duplicate guard.

It speaks the shape of WeCom's `POST /cgi-bin/message/send?access_token=…` (a JSON body with touser, msgtype, text,
enable_duplicate_check, duplicate_check_interval) and applies the guard as WeCom does: with enable_duplicate_check
set, a request whose JSON is identical to one accepted within duplicate_check_interval seconds answers ok but is not
delivered again. A body carrying DingTalk's `msgUuid` is guarded by that key instead.

`RecordingPusher` is the Pusher that talks to it. Its body is a pure function of (user, reply), and the dispatcher's
reply is a pure function of the outbox row, so the guard is in effect keyed by the row's dedupe key: exactly how the
WeCom pusher must behave for crash re-sends to be dropped.
"""
from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from bot.messages import Reply
from bot.push import PushResult

DEFAULT_INTERVAL = 1800  # WeCom's default duplicate_check_interval, seconds


@dataclass
class Delivery:
    user_id: str
    text: str
    at: float


@dataclass
class RecordingState:
    deliveries: list[Delivery] = field(default_factory=list)  # what members saw
    requests: int = 0  # every well-formed send, delivered or not
    guard_drops: int = 0  # sends the duplicate guard swallowed
    refused: int = 0  # sends answered with a temporary error
    seen: dict[str, float] = field(default_factory=dict)  # guard key -> accepted at
    lock: threading.Lock = field(default_factory=threading.Lock)


class RecordingPushServer:
    """Start with `with RecordingPushServer() as server:`; `server.url` is the API root ending in /cgi-bin/."""

    def __init__(self, delay_s: float = 0.0, busy_rate: float = 0.0, seed: int = 0) -> None:
        self.state = RecordingState()
        self.delay_s = delay_s  # applied after recording, before answering: a crash here is "delivered, not marked"
        self.busy_rate = busy_rate  # share of sends answered errcode -1 (system busy) without delivering
        self.random = random.Random(seed)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/cgi-bin/"

    def __enter__(self) -> RecordingPushServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def deliveries(self) -> list[tuple[str, str]]:
        with self.state.lock:
            return [(d.user_id, d.text) for d in self.state.deliveries]

    def receive(self, body: dict) -> dict:
        """Apply the guard and record; returns the JSON answer."""
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        if not users or body.get("msgtype") != "text" or "content" not in (body.get("text") or {}):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        with self.state.lock:
            if self.busy_rate and self.random.random() < self.busy_rate:
                self.state.refused += 1
                return {"errcode": -1, "errmsg": "system busy"}
            self.state.requests += 1
            now = time.monotonic()
            key = None
            if body.get("msgUuid"):
                key = "uuid:" + str(body["msgUuid"])
            elif int(body.get("enable_duplicate_check") or 0) == 1:
                key = "body:" + json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            interval = int(body.get("duplicate_check_interval") or DEFAULT_INTERVAL)
            if key is not None and key in self.state.seen and now - self.state.seen[key] < interval:
                self.state.guard_drops += 1
                return {"errcode": 0, "errmsg": "ok", "msgid": "dup"}
            if key is not None:
                self.state.seen[key] = now
            for user in users:
                self.state.deliveries.append(Delivery(user, body["text"]["content"], now))
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"m{self.state.requests}"}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                if not self.path.startswith("/cgi-bin/message/send"):
                    return self._json(404, {"errcode": 404, "errmsg": "not found"})
                if "access_token=" not in self.path:
                    return self._json(200, {"errcode": 41001, "errmsg": "access_token missing"})
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    return self._json(200, {"errcode": 40035, "errmsg": "invalid json"})
                answer = server.receive(body)
                if server.delay_s:
                    time.sleep(server.delay_s)
                return self._json(200, answer)

            def _json(self, status: int, data: dict) -> None:
                raw = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except ConnectionError:  # the sender was killed while waiting: what it missed is the point
                    pass

            def log_message(self, *args) -> None:
                pass

        return Handler


class RecordingPusher:
    """A Pusher for RecordingPushServer: WeCom's message/send with enable_duplicate_check, or DingTalk's msgUuid."""

    def __init__(self, api_base: str, platform: str = "wecom", agent_id: int = 1000002, style: str = "wecom",
                 timeout: float = 5.0) -> None:
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"
        self.platform = platform
        self.agent_id = agent_id
        self.style = style
        self.http = requests.Session()
        self.timeout = timeout

    def body(self, user_id: str, reply: Reply, dedupe_key: str) -> dict:
        body = {"touser": user_id, "msgtype": "text", "agentid": self.agent_id, "text": {"content": reply.as_text()}}
        if self.style == "dingtalk":
            body["msgUuid"] = dedupe_key
        else:
            body.update(enable_duplicate_check=1, duplicate_check_interval=4 * 3600)  # WeCom's maximum interval
        return body

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        data = json.dumps(self.body(user_id, reply, dedupe_key), ensure_ascii=False, sort_keys=True).encode()
        try:
            resp = self.http.post(f"{self.api_base}message/send?access_token=test-token", data=data,
                                  timeout=self.timeout)
            answer = resp.json()
        except (requests.RequestException, ValueError) as err:
            return PushResult(ok=False, retry=True, error=f"网络错误：{type(err).__name__}")
        code = int(answer.get("errcode", -1))
        if code == 0:
            return PushResult(ok=True)
        return PushResult(ok=False, retry=code in (-1, 45009, 45033),
                          error=f"errcode {code}: {answer.get('errmsg', '')}"[:200])


def make_pusher(target_url: str) -> RecordingPusher:
    """The crash harness's pusher factory (`tests.fakes.recording_push_server:make_pusher`)."""
    return RecordingPusher(target_url)
