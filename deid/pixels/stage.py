"""Burned-in text removal for one DICOM file: render -> detect -> classify -> redact ->
verify -> encode. Pure: returns audit events and preview images, writes nothing.

Runs after the header step, on the same RawFile, with the *input* header (identity
values to look for, device signature). Redaction is in stored-pixel space, on every
frame; pixel data that needs no change is left byte-identical.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from ..core import AuditEvent
from ..dicom.deidentify import Header
from ..dicom.operators import IdentityValues
from ..dicom.raw import RawFile, has_pixels
from ..errors import InputError
from ..policy.pixels import PixelPolicy
from ..pseudonym import Pseudonymizer
from . import image
from .cleaner import Decided, FrameCleaner
from .detect import Box
from .guard import guard
from .outcome import PixelOutcome
from .probes import Probe, probes
from .recognize import Reading
from .regions import device_boxes, outside_regions
from .render import minmax, to_rgb, views

T_US_REGIONS = 0x00186011
MAX_PREVIEW_FRAMES = 16


def header_info(h: Header) -> dict:
    info = {kw: h.text(tag).strip() for kw, tag in (("Modality", 0x00080060), ("Manufacturer", 0x00080070),
                                                     ("ManufacturerModelName", 0x00081090),
                                                     ("ImageType", 0x00080008))}
    for kw, tag in (("Rows", 0x00280010), ("Columns", 0x00280011)):
        el = h.by_tag.get(tag)
        info[kw] = int.from_bytes(el.value[:2], "little") if el is not None and el.length >= 2 else 0
    return info


def us_regions(f: RawFile) -> list[tuple[int, int, int, int]]:
    """RegionLocationMinX0/MinY0/MaxX1/MaxY1 of each SequenceOfUltrasoundRegions item."""
    seq = next((e for e in f.elems if e.tag == T_US_REGIONS and e.items is not None), None)
    out = []
    for item in seq.items if seq else []:
        vals = {e.tag: int.from_bytes(e.value[:4], "little") for e in item
                if e.tag in (0x00186018, 0x0018601A, 0x0018601C, 0x0018601E) and e.length >= 4}
        if len(vals) == 4:
            out.append((vals[0x00186018], vals[0x0018601A], vals[0x0018601C], vals[0x0018601E]))
    return out


def _score(d: Decided) -> str:
    """The reading's confidence for the audit, or "unread" (redacted whatever it says)."""
    return f"{d.reading.score:.2f}" if d.was_read else "unread"


def _fill(frame: np.ndarray, out: np.ndarray, b: Box) -> None:
    """Fill a box flat with the background around it: the median of a 3 px ring outside it
    (text strokes are a minority there), so the patch neither shows nor looks like text."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, b.x0 - 3), max(0, b.y0 - 3), min(w, b.x1 + 3), min(h, b.y1 + 3)
    ring = np.ones((y1 - y0, x1 - x0), bool)
    ring[b.y0 - y0:b.y1 - y0, b.x0 - x0:b.x1 - x0] = False
    region = frame[y0:y1, x0:x1]
    value = np.median(region[ring], axis=0) if ring.any() else region.min(axis=(0, 1))
    out[b.y0:b.y1, b.x0:b.x1] = np.asarray(value).astype(out.dtype)


def _box_event(i: int, b: Box, action: str, category: str, rule_id: str, detail: str,
               pseudo: Pseudonymizer, text: str = "") -> AuditEvent:
    """One audit event per box per frame; the recognized text only as its keyed fingerprint."""
    return AuditEvent(f"pixels.frame[{i}].box[{b.x0},{b.y0},{b.x1},{b.y1}]", action, category, rule_id,
                      pseudo.fingerprint(text) if text else "", detail)


def _pad(b: Box, pp: PixelPolicy, w: int, h: int) -> Box:
    """`padding` px, plus 10 % of the box's short side up to 6 px (anti-aliased stroke edges)."""
    return b.pad(pp.padding + min(6, int(round(0.1 * min(b.height, b.width))))).clip(w, h)


@dataclass
class Searched:
    """A probe (probes.py) and what was found in it: boxes redacted in all its frames."""
    probe: Probe
    decided: list[Decided]
    dismissed: set = field(default_factory=set)     # boxes read and found not to be text
    boxes: list[Box] = field(default_factory=list)  # padded, redacted
    kept: list[Box] = field(default_factory=list)   # safe words, as detected


