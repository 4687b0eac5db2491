"""The shape every operator has: a name, `validate(params)` (when a pipeline is loaded)
and `apply(value, at, ctx)` (on one value), in the manner of presidio-anonymizer's
operators. Both stacks call the same `apply`: DICOM (dicom.deidentify.Walker) with the
value decoded and `at.form` set to its VR, records (records.operators.Operators) with
`at.form` set to TEXT. Where the two stacks write a value differently for format reasons
(an age in DICOM AS against an age in a note), the operator branches on `at.form`.

apply() returns
  a str       the new value (DICOM encodes it in the data set's character set)
  bytes       (DICOM only) the new stored bytes, for values that are not text
  REMOVE      drop the element or field
  None        leave the value as it is (nothing changed, nothing is recorded)
and raises CannotApply(reason) when the value has no safe form under this operator
(an unreadable date, a pseudonym asked of a binary VR): DICOM then empties it and the
audit says why. Records never see CannotApply: for TEXT an operator falls back to the
category tag itself, as it always has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Union

TEXT = "text"  # at.form of a records value (a field or a span of free text)
# DICOM VRs whose values are text a person may have typed (pseudonyms and clean apply)
TEXT_VRS = frozenset({"LO", "LT", "SH", "ST", "UT", "UC", "PN", "CS", "AE", "UR"})


class _Remove:
    """The result that drops an element or a field."""

    _instance = None

    def __new__(cls) -> _Remove:  # one instance, also after pickling
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __reduce__(self) -> tuple[type[_Remove], tuple[()]]:
        return (_Remove, ())

    def __repr__(self) -> str:
        return "REMOVE"


REMOVE = _Remove()
RemoveType = _Remove  # REMOVE's type, for annotations (str | RemoveType)
Value = Union[str, bytes, _Remove, None]


class OperatorError(ValueError):
    """A parameter an operator does not take or cannot use; the policy turns it into a
    PolicyError naming where in the pipeline it stands."""


class CannotApply(Exception):
    """This value has no safe form under this operator; `reason` goes to the audit."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Target:
    """What an operator knows about the one value it changes."""

    form: str  # TEXT (records) or the DICOM VR ("DA", "AS", "PN", "UI", ...)
    category: str = "identity"
    patient_key: str = ""  # drives the patient's pseudonym and date offset
    keyword: str = ""  # DICOM: the attribute keyword, else its tag (pseudonym namespaces)
    context: str = ""  # records: the text around a span (a tag is Chinese in Chinese text)
    note: str = ""  # set by apply(): the detail the audit event carries (age>89, spans=3)


class OpContext(Protocol):
    """What operators read from the stack that calls them, per file: the keyed
    pseudonymizer, the policy's date shift range and where vault mappings go (None: off).
    DICOM's `clean` also reads `identity`, `text_langs` and `partial_dates`."""

    pseudo: Any
    mappings: list[tuple[str, str, str]] | None

    @property
    def date_shift_days(self) -> tuple[int, int]: ...  # read only (the DICOM walker's is a property)


class Operator:
    """Base class: an operator that takes no parameters and leaves values alone."""

    name: str = ""
    stacks: frozenset[str] = frozenset({"dicom", "records"})  # where a pipeline may name it

    def validate(self, params: Mapping[str, Any]) -> None:
        """Raise OperatorError for a parameter this operator does not take or cannot use."""
        if params:
            raise OperatorError(f"{self.name} takes no parameters (got {sorted(params)})")

    def refuse(self, at: Target) -> str | None:
        """Why this operator cannot apply to a value of this form at all (a shift asked of
        a name), before the value is read: DICOM empties it with this reason. None: it can."""
        return None

    def reads_value(self, form: str) -> bool:
        """Whether apply() reads the value (DICOM decodes it only then)."""
        return True

    def resolve(self, form: str) -> "Operator":
        """The operator that really applies to a value of this form (DICOM `clean` on a
        date is a shift); the audit records its name."""
        return self

    def apply(self, value: str, at: Target, ctx: OpContext) -> Value:
        return None


def values(value: str, form: str) -> list[str]:
    """A DICOM value's values (VM > 1 are separated by backslashes; LT/ST/UT/UR hold one)."""
    return [value] if form in ("LT", "ST", "UT", "UR") else value.split("\\")
