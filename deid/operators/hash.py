"""hash (DICOM): a keyed fingerprint of the value, H- + 12 hex, namespaced by the
attribute: the same value gives the same hash, and nothing gives the value back. Unlike
pseudonym it never stands for the patient: a PatientID hashes its own value."""

from __future__ import annotations

from .pseudonym import Pseudonym


class Hash(Pseudonym):
    name = "hash"
    prefix = "H-"
    stacks = frozenset({"dicom"})


OPERATOR = Hash()
