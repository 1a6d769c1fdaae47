"""Design.table (R's svytable): views, rescaling and every error's message."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import steppe as sp


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "w": [1.0, 2, 3, 4, 5, 6],
            "s": ["a", "b", "a", "a", "b", "c"],
            "psu": [1, 3, 2, 1, 4, 5],
            "x": ["p", "q", "q", None, "p", "q"],
            "y": ["u", "u", "v", "v", "v", "u"],
        }
    )


def test_views_and_lonely_stratum(data: pd.DataFrame) -> None:
    d = sp.Design(data, weights="w", strata="s", psu="psu")  # stratum c: one PSU
    with pytest.raises(sp.NotEstimableError):
        d.crosstab("x", "y")  # variances need a lonely-PSU rule
    t = d.table("x", "y")
    assert t.wide().loc["q", "u"] == 8.0 and t.wide().loc["p", "v"] == 5.0
    frame = t.to_frame()
    assert frame.columns.tolist() == ["x", "y", "count", "n"]
    assert frame[["x", "y"]].values.tolist() == [["p", "u"], ["p", "v"], ["q", "u"], ["q", "v"]]
    assert frame["count"].tolist() == [1.0, 5.0, 8.0, 3.0] and t.total == 17.0
    assert t.wide().shape == (2, 2)
    doc = json.loads(t.to_json())
    assert doc["meta"]["total"] == 17.0 and doc["meta"]["statistic"] == "table"
    assert doc["rows"][2] == {"x": "q", "y": "u", "count": 8.0, "n": 2}
    assert "x by y: weighted counts (total 17); no variances" in t._repr_html_()
    assert repr(t).startswith("WeightedTable: x by y: weighted counts")
    one = d.table("y")
    assert one.wide().columns.tolist() == ["count"] and one.total == 21.0


def test_rescaling(data: pd.DataFrame) -> None:
    d = sp.Design(data, weights="w", strata="s", psu="psu")
    t = d.table("y", ntotal=42)
    assert t.ntotal == "total" and np.allclose(t.to_frame()["count"], [18.0, 24.0])
    per = {"a": 16, "b": 14, "c": 12}  # a: 1 + 3 + 4 = 8 -> x2; b: 7 -> x2; c: 6 -> x2
    for given in (per, pd.Series(per), pd.DataFrame({"s": list(per), "N": list(per.values())})):
        t = d.table("y", ntotal=given)
        assert t.ntotal == "stratum" and t.to_frame()["count"].tolist() == [18.0, 24.0]
    assert "rescaled to ntotal within strata" in t._repr_html_()
    # a stratum outside the domain needs no total
    sub = d.subset(data.s != "c")
    assert sub.table("y", ntotal={"a": 16, "b": 14}).total == 30.0


def test_errors(data: pd.DataFrame) -> None:
    d = sp.Design(data, weights="w", strata="s", psu="psu")
    with pytest.raises(sp.InvalidInputError, match=r"ntotal per stratum: no total for stratum 'c'"):
        d.table("y", ntotal={"a": 1, "b": 2})
    with pytest.raises(sp.InvalidInputError, match=r"ntotal: 'z' is not a stratum of s"):
        d.table("y", ntotal={"a": 1, "b": 2, "c": 3, "z": 4})
    with pytest.raises(sp.InvalidInputError, match=r"the total of stratum 'a' is not a number"):
        d.table("y", ntotal={"a": "many", "b": 2, "c": 3})
    with pytest.raises(sp.InvalidInputError, match=r"needs two columns, the stratum and its total"):
        d.table("y", ntotal=pd.DataFrame({"s": ["a"], "N": [1], "M": [2]}))
    with pytest.raises(
        sp.InvalidInputError, match=r"ntotal must be a number \(the table's total\)"
    ):
        d.table("y", ntotal=[1, 2, 3])
    with pytest.raises(sp.InvalidInputError, match=r"ntotal must be one finite number"):
        d.table("y", ntotal=math.inf)
    with pytest.raises(sp.InvalidInputError, match=r"table: unknown column\(s\) \['nope'\]"):
        d.table("y", "nope")
    unstratified = sp.Design(data, weights="w")
    with pytest.raises(
        sp.InvalidInputError, match=r"ntotal per stratum needs a design with strata"
    ):
        unstratified.table("y", ntotal={"a": 1})
    reps = sp.Design(data, weights="w", psu="psu").to_replicate("JK1")
    with pytest.raises(sp.InvalidInputError, match=r"a replicate design has no strata"):
        reps.table("y", ntotal={"a": 1})
    with pytest.raises(
        sp.NotEstimableError, match=r"no row with a nonzero weight is in the table, so it cannot"
    ):
        d.subset(data.x.isna()).table("x", ntotal=10)
    with pytest.raises(sp.NotEstimableError, match=r"column 'x' has no non-missing values"):
        sp.Design(data.assign(x=None), weights="w").table("x")


def test_replicate_default_rescales_to_the_domain_weights(data: pd.DataFrame) -> None:
    # R's svytable.svyrep.design: Ntotal = sum(weights(design, "sampling")); the row
    # missing x (weight 4) is spread over the cells.
    reps = sp.Design(data, weights="w", psu="psu").to_replicate("JK1")
    t = reps.table("x")
    assert np.allclose(t.to_frame()["count"], [6 * 21 / 17, 11 * 21 / 17])
    assert math.isclose(reps.table("y").total, 21.0)
