"""pseudonym: a keyed, readable stand-in (deid.pseudonym), the same for the same value
in every file, worker and run under one key.

The patient's own identity -> the patient's pseudonym, P- + 12 hex of the patient key,
in both stacks: DICOM PatientName and PatientID, a record's patient name. A record's
patient ID or MRN -> P- of "id:" + the value, which is the pseudonym DICOM gives that
PatientID. Other people in records -> N- + 10 hex of their name; FHIR ids and
references -> 12 hex (no prefix: the id must stay a valid FHIR id); any other value ->
P- (DICOM) or H- (records) of the value, namespaced by the attribute or the category.
The prefixes make a pseudonym impossible to mistake for a real name
(deid.pseudonym.is_own_pseudonym).
"""

from __future__ import annotations

import re

from .base import TEXT, TEXT_VRS, OpContext, Operator, Target, Value

PATIENT_KEYWORDS = frozenset({"PatientID", "PatientName"})


class Pseudonym(Operator):
    name = "pseudonym"
    prefix = "P-"  # of a DICOM value that is not the patient's own identity

    def refuse(self, at: Target) -> str | None:
        if at.form != TEXT and (at.form not in TEXT_VRS or at.form == "UR"):
            return "pseudonym-needs-text-vr"
        return None

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        if at.form == TEXT:
            return record_pseudonym(value, at, ctx)
        if self.name == "pseudonym" and at.keyword in PATIENT_KEYWORDS:
            return ctx.pseudo.pseudonym(at.patient_key)
        return ctx.pseudo.pseudonym(value, prefix=self.prefix, namespace=f"value:{at.keyword}")


def record_pseudonym(value: str, at: Target, ctx: OpContext) -> str:
    """A patient ID or MRN anywhere -> the pseudonym DICOM gives that PatientID; the
    record's patient name -> its patient's pseudonym; other names -> N-."""
    category, pseudo = at.category, ctx.pseudo
    if category in ("patient-id", "mrn"):
        new = pseudo.pseudonym("id:" + value.strip())
        if ctx.mappings is not None:
            ctx.mappings.append(("patient-id", value.strip(), new))
        return new
    if category == "fhir-reference" and "/" in value:  # Patient/123 -> Patient/<pseudonym of 123>
        kind, _, ident = value.rpartition("/")
        return f"{kind}/{pseudo.pseudonym(ident, prefix='', namespace='fhir-id')}"
    if category == "fhir-id":
        return pseudo.pseudonym(value.strip(), prefix="", namespace="fhir-id")
    if category == "patient-name":
        return pseudo.pseudonym(at.patient_key or "name:" + re.sub(r"\s+", " ", value).strip().upper())
    if category == "name":
        return pseudo.pseudonym(re.sub(r"\s+", " ", value).strip().upper(), prefix="N-", namespace="person-name")[:12]
    return pseudo.pseudonym(value.strip(), prefix="H-", namespace=f"value:{category}")


OPERATOR = Pseudonym()
