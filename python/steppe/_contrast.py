"""Contrasts between domain estimates, as R's ``svycontrast(svyby(..., covmat=TRUE))``.

A linear contrast sum_g c_g theta_g of domain means (or shares, or totals) has the
linearised variable sum_g c_g z_g, where z_g is domain g's: for a mean,
w 1[g] (y - theta_g) / N_g. Its variance is therefore the variance of the total
of u = sum_g c_g 1[g] (y - theta_g) / N_g, which the engine computes in one pass
with the full design: covariances between domains that share PSUs are included,
and domains drawn in different strata (e.g. independent survey waves stratified
by wave) get zero covariance from the design itself.
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
from .errors import InvalidInputError, translate_core_errors

if TYPE_CHECKING:
    from .design import Design


def _domain_estimates(
    design: Design, variable: str, by: str, level: Any, statistic: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per-domain estimates, and each row's analysis value and validity."""
    data = design.data
    series = data[variable]
    if cols.is_categorical(series) or level is not None:
        if level is None:
            raise InvalidInputError(
                f"contrast of categorical {variable!r}: give level= (the share to compare)"
            )
        codes = design._codes(variable)
        labels = [str(x) for x in codes.labels]
        if str(level) not in labels:
            raise InvalidInputError(f"level {level!r} is not a level of {variable!r}")
        k = labels.index(str(level))
        y = np.where(codes.codes >= 0, (codes.codes == k).astype(float), np.nan)
        est = (
            design.proportion(variable, by=by, ci="mean")
            if statistic == "mean"
            else design.total(variable, by=by)
        )
        frame = est.to_frame()
        frame = frame[frame.level.astype(str) == str(level)]
    else:
        y = design._numeric(variable, "variable")
        frame = getattr(design, statistic)(variable, by=by).to_frame()
    valid = ~np.isnan(y)
    if design._mask is not None:
        valid &= design._mask.astype(bool)
    return frame.reset_index(drop=True), np.where(valid, y, 0.0), valid


def contrast_rows(
    design: Design,
    variable: str,
    by: str,
    contrasts: Mapping[str, Any],
    level: Any = None,
    statistic: str = "mean",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """Estimate, SE, CI, t and p for each named contrast (see Design.contrast)."""
    if statistic not in ("mean", "total"):
        raise InvalidInputError("contrasts are available for means/shares and totals")
    cols.require_columns(design.data, [variable, by], "contrast")
    frame, y, valid = _domain_estimates(design, variable, by, level, statistic)
    by_codes = design._codes(by)
    labels = [str(x) for x in by_codes.labels]
    theta = {str(g): float(e) for g, e in zip(frame[by], frame.estimate)}
    n_g = {str(g): float(s) for g, s in zip(frame[by], frame.weight_sum)}
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
            if statistic == "mean":
                u[rows] += c * (y[rows] - theta[g]) / n_g[g]
            else:
                u[rows] += c * y[rows]
            estimate += c * theta[g]
        with translate_core_errors():
            raw = design._core_estimate(
                "total",
                values=np.ascontiguousarray(u),
                subset=np.ascontiguousarray(involved.view(np.uint8)),
                threads=design._threads,
            )
        if ratio_value is not None:
            estimate = ratio_value
        se = math.sqrt(float(raw["variance"][0]))
        df = float(design._domain_df(raw, {"values": u}, [])[0])
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
    design: Design,
    variable: str,
    by: str,
    level: Any = None,
    statistic: str = "mean",
    adjust: str = "holm",
    conf_level: float = 0.95,
) -> pd.DataFrame:
    """All pairwise differences between the levels of ``by`` (see Design.compare)."""
    frame, _, _ = _domain_estimates(design, variable, by, level, statistic)
    groups = [str(g) for g in frame[by]]
    contrasts = {f"{a} - {b}": {a: 1.0, b: -1.0} for a, b in itertools.combinations(groups, 2)}
    out = contrast_rows(design, variable, by, contrasts, level, statistic, conf_level)
    out["p_adjusted"] = adjust_p(out.p_value.tolist(), adjust)
    out.attrs["adjust"] = adjust
    return out
