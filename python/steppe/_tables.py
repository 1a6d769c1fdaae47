"""Two-way tables and design-based tests of association: names, labels and frames.

The core computes every number: the cell, row and column shares with the cells'
covariance (``cpp/src/crosstab.cpp``) and R's ``svychisq`` (``cpp/src/chisq_test.cpp``:
the Rao & Scott corrections of Pearson's X^2 and the design-based Wald tests). This
module turns its results into :class:`Estimates` and :class:`ChisqResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from ._estimators import as_estimates, df_arguments, missing_meta, result_frame
from .errors import NotEstimableError

if TYPE_CHECKING:
    from ._state import DesignState
    from .results import Estimates

DfRule = Union[str, float, int]

#: The statistics of R's svychisq that steppe computes.
STATISTICS = ("F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint")


class ChisqResult:
    """A test of association in a two-way table, as R's ``svychisq``.

    Attributes
    ----------
    statistic_name : str
        R's name of the statistic: "F" or "X-squared".
    statistic, p_value : float
        The statistic and its p-value, as R's ``svychisq``.
    ndf, ddf : float
        Numerator and denominator degrees of freedom of the reference F. For
        "Chisq", ``ndf`` is the chi-square's df and ``ddf`` is NaN (none); for
        "lincom" and "saddlepoint", ``ndf`` is the number of design effects and
        ``ddf`` the denominator df d0 * nu of their F-type reference (inf on
        replicate designs, where there is none).
    pearson : float
        Pearson's X^2 of the weighted table rescaled to the design's rows.
    method : str
        R's description of the test.
    design_effects : numpy.ndarray
        The Rao-Scott design effects (eigenvalues of the design-effect matrix,
        decreasing); empty for the Wald tests.
    table : pandas.DataFrame
        The weighted counts (levels present in the design's rows).

    Examples
    --------
    >>> import pandas as pd, steppe as sp
    >>> df = pd.DataFrame({"w": [1.0] * 8, "a": list("xxxxyyyy"), "b": list("uuuvuvvv")})
    >>> r = sp.Design(df, weights="w").chisq("a", "b", statistic="Chisq")
    >>> round(r.pearson, 6), r.statistic_name
    (2.0, 'X-squared')
    """

    def __init__(self, result: _core.ChisqResult, table: pd.DataFrame) -> None:
        self._result = result
        self.table = table

    @property
    def statistic_name(self) -> str:
        """R's name of the statistic: "F" or "X-squared"."""
        return self._result.statistic_name

    @property
    def statistic(self) -> float:
        """The test statistic."""
        return self._result.statistic

    @property
    def ndf(self) -> float:
        """Numerator degrees of freedom."""
        return self._result.ndf

    @property
    def ddf(self) -> float:
        """Denominator degrees of freedom (NaN where there is none)."""
        return self._result.ddf

    @property
    def p_value(self) -> float:
        """The p-value."""
        return self._result.p_value

    @property
    def pearson(self) -> float:
        """Pearson's X^2 of the weighted table rescaled to the design's rows."""
        return self._result.pearson

    @property
    def method(self) -> str:
        """R's description of the test."""
        return self._result.method

    @property
    def design_effects(self) -> np.ndarray:
        """The Rao-Scott design effects, decreasing (empty for the Wald tests)."""
        return self._result.design_effects

    def __repr__(self) -> str:
        return (
            f"{self.method}: {self.statistic_name} = {self.statistic:.6g}, ndf = {self.ndf:.6g}, "
            f"ddf = {self.ddf:.6g}, p = {self.p_value:.4g}"
        )

    def to_dict(self) -> dict[str, str | float]:
        """Return the test as a plain dict."""
        return {
            "statistic_name": self.statistic_name,
            "statistic": self.statistic,
            "ndf": self.ndf,
            "ddf": self.ddf,
            "p_value": self.p_value,
            "pearson": self.pearson,
            "method": self.method,
        }


def chisq(state: DesignState, row: str, col: str, statistic: str = "F") -> ChisqResult:
    """Rao-Scott / Wald tests of association (see Design.chisq)."""
    cols.require_columns(state.data, [row, col], "chisq")
    r, c = state.codes(row), state.codes(col)
    result = _core.chisq(
        state.core,
        r.codes,
        len(r.labels),
        c.codes,
        len(c.labels),
        statistic=statistic,
        subset=state.mask,
        threads=state.threads,
        row_name=row,
        col_name=col,
        row_labels=[str(x) for x in r.labels],
        col_labels=[str(x) for x in c.labels],
    )
    table = pd.DataFrame(
        result.table,
        index=pd.Index([r.labels[i] for i in result.row_levels], name=row),
        columns=pd.Index([c.labels[i] for i in result.col_levels], name=col),
    )
    return ChisqResult(result, table)


@dataclass
class Crosstab:
    """Cell, row and column shares of a two-way table, each an :class:`Estimates`.

    ``result`` is the core's table, whose ``cells.covariance`` holds the full
    covariance of each domain's cell shares (cells ordered row level fastest).
    """

    cells: Estimates
    rows: Estimates
    columns: Estimates
    result: _core.Crosstab = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Return the three tables stacked, with a ``table`` column (cell, row, column)."""
        parts = []
        for name, est in (("cell", self.cells), ("row", self.rows), ("column", self.columns)):
            f = est.to_frame()
            f.insert(0, "table", name)
            parts.append(f)
        return pd.concat(parts, ignore_index=True)


def crosstab(
    state: DesignState,
    row: str,
    col: str,
    by: list[str],
    ci: str | None,
    level: float,
    df: DfRule,
) -> Crosstab:
    """Cell, row and column proportions (see Design.crosstab)."""
    cols.require_columns(state.data, [row, col, *by], "crosstab")
    r, c = state.codes(row), state.codes(col)
    by_codes = [state.codes(b) for b in by]
    for name, codes in zip([row, col, *by], [r, c, *by_codes]):
        if not codes.labels:
            raise NotEstimableError(f"column {name!r} has no non-missing values (empty domain)")
    df_design, df_value = df_arguments(df)
    result = _core.crosstab(
        state.core,
        r.codes,
        len(r.labels),
        c.codes,
        len(c.labels),
        by=[b.codes for b in by_codes],
        by_levels=[len(b.labels) for b in by_codes],
        subset=state.mask,
        threads=state.threads,
        row_name=row,
        col_name=col,
        ci=ci or "logit",
        level=float(level),
        df_design=df_design,
        df=df_value,
    )
    name = f"{row} x {col}"
    cell_labels: list[object] = [f"{x} / {y}" for y in c.labels for x in r.labels]
    parts = (
        (result.cells, name, cell_labels, by, by_codes),
        (result.rows, col, list(c.labels), [*by, row], [*by_codes, r]),
        (result.columns, row, list(r.labels), [*by, col], [*by_codes, c]),
    )
    cells, rows, columns = (
        as_estimates(
            state,
            "proportion",
            [variable],
            names,
            result_frame(part, variable, labels, names, codes),
            level,
            df,
            missing=missing_meta([variable], [variable], [part]),
        )
        for part, variable, labels, names, codes in parts
    )
    return Crosstab(cells, rows, columns, result)
