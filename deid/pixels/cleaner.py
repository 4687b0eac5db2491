"""Find the text in one image and decide each box: detect in every view, read what a
decision needs, classify by mode, then look at each kept box with its neighbour on the
line. Used by the pixel stage (deid run), verify, and `deid check`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..core import Action, PixelMode
from ..errors import InputError
from ..policy.pixels import PixelPolicy
from .classify import Verdict, classify
from .detect import SINGLE, BorderDetector, Box, PPOCRDetector, Rect, TesseractDetector, TextDetector, beside, merge
from .frames import HintsLike, IdentityMatcher
from .labels import is_label, is_phi_label
from .recognize import Reading, Recognizer
from .render import views


class Decided:
    """A text box and its verdict. Its reading is taken when first asked for: a box whose
    verdict no reading can change (a line too long to be a safe word, in redact-all-text)
    is read only if a neighbour's verdict or a check needs its text."""

    def __init__(
        self,
        box: Box,
        verdict: Verdict,
        reading: Reading | None,
        view: str = "display",
        crop: np.ndarray | None = None,
        recognizer: Recognizer | None = None,
    ):
        self.box, self.verdict, self.view = box, verdict, view  # view: where it was found (render.py)
        self._reading, self._crop, self._recognizer = reading, crop, recognizer

    @property
    def was_read(self) -> bool:
        return self._reading is not None

    @property
    def reading(self) -> Reading:
        if self._reading is None:
            assert self._recognizer is not None and self._crop is not None
            self._reading = self._recognizer.read_crop(self._crop)
            self._crop = None
        return self._reading

    def with_verdict(self, verdict: Verdict) -> "Decided":
        return Decided(self.box, verdict, self.reading, self.view)


def detectors(pp: PixelPolicy) -> list[TextDetector]:
    out: list[TextDetector] = []
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


