"""The pixel core on plain numpy images, no DICOM anywhere: a PNG-like grey or RGB image
with text drawn on it goes in as Frames, and comes out with the text boxes redacted."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deid.core import Action, PixelMode
from deid.pixels.frames import Frames, RenderHints
from deid.pixels.stage import redact_frames
from deid.policy.pixels import PixelPolicy
from deid.pseudonym import Pseudonymizer

TEXT = [("DOE JANE", (20, 40)), ("MRN 50349106", (20, 480))]


def _image(rgb: bool) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A 512 x 512 smooth background (a PNG export of a scan, say) with two lines of text,
    and the rectangles the text covers."""
    yy, xx = np.mgrid[0:512, 0:512]
    base = (40 + 60 * np.exp(-((xx - 256) ** 2 + (yy - 256) ** 2) / (2 * 120.0**2))).astype(np.uint8)
    img = np.dstack([base, base, base]) if rgb else base.copy()
    rects = []
    for text, (x, y) in TEXT:
        (tw, th), base_line = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
        cv2.putText(img, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255) if rgb else 255, 2)
        rects.append((x, y - th, x + tw, y + base_line))
    return img, rects


@pytest.mark.parametrize("rgb", [False, True])
def test_core_redacts_text_in_a_plain_image(rgb):
    img, rects = _image(rgb)
    frames = Frames.single(img)
    assert frames.hints == RenderHints(photometric="RGB" if rgb else "MONOCHROME2")
    done = redact_frames(frames, PixelPolicy(), PixelMode.REDACT_ALL_TEXT, Pseudonymizer(b"k" * 32))
    assert done.changed and done.frames.shape == (1, *img.shape) and done.frames.dtype == img.dtype
    out = done.frames[0]
    for x0, y0, x1, y1 in rects:
        # every stroke of the text is gone: what is left in its rectangle is no brighter than the background
        assert out[y0:y1, x0:x1].max() < 120, (x0, y0)
    # and away from the text the image is as it was
    assert np.array_equal(out[150:350, 150:350], img[150:350, 150:350])
    boxes = [e for e in done.events if e.category == "burned-in-text"]
    assert len(boxes) >= len(TEXT) and all(e.action == Action.REDACT == "redact" for e in boxes)
    assert done.events[-1].action == "measure" and done.counts["pixels_changed"] == 1
    assert done.counts["redacted_boxes"] == len(boxes) and done.counts["frames"] == 1


def test_core_redact_phi_uses_identity_values():
    """redact-phi: a box that reads as one of the identity values goes; the identity values
    come in as plain strings (no header)."""
    from deid.dicom.operators import IdentityValues  # any IdentityMatcher; this one builds from strings

    img, rects = _image(False)
    done = redact_frames(
        Frames.single(img),
        PixelPolicy(mode="redact-phi"),
        "redact-phi",
        Pseudonymizer(b"k" * 32),
        IdentityValues(["DOE^JANE"]),
    )
    x0, y0, x1, y1 = rects[0]
    assert done.frames[0][y0:y1, x0:x1].max() < 120
    assert any(e.rule_id == "pixels:redact-phi:identity" for e in done.events)


def test_frames_shape_is_checked():
    with pytest.raises(ValueError):
        Frames(np.zeros((4, 4), np.uint8), RenderHints())
    with pytest.raises(ValueError):
        Frames(np.zeros((1, 4, 4, 2), np.uint8), RenderHints())


def test_enums_are_stored_as_the_strings_they_replace():
    """Audit output stays byte-identical: JSON, str(), format() and SQLite see the plain value."""
    import json
    import sqlite3

    from deid.core import AuditEvent, Status
    from deid.policy.pixels import MODES

    assert [m.value for m in PixelMode] == list(MODES)
    for member, plain in ((Action.REDACT, "redact"), (PixelMode.REDACT_PHI, "redact-phi"), (Status.OK, "ok")):
        assert member == plain and str(member) == plain and f"{member}" == plain and hash(member) == hash(plain)
        event, same = AuditEvent("x", member, "c", "r"), AuditEvent("x", plain, "c", "r")
        assert json.dumps(event.as_dict()) == json.dumps(same.as_dict())
        db = sqlite3.connect(":memory:")
        assert db.execute("select ?, typeof(?)", (member, member)).fetchone() == (plain, "text")
