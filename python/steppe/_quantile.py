"""Quantiles with Woodruff intervals, as R's ``svyquantile`` (survey 4.x).

The compiled core computes every number (``cpp/src/quantile.cpp``): the
weighted quantile rule (R's ``qrule``, default "math": the smallest x whose
weighted CDF reaches p), Woodruff's (1952) interval -- a design-based interval
for the CDF at the estimate mapped back through the same rule, SE = width /
(2 t) -- and, on replicate designs, replicate quantiles. This module checks the
columns, calls the core and labels its result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError
from .results import category_column, result_columns

if TYPE_CHECKING:
    from ._state import DesignState

RULES = (
    "math",
    "school",
    "shahvaish",
    "hf1",
    "hf2",
    "hf3",
    "hf4",
    "hf5",
    "hf6",
    "hf7",
    "hf8",
    "hf9",
)
INTERVALS = ("mean", "beta", "xlogit", "asin", "score")
REPLICATE_INTERVALS = ("mean", "quantile")


def check_variable(state: DesignState, variable: str) -> None:
    """Quantiles need a numeric column."""
    cols.require_columns(state.data, [variable], "variable")
    if cols.is_categorical(state.data[variable]):
        raise InvalidInputError(f"quantile: column {variable!r} is not numeric")


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
    if state.replicated and ci not in REPLICATE_INTERVALS:
        raise InvalidInputError(
            "quantile() on a replicate design takes ci='mean' (Woodruff) or 'quantile' "
            "(replicate quantiles); R's replicate svyquantile ignores 'beta', 'xlogit' "
            "and 'asin' and has no 'score'"
        )
    allowed = REPLICATE_INTERVALS if state.replicated else INTERVALS
    if ci not in allowed:
        raise InvalidInputError(f"ci must be one of {allowed} for quantiles, got {ci!r}")
    probs = [float(p) for p in probs]
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise InvalidInputError(f"probs must be in [0, 1], got {probs!r}")
    by_codes = [state.codes(b) for b in by]
    res = _core.quantile(
        state.core,
        state.numeric(variable, "variable"),
        probs,
        by=[c.codes for c in by_codes],
        by_levels=[len(c.labels) for c in by_codes],
        subset=state.mask,
        rule=rule,
        ci=ci,
        level=float(level),
        df=df_rule if isinstance(df_rule, str) else float(df_rule),
        threads=state.threads,
        variable=variable,
    )
    cells = len(res.estimate)
    frame = pd.DataFrame(
        {
            "variable": [variable] * cells,
            category_column("quantile"): res.prob,
            "estimate": res.estimate,
            "se": res.se,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "deff": np.full(cells, np.nan),
            "n": res.n,
            "n_eff": np.full(cells, np.nan),
            "flag": res.flag,
            "weight_sum": res.weight_sum,
            "df": res.df,
        },
        columns=list(result_columns("quantile")),
    )
    if by:
        domain_of_cell = np.repeat(np.arange(res.domains), res.probs)
        labels = {
            b: pd.Series([c.labels[k] for k in res.domain_codes[domain_of_cell, j]])
            for j, (b, c) in enumerate(zip(by, by_codes))
        }
        frame = pd.concat([pd.DataFrame(labels), frame], axis=1)
        frame = frame.sort_values([*by, "prob"], kind="stable").reset_index(drop=True)
    frame.attrs["ci_method"] = f"woodruff-{ci}"
    return frame
