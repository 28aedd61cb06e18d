"""Proactive DingTalk messages: one-to-one through the robot batchSend API, and a branch's group chat through its
custom robot webhook (加签, msgUuid, at most 20 a minute). A sessionWebhook is never used here: it expires."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.dingtalk.render import openapi_message, webhook_body
from bot.channels.dingtalk.sign import signed_webhook_url
from bot.messages import Attachment, Reply
from bot.push import PushResult
from storage.models import Organization
from storage.org_settings import get_setting

if TYPE_CHECKING:
    import requests

    from bot.channels.dingtalk.api import DingtalkApi

log = logging.getLogger(__name__)

# msgUuid namespace: the same dedupe key always gives the same msgUuid, in every process and after a restart
MSG_UUID_NAMESPACE = uuid.UUID("6f1c2a5e-3b7d-5e0a-9c41-2d8f7b6a1e03")
TOO_FAST = {130101, 410100}  # 130101 is what robots answer in practice; the current docs list 410100
FILE_LIMIT = 20 * 1024 * 1024  # media/upload: a file is at most 20 MB
THROTTLE_SECONDS = 600  # "超过20条会限流10分钟"
WEBHOOK_ERRORS = {
    310000: "群机器人安全设置校验失败（加签密钥、关键词或 IP 白名单不符）",
    300001: "群机器人地址无效（access_token 不存在）",
    400101: "群机器人地址无效（access_token 不存在）",
    400102: "群机器人已停用",
    400106: "群机器人不在群里或已被删除",
    400013: "群已解散",
    400105: "不支持的消息类型",
    40035: "消息格式不对",
    43004: "消息格式不对",
}


def msg_uuid(dedupe_key: str) -> str:
    return str(uuid.uuid5(MSG_UUID_NAMESPACE, dedupe_key))


class DingtalkPusher:
    """One member, one message, through the robot's 1:1 batchSend."""

    platform = "dingtalk"

    def __init__(self, api: DingtalkApi) -> None:
        self.api = api

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        # batchSend has no idempotency key: the outbox marks the row in flight before this call
        msg_key, msg_param = openapi_message(reply)
        return self._send(user_id, msg_key, msg_param)

    def send_file(self, user_id: str, attachment: Attachment, dedupe_key: str) -> PushResult:
        """Upload the file, then `sampleFile` to this member 1:1 (in a group too: files go to the asker alone)."""
        from bot.channels.dingtalk.api import ApiError  # loaded with the api this pusher was made with

        if len(attachment.data) > FILE_LIMIT:
            return PushResult(ok=False, error="文件超过钉钉 20MB 的上限")
        try:
            media_id = self.api.upload_media(attachment.filename, attachment.data, attachment.mimetype)
        except ApiError as err:
            return PushResult(ok=False, retry=err.retry, error=str(err))
        file_type = attachment.filename.rsplit(".", 1)[-1].lower() if "." in attachment.filename else "file"
        param = json.dumps({"mediaId": media_id, "fileName": attachment.filename, "fileType": file_type},
                           ensure_ascii=False)
        return self._send(user_id, "sampleFile", param)

    def _send(self, user_id: str, msg_key: str, msg_param: str) -> PushResult:
        from bot.channels.dingtalk.api import ApiError

        try:
            result = self.api.batch_send([user_id], msg_key, msg_param)
        except ApiError as err:
            return PushResult(ok=False, retry=err.retry, error=str(err))
        if user_id in (result.get("flowControlledStaffIdList") or []):
            return PushResult(ok=False, retry=True, error="钉钉对该用户限流，稍后重发")
        if user_id in (result.get("invalidStaffIdList") or []):
            return PushResult(ok=False, retry=False, error="钉钉账号无效，或不在机器人所属应用的可见范围内")
        return PushResult(ok=True)


