"""`deid check` for patient records: what the record pipeline would still change.

The record is run through the same readers, field map and recognizers, with operators
that change nothing but note what they were asked to change. Values deid writes
(P-/N-/H- pseudonyms, [TAG]s, a generalized address or year) are not findings. Dates are
not judged: a shifted date looks like any date, and records carry no marker that says
they were shifted (DICOM does: PatientIdentityRemoved).
"""
from __future__ import annotations

from ..categories import NOT_CHECKED as NOT_JUDGED
from ..core import Context, Status
from ..pseudonym import is_own_pseudonym
from ..records.handler import RecordHandler
from ..records.operators import Operators
from . import Finding


class _CheckOps(Operators):
    """Asked to change a value: mark it (so the pipeline records an event) unless it is
    one of deid's own replacements or a category check does not judge."""

    def apply(self, op, category, value, patient_key, context=""):
        v = value.strip()
        if op == "keep" or not v or category in NOT_JUDGED or is_own_pseudonym(v, prefix=True):
            return value
        return "\x00finding\x00"


class _CheckHandler(RecordHandler):
    operators = _CheckOps


def check_record(data: bytes, rel: str, ctx: Context) -> list[Finding]:
    """Findings for one record file; a file that cannot be read is a finding too."""
    res = _CheckHandler()._process(data, "check", ctx, rel)
    if res.status != Status.OK:
        return [Finding(rel, "<file>", "unreadable", res.reason.split(":", 1)[0])]
    return [Finding(rel, ev.location, ev.category, ev.rule_id) for ev in res.events]
