"""keep (K): the value stays as it is."""

from __future__ import annotations

from .base import OpContext, Operator, Target, Value


class Keep(Operator):
    name = "keep"

    def reads_value(self, form: str) -> bool:
        return False

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return None


OPERATOR = Keep()
