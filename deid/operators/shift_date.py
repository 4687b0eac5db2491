"""shift-date: every date of a patient moves by the same keyed number of days
(Pseudonymizer.date_offset, within the policy's date_shift_days), so intervals between
a patient's dates stay true, in their images and their records alike.

The form is kept. DICOM DA (YYYYMMDD, ranges A-B shift both ends) and DT (the date
part; the time and UTC offset stay); TM stays as it is (whole days leave times of day
valid) but must be a time. Records: YYYYMMDD, an HL7 TS (date and time), 2021-03-04,
2021/3/4, 2021.03.04 (padding kept), 2021年3月4日, 03/04/2021 (written back
zero-padded). A value that is not a full date in a form deid knows is emptied (DICOM,
the audit says unreadable-date) or tagged [DATE]/[日期] (records).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Mapping

from .base import TEXT, CannotApply, OpContext, Operator, OperatorError, Target, Value, values
from .tag import tag

DATE_VRS = frozenset({"DA", "DT", "TM"})


class ShiftDate(Operator):
    name = "shift-date"

    def validate(self, params: Mapping[str, Any]) -> None:
        """`days`: [min, max] whole days (dicom.date_shift_days; records use the same)."""
        if set(params) - {"days"}:
            raise OperatorError(f"shift-date takes only 'days' (got {sorted(params)})")
        days = params.get("days", [-1095, -1])
        if (
            not isinstance(days, list)
            or len(days) != 2
            or not all(isinstance(x, int) for x in days)
            or days[0] > days[1]
            or days[0] <= -36500
        ):
            raise OperatorError("must be [min, max] whole days, min <= max")

    def refuse(self, at: Target) -> str | None:
        return None if at.form == TEXT or at.form in DATE_VRS else "shift-on-non-date"

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        days = ctx.pseudo.date_offset(at.patient_key, *ctx.date_shift_days)
        if at.form == TEXT:
            shifted = shift_date(value, days)
            return shifted if shifted is not None else tag("date", at.context or value)
        out = [shift_value(at.form, x, days) for x in values(value, at.form)]
        if any(o is None for o in out):
            raise CannotApply("unreadable-date")
        if at.form == "TM":
            return None  # whole-day shifts leave times of day as they are
        return "\\".join(out)  # type: ignore[arg-type]


OPERATOR = ShiftDate()


# -- DICOM DA / DT / TM (PS3.5 6.2) --------------------------------------------
_DA = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DT = re.compile(r"^(\d{4})(\d{2})(\d{2})(.*)$")


def shift_da(value: str, days: int) -> str | None:
    """Shift a DA (YYYYMMDD); returns None when the value is not a full date."""
    v = value.strip()
    m = _DA.match(v)
    if not m:
        return None
    try:
        d = _dt.date(int(m[1]), int(m[2]), int(m[3])) + _dt.timedelta(days=days)
    except (ValueError, OverflowError):
        return None
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def shift_dt(value: str, days: int) -> str | None:
    """Shift the date part of a DT; the time and offset are kept."""
    v = value.strip()
    m = _DT.match(v)
    if not m:
        return None
    head = shift_da(m[1] + m[2] + m[3], days)
    if head is None or (m[4] and not re.fullmatch(r"[0-9.]*([+-]\d{4})?", m[4])):
        return None
    return head + m[4]


def shift_value(vr: str, value: str, days: int) -> str | None:
    """DA/DT shift by days; TM is kept (whole-day shifts leave times of day valid).

    Ranges ("A-B") shift both ends. None means the value could not be read:
    the caller empties it (fail safe).
    """
    if vr == "TM":
        return value if re.fullmatch(r"\s*\d{2,6}(\.\d{1,6})?\s*", value or "") else None
    fn = shift_da if vr == "DA" else shift_dt
    if "-" in value and vr == "DA":
        parts = value.split("-")
        shifted = [fn(p, days) if p else "" for p in parts]
        return None if any(s is None for s in shifted) else "-".join(shifted)  # type: ignore[arg-type]
    return fn(value, days)


# -- dates as records write them -------------------------------------------------
_DATE_FORMS = [
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "{y:04d}{m:02d}{d:02d}"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2}[\d.+-]*)$"), "ts"),  # HL7 TS: date and time
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})(.*)$"), None),
    (re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*([日号]?)(.*)$"), "zh"),
]
_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def shift_date(value: str, days: int) -> str | None:
    """Shift a date written in a common form by `days`, keeping the form; None when the
    value is not a full date this knows (the caller tags it instead)."""
    v = value.strip()
    for rx, fmt in _DATE_FORMS:
        m = rx.match(v)
        if not m:
            continue
        try:
            d = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))) + _dt.timedelta(days=days)
        except ValueError:
            return None
        if fmt == "ts":
            return f"{d.year:04d}{d.month:02d}{d.day:02d}{m.group(4)}"
        if fmt == "zh":
            return f"{d.year}年{d.month}月{d.day}{m.group(4)}{m.group(5)}"
        if fmt:
            return fmt.format(y=d.year, m=d.month, d=d.day)
        sep = v[4]
        pad = len(m.group(2)) == 2
        mm, dd = (f"{d.month:02d}", f"{d.day:02d}") if pad else (str(d.month), str(d.day))
        return f"{d.year}{sep}{mm}{sep}{dd}{m.group(4)}"  # the time of day stays: the date moved
    m = _MDY.match(v)
    if m:
        try:
            d = _dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2))) + _dt.timedelta(days=days)
        except ValueError:
            return None
        return f"{d.month:02d}/{d.day:02d}/{d.year}"
    return None
