"""Contrasts between domain estimates, as R's ``svycontrast(svyby(..., covmat=TRUE))``.

The core (``_core.contrast``) computes every number: the domains' estimates and
their full covariance (linearised with the whole design, so domains sharing PSUs
are correlated and domains drawn in separate strata are not; or from the
replicate weights), and each contrast's estimate, SE, t, df, p-value, interval
and adjusted p-value. Here the user's contrasts become a coefficient matrix over
the levels of ``by``, and the result a DataFrame.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError

if TYPE_CHECKING:
    from ._state import DesignState

_COLUMNS = ["contrast", "estimate", "se", "ci_low", "ci_high", "t", "df", "p_value"]


def _request(
    state: DesignState,
    variable: str,
    by: str,
    level: Any,
    statistic: str,
    denominator: str | None,
) -> tuple[dict[str, Any], list[str]]:
    """Return the core's keyword arguments for the variable and domains, and the by labels."""
    if statistic not in ("mean", "total", "ratio"):
        raise InvalidInputError(f"statistic must be 'mean', 'total' or 'ratio', got {statistic!r}")
    if denominator is not None and statistic != "ratio":
        raise InvalidInputError("denominator= is for statistic='ratio'")
    if statistic == "ratio" and denominator is None:
        raise InvalidInputError("statistic='ratio' needs denominator=")
    cols.require_columns(
        state.data, [variable, by, *([denominator] if denominator else [])], "contrast"
    )
    kwargs: dict[str, Any] = {}
    if statistic == "ratio":
        assert denominator is not None
        kwargs["values"] = state.numeric(variable, "variable")
        kwargs["denominator"] = state.numeric(denominator, "denominator")
    elif cols.is_categorical(state.data[variable]) or level is not None:
        if level is None:
            raise InvalidInputError(
                f"contrast of categorical {variable!r}: give category= (the share to compare)"
            )
        codes = state.codes(variable)
        levels = [str(x) for x in codes.labels]
        if str(level) not in levels:
            raise InvalidInputError(f"level {level!r} is not a level of {variable!r}")
        kwargs.update(codes=codes.codes, levels=len(levels), category=levels.index(str(level)))
    else:
        kwargs["values"] = state.numeric(variable, "variable")
    by_codes = state.codes(by)
    labels = [str(x) for x in by_codes.labels]
    kwargs.update(
        by=[by_codes.codes],
        by_levels=[len(labels)],
        subset=state.mask,
        threads=state.threads,
        domain_labels=labels,
        by_name=by,
    )
    return kwargs, labels


def _matrix(
    contrasts: Mapping[Any, Any], by: str, labels: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return names, coefficients (contrasts x by levels) and ratio domain pairs (-1: linear)."""
    names = [str(name) for name in contrasts]
    coefficients = np.zeros((len(names), len(labels)), dtype=np.float64)
    ratio = np.full((len(names), 2), -1, dtype=np.int64)

    def column(name: str, g: Any) -> int:
        if str(g) not in labels:
            raise InvalidInputError(f"contrast {name!r}: {by!r} has no domain {str(g)!r}")
        return labels.index(str(g))

    for i, (name, spec) in enumerate(zip(names, contrasts.values())):
        if isinstance(spec, (tuple, list)):  # theta_a / theta_b (delta method in the core)
            if len(spec) != 2:
                raise InvalidInputError(f"contrast {name!r}: a ratio is a pair (a, b)")
            ratio[i] = [column(name, spec[0]), column(name, spec[1])]
            continue
        if not isinstance(spec, Mapping):
            raise InvalidInputError(
                f"contrast {name!r}: give {{by level: coefficient}} or a pair (a, b) for a ratio"
            )
        for g, c in spec.items():
            j = column(name, g)
            try:
                coefficients[i, j] += float(c)
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"contrast {name!r}: the coefficient of {str(g)!r} must be a number, got {c!r}"
                ) from None
    return names, coefficients, ratio


def _frame(names: list[str], res: _core.ContrastResult) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "contrast": names,
            "estimate": res.estimate,
            "se": res.se,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "t": res.statistic,
            "df": res.df,
            "p_value": res.p_value,
        },
        columns=_COLUMNS,
    )


def contrast_rows(
    state: DesignState,
    variable: str,
    by: str,
    contrasts: Mapping[Any, Any],
    level: Any = None,
    statistic: str = "mean",
    conf_level: float = 0.95,
    denominator: str | None = None,
) -> pd.DataFrame:
    """Estimate, SE, CI, t and p for each named contrast (see Design.contrast)."""
    kwargs, labels = _request(state, variable, by, level, statistic, denominator)
    names, coefficients, ratio = _matrix(contrasts, by, labels)
    res = _core.contrast(
        state.core,
        statistic,
        coefficients=coefficients,
        ratio=ratio,
        conf_level=float(conf_level),
        names=names,
        **kwargs,
    )
    return _frame(names, res)


def adjust_p(p: Sequence[float], method: str) -> list[float]:
    """Holm (1979) step-down or Bonferroni adjusted p-values, as R's p.adjust."""
    return [float(x) for x in _core.adjust_p(np.asarray(p, dtype=np.float64), method)]


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
    kwargs, labels = _request(state, variable, by, level, statistic, denominator)
    res = _core.contrast(
        state.core,
        statistic,
        pairwise=True,
        adjust=adjust,
        conf_level=float(conf_level),
        **kwargs,
    )
    names = [f"{labels[a]} - {labels[b]}" for a, b in res.pairs.tolist()]
    out = _frame(names, res)
    out["p_adjusted"] = res.p_adjusted
    out.attrs["adjust"] = adjust
    return out
