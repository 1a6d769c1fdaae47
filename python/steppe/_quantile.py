"""Quantiles with Woodruff intervals, as R's ``svyquantile`` (survey 4.x).

The point estimate is a weighted quantile rule (R's ``qrule``, default "math":
the smallest x whose weighted CDF reaches p). The interval is Woodruff's (1952):
a design-based CI for the CDF at the estimate, F(q) = mean(x <= q), mapped back
through the same quantile rule; SE = CI width / (2 t). The CDF's variance for
every domain comes from one pass of the engine per probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from ._estimators import df_arguments
from .errors import InvalidInputError, NotEstimableError

if TYPE_CHECKING:
    from ._state import DesignState

Rule = Callable[[np.ndarray, np.ndarray, float], float]


def _sorted(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = w != 0
    x, w = x[keep], w[keep]
    order = np.argsort(x, kind="stable")  # R's order() keeps ties in row order
    return x[order], w[order]


def _cumsum(w: np.ndarray) -> np.ndarray:
    """Cumulative weights as R's cumsum(): a long double running sum, stored as double.

    The exact ties it keeps (cumw == p W) decide the "math" rule, so they must match.
    """
    return np.cumsum(w.astype(np.longdouble)).astype(np.float64)


def _qs(x: np.ndarray, cumw: np.ndarray, p: float) -> tuple[int, int, float]:
    """R's qs(): last position with cumw <= p W, the next one, and p - cumw/W there."""
    total = cumw[-1]
    below = np.flatnonzero(cumw <= p * total)
    if len(below) == 0:
        raise NotEstimableError(f"quantile {p}: below the smallest weighted observation")
    pos = int(below[-1])
    nxt = pos if pos == len(x) - 1 else pos + 1
    return pos, nxt, p - cumw[pos] / total


def _rule_step(mid: bool) -> Rule:
    def rule(x: np.ndarray, w: np.ndarray, p: float) -> float:
        x, w = _sorted(x, w)
        pos, nxt, wlow = _qs(x, _cumsum(w), p)
        if wlow == 0:
            return float((x[pos] + x[nxt]) / 2) if mid else float(x[pos])
        return float(x[nxt])

    return rule


def _rule_hf3(x: np.ndarray, w: np.ndarray, p: float) -> float:
    x, w = _sorted(x, w)
    ux, start = np.unique(x, return_index=True)
    wsum = np.add.reduceat(w, start)
    pos, nxt, wlow = _qs(ux, _cumsum(wsum), p)
    # R's test ilow %% 2 == 0 is on its 1-based position.
    return float(ux[pos] if wlow == 0 and (pos + 1) % 2 == 0 else ux[nxt])


def _rule_hf4(x: np.ndarray, w: np.ndarray, p: float) -> float:
    x, w = _sorted(x, w)
    cumw = _cumsum(w)
    pos, nxt, wlow = _qs(x, cumw, p)
    wup = cumw[nxt] / cumw[-1] - p
    gamma = wlow / (wup + wlow)
    return float(x[pos] * (1 - gamma) + x[nxt] * gamma)


def _rule_interp(positions: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Rule:
    def rule(x: np.ndarray, w: np.ndarray, p: float) -> float:
        x, w = _sorted(x, w)
        pk = positions(_cumsum(w), w)
        return float(np.interp(p, pk, x))  # R: approx(pk, x, p, rule = 2)

    return rule


def _rule_shahvaish(x: np.ndarray, w: np.ndarray, p: float) -> float:
    x, w = _sorted(x, w)
    n = len(x)
    s = _cumsum(w / w.mean())
    pk = (s + 0.5 - w / 2) / (n + 1)
    # approx(method = "constant", f = 0, rule = 2): the left step's value.
    i = int(np.searchsorted(pk, p, side="right")) - 1
    return float(x[min(max(i, 0), n - 1)])


def _prev(cumw: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], cumw[:-1]])


RULES: dict[str, Rule] = {
    "math": _rule_step(mid=False),
    "school": _rule_step(mid=True),
    "hf1": _rule_step(mid=False),
    "hf2": _rule_step(mid=True),
    "hf3": _rule_hf3,
    "hf4": _rule_hf4,
    "hf5": _rule_interp(lambda c, w: (c - w / 2) / c[-1]),  # c: cumulative weights
    "hf6": _rule_interp(lambda c, w: c / (c[-1] + w[-1])),
    "hf7": _rule_interp(lambda c, w: _prev(c) / c[-2]),
    "hf8": _rule_interp(lambda c, w: (_prev(c) / 3 + c * 2 / 3) / (c[-1] + w[-1] / 3)),
    "hf9": _rule_interp(lambda c, w: (_prev(c) * 3 / 8 + c * 5 / 8) / (c[-1] + w[-1] / 4)),
    "shahvaish": _rule_shahvaish,
}

INTERVALS = ("mean", "beta", "xlogit", "asin")


