"""The `pixels:` part of a pipeline: what to do with text burned into images.

Modes (per modality, with a default):
  redact-all-text  every text box is redacted except safe words read with confidence
  redact-phi       boxes whose text matches header identity values or PHI patterns, and
                   every box that cannot be read with confidence, are redacted
  regions-only     only device region rules (no OCR)
  off              pixels are not touched

Over-redaction guard: `max_redacted_fraction` (a number, or {default: 0.15, MR: 0.3, ...}
per Modality) bounds the share of a frame that text boxes may cover. A frame whose
redaction would exceed it is never written: the file is quarantined (`over-redaction`).
A blank image is a lost image. Device region rules and blanking outside ultrasound
regions are declared by the policy, not guessed, and are accounted separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

from ..errors import PolicyError
from .sections import section

MODES = ("redact-all-text", "redact-phi", "regions-only", "off")
DETECTORS = ("ppocr", "border", "tesseract")
VIEWS = ("display", "window", "stretch", "ends", "color", "inverted")
DEFAULT_VIEWS = ("display", "window", "stretch", "ends", "color")
# share of a frame text boxes may cover before the file is quarantined, by Modality:
# radiographs carry a few corner lines on a large matrix; CT/MR/NM/PT slices carry the
# same lines on a 256-512 px matrix, secondary captures and ultrasound denser annotation
MAX_REDACTED = 0.15
MAX_REDACTED_BY_MODALITY = (
    ("US", 0.3),
    ("SC", 0.3),
    ("OT", 0.3),
    ("XC", 0.3),
    ("CT", 0.25),
    ("MR", 0.25),
    ("NM", 0.25),
    ("PT", 0.25),
)
SAFE_WORDS = (
    "L",
    "R",
    "RT",
    "LT",
    "A",
    "P",
    "H",
    "F",
    "PA",
    "AP",
    "LAT",
    "LATERAL",
    "ERECT",
    "SUPINE",
    "PRONE",
    "PORTABLE",
    "UPRIGHT",
    "DECUBITUS",
    "INSP",
    "EXP",
    "LEFT",
    "RIGHT",
    "胸部正位",
    "胸部侧位",
    "正位",
    "侧位",
    "左",
    "右",
)
SAFE_PATTERNS = (r"^\d{2,3}(\.\d)?\s*KVP?$", r"^\d+(\.\d+)?\s*M?AS$", r"^\d+(\.\d+)?\s*MA$", r"^\d+(\.\d+)?\s*MS$")
KEYS = {
    "mode",
    "modes",
    "safe_words",
    "safe_patterns",
    "keep_min_score",
    "read_min_score",
    "padding",
    "detectors",
    "views",
    "border_band",
    "long_side",
    "verify",
    "device_regions",
    "ultrasound",
    "max_redacted_fraction",
}


@dataclass(frozen=True)
class PixelPolicy:
    mode: str = "redact-all-text"
    modes: tuple[tuple[str, str], ...] = ()  # (modality, mode), overriding `mode`
    safe_words: frozenset[str] = frozenset(SAFE_WORDS)
    safe_patterns: tuple[str, ...] = SAFE_PATTERNS
    keep_min_score: float = 0.85  # a safe word is kept only when read this surely
    read_min_score: float = 0.6  # redact-phi: a box read less surely is redacted
    padding: int = 3  # px around each box, plus 10 % of its short side (at most 6)
    detectors: tuple[str, ...] = ("ppocr", "border")
    views: tuple[str, ...] = DEFAULT_VIEWS
    border_band: float = 0.15
    long_side: int = 1280
    verify: bool = True
    device_regions: bool = True
    blank_outside_us_regions: bool = False
    max_redacted: float = MAX_REDACTED
    max_redacted_by_modality: tuple[tuple[str, float], ...] = MAX_REDACTED_BY_MODALITY

    @property
    def active(self) -> bool:
        return self.mode != "off" or any(m != "off" for _mod, m in self.modes)

    def mode_for(self, modality: str) -> str:
        for mod, m in self.modes:
            if mod == modality.upper():
                return m
        return self.mode

    def redaction_limit(self, modality: str) -> float:
        """Share of a frame text boxes may cover (the over-redaction guard)."""
        return dict(self.max_redacted_by_modality).get(modality.strip().upper(), self.max_redacted)

    def could_be_safe(self, width: int, height: int) -> bool:
        """Could a box this shape hold a safe word? Glyphs are about half as wide as a
        detector box is tall; a box twice as long as the longest safe word (patterns
        count as 10 characters) cannot, so it need not be read to be redacted."""
        longest = max([len(w) for w in self.safe_words] + [10 if self.safe_patterns else 0])
        return max(width, height) <= (longest + 2) * max(1, min(width, height))

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
    raw = section(raw, "pixels", KEYS, source)
    mode = _mode(raw.get("mode", "redact-all-text"))
    _check(mode in MODES, source, f"pixels.mode {mode!r} must be one of {list(MODES)}")
    modes = raw.get("modes") or {}
    _check(isinstance(modes, dict), source, "pixels.modes must map a Modality (US, DX, ...) to a mode")
    modes = {k: _mode(v) for k, v in modes.items()}
    for k, v in modes.items():
        _check(v in MODES, source, f"pixels.modes.{k} {v!r} must be one of {list(MODES)}")
    dets = tuple(raw.get("detectors", ("ppocr", "border")))
    _check(all(d in DETECTORS for d in dets), source, f"pixels.detectors: choose from {list(DETECTORS)}")
    views = tuple(raw.get("views", DEFAULT_VIEWS))
    _check(bool(views) and all(v in VIEWS for v in views), source, f"pixels.views: choose from {list(VIEWS)}")
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
    _check(
        isinstance(us, dict) and set(us) <= {"blank_outside_regions"},
        source,
        "pixels.ultrasound takes only blank_outside_regions: true|false",
    )
    limit, by_modality = _max_redacted(raw.get("max_redacted_fraction"), source)
    nums: dict[str, float] = {}
    for key, default, lo, hi in (
        ("keep_min_score", 0.85, 0.0, 1.0),
        ("read_min_score", 0.6, 0.0, 1.0),
        ("padding", 3, 0, 64),
        ("border_band", 0.15, 0.0, 0.5),
        ("long_side", 1280, 320, 4096),
    ):
        v = raw.get(key, default)
        _check(
            isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi,
            source,
            f"pixels.{key} must be a number from {lo} to {hi}",
        )
        nums[key] = v
    return PixelPolicy(
        mode=cast(str, mode),
        modes=tuple((str(k).upper(), v) for k, v in modes.items()),
        safe_words=frozenset(str(w).strip().upper() for w in words),
        safe_patterns=tuple(pats),
        detectors=dets,
        views=views,
        verify=bool(raw.get("verify", True)),
        device_regions=bool(raw.get("device_regions", True)),
        blank_outside_us_regions=bool(us.get("blank_outside_regions", False)),
        padding=int(nums["padding"]),
        keep_min_score=float(nums["keep_min_score"]),
        read_min_score=float(nums["read_min_score"]),
        border_band=float(nums["border_band"]),
        long_side=int(nums["long_side"]),
        max_redacted=limit,
        max_redacted_by_modality=by_modality,
    )


def _max_redacted(raw: object, source: str) -> tuple[float, tuple[tuple[str, float], ...]]:
    """`max_redacted_fraction: 0.2` (one limit for every modality) or `{default: 0.15,
    US: 0.3}` (added to the built-in per-modality limits); numbers in (0, 1], where 1
    turns the guard off."""
    if raw is None:
        return MAX_REDACTED, MAX_REDACTED_BY_MODALITY
    table = cast("dict[object, float]", raw if isinstance(raw, dict) else {"default": raw})  # checked below
    for k, v in table.items():
        _check(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v <= 1,
            source,
            f"pixels.max_redacted_fraction.{k} must be a number above 0 and at most 1",
        )
    by_modality = dict(MAX_REDACTED_BY_MODALITY) if isinstance(raw, dict) else {}
    by_modality.update({str(k).upper(): float(v) for k, v in table.items() if k != "default"})
    return float(table.get("default", MAX_REDACTED)), tuple(sorted(by_modality.items()))


def _mode(value: object) -> object:
    """YAML 1.1 reads a bare `off` as false; that is what the user meant."""
    return "off" if value is False else value


def _check(ok: bool, source: str, msg: str) -> None:
    if not ok:
        raise PolicyError(f"{source}: {msg}")
