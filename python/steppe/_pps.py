"""PPS sampling without replacement: ``Design(pps=, variance=)`` as core options.

R's ``svydesign(pps = ...)``: ``"brewer"`` (Brewer's approximation), ``"overton"``
(Overton's), ``HR()`` / ``HR(psum)`` (Hartley–Rao's; here ``"hartley-rao"`` or
:class:`HartleyRao`) and ``ppsmat(jointprob)`` (here the matrix itself), with
``variance = "HT"`` or ``"YG"``. The core computes every variance; this module only
checks the arguments and converts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pandas as pd

from .errors import InvalidInputError

METHODS = ("brewer", "overton", "hartley-rao")
VARIANCES = ("HT", "YG")


@dataclass(frozen=True)
class HartleyRao:
    """Hartley–Rao's PPS approximation with a population value (R's ``HR(psum)``).

    ``psum`` is the population's sum of squared inclusion probabilities over the
    sample size; ``pps="hartley-rao"`` uses each stratum's mean sample probability instead, as
    R's ``HR()`` without ``psum``.

    Parameters
    ----------
    psum : float
        sum(pi^2) / n of the population (used in every stratum).

    Examples
    --------
    >>> import pandas as pd, steppe as sp
    >>> df = pd.DataFrame({"p": [0.2, 0.4, 0.6, 0.3], "y": [1.0, 3, 4, 2]})
    >>> d = sp.Design(df, fpc="p", pps=sp.HartleyRao(0.1))
    >>> round(float(d.total("y").to_frame().se.iloc[0]), 4)
    7.133
    """

    psum: float


PpsArg = Union[str, np.ndarray, pd.DataFrame, HartleyRao, None]


def pps_options(pps: PpsArg, variance: str, rows: int) -> dict[str, Any]:
    """Keyword arguments for ``_core.Design`` from ``Design``'s ``pps=`` and ``variance=``."""
    if variance not in VARIANCES:
        raise InvalidInputError(
            f"variance must be 'HT' (Horvitz-Thompson) or 'YG' (Yates-Grundy), got {variance!r}"
        )
    if pps is None:
        if variance != "HT":
            raise InvalidInputError(
                "variance='YG' needs a PPS design (pps='overton', 'hartley-rao' or a "
                "joint-probability matrix); R allows only variance='HT' without pps"
            )
        return {}
    if isinstance(pps, HartleyRao):
        psum = float(pps.psum)
        if not (math.isfinite(psum) and psum >= 0):
            raise InvalidInputError(f"HartleyRao: psum must be a finite number >= 0, got {psum!r}")
        return {"pps": "hartley-rao", "variance": variance, "hr_p2bar": [psum]}
    if isinstance(pps, str):
        if pps not in METHODS:
            raise InvalidInputError(
                f"pps must be one of {METHODS}, a HartleyRao(psum) or a square matrix of joint "
                f"inclusion probabilities; got {pps!r}"
            )
        return {"pps": pps, "variance": variance}
    if isinstance(pps, (np.ndarray, pd.DataFrame)):
        joint = pps.to_numpy() if isinstance(pps, pd.DataFrame) else pps
        if joint.ndim != 2 or joint.shape != (rows, rows):
            raise InvalidInputError(
                f"pps: the joint-probability matrix must be {rows} x {rows} (one row and column "
                f"per data row, in row order); got shape {joint.shape}"
            )
        try:
            joint = np.ascontiguousarray(joint, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("pps: the joint-probability matrix must be numeric") from exc
        return {"pps": "joint", "variance": variance, "joint": joint}
    raise InvalidInputError(
        f"pps must be one of {METHODS}, a HartleyRao(psum) or a square matrix of joint "
        f"inclusion probabilities; got {type(pps).__name__}"
    )
