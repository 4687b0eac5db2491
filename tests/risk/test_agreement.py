"""deid's measures agree with pyCANON's (the vendored 1.3.6 copy in tests/_vendor/pycanon:
its wheel pins numpy and typer exactly, see SOURCE.md there): k-anonymity and l-diversity
identical on synthetic tables of 1 k, 10 k and 100 k rows, as released and generalised,
and on the output of `deid run` over sample_data/records."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deid.policy import load_pipeline
from deid.risk.generalise import generalised
from deid.risk.measures import measure, measure_persons, merged, persons
from deid.risk.quasi import read_release
from helpers import KEY, REPO
from risk.synth import table

VENDOR = REPO / "tests" / "_vendor"


def pycanon():
    """pyCANON's anonymity module, from the vendored copy (never an installed one)."""
    for name in [n for n in sys.modules if n == "pycanon" or n.startswith("pycanon.")]:
        del sys.modules[name]
    sys.path.insert(0, str(VENDOR))
    try:
        mod = importlib.import_module("pycanon.anonymity")
    finally:
        sys.path.remove(str(VENDOR))
    assert Path(mod.__file__).resolve().is_relative_to(VENDOR.resolve()), mod.__file__
    return mod


def synthetic(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(table(n, seed))


def ours(df: pd.DataFrame, qi: list[str], sa: list[str]):
    n = len(df)
    return measure_persons(
        [df[c].tolist() for c in qi],
        tuple(qi),
        {s: _codes(df[s]) for s in sa},
        np.ones(n, dtype=np.int64),
    )


def _codes(col: pd.Series) -> np.ndarray:
    from deid.risk.measures import codes

    return codes(col.tolist())


@pytest.mark.parametrize(
    "n, seed, qi, levels",
    [
        (1_000, 1, ["age", "sex", "region"], None),
        (1_000, 2, ["age", "sex", "region", "year"], None),
        (10_000, 3, ["age", "sex", "region"], {"age": ("age", 1)}),
        (10_000, 4, ["age", "sex", "region", "year"], {"age": ("age", 2), "region": ("address", 1)}),
        (100_000, 5, ["age", "sex", "region"], {"age": ("age", 2), "region": ("address", 2)}),
    ],
)
def test_k_and_l_agree_with_pycanon(n, seed, qi, levels):
    df = synthetic(n, seed)
    for col, (hierarchy, level) in (levels or {}).items():
        df[col] = generalised(df[col].tolist(), hierarchy, level)
    anonymity = pycanon()
    sa = ["dx", "dx2"]
    m = ours(df, qi, sa)
    assert m.k == anonymity.k_anonymity(df, qi)
    for s in sa:
        assert m.l_diversity[s] == anonymity.l_diversity(df, qi, [s])
    assert min(m.l_diversity.values()) == anonymity.l_diversity(df, qi, sa)  # several sensitive fields
    if n <= 10_000:  # the measures differ from table to table: this is not one trivial case
        assert m.k < 5


@pytest.fixture(scope="module")
def sample_records(tmp_path_factory):
    """`deid run` over sample_data/records with the shipped records pipeline."""
    from typer.testing import CliRunner

    from deid.cli import app

    out = tmp_path_factory.mktemp("sample") / "out"
    res = CliRunner().invoke(
        app,
        ["run", str(REPO / "sample_data" / "records"), "--out", str(out), "-p", "records", "--engine", "inline", "-q"],
        env={"DEID_KEY": KEY.decode()},  # a module fixture: the per-test key fixture is not there yet
    )
    assert res.exit_code == 0, res.output
    return out


def test_sample_data_output_agrees_with_pycanon(sample_records):
    pipe = load_pipeline("records")
    table = read_release([sample_records], pipe)
    assert len(table) >= 10 and len(table.sources) >= 2  # the register and the student list at least
    who, n = persons(table)
    df = pd.DataFrame({name: merged(v, who, n) for name, v in zip(table.names, table.quasi)})
    present = [c for c in df.columns if (df[c] != "").any()]
    m = measure(table)
    anonymity = pycanon()
    assert m.persons == len(df)
    assert m.k == anonymity.k_anonymity(df, list(df.columns))
    assert m.k == anonymity.k_anonymity(df, present)  # columns no file holds change nothing
    generalised_df = df.copy()
    for name, h in zip(table.names, table.hierarchies):
        generalised_df[name] = generalised(df[name].tolist(), h, 1 if h != "category" else 0)
    mg = measure_persons(
        [generalised_df[c].tolist() for c in table.names], table.names, {}, np.ones(len(df), dtype=np.int64)
    )
    assert mg.k == anonymity.k_anonymity(generalised_df, list(table.names))
    assert mg.k >= m.k
