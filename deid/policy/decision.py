"""A Decision: what to do with one element or span, and which rule chose it."""

from __future__ import annotations

from dataclasses import dataclass

from .. import operators

# The operators a DICOM policy may name, as registered (deid.operators, one file each):
# remove (X), empty (Z), dummy (D), keep (K), clean (C), uid (U), shift-date, pseudonym,
# hash, generalize. Validation asks the registry, so a registered operator is accepted.
ACTIONS = operators.names("dicom")


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    rule_id: str
    category: str = "identity"
