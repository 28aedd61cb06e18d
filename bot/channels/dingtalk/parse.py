"""The robot message body (HTTP callback or Stream `data`) → a platform-neutral Incoming.

Every field is checked for its type and size: a body that is not a robot message raises BadMessage, never another
exception, so the callback answers 400 and nothing reaches the router.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.messages import Incoming

PLATFORM = "dingtalk"
QUOTA_EXHAUSTED = "20001"  # DingTalk's "调用量超量" notice: a body with errorCode and no message
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")
MAX_ID = 200  # msgId and the other ids: processed_messages.key is 200 characters
MAX_EXPIRES_MS = 253_402_300_799_999  # 9999-12-31, the last time a datetime can hold


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


def load_body(raw: bytes) -> Any:
    """The HTTP callback's body as JSON; BadMessage for anything json cannot read, however it fails (a deeply
    nested body raises RecursionError, not ValueError)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadMessage("body is not JSON") from None


def parse_body(body: Any) -> RobotMessage | QuotaNotice:
    if not isinstance(body, dict):
        raise BadMessage("body is not a JSON object")
    if body.get("errorCode") is not None and not body.get("msgId"):
        return QuotaNotice(_short(body.get("errorCode")), _short(body.get("errorMessage") or ""))
    for key in ("msgId", "msgtype", "conversationType", "senderStaffId"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise BadMessage(f"missing or empty field {key}")
    for key in ("msgId", "senderStaffId", "conversationId", "robotCode"):
        if len(_optional_str(body, key) or "") > MAX_ID:
            raise BadMessage(f"field {key} is longer than {MAX_ID} characters")
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
        text = _rich_text(body.get("content"))
    # pictures, audio, files: routed with no text, so the member is told to send text
    group = conversation_type == "2"
    if group:
        text = _LEADING_MENTIONS.sub("", text)  # "@支部助手 签到 4827" → "签到 4827"
    conversation_id = _optional_str(body, "conversationId")
    incoming = Incoming(platform=PLATFORM, user_id=body["senderStaffId"], text=text.strip(),
                        message_id=body["msgId"], chat_type="group" if group else "private",
                        conversation_id=conversation_id, received_at=_sent_at(body.get("createAt")))
    return RobotMessage(incoming=incoming, sender_staff_id=body["senderStaffId"],
                        conversation_id=conversation_id or "",
                        session_webhook=_optional_str(body, "sessionWebhook"),
                        session_webhook_expires_ms=_expires_ms(body.get("sessionWebhookExpiredTime")),
                        robot_code=_optional_str(body, "robotCode"))


def _short(value: Any) -> str:
    return value[:200] if isinstance(value, str) else type(value).__name__


def _optional_str(body: dict, key: str) -> str | None:
    """The field when it is a non-empty string, None when absent or empty; BadMessage for any other type."""
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadMessage(f"field {key} is not a string")
    return value


def _rich_text(content: Any) -> str:
    """The text parts of a richText message; pictures in it have no text."""
    if content is None:
        return ""
    rich = content.get("richText") if isinstance(content, dict) else None
    if not isinstance(content, dict) or not isinstance(rich, list | None):
        raise BadMessage("richText message whose content.richText is not a list")
    texts = []
    for part in rich or []:
        if not isinstance(part, dict) or not isinstance(part.get("text", ""), str):
            raise BadMessage("richText part that is not an object with a text string")
        texts.append(part.get("text", ""))
    return "".join(texts)


def _expires_ms(value: Any) -> int | None:
    """sessionWebhookExpiredTime: epoch milliseconds, as a number or a string of ASCII digits, or absent."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 15:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXPIRES_MS:
        raise BadMessage("sessionWebhookExpiredTime is not a time in milliseconds")
    return value


def _sent_at(create_at: Any) -> datetime | None:
    """`createAt` is DingTalk's send time in milliseconds; None when it is missing or not a number."""
    if isinstance(create_at, bool) or not isinstance(create_at, int | str):
        return None
    try:
        return datetime.fromtimestamp(int(create_at) / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None
