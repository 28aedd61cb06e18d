"""A test client that posts robot messages to /dingtalk/callback the way DingTalk does: signed headers, real body."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import requests

from bot.channels.dingtalk.sign import robot_sign


class SignedClient:
    def __init__(self, app_secret: str, clock: Callable[[], datetime], robot_code: str = "ding-robot-code") -> None:
        self.app_secret = app_secret
        self.clock = clock
        self.robot_code = robot_code

    def now_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def headers(self, timestamp: int | str | None = None, secret: str | None = None) -> dict[str, str]:
        ts = str(self.now_ms() if timestamp is None else timestamp)
        return {"timestamp": ts, "sign": robot_sign(ts, secret or self.app_secret),
                "Content-Type": "application/json; charset=utf-8"}

    def message(self, user: str, text: str, *, msg_id: str | None = None, group: bool = False,
                session_webhook: str | None = None, session_expires_ms: int | None = None) -> dict:
        """A text message body as DingTalk sends it (a group message arrives with the @-mention stripped to a space)."""
        now = self.now_ms()
        body = {
            "msgtype": "text", "text": {"content": (" " + text) if group else text},
            "msgId": msg_id or f"msg{uuid.uuid4().hex}", "createAt": now,
            "conversationType": "2" if group else "1",
            "conversationId": "cidGroup0001==" if group else f"cid{user}==",
            "senderId": f"$:LWCP_v1:${uuid.uuid5(uuid.NAMESPACE_OID, user).hex}", "senderNick": user,
            "senderStaffId": user, "senderCorpId": "ding-corp", "chatbotCorpId": "ding-corp",
            "chatbotUserId": "$:LWCP_v1:$robot", "robotCode": self.robot_code, "isAdmin": False,
            "isInAtList": group, "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}] if group else [],
            "sessionWebhook": session_webhook or "https://oapi.dingtalk.com/robot/sendBySession?session=unused",
            "sessionWebhookExpiredTime": session_expires_ms or now + 5_400_000,
        }
        if group:
            body["conversationTitle"] = "第一党支部"
        return body

    def post_flask(self, client, body, headers: dict | None = None):
        """Through Flask's test client: (status, JSON or None)."""
        kwargs = {"json": body} if not isinstance(body, bytes | str) else {"data": body}
        resp = client.post("/dingtalk/callback", headers=headers if headers is not None else self.headers(), **kwargs)
        return resp.status_code, resp.get_json(silent=True)

    def post_http(self, base_url: str, body, headers: dict | None = None, session: requests.Session | None = None):
        """Over a real socket: (status, JSON or None)."""
        http = session or requests.Session()
        kwargs = {"json": body} if not isinstance(body, bytes | str) else {"data": body}
        resp = http.post(f"{base_url}/dingtalk/callback", headers=headers if headers is not None else self.headers(),
                         timeout=10, **kwargs)
        try:
            return resp.status_code, resp.json()
        except ValueError:
            return resp.status_code, None
