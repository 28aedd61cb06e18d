"""A person's name, the same however it was typed: stored so on import and compared so on every lookup."""
from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_DOT = re.compile(r"(?<=[\u3400-\u9fff])\s*[·・•‧∙⋅.．]\s*(?=[\u3400-\u9fff])")  # 阿依古丽·买买提, 阿依古丽.买买提
_GAP = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff·]")


def normalize_name(name: str | None) -> str:
    """钱　进 → 钱进, 曹 操 → 曹操, ｚｈａｎｇ → zhang, 阿依古丽 ・ 买买提 → 阿依古丽·买买提, John  Smith → John Smith.

    Full-width forms become half-width (NFKC), invisible characters go, a space next to a Chinese character goes
    (Chinese names have no spaces; a space typed inside one is a slip), other runs of spaces become one, and the middle
    dots of transliterated names become one dot."""
    t = _INVISIBLE.sub("", unicodedata.normalize("NFKC", name or "")).strip()
    t = _DOT.sub("·", t)
    parts = _GAP.split(t)
    out = parts[0] if parts else ""
    for part in parts[1:]:
        joined = not part or not out or _CJK.match(part[0]) or _CJK.match(out[-1])
        out += part if joined else " " + part
    return out
