"""WeCom truncates text and markdown at 2048 bytes: long texts are cut into parts, at line ends where possible.

One reply is never more than MAX_PARTS parts: what would not fit is left out and the last part says so."""
from __future__ import annotations

from datetime import datetime

LIMIT = 2048
HEADER_ROOM = 64  # bytes kept free in a continuation part for its "（续 2/3 …）" line
MAX_PARTS = 3
CUT_NOTE = "（内容太长，后面的没有显示。请缩小查询范围后再问，或导出文件查看。）"


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def split_utf8(text: str, limit: int = LIMIT) -> list[str]:
    """Parts of at most `limit` UTF-8 bytes; cut after the last newline that fits, else at a character boundary."""
    if limit < 4:
        raise ValueError("limit too small for one UTF-8 character")
    parts: list[str] = []
    rest = text
    while _nbytes(rest) > limit:
        head = rest.encode("utf-8")[:limit].decode("utf-8", errors="ignore")  # never half a character
        cut = head.rfind("\n")
        if cut > len(head) // 2:  # a line end in the second half: cut there, drop the newline itself
            parts.append(head[:cut])
            rest = rest[cut + 1:]
        else:
            parts.append(head)
            rest = rest[len(head):]
    if rest or not parts:
        parts.append(rest)
    return parts


def cap_parts(parts: list[str], limit: int, max_parts: int = MAX_PARTS) -> list[str]:
    """At most `max_parts` of `parts` (each at most `limit` bytes); when some are dropped, the last one kept is
    shortened to end with CUT_NOTE."""
    if len(parts) <= max_parts:
        return parts
    kept = parts[:max_parts]
    room = limit - _nbytes(CUT_NOTE) - 1
    kept[-1] = split_utf8(kept[-1], room)[0].rstrip("\n") + "\n" + CUT_NOTE
    return kept


def reply_parts(text: str, asked_at: datetime | None) -> tuple[str, list[str]]:
    """The passive part and the parts to push after it, each marked with its number and the question's time.

    The time makes the pushed parts depend on the message they answer: a retry of that same message produces
    identical parts (dropped by WeCom's duplicate check), while the same question asked again later still gets them.
    """
    if _nbytes(text) <= LIMIT:
        return text, []
    first, *_ = split_utf8(text, LIMIT)
    rest = text[len(first):].lstrip("\n")
    tail = cap_parts(split_utf8(rest, LIMIT - HEADER_ROOM), LIMIT - HEADER_ROOM, MAX_PARTS - 1)
    total = len(tail) + 1
    stamp = f" · {asked_at:%H:%M:%S}" if asked_at else ""
    return first, [f"（续 {i}/{total}{stamp}）\n{part}" for i, part in enumerate(tail, start=2)]


def late_reply_text(text: str, asked_at: datetime | None) -> str:
    """A reply pushed after the callback was acknowledged empty: say which message it answers."""
    when = f"{asked_at:%H:%M:%S} " if asked_at else ""
    return f"（回复你 {when}发的消息）\n{text}"
