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
    assert close(r.ndf, case["ndf"]), (r.ndf, case["ndf"])
    if case["ddf"] is not None:
        assert close(r.ddf, case["ddf"]), (r.ddf, case["ddf"])
    assert close(r.p_value, case["p_value"], 1e-8), (r.p_value, case["p_value"])


def test_chisq_refuses_unknown_statistic_and_one_level() -> None:
    data = load("apistrat")
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(sp.InvalidInputError, match="statistic"):
        d.chisq("sch.wide", "stype", statistic="lincom")
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
    codes = d._codes("awards").codes
    by = d._codes("stype")
    raw = d._core_estimate(
        "mean", codes=codes, levels=2, by=[by.codes], by_levels=[3], covariance=True
    )
    cov = raw["covariance"]
    var = raw["variance"].reshape(cov.shape[0], 2)
    for dom in range(cov.shape[0]):
        assert np.diag(cov[dom]) == pytest.approx(var[dom], rel=1e-12)
        # shares of a 2-level item: the two cells are perfectly anti-correlated
        assert cov[dom][0, 1] == pytest.approx(-var[dom][0], rel=1e-9)
