"""The operators a pipeline may name, one file each, found through this registry (the
presidio-anonymizer `operators/` shape). A policy validates every operator it names
here when it is loaded; the DICOM walker and the records scrubber apply them from here.

Adding an operator is its file (a subclass of base.Operator with a `name`, the
`stacks` a pipeline may name it in, `validate` and `apply`) plus one line in
OPERATORS below (or `register(...)` from a plug-in).
"""

from __future__ import annotations

from typing import Any, Mapping

from . import clean, dummy, empty, find, generalize, hash, keep, mask, pseudonym, remove, shift_date, tag, uid
from .base import REMOVE, TEXT, CannotApply, OpContext, Operator, OperatorError, Target

REGISTRY: dict[str, Operator] = {}


def register(op: Operator) -> Operator:
    """Make `op` available to pipelines under `op.name` (a name may be registered once)."""
    if not op.name or op.name in REGISTRY:
        raise ValueError(f"operator name {op.name!r} is empty or taken")
    REGISTRY[op.name] = op
    return op


# DICOM's actions in PS3.15 order first, then the records-only ones
OPERATORS = (
    remove.OPERATOR,
    empty.OPERATOR,
    dummy.OPERATOR,
    keep.OPERATOR,
    clean.OPERATOR,
    uid.OPERATOR,
    shift_date.OPERATOR,
    pseudonym.OPERATOR,
    hash.OPERATOR,
    generalize.OPERATOR,
    mask.OPERATOR,
    tag.OPERATOR,
    find.OPERATOR,  # no stack: handlers swap it in to find, never named by a pipeline
)
for _op in OPERATORS:
    register(_op)


def get(name: str) -> Operator:
    return REGISTRY[name]


def names(stack: str) -> tuple[str, ...]:
    """The operators a pipeline may name in this stack ("dicom" or "records")."""
    return tuple(n for n, op in REGISTRY.items() if stack in op.stacks)


def validate(name: object, stack: str, params: Mapping[str, Any] | None = None) -> Operator:
    """The operator `name` for this stack with `params` checked; OperatorError (one line,
    listing the choices) otherwise. The policy adds where in the pipeline it stands."""
    op = REGISTRY.get(name) if isinstance(name, str) else None
    if op is None or stack not in op.stacks:
        raise OperatorError(f"{name!r} is not one of {list(names(stack))}")
    op.validate(params or {})
    return op


__all__ = [
    "REGISTRY",
    "REMOVE",
    "TEXT",
    "CannotApply",
    "Operator",
    "OperatorError",
    "OpContext",
    "Target",
    "get",
    "names",
    "register",
    "validate",
]
