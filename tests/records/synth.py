"""Synthetic evaluation notes, Chinese and English, with gold spans.

Every value comes from faker (zh_CN, en_US, fixed seeds) or from generators here (valid
GB 11643 IDs, Luhn-free phone layouts). Each note is built piece by piece, so the gold
span of every identifier is known exactly. Hard cases on purpose: names with no cue
word, 15-digit IDs, phones split by spaces, dates in every common form, and clinical
terms that start with a surname character (黄疸, 林可霉素) or hold a place (新疆出血热),
which must be kept. `keep` lists those terms' spans.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from faker import Faker

from deid.text.validate import resident_id_check_digit

CLINICAL_ZH = [
    "黄疸",
    "新疆出血热",
    "林可霉素",
    "高血压",
    "白内障",
    "甘露醇",
    "金黄色葡萄球菌",
    "万古霉素",
    "华法林",
    "石膏固定",
    "毛细支气管炎",
    "川崎病",
    "唐氏综合征",
    "贝尔面瘫",
    "马方综合征",
    "房间隔缺损",
    "胡桃夹综合征",
]
CLINICAL_EN = [
    "Parkinson's disease",
    "Foley catheter",
    "Gleason score 7",
    "Apgar 9",
    "Crohn's disease",
    "Hodgkin lymphoma",
    "Down syndrome",
    "Bell's palsy",
    "Glasgow Coma Scale 15",
    "Swan-Ganz catheter",
]
HANZI_DIGITS = "〇一二三四五六七八九"


@dataclass
class Note:
    lang: str
    text: str = ""
    gold: list[tuple[str, int, int]] = field(default_factory=list)  # (category, start, end)
    keep: list[tuple[int, int]] = field(default_factory=list)  # clinical terms

    def add(self, piece: str, category: str | None = None, keep: bool = False) -> None:
        s = len(self.text)
        self.text += piece
        if category:
            self.gold.append((category, s, len(self.text)))
        if keep:
            self.keep.append((s, len(self.text)))


def resident_id(rng: random.Random, born: str) -> str:
    body = f"{rng.choice(['110101', '310104', '440305', '510107', '330106'])}{born}{rng.randint(0, 999):03d}"
    return body + resident_id_check_digit(body)


def old_id(rng: random.Random, born: str) -> str:
    return f"{rng.choice(['110101', '310104', '440305'])}{born[2:]}{rng.randint(0, 999):03d}"


def zh_date(rng: random.Random, fake: Faker) -> str:
    d = fake.date_between_dates(__import__("datetime").date(1950, 1, 1), __import__("datetime").date(2025, 12, 31))
    form = rng.randrange(6)
    if form == 0:
        return f"{d.year}年{d.month}月{d.day}日"
    if form == 1:
        return f"{d:%Y-%m-%d}"
    if form == 2:
        return "".join(HANZI_DIGITS[int(c)] for c in str(d.year)) + f"年{_hz(d.month)}月"
    if form == 3:
        return f"{d.year % 100:02d}/{d.month}/{d.day}"
    if form == 4:
        return f"{d.month}月{d.day}日"
    return f"{d:%Y/%m/%d}"


def _hz(n: int) -> str:
    return "十" + (HANZI_DIGITS[n - 10] if n > 10 else "") if n >= 10 else HANZI_DIGITS[n]


def zh_phone(rng: random.Random, fake: Faker) -> str:
    p = fake.phone_number()
    form = rng.randrange(4)
    if form == 0:
        return f"{p[:3]} {p[3:7]} {p[7:]}"
    if form == 1:
        return f"{p[:3]}-{p[3:7]}-{p[7:]}"
    if form == 2:
        return f"+86 {p}"
    return p


def _start(seed: int, locale: str, lang: str) -> tuple[random.Random, Faker, Note]:
    """Seeded generators and an empty note: the same seed gives the same note."""
    fake = Faker(locale)
    fake.seed_instance(seed)
    return random.Random(seed), fake, Note(lang)


def zh_note(seed: int) -> Note:
    rng, fake, n = _start(seed, "zh_CN", "zh")
    name, mother, doctor = fake.name(), fake.name_female(), fake.name()
    born = fake.date_of_birth(minimum_age=1, maximum_age=90).strftime("%Y%m%d")
    term1, term2 = rng.sample(CLINICAL_ZH, 2)
    if rng.random() < 0.5:  # a name with no cue word at all
        n.add(name, "name")
        n.add(f"，{rng.choice(['男', '女'])}，{rng.randint(1, 85)}岁，因")
    else:
        n.add("患者")
        n.add(name, "name")
        n.add(f"，{rng.choice(['男', '女'])}，{rng.randint(1, 85)}岁，因")
    n.add(term1, keep=True)
    n.add("于")
    n.add(zh_date(rng, fake), "date")
    n.add("入院。身份证号")
    n.add(resident_id(rng, born) if rng.random() < 0.8 else old_id(rng, born), "resident-id")
    n.add("，联系电话")
    n.add(zh_phone(rng, fake), "phone")
    n.add("。住院号：")
    n.add(f"ZY{rng.randint(10**7, 10**8 - 1)}", "mrn")
    n.add("。家住")
    n.add(fake.address().split(" ")[0], "address")
    n.add("。母亲")
    n.add(mother, "name")
    n.add("陪同，")
    if rng.random() < 0.5:
        n.add("邮箱")
        n.add(fake.email(), "email")
        n.add("，")
    n.add("就读于")
    n.add(f"{fake.city_name()}市第{rng.randint(1, 30)}中学", "school")
    n.add(f"{'一二三'[rng.randrange(3)]}年级{rng.randint(1, 9)}班", "school")
    n.add("。既往")
    n.add(term2, keep=True)
    n.add("病史。")
    n.add(doctor, "name")
    n.add(rng.choice(["医生查房，", "主任查看患者，", "护士执行医嘱，"]))
    n.add("于")
    n.add(zh_date(rng, fake), "date")
    n.add("复查。")
    return n


def en_note(seed: int) -> Note:
    rng, fake, n = _start(seed, "en_US", "en")
    old = rng.random() < 0.3
    age = rng.randint(90, 104) if old else rng.randint(20, 85)
    n.add(f"{rng.choice(['Mr.', 'Mrs.', 'Ms.'])} ")
    n.add(f"{fake.first_name()} {fake.last_name()}", "name")
    if old:
        n.add(" is a ")
        n.add(f"{age}-year-old", "age")
    else:
        n.add(f" is a {age}-year-old")
    n.add(" seen on ")
    n.add(fake.date_between("-5y", "today").strftime(rng.choice(["%m/%d/%Y", "%B %d, %Y", "%Y-%m-%d"])), "date")
    n.add(". MRN: ")
    n.add(str(rng.randint(10**6, 10**8)), "mrn")
    n.add(". SSN ")
    n.add(fake.ssn(), "ssn")
    n.add(". Phone ")
    n.add(f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}", "phone")
    n.add(", email ")
    n.add(fake.email(), "email")
    n.add(". Lives at ")
    n.add(f"{rng.randint(1, 9999)} {fake.last_name()} {rng.choice(['Street', 'Avenue', 'Road', 'Lane'])}", "address")
    n.add(", ")
    n.add(f"{fake.city()}, {fake.state_abbr()} {fake.zipcode()}", "address")
    n.add(". History of ")
    n.add(rng.choice(CLINICAL_EN), keep=True)
    n.add(". Reviewed by Dr. ")
    n.add(fake.last_name(), "name")
    n.add("; ")
    n.add(rng.choice(CLINICAL_EN), keep=True)
    n.add(" noted.")
    return n


def notes(lang: str, count: int, seed: int = 1000) -> list[Note]:
    make = zh_note if lang == "zh" else en_note
    return [make(seed + i) for i in range(count)]


def score(notes_: list[Note], predict) -> dict:
    """Per gold category: recall (>= 90 % of the span's characters covered by found spans)
    and the share of clinical terms left untouched; overall precision (found spans that
    overlap a gold span)."""
    per: dict[str, list[int]] = {}
    kept = [0, 0]
    tp_found = n_found = 0
    for note in notes_:
        found = [(s.start, s.end) for s in predict(note.text)]
        cover = [False] * len(note.text)
        for s, e in found:
            for i in range(s, e):
                cover[i] = True
        for cat, s, e in note.gold:
            hit = sum(cover[s:e]) >= 0.9 * (e - s)
            per.setdefault(cat, [0, 0])
            per[cat][0] += hit
            per[cat][1] += 1
        for s, e in note.keep:
            kept[0] += not any(cover[s:e])
            kept[1] += 1
        for s, e in found:
            n_found += 1
            tp_found += any(s < ge and gs < e for _c, gs, ge in note.gold)
    return {
        "recall": {c: h / t for c, (h, t) in per.items()},
        "counts": {c: t for c, (_h, t) in per.items()},
        "clinical_kept": kept[0] / max(1, kept[1]),
        "precision": tp_found / max(1, n_found),
    }
