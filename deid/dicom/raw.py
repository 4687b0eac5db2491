"""Byte-level DICOM: parse a Part 10 file into elements, and write elements back.

PS3.5 section 7 (data elements, explicit and implicit VR little endian) and
7.5 (nested data sets), PS3.5 A.4 (encapsulated pixel data), PS3.10 7.1 (file
meta). Values are never decoded here: an element is its tag, VR and a slice of
the input buffer, and an unchanged element is written back as the same bytes.
That is what makes header de-identification cost little more than a copy:
pixel data and every kept element pass through as one slice each.

Anything this module cannot read with certainty (a length past the end, a VR
that is not a VR, a misplaced delimiter) raises InputError; the handler then
quarantines the file. Big-endian and deflated files are normalised to
explicit VR little endian by the caller (io.py) before they reach here.
"""

from __future__ import annotations

from struct import Struct
from typing import Callable, Union

from ..errors import InputError
from .dictionary import entry

VRS = frozenset(
    {
        "AE",
        "AS",
        "AT",
        "CS",
        "DA",
        "DS",
        "DT",
        "FD",
        "FL",
        "IS",
        "LO",
        "LT",
        "OB",
        "OD",
        "OF",
        "OL",
        "OV",
        "OW",
        "PN",
        "SH",
        "SL",
        "SQ",
        "SS",
        "ST",
        "SV",
        "TM",
        "UC",
        "UI",
        "UL",
        "UN",
        "UR",
        "US",
        "UT",
        "UV",
    }
)
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"})
_VRB = {vr.encode("ascii"): vr for vr in VRS}
ITEM, ITEM_DELIM, SEQ_DELIM = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = (0x7FE00008, 0x7FE00009)  # Float / Double Float Pixel Data (parametric maps)
UNDEFINED = 0xFFFFFFFF
MAX_DEPTH = 64
IMPLICIT_LE = "1.2.840.10008.1.2"

_HH = Struct("<HH")
_HHL = Struct("<HHL")
_HH2sH = Struct("<HH2sH")
_HH2s2xL = Struct("<HH2s2xL")
_L = Struct("<L")
_H = Struct("<H")

Buf = Union[bytes, bytearray, memoryview]  # what elements are parsed from and point into


class Elem:
    """One data element. `buf[vstart:end]` is the value; `start < 0` marks a new value.

    Sequences have `items` (a list of element lists) instead of a value.
    `explicit` says how the original header was encoded.
    """

    __slots__ = ("tag", "vr", "buf", "start", "vstart", "end", "explicit", "items", "encap")

    def __init__(
        self,
        tag: int,
        vr: str,
        buf: Buf,
        start: int,
        vstart: int,
        end: int,
        explicit: bool,
        items: list[list["Elem"]] | None = None,
        encap: bool = False,
    ):
        self.tag, self.vr, self.buf = tag, vr, buf
        self.start, self.vstart, self.end = start, vstart, end
        self.explicit, self.items, self.encap = explicit, items, encap

    @classmethod
    def new(cls, tag: int, vr: str, value: bytes) -> "Elem":
        return cls(tag, vr, value, -1, 0, len(value), True)

    @classmethod
    def sequence(cls, tag: int, items: list[list["Elem"]]) -> "Elem":
        return cls(tag, "SQ", b"", -1, 0, 0, True, items)

    @property
    def value(self) -> bytes:
        return bytes(self.buf[self.vstart : self.end])

    @property
    def length(self) -> int:
        return self.end - self.vstart


# -- reading ---------------------------------------------------------------------------
def _looks_explicit(buf: Buf, pos: int) -> bool:
    """First element of a data set whose encoding is not known (an SQ stored as UN)."""
    return bytes(buf[pos + 4 : pos + 6]) in _VRB


