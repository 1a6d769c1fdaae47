"""Raking and trimming: reports, diagnostics and clear errors for bad margins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import steppe as sp


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    n = 400
    return pd.DataFrame(
        {
            "w": rng.uniform(1, 4, n),
            "psu": rng.integers(0, 40, n),
            "sex": rng.choice(["f", "m"], n, p=[0.6, 0.4]),
            "age": rng.choice(["young", "mid", "old"], n, p=[0.2, 0.3, 0.5]),
            "y": rng.normal(size=n),
        }
    )


MARGINS = {"sex": {"f": 500.0, "m": 500.0}, "age": {"young": 300.0, "mid": 300.0, "old": 400.0}}


def test_rake_hits_every_margin_and_reports(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w", psu="psu").rake(MARGINS, tol=1e-9, max_iter=100)
    for col, pop in MARGINS.items():
        got = d.total(col).to_frame().set_index("level").estimate
        for level, count in pop.items():
            assert got[level] == pytest.approx(count, rel=1e-8)
    step = d.summary()["weighting"][-1]
    assert step["method"] == "rake" and step["converged"]
    assert step["iterations"] >= 2
    assert max(step["margin_errors"].values()) < 1e-6


def test_rake_accepts_a_long_dataframe(df: pd.DataFrame) -> None:
    long = pd.DataFrame(
        [(v, lev, c) for v, m in MARGINS.items() for lev, c in m.items()],
        columns=["variable", "level", "count"],
    )
    a = sp.Design(df, weights="w").rake(long).weights
    b = sp.Design(df, weights="w").rake(MARGINS).weights
    np.testing.assert_allclose(a, b, rtol=1e-14)


def test_rake_starts_from_design_weights(df: pd.DataFrame) -> None:
    """Raking from the design weights differs from raking equal weights."""
    a = sp.Design(df, weights="w").rake(MARGINS, tol=1e-10, max_iter=200).weights
    b = sp.Design(df.assign(w=1.0), weights="w").rake(MARGINS, tol=1e-10, max_iter=200).weights
    assert not np.allclose(a, b)


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({"sex": {"f": 500.0}, "age": MARGINS["age"]}, "not in its margin"),
        ({"sex": {"f": 500.0, "m": 500.0, "x": 10.0}, "age": MARGINS["age"]}, "no sample"),
        ({"sex": {"f": 600.0, "m": -100.0}, "age": MARGINS["age"]}, ">= 0"),
        ({"sex": {"f": 600.0, "m": 600.0}, "age": MARGINS["age"]}, "totals differ"),
        ({"sex": {"F": 500.0, "M": 500.0}, "age": MARGINS["age"]}, "not in its margin"),
        ({"region": {"a": 1000.0}}, "'region'"),
    ],
)
def test_bad_margins(df: pd.DataFrame, margins: dict, message: str) -> None:
    with pytest.raises(sp.InvalidInputError, match=message):
        sp.Design(df, weights="w").rake(margins)


def test_rake_that_does_not_converge_warns_or_with_strict_raises(df: pd.DataFrame) -> None:
    with pytest.warns(sp.ConvergenceWarning, match="^Raking did not converge after 1 iterations"):
        sp.Design(df, weights="w").rake(MARGINS, max_iter=1, tol=1e-12)
    with pytest.raises(sp.NotEstimableError, match="^Raking did not converge after 1 iterations"):
        sp.Design(df, weights="w").rake(MARGINS, max_iter=1, tol=1e-12, strict=True)


def test_trim_keeps_the_total_and_bounds(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    t = d.trim(lower=1.5, upper=3.5, strict=True)
    assert t.weights.sum() == pytest.approx(d.weights.sum(), rel=1e-12)
    assert t.weights.min() >= 1.5 - 1e-12 and t.weights.max() <= 3.5 + 1e-12
    with pytest.raises(sp.InvalidInputError, match="above"):
        d.trim(lower=5, upper=2)


def test_weight_summary_and_margin_comparison(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    s = d.weight_summary()
    w = df.w.to_numpy()
    assert s["kish_deff"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert s["n_eff"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    raked = d.rake(MARGINS, tol=1e-10, max_iter=200)
    table = raked.compare_margins(MARGINS).to_frame()
    assert np.allclose(table.after_share, table.population_share, atol=1e-9)
    assert not np.allclose(table.before_share, table.population_share, atol=1e-3)


def test_bounded_rake_is_raking_calibration_within_bounds(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w").rake(MARGINS, bounds=(0.5, 2.5), max_iter=100)
    g = d.weights / df.w.to_numpy()
    assert g.min() >= 0.5 - 1e-9 and g.max() <= 2.5 + 1e-9
    totals = d.total("sex").to_frame().set_index("level").estimate
    assert totals["f"] == pytest.approx(500.0, rel=1e-6)
    assert d.summary()["weighting"][-1]["calfun"] == "raking"
