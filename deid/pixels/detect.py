"""Find text boxes in an 8-bit view of a frame.

Two detectors, unioned: the PP-OCRv6 DB text detector (any text, anywhere, English
and Chinese) and a model-free OpenCV detector restricted to the outer border band,
where burned-in annotations live and where the model misses tiny (10-14 px) or
low-contrast corner text. Over anatomy the OpenCV one would fire on ribs and wires,
so it never looks there. Both sit behind `TextDetector`, as does the optional
Tesseract backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive
    source: str  # detector name, or "region:<rule id>"
    score: float = 1.0

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    def clip(self, w: int, h: int) -> "Box":
        return Box(max(0, self.x0), max(0, self.y0), min(w, self.x1), min(h, self.y1), self.source, self.score)

    def pad(self, p: int) -> "Box":
        return Box(self.x0 - p, self.y0 - p, self.x1 + p, self.y1 + p, self.source, self.score)

    def overlap(self, other: "Box") -> int:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(0, w) * max(0, h)

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x0, self.y0, self.x1, self.y1)


class TextDetector(Protocol):
    name: str

    def detect(self, view: np.ndarray, rois: list[Box] | None = None) -> list[Box]:
        """`view`: H x W uint8. Returns boxes in the view's pixel coordinates. `rois`: only
        these regions need looking at (a detector may still look at more)."""


MAX_UPSCALE = 4.0


class PPOCRDetector:
    """PP-OCRv6 small DB detector, run with onnxruntime (models.py).

    The frame is resized so its long side is `long_side` (rounded to 32): small
    images are enlarged, so 10 px text on a 512 px CT is seen at ~20 px, but never
    more than MAX_UPSCALE times (a 64 px thumbnail at 1280 px costs 400x the work to
    show text that a 4x view already shows)."""

    name = "ppocr"

    def __init__(self, long_side: int = 1280, thresh: float = 0.3, box_thresh: float = 0.5, unclip: float = 1.5):
        self.long_side, self.thresh, self.box_thresh, self.unclip = long_side, thresh, box_thresh, unclip

    def detect(self, view: np.ndarray, rois: list[Box] | None = None) -> list[Box]:
        """Always the whole view: the model run on tiles around `rois` sees each tile's
        cut edges as image edges and finds text-shaped blocks there (tried, measured)."""
        from .models import session

        h, w = view.shape[:2]
        ratio = min(self.long_side / max(h, w), MAX_UPSCALE)
        rh, rw = max(32, int(round(h * ratio / 32)) * 32), max(32, int(round(w * ratio / 32)) * 32)
        small = cv2.resize(view, (rw, rh), interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR)
        sx, sy = w / rw, h / rh
        x = (small.astype(np.float32) * (2 / 255.0) - 1.0)[None, None]
        x = np.repeat(x, 3, axis=1)
        sess = session("det")
        prob = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
        seg = (prob > self.thresh).astype(np.uint8)
        seg = cv2.dilate(seg, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(seg, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        boxes: list[Box] = []
        glyphs: list[Box] = []
        for c in contours:
            (cx, cy), (bw, bh), ang = cv2.minAreaRect(c)
            if min(bw, bh) < 2:
                continue
            x0, y0, cw, ch = cv2.boundingRect(c)
            mask = np.zeros((ch, cw), np.uint8)
            cv2.fillPoly(mask, [c - (x0, y0)], 1)
            score = float(cv2.mean(prob[y0 : y0 + ch, x0 : x0 + cw], mask)[0])
            if score < self.box_thresh:
                continue
            tilt = abs(ang) % 90
            if min(tilt, 90 - tilt) > 20 and max(bw, bh) > 3 * min(bw, bh):
                continue  # a long thin diagonal (a rib, a tube) is not an annotation line
            d = bw * bh * self.unclip / (2 * (bw + bh))
            pts = cv2.boxPoints(((cx, cy), (bw + 2 * d, bh + 2 * d), ang))
            bx0, by0 = pts.min(axis=0)
            bx1, by1 = pts.max(axis=0)
            box = Box(
                int(math.floor(bx0 * sx)),
                int(math.floor(by0 * sy)),
                int(math.ceil(bx1 * sx)),
                int(math.ceil(by1 * sy)),
                self.name,
                round(score, 3),
            ).clip(w, h)
            if not _plausible_line(box, w, h):
                continue
            (glyphs if score < GLYPH_BOX_THRESH and _glyph_shaped(box) else boxes).append(box)
        # a glyph beside a line is a short value (`Sex: M`), not a lone round shape
        return boxes + [g for g in glyphs if any(beside(g, b) for b in boxes)]


# A lone glyph-shaped box has no line around it to give the model context, and round
# anatomy (a femur in cross-section on a PET/CT) looks like an "O": such boxes need a
# surer score than lines (0.5). Measured: glyphs on the synthetic set and the real CR
# 0.79-0.91, the PET femur ring 0.69.
GLYPH_BOX_THRESH = 0.75


def beside(a: Box, b: Box, gap: float = 3.0) -> bool:
    """a and b on one line: of a size (the shorter at least 0.3 of the taller: a model box
    stands about 2.5 times as tall as the glyphs it holds, a border component as tall as
    its glyph), overlapping by half the shorter height, at most `gap` times the taller
    height apart."""
    if min(a.height, b.height) < 0.3 * max(a.height, b.height):
        return False
    ov_h = min(a.y1, b.y1) - max(a.y0, b.y0)
    if ov_h < 0.5 * min(a.height, b.height):
        return False
    return max(a.x0, b.x0) - min(a.x1, b.x1) <= gap * max(a.height, b.height)


def _glyph_shaped(b: Box) -> bool:
    return max(b.width, b.height) < 1.5 * min(b.width, b.height)


def _plausible_line(b: Box, w: int, h: int) -> bool:
    """Burned-in annotations are lines of characters: thin (short side under a fifth of the
    image) and, unless as small as one character, longer than they are tall. Textured
    anatomy (a PET thigh, a liver) gives large square-ish blobs the model scores highly."""
    short, long_ = min(b.width, b.height), max(b.width, b.height)
    side = min(w, h)
    if side < 64:
        return True
    if short > 0.2 * side:
        return False
    return short <= 0.08 * side or long_ >= 1.5 * short


class BorderDetector:
    """Model-free: top-hat (light text) and black-hat (dark text), character-sized
    components, grouped into lines; only inside the outer `band` fraction of the frame."""

    name = "border"

    def __init__(self, band: float = 0.15, min_contrast: int = 20):
        self.band, self.min_contrast = band, min_contrast

    def detect(self, view: np.ndarray, rois: list[Box] | None = None) -> list[Box]:
        h, w = view.shape[:2]
        k = max(9, min(h, w) // 40) | 1
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
        inner = (int(w * self.band), int(h * self.band), w - int(w * self.band), h - int(h * self.band))
        ix0, iy0, ix1, iy1 = inner
        # the band as four strips, each reaching 1 px into the inner region so that a
        # component crossing into it still touches it (and is dropped); half the pixels
        strips = [
            (0, 0, w, min(h, iy0 + 1)),
            (0, max(0, iy1 - 1), w, h),
            (0, iy0, min(w, ix0 + 1), iy1),
            (max(0, ix1 - 1), iy0, w, iy1),
        ]
        if rois is not None:  # only strips a region of interest reaches
            strips = [st for st in strips if any(r.pad(max(r.height, 8)).overlap(Box(*st, "")) for r in rois)]
        boxes: list[Box] = []
        for sx0, sy0, sx1, sy1 in strips:
            if sx1 <= sx0 or sy1 <= sy0:
                continue
            # the response of the strip alone, from the strip and k px around it (all an
            # opening or closing by a k x k square reads): the same values as the whole
            # view's, for half the work
            cx0, cy0 = max(0, sx0 - k), max(0, sy0 - k)
            crop = view[cy0 : min(h, sy1 + k), cx0 : min(w, sx1 + k)]
            local = (ix0 - sx0, iy0 - sy0, ix1 - sx0, iy1 - sy0)
            for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
                strip = cv2.morphologyEx(crop, op, kernel)[sy0 - cy0 : sy1 - cy0, sx0 - cx0 : sx1 - cx0]
                binary = (strip >= self._threshold(strip)).astype(np.uint8)
                for b in self._lines(binary, k, local):
                    boxes.append(Box(b.x0 + sx0, b.y0 + sy0, b.x1 + sx0, b.y1 + sy0, b.source, b.score))
        return boxes

    def _threshold(self, resp: np.ndarray) -> float:
        """`min_contrast`, or more where the strip is grainy: film grain and quantum noise
        give a response everywhere, text strokes stand far above it (median + 6 MAD of
        the response, from every 4th pixel)."""
        sample = resp[::4, ::4]
        med = float(np.median(sample))
        mad = float(np.median(np.abs(sample - med)))
        return max(float(self.min_contrast), med + 6 * mad)

    def _lines(self, binary: np.ndarray, k: int, inner: tuple[int, int, int, int]) -> list[Box]:
        """Character-sized components lying wholly in the band (a rib that reaches into the
        inner region is anatomy, not a character), grouped into lines by `group_lines`:
        a line is never taller than its characters, so noise along an edge cannot chain
        into a box that grows across the frame."""
        h, w = binary.shape
        ix0, iy0, ix1, iy1 = inner
        n, _labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        x, y, cw, ch, area = (stats[:, j].astype(np.int64) for j in range(5))
        touches_inner = (x < ix1) & (x + cw > ix0) & (y < iy1) & (y + ch > iy0)
        fill = area / np.maximum(1, cw * ch)
        keep = (
            ~touches_inner & (ch >= 5) & (ch <= 3 * k) & (cw <= 3 * k) & (area >= 6) & (fill >= 0.08) & (fill <= 0.85)
        )
        keep[0] = False
        idx = np.nonzero(keep)[0]
        if not len(idx):
            return []
        chars = [Box(int(x[i]), int(y[i]), int(x[i] + cw[i]), int(y[i] + ch[i]), "char") for i in idx]
        out = []
        for line in group_lines(chars, gap=0.9, similar=0.3):  # x-height and capitals, colons
            # a line of text has several character-sized components of similar height;
            # anatomy gives isolated blobs ("border-single": kept only when read surely)
            hs = sorted(line.heights)
            med = hs[len(hs) // 2]
            is_line = (
                len(hs) >= 3
                and hs[-1] <= 1.8 * med
                and line.y1 - line.y0 <= 1.5 * med
                and sum(0.6 * med <= v for v in hs) >= 0.7 * len(hs)
            )
            out.append(Box(line.x0, line.y0, line.x1, line.y1, self.name if is_line else SINGLE).clip(w, h))
        return out


class TesseractDetector:
    """Optional backend: Tesseract (Debian tesseract-ocr, tesseract-ocr-chi-sim) word boxes.
    Runs the `tesseract` program; never downloads anything."""

    name = "tesseract"

    def __init__(self, langs: str = "eng+chi_sim"):
        self.langs = langs

    @staticmethod
    def available() -> bool:
        import shutil

        return shutil.which("tesseract") is not None

    def detect(self, view: np.ndarray, rois: list[Box] | None = None) -> list[Box]:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            png = f"{tmp}/frame.png"
            cv2.imwrite(png, view)
            proc = subprocess.run(
                ["tesseract", png, "stdout", "-l", self.langs, "tsv"], capture_output=True, timeout=120, check=False
            )
        if proc.returncode != 0:
            raise RuntimeError("tesseract failed")
        boxes = []
        for row in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
            f = row.split("\t")
            if len(f) >= 12 and f[0] == "5" and f[11].strip():
                x, y, bw, bh = map(int, f[6:10])
                boxes.append(Box(x, y, x + bw, y + bh, self.name))
        return boxes


SINGLE = "border-single"


@dataclass
class Line:
    """Boxes joined into one line of text (see group_lines)."""

    x0: int
    y0: int
    x1: int
    y1: int
    heights: list[int]
    sources: set[str]
    score: float

    @property
    def box(self) -> Box:
        return Box(self.x0, self.y0, self.x1, self.y1, joined_source(self.sources), self.score)


def joined_source(sources: set[str]) -> str:
    """One detector name for a line: a border line with any real line in it is a line."""
    if sources <= {"border", SINGLE}:
        return "border" if "border" in sources else SINGLE
    return "+".join(sorted(sources - {SINGLE}))


def _joins(line: Line, other: Line, gap: float, growth: float, similar: float) -> bool:
    """Does `other` continue `line`? Of a size (the shorter's tallest member at least
    `similar` x the taller's), same baseline band (they overlap by half the shorter
    height), a small horizontal gap (`gap` x the tallest member), and the joined line no
    taller than `growth` x its tallest member. A box (nearly) inside the line is always
    part of it; stacked boxes never are."""
    b = other.box
    ov_w = min(line.x1, b.x1) - max(line.x0, b.x0)
    ov_h = min(line.y1, b.y1) - max(line.y0, b.y0)
    if ov_w > 0 and ov_h > 0 and ov_w * ov_h >= 0.8 * b.area and line.y1 - line.y0 >= b.height:
        return True
    tallest = max(max(line.heights), max(other.heights))
    if min(max(line.heights), max(other.heights)) < similar * tallest:
        return False  # words of one line are of a size: a glyph beside a ruler is not its word
    if ov_h < 0.5 * min(line.y1 - line.y0, b.height):
        return False
    if max(line.y1, b.y1) - min(line.y0, b.y0) > growth * tallest:
        return False
    return max(line.x0, b.x0) - min(line.x1, b.x1) <= gap * tallest


def group_lines(boxes: list[Box], gap: float = 1.0, growth: float = 1.5, similar: float = 0.5) -> list[Line]:
    """Join boxes into text lines, left to right, so each line is redacted and audited once.
    Only boxes on one line join (see _joins): a line can widen along its baseline but
    never grows taller than `growth` x its tallest member, so no chain of detections
    along an edge, however long, becomes a box across the frame. Lines that meet after a
    pass are joined by the next one, under the same bound."""
    lines = [Line(b.x0, b.y0, b.x1, b.y1, [b.height], {b.source}, b.score) for b in boxes]
    reach = gap * max((b.height for b in boxes), default=0)  # the widest gap any box may jump
    while True:
        out: list[Line] = []
        active: list[Line] = []  # lines a box starting at this x can still join
        for ln in sorted(lines, key=lambda ln: (ln.x0, ln.y0)):
            active = [a for a in active if a.x1 + reach >= ln.x0]
            target = next((a for a in active if _joins(a, ln, gap, growth, similar)), None)
            if target is None:
                new = Line(ln.x0, ln.y0, ln.x1, ln.y1, list(ln.heights), set(ln.sources), ln.score)
                out.append(new)
                active.append(new)
                continue
            target.x0, target.y0 = min(target.x0, ln.x0), min(target.y0, ln.y0)
            target.x1, target.y1 = max(target.x1, ln.x1), max(target.y1, ln.y1)
            target.heights += ln.heights
            target.sources |= ln.sources
            target.score = max(target.score, ln.score)
        if len(out) == len(lines):
            return out
        lines = out


def merge(boxes: list[Box], gap: float = 1.0) -> list[Box]:
    """Boxes grouped into lines (group_lines), as boxes."""
    return [ln.box for ln in group_lines(boxes, gap)]