def parse_dataset(
    buf: Buf, pos: int, end: int | None, explicit: bool, depth: int = 0, top: bool = False
) -> tuple[list[Elem], int]:
    """Elements from `pos` up to `end` (a defined length) or, with end=None, up to and
    including an Item Delimitation Item. Returns (elements, position after them)."""
    if depth > MAX_DEPTH:
        raise InputError("unreadable: sequences nested too deep")
    limit = len(buf) if end is None else end
    elems: list[Elem] = []
    append = elems.append
    while pos < limit:
        if pos + 8 > limit:
            raise InputError("truncated: element header cut short")
        group, el = _HH.unpack_from(buf, pos)
        tag = group << 16 | el
        if group == 0xFFFE:
            if tag == ITEM_DELIM and end is None:
                return elems, pos + 8
            raise InputError("unreadable: misplaced item or delimiter")
        if tag == 0 and top and not bytes(buf[pos:]).strip(b"\x00"):
            return elems, limit  # zero padding after the last element
        if explicit:
            _g, _e, vrb, length = _HH2sH.unpack_from(buf, pos)
            vr = _VRB.get(vrb)
            if vr is None:
                raise InputError("unreadable: invalid VR in an explicit-VR element")
            if vr in LONG_VRS:
                if pos + 12 > limit:
                    raise InputError("truncated: element header cut short")
                length = _L.unpack_from(buf, pos + 8)[0]
                vstart = pos + 12
            else:
                vstart = pos + 8
        else:
            length = _L.unpack_from(buf, pos + 4)[0]
            vstart = pos + 8
            vr = entry(tag)[1]
        if length == UNDEFINED:
            if tag == PIXEL_DATA and explicit and vr in ("OB", "OW"):
                vend = _skip_fragments(buf, vstart, limit)
                append(Elem(tag, vr, buf, pos, vstart, vend, explicit, encap=True))
                pos = vend
                continue
            if vr not in ("SQ", "UN"):
                raise InputError("unreadable: undefined length on a non-sequence element")
            # an SQ, or an SQ stored as UN (its content is implicit VR, PS3.5 6.2.2)
            items, vend = _parse_items(buf, vstart, None, explicit if vr == "SQ" else None, depth, limit)
            append(Elem(tag, "SQ", buf, pos, vstart, vend, explicit, items))
            pos = vend
            continue
        vend = vstart + length
        if vend > limit:
            raise InputError("truncated: element value runs past the end of its data set")
        if vr == "SQ" or (vr == "UN" and entry(tag)[1] == "SQ" and length):
            items, _ = _parse_items(buf, vstart, vend, explicit if vr == "SQ" else None, depth, vend)
            append(Elem(tag, "SQ", buf, pos, vstart, vend, explicit, items))
        else:
            append(Elem(tag, vr, buf, pos, vstart, vend, explicit))
        pos = vend
    if end is None:
        raise InputError("truncated: item has no delimitation item")
    return elems, pos


def _parse_items(
    buf: Buf, pos: int, end: int | None, explicit: bool | None, depth: int, limit: int
) -> tuple[list[list[Elem]], int]:
    """Items of a sequence; `explicit` None means 'detect per item' (SQ stored as UN)."""
    items: list[list[Elem]] = []
    stop = limit if end is None else end
    while True:
        if end is not None and pos >= end:
            return items, pos
        if pos + 8 > stop:
            raise InputError("truncated: sequence cut short")
        group, el, length = _HHL.unpack_from(buf, pos)
        tag = group << 16 | el
        pos += 8
        if tag == SEQ_DELIM and end is None:
            return items, pos
        if tag != ITEM:
            raise InputError("unreadable: a sequence holds something other than items")
        exp = _looks_explicit(buf, pos) if explicit is None else explicit
        if length == UNDEFINED:
            elems, pos = parse_dataset(buf, pos, None, exp, depth + 1)
        else:
            if pos + length > stop:
                raise InputError("truncated: item runs past the end of its sequence")
            elems, _ = parse_dataset(buf, pos, pos + length, exp, depth + 1)
            pos += length
        items.append(elems)


def _skip_fragments(buf: Buf, pos: int, limit: int) -> int:
    """Encapsulated pixel data: items (offset table, fragments) up to the sequence delimiter."""
    while True:
        if pos + 8 > limit:
            raise InputError("truncated: encapsulated pixel data cut short")
        group, el, length = _HHL.unpack_from(buf, pos)
        tag = group << 16 | el
        pos += 8
        if tag == SEQ_DELIM:
            return pos
        if tag != ITEM or length == UNDEFINED:
            raise InputError("unreadable: encapsulated pixel data holds something other than fragments")
        pos += length
        if pos > limit:
            raise InputError("truncated: pixel data fragment cut short")


def has_pixels(elems: list["Elem"]) -> bool:
    """A top-level Pixel Data (or Float / Double Float Pixel Data) element is present."""
    return any(e.tag == PIXEL_DATA or e.tag in FLOAT_PIXEL_DATA for e in elems)


class RawFile:
    """A Part 10 file: file meta elements, the data set, and its encoding."""

    __slots__ = ("meta", "elems", "explicit", "transfer_syntax")

    def __init__(self, meta: list[Elem], elems: list[Elem], explicit: bool, transfer_syntax: str):
        self.meta, self.elems, self.explicit, self.transfer_syntax = meta, elems, explicit, transfer_syntax


