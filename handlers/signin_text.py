"""What a sign-in message looks like, as members really type it at the door.

The verb is 签到 or one of its common slips (a pinyin input method's 签倒/前到, the spoken 签个到, the initials qd);
then an optional 码 and separator, then the code, whose digits may be spaced out or written in Chinese; a full stop
or an exclamation mark may end it. A message that is only a 4-digit number is a code too, when a sign-in is open for
the sender (the handler decides that). Full-width and traditional characters are already folded by bot.intent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# the verb and the ways it is commonly mistyped or said; the code after it is what proves presence
VERBS = ("签到", "签倒", "签道", "前到", "千到", "签个到", "签一下到", "qd", "打卡")
_VERB = "|".join(sorted(map(re.escape, VERBS), key=len, reverse=True))
_DIGIT = "[0-9零〇一二两三四五六七八九]"
_CODE = rf"{_DIGIT}(?: ?{_DIGIT})*"
_END = "[。.!~]*"  # ！ and ～ are folded to ! and ~ by the normalisation
_VERB_FIRST = re.compile(rf"(?:{_VERB})(?: ?码)? ?[:#]? ?(?P<code>{_CODE})? ?{_END}", re.IGNORECASE)
_CODE_FIRST = re.compile(rf"(?P<code>{_CODE}) ?(?:{_VERB}){_END}", re.IGNORECASE)
_BARE = re.compile(rf"(?P<code>[0-9](?: ?[0-9]){{3}}){_END}")
_CHINESE_DIGITS = str.maketrans("零〇一二两三四五六七八九", "001223456789")
_PUNCTUATION = "。.,，!！?？~～ "


@dataclass(frozen=True)
class SignInText:
    code: str  # the digits as typed, spaces removed and Chinese digits read; "" when none were given
    bare: bool  # the message was only the number, without 签到


def parse(text: str) -> SignInText | None:
    """The sign-in a normalised message asks for, or None when it is not one."""
    for pattern, bare in ((_VERB_FIRST, False), (_CODE_FIRST, False), (_BARE, True)):
        if m := pattern.fullmatch(text):
            return SignInText(code=digits(m.group("code") or ""), bare=bare)
    return None


def digits(text: str) -> str:
    return text.replace(" ", "").translate(_CHINESE_DIGITS)


def code_arg(args: str) -> str | None:
    """The meeting code after 结束签到 / 签到情况: None when there is none (only punctuation or words such as
    “怎么样”), so that “签到情况？” means the current meeting rather than a code “？”."""
    rest = args.strip(_PUNCTUATION)
    if not any(ch.isdigit() for ch in rest):
        return None
    return digits(rest) if re.fullmatch(_CODE, rest) else rest
