"""Burned-in text removal for a stack of frames: detect -> classify -> redact -> verify ->
guard. Format-free and pure: it takes frames (any numpy image: a decoded DICOM, a PNG, a
PDF page, a WSI tile) with their render hints and the identity values to look for, and
returns the redacted frames, audit events and preview images; it writes nothing.

Redaction is in stored-value space, on every frame. Reading and writing a file format
(decode, BurnedInAnnotation, re-encode) and what a header says about where text is
(device region rules, ultrasound regions) are the adapter's: deid/dicom/pixels.py for DICOM.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core import Action, AuditEvent, PixelMode
from ..errors import InputError
from ..policy.pixels import PixelPolicy
from ..pseudonym import Pseudonymizer
from .cleaner import Decided, FrameCleaner
from .detect import Box, Rect
from .frames import Frames, IdentityMatcher, RenderHints
from .guard import guard
from .probes import Probe, probes
from .recognize import Reading
from .render import minmax, to_rgb, views

MAX_PREVIEW_FRAMES = 16


def _score(d: Decided) -> str:
    """The reading's confidence for the audit, or "unread" (redacted whatever it says)."""
    return f"{d.reading.score:.2f}" if d.was_read else "unread"


def _fill(frame: np.ndarray, out: np.ndarray, b: Box) -> None:
    """Fill a box flat with the background around it: the median of a 3 px ring outside it
    (text strokes are a minority there), so the patch neither shows nor looks like text."""
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, b.x0 - 3), max(0, b.y0 - 3), min(w, b.x1 + 3), min(h, b.y1 + 3)
    ring = np.ones((y1 - y0, x1 - x0), bool)
    ring[b.y0 - y0 : b.y1 - y0, b.x0 - x0 : b.x1 - x0] = False
    region = frame[y0:y1, x0:x1]
    value = np.median(region[ring], axis=0) if ring.any() else region.min(axis=(0, 1))
    out[b.y0 : b.y1, b.x0 : b.x1] = np.asarray(value).astype(out.dtype)


def _box_event(
    i: int, b: Box, action: Action, category: str, rule_id: str, detail: str, pseudo: Pseudonymizer, text: str = ""
) -> AuditEvent:
    """One audit event per box per frame; the recognized text only as its keyed fingerprint."""
    return AuditEvent(
        f"pixels.frame[{i}].box[{b.x0},{b.y0},{b.x1},{b.y1}]",
        action,
        category,
        rule_id,
        pseudo.fingerprint(text) if text else "",
        detail,
    )


def _pad(b: Box, pp: PixelPolicy, w: int, h: int) -> Box:
    """`padding` px, plus 10 % of the box's short side up to 6 px (anti-aliased stroke edges)."""
    return b.pad(pp.padding + min(6, int(round(0.1 * min(b.height, b.width))))).clip(w, h)


@dataclass
class Searched:
    """A probe (probes.py) and what was found in it: boxes redacted in all its frames."""

    probe: Probe
    decided: list[Decided]
    dismissed: set[Rect] = field(default_factory=set)  # boxes read and found not to be text
    boxes: list[Box] = field(default_factory=list)  # padded, redacted
    kept: list[Box] = field(default_factory=list)  # safe words, as detected


@dataclass
class Redacted:
    """What the pixel core did to a stack of frames."""

    frames: np.ndarray  # the output frames (a copy of the input's)
    changed: bool  # any pixel differs from the input
    events: list[AuditEvent]  # one per box per frame, region, verify find, and the guard's measure
    counts: dict[str, int]  # text/redacted/kept/region boxes, frames, pixels_changed
    per_frame: list[list[Box]]  # redacted boxes of each frame (previews, the report)


def redact_frames(
    frames: Frames,
    pp: PixelPolicy,
    mode: PixelMode | str,
    pseudo: Pseudonymizer,
    identity: IdentityMatcher | None = None,
    *,
    rule_boxes: Sequence[Box] = (),
    outside: np.ndarray | None = None,
    modality: str = "",
    cleaner: FrameCleaner | None = None,
) -> Redacted:
    """Find the text in every frame, decide which boxes are PHI (by `mode`: `identity` is
    what redact-phi looks for), redact them and the `rule_boxes` (device regions) in
    every frame, blank the `outside` mask (H x W bool), verify the output and hold it to
    the over-redaction limit of `modality` (pp.redaction_limit). Raises QuarantineError
    (over-redaction) or InputError (verify-failed). Format-free: the caller decodes the
    frames and stores the result."""
    cleaner = cleaner if cleaner is not None else FrameCleaner(pp, mode, identity)
    array, hints = frames.array, frames.hints
    n, h, w = frames.count, frames.rows, frames.columns
    redacted = array.copy()
    events: list[AuditEvent] = []
    counts = {"text_boxes": 0, "redacted_boxes": 0, "kept_boxes": 0, "region_boxes": 0}
    searched = []
    for p in probes(array) if cleaner.detectors else []:
        st = Searched(p, [])
        st.decided = cleaner.find(p.image, hints, dismissed=st.dismissed)
        for d in st.decided:
            b = _pad(d.box, pp, w, h)
            redact = d.verdict.action == Action.REDACT
            if redact:
                st.boxes.append(b)
            else:
                st.kept.append(d.box)
            for i in p.targets:
                counts["text_boxes"] += 1
                counts["redacted_boxes" if redact else "kept_boxes"] += 1
                events.append(
                    _box_event(
                        i,
                        b,
                        d.verdict.action,
                        "burned-in-text",
                        d.verdict.rule_id,
                        _detail(d, p, d.verdict.why),
                        pseudo,
                        _text(d),
                    )
                )
                if redact:
                    _fill(array[i], redacted[i], b)
        searched.append(st)
    for i in range(n):
        for b in rule_boxes:
            counts["region_boxes"] += 1
            _fill(array[i], redacted[i], b)
            events.append(_box_event(i, b, Action.REDACT, "device-region", f"pixels:{b.source}", "rule", pseudo))
        if outside is not None:
            redacted[i][outside] = array[i].min(axis=(0, 1)) if array.ndim == 4 else array[i].min()
            events.append(
                AuditEvent(
                    f"pixels.frame[{i}].outside-us-regions",
                    Action.REDACT,
                    "device-region",
                    "pixels:region:us-outside-regions",
                    "",
                    f"pixels={int(outside.sum())}",
                )
            )

    if pp.verify and cleaner.detectors:
        for st, extra in verify(cleaner, array, redacted, hints, searched, list(rule_boxes)):
            for d, b in extra:
                for i in st.probe.targets:
                    counts["redacted_boxes"] += 1
                    events.append(
                        _box_event(
                            i,
                            b,
                            Action.REDACT,
                            "burned-in-text",
                            "pixels:verify",
                            _detail(d, st.probe, "found-on-output"),
                            pseudo,
                            _text(d),
                        )
                    )
    per_frame: list[list[Box]] = [list(rule_boxes) for _ in range(n)]
    for st in searched:
        for i in st.probe.targets:
            per_frame[i] += st.boxes
    events.append(guard(per_frame, w, h, pp.redaction_limit(modality), modality, outside, events))
    changed = not np.array_equal(redacted, array)
    counts["frames"] = n
    counts["pixels_changed"] = int(changed)
    return Redacted(redacted, changed, events, counts, per_frame)


