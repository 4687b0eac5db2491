"""8-bit views of a frame for text detection.

display   min-max of the stored values, shown the way a viewer shows it (MONOCHROME1
          inverted, so text and background keep their on-screen polarity)
window    the header's first VOI window (after the modality rescale), when there is one:
          text drawn at a mid-grey value can vanish under min-max of a wide range
inverted  the display view turned over (light backgrounds, dark text)
Colour frames are converted to luminance.

`ref`: render with the value range of another frame (the verify pass renders the output
with the input's range, so pixels that redaction left alone look exactly as they did).
"""
from __future__ import annotations

import cv2
import numpy as np


def _minmax(a: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    r = a if ref is None else ref
    lo, hi = float(r.min()), float(r.max())
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    scaled = (a.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return (scaled if ref is None else np.clip(scaled, 0, 255)).astype(np.uint8)


def _first(value) -> float | None:
    if value is None:
        return None
    try:
        return float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)
    except (TypeError, ValueError, IndexError):
        return None


def views(frame: np.ndarray, ds, photometric: str, wanted: tuple[str, ...],
          ref: np.ndarray | None = None) -> list[tuple[str, np.ndarray]]:
    if frame.ndim == 3:
        display = (cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.dtype == np.uint8
                   else _minmax(frame.mean(axis=2), None if ref is None else ref.mean(axis=2)))
    else:
        display = _minmax(frame, ref)
        if photometric == "MONOCHROME1":
            display = 255 - display
    out = [("display", display)]
    if "window" in wanted and frame.ndim == 2:
        win = _window(frame, ds, photometric, ref)
        if win is not None and not np.array_equal(win, display):
            out.append(("window", win))
    if "inverted" in wanted:
        out.append(("inverted", 255 - display))
    return out


def _window(frame: np.ndarray, ds, photometric: str, ref: np.ndarray | None = None) -> np.ndarray | None:
    """The first VOI window, applied after the modality rescale; None when there is none
    or when it spans (nearly) the whole range, where it would repeat the display view."""
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is None or not width or width <= 1:
        return None
    slope = _first(ds.get("RescaleSlope")) or 1.0
    intercept = _first(ds.get("RescaleIntercept")) or 0.0
    lo = center - 0.5 - (width - 1) / 2
    v = frame.astype(np.float32) * slope + intercept
    r = (frame if ref is None else ref)
    vmin, vmax = float(r.min()) * slope + intercept, float(r.max()) * slope + intercept
    vmin, vmax = min(vmin, vmax), max(vmin, vmax)
    if lo <= vmin + 0.05 * (vmax - vmin) and lo + width >= vmax - 0.05 * (vmax - vmin):
        return None
    win = np.clip((v - lo) * (255.0 / (width - 1)), 0, 255).astype(np.uint8)
    return 255 - win if photometric == "MONOCHROME1" else win