class FrameCleaner:
    """Detection, classification and redaction of frames for one file."""

    def __init__(self, pp: PixelPolicy, mode: PixelMode | str, identity: IdentityMatcher | None):
        self.pp, self.mode, self.identity = pp, PixelMode(mode), identity
        self.detectors = detectors(pp) if self.mode.finds_text else []
        self.recognizer = Recognizer()

    def find(
        self,
        frame: np.ndarray,
        ds: HintsLike,
        photometric: str = "",
        ref: np.ndarray | None = None,
        skip: Callable[[Box], bool] | None = None,
        dismissed: set[Rect] | None = None,
        rois: list[Box] | None = None,
    ) -> list[Decided]:
        """Text boxes of a frame with their verdicts. A box read and found not to be text
        is added to `dismissed`. `ds`: RenderHints, or DICOM keywords to read them from
        (then `photometric` says the interpretation).
        The verify pass passes `ref` (render with the input frame's range), `skip`
        (boxes it need not read) and `rois` (the redacted boxes: only text touching them
        is looked for)."""
        decided: list[Decided] = []
        near = None if rois is None else [r.pad(max(r.height, 8)) for r in rois]
        for vname, view in views(frame, ds, photometric, self.pp.views, ref):
            raw = []
            for det in self._detectors_for(vname, near, view.shape):
                raw.extend(det.detect(view, rois))
            if near is not None:
                raw = [b for b in raw if any(b.overlap(r) for r in near)]
            model = [b for b in raw if not b.source.startswith("border")]
            # a border box mostly inside a model box is the same text: read it once
            extra = [
                b for b in raw if b.source.startswith("border") and not any(b.overlap(m) >= 0.5 * b.area for m in model)
            ]
            # lines first, then lone components: one beside a line read as text is part of
            # it. Lone components are never chained into lines here (noise along an edge
            # would chain across the frame); each is read on its own.
            lines = merge([b for b in extra if b.source != SINGLE])
            singles = [
                b for b in extra if b.source == SINGLE and not any(b.overlap(ln) >= 0.5 * b.area for ln in lines)
            ]
            for b in merge(model) + lines + singles:
                if any(b.overlap(d.box) >= 0.8 * b.area for d in decided):
                    continue  # already decided from an earlier view
                if skip is not None and skip(b):
                    continue
                # the display view's model boxes are text as found; every other box (the
                # border detector's, and what a window, stretch or chroma view shows of
                # anatomy in high contrast) must read as text
                confirm = b.source.startswith("border") or vname != "display"
                if (
                    not confirm
                    and self.mode == PixelMode.REDACT_ALL_TEXT
                    and not self.pp.could_be_safe(b.width, b.height)
                ):
                    decided.append(
                        Decided(
                            b,
                            Verdict(Action.REDACT, "pixels:redact-all-text", "text"),
                            None,
                            vname,
                            view[b.y0 : b.y1, b.x0 : b.x1].copy(),
                            self.recognizer,
                        )
                    )
                    continue  # redacted whatever it reads as: read only if asked
                # a lone component is a short value when it sits beside a line (never beside
                # another lone component: they would vouch for each other along an edge)
                single = b.source == SINGLE and not (
                    b.width <= 2.5 * b.height and any(beside(b, d.box) for d in decided if d.box.source != SINGLE)
                )
                if single and b.width < 0.9 * b.height:
                    # it would need two characters (_text_like): too narrow to hold them
                    if dismissed is not None:
                        dismissed.add(b.as_tuple())
                    continue
                reading = self.recognizer.read(view, b)
                if confirm and not _text_like(reading, single, 0.3 if vname == "display" else 0.5):
                    if dismissed is not None:
                        dismissed.add(b.as_tuple())
                    continue  # structure in the border band that does not read as text
                decided.append(Decided(b, classify(self.mode, reading, self.pp, self.identity), reading, vname))
        return in_context(decided, self.mode)

    def _detectors_for(self, vname: str, near: list[Box] | None, shape: tuple[int, ...]) -> list:
        """Every detector, but only the border detector (when there is one) where it sees
        all there is to see, for a tenth of the model's cost: on the views of the range's
        ends (text hidden there lies on a flat shutter or collimated field at the frame's
        edge), and in a verify pass whose redacted boxes all lie in the border band (what
        redaction could have left there, it finds: characters at the frame's edge)."""
        band = [d for d in self.detectors if d.name == "border"]
        if not band:
            return self.detectors
        if vname in BAND_VIEWS:
            return band
        if near is not None:
            h, w = shape[:2]
            inner = Box(
                int(w * self.pp.border_band),
                int(h * self.pp.border_band),
                w - int(w * self.pp.border_band),
                h - int(h * self.pp.border_band),
                "",
            )
            if all(not r.clip(w, h).overlap(inner) for r in near):
                return band
        return self.detectors


BAND_VIEWS = ("shadows", "highlights")


def in_context(decided: list[Decided], mode: PixelMode | str) -> list[Decided]:
    """Boxes kept on their own reading, looked at with the box before them on their line:
    a value after a label that announces PHI (`Sex:` `M`) is redacted, and in
    `redact-all-text` a safe word after any label is not standing alone."""
    out = []
    for d in decided:
        if d.verdict.action == Action.KEEP:
            label = _left_neighbour(d, decided)
            if label is not None and (
                is_phi_label(label.reading.text) or (mode == PixelMode.REDACT_ALL_TEXT and is_label(label.reading.text))
            ):
                d = d.with_verdict(Verdict(Action.REDACT, "pixels:label-value", "label-value"))
        out.append(d)
    return out


def _left_neighbour(d: Decided, decided: list[Decided]) -> Decided | None:
    """The nearest box ending left of `d` on its line, at most 3 heights away."""
    near = [
        o
        for o in decided
        if o is not d and o.box.x1 <= d.box.x0 + 0.25 * d.box.width and o.box.x0 < d.box.x0 and beside(o.box, d.box)
    ]
    return max(near, key=lambda o: o.box.x1, default=None)


def _text_like(r: Reading, single: bool, min_score: float = 0.3) -> bool:
    """A border-detector box counts as text when the recognizer reads characters there:
    a line of 3+ similar components (or a component beside a line of text) at low
    confidence, an isolated one only when read surely as two characters or more. (Real radiographs have anatomy up to the
    edge; unread blobs are not redacted.)"""
    alnum = sum(c.isalnum() for c in r.text)
    if single:  # one lone glyph is not an identifier; a stroke of anatomy reads as "1" or "l"
        return alnum >= 2 and r.score >= 0.8
    return alnum >= 1 and r.score >= min_score