def clean_pixels(f: RawFile, before: Header, pp: PixelPolicy, pseudo: Pseudonymizer,
                 preview: bool = False) -> PixelOutcome:
    out = PixelOutcome()
    info = header_info(before)
    mode = pp.mode_for(info["Modality"])
    if mode == "off" or not has_pixels(f.elems):
        return out
    h, w = info["Rows"], info["Columns"]
    identity = IdentityValues(before.pixel_identity_values()) if mode == "redact-phi" else None
    cleaner = FrameCleaner(pp, mode, identity)
    rule_boxes = device_boxes(info, w, h) if pp.device_regions else []
    outside = outside_regions(us_regions(f), w, h) if pp.blank_outside_us_regions else None
    if not cleaner.detectors and not rule_boxes and outside is None:
        return out  # regions-only and no rule applies: nothing to decode
    px = image.decode(f)
    frames = px.frames
    n = frames.shape[0]
    if frames.shape[1:3] != (h, w):
        raise InputError("pixels-undecodable: decoded frame size does not match Rows/Columns")

    redacted = frames.copy()
    counts = {"text_boxes": 0, "redacted_boxes": 0, "kept_boxes": 0, "region_boxes": 0}
    searched = []
    for p in (probes(frames) if cleaner.detectors else []):
        st = Searched(p, [])
        st.decided = cleaner.find(p.image, px.ds, px.photometric, dismissed=st.dismissed)
        for d in st.decided:
            b = _pad(d.box, pp, w, h)
            if d.verdict.action == "redact":
                st.boxes.append(b)
            else:
                st.kept.append(d.box)
            for i in p.targets:
                counts["text_boxes"] += 1
                counts["redacted_boxes" if d.verdict.action == "redact" else "kept_boxes"] += 1
                out.events.append(_box_event(i, b, d.verdict.action, "burned-in-text", d.verdict.rule_id,
                                             _detail(d, p, d.verdict.why), pseudo, _text(d)))
                if d.verdict.action == "redact":
                    _fill(frames[i], redacted[i], b)
        searched.append(st)
    for i in range(n):
        for b in rule_boxes:
            counts["region_boxes"] += 1
            _fill(frames[i], redacted[i], b)
            out.events.append(_box_event(i, b, "redact", "device-region", f"pixels:{b.source}", "rule", pseudo))
        if outside is not None:
            redacted[i][outside] = frames[i].min(axis=(0, 1)) if frames.ndim == 4 else frames[i].min()
            out.events.append(AuditEvent(f"pixels.frame[{i}].outside-us-regions", "redact", "device-region",
                                         "pixels:region:us-outside-regions", "", f"pixels={int(outside.sum())}"))

    if pp.verify and cleaner.detectors:
        for st, extra in verify(cleaner, frames, redacted, px, searched, rule_boxes):
            for d, b in extra:
                for i in st.probe.targets:
                    counts["redacted_boxes"] += 1
                    out.events.append(_box_event(i, b, "redact", "burned-in-text", "pixels:verify",
                                                 _detail(d, st.probe, "found-on-output"), pseudo, _text(d)))
    per_frame: list[list[Box]] = [list(rule_boxes) for _ in range(n)]
    for st in searched:
        for i in st.probe.targets:
            per_frame[i] += st.boxes
    out.events.append(guard(per_frame, w, h, pp.redaction_limit(info["Modality"]), info["Modality"],
                            outside, out.events))
    changed = not np.array_equal(redacted, frames)
    cleaned = mode in ("redact-all-text", "redact-phi")
    if changed and frames.dtype.kind == "f":
        # scanned, and text was found; there is no encoder for Float Pixel Data here, and
        # the file must not go out with the text in it
        raise InputError("pixels-float-unsupported: text found in Float Pixel Data, which deid cannot re-encode")
    if changed:
        image.encode(f, px, redacted, burned_in_no=cleaned)
    elif cleaned:
        image.set_burned_in_no(f)
    counts["frames"] = n
    counts["pixels_changed"] = int(changed)
    out.counts = counts
    if preview:
        out.previews = previews(redacted, px, per_frame)
    return out


def _detail(d: Decided, p: Probe, why: str) -> str:
    where = "" if p.name.startswith("frame[") else f";probe={p.name}"
    return f"detector={d.box.source};view={d.view}{where};class={why};score={_score(d)}"


