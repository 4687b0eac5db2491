"""CSV and TSV: header, column order, quoting style, line endings and encoding kept.

A row with a different number of fields than the header is malformed: the file is
quarantined (policy `malformed: quarantine`), or the row dropped and audited
(`drop-row`). Blank lines are kept as they were.
"""
from __future__ import annotations

import csv
import io

from ...audit.events import AuditEvent
from ...errors import InputError
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode


def scrub_delimited(data: bytes, scrubber: Scrubber, delimiter: str) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        line = getattr(exc, "line_num", None) or "?"
        raise InputError(f"malformed-csv: cannot parse near line {line} ({type(exc).__name__})") from None
    if not rows:
        return data, []
    header, width = rows[0], len(rows[0])
    first_line = text.split("\n", 1)[0]
    quote_all = width > 0 and first_line.count('"') >= 2 * width
    out, events = [header], []
    for i, row in enumerate(rows[1:], start=1):
        if not row:
            out.append(row)
            continue
        if len(row) != width:
            if scrubber.policy.malformed == "quarantine":
                raise InputError(f"malformed-row: row {i} has {len(row)} fields, the header has {width}")
            events.append(AuditEvent(f"row[{i}]", "drop-row", "malformed", "records:malformed", "",
                                     f"fields={len(row)};header={width}"))
            continue
        fields = [Field(f"row[{i}].{header[j]}", header[j], v) for j, v in enumerate(row)]
        new, evs = scrubber.scrub(fields)
        out.append(["" if v is REMOVE else v for v in new])
        events += evs
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline,
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    for row in out:
        if row:
            w.writerow(row)
        else:
            buf.write(newline)
    body = buf.getvalue()
    if not text.endswith(("\n", "\r")):
        body = body[: -len(newline)] if body.endswith(newline) else body
    return encode(body, enc), events
