"""A skewed synthetic table for the risk measures (the pyCANON agreement test and
benchmarks/risk.py): an age (gamma), a sex, a region (Zipf-like), a year, a diagnosis that
depends on age (so some classes are not diverse) and a rare second one. numpy only."""

from __future__ import annotations

import numpy as np

REGIONS = [
    "北京市海淀区",
    "北京市朝阳区",
    "浙江省杭州市西湖区",
    "浙江省宁波市鄞州区",
    "广东省广州市天河区",
    "四川省成都市武侯区",
]


def table(n: int, seed: int = 1) -> dict[str, list[str]]:
    rng = np.random.default_rng(seed)
    age = np.clip(rng.gamma(4.0, 11.0, size=n).astype(int), 0, 104)
    w = 1.0 / np.arange(1, len(REGIONS) + 1) ** 1.2
    dx = np.where(age > 60, rng.choice(["I10", "E11", "I25"], size=n), rng.choice(["J06", "K35", "I10", "S52"], size=n))
    return {
        "age": age.astype(str).tolist(),
        "sex": rng.choice(["男", "女"], size=n, p=[0.49, 0.51]).tolist(),
        "region": np.array(REGIONS)[rng.choice(len(REGIONS), size=n, p=w / w.sum())].tolist(),
        "year": rng.choice([str(y) for y in range(2015, 2025)], size=n).tolist(),
        "dx": dx.tolist(),
        "dx2": rng.choice(["A", "B"], size=n, p=[0.97, 0.03]).tolist(),
    }
