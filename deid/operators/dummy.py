"""dummy (D): a non-identifying value valid for the VR (PS3.5 6.2); a UID is remapped
(uid), since a dummy UID would merge every instance into one."""

from __future__ import annotations

import struct

from .base import OpContext, Operator, Target, Value
from .uid import remap

# Dummy values valid for each VR. None -> zero-filled binary of the VR's width.
DUMMY_TEXT: dict[str, str] = {
    "AE": "DEID",
    "AS": "000D",
    "CS": "ANONYMIZED",
    "DA": "19000101",
    "DS": "0",
    "DT": "19000101000000",
    "IS": "0",
    "LO": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "PN": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "TM": "000000",
    "UC": "ANONYMIZED",
    "UR": "urn:deid:removed",
    "UT": "ANONYMIZED",
}
DUMMY_NUMBER: dict[str, int | float] = {
    "FL": 0.0,
    "FD": 0.0,
    "SL": 0,
    "SS": 0,
    "UL": 0,
    "US": 0,
    "SV": 0,
    "UV": 0,
}
BINARY_WIDTH = {"OB": 2, "OD": 8, "OF": 4, "OL": 4, "OV": 8, "OW": 2, "UN": 2, "AT": 4}
_PACK = {"US": "<H", "SS": "<h", "UL": "<L", "SL": "<l", "FL": "<f", "FD": "<d", "SV": "<q", "UV": "<Q"}


def dummy_value(vr: str) -> str | bytes | int | float:
    if vr in DUMMY_TEXT:
        return DUMMY_TEXT[vr]
    if vr in DUMMY_NUMBER:
        return DUMMY_NUMBER[vr]
    if vr == "AT":
        return 0
    return b"\x00" * BINARY_WIDTH.get(vr, 2)


class Dummy(Operator):
    name = "dummy"
    stacks = frozenset({"dicom"})

    def reads_value(self, form: str) -> bool:
        return form == "UI"

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        if at.form == "UI":
            return remap(value, ctx)
        concrete = at.form.split(" or ")[0]  # ambiguous dictionary VRs ('US or SS'): the first
        new = dummy_value(concrete)
        if isinstance(new, (str, bytes)):
            return new
        return struct.pack(_PACK.get(concrete, "<L"), new)


OPERATOR = Dummy()
