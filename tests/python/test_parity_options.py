"""R's remaining design options: deff="replace" and the domain-lonely-PSU rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import steppe as sp


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 60
    return pd.DataFrame(
        {
            "w": rng.uniform(5, 20, n),
            "s": np.repeat(["a", "b", "c"], n // 3),
            "psu": np.repeat(np.arange(12), n // 12),
            "y": rng.normal(10, 3, n),
            "g": rng.choice(["u", "v"], n),
        }
    )


def test_deff_replace_is_deff_times_one_minus_n_over_n(data: pd.DataFrame) -> None:
    d = sp.Design(data, weights="w", strata="s", psu="psu")
    for stat in ("mean", "total"):
        wor = getattr(d, stat)("y", by="g").to_frame()
        wr = getattr(d, stat)("y", by="g", deff="replace").to_frame()
        big_n = wor["weight_sum"].to_numpy()
        np.testing.assert_allclose(wr["deff"], wor["deff"] * (big_n - wor["n"]) / big_n)
        np.testing.assert_allclose(wr["se"], wor["se"])
        np.testing.assert_allclose(wr["n_eff"], wr["n"] / wr["deff"])
    share = d.proportion("g", deff="replace")
    assert share.meta["deff"] == "replace" and "deff" not in d.proportion("g").meta
    ratio = d.ratio("y", "w", deff="replace").to_frame()
    assert ratio["deff"].iloc[0] > 0


def test_deff_option_errors(data: pd.DataFrame) -> None:
    d = sp.Design(data, weights="w", strata="s", psu="psu")
    msg = (
        r"deff must be True \(against simple random sampling without replacement, R's "
        r"deff=TRUE\) or 'replace' \(with replacement, R's deff=\"replace\"\), got False"
    )
    with pytest.raises(sp.InvalidInputError, match=msg):
        d.mean("y", deff=False)
    with pytest.raises(sp.InvalidInputError, match=r"got 'srs'"):
        d.total("y", deff="srs")
