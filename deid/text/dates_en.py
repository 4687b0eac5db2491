"""English dates that need their context: month/day without a year (7/22, on 3/14,
the 11th, July), month/year (12/83) and bare years (CVA 1992, MI '92, CABG 81). A
policy switch (`partial_dates`) decides whether month/day counts: notes are full of
them, and so are doses, strengths and ventilator settings that look the same, which
are told apart here by what stands around them.
"""
from __future__ import annotations

import re

from .rule import Span

MONTH_WORDS = ("january february april june july august september october november december "
               "jan feb apr jun jul aug sep sept oct nov dec may march mar").split()
FULL_MONTHS = frozenset("january february april june july august september october november december".split())
MONTH = "(?:" + "|".join(sorted(MONTH_WORDS, key=len, reverse=True)) + ")"
# words after which a number is a setting, a dose or a score, not a date
SETTING = re.compile(r"(?:\b(?:ps|psv|cpap|peep|bipap|ipap|epap|simv|imv|prvc|vent|settings?|pain|strength|"
                     r"motor|grip|scale|grade|murmur|rated|score|ratio|i:e|bp|map|pa|pap|cvp)\b|\d\s*[x×])[\s:=-]*$",
                     re.IGNORECASE)
STRENGTH = re.compile(r"strength|motor|grip|\bmae\b|extremit|\b[bl]?[ul]e\b|\bble\b|\bbue\b|power|push|pull|flex")
SHORT_MONTHS = frozenset("jan feb apr jun jul aug sep sept oct nov".split())
FRACTIONS = frozenset({"1/2", "1/3", "2/3", "1/4", "3/4", "1/8"})
# events a year follows in a history: MI 1992, CABG '92, CVA in 94
EVENTS = ("mi|cva|cabg|ptca|pci|stent|stents|avr|mvr|tvr|tia|dvt|pe|chf|ppm|aicd|icd|tah|bso|lap|chole|"
          "cholecystectomy|appy|appendectomy|redo|dx|diagnosed|surgery|repair|transplant|nephrectomy|ca|"
          "cancer|ablation|cardioversion|pacemaker|fx|fracture|bypass|mastectomy|hysterectomy|"
          "lobectomy|colectomy|thr|tkr|orif|amputation")
# a four-digit year may also follow these (in 1992, since 2004); a two-digit one may not
YEAR_WORDS = EVENTS + "|since|in|of|year|yr|born|married|widowed"
MD = re.compile(r"(?<![\w/.\-+])(\d{1,2})/(\d{1,2})(?![\d/%A-Za-z]|\.\d|\s*%)")
DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
MD_DASH = re.compile(r"(?<=\bon )(\d{1,2})-(\d{1,2})(?![\d\-/%]|\s*(?:l|lpm|liters?|mg|cc|ml|x|times|days?|hours?|"
                     r"hrs?|min)\b)", re.IGNORECASE)
