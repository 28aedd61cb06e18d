"""What HTTP and Stream mode share after routing: private replies asked for in a group, replies sent after the
message was acknowledged without one, the quota notice."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

import requests

from bot.channels.dingtalk.api import ApiError, post_webhook
from bot.channels.dingtalk.parse import QuotaNotice, RobotMessage
from bot.channels.dingtalk.push import DingtalkPusher
from bot.channels.dingtalk.render import PRIVATE_FAILED, PRIVATE_SENT, openapi_message, webhook_body
from bot.files import FileService
from bot.messages import Reply

log = logging.getLogger(__name__)

WEBHOOK_SAFETY_MS = 10_000  # a sessionWebhook this close to its expiry is not trusted


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


class Replier:
    """Sends the reply to a message that was acknowledged without it (every Stream message; an HTTP callback whose
    handler outlived its budget): to the message's sessionWebhook while that is fresh, else through the robot API,
    1:1 to the sender or to the group. `http` defaults to the DingTalk pusher's session."""

    def __init__(self, pushers: dict, clock: Callable[[], datetime], http: requests.Session | None = None,
                 timeout: float = 10.0, files: FileService | None = None) -> None:
        self.pushers = pushers
        self.files = files
        self.clock = clock
        self.http = http
        self.timeout = timeout

    def answer(self, message: RobotMessage, reply: Reply) -> None:
        """Nothing for a copy still being handled, nor for a repeat (a message comes again only when its first
        acknowledgement was lost, not its reply, which went out on its own)."""
        if reply.duplicate or reply.repeat or reply.is_empty:
            return
        self.send(message, deliver_private(self.pushers, message, reply))
        self.send_file(message, reply)

    def send_file(self, message: RobotMessage, reply: Reply) -> None:
        """The reply's file, 1:1 to the sender (asked in a group too), after its text; never for a repeat."""
        if reply.file is None or reply.repeat or reply.duplicate or self.files is None:
            return
        pusher = self.pushers.get("dingtalk")
        if pusher is None:
            log.error("a DingTalk file was not sent: no DingTalk pusher is configured")
            return
        result = self.files.deliver(pusher, message.sender_staff_id, reply.file,
                                    f"dingtalk-file:{message.incoming.message_id}")
        if not result.ok:
            log.warning("DingTalk file not delivered: %s", result.error)

    def send(self, message: RobotMessage, reply: Reply) -> bool:
        now_ms = int(self.clock().timestamp() * 1000)
        expires = message.session_webhook_expires_ms
        if message.session_webhook and (expires is None or expires - WEBHOOK_SAFETY_MS > now_ms):
            errcode, errmsg = post_webhook(self._http(), message.session_webhook, webhook_body(reply), self.timeout)
            if errcode == 0:
                return True
            log.warning("sessionWebhook reply failed (%s %s); using the robot API", errcode, errmsg)
        return self._send_by_api(message, reply)

    def _http(self) -> requests.Session:
        if self.http is None:
            pusher = self.pushers.get("dingtalk")
            self.http = pusher.api.http if isinstance(pusher, DingtalkPusher) else requests.Session()
        return self.http

    def _send_by_api(self, message: RobotMessage, reply: Reply) -> bool:
        pusher = self.pushers.get("dingtalk")
        if pusher is None:
            log.error("a DingTalk reply was lost: sessionWebhook expired and no DingTalk pusher is configured")
            return False
        if not message.incoming.in_group:
            result = pusher.push(message.sender_staff_id, reply, f"dingtalk-reply:{message.incoming.message_id}")
            if not result.ok:
                log.warning("DingTalk reply not delivered: %s", result.error)
            return result.ok
        try:
            pusher.api.group_send(message.conversation_id, *openapi_message(reply))
            return True
        except ApiError as err:
            log.warning("DingTalk group reply not delivered: %s", err)
            return False
