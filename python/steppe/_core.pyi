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
    def lonely_psu(self) -> str: ...
    def stratum_psu_counts(self) -> npt.NDArray[np.int64]: ...
    def stratum_popsizes(self) -> npt.NDArray[np.float64]: ...

def estimate(
    design: Design,
    statistic: str,
    values: npt.NDArray[np.float64] | None = None,
    codes: npt.NDArray[np.int32] | None = None,
    levels: int = 0,
    denominator: npt.NDArray[np.float64] | None = None,
    by: list[npt.NDArray[np.int32]] = ...,
    by_levels: list[int] = ...,
    subset: npt.NDArray[np.uint8] | None = None,
    threads: int = 0,
) -> dict[str, Any]: ...
def estimates_to_json(columns: dict[str, Any], meta_json: str, indent: int = -1) -> str: ...
