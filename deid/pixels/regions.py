"""Boxes that come from rules, not OCR: device signatures and ultrasound regions.

Device rules are data (data/device_regions.yaml, plus a site file named by the
pipeline). Ultrasound: SequenceOfUltrasoundRegions (0018,6011) says where the
image data is; with `ultrasound.blank_outside_regions` everything else is blanked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, cast

import yaml

from ..errors import PolicyError
from .detect import Box

if TYPE_CHECKING:
    import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "device_regions.yaml"


@dataclass(frozen=True)
class Rule:
    id: str
    rects: tuple[tuple[int, int, int, int], ...]
    modality: str = ""
    manufacturer: str = ""
    model: str = ""
    rows: int = 0
    columns: int = 0
    exclude_image_type: tuple[str, ...] = ()

    def matches(self, h: dict) -> bool:
        if self.modality and h.get("Modality", "").upper() != self.modality.upper():
            return False
        if self.manufacturer and self.manufacturer.lower() not in h.get("Manufacturer", "").lower():
            return False
        if self.model and self.model.lower() not in h.get("ManufacturerModelName", "").lower():
            return False
        if self.rows and h.get("Rows") != self.rows or self.columns and h.get("Columns") != self.columns:
            return False
        types = {t.strip().upper() for t in h.get("ImageType", "").split("\\")}
        return not (types & {t.upper() for t in self.exclude_image_type})


@lru_cache(maxsize=8)
def load_rules(path: str | None = None) -> tuple[Rule, ...]:
    files = [DATA] + ([Path(path)] if path else [])
    rules = []
    for f in files:
        try:
            data = yaml.safe_load(f.read_text("utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise PolicyError(f"{f}: cannot read device region rules ({type(exc).__name__})") from None
        for i, r in enumerate(data.get("rules") or []):
            try:
                rects = tuple(tuple(int(v) for v in rect) for rect in r["rects"])
                if not rects or any(len(rc) != 4 for rc in rects):
                    raise ValueError
                rects4 = cast(tuple[tuple[int, int, int, int], ...], rects)
                rules.append(
                    Rule(
                        id=str(r["id"]),
                        rects=rects4,
                        modality=str(r.get("modality", "")),
                        manufacturer=str(r.get("manufacturer", "")),
                        model=str(r.get("model", "")),
                        rows=int(r.get("rows", 0)),
                        columns=int(r.get("columns", 0)),
                        exclude_image_type=tuple(r.get("exclude_image_type") or ()),
                    )
                )
            except (KeyError, TypeError, ValueError):
                raise PolicyError(f"{f}: rules[{i}] needs id and rects: [[x0, y0, x1, y1], ...]") from None
    return tuple(rules)


def _edge(v: int, size: int) -> int:
    return size + 1 + v if v < 0 else v


def device_boxes(h: dict, w: int, hgt: int, rules_file: str | None = None) -> list[Box]:
    out = []
    for rule in load_rules(rules_file):
        if rule.matches(h):
            for x0, y0, x1, y1 in rule.rects:
                out.append(
                    Box(_edge(x0, w), _edge(y0, hgt), _edge(x1, w), _edge(y1, hgt), f"region:{rule.id}").clip(w, hgt)
                )
    return [b for b in out if b.area]


def outside_regions(regions: list[tuple[int, int, int, int]], w: int, h: int) -> np.ndarray | None:
    """Mask (H x W bool) of the pixels outside every ultrasound region; None when there
    are no usable regions (then nothing is blanked on this ground)."""
    import numpy as np

    keep = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in regions:
        keep[max(0, y0) : min(h, y1 + 1), max(0, x0) : min(w, x1 + 1)] = True  # Max X1/Y1 are inclusive
    return ~keep if keep.any() else None