def _text(d: Decided) -> str:
    """The text to fingerprint: only what was read (an unread box has none)."""
    return d.reading.text if d.was_read else ""


def verify(cleaner: FrameCleaner, frames: np.ndarray, redacted: np.ndarray, px: image.Pixels,
           searched: list[Searched], rule_boxes: list[Box], passes: int = 3):
    """Detect again on the output. Text found there that must go and is not inside a
    redacted box is redacted too (in every frame of its probe), and the output checked
    again, up to `passes` times; text still there after that quarantines the file. The
    model detector's boxes all count; the border detector's only when legible (_legible).

    The output is rendered with the input's value range, so every pixel redaction did not
    touch looks exactly as it did on the first pass (a probe with no redaction is not
    examined again: the same deterministic detectors already saw it). Only text touching
    a redacted box is looked for: elsewhere the first pass saw the very same pixels, and
    the model run on the output only adds boxes there that its wide context shifted
    (a colour bar read as text once a caption far away was gone). A box the first
    pass read and dismissed as not text, over pixels that are still the same, is not read
    again (same view, same reading), nor is a box kept there (a safe word): a second
    reading must not flip a marker. Yields (searched probe, extra boxes)."""
    h, w = redacted.shape[1:3]
    for st in searched:
        rois = st.boxes + rule_boxes
        if not rois:
            continue  # nothing changed here: the first pass saw these very pixels
        found: list = []
        for _ in range(passes):
            after = st.probe.render(redacted)

            def settled(b: Box, after: np.ndarray = after) -> bool:
                changed = _changed(st.probe.image, after, b)
                return (changed >= 0.6  # inside what was already redacted
                        or (changed == 0 and any(b.overlap(Box(*t, "")) >= 0.9 * b.area for t in st.dismissed))
                        or any(b.overlap(k) >= 0.6 * b.area for k in st.kept))

            decided = cleaner.find(after, px.ds, px.photometric, ref=st.probe.image, skip=settled, rois=rois)
            extra = [(d, _pad(d.box, cleaner.pp, w, h)) for d in decided
                     if d.verdict.action == "redact"
                     and not (d.box.source.startswith("border") and not _legible(d.reading))]
            if not extra:
                break
            for _d, b in extra:
                for i in st.probe.targets:
                    _fill(frames[i], redacted[i], b)
                st.boxes.append(b)
            rois = st.boxes + rule_boxes
            found += extra
        else:
            raise InputError(f"verify-failed: text remains in pixels after {passes} redaction passes "
                             f"({st.probe.name})")
        if found:
            yield st, found


def _changed(before: np.ndarray, after: np.ndarray, b: Box) -> float:
    """Fraction of a box's pixels that redaction changed."""
    a, o = before[b.y0:b.y1, b.x0:b.x1], after[b.y0:b.y1, b.x0:b.x1]
    if a.size == 0:
        return 1.0
    diff = a != o
    return float((diff.any(axis=-1) if diff.ndim == 3 else diff).mean())


def _legible(r: Reading) -> bool:
    """Text the border detector finds on the output counts only when it reads as text:
    the edge of a filled patch can look like a stroke, a line of characters cannot."""
    return r.score >= 0.8 and len(r.text.replace(" ", "")) >= 2


def previews(redacted: np.ndarray, px: image.Pixels, per_frame: list[list[Box]]) -> list[tuple[str, bytes]]:
    """PNG of each changed output frame (up to 16), redacted boxes outlined in red; colour
    frames in colour (a grey preview would hide coloured text that is still there)."""
    import cv2

    out = []
    for i in range(min(redacted.shape[0], MAX_PREVIEW_FRAMES)):
        rgb = to_rgb(redacted[i], px.ds, px.photometric)
        if rgb is not None:
            bgr = cv2.cvtColor(minmax(rgb) if rgb.dtype != np.uint8 else rgb, cv2.COLOR_RGB2BGR)
        else:
            bgr = cv2.cvtColor(views(redacted[i], px.ds, px.photometric, ("display",))[0][1], cv2.COLOR_GRAY2BGR)
        for b in per_frame[i]:
            cv2.rectangle(bgr, (b.x0, b.y0), (b.x1 - 1, b.y1 - 1), (0, 0, 255), 2)
        ok, png = cv2.imencode(".png", bgr)
        if ok:
            out.append((f"frame{i:04d}.png", png.tobytes()))
    return out
