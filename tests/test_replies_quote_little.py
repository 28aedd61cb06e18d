"""No reply quotes more than 50 characters of the member's input, whatever the handler and wherever the long text
sits in the message; a very long 签到 is not echoed back. (The router refuses texts beyond 2,000 characters.)"""
from __future__ import annotations

import random

import pytest

from bot.channels import console
from storage.org_settings import SPECS

QUOTE_MAX = 50
USERS = ("demo-shuji", "demo-dangwei", "demo-dangyuan")


def junk(n: int, seed: int) -> str:
    pick = random.Random(seed).choice
    return "".join(pick("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉abcdefghijKLMNOP") for _ in range(n))


def quoted(reply: str, text: str) -> int:
    """The longest run of `text` (at least QUOTE_MAX + 1 characters long) that the reply contains, else 0."""
    n = QUOTE_MAX + 1
    return max((n for i in range(len(text) - n + 1) if text[i:i + n] in reply), default=0)


def messages(handlers, long: str) -> list[str]:
    """Each command with the long text after it, in place of each word of its example, and glued to each word."""
    out = []
    for h in handlers:
        for command in h.commands:
            out += [f"{command} {long}", f"{command}{long}", f"{command} {long} {long[:60]}"]
        words = h.example.split()
        for i in range(len(words)):
            out.append(" ".join([*words[:i], long, *words[i + 1:]]))
            out.append(" ".join([*words[:i], words[i] + long, *words[i + 1:]]))
        if words:
            out.append(f"{h.example} {long}")
    out += [f"设置 {key} {long}" for key in SPECS] + [f"设置 {spec.label} {long}" for spec in SPECS.values()]
    out += [long, f"签到 {long}", f"党费怎么算 {long}", f"{long}怎么交党费", f"发展党员 {long}"]
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_no_reply_quotes_more_than_fifty_characters_of_the_input(dues_demo, seed):
    long = junk(300, seed)
    leaks = []
    for text in messages(dues_demo.router.handlers, long):
        for user in USERS:
            reply = console.say(dues_demo.router, user, text)[0]
            if quoted(reply, long):
                leaks.append((user, text[:30], reply.replace(long, "<长文本>")[:200]))
    assert leaks == []


def test_a_very_long_sign_in_code_is_not_echoed(demo):
    for digits in ("1" * 1990, "１" * 1990):  # as long as a message may be (the router refuses longer ones)
        reply = console.say(demo.router, "demo-dangyuan", "签到 " + digits)[0]
        assert "4位数字" in reply and quoted(reply, digits) == 0 and len(reply) < 100
