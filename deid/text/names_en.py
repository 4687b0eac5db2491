"""English person names by evidence, not by one pattern: each word is weighed by the
name lists (lexicon), the words around it (titles, relatives, credentials, verbs that
take a person) and its capitalisation, which counts only in mixed-case text (ALL-CAPS
and all-lower-case notes are common). Case never matters for the cues: `dr okafor`,
`MRS BRUCKNER`, `son bill`, `Emily Nardelli,RN` are found alike.

Evidence, strongest first:
  title       Dr, Mr, Mrs, Ms, Miss, Prof before: the next word is a name unless it is
              a stop word or an English word no census lists as a name
  role        NP, RN, MD, PA, attending before: a person word (below)
  relative    wife, son, daughter, HCP, proxy ... before, or "(son)" after: a person word
  credential  RN, MD, RRT, NP, PA after: the word before unless it is plain English,
              then up to two more name-like words
  verb        per, paged, spoke with, ... before, or aware, called, visited ... after:
              a lexicon name or a given name
  initial     "D. Vantor", "W. MORETTI": an initial with its dot before a name-like word
  lexicon     a given name followed by a name-like word; in mixed case a capitalised
              lexicon name that does not start a sentence, or two capitalised words no
              list knows; in an ALL-CAPS or lower-case note a given name that is no
              English word (MONICA IS OFF); a line holding only a name
After NP or PA a given name that is also a word counts (NP ROSE), after a written-out
title a surname that also names a device (Dr. Swan), and in a lower-case note a
lower-case credential (k. marlow rrt).
A person word is a given name, a lexicon name (a census name that is not an English
word or clinical term), or a word that is neither (Zarvosky), capitalised where case
tells. A name found once is found at every other occurrence in the text.
"""

from __future__ import annotations

import re
from typing import Callable

from . import lexicon as L
from .tokens import Marks, Tok, is_stop, lexicon_name, sentence_start, unknown_word, unlike_name


def re_sentence_end(gap: str) -> bool:
    return any(c in gap for c in ".!?\n")


TITLES = frozenset("dr doctor docter mr mrs ms miss mx prof professor".split())
ROLES = frozenset("np rn md pa attending resident intern fellow nurse rrt crna".split())
RELATIVES = frozenset(
    """wife husband spouse son sons daughter daughters dtr dau brother brothers sister sisters
mother mom father dad niece nephew aunt uncle cousin grandson granddaughter grandchild grandmother grandfather
stepson stepdaughter friend friends neighbor neighbour fiance fiancee partner girlfriend boyfriend companion hcp
proxy proxies proxys spokesperson guardian named""".split()
)
CREDENTIALS = frozenset("rn md np pa rrt crt crna msw licsw lcsw cns lpn phd pharmd rph".split())
VERBS_BEFORE = frozenset(
    """per by paged page notified informed updated spoke talked seen met contacted consulted
consult discussed told""".split()
)
PREPOSITIONS = frozenset("with to by w".split())  # spoke with X, seen by X: skipped after a verb
WORDS_AFTER = frozenset("aware notified paged updated informed called visited family".split())
FILE_SUFFIX = re.compile(r"\.(?:dcm|dicom|ima|txt|csv|tsv|jsonl?|hl7|xml|html?|pdf|png|jpe?g|gz|zip|nii|dat)\b", re.I)
NEEDS_NAME = frozenset("ms mr np pa".split())  # also mental status, mitral regurgitation, nasal prongs, PA line
GAP_CHARS = set(" \t.,:-()/?")
CUES = TITLES | ROLES | RELATIVES | CREDENTIALS | VERBS_BEFORE | WORDS_AFTER | {"law"}  # words cue() looks at
NOTE_WORDS = 8
WEAK_ROLES = ("resident", "fellow", "nurse", "intern", "attending")


