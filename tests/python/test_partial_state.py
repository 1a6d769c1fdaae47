"""The mergeable state through the binding: slices' states, pickled, merged in any order.

For random splits of the rows (scan 1) and of the sorted PSUs (scan 2), each
slice's state is pickled and unpickled (what Dask does between workers), the
states are merged in a shuffled order, and the finished result must equal
``_core.estimate`` on all rows to 1e-12 relative, column by column.
"""

from __future__ import annotations

import copy
import functools
import math
import pathlib
import pickle
import random
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN_DATA = ROOT / "tests" / "golden" / "data"
POLL = ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv"

FLOAT_COLUMNS = (
    "estimate",
    "variance",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "df",
    "n_eff",
    "weight_sum",
    "design_df",
)
EXACT_COLUMNS = ("domain_codes", "n", "psus", "strata")


@functools.cache
def _read(path: pathlib.Path) -> pd.DataFrame:
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def apistrat() -> sp.Design:
    return sp.Design(_read(GOLDEN_DATA / "apistrat.csv"), weights="pw", strata="stype", fpc="fpc")


def apiclus2() -> sp.Design:
    return sp.Design(
        _read(GOLDEN_DATA / "apiclus2.csv"),
        weights="pw",
        psu="dnum",
        psu2="snum",
        fpc="fpc1",
        fpc2="fpc2",
    )


def poll() -> sp.Design:
    return sp.Design(
        _read(POLL), weights="weight", strata="stratum", psu="psu", lonely_psu="adjust"
    )


def poll_poststratified() -> sp.Design:
    d = poll()
    data = d._state.data
    counts = data.groupby("sex")["weight"].sum() * 1.05
    return d.poststratify("sex", counts)


def poll_jk1() -> sp.Design:
    return sp.Design(_read(POLL), weights="weight", psu="psu").to_replicate("JK1")


def poll_subset() -> sp.Design:
    d = poll()
    return d.subset(d._state.data["urban_rural"] == "urban")


def request(
    design: sp.Design,
    statistic: str,
    variable: str,
    by: list[str],
    *,
    categorical: bool,
    denominator: str | None = None,
    **options: Any,
) -> _core.EstimateRequest:
    """The core request for one estimate, from the design's state (codes cached there)."""
    state = design._state
    by_codes = [state.codes(b) for b in by]
    kwargs: dict[str, Any] = {}
    if categorical:
        c = state.codes(variable)
        kwargs.update(codes=c.codes, levels=len(c.labels))
    else:
        kwargs.update(values=state.numeric(variable, "variable"))
    if denominator is not None:
        kwargs["denominator"] = state.numeric(denominator, "denominator")
    return _core.EstimateRequest(
        statistic,
        by=[c.codes for c in by_codes],
        by_levels=[len(c.labels) for c in by_codes],
        subset=state.mask,
        threads=1,
        **kwargs,
        **options,
    )


def one_pass(design: sp.Design, req_args: dict[str, Any]) -> _core.EstimateResult:
    """``_core.estimate`` on all rows with the same arguments."""
    state = design._state
    args = dict(req_args)
    variable = args.pop("variable")
    by = args.pop("by")
    categorical = args.pop("categorical")
    denominator = args.pop("denominator", None)
    by_codes = [state.codes(b) for b in by]
    kwargs: dict[str, Any] = {}
    if categorical:
        c = state.codes(variable)
        kwargs.update(codes=c.codes, levels=len(c.labels))
    else:
        kwargs.update(values=state.numeric(variable, "variable"))
    if denominator is not None:
        kwargs["denominator"] = state.numeric(denominator, "denominator")
    return _core.estimate(
        state.core,
        args.pop("statistic"),
        by=[c.codes for c in by_codes],
        by_levels=[len(c.labels) for c in by_codes],
        subset=state.mask,
        threads=1,
        **kwargs,
        **args,
    )


def cuts(size: int, parts: int, rng: random.Random) -> list[tuple[int, int]]:
    """``parts`` ranges tiling [0, size), with an empty one among them when parts >= 3."""
    points = sorted([0, size] + [rng.randint(0, size) for _ in range(parts - 1)])
    if parts >= 3:
        points[2] = points[1]
    return list(zip(points[:-1], points[1:]))


def roundtrip(state: Any) -> Any:
    return pickle.loads(pickle.dumps(state))


