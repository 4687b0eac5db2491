r"""English identifier rules, after HIPAA Safe Harbor: names next to a title or label
(Mr., Dr., Patient:, Name:), MRNs, SSNs (incl. "SS#"), phone and fax numbers, e-mail,
URLs, IP addresses, street addresses, ZIP codes, dates, ages over 89, and account,
licence and policy numbers after their labels. Eponyms (Parkinson's disease, Foley
catheter, Gleason score) are not people. E-mail, URL and IP rules hold for any language.

Speed: a pattern that starts with a character class is scanned for that class first,
several times faster than one that starts with a look-behind, a word boundary or a
case-blind alternation. So the look-behinds follow the first digit (\d(?<![\d/.]\d)) or
a look-ahead names the first letters ((?=[MmPp...])); each rule's `needs`, `chars`,
`words` and `probe` (rule.Rule) skip it on a text that cannot hold a match.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from . import lexicon
from .rule import Rule, Span
from .rules_zh import has_digit
from .validate import real_date, ssn

DATA = Path(__file__).resolve().parent / "data"
MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?"
    r"|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
EPONYM_NOUNS = (
    "disease",
    "syndrome",
    "sign",
    "score",
    "scale",
    "test",
    "catheter",
    "classification",
    "criteria",
    "procedure",
    "fracture",
    "palsy",
    "lymphoma",
    "reflex",
    "maneuver",
    "manoeuvre",
    "position",
    "tube",
    "monitor",
    "operation",
    "anastomosis",
    "node",
    "law",
    "phenomenon",
    "triad",
    "stage",
    "grade",
)
NAME = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"


@lru_cache(maxsize=1)
def eponyms() -> frozenset[str]:
    return frozenset(
        ln.strip().lower()
        for ln in (DATA / "eponyms_en.txt").read_text("utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    )


def _mdy(t: str) -> bool:
    nums = [int(x) for x in re.findall(r"\d+", t)]
    if len(nums) < 3:
        return True
    m, d, y = nums[:3]
    if y < 100:
        y += 2000 if y < 50 else 1900
    return real_date(y, m, d)


def _ymd(t: str) -> bool:
    y, m, d = (int(x) for x in re.findall(r"\d+", t)[:3])
    return real_date(y, m, d)


# capitalised words that follow "Patient:" or "Nurse:" in notes and are not names
NOT_NAMES = frozenset(
    """denies alert vitals stable reports states presents complains is was has had tolerating
afebrile awake oriented doing feeling seen notes cardiology consult service education teaching instructions
unknown none declined refused admitted discharged transferred deceased male female name no yes the a an this
resting sleeping ambulating comfortable pleasant cooperative agrees understands verbalizes requests""".split()
)


def _not_a_word(t: str) -> bool:
    """After 'Pt-' or 'Name:': not a clinical word, a drug, or a misspelt drug (Pt- Metoprolo)."""
    first = t.split()[0].strip(",")
    k = lexicon.key(first)
    if k in NOT_NAMES or lexicon.is_clinical(k) or (lexicon.is_common(k) and not lexicon.is_name(k)):
        return False
    return lexicon.is_name(k) or not lexicon.near_drug(k)


def _age_over_89(t: str) -> bool:
    m = re.search(r"\d+", t)
    assert m is not None  # the rule's group is digits
    return int(m.group()) >= 90


def _ipv4(t: str) -> bool:
    return all(0 <= int(p) <= 255 for p in t.split("."))


def _r(p: str, flags: int = 0) -> re.Pattern:
    return re.compile(p, flags)


LABEL = (
    r"(?:Patient(?:\s+name)?|Pt(?:\s+name)?|Name|Mother|Father|Guardian|Spouse|Husband|Wife|Son|Daughter"
    r"|Next\s+of\s+kin|NOK|Contact|Emergency\s+contact|Attending|Physician|Provider|Surgeon|Nurse|RN|MD"
    r"|Signed(?:\s+by)?|Electronically\s+signed\s+by|Dictated\s+by|Referred\s+by|Seen\s+by)"
)


def glued(labels: str, suffixes: str) -> frozenset:
    """Label words as a text's words may hold them: alone, or with a suffix written on
    (AccountID, PhoneNo, PagerNum): what a rule's `words` must list."""
    return frozenset(w + s for w in labels.split() for s in ("", *suffixes.split()))


LABEL_WORDS = frozenset(
    """patient pt name mother father guardian spouse husband wife son daughter next kin nok contact
emergency attending physician provider surgeon nurse rn md signed electronically dictated referred seen""".split()
)
# month names as words (tokens.Tok.key), every form MONTHS matches
MONTH_WORDS = frozenset(
    """jan january feb february mar march apr april may jun june jul july aug august sep sept
september oct october nov november dec december""".split()
)

