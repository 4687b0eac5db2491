"""A synthetic newborn register (the case in the news: birth date, sex, district and
hospital identify a baby by combination). Seeded, and skewed the way real registers are,
so no k target is met by accident:

- births per district follow Beijing's uneven district sizes (朝阳 about 18 %, 延庆 1 %);
- most babies are born in one of their own district's 1-4 hospitals (shares uneven), a
  quarter in one of five city-level maternity hospitals, drawn more from central districts;
- dates cover two years with a late-summer peak and fewer births at weekends (planned
  caesareans are scheduled on weekdays);
- 51.3 % boys; diagnoses mostly 足月儿, with rarer ones (the l-diversity case).

Every value is synthetic: register numbers are sequential, there are no names.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

# district -> relative births (roughly each district's share of Beijing's population)
DISTRICTS = {
    "朝阳区": 345,
    "海淀区": 313,
    "丰台区": 202,
    "昌平区": 226,
    "大兴区": 199,
    "通州区": 184,
    "顺义区": 132,
    "房山区": 131,
    "西城区": 110,
    "东城区": 70,
    "石景山区": 57,
    "门头沟区": 40,
    "怀柔区": 44,
    "平谷区": 46,
    "密云区": 53,
    "延庆区": 34,
}
CENTRAL = {"东城区", "西城区", "朝阳区", "海淀区", "丰台区"}
LOCAL_KINDS = ("妇幼保健院", "人民医院", "中医医院", "第二医院")
CITY = ("市第一妇产医院", "市第二妇产医院", "市儿童医院产科", "大学第三医院产科", "市中心医院产科")
DIAGNOSES = ("足月儿", "早产儿", "低出生体重儿", "新生儿黄疸", "巨大儿", "新生儿窒息")
HEADER = ["登记号", "出生日期", "性别", "区县", "分娩医院", "出生体重", "诊断"]


def register(n: int = 30_000, seed: int = 18) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    names = list(DISTRICTS)
    weight = np.array([DISTRICTS[d] for d in names], dtype=float)
    district = rng.choice(len(names), size=n, p=weight / weight.sum())
    # each district's own hospitals (1-4, by size), with uneven shares
    local = {d: [d + k for k in LOCAL_KINDS[: 1 + min(3, DISTRICTS[d] // 80)]] for d in names}
    city_share = np.where([names[i] in CENTRAL for i in district], 0.35, 0.15)
    to_city = rng.random(n) < city_share
    city_pick = rng.choice(len(CITY), size=n, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    hospitals = []
    for i in range(n):
        d = names[district[i]]
        if to_city[i]:
            hospitals.append("北京" + CITY[city_pick[i]])
        else:
            own = local[d]
            share = np.array([0.6, 0.25, 0.1, 0.05][: len(own)])
            hospitals.append("北京市" + own[rng.choice(len(own), p=share / share.sum())])
    days = np.arange(731)
    start = dt.date(2023, 1, 1)
    month = np.array([(start + dt.timedelta(int(x))).month for x in days])
    weekday = np.array([(start + dt.timedelta(int(x))).weekday() for x in days])
    p_day = (1 + 0.15 * np.cos((month - 8.5) / 12 * 2 * np.pi)) * np.where(weekday >= 5, 0.7, 1.0)
    born = rng.choice(days, size=n, p=p_day / p_day.sum())
    boys = rng.random(n) < 0.513
    dx = rng.choice(len(DIAGNOSES), size=n, p=[0.82, 0.07, 0.04, 0.04, 0.02, 0.01])
    grams = np.clip(rng.normal(3300, 450, size=n), 900, 5200).astype(int)
    rows = []
    for i in range(n):
        rows.append(
            [
                f"NB{2023000000 + i}",
                (start + dt.timedelta(int(born[i]))).isoformat(),
                "男" if boys[i] else "女",
                "北京市" + names[district[i]],
                hospitals[i],
                str(grams[i]),
                DIAGNOSES[dx[i]],
            ]
        )
    return rows


def write(path: Path, n: int = 30_000, seed: int = 18) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        w.writerows(register(n, seed))
    return path


PIPELINE = """\
name: newborn-register
description: A newborn register released for research, birth dates kept for the risk pass to generalise.
records:
  languages: [zh]
  free_text: false
  ner: off
  fields: {区县: safe, 分娩医院: safe, 出生体重: safe, 诊断: safe}
  operators: {birth-date: keep, patient-id: pseudonym}
risk:
  k: 5
  max_suppression: 0.05
  quasi:
    - {name: birth-date, fields: [birth-date], hierarchy: date}
    - {name: sex, fields: [性别], hierarchy: category}
    - {name: district, fields: [区县], hierarchy: address}
    - {name: hospital, fields: [分娩医院], hierarchy: category}
  sensitive: [诊断]
  person: [patient-id]
"""


def pipeline_file(folder: Path, k: int | None = 5) -> Path:
    """The register's pipeline; k None: the same with the risk pass off."""
    text = PIPELINE if k is not None else PIPELINE.replace("  k: 5\n", "")
    path = folder / ("newborn.yaml" if k is not None else "newborn-no-k.yaml")
    path.write_text(text.replace("k: 5", f"k: {k}"), "utf-8")
    return path
