"""English place names of notes: hospitals and other facilities (by their suffix:
Hospital, Memorial, Regional, Rehab, House ...; by "St." before a saint's name;
"U Maryland"), wards named after buildings (transferred to Quartermain 5), short
hospital codes where a patient is sent (transferred to GH, GH EW), and US cities from
the shipped gazetteer (lexicon.places). States are not identifying (HIPAA Safe Harbor
keeps them) and are found only as part of "City, ST". A place found once is found at
every other occurrence in the text.
"""
from __future__ import annotations

import re

from . import lexicon as L
from .tokens import Marks, Tok, is_stop, unknown_word

SUFFIXES = frozenset("hospital hospitals hosp hospiatal clinic center centre ctr memorial regional rehab "
                     "rehabilitation nh house manor infirmary hospice healthcare institute".split())
# suffixes that make a facility of plain English words (sacred heart hospital); the
# others need a word before them that is not plain English (Calvert Clinic)
STRONG = frozenset("hospital hospitals hosp hospiatal memorial regional manor infirmary hospice".split())
IN_NAME = frozenset("memorial general regional rehab rehabilitation medical adventist".split())
GENERIC = frozenset("""outside other local same previous prior new old nearest community private receiving referring
sending transferring psychiatric state county city general regional medical rehab nursing the this that his her
their another any emergency teaching veterans va childrens acute chronic day home half open full big""".split())
MOVES = frozenset("""transferred transfered transfer trans tx txd sent brought taken admitted adm referred followed came
come went go going return returned returning arrived presented seen screened accepted excepted managed discharged dc
enroute flown flew d/c'd transported moved team outpatient arrival medflight""".split())
PREPS = frozenset("to at from into @ by in".split())
PLACE_CUES = frozenset("in from of near lives living resides visiting moved outside".split())
NOT_CODES = frozenset("am pm dr mr mrs ms".split())
FLOOR = re.compile(r" ?\d{1,2}(?![\d'’]|\.\d|\s*(?:mg|mcg|ml|cc|%|u\b|units?|l\b|lpm|hrs?|min|x\b))", re.IGNORECASE)
HOSPITAL_AREAS = frozenset("er ew ed cath icu ccu micu".split())
STATES = frozenset("""alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii
idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi
missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington
wisconsin wyoming""".split())
STATE_CODES = frozenset("""al ak az ar ca co ct de fl ga hi id il in ia ks ky la me md ma mi mn ms mo mt ne nv nh nj nm
ny nc nd oh ok or pa ri sc sd tn tx ut vt va wa wv wi wy dc""".split())


