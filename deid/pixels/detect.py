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


@dataclass(frozen=True)
class Box:
    x0: int
    y0: int
    x1: int               # exclusive
    y1: int               # exclusive
    source: str           # detector name, or "region:<rule id>"
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

    def detect(self, view: np.ndarray) -> list[Box]:
        """`view`: H x W uint8. Returns boxes in the view's pixel coordinates."""


MAX_UPSCALE = 4.0


class PPOCRDetector:
    """PP-OCRv6 small DB detector, run with onnxruntime (models.py).

    The frame is resized so its long side is `long_side` (rounded to 32): small
    images are enlarged, so 10 px text on a 512 px CT is seen at ~20 px, but never
    more than MAX_UPSCALE times (a 64 px thumbnail at 1280 px costs 400x the work to
    show text that a 4x view already shows)."""

    name = "ppocr"

    def __init__(self, long_side: int = 1280, thresh: float = 0.3, box_thresh: float = 0.5,
                 unclip: float = 1.5):
        self.long_side, self.thresh, self.box_thresh, self.unclip = long_side, thresh, box_thresh, unclip

    def detect(self, view: np.ndarray) -> list[Box]:
        from .models import session

        h, w = view.shape[:2]
        ratio = min(self.long_side / max(h, w), MAX_UPSCALE)
        rh, rw = max(32, int(round(h * ratio / 32)) * 32), max(32, int(round(w * ratio / 32)) * 32)
        small = cv2.resize(view, (rw, rh), interpolation=cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR)
        x = (small.astype(np.float32) * (2 / 255.0) - 1.0)[None, None]
        x = np.repeat(x, 3, axis=1)
        sess = session("det")
        prob = sess.run(None, {sess.get_inputs()[0].name: x})[0][0, 0]
        seg = (prob > self.thresh).astype(np.uint8)
        seg = cv2.dilate(seg, np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(seg, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / rw, h / rh
        boxes = []
        for c in contours:
            (cx, cy), (bw, bh), ang = cv2.minAreaRect(c)
            if min(bw, bh) < 2:
                continue
            x0, y0, cw, ch = cv2.boundingRect(c)
            mask = np.zeros((ch, cw), np.uint8)
            cv2.fillPoly(mask, [c - (x0, y0)], 1)
            score = float(cv2.mean(prob[y0:y0 + ch, x0:x0 + cw], mask)[0])
            if score < self.box_thresh:
                continue
            tilt = abs(ang) % 90
            if min(tilt, 90 - tilt) > 20 and max(bw, bh) > 3 * min(bw, bh):
                continue  # a long thin diagonal (a rib, a tube) is not an annotation line
            d = bw * bh * self.unclip / (2 * (bw + bh))
            pts = cv2.boxPoints(((cx, cy), (bw + 2 * d, bh + 2 * d), ang))
            bx0, by0 = pts.min(axis=0)
            bx1, by1 = pts.max(axis=0)
            box = Box(int(math.floor(bx0 * sx)), int(math.floor(by0 * sy)), int(math.ceil(bx1 * sx)),
                      int(math.ceil(by1 * sy)), self.name, round(score, 3)).clip(w, h)
            if _plausible_line(box, w, h) and (score >= GLYPH_BOX_THRESH or not _glyph_shaped(box)):
                boxes.append(box)
        return boxes


# A lone glyph-shaped box has no line around it to give the model context, and round
# anatomy (a femur in cross-section on a PET/CT) looks like an "O": such boxes need a
# surer score than lines (0.5). Measured: glyphs on the synthetic set and the real CR
# 0.79-0.91, the PET femur ring 0.69.
GLYPH_BOX_THRESH = 0.75


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

    def detect(self, view: np.ndarray) -> list[Box]:
        h, w = view.shape[:2]
        k = max(9, min(h, w) // 40) | 1
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
        inner = (int(w * self.band), int(h * self.band), w - int(w * self.band), h - int(h * self.band))
        ix0, iy0, ix1, iy1 = inner
        # the band as four strips, each reaching 1 px into the inner region so that a
        # component crossing into it still touches it (and is dropped); half the pixels
        strips = [(0, 0, w, min(h, iy0 + 1)), (0, max(0, iy1 - 1), w, h),
                  (0, iy0, min(w, ix0 + 1), iy1), (max(0, ix1 - 1), iy0, w, iy1)]
        boxes: list[Box] = []
        for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
            resp = cv2.morphologyEx(view, op, kernel)
            binary = (resp >= self.min_contrast).astype(np.uint8)
            for sx0, sy0, sx1, sy1 in strips:
                if sx1 <= sx0 or sy1 <= sy0:
                    continue
                local = (ix0 - sx0, iy0 - sy0, ix1 - sx0, iy1 - sy0)
                for b in self._lines(binary[sy0:sy1, sx0:sx1], k, local):
                    boxes.append(Box(b.x0 + sx0, b.y0 + sy0, b.x1 + sx0, b.y1 + sy0, b.source, b.score))
        return boxes

    def _lines(self, binary: np.ndarray, k: int, inner: tuple[int, int, int, int]) -> list[Box]:
        """Character-sized components lying wholly in the band (a rib that reaches into the
        inner region is anatomy, not a character), joined along rows into lines."""
        h, w = binary.shape
        ix0, iy0, ix1, iy1 = inner
        n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
        x, y, cw, ch, area = (stats[:, j].astype(np.int64) for j in range(5))
        touches_inner = (x < ix1) & (x + cw > ix0) & (y < iy1) & (y + ch > iy0)
        fill = area / np.maximum(1, cw * ch)
        keep = (~touches_inner & (ch >= 5) & (ch <= 3 * k) & (cw <= 3 * k) & (area >= 6)
                & (fill >= 0.08) & (fill <= 0.85))
        keep[0] = False
        if not keep.any():
            return []
        chars = keep.astype(np.uint8)[labels]
        heights = ch[keep]
        gap = max(3, int(np.median(heights) * 0.9))
        joined = cv2.dilate(chars, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 3)))
        m, lab, st, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        # members of each line: a line of text has several character-sized components of
        # similar height; anatomy gives isolated blobs (tagged "border-single": kept only
        # when the recognizer reads something there)
        idx = np.nonzero(keep)[0]
        line_of = lab[y[idx] + ch[idx] // 2, x[idx] + cw[idx] // 2]
        line_of = np.where(line_of > 0, line_of, lab[y[idx], x[idx]])
        members: dict[int, list[int]] = {}
        for li, hgt in zip(line_of.tolist(), heights.tolist()):
            members.setdefault(li, []).append(hgt)
        out = []
        for i in range(1, m):
            bx, by, bw, bh, _a = st[i]
            hs = sorted(members.get(i, []))
            line = len(hs) >= 3 and hs[-1] <= 1.8 * hs[len(hs) // 2]
            out.append(Box(int(bx), int(by), int(bx + bw), int(by + bh), self.name if line else "border-single")
                       .clip(w, h))
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

    def detect(self, view: np.ndarray) -> list[Box]:
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            png = f"{tmp}/frame.png"
            cv2.imwrite(png, view)
            proc = subprocess.run(["tesseract", png, "stdout", "-l", self.langs, "tsv"], capture_output=True,
                                  timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError("tesseract failed")
        boxes = []
        for row in proc.stdout.decode("utf-8", "replace").splitlines()[1:]:
            f = row.split("\t")
            if len(f) >= 12 and f[0] == "5" and f[11].strip():
                x, y, bw, bh = map(int, f[6:10])
                boxes.append(Box(x, y, x + bw, y + bh, self.name))
        return boxes


def merge(boxes: list[Box], gap: int = 0) -> list[Box]:
    """Union overlapping (or `gap`-near) boxes, so each line is redacted and audited once."""
    out = sorted(boxes, key=lambda b: (b.y0, b.x0))
    changed = True
    while changed:
        changed = False
        res: list[Box] = []
        for b in out:
            for i, r in enumerate(res):
                if (b.x0 <= r.x1 + gap and r.x0 <= b.x1 + gap and b.y0 <= r.y1 + gap and r.y0 <= b.y1 + gap):
                    src = r.source if b.source in r.source.split("+") else f"{r.source}+{b.source}"
                    res[i] = Box(min(r.x0, b.x0), min(r.y0, b.y0), max(r.x1, b.x1), max(r.y1, b.y1), src,
                                 max(r.score, b.score))
                    changed = True
                    break
            else:
                res.append(b)
        out = res
    return out
