"""Two-way tables and design-based tests of association.

Cell, row and column shares, and R's ``svychisq``: the Rao & Scott (1981, 1984)
corrections of Pearson's X^2 and the design-based Wald tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from ._estimators import estimates
from .errors import InvalidInputError, NotEstimableError

if TYPE_CHECKING:
    from ._state import DesignState
    from .results import Estimates

STATISTICS = ("F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint")


@dataclass
class ChisqResult:
    """A test of association in a two-way table.

    ``statistic`` and ``p_value`` as R's ``svychisq``; ``ndf``/``ddf`` are the F
    (or chi-square) degrees of freedom; for "lincom" and "saddlepoint" ``ndf``
    is the number of design-effect eigenvalues and ``ddf`` the denominator
    degrees of freedom d0 * nu (inf on replicate designs); ``pearson`` is
    Pearson's X^2 on the weighted table rescaled to the sample size.
    """

    statistic_name: str
    statistic: float
    ndf: float
    ddf: float
    p_value: float
    pearson: float
    method: str
    table: pd.DataFrame = field(repr=False)

    def __repr__(self) -> str:
        return (
            f"{self.method}: {self.statistic_name} = {self.statistic:.6g}, ndf = {self.ndf:.6g}, "
            f"ddf = {self.ddf:.6g}, p = {self.p_value:.4g}"
        )

    def to_dict(self) -> dict[str, Any]:
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


def _cell_codes(state: DesignState, row: str, col: str) -> tuple[np.ndarray, list[Any], list[Any]]:
    """Codes of the crossed table, rows varying fastest (R's interaction(row, col))."""
    r = state.codes(row)
    c = state.codes(col)
    rc = r.codes.astype(np.int32)
    cc = c.codes.astype(np.int32)
    codes = np.where((rc >= 0) & (cc >= 0), rc + len(r.labels) * cc, -1).astype(np.int32)
    return np.ascontiguousarray(codes), r.labels, c.labels


def chisq(state: DesignState, row: str, col: str, statistic: str = "F") -> ChisqResult:
    """Rao-Scott / Wald tests of association (see Design.chisq)."""
    if statistic not in STATISTICS:
        raise InvalidInputError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    cols.require_columns(state.data, [row, col], "chisq")
    codes, rlab, clab = _cell_codes(state, row, col)
    nr, nc = len(rlab), len(clab)
    if nr < 2 or nc < 2:
        raise NotEstimableError("chisq needs at least two levels in each variable")
    k = nr * nc
    run = "total" if statistic in ("Wald", "adjWald") else "mean"
    raw = _core.estimate(
        state.core,
        run,
        codes=codes,
        levels=k,
        subset=state.mask,
        threads=state.threads,
        covariance=True,
    )
    if int(raw.domains) != 1 or raw.covariance is None:
        raise NotEstimableError("chisq: no rows")
    est = raw.estimate
    cov = raw.covariance[0]
    nu = float(raw.design_df[0])  # R: degf(design)
    # R: N = nrow(model.matrix(...)), the design's rows (the domain's, after subset).
    n_rows = float(len(state.data) if state.mask is None else state.mask.sum())
    w = state.weights if state.mask is None else state.weights * state.mask
    valid = codes >= 0
    table = np.bincount(codes[valid], weights=w[valid], minlength=k).reshape(nc, nr).T
    scaled = table * n_rows / table.sum()  # svytable(..., Ntotal = N)
    expected = np.outer(scaled.sum(axis=1), scaled.sum(axis=0)) / scaled.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (scaled - expected) ** 2 / expected, 0.0)
    pearson = float(terms.sum())
    frame = pd.DataFrame(table, index=pd.Index(rlab, name=row), columns=pd.Index(clab, name=col))

    if statistic in ("Wald", "adjWald"):
        # Totals of cells, row margins, column margins and the grand total are linear
        # in the cell totals: their covariance is L V L'.
        rows_of = np.tile(np.arange(nr), nc)
        cols_of = np.repeat(np.arange(nc), nr)
        lmat = np.vstack(
            [
                np.eye(k),
                (rows_of[None, :] == np.arange(nr)[:, None]).astype(float),
                (cols_of[None, :] == np.arange(nc)[:, None]).astype(float),
                np.ones((1, k)),
            ]
        )
        cells = lmat @ est
        v_all = lmat @ cov @ lmat.T
        rt, ct, tot = cells[k : k + nr], cells[k + nr : k + nr + nc], cells[-1]
        jcb = np.hstack(
            [
                np.eye(k),
                -(rows_of[:, None] == np.arange(nr)[None, :]).astype(float)
                * np.repeat(ct / tot, nr)[:, None],
                -(cols_of[:, None] == np.arange(nc)[None, :]).astype(float)
                * (rt / tot)[rows_of][:, None],
                np.outer(rt, ct).reshape(-1, order="F")[:, None] / tot**2,
            ]
        )
        y = est - np.outer(rt, ct).reshape(-1, order="F") / tot
        v = jcb @ v_all @ jcb.T
        use = np.arange(k).reshape(nc, nr).T[1:, 1:].reshape(-1, order="F")
        wald = float(y[use] @ np.linalg.solve(v[np.ix_(use, use)], y[use]))
        ndf = float((nc - 1) * (nr - 1))
        if statistic == "Wald":
            stat, ddf = wald / ndf, nu
        else:
            ddf = nu - ndf + 1
            stat = wald * ddf / (ndf * nu)
        p = float(_core.pf(np.array([stat]), ndf, ddf, lower_tail=False)[0])
        return ChisqResult(
            "F", stat, ndf, ddf, p, pearson, "Design-based Wald test of association", frame
        )

    # Rao-Scott: the design effects of the interaction contrasts (Rao & Scott 1984).
    x1 = np.hstack(
        [
            np.ones((k, 1)),
            _dummies(np.tile(np.arange(nr), nc), nr),
            _dummies(np.repeat(np.arange(nc), nr), nc),
        ]
    )
    x12_inter = np.column_stack(
        [
            (np.tile(np.arange(nr), nc) == a) * (np.repeat(np.arange(nc), nr) == b)
            for b in range(1, nc)
            for a in range(1, nr)
        ]
    ).astype(float)
    q, _ = np.linalg.qr(x1)
    cmat = x12_inter - q @ (q.T @ x12_inter)
    p_hat = est
    inv_d = np.diag(np.where(p_hat == 0, 0.0, 1.0 / np.where(p_hat == 0, 1.0, p_hat)))
    denom = cmat.T @ (inv_d / n_rows) @ cmat
    numr = cmat.T @ inv_d @ cov @ inv_d @ cmat
    try:
        delta = np.linalg.solve(denom, numr)
    except np.linalg.LinAlgError:
        delta = np.linalg.pinv(denom) @ numr  # zero cells: a generalised inverse
    tr = float(np.trace(delta))
    d0 = tr**2 / float(np.trace(delta @ delta))
    if statistic == "F":
        stat = pearson / tr
        p = float(_core.pf(np.array([stat]), d0, d0 * nu, lower_tail=False)[0])
        return ChisqResult(
            "F", stat, d0, d0 * nu, p, pearson, "Pearson's X^2: Rao & Scott adjustment", frame
        )
    if statistic in ("lincom", "saddlepoint"):
        # X^2 against sum_j delta_j chi2_1 (delta_j the design effects' eigenvalues):
        # exactly ("lincom", what R computes with CompQuadForm::davies) or by R's
        # saddlepoint approximation; over chi2_ddf / ddf with ddf = d0 nu
        # (pFsum), or with none on replicate designs (pchisqsum), as svychisq.
        eig = np.real(np.linalg.eigvals(delta))
        method = "exact" if statistic == "lincom" else "saddlepoint"
        x2 = np.array([pearson])
        if state.replicated:
            p = float(_core.pchisqsum(x2, eig, lower_tail=False, method=method)[0])
            ddf = float("inf")
        else:
            ddf = d0 * nu
            p = float(_core.pfsum(x2, eig, ddf, lower_tail=False, method=method)[0])
        name = {"lincom": "asymptotic exact distribution"}.get(
            statistic, "saddlepoint approximation"
        )
        return ChisqResult(
            "X-squared", pearson, float(len(eig)), ddf, p, pearson, f"Pearson's X^2: {name}", frame
        )
    df = float(delta.shape[1])
    p = float(_core.pchisq(np.array([pearson / float(np.mean(np.diag(delta)))]), df, False)[0])
    return ChisqResult(
        "X-squared",
        pearson,
        df,
        float("inf"),
        p,
        pearson,
        "Pearson's X^2: Rao & Scott adjustment",
        frame,
    )


