"""Comparing steppe's tidy frames with R's golden rows (shared by the golden tests)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from steppe import _core

REL_TOL = 1e-9
ABS_TOL = 1e-12
FIELDS = ("estimate", "se", "ci_low", "ci_high", "deff", "df", "n")


def close(a: float, b: float, rel: float = REL_TOL) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + ABS_TOL


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
    if case["call"].get("stat") == "quantile":
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
    if field == "df" and case["call"].get("ci") == "beta" and case["call"].get("df") != "design":
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


def assert_rows_match(case: dict[str, Any], frame: pd.DataFrame) -> None:
    """The frame has exactly R's rows (by values x level or prob), each field agreeing."""
    by = case["call"]["by"] or []
    got: dict[tuple[str | None, ...], dict[str, Any]] = {}
    for rec in frame.to_dict("records"):
        key = row_key(by, rec, rec["prob"] if "prob" in rec else rec["level"])  # quantiles: prob
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


def apply_weighting(design: Any, steps: list[dict[str, Any]] | None) -> Any:
    """Apply the golden scripts' weighting steps (tests/golden/weighting_steps.R) in order."""
    for step in steps or []:
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
    return design


def design_from_spec(data: pd.DataFrame, spec: dict[str, Any]) -> Any:
    """A steppe Design from a golden script's design spec (missing keys: not used)."""
    import steppe as sp

    return sp.Design(
        data,
        weights=spec.get("weights"),
        strata=spec.get("strata"),
        psu=spec.get("psu"),
        fpc=spec.get("fpc"),
        psu2=spec.get("psu2"),
        fpc2=spec.get("fpc2"),
        nest=spec.get("nest", False),
        lonely_psu=spec.get("lonely_psu", "fail"),
    )
