# Hand-written stub of the compiled module steppe._core (checked by stubtest in `make lint`).
from typing import Any

import numpy as np
import numpy.typing as npt

from steppe.errors import InvalidInputError as InvalidInputError
from steppe.errors import NotEstimableError as NotEstimableError

class Design:
    def __init__(
        self,
        weights: npt.NDArray[np.float64],
        strata: npt.NDArray[np.int32] | None = None,
        psu: npt.NDArray[np.int32] | None = None,
        psu2: npt.NDArray[np.int32] | None = None,
        fpc: npt.NDArray[np.float64] | None = None,
        fpc2: npt.NDArray[np.float64] | None = None,
        stratum_labels: list[str] = ...,
        psu_labels: list[str] = ...,
        lonely_psu: str = "fail",
        allow_negative_weights: bool = False,
    ) -> None: ...
    @property
    def rows(self) -> int: ...
    @property
    def strata(self) -> int: ...
    @property
    def psus(self) -> int: ...
    @property
    def degf(self) -> int: ...
    @property
    def has_fpc(self) -> bool: ...
    @property
    def rows_are_psus(self) -> bool: ...
    @property
    def calibrated(self) -> bool: ...
    @property
    def lonely_psu(self) -> str: ...
    def stratum_psu_counts(self) -> npt.NDArray[np.int64]: ...
    def stratum_popsizes(self) -> npt.NDArray[np.float64]: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    def with_replicates(
        self,
        weights: npt.NDArray[np.float64],
        type: str,
        scale: float,
        rscales: list[float],
        mse: bool = False,
        rho: float = ...,
        df: float = ...,
    ) -> Design: ...
    @property
    def has_replicates(self) -> bool: ...
    @property
    def replicate_weights(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def replicate_type(self) -> str | None: ...
    @property
    def replicate_scale(self) -> float | None: ...
    @property
    def replicate_rscales(self) -> list[float] | None: ...
    @property
    def replicate_mse(self) -> bool | None: ...
    @property
    def replicate_rho(self) -> float | None: ...
    @property
    def replicate_fixed_df(self) -> float: ...
    def replicate_degf(self) -> float: ...

class EstimateResult:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def domains(self) -> int: ...
    @property
    def cells_per_domain(self) -> int: ...
    @property
    def domain_codes(self) -> npt.NDArray[np.int32]: ...
    @property
    def estimate(self) -> npt.NDArray[np.float64]: ...
    @property
    def variance(self) -> npt.NDArray[np.float64]: ...
    @property
    def se(self) -> npt.NDArray[np.float64]: ...
    @property
    def ci_low(self) -> npt.NDArray[np.float64]: ...
    @property
    def ci_high(self) -> npt.NDArray[np.float64]: ...
    @property
    def deff(self) -> npt.NDArray[np.float64]: ...
    @property
    def df(self) -> npt.NDArray[np.float64]: ...
    @property
    def n_eff(self) -> npt.NDArray[np.float64]: ...
    @property
    def flag(self) -> list[str]: ...
    @property
    def ci_method(self) -> str: ...
    @property
    def n(self) -> npt.NDArray[np.int64]: ...
    @property
    def weight_sum(self) -> npt.NDArray[np.float64]: ...
    @property
    def design_df(self) -> npt.NDArray[np.float64]: ...
    @property
    def psus(self) -> npt.NDArray[np.int64]: ...
    @property
    def strata(self) -> npt.NDArray[np.int64]: ...
    @property
    def covariance(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def replicates(self) -> npt.NDArray[np.float64] | None: ...

def estimate(
    design: Design,
    statistic: str,
    values: npt.NDArray[np.float64] | None = None,
    codes: npt.NDArray[Any] | None = None,
    levels: int = 0,
    denominator: npt.NDArray[np.float64] | None = None,
    by: list[npt.NDArray[Any]] = ...,
    by_levels: list[int] = ...,
    subset: npt.NDArray[np.uint8] | None = None,
    threads: int = 0,
    covariance: bool = False,
    keep_replicates: bool = False,
    ci: str = "wald",
    level: float = 0.95,
    df_design: bool = True,
    df: float = ...,
) -> EstimateResult: ...

class ContrastResult:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def domains(self) -> int: ...
    @property
    def contrasts(self) -> int: ...
    @property
    def domain_key(self) -> npt.NDArray[np.int64]: ...
    @property
    def domain_estimate(self) -> npt.NDArray[np.float64]: ...
    @property
    def covariance(self) -> npt.NDArray[np.float64]: ...
    @property
    def pairs(self) -> npt.NDArray[np.int64]: ...
    @property
    def estimate(self) -> npt.NDArray[np.float64]: ...
    @property
    def se(self) -> npt.NDArray[np.float64]: ...
    @property
    def statistic(self) -> npt.NDArray[np.float64]: ...
    @property
    def df(self) -> npt.NDArray[np.float64]: ...
    @property
    def p_value(self) -> npt.NDArray[np.float64]: ...
    @property
    def ci_low(self) -> npt.NDArray[np.float64]: ...
    @property
    def ci_high(self) -> npt.NDArray[np.float64]: ...
    @property
    def p_adjusted(self) -> npt.NDArray[np.float64]: ...

def contrast(
    design: Design,
    statistic: str,
    values: npt.NDArray[np.float64] | None = None,
    codes: npt.NDArray[Any] | None = None,
    levels: int = 0,
    category: int = -1,
    denominator: npt.NDArray[np.float64] | None = None,
    by: list[npt.NDArray[Any]] = ...,
    by_levels: list[int] = ...,
    subset: npt.NDArray[np.uint8] | None = None,
    coefficients: npt.NDArray[np.float64] | None = None,
    ratio: npt.NDArray[np.int64] | None = None,
    pairwise: bool = False,
    conf_level: float = 0.95,
    df: float = ...,
    adjust: str = "none",
    names: list[str] = ...,
    domain_labels: list[str] = ...,
    by_name: str = "",
    threads: int = 0,
) -> ContrastResult: ...
def adjust_p(p: npt.ArrayLike, method: str) -> npt.NDArray[np.float64]: ...
def replicate_variance(
    thetas: npt.NDArray[np.float64],
    estimate: npt.NDArray[np.float64],
    scale: float,
    rscales: list[float],
    mse: bool,
) -> npt.NDArray[np.float64]: ...
def estimates_to_json(columns: dict[str, Any], meta_json: str, indent: int = -1) -> str: ...

_F64 = npt.NDArray[np.float64]
_ArrayLike = npt.ArrayLike

def qnorm(p: _ArrayLike, lower_tail: bool = True) -> _F64: ...
def qt(p: _ArrayLike, df: float, lower_tail: bool = True) -> _F64: ...
def pt(x: _ArrayLike, df: float, lower_tail: bool = True) -> _F64: ...
def qbeta(p: _ArrayLike, a: float, b: float, lower_tail: bool = True) -> _F64: ...
def pchisq(x: _ArrayLike, df: float, lower_tail: bool = True) -> _F64: ...
def pf(x: _ArrayLike, df1: float, df2: float, lower_tail: bool = True) -> _F64: ...
def pfsum(
    x: _ArrayLike,
    a: _ArrayLike,
    ddf: float,
    lower_tail: bool = True,
    method: str = "saddlepoint",
) -> _F64: ...
def pchisqsum(
    x: _ArrayLike,
    a: _ArrayLike,
    lower_tail: bool = True,
    method: str = "saddlepoint",
) -> _F64: ...
def proportion_ci(
    method: str,
    p: _ArrayLike,
    var: _ArrayLike,
    df: _ArrayLike,
    n_rows: _ArrayLike,
    level: float = 0.95,
) -> tuple[_F64, _F64]: ...
def wald_ci(
    estimate: _ArrayLike, se: _ArrayLike, df: _ArrayLike, level: float = 0.95
) -> tuple[_F64, _F64]: ...
def reliability_flags(
    p: _ArrayLike, var: _ArrayLike, n_rows: _ArrayLike, df: _ArrayLike
) -> list[str]: ...
def effective_sample_size(p: _ArrayLike, var: _ArrayLike, n_rows: _ArrayLike) -> _F64: ...

_Codes = npt.NDArray[np.int8] | npt.NDArray[np.int16] | npt.NDArray[np.int32]

class WeightingReport:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def method(self) -> str: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def change(self) -> float: ...
    @property
    def tolerance(self) -> float: ...
    @property
    def margin_errors(self) -> npt.NDArray[np.float64]: ...
    @property
    def kept_columns(self) -> npt.NDArray[np.int32]: ...
    @property
    def cells(self) -> int: ...
    @property
    def trimmed(self) -> int: ...

_Weighted = tuple[Design, WeightingReport]

def poststratify(
    design: Design,
    codes: list[_Codes],
    levels: list[int],
    population_codes: list[npt.NDArray[np.int32]],
    population_counts: npt.NDArray[np.float64],
    labels: list[list[str]] = ...,
    threads: int = 0,
    replicate_names: list[str] = ...,
) -> _Weighted: ...
def rake(
    design: Design,
    codes: list[_Codes],
    levels: list[int],
    totals: list[npt.NDArray[np.float64]],
    maxit: int = 10,
    epsilon: float = 1.0,
    names: list[str] = ...,
    labels: list[list[str]] = ...,
    threads: int = 0,
    replicate_names: list[str] = ...,
) -> _Weighted: ...
def calibrate(
    design: Design,
    matrix: npt.NDArray[np.float64],
    totals: npt.NDArray[np.float64],
    calfun: str = "linear",
    lower: float = ...,
    upper: float = ...,
    maxit: int = 50,
    epsilon: float = 1e-07,
    threads: int = 0,
    replicate_names: list[str] = ...,
) -> _Weighted: ...
def trim(
    design: Design,
    lower: float = ...,
    upper: float = ...,
    strict: bool = False,
    threads: int = 0,
    replicate_names: list[str] = ...,
) -> _Weighted: ...

# Two-way tables and tests of association (register_tables.cpp).
class Crosstab:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def row_levels(self) -> int: ...
    @property
    def col_levels(self) -> int: ...
    @property
    def cells(self) -> EstimateResult: ...
    @property
    def rows(self) -> EstimateResult: ...
    @property
    def columns(self) -> EstimateResult: ...

def crosstab(
    design: Design,
    row: npt.NDArray[Any],
    row_levels: int,
    col: npt.NDArray[Any],
    col_levels: int,
    by: list[npt.NDArray[Any]] = ...,
    by_levels: list[int] = ...,
    subset: npt.NDArray[np.uint8] | None = None,
    threads: int = 0,
    statistic: str = "mean",
    covariance: bool = True,
    margins: bool = True,
    row_name: str = "row",
    col_name: str = "col",
    ci: str = "logit",
    level: float = 0.95,
    df_design: bool = True,
    df: float = ...,
) -> Crosstab: ...

class ChisqResult:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    @property
    def test(self) -> str: ...
    @property
    def statistic_name(self) -> str: ...
    @property
    def statistic(self) -> float: ...
    @property
    def ndf(self) -> float: ...
    @property
    def ddf(self) -> float: ...
    @property
    def p_value(self) -> float: ...
    @property
    def pearson(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def parameter_names(self) -> list[str]: ...
    @property
    def design_effects(self) -> npt.NDArray[np.float64]: ...
    @property
    def n_rows(self) -> float: ...
    @property
    def degf(self) -> float: ...
    @property
    def row_levels(self) -> npt.NDArray[np.int32]: ...
    @property
    def col_levels(self) -> npt.NDArray[np.int32]: ...
    @property
    def table(self) -> npt.NDArray[np.float64]: ...

def chisq(
    design: Design,
    row: npt.NDArray[Any],
    row_levels: int,
    col: npt.NDArray[Any],
    col_levels: int,
    statistic: str = "F",
    subset: npt.NDArray[np.uint8] | None = None,
    threads: int = 0,
    row_name: str = "row",
    col_name: str = "col",
    row_labels: list[str] = ...,
    col_labels: list[str] = ...,
) -> ChisqResult: ...
