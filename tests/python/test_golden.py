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

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DATA_PATHS = {
    "kz_poll_simulated": ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv",
}
# JSON files in tests/golden that are not estimate cases (owned by other tests)
NOT_CASES = {"distributions.json", "weights.json"}  # read by the C++ tests

REL_TOL = 1e-9
ABS_TOL = 1e-12
FIELDS = ("estimate", "se", "ci_low", "ci_high", "deff", "df", "n")


def close(a: float, b: float, rel: float = REL_TOL) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + ABS_TOL


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
    design = sp.Design(
        data,
        weights=ds["weights"],
        strata=ds["strata"],
        psu=ds["psu"],
        fpc=ds["fpc"],
        psu2=ds["psu2"],
        fpc2=ds["fpc2"],
        nest=ds["nest"],
        lonely_psu=ds["lonely_psu"],
    )
    for step in ds.get("weighting") or []:
        if step["method"] == "poststratify":
            population = pd.DataFrame(step["population"])
            design = design.poststratify(step["columns"], population)
        elif step["method"] == "rake":
            margins = {
                col: pd.DataFrame(pop).set_index(col)["Freq"]
                for col, pop in zip(step["columns"], step["populations"])
            }
            design = design.rake(margins, max_iter=step["maxit"], tol=step["epsilon"])
        elif step["method"] == "calibrate":
            targets = {
                col: t if isinstance(t, (int, float)) else pd.DataFrame(t).set_index(col)["Freq"]
                for col, t in step["targets"].items()
            }
            bounds = tuple(step["bounds"]) if step.get("bounds") else None
            design = design.calibrate(targets, method=step["calfun"], bounds=bounds)
        elif step["method"] == "trim":
            design = design.trim(step.get("lower"), step.get("upper"), strict=step["strict"])
        else:
            raise AssertionError(f"unknown weighting step {step['method']!r}")
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


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def norm_key(v: Any) -> str | None:
    """A label as a string: 'E', 3 and 3.0 -> '3', missing -> None."""
    if _missing(v):
        return None
    if isinstance(v, str):
        return v
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def row_key(by: list[str], by_values: dict[str, Any] | Any, level: Any) -> tuple[str | None, ...]:
    return tuple(norm_key(by_values[b]) for b in by) + (norm_key(level),)


def asin_clamped(case: dict[str, Any], row: dict[str, Any], field: str) -> float | None:
    """The documented deviation from R's asin interval: when asin(sqrt(p)) -+ t*se
    leaves [0, pi/2], R applies sin()^2 unclamped and folds the limit back inside;
    steppe clamps the angle, giving 0 (or 1). Returns the clamped limit, else None."""
    if case["call"].get("ci") != "asin" or field not in ("ci_low", "ci_high"):
        return None
    if case["call"]["stat"] == "quantile":
        return None  # Woodruff: the asin interval is for the CDF, not the estimate
    p, se, level = row["estimate"], row["se"], case["call"]["level"]
    df = math.inf if row["df"] == "inf" else float(row["df"])
    t = float(_core.qt(np.array([1 - (1 - level) / 2]), df)[0])
    theta = math.asin(math.sqrt(p))
    half = t * se / (2 * math.sqrt(p * (1 - p)))
    if field == "ci_low" and theta - half < 0:
        return 0.0
    if field == "ci_high" and theta + half > math.pi / 2:
        return 1.0
    return None


def check_value(case: dict[str, Any], row: dict[str, Any], field: str, got: Any) -> str | None:
    """None when ``got`` agrees with R's value of ``field``, else a message."""
    want = row[field]
    if want is None:
        return None  # R gave NA / NaN / Inf (or the value is not R's to give)
    if field == "deff" and row["level"] is not None and row["estimate"] in (0.0, 1.0):
        # A share of exactly 0 or 1 has p(1-p) = 0: the SRS variance is 0 and the
        # design effect undefined. R's value there is rounding noise (e.g. 5e32);
        # steppe reports NaN.
        return None if _missing(got) else f"deff: got {got!r} for p = {row['estimate']}, want NaN"
    if _missing(got):
        return f"{field}: got missing, R {want!r}"
    got = float(got)
    if field == "df" and case["call"].get("ci") == "beta" and case["call"]["df"] != "design":
        # R's svyciprop(method="beta") ignores df= and uses the domain's design df;
        # so does steppe, and its df column reports the df actually used.
        return None
    folded = asin_clamped(case, row, field)
    if folded is not None:
        return None if got == folded else f"{field}: got {got!r}, want the clamped {folded}"
    if field == "df" and want == "inf":
        return None if math.isinf(got) and got > 0 else f"df: got {got!r}, R inf"
    rel = REL_TOL
    if "tol" in case and field in case.get("tol_fields", FIELDS):
        rel = case["tol"]
    alternatives = [want]
    alt = case.get("alt_fields", {}).get(field)
    if alt is not None and row.get(alt) is not None:
        alternatives.append(row[alt])
    if any(close(got, float(w), rel) for w in alternatives):
        return None
    return f"{field}: got {got!r}, R {' or '.join(repr(w) for w in alternatives)} (rel {rel:g})"


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
    missing_cols = [c for c in [*by, "level", *FIELDS] if c not in frame.columns]
    assert not missing_cols, f"to_frame() lacks columns {missing_cols}"

    got: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for rec in frame.to_dict("records"):
        key = row_key(by, rec, rec["level"])
        assert key not in got, f"duplicate row {key}"
        got[key] = rec
    want = {row_key(by, r["by"], r["level"]): r for r in case["rows"]}
    assert set(got) == set(want), (
        f"rows differ: missing {sorted(set(want) - set(got), key=str)}, "
        f"extra {sorted(set(got) - set(want), key=str)}"
    )

    problems = []
    for key, row in want.items():
        for field in FIELDS:
            msg = check_value(case, row, field, got[key][field])
            if msg is not None:
                problems.append(f"{key}: {msg}")
    assert not problems, "\n".join(problems)


def test_golden_cases_present() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) > 150, "golden files missing: run `make golden`"
    assert len(set(names)) == len(names), "duplicate case names"
    for c in CASES:
        path = DATA_PATHS.get(c["data"], GOLDEN / "data" / f"{c['data']}.csv")
        assert path.exists(), path
