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
    rule: str              # rule id, e.g. "zh:resident-id"; goes to the audit log
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
    priority: int = 0      # wins ties between overlapping spans of equal length
    needs_han: bool = False  # only Chinese text can hold it: skipped on text without Han characters
