"""English dates that need their context: month/day without a year (7/22, on 3/14,
the 11th, July), month/year (12/83) and bare years (CVA 1992, MI '92, CABG 81). A
policy switch (`partial_dates`) decides whether month/day counts: notes are full of
them, and so are doses, strengths and ventilator settings that look the same, which
are told apart here by what stands around them.
"""

from __future__ import annotations

import re

from .rule import Span
from .tokens import Tokens, tokens

MONTH_WORDS = (
    "january february april june july august september october november december "
    "jan feb apr jun jul aug sep sept oct nov dec may march mar"
).split()
FULL_MONTHS = frozenset("january february april june july august september october november december".split())
MONTH = "(?:" + "|".join(sorted(MONTH_WORDS, key=len, reverse=True)) + ")"
MONTH_SET = frozenset(MONTH_WORDS)
# words after which a number is a setting, a dose or a score, not a date
SETTING = re.compile(
    r"(?:\b(?:ps|psv|cpap|peep|bipap|ipap|epap|simv|imv|prvc|vent|settings?|pain|strength|"
    r"motor|grip|scale|grade|murmur|rated|score|ratio|i:e|bp|map|pa|pap|cvp)\b|\d\s*[x×])[\s:=-]*$",
    re.IGNORECASE,
)
STRENGTH = re.compile(r"strength|motor|grip|\bmae\b|extremit|\b[bl]?[ul]e\b|\bble\b|\bbue\b|power|push|pull|flex")
SHORT_MONTHS = frozenset("jan feb apr jun jul aug sep sept oct nov".split())
FRACTIONS = frozenset({"1/2", "1/3", "2/3", "1/4", "3/4", "1/8"})
# events a year follows in a history: MI 1992, CABG '92, CVA in 94
EVENTS = (
    "mi|cva|cabg|ptca|pci|stent|stents|avr|mvr|tvr|tia|dvt|pe|chf|ppm|aicd|icd|tah|bso|lap|chole|"
    "cholecystectomy|appy|appendectomy|redo|dx|diagnosed|surgery|repair|transplant|nephrectomy|ca|"
    "cancer|ablation|cardioversion|pacemaker|fx|fracture|bypass|mastectomy|hysterectomy|"
    "lobectomy|colectomy|thr|tkr|orif|amputation"
)
# a four-digit year may also follow these (in 1992, since 2004); a two-digit one may not
YEAR_WORDS = EVENTS + "|since|in|of|year|yr|born|married|widowed"
MD = re.compile(r"(?<![\w/.\-+])(\d{1,2})/(\d{1,2})(?![\d/%A-Za-z]|\.\d|\s*%)")
DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MD_DASH = re.compile(
    r"(?<=\bon )(\d{1,2})-(\d{1,2})(?![\d\-/%]|\s*(?:l|lpm|liters?|mg|cc|ml|x|times|days?|hours?|"
    r"hrs?|min)\b)",
    re.IGNORECASE,
)
MD_DOT_YEAR = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})\.(\d{2})(?![\d./])")
ORDINAL_SUFFIXES = frozenset({"st", "nd", "rd", "th"})
# what stands after a month or before it in MONTH_DAY: a month word with neither is not looked at
MONTH_TAIL = re.compile(r"\.?,?\s+(?:of\s+)?'?\d", re.IGNORECASE)
DAY_BEFORE = re.compile(r"\d(?:st|nd|rd|th)?\s+(?:of\s+)?$", re.IGNORECASE)
ORDINAL = re.compile(r"(?=\d)\b(\d{1,2})(?:st|nd|rd|th)\b(?=\s*(?:[.,;:)!?\"]|$|of\b|at\b|in\b|@|\d))", re.IGNORECASE)
MONTH_DAY = re.compile(
    rf"\b{MONTH}\.?,?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+'?\d{{2,4}}\b)?"
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\b\.?(?:,?\s+'?\d{{2,4}}\b)?"
    rf"|\b{MONTH}\.?,?\s+(?:of\s+)?'?\d{{2,4}}\b",
    re.IGNORECASE,
)
# '92; MI 92' (the event is checked before the digits: a scan that starts at the digits
# is quicker than one that tries every event word at every letter)
APOSTROPHE_YEAR = re.compile(r"'(?<![\w']')(\d{2})\b(?!['’]?s\b)")
YEAR_APOSTROPHE = re.compile(r"(?<= )(\d{2})'(?![sS\w])")
EVENT_JUST_BEFORE = re.compile(rf"\b(?:{EVENTS}) $", re.IGNORECASE)
EVENT_WORDS = frozenset(EVENTS.split("|"))
YEAR4 = re.compile(
    r"(?=[12])(?<![\d.,/:~#-])((?:19|20)\d{2})(s|S)?(?![\d:/%]|[.,]\d|\s*(?:cc|ml|mg|mcg|units?|u\b|kcal|cal|gm|g\b|"
    r"x\b|hrs?\b|hours?|pm|am|->))"
)
NOT_YEAR = r"(?![\d%/:]|\.\d|['’]?s\b|\s*(?:mg|mcg|cc|ml|units?|u\b|%|x\b|min|hrs?\b|mm|cm))"
EVENT_YEAR2 = re.compile(
    rf"\b(?:{EVENTS})\s+(?:in\s+)?(\d{{2}})\b{NOT_YEAR}(?:\s*(?:and|&|,)\s*(\d{{2}})\b{NOT_YEAR})?", re.IGNORECASE
)
EVENT_BEFORE = re.compile(rf"\b(?:{YEAR_WORDS})\b[\s:,'-]*(?:\w+[\s,]+){{0,2}}$", re.IGNORECASE)
NEAR_SETTING = re.compile(r"\b(?:ps|psv|cpap|peep|bipap|vent\w*|settings?|flowby|co/ci|ci|fick|mode)\b", re.I)
PAIN = re.compile(r"pain|\bcp\b|angina|discomfort|ache|hurt|#|scale|medicated")
# a verb of an event just before: the number is when it happened, whatever the ventilator
# words around it say (trach placed 9/17)
EVENT_VERB = re.compile(
    r"\b(?:placed|inserted|started|begun|began|changed|done|performed|dated|removed|discontinued|"
    r"d/c'?d|admitted|discharged|extubated|intubated|since|until)\W{0,2}$",
    re.IGNORECASE,
)


def _valid_md(m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= DAYS[m]


def find(text: str, partial: bool = True, toks: Tokens | None = None) -> list[Span]:
    """Spans of dates that rules_en's full-date rules leave: month/day and month-only
    forms when `partial`, month/year and years in a history context always. `toks`:
    the text's tokens, when the caller has them. A form is looked for only where its
    words are (a month, an ordinal suffix, an event): most notes hold few."""
    toks = tokens(text) if toks is None else toks
    out: list[Span] = []
    if "/" in text:
        _slashed(text, partial, out)
    if partial:
        _partial(text, toks, out)
    if not MONTH_SET.isdisjoint(toks.keys) and any(
        MONTH_TAIL.match(text, t.end) or DAY_BEFORE.search(text, max(0, t.start - 40), t.start)
        for t in toks
        if t.key in MONTH_SET
    ):
        for m in MONTH_DAY.finditer(text):
            if _month_ok(m.group(0)):
                out.append(Span("date", m.start(), m.end(), "en:date-words", 1.05))
    _years(text, toks, out)
    return out


def _slashed(text: str, partial: bool, out: list[Span]) -> None:
    """7/22 (when `partial`), 12/83, 7/22.93; not doses, settings or pain scores."""
    add = out.append
    for m in MD.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        before = text[max(0, m.start() - 24) : m.start()]
        if not 1 <= a <= 12 or (
            not EVENT_VERB.search(before)
            and (SETTING.search(before) or NEAR_SETTING.search(text[max(0, m.start() - 30) : m.start()]))
        ):
            continue
        # a mistyped day (4/31) is a date too
        if _valid_md(a, b) or (DAYS[a] < b <= 31 and text[m.start() - 1 : m.start()] in ("", " ", "\n")):
            near = text[max(0, m.start() - 30) : m.end() + 30].lower()
            if (
                partial
                and m.group(0) not in FRACTIONS
                and not (b == 5 and a <= 5 and STRENGTH.search(near))
                and not (b == 10 and a <= 10 and PAIN.search(near))
            ):
                add(Span("date", m.start(), m.end(), "en:date-month-day", 1.04))
        elif b >= 32 and not re.match(r"['’]?s\b", text[m.end() : m.end() + 2]):  # 12/83: month, year
            add(Span("date", m.start(), m.end(), "en:date-month-year", 1.04))
    for m in MD_DOT_YEAR.finditer(text):
        if _valid_md(int(m.group(1)), int(m.group(2))):
            add(Span("date", m.start(), m.end(), "en:date-mdy", 1.05))


def _partial(text: str, toks: Tokens, out: list[Span]) -> None:
    """Month and day without a year: on 7-22, the 11th, July, in Dec."""
    add = out.append
    for m in MD_DASH.finditer(text) if "-" in text else ():
        if _valid_md(int(m.group(1)), int(m.group(2))):
            add(Span("date", m.start(), m.end(), "en:date-month-day", 1.04))
    for m in ORDINAL.finditer(text) if not ORDINAL_SUFFIXES.isdisjoint(toks.keys) else ():
        if 1 <= int(m.group(1)) <= 31 and re.search(
            r"(?:\bthe|\bon|\bof|\bsince|\buntil|,)\s*$", text[max(0, m.start() - 8) : m.start()], re.IGNORECASE
        ):
            add(Span("date", m.start(), m.end(), "en:date-ordinal", 1.03))
    for t in toks if not MONTH_SET.isdisjoint(toks.keys) else ():
        w = t.key
        if w not in MONTH_SET or not _whole_word(text, t.start, t.start + len(w)):
            continue
        if (w in FULL_MONTHS and (w != "june" or text[t.start].isupper())) or (
            w in SHORT_MONTHS
            and re.search(r"\b(?:in|since|until|of|early|late|mid)\s+$", text[max(0, t.start - 7) : t.start], re.I)
        ):
            add(Span("date", t.start, t.start + len(w), "en:date-month", 1.03))


def _years(text: str, toks: Tokens, out: list[Span]) -> None:
    """'92, MI 92', 1992 after an event or in the 60s to 90s, CABG 81 and 85."""
    add = out.append
    if "'" in text:
        for m in APOSTROPHE_YEAR.finditer(text):
            add(Span("date", m.start(1) - 1, m.end(1), "en:date-year", 1.03))
        for m in YEAR_APOSTROPHE.finditer(text):
            if EVENT_JUST_BEFORE.search(text, max(0, m.start() - 16), m.start()):
                add(Span("date", m.start(1), m.end(1) + 1, "en:date-year", 1.03))
    for m in YEAR4.finditer(text):
        y = int(m.group(1))
        last = y % 100
        if m.group(2) or (y < 2000 and last >= 60) or EVENT_BEFORE.search(text[max(0, m.start() - 40) : m.start()]):
            if y <= 2040:
                add(Span("date", m.start(), m.end(), "en:date-year", 1.03))
    end = 0  # matches start at an event word and do not overlap, as a scan of the text would find them
    for t in toks if not EVENT_WORDS.isdisjoint(toks.keys) else ():
        if t.key in EVENT_WORDS and t.start >= end:
            ym = EVENT_YEAR2.match(text, t.start)
            if ym:
                end = ym.end()
                for g in (1, 2):
                    if ym.group(g) is not None:
                        add(Span("date", ym.start(g), ym.end(g), "en:date-year", 1.03))


def _whole_word(text: str, s: int, e: int) -> bool:
    """text[s:e] is a word of its own (what \\b...\\b means in a pattern)."""
    return (s == 0 or not (text[s - 1].isalnum() or text[s - 1] == "_")) and (
        e >= len(text) or not (text[e].isalnum() or text[e] == "_")
    )


def _month_ok(s: str) -> bool:
    """'dec 10' is 'decreased 10' as often as December: a short month that is also a
    clinical abbreviation (dec, mar, may) needs a year or an ordinal day with it."""
    w = re.match(r"[A-Za-z]+", s)
    if w is None:
        return True  # '3 March': the month follows the day
    word = w.group(0).lower()
    if word in ("dec", "mar", "may", "march") and not re.search(r"(?:st|nd|rd|th|\.|,)\s|'?\d{2,4}\s*$|\d{4}", s):
        return bool(re.search(r"\d(?:st|nd|rd|th)", s)) or bool(re.search(r"\d{4}|'\d{2}", s))
    return True
