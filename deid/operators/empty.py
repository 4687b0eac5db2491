"""empty (Z): the element stays with a zero-length value (PS3.15 E.1.1)."""

from __future__ import annotations

from .base import OpContext, Operator, Target, Value


class Empty(Operator):
    name = "empty"
    stacks = frozenset({"dicom"})

    def reads_value(self, form: str) -> bool:
        return False

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return b""


OPERATOR = Empty()
