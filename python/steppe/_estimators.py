"""One estimator call: columns -> core request -> tidy frame of the core's finished cells."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError, ManyLevelsWarning, NotEstimableError
from .results import MISSING_COLUMN, RESULT_COLUMNS, Estimates

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
    complete: list[str] | None = None,
    na_by: str = "exclude",
    empty_domains: bool = False,
    deff_replace: bool = False,
) -> tuple[_core.EstimateResult, list[object], list[cols.Codes]]:
    """Run the core on one variable; return its result, the variable's labels and by codes.

    ``complete``: other columns whose missing values leave a row out too (complete
    cases, R's ``na.rm = TRUE``). ``na_by="domain"`` makes a missing by value a
    domain of its own (label None) instead of leaving the row out.
    """
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
    if na_by == "domain":
        by_codes = [_missing_as_level(c) for c in by_codes]
    for b, c in zip(by, by_codes):
        if not c.labels:
            raise _empty(b)
    complete_values: list[np.ndarray] = []
    complete_codes: list[np.ndarray] = []
    for other in complete or []:
        if cols.is_categorical(state.data[other]):
            complete_codes.append(state.codes(other).codes)
        else:
            complete_values.append(state.numeric(other, "variable"))
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
        complete_values=complete_values,
        complete_codes=complete_codes,
        empty_domains=empty_domains,
        deff_replace=deff_replace,
    )
    return result, labels, by_codes


def _missing_as_level(c: cols.Codes) -> cols.Codes:
    """Codes with missing (-1) mapped to one more level, labelled None."""
    if not (c.codes < 0).any():
        return c
    codes = c.codes.astype(np.int32)
    codes[codes < 0] = len(c.labels)
    return cols.Codes(np.ascontiguousarray(codes), [*c.labels, None])


#: Values of ``na=``: complete cases across the call's variables, or each on its own rows.
NA_RULES = ("complete", "available")
#: Values of ``na_by=``: leave out rows with a missing by value, or make them a domain.
NA_BY_RULES = ("exclude", "domain")
#: ``proportion()`` of a numeric column with more distinct values than this warns.
MAX_NUMERIC_LEVELS = 10
#: Interval methods for shares (R's svyciprop) besides "wald".
SHARE_CI = ("logit", "beta", "wilson", "xlogit", "mean", "likelihood", "asin")


def check_options(statistic: str, ci: str | None, na: str, na_by: str) -> None:
    """Refuse option values that do not exist for the estimator (before any work)."""
    if na not in NA_RULES:
        raise InvalidInputError(f"na must be 'complete' or 'available', got {na!r}")
    if na_by not in NA_BY_RULES:
        raise InvalidInputError(f"na_by must be 'exclude' or 'domain', got {na_by!r}")
    if ci is not None and ci != "wald" and ci not in SHARE_CI:
        raise InvalidInputError(
            f"{statistic}(): unknown ci {ci!r}; use 'wald' or one of {', '.join(SHARE_CI)}"
        )


def estimate_frame(
    state: DesignState,
    statistic: str,
    variable: str,
    by: list[str],
    ci: str | None,
    level: float,
    df_rule: DfRule,
    denominator: str | None,
    complete: list[str],
    na_by: str,
    deff_replace: bool = False,
) -> tuple[pd.DataFrame, _core.EstimateResult]:
    """Run one variable through the core; return the tidy result frame and the core's result."""
    if statistic == "ratio":
        categorical = False
    elif statistic == "proportion":
        categorical = True
    else:
        categorical = cols.is_categorical(state.data[variable])
    if statistic == "mean" and not categorical and ci not in (None, "wald"):
        raise InvalidInputError(
            f"mean(): ci={ci!r} is an interval for shares, but {variable!r} is numeric; its "
            "interval is Wald (t with df): leave ci unset or pass ci='wald'"
        )
    if statistic == "proportion" and not cols.is_categorical(state.data[variable]):
        distinct = len(state.codes(variable).labels)
        if distinct > MAX_NUMERIC_LEVELS:
            warnings.warn(
                f"proportion(): {variable!r} is numeric with {distinct} distinct values, so "
                f"the result has {distinct} shares per domain; use mean() for its average, or "
                "bin it (pd.cut) or make it categorical (astype('category')) first",
                ManyLevelsWarning,
                stacklevel=4,
            )
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
        complete=complete,
        na_by=na_by,
        empty_domains=True,
        deff_replace=deff_replace,
    )
    return result_frame(res, variable, labels, by, by_codes), res


def result_frame(
    res: _core.EstimateResult,
    variable: str,
    labels: list[object],
    by: list[str],
    by_codes: list[cols.Codes],
) -> pd.DataFrame:
    """Return the tidy frame of a finished core result: one row per domain x level.

    When the core counted them, a last column ``n_missing`` gives each domain's
    rows left out for a missing value.
    """
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
    n_missing = res.n_missing
    if len(n_missing) == domains:
        frame[MISSING_COLUMN] = np.repeat(n_missing, k)
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
    na: str = "complete",
    na_by: str = "exclude",
    deff: bool | str = True,
) -> Estimates:
    """Return the :class:`Estimates` of every variable (names already checked).

    With several variables and ``na="complete"``, a row missing any of them (or
    the denominator) is left out of every estimate, as R's ``na.rm = TRUE``.
    """
    check_options(statistic, ci, na, na_by)
    replace = deff_replace(deff)
    results = []
    for v in variables:
        complete = [o for o in variables if o != v] if na == "complete" else []
        results.append(
            estimate_frame(
                state,
                statistic,
                v,
                by,
                ci,
                float(level),
                df_rule,
                denominator,
                complete,
                na_by,
                replace,
            )
        )
    frames = [f for f, _ in results]
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame.attrs["ci_method"] = frames[0].attrs.get("ci_method")
    columns = [*variables, *([denominator] if denominator else [])]
    missing = missing_meta(columns, variables, [r for _, r in results], na, na_by)
    est = as_estimates(state, statistic, variables, by, frame, level, df_rule, denominator, missing)
    return Estimates(frame, {**est.meta, "deff": "replace"}) if replace else est


def missing_meta(
    columns: list[str],
    variables: list[str],
    results: list[_core.EstimateResult],
    na: str = "complete",
    na_by: str = "exclude",
) -> dict[str, object]:
    """``meta["missing"]``: the rule and the core's counts of rows left out.

    ``rows`` maps each variable to the rows (in the design's domain) left out for
    a missing value; ``by_rows`` counts rows left out for a missing by value.
    """
    return {
        "rule": na,
        "columns": columns,
        "rows": {v: int(r.rows_missing_value) for v, r in zip(variables, results)},
        "by_rule": na_by,
        "by_rows": int(results[0].rows_missing_by),
    }


def as_estimates(
    state: DesignState,
    statistic: str,
    variables: list[str],
    by: list[str],
    frame: pd.DataFrame,
    level: float,
    df_rule: DfRule,
    denominator: str | None = None,
    missing: dict[str, object] | None = None,
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
        "design": state.summary(degf=not (isinstance(df_rule, float) and math.isinf(df_rule))),
    }
    if missing is not None:
        meta["missing"] = missing
    return Estimates(frame, meta)


def labels_for(labels: list[object], codes: np.ndarray) -> pd.Series:
    """Labels of each code (a Series of objects)."""
    return pd.Series(np.asarray(labels, dtype=object)[codes])


def _empty(column: str) -> Exception:
    return NotEstimableError(f"column {column!r} has no non-missing values (empty domain)")
