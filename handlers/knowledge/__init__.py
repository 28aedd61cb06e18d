"""知识问答: a curated knowledge base of branch procedures (YAML under entries/), answered from a local index."""
from handlers.knowledge.entries import Entry, KnowledgeError, load_entries
from handlers.knowledge.handler import HANDLERS, kb_reply, register
from handlers.knowledge.index import TERMS_FILE, KnowledgeBase, LazyKnowledgeBase

__all__ = ["HANDLERS", "TERMS_FILE", "Entry", "KnowledgeBase", "KnowledgeError", "LazyKnowledgeBase", "kb_reply",
           "load_entries", "register"]
