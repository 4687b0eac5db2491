"""mask (records): every character but separators becomes '*', so the length and the
layout stay (138-0013-8000 -> ***-****-****). The one mask function: `deid check`
masks its excerpts with it too, keeping three characters at each end."""

from __future__ import annotations

from .base import OpContext, Operator, Target, Value

SEPARATORS = " -/.:()（）"


def mask(value: str, keep: str = "", head: int = 0, tail: int = 0, char: str = "*") -> str:
    """`value` with every character masked except those in `keep` and the first `head`
    and last `tail` characters; a value no longer than head + tail is masked whole."""
    n = len(value)
    if n <= head + tail:
        head = tail = 0
    middle = "".join(c if c in keep else char for c in value[head : n - tail])
    return value[:head] + middle + value[n - tail :]


def mask_excerpt(value: str) -> str:
    """1380****678: the first three and last three characters, the rest starred (all of
    it when it is six characters or fewer). The excerpt `deid check --show-excerpts` shows."""
    return mask(value.strip(), head=3, tail=3)


class Mask(Operator):
    name = "mask"
    stacks = frozenset({"records"})

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return mask(value, SEPARATORS)


OPERATOR = Mask()
