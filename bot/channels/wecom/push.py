"""Proactive WeCom messages (message/send) through wechatpy's WeChatClient, made safe for a long-running service.

What wechatpy 1.8.18 does not do and this adds: gettoken on the configured API base (it hard-codes Tencent's host)
with a timeout (it has none); a token shared by all processes; a bounded refresh (its auto_retry recurses until
RecursionError while WeCom keeps rejecting the token); WeCom's duplicate check on every send; and a PushResult the
outbox can act on instead of exceptions.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import requests
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from bot.channels.tokens import TokenStore
from bot.channels.wecom.text import LIMIT, cap_parts, split_utf8
from bot.messages import Attachment, Reply
from bot.push import PushResult
from bot.settings import WecomSettings
from storage.models import Member, utcnow

log = logging.getLogger(__name__)

PLATFORM = "wecom"
DUPLICATE_CHECK_SECONDS = 4 * 3600  # ≥ 30 min: a push re-sent after a crash within this window is dropped by WeCom
TOKEN_ERRORS = (40014, 42001)  # invalid / expired access_token: fetch once, retry once
RATE_LIMITED = (45009, 45033)
BACKOFF = timedelta(seconds=60)  # WeCom blocks a per-minute limit for 60 s
UNREACHABLE = "企业微信：账号无效或不在应用可见范围"
TIMEOUT = (3.05, 5.0)  # (connect, read) seconds, on every call including gettoken
UPLOAD_TIMEOUT = (3.05, 60.0)  # a file of several MB takes longer to send than a message
FILE_LIMIT = 20 * 1024 * 1024  # media/upload: a file of type "file" is at most 20 MB


class WecomApiError(Exception):
    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


class WecomClient(WeChatClient):
    """wechatpy's client pointed at the configured API base for every call, gettoken included, never auto-retrying."""

    def __init__(self, settings: WecomSettings, timeout=TIMEOUT) -> None:
        super().__init__(settings.corp_id, settings.secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = settings.api_base

    def fetch_token(self) -> tuple[str, int]:
        """One gettoken call -> (token, expires_in); raises WecomApiError or a requests exception."""
        res = self._http.get(self.API_BASE_URL + "gettoken", params={"corpid": self.corp_id,
                                                                     "corpsecret": self.secret},
                             timeout=self.timeout)
        if res.status_code != 200:
            raise WecomApiError(None, f"HTTP {res.status_code}")
        try:
            data = res.json()
        except ValueError:
            raise WecomApiError(None, "gettoken 返回的不是 JSON") from None
        code = int(data.get("errcode", 0) or 0)
        if code or not data.get("access_token"):
            raise WecomApiError(code, str(data.get("errmsg", "")))
        return data["access_token"], int(data.get("expires_in", 7200))

    def fetch_access_token(self):  # wechatpy's own refresh path, should anything call it: same host, same timeout
        token, expires_in = self.fetch_token()
        self.session.set(self.access_token_key, token, expires_in)
        return {"access_token": token, "expires_in": expires_in}

    def send_with(self, token: str, body: dict) -> dict:
        try:
            result = self.post("message/send", data=body, params={"access_token": token})
        except WeChatClientException as err:
            code = int(err.errcode) if err.errcode is not None else None
            raise WecomApiError(code, str(err.errmsg or "")) from None
        if not isinstance(result, dict):
            raise WecomApiError(None, "message/send 返回的不是 JSON")
        return result

    def upload_with(self, token: str, attachment: Attachment) -> str:
        """wechatpy's media upload (WeChatMedia.upload: media/upload, type=file) with our token: the media_id."""
        try:
            result = self.post("media/upload", params={"access_token": token, "type": "file"},
                               files={"media": (attachment.filename, attachment.data, attachment.mimetype)},
                               timeout=UPLOAD_TIMEOUT)
        except WeChatClientException as err:
            code = int(err.errcode) if err.errcode is not None else None
            raise WecomApiError(code, str(err.errmsg or "")) from None
        media_id = result.get("media_id") if isinstance(result, dict) else None
        if not media_id:
            raise WecomApiError(None, "media/upload 没有返回 media_id")
        return str(media_id)


def message_bodies(agent_id: int, user_id: str, reply: Reply) -> list[dict]:
    """The message/send bodies for one reply: a textcard when it has a link, markdown, else text parts ≤ 2048 bytes."""
    common = {"touser": user_id, "agentid": agent_id, "enable_duplicate_check": 1,
              "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}
    card = reply.card
    link = next((b for b in card.buttons if b.url), None) if card else None
    if card and link:
        description = "\n".join(card.lines)
        if len(card.title.encode()) <= 128 and len(description.encode()) <= 512:
            return [{**common, "msgtype": "textcard", "textcard": {
                "title": card.title, "description": description, "url": link.url, "btntxt": link.label[:4] or "详情"}}]
    if reply.markdown and not reply.text and not card:
        kind, text = "markdown", reply.markdown
    else:
        kind, text = "text", reply.as_text()
    parts = cap_parts(split_utf8(text, LIMIT - 16), LIMIT - 16) if len(text.encode()) > LIMIT else [text]
    if len(parts) > 1:
        # numbered, so no two parts of one message look alike to WeCom's duplicate check
        parts = [f"（{i}/{len(parts)}）\n{p}" for i, p in enumerate(parts, start=1)]
    return [{**common, "msgtype": kind, kind: {"content": p}} for p in parts]


class WecomPusher:
    """Implements bot.push.Pusher for WeCom. Build one per process: `WecomPusher(settings.wecom, sessions)`."""

    platform = PLATFORM

    def __init__(self, settings: WecomSettings, sessions: sessionmaker[Session], *,
                 clock: Callable[[], datetime] = utcnow, timeout=TIMEOUT) -> None:
        self.settings = settings
        self.sessions = sessions
        self.clock = clock
        self.client = WecomClient(settings, timeout=timeout)
        self.tokens = TokenStore(sessions, PLATFORM, f"{settings.corp_id}:{settings.agent_id}",
                                 self.client.fetch_token, clock=clock)
        self._paused_until: datetime | None = None
        self._paused_why = ""
        self._ip_logged: set[str] = set()
        self._lock = threading.Lock()

    # the Pusher protocol ------------------------------------------------------------------------------------
    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        """Send one reply to one member. Never raises; `dedupe_key` names the push in logs (WeCom's duplicate
        check works on content, which is the same for the same outbox row)."""
        if reply.is_empty:
            return PushResult(ok=True)
        return self._guarded(user_id, dedupe_key, lambda: message_bodies(self.settings.agent_id, user_id, reply))

    def send_file(self, user_id: str, attachment: Attachment, dedupe_key: str) -> PushResult:
        """Upload the file (media/upload, type=file), send it to this member alone as a `file` message, then one text
        line saying what it is. Never raises."""
        if len(attachment.data) > FILE_LIMIT:
            return PushResult(ok=False, error="文件超过企业微信 20MB 的上限")
        common = {"touser": user_id, "agentid": self.settings.agent_id, "enable_duplicate_check": 1,
                  "duplicate_check_interval": DUPLICATE_CHECK_SECONDS}

        def bodies() -> list[dict]:
            media_id = self._with_token(lambda token: self.client.upload_with(token, attachment))
            return [{**common, "msgtype": "file", "file": {"media_id": media_id}},
                    {**common, "msgtype": "text", "text": {"content": f"上面是你要的{attachment.filename}，请查收。"}}]
        return self._guarded(user_id, dedupe_key, bodies)

    def _guarded(self, user_id: str, dedupe_key: str, bodies) -> PushResult:
        """Send the message/send bodies in order; every failure becomes a PushResult."""
        paused = self._paused()
        if paused:
            return PushResult(ok=False, retry=True, error=paused)
        try:
            for body in bodies():
                result = self._send(body)
                invalid = {u for u in str(result.get("invaliduser", "") or "").split("|") if u}
                if user_id.lower() in {u.lower() for u in invalid}:
                    return self._unreachable(user_id, 0)
        except WecomApiError as err:
            return self._failed(user_id, err, dedupe_key)
        except requests.Timeout:
            return PushResult(ok=False, retry=True, error="企业微信接口超时")
        except requests.RequestException as err:
            return PushResult(ok=False, retry=True, error=f"连不上企业微信接口（{type(err).__name__}）")
        except Exception as err:  # never let a push take the dispatcher down
            log.exception("wecom push %s failed unexpectedly", dedupe_key)
            return PushResult(ok=False, retry=True, error=f"推送出错（{type(err).__name__}）")
        self._reachable_again(user_id)
        return PushResult(ok=True)

    # internals ----------------------------------------------------------------------------------------------
    def _send(self, body: dict) -> dict:
        return self._with_token(lambda token: self.client.send_with(token, body))

    def _with_token(self, call):
        """A call with a bounded token refresh: on 40014/42001 fetch once and retry once, never more."""
        token = self.tokens.get()
        try:
            return call(token)
        except WecomApiError as err:
            if err.errcode not in TOKEN_ERRORS:
                raise
            log.info("wecom token %s (%s): fetching a new one and retrying once", "expired" if err.errcode == 42001
                     else "rejected", err.errcode)
        token = self.tokens.get(rejected=token)
        try:
            return call(token)
        except WecomApiError as err:
            if err.errcode in TOKEN_ERRORS:
                self.tokens.forget()
                self._pause("企业微信连续拒绝新令牌")
                raise WecomApiError(err.errcode, "新令牌仍被拒绝（请用 zhibu wecom check 检查 CorpID 与 Secret）") from None
            raise

    def _failed(self, user_id: str, err: WecomApiError, dedupe_key: str) -> PushResult:
        code = err.errcode
        if code in RATE_LIMITED:
            self._pause(f"企业微信接口限流（{code}），稍后重试")
            return PushResult(ok=False, retry=True, error=f"企业微信接口限流（{code}），稍后重试")
        if code == 81013:
            return self._unreachable(user_id, code)
        if code == 60020:
            ip = _from_ip(err.errmsg)
            if ip not in self._ip_logged:
                self._ip_logged.add(ip)
                log.error("企业微信拒绝了来自 %s 的调用（60020）：请在企业微信管理后台 → 应用管理 → 本应用 → "
                          "企业可信IP 中加入这台服务器的出口 IP %s，约 1 分钟后生效", ip or "本机", ip or "")
            return PushResult(ok=False, retry=True, error=f"企业微信 60020：服务器出口 IP {ip} 不在企业可信IP 中")
        if code in TOKEN_ERRORS or code in (40001, 40013, 40091):
            return PushResult(ok=False, retry=True, error=f"企业微信令牌或凭证错误（{code}）：{err.errmsg}"[:300])
        if code == -1 or code is None:
            return PushResult(ok=False, retry=True, error=f"企业微信暂时不可用（{code}）：{err.errmsg}"[:300])
        log.warning("wecom push %s refused: %s %s", dedupe_key, code, err.errmsg)
        return PushResult(ok=False, retry=False, error=f"企业微信拒绝发送（{code}）：{err.errmsg}"[:300])

    def _unreachable(self, user_id: str, code: int) -> PushResult:
        reason = f"{UNREACHABLE}（{code or 'invaliduser'}）"
        with self.sessions() as session, session.begin():
            session.execute(update(Member).where(Member.wecom_userid == user_id).values(unreachable_reason=reason))
        return PushResult(ok=False, retry=False, error=reason)

    def _reachable_again(self, user_id: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(Member).where(Member.wecom_userid == user_id,
                                                 Member.unreachable_reason.like(f"{UNREACHABLE}%"))
                            .values(unreachable_reason=None))

    def _pause(self, why: str) -> None:
        with self._lock:
            self._paused_until = self.clock() + BACKOFF
            self._paused_why = why

    def _paused(self) -> str:
        with self._lock:
            if self._paused_until and self.clock() < self._paused_until:
                return self._paused_why
            self._paused_until = None
            return ""


def _from_ip(errmsg: str) -> str:
    match = re.search(r"from ip:\s*([0-9a-fA-F.:]+)", errmsg or "")
    return match.group(1) if match else ""
