"""One estimator call: columns -> core -> tidy frame (estimates, SEs, CIs, flags)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import translate_core_errors
from .results import RESULT_COLUMNS

if TYPE_CHECKING:
    from .design import Design

DfRule = Union[str, float, int]

FRAME_COLUMNS = list(RESULT_COLUMNS)

NO_DF_FLAG = "suppress: no degrees of freedom (domain within one PSU per stratum)"


def estimate_frame(
    design: Design,
    statistic: str,
    variable: str,
    by: list[str],
    ci: str | None,
    level: float,
    df_rule: DfRule,
    denominator: str | None,
) -> pd.DataFrame:
    """Run one variable through the core and return the tidy result frame."""
    data = design.data
    series = data[variable]
    if statistic == "ratio":
        categorical = False
    elif statistic == "proportion":
        categorical = True
    else:
        categorical = cols.is_categorical(series)

    kwargs: dict[str, Any] = {}
    labels: list[Any] = [None]
    if categorical:
        codes = design._codes(variable)
        if not codes.labels:
            raise _empty(variable)
        kwargs.update(codes=codes.codes, levels=len(codes.labels))
        labels = codes.labels
    else:
        kwargs["values"] = design._numeric(variable, "variable")
    if denominator is not None:
        kwargs["denominator"] = design._numeric(denominator, "denominator")
    by_codes = [design._codes(b) for b in by]
    for b, c in zip(by, by_codes):
        if not c.labels:
            raise _empty(b)
    core_stat = "mean" if statistic == "proportion" else statistic
    with translate_core_errors():
        raw = design._core_estimate(
            core_stat,
            by=[c.codes for c in by_codes],
            by_levels=[len(c.labels) for c in by_codes],
            subset=design._mask,
            threads=design._threads,
            **kwargs,
        )

    k = int(raw["cells_per_domain"])
    domains = raw["domain_codes"].shape[0]
    est = raw["estimate"]
    var = raw["variance"]
    se = np.sqrt(var)
    n = np.repeat(raw["n"], k)
    wsum = np.repeat(raw["weight_sum"], k)
    df_design = np.repeat(design._domain_df(raw, kwargs, by_codes), k)
    if isinstance(df_rule, str) and df_rule == "design":
        df = df_design
    elif isinstance(df_rule, str):  # "inf"
        df = np.full(len(est), math.inf)
    else:
        df = np.full(len(est), float(df_rule))

    is_share = categorical and statistic in ("mean", "proportion")
    method = ci if ci else ("logit" if statistic == "proportion" else "wald")
    if is_share and method == "beta":
        # Korn-Graubard's df adjustment uses the domain's design df whatever df=
        # says, as R's svyciprop(method="beta") does.
        df = df_design
    # Rows of the domain's design for Korn-Graubard's df factor: R's nrow(). A
    # calibrated design's domains keep every row (with weight 0), as R's `[`.
    n_rows = n.astype(np.float64)
    if design._calibration is not None:
        n_rows = np.full(len(est), float(len(data)))
    ok = df > 0
    low = np.full(len(est), np.nan)
    high = np.full(len(est), np.nan)
    ci_var = design._share_ci_variance(raw, method) if is_share else var
    # A replicate whose share is 0 or 1 has an infinite logit: the interval is [0, 1].
    unbounded = ok & np.isinf(ci_var)
    low[unbounded], high[unbounded] = 0.0, 1.0
    ok &= ~unbounded
    if ok.any():
        if is_share and method != "wald":
            lo, hi = _core.proportion_ci(method, est[ok], ci_var[ok], df[ok], n_rows[ok], level)
        else:
            lo, hi = _core.wald_ci(est[ok], se[ok], df[ok], level)
        low[ok], high[ok] = lo, hi

    if is_share:
        n_eff = _core.effective_sample_size(est, var, n.astype(np.float64))
        flags = list(_core.reliability_flags(est, var, n.astype(np.float64), np.where(ok, df, 1.0)))
    else:
        deff = raw["deff"]
        good = np.isfinite(deff) & (deff > 0)
        n_eff = np.where(good, n / np.where(good, deff, 1.0), n.astype(np.float64))
        flags = [""] * len(est)
    flags = [f if good_df else NO_DF_FLAG for f, good_df in zip(flags, ok)]

    frame = pd.DataFrame(
        {
            "variable": variable,
            "level": labels * domains,
            "estimate": est,
            "se": se,
            "ci_low": low,
            "ci_high": high,
            "deff": raw["deff"],
            "n": n,
            "n_eff": n_eff,
            "flag": flags,
            "weight_sum": wsum,
            "df": df,
        },
        columns=FRAME_COLUMNS,
    )
    by_frame = pd.DataFrame(
        {
            b: _labels_for(c.labels, np.repeat(raw["domain_codes"][:, j], k))
            for j, (b, c) in enumerate(zip(by, by_codes))
        }
    )
    frame = pd.concat([by_frame, frame], axis=1) if by else frame
    frame.attrs["ci_method"] = method if (is_share or method == "wald") else "wald"
    return frame


def _labels_for(labels: list[Any], codes: np.ndarray) -> pd.Series:
    return pd.Series(np.asarray(labels, dtype=object)[codes])


def _empty(column: str) -> Exception:
    from .errors import NotEstimableError

    return NotEstimableError(f"column {column!r} has no non-missing values (empty domain)")
