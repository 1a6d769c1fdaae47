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


def _lonely_in_domain(data: pd.DataFrame) -> pd.DataFrame:
    # domain "x" has rows in PSU 0 only of stratum a (PSUs 0-3), and in several PSUs of b and c
    out = data.copy()
    out["g"] = np.where((out.s == "a") & (out.psu != 0), "z", "x")
    return out


def test_adjust_domain_lonely_changes_adjust_and_average_only(data: pd.DataFrame) -> None:
    data = _lonely_in_domain(data)
    for rule in ("adjust", "average", "remove", "certainty", "fail"):
        plain = sp.Design(data, weights="w", strata="s", psu="psu", lonely_psu=rule)
        opt = sp.Design(
            data, weights="w", strata="s", psu="psu", lonely_psu=rule, adjust_domain_lonely=True
        )
        assert opt.summary()["adjust_domain_lonely"] is True
        assert "adjust_domain_lonely" not in plain.summary()
        a = plain.mean("y", by="g").to_frame()
        b = opt.mean("y", by="g").to_frame()
        np.testing.assert_allclose(a["estimate"], b["estimate"])
        changed = not np.allclose(a["se"], b["se"])
        assert changed == (rule in ("adjust", "average")), rule


def test_adjust_domain_lonely_does_nothing_on_a_calibrated_design(data: pd.DataFrame) -> None:
    # R keeps every row of a calibrated design's domain (weight 0 outside): no PSU is
    # alone in a stratum there.
    data = _lonely_in_domain(data)
    margins = {"s": {"a": 100, "b": 120, "c": 90}}
    kw = {"weights": "w", "strata": "s", "psu": "psu", "lonely_psu": "adjust"}
    plain = sp.Design(data, **kw).poststratify("s", margins["s"])
    opt = sp.Design(data, adjust_domain_lonely=True, **kw).poststratify("s", margins["s"])
    np.testing.assert_allclose(
        plain.mean("y", by="g").to_frame()["se"], opt.mean("y", by="g").to_frame()["se"]
    )


def test_adjust_domain_lonely_refuses_two_stage_designs(data: pd.DataFrame) -> None:
    data = data.assign(ssu=np.arange(len(data)) % 2)
    with pytest.raises(
        sp.InvalidInputError,
        match=r"adjust_domain_lonely: not available for two-stage designs \(psu2\); R applies it "
        r"at every stage, steppe only to one-stage designs",
    ):
        sp.Design(data, weights="w", strata="s", psu="psu", psu2="ssu", adjust_domain_lonely=True)
