"""remove (X): the element is deleted; a record field is dropped (JSON key removed, CSV
cell emptied)."""

from __future__ import annotations

from .base import REMOVE, OpContext, Operator, Target, Value


class Remove(Operator):
    name = "remove"

    def reads_value(self, form: str) -> bool:
        return False

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return REMOVE


OPERATOR = Remove()
