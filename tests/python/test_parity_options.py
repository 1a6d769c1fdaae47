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


@pytest.fixture
def apistrat() -> pd.DataFrame:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "golden" / "data" / "apistrat.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def test_score_interval_without_a_root_is_flagged(apistrat: pd.DataFrame) -> None:
    # R: uniroot stops with "f() values at end points not of opposite sign".
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    f = d.quantile("api00", [0.995, 0.5], ci="score").to_frame()
    assert np.isnan(f.se.iloc[0]) and np.isnan(f.ci_high.iloc[0]) and f.ci_low.iloc[0] == 884
    assert f.flag.iloc[0] == (
        "review: the score test has no root between min + IQR/100 and max - IQR/100 (R's "
        "uniroot stops with an error there)"
    )
    assert f.flag.iloc[1] == ""


def test_score_interval_errors(apistrat: pd.DataFrame) -> None:
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(
        sp.InvalidInputError,
        match=r"takes ci='mean' \(Woodruff\) or 'quantile' \(replicate quantiles\); R's "
        r"replicate svyquantile ignores 'beta', 'xlogit' and 'asin' and has no 'score'",
    ):
        d.to_replicate("JKn").quantile("api00", 0.5, ci="score")
    ps = d.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})
    assert np.isfinite(ps.quantile("api00", 0.5, ci="score").to_frame().se.iloc[0])
    with pytest.raises(
        sp.InvalidInputError,
        match=r"ci='score' on a weighted \(post-stratified, raked or calibrated\) design works on "
        r"the whole sample only: R's score interval \(survey 4.1.1's ffullerCI\) reads rows "
        r"outside the domain there; use ci='mean' for domains or rows with missing values",
    ):
        ps.quantile("api00", 0.5, ci="score", by="stype")
    with pytest.raises(sp.InvalidInputError, match=r"ci must be one of \('mean', 'beta', "):
        d.quantile("api00", 0.5, ci="wilson")