def _detail(d: Decided, p: Probe, why: str) -> str:
    where = "" if p.name.startswith("frame[") else f";probe={p.name}"
    return f"detector={d.box.source};view={d.view}{where};class={why};score={_score(d)}"


def _text(d: Decided) -> str:
    """The text to fingerprint: only what was read (an unread box has none)."""
    return d.reading.text if d.was_read else ""


def verify(
    cleaner: FrameCleaner,
    frames: np.ndarray,
    redacted: np.ndarray,
    hints: RenderHints,
    searched: list[Searched],
    rule_boxes: list[Box],
    passes: int = 3,
) -> Iterator[tuple[Searched, list[tuple[Decided, Box]]]]:
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
        found: list[tuple[Decided, Box]] = []
        for _ in range(passes):
            after = st.probe.render(redacted)

            def settled(b: Box, after: np.ndarray = after, st: Searched = st) -> bool:
                changed = _changed(st.probe.image, after, b)
                return (
                    changed >= 0.6  # inside what was already redacted
                    or (changed == 0 and any(b.overlap(Box(*t, "")) >= 0.9 * b.area for t in st.dismissed))
                    or any(b.overlap(k) >= 0.6 * b.area for k in st.kept)
                )

            decided = cleaner.find(after, hints, ref=st.probe.image, skip=settled, rois=rois)
            extra = [
                (d, _pad(d.box, cleaner.pp, w, h))
                for d in decided
                if d.verdict.action == Action.REDACT
                and not (d.box.source.startswith("border") and not _legible(d.reading))
            ]
            if not extra:
                break
            for _d, b in extra:
                for i in st.probe.targets:
                    _fill(frames[i], redacted[i], b)
                st.boxes.append(b)
            rois = st.boxes + rule_boxes
            found += extra
        else:
            raise InputError(f"verify-failed: text remains in pixels after {passes} redaction passes ({st.probe.name})")
        if found:
            yield st, found


def _changed(before: np.ndarray, after: np.ndarray, b: Box) -> float:
    """Fraction of a box's pixels that redaction changed."""
    a, o = before[b.y0 : b.y1, b.x0 : b.x1], after[b.y0 : b.y1, b.x0 : b.x1]
    if a.size == 0:
        return 1.0
    diff = a != o
    return float((diff.any(axis=-1) if diff.ndim == 3 else diff).mean())


def _legible(r: Reading) -> bool:
    """Text the border detector finds on the output counts only when it reads as text:
    the edge of a filled patch can look like a stroke, a line of characters cannot."""
    return r.score >= 0.8 and len(r.text.replace(" ", "")) >= 2


def previews(redacted: np.ndarray, hints: RenderHints, per_frame: list[list[Box]]) -> list[tuple[str, bytes]]:
    """PNG of each changed output frame (up to 16), redacted boxes outlined in red; colour
    frames in colour (a grey preview would hide coloured text that is still there)."""
    import cv2

    out = []
    for i in range(min(redacted.shape[0], MAX_PREVIEW_FRAMES)):
        rgb = to_rgb(redacted[i], hints)
        if rgb is not None:
            bgr = cv2.cvtColor(minmax(rgb) if rgb.dtype != np.uint8 else rgb, cv2.COLOR_RGB2BGR)
        else:
            bgr = cv2.cvtColor(views(redacted[i], hints, hints.photometric, ("display",))[0][1], cv2.COLOR_GRAY2BGR)
        for b in per_frame[i]:
            cv2.rectangle(bgr, (b.x0, b.y0), (b.x1 - 1, b.y1 - 1), (0, 0, 255), 2)
        ok, png = cv2.imencode(".png", bgr)
        if ok:
            out.append((f"frame{i:04d}.png", png.tobytes()))
    return out
