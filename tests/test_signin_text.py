"""The sign-in message parser on its own: every way of writing a code reads back the same digits; what is not a
sign-in (the secretary's 签到情况, a question about 签到率, a year, words that merely contain 到) is left alone."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.intent import normalize
from handlers.signin_text import VERBS, code_arg, parse

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
CHINESE = str.maketrans("0123456789", "〇一二三四五六七八九")


@given(code=st.from_regex(r"[0-9]{4}", fullmatch=True), verb=st.sampled_from([*VERBS, "簽到", "QD", "Qd"]),
       sep=st.sampled_from(["", " ", "：", ":", "#", "码", "碼：", "　"]), spacing=st.booleans(),
       width=st.sampled_from([None, FULL_WIDTH, CHINESE]), end=st.sampled_from(["", "。", "！", "!", "~"]))
def test_any_way_of_writing_the_code_reads_the_same_digits(code, verb, sep, spacing, width, end):
    digits = " ".join(code) if spacing else code
    if width is not None:
        digits = digits.translate(width)
    said = parse(normalize(f"{verb}{sep}{digits}{end}"))
    assert said is not None and said.code == code and not said.bare


@pytest.mark.parametrize(("text", "code", "bare"), [
    ("7280", "7280", True), ("7 2 8 0", "7280", True), ("７２８０。", "7280", True),
    ("7280签到", "7280", False), ("签到", "", False), ("签个到", "", False), ("签到 123", "123", False),
])
def test_bare_and_codeless_forms(text, code, bare):
    said = parse(normalize(text))
    assert said is not None and (said.code, said.bare) == (code, bare)


@pytest.mark.parametrize("text", ["签到情况", "签到情况？", "签到率是多少", "签到码是多少", "提前到了", "2026年",
                                  "12345", "签到一下", "发起签到 主题党日", "结束签到", "我签到了吗", "前到底"])
def test_what_is_not_a_sign_in(text):
    assert parse(normalize(text)) is None


@pytest.mark.parametrize(("args", "code"), [("", None), ("？", None), ("。", None), ("怎么样", None),
                                            ("7280", "7280"), ("7 2 8 0。", "7280"), ("12ab", "12ab")])
def test_the_code_after_a_secretarys_command(args, code):
    assert code_arg(normalize(args)) == code
