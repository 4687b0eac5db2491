"""Measures of one release: k-anonymity, the class-size distribution, who is in classes
below a target, l-diversity, and prosecutor / journalist / marketer risk (docs/risk.md
gives the definitions and their sources).

A person is the unit: rows that share a person key (a keyed pseudonym) are one person,
whose value of a field is the set of its distinct values. Group-bys are numpy: values are
numbered with a dict (faster than sorting strings), the numbers of all quasi-identifiers
combined into one int64 per person, and classes counted with np.unique: 1 M rows in about
a second on one core, with no dependency beyond numpy (benchmarks/risk.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import DeidError
from .quasi import Table, gc_paused

# class-size bins of the histogram (counts of classes and persons, never a value)
BINS = ((1, 1), (2, 2), (3, 3), (4, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, None))


def codes(values: Sequence[str]) -> np.ndarray:
    """Each distinct value numbered (0, 1, ...) in order of first appearance (dict and map
    run in C: about 0.1 s a million values)."""
    number = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return np.fromiter(map(number.__getitem__, values), dtype=np.int64, count=len(values))


def classes(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(class number of each row, size of each class) for rows equal on every column."""
    n = len(columns[0]) if columns else 0
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    span = 1
    for c in columns:
        width = int(c.max()) + 1
        if span * width >= 2**62:  # would overflow: renumber what is combined so far
            _u, key = np.unique(key, return_inverse=True)
            span = int(key.max()) + 1
        key = key * width + c
        span *= width
    _u, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return inverse.reshape(-1), counts


@dataclass
class Measures:
    records: int  # rows read (a CSV/JSONL record, a DICOM file)
    persons: int
    quasi: tuple[str, ...]
    k: int  # the smallest class (0: nothing to measure)
    classes: int
    sizes: dict[int, int]  # class size -> how many classes have it
    target: int | None = None
    below_persons: int = 0  # persons in classes smaller than the target
    below_records: int = 0
    l_diversity: dict[str, int] = field(default_factory=dict)  # sensitive field -> l
    prosecutor_max: float = 0.0
    prosecutor_avg: float = 0.0
    journalist_max: float = 0.0
    journalist_avg: float = 0.0
    marketer: float = 0.0
    uniques: float = 0.0  # share of persons alone in their class (sample uniqueness)
    population: bool = False  # journalist/marketer against a declared population (else the release itself)
    unread: int = 0  # files not read (no kind this reads, or unparsable)
    failed: int = 0  # tables or DICOM files that could not be parsed: what they hold is not measured
    unmeasured: int = 0  # record files (JSON, FHIR, HL7, text) not read: what they hold is not measured
    persons_unknown: int = 0  # rows (DICOM files) without a person key, counted as one person each
    persons_unknown_files: int = 0  # files they are in

    @property
    def meets(self) -> bool:
        """The target holds, nothing that could hold quasi-identifiers went unread, and every
        row counted as a person is known to be one (fail closed)."""
        return self.target is None or not self.why_not()

    def why_not(self) -> str:
        """Why the target is not met ('' when it is, or there is none)."""
        if self.target is None:
            return ""
        if self.failed:
            return f"{self.failed} record tables or DICOM files could not be read, so what they hold is not measured"
        if self.unmeasured:
            return (
                f"{self.unmeasured} record files (JSON, FHIR, HL7 or text) are not measured, and may hold "
                "quasi-identifiers: a k target is not met while one is in the release"
            )
        if self.persons_unknown:
            return (
                f"persons unknown: {self.persons_unknown} rows of {self.persons_unknown_files} files have no person "
                "field (risk.person) and were counted as one person each, which they may not be"
            )
        if self.k < self.target:
            return f"k={self.k} is below the target k={self.target}"
        return ""

    def histogram(self) -> list[tuple[str, int, int]]:
        """(bin label, classes, persons) per size bin."""
        out = []
        for lo, hi in BINS:
            inside = {s: c for s, c in self.sizes.items() if s >= lo and (hi is None or s <= hi)}
            label = str(lo) if hi == lo else (f"{lo}-{hi}" if hi else f"{lo}+")
            out.append((label, sum(inside.values()), sum(s * c for s, c in inside.items())))
        return out

    def as_dict(self) -> dict:
        d = asdict(self)
        d["quasi"] = list(self.quasi)
        d["sizes"] = {str(s): c for s, c in sorted(self.sizes.items())}
        d["histogram"] = [{"size": b, "classes": c, "persons": p} for b, c, p in self.histogram()]
        d["meets"] = self.meets
        d["why_not"] = self.why_not()  # why a target is not met ("" when it is, or there is none)
        return d


def persons(table: Table) -> tuple[np.ndarray, int]:
    """(person number of each row, number of persons): rows with the same non-empty person
    key are one person; a row without one is its own."""
    if not any(table.person):  # no person field anywhere: a row is a person
        return np.arange(len(table), dtype=np.int64), len(table)
    seen: dict[str, int] = {}
    out = np.empty(len(table), dtype=np.int64)
    for r, key in enumerate(table.person):
        out[r] = seen.setdefault(key, len(seen)) if key else seen.setdefault(f"\0row{r}", len(seen))
    return out, len(seen)


