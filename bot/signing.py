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


class MalformedToken(BadToken):
    """Genuine (the signature holds) but its content is not what the link carries: an id that is not an id, an
    expiry no calendar has. A bug or a leaked key, never a member's doing; refused like a forged token (400)."""


MAX_EXP = int(datetime(9999, 12, 31, tzinfo=UTC).timestamp())  # the last expiry a datetime can hold
MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds (PostgreSQL)


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
    except (ValueError, RecursionError):
        raise MalformedToken("内容损坏") from None
    data = payload.get("d") if isinstance(payload, dict) else None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not is_int(exp, 0, MAX_EXP):
        raise MalformedToken("内容损坏")
    if now >= datetime.fromtimestamp(exp, UTC):
        raise ExpiredToken("链接已过期")
    return data


def is_int(value: Any, low: int, high: int) -> bool:
    """A JSON whole number (not true/false, not 2.0, not "2") between low and high."""
    return type(value) is int and low <= value <= high


def id_field(data: dict[str, Any], key: str) -> int:
    """A database id carried in a token's data; MalformedToken when it is missing or could not be one."""
    value = data.get(key)
    if not is_int(value, 1, MAX_ID):
        raise MalformedToken("内容损坏")
    return value


def signed_url(public_url: str, secret: str, purpose: str, data: dict[str, Any], expires_at: datetime) -> str:
    """A link under ZHIBU_PUBLIC_URL that bot/web_files.py serves: /files/<purpose>/<token>."""
    token = make_token(secret, purpose, data, expires_at)
    return f"{public_url.rstrip('/')}/files/{quote(purpose)}/{token}"