RULES: tuple[Rule, ...] = (
    Rule(
        "en:name-label",
        "name",
        _r(rf"(?=[PNMFGSHWDCEAR])\b{LABEL}\s*[:#-]\s*((?:{NAME},?\s+){{0,2}}{NAME})"),
        1,
        lambda t: _not_a_word(t),
        priority=3,
        words=LABEL_WORDS,
        chars=":#-",
    ),
    Rule(
        "en:mrn",
        "mrn",
        _r(
            r"(?=[MmPpCcEeVv])(?<![A-Za-z])(?:MRN|MR\s?#|Medical\s+Record\s+(?:Number|No\.?|#)|Med\s+Rec\s+#"
            r"|Patient\s+ID|Pt\s+ID|Chart\s+(?:No|#)|Encounter\s+(?:ID|#|No\.?)|Visit\s+(?:ID|#))\s*[:#]?\s*"
            r"([A-Z0-9][A-Z0-9\-]{3,19})",
            re.IGNORECASE,
        ),
        1,
        has_digit,
        priority=25,
        needs=("mr", "med", "id", "chart", "encounter", "visit"),
    ),
    Rule("en:ssn", "ssn", _r(r"(\d(?<![\d-]\d)\d{2}-\d{2}-\d{4})(?![\d-])"), 1, ssn, priority=20, chars="-"),
    Rule(
        "en:ssn-label",
        "ssn",
        _r(
            r"(?<![A-Za-z])(?:SSN|SS\s?#|Social\s+Security(?:\s+(?:Number|No\.?|#))?)\s*[:#]?\s*"
            r"(\d{3}[- ]?\d{2}[- ]?\d{4})",
            re.IGNORECASE,
        ),
        1,
        priority=22,
        words=frozenset({"ssn", "ss", "social"}),
    ),
    Rule(
        "en:phone",
        "phone",
        _r(
            r"(?=[+(\d])(?<![0-9A-Za-z+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?!\d)"
        ),
        priority=12,
    ),
    Rule(
        "en:phone-label",
        "phone",
        _r(
            r"(?=[PpTtCcMmFfHhWw])\b(?:Phone|Tel|Telephone|Cell|Mobile|Fax|Pager|Home|Work)\s*(?:#|No\.?|number)?\s*[:#]?\s*"
            r"(\+?[\d(][\d\s().-]{6,18}\d)",
            re.IGNORECASE,
        ),
        1,
        priority=12,
        words=glued("phone tel telephone cell mobile fax pager home work", "no number"),
    ),
    # a phone number mistyped inside parentheses: (410555-0172), (301 555 01234)
    Rule(
        "en:phone-parenthesised",
        "phone",
        _r(r"\(\d[\d -]{8,14}\d\)"),
        0,
        lambda t: 10 <= sum(c.isdigit() for c in t) <= 11,
        priority=11,
        chars="(",
    ),
    Rule(
        "en:pager",
        "phone",
        _r(
            r"(?=[PpBbEe])\b(?:pager|pgr|pg|beeper|bpr|ext|extension)\.?\s*(?:#|number|no\.?|num)?\s*[:#]?\s*#?\s*(\d{4,6})\b",
            re.IGNORECASE,
        ),
        1,
        priority=12,
        words=glued("pager pgr pg beeper bpr ext extension", "no num number"),
    ),
    Rule("any:email", "email", _r(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), priority=30, chars="@"),
    Rule(
        "any:url",
        "url",
        _r(r"(?<![A-Za-z0-9])(?:https?://|www\.)[^\s<>\"'，。]+", re.IGNORECASE),
        priority=28,
        words=frozenset({"http", "https", "www"}),
    ),
    Rule(
        "any:ipv4", "ip", _r(r"(\d(?<![\d./]\d)\d{0,2}(?:\.\d{1,3}){3})(?!\.?\d|/)"), 1, _ipv4, priority=20, chars="."
    ),
    Rule(
        "any:ipv6",
        "ip",
        _r(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])"),
        priority=20,
        probe=re.compile(r":[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:"),
    ),
    Rule(
        "en:street",
        "address",
        _r(
            r"\d(?<!\w\d)\d{0,5}\s+(?:[NSEW]\.?\s+)?(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd"
            r"|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Ter|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq"
            r"|Trail|Trl|Crossing|Xing|Loop|Path|Pike|Row|Run|Walk|Alley|Plaza|Ridge|Station|Stream|Street)\b\.?"
            r"(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|#|Room|Rm)\.?\s*[\w-]+)?"
        ),
        priority=6,
    ),
    Rule(
        "en:po-box", "address", _r(r"\bP\.?\s?O\.?\s+Box\s+\d+\b", re.IGNORECASE), priority=6, words=frozenset({"box"})
    ),
    Rule(
        "en:city-state-zip",
        "address",
        _r(
            r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2},?\s+(?:A[KLRZ]|C[AOT]|D[CE]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]"
            r"|O[HKR]|P[ARW]|RI|S[CD]|T[NX]|UT|V[AIT]|W[AIVY]|AS|FM|GU|MH|MP|A[AEP])\s+\d{5}(?:-\d{4})?\b"
        ),
        priority=7,
        probe=re.compile(r"\d{5}"),
    ),
    Rule(
        "en:zip-label",
        "address",
        _r(r"\b(?:ZIP|Zip\s+code|Postal\s+code)\s*[:#]?\s*(\d{5}(?:-\d{4})?)\b", re.IGNORECASE),
        1,
        priority=7,
        words=frozenset({"zip", "postal"}),
    ),
    Rule(
        "en:date-mdy",
        "date",
        _r(r"\d(?<![\d/.]\d)(?<!\d-\d)\d?([/-])\d{1,2}\1(?:\d{4}|\d{2})(?![\d/-]|\.\d|\s*%)"),
        check=_mdy,
        priority=5,
        chars="/-",
    ),
    Rule(
        "en:date-iso",
        "date",
        _r(
            r"(?<![\d/.-])(?:18|19|20)\d{2}-\d{1,2}-\d{1,2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"
            r"(?![\d/-])"
        ),
        check=_ymd,
        priority=5,
        probe=re.compile(r"\d{4}-\d"),
    ),
    Rule(
        "en:date-words",
        "date",
        _r(
            rf"\b{MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:18|19|20)\d{{2}})?\b"
            rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}\.?,?\s+(?:18|19|20)\d{{2}}\b"
            rf"|\b{MONTHS}\.?\s+(?:18|19|20)\d{{2}}\b"
            rf"|\b\d{{1,2}}-{MONTHS}-(?:\d{{4}}|\d{{2}})\b",
            re.IGNORECASE,
        ),
        priority=5,
        words=MONTH_WORDS,
    ),
    Rule(
        "en:age-over-89",
        "age",
        _r(
            r"\b(\d{2,3})[\s-]*(?:years?[\s-]*old|y/?o|yrs?[\s-]*old|year-old|yo)\b"
            r"|\b(?:aged?|age:)\s*(\d{2,3})\b",
            re.IGNORECASE,
        ),
        0,
        _age_over_89,
        needs=("y", "ag"),
        probe=re.compile(r"9\d|\d{3}"),
    ),
    Rule(
        "en:account",
        "account",
        _r(
            r"(?=[AaPpMmSsGgIiLlDdNnCcVvHh])(?<![A-Za-z])(?:Account|Acct|Policy|Member|Subscriber|Group|Insurance|Medicaid|Medicare|License|Licence|DL|DEA|NPI"
            r"|Certificate|Cert|Plate|VIN|Serial|Device\s+ID|Health\s+plan)\s*(?:ID|#|No\.?|Number)?\s*[:#]\s*"
            r"([A-Z0-9][A-Z0-9\-]{4,19})",
            re.IGNORECASE,
        ),
        1,
        priority=24,
        chars=":#",
        words=glued(
            "account acct policy member subscriber group insurance medicaid medicare license licence dl "
            "dea npi certificate cert plate vin serial device health",
            "id no number",
        ),
    ),
    Rule(
        "en:accession",
        "id-number",
        _r(
            r"(?=[AaSsLlOoRrCcPp])(?<![A-Za-z])(?:Accession|Specimen|Lab|Order|Requisition|Case|Pathology|Path)\s*(?:ID|#|No\.?|Number)"
            r"\s*[:#]?\s*([A-Z0-9][A-Z0-9\-]{4,24})",
            re.IGNORECASE,
        ),
        1,
        priority=24,
        words=glued("accession specimen lab order requisition case pathology path", "id no number"),
    ),
    Rule(
        "en:date-dmy-dots",
        "date",
        _r(r"\d(?<![\d.]\d)\d?\.\d{1,2}\.(?:18|19|20)\d{2}(?![\d]|\.\d)"),
        priority=5,
        chars=".",
    ),
    Rule(
        "en:day-month",
        "date",
        _r(rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}\b", re.IGNORECASE),
        priority=4,
        words=MONTH_WORDS,
    ),
    # long digit runs are identifiers, except a lab value or a dose (800000U, 250000/uL)
    Rule(
        "any:id-number",
        "id-number",
        _r(
            r"(?<![0-9A-Za-z.])[A-Za-z]{0,3}[-:#]?\d{6,}(?![0-9]|\.\d)"
            r"(?!\s?(?:U(?![A-Za-z])|IU|u/|/|copies|mg|ml|mL|g(?![A-Za-z])|个|万|单位|拷贝|×|x10))"
        ),
        priority=1,
        probe=re.compile(r"\d{6}"),
    ),
)


def is_eponym(text: str, span: Span) -> bool:
    """A name span made of an eponym followed by its noun: 'Parkinson's disease'."""
    if span.category != "name" or not span.rule.startswith("en:"):
        return False
    words = re.findall(r"[A-Za-z]+", text[span.start : span.end])
    if not words or words[-1].lower() not in eponyms():
        return False
    after = text[span.end : span.end + 24].lower()
    return bool(re.match(r"(?:'s|’s|s')?\s*(?:" + "|".join(EPONYM_NOUNS) + r")\b", after))
