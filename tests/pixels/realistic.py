"""Realistic burned-in text test images, written without looking at the detector.

Every value here is synthetic. The images imitate what modalities, PACS exports,
film digitisers and secondary-capture tools really put into pixel data:

* anatomy: CR/DX chest, abdomen and extremity radiographs (2048-3000 px, 10/12/14/16-bit,
  some MONOCHROME1), mammograms (breast against black), CT 512^2 (signed, intercept -1024,
  window set), MR 256^2/512^2 (12-bit), ultrasound RGB/YBR/mono (single frame and cine),
  RGB secondary captures (viewer screen grabs, scanned forms), digitised film;
* text: Hershey fonts through ``cv2.putText`` (anti-aliased or not), Liberation and DejaVu
  TrueType through Pillow, WenQuanYi Zen Hei / Zen Hei Sharp for Chinese, 8-48 px, white,
  grey, black, coloured, on and off background boxes, with drop shadows, low contrast,
  rotated and vertical, label and value drawn as separate boxes;
* hard negatives (mostly in the outer border band): collimator and film edges, rulers,
  ECG leads and wires, tubes, clips, buttons, jewellery, skin folds, grid lines,
  stitching lines, Doppler boxes, grey bars, TGC curves, toolbar icons, noise, vignetting;
* hidden ranges: 16-bit images where a bright implant and the VOI window hide the text
  in a naive min-max view or in the window view;
* transfer syntaxes: explicit VR LE, RLE, JPEG 2000 lossless, JPEG-LS lossless, JPEG
  baseline (8-bit, Pillow-encoded).

Ground truth is per token (one drawn run of text: a label such as ``Sex:`` and its value
``M`` are two tokens): inked bounding box, stroke mask, field, PHI / label / safe flags,
size, contrast. The header holds the same identity values as the pixels.

    case(seed, kind=None) -> Case         one image
    suite(n, seed0=0) -> list[Case]       n images cycling through KINDS
    negatives(n, seed0=0) -> list[Case]   hard negatives, no text at all

Only numpy, OpenCV, Pillow and pydicom are used.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

KINDS = (
    "cr-chest",
    "dx-mono1",
    "dx-extremity",
    "cr-hidden",
    "mg",
    "ct",
    "mr",
    "us",
    "us-cine",
    "sc-rgb",
    "cn-dx",
    "cn-us",
    "film",
    "negative",
)
FIELDS = (
    "name",
    "id",
    "sex",
    "birth-date",
    "study-date",
    "age",
    "accession",
    "institution",
    "label",
    "safe-marker",
    "other",
)
PHI_FIELDS = frozenset({"name", "id", "sex", "birth-date", "study-date", "age", "accession", "institution"})

UID_ROOT = "1.2.826.0.1.3680043.10.1138."  # generate_uid prefix for every UID made here
SOP = {
    "CR": "1.2.840.10008.5.1.4.1.1.1",
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",
    "CT": "1.2.840.10008.5.1.4.1.1.2",
    "MR": "1.2.840.10008.5.1.4.1.1.4",
    "US": "1.2.840.10008.5.1.4.1.1.6.1",
    "US-MF": "1.2.840.10008.5.1.4.1.1.3.1",
    "SC": "1.2.840.10008.5.1.4.1.1.7",
    "SC-MF": "1.2.840.10008.5.1.4.1.1.7.4",
}


# ----------------------------------------------------------------------------------- data types


@dataclass
class Token:
    """One drawn run of text (a value box or a label box) and where its ink went."""

    text: str
    field: str  # one of FIELDS
    phi: bool  # identifies the patient (value of an identity field)
    label: bool  # a caption such as "Name:" / "姓名："
    safe: bool  # a marker the policy may keep when it stands alone (L/R, PA, ...)
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) of the inked pixels, shadow included
    mask: np.ndarray  # bool stroke mask, shape (y1-y0, x1-x0)
    frames: tuple[int, ...] | None = None  # frames holding the token; None = every frame
    size: int = 0  # nominal font size (em) in px
    renderer: str = ""  # "pil" or "cv2"
    font: str = ""
    rotation: float = 0.0
    ink: tuple = ()  # stored value(s) of the strokes
    style: str = ""  # "+"-joined: shadow, box, low-contrast, hidden:<how>, handwriting, ...
    contrast: float = 0.0  # stroke vs surround in the display (window) view, 0..1
    contrast_minmax: float = 0.0  # same in a plain min-max view (grayscale only)
    contrast_color: float = 0.0  # colour distance stroke vs surround / (255*sqrt(3)) (colour only)

    @property
    def height(self) -> int:
        return self.bbox[3] - self.bbox[1]

    @property
    def width(self) -> int:
        return self.bbox[2] - self.bbox[0]

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "field": self.field,
            "phi": self.phi,
            "label": self.label,
            "safe": self.safe,
            "bbox": list(self.bbox),
            "frames": None if self.frames is None else list(self.frames),
            "size": self.size,
            "height": self.height,
            "renderer": self.renderer,
            "font": self.font,
            "rotation": self.rotation,
            "ink": [float(v) for v in self.ink],
            "style": self.style,
            "contrast": round(self.contrast, 4),
            "contrast_minmax": round(self.contrast_minmax, 4),
            "contrast_color": round(self.contrast_color, 4),
            "stroke_pixels": int(self.mask.sum()),
        }


@dataclass
class Case:
    seed: int
    kind: str
    dataset: Dataset
    tokens: list[Token]
    modality: str
    rows: int
    cols: int
    frames: int
    photometric: str
    transfer_syntax: str
    negatives: list[str] = field(default_factory=list)  # hard negatives drawn (names)
    notes: list[str] = field(default_factory=list)
    header: dict = field(default_factory=dict)  # identity values put in the header

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.seed:05d}"

    @property
    def phi_tokens(self) -> list[Token]:
        return [t for t in self.tokens if t.phi]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        pydicom.dcmwrite(buf, self.dataset, enforce_file_format=True)
        return buf.getvalue()

    def write(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_bytes())
        return path

    def pixels(self) -> np.ndarray:
        """Stored values as written (decoded when compressed), shape (frames, rows, cols[, samples])."""
        ds = pydicom.dcmread(io.BytesIO(self.to_bytes()))
        return stored_pixels(ds)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "modality": self.modality,
            "rows": self.rows,
            "cols": self.cols,
            "frames": self.frames,
            "photometric": self.photometric,
            "transfer_syntax": str(self.transfer_syntax),
            "negatives": self.negatives,
            "notes": self.notes,
            "tokens": [t.to_dict() for t in self.tokens],
        }


def stored_pixels(ds: Dataset) -> np.ndarray:
    """All frames' stored values without colour conversion, as (frames, rows, cols[, samples])."""
    ds.pixel_array_options(as_rgb=False)
    arr = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    spp = int(ds.SamplesPerPixel)
    if (frames == 1 and arr.ndim == 2) or (frames == 1 and spp > 1 and arr.ndim == 3):
        arr = arr[None]
    return arr


# ----------------------------------------------------------------------------------- fonts

HERSHEY = {
    "hershey-simplex": cv2.FONT_HERSHEY_SIMPLEX,
    "hershey-plain": cv2.FONT_HERSHEY_PLAIN,
    "hershey-duplex": cv2.FONT_HERSHEY_DUPLEX,
    "hershey-complex": cv2.FONT_HERSHEY_COMPLEX,
    "hershey-triplex": cv2.FONT_HERSHEY_TRIPLEX,
    "hershey-complex-small": cv2.FONT_HERSHEY_COMPLEX_SMALL,
    "hershey-simplex-italic": cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
    "hershey-script-simplex": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    "hershey-script-complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
}
PRINT_HERSHEY = [k for k in HERSHEY if "script" not in k]

_LATIN_WANTED = {
    "liberation-sans": "LiberationSans-Regular.ttf",
    "liberation-sans-bold": "LiberationSans-Bold.ttf",
    "liberation-sans-narrow": "LiberationSansNarrow-Regular.ttf",
    "liberation-mono": "LiberationMono-Regular.ttf",
    "liberation-mono-bold": "LiberationMono-Bold.ttf",
    "liberation-serif": "LiberationSerif-Regular.ttf",
    "dejavu-sans-mono": "DejaVuSansMono.ttf",
    "dejavu-sans-mono-bold": "DejaVuSansMono-Bold.ttf",
    "dejavu-sans": "DejaVuSans.ttf",
    "dejavu-sans-bold": "DejaVuSans-Bold.ttf",
    "dejavu-sans-condensed": "DejaVuSansCondensed.ttf",
    "dejavu-serif": "DejaVuSerif.ttf",
}
_CJK_WANTED = {
    "wqy-zenhei": ("wqy-zenhei.ttc", "WenQuanYi Zen Hei"),
    "wqy-zenhei-sharp": ("wqy-zenhei.ttc", "WenQuanYi Zen Hei Sharp"),
    "wqy-zenhei-mono": ("wqy-zenhei.ttc", "WenQuanYi Zen Hei Mono"),
    "wqy-microhei": ("wqy-microhei.ttc", "WenQuanYi Micro Hei"),
    "noto-sans-cjk": ("NotoSansCJK-Regular.ttc", None),
}


@functools.lru_cache(maxsize=1)
def fonts() -> tuple[dict, dict]:
    """({latin key: path}, {cjk key: (path, index)}) of the fonts installed under /usr/share/fonts."""
    files: dict[str, str] = {}
    for root in ("/usr/share/fonts", "/usr/local/share/fonts"):
        for dirpath, _, names in os.walk(root):
            for n in names:
                if n.lower().endswith((".ttf", ".ttc", ".otf")):
                    files.setdefault(n, os.path.join(dirpath, n))
    latin = {k: files[f] for k, f in _LATIN_WANTED.items() if f in files}
    cjk: dict[str, tuple[str, int]] = {}
    for key, (fname, family) in _CJK_WANTED.items():
        if fname not in files:
            continue
        for idx in range(4):
            try:
                f = ImageFont.truetype(files[fname], 16, index=idx)
            except OSError:
                break
            if family is None or f.getname()[0] == family:
                if f.getbbox("张")[2] > 0:
                    cjk[key] = (files[fname], idx)
                break
    return latin, cjk


@functools.lru_cache(maxsize=512)
def _pil_font(key: str, size: int):
    latin, cjk = fonts()
    if key in cjk:
        path, idx = cjk[key]
        return ImageFont.truetype(path, size, index=idx)
    return ImageFont.truetype(latin[key], size)


@functools.lru_cache(maxsize=64)
def _hershey_cap(face: int, thickness: int) -> float:
    """Ink height of 'H' at scale 1."""
    c = np.zeros((80, 80), np.uint8)
    cv2.putText(c, "H", (10, 60), face, 1.0, 255, thickness, cv2.LINE_8)
    ys = np.nonzero(c.any(axis=1))[0]
    return float(ys[-1] - ys[0] + 1) if len(ys) else 20.0


def _has_cjk(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


# ----------------------------------------------------------------------------------- text rendering


@dataclass
class Style:
    renderer: str = "pil"  # "pil" | "cv2"
    font: str = "liberation-sans"
    size: int = 16  # em px (pil); 0.72*size = cap height (cv2)
    aa: bool = True
    thickness: int = 1  # cv2 stroke, pil stroke_width = thickness-1
    rot: float = 0.0  # 90 / 270 (vertical) or a small skew angle
    ink: tuple = (1.0,)  # stored value(s)
    shadow: int = 0  # drop shadow offset in px
    shadow_ink: tuple = (0.0,)
    box: str = ""  # "", "seg", "line", "block"
    box_ink: tuple = (0.0,)
    box_alpha: float = 1.0
    blur: float = 0.0  # optical blur of the strokes (film)
    tags: str = ""  # extra style tags for the ground truth

    def recolor(self, name: str) -> "Style":
        """The same style in one of the annotation colours (US_COLORS), tagged with it."""
        tags = "+".join([t for t in self.tags.split("+") if t and not t.startswith("color-")] + [f"color-{name}"])
        return self.with_(ink=US_COLORS[name], tags=tags)

    def with_(self, **kw) -> "Style":
        d = dict(self.__dict__)
        d.update(kw)
        return Style(**d)


def render(text: str, st: Style) -> tuple[np.ndarray, int, str, str]:
    """Alpha patch (float32 0..1) of one run of text, its baseline row, renderer and font used."""
    latin, cjk = fonts()
    renderer, font = st.renderer, st.font
    if renderer == "cv2" and (not text.isascii() or font not in HERSHEY):
        renderer = "pil"
    if renderer == "pil":
        if _has_cjk(text) and font not in cjk:
            font = next(iter(cjk), None) if cjk else None
        if font is None or (font not in latin and font not in cjk):
            font = next(iter(latin), None)
        if font is None:  # no TrueType font at all: Hershey, ASCII only
            renderer, font = "cv2", "hershey-simplex"
            text = text.encode("ascii", "replace").decode()
    if renderer == "cv2":
        face = HERSHEY[font]
        scale = 0.72 * st.size / _hershey_cap(face, st.thickness)
        (w, h), base = cv2.getTextSize(text, face, scale, st.thickness)
        pad = st.thickness + 2
        canvas = np.zeros((h + base + 2 * pad, w + 2 * pad), np.uint8)
        cv2.putText(canvas, text, (pad, pad + h), face, scale, 255, st.thickness, cv2.LINE_AA if st.aa else cv2.LINE_8)
        alpha = canvas.astype(np.float32) / 255.0
        baseline = pad + h
    else:
        f = _pil_font(font, max(6, int(st.size)))
        ascent, descent = f.getmetrics()
        sw = max(0, st.thickness - 1)
        w = int(math.ceil(f.getlength(text))) + 6 + 2 * sw
        img = Image.new("L", (w, ascent + descent + 6 + 2 * sw))
        d = ImageDraw.Draw(img)
        if not st.aa:
            d.fontmode = "1"
        d.text((3 + sw, 3 + sw), text, font=f, fill=255, stroke_width=sw, stroke_fill=255)
        alpha = np.asarray(img, np.float32) / 255.0
        baseline = 3 + sw + ascent
    if st.blur > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), st.blur)
    return alpha, baseline, renderer, font


