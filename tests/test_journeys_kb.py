"""Issue 25 item 11: procedure answers that hold on new phrasings. The figures are bench_kb's; these are floors that
catch a regression, and conversations for the classes of question the issue names (none of them from
tests/kb_heldout.yaml, which tuning never sees)."""
from pathlib import Path

import pytest
import yaml

from handlers.knowledge import KnowledgeBase
from handlers.knowledge.index import focus

# every held-out set, each written before a round of tuning and never tuned on
HELDOUT_SETS = sorted(Path(__file__).parent.glob("kb_heldout*.yaml"))


@pytest.fixture(scope="module")
def kb(segmenter) -> KnowledgeBase:
    return KnowledgeBase.load(segmenter)


@pytest.mark.parametrize("path", HELDOUT_SETS, ids=lambda p: p.stem)
def test_each_held_out_set_names_real_entries_and_holds_its_floor(kb, path):
    questions = yaml.safe_load(path.read_text("utf-8"))["questions"]
    assert len(questions) >= 60
    assert [q["q"] for q in questions for i in q["expect"] if i not in kb.by_id] == []
    ids = [[h.entry.id for h in kb.search(q["q"], 3)] for q in questions]
    top1 = sum(found[0] in q["expect"] for found, q in zip(ids, questions, strict=True)) / len(questions)
    top3 = sum(any(i in q["expect"] for i in found) for found, q in zip(ids, questions, strict=True)) / len(questions)
    # a floor under every set (measured 0.938–0.975 top-1 and 0.988–1.000 top-3 once the meaning was added; the
    # target is 0.95 / 0.99): a change that loses several answers at once fails here
    assert top1 >= 0.90 and top3 >= 0.96, (path.name, top1, top3)


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
    # item 11: the options (支委会, 党员大会) do not outvote what the question is about
    ("预备党员转正，先上支委会还是先开党员大会", "【预备期和转正】"),
    # the 党员大会's own entry lists its powers, so it answers this too
    ("哪些事要拿到支部大会上定", ("【重要事项的分工和先后顺序】", "【党员大会（支部大会）】")),
    # item 11: "can a 预备党员 vote" is a question about a right, not about how an election runs
    ("预备党员能不能投票选书记", "【预备党员和正式党员的权利：选举权、表决权】"),
    # item 11: special situations in dues that had no entry
    ("老李退休后被原单位返聘了，他的党费按什么交", "【退休返聘党员的党费】"),
    ("停薪留职两年出去打工，党费按什么交", "【停薪留职党员的党费】"),
    # second round: questions whose asking clause is a bare particle, A-not-A questions, situations told as stories
    # the asking clause names nothing: it asks about the clause joined on before it
    ("开支部大会顺便讲了一课党课，算数不", "【党课】"),
    ("党小组会上顺带谈了心，这样可以吗", "【谈心谈话】"),
    ("支委会开完顺便把积极分子定了，中不中", "【入党积极分子：确定和培养】"),
    # a committee member who left leaves a post to fill
    ("有个支委辞职了，空着行不行", "【补选支部委员】"),
    # a 预备党员 voting or attending "at the meeting" asks about rights
    ("预备党员能在支部大会上投票吗", "【预备党员和正式党员的权利：选举权、表决权】"),
    ("预备党员要不要参加组织生活", "【预备党员和正式党员的权利：选举权、表决权】"),
    # paying for another and paying ahead are ways of paying
    ("退休的老党员帮老伴交党费，这样行吗", "【党费怎么交：按月、足额、本人交纳】"),
])
def test_the_classes_of_question_get_their_answer(say, question, title):
    text = say("demo-dangyuan", question)
    titles = (title,) if isinstance(title, str) else title
    assert any(text.startswith(t) or f"1. {t[1:-1]}" in text for t in titles), text


@pytest.mark.parametrize("question", ["失业在家没有收入，党费还交吗", "待业期间每个月交多少党费", "没工作了党费怎么交"])
def test_no_work_no_income_gets_the_fixed_amount(say, question):
    text = say("demo-dangyuan", question)  # the calculator's fixed amount or the entry: 0.2 yuan either way
    assert "0.20 元" in text or "每月0.2元" in text, text


def test_the_answers_say_what_the_classes_need(kb):
    assert "夫妻都是党员的，各按本人收入交纳" in kb.by_id["dues-base"].answer
    assert "没有工作、没有收入" in kb.by_id["dues-low-fixed"].answer
    assert "重要事项一般先经支委会研究" in kb.by_id["committee-meeting"].answer


def test_the_new_entries_say_what_the_rules_say(kb):
    rights = kb.by_id["voting-rights"].answer
    assert "没有表决权、选举权和被选举权" in rights and "入党介绍人须是正式党员" in rights
    assert "上一季度月平均纯收入" in kb.by_id["dues-unpaid-leave"].answer
    assert "基本离退休费" in kb.by_id["dues-rehired"].answer
    order = kb.by_id["branch-decision-order"].answer
    assert order.index("先经支委会研究") < order.index("党员大会讨论决定")


def test_a_which_body_question_over_wecom(wecom_demo, wecom_client):
    """The secretary asks on WeCom which meeting decides; the reply is the entry, as on the console."""
    from bot.app import create_app

    http = create_app(runtime=wecom_demo).test_client()
    query, body = wecom_client.encrypt_envelope(wecom_client.text_xml("demo-shuji", "延长预备期，支委会定还是开党员大会定"))
    response = http.post(f"/wecom/callback?{query}", data=body.encode(), content_type="text/xml")
    assert response.status_code == 200
    text = wecom_client.open_reply(response.data).content
    assert text.startswith("【延长预备期、取消预备党员资格】") and "支部党员大会讨论通过" in text, text


@pytest.mark.parametrize(("question", "concern"), [
    ("主题党日顺带开了个党课，算数不", "开了个党课，算数不"),  # 算数不 names nothing: joined to what it asks about
    ("讲党课的时候一起把组织生活会开了，行不行", "组织生活会开了，行不行"),  # 一起把 joins a second matter
    ("我们开党小组会顺带讲了一次党课，党课这样算数吗", "党课这样算数吗"),  # names 党课: stands alone
])
def test_a_clause_that_only_asks_is_joined_to_the_one_before(kb, question, concern):
    assert focus(question, kb._names_something) == concern


def test_a_special_dues_situation_over_dingtalk(dingtalk_rt, clock):
    """Over DingTalk, a member asks how a 返聘 retiree pays: the entry written for it answers, not the rates table."""
    from bot.app import create_app
    from tests.fakes.dingtalk_client import SignedClient
    from tests.test_channels_conversation import dingtalk_text

    client = create_app(runtime=dingtalk_rt).test_client()
    signer = SignedClient("ding-app-secret", clock)
    status, body = signer.post_flask(client, signer.message("demo-dangyuan", "老李退休返聘了党费怎么算"))
    assert status == 200
    text = dingtalk_text(body)
    assert text.startswith("【退休返聘党员的党费】") and "基本离退休费" in text, text
    assert "3000元以下 0.5%" not in text
    status, body = signer.post_flask(client, signer.message("demo-dangyuan", "党费怎么算"))
    assert "3000元以下 0.5%" in dingtalk_text(body)


