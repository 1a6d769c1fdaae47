"""Design.chisq against R's svychisq (tests/golden/make_chisq_golden.R), and crosstab."""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_compare import design_from_spec

import steppe as sp

ROOT = pathlib.Path(__file__).parents[2]
CASES = json.loads((ROOT / "tests" / "golden" / "chisq" / "chisq.json").read_text())


def load(name: str) -> pd.DataFrame:
    if name == "kz_poll_simulated":
        path = ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv"
    else:
        path = ROOT / "tests" / "golden" / "data" / f"{name}.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-300


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_chisq_matches_r(case: dict[str, Any]) -> None:
    data = load(case["data"])
    ds = case["design"]
    d = design_from_spec(data, ds)
    if case.get("replicate"):  # R: as.svrepdesign on the whole design, then the subset
        d = d.to_replicate(case["replicate"])
    if case["subset"]:
        d = d.subset(data[case["subset"]["column"]] == case["subset"]["equals"])
    r = d.chisq(case["row"], case["col"], statistic=case["statistic"])
    assert close(r.statistic, case["value"]), (r.statistic, case["value"])
    if case["ndf"] is not None:
        assert close(r.ndf, case["ndf"]), (r.ndf, case["ndf"])
    if case["ddf"] is not None:
        assert close(r.ddf, case["ddf"]), (r.ddf, case["ddf"])
    if case.get("p_value_precise") is not None:
        # saddlepoint: R's uniroot(tol = 1e-8) moves its p-value by ~1e-8 relative;
        # the same code with the root solved precisely is matched to 1e-9.
        assert close(r.p_value, case["p_value_precise"]), (r.p_value, case["p_value_precise"])
        assert close(r.p_value, case["p_value"], 1e-6), (r.p_value, case["p_value"])
    else:
        assert close(r.p_value, case["p_value"], 1e-8), (r.p_value, case["p_value"])


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["statistic"] == "saddlepoint"],
    ids=[c["name"] for c in CASES if c["statistic"] == "saddlepoint"],
)
def test_lincom_is_the_exact_distribution_the_saddlepoint_approximates(
    case: dict[str, Any],
) -> None:
    # R computes "lincom" with CompQuadForm::davies (to 1e-7), which Debian's R lacks:
    # it then warns and returns the saddlepoint. steppe integrates exactly; the
    # distribution function itself is checked against R in tests/cpp/test_chisq_sum.cpp.
    # Here: same statistic, and a p-value the saddlepoint approximates closely.
    data = load(case["data"])
    d = design_from_spec(data, case["design"])
    if case.get("replicate"):
        d = d.to_replicate(case["replicate"])
    if case["subset"]:
        d = d.subset(data[case["subset"]["column"]] == case["subset"]["equals"])
    exact = d.chisq(case["row"], case["col"], statistic="lincom")
    saddle = d.chisq(case["row"], case["col"], statistic="saddlepoint")
    assert exact.statistic == saddle.statistic
    assert exact.method == "Pearson's X^2: asymptotic exact distribution"
    assert 0 < exact.p_value < 1
    assert abs(math.log(exact.p_value / saddle.p_value)) < 0.25, (exact.p_value, saddle.p_value)
    if exact.ndf == 1 and float(exact.ddf).is_integer():
        # One eigenvalue (a 2 x 2 table, or 2 x k with one nonzero): X^2 / delta over
        # chi2_ddf / ddf is exactly F(1, ddf), so "lincom" is R's "F" p-value.
        f_case = next(c for c in CASES if c["name"] == case["name"].replace("saddlepoint", "F"))
        assert close(exact.p_value, f_case["p_value"]), (exact.p_value, f_case["p_value"])


def test_chisq_refuses_unknown_statistic_and_one_level() -> None:
    data = load("apistrat")
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(sp.InvalidInputError, match="statistic"):
        d.chisq("sch.wide", "stype", statistic="davies")
    one = sp.Design(data.assign(k="same"), weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(sp.NotEstimableError, match="two levels"):
        one.chisq("sch.wide", "k")


def test_crosstab_shares_add_up() -> None:
    data = load("apistrat")
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    t = d.crosstab("sch.wide", "stype")
    cells = t.cells.to_frame()
    assert cells.estimate.sum() == pytest.approx(1.0, rel=1e-12)
    rows = t.rows.to_frame()
    assert rows.groupby("sch.wide").estimate.sum().tolist() == pytest.approx([1.0, 1.0])
    cols = t.columns.to_frame()
    assert cols.groupby("stype").estimate.sum().tolist() == pytest.approx([1.0, 1.0, 1.0])
    # A row share equals the joint share over the row's margin.
    joint = cells.set_index("level").estimate
    row_yes = joint[[lvl for lvl in joint.index if lvl.startswith("Yes /")]].sum()
    e_given_yes = rows[(rows["sch.wide"] == "Yes") & (rows.level == "E")].estimate.iloc[0]
    assert e_given_yes == pytest.approx(joint["Yes / E"] / row_yes, rel=1e-12)
    assert set(t.to_frame().table) == {"cell", "row", "column"}
    assert not math.isnan(cells.se.iloc[0])


@pytest.mark.parametrize("lonely", ["fail", "adjust"])
def test_covariance_diagonal_is_the_variance_with_two_stages(lonely: str) -> None:
    data = load("apiclus2")
    fpc2 = "fpc2" if lonely == "fail" else "fpc2_l"  # fpc2_l: a lonely unit at stage 2
    d = sp.Design(
        data, weights="pw", psu="dnum", fpc="fpc1", psu2="snum", fpc2=fpc2, lonely_psu=lonely
    )
    codes, _ = pd.factorize(data["awards"], sort=True)
    by, by_labels = pd.factorize(data["stype"], sort=True)
    raw = sp._core.estimate(
        d._state.core,
        "mean",
        codes=codes.astype(np.int32),
        levels=2,
        by=[by.astype(np.int32)],
        by_levels=[len(by_labels)],
        covariance=True,
    )
    cov = raw.covariance
    assert cov is not None
    var = raw.variance.reshape(cov.shape[0], 2)
    for dom in range(cov.shape[0]):
        assert np.diag(cov[dom]) == pytest.approx(var[dom], rel=1e-12)
        # shares of a 2-level item: the two cells are perfectly anti-correlated
        assert cov[dom][0, 1] == pytest.approx(-var[dom][0], rel=1e-9)
