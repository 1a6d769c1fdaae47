"""Two-way tables, weighted counts and tests of association: names, labels and frames.

The core computes every number: the cell, row and column shares with the cells'
covariance (``cpp/src/crosstab.cpp``) and R's ``svychisq`` (``cpp/src/chisq_test.cpp``:
the Rao & Scott corrections of Pearson's X^2 and the design-based Wald tests). This
module turns its results into :class:`Estimates` and :class:`ChisqResult`, and R's
``svytable`` counts (``cpp/src/weighted_table.cpp``) into :class:`WeightedTable`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from ._estimators import as_estimates, df_arguments, missing_meta, result_frame
from .errors import InvalidInputError, NotEstimableError
from .results import json_column

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
    df : float
        "Chisq": the chi-square's degrees of freedom, R's ``parameter["df"]``
        (NaN for the other statistics).
    ndf, ddf : float
        Numerator and denominator degrees of freedom of the reference F (R's
        ``parameter["ndf"]``, ``parameter["ddf"]``). For "Chisq", whose R name
        is ``df``, ``ndf`` repeats it and ``ddf`` is NaN (none); for
        "lincom" and "saddlepoint", ``ndf`` is the number of design effects and
        ``ddf`` the denominator df d0 * nu of their F-type reference (inf on
        replicate designs, where there is none).
    parameter : dict
        R's ``parameter`` of the htest, under R's names: ``{"df": ...}`` for
        "Chisq", ``{"ndf": ..., "ddf": ...}`` for "F", "Wald", "adjWald".
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
    >>> round(r.pearson, 6), r.statistic_name, r.parameter
    (2.0, 'X-squared', {'df': 1.0})
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
    def df(self) -> float:
        """Degrees of freedom of the "Chisq" test (R's ``parameter["df"]``); NaN otherwise."""
        return self._result.ndf if self._result.parameter_names == ["df"] else math.nan

    @property
    def parameter(self) -> dict[str, float]:
        """R's ``parameter`` under R's names: ``{"df"}`` (Chisq), ``{"ndf", "ddf"}`` (F tests)."""
        names = list(self._result.parameter_names)
        values = [self._result.ndf, self._result.ddf]
        return {name: float(v) for name, v in zip(names, values)}

    @property
    def ndf(self) -> float:
        """Numerator degrees of freedom (for "Chisq", its ``df``)."""
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
        params = "".join(f", {k} = {v:.6g}" for k, v in self.parameter.items())
        head = f"{self.method}: {self.statistic_name} = {self.statistic:.6g}"
        return f"{head}{params}, p = {self.p_value:.4g}"

    def to_dict(self) -> dict[str, str | float]:
        """Return the test as a plain dict, its degrees of freedom under R's names."""
        return {
            "statistic_name": self.statistic_name,
            "statistic": self.statistic,
            **self.parameter,
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


class WeightedTable:
    """Weighted counts of a one- or two-way table, as R's ``svytable`` (no variances).

    The core computes the counts (``cpp/src/weighted_table.cpp``): the design's
    weights summed by cell, rescaled as ``ntotal`` asks. Rows missing either
    variable are in no cell (R's ``xtabs``).

    Attributes
    ----------
    variables : list of str
        The table's variables: ``[row]`` or ``[row, col]``.
    labels : list of list
        Each variable's levels, in the order of the design's codes.
    ntotal : str
        How the counts were rescaled: "none", "total" or "stratum".

    Examples
    --------
    >>> import pandas as pd, steppe as sp
    >>> df = pd.DataFrame({"w": [1.0, 2, 3, 4], "a": list("xxyy"), "b": list("uvuv")})
    >>> t = sp.Design(df, weights="w").table("a", "b")
    >>> t.wide().to_numpy().tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    >>> t.to_frame().columns.tolist()
    ['a', 'b', 'count', 'n']
    """

    def __init__(
        self,
        result: _core.WeightedTable,
        variables: list[str],
        labels: list[list[object]],
        ntotal: str,
    ) -> None:
        self._result = result
        self.variables = variables
        self.labels = labels
        self.ntotal = ntotal

    @property
    def total(self) -> float:
        """Sum of the counts."""
        return float(self._result.total)

    def to_frame(self) -> pd.DataFrame:
        """Return the table in long form: one row per cell, ``count`` and ``n`` (rows).

        Cells are ordered by the row variable, then the column variable.
        """
        levels = [len(lab) for lab in self.labels]
        count = np.asarray(self._result.count).reshape(levels[::-1])  # first variable fastest
        n = np.asarray(self._result.n).reshape(levels[::-1])
        grid = np.indices(levels).reshape(len(levels), -1)  # row-major over the variables
        out = {
            v: [lab[i] for i in grid[j]]
            for j, (v, lab) in enumerate(zip(self.variables, self.labels))
        }
        index = tuple(grid[::-1])
        out["count"] = count[index]
        out["n"] = n[index]
        return pd.DataFrame(out)

    def wide(self) -> pd.DataFrame:
        """Return the table as rows x columns (one ``count`` column for a one-way table)."""
        row = pd.Index(self.labels[0], name=self.variables[0])
        counts = np.asarray(self._result.count)
        if len(self.variables) == 1:
            return pd.DataFrame({"count": counts}, index=row)
        col = pd.Index(self.labels[1], name=self.variables[1])
        return pd.DataFrame(counts.reshape(len(col), len(row)).T, index=row, columns=col)

    def _caption(self) -> str:
        scaled = {
            "none": "weighted counts",
            "total": "weighted counts rescaled to ntotal",
            "stratum": "weighted counts rescaled to ntotal within strata",
        }[self.ntotal]
        return f"{' by '.join(self.variables)}: {scaled} (total {self.total:,.6g}); no variances"

    def __repr__(self) -> str:
        return f"WeightedTable: {self._caption()}\n{self.wide().to_string()}"

    def _repr_html_(self) -> str:
        body = self.wide().to_html(float_format=lambda v: f"{v:,.1f}")
        return f"<div><p>{html.escape(self._caption())}</p>{body}</div>"

    def to_json(self, indent: int | None = None) -> str:
        """Return the table as JSON, written by the core as estimates are.

        ``{"meta": {"statistic": "table", "variables", "ntotal", "total"},
        "columns": [...], "rows": [{...}, ...]}``, one row per cell (``count``, ``n``).

        Examples
        --------
        >>> import json, pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 3], "a": ["x", "y"]})
        >>> json.loads(sp.Design(df, weights="w").table("a").to_json())["rows"][1]
        {'a': 'y', 'count': 3.0, 'n': 1}
        """
        frame = self.to_frame()
        columns = {str(name): json_column(frame[name]) for name in frame.columns}
        meta = {
            "statistic": "table",
            "variables": list(self.variables),
            "ntotal": self.ntotal,
            "total": float(self.total),
        }
        result: str = _core.estimates_to_json(columns, meta, -1 if indent is None else indent)
        return result


def _stratum_totals(state: DesignState, ntotal: object) -> list[float]:
    """Per-stratum totals in the design's stratum-code order (NaN: not given)."""
    if isinstance(ntotal, pd.DataFrame):
        if ntotal.shape[1] != 2:
            raise InvalidInputError(
                "ntotal as a DataFrame needs two columns, the stratum and its total "
                f"(R's Ntotal), got {ntotal.shape[1]}"
            )
        given = dict(zip(ntotal.iloc[:, 0], ntotal.iloc[:, 1]))
    elif isinstance(ntotal, pd.Series):
        given = dict(ntotal.items())
    else:
        given = dict(ntotal)  # type: ignore[call-overload]
    if not state.spec.strata:
        return []  # the core says why: no strata, or a replicate design
    labels = [
        str(x) for x in cols.design_codes(state.data, list(state.spec.strata), "strata").labels
    ]
    keyed = {}
    for key, value in given.items():
        name = " / ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)
        if name not in labels:
            raise InvalidInputError(
                f"ntotal: {key!r} is not a stratum of {', '.join(state.spec.strata)} "
                f"(strata: {labels[:10]!r})"
            )
        try:
            keyed[name] = float(value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"ntotal: the total of stratum {key!r} is not a number"
            ) from None
    return [keyed.get(lab, math.nan) for lab in labels]


def weighted_table(state: DesignState, row: str, col: str | None, ntotal: object) -> WeightedTable:
    """Weighted counts of row (x col), as R's svytable (see Design.table)."""
    variables = [row] if col is None else [row, col]
    cols.require_columns(state.data, variables, "table")
    codes = [state.codes(v) for v in variables]
    for name, c in zip(variables, codes):
        if not c.labels:
            raise NotEstimableError(f"column {name!r} has no non-missing values (empty table)")
    if ntotal is None:
        scaling, totals = "none", []
    elif isinstance(ntotal, (int, float)) and not isinstance(ntotal, bool):
        scaling, totals = "total", [float(ntotal)]
    elif isinstance(ntotal, (Mapping, pd.Series, pd.DataFrame)):
        scaling, totals = "stratum", _stratum_totals(state, ntotal)
    else:
        raise InvalidInputError(
            "ntotal must be a number (the table's total) or per-stratum totals (a dict, "
            f"Series or two-column DataFrame), got {type(ntotal).__name__}"
        )
    result = _core.weighted_table(
        state.core,
        [c.codes for c in codes],
        [len(c.labels) for c in codes],
        names=variables,
        subset=state.mask,
        scaling=scaling,
        ntotal=totals,
    )
    return WeightedTable(result, variables, [list(c.labels) for c in codes], scaling)
