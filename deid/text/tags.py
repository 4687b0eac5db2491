"""The tags deid writes in place of a value ([姓名] in Chinese text, [PHONE] in other
text), here in the recognizers' layer so that find() can tell deid's own output from
an identifier: a rewritten text must pass its own verify."""
from __future__ import annotations

import re
from functools import lru_cache

ZH_TAGS = {"patient-name": "姓名", "name": "姓名", "patient-id": "病案号", "mrn": "病案号", "resident-id": "身份证号",
           "phone": "电话", "email": "邮箱", "address": "地址", "birth-date": "出生日期", "date": "日期",
           "age": "年龄", "school": "学校", "insurance": "医保号", "bank-card": "银行卡号", "account": "账号",
           "id-number": "编号", "ssn": "身份证号", "url": "网址", "ip": "IP", "location": "地点"}


def en_tag(category: str) -> str:
    return f"[{category.upper().replace('-', '_')}]"


@lru_cache(maxsize=1)
def own_tag() -> re.Pattern:
    """[学校], [PHONE], [PATIENT_NAME] ... for the categories deid tags (only these: a
    bracketed surname in a note is not a tag)."""
    words = set(ZH_TAGS.values()) | {en_tag(c)[1:-1] for c in ZH_TAGS}
    return re.compile(r"\[(?:" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\]")
