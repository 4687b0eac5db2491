"""The over-redaction guard: how much of each frame text boxes cover, and a quarantine
when that is more than the policy allows. A blank image is a lost image, however clean.
"""

from __future__ import annotations

import numpy as np

from ..core import Action, AuditEvent
from ..errors import QuarantineError
from .detect import Box


def coverage(boxes: list[Box], w: int, h: int) -> float:
    """Share of a w x h frame that the union of `boxes` covers."""
    if not boxes:
        return 0.0
    mask = np.zeros((h, w), bool)
    for b in boxes:
        mask[b.y0 : b.y1, b.x0 : b.x1] = True
    return float(mask.mean())


def guard(
    per_frame: list[list[Box]],
    w: int,
    h: int,
    limit: float,
    modality: str,
    outside: np.ndarray | None,
    events: list[AuditEvent],
) -> AuditEvent:
    """The over-redaction guard: the share of each frame its text boxes cover (device
    region rules and blanking outside ultrasound regions are declared by policy and
    counted apart). Over `limit`, the file is quarantined with the boxes in its reason
    file and audit: an image blanked by a runaway detection is lost, however clean.
    Returns the audit event that records the shares."""
    seen: dict[tuple, float] = {}
    worst, worst_i, rules = 0.0, 0, 0.0
    for i, boxes in enumerate(per_frame):
        text = tuple(sorted(b.as_tuple() for b in boxes if not b.source.startswith("region:")))
        if text not in seen:
            seen[text] = coverage([Box(*t, "") for t in text], w, h)
        if seen[text] > worst:
            worst, worst_i = seen[text], i
        rules = max(rules, coverage([b for b in boxes if b.source.startswith("region:")], w, h))
    blank = float(outside.mean()) if outside is not None else 0.0
    event = AuditEvent(
        "pixels",
        Action.MEASURE,
        "pixels",
        "pixels:redacted-fraction",
        "",
        f"text={worst:.4f};frame={worst_i};limit={limit:g};regions={rules:.4f};outside-regions={blank:.4f}",
    )
    if worst > limit:
        rects = sorted({b.as_tuple() for b in per_frame[worst_i] if not b.source.startswith("region:")})
        raise QuarantineError(
            f"over-redaction: text boxes would cover {worst:.1%} of frame {worst_i}, over the "
            f"{limit:.0%} limit for {modality.strip() or 'this modality'} (pixels.max_redacted_fraction)",
            events=events + [event],
            details={
                "frame": worst_i,
                "fraction": round(worst, 4),
                "limit": limit,
                "boxes": [list(r) for r in rects[:500]],
                "boxes_total": len(rects),
            },
        )
    return event