MD_DOT_YEAR = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})\.(\d{2})(?![\d./])")
ORDINAL = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)\b(?=\s*(?:[.,;:)!?\"]|$|of\b|at\b|in\b|@|\d))", re.IGNORECASE)
MONTH_ALONE = re.compile(rf"\b{MONTH}\b\.?", re.IGNORECASE)
MONTH_DAY = re.compile(rf"\b{MONTH}\.?,?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+'?\d{{2,4}}\b)?"
                       rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}\b\.?(?:,?\s+'?\d{{2,4}}\b)?"
                       rf"|\b{MONTH}\.?,?\s+(?:of\s+)?'?\d{{2,4}}\b", re.IGNORECASE)
APOSTROPHE_YEAR = re.compile(rf"(?<![\w'])'(\d{{2}})\b(?!['’]?s\b)|\b(?:{EVENTS}) (\d{{2}})'(?![sS\w])", re.IGNORECASE)
YEAR4 = re.compile(r"(?<![\d.,/:~#-])((?:19|20)\d{2})(s|S)?(?![\d:/%]|[.,]\d|\s*(?:cc|ml|mg|mcg|units?|u\b|kcal|cal|gm|g\b|"
                   r"x\b|hrs?\b|hours?|pm|am|->))")
NOT_YEAR = r"(?![\d%/:]|\.\d|['’]?s\b|\s*(?:mg|mcg|cc|ml|units?|u\b|%|x\b|min|hrs?\b|mm|cm))"
EVENT_YEAR2 = re.compile(rf"\b(?:{EVENTS})\s+(?:in\s+)?(\d{{2}})\b{NOT_YEAR}(?:\s*(?:and|&|,)\s*(\d{{2}})\b{NOT_YEAR})?",
                         re.IGNORECASE)
EVENT_BEFORE = re.compile(rf"\b(?:{YEAR_WORDS})\b[\s:,'-]*(?:\w+[\s,]+){{0,2}}$", re.IGNORECASE)
NEAR_SETTING = re.compile(r"\b(?:ps|psv|cpap|peep|bipap|vent\w*|settings?|flowby|co/ci|ci|fick|mode)\b", re.I)
PAIN = re.compile(r"pain|\bcp\b|angina|discomfort|ache|hurt|#|scale|medicated")


def _valid_md(m: int, d: int) -> bool:
    return 1 <= m <= 12 and 1 <= d <= DAYS[m]


def find(text: str, partial: bool = True) -> list[Span]:
    """Spans of dates that rules_en's full-date rules leave: month/day and month-only
    forms when `partial`, month/year and years in a history context always."""
    out: list[Span] = []
    add = out.append
    for m in MD.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        before = text[max(0, m.start() - 24):m.start()]
        if SETTING.search(before) or not 1 <= a <= 12 or NEAR_SETTING.search(text[max(0, m.start() - 30):m.start()]):
            continue
        if _valid_md(a, b):
            near = text[max(0, m.start() - 30):m.end() + 30].lower()
            if partial and m.group(0) not in FRACTIONS and not (b == 5 and a <= 5 and STRENGTH.search(near)) \
                    and not (b == 10 and a <= 10 and PAIN.search(near)):
                add(Span("date", m.start(), m.end(), "en:date-month-day", 1.04))
        elif b >= 32 and not re.match(r"['’]?s\b", text[m.end():m.end() + 2]):  # 12/83: month, year
            add(Span("date", m.start(), m.end(), "en:date-month-year", 1.04))
    for m in MD_DOT_YEAR.finditer(text):
        if _valid_md(int(m.group(1)), int(m.group(2))):
            add(Span("date", m.start(), m.end(), "en:date-mdy", 1.05))
    if partial:
        for m in MD_DASH.finditer(text):
            if _valid_md(int(m.group(1)), int(m.group(2))):
                add(Span("date", m.start(), m.end(), "en:date-month-day", 1.04))
        for m in ORDINAL.finditer(text):
            if 1 <= int(m.group(1)) <= 31 and re.search(r"(?:\bthe|\bon|\bof|\bsince|\buntil|,)\s*$",
                                                       text[max(0, m.start() - 8):m.start()], re.IGNORECASE):
                add(Span("date", m.start(), m.end(), "en:date-ordinal", 1.03))
        for m in MONTH_ALONE.finditer(text):
            w = m.group(0).rstrip(".").lower()
            if (w in FULL_MONTHS and (w != "june" or m.group(0)[0].isupper())) or (w in SHORT_MONTHS and re.search(
                    r"\b(?:in|since|until|of|early|late|mid)\s+$", text[max(0, m.start() - 7):m.start()], re.I)):
                add(Span("date", m.start(), m.start() + len(m.group(0).rstrip(".")), "en:date-month", 1.03))
    for m in MONTH_DAY.finditer(text):
        if _month_ok(m.group(0)):
            add(Span("date", m.start(), m.end(), "en:date-words", 1.05))
    for m in APOSTROPHE_YEAR.finditer(text):
        g = 1 if m.group(1) is not None else 2
        add(Span("date", m.start(g) - (g == 1), m.end(g) + (g == 2), "en:date-year", 1.03))
    for m in YEAR4.finditer(text):
        y = int(m.group(1))
        last = y % 100
        if m.group(2) or (y < 2000 and last >= 60) or EVENT_BEFORE.search(text[max(0, m.start() - 40):m.start()]):
            if y <= 2040:
                add(Span("date", m.start(), m.end(), "en:date-year", 1.03))
    for m in EVENT_YEAR2.finditer(text):
        for g in (1, 2):
            if m.group(g) is not None:
                add(Span("date", m.start(g), m.end(g), "en:date-year", 1.03))
    return out


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
