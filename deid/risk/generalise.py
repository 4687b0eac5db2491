"""Reach a k target with the least information loss: full-domain generalisation (one
hierarchy level per quasi-identifier for the whole release) plus suppression of the
persons still in classes below k, searched over every combination of levels.

Loss is Sweeney's precision (Prec, 2002) extended to suppression: each cell of a kept
person loses level/height of its hierarchy, each cell of a suppressed person loses 1;
loss = the mean over all persons' quasi-identifier cells, 0 (as released) to 1 (all `*`),
over the quasi-identifiers the release holds (one absent from every file is left out: it
would dilute the loss). A quasi-identifier several columns hold (家庭住址, 籍贯) is one
level for all of them: `groups` says which column is whose.
Ties go to the smaller discernibility metric (Bayardo & Agrawal 2005: the sum of squared
class sizes, n for each suppressed person), then to the lower levels. A combination is
allowed when it suppresses at most `max_suppression` of the persons; suppressed persons
form one class of all-`*` values, so when fewer than k would be suppressed, the next
smallest classes are suppressed with them (never a class of `*` below k).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Sequence

import numpy as np

from .hierarchies import HIERARCHIES, SUPPRESSED
from .measures import classes, codes


@dataclass(frozen=True)
class Plan:
    levels: tuple[int, ...]  # one per quasi-identifier (group)
    suppressed: np.ndarray  # bool per person
    loss: float  # precision loss, 0..1
    discernibility: int
    tried: int  # combinations evaluated

    @property
    def suppressed_count(self) -> int:
        return int(self.suppressed.sum())


def generalised(values: Sequence[str], hierarchy: str, level: int, merged: bool = False) -> list[str]:
    """`values` at `level` of `hierarchy`; each distinct value is generalised once. merged:
    a value may be a person's several values joined by `|`, each generalised."""
    h = HIERARCHIES[hierarchy]
    memo: dict[str, str] = {}
    out = []
    for v in values:
        g = memo.get(v)
        if g is None:
            if merged and "|" in v:
                g = "|".join(sorted({h.at(p, level) for p in v.split("|")}))
            else:
                g = h.at(v, level)
            memo[v] = g
        out.append(g)
    return out


def search(
    quasi: Sequence[Sequence[str]],
    hierarchies: Sequence[str],
    k: int,
    max_suppression: float,
    merged: bool = False,
    groups: Sequence[int] | None = None,
) -> Plan | None:
    """The least-loss plan for persons whose values are `quasi[j][person]` (column j, of
    hierarchy `hierarchies[j]`, belonging to quasi-identifier `groups[j]`: default, a column
    each); one level per quasi-identifier. None when no combination reaches k within the
    suppression limit (fewer than k persons, say)."""
    n = len(quasi[0]) if quasi else 0
    if n < k or not quasi:
        return None
    group = list(range(len(quasi))) if groups is None else list(groups)
    heights = [0] * (max(group) + 1)
    for g, h in zip(group, hierarchies):
        heights[g] = HIERARCHIES[h].height
    levels: list[list[np.ndarray]] = [
        [codes(generalised(v, h, lv, merged)) for lv in range(HIERARCHIES[h].height + 1)]
        for v, h in zip(quasi, hierarchies)
    ]
    best: tuple[float, int, tuple[int, ...]] | None = None
    best_sup = np.zeros(0, dtype=bool)
    tried = 0
    limit = int(np.floor(max_suppression * n + 1e-9))
    for node in product(*(range(h + 1) for h in heights)):
        share = sum(lv / h for lv, h in zip(node, heights)) / len(heights)  # a kept person's loss
        if best is not None and share > best[0]:
            continue  # loss = share + s * (1 - share) / n >= share: cannot beat the best
        tried += 1
        cls, size = classes([levels[j][node[g]] for j, g in enumerate(group)])
        sup_classes = suppress(size, k)
        sup = sup_classes[cls]
        s = int(sup.sum())
        if s > limit:
            continue
        loss = ((n - s) * share + s) / n
        dm = int((size[~sup_classes] ** 2).sum()) + s * n
        key = (round(loss, 12), dm, node)
        if best is None or key < best:
            best, best_sup = key, sup
    if best is None:
        return None
    return Plan(best[2], best_sup, best[0], best[1], tried)


def suppress(size: np.ndarray, k: int) -> np.ndarray:
    """Which classes to suppress: those below k, and, when they hold fewer than k persons
    together (their `*` class would be below k), the smallest others until they hold k."""
    sup = size < k
    held = int(size[sup].sum())
    if 0 < held < k:
        for j in np.argsort(size, kind="stable"):
            if held >= k:
                break
            if not sup[j]:
                sup[j] = True
                held += int(size[j])
    return sup


def apply(value: str, hierarchy: str, level: int, suppressed: bool) -> str:
    """One cell under the plan."""
    return SUPPRESSED if suppressed else HIERARCHIES[hierarchy].at(value, level)
