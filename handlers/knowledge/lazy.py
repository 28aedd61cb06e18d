"""The knowledge base of one process, built on its first question."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from handlers.knowledge.entries import ENTRIES_DIR

if TYPE_CHECKING:
    from bot.intent import Segmenter
    from handlers.knowledge.index import KnowledgeBase


class LazyKnowledgeBase:
    """Holds the knowledge base of one process; reads the files and builds the index on first use, then never again.

    The runtime stores one of these in Services.extras["kb"], so processes (and tests) that never see a question do
    not pay for the index, nor for loading the index's code, and a process that does pays once.
    """

    def __init__(self, segmenter: Segmenter, directory: Path = ENTRIES_DIR) -> None:
        self.segmenter = segmenter
        self.directory = directory
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def get(self) -> KnowledgeBase:
        if self._kb is None:
            from handlers.knowledge.index import KnowledgeBase

            with self._lock:
                if self._kb is None:
                    self._kb = KnowledgeBase.load(self.segmenter, self.directory)
        return self._kb
