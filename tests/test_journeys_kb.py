"""Issue 25 item 11: procedure answers that hold on new phrasings. The figures are bench_kb's; these are floors that
catch a regression, and conversations for the classes of question the issue names (none of them from
tests/kb_heldout.yaml, which tuning never sees)."""
from pathlib import Path

import pytest
import yaml

from handlers.knowledge import KnowledgeBase
from handlers.knowledge.index import focus

HELDOUT = Path(__file__).with_name("kb_heldout.yaml")


@pytest.fixture(scope="module")
def kb(segmenter) -> KnowledgeBase:
    return KnowledgeBase.load(segmenter)


def test_the_held_out_set_names_real_entries_and_holds_its_floor(kb):
    questions = yaml.safe_load(HELDOUT.read_text("utf-8"))["questions"]
    assert len(questions) >= 100
    assert [q["q"] for q in questions for i in q["expect"] if i not in kb.by_id] == []
    ids = [[h.entry.id for h in kb.search(q["q"], 3)] for q in questions]
    top1 = sum(found[0] in q["expect"] for found, q in zip(ids, questions, strict=True)) / len(questions)
    top3 = sum(any(i in q["expect"] for i in found) for found, q in zip(ids, questions, strict=True)) / len(questions)
    assert top1 >= 0.85 and top3 >= 0.95, (top1, top3)  # measured 0.875 / 0.967 when written


@pytest.mark.parametrize(("question", "concern"), [
    ("主题党日顺带开了个党课，算数不", None),
    ("我们开党小组会顺带讲了一次党课，党课这样算数吗", "党课这样算数吗"),
    ("收党费的时候顺便问下，能不能预交一整年", "能不能预交一整年"),
    ("党员大会多久开一次", None),
])
def test_the_clause_that_asks(question, concern):
    assert focus(question) == (concern or focus(question))
    if concern is None and "，" not in question and "顺" not in question:
        assert focus(question) is None


@pytest.mark.parametrize(("question", "title"), [
    # two topics, the concern second
    ("上个月开党员大会顺带上了党课，这个季度的党课还要另外上吗", "【党课】"),
    ("支部开完组织生活会顺便搞了民主评议，评议结果有哪几个等次", "【民主评议党员：等次和结果运用】"),
    # special situations in dues
    ("单位派我脱产读研，工资照发，党费怎么交", "【学生、农民、失业和低保党员的党费】"),
    ("我老婆也是党员，我们俩的党费要按家庭收入算吗", "【党费计算基数包括什么、扣除什么】"),
    # the minimum size of a branch
    ("成立一个党支部起码得有几个正式党员", "【成立党支部：条件和程序】"),
    # a 预备党员's rights
    ("预备党员和正式党员的权利差在哪", "【预备党员和正式党员的权利：选举权、表决权】"),
    # which meeting first
    ("支部的大事先上支委会还是直接开党员大会", "【重要事项的分工和先后顺序】"),
])
def test_the_classes_of_question_get_their_answer(say, question, title):
    text = say("demo-dangyuan", question)
    assert text.startswith(title) or f"1. {title[1:-1]}" in text, text


@pytest.mark.parametrize("question", ["失业在家没有收入，党费还交吗", "待业期间每个月交多少党费", "没工作了党费怎么交"])
def test_no_work_no_income_gets_the_fixed_amount(say, question):
    text = say("demo-dangyuan", question)  # the calculator's fixed amount or the entry: 0.2 yuan either way
    assert "0.20 元" in text or "每月0.2元" in text, text


def test_the_answers_say_what_the_classes_need(kb):
    assert "夫妻都是党员的，各按本人收入交纳" in kb.by_id["dues-base"].answer
    assert "没有工作、没有收入" in kb.by_id["dues-low-fixed"].answer
    assert "重要事项一般先经支委会研究" in kb.by_id["committee-meeting"].answer