def quantile_frame(
    state: DesignState,
    variable: str,
    probs: Sequence[float],
    by: list[str],
    ci: str,
    level: float,
    df_rule: Any,
    rule: str,
) -> pd.DataFrame:
    """Quantiles of one numeric variable for every domain (see Design.quantile)."""
    if rule not in RULES:
        raise InvalidInputError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    if state.replicated and ci not in ("mean", "quantile"):
        raise InvalidInputError(
            "quantile() on a replicate design takes ci='mean' (Woodruff) or 'quantile' "
            "(replicate quantiles); R's replicate svyquantile ignores 'beta', 'xlogit' "
            "and 'asin'"
        )
    allowed = ("mean", "quantile") if state.replicated else INTERVALS
    if ci not in allowed:
        raise InvalidInputError(f"ci must be one of {allowed} for quantiles, got {ci!r}")
    probs = [float(p) for p in probs]
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise InvalidInputError(f"probs must be in [0, 1], got {probs!r}")
    qrule = RULES[rule]
    x = state.numeric(variable, "variable")
    w = state.weights
    valid = ~np.isnan(x)
    if state.mask is not None:
        valid &= state.mask.astype(bool)
    by_codes = [state.codes(b) for b in by]
    df_design, df_value = df_arguments(df_rule)
    key = np.zeros(len(x), dtype=np.int64)
    for c in by_codes:
        valid &= c.codes >= 0
        key = key * len(c.labels) + c.codes
    keys = np.unique(key[valid & (w != 0)])
    if len(keys) == 0:
        raise NotEstimableError(f"column {variable!r} has no non-missing values (empty domain)")
    rows_of = {int(k): np.flatnonzero(valid & (key == k)) for k in keys}
    records = []
    for p in probs:
        qhat = {k: qrule(x[r], w[r], p) for k, r in rows_of.items()}
        # The CDF at each domain's estimate, with its design variance: one engine pass.
        below = np.full(len(x), -1, dtype=np.int8)
        for k, r in rows_of.items():
            below[r] = (x[r] <= qhat[k]).astype(np.int8)
        raw = _core.estimate(
            state.core,
            "mean",
            codes=below,
            levels=2,
            by=[c.codes for c in by_codes],
            by_levels=[len(c.labels) for c in by_codes],
            subset=np.ascontiguousarray(valid.view(np.uint8)),
            threads=state.threads,
            ci="wald" if ci in ("mean", "quantile") else ci,
            level=level,
            df_design=df_design,
            df=df_value,
        )
        domain_codes = raw.domain_codes
        dom_keys = np.zeros(int(raw.domains), dtype=np.int64)
        for j, c in enumerate(by_codes):
            dom_keys = dom_keys * len(c.labels) + domain_codes[:, j]
        df = raw.design_df if df_design else np.full(int(raw.domains), df_value)
        # The CDF's interval at each estimate ("quantile" replaces the limits below).
        lo = raw.ci_low[1::2]
        hi = raw.ci_high[1::2]
        n_of = raw.n
        wsum_of = raw.weight_sum
        for d, dom_key in enumerate(dom_keys.tolist()):
            r = rows_of[dom_key]
            low = _bound(qrule, x[r], w[r], lo[d])
            high = _bound(qrule, x[r], w[r], hi[d])
            crit = (
                float(_core.qnorm(np.array([1 - (1 - level) / 2]))[0])
                if math.isinf(df[d])
                else float(_core.qt(np.array([1 - (1 - level) / 2]), df[d])[0])
            )
            se = (high - low) / (2 * crit)
            if ci == "quantile":
                se = _replicate_quantile_se(state, qrule, x[r], r, p, qhat[dom_key])
                low, high = qhat[dom_key] - crit * se, qhat[dom_key] + crit * se
            flag = (
                ""
                if math.isfinite(low) and math.isfinite(high)
                else ("review: no quantile at a limit of the CDF interval (R gives NaN there)")
            )
            rec: dict[str, Any] = {
                b: c.labels[domain_codes[d, j]] for j, (b, c) in enumerate(zip(by, by_codes))
            }
            rec.update(
                {
                    "variable": variable,
                    "level": p,
                    "estimate": qhat[dom_key],
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                    "deff": math.nan,
                    "n": int(n_of[d]),
                    "n_eff": math.nan,
                    "flag": flag,
                    "weight_sum": float(wsum_of[d]),
                    "df": float(df[d]),
                }
            )
            records.append(rec)
    frame = pd.DataFrame.from_records(records)
    sort_cols = [*by, "level"]
    frame = frame.sort_values(sort_cols, kind="stable").reset_index(drop=True) if by else frame
    frame.attrs["ci_method"] = f"woodruff-{ci}"
    return frame


def _replicate_quantile_se(
    state: DesignState, qrule: Rule, x: np.ndarray, rows: np.ndarray, p: float, qhat: float
) -> float:
    """R's repCI: the quantile under every replicate's weights, their svrVar."""
    core = state.core
    reps = core.replicate_weights
    assert reps is not None
    thetas = np.array([_bound(qrule, x, reps[rows, j], p) for j in range(reps.shape[1])])
    variance = _core.replicate_variance(
        thetas[:, None],
        np.array([qhat]),
        float(core.replicate_scale or 1.0),
        list(core.replicate_rscales or []),
        bool(core.replicate_mse),
    )
    return float(np.sqrt(variance[0]))


def _bound(qrule: Rule, x: np.ndarray, w: np.ndarray, p: float) -> float:
    """Return a CI limit: the quantile at the CDF's limit p; NaN, as R, if there is none."""
    if not 0 <= p <= 1:
        return math.nan
    try:
        return qrule(x, w, p)
    except NotEstimableError:
        return math.nan  # p below the first weighted observation's share


def check_variable(state: DesignState, variable: str) -> None:
    """Quantiles need a numeric column."""
    cols.require_columns(state.data, [variable], "variable")
    if cols.is_categorical(state.data[variable]):
        raise InvalidInputError(f"quantile: column {variable!r} is not numeric")
