"""Post-stratification: weights hit the population counts; bad populations get clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import steppe as sp


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 200
    return pd.DataFrame(
        {
            "w": rng.uniform(1, 3, n),
            "psu": rng.integers(0, 20, n),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.choice(["young", "old"], n),
            "y": rng.normal(size=n),
        }
    )


def test_weights_reach_population_counts(df: pd.DataFrame) -> None:
    pop = pd.Series({"f": 600.0, "m": 400.0})
    d = sp.Design(df, weights="w", psu="psu").poststratify("sex", pop)
    totals = d.total("sex").to_frame().set_index("level").estimate
    assert totals["f"] == pytest.approx(600.0, rel=1e-12)
    assert totals["m"] == pytest.approx(400.0, rel=1e-12)
    # A post-stratum's own total has no sampling variance left.
    assert d.total("sex").to_frame().se.max() < 1e-9


def test_crossed_cells_from_a_dataframe(df: pd.DataFrame) -> None:
    pop = pd.DataFrame(
        {"sex": ["f", "f", "m", "m"], "age": ["old", "young", "old", "young"], "n": [1, 2, 3, 4]}
    )
    d = sp.Design(df, weights="w").poststratify(["sex", "age"], pop)
    assert d.weights.sum() == pytest.approx(10.0, rel=1e-12)


def test_sample_cell_missing_from_population(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="absent from the population"):
        sp.Design(df, weights="w").poststratify("sex", {"f": 10.0})


def test_population_cell_without_sample(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="have no sample"):
        sp.Design(df, weights="w").poststratify("sex", {"f": 10.0, "m": 5.0, "x": 1.0})


def test_negative_count(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match=">= 0"):
        sp.Design(df, weights="w").poststratify("sex", {"f": 10.0, "m": -5.0})


def test_labels_that_do_not_match(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="absent|no sample"):
        sp.Design(df, weights="w").poststratify("sex", {"female": 10.0, "male": 5.0})


def test_weighting_twice_chains_as_r(df: pd.DataFrame) -> None:
    # R's postStratify on a post-stratified design: weighted from the current
    # weights, both steps kept for the variance (tests/golden/chain has R's numbers).
    d = sp.Design(df, weights="w").poststratify("sex", {"f": 10.0, "m": 5.0})
    again = d.poststratify("age", {"old": 1.0, "young": 2.0})
    assert [s["method"] for s in again.summary()["weighting"]] == ["poststratify"] * 2
    assert again.weights.sum() == pytest.approx(3.0, rel=1e-12)


def test_unknown_column(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="'region'"):
        sp.Design(df, weights="w").poststratify("region", {"a": 1.0})
