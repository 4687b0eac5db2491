"""English place names of notes: hospitals and other facilities (by their suffix:
Hospital, Memorial, Regional, Rehab, House ...; by "St." before a saint's name;
"U Maryland"), wards named after buildings (transferred to Hallorann 5, HALLORANN4),
short hospital codes where a patient is sent (transferred to WH, WH EW), regions named
by a direction and a landform (the Western Shore), a landform noun used as a name
(a surgeon from Valley), employers (OWNER OF ZENTROX), and US cities from the shipped
gazetteer (lexicon.places). States are not identifying (HIPAA Safe Harbor keeps them) and are
found only as part of "City, ST". A place found once is found at every other
occurrence in the text.

Evidence is the word's kind (not English, not clinical, in the gazetteer), the words
before it (from, to, at, transferred, lives in) and its capitals where the note's case
tells anything (tokens.Marks.capital): never a list of the places of any evaluation set.
"""

from __future__ import annotations

import re

from . import lexicon as L
from .rule import Span
from .tokens import Marks, Tok, is_stop, sentence_start, unknown_word

SUFFIXES = frozenset(
    "hospital hospitals hosp hospiatal clinic center centre ctr memorial regional rehab "
    "rehabilitation nh house manor infirmary hospice healthcare institute campus".split()
)
# suffixes that make a facility of plain English words (mercy heart hospital); the
# others need a word before them that is not plain English (Drummond Clinic), or two
# plain words after a preposition (accepted by Bright Meadow Rehab)
STRONG = frozenset("hospital hospitals hosp hospiatal memorial regional manor infirmary hospice campus".split())
IN_NAME = frozenset("memorial general regional rehab rehabilitation medical adventist".split())
GENERIC = frozenset(
    """outside other local same previous prior new old nearest community private receiving referring
sending transferring psychiatric state county city general regional medical rehab nursing the this that his her
their another any emergency teaching veterans va childrens acute chronic day home half open full big""".split()
)
MOVES = frozenset(
    """transferred transfered transfer trans tx txd sent brought taken admitted adm referred followed came
come went go going return returned returning arrived presented seen screened accepted excepted managed discharged dc
enroute flown flew d/c'd transported moved team outpatient arrival medflight""".split()
)
PREPS = frozenset("to at from into @ by in".split())
PLACE_CUES = frozenset("in from of near lives living resides visiting moved outside".split())
NOT_CODES = frozenset("am pm dr mr mrs ms".split())
FLOOR = re.compile(r" ?\d{1,2}(?![\d'’]|\.\d|\s*(?:mg|mcg|ml|cc|%|u\b|units?|l\b|lpm|hrs?|min|x\b))", re.IGNORECASE)
NUMBER_AFTER = re.compile(r"(?<=[A-Za-z.'’]) ?\d")  # where a word ends and a number follows: wards' floors
HOSPITAL_AREAS = frozenset("er ew ed cath icu ccu micu".split())
STATES = frozenset(
    """alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi
missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington
wisconsin wyoming""".split()
)
STATE_CODES = frozenset(
    """al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm
ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc""".split()
)
# landforms that name a place when capitalised as one (Valley, the Western Shore) and
# the directions that, with one, name a region
LANDFORMS = frozenset(
    """harbor harbour shore shores coast bay valley island islands peninsula lake lakes hills
heights springs beach falls cape highlands lowlands panhandle""".split()
)
DIRECTIONS = frozenset(
    """north south east west northern southern eastern western upper lower central northeast
northwest southeast southwest mid""".split()
)
# an employer after these: owner of Zentrox, works for Acme, retired from the mill
JOBS = frozenset("ceo president owner chairman founder manager director employee".split())
WORKS = frozenset("works worked working employed retired job".split())


