"""知识问答: a curated knowledge base of branch procedures (YAML under entries/), answered from a local index."""
from handlers.knowledge.entries import Entry, KnowledgeError, load_entries
from handlers.knowledge.handler import HANDLERS, kb_reply, register
from handlers.knowledge.lazy import LazyKnowledgeBase

__all__ = ["HANDLERS", "Entry", "KnowledgeBase", "KnowledgeError", "LazyKnowledgeBase", "kb_reply",
           "load_entries", "register"]


def __getattr__(name: str):
    # the index (its regexes and scoring) loads with the first question, not with the handlers
    if name == "KnowledgeBase":
        from handlers.knowledge import index

        return getattr(index, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
