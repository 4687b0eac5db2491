"""The least-loss search on a small example worked by hand, and its suppression rule (the
suppressed persons are one class of `*`, never a class below k)."""

from __future__ import annotations

import pytest

from deid.risk.generalise import apply, search, suppress
from deid.risk.measures import measure_persons

# 8 persons (age, sex). Hierarchies: age (height 3), sex = category (height 1).
AGES = ["31", "32", "33", "36", "37", "38", "50", "51"]
SEXES = ["男"] * 6 + ["女"] * 2
H = ("age", "category")


def test_k2_least_loss_is_the_5_year_band():
    """k=2, at most 20 % suppressed (1 person). By hand:
    (0,0) and (0,1): every age alone -> 8 to suppress, too many;
    (1,0): 30-34 男 x3, 35-39 男 x3, 50-54 女 x2 -> k=2, nothing suppressed,
           loss = (1/3 + 0) / 2 = 1/6, discernibility 9 + 9 + 4 = 22;
    every other allowed combination generalises more, so loses more."""
    plan = search([AGES, SEXES], H, k=2, max_suppression=0.2)
    assert plan is not None
    assert plan.levels == (1, 0)
    assert plan.loss == pytest.approx(1 / 6)
    assert plan.discernibility == 22
    assert plan.suppressed_count == 0


def test_k3_suppresses_a_star_class_of_at_least_k():
    """k=3: at (1,0) the 50-54 女 class (2) is below k; suppressed alone it would be a class
    of two `*`, so the smallest other class (3) goes with it: 5 suppressed. Allowed at 70 %:
    loss = (3 x 1/6 + 5 x 1) / 8 = 0.6875, less than all `*` (1.0). At 20 % only all `*` is left."""
    plan = search([AGES, SEXES], H, k=3, max_suppression=0.7)
    assert plan is not None and plan.levels == (1, 0)
    assert plan.suppressed_count == 5
    assert plan.loss == pytest.approx(0.6875)
    out = [
        [apply(v, h, lv, bool(s)) for v, s in zip(col, plan.suppressed)]
        for col, h, lv in zip([AGES, SEXES], H, plan.levels)
    ]
    import numpy as np

    m = measure_persons(out, ("age", "sex"), {}, np.ones(8, dtype=np.int64))
    assert m.k >= 3  # the `*` class included
    strict = search([AGES, SEXES], H, k=3, max_suppression=0.2)
    assert strict is not None and strict.levels == (3, 1) and strict.loss == pytest.approx(1.0)


def test_fewer_persons_than_k_cannot_be_made_k_anonymous():
    assert search([AGES[:4], SEXES[:4]], H, k=5, max_suppression=1.0) is None


def test_suppress_rule():
    import numpy as np

    assert suppress(np.array([5, 1, 7]), 3).tolist() == [True, True, False]  # the 1 joins the 5 (smallest)
    assert suppress(np.array([3, 4]), 3).tolist() == [False, False]
    assert suppress(np.array([2, 2, 9]), 3).tolist() == [True, True, False]  # 2 + 2 = 4 >= 3
