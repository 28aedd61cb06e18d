"""The WeCom callback: GET /wecom/callback verifies the URL, POST receives messages and answers passively.

Verify → decrypt → parse → Incoming → Router (which dedupes through processed_messages) → encrypted passive reply.
The router runs on the app's handler pool (Runtime.submit), so that a handler still running after HANDLER_TIMEOUT
gets an empty 200 (WeCom's "received, no reply") and its reply is pushed when ready. A reply over 2048 bytes is
answered with its first part and the rest is pushed in order. Those pushes (late replies, later parts) run on the
runtime's `background` executor: a slow WeCom API must not hold up a handler thread. A file the reply brings
(Reply.file) is built and sent there too, after the text, to the asker alone (bot.files; a link if WeCom refuses it).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, request

from bot.channels.wecom.inbound import Inbound, parse_inbound
from bot.channels.wecom.text import late_reply_text, reply_parts
from bot.channels.wecom.wire import MAX_BODY, CallbackCrypto, Malformed, Rejected, reply_xml
from bot.files import FileService
from bot.messages import Incoming, Reply
from bot.push import Pusher
from bot.router import user_hash
from bot.settings import WecomSettings

log = logging.getLogger(__name__)

HANDLER_TIMEOUT = 3.0  # WeCom gives up after 5 s and re-sends; answer well before that
PART_DELAY = 0.5  # let WeCom show the passive part before the pushed rest of a long reply


def _empty(status: int = 200) -> Response:
    return Response(b"", status=status, mimetype="text/plain")


class WecomCallback:
    """The callback's logic, independent of how it is mounted; `blueprint()` mounts it at /wecom/callback."""

    def __init__(self, settings: WecomSettings, submit: Callable[[Incoming], Future[Reply]], pusher: Pusher | None,
                 background: Executor, *, tz: ZoneInfo, handler_timeout: float = HANDLER_TIMEOUT,
                 files: FileService | None = None) -> None:
        self.settings = settings
        self.crypto = CallbackCrypto(settings.token, settings.aes_key, settings.corp_id)
        self.pusher = pusher
        self.submit = submit
        self.background = background
        self.tz = tz
        self.handler_timeout = handler_timeout
        self.files = files

    def blueprint(self) -> Blueprint:
        bp = Blueprint("wecom", __name__)
        bp.add_url_rule("/wecom/callback", "verify", self.verify, methods=["GET"])
        bp.add_url_rule("/wecom/callback", "receive", self.receive, methods=["POST"])
        return bp

    # GET ----------------------------------------------------------------------------------------------------
    def verify(self) -> Response:
        a = request.args  # already URL-decoded: %2B is '+' again
        try:
            echo = self.crypto.verify_url(a.get("msg_signature", ""), a.get("timestamp", ""), a.get("nonce", ""),
                                          a.get("echostr", ""))
        except Malformed:
            return _empty(400)
        except Rejected:
            log.warning("wecom URL verification refused: signature, key or corp id do not match")
            return _empty(403)
        except Exception:  # never a 500 with a traceback
            log.exception("wecom URL verification failed")
            return _empty(403)
        return Response(echo.encode("utf-8"), status=200, mimetype="text/plain")  # the bare plaintext, no newline

    # POST ---------------------------------------------------------------------------------------------------
    def receive(self) -> Response:
        try:
            return self._receive()
        except Exception:  # never a 500 with a traceback: WeCom would only retry it
            log.exception("wecom callback failed")
            return _empty(200)

    def _receive(self) -> Response:
        if (request.content_length or 0) > MAX_BODY:
            return _empty(400)
        body = request.stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _empty(400)
        a = request.args
        timestamp, nonce = a.get("timestamp", ""), a.get("nonce", "")
        try:
            plain = self.crypto.decrypt(body, a.get("msg_signature", ""), timestamp, nonce)
            inbound = parse_inbound(plain, self.settings.agent_id)
        except Malformed as err:
            log.info("wecom callback: malformed request (%s)", err)
            return _empty(400)
        except Rejected:
            log.warning("wecom callback refused: signature, key or corp id do not match")
            return _empty(403)
        if inbound.incoming is None:
            return _empty(200)
        reply = self._route(inbound.incoming)
        if reply is None or reply.duplicate or reply.is_empty:
            return _empty(200)
        return self._passive(inbound, reply, nonce, timestamp)

    def _route(self, incoming: Incoming) -> Reply | None:
        """The router's reply, or None when it is still working after the timeout (it will be pushed then)."""
        future = self.submit(incoming)
        try:
            return future.result(timeout=self.handler_timeout)
        except FutureTimeout:
            log.warning("wecom handler still running after %.1f s: acknowledged, the reply will be pushed",
                        self.handler_timeout)
            future.add_done_callback(lambda f: self.background.submit(self._push_late, incoming, f.result()))
            return None

    def _asked_at(self, incoming: Incoming) -> datetime | None:
        return incoming.received_at.astimezone(self.tz) if incoming.received_at else None

    def _push_late(self, incoming: Incoming, reply: Reply) -> None:
        if reply.duplicate or reply.is_empty or self.pusher is None:
            return
        text = late_reply_text(reply.as_text(), self._asked_at(incoming))
        result = self.pusher.push(incoming.user_id, Reply(text=text), f"wecom-late:{incoming.message_id}")
        if not result.ok:
            log.warning("wecom late reply to user %s not delivered: %s", user_hash(incoming.user_id), result.error)
        self._send_file(incoming, reply)

    def _send_file(self, incoming: Incoming, reply: Reply) -> None:
        """The reply's file, to the asker alone; never for a repeat (its file went out with the first answer)."""
        if reply.file is None or reply.repeat or reply.duplicate or self.pusher is None or self.files is None:
            return
        result = self.files.deliver(self.pusher, incoming.user_id, reply.file, f"wecom-file:{incoming.message_id}")
        if not result.ok:
            log.warning("wecom file to user %s not delivered: %s", user_hash(incoming.user_id), result.error)

    def _passive(self, inbound: Inbound, reply: Reply, nonce: str, timestamp: str) -> Response:
        incoming = inbound.incoming
        first, rest = reply_parts(reply.as_text(), self._asked_at(incoming))
        xml = reply_xml(first, inbound.message)
        response = Response(self.crypto.encrypt_reply(xml, nonce, timestamp).encode("utf-8"), status=200,
                            mimetype="application/xml")
        has_file = reply.file is not None and not reply.repeat
        if (rest or has_file) and self.pusher is not None:
            # after the passive reply has gone out, so the parts and the file arrive after it and in order
            response.call_on_close(lambda: self.background.submit(self._push_parts, incoming, rest, reply))
        return response

    def _push_parts(self, incoming: Incoming, parts: list[str], reply: Reply) -> None:
        if parts:
            time.sleep(PART_DELAY)
        for i, part in enumerate(parts, start=2):
            result = self.pusher.push(incoming.user_id, Reply(text=part), f"wecom-part:{incoming.message_id}:{i}")
            if not result.ok:
                log.warning("wecom reply part %d to user %s not delivered: %s", i, user_hash(incoming.user_id),
                            result.error)
                return  # the later parts would arrive out of order
        self._send_file(incoming, reply)
