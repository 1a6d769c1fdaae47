"""steppe against R's ``survey`` package, case by case.

The cases live in ``tests/golden/<dataset>.json`` and are written by
``tests/golden/make_golden.R`` (``make golden``) from the CSVs in
``tests/golden/data/`` (and the simulated poll shipped in
``python/steppe/datasets/data/``).  Each case names a design, one estimating
call and R's rows; every non-null number R gave must agree to 1e-9 relative
(a few cases carry a documented looser ``tol`` on named fields, or an
alternative value per field, see make_golden.R).
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
from typing import Any

import pandas as pd
import pytest
from golden_compare import FIELDS, apply_weighting, assert_rows_match, design_from_spec

import steppe as sp

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATA_PATHS = {
    "kz_poll_simulated": ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv",
}
# JSON files in tests/golden that are not estimate cases (owned by other tests)
NOT_CASES = {"distributions.json", "weights.json", "chisq_sum.json", "design.json"}  # C++ tests


def load_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []
    for path in sorted(GOLDEN.glob("*.json")):
        if path.name in NOT_CASES:
            continue
        with open(path, encoding="utf-8") as f:
            cases.extend(json.load(f))
    return cases


CASES = load_cases()


@functools.cache
def _read(name: str) -> pd.DataFrame:
    path = DATA_PATHS.get(name, GOLDEN / "data" / f"{name}.csv")
    # As R's read.csv(na.strings = ""): only empty fields are missing ("NA" would be
    # a string); numbers parsed exactly (pandas >= 3 does so by default and deprecates
    # the option).
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **exact)


def load_data(name: str) -> pd.DataFrame:
    return _read(name).copy()


def df_arg(df: Any) -> Any:
    return math.inf if df == "inf" else df


def run(case: dict[str, Any]) -> pd.DataFrame:
    """Build the design, make the call, return ``to_frame()``."""
    data = load_data(case["data"])
    ds = case["design"]
    design = design_from_spec(data, ds)
    design = apply_weighting(design, ds.get("weighting"))
    call = case["call"]
    sub = call["subset"]
    if sub is not None:
        column = data[sub["column"]]
        mask = column == sub["equals"] if "equals" in sub else column.isin(sub["in"])
        design = design.subset(mask)
    kwargs: dict[str, Any] = {"by": call["by"], "level": call["level"], "df": df_arg(call["df"])}
    stat = call["stat"]
    if stat == "ratio":
        est = design.ratio(call["variable"], call["denominator"], **kwargs)
    elif stat == "quantile":
        est = design.quantile(
            call["variable"], call["probs"], ci=call["ci"], rule=call["rule"], **kwargs
        )
    elif stat == "proportion":
        est = design.proportion(call["variable"], ci=call["ci"], **kwargs)
    else:
        if call["ci"] is not None:
            kwargs["ci"] = call["ci"]
        est = getattr(design, stat)(call["variable"], **kwargs)
    return est.to_frame()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_golden(case: dict[str, Any]) -> None:
    if case["expect_error"] == "lonely":
        with pytest.raises(sp.NotEstimableError) as info:
            run(case)
        message = str(info.value)
        for what in ("error_stratum", "error_psu"):
            if case.get(what) is not None:
                assert str(case[what]) in message, f"{what} {case[what]!r} not in {message!r}"
        return
    if case["expect_error"] == "invalid":
        with pytest.raises(sp.InvalidInputError):
            run(case)
        return
    assert case["expect_error"] is None, case["expect_error"]

    frame = run(case)
    by = case["call"]["by"] or []
    category = "prob" if case["call"].get("stat") == "quantile" else "level"
    missing_cols = [c for c in [*by, category, *FIELDS] if c not in frame.columns]
    assert not missing_cols, f"to_frame() lacks columns {missing_cols}"
    assert_rows_match(case, frame)


def test_golden_cases_present() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) > 150, "golden files missing: run `make golden`"
    assert len(set(names)) == len(names), "duplicate case names"
    for c in CASES:
        path = DATA_PATHS.get(c["data"], GOLDEN / "data" / f"{c['data']}.csv")
        assert path.exists(), path
