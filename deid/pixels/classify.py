"""Decide, per text box, redact or keep, by the pipeline's pixel mode.

A misread can only cause over-redaction, never a leak: a box is kept only when it is
read with confidence *and* the mode says its text may stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import Action, PixelMode
from ..policy.pixels import PixelPolicy
from ..text import recognize
from .frames import IdentityMatcher
from .labels import demographic, labelled_phi
from .recognize import Reading


@dataclass(frozen=True)
class Verdict:
    action: Action  # redact | keep
    rule_id: str
    why: str  # category or reason code, never the text


def classify(mode: PixelMode | str, reading: Reading, pp: PixelPolicy, identity: IdentityMatcher | None) -> Verdict:
    if mode == PixelMode.REDACT_ALL_TEXT:
        if reading.score >= pp.keep_min_score and pp.is_safe(reading.text):
            return Verdict(Action.KEEP, "pixels:safe-word", "safe-word")
        return Verdict(Action.REDACT, "pixels:redact-all-text", "text")
    # redact-phi
    if reading.score < pp.read_min_score or not reading.text:
        return Verdict(Action.REDACT, "pixels:redact-phi:unreadable", "unreadable")
    if identity is not None and matches_identity(reading.text, identity):
        return Verdict(Action.REDACT, "pixels:redact-phi:identity", "identity")
    if labelled_phi(reading.text):
        return Verdict(Action.REDACT, "pixels:redact-phi:label-value", "label-value")
    if demographic(reading.text):
        return Verdict(Action.REDACT, "pixels:redact-phi:demographic", "demographic")
    cats = recognize.categories(reading.text)
    if cats:
        return Verdict(Action.REDACT, f"pixels:redact-phi:{cats[0]}", cats[0])
    return Verdict(Action.KEEP, "pixels:redact-phi:no-phi", "no-phi")


def matches_identity(text: str, identity: IdentityMatcher) -> bool:
    """Header identity values in OCR text: as words, and with spaces and punctuation
    dropped (OCR often loses the space in 'MRN 12345' or reads 'DOE^JANE' as 'DOEJANE')."""
    if identity.pattern is not None and identity.pattern.search(text):
        return True
    squashed = "".join(c for c in text.upper() if c.isalnum())
    return any(len(t) >= 4 and t in squashed for t in identity.squashed)
