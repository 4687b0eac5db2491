"""tag (records): the value -> its category's label ([姓名], [身份证号] in Chinese text;
[NAME], [PHONE] otherwise; deid.categories). Also what other operators write for a value
they cannot read (a date in no form deid knows)."""

from __future__ import annotations

import re

from .. import categories
from .base import OpContext, Operator, Target, Value

HAN = re.compile("[\u4e00-\u9fff]")


def has_han(text: str) -> bool:
    return not text.isascii() and HAN.search(text) is not None


def tag(category: str, like: str) -> str:
    """The label of `category`, in Chinese when `like` (the value or its text) is."""
    return categories.label(category, has_han(like))


class Tag(Operator):
    name = "tag"
    stacks = frozenset({"records"})

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return tag(at.category, at.context or value)


OPERATOR = Tag()
