"""CSV and TSV: header, column order, line endings and encoding kept.

The delimiter of a .csv is the most frequent of , ; | in its first line; a .tsv is
tab-separated with no quoting (a literal " is text). Quoting is minimal unless every
header cell was quoted. A first row whose cells hold identifiers is not a header: the
file is then read without one, every cell scanned as free text. A row with a different
number of fields than the header is malformed: the file is quarantined (policy
`malformed: quarantine`), or the row dropped and audited (`drop-row`). Blank lines are
kept as they were.
"""
from __future__ import annotations

import csv
import io

from ...audit.events import AuditEvent
from ...errors import InputError
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode


def _dialect(first_line: str, tsv: bool) -> dict:
    if tsv:
        return {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "quotechar": None}
    counts = {d: first_line.count(d) for d in ",;|"}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return {"delimiter": best}


def scrub_delimited(data: bytes, scrubber: Scrubber, delimiter: str) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    first_line = text.split("\n", 1)[0].rstrip("\r")
    dialect = _dialect(first_line, delimiter == "\t")
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True, **dialect))
    except csv.Error as exc:
        line = getattr(exc, "line_num", None) or "?"
        raise InputError(f"malformed-csv: cannot parse near line {line} ({type(exc).__name__})") from None
    if not rows:
        return data, []
    header, width = rows[0], len(rows[0])
    quote_all = dialect.get("quoting") != csv.QUOTE_NONE and width > 0 and first_line.count('"') >= 2 * width
    if any(scrubber.rewritten(cell) != cell for cell in header):
        # identifiers in the first row: it is data, not a header (never a location either)
        header, start, out = [f"col{j + 1}" for j in range(width)], 0, []
    else:
        start, out = 1, [header]
    events: list[AuditEvent] = []
    for i, row in enumerate(rows[start:], start=start):
        if not row:
            out.append(row)
            continue
        if len(row) != width:
            if scrubber.policy.malformed == "quarantine":
                raise InputError(f"malformed-row: row {i} has {len(row)} fields, the header has {width}")
            events.append(AuditEvent(f"row[{i}]", "drop-row", "malformed", "records:malformed", "",
                                     f"fields={len(row)};header={width}"))
            continue
        fields = [Field(f"row[{i}].{header[j]}", header[j] if start else "", v) for j, v in enumerate(row)]
        new, evs = scrubber.scrub(fields)
        out.append(["" if v is REMOVE else v for v in new])
        events += evs
    buf = io.StringIO()
    style = dict(dialect) if "quoting" in dialect else {**dialect, "quoting": csv.QUOTE_ALL if quote_all
                                                         else csv.QUOTE_MINIMAL}
    w = csv.writer(buf, lineterminator=newline, **style)
    for row in out:
        if row:
            w.writerow(row)
        else:
            buf.write(newline)
    body = buf.getvalue()
    if not text.endswith(("\n", "\r")):
        body = body[: -len(newline)] if body.endswith(newline) else body
    return encode(body, enc), events
