"""The survey designs users build: thin facades over a :class:`DesignState`.

``Design`` (R's ``svydesign``) and ``ReplicateDesign`` (R's ``svrepdesign``) hold
no statistics: each method checks its arguments, hands the state to a helper
module, and wraps what comes back (a result, or a new state for a new design).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _contrast, _core, _diagnostics, _quantile, _replicate_weights, _tables, _weighting
from ._docs import estimator_doc
from ._estimators import estimates
from ._pps import PpsArg, pps_options
from ._replicate_spec import TYPES, replicate_columns, replicate_constants
from ._state import DesignSpec, DesignState
from .errors import EqualProbabilityWarning, InvalidInputError, NotEstimableError
from .results import Estimates

_D = TypeVar("_D", bound="Design")

Columns = Union[str, Sequence[str], None]
DfRule = Union[str, float, int]


class Design:
    """A complex survey design over a pandas DataFrame, as R's ``svydesign``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent. It is referenced, not copied: do not mutate it
        while the design is in use.
    weights : str, optional
        Column of sampling weights (finite, >= 0). When omitted, weights come from
        ``fpc`` (inverse sampling fractions) as in R, or are all 1 — with
        neither weights nor fpc, an EqualProbabilityWarning says so, as R's
        "No weights or probabilities supplied, assuming equal probability".
    strata : str or list of str, optional
        Stratum column(s); several columns are crossed.
    psu : str, optional
        Primary sampling unit (cluster) ids. Omitted: each row is its own PSU.
    fpc : str, optional
        Stage-1 finite population correction: population sizes (all >= 1) or
        sampling fractions (all <= 1), constant within strata, as R. With
        ``pps``: each PSU's inclusion probability (varying within strata).
    psu2, fpc2 : str, optional
        Second-stage unit ids and their population sizes or fractions.
    nest : bool
        PSU ids repeat across strata (R's ``nest=TRUE``): ids are made unique
        within strata.
    lonely_psu : {"fail", "remove", "certainty", "adjust", "average"}
        Rule for strata with a single PSU, R's ``options(survey.lonely.psu)``.
    pps : str, array or HartleyRao, optional
        Sampling with probability proportional to size, without replacement, as
        R's ``svydesign(pps=)``; ``fpc`` then holds each PSU's inclusion
        probability and the weights are ``1 / fpc``:

        - ``"brewer"``: Brewer's approximation, ``n/(n-1) sum (1 - pi_i)(z_i -
          zbar)^2`` per stratum (R's ``pps="brewer"``); the only method that
          takes ``weights``, ``lonely_psu``, weighting steps and a second stage
          (``psu2``, ``fpc2`` as sampling fractions), as in R.
        - ``"overton"``: Overton's approximation of the joint probabilities
          (R's ``pps="overton"``).
        - ``"hartley-rao"``: Hartley–Rao's, with each stratum's mean sample
          probability for sum(pi^2)/n (R's ``pps=HR()``); ``HartleyRao(psum)``
          gives the population's value (R's ``HR(psum)``).
        - a square numpy array or DataFrame of joint inclusion probabilities, one
          row and column per data row (each row its own PSU): the
          Horvitz–Thompson form with Dcheck entries below 1e-4 set to 0 (R's
          ``pps=ppsmat(jointprob)``).

        Variances are quadratic forms in the PSU totals of the influence values
        (zero outside a domain), so ``by=``, ``subset``, means, totals,
        proportions and ratios work as in R. Design effects compare with simple
        random sampling as R's ``svydesign`` designs do (for ``"brewer"`` R's own
        value; R's ``svytotal`` on the other PPS designs omits a factor n).
        ``crosstab`` works; ``chisq``, ``contrast``, ``compare`` and
        ``to_replicate`` raise for PPS designs, as does weighting except for
        ``"brewer"``.
    variance : {"HT", "YG"}
        Horvitz–Thompson (default) or Yates–Grundy form (R's ``variance=``);
        "YG" needs joint probabilities: ``pps="overton"``, ``"hartley-rao"``,
        ``HartleyRao`` or a matrix.
    adjust_domain_lonely : bool
        R's ``options(survey.adjust.domain.lonely = TRUE)``: in a domain (``by=``
        or ``subset``) with rows in a single PSU of a stratum that has several,
        that PSU is treated by the lonely rule -- "adjust" centres its total at
        zero instead of the stratum mean, "average" leaves the stratum out and
        scales the others up; the other rules give the usual variance (R only
        warns). As in R, a calibrated design keeps every PSU in every domain, so
        the option changes nothing there. One-stage designs only.
    threads : int, optional
        Worker threads for estimation (default: all cores). Results do not
        depend on it beyond rounding.

    Examples
    --------
    >>> import pandas as pd, steppe as sp
    >>> df = pd.DataFrame({"w": [1.0, 2, 1, 2], "s": ["a", "a", "b", "b"],
    ...                    "y": [1.0, 2, 3, 4]})
    >>> d = sp.Design(df, weights="w", strata="s")
    >>> round(float(d.mean("y").to_frame().estimate.iloc[0]), 4)
    2.6667

    A PPS sample without replacement (fpc = inclusion probabilities):

    >>> pps = pd.DataFrame({"p": [0.2, 0.4, 0.6, 0.3], "y": [1.0, 3, 4, 2]})
    >>> d = sp.Design(pps, fpc="p", pps="overton")
    >>> est = d.total("y").to_frame()
    >>> round(float(est.estimate.iloc[0]), 4), round(float(est.se.iloc[0]), 4)
    (25.8333, 0.7136)
    """

    def __init__(
        self,
        data: pd.DataFrame,
        weights: str | None = None,
        strata: Columns = None,
        psu: str | None = None,
        fpc: str | None = None,
        psu2: str | None = None,
        fpc2: str | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        threads: int | None = None,
        pps: PpsArg = None,
        variance: str = "HT",
        adjust_domain_lonely: bool = False,
    ) -> None:
        if not isinstance(data, pd.DataFrame):
            raise InvalidInputError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        if len(data) == 0:
            raise InvalidInputError("data has no rows")
        strata_cols = cols.as_list(strata)
        named = {
            "weights": [weights] if weights else [],
            "strata": strata_cols,
            "psu": [psu] if psu else [],
            "fpc": [fpc] if fpc else [],
            "psu2": [psu2] if psu2 else [],
            "fpc2": [fpc2] if fpc2 else [],
        }
        for role, names in named.items():
            cols.require_columns(data, names, role)
        if psu2 and not psu:
            raise InvalidInputError("psu2 needs psu (the first-stage ids)")
        if weights is None and fpc is None and not isinstance(self, ReplicateDesign):
            warnings.warn(
                "No weights or probabilities supplied, assuming equal probability (every "
                "weight 1, as R's svydesign); design effects are then undefined (inf)",
                EqualProbabilityWarning,
                stacklevel=2,
            )

        strata_codes = cols.design_codes(data, strata_cols, "strata") if strata_cols else None
        psu_codes = cols.design_codes(data, [psu], "psu") if psu else None
        # The core nests PSUs in strata (nest=True) and psu2 in PSUs, as R's svydesign.
        psu2_codes = cols.design_codes(data, [psu2], "psu2").codes if psu2 else None
        fpc_values = cols.numeric(data[fpc], "fpc") if fpc else None
        fpc2_values = cols.numeric(data[fpc2], "fpc2") if fpc2 else None
        w = cols.weights(data[weights]) if weights else None  # None: from fpc, in the core
        stratum_labels = [] if strata_codes is None else [str(x) for x in strata_codes.labels]
        pps_kwargs = pps_options(pps, variance, len(data))
        core = _core.Design(
            w,
            strata=None if strata_codes is None else strata_codes.codes,
            psu=None if psu_codes is None else psu_codes.codes,
            psu2=psu2_codes,
            fpc=fpc_values,
            fpc2=fpc2_values,
            stratum_labels=stratum_labels,
            psu_labels=[] if psu_codes is None else [str(x) for x in psu_codes.labels],
            lonely_psu=lonely_psu,
            nest=nest,
            rows=len(data),
            columns={role: ", ".join(c) for role, c in named.items() if c},  # for messages
            adjust_domain_lonely=bool(adjust_domain_lonely),
            **pps_kwargs,
        )
        spec = DesignSpec(
            weights=weights,
            strata=tuple(strata_cols),
            psu=psu,
            fpc=fpc,
            psu2=psu2,
            fpc2=fpc2,
            nest=nest,
            lonely_psu=lonely_psu,
            pps=core.pps,
            variance=variance if pps is not None else "HT",
            adjust_domain_lonely=bool(adjust_domain_lonely),
        )
        self._state = DesignState(
            data=data,
            core=core,
            spec=spec,
            weights=core.weights,  # given, or from fpc as R's svydesign
            threads=_threads(threads),
        )

    @classmethod
    def _from_state(cls: type[_D], state: DesignState) -> _D:
        """Return a facade of this class over ``state`` (how every derived design is made)."""
        out = object.__new__(cls)
        out._state = state
        return out

    def _weighted(self: _D, step: _weighting.Weighted) -> _D:
        return self._from_state(step.state)

    # ---------------------------------------------------------------- accessors
    @property
    def data(self) -> pd.DataFrame:
        """The DataFrame the design refers to."""
        return self._state.data

    @property
    def weights(self) -> np.ndarray:
        """Sampling weights as float64, in row order."""
        return self._state.weights

    @property
    def degf(self) -> int:
        """Design degrees of freedom, PSUs minus strata (R's ``degf``) of the full design."""
        return self._state.degf

    def summary(self) -> dict[str, Any]:
        """Design facts: rows, strata, PSUs, degrees of freedom, the columns used.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> d = sp.Design(pd.DataFrame({"w": [1.0, 1, 1], "y": [0, 1, 1]}), weights="w")
        >>> d.summary()["n_psu"]
        3
        """
        return self._state.summary()

    def __repr__(self) -> str:
        s = self.summary()
        kind = "each row its own PSU" if s["psu"] is None else f"{s['n_psu']} PSUs"
        dom = f", domain of {s['domain_rows']} rows" if "domain_rows" in s else ""
        if s.get("pps"):
            kind += f", PPS {s['pps']} ({s['variance']})"
        return (
            f"<steppe.Design: {s['n_rows']} rows, {s['n_strata']} strata, {kind}, "
            f"df={s['degf']}{dom}>"
        )

    # ------------------------------------------------------------------ domains
    def subset(self: _D, mask: Any) -> _D:
        """Restrict estimates to a domain, keeping the full design.

        Estimates use only rows where ``mask`` is True, but the design (strata,
        PSU counts, FPC) stays the full one, as R's ``subset(design, ...)``.
        Missing mask values count as False.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 2, 1, 2], "y": [1.0, 2, 3, 4]})
        >>> d = sp.Design(df, weights="w").subset(df.y > 1)
        >>> float(d.total("y").to_frame().estimate.iloc[0])
        15.0
        """
        m = cols.mask(mask, self._state.data)
        if self._state.mask is not None:
            m = np.ascontiguousarray(m & self._state.mask)
        if not m.any():
            raise NotEstimableError("subset: the mask selects no rows (empty domain)")
        return self._from_state(self._state.replace(mask=m))

    # --------------------------------------------------------------- estimators
    @estimator_doc
    def mean(
        self,
        variable: str | Sequence[str],
        by: Columns = None,
        ci: str | None = None,
        level: float = 0.95,
        df: DfRule = "design",
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        """Weighted means (R's ``svymean``); a categorical column gives each level's share.

        Parameters
        ----------
        variable : str or list of str
            Column(s); several are estimated together (see ``na``).
        by : str or list of str, optional
            Domain columns (R's ``svyby``); several are crossed.
        ci : str, optional
            Interval: Wald, est ± t(df) se ("wald", the default). For shares of a
            categorical column also a proportion method of :meth:`proportion`;
            naming one for a numeric column raises InvalidInputError.
        level : float
            Confidence level.
        {df}
        {na}
        {na_by}
        {deff}

        Returns
        -------
        {estimates}

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 3], "y": [0.0, 1.0]})
        >>> float(sp.Design(df, weights="w").mean("y").to_frame().estimate.iloc[0])
        0.75

        Several variables use complete cases unless ``na="available"``:

        >>> df = pd.DataFrame({"w": [1.0, 1, 1], "a": [1.0, None, 3], "b": [2.0, 4, 9]})
        >>> d = sp.Design(df, weights="w")
        >>> d.mean(["a", "b"]).to_frame()[["variable", "estimate", "n", "n_missing"]]
          variable  estimate  n  n_missing
        0        a       2.0  2          1
        1        b       5.5  2          1
        >>> d.mean(["a", "b"], na="available").to_frame().estimate.tolist()
        [2.0, 5.0]
        """
        return self._run("mean", variable, by, ci, level, df, na=na, na_by=na_by, deff=deff)

    @estimator_doc
    def total(
        self,
        variable: str | Sequence[str],
        by: Columns = None,
        level: float = 0.95,
        df: DfRule = "design",
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        """Weighted totals (R's ``svytotal``); a categorical column gives each level's count.

        Intervals are Wald, est ± t(df) se.

        Parameters
        ----------
        variable : str or list of str
            Column(s); several are estimated together (see ``na``).
        by : str or list of str, optional
            Domain columns (R's ``svyby``).
        level : float
            Confidence level.
        {df}
        {na}
        {na_by}
        {deff}

        Returns
        -------
        {estimates}

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 3], "y": [2.0, 1.0]})
        >>> float(sp.Design(df, weights="w").total("y").to_frame().estimate.iloc[0])
        5.0
        """
        return self._run("total", variable, by, None, level, df, na=na, na_by=na_by, deff=deff)

    @estimator_doc
    def proportion(
        self,
        variable: str | Sequence[str],
        by: Columns = None,
        ci: str = "logit",
        level: float = 0.95,
        df: DfRule = "design",
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        """Share of every level of a categorical variable, with CIs as R's ``svyciprop``.

        A numeric column is taken as categories, one share per distinct value;
        with more than 10 distinct values this warns (ManyLevelsWarning).

        Parameters
        ----------
        variable : str or list of str
            Column(s); several are estimated together (see ``na``).
        by : str or list of str, optional
            Domain columns (R's ``svyby``).
        ci : {"logit", "beta", "wilson", "xlogit", "mean", "likelihood", "asin", "wald"}
            Interval method, as R's ``svyciprop(method=)``: "logit" (default) the
            delta-method interval on the logit scale; "beta" Korn–Graubard's
            Clopper–Pearson with the effective sample size; "wilson" the score
            interval with the effective sample size; "xlogit" the logit interval
            from the share's SE; "mean" R's "mean" (Wald, est ± t se, clipped to
            no bound); "likelihood" the design-adjusted likelihood-ratio interval;
            "asin" the arcsine square-root interval; "wald" est ± t se (R's
            ``confint(svymean(...))``), unclipped. At an estimate of 0 (or 1)
            every method but "wald" gives the one-sided Korn–Graubard bound
            [0, U] (or [L, 1]).
        level : float
            Confidence level.
        {df}
            Korn–Graubard ("beta") always uses the design df, as R.
        {na}
        {na_by}
        {deff}

        Returns
        -------
        {estimates}

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 4, "a": ["x", "y", "y", "y"]})
        >>> sp.Design(df, weights="w").proportion("a").to_frame().estimate.tolist()
        [0.25, 0.75]
        """
        return self._run("proportion", variable, by, ci, level, df, na=na, na_by=na_by, deff=deff)

    @estimator_doc
    def ratio(
        self,
        numerator: str | Sequence[str],
        denominator: str,
        by: Columns = None,
        level: float = 0.95,
        df: DfRule = "design",
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        """Ratio of two weighted totals (R's ``svyratio``).

        Rows missing the numerator or the denominator are always left out (as
        R's ``svyratio(..., na.rm = TRUE)``). Intervals are Wald, est ± t(df) se.

        Parameters
        ----------
        numerator : str or list of str
            Numerator column(s), each over ``denominator``.
        denominator : str
            Denominator column.
        by : str or list of str, optional
            Domain columns (R's ``svyby``).
        level : float
            Confidence level.
        {df}
        {na}
        {na_by}
        {deff}

        Returns
        -------
        {estimates}

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 1], "y": [2.0, 4], "x": [1.0, 2]})
        >>> float(sp.Design(df, weights="w").ratio("y", "x").to_frame().estimate.iloc[0])
        2.0
        """
        return self._run(
            "ratio",
            numerator,
            by,
            None,
            level,
            df,
            denominator=denominator,
            na=na,
            na_by=na_by,
            deff=deff,
        )

    def quantile(
        self,
        variable: str,
        probs: float | Sequence[float] = (0.25, 0.5, 0.75),
        by: Columns = None,
        ci: str = "mean",
        level: float = 0.95,
        df: DfRule = "design",
        rule: str = "math",
    ) -> Estimates:
        """Weighted quantiles with Woodruff intervals, as R's ``svyquantile``.

        Parameters
        ----------
        probs : float or list of float
            Probabilities; each becomes a row with ``prob`` = p (the column ``level``
            holds for categories; for quantiles it would read as a confidence level).
        ci : {"mean", "beta", "xlogit", "asin", "score"}
            Interval for the CDF at the estimate (R's ``interval.type``, default
            "mean": Wald), mapped back through the quantile rule (Woodruff 1952).
            When the CDF interval's lower limit is below 0 (a quantile near the
            smallest value) the lower limit and the se are NaN and flagged, as in
            R 4.1.1's ``svyquantile`` (its pre-4.0 method, ``oldsvyquantile``, used
            the smallest value there); between 0 and the first value's weight share
            the step rules give the second value, as R. "score" is R's
            ``interval.type = "score"`` (Francisco & Fuller 1991): the roots of the
            design-based score test by R's ``uniroot``, each mapped to the rule's
            quantile at the unweighted share of values below it, as R does
            (linearisation designs; on weighted designs the whole sample only).
            On replicate designs: "mean" or "quantile" (replicate quantiles).
        rule : str
            R's ``qrule``: "math" (default; the smallest x with weighted CDF >= p),
            "school", "shahvaish", "hf1"-"hf9".

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 5, "y": [1.0, 2, 3, 4, 5]})
        >>> sp.Design(df, weights="w").quantile("y", 0.5).to_frame().estimate.tolist()
        [3.0]
        """
        _quantile.check_variable(self._state, variable)
        by_cols = cols.as_list(by)
        cols.require_columns(self._state.data, by_cols, "by")
        _check_df(df)
        probs_list = [float(probs)] if isinstance(probs, (int, float)) else list(probs)
        frame = _quantile.quantile_frame(
            self._state, variable, probs_list, by_cols, ci, level, df, rule
        )
        meta = {
            "statistic": "quantile",
            "variables": [variable],
            "by": by_cols,
            "ci_method": frame.attrs.get("ci_method"),
            "level": float(level),
            "df_rule": "inf" if isinstance(df, float) and math.isinf(df) else df,
            "design": self._state.summary(degf=not (isinstance(df, float) and math.isinf(df))),
            "rule": rule,
        }
        return Estimates(frame, meta)

    def crosstab(
        self,
        row: str,
        col: str,
        by: Columns = None,
        ci: str = "logit",
        level: float = 0.95,
        df: DfRule = "design",
    ) -> _tables.Crosstab:
        """Cell, row and column proportions of a two-way table, with SEs and CIs.

        Returns a ``Crosstab`` with ``.cells`` (joint shares), ``.rows`` (shares of
        ``col`` within each ``row`` level), ``.columns`` (shares of ``row`` within
        each ``col`` level), each an :class:`Estimates`, and ``to_frame()``.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 4, "a": ["x", "x", "y", "y"],
        ...                    "b": ["u", "v", "v", "v"]})
        >>> t = sp.Design(df, weights="w").crosstab("a", "b")
        >>> t.rows.to_frame().estimate.tolist()
        [0.5, 0.5, 0.0, 1.0]
        """
        return _tables.crosstab(self._state, row, col, cols.as_list(by), ci, level, df)

    def table(self, row: str, col: str | None = None, ntotal: Any = None) -> _tables.WeightedTable:
        """Weighted counts of ``row`` (x ``col``), as R's ``svytable`` -- no variances.

        Needing no variance, it works on every design: strata with a single PSU
        (whatever ``lonely_psu`` says), replicate designs, domains. Rows missing
        ``row`` or ``col`` are in no cell (R's ``xtabs``).

        Parameters
        ----------
        row, col : str
            Categorical columns; ``col`` omitted gives a one-way table.
        ntotal : number, dict, pandas.Series or pandas.DataFrame, optional
            R's ``Ntotal``. A number rescales the counts to that total. Totals per
            stratum (a dict or Series by stratum label, or R's two-column data frame
            of stratum and total) rescale each stratum's counts to its total, then
            add the strata; a stratum with no weight in the table needs none. On a
            replicate design, where R's default ``Ntotal`` is the sum of the weights,
            the counts are rescaled to the domain's sum of weights (the same counts
            unless rows miss ``row`` or ``col``), and per-stratum totals are refused.

        Returns
        -------
        WeightedTable
            ``to_frame()`` (long: one row per cell, ``count`` and ``n``), ``wide()``
            (rows x columns), ``to_json()``, an HTML view.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 1, 2, 4], "s": list("aabb"), "y": list("uvuv")})
        >>> d = sp.Design(df, weights="w", strata="s")
        >>> d.table("y").wide()["count"].tolist()
        [3.0, 5.0]
        >>> d.table("y", ntotal={"a": 10, "b": 30}).wide()["count"].tolist()
        [15.0, 25.0]
        """
        return _tables.weighted_table(self._state, row, col, ntotal)

    def chisq(self, row: str, col: str, statistic: str = "F") -> _tables.ChisqResult:
        """Test of association in a two-way table, as R's ``svychisq``.

        Parameters
        ----------
        statistic : {"F", "Chisq", "Wald", "adjWald", "lincom", "saddlepoint"}
            "F": Pearson's X^2 with the Rao-Scott second-order correction as an F
            (R's default); "Chisq": the first-order (mean design effect)
            correction; "Wald"/"adjWald": design-based Wald tests of independence;
            "lincom": X^2 against its asymptotic distribution, a linear
            combination of chi-squares weighted by the design effects'
            eigenvalues, computed exactly (R uses CompQuadForm::davies, and without
            that package falls back to the saddlepoint with a warning);
            "saddlepoint": R's saddlepoint approximation of the same.

        Examples
        --------
        >>> import steppe as sp
        >>> poll = sp.datasets.load_poll(wave="2023-05")
        >>> d = sp.Design(poll, weights="weight", strata="stratum", psu="psu")
        >>> d.chisq("attitude_to_russia", "ethnicity").p_value < 0.05
        True
        """
        return _tables.chisq(self._state, row, col, statistic)

    def contrast(
        self,
        variable: str,
        by: str,
        contrasts: Any,
        category: Any = None,
        statistic: str = "mean",
        level: float = 0.95,
        denominator: str | None = None,
    ) -> pd.DataFrame:
        """Linear contrasts of domain estimates with design-based SEs (R's ``svycontrast``).

        Parameters
        ----------
        contrasts : dict
            ``{name: {by_level: coefficient, ...}}``, e.g.
            ``{"youth vs 60+": {"18-29": 1, "60+": -1}}``; or ``{name: (a, b)}``
            for the ratio of two domains' estimates (delta method).
        category : optional
            For a categorical ``variable``, the category whose share is compared.
        statistic : {"mean", "total", "ratio"}
            "ratio" compares domain ratios ``variable / denominator`` (R's
            ``svyby(..., svyratio, covmat = TRUE)``).
        level : float
            Confidence level of the intervals (as everywhere in steppe).
        denominator : str, optional
            The ratio's denominator column (``statistic="ratio"``).

        Returns
        -------
        pandas.DataFrame
            contrast, estimate, se, ci_low, ci_high, t, df, p_value. The SE uses the
            full covariance of the domain estimates (domains sharing PSUs are
            correlated); samples drawn in separate strata, such as independent
            survey waves stratified by wave, have zero covariance by design.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 6, "g": list("aaabbb"),
        ...                    "y": [1.0, 2, 3, 5, 6, 7], "s": [0, 0, 1, 1, 2, 2]})
        >>> d = sp.Design(df, weights="w", strata="s")
        >>> float(d.contrast("y", "g", {"b-a": {"b": 1, "a": -1}}).estimate.iloc[0])
        4.0
        """
        return _contrast.contrast_rows(
            self._state, variable, by, contrasts, category, statistic, level, denominator
        )

    def compare(
        self,
        variable: str,
        by: str,
        category: Any = None,
        statistic: str = "mean",
        adjust: str = "holm",
        level: float = 0.95,
        denominator: str | None = None,
    ) -> pd.DataFrame:
        """All pairwise differences between the levels of ``by``, with adjusted p-values.

        ``adjust``: "holm" (default), "bonferroni" or "none" (R's ``p.adjust``);
        the frame of :meth:`contrast` plus ``p_adjusted``. ``category`` picks the
        share compared for a categorical ``variable``; ``level`` is the confidence level.

        Examples
        --------
        >>> import steppe as sp
        >>> poll = sp.datasets.load_poll(wave="2023-05")
        >>> d = sp.Design(poll, weights="weight", strata="stratum", psu="psu")
        >>> len(d.compare("attitude_to_russia", "age_group", category="improved"))
        6
        """
        return _contrast.compare_rows(
            self._state, variable, by, category, statistic, adjust, level, denominator
        )

    # ---------------------------------------------------------------- weighting
    def poststratify(self: _D, columns: str | Sequence[str], population: Any) -> _D:
        """Post-stratify to population counts, as R's ``postStratify``.

        Weights in each cell of ``columns`` (crossed when several) are scaled to
        the cell's population count, and every later estimate's variance uses
        the post-stratification residuals, as R does. Weighting steps chain: a
        design that is already post-stratified, raked, calibrated or trimmed
        is post-stratified from its current weights, and the variance takes
        every step's residuals in turn (R's ``svyrecvar`` over ``postStrata``).

        Parameters
        ----------
        columns : str or list of str
            Post-stratification variable(s); they may not be missing.
        population : pandas.Series, pandas.DataFrame or dict
            Counts by label: a Series indexed by label (a MultiIndex for several
            columns), a DataFrame with the columns and one count column, or a dict.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 1, 1, 1], "sex": ["f", "f", "m", "m"],
        ...                    "y": [1.0, 2, 3, 4]})
        >>> d = sp.Design(df, weights="w").poststratify("sex", {"f": 30, "m": 10})
        >>> float(d.total("y").to_frame().estimate.iloc[0])
        80.0
        """
        return self._weighted(_weighting.poststratify(self._state, columns, population))

    def calibrate(
        self: _D,
        targets: Any,
        population: Any = None,
        method: str = "linear",
        bounds: tuple[float, float] | None = None,
        max_iter: int = 50,
        tol: float = 1e-7,
        total: float | None = None,
        strict: bool = False,
    ) -> _D:
        """Calibrate to population totals (GREG and its relatives), as R's ``calibrate``.

        The model is given either as an R-style formula with ``population``, or
        as a dict of per-level targets. Factor coding is R's ``model.matrix``'s:
        an intercept, then each term's columns with the first level as the
        reference, interactions after main effects. Levels follow R's
        ``factor()``: a pandas Categorical's category order, otherwise sorted.
        A design that is already weighted is calibrated from its current
        weights, and the variance takes every step's residuals in turn.

        Parameters
        ----------
        targets : str or dict
            A formula such as ``"~stype + api99"`` or ``"~stype*sch.wide + api99"``
            (factors, interactions, numeric auxiliaries; built with ``formulaic``),
            or ``{column: counts by level}`` for categorical auxiliaries (a tuple of
            columns for a joint target over their combinations) and
            ``{column: total}`` for numeric ones.
        population : pandas.Series, dict, list or numpy.ndarray, optional
            With a formula: R's model-matrix totals, named as R's ``model.matrix``
            names the columns (``"(Intercept)"``, ``"stypeH"``,
            ``"stypeH:sch.wideYes"``, ``"api99"``) or in the model's column order;
            or per-level counts ``{column or (columns, ...): counts, numeric column:
            total}`` from which each column's total is summed.
        method : {"linear", "raking", "logit"}
            Calibration distance (R's ``calfun``); "logit" needs finite bounds.
        bounds : (lower, upper), optional
            Bounds on the weight ratios g.
        max_iter, tol : int, float
            R's ``maxit`` and ``epsilon``.
        total : float, optional
            Population size when no categorical target gives it.
        strict : bool
            When the iterations run out: False (default) warns with
            :class:`~steppe.ConvergenceWarning` and keeps the last iteration's
            weights (R's ``force = TRUE``); True raises ``NotEstimableError``.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 4, "sex": ["f", "f", "m", "m"],
        ...                    "x": [1.0, 2, 3, 4]})
        >>> d = sp.Design(df, weights="w").calibrate({"sex": {"f": 5, "m": 5}, "x": 26})
        >>> round(float(d.total("x").to_frame().estimate.iloc[0]), 6)
        26.0
        >>> f = sp.Design(df, weights="w").calibrate(
        ...     "~sex + x", {"(Intercept)": 10, "sexm": 5, "x": 26})
        >>> round(float(f.total("x").to_frame().estimate.iloc[0]), 6)
        26.0
        """
        return self._weighted(
            _weighting.calibrate(
                self._state,
                targets,
                population=population,
                method=method,
                bounds=bounds,
                max_iter=max_iter,
                tol=tol,
                total=total,
                strict=strict,
            )
        )

    def rake(
        self: _D,
        margins: Any,
        max_iter: int = 10,
        tol: float = 1.0,
        bounds: tuple[float, float] | None = None,
        strict: bool = False,
    ) -> _D:
        """Rake to population margins, as R's ``rake`` (iterative post-stratification).

        Starts from the design's current weights, post-stratifies margin by
        margin and repeats until the crossed table of weighted counts changes by
        less than ``tol`` (R's ``epsilon``: a count, or a fraction of the weight
        sum when below 1). Later estimates use R's raking residuals in their
        variance, after those of any earlier weighting step.

        Parameters
        ----------
        margins : dict or pandas.DataFrame
            ``{column: counts}`` with counts as a Series/dict by label; a key that
            is a tuple of columns is a joint margin over their combinations (R's
            ``~stype + sch.wide`` margin), with counts keyed by tuples (a Series
            with a MultiIndex, or a DataFrame with the columns and one count
            column). Or a long DataFrame with columns ``variable``, ``level``,
            ``count``.
        max_iter : int
            Most passes over the margins (R's ``maxit``).
        tol : float
            Convergence tolerance on the crossed table (R's ``epsilon``).
        bounds : (lower, upper), optional
            Bounds on the weight ratios. R's ``rake`` has none; bounded raking is
            R's ``calibrate(calfun="raking", bounds=)`` on the margins, which this
            then runs (with ``max_iter`` and ``tol`` as its ``maxit``/``epsilon``).
        strict : bool
            When ``max_iter`` passes do not converge: False (default) warns with
            :class:`~steppe.ConvergenceWarning` (R: "Raking did not converge after
            ... iterations") and keeps the last pass's weights; True raises
            ``NotEstimableError``.

        Returns
        -------
        Design
            The raked design; ``summary()["weighting"]`` reports iterations and the
            final margin errors.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0] * 4, "sex": ["f", "f", "m", "m"],
        ...                    "age": ["y", "o", "y", "o"], "urban": [1, 1, 0, 1]})
        >>> d = sp.Design(df, weights="w").rake({"sex": {"f": 6, "m": 4},
        ...                                      "age": {"y": 5, "o": 5}})
        >>> round(float(d.weights.sum()), 6)
        10.0
        >>> joint = pd.Series([3.0, 3, 2, 2], index=pd.MultiIndex.from_tuples(
        ...     [("f", "o"), ("f", "y"), ("m", "o"), ("m", "y")]))
        >>> j = sp.Design(df, weights="w").rake({("sex", "age"): joint,
        ...                                      "urban": {0: 2, 1: 8}})
        >>> round(float(j.weights.sum()), 6)
        10.0
        """
        if bounds is not None:
            return self.calibrate(
                _weighting.rake_margins(margins),
                method="raking",
                bounds=bounds,
                max_iter=max_iter,
                tol=tol if tol < 1 else 1e-7,
                strict=strict,
            )
        return self._weighted(
            _weighting.rake(self._state, margins, max_iter=max_iter, tol=tol, strict=strict)
        )

    def trim(
        self: _D, lower: float | None = None, upper: float | None = None, strict: bool = False
    ) -> _D:
        """Trim weights into [lower, upper], as R's ``trimWeights``.

        Weights outside the bounds are set to the bound and the amount trimmed is
        shared equally among the weights inside, so the total is kept. When every
        weight is outside, each is set to its bound and the total changes, as in R.
        With ``strict=True`` this repeats until no weight is outside (an error if
        it cannot settle). A calibrated design keeps its calibration residuals in
        the variance, as in R.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> d = sp.Design(pd.DataFrame({"w": [1.0, 1.0, 1.0, 9.0]}), weights="w")
        >>> d.trim(upper=5).weights.tolist()
        [2.333333333333333, 2.333333333333333, 2.333333333333333, 5.0]
        """
        return self._weighted(_weighting.trim(self._state, lower=lower, upper=upper, strict=strict))

    def to_replicate(
        self,
        type: str = "auto",
        replicates: int = 50,
        seed: int | None = None,
        rho: float = 0.0,
        mse: bool = False,
    ) -> ReplicateDesign:
        """Replicate weights built from this design, as R's ``as.svrepdesign``.

        ``type``: "auto" (JK1 unstratified, JKn stratified), "JK1", "JKn",
        "BRR" (two PSUs per stratum, Hadamard half-samples), "Fay" (BRR with
        ``rho``), "bootstrap" (``replicates`` resamples of n_h PSUs with replacement per
        stratum, R's ``bootweights``; ``seed``), "subbootstrap" (Rao-Wu: n_h - 1 PSUs
        drawn per stratum and rescaled, R's ``subbootweights``).
        Returns a :class:`ReplicateDesign` over the same data.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [2.0] * 6, "psu": [1, 1, 2, 2, 3, 3],
        ...                    "y": [1.0, 2, 3, 4, 5, 6]})
        >>> r = sp.Design(df, weights="w", psu="psu").to_replicate("JK1")
        >>> r.replicate_weights.shape
        (6, 3)
        """
        state = _replicate_weights.to_replicate(
            self._state, type=type, replicates=replicates, seed=seed, rho=rho, mse=mse
        )
        return ReplicateDesign._from_state(state)

    def weight_summary(self) -> pd.Series:
        """Weight diagnostics: min, max, their ratio, CV, Kish design effect and efficiency.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> d = sp.Design(pd.DataFrame({"w": [1.0, 1.0, 2.0, 4.0]}), weights="w")
        >>> float(d.weight_summary()["max_min_ratio"])
        4.0
        """
        return _diagnostics.weight_summary(self._state)

    def compare_margins(self, margins: Any) -> _diagnostics.MarginComparison:
        """Sample shares (unweighted, before and after weighting) against population margins.

        Returns a ``MarginComparison`` with ``to_frame()``, ``plot()`` and an HTML view.

        Examples
        --------
        >>> import pandas as pd, steppe as sp
        >>> df = pd.DataFrame({"w": [1.0, 1, 1, 1], "sex": ["f", "f", "f", "m"]})
        >>> t = sp.Design(df, weights="w").compare_margins({"sex": {"f": 50, "m": 50}})
        >>> t.to_frame().after_share.tolist()
        [0.75, 0.25]
        """
        return _diagnostics.compare_margins(self._state, margins)

    # ----------------------------------------------------------------- plumbing
    def _run(
        self,
        statistic: str,
        variable: str | Sequence[str],
        by: Columns,
        ci: str | None,
        level: float,
        df: DfRule,
        denominator: str | None = None,
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        variables = cols.as_list(variable)
        if not variables:
            raise InvalidInputError("no variable given")
        by_cols = cols.as_list(by)
        data = self._state.data
        cols.require_columns(data, variables, "variable")
        cols.require_columns(data, by_cols, "by")
        if denominator is not None:
            cols.require_columns(data, [denominator], "denominator")
        if not (isinstance(level, (int, float)) and 0 < level < 1):
            raise InvalidInputError(f"level must be between 0 and 1, got {level!r}")
        _check_df(df)
        return estimates(
            self._state,
            statistic,
            variables,
            by_cols,
            ci,
            level,
            df,
            denominator,
            na,
            na_by,
            deff=deff,
        )


def _threads(threads: int | None) -> int:
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise InvalidInputError(f"threads must be a whole number >= 0, got {threads!r}")
    return threads


def _check_df(df: DfRule) -> None:
    if isinstance(df, str):
        if df not in ("design", "inf"):
            raise InvalidInputError(f"df must be 'design', a number or math.inf, got {df!r}")
        return
    if isinstance(df, bool) or not isinstance(df, (int, float)) or not df > 0:
        raise InvalidInputError(f"df must be 'design', a positive number or math.inf, got {df!r}")


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
        if type not in TYPES:
            raise InvalidInputError(f"type must be one of {TYPES}, got {type!r}")
        names = replicate_columns(data, replicate_weights)
        if len(names) < 2:
            raise InvalidInputError("a replicate design needs at least two replicate weights")
        sc, rs = replicate_constants(type, len(names), rho, scale, rscales)
        # The frame's columns go to the core as they are (no rows x replicates matrix
        # here); the core copies and checks them once, on every core.
        core = self._state.core.with_replicate_columns(
            [cols.numeric(data[n], "replicate weights") for n in names],
            names=list(names),
            type=type,
            scale=sc,
            rscales=rs,
            mse=bool(mse),
            rho=math.nan if rho is None else float(rho),
            df=math.nan if df is None else float(df),
            multiply=None if combined_weights else self._state.weights,
            threads=self._state.threads,
        )
        spec = DesignSpec(weights=weights, replicate_weights=tuple(names))
        self._state = self._state.replace(core=core, spec=spec)

    @property
    def replicate_weights(self) -> np.ndarray:
        """The replicate analysis weights, rows x replicates (a read-only view)."""
        reps = self._state.core.replicate_weights
        assert reps is not None
        return reps

    @property
    def type(self) -> str:
        """R's replicate type ("JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "ACS", "other")."""
        return str(self._state.core.replicate_type)

    @property
    def scale(self) -> float:
        """R's ``scale``: the overall multiplier of the replicate variance."""
        return float(self._state.core.replicate_scale or 0.0)

    @property
    def rscales(self) -> list[float]:
        """R's ``rscales``: one multiplier per replicate."""
        return list(self._state.core.replicate_rscales or [])

    @property
    def rho(self) -> float | None:
        """Fay's coefficient, or None."""
        return self._state.core.replicate_rho

    @property
    def mse(self) -> bool:
        """Whether replicates are centred at the full-sample estimate (R's ``mse``)."""
        return bool(self._state.core.replicate_mse)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<steppe.ReplicateDesign: {s['n_rows']} rows, {s['replicates']} {s['type']} "
            f"replicates, df={s['degf']}>"
        )

    def proportion(
        self,
        variable: str | Sequence[str],
        by: Columns = None,
        ci: str = "xlogit",
        level: float = 0.95,
        df: DfRule = "design",
        na: str = "complete",
        na_by: str = "exclude",
        deff: bool | str = True,
    ) -> Estimates:
        """Shares of every level, as :meth:`Design.proportion` (default ``ci="xlogit"``).

        "xlogit" is the delta-method logit interval with the replicate variance of
        the share. "logit" is R's svyciprop interval from the logistic model
        refitted to every replicate: the link-scale variance is the replicates'
        variance of logit(p_r) (exact, where R's IRLS stops at its convergence
        tolerance). A replicate with p_r = 0 or 1 has an infinite logit: that
        interval is [0, 1]. "likelihood" is refused (R 4.1.1 returns NA there).
        """
        return super().proportion(
            variable, by=by, ci=ci, level=level, df=df, na=na, na_by=na_by, deff=deff
        )
