"""What a "find, don't change" run reports: one Finding per place a file still holds
something identifying. Bottom layer (no deid imports): the handlers return Findings
(RecordHandler.findings), `deid check` and the pipeline's `verify:` step report them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    file: str
    location: str  # tag path, row[3].联系电话, pixels.frame[0].box[...]
    category: str  # identity, private-tag, not-deidentified, phone, resident-id, ...
    rule: str
    excerpt: str = ""  # masked, only with --show-excerpts

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Look:
    """How closely a handler's findings() looks (`deid check` options; verify's own)."""

    excerpts: bool = False  # add a masked excerpt to each finding (--show-excerpts)
    pixels: bool = False  # read burned-in text in pixels and overlays (--pixels)
    identity_values: tuple[str, ...] | None = None  # what to look for in pixels (None: the file's own)


LOOK = Look()
