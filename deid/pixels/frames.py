"""The pixel core's input: frames and what rendering them needs, and the identity values
to look for. Nothing here knows a file format: the DICOM adapter (deid/dicom/pixels.py)
builds these from a DICOM file, a PNG/JPEG, PDF page or WSI tile reader can build them
from its own metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

Palette = Callable[[np.ndarray], np.ndarray]  # palette indices (rows, cols) -> RGB (rows, cols, 3)


class IdentityMatcher(Protocol):
    """Identity values compiled for matching (deid.dicom.operators.IdentityValues is one):
    `pattern` finds them as words, `squashed` holds them upper case, alphanumerics only."""

    pattern: re.Pattern[str] | None
    squashed: frozenset[str]


def _first(value: Any) -> float | None:
    """The first number of a value that may be multi-valued (DICOM's WindowCenter)."""
    if value is None:
        return None
    try:
        return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None


@dataclass(frozen=True)
class RenderHints:
    """How the stored values of a frame are shown (render.py makes its views from these).

    photometric  MONOCHROME1 (shown inverted), MONOCHROME2, RGB, PALETTE COLOR
    window_*     a VOI window (after the rescale), when the source names one
    rescale_*    the modality rescale applied before the window (None: slope 1, intercept 0)
    palette      indices -> RGB for PALETTE COLOR; None: the indices are searched as grey
    bits_stored, signed: the value range the source declares (0: not declared)
    """

    photometric: str = "MONOCHROME2"
    window_center: float | None = None
    window_width: float | None = None
    rescale_slope: float | None = None
    rescale_intercept: float | None = None
    bits_stored: int = 0
    signed: bool = False
    palette: Palette | None = None

    @classmethod
    def from_mapping(cls, attrs: Any, photometric: str) -> RenderHints:
        """Hints from anything with `.get(keyword)` that uses DICOM's keywords (a pydicom
        Dataset, or a plain dict such as {"WindowCenter": 40, "WindowWidth": 400})."""
        if isinstance(attrs, RenderHints):
            return attrs
        get = attrs.get

        def _int(key: str) -> int:
            try:
                return int(get(key, 0) or 0)
            except Exception:  # informational only: a value deid cannot read is "not declared"
                return 0

        palette = None
        if photometric == "PALETTE COLOR":

            def palette(frame: np.ndarray) -> np.ndarray:
                from pydicom.pixels import apply_color_lut

                return np.asarray(apply_color_lut(frame, attrs))

        return cls(
            photometric=photometric,
            window_center=_first(get("WindowCenter")),
            window_width=_first(get("WindowWidth")),
            rescale_slope=_first(get("RescaleSlope")),
            rescale_intercept=_first(get("RescaleIntercept")),
            bits_stored=_int("BitsStored"),
            signed=_int("PixelRepresentation") == 1,
            palette=palette,
        )


# what views() and FrameCleaner.find() take: hints, or DICOM keywords to read them from
# (a pydicom Dataset, a dict: the callers in check/ and report/)
HintsLike = RenderHints | Mapping[str, Any] | Any


@dataclass
class Frames:
    """Frames of one image as stored: (frames, rows, cols) grey or palette indices, or
    (frames, rows, cols, 3) colour, any integer or float dtype; and how to show them."""

    array: np.ndarray
    hints: RenderHints

    def __post_init__(self) -> None:
        if self.array.ndim not in (3, 4) or (self.array.ndim == 4 and self.array.shape[-1] != 3):
            raise ValueError("frames must be (frames, rows, cols) or (frames, rows, cols, 3)")

    @classmethod
    def single(cls, image: np.ndarray, photometric: str | None = None, **hints: Any) -> Frames:
        """One image: (rows, cols) grey or (rows, cols, 3) RGB, as a one-frame Frames."""
        image = np.asarray(image)
        if photometric is None:
            photometric = "RGB" if image.ndim == 3 else "MONOCHROME2"
        return cls(image[None], RenderHints(photometric=photometric, **hints))

    @property
    def count(self) -> int:
        return int(self.array.shape[0])

    @property
    def rows(self) -> int:
        return int(self.array.shape[1])

    @property
    def columns(self) -> int:
        return int(self.array.shape[2])
