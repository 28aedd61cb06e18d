"""Okapi BM25 over bags of features, with postings so a query touches only the documents sharing a feature."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence


class BM25:
    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.5) -> None:
        self.n = len(docs)
        lengths = [len(d) for d in docs]
        avg = (sum(lengths) / self.n) if self.n else 1.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(set(d))
        self.idf = {t: math.log(1 + (self.n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        # the per-(feature, document) weight is fixed at build time; a query only adds them up
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, d in enumerate(docs):
            norm = k1 * (1 - b + b * lengths[i] / (avg or 1.0))
            for t, tf in Counter(d).items():
                self.postings[t].append((i, self.idf[t] * tf * (k1 + 1) / (tf + norm)))

    def scores(self, query: Sequence[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for t in sorted(set(query)):  # one order of adding up, so a near-tie ends the same in every process
            for i, w in self.postings.get(t, ()):
                out[i] += w
        return out
