"""AuditEvent: one action on one location. Holds a keyed fingerprint, never the value.

A NamedTuple: immutable, and cheap to pickle (events cross from workers to the driver,
tens of them per file)."""
from __future__ import annotations

from typing import NamedTuple


class AuditEvent(NamedTuple):
    location: str        # tag path, e.g. "RequestAttributesSequence[0].RequestedProcedureDescription"
    action: str          # remove, empty, dummy, keep, clean, uid, shift-date, pseudonym, ...
    category: str        # identity, date, uid, private, graphics, age, marker, file
    rule_id: str         # e.g. "ps3.15:basic:(0010,0010)", "override:1"
    fingerprint: str = ""  # HMAC of the old value (see Pseudonymizer.fingerprint)
    detail: str = ""     # never a value: counts, VRs, reasons chosen by code

    def as_dict(self) -> dict:
        return self._asdict()
