"""Contrasts between domain estimates, as R's ``svycontrast(svyby(..., covmat=TRUE))``.

A linear contrast sum_g c_g theta_g of domain means (or shares, or totals) has the
linearised variable sum_g c_g z_g, where z_g is domain g's: for a mean,
w 1[g] (y - theta_g) / N_g. Its variance is therefore the variance of the total
of u = sum_g c_g 1[g] (y - theta_g) / N_g, which the engine computes in one pass
with the full design: covariances between domains that share PSUs are included,
and domains drawn in different strata (e.g. independent survey waves stratified
by wave) get zero covariance from the design itself. A ratio's z_g is
1[g] (y - theta_g x) / X_g.

On a replicate design the variance is R's: the replicate variance of
sum_g c_g theta_g,r, with every domain re-estimated under each replicate
(equal to c' V c, V the replicate covariance of the domain estimates).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from ._estimators import estimates
from .errors import InvalidInputError

if TYPE_CHECKING:
    from ._state import DesignState


def _domain_estimates(
    state: DesignState,
    variable: str,
    by: str,
    level: Any,
    statistic: str,
    denominator: str | None = None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray | None, np.ndarray]:
    """Per-domain estimates, and each row's analysis value, denominator and validity."""
    data = state.data
    series = data[variable]
    x: np.ndarray | None = None
    if statistic == "ratio":
        if denominator is None:
            raise InvalidInputError("statistic='ratio' needs denominator=")
        y = state.numeric(variable, "variable")
        x = state.numeric(denominator, "denominator")
        frame = estimates(
            state, "ratio", [variable], [by], None, 0.95, "design", denominator
        ).to_frame()
    elif cols.is_categorical(series) or level is not None:
        if level is None:
            raise InvalidInputError(
                f"contrast of categorical {variable!r}: give level= (the share to compare)"
            )
        codes = state.codes(variable)
        labels = [str(x) for x in codes.labels]
        if str(level) not in labels:
            raise InvalidInputError(f"level {level!r} is not a level of {variable!r}")
        k = labels.index(str(level))
        y = np.where(codes.codes >= 0, (codes.codes == k).astype(float), np.nan)
        est = (
            estimates(state, "proportion", [variable], [by], "mean", 0.95, "design")
            if statistic == "mean"
            else estimates(state, "total", [variable], [by], None, 0.95, "design")
        )
        frame = est.to_frame()
        frame = frame[frame.level.astype(str) == str(level)]
    else:
        y = state.numeric(variable, "variable")
        frame = estimates(state, statistic, [variable], [by], None, 0.95, "design").to_frame()
    valid = ~np.isnan(y)
    if x is not None:
        valid &= ~np.isnan(x)
        x = np.where(valid, x, 0.0)
    if state.mask is not None:
        valid &= state.mask.astype(bool)
    return frame.reset_index(drop=True), np.where(valid, y, 0.0), x, valid


def _replicate_thetas(
    state: DesignState,
    statistic: str,
    y: np.ndarray,
    x: np.ndarray | None,
    valid: np.ndarray,
    by_codes: cols.Codes,
) -> dict[str, np.ndarray]:
    """Every replicate's estimate of every domain: {label: replicates}."""
    kwargs: dict[str, Any] = {"values": np.ascontiguousarray(y)}
    if x is not None:
        kwargs["denominator"] = np.ascontiguousarray(x)
    raw = _core.estimate(
        state.core,
        statistic,
        by=[by_codes.codes],
        by_levels=[len(by_codes.labels)],
        subset=np.ascontiguousarray(valid.view(np.uint8)),
        threads=state.threads,
        keep_replicates=True,
        df_design=False,
        **kwargs,
    )
    reps = raw.replicates
    assert reps is not None
    return {str(by_codes.labels[code]): reps[:, j] for j, code in enumerate(raw.domain_codes[:, 0])}


