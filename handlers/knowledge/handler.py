"""Procedure questions: anything no other handler claims is answered from the knowledge base."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.core import Context, Handler, Incoming, Reply
from handlers.knowledge.entries import Entry, KnowledgeError
from handlers.knowledge.exclusions import POINTERS, other_handler

if TYPE_CHECKING:
    from bot.router import Router
    from handlers.knowledge.index import Hit, KnowledgeBase

log = logging.getLogger(__name__)

CHOICE = "kb_choice"
NEAR = 1.5  # below this score an entry shares too little with the question to name its topic  # the pending-choice kind: "reply 1, 2 or 3"

TOPIC_NAMES = {
    "T01": "三会一课", "T02": "主题党日", "T03": "组织生活会和民主评议", "T04": "组织设置", "T05": "换届选举",
    "T06": "党费", "T07": "发展党员", "T08": "组织关系和党籍", "T09": "政治生日和党龄", "T10": "标准化规范化建设",
}


def kb_of(ctx: Context) -> KnowledgeBase:
    return ctx.services.extras["kb"].get()


def answer_text(kb: KnowledgeBase, entry: Entry) -> str:
    lines = [entry.text()]
    related = [kb.by_id[r].title for r in entry.related if r in kb.by_id]
    if related:
        lines.append("相关：" + "；".join(f"“{t}”" for t in related))
    return "\n".join(lines)


def choice_text(hits: list[Hit], can_reply: bool = True) -> str:
    lines = ["你想问的是哪一个？请回复数字：" if can_reply else "可能是下面几条之一，请换个更具体的说法再问："]
    lines += [f"{i}. {h.entry.title}" for i, h in enumerate(hits, 1)]
    if can_reply:
        lines.append("都不是的话，换个说法再问一次。")
    return "\n".join(lines)


def closest_topics(hits: list[Hit]) -> list[str]:
    names: list[str] = []
    for h in hits:
        if h.score < NEAR:
            continue
        for t in h.entry.topics:
            name = TOPIC_NAMES.get(t[:3])
            if name and name not in names:
                names.append(name)
    return names[:3]


def not_found_text(text: str, hits: list[Hit]) -> str:
    names = closest_topics(hits)
    if not names:
        return ("我可以回答党支部工作的规定和流程，例如“三会一课多久开一次”“党费比例”“预备期多长时间”。"
                "发送「帮助」看看我还能做什么。")
    return (f"没有找到和“{text[:20]}”对应的规定。最接近的方面：{'、'.join(names)}。"
            "请换个说法，带上关键词再问，例如“预备期多长时间”“党费比例”；具体问题也可以问支部书记或组织委员。")


def kb_reply(text: str, kb: KnowledgeBase, ctx: Context | None = None) -> Reply:
    """The knowledge base's reply to a question; with a context, a close call becomes a 1/2/3 choice."""
    other = other_handler(text)
    if other is not None:
        return Reply(text=POINTERS[other])
    decision = kb.decide(text)
    if decision.kind == "answer":
        return Reply(text=answer_text(kb, decision.hits[0].entry))
    if decision.kind == "choose":
        if ctx is not None:
            ctx.set_pending(CHOICE, {"ids": [h.entry.id for h in decision.hits]})
        return Reply(text=choice_text(decision.hits, can_reply=ctx is not None))
    return Reply(text=not_found_text(text, kb.search(text, 3)))


BROKEN = "知识问答暂时不可用：知识库文件有错误。请告诉支部书记，由管理员运行 zhibu kb check 查看并修正。"


def ask(incoming: Incoming, ctx: Context) -> Reply:
    try:
        kb = kb_of(ctx)
    except KnowledgeError:
        log.exception("the knowledge-base files do not load")
        return Reply(text=BROKEN)
    return kb_reply(ctx.args or incoming.text, kb, ctx)


def resolve_choice(incoming: Incoming, ctx: Context, payload: dict) -> Reply:
    kb = kb_of(ctx)
    ids = [i for i in payload.get("ids", []) if i in kb.by_id]
    choice = payload["choice"]
    if not 1 <= choice <= len(ids):
        ctx.set_pending(CHOICE, {"ids": ids})
        return Reply(text=f"请回复 1 到 {len(ids)} 之间的数字，或者直接重新提问。")
    return Reply(text=answer_text(kb, kb.by_id[ids[choice - 1]]))


def fixed(entry_id: str):
    """A command that names one entry: answered straight, or searched when more words follow."""
    def func(incoming: Incoming, ctx: Context) -> Reply:
        kb = kb_of(ctx)
        if ctx.args:
            return kb_reply(incoming.text, kb, ctx)
        return Reply(text=answer_text(kb, kb.by_id[entry_id]))
    return func


FALLBACK = Handler(name="knowledge", func=ask, summary="问办事流程和规定（直接提问即可）",
                   example="预备期多长时间")

HANDLERS = (
    Handler(name="kb_development", func=fixed("dev-overview"), commands=("发展党员流程", "入党流程"),
            summary="发展党员5个阶段25个环节", example="发展党员流程"),
    Handler(name="kb_election", func=fixed("election-procedure"), commands=("换届流程", "换届选举流程"),
            summary="支部换届选举的步骤", example="换届流程"),
)


def register(router: Router) -> None:
    """The knowledge base answers whatever no handler claimed, and resolves its own 1/2/3 choices."""
    router.register_fallback(FALLBACK)
    router.register_pending(CHOICE, resolve_choice)
