"""What HTTP and Stream mode share after routing: private replies asked for in a group, the quota notice."""
from __future__ import annotations

import logging

from bot.channels.dingtalk.parse import QuotaNotice, RobotMessage
from bot.channels.dingtalk.render import PRIVATE_FAILED, PRIVATE_SENT
from bot.messages import Reply

log = logging.getLogger(__name__)


def deliver_private(pushers: dict, message: RobotMessage, reply: Reply) -> Reply:
    """A private reply asked for in a group goes to the sender's 1:1 chat; the group only hears where it went."""
    if not (reply.private and message.incoming.in_group) or reply.is_empty:
        return reply
    pusher = pushers.get("dingtalk")
    if pusher is None:
        return Reply(text=PRIVATE_FAILED)
    result = pusher.push(message.sender_staff_id, reply, f"dingtalk-private:{message.incoming.message_id}")
    if not result.ok:
        log.warning("private DingTalk reply not delivered: %s", result.error)
        return Reply(text=PRIVATE_FAILED)
    return Reply(text=PRIVATE_SENT)


class QuotaLog:
    """DingTalk's quota-exhausted notice is logged once per process, not once per message."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def note(self, notice: QuotaNotice) -> None:
        if notice.code not in self.seen:
            self.seen.add(notice.code)
            log.error("DingTalk says the app's monthly quota is used up (errorCode %s: %s); robot messages are "
                      "paused until the quota resets or is raised", notice.code, notice.message)
