"""Sums of money as people type them in a chat: 6500, 6,500元, ６５００, 1.2万, 2万5, 8k, 2w, 一万二, 九千八, 三千五百.

`read_amounts(text)` finds every sum in a text. A figure that can be read two ways, or that is only a rough size,
comes back as `Unclear` with the reason — never as a number: 2万50 (25000 or 20050?), 1,2000 (a comma out of place),
七八千 and 一万多 (about), 5000到6000 (a range), 几千. Dates (2026年, 11月, 2026-11), percentages, counts (3个月, 5人),
times (15分钟, 14:30) and ordinals (第3) are not sums, and a Chinese numeral inside an ordinary word (三会一课, 千万别,
五险一金) is not one either.

Pure: no database, no other module of the bot.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from storage.quoting import clip

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000, "k": 1000, "万": 10000, "w": 10000}
_NUMERALS = "".join(CN_DIGITS) + "十百千万"

# a run that may be a sum: starts with a digit or a Chinese digit (十 too: 十万), goes on with digits, numerals,
# units and separators. Latin k/w count only right after a digit and when no other Latin letter follows (8kg is not).
_RUN = re.compile(rf"(?:\d|[{''.join(CN_DIGITS)}十])(?:[\d,.{_NUMERALS}]|(?<=\d)[kKwW](?![a-zA-Z]))*")
# dates and clock times, wherever they are: 2026-11, 2026/11/24, 2026年11月, 11月24日, 14:30
_DATES = re.compile(r"(?:19|20)\d{2}\s*(?:[-/年]\s*\d{1,2}|\.\s*\d{1,2}\s*(?:月|\.\s*\d{1,2}))"
                    r"(?:\s*[-/.月]\s*\d{1,2}\s*[日号]?)?\s*月?|\d{1,2}\s*月\s*\d{1,2}\s*[日号]|\d{1,2}\s*[:：]\s*\d{2}")
# words that, right after a figure, make it something other than a sum of money
_NOT_MONEY_AFTER = re.compile(
    r"^(?:年(?!薪)|月(?!薪|收入|工资)|日|号|点|时|分钟|分(?!钱)|秒|小时|天|周|个|人|名|位|次|岁|届|条|项|期|季度|倍|层|楼|"
    r"[%‰a-zA-Z]|成(?!本)|折|斤|公斤|米|里|度|遍|本|页|张|课|会|级|等|档|星)")
_NOT_MONEY_BEFORE = re.compile(r"(?:第|[-/:：]|周|星期|礼拜|百分之|千分之)$")
_ABOUT_AFTER = re.compile(r"^(?:多(?!少)|来(?=块|元|钱|$|[,.!?，。！？])|余|出头)")  # 一万多, 六千来块: the bracket may differ
_RANGE_AFTER = re.compile(r"^\s*(?:-|~|～|—|到|至)\s*(?=\d|[一二两三四五六七八九十])")
_SOME = re.compile(r"(?:几|好几|数)[十百千万]")  # 几千, 好几万: no figure at all
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
RANGE = "给的是一个范围"


@dataclass(frozen=True)
class Amount:
    value: Decimal  # yuan
    text: str  # as written
    start: int
    end: int


@dataclass(frozen=True)
class Unclear:
    text: str  # as written
    reason: str  # Chinese, for the reply: why it cannot be used as it stands
    start: int
    end: int


def _norm(text: str) -> str:
    """Full-width digits, commas and letters to their ASCII forms; the length never changes, so offsets stay."""
    return "".join(unicodedata.normalize("NFKC", ch) if len(unicodedata.normalize("NFKC", ch)) == 1 else ch
                   for ch in text or "")


def read_amounts(text: str) -> list[Amount | Unclear]:
    """Every sum in `text`, in order."""
    t = _norm(text)
    taken = [(m.start(), m.end()) for m in _DATES.finditer(t)]
    out: list[Amount | Unclear] = []
    for m in _SOME.finditer(t):
        out.append(Unclear(m.group(0), f"“{m.group(0)}”不是一个确切的数", m.start(), m.end()))
        taken.append((m.start(), m.end()))
    pos = 0
    while (m := _RUN.search(t, pos)) is not None:
        pos = m.end()
        raw, start, end = m.group(0), m.start(), m.end()
        # trailing separators belong to the sentence: 6500, 党费多少 / 6500.
        while raw and raw[-1] in ",.":
            raw, end = raw[:-1], end - 1
        if not raw or any(a <= start < b for a, b in taken):
            continue
        after = t[end:end + 6]
        if _NOT_MONEY_BEFORE.search(t[max(0, start - 4):start]) or _NOT_MONEY_AFTER.match(after):
            continue
        if not _looks_like_money(raw, after):
            continue
        if (about := _ABOUT_AFTER.match(after)) is not None:
            said = raw + about.group(0)
            out.append(Unclear(said, f"“{clip(said)}”只是个大概的数", start, end + len(about.group(0))))
            continue
        if (dash := _RANGE_AFTER.match(after)) is not None and (second := _RUN.match(t, end + dash.end())):
            pos = second.end()
            out.append(Unclear(t[start:pos], RANGE, start, pos))
            continue
        parsed = parse_figure(raw)
        out.append(Unclear(raw, parsed, start, end) if isinstance(parsed, str) else Amount(parsed, raw, start, end))
    out.sort(key=lambda a: a.start)
    return out


def _looks_like_money(raw: str, after: str) -> bool:
    """Arabic digits always may be; Chinese numerals only with a unit of at least 百 (一万二, 三千五百, 两百) or
    followed by 元/块 (五十元), so the 一 of 一般 or the 三 of 三会一课 is never a sum."""
    if any(c.isdigit() for c in raw):
        return True
    if raw == "一" and after[:1] == "块" and after[1:2] != "钱":
        return False  # 一块(儿) is "together": 退休金放一块算, 一块去开会
    return any(u in raw for u in "百千万") or after[:1] in ("元", "块")


def parse_figure(raw: str) -> Decimal | str:
    """One figure → yuan, or the reason (Chinese) it cannot be read with confidence."""
    s = raw.strip().lower()
    if "," in s:
        if not _THOUSANDS.fullmatch(re.match(r"[\d,.]*", s).group(0)):
            return f"“{clip(raw)}”里的逗号位置不对，看不出是多少"
        s = s.replace(",", "")
    tokens = re.findall(r"\d+(?:\.\d+)?|\.|[零〇一二两三四五六七八九]|[十百千万kw]", s)
    if "".join(tokens) != s or "." in tokens:
        return f"看不懂“{clip(raw)}”"
    if len(tokens) == 1 and tokens[0][0].isdigit():
        return Decimal(tokens[0])
    total = Decimal(0)  # the 万 part
    section = Decimal(0)  # below 万
    current: Decimal | None = None
    current_text = ""
    last_unit = None  # the last unit applied, for 2万5 (= 2万5千) and 九千八 (= 9800)
    zero = False  # a 零 was written: what follows is literal (1万零500)
    for tok in tokens:
        if tok in ("零", "〇") and last_unit is not None:
            zero = True
            continue
        if tok[0].isdigit() or tok in CN_DIGITS:
            if current is not None:
                # 七八千, 一两万: two figures side by side are a rough size, not a number
                return f"“{clip(raw)}”只是个大概的数" if current_text in CN_DIGITS and tok in CN_DIGITS else f"看不懂“{clip(raw)}”"
            current = Decimal(tok) if tok[0].isdigit() else Decimal(CN_DIGITS[tok])
            current_text = tok
            continue
        unit = UNITS[tok]
        if current is None:
            if unit == 10000 and section:
                current = Decimal(0)  # 二十万: the 十 already went into the section
            elif tok == "十" and last_unit in (None, 10000):
                current = Decimal(1)  # 十万 = 一十万, 一万十 is not written but 十五 is
            else:
                return f"看不懂“{clip(raw)}”"
        if unit == 10000:
            section += current
            if section == 0:
                return f"看不懂“{clip(raw)}”"
            if total:
                return f"看不懂“{clip(raw)}”"
            total, section = section * 10000, Decimal(0)
        else:
            if last_unit is not None and last_unit != 10000 and unit >= last_unit:
                return f"看不懂“{clip(raw)}”"  # 5百2千: the units must go down
            if current != current.to_integral_value() and section:
                return f"看不懂“{clip(raw)}”"
            section += current * unit
        last_unit, current, current_text, zero = unit, None, "", False
    if current is not None:
        if last_unit is None or any("." in tok for tok in tokens):
            return f"看不懂“{clip(raw)}”"  # 1.2万5: a decimal and a tail cannot be read together
        if zero:
            section += current
        elif current_text in CN_DIGITS or (current_text.isdigit() and len(current_text) == 1):
            section += current * (last_unit // 10)  # 2万5 → 5千, 九千八 → 8百, 三百五 → 5十, 十五 → 5
        else:
            return f"“{clip(raw)}”看不准（是 {_literal(raw, current_text)}吗？）"
    value = total + section
    if value <= 0:
        return f"看不懂“{clip(raw)}”"
    return value


def _literal(raw: str, tail: str) -> str:
    """2万50 → '20050 元': the reading that takes the tail as written, offered back as a question."""
    head = parse_figure(raw[: len(raw) - len(tail)])
    return "多少元" if isinstance(head, str) else f"{head + Decimal(tail):f} 元"


def only_amounts(found: list[Amount | Unclear]) -> list[Amount]:
    return [a for a in found if isinstance(a, Amount)]


def read_one(text: str) -> Decimal:
    """The one sum a field holds (设置党费 张三 62.50, 1.2万, ¥6,500元); ValueError with a Chinese reason otherwise."""
    t = _norm(text).strip().removeprefix("¥").removeprefix("￥").strip()
    for suffix in ("块钱", "元", "块"):
        t = t.removesuffix(suffix).strip()
    if not t:
        raise ValueError("请写上金额，例如 6500 或 62.50")
    if t.startswith("-"):
        raise ValueError(f"“{clip(text)}”不是有效金额")
    if not _RUN.fullmatch(t) and not re.fullmatch(r"\d+(?:\.\d+)?", t):
        raise ValueError(f"“{clip(text)}”不是金额，请写成 6500 或 62.50")
    parsed = parse_figure(t)
    if isinstance(parsed, str):
        raise ValueError(parsed)
    return parsed


def yuan_text(value: Decimal) -> str:
    """12000 → '12000', 6500.50 → '6500.5' (no exponent, no trailing zeros)."""
    try:
        q = value.normalize()
    except InvalidOperation:
        return str(value)
    return f"{q:f}"
