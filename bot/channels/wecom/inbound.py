"""A decrypted WeCom message or event -> the platform-neutral Incoming (or None when there is nothing to answer)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from wechatpy.enterprise import parse_message

from bot.channels.wecom.wire import Malformed, Rejected, xml_fields
from bot.messages import Incoming

PLATFORM = "wecom"
MENU_COMMAND = "帮助"  # what a member opening the app (enter_agent) is answered with


@dataclass(frozen=True)
class Inbound:
    incoming: Incoming | None  # None: an event we acknowledge and ignore
    message: object  # wechatpy's parsed message, needed to address the passive reply


def _number(text: str, max_digits: int) -> int | None:
    """A whole number of at most `max_digits` ASCII digits (str.isdigit() alone also takes '²' and '١٢٣')."""
    text = text.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def parse_inbound(plain: str, agent_id: int | None = None) -> Inbound:
    """Raises Malformed, or Rejected when the message names another application than ours (agent_id)."""
    fields = xml_fields(plain)  # refuses DTDs/entities before xmltodict (inside parse_message) sees the text
    agent = fields.get("AgentID", "").strip()
    if agent_id is not None and agent and agent != str(agent_id):
        raise Rejected()  # encrypted with our key yet meant for another application: not ours to act on
    for name in ("FromUserName", "CreateTime", "MsgType"):
        if not fields.get(name, "").strip():
            raise Malformed(f"no <{name}>")
    created = _number(fields["CreateTime"], 11)  # seconds: 10 digits until the year 2286
    if created is None:
        raise Malformed("bad <CreateTime>")
    msg_type = fields["MsgType"].strip().lower()
    if msg_type == "event" and not fields.get("Event", "").strip():
        raise Malformed("no <Event>")
    if msg_type != "event" and _number(fields.get("MsgId", ""), 64) is None:
        raise Malformed("no <MsgId>")
    try:
        message = parse_message(plain)
    except Exception:
        raise Malformed("wechatpy could not parse it") from None

    user = fields["FromUserName"].strip()
    try:
        received = datetime.fromtimestamp(created, UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed("bad <CreateTime>") from None
    if msg_type == "event":
        event = fields["Event"].strip().lower()
        key = fields.get("EventKey", "") or ""
        if event == "enter_agent":
            text = MENU_COMMAND
        elif event == "click" and key.strip():
            text = key.strip()
        else:
            return Inbound(None, message)
        # events carry no MsgId; several distinct events can share sender and second, so key on all of these
        dedupe = f"evt:{user}:{created}:{event}:{key}:{fields.get('AgentID', '').strip()}"
    else:
        # non-text messages (image, voice, …) reach the router with empty text: it asks for text
        text = fields.get("Content", "") if msg_type == "text" else ""
        dedupe = f"msg:{fields['MsgId'].strip()}"
    return Inbound(Incoming(platform=PLATFORM, user_id=user, text=text, message_id=dedupe, received_at=received),
                   message)