class RateWindow:
    """At most `limit` sends per `per` seconds for one robot, in arrival order; waiters queue, nobody is dropped."""

    def __init__(self, limit: int, per: float, monotonic: Callable[[], float]) -> None:
        self.limit, self.per, self.monotonic = limit, per, monotonic
        self.sent: deque[float] = deque()
        self.throttled_until = 0.0
        self.cond = threading.Condition()
        self.next_ticket = 0
        self.serving = 0

    def wait_needed(self) -> float:
        now = self.monotonic()
        while self.sent and self.sent[0] <= now - self.per:
            self.sent.popleft()
        wait = max(0.0, self.throttled_until - now)
        if len(self.sent) >= self.limit:
            wait = max(wait, self.sent[0] + self.per - now)
        return wait

    def record(self) -> None:
        self.sent.append(self.monotonic())

    def throttle(self, seconds: float) -> None:
        self.throttled_until = self.monotonic() + seconds


class GroupRobotPusher:
    """Pushes to a branch's DingTalk group: `user_id` is the organisation's name; its `group_webhook` and
    `group_webhook_secret` settings say where and how to sign."""

    platform = "dingtalk_group"

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime],
                 http: requests.Session | None = None, *, per_minute: int = 20, max_wait: float = 70.0,
                 monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 timeout: float = 10.0) -> None:
        self.sessions = sessions
        self.clock = clock
        # made on the first send: most processes (every `zhibu say`) never post to a group, and requests is slow to load
        self._http = http
        self.per_minute = per_minute
        self.max_wait = max_wait  # longer than this and the row goes back to the outbox (retry), not dropped
        self.monotonic = monotonic
        self.sleep = sleep
        self.timeout = timeout
        self.windows: dict[str, RateWindow] = {}
        self.lock = threading.Lock()

    @property
    def http(self) -> requests.Session:
        if self._http is None:
            import requests

            self._http = requests.Session()
        return self._http

    def _target(self, org_name: str) -> tuple[str, str] | None:
        with self.sessions() as session:
            org = session.scalars(select(Organization).where(Organization.name == org_name)).first()
            if org is None:
                return None
            return get_setting(org, "group_webhook"), get_setting(org, "group_webhook_secret")

    def _window(self, webhook: str) -> RateWindow:
        key = webhook.split("?", 1)[-1]  # the robot's access_token identifies it
        with self.lock:
            return self.windows.setdefault(key, RateWindow(self.per_minute, 60.0, self.monotonic))

    def push(self, user_id: str, reply: Reply, dedupe_key: str) -> PushResult:
        target = self._target(user_id)
        if target is None:
            return PushResult(ok=False, retry=False, error=f"没有名为“{user_id}”的党组织")
        webhook, secret = target
        if not webhook:
            return PushResult(ok=False, retry=False,
                              error=f"{user_id}未设置钉钉群机器人：zhibu org set {user_id} group_webhook <地址>")
        window = self._window(webhook)
        with window.cond:
            ticket = window.next_ticket
            window.next_ticket += 1
            window.cond.wait_for(lambda: window.serving == ticket)
        try:
            return self._send(window, webhook, secret, reply, dedupe_key)
        finally:
            with window.cond:
                window.serving += 1
                window.cond.notify_all()

    def _send(self, window: RateWindow, webhook: str, secret: str, reply: Reply, dedupe_key: str) -> PushResult:
        wait = window.wait_needed()
        if wait > self.max_wait:
            return PushResult(ok=False, retry=True, error="群机器人限流中（每分钟最多 20 条），稍后重发")
        if wait > 0:
            self.sleep(wait)
        body = webhook_body(reply) | {"msgUuid": msg_uuid(dedupe_key)}
        url = signed_webhook_url(webhook, secret, int(self.clock().timestamp() * 1000))
        from bot.channels.dingtalk.api import post_webhook

        errcode, errmsg = post_webhook(self.http, url, body, self.timeout)
        window.record()
        if errcode == 0:
            return PushResult(ok=True)
        if errcode in TOO_FAST:
            # another sender shares this robot: DingTalk blocks it for ten minutes; the same msgUuid is reused later
            window.throttle(THROTTLE_SECONDS)
            log.warning("DingTalk group robot throttled (errcode %s); holding its pushes for 10 minutes", errcode)
            return PushResult(ok=False, retry=True, error=f"群机器人被限流（{errcode}），10 分钟后重发")
        if errcode in WEBHOOK_ERRORS:
            return PushResult(ok=False, retry=False, error=f"{WEBHOOK_ERRORS[errcode]}（{errcode} {errmsg}）")
        return PushResult(ok=False, retry=True, error=f"群机器人发送失败（{errcode} {errmsg}）")

