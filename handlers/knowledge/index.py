"""The knowledge base in memory: entries plus a retrieval index, built once per process."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.intent import TERMS, Segmenter, normalize
from handlers.knowledge.bm25 import BM25
from handlers.knowledge.entries import ENTRIES_DIR, Entry, load_entries
from handlers.knowledge.meaning import Meaning, Vectors, engine_runs_here
from handlers.knowledge.text import Featurizer, clean

log = logging.getLogger(__name__)
TERMS_FILE = Path(__file__).with_name("terms.txt")

# how much each kind of evidence counts: whole words, look-alike-proof character pairs, sound-alike pairs, the words
# of the title and keywords alone, and the words of the answer itself (questions often ask about a detail only the
# answer names). Chosen by leaving each phrasing out in turn and asking it (bench_kb prints that figure) and on the
# development questions, not on the held-out questions.
WEIGHTS = {"words": 1.0, "chars": 0.45, "pinyin": 0.35, "answer": 0.8, "answer_chars": 0.3, "subject": 0.6}
# how much the meaning (sentence vectors, meaning.py) counts: an entry loses this share of the best word score for each
# unit its nearness falls short of the nearest entry's. Nearness differs by hundredths, so 15 lets a clearly nearer
# entry overtake a small lead in words but not a large one. Chosen by leaving phrasings out (bench_kb).
MEANING_WEIGHT = 15.0
# A question often tells its story first and asks last ("主题党日顺带开了个党课，算数不"): the clause that asks is
# scored again with this weight, so the story's topic does not outvote the concern.
FOCUS_WEIGHT = 0.6
# a term in more than about one entry in eight (党费, 交党费: idf below this) names a topic, not an entry
SPECIFIC_IDF = 1.8
# answer at once when the best entry is clearly ahead; offer three when it is close; below FLOOR nothing fits.
# A wrong answer costs more than one extra reply. Ahead means: the words alone put it 1.2 times ahead of the next and
# the meaning keeps it first, or words and meaning together put it 1.8 times ahead. On the development questions
# (bench_kb) that answers 88.6% at once, and 1.4% of all the questions wrongly; words alone: 86.8% and 1.7%. The
# numbered choice almost always holds the right entry.
CONFIDENT_MIN = 6.0
CONFIDENT_RATIO = 1.8
WORDS_RATIO = 1.2
FLOOR = 3.0
# a situation's entry answers a 党费 question it is named in when it scores at least this share of the best entry
SITUATION_NEAR = 0.9


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
    def __init__(self, entries: list[Entry], segmenter: Segmenter, vectors: Vectors | None = None) -> None:
        self.entries = entries
        self.meaning = Meaning(entries, vectors) if vectors is not None else None
        self.by_id = {e.id: e for e in entries}
        terms = [*term_words(TERMS), *term_words(), *(k for e in entries for k in (*e.keywords, *e.situations))]
        self.situations = {e.id: {clean(w) for w in e.situations} - {""} for e in entries if e.situations}
        self.featurizer = Featurizer(segmenter, terms)
        seen: dict[str, tuple[list[str], list[str], list[str]]] = {}

        def f(text: str) -> tuple[list[str], list[str], list[str]]:  # titles and keywords are read three times
            if text not in seen:
                seen[text] = self.featurizer.features(text)
            return seen[text]

        docs: dict[str, list[list[str]]] = {kind: [] for kind in WEIGHTS}
        for e in entries:
            words: list[str] = []
            chars: list[str] = []
            pinyin: list[str] = []
            # the title and keywords say what the entry is about: they count twice
            for text in (e.title, e.title, *e.phrasings, *e.keywords, *e.keywords):
                w, c, p = f(text)
                words += w
                chars += c
                pinyin += p
            docs["words"].append(words)
            docs["chars"].append(chars)
            docs["pinyin"].append(pinyin)
            # and once more on their own: 党员大会 is in a third of the entries' phrasings but names one entry
            docs["subject"].append([w for text in (e.title, *e.keywords) for w in f(text)[0]])
            answer_words, answer_chars, _ = f(e.answer)
            docs["answer"].append(answer_words)
            docs["answer_chars"].append(answer_chars)
        self.indexes = {kind: BM25(d) for kind, d in docs.items()}

    @classmethod
    def load(cls, segmenter: Segmenter, directory: Path = ENTRIES_DIR) -> KnowledgeBase:
        if engine_runs_here():
            return cls(load_entries(directory), segmenter, Vectors.load())
        log.warning("this processor lacks AVX2/FMA, which the sentence-vector model needs: procedure questions are "
                    "matched by their words alone")
        return cls(load_entries(directory), segmenter)

    def _scores(self, text: str, weight: float, total: dict[int, float]) -> None:
        words, chars, pinyin = self.featurizer.features(text)
        query = {"words": words, "chars": chars, "pinyin": pinyin, "answer": words, "answer_chars": chars,
                 "subject": words}
        for kind, index in self.indexes.items():
            for i, s in index.scores(query[kind]).items():
                total[i] = total.get(i, 0.0) + weight * WEIGHTS[kind] * s

    def _names_something(self, clause: str, min_idf: float = 0.0) -> bool:
        """Whether the clause names a term; with min_idf, one rarer than that among the entries."""
        c = clean(clause)
        idf = self.indexes["words"].idf
        return any(t in c and idf.get(t, min_idf) >= min_idf for t in self.featurizer.terms)

    def _word_scores(self, text: str) -> dict[int, float]:
        """Each entry's score from the words alone (the whole question, and the clause that asks once more)."""
        words: dict[int, float] = {}
        self._scores(text, 1.0, words)
        concern = focus(text, self._names_something)
        if is_choice(text):  # "X是支委会定还是党员大会定": the bodies are the options, X is what it is about
            clause = without_bodies(concern) if concern is not None else ""
            concern = clause if any(t in clean(clause) for t in self.featurizer.terms) else without_bodies(text)
        elif concern is not None and "，" not in concern and not self._names_something(concern, SPECIFIC_IDF):
            # the asking clause names only what a whole topic is about (老李退休返聘了，党费怎么算): the story decides
            concern = None
        if concern is not None:  # a question of several parts: what it asks counts again
            self._scores(concern, FOCUS_WEIGHT, words)
        return words

    def _with_meaning(self, text: str, words: dict[int, float]) -> dict[int, float]:
        """The word scores with the meaning added: each entry loses for falling short of the nearest entry."""
        if self.meaning is None or not words:
            return words
        top = max(words.values())
        near = self.meaning.scores(text)
        nearest = max(near)
        return {i: words.get(i, 0.0) + MEANING_WEIGHT * top * (n - nearest) for i, n in enumerate(near)}

    def _best(self, total: dict[int, float], k: int) -> list[Hit]:
        best = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Hit(self.entries[i], round(s, 3)) for i, s in best]

    def search(self, text: str, k: int = 5) -> list[Hit]:
        return self._best(self._with_meaning(text, self._word_scores(text)), k)

    def named_situations(self, text: str) -> set[str]:
        """The entries written for a circumstance the text names (配偶, 返聘, 停薪留职)."""
        c = clean(text)
        return {i for i, words in self.situations.items() if any(w in c for w in words)}

    def situation(self, text: str) -> Entry | None:
        """The entry written for a circumstance the question names (返聘, 停薪留职) when the question is about it: that
        entry ranks first or nearly so. 在外地工作的党员党费比例 names 外地 but asks the rate."""
        named = self.named_situations(text)
        if not named:
            return None
        # by the words alone: the named circumstance itself draws the meaning to its entry
        hits = self._best(self._word_scores(text), 3)
        about = [h for h in hits if h.entry.id in named and h.score >= SITUATION_NEAR * hits[0].score]
        return about[0].entry if about else None

    def decide(self, text: str) -> Decision:
        words = self._word_scores(text)
        hits = self._best(self._with_meaning(text, words), 3)
        if not hits or hits[0].score < FLOOR:
            return Decision("none", hits)
        by_words = self._best(words, 2)
        ahead = (_leads(hits, CONFIDENT_RATIO)
                 or (_leads(by_words, WORDS_RATIO) and by_words[0].entry.id == hits[0].entry.id)
                 # or ahead and written for the circumstance the question names (夫妻都是党员…)
                 or (_leads(hits, 1.0) and hits[0].entry.id in self.named_situations(text)))
        if hits[0].score >= CONFIDENT_MIN and ahead:
            return Decision("answer", hits[:1])
        return Decision("choose", hits)


