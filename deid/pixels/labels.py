"""Labels that announce an identifier in burned-in text (`Sex:`, `DOB`, `姓名：`).

Annotation layouts put a label and its value on one line, often as two boxes: the value
may be one or two characters (`M`, `F`, `女`, `045Y`) that no recognizer can call PHI on
its own. A value whose label announces PHI is redacted whatever it reads as, and a
safe word (`L`, `R`) is kept only when it stands alone, not after any label.
"""

from __future__ import annotations

import re

# what a label says, lower case, without its colon; English and Chinese layouts
PHI_LABELS = frozenset(
    """
name|patient|patient name|pt name|pat name|pt|patient id|pid|id|id#|id no|mrn|mr#|mr no|mrn#|hosp no|
hospital no|chart no|chart#|acc|acc#|acc no|accession|accession no|accession#|exam no|study id|visit no|
case no|sex|gender|dob|d.o.b|birth|birth date|birthdate|date of birth|born|age|yrs|date|study date|exam date|
acq date|scan date|dos|time|study time|hospital|institution|inst|facility|site|dept|department|ward|bed|
room|physician|ref|ref phys|ref dr|referring|referring physician|dr|doctor|operator|tech|technologist|
phone|tel|address|addr|ssn|insurance|
姓名|患者|患者姓名|病人|病人姓名|性别|年龄|出生|出生日期|生日|身份证|身份证号|证件号|住院号|门诊号|检查号|病历号|病案号|
影像号|登记号|就诊号|id号|床号|床位|科室|病区|日期|检查日期|时间|检查时间|医院|单位|医师|医生|申请医生|送检医生|电话|
联系电话|住址|地址""".replace("\n", "").split("|")
)

# labels that announce identity even without a colon (`Age 90Y Sex MALE`, `ID 12345`):
# words too plain to be read that way alone (date, time, site, room) need their colon
STRONG_LABELS = frozenset(
    """
name|patient name|pt name|patient id|pid|id|mrn|mr#|dob|d.o.b|birth|birth date|birthdate|
date of birth|sex|gender|age|acc|acc#|accession|accession no|ssn|
姓名|患者|性别|年龄|出生日期|生日|身份证号|住院号|门诊号|检查号|病历号|病案号|影像号|登记号|就诊号|id号""".replace(
        "\n", ""
    ).split("|")
)

_COLON = ":："
_TOKEN = re.compile(r"[:：]|[^\s:：]+")


def _key(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip(_COLON).strip().lower().replace("．", "."))


def is_label(text: str) -> bool:
    """Text that is a label and nothing else: ends with a colon, or is a known PHI label."""
    t = text.strip()
    return bool(t) and (t[-1] in _COLON or _key(t) in PHI_LABELS)


def is_phi_label(text: str) -> bool:
    """A label (alone in its box) that announces an identifier."""
    return _key(text) in PHI_LABELS


def labelled_phi(text: str) -> bool:
    """A box that holds a PHI label followed by a value: after a colon (`Sex: M`,
    `DOB:1962`, `姓名：张三`), or after a label that announces identity on its own
    (`Age 90Y Sex MALE`, `ID 12345`)."""
    toks = [(m.group(), m.end()) for m in _TOKEN.finditer(text)]
    for i in range(len(toks)):
        for n in (1, 2, 3):
            words = [t for t, _e in toks[i : i + n]]
            if len(words) < n or any(w in _COLON for w in words):
                break
            key = _key(" ".join(words))
            end = toks[i + n - 1][1]
            colon = i + n < len(toks) and toks[i + n][0] in _COLON
            rest = text[toks[i + n][1] :] if colon else text[end:]
            if any(c.isalnum() for c in rest) and (key in STRONG_LABELS or (colon and key in PHI_LABELS)):
                return True
    return False


# sex and age as burned into a banner without their labels (`Female`, `054Y`, `36 yrs`,
# `女`, `45岁`): quasi-identifiers the header profile removes, so redact-phi removes them too
_DEMOGRAPHIC = re.compile(
    r"^(?:m|f|male|female|man|woman|other|unknown|o|男|女|男性|女性|"
    r"\d{1,3}\s*(?:y|yr|yrs|years?|mo|mos|months?|岁|个月|月|天|周)"
    r"(?:\s*(?:old|/?\s*[mf男女]))?)$",
    re.IGNORECASE,
)


def demographic(text: str) -> bool:
    """A box that is only a sex or an age (`F`, `Female`, `045Y`, `36 yrs`, `54Y/F`, `45岁`)."""
    return bool(_DEMOGRAPHIC.match(text.strip().strip(".,;:").strip()))
