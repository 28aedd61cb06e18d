"""The knowledge base in memory: entries plus a retrieval index, built once per process."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bot.intent import TERMS, Segmenter
from handlers.knowledge.bm25 import BM25
from handlers.knowledge.entries import ENTRIES_DIR, Entry, load_entries
from handlers.knowledge.text import Featurizer

TERMS_FILE = Path(__file__).with_name("terms.txt")

# how much each kind of evidence counts: whole words, look-alike-proof character pairs, sound-alike pairs, and the
# words of the answer itself (questions often ask about a detail only the answer names). Chosen by leaving each
# phrasing out in turn and asking it (bench_kb prints that figure), not on the held-out questions.
WEIGHTS = {"words": 1.0, "chars": 0.45, "pinyin": 0.35, "answer": 0.8}
# answer at once when the best entry is clearly ahead; offer three when it is close; below FLOOR nothing fits.
# A wrong answer costs more than one extra reply: with phrasings left out, ratio 1.25 answers about two thirds
# directly and about one in ten of those is wrong; the numbered choice almost always holds the right entry.
CONFIDENT_MIN = 6.0
CONFIDENT_RATIO = 1.25
FLOOR = 3.0


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float


@dataclass(frozen=True)
class Decision:
    kind: str  # "answer" | "choose" | "none"
    hits: list[Hit]


def term_words(path: Path = TERMS_FILE) -> list[str]:
    return [line.split()[0] for line in path.read_text("utf-8").splitlines() if line.strip() and not line.startswith("#")]


class KnowledgeBase:
    def __init__(self, entries: list[Entry], segmenter: Segmenter) -> None:
        self.entries = entries
        self.by_id = {e.id: e for e in entries}
        terms = [*term_words(TERMS), *term_words(), *(k for e in entries for k in e.keywords)]
        self.featurizer = f = Featurizer(segmenter, terms)
        docs: dict[str, list[list[str]]] = {"words": [], "chars": [], "pinyin": [], "answer": []}
        for e in entries:
            words: list[str] = []
            chars: list[str] = []
            pinyin: list[str] = []
            # the title and keywords say what the entry is about: they count twice
            for text in (e.title, e.title, *e.phrasings, *e.keywords, *e.keywords):
                w, c, p = f.features(text, typed=False)
                words += w
                chars += c
                pinyin += p
            docs["words"].append(words)
            docs["chars"].append(chars)
            docs["pinyin"].append(pinyin)
            docs["answer"].append(f.features(e.answer, typed=False)[0])
        self.indexes = {kind: BM25(d) for kind, d in docs.items()}

    @classmethod
    def load(cls, segmenter: Segmenter, directory: Path = ENTRIES_DIR) -> KnowledgeBase:
        return cls(load_entries(directory), segmenter)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        words, chars, pinyin = self.featurizer.features(text)
        query = {"words": words, "chars": chars, "pinyin": pinyin, "answer": words}
        total: dict[int, float] = {}
        for kind, index in self.indexes.items():
            for i, s in index.scores(query[kind]).items():
                total[i] = total.get(i, 0.0) + WEIGHTS[kind] * s
        best = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Hit(self.entries[i], round(s, 3)) for i, s in best]

    def decide(self, text: str) -> Decision:
        hits = self.search(text, 3)
        if not hits or hits[0].score < FLOOR:
            return Decision("none", hits)
        second = hits[1].score if len(hits) > 1 else 0.0
        if hits[0].score >= CONFIDENT_MIN and hits[0].score >= CONFIDENT_RATIO * second:
            return Decision("answer", hits[:1])
        return Decision("choose", hits)


class LazyKnowledgeBase:
    """Holds the knowledge base of one process; reads the files and builds the index on first use, then never again.

    The runtime stores one of these in Services.extras["kb"], so processes (and tests) that never see a question do
    not pay for the index, and a process that does pays once.
    """

    def __init__(self, segmenter: Segmenter, directory: Path = ENTRIES_DIR) -> None:
        self.segmenter = segmenter
        self.directory = directory
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()

    def get(self) -> KnowledgeBase:
        if self._kb is None:
            with self._lock:
                if self._kb is None:
                    self._kb = KnowledgeBase.load(self.segmenter, self.directory)
        return self._kb