def sliced(
    design: sp.Design, req: _core.EstimateRequest, parts: int, rng: random.Random
) -> _core.EstimateResult:
    """Scan slices, pickle each state, merge shuffled, plan, scan PSU ranges, finish."""
    core = design._state.core
    totals = [roundtrip(_core.scan_totals(core, req, b, e)) for b, e in cuts(core.rows, parts, rng)]
    rng.shuffle(totals)
    merged = copy.copy(totals[0])
    for t in totals[1:]:
        merged.merge(t)
    plan = roundtrip(_core.plan_estimate(core, req, merged))
    spread = [
        roundtrip(_core.scan_spread(core, req, plan, b, e)) for b, e in cuts(core.psus, parts, rng)
    ]
    rng.shuffle(spread)
    all_spread = spread[0]
    for s in spread[1:]:
        all_spread.merge(s)
    return _core.finish_estimate(core, req, merged, all_spread)


def assert_same(a: _core.EstimateResult, b: _core.EstimateResult, where: str) -> None:
    for name in FLOAT_COLUMNS:
        x, y = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose(y, x, rtol=1e-12, atol=0, equal_nan=True, err_msg=where + name)
    for name in EXACT_COLUMNS:
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=where + name)
    assert a.flag == b.flag, where
    assert a.ci_method == b.ci_method, where
    for name in ("covariance", "replicates"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), where + name
        if x is not None:
            scale = float(np.nanmax(np.abs(x))) if x.size else 0.0
            np.testing.assert_allclose(
                y, x, rtol=1e-12, atol=1e-12 * scale, equal_nan=True, err_msg=where + name
            )


DESIGNS = {
    "apistrat": (apistrat, "api00", "api99", "stype", "awards", "sch.wide"),
    "apiclus2": (apiclus2, "api00", "api99", "stype", "awards", "both"),
    "poll": (poll, "age", "age", "region", "sex", "side_supported"),
    "poll poststratified": (poll_poststratified, "age", "age", "region", "sex", "side_supported"),
    "poll subset": (poll_subset, "age", "age", "region", "sex", "side_supported"),
    "poll JK1": (poll_jk1, "age", "age", "region", "sex", "side_supported"),
}


def asks(
    numeric: str, denominator: str, by1: str, by2: str, item: str
) -> list[tuple[str, dict[str, Any]]]:
    base: dict[str, Any] = {"by": [by1, by2]}
    return [
        ("mean", {**base, "statistic": "mean", "variable": numeric, "categorical": False}),
        ("total", {**base, "statistic": "total", "variable": numeric, "categorical": False}),
        (
            "ratio",
            {
                "by": [by1],
                "statistic": "ratio",
                "variable": numeric,
                "denominator": denominator,
                "categorical": False,
            },
        ),
        (
            "proportion logit cov",
            {
                **base,
                "statistic": "mean",
                "variable": item,
                "categorical": True,
                "ci": "logit",
                "covariance": True,
            },
        ),
        (
            "proportion beta",
            {"by": [by1], "statistic": "mean", "variable": item, "categorical": True, "ci": "beta"},
        ),
        (
            "level totals df inf",
            {
                "by": [],
                "statistic": "total",
                "variable": item,
                "categorical": True,
                "df_design": False,
                "covariance": True,
                "keep_replicates": True,
            },
        ),
    ]


@pytest.mark.parametrize("name", list(DESIGNS))
def test_any_split_merged_in_any_order_equals_one_pass(name: str) -> None:
    make, numeric, denominator, by1, by2, item = DESIGNS[name]
    design = make()
    rng = random.Random(f"partial-{name}")
    for label, args in asks(numeric, denominator, by1, by2, item):
        req_args = dict(args)
        variable = req_args.pop("variable")
        statistic = req_args.pop("statistic")
        by = req_args.pop("by")
        categorical = req_args.pop("categorical")
        req = request(design, statistic, variable, by, categorical=categorical, **req_args)
        ref = one_pass(design, args)
        for parts in (1, 3, 8):
            for trial in range(2):
                res = sliced(design, req, parts, rng)
                assert_same(ref, res, f"{name} / {label} / {parts} slices #{trial}: ")


