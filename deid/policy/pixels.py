"""The `pixels:` part of a pipeline: what to do with text burned into images.

Modes (per modality, with a default):
  redact-all-text  every text box is redacted except safe words read with confidence
  redact-phi       boxes whose text matches header identity values or PHI patterns, and
                   every box that cannot be read with confidence, are redacted
  regions-only     only device region rules (no OCR)
  off              pixels are not touched
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PolicyError

MODES = ("redact-all-text", "redact-phi", "regions-only", "off")
DETECTORS = ("ppocr", "border", "tesseract")
VIEWS = ("display", "window", "inverted")
SAFE_WORDS = ("L", "R", "PA", "AP", "LAT", "LATERAL", "ERECT", "SUPINE", "PRONE", "PORTABLE", "UPRIGHT",
              "DECUBITUS", "INSP", "EXP", "LEFT", "RIGHT", "胸部正位", "胸部侧位", "正位", "侧位", "左", "右")
SAFE_PATTERNS = (r"^\d{2,3}(\.\d)?\s*KVP?$", r"^\d+(\.\d+)?\s*M?AS$", r"^\d+(\.\d+)?\s*MA$", r"^\d+(\.\d+)?\s*MS$")
KEYS = {"mode", "modes", "safe_words", "safe_patterns", "keep_min_score", "read_min_score", "padding",
        "detectors", "views", "border_band", "long_side", "verify", "device_regions", "ultrasound"}


@dataclass(frozen=True)
class PixelPolicy:
    mode: str = "redact-all-text"
    modes: tuple[tuple[str, str], ...] = ()          # (modality, mode), overriding `mode`
    safe_words: frozenset[str] = frozenset(SAFE_WORDS)
    safe_patterns: tuple[str, ...] = SAFE_PATTERNS
    keep_min_score: float = 0.85                    # a safe word is kept only when read this surely
    read_min_score: float = 0.6                     # redact-phi: a box read less surely is redacted
    padding: int = 3                                # px around each box, plus 10 % of its short side (at most 6)
    detectors: tuple[str, ...] = ("ppocr", "border")
    views: tuple[str, ...] = ("display", "window")
    border_band: float = 0.15
    long_side: int = 1280
    verify: bool = True
    device_regions: bool = True
    blank_outside_us_regions: bool = False

    @property
    def active(self) -> bool:
        return self.mode != "off" or any(m != "off" for _mod, m in self.modes)

    def mode_for(self, modality: str) -> str:
        for mod, m in self.modes:
            if mod == modality.upper():
                return m
        return self.mode

    def is_safe(self, text: str) -> bool:
        t = re.sub(r"\s+", " ", text.strip().upper()).strip(" .:;,")
        if not t:
            return False
        if t in self.safe_words:
            return True
        return any(re.match(p, t) for p in self.safe_patterns)


def build_pixel_policy(raw: object, source: str) -> PixelPolicy:
    if raw is None:
        return PixelPolicy()
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: 'pixels' must be a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise PolicyError(f"{source}: unknown keys under pixels: {sorted(unknown)}; use {sorted(KEYS)}")
    mode = _mode(raw.get("mode", "redact-all-text"))
    _check(mode in MODES, source, f"pixels.mode {mode!r} must be one of {list(MODES)}")
    modes = raw.get("modes") or {}
    _check(isinstance(modes, dict), source, "pixels.modes must map a Modality (US, DX, ...) to a mode")
    modes = {k: _mode(v) for k, v in modes.items()}
    for k, v in modes.items():
        _check(v in MODES, source, f"pixels.modes.{k} {v!r} must be one of {list(MODES)}")
    dets = tuple(raw.get("detectors", ("ppocr", "border")))
    _check(all(d in DETECTORS for d in dets), source, f"pixels.detectors: choose from {list(DETECTORS)}")
    views = tuple(raw.get("views", ("display", "window")))
    _check(views and all(v in VIEWS for v in views), source, f"pixels.views: choose from {list(VIEWS)}")
    words = raw.get("safe_words", list(SAFE_WORDS))
    _check(isinstance(words, list), source, "pixels.safe_words must be a list")
    pats = raw.get("safe_patterns", list(SAFE_PATTERNS))
    _check(isinstance(pats, list), source, "pixels.safe_patterns must be a list of regular expressions")
    for p in pats:
        try:
            re.compile(p)
        except (re.error, TypeError):
            raise PolicyError(f"{source}: pixels.safe_patterns entry {p!r} is not a regular expression") from None
    us = raw.get("ultrasound") or {}
    _check(isinstance(us, dict) and set(us) <= {"blank_outside_regions"}, source,
           "pixels.ultrasound takes only blank_outside_regions: true|false")
    nums = {}
    for key, default, lo, hi in (("keep_min_score", 0.85, 0.0, 1.0), ("read_min_score", 0.6, 0.0, 1.0),
                                 ("padding", 3, 0, 64), ("border_band", 0.15, 0.0, 0.5),
                                 ("long_side", 1280, 320, 4096)):
        v = raw.get(key, default)
        _check(isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi, source,
               f"pixels.{key} must be a number from {lo} to {hi}")
        nums[key] = v
    return PixelPolicy(mode=mode, modes=tuple((str(k).upper(), v) for k, v in modes.items()),
                       safe_words=frozenset(str(w).strip().upper() for w in words),
                       safe_patterns=tuple(pats), detectors=dets, views=views,
                       verify=bool(raw.get("verify", True)), device_regions=bool(raw.get("device_regions", True)),
                       blank_outside_us_regions=bool(us.get("blank_outside_regions", False)),
                       padding=int(nums["padding"]), keep_min_score=float(nums["keep_min_score"]),
                       read_min_score=float(nums["read_min_score"]), border_band=float(nums["border_band"]),
                       long_side=int(nums["long_side"]))


def _mode(value: object) -> object:
    """YAML 1.1 reads a bare `off` as false; that is what the user meant."""
    return "off" if value is False else value


def _check(ok: bool, source: str, msg: str) -> None:
    if not ok:
        raise PolicyError(f"{source}: {msg}")
