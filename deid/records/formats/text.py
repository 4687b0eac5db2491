"""Plain text (notes, reports): one record, scanned with the recognizers; the first
MRN or hospital number found in it is the patient key, so its dates shift like that
patient's images. Encoding and line endings are kept."""

from __future__ import annotations

from ...core import AuditEvent
from ..scrub import Scrubber
from .encoding import decode, encode


def scrub_text_file(data: bytes, scrubber: Scrubber) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    key = scrubber.fallback_key
    for sp in scrubber.find(text):
        if sp.category == "mrn":
            key = "id:" + text[sp.start : sp.end].strip()
            break
    scrubber.counts["records"] += 1
    new, events = scrubber.scrub_text(text, "text", key)
    return encode(new, enc), events