class _Places(Marks):
    GAP = frozenset(" \t.-'")
    PASSES = ("facilities", "saints", "universities", "wards", "moves", "areas", "cities", "everywhere")
    CATEGORY, PREFIX = "location", "en:location"

    def nameish(self, t: Tok, common_ok: bool) -> bool:
        """A word that may be part of a place's name."""
        if is_stop(t) or t.key in GENERIC or t.initial:
            return False
        if L.is_clinical(t.key) and t.key not in SUFFIXES and not (self.mixed and t.title):  # Sacred Heart
            return False
        if self.mixed and not (t.title or t.upper):
            return False
        return common_ok or unknown_word(t) or L.is_name(t.key) or t.key in L.places()

    def facilities(self) -> None:
        """Calvert Hospital, LAUREL REGIONAL, sacred heart Memorial, Keeley House."""
        for i, t in enumerate(self.toks):
            if t.key not in SUFFIXES:
                continue
            j, run = i - 1, []
            while j >= 0 and i - j <= 3 and self.gap(j, j + 1, 2) and self.nameish(self.toks[j], True):
                run.append(j)
                j -= 1
            run = [r for r in run if self.toks[r].key not in SUFFIXES or self.toks[r].key in IN_NAME]
            plain = all(L.is_common(self.toks[r].key) for r in run)
            if plain and run and not self.mixed:  # LEAVE HOSPITAL: plain words need "to/at/from" before them
                plain_ok = run[-1] > 0 and self.toks[run[-1] - 1].key in PREPS
            else:
                plain_ok = self.mixed
            if run and any(self.toks[r].key not in IN_NAME for r in run) and (not plain or (t.key in STRONG
                                                                                               and plain_ok)):
                for r in run:
                    self.why[r] = "facility"
                if t.key in IN_NAME:
                    self.why[i] = "facility"

    def saints(self) -> None:
        """St. Agnes, ST. MARY, St Mary's (not ST elevation)."""
        toks = self.toks
        for i, t in enumerate(toks[:-1]):
            if t.key in ("st", "saint") and self.gap(i, i + 1, 2):
                n = toks[i + 1]
                if (n.initial and n.text.endswith(".") or not is_stop(n) and L.given_share(n.key) > 0) and (
                        n.title or n.upper or not self.mixed):
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
        """A building or ward and its floor: transferred to Quartermain 5, QUARTERMAIN7."""
        toks, text = self.toks, self.text
        for i, t in enumerate(toks):
            if len(t.key) >= 4 and unknown_word(t) and FLOOR.match(text, t.end) and (t.title or t.upper or
                                                                                    t.text.islower()) \
                    and i > 0 and (toks[i - 1].key in ("to", "from", "on", "per", "at", "in", "into")
                                   or toks[i - 1].key in MOVES):
                self.why[i] = "ward"

    def moves(self) -> None:
        """Where a patient is sent: transferred to GH, came into GH EW, followed at gh."""
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
            code = 2 <= len(n.key) <= 4 and n.key.isalpha() and not L.is_clinical(n.key) and not is_stop(n) \
                and not L.is_common(n.key) and n.key not in STATE_CODES and n.key not in NOT_CODES \
                and (n.upper or not self.mixed) and not self.text[n.start - 1:n.start].isdigit()
            if code and (mover or area):
                self.why[j] = "move"
            elif n.key == "dc" and t.key == "in" and n.upper:  # lives in DC
                self.why[j] = "move"
            elif t.key != "by" and self.mixed and n.title and not L.is_clinical(n.key) and not is_stop(n):
                k = j
                while k < len(toks) and k - j < 3 and toks[k].title and not L.is_clinical(toks[k].key) \
                        and (k == j or self.gap(k - 1, k, 1)):
                    k += 1
                if k - j >= 2 or (mover and unknown_word(n)):
                    for m in range(j, k):
                        self.why[m] = "move"

    def areas(self) -> None:
        """A hospital code before its emergency room or lab: GH EW, GH ER, GH CATH LAB."""
        toks = self.toks
        for i, n in enumerate(toks[:-1]):
            if toks[i + 1].key in ("er", "ew", "ed", "cath") and n.upper and 2 <= len(n.key) <= 4 \
                    and not L.is_clinical(n.key) and not L.is_common(n.key) and not is_stop(n) \
                    and n.key not in STATE_CODES and n.key not in NOT_CODES and self.gap(i, i + 1, 1):
                self.why[i] = "area"

    def cities(self) -> None:
        """US places from the gazetteer: up to three words, case-blind where case tells
        nothing; a one-word place that is also an English word or a person's name needs
        a cue before it (lives in, from, near)."""
        toks, places, starts = self.toks, L.places(), L.place_starts()
        i = 0
        while i < len(toks):
            if toks[i].key not in starts:
                i += 1
                continue
            best = 0
            for n in (3, 2, 1):
                if i + n <= len(toks) and all(self.gap(k, k + 1, 1) for k in range(i, i + n - 1)):
                    phrase = " ".join(toks[k].key for k in range(i, i + n))
                    if phrase in places and phrase not in STATES:
                        best = n
                        break
            if best:
                words = toks[i:i + best]
                cased = all(w.title or w.upper for w in words) or not self.mixed
                one = words[0]
                word = best == 1 and (L.is_common(one.key) or L.given_share(one.key) > 0)
                plain = best > 1 or (unknown_word(one) and not L.is_name(one.key) and self.mixed)
                cue = (i > 0 and toks[i - 1].key in PLACE_CUES and not (toks[i - 1].key == "of" and (
                    L.is_name(one.key) or L.is_eponym(one.key)))) or (i + best < len(toks) and
                                                                    toks[i + best].key in STATES)
                if cased and not word and not any(L.is_clinical(w.key) or is_stop(w) for w in words) \
                        and (plain or cue):
                    for k in range(i, i + best):
                        self.why[k] = "city"
                    nxt = i + best
                    if nxt < len(toks) and toks[nxt].key in STATE_CODES and toks[nxt].upper and \
                            self.text[toks[nxt - 1].end:toks[nxt].start].strip() == ",":
                        self.why[nxt] = "city"
                i += best
            else:
                i += 1

    def everywhere(self) -> None:
        found = {t.key for t, h in zip(self.toks, self.why) if h and len(t.key) >= 2 and not L.is_common(t.key)
                 and not L.is_clinical(t.key) and t.key not in SUFFIXES and t.key not in ("st", "saint", "u")}
        for i, t in enumerate(self.toks):
            if not self.why[i] and t.key in found and (t.upper or t.title or not self.mixed):
                self.why[i] = "again"


find = _Places.find
