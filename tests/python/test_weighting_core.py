"""Weighting in the core: R's trimming through the public API, replicate columns
weighted in C++ (the same for any thread count, the failing column named), and
no calibration state handed to Python."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "weights.json"
TRIM_CASES = json.loads(GOLDEN.read_text())["trim"]
MARGINS = {"sex": {"f": 600.0, "m": 400.0}, "age": {"y": 300.0, "m": 300.0, "o": 400.0}}


@pytest.mark.parametrize("case", TRIM_CASES, ids=[c["name"] for c in TRIM_CASES])
def test_trim_is_rs_trimweights(case: dict[str, Any]) -> None:
    """tests/golden/weights.json (make_weights_golden.R): R's trimWeights, including
    every weight outside the bounds (clamped, total changed) and strict trimming
    that cannot settle (R runs out of stack; steppe says why)."""
    d = sp.Design(pd.DataFrame({"w": case["weights"]}), weights="w")
    if case["r_error"]:
        with pytest.raises(sp.NotEstimableError, match="cannot hold the weights' total"):
            d.trim(case["lower"], case["upper"], strict=case["strict"])
        return
    t = d.trim(case["lower"], case["upper"], strict=case["strict"])
    np.testing.assert_allclose(t.weights, case["expected"], rtol=1e-9, atol=0)
    step = t.summary()["weighting"][-1]
    w = np.asarray(case["weights"])
    lower = -np.inf if case["lower"] is None else case["lower"]
    upper = np.inf if case["upper"] is None else case["upper"]
    assert step["trimmed"] == int(((w < lower) | (w > upper)).sum())
    assert (step["rounds"] == 0) == (step["trimmed"] == 0)


def test_trim_with_every_weight_outside_changes_the_total_as_r() -> None:
    d = sp.Design(pd.DataFrame({"w": [1.0, 1.0, 10.0]}), weights="w")
    assert d.trim(lower=2, upper=5).weights.tolist() == [2.0, 2.0, 5.0]
    assert d.trim(lower=20, upper=30, strict=True).weights.tolist() == [20.0, 20.0, 20.0]


@pytest.fixture
def replicated() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 240
    return pd.DataFrame(
        {
            "w": rng.uniform(1, 4, n),
            "psu": np.repeat(np.arange(24), n // 24),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.choice(["y", "m", "o"], n),
            "x": rng.uniform(0, 10, n),
        }
    )


@pytest.mark.parametrize(
    "step",
    [
        lambda d: d.poststratify("sex", MARGINS["sex"]),
        lambda d: d.rake(MARGINS, tol=1e-9, max_iter=50),
        lambda d: d.calibrate({"sex": MARGINS["sex"], "x": 5000.0}),
        lambda d: d.calibrate({"age": MARGINS["age"]}, method="logit", bounds=(0.3, 3.0)),
        lambda d: d.trim(upper=3.5, strict=True),
    ],
    ids=["poststratify", "rake", "calibrate", "calibrate_logit", "trim"],
)
def test_replicate_weighting_is_the_same_for_any_thread_count(
    replicated: pd.DataFrame, step: Any
) -> None:
    one = step(sp.Design(replicated, weights="w", psu="psu", threads=1).to_replicate("JK1"))
    two = step(sp.Design(replicated, weights="w", psu="psu", threads=2).to_replicate("JK1"))
    np.testing.assert_array_equal(one.weights, two.weights)
    np.testing.assert_array_equal(one.replicate_weights, two.replicate_weights)
    assert one.replicate_weights.shape == (len(replicated), 24)
    assert np.isfinite(one.replicate_weights).all()
    # the replicate design's variance comes from the re-weighted replicates
    assert not one._state.core.calibrated
    assert one.summary()["type"] == "JK1"


def test_a_failing_replicate_column_is_named(replicated: pd.DataFrame) -> None:
    df = pd.DataFrame({"w": [1.0] * 6, "c": list("aabaaa")})
    for r in range(3):
        df[f"rep{r + 1}"] = [0.0 if i // 2 == r else 1.5 for i in range(6)]
    d = sp.ReplicateDesign(df, weights="w", replicate_weights="rep[0-9]", type="JK1")
    with pytest.raises(sp.InvalidInputError, match=r"replicate 2 \(rep2\): poststratify"):
        d.poststratify("c", {"a": 10.0, "b": 2.0})


def test_no_calibration_state_round_trips_through_python() -> None:
    for gone in ("build_cells", "trim_weights"):
        assert not hasattr(_core, gone)
    assert not hasattr(_core.Design, "reweighted")
    d = sp.Design(pd.DataFrame({"w": [1.0, 2, 3, 4], "s": list("abab")}), weights="w")
    ps = d.poststratify("s", {"a": 5.0, "b": 5.0})
    core, report = _core.trim(ps._state.core, upper=3.0)
    assert isinstance(report, _core.WeightingReport)
    assert report.method == "trim" and report.trimmed == 2  # 3.75 and 3.33
    assert core.calibrated  # trimming keeps the post-stratification for the variance
    assert not core.weights.flags.writeable
