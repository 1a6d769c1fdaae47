# Hand-written stub of the compiled module steppe._core (checked by stubtest in `make lint`).
from typing import Any

import numpy as np
import numpy.typing as npt

class InvalidInput(ValueError): ...
class NotEstimable(ValueError): ...

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
) -> dict[str, Any]: ...
def estimate_replicates(
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
    replicate_weights: list[npt.NDArray[np.float64]] = ...,
    scale: float = 1.0,
    rscales: list[float] = ...,
    mse: bool = False,
    covariance: bool = False,
    keep_replicates: bool = False,
) -> dict[str, Any]: ...
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

_Weighted = tuple[Design, WeightingReport, npt.NDArray[np.float64] | None]

def poststratify(
    design: Design,
    codes: list[_Codes],
    levels: list[int],
    population_codes: list[npt.NDArray[np.int32]],
    population_counts: npt.NDArray[np.float64],
    labels: list[list[str]] = ...,
    replicate_weights: npt.NDArray[np.float64] | None = None,
    threads: int = 0,
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
    replicate_weights: npt.NDArray[np.float64] | None = None,
    threads: int = 0,
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
    replicate_weights: npt.NDArray[np.float64] | None = None,
    threads: int = 0,
) -> _Weighted: ...
def trim(
    design: Design,
    lower: float = ...,
    upper: float = ...,
    strict: bool = False,
    replicate_weights: npt.NDArray[np.float64] | None = None,
    threads: int = 0,
) -> _Weighted: ...
