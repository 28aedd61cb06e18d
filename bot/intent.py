"""Text normalisation and jieba segmentation with the project's dictionary of Party terms.

The dictionary is loaded once per process (at start-up in the web app, else on the first message that needs words),
never per message; jieba itself is imported only then.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

TERMS = Path(__file__).with_name("data") / "party_terms.txt"
_SPACES = re.compile(r"\s+")
# Traditional forms of the characters in the bot's own command words (簽到, 結束簽到, 發起簽到, 簽到情況, 簽到碼):
# a member whose input method is set to traditional characters still reaches the command. Only these, not a whole
# conversion table: names and free questions are left as typed.
_TRADITIONAL = str.maketrans("簽結發況碼個開會議請", "签结发况码个开会议请")


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), the command words' traditional characters to simplified, trimmed, inner
    whitespace collapsed to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").translate(_TRADITIONAL)).strip()


class Segmenter:
    """A jieba tokenizer of its own (not jieba's module-level one), with the Party-term dictionary.

    The dictionary loads on `warm()` (the web app and the chat console call it at start-up) or else on the first
    message; commands that never route a message (roster import, org set, …) never pay for it.
    """

    def __init__(self, extra_dicts: tuple[Path, ...] = ()) -> None:
        self.dicts = (TERMS, *extra_dicts)
        self.terms = frozenset(
            line.split()[0] for path in self.dicts for line in path.read_text("utf-8").splitlines() if line.strip()
        )
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def tokenizer(self) -> jieba.Tokenizer:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba  # here, not at import: a process that never segments never loads it

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    for path in self.dicts:
                        tokenizer.load_userdict(str(path))
                    self._tokenizer = tokenizer
        return self._tokenizer

    def warm(self) -> Segmenter:
        """For long-lived processes (the web app, the chat console): the dictionary now, and pypinyin, which the
        knowledge base's sound-alike layer needs, so that the first question pays for neither."""
        _ = self.tokenizer
        import pypinyin  # noqa: F401
        return self

    def words(self, text: str) -> list[str]:
        return [w for w in self.tokenizer.lcut(normalize(text)) if w.strip()]
