"""Quantiles with Woodruff intervals, as R's ``svyquantile`` (survey 4.x).

The compiled core computes every number (``cpp/src/quantile.cpp``): the
weighted quantile rule (R's ``qrule``, default "math": the smallest x whose
weighted CDF reaches p), Woodruff's (1952) interval -- a design-based interval
for the CDF at the estimate mapped back through the same rule, SE = width /
(2 t) -- and, on replicate designs, replicate quantiles. This module checks the
columns, calls the core and labels its result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError, translate_core_errors
from .results import RESULT_COLUMNS

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
INTERVALS = ("mean", "beta", "xlogit", "asin")
REPLICATE_INTERVALS = ("mean", "quantile")


class QuantileState(Protocol):
    """The part of a design state (``_state.DesignState``) the quantile helpers read."""

    @property
    def data(self) -> pd.DataFrame: ...  # noqa: D102
    @property
    def core(self) -> _core.Design: ...  # noqa: D102
    @property
    def mask(self) -> np.ndarray | None: ...  # noqa: D102
    @property
    def threads(self) -> int: ...  # noqa: D102
    def codes(self, column: str) -> cols.Codes: ...  # noqa: D102
    def numeric(self, column: str, role: str) -> np.ndarray: ...  # noqa: D102


def check_variable(state: QuantileState, variable: str) -> None:
    """Quantiles need a numeric column."""
    cols.require_columns(state.data, [variable], "variable")
    if cols.is_categorical(state.data[variable]):
        raise InvalidInputError(f"quantile: column {variable!r} is not numeric")


def quantile_frame(
    state: QuantileState,
    variable: str,
    probs: Sequence[float],
    by: list[str],
    ci: str,
    level: float,
    df_rule: Any,
    rule: str,
    replicate: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Quantiles of one numeric variable for every domain (see Design.quantile).

    ``replicate`` holds a replicate design's weights for ``_core.quantile``
    (``replicate_weights``, ``scale``, ``rscales``, ``mse``, ``replicate_df``)
    until the core design carries them; None for linearisation.
    """
    if rule not in RULES:
        raise InvalidInputError(f"rule must be one of {sorted(RULES)}, got {rule!r}")
    allowed = REPLICATE_INTERVALS if replicate is not None else INTERVALS
    if ci not in allowed:
        raise InvalidInputError(f"ci must be one of {allowed} for quantiles, got {ci!r}")
    probs = [float(p) for p in probs]
    if not probs or any(not 0 <= p <= 1 for p in probs):
        raise InvalidInputError(f"probs must be in [0, 1], got {probs!r}")
    by_codes = [state.codes(b) for b in by]
    subset = None if state.mask is None else np.ascontiguousarray(state.mask, dtype=bool)
    with translate_core_errors():
        res = _core.quantile(
            state.core,
            state.numeric(variable, "variable"),
            probs,
            by=[c.codes for c in by_codes],
            by_levels=[len(c.labels) for c in by_codes],
            subset=None if subset is None else subset.view(np.uint8),
            rule=rule,
            ci=ci,
            level=float(level),
            df=df_rule if isinstance(df_rule, str) else float(df_rule),
            threads=state.threads,
            variable=variable,
            **(replicate or {}),
        )
    cells = len(res.estimate)
    frame = pd.DataFrame(
        {
            "variable": [variable] * cells,
            "level": res.prob,
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
        columns=list(RESULT_COLUMNS),
    )
    if by:
        domain_of_cell = np.repeat(np.arange(res.domains), res.probs)
        labels = {
            b: pd.Series([c.labels[k] for k in res.domain_codes[domain_of_cell, j]])
            for j, (b, c) in enumerate(zip(by, by_codes))
        }
        frame = pd.concat([pd.DataFrame(labels), frame], axis=1)
        frame = frame.sort_values([*by, "level"], kind="stable").reset_index(drop=True)
    frame.attrs["ci_method"] = f"woodruff-{ci}"
    return frame


@dataclass(frozen=True)
class LegacyState:
    """A stand-in for ``_state.DesignState`` over today's Design (until the lead's lands)."""

    design: Any

    @property
    def data(self) -> pd.DataFrame:  # noqa: D102
        return self.design.data  # type: ignore[no-any-return]

    @property
    def core(self) -> _core.Design:  # noqa: D102
        return self.design._core  # type: ignore[no-any-return]

    @property
    def mask(self) -> np.ndarray | None:  # noqa: D102
        return self.design._mask  # type: ignore[no-any-return]

    @property
    def threads(self) -> int:  # noqa: D102
        return int(self.design._threads)

    def codes(self, column: str) -> cols.Codes:  # noqa: D102
        return self.design._codes(column)  # type: ignore[no-any-return]

    def numeric(self, column: str, role: str) -> np.ndarray:  # noqa: D102
        return self.design._numeric(column, role)  # type: ignore[no-any-return]

    def replicate(self) -> dict[str, Any] | None:
        """Return a replicate design's weights as _core.quantile keyword arguments, else None."""
        d = self.design
        if getattr(d, "_replicate_variance", None) is None:
            return None
        return {
            "replicate_weights": d._rep_columns,
            "scale": d._rep_scale,
            "rscales": d._rep_rscales,
            "mse": d._rep_mse,
            "replicate_df": d._rep_df,
        }
