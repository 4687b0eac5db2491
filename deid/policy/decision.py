"""A Decision: what to do with one element or span, and which rule chose it."""
from __future__ import annotations

from dataclasses import dataclass

# The operators a policy may name. Each is implemented once in deid/dicom/operators.py.
ACTIONS = (
    "remove",      # X: delete the element
    "empty",       # Z: zero-length value
    "dummy",       # D: a non-identifying value valid for the VR
    "keep",        # K
    "clean",       # C: remove identity values from text; non-text falls back to remove
    "uid",         # U: keyed remap to 2.25.<int>
    "shift-date",  # per-patient keyed offset, DA/DT/TM stay valid
    "pseudonym",   # keyed readable pseudonym (P-3F9A...)
    "hash",        # keyed fingerprint of the value
    "generalize",  # ages over 89 -> 090Y; other values -> empty
)


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    rule_id: str
    category: str = "identity"