def _leads(hits: list[Hit], ratio: float) -> bool:
    second = hits[1].score if len(hits) > 1 else 0.0
    return hits[0].score > second and hits[0].score >= ratio * second


# what splits a question into clauses: punctuation, words that join a second matter to the first (顺带, 一起把), and
# words that open the asking (想问, 另外)
_CLAUSES = re.compile(r"[,，。;；!！?？:：\s]+|顺带|顺便|顺道|顺手|捎带|附带|(?:一起|一块儿?|一并|同时)把|另外|此外|还有个?|"
                      r"再问一?下|问一?下|请问|[想要来]问(?:一?下)?|问问|那么?(?![天个些时年月里边次会])")  # not 那天, 那个
_ASKING = re.compile(r"吗|么|呢|怎么|怎样|多少|几|是否|能否|可以|算数|算吗|哪|什么|啥|谁|如何|"
                     r"不$|没$|(\w)[不没]\1")  # the last: 能不能, 要不要, 中不中, 有没有


# a question that asks which body decides or which comes first names the bodies as options; every entry about a
# meeting names them too, so they say nothing about which entry is meant
_CHOICE = re.compile(r"还是|哪个|哪一个|谁先|先.+[再后]")
_BODIES = re.compile(r"支委会|党员大会|党小组会?|上级党委|上级党组织|上级|基层党委|大会")


def is_choice(text: str) -> bool:
    t = clean(text)
    return bool(_CHOICE.search(t)) and len(_BODIES.findall(t)) >= 1


def without_bodies(text: str) -> str:
    return _BODIES.sub("，", clean(text))


def focus(text: str, names: Callable[[str], bool] = lambda clause: True) -> str | None:
    """The clause of a several-part question that asks something (the last such), or None for a one-part question.

    A clause that only asks (算数不, 这样行不行) names nothing: it asks about the clause before it, which is joined on
    ("主题党日顺带开了个党课，算数不" asks whether the 党课 counts). `names` says whether a clause names something."""
    parts = [p for p in _CLAUSES.split(normalize(text)) if p and len(p) >= 2]
    if len(parts) < 2:
        return None
    asking = [i for i, p in enumerate(parts) if _ASKING.search(p)]
    i = asking[-1] if asking else len(parts) - 1
    if i > 0 and not names(parts[i]):
        return "，".join(parts[i - 1:i + 1])
    return parts[i]

