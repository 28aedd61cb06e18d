"""The robot message body (HTTP callback or Stream `data`) → a platform-neutral Incoming."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.messages import Incoming

PLATFORM = "dingtalk"
QUOTA_EXHAUSTED = "20001"  # DingTalk's "调用量超量" notice: a body with errorCode and no message
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")


class BadMessage(ValueError):
    """The body is not a robot message we can route; str() names the problem (for the log, never for a member)."""


@dataclass(frozen=True)
class RobotMessage:
    incoming: Incoming
    sender_staff_id: str
    conversation_id: str
    session_webhook: str | None
    session_webhook_expires_ms: int | None
    robot_code: str | None


@dataclass(frozen=True)
class QuotaNotice:
    code: str
    message: str


def parse_body(body: Any) -> RobotMessage | QuotaNotice:
    if not isinstance(body, dict):
        raise BadMessage("body is not a JSON object")
    if body.get("errorCode") is not None and not body.get("msgId"):
        return QuotaNotice(str(body.get("errorCode")), str(body.get("errorMessage") or ""))
    for key in ("msgId", "msgtype", "conversationType", "senderStaffId"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise BadMessage(f"missing or empty field {key}")
    conversation_type = body["conversationType"]
    if conversation_type not in ("1", "2"):
        raise BadMessage("conversationType is neither 1 nor 2")
    text = ""
    if body["msgtype"] == "text":
        content = body.get("text")
        if not isinstance(content, dict) or not isinstance(content.get("content"), str):
            raise BadMessage("text message without text.content")
        text = content["content"]
    elif body["msgtype"] == "richText":
        rich = (body.get("content") or {}).get("richText") if isinstance(body.get("content"), dict) else None
        text = "".join(part.get("text", "") for part in rich or [] if isinstance(part, dict))
    # pictures, audio, files: routed with no text, so the member is told to send text
    group = conversation_type == "2"
    if group:
        text = _LEADING_MENTIONS.sub("", text)  # "@支部助手 签到 4827" → "签到 4827"
    expires = body.get("sessionWebhookExpiredTime")
    incoming = Incoming(platform=PLATFORM, user_id=body["senderStaffId"], text=text.strip(),
                        message_id=body["msgId"], chat_type="group" if group else "private",
                        conversation_id=body.get("conversationId") or None, received_at=_sent_at(body.get("createAt")))
    return RobotMessage(incoming=incoming, sender_staff_id=body["senderStaffId"],
                        conversation_id=body.get("conversationId") or "",
                        session_webhook=body.get("sessionWebhook") or None,
                        session_webhook_expires_ms=int(expires) if isinstance(expires, int | str) and
                        str(expires).isdigit() else None,
                        robot_code=body.get("robotCode") or None)


def _sent_at(create_at: Any) -> datetime | None:
    """`createAt` is DingTalk's send time in milliseconds; None when it is missing or not a number."""
    if isinstance(create_at, bool) or not isinstance(create_at, int | str):
        return None
    try:
        return datetime.fromtimestamp(int(create_at) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