def _rotate(alpha: np.ndarray, angle: float) -> np.ndarray:
    if angle % 90 == 0:
        return np.ascontiguousarray(np.rot90(alpha, k=int(angle // 90) % 4))
    h, w = alpha.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * s + w * c) + 2, int(h * c + w * s) + 2
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return cv2.warpAffine(alpha, m, (nw, nh), flags=cv2.INTER_LINEAR)


@dataclass
class Seg:
    text: str
    field: str = "other"
    phi: bool = False
    label: bool = False
    safe: bool = False
    ink: tuple | None = None  # overrides the style's ink


def L(text: str) -> Seg:  # noqa: E743 - a label
    return Seg(text, "label", False, True)


def V(text: str, fld: str) -> Seg:  # a value
    return Seg(text, fld, fld in PHI_FIELDS)


def O(text: str, safe: bool = False) -> Seg:  # noqa: E743 - other text (technique, markers)
    return Seg(text, "other", False, False, safe)


class Canvas:
    """The image stack (frames, rows, cols[, 3]) in stored units, and the tokens drawn on it."""

    def __init__(self, img: np.ndarray, lo: float, hi: float):
        self.img = img.astype(np.float32, copy=False)
        self.F, self.H, self.W = self.img.shape[:3]
        self.rgb = self.img.ndim == 4
        self.lo, self.hi = lo, hi
        self.tokens: list[Token] = []
        self.rects: list[tuple[int, int, int, int]] = []
        # (black, white) stored values: when set, unboxed grayscale text that would land on a
        # background of nearly its own value gets the opposite ink, as an annotation tool would
        self.flip: tuple[float, float] | None = None

    # -- painting
    def _ink(self, ink) -> np.ndarray:
        v = np.asarray(ink, np.float32).reshape(-1)
        if self.rgb:
            return v if v.size == 3 else np.repeat(v[:1], 3)
        return v[:1]

    def paint(self, alpha: np.ndarray, x: int, y: int, ink, frames=None, opacity: float = 1.0) -> None:
        if alpha.size > 4096:  # full-size overlay layers: work on their inked part only
            rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
            if not len(rows):
                return
            alpha = alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            x, y = x + int(cols[0]), y + int(rows[0])
        h, w = alpha.shape
        x0, y0, x1, y1 = max(0, x), max(0, y), min(self.W, x + w), min(self.H, y + h)
        if x1 <= x0 or y1 <= y0:
            return
        a = alpha[y0 - y : y1 - y, x0 - x : x1 - x] * opacity
        ink = self._ink(ink)
        fr = slice(None) if frames is None else list(frames)
        reg = self.img[fr, y0:y1, x0:x1]
        if self.rgb:
            a3 = a[None, ..., None]
            reg = reg * (1 - a3) + ink[None, None, None, :] * a3
        else:
            reg = reg * (1 - a[None]) + ink[0] * a[None]
        self.img[fr, y0:y1, x0:x1] = reg

    def fill(self, rect, ink, opacity: float = 1.0, frames=None) -> None:
        x0, y0, x1, y1 = (int(v) for v in rect)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(self.W, x1), min(self.H, y1)
        if x1 > x0 and y1 > y0:
            self.paint(np.ones((y1 - y0, x1 - x0), np.float32), x0, y0, ink, frames, opacity)

    def free(self, rect, pad: int = 3) -> bool:
        x0, y0, x1, y1 = rect
        if x0 < 1 or y0 < 1 or x1 > self.W - 1 or y1 > self.H - 1:
            return False
        return all(
            x1 + pad <= a0 or a1 + pad <= x0 or y1 + pad <= b0 or b1 + pad <= y0 for a0, b0, a1, b1 in self.rects
        )

    def put(
        self, seg: Seg, alpha: np.ndarray, x: int, y: int, st: Style, renderer: str, font: str, frames=None
    ) -> Token | None:
        """Draw one run of text (shadow first) and record its token."""
        h, w = alpha.shape
        s = int(st.shadow)
        if x < 0 or y < 0 or x + w + s > self.W or y + h + s > self.H:
            return None
        ink = seg.ink if seg.ink is not None else st.ink
        if s:
            self.paint(alpha, x + s, y + s, st.shadow_ink, frames)
        self.paint(alpha, x, y, ink, frames)
        full = np.zeros((h + s, w + s), np.float32)
        full[:h, :w] = alpha
        if s:
            full[s:, s:] = np.maximum(full[s:, s:], alpha)
        inked = full > 0.2
        if not inked.any():
            return None
        ys, xs = np.nonzero(inked)
        bx0, by0, bx1, by1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        stroke = np.zeros_like(inked)
        stroke[:h, :w] = alpha > 0.5
        if not stroke.any():
            stroke[:h, :w] = alpha > 0.25
        tags = [t for t in (st.tags, "shadow" if s else "", f"box-{st.box}" if st.box else "") if t]
        tok = Token(
            seg.text,
            seg.field,
            seg.phi,
            seg.label,
            seg.safe,
            (int(x + bx0), int(y + by0), int(x + bx1), int(y + by1)),
            stroke[by0:by1, bx0:bx1].copy(),
            None if frames is None else tuple(int(f) for f in frames),
            int(st.size),
            renderer,
            font,
            float(st.rot),
            tuple(float(v) for v in self._ink(ink)),
            "+".join(tags),
        )
        self.tokens.append(tok)
        self.rects.append(tok.bbox)
        return tok

    # -- layout
    def block(
        self,
        lines: list[list[Seg]],
        st: Style,
        corner: str,
        rng,
        margin=None,
        line_gap=None,
        frames=None,
        value_gap=None,
        shrink: int = 3,
    ) -> list[Token]:
        """Lines of segments in a corner ("tl", "tr", "bl", "br", "tc", "bc") or at ("xy", x, y).
        Shrinks the font when the block does not fit, then drops lines from the end."""
        lines = [ln for ln in lines if ln]
        cur = st
        for attempt in range(shrink + 1):
            if attempt:
                cur = st.with_(size=max(7, int(round(st.size * 0.85**attempt))))
            plan = self._fit(self._plan(lines, cur, corner, rng, margin, line_gap, value_gap), corner)
            if plan is not None:
                return self._draw_plan(plan, cur, frames)
        for k in range(len(lines) - 1, 0, -1):  # still too big: drop lines from the end
            plan = self._fit(self._plan(lines[:k], cur, corner, rng, margin, line_gap, value_gap), corner)
            if plan is not None:
                return self._draw_plan(plan, cur, frames)
        return []

    def _fit(self, plan, corner):
        """The plan, moved down (up for bottom corners) past text already drawn; None if it cannot fit."""
        down = not (isinstance(corner, str) and corner[0] == "b")
        for _ in range(5):
            if self.free(plan[0]):
                return plan
            x0, y0, x1, y1 = plan[0]
            hits = [r for r in self.rects if not (x1 + 3 <= r[0] or r[2] + 3 <= x0 or y1 + 3 <= r[1] or r[3] + 3 <= y0)]
            if not hits:
                return None
            dy = (max(r[3] for r in hits) + 5 - y0) if down else (min(r[1] for r in hits) - 5 - y1)
            plan = _shift(plan, 0, dy)
        return None

    def _plan(self, lines, st, corner, rng, margin, line_gap, value_gap):
        size = st.size
        mx = int(margin[0]) if margin else int(rng.uniform(0.4, 1.6) * size) + 2
        my = int(margin[1]) if margin else int(rng.uniform(0.3, 1.4) * size) + 2
        lg = line_gap if line_gap is not None else rng.uniform(0.1, 0.6)
        rows = []
        for segs in lines:
            items, x = [], 0
            for i, seg in enumerate(segs):
                alpha, base, renderer, font = render(seg.text, st)
                if st.rot:
                    alpha = _rotate(alpha, st.rot)
                items.append([seg, alpha, base, renderer, font, x])
                if i + 1 < len(segs):
                    if seg.label:
                        gap = (
                            value_gap
                            if value_gap is not None
                            else rng.choice([0.25, 0.35, 0.5, 1.0, 2.5], p=[0.3, 0.3, 0.2, 0.12, 0.08])
                        ) * size
                    else:
                        gap = rng.uniform(0.7, 2.2) * size
                    x += alpha.shape[1] + int(gap)
                else:
                    x += alpha.shape[1]
            base = max(it[2] for it in items)
            height = max(base - it[2] + it[1].shape[0] for it in items)
            rows.append((items, x, base, height))
        total_h = sum(r[3] for r in rows) + int(lg * size) * (len(rows) - 1)
        total_w = max(r[1] for r in rows)
        if isinstance(corner, tuple):
            bx, by = int(corner[1]), int(corner[2])
        else:
            bx = {"l": mx, "r": self.W - mx - total_w, "c": (self.W - total_w) // 2}[corner[1]]
            by = my if corner[0] == "t" else self.H - my - total_h
        placed, y = [], by
        for items, w, base, height in rows:
            if isinstance(corner, tuple) or corner[1] == "l":
                x0 = bx
            elif corner[1] == "r":
                x0 = bx + total_w - w
            else:
                x0 = bx + (total_w - w) // 2
            for seg, alpha, b, renderer, font, dx in items:
                placed.append((seg, alpha, x0 + dx, y + base - b, renderer, font))
            y += height + int(lg * size)
        rect = (bx - 1, by - 1, bx + total_w + 1 + st.shadow, by + total_h + 1 + st.shadow)
        return rect, placed, rows

    def _draw_plan(self, plan, st, frames) -> list[Token]:
        rect, placed, rows = plan
        p = max(2, int(st.size * 0.2))
        if st.box == "block":
            self.fill((rect[0] - p, rect[1] - p, rect[2] + p, rect[3] + p), st.box_ink, st.box_alpha, frames)
        elif st.box in ("seg", "line"):
            groups: dict = {}
            for _seg, alpha, x, y, *_ in placed:
                key = (x, y) if st.box == "seg" else y
                if st.box == "line":  # one box per drawn line (same y band)
                    key = min((k for k in groups if abs(k - y) < alpha.shape[0] // 2), default=y)
                g = groups.setdefault(key, [10**9, 10**9, -1, -1])
                g[0], g[1] = min(g[0], x), min(g[1], y)
                g[2], g[3] = max(g[2], x + alpha.shape[1]), max(g[3], y + alpha.shape[0])
            for g in groups.values():
                self.fill((g[0] - p, g[1], g[2] + p, g[3] + st.shadow), st.box_ink, st.box_alpha, frames)
        out = []
        for seg, alpha, x, y, renderer, font in placed:
            t = self.put(self._auto_ink(seg, alpha, x, y, st), alpha, x, y, st, renderer, font, frames)
            if t is not None:
                out.append(t)
        self.rects.append(rect)
        return out

    def _auto_ink(self, seg: Seg, alpha: np.ndarray, x: int, y: int, st: Style) -> Seg:
        if (
            self.flip is None
            or self.rgb
            or st.box
            or "low-contrast" in st.tags
            or "hidden" in st.tags
            or seg.ink is not None
        ):
            return seg
        h, w = alpha.shape
        under = self.img[0, max(0, y) : y + h, max(0, x) : x + w]
        bg = float(np.median(under[alpha[: under.shape[0], : under.shape[1]] < 0.1]))
        black, white = self.flip
        if abs(st.ink[0] - bg) >= 0.25 * abs(white - black):
            return seg
        far = black if abs(bg - black) > abs(bg - white) else white
        return Seg(seg.text, seg.field, seg.phi, seg.label, seg.safe, (far,))

    def vertical(self, segs: list[Seg], st: Style, side: str, rng, frames=None) -> list[Token]:
        """One line of text running along the left or right edge (rot 90: reads bottom to top)."""
        rot = 90 if side == "l" else 270
        items = []
        for seg in segs:
            alpha, base, renderer, font = render(seg.text, st)
            items.append((seg, _rotate(alpha, rot), renderer, font))
        gap = int(st.size * 0.6)
        total = sum(a.shape[0] for _, a, _, _ in items) + gap * (len(items) - 1)
        thick = max(a.shape[1] for _, a, _, _ in items)
        x = (
            int(rng.uniform(0.3, 1.2) * st.size)
            if side == "l"
            else self.W - thick - int(rng.uniform(0.3, 1.2) * st.size)
        )
        y = int((self.H - total) * rng.uniform(0.25, 0.75))
        if not self.free((x, y, x + thick, y + total)):
            return []
        order = list(reversed(items)) if rot == 90 else items
        out, yy = [], y
        stv = st.with_(rot=rot)
        for seg, alpha, renderer, font in order:
            t = self.put(self._auto_ink(seg, alpha, x, yy, stv), alpha, x, yy, stv, renderer, font, frames)
            if t:
                out.append(t)
            yy += alpha.shape[0] + gap
        self.rects.append((x, y, x + thick, y + total))
        return out


# ----------------------------------------------------------------------------------- identities

SURNAMES = [
    "SMITH",
    "JOHNSON",
    "WILLIAMS",
    "BROWN",
    "GARCIA",
    "MILLER",
    "DAVIS",
    "RODRIGUEZ",
    "MARTINEZ",
    "HERNANDEZ",
    "LOPEZ",
    "WILSON",
    "ANDERSON",
    "THOMAS",
    "TAYLOR",
    "MOORE",
    "JACKSON",
    "MARTIN",
    "THOMPSON",
    "WHITE",
    "HARRIS",
    "CLARK",
    "LEWIS",
    "ROBINSON",
    "WALKER",
    "YOUNG",
    "ALLEN",
    "KING",
    "WRIGHT",
    "SCOTT",
    "NGUYEN",
    "MUELLER",
    "SCHMIDT",
    "ROSSI",
    "DUBOIS",
    "KOWALSKI",
    "OKAFOR",
    "HASHEMI",
    "PATEL",
    "SINGH",
    "TANAKA",
    "OLSEN",
    "BERGSTROM",
    "FITZGERALD",
    "VAN DER BERG",
    "O'BRIEN",
    "NOVAK",
]
GIVEN = [
    "JOHN",
    "MARY",
    "ROBERT",
    "PATRICIA",
    "MICHAEL",
    "JENNIFER",
    "DAVID",
    "LINDA",
    "JAMES",
    "ELIZABETH",
    "ANNA",
    "PETER",
    "MARIA",
    "LUCAS",
    "SOFIA",
    "AHMED",
    "FATIMA",
    "OLGA",
    "IVAN",
    "YUKI",
    "HANS",
    "INGRID",
    "GRACE",
    "ELLIOT",
    "MARGARET",
    "CHIDI",
    "PRIYA",
    "MATEO",
]
CN_SUR = {
    "王": "WANG",
    "李": "LI",
    "张": "ZHANG",
    "刘": "LIU",
    "陈": "CHEN",
    "杨": "YANG",
    "黄": "HUANG",
    "赵": "ZHAO",
    "吴": "WU",
    "周": "ZHOU",
    "徐": "XU",
    "孙": "SUN",
    "马": "MA",
    "朱": "ZHU",
    "胡": "HU",
    "郭": "GUO",
    "何": "HE",
    "高": "GAO",
    "林": "LIN",
    "罗": "LUO",
    "欧阳": "OUYANG",
}
CN_GIVEN = {
    "伟": "WEI",
    "芳": "FANG",
    "娜": "NA",
    "秀英": "XIUYING",
    "敏": "MIN",
    "静": "JING",
    "丽": "LI",
    "强": "QIANG",
    "磊": "LEI",
    "军": "JUN",
    "洋": "YANG",
    "勇": "YONG",
    "艳": "YAN",
    "杰": "JIE",
    "娟": "JUAN",
    "涛": "TAO",
    "明": "MING",
    "超": "CHAO",
    "秀兰": "XIULAN",
    "霞": "XIA",
    "平": "PING",
    "刚": "GANG",
    "桂英": "GUIYING",
    "建华": "JIANHUA",
    "志强": "ZHIQIANG",
    "晓东": "XIAODONG",
    "丽华": "LIHUA",
    "海燕": "HAIYAN",
    "子涵": "ZIHAN",
    "雨桐": "YUTONG",
}
INST_A = [
    "St. Mary's",
    "Riverside",
    "Northgate",
    "Lakeview",
    "Mercy",
    "Good Samaritan",
    "Saint Luke's",
    "Westbrook",
    "Hillcrest",
    "Cedar Valley",
    "Harbor",
    "Kingsbridge",
    "Mount Hope",
    "Elmwood",
    "Bayside",
    "Stonebridge",
]
INST_B = [
    "Hospital",
    "Medical Center",
    "Imaging Center",
    "Regional Hospital",
    "Clinic",
    "University Hospital",
    "Radiology",
    "Community Hospital",
    "Health",
]
CN_CITY = ["江州", "临海", "青山", "南平", "东阳", "白云", "安宁", "长乐", "永和", "清河", "金川", "兴隆"]
CN_INST = [
    "市第一人民医院",
    "市第二人民医院",
    "市第三人民医院",
    "市中心医院",
    "市人民医院",
    "县人民医院",
    "市中医院",
    "市妇幼保健院",
    "医科大学附属医院",
    "市第六人民医院",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def fmt_date(d: _dt.date, style: str) -> str:
    y, m, dd = d.year, d.month, d.day
    return {
        "iso": f"{y:04d}-{m:02d}-{dd:02d}",
        "dmy/": f"{dd:02d}/{m:02d}/{y:04d}",
        "mdy/": f"{m:02d}/{dd:02d}/{y:04d}",
        "dmy.": f"{dd:02d}.{m:02d}.{y:04d}",
        "dMony": f"{dd:02d}-{MONTHS[m - 1]}-{y:04d}",
        "dMONy": f"{dd} {MONTHS[m - 1].upper()} {y:04d}",
        "ymd": f"{y:04d}{m:02d}{dd:02d}",
        "ymd/": f"{y:04d}/{m:02d}/{dd:02d}",
        "cn": f"{y:04d}年{m:02d}月{dd:02d}日",
        "Mdy": f"{MONTHS[m - 1]} {dd}, {y}",
        "mdyy": f"{m:02d}/{dd:02d}/{y % 100:02d}",
        "dmy-": f"{dd:02d}-{m:02d}-{y:04d}",
        "ymd.": f"{y:04d}.{m:02d}.{dd:02d}",
        "year": f"{y:04d}",
    }[style]


DATE_STYLES = ["iso", "dmy/", "mdy/", "dmy.", "dMony", "dMONy", "ymd", "ymd/", "Mdy", "mdyy", "dmy-", "ymd."]


@dataclass
class Person:
    pn: str  # DICOM PatientName
    shown: str  # the name as burned in
    pid: str
    birth: _dt.date
    sex: str
    age: int
    study: _dt.date
    time: str
    accession: str
    institution: str
    cn: bool = False
    cn_name: str = ""
    cn_inst: str = ""

    def age_str(self) -> str:
        return f"{self.age:03d}Y"


def person(rng, cn: bool = False) -> Person:
    study = _dt.date(2012, 1, 1) + _dt.timedelta(days=int(rng.integers(0, 4700)))
    birth = study - _dt.timedelta(days=int(rng.integers(1, 95) * 365.25 + rng.integers(0, 365)))
    age = study.year - birth.year - ((study.month, study.day) < (birth.month, birth.day))
    sex = str(rng.choice(["M", "F", "O"], p=[0.48, 0.48, 0.04]))
    t = f"{int(rng.integers(7, 20)):02d}{int(rng.integers(0, 60)):02d}{int(rng.integers(0, 60)):02d}"
    pid = _pick(
        rng,
        [
            lambda: _digits(rng, int(rng.integers(6, 11))),
            lambda: "MRN" + _digits(rng, 7),
            lambda: chr(65 + int(rng.integers(26))) + _digits(rng, 7),
            lambda: f"PT-{study.year}-{_digits(rng, 5)}",
            lambda: _digits(rng, 3) + "-" + _digits(rng, 4),
        ],
    )()
    acc = _pick(
        rng,
        [
            lambda: "A" + _digits(rng, 8),
            lambda: _digits(rng, 10),
            lambda: "RAD" + _digits(rng, 7),
            lambda: f"{study:%y%m%d}{_digits(rng, 4)}",
            lambda: f"CR{study:%Y%m%d}{_digits(rng, 3)}",
        ],
    )()
    if cn:
        s = _pick(rng, list(CN_SUR))
        g = _pick(rng, list(CN_GIVEN))
        if rng.random() < 0.3:
            g2 = _pick(rng, [k for k in CN_GIVEN if len(k) == 1])
            g = g + g2 if len(g) == 1 else g
        py_g = "".join(CN_GIVEN.get(ch, "") for ch in g) if g not in CN_GIVEN else CN_GIVEN[g]
        cn_name = s + g
        form = rng.choice(["both", "ideo", "alpha"], p=[0.55, 0.25, 0.2])
        pn = {"both": f"{CN_SUR[s]}^{py_g}={s}^{g}", "ideo": cn_name, "alpha": f"{CN_SUR[s]}^{py_g}"}[form]
        inst = _pick(rng, CN_CITY) + _pick(rng, CN_INST)
        pid = _pick(
            rng, [lambda: "ZY" + _digits(rng, 8), lambda: _digits(rng, 10), lambda: "MZ" + _digits(rng, 9), lambda: pid]
        )()
        acc = _pick(
            rng,
            [
                lambda: f"CT{study:%y%m%d}{_digits(rng, 3)}",
                lambda: f"DR{study:%Y%m%d}{_digits(rng, 4)}",
                lambda: _digits(rng, 12),
            ],
        )()
        return Person(
            pn, cn_name, pid, birth, sex if sex != "O" else "F", age, study, t, acc, inst, True, cn_name, inst
        )
    sur, giv = _pick(rng, SURNAMES), _pick(rng, GIVEN)
    mid = chr(65 + int(rng.integers(26))) if rng.random() < 0.25 else ""
    pn = f"{sur}^{giv}" + (f"^{mid}" if mid else "")
    shown = _pick(
        rng,
        [
            f"{sur}^{giv}" + (f"^{mid}" if mid else ""),
            f"{sur}, {giv}",
            f"{giv.title()} {sur.title()}",
            f"{sur} {giv}",
            f"{sur.title()}^{giv.title()}",
            f"{sur}, {giv[0]}",
            f"{sur}, {giv} {mid}".strip(),
        ],
    )
    inst = f"{_pick(rng, INST_A)} {_pick(rng, INST_B)}"
    return Person(pn, shown, pid, birth, sex, age, study, t, acc, inst)


def _sex_word(rng, sex: str, cn: bool = False) -> str:
    if cn:
        return {"M": "男", "F": "女"}.get(sex, "女")
    return _pick(
        rng,
        [sex, sex, {"M": "Male", "F": "Female", "O": "Other"}[sex], {"M": "MALE", "F": "FEMALE", "O": "OTHER"}[sex]],
    )


def _age_word(rng, age: int, cn: bool = False) -> str:
    if cn:
        return _pick(rng, [f"{age}岁", f"{age}Y", f"{age:03d}Y", f"{age}岁"])
    return _pick(rng, [f"{age:03d}Y", f"{age}Y", f"{age} Y", f"{age} yrs", f"{age}y"])


def identity_lines(
    rng, p: Person, fields=None, label_p: float = 0.75, cn: bool = False, pack: int = 1, date_style: str | None = None
) -> list[list[Seg]]:
    """Identity fields as lines of label/value segments, in a vendor-like order."""
    ds = date_style or _pick(rng, DATE_STYLES)
    fields = fields or ["name", "id", "sex", "birth-date", "age", "study-date", "accession", "institution"]
    cn_labels = {
        "name": ["姓名：", "姓名:", "姓 名："],
        "id": ["ID号：", "住院号：", "门诊号：", "病历号：", "ID:"],
        "sex": ["性别：", "性别:"],
        "birth-date": ["出生日期：", "出生："],
        "age": ["年龄：", "年龄:"],
        "study-date": ["检查日期：", "日期：", "检查时间："],
        "accession": ["检查号：", "影像号：", "登记号："],
        "institution": [],
    }
    en_labels = {
        "name": ["Name:", "Patient:", "Pt:", "PN:", "Patient Name:", "NAME", "Name"],
        "id": ["ID:", "MRN:", "PID:", "Pat ID:", "Patient ID:", "Hosp#", "ID"],
        "sex": ["Sex:", "Gender:", "S:", "Sex"],
        "birth-date": ["DOB:", "Born:", "Birth:", "D.O.B.", "DOB"],
        "age": ["Age:", "Age"],
        "study-date": ["Date:", "Study Date:", "Exam:", "Acq:", "Study:"],
        "accession": ["Acc:", "Acc#:", "Accession:", "ACC NO", "A#"],
        "institution": [],
    }
    labels = cn_labels if cn else en_labels
    values = {
        "name": p.cn_name if cn and p.cn_name else p.shown,
        "id": p.pid,
        "sex": _sex_word(rng, p.sex, cn),
        "birth-date": fmt_date(p.birth, "cn" if cn and rng.random() < 0.3 else ("year" if rng.random() < 0.12 else ds)),
        "age": _age_word(rng, p.age, cn),
        "study-date": fmt_date(p.study, "cn" if cn and rng.random() < 0.3 else ds),
        "accession": p.accession,
        "institution": p.cn_inst if cn and p.cn_inst else p.institution,
    }
    if not cn and rng.random() < 0.15:
        values["birth-date"] = "*" + values["birth-date"]
    segs_per = []
    for f in fields:
        segs = []
        lab = labels.get(f) or []
        if lab and rng.random() < label_p:
            segs.append(L(_pick(rng, lab)))
        segs.append(V(values[f], f))
        if f == "study-date" and rng.random() < 0.5:
            segs.append(O(f"{p.time[:2]}:{p.time[2:4]}" + (f":{p.time[4:]}" if rng.random() < 0.5 else "")))
        segs_per.append(segs)
    lines, cur = [], []
    for segs in segs_per:
        cur += segs
        if sum(1 for s in cur if not s.label) >= pack:
            lines.append(cur)
            cur = []
    if cur:
        lines.append(cur)
    return lines


# ----------------------------------------------------------------------------------- anatomy helpers


def _fbm(rng, h: int, w: int, cell: float, octaves: int = 3, persistence: float = 0.5) -> np.ndarray:
    """Smooth random field, roughly zero mean, unit-ish amplitude."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell)) + 2, max(2, int(w / cell)) + 2
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        cell = max(1.5, cell / 2)
        amp *= persistence
    return out / total


def _up(a: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(a, (w, h), interpolation=cv2.INTER_CUBIC)


def _ell(img, c, ax, ang, val, thick=-1, a0=0, a1=360):
    cv2.ellipse(
        img, (int(c[0]), int(c[1])), (max(1, int(ax[0])), max(1, int(ax[1]))), float(ang), a0, a1, val, int(thick)
    )


def _chest(rng, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """PA chest radiograph, display brightness 0..1 (MONOCHROME2 sense), and a body mask."""
    lh = 420
    lw = int(round(lh * W / H))
    S = lw
    cx = lw * (0.5 + rng.uniform(-0.03, 0.03))
    body = np.zeros((lh, lw), np.float32)
    tw = rng.uniform(0.36, 0.44) * S
    _ell(body, (cx, 0.64 * lh), (tw, 0.62 * lh), 0, 1.0)
    cv2.rectangle(body, (int(cx - 0.07 * S), 0), (int(cx + 0.07 * S), int(0.25 * lh)), 1.0, -1)
    for s in (-1, 1):
        _ell(body, (cx + s * 0.36 * S, 0.2 * lh), (0.16 * S, 0.1 * lh), s * 15, 1.0)
        if rng.random() < 0.8:  # arms at the edges of the field
            x0 = cx + s * rng.uniform(0.44, 0.5) * S
            cv2.rectangle(body, (int(x0 - 0.06 * S), int(0.12 * lh)), (int(x0 + 0.06 * S), lh), 1.0, -1)
    body = cv2.GaussianBlur(body, (0, 0), 2.5)
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    thick = body * (0.62 + 0.25 * np.sqrt(np.clip(1 - ((xx - cx) / (tw * 1.1)) ** 2, 0, 1)))
    lungs = np.zeros_like(body)
    dome = {}
    for s in (-1, 1):
        lc = (cx + s * 0.17 * S, 0.44 * lh)
        _ell(lungs, lc, (rng.uniform(0.12, 0.15) * S, rng.uniform(0.26, 0.3) * lh), s * -6, 1.0)
        dome[s] = lc
    dome_y = np.where(
        xx < cx,
        0.69 * lh + 0.08 * lh * ((xx - dome[-1][0]) / (0.15 * S)) ** 2,
        0.72 * lh + 0.08 * lh * ((xx - dome[1][0]) / (0.15 * S)) ** 2,
    )
    lungs *= (yy < dome_y).astype(np.float32)
    lungs = cv2.GaussianBlur(lungs, (0, 0), 3)
    heart = np.zeros_like(body)
    _ell(heart, (cx + 0.05 * S, 0.6 * lh), (rng.uniform(0.11, 0.15) * S, 0.11 * lh), -20, 1.0)
    heart = cv2.GaussianBlur(heart, (0, 0), 3)
    med = (np.abs(xx - cx) < 0.055 * S).astype(np.float32) * (yy < 0.66 * lh)
    med = cv2.GaussianBlur(med, (0, 0), 3)
    spine = (np.abs(xx - cx) < 0.035 * S).astype(np.float32)
    spine *= 1 + 0.25 * np.cos(2 * np.pi * yy / (lh / 17))
    spine = cv2.GaussianBlur(spine, (0, 0), 1.5)
    bones = np.zeros_like(body)
    t = max(2, int(0.011 * lh))
    for s in (-1, 1):
        for i in range(10):
            y = 0.16 * lh + i * 0.058 * lh
            _ell(
                bones,
                (cx + s * 0.02 * S, y),
                (0.21 * S, 0.07 * lh),
                0,
                1.0,
                t,
                180 if s < 0 else 270,
                270 if s < 0 else 360,
            )
            _ell(
                bones,
                (cx + s * 0.05 * S, y + 0.05 * lh),
                (0.18 * S, 0.05 * lh),
                0,
                0.6,
                t,
                90 if s < 0 else 0,
                180 if s < 0 else 90,
            )
        cv2.line(
            bones,
            (int(cx + s * 0.03 * S), int(0.17 * lh)),
            (int(cx + s * 0.3 * S), int(0.12 * lh)),
            1.2,
            max(3, int(0.02 * lh)),
        )
        _ell(bones, (cx + s * 0.4 * S, 0.16 * lh), (0.045 * S, 0.045 * lh), 0, 1.0)  # humeral heads
    bones = cv2.GaussianBlur(bones, (0, 0), 1.2)
    vess = np.abs(_fbm(rng, lh, lw, 10, 3))
    vess = np.clip(0.6 - vess, 0, None) ** 2 * 3
    hil = np.exp(-(((xx - cx) / (0.2 * S)) ** 2 + ((yy - 0.45 * lh) / (0.25 * lh)) ** 2))
    gain = rng.uniform(0.55, 0.7)
    b = rng.uniform(0.02, 0.08) + gain * thick
    b = b - lungs * rng.uniform(0.3, 0.4) * (1 - 0.8 * heart)
    b += heart * 0.12 + med * 0.1 + spine * 0.07 * body + bones * rng.uniform(0.06, 0.1) * body
    b += vess * lungs * 0.07 * (0.4 + hil)
    gx = dome[1][0] + rng.uniform(-0.02, 0.04) * S
    bubble = np.zeros_like(body)
    _ell(bubble, (gx, 0.79 * lh), (0.05 * S, 0.03 * lh), 0, 1.0)
    b -= cv2.GaussianBlur(bubble, (0, 0), 2) * 0.15
    b += 0.04 * _fbm(rng, lh, lw, 40, 2) * body
    b = cv2.GaussianBlur(b, (0, 0), 0.8)
    # patient position and size vary: scale / shift / rotate the whole low-res picture
    m = cv2.getRotationMatrix2D((lw / 2, lh / 2), rng.uniform(-4, 4), rng.uniform(0.88, 1.08))
    m[:, 2] += (rng.uniform(-0.04, 0.04) * lw, rng.uniform(-0.02, 0.06) * lh)
    b = cv2.warpAffine(b, m, (lw, lh), borderMode=cv2.BORDER_REPLICATE)
    body = cv2.warpAffine(body, m, (lw, lh))
    return np.clip(_up(b, H, W), 0, 1), _up(body, H, W) > 0.5


def _abdomen(rng, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    lh = 400
    lw = int(round(lh * W / H))
    cx = lw * 0.5
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    body = np.zeros((lh, lw), np.float32)
    _ell(body, (cx, lh * 0.5), (0.45 * lw, 0.7 * lh), 0, 1.0)
    body = cv2.GaussianBlur(body, (0, 0), 3)
    thick = body * (0.55 + 0.3 * np.sqrt(np.clip(1 - ((xx - cx) / (0.47 * lw)) ** 2, 0, 1)))
    bone = np.zeros_like(body)
    for i in range(7):
        cv2.rectangle(
            bone,
            (int(cx - 0.04 * lw), int(0.05 * lh + i * 0.1 * lh)),
            (int(cx + 0.04 * lw), int(0.05 * lh + i * 0.1 * lh + 0.08 * lh)),
            1.0,
            -1,
        )
    _ell(bone, (cx, 0.9 * lh), (0.3 * lw, 0.2 * lh), 0, 1.0, max(3, int(0.03 * lh)), 180, 360)  # iliac wings
    for s in (-1, 1):
        _ell(bone, (cx + s * 0.2 * lw, 0.97 * lh), (0.06 * lw, 0.05 * lh), 0, 1.0, max(2, int(0.02 * lh)))
        cv2.line(bone, (int(cx + s * 0.05 * lw), int(0.3 * lh)), (int(cx + s * 0.15 * lw), int(0.28 * lh)), 0.8, 3)
    bone = cv2.GaussianBlur(bone, (0, 0), 1.5)
    gas = np.clip(_fbm(rng, lh, lw, 10, 3) - 0.7, 0, None) * 4
    gas *= np.exp(-(((xx - cx) / (0.3 * lw)) ** 2 + ((yy - 0.55 * lh) / (0.3 * lh)) ** 2))
    psoas = np.zeros_like(body)
    for s in (-1, 1):
        cv2.line(
            psoas,
            (int(cx + s * 0.05 * lw), int(0.35 * lh)),
            (int(cx + s * 0.16 * lw), int(0.85 * lh)),
            1.0,
            int(0.05 * lw),
        )
    psoas = cv2.GaussianBlur(psoas, (0, 0), 4)
    b = 0.05 + 0.7 * thick + 0.14 * bone * body + 0.04 * psoas - 0.2 * np.clip(gas, 0, 1) * body
    b += 0.03 * _fbm(rng, lh, lw, 30, 2) * body
    return np.clip(_up(cv2.GaussianBlur(b, (0, 0), 0.8), H, W), 0, 1), _up(body, H, W) > 0.5


def _extremity(rng, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """A knee or forearm-like limb: two long bones with cortex and marrow, soft tissue envelope."""
    lh = 400
    lw = int(round(lh * W / H))
    cx = lw * (0.5 + rng.uniform(-0.08, 0.08))
    ang = rng.uniform(-12, 12)
    soft = np.zeros((lh, lw), np.float32)
    cort = np.zeros_like(soft)
    marrow = np.zeros_like(soft)
    jy = lh * rng.uniform(0.42, 0.55)
    cv2.rectangle(soft, (int(cx - 0.22 * lw), 0), (int(cx + 0.22 * lw), lh), 1.0, -1)
    gap = 0.012 * lh
    for top, wid in ((True, 0.1), (False, 0.09)):
        ey = jy - gap - 0.045 * lh if top else jy + gap + 0.045 * lh
        y0, y1 = (0, int(ey)) if top else (int(ey), lh)
        cv2.rectangle(cort, (int(cx - wid * lw), y0), (int(cx + wid * lw), y1), 1.0, -1)
        _ell(cort, (cx, ey), (wid * lw * 1.4, 0.045 * lh), 0, 1.0)  # condyles / plateau
        cv2.rectangle(marrow, (int(cx - wid * 0.55 * lw), y0), (int(cx + wid * 0.55 * lw), y1), 1.0, -1)
        _ell(marrow, (cx, ey), (wid * lw * 1.1, 0.03 * lh), 0, 0.6)
    m = cv2.getRotationMatrix2D((lw / 2, lh / 2), ang, 1.0)
    soft, cort, marrow = (cv2.warpAffine(a, m, (lw, lh)) for a in (soft, cort, marrow))
    soft = cv2.GaussianBlur(soft, (0, 0), 6)
    cort = cv2.GaussianBlur(cort, (0, 0), 1.0)
    marrow = cv2.GaussianBlur(marrow, (0, 0), 2.0)
    trab = _fbm(rng, lh, lw, 4, 2)
    b = 0.03 + 0.45 * soft + 0.42 * cort - 0.14 * marrow + 0.03 * trab * cort
    return np.clip(_up(b, H, W), 0, 1), _up(soft, H, W) > 0.3


def _breast(rng, H: int, W: int, side: str, mlo: bool) -> tuple[np.ndarray, np.ndarray]:
    lh = 420
    lw = int(round(lh * W / H))
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    x = xx if side == "l" else (lw - 1 - xx)  # distance from the chest wall
    depth = rng.uniform(0.55, 0.75) * lw
    cy = lh * rng.uniform(0.45, 0.55)
    r = np.sqrt((x / depth) ** 2 + ((yy - cy) / (0.42 * lh)) ** 2)
    mask = (r < 1).astype(np.float32)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.0)
    dense = np.clip(_fbm(rng, lh, lw, 24, 4, 0.6) + 0.3 - r * 0.5, 0, 1)
    b = mask * (0.35 + 0.35 * dense + 0.2 * np.clip(1 - r, 0, 1) ** 0.3)
    b *= 1 - 0.25 * np.clip((r - 0.85) / 0.15, 0, 1)  # thinner at the skin edge
    if mlo:
        pec = ((x / (0.35 * lw)) + (yy / (0.55 * lh)) < 1).astype(np.float32) * mask
        b = np.maximum(b, cv2.GaussianBlur(pec, (0, 0), 2) * 0.82)
    b += 0.02 * _fbm(rng, lh, lw, 3, 1) * mask
    return np.clip(_up(b, H, W), 0, 1), _up(mask, H, W) > 0.5


# ----------------------------------------------------------------------------------- hard negatives (b space)


def _disk(img, c, r, val):
    cv2.circle(img, (int(c[0]), int(c[1])), max(1, int(r)), float(val), -1)


def _border_point(rng, H, W, band=0.12):
    """A random point in the outer band."""
    side = int(rng.integers(4))
    d = rng.uniform(0.01, band) if band > 0.01 else 0.0
    t = rng.uniform(0.05, 0.95)
    return [(t * W, d * H), (t * W, (1 - d) * H), (d * W, t * H), ((1 - d) * W, t * H)][side]


def neg_collimator(b, rng, mode=None, min_inset: float = 0.0):
    H, W = b.shape
    mode = mode or _pick(rng, ["white", "white", "black", "grey"])
    inset = [rng.uniform(min_inset, max(0.12, min_inset + 0.04)) for _ in range(4)]
    ang = rng.uniform(-2.5, 2.5)
    pts = np.array(
        [
            [inset[0] * W, inset[1] * H],
            [(1 - inset[2]) * W, inset[1] * H],
            [(1 - inset[2]) * W, (1 - inset[3]) * H],
            [inset[0] * W, (1 - inset[3]) * H],
        ],
        np.float32,
    )
    m = cv2.getRotationMatrix2D((W / 2, H / 2), ang, 1.0)
    pts = (np.c_[pts, np.ones(4)] @ m.T).astype(np.int32)
    field_ = np.zeros((H, W), np.uint8)
    cv2.fillPoly(field_, [pts], 1)
    f = cv2.GaussianBlur(field_.astype(np.float32), (0, 0), rng.uniform(1.0, 4.0))
    out_val = {"white": rng.uniform(0.82, 0.97), "black": 0.0, "grey": rng.uniform(0.5, 0.7)}[mode]
    scatter = 0.05 * _up(_fbm(rng, 32, 32, 6, 2), H, W) if mode != "black" else 0
    b[...] = b * f + (out_val + scatter) * (1 - f)
    return f"collimator-{mode}"


def neg_film_border(b, rng):
    H, W = b.shape
    w = int(rng.uniform(0.008, 0.03) * min(H, W))
    val = rng.choice([0.0, 0.95])
    edge = (_fbm(rng, 1, max(H, W), 50, 2)[0] * w * 0.3).astype(np.int32)
    m = np.zeros((H, W), np.uint8)
    m[:w, :] = m[-w:, :] = 1
    m[:, :w] = m[:, -w:] = 1
    for x in range(0, W, max(1, W // 64)):  # ragged inner edge, coarse
        e = int(w + edge[x % len(edge)])
        m[: max(0, e), x : x + W // 64] = 1
    f = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5)
    b[...] = b * (1 - f) + val * f
    return "film-border"


def neg_ruler(b, rng, numbers: bool = False) -> tuple[str, list]:
    """A radiopaque ruler along one edge; returns tick-number positions for the caller to draw as text."""
    H, W = b.shape
    vertical = rng.random() < 0.5
    L_ = H if vertical else W
    pitch = rng.uniform(8, 18) * max(H, W) / 2400
    pitch = max(4.0, pitch)
    width = int(pitch * rng.uniform(3, 5))
    off = int(rng.uniform(0.01, 0.08) * (W if vertical else H))
    start, stop = int(L_ * rng.uniform(0.05, 0.3)), int(L_ * rng.uniform(0.6, 0.95))
    val = rng.uniform(0.75, 0.95)
    tick = np.zeros(b.shape, np.float32)
    body = np.zeros(b.shape, np.float32)
    far = rng.random() < 0.5
    nums = []
    for i, p in enumerate(np.arange(start, stop, pitch)):
        ln = width * (0.9 if i % 10 == 0 else 0.6 if i % 5 == 0 else 0.35)
        p = int(p)
        if vertical:
            x = W - off if far else off
            x1 = x - int(ln) if far else x + int(ln)
            cv2.line(tick, (x, p), (x1, p), 1.0, max(1, int(pitch / 6)))
            if i % 10 == 0:
                nums.append((x1 + (-int(width * 0.9)) if far else x1 + 4, p, i // 10))
        else:
            y = H - off if far else off
            y1 = y - int(ln) if far else y + int(ln)
            cv2.line(tick, (p, y), (p, y1), 1.0, max(1, int(pitch / 6)))
            if i % 10 == 0:
                nums.append((p + 3, y1 - int(width * 0.5) if far else y1 + 3, i // 10))
    if vertical:
        xs = (W - off - width - 4, W - off) if far else (off, off + width + 4)
        cv2.rectangle(body, (xs[0], start - 10), (xs[1], stop + 10), 1.0, -1)
    else:
        ys = (H - off - width - 4, H - off) if far else (off, off + width + 4)
        cv2.rectangle(body, (start - 10, ys[0]), (stop + 10, ys[1]), 1.0, -1)
    tick = cv2.GaussianBlur(tick, (0, 0), 0.7)
    b[...] = np.maximum(b, body * rng.uniform(0.1, 0.3) + b * (1 - body * 0.3))
    b[...] = np.maximum(b, tick * val)
    return "ruler" + ("-numbered" if numbers else ""), (nums if numbers else [])


def _bezier(p0, p1, p2, n=60):
    t = np.linspace(0, 1, n)[:, None]
    return ((1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2).astype(np.int32)


def neg_ecg(b, rng, body=None):
    H, W = b.shape
    r = max(6, int(min(H, W) * rng.uniform(0.008, 0.014)))
    lay = np.zeros_like(b)
    for _ in range(int(rng.integers(3, 6))):
        c = (
            np.array(_border_point(rng, H, W, 0.18))
            if rng.random() < 0.6
            else np.array([rng.uniform(0.2, 0.8) * W, rng.uniform(0.15, 0.5) * H])
        )
        cv2.circle(lay, (int(c[0]), int(c[1])), r, 0.8, max(2, r // 4))
        _disk(lay, c, r * 0.35, 1.0)
        end = np.array(_border_point(rng, H, W, 0.0))
        end = np.clip(end, 0, [W - 1, H - 1])
        mid = (c + end) / 2 + rng.normal(0, 0.1, 2) * [W, H]
        cv2.polylines(lay, [_bezier(c, mid, end)], False, 0.9, max(2, r // 3))
    lay = cv2.GaussianBlur(lay, (0, 0), 1.0)
    b[...] = np.maximum(b, lay * rng.uniform(0.8, 1.0))
    return "ecg-leads"


def neg_tube(b, rng):
    H, W = b.shape
    p0 = np.array([rng.uniform(0.3, 0.7) * W, 0.0])
    p2 = np.array([rng.uniform(0.3, 0.7) * W, rng.uniform(0.5, 0.9) * H])
    p1 = np.array([rng.uniform(0.0, 1.0) * W, rng.uniform(0.1, 0.5) * H])
    lay = np.zeros_like(b)
    t = max(4, int(min(H, W) * 0.005))
    cv2.polylines(lay, [_bezier(p0, p1, p2)], False, 0.35, t * 2)
    cv2.polylines(lay, [_bezier(p0, p1, p2)], False, 1.0, max(1, t // 2))
    lay = cv2.GaussianBlur(lay, (0, 0), 1.0)
    b[...] = np.maximum(b, b + lay * 0.3)
    return "tube"


def neg_clips(b, rng):
    H, W = b.shape
    s = max(6, int(min(H, W) * 0.006))
    for _ in range(int(rng.integers(2, 7))):
        c = (
            _border_point(rng, H, W, 0.2)
            if rng.random() < 0.5
            else (rng.uniform(0.15, 0.85) * W, rng.uniform(0.15, 0.85) * H)
        )
        box = cv2.boxPoints(((c[0], c[1]), (s * rng.uniform(0.6, 1.2), s * rng.uniform(2, 3.5)), rng.uniform(0, 180)))
        cv2.fillPoly(b, [box.astype(np.int32)], float(rng.uniform(0.9, 1.0)))
    return "clips"


def neg_buttons(b, rng):
    H, W = b.shape
    r = max(5, int(min(H, W) * 0.008))
    x = rng.uniform(0.1, 0.9) * W
    for i in range(int(rng.integers(3, 6))):
        c = (x + rng.normal(0, 3), (0.15 + i * 0.15) * H)
        cv2.circle(b, (int(c[0]), int(c[1])), r, 0.95, max(1, r // 3))
        for dx in (-r // 3, r // 3):
            _disk(b, (c[0] + dx, c[1]), max(1, r // 6), 0.95)
    return "buttons"


def neg_jewellery(b, rng):
    H, W = b.shape
    cx, top = W * rng.uniform(0.4, 0.6), H * rng.uniform(0.0, 0.1)
    r = max(3, int(min(H, W) * 0.004))
    pts = _bezier(np.array([cx - 0.12 * W, top]), np.array([cx, top + 0.35 * H]), np.array([cx + 0.12 * W, top]), 50)
    for p in pts[::2]:
        _disk(b, p, r, 0.97)
    _disk(b, pts[25], r * 3, 0.99)  # a pendant
    return "necklace"


def neg_skin_fold(b, rng):
    H, W = b.shape
    s = rng.choice([-1, 1])
    x0 = W * (0.5 + s * rng.uniform(0.3, 0.45))
    pts = _bezier(np.array([x0, 0.1 * H]), np.array([x0 + s * 0.08 * W, 0.5 * H]), np.array([x0, 0.95 * H]), 200)
    m = np.zeros_like(b)
    poly = np.vstack([pts, [[W if s > 0 else 0, H], [W if s > 0 else 0, 0]]]).astype(np.int32)
    cv2.fillPoly(m, [poly], 1.0)
    m = cv2.GaussianBlur(m, (0, 0), 6)
    b[...] = b + 0.06 * m * (b > 0.1)
    return "skin-fold"


def neg_grid(b, rng):
    H, W = b.shape
    period = rng.uniform(2.5, 9)
    a = rng.uniform(0.008, 0.03)
    x = np.arange(W, dtype=np.float32)
    b += (a * np.sin(2 * np.pi * x / period))[None, :]
    if rng.random() < 0.4:  # a stitching seam
        y = int(H * rng.uniform(0.3, 0.7))
        b[y : y + 2] *= 0.85
        b[y + 2 :] += rng.uniform(-0.02, 0.02)
    return "grid-lines"


def neg_vignette(b, rng):
    H, W = b.shape
    yy, xx = np.ogrid[0:H, 0:W]
    r2 = ((xx - W / 2) / (W / 2)) ** 2 + ((yy - H / 2) / (H / 2)) ** 2
    b *= (1 - rng.uniform(0.05, 0.2) * r2).astype(np.float32)
    return "vignetting"


def neg_implant(b, rng, val=1.0):
    H, W = b.shape
    c = (rng.uniform(0.25, 0.75) * W, rng.uniform(0.3, 0.8) * H)
    s = max(4, int(min(H, W) * rng.uniform(0.004, 0.02)))
    box = cv2.boxPoints(((c[0], c[1]), (s, s * rng.uniform(2, 6)), rng.uniform(0, 180)))
    cv2.fillPoly(b, [box.astype(np.int32)], float(val))
    return "implant"


def noise(b, rng, level=0.01):
    """Quantum-like noise: variance grows with signal; fast Gaussian approximation."""
    n = rng.standard_normal(b.shape, dtype=np.float32)
    b += n * (level * np.sqrt(np.clip(b, 0, None) + 0.05))
    return "noise"


RADIO_NEGS = [neg_ecg, neg_tube, neg_clips, neg_buttons, neg_jewellery, neg_skin_fold, neg_grid, neg_vignette]


def _some_negs(b, rng, k=(2, 5), pool=None) -> list[str]:
    pool = pool or RADIO_NEGS
    idx = rng.permutation(len(pool))[: int(rng.integers(k[0], k[1] + 1))]
    return [pool[i](b, rng) for i in idx]


# ----------------------------------------------------------------------------------- technique text


def _tech_radio(rng) -> list[Seg]:
    c = [
        f"kVp {int(rng.integers(60, 130))}",
        f"mAs {rng.uniform(0.5, 20):.1f}",
        f"EI {int(rng.integers(200, 2000))}",
        f"S {int(rng.integers(80, 600))}",
        f"SID {int(rng.choice([100, 110, 150, 180]))}cm",
        "Grid",
        f"DAP {rng.uniform(0.02, 2):.2f}",
        f"L {rng.uniform(1, 2.5):.1f}",
        f"W {int(rng.integers(500, 4096))}",
        f"C {int(rng.integers(200, 3000))}",
        f"REX {int(rng.integers(800, 2200))}",
    ]
    return [O(x) for x in rng.permutation(c)[: int(rng.integers(1, 4))]]


def _ct_tech(rng) -> list[list[Seg]]:
    return [
        [O(f"kV {int(rng.choice([80, 100, 120, 140]))}")],
        [O(f"mA {int(rng.integers(50, 500))}")],
        [O(f"{rng.choice([0.625, 1.25, 2.5, 5.0])} mm")],
        [O(f"Tilt: {rng.choice([0, 0, 5, -10])}")],
        [O(f"{rng.uniform(0.5, 1.0):.1f}s /HE+ {rng.uniform(0.5, 1.5):.2f}:1")],
    ]


# ----------------------------------------------------------------------------------- ink helpers


class Gray:
    """Display brightness b (0..1, white = 1) <-> stored values for a grayscale image."""

    def __init__(self, bits: int, mono1: bool = False, lo: float = 0.0, hi: float | None = None):
        self.bits, self.mono1 = bits, mono1
        self.maxv = float(2**bits - 1)
        self.lo, self.hi = lo, (self.maxv if hi is None else hi)

    def stored(self, b) -> np.ndarray:
        b = np.asarray(b, np.float32)
        v = self.lo + np.clip(b, 0, 1) * (self.hi - self.lo)
        return (self.hi + self.lo - v) if self.mono1 else v

    def ink(self, b) -> tuple:
        return (float(self.stored(b)),)

    @property
    def white(self) -> tuple:  # the stored extreme that displays white
        return (0.0,) if self.mono1 else (self.maxv,)


def _gray_style(rng, size, g: Gray, bg_b: float, cn: bool = False, allow_cv2: bool = True) -> Style:
    """A typical annotation style for a grayscale image whose background near the text is bg_b."""
    latin, cjk = fonts()
    if cn and cjk:
        renderer, font = "pil", _pick(rng, sorted(cjk))
    elif allow_cv2 and rng.random() < 0.45:
        renderer, font = "cv2", _pick(rng, PRINT_HERSHEY)
    else:
        renderer, font = "pil", _pick(rng, sorted(latin)) if latin else "hershey-simplex"
    look = rng.choice(
        ["max", "white", "grey", "low", "boxed-dark", "boxed-light", "shadow"],
        p=[0.28, 0.2, 0.12, 0.1, 0.12, 0.08, 0.1],
    )
    st = Style(
        renderer=renderer,
        font=font,
        size=int(size),
        aa=bool(rng.random() < 0.75),
        thickness=int(rng.choice([1, 1, 2])) if renderer == "cv2" and size > 16 else 1,
    )
    if look == "max":
        st.ink = g.white
    elif look == "white":
        st.ink = g.ink(rng.uniform(0.85, 0.97))
    elif look == "grey":
        st.ink = g.ink(min(1.0, bg_b + rng.uniform(0.3, 0.5)) if bg_b < 0.5 else max(0.0, bg_b - rng.uniform(0.3, 0.5)))
    elif look == "low":
        d = rng.uniform(0.07, 0.14)
        st.ink = g.ink(bg_b + d if bg_b < 0.8 else bg_b - d)
        st.tags = "low-contrast"
    elif look == "boxed-dark":
        st.box, st.box_ink, st.box_alpha = (
            _pick(rng, ["seg", "line", "block"]),
            g.ink(rng.uniform(0.0, 0.12)),
            float(rng.choice([1.0, 1.0, 0.6])),
        )
        st.ink = g.white if rng.random() < 0.6 else g.ink(rng.uniform(0.75, 0.95))
    elif look == "boxed-light":
        st.box, st.box_ink, st.box_alpha = _pick(rng, ["seg", "line", "block"]), g.ink(rng.uniform(0.85, 1.0)), 1.0
        st.ink = g.ink(rng.uniform(0.0, 0.15))
    else:
        st.ink, st.shadow, st.shadow_ink = g.white, int(rng.choice([1, 2])), g.ink(0.0)
    if look in ("max", "white", "grey", "shadow") and bg_b > 0.7:  # text on a white collimated field: dark ink
        st.ink = g.ink(rng.uniform(0.0, 0.2))
    return st


def _bg_b(b: np.ndarray, corner: str) -> float:
    H, W = b.shape
    ys = slice(0, H // 8) if corner[0] == "t" else slice(H - H // 8, H)
    xs = {"l": slice(0, W // 4), "r": slice(W - W // 4, W), "c": slice(W // 4, 3 * W // 4)}[corner[1]]
    return float(np.median(b[ys, xs][::4, ::4]))


# ----------------------------------------------------------------------------------- builders


@dataclass
class Built:
    canvas: Canvas
    modality: str
    sop: str
    photometric: str
    bits_stored: int
    bits_alloc: int
    signed: bool = False
    header: dict = field(default_factory=dict)  # extra elements (keyword: value)
    negs: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    lossy_ok: bool = False
    window: tuple | None = None  # (center, width) in modality units
    rescale: tuple = (0.0, 1.0)  # (intercept, slope)


def _radiograph(rng, p: Person, kind: str) -> Built:
    """CR/DX chest/abdomen/extremity with corner annotations."""
    cn = kind == "cn-dx"
    mono1 = kind == "dx-mono1" or (kind == "cn-dx" and rng.random() < 0.2)
    modality = "CR" if kind in ("cr-chest", "cn-dx") and rng.random() < 0.6 else "DX"
    if kind == "dx-extremity":
        H, W = _pick(rng, [(2500, 2048), (2328, 1800), (2048, 2048), (2600, 2100)])
        b, body = _extremity(rng, H, W)
        part = "KNEE"
    else:
        H, W = _pick(
            rng, [(2048, 2048), (2500, 2048), (2880, 2360), (3000, 2500), (2430, 1994), (2140, 1760), (2021, 2021)]
        )
        if rng.random() < 0.8:
            b, body = _chest(rng, H, W)
            part = "CHEST"
        else:
            b, body = _abdomen(rng, H, W)
            part = "ABDOMEN"
    bits = int(rng.choice([10, 12, 12, 14, 16], p=[0.15, 0.45, 0.1, 0.2, 0.1]))
    if kind == "dx-mono1":
        bits = int(rng.choice([10, 12]))
    negs = []
    if kind == "dx-extremity" or rng.random() < 0.45:
        negs.append(neg_collimator(b, rng))
    negs += _some_negs(b, rng)
    ruler_nums = []
    if kind == "dx-extremity" or rng.random() < 0.25:
        name, ruler_nums = neg_ruler(b, rng, numbers=rng.random() < 0.5)
        negs.append(name)
    if rng.random() < 0.15:
        negs.append(neg_film_border(b, rng))
    negs.append(noise(b, rng, rng.uniform(0.006, 0.02)))
    g = Gray(bits, mono1)
    cv_ = Canvas(g.stored(b)[None], 0, g.maxv)
    cv_.flip = (float(g.stored(0.03)), float(g.stored(0.97)))
    size_scale = max(H, W) / 2048
    base = float(rng.uniform(18, 40)) * size_scale
    if rng.random() < 0.25:
        base = float(rng.uniform(10, 18))  # small print on a big image
    corners = ["tl", "tr", "bl", "br"]
    rng.shuffle(corners)
    if cn:
        lines = identity_lines(
            rng, p, ["name", "sex", "age", "id", "accession", "study-date"], 0.95, True, pack=int(rng.choice([1, 2, 3]))
        )
        st = _gray_style(rng, base, g, _bg_b(b, "tl"), cn=True)
        ist = st.with_(size=int(base * rng.uniform(1.1, 1.6)))
        cv_.block([[V(p.cn_inst, "institution")]], ist, "tc" if rng.random() < 0.5 else "tl", rng)
        cv_.block(lines, st, "tl" if rng.random() < 0.6 else "tr", rng)
        if rng.random() < 0.7:
            view = _pick(rng, ["胸部正位", "胸部侧位", "正位", "DR", "床旁"])
            cv_.block(
                [[O(view, safe=view in ("胸部正位", "胸部侧位", "正位"))]],
                _gray_style(rng, base * 1.2, g, _bg_b(b, "bl"), cn=True),
                _pick(rng, ["bl", "br"]),
                rng,
            )
    else:
        vendor = _pick(rng, ["tcia", "ge", "siemens", "philips", "fuji", "carestream", "agfa"])
        if vendor in ("tcia", "ge", "siemens"):
            a = identity_lines(rng, p, ["name", "id", "sex", "birth-date"], pack=int(rng.choice([1, 1, 2])))
            bb = identity_lines(rng, p, ["institution", "study-date", "accession"])
            blocks = [(a, corners[0]), (bb, corners[1])]
        elif vendor in ("philips", "carestream"):
            a = identity_lines(
                rng,
                p,
                ["name", "id", "birth-date", "sex", "age", "study-date", "accession", "institution"],
                pack=int(rng.choice([1, 2, 3])),
            )
            blocks = [(a, corners[0])]
        else:  # fuji / agfa: a compact block plus vertical institution text
            a = identity_lines(rng, p, ["id", "name", "sex", "age", "study-date"], pack=int(rng.choice([2, 3])))
            blocks = [(a, corners[0])]
        for lines, corner in blocks:
            st = _gray_style(rng, base * rng.uniform(0.85, 1.15), g, _bg_b(b, corner))
            cv_.block(lines, st, corner, rng)
        if vendor in ("fuji", "agfa") or rng.random() < 0.12:
            st = _gray_style(rng, base * 0.9, g, 0.2).with_(box="")
            cv_.vertical(
                [V(p.institution, "institution")]
                + ([V(fmt_date(p.study, _pick(rng, DATE_STYLES)), "study-date")] if rng.random() < 0.5 else []),
                st,
                _pick(rng, ["l", "r"]),
                rng,
            )
        if rng.random() < 0.6:
            st = _gray_style(rng, base * 0.8, g, _bg_b(b, corners[2]))
            cv_.block([_tech_radio(rng)], st, corners[2], rng)
        if rng.random() < 0.4:
            w = _pick(rng, ["PORTABLE", "AP", "PA", "ERECT", "SUPINE", "UPRIGHT", "LAT"])
            cv_.block([[O(w, safe=True)]], _gray_style(rng, base * 1.2, g, _bg_b(b, corners[3])), corners[3], rng)
    # lead marker: a lone L or R, bright (lead), in a plastic holder, in the upper outer field
    if rng.random() < 0.75:
        letter = _pick(rng, ["L", "R", "L", "R", "LT", "RT"])
        msz = int(rng.uniform(40, 90) * size_scale)
        st = Style(
            renderer="pil",
            font=_pick(rng, [k for k in fonts()[0] if "bold" in k] or list(fonts()[0])),
            size=msz,
            ink=g.ink(rng.uniform(0.9, 1.0)),
        )
        x = int(rng.uniform(0.06, 0.25) * W) if rng.random() < 0.5 else int(rng.uniform(0.7, 0.88) * W)
        y = int(rng.uniform(0.12, 0.3) * H)
        alpha, _, r_, f_ = render(letter, st)
        if rng.random() < 0.5:
            alpha = _rotate(alpha, float(rng.uniform(-20, 20)))
        rect = (x - 8, y - 8, x + alpha.shape[1] + 8, y + alpha.shape[0] + 8)
        if cv_.free(rect, pad=40):
            cv_.fill(rect, g.ink(min(1, float(np.median(b[y : y + 10, x : x + 10])) + 0.06)), 1.0)
            cv_.put(Seg(letter, "safe-marker", False, False, True), alpha, x, y, st, r_, f_)
            cv_.rects.append(rect)
    for x, y, n in ruler_nums:
        st = Style(renderer="cv2", font="hershey-plain", size=int(14 * size_scale), ink=g.ink(0.9))
        alpha, _, r_, f_ = render(str(n), st)
        if cv_.free((x, y, x + alpha.shape[1], y + alpha.shape[0]), pad=1):
            cv_.put(O(str(n)), alpha, x, y, st, r_, f_)
    center = g.maxv / 2
    header = {
        "BodyPartExamined": part,
        "ViewPosition": _pick(rng, ["PA", "AP", ""]) if part == "CHEST" else "",
        "Manufacturer": _pick(
            rng,
            [
                "FUJIFILM Corporation",
                "Carestream Health",
                "Agfa",
                "GE Healthcare",
                "Philips Medical Systems",
                "SIEMENS",
                "KONICA MINOLTA",
            ],
        ),
        "ImagerPixelSpacing": [0.15, 0.15] if max(H, W) < 2600 else [0.139, 0.139],
        "PresentationLUTShape": "INVERSE" if mono1 and rng.random() < 0.3 else "IDENTITY",
    }
    win = (center, g.maxv) if rng.random() < 0.7 else None
    return Built(
        cv_,
        modality,
        SOP[modality],
        "MONOCHROME1" if mono1 else "MONOCHROME2",
        bits,
        16,
        header=header,
        negs=negs,
        window=win,
        notes=[f"bits={bits}"],
    )


def _hidden(rng, p: Person) -> Built:
    """16-bit CR whose text a naive view misses: a bright implant plus a VOI window."""
    H, W = _pick(rng, [(2048, 2048), (2500, 2048), (2430, 1994)])
    b, body = _chest(rng, H, W) if rng.random() < 0.6 else _abdomen(rng, H, W)
    variant = _pick(rng, ["outlier", "outlier", "above-window", "below-window"])
    negs = _some_negs(b, rng, (1, 3))
    # a shuttered (black) or collimated (white) border all round: the text sits in it
    negs.append(neg_collimator(b, rng, "white" if variant == "above-window" else "black", 0.08))
    negs.append(noise(b, rng, 0.01))
    data_hi = float(rng.choice([4095, 3500, 8191, 16383]))
    g = Gray(16, False, lo=float(rng.integers(0, 200)), hi=data_hi)
    img = g.stored(b)
    impl = np.zeros_like(b)
    neg_implant(impl, rng, 1.0)
    spike = float(rng.choice([65535, 60000, 50000]))
    img = np.where(impl > 0, spike, img)
    y, x = int(rng.integers(0, H)), int(rng.integers(0, W))
    img[y, x] = 65535.0  # a single stuck pixel
    negs.append("implant+hot-pixel")
    cv_ = Canvas(img[None], 0, 65535)
    wc, ww = (g.lo + data_hi) / 2, (data_hi - g.lo) * rng.uniform(0.7, 1.0)
    lines = identity_lines(
        rng, p, ["name", "id", "sex", "birth-date", "study-date", "accession", "institution"], pack=3
    )
    size = float(rng.uniform(16, 30))
    font = _pick(rng, sorted(fonts()[0]) or ["hershey-simplex"])
    st = Style(renderer="pil" if fonts()[0] else "cv2", font=font, size=int(size))
    if variant == "outlier":  # at the data maximum: white in the window view, ~black in min-max
        st.ink = (data_hi,)
    elif variant == "above-window":  # far above the window, drawn on the white collimated field
        st.ink = (float(rng.uniform(0.35, 0.75) * spike),)
    else:  # below the window on the black direct-exposure background
        st.ink = (float(g.lo + rng.uniform(0.08, 0.15) * (wc - ww / 2 - g.lo)) + 40,)
    st.tags = f"hidden:{variant}"
    # the corner whose background suits the trick: brightest for above-window, darkest otherwise
    bgs = {k: _bg_b(b, k) for k in ("tl", "tr", "bl", "br")}
    corner = (max if variant == "above-window" else min)(bgs, key=bgs.get)
    if variant == "above-window":
        st.ink = (max(st.ink[0], wc + ww / 2 + 2000),)
    cv_.block(lines, st, corner, rng)
    notes = [f"hidden={variant}", f"window={wc:.0f}/{ww:.0f}", f"spike={spike:.0f}"]
    return Built(
        cv_,
        "CR",
        SOP["CR"],
        "MONOCHROME2",
        16,
        16,
        header={"BodyPartExamined": "CHEST"},
        negs=negs,
        window=(wc, ww),
        notes=notes,
    )


def _mg(rng, p: Person) -> Built:
    H, W = _pick(rng, [(2294, 1914), (3062, 2394), (3328, 2560), (3584, 2816)])
    side = _pick(rng, ["l", "r"])  # chest wall on this side of the image
    lat = _pick(rng, ["L", "R"])
    view = _pick(rng, ["CC", "MLO"])
    b, mask = _breast(rng, H, W, side, view == "MLO")
    negs = []
    if rng.random() < 0.4:  # compression paddle edge: a faint straight line
        y = int(H * rng.uniform(0.05, 0.15))
        b[y : y + 3] = np.maximum(b[y : y + 3], 0.12)
        negs.append("paddle-edge")
    if rng.random() < 0.3:
        negs.append(neg_clips(b, rng))
    negs.append(noise(b, rng, 0.006))
    b = np.where(mask | (b > 0.05), b, 0.0)
    bits = int(rng.choice([12, 14]))
    g = Gray(bits)
    cv_ = Canvas(g.stored(b)[None], 0, g.maxv)
    cv_.flip = (float(g.stored(0.03)), float(g.stored(0.97)))
    far = "r" if side == "l" else "l"
    big = int(rng.uniform(60, 140) * max(H, W) / 3000)
    st = Style(renderer="pil", font=_pick(rng, sorted(fonts()[0])), size=big, ink=g.white)
    cv_.block([[O(f"{lat}{view}" if rng.random() < 0.5 else f"{lat} {view}")]], st, "t" + far, rng)
    small = float(rng.uniform(16, 34) * max(H, W) / 3000)
    st2 = _gray_style(rng, small, g, 0.0)
    lines = identity_lines(
        rng, p, ["name", "id", "birth-date", "study-date", "accession", "institution"], pack=int(rng.choice([1, 2]))
    )
    cv_.block(lines, st2, "b" + far, rng)
    if rng.random() < 0.6:
        cv_.block(
            [
                [O(f"{int(rng.integers(24, 35))}kV {int(rng.integers(40, 200))}mAs")],
                [O(f"{int(rng.integers(30, 80))}mm {int(rng.integers(60, 160))}N")],
            ],
            st2,
            "t" + far if False else ("bl" if far == "r" else "br"),
            rng,
        )
    return Built(
        cv_,
        "MG",
        SOP["MG"],
        "MONOCHROME2",
        bits,
        16,
        header={
            "Laterality": lat,
            "ImageLaterality": lat,
            "ViewPosition": view,
            "BodyPartExamined": "BREAST",
            "Manufacturer": _pick(rng, ["HOLOGIC, Inc.", "GE MEDICAL SYSTEMS", "SIEMENS", "FUJIFILM"]),
        },
        negs=negs,
        window=(g.maxv * 0.55, g.maxv * 0.6),
    )


def _ct_hu(rng, N: int = 512) -> np.ndarray:
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    pad = float(rng.choice([-2000, -3024, -1000]))
    hu = np.full((N, N), -1000.0, np.float32)
    cx, cy = N / 2 + rng.uniform(-10, 10), N * 0.52 + rng.uniform(-10, 10)
    ax, ay = N * rng.uniform(0.34, 0.43), N * rng.uniform(0.25, 0.31)
    body = np.zeros((N, N), np.float32)
    _ell(body, (cx, cy), (ax, ay), 0, 1.0)
    hu = np.where(body > 0, -100.0, hu)
    _ell(hu, (cx, cy), (ax - N * 0.03, ay - N * 0.03), 0, 45.0)
    chest = rng.random() < 0.5
    if chest:
        for s in (-1, 1):
            _ell(hu, (cx + s * ax * 0.45, cy - ay * 0.05), (ax * 0.38, ay * 0.72), 0, -850.0)
        _ell(hu, (cx + ax * 0.08, cy - ay * 0.05), (ax * 0.25, ay * 0.4), 20, 40.0)
        ves = np.clip(_fbm(rng, N, N, 8, 2) - 0.5, 0, None) * 600
        hu = np.where(hu < -700, hu + ves, hu)
    else:
        _ell(hu, (cx - ax * 0.35, cy - ay * 0.1), (ax * 0.45, ay * 0.6), 10, 60.0)  # liver
        _ell(hu, (cx + ax * 0.5, cy - ay * 0.25), (ax * 0.2, ay * 0.3), 0, 45.0)  # spleen
        for s in (-1, 1):
            _ell(hu, (cx + s * ax * 0.3, cy + ay * 0.35), (ax * 0.1, ay * 0.18), s * 20, 30.0)
        gas = np.clip(_fbm(rng, N, N, 10, 2) - 0.8, 0, None) > 0
        bowel = ((xx - cx - ax * 0.15) / (ax * 0.45)) ** 2 + ((yy - cy - ay * 0.1) / (ay * 0.45)) ** 2 < 1
        hu = np.where(gas & bowel, -950.0, hu)
    _ell(hu, (cx, cy + ay * 0.6), (N * 0.035, N * 0.035), 0, 300.0)
    _ell(hu, (cx, cy + ay * 0.6), (N * 0.035, N * 0.035), 0, 900.0, 3)
    _ell(hu, (cx, cy + ay * 0.18), (N * 0.022, N * 0.022), 0, 180.0)  # aorta, contrast
    for k in range(8):
        t = np.pi * (0.15 + 0.7 * k / 7)
        for s in (-1, 1):
            _ell(hu, (cx + s * np.cos(t) * ax * 0.92, cy - np.sin(t) * ay * 0.88 + ay * 0.3), (4, 6), 0, 700.0)
    tb = int(cy + ay + rng.uniform(8, 20))  # the table
    _ell(hu, (cx, tb - N * 0.8), (N * 0.5, N * 0.8), 0, 120.0, 4, 60, 120)
    cv2.rectangle(hu, (int(cx - N * 0.3), tb + 14), (int(cx + N * 0.3), tb + 22), -300.0, -1)
    hu = cv2.GaussianBlur(hu, (0, 0), 0.7)
    hu += rng.standard_normal(hu.shape, dtype=np.float32) * rng.uniform(8, 20)
    if pad != -1000:
        hu = np.where((xx - N / 2) ** 2 + (yy - N / 2) ** 2 > (N / 2) ** 2, pad, hu)
    return hu


def _ct(rng, p: Person) -> Built:
    N = 512
    hu = _ct_hu(rng, N)
    wc, ww = _pick(rng, [(40, 400), (-600, 1500), (400, 1800), (50, 350)])
    stored = hu + 1024
    cv_ = Canvas(stored[None], -32768, 32767)
    size = float(rng.uniform(10, 16))
    inkmode = _pick(rng, ["max", "max", "window-white", "grey"])
    ink = {"max": 4095.0, "window-white": wc + ww / 2 + 1024 + 50, "grey": wc + 1024 + ww * 0.15}[inkmode]
    latin = fonts()[0]
    renderer = "cv2" if rng.random() < 0.5 or not latin else "pil"
    st = Style(
        renderer=renderer,
        font=_pick(rng, PRINT_HERSHEY if renderer == "cv2" else sorted(latin)),
        size=int(size),
        ink=(float(ink),),
        aa=bool(rng.random() < 0.7),
        tags=f"ink-{inkmode}",
    )
    vendor = _pick(rng, ["ge", "siemens", "philips"])
    if vendor == "ge":
        cv_.block(
            [
                [O("Ex:"), O(_digits(rng, 5))],
                [O("Se:"), O(str(int(rng.integers(1, 9))))],
                [O("Im:"), O(str(int(rng.integers(1, 300))))],
                [O("DFOV"), O(f"{rng.uniform(30, 50):.1f}cm")],
            ],
            st,
            "tl",
            rng,
        )
        cv_.block(
            identity_lines(rng, p, ["institution", "name", "id", "age", "sex", "study-date"], label_p=0.3, pack=1),
            st,
            "tr",
            rng,
        )
    else:
        cv_.block(identity_lines(rng, p, ["name", "id", "birth-date", "sex", "accession"], pack=1), st, "tl", rng)
        cv_.block(identity_lines(rng, p, ["institution", "study-date"], label_p=0.3), st, "tr", rng)
    cv_.block(_ct_tech(rng)[: int(rng.integers(2, 5))], st, "bl", rng)
    cv_.block(
        [[O(f"W:{ww}"), O(f"L:{wc}")]] if rng.random() < 0.5 else [[O(f"W = {ww}")], [O(f"L = {wc}")]], st, "br", rng
    )
    if rng.random() < 0.5:
        cv_.block([[O(_pick(rng, ["R", "A"]), safe=True)]], st.with_(size=int(size * 1.3)), ("xy", 6, N // 2 - 10), rng)
    return Built(
        cv_,
        "CT",
        SOP["CT"],
        "MONOCHROME2",
        16,
        16,
        signed=True,
        header={
            "Manufacturer": {"ge": "GE MEDICAL SYSTEMS", "siemens": "SIEMENS", "philips": "Philips"}[vendor],
            "BodyPartExamined": "CHEST",
            "SliceThickness": 2.5,
            "KVP": 120,
            "PixelPaddingValue": None,
        },
        negs=["ct-table", "fov-circle", "noise"],
        window=(wc, ww),
        rescale=(-1024.0, 1.0),
        notes=[f"ink={inkmode}"],
    )


def _mr_img(rng, N: int) -> np.ndarray:
    yy, xx = np.mgrid[0:N, 0:N].astype(np.float32)
    cx, cy = N / 2 + rng.uniform(-4, 4), N / 2 + rng.uniform(-4, 4)
    t2 = rng.random() < 0.5
    img = np.zeros((N, N), np.float32)
    ax, ay = N * rng.uniform(0.3, 0.36), N * rng.uniform(0.38, 0.43)
    _ell(img, (cx, cy), (ax, ay), 0, 900.0)  # scalp fat
    _ell(img, (cx, cy), (ax * 0.94, ay * 0.95), 0, 60.0)  # skull
    _ell(img, (cx, cy), (ax * 0.89, ay * 0.91), 0, 1100.0 if t2 else 180.0)  # CSF
    brain = np.zeros_like(img)
    _ell(brain, (cx, cy), (ax * 0.86, ay * 0.88), 0, 1.0)
    gyri = _fbm(rng, N, N, N / 18, 3)
    gm, wm = (700.0, 500.0) if t2 else (520.0, 680.0)
    tissue = np.where(gyri > 0.1, gm, wm) + 40 * gyri
    img = np.where(brain > 0, tissue, img)
    for s in (-1, 1):
        _ell(img, (cx + s * N * 0.04, cy - N * 0.02), (N * 0.025, N * 0.09), s * 15, 1150.0 if t2 else 150.0)
    img = cv2.GaussianBlur(img, (0, 0), 0.8)
    sig = rng.uniform(10, 30)
    n1 = rng.standard_normal(img.shape, dtype=np.float32) * sig
    n2 = rng.standard_normal(img.shape, dtype=np.float32) * sig
    img = np.sqrt((img + n1) ** 2 + n2**2)
    coil = 1 + 0.35 * np.exp(-(((xx - N * rng.uniform(0, 1)) / N) ** 2 + ((yy - N * rng.uniform(0, 1)) / N) ** 2))
    return img * coil


def _mr(rng, p: Person) -> Built:
    N = _pick(rng, [256, 256, 512])
    img = _mr_img(rng, N)
    cv_ = Canvas(img[None], 0, 4095)
    scale = N / 512
    size = float(rng.uniform(10, 18) * max(scale, 0.65))
    size = max(8.0, size)
    inkmode = _pick(rng, ["max", "max", "imgmax", "grey"])
    ink = {"max": 4095.0, "imgmax": float(np.percentile(img, 99.9)), "grey": float(np.percentile(img, 90) * 0.6)}[
        inkmode
    ]
    latin = fonts()[0]
    renderer = "cv2" if rng.random() < 0.5 or not latin else "pil"
    st = Style(
        renderer=renderer,
        font=_pick(rng, PRINT_HERSHEY if renderer == "cv2" else sorted(latin)),
        size=int(size),
        ink=(ink,),
        aa=bool(rng.random() < 0.6),
        tags=f"ink-{inkmode}",
    )
    cv_.block(identity_lines(rng, p, ["name", "id", "birth-date", "sex"], pack=int(rng.choice([1, 2]))), st, "tl", rng)
    cv_.block(identity_lines(rng, p, ["institution", "study-date", "accession"], label_p=0.4), st, "tr", rng)
    cv_.block(
        [
            [O(f"TR {int(rng.integers(400, 6000))}")],
            [O(f"TE {int(rng.integers(8, 120))}")],
            [O(f"{rng.choice([3, 4, 5])}mm")],
        ],
        st,
        "bl",
        rng,
    )
    if rng.random() < 0.5:
        cv_.block(
            [[O("Se:"), O(str(int(rng.integers(1, 20))))], [O("Im:"), O(f"{int(rng.integers(1, 40))}/40")]],
            st,
            "br",
            rng,
        )
    wc = float(np.percentile(img, 95) * 0.55)
    return Built(
        cv_,
        "MR",
        SOP["MR"],
        "MONOCHROME2",
        12,
        16,
        header={
            "Manufacturer": _pick(rng, ["SIEMENS", "GE MEDICAL SYSTEMS", "Philips Medical Systems"]),
            "MagneticFieldStrength": float(rng.choice([1.5, 3.0])),
            "BodyPartExamined": "HEAD",
        },
        negs=["rician-noise", "coil-shading"],
        window=(wc, wc * 2),
        notes=[f"ink={inkmode}"],
    )


# -- ultrasound

US_COLORS = {
    "white": (235, 235, 235),
    "yellow": (255, 255, 0),
    "green": (0, 230, 0),
    "cyan": (0, 230, 230),
    "grey": (170, 170, 170),
    "orange": (255, 165, 0),
    "light-blue": (120, 170, 255),
}


def _us_frames(rng, H: int, W: int, F: int, top: int) -> tuple[np.ndarray, list[str], dict]:
    """Sector / convex / linear B-mode with speckle; returns (F,H,W,3) float 0..255."""
    geom = _pick(rng, ["sector", "convex", "linear"])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ax, ay = W * rng.uniform(0.45, 0.55), top + 4
    depth = (H - ay) * rng.uniform(0.85, 0.95)
    if geom == "linear":
        half = W * rng.uniform(0.22, 0.32)
        m = (np.abs(xx - ax) < half) & (yy > ay) & (yy < ay + depth)
        r = yy - ay
    else:
        apex_y = ay - (0 if geom == "sector" else depth * 0.35)
        r = np.sqrt((xx - ax) ** 2 + (yy - apex_y) ** 2)
        th = np.arctan2(xx - ax, yy - apex_y)
        half = np.deg2rad(rng.uniform(30, 40))
        r0 = ay - apex_y
        m = (np.abs(th) < half) & (r > r0) & (r < r0 + depth)
        r = r - r0
    m = m.astype(np.float32)
    lh, lw = H // 3, W // 3
    echo = 0.55 + 0.25 * _fbm(rng, lh, lw, 18, 3)
    for _ in range(int(rng.integers(0, 3))):  # cysts / vessels
        _ell(
            echo,
            (rng.uniform(0.3, 0.7) * lw, rng.uniform(0.3, 0.8) * lh),
            (rng.uniform(4, 20), rng.uniform(4, 14)),
            rng.uniform(0, 180),
            0.05,
        )
    for _ in range(int(rng.integers(1, 4))):  # fascia lines
        y = rng.uniform(0.15, 0.5) * lh
        cv2.line(echo, (0, int(y)), (lw, int(y + rng.uniform(-10, 10))), 1.2, 1)
    echo = _up(cv2.GaussianBlur(echo, (0, 0), 1.0), H, W)
    atten = np.exp(-r / (depth * rng.uniform(0.9, 1.6)))
    tint = np.array(_pick(rng, [(1, 1, 1), (1, 1, 1), (1, 1, 1), (1.0, 0.93, 0.8), (0.85, 0.92, 1.0)]), np.float32)
    frames = np.zeros((F, H, W, 3), np.float32)
    sp0 = None
    for f in range(F):
        n1 = rng.standard_normal((H // 2, W // 2)).astype(np.float32)
        n2 = rng.standard_normal((H // 2, W // 2)).astype(np.float32)
        sp = np.sqrt(n1**2 + n2**2)
        sp = cv2.GaussianBlur(sp, (0, 0), sigmaX=1.3, sigmaY=0.6)
        sp = _up(sp, H, W)
        if sp0 is not None:
            sp = 0.6 * np.roll(sp0, int(rng.integers(-2, 3)), axis=0) + 0.4 * sp
        sp0 = sp
        v = np.clip(echo * sp * (0.6 + 0.6 * atten) * 150, 0, 255) * m
        frames[f] = v[..., None] * tint[None, None, :]
    negs = [f"us-{geom}"]
    info = {"apex": (ax, ay), "depth": depth, "mask": m, "geom": geom, "half": half}
    return frames, negs, info


def _us_overlays(cv_: Canvas, rng, info, text: bool) -> list[str]:
    """Depth scale, grey bar, TGC curve, focus marker, Doppler box, cine bar."""
    F, H, W = cv_.F, cv_.H, cv_.W
    negs = []
    ax, ay = info["apex"]
    depth = info["depth"]
    cm = int(rng.integers(8, 20))
    xs = int(min(W - 40, ax + W * 0.36))
    dot = np.zeros((H, W), np.float32)
    nums = []
    for i in range(cm + 1):
        y = int(ay + depth * i / cm)
        if y >= H - 2:
            break
        cv2.line(dot, (xs, y), (xs + (8 if i % 5 == 0 else 4), y), 1.0, 1)
        if i % int(rng.choice([1, 2, 5])) == 0 and i:
            nums.append((xs + 12, y - 6, str(i)))
    cv_.paint(dot, 0, 0, (200, 200, 200))
    negs.append("depth-ticks")
    gb = np.linspace(1, 0, 128, dtype=np.float32)[:, None].repeat(10, 1)
    gx, gy = (int(W * 0.03), int(H * 0.3)) if rng.random() < 0.5 else (W - 20, int(H * 0.2))
    if gy + 128 < H:
        for f in range(F):
            cv_.img[f, gy : gy + 128, gx : gx + 10] = (gb * 255)[..., None]
        negs.append("grey-bar")
    tgc = np.zeros((H, W), np.float32)
    pts = np.array([[W - 60 + int(10 * np.sin(i / 3)), int(ay + i * depth / 12)] for i in range(13)], np.int32)
    cv2.polylines(tgc, [pts], False, 1.0, 1)
    cv_.paint(tgc, 0, 0, (180, 180, 120))
    negs.append("tgc-curve")
    tri = np.array(
        [[xs - 14, int(ay + depth * 0.4)], [xs - 6, int(ay + depth * 0.4) - 5], [xs - 6, int(ay + depth * 0.4) + 5]],
        np.int32,
    )
    t = np.zeros((H, W), np.float32)
    cv2.fillPoly(t, [tri], 1.0)
    cv_.paint(t, 0, 0, (255, 255, 0))
    if rng.random() < 0.4:  # colour Doppler box with flow blobs
        bx0, by0 = int(ax - W * 0.1), int(ay + depth * 0.25)
        bx1, by1 = int(ax + W * 0.1), int(ay + depth * 0.55)
        box = np.zeros((H, W), np.float32)
        cv2.rectangle(box, (bx0, by0), (bx1, by1), 1.0, 1)
        cv_.paint(box, 0, 0, (200, 200, 200))
        for _ in range(3):
            blob = np.zeros((H, W), np.float32)
            _ell(
                blob,
                (rng.uniform(bx0, bx1), rng.uniform(by0, by1)),
                (rng.uniform(5, 18), rng.uniform(3, 8)),
                rng.uniform(0, 180),
                1.0,
            )
            blob = cv2.GaussianBlur(blob, (0, 0), 2)
            cv_.paint(blob, 0, 0, _pick(rng, [(220, 30, 30), (30, 60, 230), (255, 200, 0)]))
        negs.append("doppler-box")
    if F > 1:  # cine bar
        bar = np.zeros((H, W), np.float32)
        cv2.rectangle(bar, (int(W * 0.2), H - 14), (int(W * 0.8), H - 8), 1.0, 1)
        cv_.paint(bar, 0, 0, (150, 150, 150))
        for f in range(F):
            x = int(W * 0.2 + (W * 0.6) * f / max(1, F - 1))
            cv_.img[f, H - 13 : H - 8, max(0, x - 2) : x + 2] = 255
        negs.append("cine-bar")
    if text:
        for x, y, s in nums:
            st = Style(renderer="cv2", font="hershey-plain", size=11, ink=(200, 200, 200), aa=True)
            alpha, _, r_, f_ = render(s, st)
            if cv_.free((x, y, x + alpha.shape[1], y + alpha.shape[0]), pad=1):
                cv_.put(O(s), alpha, x, y, st, r_, f_)
    return negs


def _color_style(rng, size, cn=False, on_grey=False) -> Style:
    latin, cjk = fonts()
    if cn and cjk:
        renderer, font = "pil", _pick(rng, sorted(cjk))
    elif rng.random() < 0.4:
        renderer, font = "cv2", _pick(rng, PRINT_HERSHEY)
    else:
        renderer, font = "pil", _pick(rng, sorted(latin)) if latin else "hershey-simplex"
    cname = _pick(rng, list(US_COLORS))
    st = Style(
        renderer=renderer,
        font=font,
        size=int(size),
        ink=US_COLORS[cname],
        aa=bool(rng.random() < 0.8),
        tags=f"color-{cname}",
    )
    if rng.random() < 0.15:
        st.shadow, st.shadow_ink = 1, (0, 0, 0)
    return st


def _equal_lum_pair(rng) -> tuple[tuple, tuple, str]:
    """Text colour and band colour of (nearly) equal luminance."""
    kind = _pick(rng, ["red-on-grey", "blue-on-darkgrey", "green-on-grey", "yellow-on-lightgrey", "cyan-on-grey"])
    if kind == "red-on-grey":
        g = int(rng.integers(100, 140))
        x = max(0, int(round((g - 0.299 * 255) / 0.701)))
        return (255, x, x), (g, g, g), kind
    if kind == "blue-on-darkgrey":
        txt = (int(rng.integers(20, 60)), int(rng.integers(40, 80)), 255)
        lum = 0.299 * txt[0] + 0.587 * txt[1] + 0.114 * txt[2]
        return txt, (int(lum),) * 3, kind
    if kind == "green-on-grey":
        txt = (0, 200, 0)
        return txt, (int(0.587 * 200),) * 3, kind
    if kind == "yellow-on-lightgrey":
        return (255, 255, 0), (226, 226, 226), kind
    return (0, 200, 200), (int(0.587 * 200 + 0.114 * 200),) * 3, kind


def _us(rng, p: Person, kind: str) -> Built:
    cn = kind == "cn-us"
    H, W = _pick(rng, [(480, 640), (600, 800), (768, 1024), (720, 960), (576, 720), (1080, 1440)])
    F = int(rng.integers(10, 31)) if kind == "us-cine" else 1
    top = int(H * rng.uniform(0.07, 0.12))
    frames, negs, info = _us_frames(rng, H, W, F, top)
    cv_ = Canvas(frames, 0, 255)
    # header banner
    band = _pick(rng, [(0, 0, 0), (0, 0, 0), (28, 28, 28), (40, 44, 52)])
    cv_.fill((0, 0, W, top), band)
    size = float(np.clip(H * rng.uniform(0.022, 0.04), 10, 30))
    st = _color_style(rng, size, cn)
    if cn:
        ist = st.with_(size=int(size * rng.uniform(1.2, 1.7)))
        cv_.block([[V(p.cn_inst, "institution")]], ist, "tc", rng, margin=(0, 2))
        lines = identity_lines(rng, p, ["name", "sex", "age", "id", "study-date"], 0.95, True, pack=5)
        cv_.block(lines, st.recolor(_pick(rng, ["white", "yellow", "green"])), ("xy", 8, top + 4), rng, value_gap=0.3)
    else:
        cv_.block([[V(p.institution, "institution")]], st, "tl", rng, margin=(6, 3))
        cv_.block(
            identity_lines(rng, p, ["name", "id"], label_p=0.5, pack=2),
            st.recolor("white"),
            ("xy", W * rng.uniform(0.3, 0.4), 3),
            rng,
        )
        dstyle = _pick(rng, DATE_STYLES)
        cv_.block(
            [[V(fmt_date(p.study, dstyle), "study-date"), O(f"{p.time[:2]}:{p.time[2:4]}:{p.time[4:]}")]],
            st,
            "tr",
            rng,
            margin=(6, 3),
        )
        if rng.random() < 0.6:
            cv_.block(
                identity_lines(
                    rng, p, _pick(rng, [["birth-date", "sex"], ["age", "sex"], ["accession"]]), label_p=0.9, pack=2
                ),
                st,
                ("xy", 8, top + 4),
                rng,
            )
    # technique text on the right
    tech = [
        [O(_pick(rng, ["C5-1", "L12-5", "C1-6", "9L", "S5-1", "C5-2", "L15-7io", "4C-RS"]))],
        [O(f"MI {rng.uniform(0.2, 1.6):.1f}")],
        [O(f"TIs {rng.uniform(0.1, 1.2):.1f}")],
        [O(f"Gn {int(rng.integers(30, 80))}")],
        [O(f"FR {int(rng.integers(12, 60))}Hz")],
        [O(f"D {rng.uniform(3, 20):.1f}cm")],
        [O(_pick(rng, ["Abd", "Thy", "OB", "Vasc", "Card", "Breast"]))],
    ]
    cv_.block(
        tech[: int(rng.integers(3, 8))],
        _color_style(rng, size * 0.85).with_(ink=(200, 200, 200)),
        ("xy", W - size * 6.5, top + 8),
        rng,
    )
    if rng.random() < 0.5:  # body marker / annotation text the sonographer typed
        cv_.block(
            [[O(_pick(rng, ["RT KIDNEY", "LT LOBE", "GB", "LIVER", "SAG", "TRV", "CBD", "右肾", "肝"]))]],
            _color_style(rng, size).recolor("yellow"),
            ("xy", W * rng.uniform(0.1, 0.2), H * rng.uniform(0.7, 0.85)),
            rng,
        )
    if F > 1:
        t0 = rng.uniform(0, 30)
        for f in range(F):
            s = f"{t0 + f / 25:05.2f}s"
            tst = Style(renderer="cv2", font="hershey-simplex", size=int(size * 0.8), ink=(200, 200, 200))
            alpha, _, r_, f_ = render(s, tst)
            x, y = int(W * 0.82), H - alpha.shape[0] - 18
            cv_.put(O(s), alpha, x, y, tst, r_, f_, frames=(f,))
        cv_.rects.append((int(W * 0.82), H - 60, W, H))
    negs += _us_overlays(cv_, rng, info, text=True)
    header = {
        "Manufacturer": _pick(
            rng, ["GE Healthcare", "Philips", "SIEMENS", "Mindray", "SonoSite", "Esaote", "SAMSUNG MEDISON"]
        ),
        "ManufacturerModelName": _pick(rng, ["LOGIQ E9", "EPIQ 7G", "ACUSON S2000", "DC-70", "M-Turbo", "MyLab"]),
    }
    if rng.random() < 0.5:
        header["_us_region"] = (int(info["apex"][0] - W * 0.4), top + 2, int(info["apex"][0] + W * 0.4), H - 20)
    return Built(
        cv_,
        "US",
        SOP["US-MF" if F > 1 else "US"],
        "RGB",
        8,
        8,
        header=header,
        negs=negs,
        lossy_ok=True,
        notes=[f"frames={F}"],
    )


def _sc(rng, p: Person) -> Built:
    H, W = _pick(rng, [(768, 1024), (1024, 1280), (1080, 1920), (900, 1440)])
    sub = _pick(rng, ["viewer", "viewer", "viewer", "form"])
    if sub == "form":
        img = np.full((1, H, W, 3), rng.uniform(235, 252), np.float32)
        img[..., 2] -= rng.uniform(0, 12)
        cv_ = Canvas(img, 0, 255)
        lines_img = np.zeros((H, W), np.float32)
        for i in range(int(rng.integers(6, 14))):
            y = int(H * (0.15 + i * 0.055))
            cv2.line(lines_img, (int(W * 0.06), y), (int(W * 0.94), y), 1.0, 1)
        cv2.rectangle(lines_img, (int(W * 0.05), int(H * 0.05)), (int(W * 0.95), int(H * 0.95)), 1.0, 2)
        cv_.paint(lines_img, 0, 0, (90, 90, 90))
        logo = np.zeros((H, W), np.float32)
        _disk(logo, (W * 0.9, H * 0.1), H * 0.035, 1.0)
        cv_.paint(logo, 0, 0, (30, 80, 160))
        st = Style(
            renderer="pil",
            font=_pick(rng, sorted(fonts()[0])),
            size=int(H * rng.uniform(0.018, 0.028)),
            ink=_pick(rng, [(20, 20, 20), (20, 30, 120), (60, 60, 60)]),
            aa=True,
        )
        cv_.block(
            [[V(p.institution, "institution")], [O("Radiology Requisition")]],
            st.with_(size=int(st.size * 1.4)),
            ("xy", W * 0.07, H * 0.06),
            rng,
        )
        lines = identity_lines(rng, p, ["name", "id", "birth-date", "sex", "study-date", "accession"], 1.0, pack=1)
        cv_.block(lines, st, ("xy", W * 0.08, H * 0.2), rng, line_gap=1.2, value_gap=float(rng.choice([0.4, 2.5, 6])))
        if rng.random() < 0.5:  # a signature in "handwriting"
            hst = Style(
                renderer="cv2",
                font=_pick(rng, ["hershey-script-simplex", "hershey-script-complex"]),
                size=int(st.size * 1.5),
                ink=(20, 30, 120),
                tags="handwriting",
            )
            cv_.block([[V(p.shown.replace("^", " ").title(), "name")]], hst, ("xy", W * 0.55, H * 0.8), rng)
        return Built(
            cv_,
            "OT",
            SOP["SC"],
            "RGB",
            8,
            8,
            negs=["form-lines", "logo"],
            lossy_ok=True,
            header={"ConversionType": "DF"},
            notes=["form"],
        )
    bg = rng.uniform(10, 30)
    img = np.full((1, H, W, 3), bg, np.float32)
    cv_ = Canvas(img, 0, 255)
    tb = int(H * rng.uniform(0.05, 0.08))
    # an embedded grayscale image in the viewport
    vx0, vy0, vx1, vy1 = int(W * 0.08), tb + int(H * 0.03), int(W * 0.92), int(H * 0.92)
    vh, vw = vy1 - vy0, vx1 - vx0
    if rng.random() < 0.5:
        hu = _ct_hu(rng, 512)
        wc, ww = 40, 400
        g8 = np.clip((hu - (wc - ww / 2)) / ww, 0, 1)
    else:
        g8, _ = _chest(rng, 512, 420)
    s = min(vh / g8.shape[0], vw / g8.shape[1])
    g8 = cv2.resize(g8.astype(np.float32), (int(g8.shape[1] * s), int(g8.shape[0] * s)))
    ox, oy = vx0 + (vw - g8.shape[1]) // 2, vy0 + (vh - g8.shape[0]) // 2
    cv_.img[0, oy : oy + g8.shape[0], ox : ox + g8.shape[1]] = (g8 * 255)[..., None]
    # toolbar with icons and a patient banner of equal-luminance colour
    txt, bandc, pair = _equal_lum_pair(rng)
    cv_.fill((0, 0, W, tb), bandc)
    icons = np.zeros((H, W), np.float32)
    for i in range(int(rng.integers(6, 14))):
        x = int(W * 0.55 + i * tb * 1.1)
        if x + tb > W:
            break
        shape = i % 4
        if shape == 0:
            cv2.rectangle(icons, (x + 4, 6), (x + tb - 6, tb - 6), 1.0, 2)
        elif shape == 1:
            cv2.circle(icons, (x + tb // 2, tb // 2), tb // 3, 1.0, 2)
        elif shape == 2:
            cv2.arrowedLine(icons, (x + 4, tb - 6), (x + tb - 6, 6), 1.0, 2)
        else:
            cv2.line(icons, (x + 4, tb // 2), (x + tb - 6, tb // 2), 1.0, 2)
            cv2.line(icons, (x + tb // 2, 4), (x + tb // 2, tb - 4), 1.0, 2)
    cv_.paint(icons, 0, 0, (230, 230, 230))
    bst = _color_style(rng, tb * rng.uniform(0.45, 0.6)).with_(ink=txt, tags=pair, shadow=0)
    cv_.block(
        identity_lines(rng, p, ["name", "id", "birth-date"], label_p=0.6, pack=3),
        bst,
        ("xy", 8, max(2, tb * 0.15)),
        rng,
        shrink=2,
    )
    # coloured corner overlays in the viewport
    size = float(rng.uniform(12, 22))
    ost = _color_style(rng, size)
    cv_.block(
        identity_lines(rng, p, ["name", "id", "age", "sex"], label_p=0.5, pack=int(rng.choice([1, 2]))),
        ost,
        ("xy", vx0 + 6, vy0 + 6),
        rng,
    )
    cv_.block(
        identity_lines(rng, p, ["institution", "study-date", "accession"], label_p=0.5),
        ost.recolor(_pick(rng, list(US_COLORS))),
        ("xy", vx1 - size * 16, vy0 + 6),
        rng,
    )
    cv_.block(
        [
            [O(f"WW {int(rng.integers(300, 2000))} WL {int(rng.integers(-600, 400))}")],
            [O(f"Zoom {rng.uniform(0.5, 3):.2f}")],
        ],
        ost,
        ("xy", vx0 + 6, vy1 - size * 4),
        rng,
    )
    # status bar: blue-ish text on dark grey
    sb = int(H * 0.04)
    cv_.fill((0, H - sb, W, H), (55, 55, 60))
    sst = _color_style(rng, sb * 0.55).with_(ink=(60, 70, 235), tags="blue-on-darkgrey")
    cv_.block(
        [[V(p.institution, "institution"), L("Acc:"), V(p.accession, "accession")]],
        sst,
        ("xy", 8, H - sb + 2),
        rng,
        shrink=2,
    )
    return Built(
        cv_,
        "OT",
        SOP["SC"],
        "RGB",
        8,
        8,
        negs=["toolbar-icons", "viewport-edge", pair],
        lossy_ok=True,
        header={"ConversionType": "WSD"},
        notes=["viewer", pair],
    )


def _shift(plan, dx: int, dy: int):
    rect, placed, rows = plan
    return (
        (rect[0] + dx, rect[1] + dy, rect[2] + dx, rect[3] + dy),
        [(seg, a, x + dx, y + dy, r, f) for seg, a, x, y, r, f in placed],
        rows,
    )


def _film(rng, p: Person) -> Built:
    H, W = _pick(rng, [(2500, 2048), (2000, 1660), (2392, 2048)])
    b, body = _chest(rng, H, W) if rng.random() < 0.7 else _extremity(rng, H, W)
    negs = [neg_film_border(b, rng)]
    negs += _some_negs(b, rng, (1, 3))
    bits = 12
    g = Gray(bits)
    # the flash-card patch: a light rectangle near a corner with typed text (part of the film)
    ph = int(H * rng.uniform(0.08, 0.11))
    corner = _pick(rng, ["tl", "tr", "bl", "br"])
    cv_ = Canvas(g.stored(b)[None], 0, g.maxv)
    size = ph / rng.uniform(7.0, 8.5)
    font = _pick(rng, [k for k in fonts()[0] if "mono" in k] or ["hershey-plain"])
    skew = float(rng.uniform(-2.5, 2.5))
    st = Style(
        renderer="pil",
        font=font,
        size=int(size),
        ink=g.ink(rng.uniform(0.05, 0.2)),
        blur=0.8,
        rot=skew,
        tags="film-label",
    )
    lines = identity_lines(
        rng, p, ["institution", "name", "id", "birth-date", "study-date"], label_p=0.4, pack=int(rng.choice([1, 2]))
    )
    for k in range(len(lines), 0, -1):  # the typed card: the patch is as big as its text
        plan = cv_._plan(lines[:k], st, ("xy", 0, 0), rng, None, 0.05, None)
        bw, bh = plan[0][2] - plan[0][0], plan[0][3] - plan[0][1]
        dx = int(W * 0.04 + size * 0.6) if corner[1] == "l" else int(W - W * 0.04 - size * 0.6 - bw)
        dy = int(H * 0.04 + size * 0.5) if corner[0] == "t" else int(H - H * 0.04 - size * 0.5 - bh)
        plan = _shift(plan, dx, dy)
        x0, y0, x1, y1 = plan[0]
        patch = (x0 - int(size * 0.6), y0 - int(size * 0.5), x1 + int(size * 0.6), y1 + int(size * 0.5))
        if patch[0] > 2 and patch[1] > 2 and patch[2] < W - 2 and patch[3] < H - 2:
            cv_.fill(patch, g.ink(rng.uniform(0.82, 0.92)))
            cv_.rects.append(patch)
            cv_._draw_plan(plan, st, None)
            break
    if rng.random() < 0.5:
        hst = Style(
            renderer="cv2",
            font=_pick(rng, ["hershey-script-simplex", "hershey-script-complex"]),
            size=int(size * 2),
            ink=g.ink(0.92),
            thickness=2,
            tags="handwriting",
        )
        cv_.block(
            [[V(fmt_date(p.study, _pick(rng, ["dmy/", "mdy/", "mdyy"])), "study-date")]],
            hst,
            _pick(rng, ["tl", "tr", "bl", "br"]),
            rng,
        )
    img = cv_.img[0]
    b2 = img / g.maxv
    negs.append(noise(b2, rng, 0.012))
    cv_.img[0] = b2 * g.maxv
    return Built(
        cv_,
        "OT",
        SOP["SC"],
        "MONOCHROME2",
        bits,
        16,
        header={"ConversionType": "DF"},
        negs=negs,
        window=(g.maxv / 2, g.maxv),
        notes=["film-digitiser"],
    )


def _negative(rng, p: Person) -> Built:
    base = _pick(rng, ["chest", "extremity", "abdomen", "mg", "ct", "mr", "us"])
    if base in ("chest", "extremity", "abdomen"):
        H, W = _pick(rng, [(2048, 2048), (2500, 2048), (3000, 2500)])
        b, _ = {"chest": _chest, "extremity": _extremity, "abdomen": _abdomen}[base](rng, H, W)
        negs = [neg_collimator(b, rng)] if rng.random() < 0.6 else []
        negs += _some_negs(b, rng, (3, 6))
        negs.append(neg_ruler(b, rng)[0])
        if rng.random() < 0.3:
            negs.append(neg_film_border(b, rng))
        negs.append(noise(b, rng, 0.012))
        g = Gray(12, rng.random() < 0.3)
        return Built(
            Canvas(g.stored(b)[None], 0, g.maxv),
            "DX",
            SOP["DX"],
            "MONOCHROME1" if g.mono1 else "MONOCHROME2",
            12,
            16,
            negs=negs,
            window=(2048, 4095),
            notes=[f"negative-{base}"],
        )
    if base == "mg":
        b, m = _breast(rng, 2294, 1914, _pick(rng, ["l", "r"]), True)
        negs = [neg_clips(b, rng), noise(b, rng, 0.006)]
        g = Gray(12)
        return Built(
            Canvas(g.stored(b)[None], 0, g.maxv),
            "MG",
            SOP["MG"],
            "MONOCHROME2",
            12,
            16,
            negs=negs,
            window=(2200, 2400),
            notes=["negative-mg"],
        )
    if base == "ct":
        hu = _ct_hu(rng)
        return Built(
            Canvas((hu + 1024)[None], -32768, 32767),
            "CT",
            SOP["CT"],
            "MONOCHROME2",
            16,
            16,
            signed=True,
            negs=["ct-table", "fov-circle"],
            window=(40, 400),
            rescale=(-1024.0, 1.0),
            notes=["negative-ct"],
        )
    if base == "mr":
        return Built(
            Canvas(_mr_img(rng, 256)[None], 0, 4095),
            "MR",
            SOP["MR"],
            "MONOCHROME2",
            12,
            16,
            negs=["rician-noise"],
            window=(500, 1000),
            notes=["negative-mr"],
        )
    H, W = 600, 800
    frames, negs, info = _us_frames(rng, H, W, 1, 50)
    cv_ = Canvas(frames, 0, 255)
    negs += _us_overlays(cv_, rng, info, text=False)
    return Built(cv_, "US", SOP["US"], "RGB", 8, 8, negs=negs, notes=["negative-us"])


# ----------------------------------------------------------------------------------- dataset


def _uid(seed: int, kind: str, what: str) -> str:
    return generate_uid(prefix=UID_ROOT, entropy_srcs=[str(seed), kind, what])


def _display(arr: np.ndarray, bt: Built, window=True) -> np.ndarray:
    """0..1 display brightness of one frame (grayscale) or luminance (colour)."""
    if arr.ndim == 3:
        return (0.299 * arr[..., 0] + 0.587 * arr[..., 1] + 0.114 * arr[..., 2]) / 255.0
    a = arr.astype(np.float32) * bt.rescale[1] + bt.rescale[0]
    if window and bt.window:
        c, w = bt.window
        d = np.clip((a - (c - 0.5)) / max(1.0, w - 1) + 0.5, 0, 1)
    else:
        lo, hi = float(a.min()), float(a.max())
        d = (a - lo) / max(1e-6, hi - lo)
    return 1 - d if bt.photometric == "MONOCHROME1" else d


def _contrast(disp: np.ndarray, tok: Token) -> float:
    x0, y0, x1, y1 = tok.bbox
    p = 3
    X0, Y0, X1, Y1 = max(0, x0 - p), max(0, y0 - p), min(disp.shape[1], x1 + p), min(disp.shape[0], y1 + p)
    sub = disp[Y0:Y1, X0:X1]
    stroke = np.zeros(sub.shape, bool)
    stroke[y0 - Y0 : y0 - Y0 + tok.mask.shape[0], x0 - X0 : x0 - X0 + tok.mask.shape[1]] = tok.mask
    ring = cv2.dilate(stroke.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~cv2.dilate(
        stroke.astype(np.uint8), np.ones((3, 3), np.uint8)
    ).astype(bool)
    if not stroke.any() or not ring.any():
        return 0.0
    ring_med = float(np.median(sub[ring]))
    return float(np.percentile(np.abs(sub[stroke] - ring_med), 75))


def _contrast_color(rgb: np.ndarray, tok: Token) -> float:
    x0, y0, x1, y1 = tok.bbox
    p = 3
    X0, Y0, X1, Y1 = max(0, x0 - p), max(0, y0 - p), min(rgb.shape[1], x1 + p), min(rgb.shape[0], y1 + p)
    sub = rgb[Y0:Y1, X0:X1]
    stroke = np.zeros(sub.shape[:2], bool)
    stroke[y0 - Y0 : y0 - Y0 + tok.mask.shape[0], x0 - X0 : x0 - X0 + tok.mask.shape[1]] = tok.mask
    ring = cv2.dilate(stroke.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~cv2.dilate(
        stroke.astype(np.uint8), np.ones((3, 3), np.uint8)
    ).astype(bool)
    if not stroke.any() or not ring.any():
        return 0.0
    med = np.median(sub[ring], axis=0)
    return float(np.percentile(np.linalg.norm(sub[stroke] - med, axis=1), 75) / (255 * math.sqrt(3)))


def _choose_ts(rng, bt: Built) -> str:
    opts = [(ExplicitVRLittleEndian, 0.38), (RLELossless, 0.18), (JPEG2000Lossless, 0.14), (JPEGLSLossless, 0.14)]
    if bt.bits_alloc == 8 and bt.lossy_ok:
        opts.append((JPEGBaseline8Bit, 0.16))
    uids, w = zip(*opts)
    w = np.asarray(w) / sum(w)
    return uids[int(rng.choice(len(uids), p=w))]


def _jpeg_encode(arr: np.ndarray, rgb: bool) -> list[bytes]:
    out = []
    for fr in arr:
        buf = io.BytesIO()
        im = Image.fromarray(fr, "RGB" if rgb else "L")
        kw = {"quality": 92, "subsampling": 1} if rgb else {"quality": 92}
        im.save(buf, format="JPEG", **kw)
        out.append(buf.getvalue())
    return out


def _build_dataset(seed: int, kind: str, bt: Built, p: Person, arr: np.ndarray, rng) -> tuple[Dataset, str, str]:
    F = arr.shape[0]
    rgb = arr.ndim == 4
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.ImplementationClassUID = UID_ROOT + "1"
    ds.file_meta.ImplementationVersionName = "REALISTIC_1"
    cn = p.cn
    if cn or not p.pn.isascii():
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = bt.sop
    ds.SOPInstanceUID = _uid(seed, kind, "sop")
    ds.StudyInstanceUID = _uid(seed, kind, "study")
    ds.SeriesInstanceUID = _uid(seed, kind, "series")
    if bt.modality in ("CT", "MR"):
        ds.FrameOfReferenceUID = _uid(seed, kind, "for")
    ds.PatientName = p.pn
    ds.PatientID = p.pid
    ds.PatientBirthDate = p.birth.strftime("%Y%m%d")
    ds.PatientSex = p.sex
    ds.PatientAge = p.age_str()
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = p.study.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = p.time
    ds.AccessionNumber = p.accession
    ds.InstitutionName = p.institution
    ds.ReferringPhysicianName = ""
    ds.StudyID = str(int(rng.integers(1, 99999)))
    ds.SeriesNumber = int(rng.integers(1, 20))
    ds.InstanceNumber = int(rng.integers(1, 200))
    ds.Modality = bt.modality
    ds.ImageType = ["DERIVED", "SECONDARY"] if bt.sop == SOP["SC"] else ["ORIGINAL", "PRIMARY"]
    if bt.sop == SOP["SC"]:
        ds.ConversionType = bt.header.get("ConversionType", "WSD")
    bia = rng.choice(["YES", "NO", None], p=[0.5, 0.25, 0.25])  # real files often say NO or nothing
    if bia:
        ds.BurnedInAnnotation = str(bia)
    for k, v in bt.header.items():
        if k.startswith("_") or v in (None, "") or k == "ConversionType":
            continue
        setattr(ds, k, v)
    if bt.modality == "CT":
        ds.PixelPaddingValue = int(arr.min()) if arr.min() < 0 else 0
        ds.ImagePositionPatient = [-250.0, -250.0, float(rng.uniform(-300, 0))]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.9766, 0.9766]
    if bt.modality == "MR":
        ds.PixelSpacing = [0.9375, 0.9375]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-120.0, -120.0, 0.0]
    if "_us_region" in bt.header:
        x0, y0, x1, y1 = bt.header["_us_region"]
        r = Dataset()
        r.RegionSpatialFormat, r.RegionDataType, r.RegionFlags = 1, 1, 0
        r.RegionLocationMinX0, r.RegionLocationMinY0 = max(0, x0), max(0, y0)
        r.RegionLocationMaxX1, r.RegionLocationMaxY1 = min(arr.shape[2] - 1, x1), min(arr.shape[1] - 1, y1)
        r.PhysicalUnitsXDirection = r.PhysicalUnitsYDirection = 3
        r.PhysicalDeltaX = r.PhysicalDeltaY = 0.02
        ds.SequenceOfUltrasoundRegions = [r]
    ds.Rows, ds.Columns = int(arr.shape[1]), int(arr.shape[2])
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bt.bits_alloc, bt.bits_stored, bt.bits_stored - 1
    ds.PixelRepresentation = 1 if bt.signed else 0
    if F > 1:
        ds.NumberOfFrames = F
        ds.FrameTime = 40.0
        ds.CineRate = 25
        ds.FrameIncrementPointer = pydicom.tag.Tag("FrameTime")
    if bt.window and not rgb:
        ds.WindowCenter = f"{bt.window[0]:.1f}"
        ds.WindowWidth = f"{bt.window[1]:.1f}"
    if bt.rescale != (0.0, 1.0) or bt.modality == "CT":
        ds.RescaleIntercept = f"{bt.rescale[0]:.0f}"
        ds.RescaleSlope = f"{bt.rescale[1]:.0f}"
        ds.RescaleType = "HU"
    ts = _choose_ts(rng, bt)
    photometric = bt.photometric
    if rgb:
        ds.PlanarConfiguration = 0
    if ts == JPEGBaseline8Bit:
        frames = _jpeg_encode(arr, rgb)
        photometric = "YBR_FULL_422" if rgb else "MONOCHROME2"
        ds.PhotometricInterpretation = photometric
        ds.PixelData = encapsulate(frames)
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.LossyImageCompressionRatio = f"{arr.nbytes / sum(len(f) for f in frames):.2f}"
        ds.file_meta.TransferSyntaxUID = ts
    else:
        data = arr
        if rgb and ts == ExplicitVRLittleEndian and rng.random() < 0.35:
            from pydicom.pixels import convert_color_space

            data = convert_color_space(arr, "RGB", "YBR_FULL")
            photometric = "YBR_FULL"
        ds.PhotometricInterpretation = photometric
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.PixelData = np.ascontiguousarray(data if F > 1 else data[0]).tobytes()
        ds["PixelData"].VR = "OW" if bt.bits_alloc == 16 else "OB"
        if ts != ExplicitVRLittleEndian:
            ds.compress(ts, np.ascontiguousarray(data if F > 1 else data[0]), generate_instance_uid=False)
            photometric = ds.PhotometricInterpretation
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds, str(ds.file_meta.TransferSyntaxUID), photometric


_BUILDERS = {
    "cr-chest": _radiograph,
    "dx-mono1": _radiograph,
    "dx-extremity": _radiograph,
    "cn-dx": _radiograph,
    "cr-hidden": lambda rng, p, k: _hidden(rng, p),
    "mg": lambda rng, p, k: _mg(rng, p),
    "ct": lambda rng, p, k: _ct(rng, p),
    "mr": lambda rng, p, k: _mr(rng, p),
    "us": _us,
    "us-cine": _us,
    "cn-us": _us,
    "sc-rgb": lambda rng, p, k: _sc(rng, p),
    "film": lambda rng, p, k: _film(rng, p),
    "negative": lambda rng, p, k: _negative(rng, p),
}


def case(seed: int, kind: str | None = None) -> Case:
    """One synthetic image with burned-in text and its ground truth; deterministic in (seed, kind)."""
    if kind is None:
        kind = KINDS[int(np.random.default_rng(seed).integers(len(KINDS)))]
    if kind not in _BUILDERS:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    cn = kind.startswith("cn-")
    if cn and not fonts()[1]:
        cn = False  # no CJK font installed: draw the Latin variant instead
    p = person(rng, cn=cn)
    bt = _BUILDERS[kind](rng, p, kind)
    cv_ = bt.canvas
    dtype = np.uint8 if bt.bits_alloc == 8 else (np.int16 if bt.signed else np.uint16)
    hi = 2**bt.bits_stored - 1 if not bt.signed else 2 ** (bt.bits_stored - 1) - 1
    lo = 0 if not bt.signed else -(2 ** (bt.bits_stored - 1))
    arr = np.clip(np.rint(cv_.img), lo, hi).astype(dtype)
    views: dict = {}
    for t in cv_.tokens:
        f = t.frames[0] if t.frames else 0
        if f not in views:
            views[f] = (_display(arr[f], bt, True), _display(arr[f], bt, False))
        t.contrast = _contrast(views[f][0], t)
        if arr.ndim == 4:
            t.contrast_color = _contrast_color(arr[f].astype(np.float32), t)
        else:
            t.contrast_minmax = _contrast(views[f][1], t)
    ds, ts, photometric = _build_dataset(seed, kind, bt, p, arr, rng)
    header = {
        "PatientName": str(ds.PatientName),
        "PatientID": p.pid,
        "PatientBirthDate": ds.PatientBirthDate,
        "PatientSex": p.sex,
        "StudyDate": ds.StudyDate,
        "AccessionNumber": p.accession,
        "InstitutionName": p.institution,
    }
    notes = list(bt.notes)
    if kind.startswith("cn-") and not cn:
        notes.append("no-cjk-font")
    return Case(
        seed,
        kind,
        ds,
        cv_.tokens,
        bt.modality,
        arr.shape[1],
        arr.shape[2],
        arr.shape[0],
        photometric,
        ts,
        bt.negs,
        notes,
        header,
    )


def suite(n: int, seed0: int = 0) -> list[Case]:
    """n cases cycling through every kind (all kinds once n >= len(KINDS))."""
    return [case(seed0 + i, KINDS[i % len(KINDS)]) for i in range(n)]


def negatives(n: int, seed0: int = 0) -> list[Case]:
    """n images with hard negatives only (no text at all)."""
    return [case(seed0 + i, "negative") for i in range(n)]


def to_png(arr: np.ndarray, photometric: str, window=None, rescale=(0.0, 1.0), maxdim: int = 1024) -> np.ndarray:
    """An 8-bit RGB view of one frame of stored values (for looking at cases)."""
    if arr.ndim == 3 and arr.shape[-1] == 3:
        rgb = arr
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            rgb = convert_color_space(arr, "YBR_FULL", "RGB")
        out = rgb.astype(np.uint8)
    else:
        a = arr.astype(np.float32) * rescale[1] + rescale[0]
        if window:
            c, w = window
            d = np.clip((a - (c - 0.5)) / max(1.0, w - 1) + 0.5, 0, 1)
        else:
            d = (a - a.min()) / max(1e-6, float(a.max() - a.min()))
        if photometric == "MONOCHROME1":
            d = 1 - d
        out = np.repeat((d * 255).astype(np.uint8)[..., None], 3, axis=2)
    s = maxdim / max(out.shape[:2])
    if s < 1:
        out = cv2.resize(out, (int(out.shape[1] * s), int(out.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return out
