"""The measures on a hand-computed example (El Emam & Dankar 2008; Dankar & El Emam 2010),
persons made of several rows, and the group-by against plain Python."""

from __future__ import annotations

import numpy as np
import pytest

from deid.errors import DeidError
from deid.risk.measures import classes, codes, measure
from deid.risk.quasi import Table

# The release: 10 persons, quasi-identifiers (age band, sex), a sensitive diagnosis.
#   class A (30-39, 男): f=4, diagnoses x y x x -> 2 distinct
#   class B (30-39, 女): f=3, diagnoses x y z   -> 3
#   class C (40-49, 男): f=2, diagnoses y y     -> 1
#   class D (40-49, 女): f=1, diagnosis z       -> 1
# The population it was drawn from (the journalist's identification file): F_A=40, F_B=30,
# F_C=8, F_D=2.
#
# By hand, n = 10, |J| = 4 classes:
#   k = min f = 1; sample uniqueness = 1/10 (one person alone in D)
#   prosecutor: highest 1/min f = 1/1 = 1.0; average |J|/n = 4/10 = 0.4
#   journalist: highest 1/min F = 1/2 = 0.5; average (1/n) sum f/F
#               = (4/40 + 3/30 + 2/8 + 1/2) / 10 = 0.95 / 10 = 0.095
#   marketer (the population as the identification database): (1/n) sum f/F = 0.095
#   without a population, the release is its own: journalist = prosecutor (1.0, 0.4), marketer = |J|/n = 0.4
#   below k=3: classes C and D, 3 persons; l-diversity = min(2, 3, 1, 1) = 1
ROWS = (
    [("30-39", "男", d) for d in "xyxx"]
    + [("30-39", "女", d) for d in "xyz"]
    + [("40-49", "男", d) for d in "yy"]
    + [("40-49", "女", "z")]
)
POPULATION = {("30-39", "男"): 40, ("30-39", "女"): 30, ("40-49", "男"): 8, ("40-49", "女"): 2}


def table(rows=ROWS, person=None) -> Table:
    return Table(
        ("age", "sex"),
        ("age", "category"),
        [[r[0] for r in rows], [r[1] for r in rows]],
        {"diagnosis": [r[2] for r in rows]},
        person or [""] * len(rows),
        [(0, i) for i in range(len(rows))],
    )


def test_hand_computed_example_against_the_population():
    m = measure(table(), target=3, population=POPULATION)
    assert (m.k, m.classes, m.persons) == (1, 4, 10)
    assert m.sizes == {1: 1, 2: 1, 3: 1, 4: 1}
    assert (m.below_persons, m.below_records) == (3, 3)
    assert m.l_diversity == {"diagnosis": 1}
    assert m.uniques == pytest.approx(0.1)
    assert (m.prosecutor_max, m.prosecutor_avg) == (pytest.approx(1.0), pytest.approx(0.4))
    assert (m.journalist_max, m.journalist_avg) == (pytest.approx(0.5), pytest.approx(0.095))
    assert m.marketer == pytest.approx(0.095)
    assert m.population and not m.meets


def test_hand_computed_example_without_a_population():
    m = measure(table(), target=1)
    assert (m.journalist_max, m.journalist_avg) == (pytest.approx(1.0), pytest.approx(0.4))
    assert m.marketer == pytest.approx(0.4)
    assert not m.population and m.meets


def test_a_population_that_does_not_hold_the_release_is_refused():
    short = {**POPULATION, ("30-39", "男"): 3}  # 4 in the release, 3 in the "population"
    with pytest.raises(DeidError, match="population"):
        measure(table(), population=short)


def test_rows_of_one_person_are_one_person():
    """Three visits of one patient are not a class of three: the patient is alone."""
    rows = [("30-39", "男", "x")] * 3 + [("30-39", "男", "y")] * 2
    m = measure(table(rows, person=["P-1", "P-1", "P-1", "P-2", "P-3"]))
    assert (m.records, m.persons, m.k, m.classes) == (5, 3, 3, 1)
    alone = measure(table(rows, person=["P-1", "P-1", "P-1", "", ""]))
    assert (alone.persons, alone.k) == (3, 3)
    split = measure(table([("30-39", "男", "x"), ("40-49", "男", "x"), ("40-49", "男", "x")], ["P-1", "P-1", "P-2"]))
    assert split.k == 1  # P-1 is known by both bands: a class of its own


def test_rows_per_person_count_records_below_k():
    rows = [("30-39", "男", "x")] * 3 + [("40-49", "女", "y")]
    m = measure(table(rows, person=["P-1", "P-1", "P-1", "P-2"]), target=2)
    assert (m.below_persons, m.below_records) == (2, 4)


def test_histogram_bins_hold_every_person():
    m = measure(table())
    assert sum(p for _b, _c, p in m.histogram()) == m.persons
    assert [c for _b, c, _p in m.histogram()][:4] == [1, 1, 1, 1]


def test_group_by_matches_python_and_survives_wide_keys():
    rng = np.random.default_rng(3)
    cols = [rng.integers(0, 1 << 20, size=5000) for _ in range(4)]  # 2^80 combinations: renumbered on the way
    cols[0][:2500] = 7
    cols[1][:2500] = 9
    cols[2][:2500] = 11
    cols[3][:2500] = rng.integers(0, 3, size=2500)
    cls, size = classes([codes([str(v) for v in c]) for c in cols])
    tuples = list(zip(*(c.tolist() for c in cols)))
    want: dict[tuple, int] = {}
    for t in tuples:
        want[t] = want.get(t, 0) + 1
    assert sorted(size.tolist()) == sorted(want.values())
    assert all(size[cls[i]] == want[t] for i, t in enumerate(tuples))
