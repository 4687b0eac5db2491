"""Burned-in text removal for one DICOM file: render -> detect -> classify -> redact ->
verify -> encode. Pure: returns audit events and preview images, writes nothing.

Runs after the header step, on the same RawFile, with the *input* header (identity
values to look for, device signature). Redaction is in stored-pixel space, on every
frame; pixel data that needs no change is left byte-identical.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..audit.events import AuditEvent
from ..dicom.deidentify import Header
from ..dicom.operators import IdentityValues
from ..dicom.raw import RawFile, has_pixels
from ..errors import InputError
from ..policy.pixels import PixelPolicy
from ..pseudonym import Pseudonymizer
from . import image
from .classify import Verdict, classify
from .outcome import PixelOutcome
from .detect import BorderDetector, Box, PPOCRDetector, TesseractDetector, merge
from .recognize import Reading, Recognizer
from .regions import device_boxes, outside_regions
from .render import views

T_US_REGIONS = 0x00186011
MAX_PREVIEW_FRAMES = 16


@dataclass
class Decided:
    box: Box              # as detected (or from a rule)
    verdict: Verdict
    reading: Reading


def detectors(pp: PixelPolicy) -> list:
    out = []
    for name in pp.detectors:
        if name == "ppocr":
            out.append(PPOCRDetector(long_side=pp.long_side))
        elif name == "border":
            out.append(BorderDetector(band=pp.border_band))
        elif name == "tesseract":
            if not TesseractDetector.available():
                raise InputError("pixels-detector-missing: tesseract is not installed (apt-get install tesseract-ocr)")
            out.append(TesseractDetector())
    return out


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


class FrameCleaner:
    """Detection, classification and redaction of frames for one file."""

    def __init__(self, pp: PixelPolicy, mode: str, identity: IdentityValues | None):
        self.pp, self.mode, self.identity = pp, mode, identity
        self.detectors = detectors(pp) if mode in ("redact-all-text", "redact-phi") else []
        self.recognizer = Recognizer()

    def find(self, frame: np.ndarray, ds, photometric: str, ref: np.ndarray | None = None,
             skip: Callable[[Box], bool] | None = None, dismissed: set | None = None) -> list[Decided]:
        """Text boxes of a frame with their verdicts. A box read and found not to be text
        is added to `dismissed`.
        The verify pass passes `ref` (render with the input frame's range) and `skip`
        (boxes it need not read)."""
        decided: list[Decided] = []
        for _vname, view in views(frame, ds, photometric, self.pp.views, ref):
            raw = []
            for det in self.detectors:
                raw.extend(det.detect(view))
            model = [b for b in raw if not b.source.startswith("border")]
            # a border box mostly inside a model box is the same text: read it once
            extra = [b for b in raw if b.source.startswith("border")
                     and not any(b.overlap(m) >= 0.5 * b.area for m in model)]
            for b in merge(model) + merge(extra):
                if any(b.overlap(d.box) >= 0.8 * b.area for d in decided):
                    continue  # already decided from an earlier view
                if skip is not None and skip(b):
                    continue
                reading = self.recognizer.read(view, b)
                if b.source.startswith("border") and not _text_like(reading, b.source):
                    if dismissed is not None:
                        dismissed.add(b.as_tuple())
                    continue  # structure in the border band that does not read as text
                decided.append(Decided(b, classify(self.mode, reading, self.pp, self.identity), reading))
        return decided


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
    cache: dict[bytes, tuple[list[Decided], set]] = {}
    dismissed: list[set] = []
    per_frame: list[list[Box]] = []
    kept: list[list[Box]] = []
    counts = {"text_boxes": 0, "redacted_boxes": 0, "kept_boxes": 0, "region_boxes": 0}
    for i in range(n):
        frame = frames[i]
        key = hashlib.blake2b(frame.tobytes(), digest_size=16).digest()
        if key not in cache:
            nottext: set = set()
            cache[key] = (cleaner.find(frame, px.ds, px.photometric, dismissed=nottext) if cleaner.detectors
                          else [], nottext)
        decided, nottext = cache[key]
        dismissed.append(nottext)
        boxes, kept_here = [], []
        for d in decided:
            b = _pad(d.box, pp, w, h)
            counts["text_boxes"] += 1
            counts["redacted_boxes" if d.verdict.action == "redact" else "kept_boxes"] += 1
            out.events.append(_box_event(i, b, d.verdict.action, "burned-in-text", d.verdict.rule_id,
                                         f"detector={d.box.source};class={d.verdict.why};score={d.reading.score:.2f}",
                                         pseudo, d.reading.text))
            if d.verdict.action == "redact":
                _fill(frame, redacted[i], b)
                boxes.append(b)
            else:
                kept_here.append(d.box)
        for b in rule_boxes:
            counts["region_boxes"] += 1
            _fill(frame, redacted[i], b)
            boxes.append(b)
            out.events.append(_box_event(i, b, "redact", "device-region", f"pixels:{b.source}", "rule", pseudo))
        if outside is not None:
            redacted[i][outside] = frame.min(axis=(0, 1)) if frame.ndim == 3 else frame.min()
            out.events.append(AuditEvent(f"pixels.frame[{i}].outside-us-regions", "redact", "device-region",
                                         "pixels:region:us-outside-regions", "", f"pixels={int(outside.sum())}"))
        per_frame.append(boxes)
        kept.append(kept_here)

    if pp.verify and cleaner.detectors:
        for i, extra in verify(cleaner, frames, redacted, px, per_frame, kept, dismissed):
            for d, b in extra:
                counts["redacted_boxes"] += 1
                out.events.append(_box_event(i, b, "redact", "burned-in-text", "pixels:verify",
                                             f"detector={d.box.source};class=found-on-output;"
                                             f"score={d.reading.score:.2f}", pseudo, d.reading.text))
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


def verify(cleaner: FrameCleaner, frames: np.ndarray, redacted: np.ndarray, px: image.Pixels,
           per_frame: list[list[Box]], kept: list[list[Box]], dismissed: list[set], passes: int = 3):
    """Detect again on the output. Text found there that must go and is not inside a
    redacted box is redacted too, and the output checked again, up to `passes` times;
    text still there after that quarantines the file. The model detector's boxes all
    count; the border detector's only when legible (_legible).

    The output is rendered with the input's value range, so every pixel redaction did not
    touch looks exactly as it did on the first pass (a frame with no redaction is not
    examined again: the same deterministic detectors already saw it). A box the first
    pass read and dismissed as not text, over pixels that are still the same, is not read
    again (same view, same reading), nor is a box kept there (a safe word): a second
    reading must not flip a marker. Yields (frame, extra boxes)."""
    h, w = redacted.shape[1:3]
    done: dict[bytes, list] = {}
    for i in range(redacted.shape[0]):
        if not per_frame[i]:
            continue  # nothing changed here: the first pass saw these very pixels
        key = hashlib.blake2b(redacted[i].tobytes(), digest_size=16).digest()
        if key in done:  # same output frame as an earlier one: same extra boxes
            for _d, b in done[key]:
                _fill(frames[i], redacted[i], b)
                per_frame[i].append(b)
            yield i, done[key]
            continue

        def settled(b: Box, i: int = i) -> bool:
            changed = _changed(frames[i], redacted[i], b)
            return (changed >= 0.6  # inside what was already redacted
                    or (changed == 0 and any(b.overlap(Box(*t, "")) >= 0.9 * b.area for t in dismissed[i]))
                    or any(b.overlap(k) >= 0.6 * b.area for k in kept[i]))

        found: list = []
        for _ in range(passes):
            decided = cleaner.find(redacted[i], px.ds, px.photometric, ref=frames[i], skip=settled)
            extra = [(d, _pad(d.box, cleaner.pp, w, h)) for d in decided
                     if d.verdict.action == "redact"
                     and not (d.box.source.startswith("border") and not _legible(d.reading))]
            if not extra:
                break
            for d, b in extra:
                _fill(frames[i], redacted[i], b)
                per_frame[i].append(b)
            found += extra
        else:
            raise InputError(f"verify-failed: text remains in pixels after {passes} redaction passes (frame {i})")
        done[key] = found
        if found:
            yield i, found


def _changed(before: np.ndarray, after: np.ndarray, b: Box) -> float:
    """Fraction of a box's pixels that redaction changed."""
    a, o = before[b.y0:b.y1, b.x0:b.x1], after[b.y0:b.y1, b.x0:b.x1]
    if a.size == 0:
        return 1.0
    diff = a != o
    return float((diff.any(axis=-1) if diff.ndim == 3 else diff).mean())


def _text_like(r: Reading, source: str) -> bool:
    """A border-detector box counts as text when the recognizer reads characters there:
    a line of 3+ similar components at low confidence, an isolated one only surely.
    (Real radiographs have anatomy up to the edge; unread blobs are not redacted.)"""
    if not any(c.isalnum() for c in r.text):
        return False
    return r.score >= (0.8 if source == "border-single" else 0.3)


def _legible(r: Reading) -> bool:
    """Text the border detector finds on the output counts only when it reads as text:
    the edge of a filled patch can look like a stroke, a line of characters cannot."""
    return r.score >= 0.8 and len(r.text.replace(" ", "")) >= 2


def previews(redacted: np.ndarray, px: image.Pixels, per_frame: list[list[Box]]) -> list[tuple[str, bytes]]:
    """PNG of each changed output frame (up to 16), redacted boxes outlined in red."""
    import cv2

    out = []
    for i in range(min(redacted.shape[0], MAX_PREVIEW_FRAMES)):
        view = views(redacted[i], px.ds, px.photometric, ("display",))[0][1]
        rgb = cv2.cvtColor(view, cv2.COLOR_GRAY2BGR)
        for b in per_frame[i]:
            cv2.rectangle(rgb, (b.x0, b.y0), (b.x1 - 1, b.y1 - 1), (0, 0, 255), 2)
        ok, png = cv2.imencode(".png", rgb)
        if ok:
            out.append((f"frame{i:04d}.png", png.tobytes()))
    return out
