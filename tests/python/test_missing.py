"""Missing values said out loud: complete cases against R's na.rm = TRUE, counts, empty domains.

Goldens: tests/golden/make_missing_golden.R (R's svymean / svytotal / svyratio /
svyby with na.rm = TRUE; intervals from confint(), i.e. normal quantiles).
"""

from __future__ import annotations

import json
import math
import pathlib
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_compare import design_from_spec

import steppe as sp
from steppe.errors import EqualProbabilityWarning, ManyLevelsWarning

ROOT = pathlib.Path(__file__).parents[2]
CASES = json.loads((ROOT / "tests" / "golden" / "missing" / "missing.json").read_text())


def load(name: str) -> pd.DataFrame:
    path = ROOT / "tests" / "golden" / "data" / f"{name}.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def case_design(case: dict[str, Any]) -> sp.Design:
    data = load(case["design"]["data"]).copy()
    if case["set_na"]:
        s = case["set_na"]
        data.loc[data[s["where"]] == s["value"], s["column"]] = np.nan
    if case["by_na"]:
        rows = np.asarray(case["by_na"]) - 1
        data[case["by"]] = data[case["by"]].astype(object)
        data.loc[data.index[rows], case["by"]] = None
    d = design_from_spec(data, case["design"])
    if case["replicate"]:
        d = d.to_replicate(case["replicate"])
    return d


def run(d: sp.Design, case: dict[str, Any], df: Any) -> sp.Estimates:
    variables = list(case["variables"])
    if case["statistic"] == "ratio":
        return d.ratio(variables, case["denominator"], by=case["by"], df=df)
    method = getattr(d, case["statistic"])
    result: sp.Estimates = method(variables, by=case["by"], df=df)
    return result


def locate(frame: pd.DataFrame, case: dict[str, Any], row: dict[str, Any]) -> pd.Series:
    """The steppe row of an R coefficient (name, or factor name + level, or num/den)."""
    coef = row["coef"]
    mask = pd.Series(True, index=frame.index)
    if case["by"]:
        mask &= frame[case["by"]].astype(str) == row["by"]
    if case["statistic"] == "ratio":
        mask &= frame["variable"] == coef.split("/")[0]
    elif coef in case["variables"]:
        mask &= frame["variable"] == coef
    else:  # a factor's level: R names it variable + level
        var = next(v for v in case["variables"] if coef.startswith(v))
        mask &= (frame["variable"] == var) & (frame["level"].astype(str) == coef[len(var) :])
    hits = frame[mask]
    assert len(hits) == 1, (coef, row["by"])
    return hits.iloc[0]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_missing_values_match_r(case: dict[str, Any]) -> None:
    d = case_design(case)
    est = run(d, case, math.inf)
    frame = est.to_frame()
    assert len(frame) == len(case["rows"])  # every domain appears, all-missing ones too
    for row in case["rows"]:
        got = locate(frame, case, row)
        assert got.n == row["n"]
        assert got.n_missing == row["n_missing"]
        if row["all_missing"]:
            # R's svyby prints 0 (SE 0) for a domain with no complete row; steppe: NaN.
            assert got.n == 0 and got.weight_sum == 0
            for col in ("estimate", "se", "ci_low", "ci_high", "df"):
                assert math.isnan(got[col]), col
            assert got.flag == "suppress: no row with a value (all missing)"
            continue
        for col in ("estimate", "se", "ci_low", "ci_high"):
            assert got[col] == pytest.approx(row[col], rel=1e-9, abs=1e-12), col
        assert got.df == math.inf
    missing = est.meta["missing"]
    assert missing["by_rows"] == case["by_missing"]
    assert frame.attrs["missing"] == missing
    if not case["by"] and not case["replicate"]:
        # df="design": t quantiles with the complete cases' degf, as confint(df = degf(sub)).
        t_frame = run(d, case, "design").to_frame()
        for row in case["rows"]:
            got = locate(t_frame, case, row)
            assert got.df == row["degf"]
            assert got.ci_low == pytest.approx(row["ci_low_t"], rel=1e-9)
            assert got.ci_high == pytest.approx(row["ci_high_t"], rel=1e-9)


@pytest.fixture(scope="module")
def strat() -> sp.Design:
    return design_from_spec(load("apistrat"), CASES[0]["design"])


def test_available_cases_and_caption(strat: sp.Design) -> None:
    complete = strat.mean(["acs.k3", "api00"])
    available = strat.mean(["acs.k3", "api00"], na="available")
    single = strat.mean("api00")
    got = available.to_frame().set_index("variable")
    # Available cases: api00 on all 200 rows, as a call for api00 alone.
    assert got.loc["api00", "estimate"] == single.to_frame().estimate.iloc[0]
    assert got.loc["api00", "n"] == 200 and got.loc["api00", "n_missing"] == 0
    assert got.loc["acs.k3", "n_missing"] == 103
    assert available.meta["missing"] == {
        "rule": "available",
        "columns": ["acs.k3", "api00"],
        "rows": {"acs.k3": 103, "api00": 0},
        "by_rule": "exclude",
        "by_rows": 0,
    }
    assert complete.meta["missing"]["rows"] == {"acs.k3": 103, "api00": 103}
    assert "103 rows left out for missing values (complete cases of acs.k3, api00)" in repr(
        complete
    )
    assert "rows left out for missing values: acs.k3 103, api00 0" in repr(available)
    assert "df: design (96)" in repr(complete)
    assert "95% CI (wald)" in repr(complete)
    assert "df: inf (normal quantiles)" in repr(strat.mean("api00", df=math.inf))
    assert "left out" not in repr(single)
    assert "df: design (197)" in repr(single)


