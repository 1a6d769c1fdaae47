"""Invariants the engine promises: weight scaling, row order, threads, domains."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import steppe as sp


def make_poll(seed: int, n_strata: int = 6, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, n_strata, rows)
    psu = stratum * 10 + rng.integers(0, 4, rows)
    return pd.DataFrame(
        {
            "w": rng.lognormal(0, 0.8, rows),
            "stratum": stratum,
            "psu": psu,
            "y": rng.normal(50, 10, rows),
            "x": rng.uniform(1, 2, rows),
            "item": pd.Categorical(rng.choice(["a", "b", "c"], rows, p=[0.6, 0.3, 0.1])),
            "grp": rng.choice(["g1", "g2", "g3"], rows),
        }
    )


def frame(d: sp.Design, how: str) -> pd.DataFrame:
    if how == "mean":
        return d.mean("y", by="grp").to_frame()
    if how == "total":
        return d.total("y", by="grp").to_frame()
    if how == "ratio":
        return d.ratio("y", "x", by="grp").to_frame()
    return d.proportion("item", by="grp").to_frame()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1000))
def test_weight_scaling(seed: int, scale: float) -> None:
    df = make_poll(seed)
    scaled = df.assign(w=df.w * scale)
    for how in ("mean", "proportion", "ratio", "total"):
        a = frame(sp.Design(df, weights="w", strata="stratum", psu="psu"), how)
        b = frame(sp.Design(scaled, weights="w", strata="stratum", psu="psu"), how)
        factor = scale if how == "total" else 1.0
        np.testing.assert_allclose(b.estimate, a.estimate * factor, rtol=1e-10)
        np.testing.assert_allclose(b.se, a.se * factor, rtol=1e-9)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_row_order_does_not_matter(seed: int) -> None:
    df = make_poll(seed)
    shuffled = df.sample(frac=1.0, random_state=seed)
    for how in ("mean", "proportion"):
        a = frame(sp.Design(df, weights="w", strata="stratum", psu="psu"), how)
        b = frame(sp.Design(shuffled, weights="w", strata="stratum", psu="psu"), how)
        np.testing.assert_allclose(b.estimate, a.estimate, rtol=1e-12)
        np.testing.assert_allclose(b.se, a.se, rtol=1e-10)


def test_thread_count_does_not_matter() -> None:
    df = make_poll(7, n_strata=40, rows=120_000)
    one = sp.Design(df, weights="w", strata="stratum", psu="psu", threads=1)
    two = sp.Design(df, weights="w", strata="stratum", psu="psu", threads=2)
    for how in ("mean", "proportion", "ratio", "total"):
        a, b = frame(one, how), frame(two, how)
        np.testing.assert_allclose(b.estimate, a.estimate, rtol=1e-12)
        np.testing.assert_allclose(b.se, a.se, rtol=1e-12)


def test_subset_equals_by_domain() -> None:
    df = make_poll(3)
    d = sp.Design(df, weights="w", strata="stratum", psu="psu")
    by = d.proportion("item", by="grp").to_frame()
    sub = d.subset(df.grp == "g2").proportion("item").to_frame()
    np.testing.assert_allclose(sub.estimate, by[by.grp == "g2"].estimate, rtol=1e-12)
    np.testing.assert_allclose(sub.se, by[by.grp == "g2"].se, rtol=1e-12)
    np.testing.assert_allclose(sub.ci_low, by[by.grp == "g2"].ci_low, rtol=1e-12)


def test_subset_is_not_row_dropping() -> None:
    """Dropping rows loses the design's PSUs that miss the domain; subset keeps them."""
    df = make_poll(5)
    d = sp.Design(df, weights="w", strata="stratum", psu="psu")
    keep = (df.grp == "g1") & (df.psu % 10 == 0)
    dom = d.subset(keep).mean("y").to_frame()
    dropped = sp.Design(df[keep], weights="w", strata="stratum", psu="psu", lonely_psu="certainty")
    naive = dropped.mean("y").to_frame()
    assert dom.estimate.iloc[0] == pytest.approx(naive.estimate.iloc[0], rel=1e-12)
    assert dom.se.iloc[0] != pytest.approx(naive.se.iloc[0], rel=1e-3)


def test_proportions_sum_to_one_and_counts_to_weight_sum() -> None:
    df = make_poll(9)
    d = sp.Design(df, weights="w", strata="stratum", psu="psu")
    p = d.proportion("item", by="grp").to_frame()
    np.testing.assert_allclose(p.groupby("grp").estimate.sum(), 1.0, rtol=1e-12)
    t = d.total("item").to_frame()
    assert t.estimate.sum() == pytest.approx(df.w.sum(), rel=1e-12)
    assert (p.ci_low <= p.estimate).all() and (p.estimate <= p.ci_high).all()