class _Places(Marks):
    GAP = frozenset(" \t.-'")
    PASSES = (
        "facilities",
        "saints",
        "universities",
        "wards",
        "moves",
        "areas",
        "regions",
        "employers",
        "cities",
        "everywhere",
    )
    CATEGORY, PREFIX = "location", "en:location"

    def nameish(self, t: Tok, strong: bool = False, lower_ok: bool = False) -> bool:
        """A word that may be part of a place's name. Before a strong suffix an English
        word that is also a clinical term may be one too (Mercy Heart Hospital), and so
        may a lower-case word where the suffix is capitalised (mercy heart Memorial)."""
        if is_stop(t) or (t.key in GENERIC and t.key not in IN_NAME) or t.initial:
            return False
        if (
            L.is_clinical(t.key)
            and t.key not in SUFFIXES
            and not (self.mixed and t.title)
            and not (strong and L.is_common(t.key))
        ):
            return False
        return not self.mixed or t.title or t.upper or lower_ok

    def cued(self, j: int) -> bool:
        """Word j follows a preposition or a verb of moving ('the' between: from the
        Western Shore, sent from Regional Hospital) or an opening parenthesis."""
        toks = self.toks
        if self.text[toks[j].start - 1 : toks[j].start] == "(":
            return True
        k = j - 1 if j == 0 or toks[j - 1].key != "the" else j - 2
        return k >= 0 and (toks[k].key in PREPS or toks[k].key in MOVES)

    def facilities(self) -> None:
        """Drummond Hospital, ASHFORD REGIONAL, mercy heart Memorial, Tarrant House, from
        Regional Hospital, accepted by Bright Meadow Rehab, NJ HOSPITAL: the name with its
        suffix."""
        toks = self.toks
        for i, t in enumerate(toks):
            if t.key not in SUFFIXES:
                continue
            strong = t.key in STRONG
            lower_ok = strong and (t.title or t.upper)
            j, run = i - 1, []
            while j >= 0 and i - j <= 3 and self.gap(j, j + 1, 2) and self.nameish(toks[j], strong, lower_ok):
                run.append(j)
                j -= 1
            run = [r for r in run if toks[r].key not in SUFFIXES or toks[r].key in IN_NAME]
            if not run:
                if (
                    strong
                    and i > 0
                    and toks[i - 1].upper
                    and toks[i - 1].key in STATE_CODES
                    and not is_stop(toks[i - 1])
                    and self.gap(i - 1, i, 1)
                ):
                    self.why[i - 1] = self.why[i] = "facility"  # NJ HOSPITAL
                continue
            named = [r for r in run if toks[r].key not in IN_NAME]
            cue = self.cued(run[-1])
            if not named:  # Regional Hospital, the regional hospital: a name where a patient goes
                ok = strong and cue
            elif not all(L.is_common(toks[r].key) for r in run):
                ok = True
            else:  # plain words: LEAVE HOSPITAL is no place, to mercy heart hospital is
                titled = self.mixed and all(toks[r].title or toks[r].upper for r in run)
                ok = (strong and (cue or titled)) or (len(named) >= 2 and cue)
            if ok:
                for r in run + [i]:
                    self.why[r] = "facility"

    def saints(self) -> None:
        """St. Brigid, ST. MARY, St Mary's (not ST elevation)."""
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            if t.key in ("st", "saint") and self.gap(i, i + 1, 2):
                n = toks[i + 1]
                if (n.initial and n.text.endswith(".") or not is_stop(n) and L.given_share(n.key) > 0) and (
                    n.title or n.upper or not self.mixed
                ):
                    self.why[i] = self.why[i + 1] = "saint"

    def universities(self) -> None:
        """U Maryland, University of Maryland."""
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            if t.key in ("u", "univ", "university") and (t.upper or t.title):
                j = i + 1
                if toks[j].key == "of" and j + 1 < len(toks):
                    j += 1
                if toks[j].key in STATES:
                    for k in range(i, j + 1):
                        self.why[k] = "university"

    def wards(self) -> None:
        """A building or ward and its floor: transferred to Hallorann 5, HALLORANN7."""
        toks, text = self.toks, self.text
        ends = {m.start() for m in NUMBER_AFTER.finditer(text)}
        for i, t in enumerate(toks):
            if (
                t.end in ends
                and len(t.key) >= 4
                and unknown_word(t)
                and FLOOR.match(text, t.end)
                and (t.title or t.upper or t.text.islower())
                and i > 0
                and (toks[i - 1].key in ("to", "from", "on", "per", "at", "in", "into") or toks[i - 1].key in MOVES)
            ):
                self.why[i] = "ward"

    def moves(self) -> None:
        """Where a patient is sent: transferred to WH, came into WH EW, followed at wh."""
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            if t.key not in PREPS and t.text != "@":
                continue
            mover = any(toks[k].key in MOVES for k in range(max(0, i - 4), i))
            j = i + 1
            if toks[j].key == "the" and j + 1 < len(toks):
                j += 1
            n = toks[j]
            area = j + 1 < len(toks) and toks[j + 1].key in HOSPITAL_AREAS
            code = (
                2 <= len(n.key) <= 4
                and n.key.isalpha()
                and not L.is_clinical(n.key)
                and not is_stop(n)
                and not L.is_common(n.key)
                and n.key not in STATE_CODES
                and n.key not in NOT_CODES
                and (n.upper or not self.mixed)
                and not self.text[n.start - 1 : n.start].isdigit()
            )
            if code and (mover or area):
                self.why[j] = "move"
            elif n.key == "dc" and t.key == "in" and n.upper:  # lives in DC
                self.why[j] = "move"
            elif t.key != "by" and self.mixed and n.title and not L.is_clinical(n.key) and not is_stop(n):
                k = j + 1  # then capitalised words; a clinical one only if English too (Mercy Heart)
                while (
                    k < len(toks)
                    and k - j < 3
                    and toks[k].title
                    and self.gap(k - 1, k, 1)
                    and not is_stop(toks[k])
                    and (not L.is_clinical(toks[k].key) or L.is_common(toks[k].key))
                ):
                    k += 1
                if (
                    k - j >= 2
                    or (mover and unknown_word(n))
                    or (n.key in LANDFORMS and not sentence_start(self.text, n))
                ):  # a surgeon from Valley
                    for m in range(j, k):
                        self.why[m] = "move"

    def areas(self) -> None:
        """A hospital code before its emergency room or lab: WH EW, WH ER, WH CATH LAB."""
        toks = self.toks
        for i, n in enumerate(toks[:-1]):
            if (
                toks[i + 1].key in ("er", "ew", "ed", "cath")
                and n.upper
                and 2 <= len(n.key) <= 4
                and not L.is_clinical(n.key)
                and not L.is_common(n.key)
                and not is_stop(n)
                and n.key not in STATE_CODES
                and n.key not in NOT_CODES
                and self.gap(i, i + 1, 1)
            ):
                self.why[i] = "area"

    def regions(self) -> None:
        """A direction and a landform: the Western Shore, North Coast, the Upper Peninsula
        (capitalised where case tells, else after 'the' and a preposition)."""
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            n = toks[i + 1]
            if (
                t.key in DIRECTIONS
                and n.key in LANDFORMS
                and self.gap(i, i + 1, 1)
                and (
                    (self.mixed and (t.title or t.upper) and (n.title or n.upper))
                    or (not self.mixed and i > 0 and toks[i - 1].key == "the" and self.cued(i))
                )
            ):
                self.why[i] = self.why[i + 1] = "region"

    def employers(self) -> None:
        """Where someone works: OWNER OF ZENTROX, works for Acme, retired from Dunmore Mills:
        up to three words that are not English (or capitalised where case tells) and not
        clinical."""
        toks = self.toks
        for i, t in enumerate(toks[:-2]):
            if not (
                (t.key in JOBS and toks[i + 1].key == "of")
                or (t.key in WORKS and toks[i + 1].key in ("at", "for", "by", "from", "with"))
            ):
                continue
            j = i + 2
            if toks[j].key == "the" and j + 1 < len(toks):
                j += 1
            k = j
            while (
                k < len(toks)
                and k - j < 3
                and (k == j or self.gap(k - 1, k, 1))
                and not is_stop(toks[k])
                and not L.is_clinical(toks[k].key)
                and (unknown_word(toks[k]) or (self.mixed and toks[k].title))
            ):
                k += 1
            for m in range(j, k):
                self.why[m] = "employer"

    def cities(self) -> None:
        """US places from the gazetteer: up to three words, case-blind where case tells
        nothing; a one-word place that is also an English word or a person's name needs
        a cue before it (lives in, from, near)."""
        toks, places, starts = self.toks, L.places(), L.place_starts()
        free = 0  # the first token not yet part of a place
        for i in [i for i, t in enumerate(toks) if t.key in starts]:
            if i < free:
                continue
            best = 0
            for n in range(min(starts[toks[i].key], 3, len(toks) - i), 0, -1):
                if all(self.gap(k, k + 1, 1) for k in range(i, i + n - 1)):
                    phrase = " ".join(toks[k].key for k in range(i, i + n))
                    if phrase in places and phrase not in STATES:
                        best = n
                        break
            if best:
                words = toks[i : i + best]
                cased = all(w.title or w.upper for w in words) or not self.mixed
                one = words[0]
                word = best == 1 and (L.is_common(one.key) or L.given_share(one.key) > 0)
                # one word: not English, and set apart by its case; a surname too only where
                # case tells nothing else (a capital in a lower-case note is a name or a place)
                plain = best > 1 or (
                    unknown_word(one) and self.capital(one) and not (self.mixed and L.is_name(one.key))
                )
                cue = (
                    (
                        i > 0
                        and toks[i - 1].key in PLACE_CUES
                        and not (toks[i - 1].key == "of" and (L.is_name(one.key) or L.is_eponym(one.key)))
                    )
                    or (i + best < len(toks) and toks[i + best].key in STATES)
                    or (i > 0 and toks[i - 1].key in ("to", "at") and self.cued(i - 1))
                )
                if cased and not word and not any(L.is_clinical(w.key) or is_stop(w) for w in words) and (plain or cue):
                    for k in range(i, i + best):
                        self.why[k] = "city"
                    nxt = i + best
                    if (
                        nxt < len(toks)
                        and toks[nxt].key in STATE_CODES
                        and toks[nxt].upper
                        and self.text[toks[nxt - 1].end : toks[nxt].start].strip() == ","
                    ):
                        self.why[nxt] = "city"
                free = i + best

    def everywhere(self) -> None:
        found = {
            t.key
            for t, h in zip(self.toks, self.why)
            if h
            and len(t.key) >= 2
            and not L.is_common(t.key)
            and not L.is_clinical(t.key)
            and t.key not in SUFFIXES
            and t.key not in ("st", "saint", "u")
        }
        for i, t in enumerate(self.toks):
            if not self.why[i] and t.key in found and (t.upper or t.title or not self.mixed):
                self.why[i] = "again"

    def spans(self, category: str, prefix: str, score: float = 1.02) -> list:
        """A ward's floor written onto its name goes with it (HALLORANN4)."""
        out = []
        for sp in super().spans(category, prefix, score):
            e = sp.end
            while e < len(self.text) and self.text[e].isdigit() and e - sp.end < 2:
                e += 1
            out.append(
                sp
                if e == sp.end or (e < len(self.text) and self.text[e].isalnum())
                else Span(sp.category, sp.start, e, sp.rule, sp.score)
            )
        return out


find = _Places.find