def test_missing_by_values_excluded_or_a_domain(strat: sp.Design) -> None:
    data = strat.data.copy()
    data["sch.wide"] = data["sch.wide"].astype(object)
    data.loc[data.index[:4], "sch.wide"] = None
    d = design_from_spec(data, CASES[0]["design"])
    excluded = d.mean("api00", by="sch.wide")
    assert excluded.meta["missing"]["by_rows"] == 4
    assert "4 rows with a missing sch.wide value left out" in repr(excluded)
    domain = d.mean("api00", by="sch.wide", na_by="domain").to_frame()
    assert len(domain) == 3
    last = domain.iloc[-1]
    assert pd.isna(last["sch.wide"]) and last.n == 4
    alone = d.subset(data["sch.wide"].isna()).mean("api00").to_frame().iloc[0]
    assert last.estimate == pytest.approx(alone.estimate, rel=1e-12)
    assert last.se == pytest.approx(alone.se, rel=1e-12)
    assert "(missing)" in repr(d.mean("api00", by="sch.wide", na_by="domain"))


def test_option_errors(strat: sp.Design) -> None:
    with pytest.raises(sp.InvalidInputError, match="na must be 'complete' or 'available', got 'x'"):
        strat.mean("api00", na="x")
    with pytest.raises(sp.InvalidInputError, match="na_by must be 'exclude' or 'domain', got 'y'"):
        strat.mean("api00", by="stype", na_by="y")
    with pytest.raises(
        sp.InvalidInputError,
        match=r"mean\(\): ci='beta' is an interval for shares, but 'api00' is numeric; its "
        r"interval is Wald \(t with df\): leave ci unset or pass ci='wald'",
    ):
        strat.mean("api00", ci="beta")
    with pytest.raises(
        sp.InvalidInputError,
        match=r"proportion\(\): unknown ci 'exact'; use 'wald' or one of logit, beta, wilson",
    ):
        strat.proportion("stype", ci="exact")
    # A categorical mean takes the share methods; ci="wald" everywhere.
    assert strat.mean("stype", ci="beta").meta["ci_method"] == "beta"
    assert strat.mean("api00", ci="wald").meta["ci_method"] == "wald"
    assert strat.proportion("stype", ci="wald").meta["ci_method"] == "wald"


def test_proportion_of_numeric_column_warns(strat: sp.Design) -> None:
    with pytest.warns(ManyLevelsWarning) as caught:
        est = strat.proportion("api00")
    assert str(caught[0].message) == (
        "proportion(): 'api00' is numeric with 156 distinct values, so the result has 156 "
        "shares per domain; use mean() for its average, or bin it (pd.cut) or make it "
        "categorical (astype('category')) first"
    )
    assert len(est) == 156
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        strat.proportion("yr.rnd")  # two values: no warning


def test_no_weights_no_fpc_warns() -> None:
    df = pd.DataFrame({"y": [1.0, 2.0, 4.0]})
    with pytest.warns(EqualProbabilityWarning) as caught:
        d = sp.Design(df)
    assert str(caught[0].message) == (
        "No weights or probabilities supplied, assuming equal probability (every weight 1, "
        "as R's svydesign); design effects are then undefined (inf)"
    )
    assert d.weights.tolist() == [1.0, 1.0, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sp.Design(df.assign(w=1.0), weights="w")
        sp.Design(df.assign(N=10.0), fpc="N")


def test_all_missing_everywhere_raises_with_count(strat: sp.Design) -> None:
    high = strat.subset(strat.data.stype == "H")
    with pytest.raises(
        sp.NotEstimableError,
        match=r"no row has a valid value with a nonzero weight in the requested domain\(s\) "
        r"\(50 rows left out for missing values\)",
    ):
        high.mean("acs.k3")


def test_json_carries_missing_meta(strat: sp.Design) -> None:
    out = json.loads(strat.mean(["acs.k3", "api00"], by="stype").to_json())
    assert out["meta"]["missing"]["rows"] == {"acs.k3": 103, "api00": 103}
    assert "n_missing" in out["columns"]


@pytest.mark.parametrize("replicate", [False, True])
def test_all_missing_domain_of_a_categorical_variable(replicate: bool) -> None:
    data = load("apistrat")
    data.loc[data.stype == "M", "sch.wide"] = None
    d = design_from_spec(data, CASES[0]["design"])
    if replicate:
        d = d.to_replicate("JKn")
    frame = d.proportion(["sch.wide", "awards"], by="stype").to_frame()
    empty = frame[frame.stype == "M"]
    assert len(empty) == 4  # both levels of both variables (complete cases)
    assert (empty.n == 0).all() and (empty.n_missing == 50).all()
    assert empty.estimate.isna().all() and empty.ci_low.isna().all()
    full = frame[frame.stype != "M"]
    assert full.estimate.notna().all() and (full.n_missing == 0).all()
