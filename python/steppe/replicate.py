"""Replicate-weight designs, as R's ``svrepdesign``."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .design import Design
from .errors import InvalidInputError

TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "ACS", "other")


class ReplicateDesign(Design):
    """A design described by replicate weights, as R's ``svrepdesign``.

    Jackknife, BRR, Fay, bootstrap, successive-difference replicates. Every
    estimator of :class:`Design` works the same way; variances come from
    recomputing each estimate under every set of replicate weights (one pass
    over the rows per replicate), ``scale * sum_r rscales_r (theta_r - centre)^2``.
    ``poststratify``, ``rake``, ``calibrate`` and ``trim`` re-weight the full
    sample and every replicate column with the same totals, as R does for
    replicate designs; the variance then comes from the re-weighted replicates.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    weights : str
        Full-sample weights.
    replicate_weights : list of str, or str
        Replicate weight columns, or a regular expression matching their names
        (R's ``repweights="wt[0-9]+"``).
    type : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "ACS", "other"}
        Sets ``scale`` as R does: JK1 (R-1)/R, BRR 1/R, Fay 1/(R (1-rho)^2),
        bootstrap 1/(R-1), SDR and ACS 4/R; JKn needs ``rscales``; "other" uses the
        ``scale`` and ``rscales`` given (default 1).
    rho : float, optional
        Fay's coefficient (type "Fay").
    scale, rscales : optional
        Override the type's constants (R's ``scale=``, ``rscales=``).
    mse : bool
        Centre the replicates at the full-sample estimate instead of their mean.
    combined_weights : bool
        The replicate columns are full analysis weights (True, R's default) or
        multipliers of ``weights``.
    df : float, optional
        Degrees of freedom; default: rank of the replicate weights minus 1, per
        domain, as R's ``degf``.

    Examples
    --------
    >>> import numpy as np, pandas as pd, steppe as sp
    >>> df = pd.DataFrame({"w": [2.0] * 4, "y": [1.0, 2, 3, 4]})
    >>> for i in range(4):  # delete-one jackknife
    ...     df[f"rep{i}"] = np.where(np.arange(4) == i, 0.0, 2.0 * 4 / 3)
    >>> d = sp.ReplicateDesign(df, weights="w", replicate_weights="rep[0-9]", type="JK1")
    >>> round(float(d.mean("y").to_frame().se.iloc[0]), 6)
    0.645497
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str | None = None,
        replicate_weights: str | Sequence[str] = (),
        type: str = "JK1",
        rho: float | None = None,
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        df: float | None = None,
        threads: int | None = None,
    ) -> None:
        super().__init__(data, weights=weights, threads=threads)
        names = _replicate_columns(data, replicate_weights)
        reps = np.empty((len(data), len(names)), order="F")  # one copy, column-major
        for j, n in enumerate(names):
            reps[:, j] = cols.weights(data[n])
        self._init_replicates(reps, names, type, rho, scale, rscales, mse, combined_weights, df)

    def _init_replicates(
        self,
        reps: np.ndarray,
        names: list[str],
        type: str,
        rho: float | None,
        scale: float | None,
        rscales: Sequence[float] | float | None,
        mse: bool,
        combined_weights: bool,
        df: float | None,
    ) -> None:
        if type not in TYPES:
            raise InvalidInputError(f"type must be one of {TYPES}, got {type!r}")
        n_rep = reps.shape[1]
        if n_rep < 2:
            raise InvalidInputError("a replicate design needs at least two replicate weights")
        if not combined_weights:
            reps = reps * self.weights[:, None]
        sc, rs = _constants(type, n_rep, rho, scale, rscales)
        # Keep one copy: a column-major matrix, whose columns the core reads in place.
        self._replicates = np.asfortranarray(reps)
        self._rep_columns = [self._replicates[:, r] for r in range(n_rep)]
        self._rep_scale = sc
        self._rep_rscales = rs
        self._rep_mse = bool(mse)
        self._rep_df = df
        self._rep_rank: int | None = None
        self._spec.update(
            {
                "type": type,
                "replicates": n_rep,
                "replicate_weights": names,
                "scale": sc,
                "rho": rho,
                "mse": bool(mse),
            }
        )

    @property
    def replicate_weights(self) -> np.ndarray:
        """The replicate analysis weights, rows x replicates."""
        return self._replicates

    @property
    def degf(self) -> int:
        """Rank of the replicate weights minus 1 (R's degf for replicate designs)."""
        if self._rep_df is not None:
            return int(self._rep_df)
        if self._rep_rank is None:  # an SVD of rows x replicates: compute it once
            self._rep_rank = _gram_rank(self._replicates)
        return self._rep_rank - 1

    def summary(self) -> dict[str, Any]:
        """Design facts: rows, replicates, type, scale, degrees of freedom."""
        return super().summary()

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<steppe.ReplicateDesign: {s['n_rows']} rows, {s['replicates']} {s['type']} "
            f"replicates, df={s['degf']}>"
        )

    def proportion(
        self,
        variable: str | Sequence[str],
        by: Any = None,
        ci: str = "xlogit",
        level: float = 0.95,
        df: Any = "design",
    ) -> Any:
        """Shares of every level, as :meth:`Design.proportion` (default ``ci="xlogit"``).

        "xlogit" is the delta-method logit interval with the replicate variance of
        the share. "logit" is R's svyciprop interval from the logistic model
        refitted to every replicate: the link-scale variance is the replicates'
        variance of logit(p_r) (exact, where R's IRLS stops at its convergence
        tolerance). A replicate with p_r = 0 or 1 has an infinite logit: that
        interval is [0, 1]. "likelihood" is refused (R 4.1.1 returns NA there).
        """
        return super().proportion(variable, by=by, ci=ci, level=level, df=df)

    def _run(self, statistic: str, variable: Any, by: Any, ci: Any, *args: Any, **kw: Any) -> Any:
        if ci == "likelihood":
            raise InvalidInputError(
                "ci='likelihood' on a replicate design: R (survey 4.1.1) takes the profile's "
                "dispersion from svyvar of the Pearson residuals, which on replicate designs is "
                "about n times too large, and returns NA; use 'logit' (R's replicate-fit "
                "interval), 'xlogit', 'beta', 'wilson', 'mean' or 'asin'"
            )
        return super()._run(statistic, variable, by, ci, *args, **kw)

    def _share_ci_variance(self, raw: dict[str, Any], method: str) -> np.ndarray:
        """Return the variance behind a share's interval.

        For "logit", the replicates' variance of logit(p_r), as a variance of p
        (times (p (1-p))^2): R's svyciprop fits the logistic model to every
        replicate, so the link-scale se is that of the replicate logits.
        """
        var = np.asarray(raw["variance"])
        if method != "logit":
            return var
        p = np.asarray(raw["estimate"])
        inside = (p > 0) & (p < 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            reps = np.asarray(raw["replicates"])
            logits = np.log(reps / (1 - reps))
            centre = np.log(p / (1 - p))
        v_logit = self._replicate_variance(logits, centre)
        v_logit[np.isinf(logits).any(axis=0)] = np.inf  # a replicate share of 0 or 1
        return np.where(inside, v_logit * (p * (1 - p)) ** 2, var)

    def _replicate_variance(self, thetas: np.ndarray, estimate: np.ndarray) -> np.ndarray:
        """R's svrVar of each column of replicates x cells (undefined replicates dropped)."""
        return _core.replicate_variance(
            np.asarray(thetas, dtype=np.float64),
            np.asarray(estimate, dtype=np.float64),
            self._rep_scale,
            self._rep_rscales,
            self._rep_mse,
        )

    def _weighting_replicates(self) -> np.ndarray | None:
        return self._replicates

    def _weighted(self, result: Any) -> Design:
        """Return the copy whose full sample and replicate columns the core weighted, as R."""
        out = super()._weighted(result)
        assert isinstance(out, ReplicateDesign) and result.replicate_weights is not None
        out._replicates = result.replicate_weights
        out._rep_columns = [out._replicates[:, r] for r in range(out._replicates.shape[1])]
        out._rep_rank = None  # R recomputes degf after weighting
        return out

    def quantile(
        self,
        variable: str,
        probs: Any = (0.25, 0.5, 0.75),
        by: Any = None,
        ci: str = "mean",
        level: float = 0.95,
        df: Any = "design",
        rule: str = "math",
    ) -> Any:
        """Quantiles with replicate-based intervals (R's svyquantile on svrepdesign).

        ``ci="mean"`` (default): Woodruff's interval, the CDF's Wald interval from
        its replicate variance mapped back through the quantile rule (R's
        replicate-design Woodruff interval always uses the Wald form, so "beta",
        "xlogit" and "asin" are refused rather than silently ignored as R does).
        ``ci="quantile"``: R's ``interval.type = "quantile"``, the quantile
        recomputed under every replicate's weights, se from their variance and
        the interval q +- t se (not valid for jackknife replicates: R warns).
        """
        if ci not in ("mean", "quantile"):
            raise InvalidInputError(
                "quantile() on a replicate design takes ci='mean' (Woodruff) or 'quantile' "
                "(replicate quantiles); R's replicate svyquantile ignores 'beta', 'xlogit' "
                "and 'asin'"
            )
        return super().quantile(variable, probs, by=by, ci=ci, level=level, df=df, rule=rule)

    def _core_estimate(self, statistic: str, **kwargs: Any) -> dict[str, Any]:
        return _core.estimate_replicates(
            self._core,
            statistic,
            replicate_weights=self._rep_columns,
            scale=self._rep_scale,
            rscales=self._rep_rscales,
            mse=self._rep_mse,
            keep_replicates=True,
            **kwargs,
        )

    def _domain_df(
        self, raw: dict[str, Any], kwargs: dict[str, Any], by_codes: list[cols.Codes]
    ) -> np.ndarray:
        """Per domain, the rank of its rows' replicate weights minus 1 (R's degf of a subset)."""
        n_dom = raw["domain_codes"].shape[0]
        if self._rep_df is not None:
            return np.full(n_dom, float(self._rep_df))
        valid = (
            np.ones(len(self.data), dtype=bool) if self._mask is None else self._mask.astype(bool)
        )
        if "values" in kwargs:
            valid &= ~np.isnan(kwargs["values"])
        if "codes" in kwargs:
            valid &= kwargs["codes"] >= 0
        if kwargs.get("denominator") is not None:
            valid &= ~np.isnan(kwargs["denominator"])
        key = np.zeros(len(self.data), dtype=np.int64)
        for c in by_codes:
            valid &= c.codes >= 0
            key = key * len(c.labels) + c.codes
        dom_keys = np.zeros(n_dom, dtype=np.int64)
        for j, c in enumerate(by_codes):
            dom_keys = dom_keys * len(c.labels) + raw["domain_codes"][:, j]
        if n_dom == 1 and not by_codes:
            return np.array([float(_gram_rank(self._replicates[valid]) - 1)])
        # One sort of the rows by domain, then each domain's rows are a slice.
        rows = np.flatnonzero(valid)
        rows = rows[np.argsort(key[rows], kind="stable")]
        bounds = np.searchsorted(key[rows], np.concatenate([dom_keys, dom_keys + 1]))
        out = np.empty(n_dom)
        for d in range(n_dom):
            block = self._replicates[rows[bounds[d] : bounds[n_dom + d]]]
            out[d] = _gram_rank(block) - 1
        return out


def _replicate_columns(data: pd.DataFrame, spec: str | Sequence[str]) -> list[str]:
    if isinstance(spec, str):
        pattern = re.compile(spec)
        names = [c for c in data.columns if isinstance(c, str) and pattern.search(c)]
        if not names:
            raise InvalidInputError(f"replicate_weights: no column matches {spec!r}")
        return names
    names = list(spec)
    cols.require_columns(data, names, "replicate_weights")
    return names


def _constants(
    type: str,
    n_rep: int,
    rho: float | None,
    scale: float | None,
    rscales: Sequence[float] | float | None,
) -> tuple[float, list[float]]:
    """R's svrepdesign defaults for scale and rscales."""
    if rscales is None:
        rs = [1.0] * n_rep
    elif isinstance(rscales, (int, float)):
        rs = [float(rscales)] * n_rep
    else:
        rs = [float(x) for x in rscales]
        if len(rs) != n_rep:
            raise InvalidInputError(f"rscales has {len(rs)} values for {n_rep} replicates")
    if type == "BRR":
        return 1.0 / n_rep, rs
    if type == "Fay":
        if rho is None or not 0 <= rho < 1:
            raise InvalidInputError("type='Fay' needs rho in [0, 1)")
        return 1.0 / (n_rep * (1 - rho) ** 2), rs
    if type in ("SDR", "ACS"):
        return 4.0 / n_rep, [1.0] * n_rep
    if type == "bootstrap":
        return (1.0 / (n_rep - 1) if scale is None else float(scale)), rs
    if type == "JK1":
        return ((n_rep - 1) / n_rep if scale is None else float(scale)), rs
    if type == "JKn" and rscales is None:
        raise InvalidInputError("type='JKn' needs rscales ((n_h - 1) / n_h per replicate)")
    return (1.0 if scale is None else float(scale)), rs


def _gram_rank(x: np.ndarray, tol: float = 1e-5) -> int:
    """Return _rank(x), computed from the eigenvalues of x'x when x is tall.

    The eigenvalues of x'x are the squared singular values of x, so the test
    s_i > tol s_1 is lambda_i > tol^2 lambda_1 (1e-10 relative, far above the
    ~1e-16 rounding of a symmetric eigensolver). Forming x'x costs rows x R^2
    flops, a quarter of an SVD of x, and the eigenproblem is only R x R.
    """
    if x.shape[0] <= 2 * x.shape[1]:
        return _rank(x, tol)
    lam = np.linalg.eigvalsh(x.T @ x)
    top = lam[-1]
    return int(np.sum(lam > tol * tol * top)) if top > 0 else 0


def _rank(x: np.ndarray, tol: float = 1e-5) -> int:
    """Numerical rank, as R's qr(x, tol = 1e-5)$rank for well-conditioned weights."""
    if x.size == 0:
        return 0
    s = np.linalg.svd(np.asarray(x, dtype=np.float64), compute_uv=False)
    return int(np.sum(s > tol * s[0])) if s[0] > 0 else 0