def parse_part10(data: bytes, transfer_syntax_ok: Callable[[str], bool]) -> RawFile:
    """Preamble, 'DICM', file meta (explicit VR LE), then the data set in its transfer syntax.

    `transfer_syntax_ok(uid)` says whether the data set can be read here (little endian,
    not deflated); when it cannot, InputError('needs-normalising') asks the caller to
    normalise first.
    """
    pos = 132
    meta: list[Elem] = []
    while pos + 8 <= len(data):
        group = _H.unpack_from(data, pos)[0]
        if group != 0x0002:
            break
        one, pos = parse_dataset(data, pos, pos + _meta_element_size(data, pos), True, 1)
        meta.extend(one)
    ts = ""
    for e in meta:
        if e.tag == 0x00020010:
            ts = e.value.decode("ascii", "replace").strip("\x00 ")
    if not ts or not transfer_syntax_ok(ts):
        raise InputError("needs-normalising")
    explicit = ts != IMPLICIT_LE
    if pos < len(data) and explicit != _looks_explicit(data, pos):
        raise InputError("needs-normalising")  # the syntax says one VR encoding, the data is the other
    elems, _ = parse_dataset(data, pos, len(data), explicit, top=True)
    return RawFile(meta, elems, explicit, ts)


def _meta_element_size(data: bytes, pos: int) -> int:
    vrb = bytes(data[pos + 4 : pos + 6])
    vr = _VRB.get(vrb)
    if vr is None:
        raise InputError("unreadable: invalid file meta element")
    if vr in LONG_VRS:
        if pos + 12 > len(data):
            raise InputError("truncated: file meta cut short")
        return 12 + _L.unpack_from(data, pos + 8)[0]
    return 8 + _H.unpack_from(data, pos + 6)[0]


# -- writing ---------------------------------------------------------------------------
_SQ_EXPLICIT = b"SQ\x00\x00\xff\xff\xff\xff"
_ITEM_UNDEF = _HHL.pack(0xFFFE, 0xE000, UNDEFINED)
_ITEM_END = _HHL.pack(0xFFFE, 0xE00D, 0)
_SEQ_END = _HHL.pack(0xFFFE, 0xE0DD, 0)


def header(tag: int, vr: str, length: int, explicit: bool) -> bytes:
    g, e = tag >> 16, tag & 0xFFFF
    if not explicit:
        return _HHL.pack(g, e, length)
    if vr not in VRS:
        vr = "UN"  # ambiguous dictionary VRs ('US or SS') of elements read implicitly
    if vr in LONG_VRS:
        return _HH2s2xL.pack(g, e, vr.encode("ascii"), length)
    if length > 0xFFFF:
        raise InputError(f"write-failed: {vr} value longer than its 16-bit length field")
    return _HH2sH.pack(g, e, vr.encode("ascii"), length)


def encode(elems: list[Elem], explicit: bool, out: list) -> None:
    """Append the encoding of `elems` to `out` (a list of byte strings). Sequences and items
    are written with undefined length, so nothing needs a second pass for lengths."""
    for el in elems:
        if el.items is not None:
            g, e = el.tag >> 16, el.tag & 0xFFFF
            out.append(_HH.pack(g, e) + (_SQ_EXPLICIT if explicit else b"\xff\xff\xff\xff"))
            for item in el.items:
                out.append(_ITEM_UNDEF)
                encode(item, explicit, out)
                out.append(_ITEM_END)
            out.append(_SEQ_END)
        elif el.start >= 0 and el.explicit == explicit:
            out.append(el.buf[el.start : el.end])
        elif el.encap:
            out.append(header(el.tag, el.vr, UNDEFINED, explicit))
            out.append(el.buf[el.vstart : el.end])
        else:
            out.append(header(el.tag, el.vr, el.end - el.vstart, explicit))
            out.append(el.buf[el.vstart : el.end])


def write_part10(meta: list[Elem], elems: list[Elem], explicit: bool) -> bytes:
    """128 zero bytes, 'DICM', file meta with its group length, then the data set."""
    body: list = []
    encode(meta, True, body)
    meta_bytes = b"".join(body)
    group_length = _HH2sH.pack(0x0002, 0x0000, b"UL", 4) + _L.pack(len(meta_bytes))
    out: list = [b"\x00" * 128, b"DICM", group_length, meta_bytes]
    encode(elems, explicit, out)
    return b"".join(out)


# -- values -----------------------------------------------------------------------------
PAD_NUL = frozenset({"UI", "OB", "UN"})


def pad(value: bytes, vr: str) -> bytes:
    """Values have even length (PS3.5 7.1.1): UIDs and bytes pad with NUL, text with space."""
    if len(value) % 2:
        value += b"\x00" if vr in PAD_NUL else b" "
    return value
