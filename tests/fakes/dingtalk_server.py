"""A fake DingTalk on loopback that speaks the real protocol: new-style access token, robot 1:1 batchSend and group
send, custom-robot webhook (加签 check, msgUuid, 20/min limit with a 10-minute block), sessionWebhook, the Stream
open-connection call, and a Stream gateway (WebSocket) that pushes frames and collects acks. media/upload (the old
API host, `?access_token=&type=`) keeps the bytes it received (`uploads[media_id]`); a `sampleFile` must name one of its
media ids; `files_for(user)` gives the (fileName, bytes) a member received; `fail_uploads` refuses the next uploads.

Everything listens on 127.0.0.1 only. Time comes from injected callables, so tests move it instead of waiting.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from bot.channels.dingtalk.sign import robot_sign

MSG_KEYS = {"sampleText": {"content"}, "sampleMarkdown": {"title", "text"},
            "sampleFile": {"mediaId", "fileName", "fileType"},
            "sampleActionCard": {"title", "text", "singleTitle", "singleURL"},
            **{f"sampleActionCard{n}": {"title", "text"} for n in range(2, 6)}}
WEBHOOK_TYPES = {"text", "markdown", "actionCard", "link", "feedCard"}


@dataclass
class Robot:
    """A custom group robot: its messages, the msgUuids it has seen, its rate window."""

    secret: str | None
    too_fast_code: int = 130101
    messages: list[dict] = field(default_factory=list)
    uuids: set[str] = field(default_factory=set)
    duplicates: int = 0
    sent: deque = field(default_factory=deque)
    throttled_until: float = 0.0
    refused: list[int] = field(default_factory=list)


class FakeDingtalk:
    def __init__(self, app_key: str = "ding-app-key", app_secret: str = "ding-app-secret",
                 robot_code: str = "ding-robot-code", clock: Callable[[], datetime] | None = None,
                 monotonic: Callable[[], float] = time.monotonic, tls: tuple[Path, Path] | None = None) -> None:
        self.app_key, self.app_secret, self.robot_code = app_key, app_secret, robot_code
        self.clock = clock or (lambda: datetime.now(UTC))
        self.monotonic = monotonic
        self.tls = tls
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self.tokens: dict[str, datetime] = {}  # token → expiry
        self.current_token: str | None = None
        self.token_calls = 0
        self.oto: list[tuple[str, str, dict]] = []  # (userId, msgKey, msgParam)
        self.group_api: list[tuple[str, str, dict]] = []  # (openConversationId, msgKey, msgParam)
        self.unknown_users: set[str] = set()
        self.uploads: dict[str, tuple[str, bytes]] = {}  # media_id -> (filename, bytes received)
        self.fail_uploads = 0  # refuse this many uploads (errcode 40035)
        self.flow_controlled: set[str] = set()
        self.fail_next: list[tuple[int, str]] = []  # (HTTP status, code) answered by the next API calls
        self.robots: dict[str, Robot] = {}
        self.sessions: dict[str, dict] = {}  # sessionWebhook session → {"expires_ms", "messages"}
        self.open_refusals = 0  # how many connections/open calls to refuse before accepting
        self.open_calls: list[dict] = []
        self.tickets: set[str] = set()
        self.gateway: FakeStreamGateway | None = None
        self.app = self._build_app()
        self._server = None
        self._thread: threading.Thread | None = None

    # set-up helpers ---------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self._server.server_port}"

    def add_robot(self, secret: str | None, too_fast_code: int = 130101) -> str:
        """A group robot; returns its webhook URL."""
        token = uuid.uuid4().hex
        self.robots[token] = Robot(secret=secret, too_fast_code=too_fast_code)
        return f"{self.base_url}/robot/send?access_token={token}"

    def robot(self, webhook: str) -> Robot:
        return self.robots[webhook.rsplit("access_token=", 1)[1].split("&")[0]]

    def add_session(self, ttl_ms: int = 5_400_000) -> tuple[str, int]:
        """A sessionWebhook as DingTalk puts in a message: (url, expiry in ms)."""
        session = uuid.uuid4().hex
        expires = int(self.clock().timestamp() * 1000) + ttl_ms
        self.sessions[session] = {"expires_ms": expires, "messages": []}
        return f"{self.base_url}/robot/sendBySession?session={session}", expires

    def session_messages(self, url: str) -> list[dict]:
        return self.sessions[url.rsplit("session=", 1)[1]]["messages"]

    def files_for(self, user: str) -> list[tuple[str, bytes]]:
        """The files this member received 1:1 (sampleFile), as (fileName, bytes of the upload)."""
        with self.lock:
            return [(param["fileName"], self.uploads[param["mediaId"]][1]) for u, key, param in self.oto
                    if u == user and key == "sampleFile"]

    def expire_tokens(self) -> None:
        """DingTalk revoked or expired every token early (what a 'token expired' reply looks like)."""
        with self.lock:
            self.tokens.clear()
            self.current_token = None

    def start(self) -> FakeDingtalk:
        ssl_context = (str(self.tls[0]), str(self.tls[1])) if self.tls else None
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, ssl_context=ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # the protocol ---------------------------------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("fake-dingtalk")

        def error(status: int, code: str, message: str):
            return jsonify(code=code, message=message, requestid=uuid.uuid4().hex), status

        def authorised():
            token = request.headers.get("x-acs-dingtalk-access-token", "")
            expiry = self.tokens.get(token)
            return expiry is not None and expiry > self.clock()

        @app.post("/v1.0/oauth2/accessToken")
        def access_token():
            body = request.get_json(silent=True) or {}
            with self.lock:
                self.token_calls += 1
                if body.get("appKey") != self.app_key or body.get("appSecret") != self.app_secret:
                    return error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
                now = self.clock()
                # within its validity, DingTalk hands out the same token again
                if self.current_token is None or self.tokens.get(self.current_token, now) <= now:
                    self.current_token = f"tok-{next(self._ids)}"
                self.tokens[self.current_token] = now + timedelta(seconds=7200)
                return jsonify(accessToken=self.current_token, expireIn=7200)

        def injected_failure():
            with self.lock:
                if self.fail_next:
                    status, code = self.fail_next.pop(0)
                    return error(status, code, "injected by the test")
            return None

        def parse_message(body: dict):
            key, raw = body.get("msgKey"), body.get("msgParam")
            if key not in MSG_KEYS:
                return None, error(400, "invalidParameter.msgKey.invalid", "msgKey无效")
            try:
                param = json.loads(raw) if isinstance(raw, str) else None
            except ValueError:
                param = None
            if not isinstance(param, dict) or not MSG_KEYS[key] <= set(param):
                return None, error(400, "invalidParameter.msgParam.invalid", "msgParam无效")
            if key.startswith("sampleActionCard") and key != "sampleActionCard":
                n = int(key[-1])
                if any(f"actionTitle{i}" not in param or f"actionURL{i}" not in param for i in range(1, n + 1)):
                    return None, error(400, "invalidParameter.msgParam.invalid", "按钮参数不全")
            return (key, param), None

        @app.post("/v1.0/robot/oToMessages/batchSend")
        def batch_send():
            if not authorised():
                return error(400, "InvalidAuthentication", "不合法的access_token")
            if failure := injected_failure():
                return failure
            body = request.get_json(silent=True) or {}
            if body.get("robotCode") != self.robot_code:
                return error(400, "invalidParameter.robotCode.auth", "robotCode与appKey不匹配")
            users = body.get("userIds")
            if not isinstance(users, list) or not users:
                return error(400, "invalidParameter.userIds.empty", "userIds为空")
            if len(users) > 20:
                return error(400, "invalidParameter.userIds.overMax", "userIds超过上限")
            message, problem = parse_message(body)
            if problem:
                return problem
            if message[0] == "sampleFile" and message[1]["mediaId"] not in self.uploads:
                return error(400, "invalidParameter.msgParam.invalid", "mediaId无效")
            invalid = [u for u in users if u in self.unknown_users]
            limited = [u for u in users if u in self.flow_controlled]
            with self.lock:
                for u in users:
                    if u not in invalid and u not in limited:
                        self.oto.append((u, *message))
            return jsonify(processQueryKey=uuid.uuid4().hex, invalidStaffIdList=invalid,
                           flowControlledStaffIdList=limited)

        @app.post("/media/upload")
        def media_upload():
            token = request.args.get("access_token", "")
            expiry = self.tokens.get(token)
            if expiry is None or expiry <= self.clock():
                return jsonify(errcode=40014, errmsg="不合法的access_token")
            media = request.files.get("media")
            if request.args.get("type") not in ("image", "voice", "video", "file") or media is None:
                return jsonify(errcode=40035, errmsg="缺少参数 media 或 type")
            with self.lock:
                if self.fail_uploads:
                    self.fail_uploads -= 1
                    return jsonify(errcode=40035, errmsg="injected by the test")
                data = media.read()
                media_id = f"@lA{uuid.uuid4().hex}"
                self.uploads[media_id] = (media.filename or "", data)
            return jsonify(errcode=0, errmsg="ok", type=request.args["type"], media_id=media_id,
                           created_at=int(self.clock().timestamp() * 1000))

        @app.post("/v1.0/robot/groupMessages/send")
        def group_send():
            if not authorised():
                return error(400, "InvalidAuthentication", "不合法的access_token")
            if failure := injected_failure():
                return failure
            body = request.get_json(silent=True) or {}
            message, problem = parse_message(body)
            if problem:
                return problem
            with self.lock:
                self.group_api.append((body.get("openConversationId"), *message))
            return jsonify(processQueryKey=uuid.uuid4().hex)

        @app.post("/robot/send")
        def webhook():
            robot = self.robots.get(request.args.get("access_token", ""))
            if robot is None:
                return jsonify(errcode=300001, errmsg="token is not exist")
            if robot.secret:
                ts, sign = request.args.get("timestamp", ""), request.args.get("sign", "")
                now_ms = int(self.clock().timestamp() * 1000)
                if not ts.isdigit() or abs(now_ms - int(ts)) > 3_600_000:
                    return jsonify(errcode=310000, errmsg="invalid timestamp")
                if sign != robot_sign(ts, robot.secret):
                    return jsonify(errcode=310000, errmsg="sign not match")
            if "json" not in (request.content_type or ""):
                return jsonify(errcode=43004, errmsg="无效的HTTP HEADER Content-Type")
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return jsonify(errcode=40035, errmsg="缺少参数 json")
            if body.get("msgtype") not in WEBHOOK_TYPES:
                return jsonify(errcode=400105, errmsg="不支持的消息类型")
            with self.lock:
                if body.get("msgUuid") and body["msgUuid"] in robot.uuids:
                    robot.duplicates += 1
                    return jsonify(errcode=0, errmsg="ok")  # already delivered: DingTalk drops the repeat
                now = self.monotonic()
                while robot.sent and robot.sent[0] <= now - 60:
                    robot.sent.popleft()
                if now < robot.throttled_until or len(robot.sent) >= 20:
                    if now >= robot.throttled_until:
                        robot.throttled_until = now + 600  # over 20 a minute: ten minutes of silence
                    robot.refused.append(robot.too_fast_code)
                    return jsonify(errcode=robot.too_fast_code, errmsg="send too fast, exceed 20 times per minute")
                robot.sent.append(now)
                if body.get("msgUuid"):
                    robot.uuids.add(body["msgUuid"])
                robot.messages.append(body)
            return jsonify(errcode=0, errmsg="ok")

        @app.post("/robot/sendBySession")
        def send_by_session():
            session = self.sessions.get(request.args.get("session", ""))
            now_ms = int(self.clock().timestamp() * 1000)
            if session is None or session["expires_ms"] <= now_ms:
                return jsonify(errcode=300001, errmsg="session 不存在")
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or body.get("msgtype") not in WEBHOOK_TYPES:
                return jsonify(errcode=400105, errmsg="不支持的消息类型")
            with self.lock:
                session["messages"].append(body)
            return jsonify(errcode=0, errmsg="ok")

        @app.post("/v1.0/gateway/connections/open")
        def open_connection():
            body = request.get_json(silent=True) or {}
            with self.lock:
                self.open_calls.append(body)
                if self.open_refusals > 0:
                    self.open_refusals -= 1
                    return error(503, "ServiceUnavailable", "injected by the test")
            if body.get("clientId") != self.app_key or body.get("clientSecret") != self.app_secret:
                return error(400, "invalidClientIdOrSecret", "无效的clientId或者clientSecret")
            if self.gateway is None:
                return error(500, "system.error", "no gateway")
            ticket = uuid.uuid4().hex
            with self.lock:
                self.tickets.add(ticket)
            return jsonify(endpoint=f"ws://127.0.0.1:{self.gateway.port}/connect", ticket=ticket)

        return app


class FakeStreamGateway:
    """The WebSocket side of Stream mode. Tickets come from FakeDingtalk's open call and are single-use."""

    def __init__(self, api: FakeDingtalk, app_id: str = "fake-app") -> None:
        self.api = api
        api.gateway = self
        self.app_id = app_id
        self.port = 0
        self.acks: list[dict] = []
        self.connections: list = []
        self.refused_tickets = 0
        self.cond = threading.Condition()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server = None

    def start(self) -> FakeStreamGateway:
        from websockets.asyncio.server import serve

        self._thread.start()

        async def boot():
            self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._check_ticket)
            return self._server.sockets[0].getsockname()[1]

        self.port = asyncio.run_coroutine_threadsafe(boot(), self.loop).result(10)
        return self

    def stop(self) -> None:
        async def shutdown():
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _check_ticket(self, connection, req):
        ticket = req.path.split("ticket=", 1)[-1] if "ticket=" in req.path else ""
        with self.api.lock:
            valid = ticket in self.api.tickets
            self.api.tickets.discard(ticket)  # single use
        if not valid:
            self.refused_tickets += 1
            return connection.respond(HTTPStatus.FORBIDDEN, "bad ticket\n")
        return None

    async def _handle(self, ws) -> None:
        with self.cond:
            self.connections.append(ws)
            self.cond.notify_all()
        try:
            async for raw in ws:
                with self.cond:
                    self.acks.append(json.loads(raw))
                    self.cond.notify_all()
        except Exception:
            pass

    # driving it from a test --------------------------------------------------------------------------------------
    @property
    def current(self):
        return self.connections[-1] if self.connections else None

    def _send(self, frame: dict) -> None:
        ws = self.current
        assert ws is not None, "no client connected"
        asyncio.run_coroutine_threadsafe(ws.send(json.dumps(frame, ensure_ascii=False)), self.loop).result(10)

    def _frame(self, kind: str, topic: str, data: dict, message_id: str | None) -> dict:
        return {"specVersion": "1.0", "type": kind, "data": json.dumps(data, ensure_ascii=False),
                "headers": {"appId": self.app_id, "connectionId": uuid.uuid4().hex, "contentType": "application/json",
                            "messageId": message_id or uuid.uuid4().hex, "time": str(int(time.time() * 1000)),
                            "topic": topic}}

    def send_robot_message(self, data: dict, message_id: str | None = None) -> str:
        frame = self._frame("CALLBACK", "/v1.0/im/bot/messages/get", data, message_id)
        self._send(frame)
        return frame["headers"]["messageId"]

    def send_ping(self) -> str:
        frame = self._frame("SYSTEM", "ping", {"opaque": uuid.uuid4().hex}, None)
        self._send(frame)
        return frame["headers"]["messageId"]

    def send_disconnect(self, close_after: float = 0.2) -> None:
        """As DingTalk does before maintenance: a disconnect frame, then the socket closes."""
        ws = self.current
        self._send(self._frame("SYSTEM", "disconnect", {"reason": "maintenance"}, None))

        async def close_later():
            await asyncio.sleep(close_after)
            await ws.close()

        asyncio.run_coroutine_threadsafe(close_later(), self.loop)

    def drop(self) -> None:
        """The network dies: the socket closes without a disconnect frame."""
        ws = self.current
        asyncio.run_coroutine_threadsafe(ws.close(1011, "gone"), self.loop).result(10)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def ack_for(self, message_id: str) -> dict | None:
        with self.cond:
            return next((a for a in self.acks if a.get("headers", {}).get("messageId") == message_id), None)
