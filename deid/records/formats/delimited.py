"""CSV and TSV: header, column order, line endings and encoding kept.

The delimiter of a .csv is the most frequent of , ; | in its first line; a .tsv is
tab-separated with no quoting (a literal " is text). Quoting is minimal unless every
header cell was quoted. A first row whose cells hold identifiers is not a header: the
file is then read without one, every cell scanned as free text. A row with a different
number of fields than the header is malformed: the file is quarantined (policy
`malformed: quarantine`), or the row dropped and audited (`drop-row`). Blank lines are
kept as they were. Rows stream through one at a time after a 200-row look-ahead, which
also finds name columns the header does not name (deid.text.columns).
"""

from __future__ import annotations

import csv
import io
from itertools import chain, islice
from typing import Iterator

from ...core import AuditEvent
from ...errors import InputError
from ...text.columns import name_column
from ..operators import REMOVE
from ..scrub import Field, Scrubber
from .encoding import decode, encode


def dialect(first_line: str, tsv: bool) -> dict:
    """csv module arguments for a file whose first line this is (the release pass reads and
    rewrites outputs with the same)."""
    if tsv:
        return {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "quotechar": None}
    counts = {d: first_line.count(d) for d in ",;|"}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return {"delimiter": best}


def scrub_delimited(data: bytes, scrubber: Scrubber, delimiter: str) -> tuple[bytes, list[AuditEvent]]:
    text, enc = decode(data)
    newline = "\r\n" if "\r\n" in text[:65536] else "\n"
    first_line = text.split("\n", 1)[0].rstrip("\r")
    style_in = dialect(first_line, delimiter == "\t")
    rows = _rows(text, style_in)
    sample = list(islice(rows, SAMPLE))
    if not sample:
        return data, []
    header, width = sample[0], len(sample[0])
    quote_all = style_in.get("quoting") != csv.QUOTE_NONE and width > 0 and first_line.count('"') >= 2 * width
    buf = io.StringIO()
    style = (
        dict(style_in)
        if "quoting" in style_in
        else {**style_in, "quoting": csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL}
    )
    w = csv.writer(buf, lineterminator=newline, **style)
    if any(scrubber.rewritten(cell) != cell for cell in header):
        # identifiers in the first row: it is data, not a header (never a location either)
        header, start = [f"col{j + 1}" for j in range(width)], 0
    else:
        start = 1
        w.writerow(header)
    hints = _name_columns(header, sample[start:], scrubber, bool(start))
    events: list[AuditEvent] = []
    cols = [(f".{h}", h if start else "", hint) for h, hint in zip(header, hints)]
    for i, row in enumerate(chain(sample[start:], rows), start=start):
        if not row:
            buf.write(newline)
            continue
        if len(row) != width:
            if scrubber.policy.malformed == "quarantine":
                raise InputError(f"malformed-row: row {i} has {len(row)} fields, the header has {width}")
            events.append(
                AuditEvent(
                    f"row[{i}]", "drop-row", "malformed", "records:malformed", "", f"fields={len(row)};header={width}"
                )
            )
            continue
        where = f"row[{i}]"
        fields = [Field(where + col, name, v, hint) for (col, name, hint), v in zip(cols, row)]
        new, evs = scrubber.scrub(fields)
        w.writerow(["" if v is REMOVE else v for v in new])
        events += evs
    body = buf.getvalue()
    if not text.endswith(("\n", "\r")):
        body = body[: -len(newline)] if body.endswith(newline) else body
    return encode(body, enc), events


SAMPLE = 200  # rows read ahead: the header check and the name-column guess; the rest streams


def _rows(text: str, dialect: dict) -> Iterator[list[str]]:
    """Rows one at a time (a big export is never held as a list of rows)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, **dialect)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = getattr(exc, "line_num", None) or reader.line_num or "?"
            raise InputError(f"malformed-csv: cannot parse near line {line} ({type(exc).__name__})") from None
        yield row


def _name_columns(header: list[str], sample: list[list[str]], scrubber: Scrubber, named: bool) -> list[str | None]:
    """'name' for a column the field map does not know whose sampled values mostly look
    like person names (an unknown header, or no header at all); None elsewhere."""
    out: list[str | None] = []
    for j, h in enumerate(header):
        known = scrubber.policy.category_of(h) if named else None
        values = [r[j] for r in sample if len(r) == len(header)]
        out.append("name" if known in (None, "free-text") and name_column(values) else None)
    return out