def _dummies(codes: np.ndarray, levels: int) -> np.ndarray:
    """Treatment-coded indicators (levels 2..L), as model.matrix."""
    return np.column_stack([(codes == j).astype(float) for j in range(1, levels)])


@dataclass
class Crosstab:
    """Cell, row and column shares of a two-way table, each an :class:`Estimates`."""

    cells: Estimates
    rows: Estimates
    columns: Estimates

    def to_frame(self) -> pd.DataFrame:
        """Return the three tables stacked, with a ``table`` column (cell, row, column)."""
        parts = []
        for name, est in (("cell", self.cells), ("row", self.rows), ("column", self.columns)):
            f = est.to_frame()
            f.insert(0, "table", name)
            parts.append(f)
        return pd.concat(parts, ignore_index=True)


def crosstab(
    state: DesignState, row: str, col: str, by: list[str], ci: str, level: float, df: Any
) -> Crosstab:
    """Cell, row and column proportions (see Design.crosstab)."""
    data = state.data
    cols.require_columns(data, [row, col, *by], "crosstab")
    codes, rlab, clab = _cell_codes(state, row, col)
    name = f"{row} x {col}"
    labels = [f"{r} / {c}" for c in clab for r in rlab]
    cell_col = pd.Series(
        pd.Categorical.from_codes(codes, categories=pd.Index(labels)), index=data.index
    )
    tmp = state.with_column(name, cell_col)
    cells = estimates(tmp, "proportion", [name], by, ci, level, df)
    rows = estimates(state, "proportion", [col], [*by, row], ci, level, df)
    columns = estimates(state, "proportion", [row], [*by, col], ci, level, df)
    return Crosstab(cells, rows, columns)