def merged(values: Sequence[str], who: np.ndarray, n: int) -> list[str]:
    """Each person's value: its distinct non-empty values joined (sorted), or ''."""
    if n == len(values) and (n == 0 or (who[0] == 0 and bool((np.diff(who) == 1).all()))):
        return list(values)  # a row a person, in order (a register, a flat table)
    if n == len(values):  # one row a person: nothing to merge
        out = [""] * n
        for p, v in zip(who.tolist(), values):
            out[p] = v
        return out
    sets: list[set[str]] = [set() for _ in range(n)]
    for p, v in zip(who.tolist(), values):
        if v:
            sets[p].add(v)
    return ["|".join(sorted(s)) for s in sets]


def measure(
    table: Table, target: int | None = None, population: Mapping[tuple[str, ...], int] | None = None
) -> Measures:
    """The measures of `table` as it is (no generalisation)."""
    with gc_paused():
        return _measure(table, target, population)


def _measure(table: Table, target: int | None, population: Mapping[tuple[str, ...], int] | None) -> Measures:
    who, n = persons(table)
    quasi = [merged(v, who, n) for v in table.quasi]
    sens = {s: value_codes(v) for s, v in table.sensitive.items()}  # per row: l counts single values
    rows_per_person = np.bincount(who, minlength=n) if n else np.zeros(0, dtype=np.int64)
    m = measure_persons(
        quasi, table.names, sens, rows_per_person, target, population, records=len(table), unread=table.unread, who=who
    )
    m.failed, m.unmeasured = table.failed, table.unmeasured
    m.persons_unknown, m.persons_unknown_files = table.unknown, table.unknown_files
    return m


def value_codes(values: Sequence[str]) -> np.ndarray:
    """Each distinct non-empty value numbered 0, 1, ...; an empty one -1 (no value)."""
    number: dict[str, int] = {}
    for v in values:
        if v and v not in number:
            number[v] = len(number)
    return np.fromiter((number.get(v, -1) for v in values), dtype=np.int64, count=len(values))


def measure_persons(
    quasi: Sequence[Sequence[str]],
    names: tuple[str, ...],
    sensitive: Mapping[str, np.ndarray],
    rows_per_person: np.ndarray,
    target: int | None = None,
    population: Mapping[tuple[str, ...], int] | None = None,
    records: int = 0,
    unread: int = 0,
    who: np.ndarray | None = None,
) -> Measures:
    """The measures over persons whose quasi-identifier values are `quasi[i][person]`.
    sensitive: a field's value codes per row (-1: empty), row r of person `who[r]`
    (default: a row a person)."""
    n = len(rows_per_person)
    m = Measures(records or n, n, names, 0, 0, {}, target, unread=unread, population=population is not None)
    if not n:
        return m
    cls, size = classes([codes(v) for v in quasi]) if quasi else (np.zeros(n, np.int64), np.array([n]))
    f = size[cls]  # each person's class size
    m.k, m.classes = int(size.min()), len(size)
    vals, counts = np.unique(size, return_counts=True)
    m.sizes = {int(s): int(c) for s, c in zip(vals, counts)}
    if target is not None:
        small = f < target
        m.below_persons, m.below_records = int(small.sum()), int(rows_per_person[small].sum())
    for name, sc in sensitive.items():
        lv = l_diversity(cls if who is None else cls[who], sc)
        if lv is not None:  # a field no row holds has no diversity to measure: not reported
            m.l_diversity[name] = lv
    m.prosecutor_max, m.prosecutor_avg = 1.0 / m.k, m.classes / n
    m.uniques = float((f == 1).sum()) / n
    big_f = _population_sizes(quasi, cls, size, population) if population is not None else size
    m.journalist_max = 1.0 / int(big_f.min())
    m.journalist_avg = float((size / big_f).sum()) / n  # (1/n) sum_j f_j / F_j
    m.marketer = m.journalist_avg if population is not None else m.prosecutor_avg
    return m


def l_diversity(cls: np.ndarray, sensitive: np.ndarray) -> int | None:
    """The fewest distinct non-empty sensitive values in any class (Machanavajjhala et al.:
    distinct l-diversity), over rows: `cls[r]` the class of row r, `sensitive[r]` its value
    code (-1: empty, not a value). A class none of whose rows has a value has l=0; None when
    no row has a value at all (the field is absent from the release)."""
    held = sensitive >= 0
    if not held.any():
        return None
    width = int(sensitive.max()) + 1
    pairs = np.unique(cls[held] * width + sensitive[held])
    per_class = np.bincount(pairs // width, minlength=int(cls.max()) + 1)
    return int(per_class.min())


def _population_sizes(
    quasi: Sequence[Sequence[str]], cls: np.ndarray, size: np.ndarray, population: Mapping[tuple[str, ...], int]
) -> np.ndarray:
    """F_j: each class's size in the declared population, which holds the release."""
    first = np.full(len(size), -1, dtype=np.int64)
    first[cls[::-1]] = np.arange(len(cls))[::-1]
    out = np.empty(len(size), dtype=np.int64)
    for j, row in enumerate(first.tolist()):
        key = tuple(v[row] for v in quasi)
        big = population.get(key, 0)
        if big < size[j]:
            raise DeidError(
                f"the population table has fewer persons than the release in {size[j] - big} cases of one class: "
                "it must hold everyone the release was drawn from, generalised as the release is"
            )
        out[j] = big
    return out
