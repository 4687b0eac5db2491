"""uid (U): every UID of the value -> its keyed remap 2.25.<int> (PS3.5 B.2), the same
in every file and run under one key, so references between instances hold."""

from __future__ import annotations

from .base import OpContext, Operator, Target, Value, values


class Uid(Operator):
    name = "uid"
    stacks = frozenset({"dicom"})

    def refuse(self, at: Target) -> str | None:
        return None if at.form == "UI" else "uid-on-non-UI"

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return remap(value, ctx)


def remap(value: str, ctx: OpContext) -> str:
    olds = values(value, "UI")
    news = [ctx.pseudo.uid(u) for u in olds]
    if ctx.mappings is not None:
        ctx.mappings += [("uid", o, n) for o, n in zip((u.strip().rstrip("\x00") for u in olds), news) if o]
    return "\\".join(news)


OPERATOR = Uid()
