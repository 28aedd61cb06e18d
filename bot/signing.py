"""Signed, expiring tokens for links members open on their phones (files, QR sign-in, exports).

A token is `base64url(json).base64url(hmac_sha256)`; the MAC covers a purpose as well as the payload, so a token
made for one kind of link is refused by another. The expiry is inside the signed payload.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote


class BadToken(ValueError):
    """Forged, damaged or made for another purpose."""


class ExpiredToken(ValueError):
    """Genuine but past its expiry."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, purpose: str, body: str) -> bytes:
    return hmac.new(secret.encode(), f"{purpose}\n{body}".encode(), hashlib.sha256).digest()


def make_token(secret: str, purpose: str, data: dict[str, Any], expires_at: datetime) -> str:
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    payload = {"d": data, "exp": int(expires_at.timestamp())}
    # sorted keys and no spaces: the same data always gives the same token (re-sent pushes stay identical)
    body = _b64(json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode())
    return f"{body}.{_b64(_mac(secret, purpose, body))}"


def read_token(secret: str, purpose: str, token: str, now: datetime) -> dict[str, Any]:
    """The signed data; raises BadToken or ExpiredToken."""
    body, _, sig = token.partition(".")
    try:
        given = _unb64(sig)
    except ValueError:
        raise BadToken("签名格式不对") from None
    if not body or not hmac.compare_digest(given, _mac(secret, purpose, body)):
        raise BadToken("签名不对")
    try:
        payload = json.loads(_unb64(body))
        data, exp = payload["d"], int(payload["exp"])
    except (ValueError, KeyError, TypeError):
        raise BadToken("内容损坏") from None
    if now >= datetime.fromtimestamp(exp, UTC):
        raise ExpiredToken("链接已过期")
    return data


def signed_url(public_url: str, secret: str, purpose: str, data: dict[str, Any], expires_at: datetime) -> str:
    """A link under ZHIBU_PUBLIC_URL that bot/web_files.py serves: /files/<purpose>/<token>."""
    token = make_token(secret, purpose, data, expires_at)
    return f"{public_url.rstrip('/')}/files/{quote(purpose)}/{token}"
