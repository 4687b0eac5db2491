"""Quasi-identifiers from what a run wrote: one table of rows (a CSV/TSV/JSONL record, a
DICOM file's header) with the declared quasi-identifier and sensitive fields, and whose
each row is (the person fields: the keyed pseudonyms, the same in records and images).

Read: CSV, TSV and JSONL records (a field matched by its name or its record category,
as the pipeline's `records.fields` decide it) and DICOM headers (by keyword; a file
without a person field is its study's). Every column a quasi-identifier matches is read
(家庭住址, 籍贯 and 出生地 are all `address`): the first in a file is the quasi-identifier's
main column, each further one its own sub-column of the class key, generalised at the
same level. Not read, and counted as such: JSON documents, HL7, FHIR, text (record
formats deid writes: `unmeasured`, which fails a k target) and anything else. Rows
without a person key are counted (`unknown`): they are measured as one person each, but
whether they are is not known. Values stay in memory, for the measures and the release
pass; nothing here logs or returns one to a caller that prints.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..dicomdict import tag_for_keyword
from ..errors import InputError
from ..policy.engine import Pipeline
from ..policy.records import RecordPolicy, norm_field
from ..policy.risk import RiskPolicy
from ..records.formats.delimited import dialect
from ..records.formats.encoding import decode

TABLE_KINDS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# record formats deid writes that this does not read: they may hold quasi-identifiers, so a
# k target is not met while one is in the release (the record stack's suffixes, less TABLE_KINDS)
UNMEASURED_RECORDS = (".json", ".txt", ".text", ".hl7", ".xml")
DICOM_SUFFIXES = (".dcm", ".dicom")


@dataclass
class Source:
    """One file that gave rows: where it is and which column holds which field."""

    rel: str  # relative to its root (the audit's item name for outputs)
    path: Path
    kind: str  # csv | tsv | jsonl | dicom
    columns: dict[str, str]  # sub-column key / sensitive / person name -> column name (or DICOM keyword)


@dataclass
class Table:
    """Rows in columns: `quasi[j][r]` is sub-column j of row r. Sub-column j belongs to
    quasi-identifier `groups[j]` and is `keys[j]` in a source's columns: the first
    len(names) are the quasi-identifiers' main columns (key: the name), the rest one per
    further column a quasi-identifier matched (key: name + NUL + the column's name)."""

    names: tuple[str, ...]
    hierarchies: tuple[str, ...]  # one per quasi-identifier
    quasi: list[list[str]]
    sensitive: dict[str, list[str]] = field(default_factory=dict)
    person: list[str] = field(default_factory=list)  # "" : the row is its own person
    rows: list[tuple[int, int]] = field(default_factory=list)  # (source index, row index in it)
    sources: list[Source] = field(default_factory=list)
    unread: int = 0  # files of no kind this reads (or unreadable): not in the measures
    failed: int = 0  # ... of which tables or DICOM that did not parse: the release is not measured whole
    unmeasured: int = 0  # ... of which record files (JSON, FHIR, HL7, text) deid wrote: a k target fails
    keys: list[str] = field(default_factory=list)  # per sub-column
    groups: list[int] = field(default_factory=list)  # per sub-column: its quasi-identifier
    unknown: int = 0  # rows without a person key: counted as one person each, not known to be
    unknown_files: int = 0  # files those rows are in

    def __post_init__(self) -> None:
        if not self.keys:
            self.keys = list(self.names)
            self.groups = list(range(len(self.names)))

    def __len__(self) -> int:
        return len(self.rows)

    def hierarchy(self, j: int) -> str:
        """Sub-column j's hierarchy (its quasi-identifier's)."""
        return self.hierarchies[self.groups[j]]

    def present(self) -> list[int]:
        """Sub-columns some source holds (a quasi-identifier no file has is all empty)."""
        held = {c for src in self.sources for c in src.columns}
        return [j for j, key in enumerate(self.keys) if key in held]


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while millions of small lists and tuples are made
    (none of them cyclic): it would walk them again and again, tripling the read time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_release(paths: Iterable[Path], pipeline: Pipeline, tables_only: bool = False) -> Table:
    """Every file under `paths`, as one table. tables_only: records tables only (the
    release pass rewrites those; DICOM is measured, not rewritten)."""
    with gc_paused():
        return _read_release(paths, pipeline, tables_only)


def _read_release(paths: Iterable[Path], pipeline: Pipeline, tables_only: bool) -> Table:
    pol = pipeline.risk
    table = Table(
        tuple(q.name for q in pol.quasi), tuple(q.hierarchy for q in pol.quasi), [[] for _ in pol.quasi], {}, []
    )
    table.sensitive = {s: [] for s in pol.sensitive}
    for _root, rel, path in walk(paths):
        suffix = path.suffix.lower()
        try:
            if suffix in TABLE_KINDS:
                _read_table(table, Source(rel, path, TABLE_KINDS[suffix], {}), pol, pipeline.records)
            elif not tables_only and _is_dicom(path):
                _read_dicom(table, Source(rel, path, "dicom", {}), pol)
            elif not tables_only:
                table.unread += 1
                table.unmeasured += suffix in UNMEASURED_RECORDS
        except (OSError, InputError, ValueError, csv.Error):  # counted, never a traceback
            table.unread += 1
            table.failed += 1
    return table


def walk(paths: Iterable[Path]) -> Iterator[tuple[Path, str, Path]]:
    for p in paths:
        if p.is_file():
            yield p.parent, p.name, p
            continue
        for d, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                full = Path(d) / f
                if not full.is_symlink():
                    yield p, str(full.relative_to(p)), full


def match(name: str, wanted: tuple[str, ...], records: RecordPolicy) -> bool:
    """A field is wanted by its name (compared as record field names are) or its category."""
    n = norm_field(name)
    return any(norm_field(w) == n for w in wanted) or (records.category_of(name) or "\0") in wanted


def columns(header: list[str], pol: RiskPolicy, records: RecordPolicy) -> dict[str, str]:
    """Sub-column key -> column for quasi-identifiers (every column a quasi-identifier
    matches: the first under its name, each further one under name + NUL + column), the
    first column of each sensitive field (key "\0sens:" + field) and of the person field
    (key "\0person")."""
    out: dict[str, str] = {}
    for q in pol.quasi:
        hits = [h for h in header if match(h, q.fields, records)]
        for j, h in enumerate(hits):
            out.setdefault(sub_key(q.name, h, j), h)
    for s in pol.sensitive:
        hit = next((h for h in header if match(h, (s,), records)), None)
        if hit is not None:
            out["\0sens:" + s] = hit
    hit = next((h for h in header if match(h, pol.person, records)), None)
    if hit is not None:
        out["\0person"] = hit
    return out


def sub_key(name: str, column: str, j: int) -> str:
    """The sub-column key of a quasi-identifier's j-th matching column in a file."""
    return name if j == 0 else f"{name}\0{norm_field(column)}"


def _read_table(table: Table, src: Source, pol: RiskPolicy, records: RecordPolicy) -> None:
    header, rows = table_rows(src.path, src.kind)
    src.columns = columns(header, pol, records)
    if not any(q.name in src.columns for q in pol.quasi):
        return  # no quasi-identifier here: not part of the table
    got = list(rows)
    at = {h: j for j, h in reversed(list(enumerate(header)))}

    def column(c: str) -> list[str]:
        if src.kind == "jsonl":
            return [_text(r.get(c)) for _i, r in got]  # type: ignore[union-attr]
        j = at[c]
        return [r[j] if j < len(r) else "" for _i, r in got]

    _add(table, src, pol, [i for i, _r in got], column)


def _text(v: object) -> str:
    return "" if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def _add(
    table: Table,
    src: Source,
    pol: RiskPolicy,
    index: list[int],
    column: Callable[[str], list[str]],
    unknown: int | None = None,
) -> None:
    """Rows `index` of `src`, each field's values from `column(its column)`; unknown: how
    many of them have no person key (default: those whose person value is empty)."""
    n = len(index)
    cols = src.columns
    group = {q.name: i for i, q in enumerate(pol.quasi)}
    for key in cols:
        name = key.split("\0", 1)[0]
        if key not in table.keys and name in group:  # a further column: a new sub-column, empty so far
            table.keys.append(key)
            table.groups.append(group[name])
            table.quasi.append([""] * len(table.rows))

    def values(key: str) -> list[str]:
        c = cols.get(key)
        return column(c) if c is not None else [""] * n

    for key, out in zip(table.keys, table.quasi):
        out.extend(values(key))
    for s, out in table.sensitive.items():
        out.extend(values("\0sens:" + s))
    who = values("\0person")
    if unknown is None:
        unknown = sum(1 for w in who if not w)
    if unknown:
        table.unknown += unknown
        table.unknown_files += 1
    table.person.extend(who)
    k = len(table.sources)
    table.rows.extend((k, i) for i in index)
    table.sources.append(src)


def table_rows(path: Path, kind: str) -> tuple[list[str], Iterator[tuple[int, list[str] | dict]]]:
    """(header, rows as (row index, cells)): CSV/TSV rows counted as the record stack's
    locations count them (row[1] is the first under the header); JSONL by line index
    (line[i + 1] in the record stack's locations)."""
    text, _enc = decode(path.read_bytes())
    if kind == "jsonl":
        objs = [(i, json.loads(ln)) for i, ln in enumerate(text.split("\n")) if ln.strip()]
        header = list(dict.fromkeys(k for _i, o in objs if isinstance(o, dict) for k in o))
        return header, iter([(i, o) for i, o in objs if isinstance(o, dict)])
    first = text.split("\n", 1)[0].rstrip("\r")
    reader = csv.reader(io.StringIO(text, newline=""), **dialect(first, kind == "tsv"))
    header = next(reader, [])
    return header, ((i, r) for i, r in enumerate(reader, start=1) if r)


def _is_dicom(path: Path) -> bool:
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    with open(path, "rb") as fh:
        return fh.read(132)[128:132] == b"DICM"


def _read_dicom(table: Table, src: Source, pol: RiskPolicy) -> None:
    import pydicom

    wanted = {f for q in pol.quasi for f in q.fields} | set(pol.sensitive) | set(pol.person) | {"StudyInstanceUID"}
    keywords = [k for k in wanted if tag_for_keyword(k) is not None]
    try:
        ds = pydicom.dcmread(str(src.path), stop_before_pixels=True, specific_tags=keywords)
    except Exception as exc:  # pydicom's own errors are not one family: the file is counted as not read
        raise InputError(f"unreadable-dicom: {type(exc).__name__}") from None

    def get(keyword: str) -> str:
        v = ds.get(keyword)  # the value (a str, a PersonName, a MultiValue), or None
        return "" if v is None else str(v).strip()

    for q in pol.quasi:
        for j, hit in enumerate(k for k in q.fields if k in keywords):
            src.columns.setdefault(sub_key(q.name, hit, j), hit)
    for s in pol.sensitive:
        if s in keywords:
            src.columns["\0sens:" + s] = s
    patient = next((get(k) for k in pol.person if k in keywords and get(k)), "")
    who = patient or get("StudyInstanceUID")  # a study is at most one person, but whose is not known
    src.columns["\0person"] = "\0who"
    _add(table, src, pol, [-1], lambda c: [who if c == "\0who" else get(c)], unknown=0 if patient else 1)


COUNT_COLUMNS = ("count", "人数", "n")


def read_population(path: Path, pipeline: Pipeline, keys: list[str] | None = None) -> dict[tuple[str, ...], int]:
    """A population table (CSV/TSV/JSONL) with the release's quasi-identifier columns,
    generalised as the release is, and optionally a `count` column (else one person a
    row): quasi-identifier values (one per sub-column `keys`, the release table's; default
    the quasi-identifiers' main columns) -> persons. The journalist and marketer risks then
    compare each class of the release with its class in the population."""
    kind = TABLE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"--population {path.name}: give a .csv, .tsv or .jsonl table")
    header, rows = table_rows(path, kind)
    cols = columns(header, pipeline.risk, pipeline.records)
    keys = keys if keys is not None else [q.name for q in pipeline.risk.quasi]
    count = next((h for h in header if h.strip().lower() in COUNT_COLUMNS), None)
    at = {h: j for j, h in reversed(list(enumerate(header)))}
    out: dict[tuple[str, ...], int] = {}
    for _i, row in rows:
        get = (
            (lambda c, r=row: _text(r.get(c)))
            if isinstance(row, dict)
            else (lambda c, r=row: r[at[c]] if at[c] < len(r) else "")
        )
        key = tuple(get(cols[c]) if c in cols else "" for c in keys)
        try:
            n = int(get(count)) if count is not None else 1
        except ValueError:
            raise InputError(f"--population {path.name}: a count that is not a whole number") from None
        out[key] = out.get(key, 0) + n
    return out
