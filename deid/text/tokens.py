"""Words of an English text with their offsets and what the lexicons say of them:
the units the name and place evidence works on (deid.text.names_en, places_en)."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from . import lexicon as L

# hyphen parts are words of their own (DAUGHTER-TESSA, Ashby-Lyle): the name
# evidence joins adjacent name words across a hyphen again
WORD = re.compile(r"[A-Za-z](?:[A-Za-z]|['’](?=[A-Za-z]))*\.?")
# closed-class words and the verbs notes use most: never a name, whatever a census says
STOP = frozenset(
    """a an the and or but nor of in on at to for from by with without into onto over under about
after before during since until than then that this these those there here where when while who whom whose which
what why how is are was were be been being am has have had do does did will would shall should can could may might
must not no yes so as if it its he she him her his hers they them their we us our you your i me my mine s re per
via vs all any each every some none both either neither other another such only own same too very just also well
let lets get gets got go goes went come came see seen saw say said tell told call called ask asked make made
up down out off again further once more most less few many much""".split()
)


class Tok(NamedTuple):
    start: int
    end: int
    text: str
    key: str  # lexicon key (lexicon.key)
    upper: bool  # ALL CAPS
    title: bool  # Capitalised (first letter upper, some lower)
    initial: bool  # one letter, maybe with a dot: "A."


class Tokens(list):
    """The tokens of one text; its case style (see `style`) and its set of words are
    worked out once, though several recognizers ask for them."""

    _style: str | None = None
    _keys: frozenset | None = None

    @property
    def style(self) -> str:
        if self._style is None:
            self._style = style(self)
        return self._style

    @property
    def keys(self) -> frozenset:
        if self._keys is None:
            self._keys = frozenset(t.key for t in self)
        return self._keys


def tokens(text: str) -> Tokens:
    """The words of `text`. Each distinct word is read once (`_shape`), and its Tok is
    made by tuple.__new__, the same tuple the NamedTuple's Python-level constructor
    makes, at a fraction of the cost: notes run to hundreds of words."""
    out = Tokens()
    add, new, shape = out.append, tuple.__new__, _shape
    for m in WORD.finditer(text):
        w, cut, key, upper, title, initial = shape(m.group())
        s = m.start()
        add(new(Tok, (s, m.end() - cut, w, key, upper, title, initial)))
    return out


@lru_cache(maxsize=65536)
def _shape(raw: str) -> tuple:
    """(word, characters cut from its end, key, ALL CAPS, Capitalised, initial) of a
    matched word: the same words recur in every note, so each is read once."""
    w, cut = raw, 0
    initial = len(w.rstrip(".")) == 1
    if w.endswith(".") and not initial:
        w, cut = w[:-1], 1
    core = w.rstrip(".")
    title = core[:1].isupper() and (len(core) == 1 or core[1].islower() or core[1] in "'’")
    return w, cut, L.key(core), core.isupper(), title and not core.isupper(), initial


def style(toks: list[Tok]) -> str:
    """'upper' (ALL CAPS note), 'lower' (no capitals) or 'mixed': in the first two a
    capital letter is no evidence of a name."""
    words = [t for t in toks if len(t.key) > 1]
    if not words:
        return "mixed"
    up = sum(t.upper for t in words) / len(words)
    low = sum(t.text.islower() for t in words) / len(words)
    return "upper" if up > 0.6 else "lower" if low > 0.85 else "mixed"


def sentence_start(text: str, t: Tok) -> bool:
    i = t.start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i < 0 or text[i] in '.!?:;\n\r-*•("['


def is_stop(t: Tok) -> bool:
    return t.key in STOP


def lexicon_name(t: Tok) -> bool:
    """In a name list and neither an English word nor a clinical term: Okafor, Nardelli."""
    return _lexicon_name(t.key)


@lru_cache(maxsize=65536)
def _lexicon_name(k: str) -> bool:
    return L.is_name(k) and not L.is_common(k) and not L.is_clinical(k) and k not in STOP


# endings of English and clinical words that names (outside the name lists) do not have
WORD_ENDINGS = (
    "ed",
    "ing",
    "ly",
    "tion",
    "sion",
    "ment",
    "ness",
    "ity",
    "ous",
    "ive",
    "able",
    "ible",
    "ic",
    "ics",
    "atic",
    "itis",
    "osis",
    "emia",
    "aemia",
    "ectomy",
    "otomy",
    "ostomy",
    "plasty",
    "scopy",
    "gram",
    "graphy",
    "logy",
    "pathy",
    "algia",
    "uria",
    "penia",
    "cytosis",
    "ase",
    "ide",
    "ate",
    "ize",
    "ise",
    "al",
    "'d",
    "'s",
)


def unlike_name(key: str) -> bool:
    """An inflected or clinical-looking word that no name list knows: intubated,
    titrating, hemodynamics, urosepsis."""
    return not L.is_name(key) and key.endswith(WORD_ENDINGS)


def unknown_word(t: Tok) -> bool:
    """Neither an English word, a clinical term nor a stop word: a misspelt or rare
    name (Zarvosky), or a misspelt word."""
    return _unknown(t.key)


@lru_cache(maxsize=65536)
def _unknown(k: str) -> bool:
    return k not in STOP and not L.is_common(k) and not L.is_clinical(k) and len(k) >= 2 and not unlike_name(k)


class Marks:
    """Tokens of one text and why each was marked (None: not at all), for the
    recognizers that weigh the words around a word. `GAP`: the characters allowed
    between two words of one span."""

    GAP = frozenset(" \t")
    PASSES: tuple[str, ...] = ()  # method names, run in this order
    CATEGORY, PREFIX = "", ""

    @classmethod
    def find(cls, text: str, toks: list[Tok] | None = None) -> list:
        """Spans in `text` (`toks`: its tokens, when the caller has them)."""
        toks = tokens(text) if toks is None else toks
        if not toks:
            return []
        m = cls(text, toks)
        for name in cls.PASSES:
            getattr(m, name)()
        return m.spans(cls.CATEGORY, cls.PREFIX)

    def __init__(self, text: str, toks: list[Tok]):
        self.text, self.toks = text, toks
        self.style = toks.style if isinstance(toks, Tokens) else style(toks)
        self.mixed = self.style == "mixed"
        self.why: list[str | None] = [None] * len(toks)

    def capitalised(self, t: Tok) -> bool:
        """A capital the writer chose: a capitalised word in mixed or lower-case text
        (in an ALL-CAPS note a capital says nothing)."""
        return t.title and self.style != "upper"

    def capital(self, t: Tok) -> bool:
        """A word whose case sets it apart from the note's: capitalised or ALL CAPS in
        mixed text, not ALL CAPS in an ALL-CAPS note (DRIVE BACK TO Frostburg), any capital
        in a lower-case note (FRostburg)."""
        if self.style == "mixed":
            return t.title or t.upper
        if self.style == "upper":
            return not t.upper
        return not t.text.islower()

    def gap(self, a: int, b: int, most: int = 4) -> bool:
        """Only `GAP` characters, at most `most` of them, between tokens a and b."""
        g = self.text[self.toks[a].end : self.toks[b].start]
        return len(g) <= most and all(c in self.GAP for c in g)

    def mark(self, i: int, why: str) -> None:
        if self.why[i] is None:
            self.why[i] = why

    def spans(self, category: str, prefix: str, score: float = 1.02) -> list:
        """One span per run of marked words on one line, named by its first mark."""
        from .rule import Span

        out: list = []
        for i, (t, why) in enumerate(zip(self.toks, self.why)):
            if why is None:
                continue
            if (
                out
                and self.why[i - 1] is not None
                and self.gap(i - 1, i, 3)
                and "\n" not in self.text[self.toks[i - 1].end : t.start]
            ):
                last = out[-1]
                out[-1] = Span(category, last.start, t.end, last.rule, last.score)
            else:
                out.append(Span(category, t.start, t.end, f"{prefix}-{why}", score))
        return out
