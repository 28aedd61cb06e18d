"""The knowledge base inside the bot: the router's fallback, the 1/2/3 choice, the fixed commands."""
from __future__ import annotations

from handlers.knowledge.index import KnowledgeBase


def _kb(demo):
    return demo.services.extras["kb"].get()


def test_a_question_nobody_else_claims_is_answered_with_its_basis(say):
    reply = say("demo-dangyuan", "组织关糸怎么转")
    assert reply.startswith("【组织关系怎么转、介绍信有效期】")
    assert "依据：《中国共产党党员教育管理工作条例》第二十五条" in reply


def test_the_index_is_built_once_per_runtime(demo, say, monkeypatch):
    loads = []
    load = KnowledgeBase.load  # the real load, counted

    def counted(cls, *args, **kwargs):
        loads.append(1)
        return load(*args, **kwargs)

    monkeypatch.setattr(KnowledgeBase, "load", classmethod(counted))
    assert demo.services.extras["kb"]._kb is None  # nothing asked yet: start-up did not pay for it
    say("demo-dangyuan", "预备期多长")
    assert len(loads) == 1
    first = _kb(demo)
    say("demo-dangyuan", "党费比例是多少")
    assert _kb(demo) is first and len(loads) == 1


def test_a_close_call_offers_three_and_the_number_picks_one(demo, say):
    kb = _kb(demo)
    candidates = ["党废怎么交", "明天几点开会", "转证要多久", "党员会议", "支部的人数"]
    close = [t for t in candidates if kb.decide(t).kind == "choose"]
    assert close, "the set of questions no longer contains a close call"
    text = close[0]
    hits = kb.decide(text).hits
    reply = say("demo-dangyuan", text)
    assert "请回复数字" in reply and f"2. {hits[1].entry.title}" in reply
    answer = say("demo-dangyuan", "2")
    assert answer.startswith(f"【{hits[1].entry.title}】")
    # the choice is used up: "2" again is not an answer from the list
    assert not say("demo-dangyuan", "2").startswith("【")


def test_a_number_out_of_range_asks_again_and_keeps_the_choice(demo, say):
    kb = _kb(demo)
    text = next(t for t in ["党废怎么交", "明天几点开会", "转证要多久", "党员会议"] if kb.decide(t).kind == "choose")
    first = kb.decide(text).hits[0].entry
    say("demo-zuzhi", text)
    assert "请回复 1 到 3" in say("demo-zuzhi", "7")
    assert say("demo-zuzhi", "1").startswith(f"【{first.title}】")


def test_a_new_question_instead_of_a_number_is_answered(demo, say):
    kb = _kb(demo)
    text = next(t for t in ["党废怎么交", "明天几点开会", "转证要多久", "党员会议"] if kb.decide(t).kind == "choose")
    say("demo-shuji", text)
    assert say("demo-shuji", "入党介绍人要几个").startswith("【入党介绍人】")


def test_fixed_commands_answer_the_procedures(say):
    reply = say("demo-dangyuan", "发展党员流程")
    assert reply.startswith("【发展党员流程（5个阶段25个环节）】") and "㉕材料归档" in reply
    assert say("demo-shuji", "换届流程").startswith("【支部换届选举的步骤】")
    assert "发展党员流程" in say("demo-dangyuan", "帮助")


def test_dues_and_sign_in_texts_are_never_answered_from_the_knowledge_base(say):
    for text in ("我的党费", "签到 1234", "党费怎么算 月收入6500", "月薪7000交多少党费"):
        reply = say("demo-dangyuan", text)
        assert not reply.startswith("【"), text
        assert "请回复数字" not in reply, text


def test_broken_files_give_a_clear_reply_not_a_crash(demo, say, tmp_path):
    from handlers.knowledge import LazyKnowledgeBase
    from handlers.knowledge.handler import BROKEN

    (tmp_path / "a.yaml").write_text("entries:\n  - id: x\n", "utf-8")
    demo.services.extras["kb"] = LazyKnowledgeBase(demo.services.segmenter, tmp_path)
    assert say("demo-dangyuan", "预备期多长") == BROKEN
