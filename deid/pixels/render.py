"""8-bit views of a frame for text detection: text must be found whatever the header's
window, the value range or the colours hide it.

display   min-max of the stored values, shown the way a viewer shows it (MONOCHROME1
          inverted, so text and background keep their on-screen polarity); luminance
          for colour frames (palette colour through its lookup table)
window    the header's first VOI window (after the modality rescale), when there is one:
          text drawn at a mid-grey value can vanish under min-max of a wide range
stretch   the 1st-99th percentile range, when outliers (one bright pixel, an implant)
          squeeze the rest of the range into a few grey levels of the display view
shadows   the darkest tenth of the 1st-99th percentile range, when a large flat dark
          region (a shutter, a black border) is there: faint text drawn a few tens of
          values above black is invisible in every full-range view and in the window
highlights the brightest tenth, when a large flat bright region (collimated white) is there
color     the two chroma channels (Cb, Cr) of a colour frame, each stretched, when the
          frame has colour: red text on a grey band of the same luminance is invisible
          in every luminance view and plain in Cr
inverted  the display view turned over (light backgrounds, dark text)

A view that would show nothing new (a window spanning the whole range, a stretch of an
already well spread range, chroma of a grey image) is not made: each view costs a
detector pass.

`ref`: render with the value range of another frame (the verify pass renders the output
with the input's range, so pixels that redaction left alone look exactly as they did).
"""

from __future__ import annotations

import numpy as np

from .frames import HintsLike, RenderHints

STRETCH_BELOW = 0.5  # add `stretch` when p1..p99 fills less than this share of min..max
FLAT = 0.05  # add `shadows`/`highlights` when this share of the frame is ...
FLAT_SPAN = 0.02  # ... within this share of p1..p99 from its dark / bright end
END_SPAN = 0.1  # those views show this share of p1..p99
CHROMA_MIN = 16  # add `color` views when a chroma channel spans this many levels
SAMPLE = 4  # percentiles from every 4th pixel in each direction


def minmax(a: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    r = a if ref is None else ref
    return _scale(a, float(r.min()), float(r.max()))


def _scale(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros(a.shape, np.uint8)
    scaled = (a.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled, 0, 255).astype(np.uint8)


def to_rgb(frame: np.ndarray, ds: HintsLike, photometric: str = "") -> np.ndarray | None:
    """The frame as colour when it is one: RGB as stored, palette colour through its LUT;
    None for greyscale. `ds`: RenderHints, or DICOM keywords to read them from (then
    `photometric` says the interpretation)."""
    if frame.ndim == 3:
        return frame
    hints = RenderHints.from_mapping(ds, photometric)
    if hints.photometric == "PALETTE COLOR" and hints.palette is not None:
        try:
            return np.asarray(hints.palette(frame))
        except Exception:  # a palette deid cannot apply: the indices are still searched as grey
            return None
    return None


def views(
    frame: np.ndarray, ds: HintsLike, photometric: str, wanted: tuple[str, ...], ref: np.ndarray | None = None
) -> list[tuple[str, np.ndarray]]:
    """The views of `wanted` that show something new (module docstring). `ds`: RenderHints
    (`photometric` then unused), or DICOM keywords to read them from."""
    hints = RenderHints.from_mapping(ds, photometric)
    photometric = hints.photometric
    rgb = to_rgb(frame, hints)
    if rgb is not None:
        rgb_ref = None if ref is None else to_rgb(ref, hints)
        out = _colour_views(rgb, rgb_ref, wanted)
    else:
        display = minmax(frame, ref)
        if photometric == "MONOCHROME1":
            display = 255 - display
        out = [("display", display)]
        if "window" in wanted:
            win = _window(frame, hints, ref)
            if win is not None and not np.array_equal(win, display):
                out.append(("window", win))
        extra = []
        if "stretch" in wanted:
            extra.append(("stretch", _stretch(frame, ref)))
        if "ends" in wanted:
            extra += _ends(frame, ref)
        out += [(name, 255 - v if photometric == "MONOCHROME1" else v) for name, v in extra if v is not None]
    if "inverted" in wanted:
        out.append(("inverted", 255 - out[0][1]))
    return out


def _colour_views(rgb: np.ndarray, ref: np.ndarray | None, wanted: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    f = rgb.astype(np.float32)
    r = f if ref is None else ref.astype(np.float32)
    luma = f @ np.array([0.299, 0.587, 0.114], np.float32)
    luma_ref = luma if ref is None else r @ np.array([0.299, 0.587, 0.114], np.float32)
    out = [("display", _scale(luma, float(luma_ref.min()), float(luma_ref.max())))]
    if "color" in wanted:
        unit = 255.0 / max(1.0, float(r.max()))  # chroma measured in 8-bit levels
        for name, coef in (("cb", (-0.1687, -0.3313, 0.5)), ("cr", (0.5, -0.4187, -0.0813))):
            c = f @ np.array(coef, np.float32)
            cref = c if ref is None else r @ np.array(coef, np.float32)
            lo, hi = float(cref.min()), float(cref.max())
            if (hi - lo) * unit >= CHROMA_MIN:
                out.append((f"color-{name}", _scale(c, lo, hi)))
    return out


def _stretch(frame: np.ndarray, ref: np.ndarray | None) -> np.ndarray | None:
    """The 1st-99th percentile range, when it is a small share of min..max."""
    r = frame if ref is None else ref
    lo, hi = float(r.min()), float(r.max())
    if hi <= lo:
        return None
    p1, p99 = (float(v) for v in np.percentile(r[::SAMPLE, ::SAMPLE], (1, 99)))
    if p99 <= p1 or (p99 - p1) >= STRETCH_BELOW * (hi - lo):
        return None
    return _scale(frame, p1, p99)


def _ends(frame: np.ndarray, ref: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """Views of the dark and bright ends of the range, each when a large flat region sits
    there (see `shadows`, `highlights` above)."""
    r = (frame if ref is None else ref)[::SAMPLE, ::SAMPLE]
    p1, p99 = (float(v) for v in np.percentile(r, (1, 99)))
    span = p99 - p1
    if span <= 0:
        return []
    out = []
    if float((r <= p1 + FLAT_SPAN * span).mean()) >= FLAT:
        out.append(("shadows", _scale(frame, p1 - 0.5 * END_SPAN * span, p1 + END_SPAN * span)))
    if float((r >= p99 - FLAT_SPAN * span).mean()) >= FLAT:
        out.append(("highlights", _scale(frame, p99 - END_SPAN * span, p99 + 0.5 * END_SPAN * span)))
    return out


def _window(frame: np.ndarray, hints: RenderHints, ref: np.ndarray | None = None) -> np.ndarray | None:
    """The first VOI window, applied after the modality rescale; None when there is none
    or when it spans (nearly) the whole range, where it would repeat the display view."""
    center, width = hints.window_center, hints.window_width
    if center is None or not width or width <= 1:
        return None
    slope = hints.rescale_slope or 1.0
    intercept = hints.rescale_intercept or 0.0
    lo = center - 0.5 - (width - 1) / 2
    v = frame.astype(np.float32) * slope + intercept
    r = frame if ref is None else ref
    vmin, vmax = float(r.min()) * slope + intercept, float(r.max()) * slope + intercept
    vmin, vmax = min(vmin, vmax), max(vmin, vmax)
    if lo <= vmin + 0.05 * (vmax - vmin) and lo + width >= vmax - 0.05 * (vmax - vmin):
        return None
    win = np.clip((v - lo) * (255.0 / (width - 1)), 0, 255).astype(np.uint8)
    return 255 - win if hints.photometric == "MONOCHROME1" else win
