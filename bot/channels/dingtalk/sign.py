"""DingTalk robot signatures: the callback `sign` header and the custom-robot webhook 加签.

Both are base64(HMAC-SHA256(key=secret, msg=timestamp_ms + "\\n" + secret)). The callback header carries the raw
base64; the webhook carries it URL-encoded in the query string (a raw '+' would arrive as a space).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

WINDOW_MS = 3_600_000  # DingTalk: a timestamp more than one hour away from now is illegal


def robot_sign(timestamp_ms: str | int, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verify_callback(timestamp: str | None, sign: str | None, app_secret: str, now_ms: int) -> bool:
    """The callback headers are genuine and fresh. The MAC covers no body, so the window is what bounds a replay."""
    # ASCII digits only: str.isdigit() also takes '²' or '١٢٣', which int() refuses or reads as another number
    if not timestamp or not sign or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 16:
        return False
    if abs(now_ms - int(timestamp)) > WINDOW_MS:
        return False
    return hmac.compare_digest(robot_sign(timestamp, app_secret).encode(), sign.encode())


def signed_webhook_url(webhook: str, secret: str, timestamp_ms: int) -> str:
    """The webhook URL with `timestamp` and `sign` (computed per request) added to its query."""
    parts = urlsplit(webhook)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("timestamp", "sign")]
    if secret:
        query += [("timestamp", str(timestamp_ms)), ("sign", robot_sign(timestamp_ms, secret))]
    return urlunsplit(parts._replace(query=urlencode(query)))  # urlencode quotes '+', '/' and '='
