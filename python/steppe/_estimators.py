"""One estimator call: columns -> core request -> tidy frame of the core's finished cells."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError, NotEstimableError
from .results import RESULT_COLUMNS, Estimates

if TYPE_CHECKING:
    from ._state import DesignState

DfRule = Union[str, float, int]


def df_arguments(df_rule: DfRule) -> tuple[bool, float]:
    """Map ``df=`` ("design", "inf", a number, math.inf) to the core's (df_design, df)."""
    if isinstance(df_rule, str):
        if df_rule not in ("design", "inf"):
            raise InvalidInputError(f"df must be 'design', a number or math.inf, got {df_rule!r}")
        return (True, math.inf) if df_rule == "design" else (False, math.inf)
    if isinstance(df_rule, bool) or not isinstance(df_rule, (int, float)) or not df_rule > 0:
        raise InvalidInputError(
            f"df must be 'design', a positive number or math.inf, got {df_rule!r}"
        )
    return False, float(df_rule)


def deff_replace(deff: bool | str) -> bool:
    """Map ``deff=`` (True: R's deff=TRUE, "replace": R's deff="replace") to the core's flag."""
    if deff is True or deff == "replace":
        return deff == "replace"
    raise InvalidInputError(
        "deff must be True (against simple random sampling without replacement, R's "
        f"deff=TRUE) or 'replace' (with replacement, R's deff=\"replace\"), got {deff!r}"
    )


def core_estimate(
    state: DesignState,
    statistic: str,
    variable: str,
    by: list[str],
    *,
    categorical: bool,
    ci: str = "wald",
    level: float = 0.95,
    df_rule: DfRule = "design",
    denominator: str | None = None,
    covariance: bool = False,
    keep_replicates: bool = False,
    values: np.ndarray | None = None,
    deff_replace: bool = False,
) -> tuple[_core.EstimateResult, list[object], list[cols.Codes]]:
    """Run the core on one variable; return its result, the variable's labels and by codes."""
    labels: list[object] = [None]
    codes = None
    levels = 0
    if values is None and categorical:
        c = state.codes(variable)
        if not c.labels:
            raise _empty(variable)
        codes, levels, labels = c.codes, len(c.labels), list(c.labels)
    elif values is None:
        values = state.numeric(variable, "variable")
    by_codes = [state.codes(b) for b in by]
    for b, c in zip(by, by_codes):
        if not c.labels:
            raise _empty(b)
    df_design, df = df_arguments(df_rule)
    result = _core.estimate(
        state.core,
        "mean" if statistic == "proportion" else statistic,
        values=values,
        codes=codes,
        levels=levels,
        denominator=None if denominator is None else state.numeric(denominator, "denominator"),
        by=[c.codes for c in by_codes],
        by_levels=[len(c.labels) for c in by_codes],
        subset=state.mask,
        threads=state.threads,
        covariance=covariance,
        keep_replicates=keep_replicates,
        ci=ci,
        level=level,
        df_design=df_design,
        df=df,
        deff_replace=deff_replace,
    )
    return result, labels, by_codes


def estimate_frame(
    state: DesignState,
    statistic: str,
    variable: str,
    by: list[str],
    ci: str | None,
    level: float,
    df_rule: DfRule,
    denominator: str | None,
    deff_replace: bool = False,
) -> pd.DataFrame:
    """Run one variable through the core and return the tidy result frame."""
    if statistic == "ratio":
        categorical = False
    elif statistic == "proportion":
        categorical = True
    else:
        categorical = cols.is_categorical(state.data[variable])
    method = ci if ci else ("logit" if statistic == "proportion" else "wald")
    res, labels, by_codes = core_estimate(
        state,
        statistic,
        variable,
        by,
        categorical=categorical,
        ci=method,
        level=level,
        df_rule=df_rule,
        denominator=denominator,
        deff_replace=deff_replace,
    )
    return result_frame(res, variable, labels, by, by_codes)


def result_frame(
    res: _core.EstimateResult,
    variable: str,
    labels: list[object],
    by: list[str],
    by_codes: list[cols.Codes],
) -> pd.DataFrame:
    """Return the tidy frame of a finished core result: one row per domain x level."""
    k = int(res.cells_per_domain)
    domains = int(res.domains)
    frame = pd.DataFrame(
        {
            "variable": variable,
            "level": labels * domains,
            "estimate": res.estimate,
            "se": res.se,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "deff": res.deff,
            "n": np.repeat(res.n, k),
            "n_eff": res.n_eff,
            "flag": res.flag,
            "weight_sum": np.repeat(res.weight_sum, k),
            "df": res.df,
        },
        columns=list(RESULT_COLUMNS),
    )
    if by:
        domain_codes = res.domain_codes
        by_frame = pd.DataFrame(
            {
                b: labels_for(c.labels, np.repeat(domain_codes[:, j], k))
                for j, (b, c) in enumerate(zip(by, by_codes))
            }
        )
        frame = pd.concat([by_frame, frame], axis=1)
    frame.attrs["ci_method"] = res.ci_method
    return frame


def estimates(
    state: DesignState,
    statistic: str,
    variables: list[str],
    by: list[str],
    ci: str | None,
    level: float,
    df_rule: DfRule,
    denominator: str | None = None,
    deff: bool | str = True,
) -> Estimates:
    """Return the :class:`Estimates` of every variable (names already checked)."""
    replace = deff_replace(deff)
    frames = [
        estimate_frame(state, statistic, v, by, ci, float(level), df_rule, denominator, replace)
        for v in variables
    ]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    est = as_estimates(state, statistic, variables, by, frame, level, df_rule, denominator)
    return Estimates(frame, {**est.meta, "deff": "replace"}) if replace else est


def as_estimates(
    state: DesignState,
    statistic: str,
    variables: list[str],
    by: list[str],
    frame: pd.DataFrame,
    level: float,
    df_rule: DfRule,
    denominator: str | None = None,
) -> Estimates:
    """Wrap result frames in :class:`Estimates` with the request's metadata."""
    meta = {
        "statistic": statistic,
        "variables": variables,
        "denominator": denominator,
        "by": by,
        "ci_method": frame.attrs.get("ci_method"),
        "level": float(level),
        "df_rule": "inf" if isinstance(df_rule, float) and math.isinf(df_rule) else df_rule,
        "design": state.summary(),
    }
    return Estimates(frame, meta)


def labels_for(labels: list[object], codes: np.ndarray) -> pd.Series:
    """Labels of each code (a Series of objects)."""
    return pd.Series(np.asarray(labels, dtype=object)[codes])


def _empty(column: str) -> Exception:
    return NotEstimableError(f"column {column!r} has no non-missing values (empty domain)")
