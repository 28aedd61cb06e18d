"""A fake WeCom API on loopback: gettoken, message/send, user/getuserinfo, speaking WeCom's JSON and error codes.

    server = FakeWecomServer(corp_id="ww1", secret="s3cret", agent_id=1000002).start()
    server.url                    # "http://127.0.0.1:PORT/cgi-bin/", the ZHIBU_WECOM_API_BASE to use
    server.requests               # every request received, in order (Recorded)
    server.inbox["zhangsan"]      # what that member would actually see, after duplicate checks and rate limits
    server.stop()

Knobs: `token_ttl`, `expire_tokens()` / `revoke_tokens()` (next call with them: 42001 / 40014), `reject_all_tokens`
(every token refused, for ever), `fail_next(path, *codes)` (answer the next calls with these errcodes),
`delays[path] = seconds` (slow responses), `known_users` / `invalid_users`, `blocked_ip` (60020),
`oauth_codes[code] = userid`, `advance(seconds)` (move the server's clock).

Web OAuth: `oauth_url` is the authorize page (open.weixin.qq.com's /connect/oauth2/authorize). The member whose
WeCom opens it is named by the `X-Fake-Wecom-User` request header (else `oauth_user`); it answers with a 302 to the
redirect_uri carrying a one-use code and the state, as WeCom does; `oauth_outsiders` get an answer from getuserinfo with an
OpenId only (someone outside the company); `trusted_domain` refuses other redirect hosts.

message/send applies `enable_duplicate_check` the way WeCom does (the same message to the same member within
`duplicate_check_interval` seconds is accepted with errcode 0 and silently not delivered), silently drops messages
over 30 per member per minute, truncates text/markdown to 2048 bytes, and answers `invaliduser` / 81013.

media/upload (multipart, field `media`, type image/voice/video/file) keeps the bytes it received: `uploads[media_id]`
is (filename, bytes); a `file` message must name a media_id it issued (else 40007), and `files_for(user)` gives the
(filename, bytes) of the files a member received.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, redirect, request
from werkzeug.serving import WSGIRequestHandler, make_server

PER_MEMBER_PER_MINUTE = 30
CONTENT_LIMIT = 2048


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:  # the record is `requests`, not a log line per call
        pass


@dataclass
class Recorded:
    method: str
    path: str  # after /cgi-bin/, e.g. "message/send"
    params: dict[str, str]
    body: Any  # decoded JSON, or None
    at: float


@dataclass
class Delivered:
    msgtype: str
    payload: dict  # the text/markdown/textcard object as the member sees it
    at: float

    @property
    def content(self) -> str:
        return self.payload.get("content") or self.payload.get("description", "")


@dataclass
class FakeWecomServer:
    corp_id: str = "ww-fake-corp"
    secret: str = "fake-secret"
    agent_id: int = 1000002
    token_ttl: int = 7200
    known_users: set[str] | None = None  # None: every user id exists and is in the app's visible range
    invalid_users: set[str] = field(default_factory=set)
    reject_all_tokens: bool = False
    blocked_ip: bool = False
    oauth_codes: dict[str, str] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    oauth_user: str | None = None
    oauth_outsiders: set[str] = field(default_factory=set)
    trusted_domain: str | None = None

    def __post_init__(self) -> None:
        self.requests: list[Recorded] = []
        self.inbox: dict[str, list[Delivered]] = defaultdict(list)
        self.dropped: list[tuple[str, str, dict]] = []  # (user, why, body): accepted but not shown to the member
        self._tokens: dict[str, float] = {}  # token -> expires at (server clock)
        self._revoked: dict[str, int] = {}  # token -> errcode it now gets
        self._failures: dict[str, deque[int]] = defaultdict(deque)
        self._seen: dict[tuple, float] = {}  # duplicate-check key -> when delivered
        self._recent: dict[str, deque[float]] = defaultdict(deque)  # user -> delivery times, for the rate limit
        self._offset = 0.0
        self.uploads: dict[str, tuple[str, bytes]] = {}  # media_id -> (filename, bytes received)
        self._lock = threading.RLock()
        self._server = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    # lifecycle --------------------------------------------------------------------------------------------
    def start(self) -> FakeWecomServer:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-wecom", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeWecomServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return self._server.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    @property
    def oauth_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/connect/oauth2/authorize"

    # knobs ------------------------------------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired (42001), as if WeCom's clock had passed expires_in."""
        with self._lock:
            for token in self._tokens:
                self._revoked[token] = 42001

    def revoke_tokens(self) -> None:
        """Every token issued so far is now invalid (40014), as when WeCom invalidates tokens early."""
        with self._lock:
            for token in self._tokens:
                self._revoked[token] = 40014

    def fail_next(self, path: str, *codes: int) -> None:
        with self._lock:
            self._failures[path].extend(codes)

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    @property
    def gettoken_count(self) -> int:
        return len(self.calls("gettoken"))

    # the API ----------------------------------------------------------------------------------------------
    def _build_app(self) -> Flask:
        app = Flask("fake-wecom")

        @app.get("/connect/oauth2/authorize")
        def authorize():
            return self._authorize()

        @app.route("/cgi-bin/<path:path>", methods=["GET", "POST"])
        def api(path: str):
            raw = request.get_data()  # wechatpy sends JSON without a Content-Type
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            with self._lock:
                self.requests.append(Recorded(request.method, path, dict(request.args), body, self.now()))
            delay = self.delays.get(path, 0)
            if delay:
                time.sleep(delay)
            handler = {"gettoken": self._gettoken, "message/send": self._send, "media/upload": self._upload,
                       "user/getuserinfo": self._getuserinfo, "auth/getuserinfo": self._getuserinfo}.get(path)
            if handler is None:
                return _err(404, "invalid api path")  # WeCom answers unknown paths with JSON too
            with self._lock:
                queued = self._failures[path]
                if queued:
                    return _err(queued.popleft())
                if self.blocked_ip:
                    return _err(60020, "not allow to access from your ip, hint: [1700000000_00_0], from ip: "
                                       f"{request.remote_addr}, more info at "
                                       "https://open.work.weixin.qq.com/devtool/query?e=60020")
                return handler(body or {})

        return app

    def _gettoken(self, _body) -> dict:
        if request.args.get("corpid") != self.corp_id:
            return _err(40013, "invalid corpid")
        if request.args.get("corpsecret") != self.secret:
            return _err(40001, "invalid secret")
        token = secrets.token_urlsafe(48)
        self._tokens[token] = self.now() + self.token_ttl
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_ttl}

    def _check_token(self) -> dict | None:
        token = request.args.get("access_token", "")
        if not token:
            return _err(41001, "access_token missing")
        if self.reject_all_tokens:
            return _err(40014, "invalid access_token")
        if token in self._revoked:
            return _err(self._revoked[token], "access_token expired" if self._revoked[token] == 42001
                        else "invalid access_token")
        expires = self._tokens.get(token)
        if expires is None:
            return _err(40014, "invalid access_token")
        if expires <= self.now():
            return _err(42001, "access_token expired")
        return None

    def _upload(self, _body) -> dict:
        problem = self._check_token()
        if problem:
            return problem
        if request.args.get("type") not in ("image", "voice", "video", "file"):
            return _err(40004, "invalid media type")
        media = request.files.get("media")
        if media is None:
            return _err(41005, "media data missing")
        data = media.read()
        if not data:
            return _err(40006, "invalid meida size")
        if len(data) > 20 * 1024 * 1024:
            return _err(40006, "invalid meida size")
        media_id = "3" + secrets.token_urlsafe(30)
        self.uploads[media_id] = (media.filename or "", data)
        return {"errcode": 0, "errmsg": "ok", "type": request.args["type"], "media_id": media_id,
                "created_at": str(int(self.now()))}

    def files_for(self, user: str) -> list[tuple[str, bytes]]:
        """The files this member received (file messages), as (filename, bytes) of their upload."""
        with self._lock:
            return [self.uploads[d.payload["media_id"]] for d in self.inbox.get(user, []) if d.msgtype == "file"]

    def _send(self, body: dict) -> dict:
        problem = self._check_token()
        if problem:
            return problem
        if body.get("agentid") != self.agent_id:
            return _err(40056, "invalid agentid")
        msgtype = body.get("msgtype")
        payload = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(payload, dict):
            return _err(41006 if not msgtype else 40008, "invalid message type")
        if msgtype in ("text", "markdown") and not payload.get("content"):
            return _err(44004, "empty content")
        if msgtype == "file" and payload.get("media_id") not in self.uploads:
            return _err(40007, "invalid media_id")
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        if not users:
            return _err(40031, "invalid userid list")
        invalid = [u for u in users if u in self.invalid_users
                   or (self.known_users is not None and u not in self.known_users)]
        valid = [u for u in users if u not in invalid]
        if not valid:
            return _err(81013, "user & party & tag all invalid")
        if msgtype in ("text", "markdown"):
            content = payload["content"].encode("utf-8")[:CONTENT_LIMIT].decode("utf-8", errors="ignore")
            payload = {**payload, "content": content}
        now = self.now()
        for user in valid:
            self._deliver(user, msgtype, payload, body, now)
        result = {"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(16)}
        if invalid:
            result["invaliduser"] = "|".join(u.lower() for u in invalid)
        return result

    def _deliver(self, user: str, msgtype: str, payload: dict, body: dict, now: float) -> None:
        key = (user, msgtype, json.dumps(payload, sort_keys=True, ensure_ascii=False))
        if body.get("enable_duplicate_check"):
            interval = int(body.get("duplicate_check_interval") or 1800)
            last = self._seen.get(key)
            if last is not None and now - last < interval:
                self.dropped.append((user, "duplicate", body))
                return
        recent = self._recent[user]
        while recent and now - recent[0] >= 60:
            recent.popleft()
        if len(recent) >= PER_MEMBER_PER_MINUTE:
            self.dropped.append((user, "rate", body))  # WeCom drops these without an error
            return
        recent.append(now)
        self._seen[key] = now
        self.inbox[user].append(Delivered(msgtype, payload, now))

    def _authorize(self):
        args = request.args
        with self._lock:
            self.requests.append(Recorded("GET", "oauth2/authorize", dict(args), None, self.now()))
        if args.get("appid") != self.corp_id:
            return "参数错误：appid", 400
        if args.get("agentid") not in (None, str(self.agent_id)):
            return "参数错误：agentid", 400
        if args.get("response_type") != "code" or args.get("scope") != "snsapi_base":
            return "参数错误：scope", 400
        target = urlsplit(args.get("redirect_uri", ""))
        if target.scheme not in ("http", "https") or not target.hostname:
            return "参数错误：redirect_uri", 400
        if self.trusted_domain is not None and target.hostname != self.trusted_domain:
            return "redirect_uri 需使用应用可信域名", 400
        user = request.headers.get("X-Fake-Wecom-User") or self.oauth_user
        if not user:
            return "请在企业微信客户端打开链接", 400
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.oauth_codes[code] = user
        query = urlencode({"code": code, "state": args.get("state", "")})
        sep = "&" if target.query else "?"
        return redirect(f"{args['redirect_uri']}{sep}{query}", code=302)

    def _getuserinfo(self, _body) -> dict:
        problem = self._check_token()
        if problem:
            return problem
        user = self.oauth_codes.pop(request.args.get("code", ""), None)  # a code works once
        if user is None:
            return _err(40029, "invalid code")
        if user in self.oauth_outsiders:
            return {"errcode": 0, "errmsg": "ok", "OpenId": f"o-{user}", "openid": f"o-{user}", "DeviceId": ""}
        return {"errcode": 0, "errmsg": "ok", "UserId": user, "userid": user, "DeviceId": ""}


def _err(code: int, msg: str = "error") -> dict:
    return {"errcode": code, "errmsg": msg}
