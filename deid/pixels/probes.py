"""What to search for text in a multi-frame image: each distinct frame, or composites.

A cine loop or an enhanced multi-frame object can hold hundreds of frames, and reading
each costs seconds. Burned-in text is stamped on every frame (a banner) or moves little
(a timer). So when more than MAX_DISTINCT frames differ, the text is looked for in two
composites instead: the per-pixel maximum over all frames (light text from any frame)
and the minimum (dark text from any frame). Pixels that never change look exactly as in
each frame; a box found in a composite is redacted in every frame, so text that shows in
one frame only is still removed everywhere it could be. Known limit: light text drawn
on a changing, equally light background in few frames keeps little contrast in the
maximum (docs/pixels.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

MAX_DISTINCT = 2  # up to this many distinct frames, each is searched as it is


@dataclass
class Probe:
    """One image searched for text, and the frames its boxes are redacted in."""

    name: str  # "frame[3]", "frames-max", "frames-min" (audit detail)
    image: np.ndarray
    targets: list[int]

    def render(self, frames: np.ndarray) -> np.ndarray:
        """The same probe made from other frames (the redacted ones, for verify)."""
        if self.name == "frames-max":
            return frames.max(axis=0)
        if self.name == "frames-min":
            return frames.min(axis=0)
        return frames[self.targets[0]]


def probes(frames: np.ndarray) -> list[Probe]:
    """Each distinct frame (identical frames searched once), or the two composites."""
    groups: dict[bytes, list[int]] = {}
    for i in range(frames.shape[0]):
        groups.setdefault(hashlib.blake2b(frames[i].tobytes(), digest_size=16).digest(), []).append(i)
    if len(groups) <= MAX_DISTINCT:
        return [Probe(f"frame[{idx[0]}]", frames[idx[0]], idx) for idx in groups.values()]
    every = list(range(frames.shape[0]))
    return [Probe("frames-max", frames.max(axis=0), every), Probe("frames-min", frames.min(axis=0), every)]
