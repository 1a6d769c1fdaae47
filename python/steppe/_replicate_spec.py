"""R's svrepdesign conventions for replicate weights.

Which columns are replicate weights, and the constants ``scale`` and ``rscales``
each replicate type implies.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from . import _columns as cols
from .errors import InvalidInputError

TYPES = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap", "SDR", "ACS", "other")


def replicate_columns(data: pd.DataFrame, spec: str | Sequence[str]) -> list[str]:
    """Replicate weight columns: a list of names or a regular expression matching them."""
    if isinstance(spec, str):
        pattern = re.compile(spec)
        names = [c for c in data.columns if isinstance(c, str) and pattern.search(c)]
        if not names:
            raise InvalidInputError(f"replicate_weights: no column matches {spec!r}")
        return names
    names = list(spec)
    cols.require_columns(data, names, "replicate_weights")
    return names


def replicate_constants(
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
    if type in ("bootstrap", "subbootstrap"):
        return (1.0 / (n_rep - 1) if scale is None else float(scale)), rs
    if type == "JK1":
        return ((n_rep - 1) / n_rep if scale is None else float(scale)), rs
    if type == "JKn" and rscales is None:
        raise InvalidInputError("type='JKn' needs rscales ((n_h - 1) / n_h per replicate)")
    return (1.0 if scale is None else float(scale)), rs
