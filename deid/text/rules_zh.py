"""Chinese identifier rules: resident IDs (GB 11643), phones, bank cards (Luhn),
insurance and hospital numbers after their labels, dates in Chinese forms, ages,
addresses, schools and classes, and person names next to a cue word (患者, 姓名,
母亲, 之子, 医师 ...) with a surname check. Names with no cue at all need the model
(deid.text.ner); a surname followed by a clinical character (黄疸, 林可霉素) is not a name.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from .rule import Rule, Span
from .validate import luhn, real_date, resident_id

DATA = Path(__file__).resolve().parent / "data"
HAN = r"\u4e00-\u9fff"


def _lines(name: str) -> list[str]:
    return [ln.strip() for ln in (DATA / name).read_text("utf-8").splitlines() if ln.strip() and ln[0] != "#"]


@lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    return frozenset(_lines("surnames_zh.txt"))


@lru_cache(maxsize=1)
def provinces() -> tuple[str, ...]:
    """Full and short names, longest first (so 内蒙古自治区 wins over 内蒙古)."""
    names = {n for ln in _lines("provinces_zh.txt") for n in ln.split("\t")}
    return tuple(sorted(names, key=len, reverse=True))


GENERIC_DIVISIONS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "城区", "郊区", "矿区"}


@lru_cache(maxsize=1)
def divisions() -> dict[str, str]:
    """adcode -> name for every province, prefecture and county (data/divisions_zh.tsv)."""
    out = {}
    for ln in _lines("divisions_zh.tsv"):
        code, name = ln.split("\t")
        if len(name) >= 2 and name not in GENERIC_DIVISIONS:
            out[code] = name
    return out


def trie_pattern(words: Iterable[str]) -> str:
    """One regex alternation for many literal words, factored by common prefix (Python's
    re tries alternatives one by one; a trie keeps 3,500 place names fast)."""
    trie: dict = {}
    for w in words:
        node = trie
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(c) + build(sub) for c, sub in sorted(node.items()) if c]
        end = "" in node
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if end else body

    return build(trie)


# characters that do not occur in given names but do in symptoms, drugs and findings
# (素 and 心 are not here: 陈素珊, 魏兰心 are names; 维生素, 心悸 are caught as words)
CLINICAL_CHARS = set(
    "疸热压痛咳痰炎癌瘤病症酸药片针便尿吐泻肿胀晕烧呕血脓疹痒麻痹瘫疝栓塞梗死衰竭"
    "霉菌毒菌汁液膜腔管脉肺肝肾胃肠脾胆脑骨髓糖脂钙钾钠氯铁锌碘剂胶囊丸膏注射输"
)
# words that follow a cue such as 患者 and start with a surname character but are not names
CLINICAL_WORDS = (
    "高热",
    "高烧",
    "高血压",
    "高血糖",
    "高血脂",
    "黄疸",
    "林可霉素",
    "白细胞",
    "方便",
    "常规",
    "于今",
    "于昨",
    "于入",
    "史无",
    "石膏",
    "毛发",
    "钟表",
    "向前",
    "王氏",
    "孙辈",
    "周前",
    "周后",
    "周内",
    "年前",
    "月前",
    "日前",
    "经治",
    "诸症",
    "安静",
    "安全",
    "平卧",
    "平素",
    "温和",
    "谈话",
    "全身",
    "余无",
    "余未",
    "季节",
    "和蔼",
    "何时",
    "万一",
    "水肿",
    "甘露",
    "强迫",
    "祝福",
    "能够",
    "应答",
    "精神",
    "意识",
    "神志",
    "查体",
    "双肺",
    "双下肢",
    "伍用",
    "戴帽",
    "师范",
    "明显",
    "时有",
    "有时",
    # drugs and herbs that begin with a surname character
    "华法林",
    "洛贝林",
    "万古霉素",
    "金刚烷胺",
    "安乃近",
    "安定",
    "丁卡因",
    "尼可刹米",
    "柴胡",
    "黄芪",
    "黄连",
    "黄芩",
    "白芍",
    "白术",
    "甘草",
    "党参",
    "石斛",
    "桂枝",
    "杜仲",
    "何首乌",
    "金银花",
    "连翘",
    "车前子",
    "维生素",
    "胰岛素",
    "激素",
    "毒素",
    "抗生素",
    "甲硝唑",
    "龙胆",
    "牛黄",
    "雷贝拉唑",
    "吴茱萸",
    "钟心",
    "丁心",
    "安心",
    "方心",
    "齐心",
    "费心",
    "关心",
    "于心",
    # everyday words that begin with a surname character, met after 患者
    "易疲",
    "易感",
    "严重",
    "曾服",
    "曾有",
    "曾经",
    "马凡",
    "尤其",
    "陆续",
    "费用",
    "施行",
    "管理",
    "金黄",
    "夏季",
    "常有",
    "安装",
    "于是",
    "钟头",
    "方可",
    "方能",
    "时常",
    "向来",
    "原有",
    "原因",
    "经常",
    "经过",
    "伴有",
    "伴随",
    "田间",
    "林间",
    "左侧",
    "右侧",
    "于当",
    "由于",
    "贾第",
    "阎王",
    "温度",
    "温热",
    "冷汗",
    "毛病",
    "邓氏",
    "程度",
    "程序",
    "宁可",
    "宋体",
    "岳母",
    "岳父",
    "蒋某",
    "齐全",
    "谢谢",
    "倪某",
)
# characters that often follow a 2-character name (性别, 女, 男, 岁, 因, 于 ...)
AFTER_NAME = set(
    "女男先性年岁因于在是的产主入出来去说诉述称讲叫请带送接看陪诊住就被把将已曾向对为让今昨近自等及和与，。、；：:,（( 0123456789"
)

# cues that name the person who follows; the roles (医生, 护士 ...) only with a colon or
# a space after them, since "医生查房" is not "doctor 查房"
NAME_CUES_BEFORE = (
    "患者姓名|病人姓名|新生儿姓名|母亲姓名|父亲姓名|家长姓名|学生姓名|监护人|联系人|患者|病人|病员|姓名|"
    "家属|母亲|父亲|丈夫|妻子|儿子|女儿|产妇|新生儿|患儿|之母|之父|其母|其父|学生"
)
NAME_ROLES = (
    "经治医师|主治医师|住院医师|报告医师|审核医师|送检医生|申请医生|医师|医生|护士长|护士|主任|签名|记录者|"
    "检查者|班主任|老师|同学"
)
NAME_CUES_AFTER = "先生|女士|小姐|医生|医师|护士|主任|老师|同学|之子|之女|之母|之父|夫妇|患儿|家属|本人"


def cue_name(text: str) -> int:
    """Length of the name at the start of `text` (after a cue), 0 when it is not one:
    a known surname (compound ones too) and one or two given characters."""
    if text[:4] in CLINICAL_WORDS or text[:3] in CLINICAL_WORDS or text[:2] in CLINICAL_WORDS:
        return 0
    sur = 2 if text[:2] in surnames() else 1 if text[:1] in surnames() else 0
    if not sur:
        return 0
    given = 0
    for c in text[sur : sur + 2]:
        if not ("\u4e00" <= c <= "\u9fff") or c in AFTER_NAME:
            break
        if c in CLINICAL_CHARS:
            return 0
        given += 1
    return sur + given if given else 0


# characters that stand before a name without being part of it (交由李医生, 经王医师, 在张老师处)
FUNCTION_CHARS = set("由经在于被向给对请让和与及同将把从找叫交")
# a specialty or rank before 医师/医生/护士 is not a name (麻醉医师, 康复医生, 管床医生)
SPECIALTIES = (
    "麻醉",
    "放射",
    "检验",
    "病理",
    "影像",
    "超声",
    "内科",
    "外科",
    "儿科",
    "妇科",
    "眼科",
    "口腔",
    "急诊",
    "康复",
    "营养",
    "药剂",
    "护理",
    "主治",
    "住院",
    "进修",
    "实习",
    "规培",
    "值班",
    "主任",
    "责任",
    "管床",
    "全科",
    "中医",
    "西医",
    "心内",
    "神内",
    "骨科",
    "产科",
    "皮肤",
    "助产",
    "乡村",
    "家庭",
    "社区",
    "签约",
)
NOT_IN_STREET = "在于至往迁后搬住现家由经被从到向"  # words around a street name, never inside one
NOT_SCHOOL = ("退休", "原任", "曾任", "现任", "担任", "一名", "某某", "普通", "知名")


def name_before_cue(text: str) -> int:
    """For 'X先生' style: the candidate is the 2-3 characters before the cue; accept it
    when it starts with a surname, not with a function character (由, 经, 在) or a
    specialty (麻醉医师), and has no clinical character."""
    if text[:1] in FUNCTION_CHARS or text[:2] in SPECIALTIES or text[-2:] in SPECIALTIES:
        return 0
    n = cue_name(text)
    return len(text) if n == len(text) else 0


def _ymd(t: str) -> bool:
    nums = [int(x) for x in re.findall(r"\d+", t)]
    if len(nums) < 3:
        return True  # year + month, or month + day: partial dates are dates too
    y, m, d = nums[:3]
    if y < 100:
        y += 2000 if y < 50 else 1900
    return real_date(y, m, d)


def has_digit(t: str) -> bool:
    """A number after its label holds a digit ('ID: AFEBRILE' is infectious disease)."""
    return any(c.isdigit() for c in t)


def _compact(t: str) -> bool:
    return real_date(int(t[:4]), int(t[4:6]), int(t[6:8]))


def _age_over_89(t: str) -> bool:
    m = re.match(r"\d+", t)
    assert m is not None  # the rule's group is digits
    return int(m.group()) >= 90


DIGITS_15 = re.compile(r"\d{15}")  # what an ID card number holds: a quick scan before the rule's


def _r(p: str) -> re.Pattern[str]:
    return re.compile(p)


def _rules() -> tuple[Rule, ...]:
    places = trie_pattern(set(provinces()) | set(divisions().values()))
    admin = rf"[{HAN}]{{1,7}}?(?:省|自治区|自治州|市|州|盟|地区|区|县|旗)"
    place = (
        rf"[{HAN}A-Za-z\d]{{1,12}}?(?:路|街道|街|大道|道|巷|胡同|弄|村|镇|乡|社区|小区|花园|公寓|大厦)"
        r"(?:办事处|居委会|村委会)?"
    )
    unit = r"(?:[\dA-Za-z一二三四五六七八九十\-]{1,6}(?:号院|号楼|号|座|栋|幢|单元|层|楼|室|段|组))*"
    school_chars = r"[^\s在于是的了与及读就为从到给向入住患者学生，。、；：:,（）()\[\]【】]"
    return (
        Rule(
            "zh:resident-id",
            "resident-id",
            _r(
                r"(?<![0-9A-Za-z])(\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx])"
                r"(?![0-9A-Za-z])"
            ),
            1,
            resident_id,
            priority=20,
            probe=DIGITS_15,
        ),
        Rule(
            "zh:resident-id-15",
            "resident-id",
            _r(r"(?<![0-9A-Za-z])(\d{8}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3})(?![0-9A-Za-z])"),
            1,
            resident_id,
            priority=10,
            probe=DIGITS_15,
        ),
        Rule(
            "zh:mobile",
            "phone",
            _r(r"(?=[+018])(?<![\d+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"),
            priority=15,
        ),
        Rule(
            "zh:landline",
            "phone",
            _r(r"(?=[(（0])(?<![\d+])(?:\(0\d{2,3}\)|（0\d{2,3}）|0\d{2,3}[\s-])\s?\d{7,8}(?:-\d{1,4})?(?!\d)"),
            priority=12,
        ),
        Rule(
            "zh:phone-label",
            "phone",
            _r(
                r"(?:电话|手机|联系电话|联系方式|手机号|电话号码|座机|TEL|Tel|tel)\s*[:：]?\s*([\d\s()（）+\-]{7,20}\d)"
            ),
            1,
            priority=12,
            needs=("电话", "手机", "联系方式", "座机", "tel"),
        ),
        Rule(
            "zh:bank-card",
            "bank-card",
            _r(r"\d(?<!\d\d)\d{3}[\s-]?(?:\d{4}[\s-]?){2}\d{4}(?:\d{1,3})?(?!\d)"),
            check=luhn,
            priority=8,
        ),
        Rule(
            "zh:insurance",
            "insurance",
            _r(
                r"(?:医保卡号|医保号|医保编号|医保账号|社保卡号|社保号|社会保障卡号|社会保障号|医疗保险号|参保号|医疗证号)"
                r"\s*[:：]?\s*([A-Za-z0-9\-]{6,24})"
            ),
            1,
            priority=25,
        ),
        Rule(
            "zh:wechat",
            "account",
            _r(r"(?:微信号?|WeChat|wechat|QQ号?|QQ|支付宝)\s*[:：]?\s*([A-Za-z0-9_\-]{5,24})"),
            1,
            priority=24,
            needs=("微信", "wechat", "qq", "支付宝"),
        ),
        Rule(
            "zh:hospital-number",
            "mrn",
            _r(
                r"(?:住院号|门诊号|病案号|病历号|就诊号|就诊卡号|登记号|检查号|影像号|申请单号|患者ID|病人ID|床号|ID号|ID(?=\s*[:：])|"
                r"病理号|检验号|标本号|放射号|超声号|心电号|条码号|流水号)"
                r"\s*[:：]?\s*([A-Za-z0-9\-]{3,24})"
            ),
            1,
            has_digit,
            priority=25,
            needs=("号", "id"),
        ),
        Rule(
            "zh:date",
            "date",
            _r(r"(?=[12])(?<!\d)(?:18|19|20)\d{2}\s*[年./-]\s*\d{1,2}\s*(?:[月./-]\s*\d{1,2}\s*[日号]?|月)"),
            check=_ymd,
            priority=5,
        ),
        Rule(
            "zh:date-short",
            "date",
            _r(r"\d(?<![\d./-]\d)\d[/-]\d{1,2}[/-]\d{1,2}(?![\d/-]|\.\d)"),
            check=_ymd,
            priority=5,
            chars="/-",
        ),
        Rule(
            "zh:date-compact",
            "date",
            _r(r"(?<!\d)(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),
            check=_compact,
            priority=5,
            probe=re.compile(r"\d{8}"),
        ),
        Rule(
            "zh:date-hanzi",
            "date",
            _r(
                r"[〇○零一二三四五六七八九]{2,4}年(?:[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?)?"
                r"|[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}[日号]"
            ),
        ),
        Rule("zh:month-day", "date", _r(r"(?<!\d)\d{1,2}月\d{1,2}[日号]")),
        Rule("zh:age-over-89", "age", _r(r"(?<!\d)(\d{2,3})\s*(?:周岁|岁)"), 1, _age_over_89),
        Rule(
            "zh:address",
            "address",
            _r(rf"(?:{places})(?:{admin}){{0,3}}(?:{place}|{admin})(?:{place})?{unit}(?:\s*\d{{6}}(?!\d))?"),
            priority=5,
        ),
        # a street with its house number and no division before it (南湖街88号, 中山路12号3栋)
        Rule(
            "zh:street",
            "address",
            _r(
                rf"(?:(?<=[在于住至到往：:，,。、\s])|(?<![{HAN}]))(?:(?![{NOT_IN_STREET}])[{HAN}]){{2,6}}?"
                rf"(?:路|街道|街|大道|巷|胡同|弄)"
                rf"(?:[\dA-Za-z一二三四五六七八九十\-]{{1,6}}"
                rf"(?:号院|号楼|号|座|栋|幢|单元|层|楼|室|段|组))+"
            ),
            priority=4,
            needs_han=True,
        ),
        Rule(
            "zh:address-cue",
            "address",
            _r(
                r"(?:家庭住址|现住址|户籍地址|联系地址|通讯地址|住址|地址|家住|现住|居住地|籍贯)\s*[:：]?\s*"
                r"([^\s，。；,;]{4,40})"
            ),
            1,
            priority=6,
        ),
        Rule(
            "zh:school",
            "school",
            _r(
                rf"{school_chars}{{2,12}}?(?:小学|中学|高中|初中|大学|学院|幼儿园|学校|职业高中|中专)"
                rf"(?!教授|老师|教师|学历|文化|毕业|生|本科|以上|以下|程度|水平)"
                rf"(?:[{HAN}\d]{{0,6}}?(?:分校|校区))?"
            ),
            check=lambda t: t[:2] not in NOT_SCHOOL,
        ),
        Rule(
            "zh:class",
            "school",
            _r(r"(?:[一二三四五六七八九]年级|高[一二三]|初[一二三])\s*[(（]?[\d一二三四五六七八九十]{1,2}[)）]?\s*班"),
        ),
        Rule(
            "zh:name-cue",
            "name",
            _r(rf"(?=(?:{NAME_CUES_BEFORE})\s*[:：]?\s*(?:由|经|在|于|被|与|和|及)?([{HAN}]{{2,4}}))"),
            1,
            cue_name,
            priority=3,
        ),
        # transliterated names: 陶德·马丁, 玛丽•居里 (each part one to five characters)
        Rule(
            "zh:transliterated-name",
            "name",
            _r(
                rf"(?<![{HAN}·•‧・])[{HAN}]{{1,5}}(?:[·•‧・][{HAN}]{{1,5}}?){{1,3}}"
                rf"(?=先生|女士|小姐|医生|医师|护士|[{''.join(sorted(AFTER_NAME))}]|[^{HAN}·•‧・]|$)"
            ),
            check=lambda t: not any(w in t for w in CLINICAL_WORDS),
            priority=4,
        ),
        Rule(
            "zh:name-role",
            "name",
            _r(rf"(?=(?:{NAME_ROLES})(?:\s*[:：]\s*|\s+)([{HAN}]{{2,4}}))"),
            1,
            cue_name,
            priority=3,
        ),
        Rule(
            "zh:name-before-cue",
            "name",
            _r(rf"(?=([{HAN}]{{2,3}})(?:{NAME_CUES_AFTER}))"),
            1,
            name_before_cue,
            priority=2,
        ),
    )


# rules whose every form holds Chinese characters: skipped on text without any
HAN_ONLY = frozenset(
    {
        "zh:insurance",
        "zh:date-hanzi",
        "zh:month-day",
        "zh:age-over-89",
        "zh:address",
        "zh:address-cue",
        "zh:school",
        "zh:class",
        "zh:name-cue",
        "zh:name-role",
        "zh:name-before-cue",
        "zh:street",
        "zh:transliterated-name",
    }
)
RULES = tuple(replace(r, needs_han=r.id in HAN_ONLY) for r in _rules())


def is_distractor(text: str, span: Span) -> bool:
    """A name span that is really a clinical word (the surname check alone lets 黄疸 in)."""
    if span.category != "name" or not span.rule.startswith("zh:"):
        return False
    word = text[span.start : span.end]
    return any(word.startswith(w) for w in CLINICAL_WORDS)


# a Latin-script name in Chinese text: two capitalised words (Tom Hanks, JOHN SMITH) next
# to Chinese characters or a name cue; transliterated names joined by ·/• are rules above
LATIN_NAME = re.compile(r"(?<![A-Za-z])([A-Z][a-z]+|[A-Z]{2,})(?:[ ·•.\-]([A-Z][a-z]+|[A-Z]{2,})){1,2}(?![A-Za-z])")


def latin_names(text: str) -> list:
    """Latin-script person names in Chinese prose: two or three capitalised words,
    either next to a Han character or after a name cue, whose first or last word is
    in the English name lists (not a drug, a unit or a place)."""
    from . import lexicon
    from .rule import Span

    out = []
    for m in LATIN_NAME.finditer(text):
        before, after = text[max(0, m.start() - 6) : m.start()], text[m.end() : m.end() + 1]
        if not (re.search(rf"[{HAN}]\s*$", before) or re.match(rf"\s*[{HAN}]", after)):
            continue
        words = [lexicon.key(w) for w in re.split(r"[ ·•.\-]", m.group(0)) if w]
        if any(lexicon.is_clinical(w) for w in words):
            continue
        if lexicon.is_name(words[0]) or lexicon.is_name(words[-1]) or re.search(NAME_CUE_TAIL, before):
            out.append(Span("name", m.start(), m.end(), "zh:latin-name", 1.03))
    return out


NAME_CUE_TAIL = rf"(?:{NAME_CUES_BEFORE}|{NAME_ROLES})\s*[:：]?\s*$"
