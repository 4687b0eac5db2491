"""What the pixel stage returns (kept apart so header-only runs never import numpy)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import AuditEvent


@dataclass
class PixelOutcome:
    events: list[AuditEvent] = field(default_factory=list)
    previews: list[tuple[str, bytes]] = field(default_factory=list)  # (suffix, PNG bytes)
    counts: dict[str, int] = field(default_factory=dict)
