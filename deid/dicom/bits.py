"""Bits of native Pixel Data outside Bits Stored (PS3.3 C.7.6.3.1; PS3.5 8.1.1 and 8.1.2).

Overlay planes in the unused high bits of Pixel Data were retired from the standard, but
old files still carry them, and any bit outside Bits Stored can hold one: a viewer that
masks to Bits Stored never shows it, OCR never reads it, yet it travels with the file and
can spell a name. deid writes those bits canonical: zero for unsigned pixels, the sign
extension for signed ones, so every reader (masking or not) sees the same values.

The common layout (16 bits allocated, 9 to 15 stored, High Bit = Bits Stored - 1) is
checked without numpy: the high byte of each pixel must be one of the canonical values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InputError
from .io import UNCOMPRESSED
from .raw import PIXEL_DATA, Elem, RawFile

if TYPE_CHECKING:  # numpy is imported only when a file needs it
    import numpy as np
    from numpy.typing import DTypeLike

T_ALLOCATED, T_STORED, T_HIGH_BIT, T_PIXEL_REP = 0x00280100, 0x00280101, 0x00280102, 0x00280103


@dataclass(frozen=True)
class Layout:
    allocated: int
    stored: int
    high: int
    signed: bool

    @property
    def low(self) -> int:
        return self.high - self.stored + 1


def _us(by: dict[int, Elem], tag: int, default: int = 0) -> int:
    el = by.get(tag)
    return int.from_bytes(el.value[:2], "little") if el is not None and el.items is None and el.length >= 2 else default


def layout(f: RawFile) -> tuple[Layout, Elem] | None:
    """The layout of native integer Pixel Data with bits outside Bits Stored; None when
    there are none to look at (encapsulated, 1-bit, Bits Stored = Bits Allocated, ...)."""
    if f.transfer_syntax not in UNCOMPRESSED:
        return None
    by = {e.tag: e for e in f.elems}
    px = by.get(PIXEL_DATA)
    if px is None or px.items is not None or px.encap:
        return None
    allocated, stored = _us(by, T_ALLOCATED), _us(by, T_STORED)
    if allocated not in (8, 16, 32) or not 0 < stored < allocated:
        return None
    high = _us(by, T_HIGH_BIT, stored - 1)
    if not stored - 1 <= high < allocated:
        raise InputError("pixels-bad-high-bit: High Bit does not fit Bits Stored and Bits Allocated")
    return Layout(allocated, stored, high, _us(by, T_PIXEL_REP) == 1), px


def _canonical_high_bytes(stored: int, signed: bool) -> bytes:
    """Values the high byte of a canonical 16-bit sample can take (High Bit = Bits Stored - 1)."""
    top = 1 << (stored - 8)
    if not signed:
        return bytes(range(top))
    half = top // 2
    return bytes(range(half)) + bytes(range(256 - half, 256))


def _scan(f: RawFile) -> tuple[Elem, np.ndarray, np.ndarray] | None:
    """(pixel element, stored samples, canonical samples) when some sample is not
    canonical, else None. Every sample in the buffer is looked at, whatever NumberOfFrames
    says ("2.0", missing, too small): a frame the header forgot is still in the file."""
    found = layout(f)
    if found is None:
        return None
    lay, px = found
    data = px.value
    if lay.allocated == 16 and lay.stored > 8 and lay.low == 0:
        if not data[1::2].translate(None, _canonical_high_bytes(lay.stored, lay.signed)):
            return None  # the common case: clean, and numpy never imported
    arr, canon = _canonical(lay, data)
    return (px, arr, canon) if (arr != canon).any() else None


def stray_bits(f: RawFile) -> int:
    """How many samples hold bits outside Bits Stored that are not canonical (0: none)."""
    found = _scan(f)
    return 0 if found is None else int((found[1] != found[2]).sum())


def _canonical(lay: Layout, data: bytes) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    dtypes: dict[int, DTypeLike] = {8: np.uint8, 16: np.dtype("<u2"), 32: np.dtype("<u4")}
    dtype = dtypes[lay.allocated]
    arr = np.frombuffer(data[: len(data) - len(data) % (lay.allocated // 8)], dtype)
    ones = (1 << lay.allocated) - 1
    mask = ((1 << lay.stored) - 1) << lay.low
    if lay.low and (arr & (ones ^ mask)).any():
        raise InputError(
            "pixels-unused-bits: bits outside Bits Stored are set where High Bit is not "
            "Bits Stored - 1; deid cannot rewrite this layout"
        )
    value = arr & mask
    if lay.signed and not lay.low:
        sign = (value >> (lay.stored - 1)) & 1
        value = np.where(sign.astype(bool), value | (ones ^ mask), value).astype(dtype)
    return arr, value.astype(dtype)


def clear_stray_bits(f: RawFile) -> int:
    """Rewrite Pixel Data with canonical unused bits; returns how many samples changed."""
    found = _scan(f)
    if found is None:
        return 0
    px, arr, canon = found
    new = canon.tobytes()
    new += px.value[len(new) :]  # an odd trailing pad byte stays as it was
    f.elems = [Elem.new(PIXEL_DATA, px.vr, new) if e is px else e for e in f.elems]
    return int((arr != canon).sum())
