"""A member's words quoted back in a reply are clipped: no reply carries more than QUOTE_LIMIT characters of any one
piece of input, however long the message was (a 30,000-digit 签到 is not echoed back in full)."""
from __future__ import annotations

QUOTE_LIMIT = 20


def clip(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text` itself when short, else its first `limit` characters and '…'."""
    return text if len(text) <= limit else text[:limit] + "…"
