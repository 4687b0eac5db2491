"""Decode and encode the few element values deid reads or writes (PS3.5 6.1, 6.2).

ASCII values, nearly all of them, take a fast path. Values with other bytes
are decoded with the data set's Specific Character Set by pydicom's charset
module (GB18030, UTF-8, ISO 2022 with escape sequences, ...), imported only
when such a value is met.
"""

from __future__ import annotations

import struct
import warnings

from .raw import Elem, pad

SPECIFIC_CHARACTER_SET = 0x00080005
SINGLE_VALUED = frozenset({"LT", "ST", "UT", "UR"})
_NUMBERS = {"US": "<H", "SS": "<h", "UL": "<L", "SL": "<l", "FL": "<f", "FD": "<d", "SV": "<q", "UV": "<Q"}
_TEXT_DELIMS = {0x5C, 0x0A, 0x0D, 0x09, 0x0C}


def charsets(elems: list[Elem], inherited: tuple[str, ...]) -> tuple[str, ...]:
    """The data set's Specific Character Set terms; a nested item inherits its parent's."""
    for el in elems:
        if el.tag == SPECIFIC_CHARACTER_SET:
            terms = tuple(t.strip() for t in el.value.decode("ascii", "replace").strip("\x00 ").split("\\"))
            return terms if any(terms) else inherited
        if el.tag > SPECIFIC_CHARACTER_SET:
            break
    return inherited


def _encodings(cs: tuple[str, ...]) -> list[str]:
    from pydicom.charset import convert_encodings

    return convert_encodings(list(cs) if cs else None)


def decode(raw: bytes, vr: str, cs: tuple[str, ...]) -> str:
    """The text of a stored value: padding stripped, PN component groups '=' separated."""
    raw = raw.rstrip(b"\x00 ") if vr not in ("LT", "ST", "UT") else raw.rstrip(b"\x00").rstrip(b" ")
    if raw.isascii():
        return raw.decode("ascii")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if vr == "PN":
                from pydicom.valuerep import PersonName

                parts = [str(PersonName(p, _encodings(cs))) for p in raw.split(b"\\")]
                return "\\".join(parts)
            from pydicom.charset import decode_bytes

            return decode_bytes(raw, _encodings(cs), _TEXT_DELIMS)
        except Exception:
            return raw.decode("latin-1")


def values(raw: bytes, vr: str, cs: tuple[str, ...]) -> list[str]:
    text = decode(raw, vr, cs)
    return [text] if vr in SINGLE_VALUED else text.split("\\")


def encode(text: str, vr: str, cs: tuple[str, ...]) -> bytes:
    """A text value in the data set's character set, padded to even length."""
    if text.isascii():
        data = text.encode("ascii")
    else:
        from pydicom.charset import encode_string

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = encode_string(text, _encodings(cs))
    return pad(data, vr)


def encode_dummy(vr: str, value: str | bytes | int | float) -> bytes:
    """Stored bytes of operators.dummy_value(vr): text, a number of the VR's width, or bytes."""
    if isinstance(value, str):
        return encode(value, vr, ())
    if isinstance(value, bytes):
        return value
    return struct.pack(_NUMBERS.get(vr, "<L"), value)
