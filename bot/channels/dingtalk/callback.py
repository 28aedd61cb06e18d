"""DingTalk enterprise-app robot, HTTP mode: POST /dingtalk/callback.

Verify the `timestamp`/`sign` headers, parse the body into an Incoming, hand it to the app's handler pool
(Runtime.submit) and answer in the HTTP response. A handler still running after HANDLER_TIMEOUT gets an empty answer
(DingTalk's "received") and its reply is sent when ready, on the runtime's `background` executor, the way Stream mode
sends every reply (reply.Replier). A file the reply brings follows, 1:1 to the asker (Replier.send_file). The signature covers only the timestamp, so headers are never logged and the
±1 hour window bounds a replay.
"""
from __future__ import annotations

import logging
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.channels.dingtalk.parse import BadMessage, QuotaNotice, RobotMessage, load_body, parse_body
from bot.channels.dingtalk.render import EMPTY, webhook_body
from bot.channels.dingtalk.reply import QuotaLog, Replier, deliver_private
from bot.channels.dingtalk.sign import verify_callback
from bot.messages import Reply
from bot.runtime import Runtime

log = logging.getLogger(__name__)

HANDLER_TIMEOUT = 1.5  # seconds: DingTalk waits only briefly for the callback's answer


class DingtalkCallback:
    """The callback's logic; `blueprint()` mounts it at /dingtalk/callback."""

    def __init__(self, runtime: Runtime, *, handler_timeout: float = HANDLER_TIMEOUT) -> None:
        if runtime.settings.dingtalk is None:
            raise ValueError("DingTalk is not configured")
        self.settings = runtime.settings.dingtalk
        self.submit = runtime.submit
        self.background = runtime.background
        self.clock = runtime.services.clock
        self.pushers = runtime.services.pushers
        self.replier = Replier(self.pushers, self.clock, files=runtime.services.files)
        self.quota = QuotaLog()
        self.handler_timeout = handler_timeout

    def blueprint(self) -> Blueprint:
        bp = Blueprint("dingtalk", __name__)
        bp.add_url_rule("/dingtalk/callback", "callback", self.receive, methods=["POST"])
        return bp

    def receive(self) -> Response | tuple[Response, int]:
        now_ms = int(self.clock().timestamp() * 1000)
        if not verify_callback(request.headers.get("timestamp"), request.headers.get("sign"),
                               self.settings.app_secret, now_ms):
            return jsonify(error="bad signature or stale timestamp"), 403
        try:
            raw = request.get_data(cache=False)
        except RequestEntityTooLarge:  # DingTalk retries a 413 as it would a 500; a 400 says "do not resend"
            return jsonify(error="body too large"), 400
        try:
            parsed = parse_body(load_body(raw))
        except BadMessage as err:
            log.warning("DingTalk callback refused: %s", err)
            return jsonify(error=str(err)), 400
        if isinstance(parsed, QuotaNotice):
            self.quota.note(parsed)
            return jsonify(EMPTY)
        reply = self._route(parsed)
        if reply is None:
            return jsonify(EMPTY)
        response = jsonify(webhook_body(deliver_private(self.pushers, parsed, reply)))
        if reply.file is not None and not reply.repeat:
            # after the answer has gone out: the file follows its text, 1:1 to the asker
            response.call_on_close(lambda: self.background.submit(self.replier.send_file, parsed, reply))
        return response

    def _route(self, message: RobotMessage) -> Reply | None:
        """The router's reply, or None when it is still working after the timeout (it will be sent then)."""
        future = self.submit(message.incoming)
        try:
            return future.result(timeout=self.handler_timeout)
        except FutureTimeout:
            log.warning("DingTalk handler still running after %.1f s: acknowledged, the reply will be sent",
                        self.handler_timeout)
            future.add_done_callback(lambda f: self.background.submit(self.replier.answer, message, f.result()))
            return None
