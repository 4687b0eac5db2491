"""Read the text in a box: PP-OCRv6 small CTC recognizer (English and Chinese).

Used only to decide whether a box may be *kept* (a safe word such as L, R, PA) or
whether it matches PHI; never to decide that a box is absent. Every box is returned
with its text and a confidence, however low.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .detect import Box

HEIGHT = 48
MAX_WIDTH = 1600
MIN_WIDTH = 96  # short crops are padded to this width (cost grows with width)


@dataclass(frozen=True)
class Reading:
    text: str
    score: float  # mean probability of the emitted characters; 0.0 for none


@lru_cache(maxsize=1)
def _charset() -> tuple[str, ...]:
    from .models import session

    chars = session("rec").get_modelmeta().custom_metadata_map["character"].splitlines()
    return tuple(["<blank>"] + chars + [" "])


class Recognizer:
    """Reads boxes; a crop it has read before (the same pixels in another view, probe or
    verify pass) is answered from memory. One per file, so memory stays small."""

    def __init__(self, remember: int = 4096):
        self._seen: dict[bytes, Reading] = {}
        self._remember = remember

    def read(self, view: np.ndarray, box: Box) -> Reading:
        """Read the box; a tall narrow box (a rotated stamp) is also read turned both ways."""
        return self.read_crop(view[box.y0 : box.y1, box.x0 : box.x1])

    def read_crop(self, crop: np.ndarray) -> Reading:
        """Read a box already cut out of its view."""
        if crop.size == 0:
            return Reading("", 0.0)
        key = hashlib.blake2b(crop.tobytes(), digest_size=16, person=bytes(str(crop.shape), "ascii")[:16]).digest()
        if key in self._seen:
            return self._seen[key]
        best = self._read_new(crop)
        if len(self._seen) < self._remember:
            self._seen[key] = best
        return best

    def _read_new(self, crop: np.ndarray) -> Reading:
        candidates = [crop]
        if crop.shape[0] > 2.5 * crop.shape[1]:  # a vertical line of characters, not one upright glyph
            candidates = [np.rot90(crop, 1), np.rot90(crop, -1), crop]
        best = Reading("", 0.0)
        for c in candidates:
            r = self._read(np.ascontiguousarray(c))
            if r.score > best.score:
                best = r
        return best

    def _read(self, crop: np.ndarray) -> Reading:
        from .models import session

        h, w = crop.shape[:2]
        width = int(min(MAX_WIDTH, max(HEIGHT, round(w * HEIGHT / max(1, h)))))
        img = cv2.resize(crop, (width, HEIGHT), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        x = (img * (2 / 255.0) - 1.0)[None, None]
        x = np.repeat(x, 3, axis=1)
        pad = max(MIN_WIDTH, width)
        if pad > width:
            x = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, pad - width)))
        sess = session("rec")
        probs = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        idx = probs.argmax(axis=1)
        best = probs.max(axis=1)
        chars, scores, prev = [], [], 0
        charset = _charset()
        for i, p in zip(idx, best):
            if i != prev and i != 0 and i < len(charset):
                chars.append(charset[i])
                scores.append(float(p))
            prev = i
        text = "".join(chars).strip()
        return Reading(text, float(np.mean(scores)) if scores else 0.0)