def test_states_pickle_and_bytes_roundtrip() -> None:
    design = poll()
    core = design._state.core
    req = request(design, "mean", "side_supported", ["region"], categorical=True)
    totals = _core.scan_totals(core, req)
    data = totals.to_bytes()
    assert isinstance(data, bytes) and data[:4] == b"STPT"
    assert _core.TotalsState.from_bytes(data).to_bytes() == data
    assert pickle.loads(pickle.dumps(totals)).to_bytes() == data
    assert copy.deepcopy(totals).to_bytes() == data
    np.testing.assert_array_equal(totals.covered, [[0, core.rows]])
    plan = _core.plan_estimate(core, req, totals)
    assert pickle.loads(pickle.dumps(plan)).fingerprint == plan.fingerprint
    spread = _core.scan_spread(core, req, plan)
    assert pickle.loads(pickle.dumps(spread)).to_bytes() == spread.to_bytes()
    res = _core.finish_estimate(core, req, totals, spread)
    assert_same(one_pass(design, _args("side_supported", ["region"])), res, "whole: ")


def _args(item: str, by: list[str]) -> dict[str, Any]:
    return {"statistic": "mean", "variable": item, "by": by, "categorical": True}


def test_incomplete_repeated_or_corrupt_states_are_refused() -> None:
    design = poll()
    core = design._state.core
    req = request(design, "mean", "side_supported", ["region"], categorical=True)
    half = core.rows // 2
    first = _core.scan_totals(core, req, 0, half)
    with pytest.raises(sp.InvalidInputError, match="miss"):
        _core.plan_estimate(core, req, first)
    twice = copy.copy(first)
    twice.merge(first)
    twice.merge(_core.scan_totals(core, req, half))
    with pytest.raises(sp.InvalidInputError, match="twice"):
        _core.plan_estimate(core, req, twice)
    with pytest.raises(sp.InvalidInputError):
        _core.TotalsState.from_bytes(first.to_bytes()[:-3])
    with pytest.raises(sp.InvalidInputError, match="not a steppe"):
        _core.SpreadState.from_bytes(first.to_bytes())
    with pytest.raises(ValueError):
        _core.scan_totals(core, req, half, half - 1)
    other = request(design, "total", "side_supported", ["region"], categorical=True)
    with pytest.raises(sp.InvalidInputError, match="cannot merge"):
        _core.scan_totals(core, other, 0, half).merge(first)


def test_states_from_threads_merge_to_the_same_result() -> None:
    """Scans on several Python threads at once (the GIL released) give the same states."""
    from concurrent.futures import ThreadPoolExecutor

    design = apiclus2()
    core = design._state.core
    req = request(design, "mean", "api00", ["stype"], categorical=False)
    ranges = cuts(core.rows, 8, random.Random(3))
    with ThreadPoolExecutor(4) as pool:
        totals = list(pool.map(lambda r: _core.scan_totals(core, req, *r), ranges))
    merged = totals[0]
    for t in totals[1:]:
        merged.merge(t)
    plan = _core.plan_estimate(core, req, merged)
    psu_ranges = cuts(core.psus, 8, random.Random(4))
    with ThreadPoolExecutor(4) as pool:
        spread = list(pool.map(lambda r: _core.scan_spread(core, req, plan, *r), psu_ranges))
    for s in spread[1:]:
        spread[0].merge(s)
    res = _core.finish_estimate(core, req, merged, spread[0])
    ref = one_pass(
        design, {"statistic": "mean", "variable": "api00", "by": ["stype"], "categorical": False}
    )
    assert_same(ref, res, "threads: ")
    assert math.isfinite(float(res.se[0]))


def test_complete_cases_and_empty_domains_through_partial_states() -> None:
    design = apistrat()
    state = design._state
    extra = {
        "complete_values": [state.numeric("acs.k3", "variable")],
        "empty_domains": True,
        "ci": "wald",
    }
    args = {"statistic": "mean", "variable": "api00", "by": ["stype"], "categorical": False}
    req = request(design, "mean", "api00", ["stype"], categorical=False, **extra)
    whole = one_pass(design, {**args, **extra})
    got = sliced(design, req, 3, random.Random(5))
    assert_same(whole, got, "complete cases: ")
    assert whole.domains == 3 and whole.n.tolist() == [97, 0, 0]
    np.testing.assert_array_equal(got.n_missing, [3, 50, 50])
    assert got.rows_missing_value == 103 and got.rows_missing_by == 0
