"""DingTalk enterprise-app robot, HTTP mode: POST /dingtalk/callback.

Verify the `timestamp`/`sign` headers, parse the body into an Incoming, route it, and answer in the HTTP response.
The signature covers only the timestamp, so headers are never logged and the ±1 hour window bounds a replay.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.channels.dingtalk.parse import BadMessage, QuotaNotice, parse_body
from bot.channels.dingtalk.render import EMPTY, webhook_body
from bot.channels.dingtalk.reply import QuotaLog, deliver_private
from bot.channels.dingtalk.sign import verify_callback
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def make_blueprint(runtime: Runtime) -> Blueprint:
    settings = runtime.settings.dingtalk
    if settings is None:
        raise ValueError("DingTalk is not configured")
    bp = Blueprint("dingtalk", __name__)
    quota = QuotaLog()

    @bp.post("/dingtalk/callback")
    def callback() -> Response | tuple[Response, int]:
        now_ms = int(runtime.services.clock().timestamp() * 1000)
        if not verify_callback(request.headers.get("timestamp"), request.headers.get("sign"),
                               settings.app_secret, now_ms):
            return jsonify(error="bad signature or stale timestamp"), 403
        try:
            body = request.get_json(silent=True)
        except RequestEntityTooLarge:  # DingTalk retries a 413 as it would a 500; a 400 says "do not resend"
            return jsonify(error="body too large"), 400
        if body is None:
            return jsonify(error="body is not JSON"), 400
        try:
            parsed = parse_body(body)
        except BadMessage as err:
            log.warning("DingTalk callback refused: %s", err)
            return jsonify(error=str(err)), 400
        if isinstance(parsed, QuotaNotice):
            quota.note(parsed)
            return jsonify(EMPTY)
        reply = runtime.router.handle(parsed.incoming)
        reply = deliver_private(runtime.services.pushers, parsed, reply)
        return jsonify(webhook_body(reply))

    return bp
