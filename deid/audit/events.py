"""AuditEvent: one action on one location. Holds a keyed fingerprint, never the value."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class AuditEvent:
    location: str        # tag path, e.g. "RequestAttributesSequence[0].RequestedProcedureDescription"
    action: str          # remove, empty, dummy, keep, clean, uid, shift-date, pseudonym, ...
    category: str        # identity, date, uid, private, graphics, age, marker, file
    rule_id: str         # e.g. "ps3.15:basic:(0010,0010)", "override:1"
    fingerprint: str = ""  # HMAC of the old value (see Pseudonymizer.fingerprint)
    detail: str = ""     # never a value: counts, VRs, reasons chosen by code

    def as_dict(self) -> dict:
        return asdict(self)
