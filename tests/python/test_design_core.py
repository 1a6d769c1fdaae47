"""The design checks and fpc weights live in the core; Python passes raw columns.

Weights derived from fpc are compared with R's weights(svydesign(..., fpc=)) from
tests/golden/design.json (made by tests/golden/make_design_golden.R).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steppe as sp

GOLDEN = pathlib.Path(__file__).resolve().parents[2] / "tests" / "golden"


def _golden(name: str) -> dict[str, Any]:
    with open(GOLDEN / "design.json", encoding="utf-8") as f:
        cases = json.load(f)["fpc_weights"]
    return next(c for c in cases if c["name"] == name)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("case", "data", "spec"),
    [
        ("apistrat_popsize", "apistrat", {"strata": "stype", "fpc": "fpc"}),
        ("apiclus1_popsize", "apiclus1", {"psu": "dnum", "fpc": "fpc"}),
        (
            "apiclus2_popsize",
            "apiclus2",
            {"psu": "dnum", "psu2": "snum", "fpc": "fpc1", "fpc2": "fpc2"},
        ),
    ],
)
def test_weights_from_fpc_match_r(case: str, data: str, spec: dict[str, str]) -> None:
    df = pd.read_csv(GOLDEN / "data" / f"{data}.csv")
    want = _golden(case)
    d = sp.Design(df, **spec)  # type: ignore[arg-type]
    np.testing.assert_allclose(d.weights, want["weights"], rtol=1e-14, atol=0)
    est = d.mean("api00").to_frame()
    assert est.estimate.iloc[0] == pytest.approx(want["mean"], rel=1e-12)
    assert est.se.iloc[0] == pytest.approx(want["mean_se"], rel=1e-9)


def test_without_weights_or_fpc_weights_are_one() -> None:
    with pytest.warns(sp.errors.EqualProbabilityWarning, match="assuming equal probability"):
        d = sp.Design(pd.DataFrame({"y": [1.0, 2, 3]}))
    assert d.weights.tolist() == [1.0, 1.0, 1.0]
    assert not d.weights.flags.writeable  # a view of the core's weights


def test_fpc_errors_name_column_count_and_first_row() -> None:
    df = pd.DataFrame({"s": ["a"] * 4 + ["b"] * 4, "N": [40.0] * 4 + [50.0] * 4})
    df.loc[[2, 5], "N"] = [np.nan, -3.0]
    with pytest.raises(
        sp.InvalidInputError,
        match=r"fpc column 'N' is missing or negative in 2 rows \(first: row 2\)",
    ):
        sp.Design(df, strata="s", fpc="N")
    df["N"] = [40.0] * 4 + [0.5] * 4
    with pytest.raises(sp.InvalidInputError, match="all population sizes"):
        sp.Design(df, strata="s", fpc="N")
    df["N"] = [0.0] * 8
    with pytest.raises(
        sp.InvalidInputError, match=r"fpc column 'N' implies a population above 1e12"
    ):
        sp.Design(df, strata="s", fpc="N")


def test_not_nested_names_columns_count_and_first_row() -> None:
    df = pd.DataFrame({"w": 1.0, "region": ["n", "n", "s", "s", "s"], "district": [1, 2, 2, 3, 1]})
    with pytest.raises(
        sp.InvalidInputError,
        match=r"psu column 'district': 2 PSU id\(s\) appear in more than one stratum of "
        r"strata column 'region' \(first: row 2,.*nest=True",
    ):
        sp.Design(df, weights="w", strata="region", psu="district")


def test_lonely_psu_names_come_from_the_core() -> None:
    df = pd.DataFrame({"w": [1.0, 2.0]})
    with pytest.raises(
        sp.InvalidInputError, match="'fail', 'remove', 'certainty', 'adjust', 'average'; got 'drop'"
    ):
        sp.Design(df, weights="w", lonely_psu="drop")


def test_core_nests_psu_in_strata_and_psu2_in_psu() -> None:
    """nest=True and repeated psu2 ids give the design of globally unique ids (R's svydesign)."""
    rng = np.random.default_rng(3)
    n = 48
    df = pd.DataFrame(
        {
            "s": np.repeat(["a", "b", "c"], 16),
            "p_global": np.repeat(np.arange(6), 8),
            "q_global": np.repeat(np.arange(24), 2),
            "N1": 10.0,
            "N2": 7.0,
            "y": rng.normal(size=n),
        }
    )
    df["p_local"] = df["p_global"] % 2  # repeats across strata
    df["q_local"] = df["q_global"] % 4  # repeats across PSUs
    spec = {"strata": "s", "fpc": "N1", "fpc2": "N2"}
    local = sp.Design(df, psu="p_local", psu2="q_local", nest=True, **spec)  # type: ignore[arg-type]
    unique = sp.Design(df, psu="p_global", psu2="q_global", **spec)  # type: ignore[arg-type]
    np.testing.assert_array_equal(local.weights, unique.weights)
    a, b = local.mean("y").to_frame(), unique.mean("y").to_frame()
    assert a.se.iloc[0] == pytest.approx(b.se.iloc[0], rel=1e-14)
    assert local.summary()["n_psu"] == 6