class _Evidence(Marks):
    GAP = frozenset(GAP_CHARS)
    PASSES = ("cues", "bare", "lines", "last_words", "chains", "everywhere")
    CATEGORY, PREFIX = "name", "en:name"

    def __init__(self, text: str, toks: list[Tok]):
        super().__init__(text, toks)
        self.index = {t.start: i for i, t in enumerate(toks)}

    # -- what a word may be -------------------------------------------------
    def capitalised_unknown(self, t: Tok) -> bool:
        """Not English, not clinical, and capitalised where case tells."""
        return unknown_word(t) and len(t.key) > 2 and (not self.mixed or t.title or t.upper)

    def name_like(self, t: Tok) -> bool:
        return t.initial or lexicon_name(t) or self.capitalised_unknown(t)

    def known(self, t: Tok) -> bool:
        """A given name, or a surname that hundreds of people carry (not a rare census
        entry such as HOSP)."""
        return L.given_share(t.key) > 0 or (lexicon_name(t) and L.surname_count(t.key) >= 500)

    def goes_on(self, t: Tok) -> bool:
        """A name that has begun goes on with a name-like word, or in mixed case with a
        capitalised census name that is also a word (Laura Brown)."""
        return self.name_like(t) or (
            self.capitalised(t) and L.is_name(t.key) and not L.is_clinical(t.key) and not is_stop(t)
        )

    def strict(self, t: Tok) -> bool:
        return lexicon_name(t) or self.capitalised_unknown(t)

    def person(self, t: Tok) -> bool:
        if is_stop(t) or t.initial or t.key in RELATIVES or t.key in TITLES:
            return False
        if L.given_share(t.key) > 0 and (self.mixed is False or t.title or t.upper):
            return True
        return self.strict(t)

    def after_title(self, t: Tok) -> bool:
        if is_stop(t) or unlike_name(t.key):
            return False
        if L.is_clinical(t.key):  # Dr. Swan: a surname after a written-out title
            return self.text[t.start - 2 : t.start] == ". " and (t.title or t.upper) and L.surname_count(t.key) >= 100
        return t.initial or L.is_name(t.key) or not L.is_common(t.key)

    def cued(self, t: Tok) -> bool:
        """After Ms, Mr, NP, PA (mental status, mitral regurgitation, nasal prongs, PA
        line): a lexicon or given name, or an unknown word that case marks as a name."""
        return (
            lexicon_name(t)
            or (L.given_share(t.key) > 0.01 and not L.is_common(t.key) and not is_stop(t) and not L.is_clinical(t.key))
            or (self.mixed and t.title and self.capitalised_unknown(t))
        )

    def clinician(self, t: Tok) -> bool:
        """After NP or PA: as `cued`, or a given name many carry that is also an English
        word (NP ROSE, per NP Holly), written as a name where case tells."""
        return self.cued(t) or (
            L.given_share(t.key) >= 0.04
            and not is_stop(t)
            and not L.is_clinical(t.key)
            and (t.title or t.upper or not self.mixed)
        )

    def signed(self, t: Tok) -> bool:
        """Before a credential: a person word, or in mixed case a capitalised census name
        (Brandt-Keller MD)."""
        if self.person(t) or (self.mixed and t.title and L.is_name(t.key) and not unlike_name(t.key)):
            return True
        i = self.index[t.start]
        prev = self.toks[i - 1] if i > 0 else None  # Q. Holcomb RRT
        return prev is not None and prev.initial and prev.text.endswith(".") and L.is_name(t.key) and not is_stop(t)

    def named(self, t: Tok) -> bool:
        """After a verb: a lexicon name, or a given name that is not an English word."""
        return lexicon_name(t) or (
            L.given_share(t.key) > 0 and not L.is_common(t.key) and not is_stop(t) and not L.is_clinical(t.key)
        )

    def first_of_two(self, t: Tok) -> bool:
        """A given name that is also an English word (holly, Bill), followed by a
        surname-like word: a full name (consult with holly brenwick)."""
        i = self.index[t.start]
        return (
            L.given_share(t.key) >= 0.01
            and not is_stop(t)
            and not L.is_clinical(t.key)
            and i + 1 < len(self.toks)
            and self.gap(i, i + 1, 1)
            and self.strict(self.toks[i + 1])
        )

    # -- walking ------------------------------------------------------------
    def take_after(self, i: int, first: Callable[[Tok], bool], why: str, more: int = 2) -> int:
        """Mark the words after cue i: the first by `first`, then up to `more` name-like."""
        j = i + 1
        if j >= len(self.toks) or not self.gap(i, j) or not first(self.toks[j]):
            return 0
        self.mark(j, why)
        n = 1
        while n <= more and j + 1 < len(self.toks) and self.gap(j, j + 1, 2) and self.goes_on(self.toks[j + 1]):
            j += 1
            n += 1
            self.mark(j, why)
        return n

    def take_before(
        self, i: int, first: Callable[[Tok], bool], why: str, most: int = 3, more: Callable[[Tok], bool] | None = None
    ) -> None:
        """Mark the word before i by `first`, then up to `most` - 1 name-like words or
        initials before it, within the sentence; a run of initials alone is no name."""
        j, run = i - 1, list[int]()
        while (
            j >= 0
            and i - j <= most
            and self.gap(j, j + 1)
            and not re_sentence_end(self.text[self.toks[j].end : self.toks[j + 1].start])
        ):  # an initial keeps its dot: k. marlow
            ok = first(self.toks[j]) if not run else (more or self.name_like)(self.toks[j])
            if not ok:
                break
            run.append(j)
            j -= 1
        if any(not self.toks[r].initial for r in run):
            for r in run:
                self.mark(r, why)

    # -- passes -------------------------------------------------------------
    def cues(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks):
            k = t.key
            if k in CUES:
                self.cue(i, t, k)
            if (
                i + 2 < len(toks) and toks[i + 1].key in ("is", "was") and self.is_a_relative(i) and self.person(t)
            ):  # Anne is family contact, Hal is his son
                self.mark(i, "relative")
            if (
                t.initial
                and t.text.endswith(".")
                and self.text[t.start - 1 : t.start] in ("", " ", "(", ",", "\n")
                and i + 1 < len(toks)
                and self.gap(i, i + 1, 1)
                and self.strict(toks[i + 1])
            ):
                self.mark(i, "initial")
                self.mark(i + 1, "initial")

    def cue(self, i: int, t: Tok, k: str) -> None:
        """The names cue word i (key k) points at: after it or before it."""
        toks = self.toks
        nxt = self.text[t.end : t.end + 1]
        # a title's full stop is not a file's (mr.dcm); "Mr"/"Ms" written so in mixed text is
        # Mister, not mitral regurgitation or mental status (MR, ms)
        dotted = nxt == "." and not FILE_SUFFIX.match(self.text, t.end)
        spelt = self.mixed and t.title and k in ("mr", "ms")
        if k in TITLES and not t.initial and (nxt == " " or dotted):
            self.take_after(i, self.after_title if k not in NEEDS_NAME or dotted or spelt else self.cued, "title")
        elif k in ROLES and (t.upper or not self.mixed or k not in WEAK_ROLES):
            self.take_after(
                i, (self.clinician if k in ("np", "pa") else self.cued) if k in NEEDS_NAME else self.person, "role"
            )
        elif k in RELATIVES or (k == "law" and self.text[t.start - 4 : t.start].lower() == "-in-"):
            self.take_after(i, self.person, "relative", more=1)
            if self.text[t.start - 1 : t.start] == "(":
                self.take_before(i, self.person, "relative", most=2, more=self.person)
        if (
            k in CREDENTIALS
            and i > 0
            and (t.upper or k in ("md", "rn", "np") or (self.style == "lower" and k not in NEEDS_NAME))
        ):
            self.take_before(i, self.cued if k in NEEDS_NAME else self.signed, "credential")
        if k in VERBS_BEFORE:
            j = i + 1 if i + 1 < len(toks) and toks[i + 1].key in PREPOSITIONS else i
            self.take_after(j, lambda x: self.named(x) or self.first_of_two(x), "verb", more=1)
        elif k in WORDS_AFTER:
            self.take_before(
                i, lambda x: self.named(x) or (L.given_share(x.key) > 0.05 and not is_stop(x)), "verb", most=2
            )

    def is_a_relative(self, i: int) -> bool:
        """Word i is followed by 'is (his|her|the|pt's) <relative or contact>'."""
        toks = self.toks
        if i + 2 >= len(toks) or toks[i + 1].key not in ("is", "was"):
            return False
        j = i + 2
        if toks[j].key in ("his", "her", "the", "pt", "pts", "patient", "patients", "their") and j + 1 < len(toks):
            j += 1
        return toks[j].key in RELATIVES or toks[j].key in ("family", "contact", "hcp", "healthcare", "health")

    def bare(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks):
            if self.why[i] is not None or is_stop(t) or t.initial:
                continue
            share = L.given_share(t.key)
            given = share >= 0.002 and (not L.is_common(t.key) or share >= 0.05) and not L.is_clinical(t.key)
            if given and i + 1 < len(toks) and self.gap(i, i + 1, 1):
                nxt = i + 1
                if (
                    toks[nxt].initial
                    and toks[nxt].text.endswith(".")
                    and nxt + 1 < len(toks)
                    and self.gap(nxt, nxt + 1, 2)
                ):
                    nxt += 1  # Charles W. Smith
                if self.strict(toks[nxt]) or (
                    self.capitalised(toks[nxt])
                    and not L.is_clinical(toks[nxt].key)
                    and (L.is_name(toks[nxt].key) or not L.is_common(toks[nxt].key))
                ):
                    if nxt + 1 < len(toks) and self.gap(nxt, nxt + 1, 1) and self.strict(toks[nxt + 1]):
                        nxt += 1  # Lena Mae Pradeaux
                    for j in range(i, nxt + 1):
                        self.mark(j, "lexicon")
                    continue
            if (
                self.mixed
                and t.title
                and len(t.key) > 2
                and lexicon_name(t)
                and not sentence_start(self.text, t)
                and not L.is_eponym(t.key)
            ):
                self.mark(i, "lexicon")
            elif not self.mixed and L.given_share(t.key) >= 0.02 and len(t.key) > 2 and lexicon_name(t):
                self.mark(i, "given")
            elif (
                self.mixed
                and t.title
                and self.capitalised_unknown(t)
                and i + 1 < len(toks)
                and toks[i + 1].title
                and self.gap(i, i + 1, 1)
                and self.capitalised_unknown(toks[i + 1])
                and not (L.near_drug(t.key) and L.near_drug(toks[i + 1].key))
            ):
                self.mark(i, "unknown-pair")  # two capitalised words no list knows: Veltrina Oskamp
                self.mark(i + 1, "unknown-pair")

    def lines(self) -> None:
        """A line that holds nothing but a name (a signature: 'MARGARET', 'Carole Whitby,'),
        in a note (a one-line field value is not a signature)."""
        if len(self.toks) < NOTE_WORDS:
            return
        start = 0
        toks = self.toks
        for i in range(len(toks) + 1):
            if i == len(toks) or (i > start and "\n" in self.text[toks[i - 1].end : toks[i].start]):
                line = range(start, i)
                if (
                    0 < len(line) <= 3
                    and self._alone(toks[start], toks[i - 1])
                    and all(self.person(toks[j]) or toks[j].initial for j in line)
                    and any(self.known(toks[j]) for j in line)
                ):
                    for j in line:
                        self.mark(j, "signature")
                start = i

    def last_words(self) -> None:
        """A note that ends in a name after its last sentence ('... 1000U/HR. MARGARET')."""
        if len(self.toks) < NOTE_WORDS:
            return
        toks, n = self.toks, len(self.toks)
        i = n
        while i > 0 and n - i < 3 and not re_sentence_end(self.text[toks[i - 1].end : toks[i].start] if i < n else ""):
            i -= 1
        words = range(i, n)
        if (
            words
            and self.text[toks[n - 1].end :].strip(" \t\n,.") == ""
            and (i == 0 or re_sentence_end(self.text[toks[i - 1].end : toks[i].start]))
            and all(self.person(toks[j]) or toks[j].initial for j in words)
            and any(self.known(toks[j]) for j in words)
        ):
            for j in words:
                self.mark(j, "signature")

    def _alone(self, a: Tok, b: Tok) -> bool:
        ls = self.text.rfind("\n", 0, a.start) + 1
        le = self.text.find("\n", b.end)
        le = len(self.text) if le < 0 else le
        return not self.text[ls : a.start].strip() and not self.text[b.end : le].strip(" \t,.")

    def chains(self) -> None:
        """'sons Aaron and Benedict', 'Sunny, Morgan and Lyle': a list goes on."""
        toks = self.toks
        for i in range(len(toks) - 2):
            cue = self.why[i]
            if cue not in ("relative", "title", "lexicon") or self.why[i + 1] is not None:
                continue
            j = i + 1
            while j < len(toks):
                link = toks[j].key in ("and", "&")
                idx = j + 1 if link else j
                if idx >= len(toks) or not (link or self.text[toks[j - 1].end : toks[j].start].strip() == ","):
                    break
                if not self.gap(idx - 1, idx, 3) or not self.person(toks[idx]):
                    break
                if cue == "lexicon" and not (link and toks[idx].title and L.given_share(toks[idx].key) > 0):
                    break  # a name with no cue goes on only as 'Odette and Hal
                self.mark(idx, cue)
                j = idx + 1

    def everywhere(self) -> None:
        found = {
            t.key
            for t, w in zip(self.toks, self.why)
            if w and not t.initial and len(t.key) > 2 and not L.is_common(t.key) and not L.is_clinical(t.key)
        }
        if found:
            for i, t in enumerate(self.toks):
                if self.why[i] is None and t.key in found:
                    self.why[i] = "again"


find = _Evidence.find
