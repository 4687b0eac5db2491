"""find: the "find, don't change" operator. Never named in a pipeline: a handler run to
find (RecordHandler.findings, for `deid check` and the pipeline's `verify:` step) applies
it in place of every operator its policy names but `keep`, so the run records an event
(location, category, rule) wherever the policy would still change a value; what it
writes is never kept.

A value is not a finding when it is blank, one of deid's own replacements (P-/N-/H-
pseudonyms, [TAG]s, a dummy: pseudonym.is_own_pseudonym), or of a category `deid check`
does not judge (categories.NOT_CHECKED: a shifted date looks like any date, and a
generalized address or year like any other; the record stack judges a value its policy
generalises by generalising it again, records/handler.py _finding_operators).

NoKey is the pseudonymizer of such a run: it fingerprints nothing (the findings carry no
fingerprint) and anything that would need a key raises, so finding needs no key at all.
"""

from __future__ import annotations

from ..categories import NOT_CHECKED
from ..pseudonym import FilePseudonymizer, is_own_pseudonym
from .base import OpContext, Operator, Target, Value


class Find(Operator):
    name = "find"
    stacks: frozenset[str] = frozenset()  # not one a pipeline may name

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        v = value.strip()
        if not v or at.category in NOT_CHECKED or is_own_pseudonym(v, prefix=True):
            return None
        return ""  # a change, so the stack records where; the output of a find run is never written


OPERATOR = Find()


class NoKey(FilePseudonymizer):
    """The keyless pseudonymizer of a find run: empty fingerprints, no derivations."""

    def __init__(self) -> None:
        super().__init__(b"")

    def _mac(self, namespace: str, value: str | bytes) -> bytes:
        raise RuntimeError("a find run holds no key: nothing keyed may be derived in it")

    def fingerprint(self, value: str | bytes) -> str:
        return ""

    def per_file(self) -> NoKey:
        return self
