"""The two small types of the recognizers: a pattern Rule and the Span it finds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Span:
    category: str
    start: int
    end: int
    rule: str  # rule id, e.g. "zh:resident-id"; goes to the audit log
    score: float = 1.0


@dataclass(frozen=True)
class Rule:
    """A pattern rule. `group` is the regex group that is the identifier (the rest is
    context, e.g. the label '住院号'). `check` gets the identifier's text and returns
    True/False, or an int: the length of the identifier at its start (0 = none)."""

    id: str
    category: str
    regex: re.Pattern
    group: int | str = 0
    check: Callable[[str], bool | int] | None = None
    priority: int = 0  # wins ties between overlapping spans of equal length
    needs_han: bool = False  # only Chinese text can hold it: skipped on text without Han characters
    # what every match holds: one of `needs` in the lower-cased text (its labels), one of
    # `chars` in the text, one of `words` among its words (tokens.Tok.key: month names
    # as words, not inside 'decreased'), a match of `probe` (a quick scan for a rare
    # lead such as five digits). A rule whose text lacks them is not run: most notes hold
    # few of the labels, and these tests cost far less than the rule's own regex
    needs: tuple[str, ...] = ()
    chars: str = ""
    words: frozenset = frozenset()
    probe: re.Pattern | None = None

    def may_match(self, text: str, low: str, keys: frozenset) -> bool:
        """False when `text` (`low`: it lower-cased; `keys`: its words) cannot hold a match."""
        if self.needs and not any(n in low for n in self.needs):
            return False
        if self.chars and not any(c in text for c in self.chars):
            return False
        if self.words and self.words.isdisjoint(keys):
            return False
        return self.probe is None or self.probe.search(text) is not None