def contrast_rows(
    state: DesignState,
    variable: str,
    by: str,
    contrasts: Mapping[str, Any],
    level: Any = None,
    statistic: str = "mean",
    conf_level: float = 0.95,
    denominator: str | None = None,
) -> pd.DataFrame:
    """Estimate, SE, CI, t and p for each named contrast (see Design.contrast)."""
    if statistic not in ("mean", "total", "ratio"):
        raise InvalidInputError(f"statistic must be 'mean', 'total' or 'ratio', got {statistic!r}")
    if denominator is not None and statistic != "ratio":
        raise InvalidInputError("denominator= is for statistic='ratio'")
    cols.require_columns(
        state.data, [variable, by, *([denominator] if denominator else [])], "contrast"
    )
    frame, y, x, valid = _domain_estimates(state, variable, by, level, statistic, denominator)
    by_codes = state.codes(by)
    labels = [str(x) for x in by_codes.labels]
    theta = {str(g): float(e) for g, e in zip(frame[by], frame.estimate)}
    # The linearisation divides by the domain's size: N_g (mean) or X_g (ratio).
    size: dict[str, float] = {}
    for g in theta:
        rows = valid & (by_codes.codes == labels.index(g))
        size[g] = float(np.sum(state.weights[rows] * (1.0 if x is None else x[rows])))
    thetas_r = None
    replicate_df = math.nan
    if state.replicated:
        thetas_r = _replicate_thetas(state, statistic, y, x, valid, by_codes)
        # The design's degf (R: the rank of the replicate weights minus 1), once.
        replicate_df = float(state.degf)
    out = []
    for name, spec in contrasts.items():
        if isinstance(spec, (tuple, list)):
            # A ratio theta_a / theta_b: its linearisation is the linear contrast
            # with c_a = 1 / theta_b, c_b = -theta_a / theta_b^2 (delta method, as
            # R's svycontrast with a nonlinear expression).
            if len(spec) != 2:
                raise InvalidInputError(f"contrast {name!r}: a ratio is a pair (a, b)")
            a, b = (str(x) for x in spec)
            for g in (a, b):
                if g not in theta:
                    raise InvalidInputError(f"contrast {name!r}: {by!r} has no domain {g!r}")
            if theta[b] == 0:
                raise InvalidInputError(f"contrast {name!r}: the denominator estimate is 0")
            coefs: Mapping[Any, float] = {a: 1.0 / theta[b], b: -theta[a] / theta[b] ** 2}
            ratio_value: float | None = theta[a] / theta[b]
        else:
            coefs = spec
            ratio_value = None
        u = np.zeros(len(y))
        involved = np.zeros(len(y), dtype=bool)
        estimate = 0.0
        for g, c in coefs.items():
            g = str(g)
            if g not in theta:
                raise InvalidInputError(f"contrast {name!r}: {by!r} has no domain {g!r}")
            rows = valid & (by_codes.codes == labels.index(g))
            involved |= rows
            if statistic == "total":
                u[rows] += c * y[rows]
            else:
                scale_x = 1.0 if x is None else x[rows]
                u[rows] += c * (y[rows] - theta[g] * scale_x) / size[g]
            estimate += c * theta[g]
        if thetas_r is not None:
            # R: svycontrast on svyby's replicate covariance, c' V c: the replicate
            # variance of sum_g c_g theta_g,r.
            lin = sum(float(c) * thetas_r[str(g)] for g, c in coefs.items())
            core = state.core
            variance = float(
                _core.replicate_variance(
                    np.asarray(lin, dtype=np.float64)[:, None],
                    np.array([estimate]),
                    float(core.replicate_scale or 1.0),
                    list(core.replicate_rscales or []),
                    bool(core.replicate_mse),
                )[0]
            )
            df = replicate_df
        else:
            raw = _core.estimate(
                state.core,
                "total",
                values=np.ascontiguousarray(u),
                subset=np.ascontiguousarray(involved.view(np.uint8)),
                threads=state.threads,
            )
            variance = float(raw.variance[0])
            df = float(raw.design_df[0])
        if ratio_value is not None:
            estimate = ratio_value
        se = math.sqrt(variance)
        t_crit = float(_core.qt(np.array([1 - (1 - conf_level) / 2]), df)[0])
        t = estimate / se if se > 0 else math.nan
        p = float(2 * _core.pt(np.array([-abs(t)]), df)[0]) if se > 0 else math.nan
        out.append(
            {
                "contrast": name,
                "estimate": estimate,
                "se": se,
                "ci_low": estimate - t_crit * se,
                "ci_high": estimate + t_crit * se,
                "t": t,
                "df": df,
                "p_value": p,
            }
        )
    return pd.DataFrame(out)


def adjust_p(p: Sequence[float], method: str) -> list[float]:
    """Holm (1979) step-down or Bonferroni adjusted p-values, as R's p.adjust."""
    m = len(p)
    if method == "none":
        return list(p)
    if method == "bonferroni":
        return [min(1.0, m * x) for x in p]
    if method == "holm":
        order = sorted(range(m), key=lambda i: p[i])
        adjusted = [0.0] * m
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * p[i]))
            adjusted[i] = running
        return adjusted
    raise InvalidInputError(f"adjust must be 'holm', 'bonferroni' or 'none', got {method!r}")


def compare_rows(
    state: DesignState,
    variable: str,
    by: str,
    level: Any = None,
    statistic: str = "mean",
    adjust: str = "holm",
    conf_level: float = 0.95,
    denominator: str | None = None,
) -> pd.DataFrame:
    """All pairwise differences between the levels of ``by`` (see Design.compare)."""
    frame, _, _, _ = _domain_estimates(state, variable, by, level, statistic, denominator)
    groups = [str(g) for g in frame[by]]
    contrasts = {f"{a} - {b}": {a: 1.0, b: -1.0} for a, b in itertools.combinations(groups, 2)}
    out = contrast_rows(state, variable, by, contrasts, level, statistic, conf_level, denominator)
    out["p_adjusted"] = adjust_p(out.p_value.tolist(), adjust)
    out.attrs["adjust"] = adjust
    return out
