"""The state behind a design facade: data, the core design, domain mask and caches.

Helpers (estimators, tables, weighting, ...) take a :class:`DesignState` and never
the public ``Design``; a new design is a new state made by ``dataclasses.replace``
(:meth:`DesignState.replace`), the one place a design is copied.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError


@dataclass(frozen=True)
class DesignSpec:
    """The columns and options a design was built from (what ``summary()`` reports)."""

    weights: str | None = None
    strata: tuple[str, ...] = ()
    psu: str | None = None
    fpc: str | None = None
    psu2: str | None = None
    fpc2: str | None = None
    nest: bool = False
    lonely_psu: str = "fail"
    adjust_domain_lonely: bool = False
    pps: str | None = None
    variance: str = "HT"
    replicate_weights: tuple[str, ...] = ()
    weighting: tuple[dict[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain values for summaries and JSON (lists, not tuples)."""
        out: dict[str, Any] = {
            "weights": self.weights,
            "strata": list(self.strata),
            "psu": self.psu,
            "fpc": self.fpc,
            "psu2": self.psu2,
            "fpc2": self.fpc2,
            "nest": self.nest,
            "lonely_psu": self.lonely_psu,
        }
        if self.adjust_domain_lonely:
            out["adjust_domain_lonely"] = True
        if self.pps is not None:
            out["pps"] = self.pps
            out["variance"] = self.variance
        if self.replicate_weights:
            out["replicate_weights"] = list(self.replicate_weights)
        if self.weighting:
            out["weighting"] = [dict(s) for s in self.weighting]
        return out


@dataclass(frozen=True)
class DesignState:
    """Everything a helper needs to estimate on a design; immutable.

    ``core`` is the compiled design (strata, PSUs, weights, calibration and, for
    replicate designs, the replicate weights). ``weights`` are its current
    weights in row order, ``base_weights`` those before the first weighting step.
    """

    data: pd.DataFrame
    core: _core.Design
    spec: DesignSpec
    weights: np.ndarray
    base_weights: np.ndarray | None = None
    mask: np.ndarray | None = None
    threads: int = 0
    cache: dict[tuple[str, str], Any] = field(default_factory=dict, compare=False, repr=False)

    def replace(self, **changes: Any) -> DesignState:
        """Return a copy with ``changes`` (the one place a design is copied)."""
        return dataclasses.replace(self, **changes)

    @property
    def replicated(self) -> bool:
        """Tell whether variances come from replicate weights."""
        return bool(self.core.has_replicates)

    @property
    def degf(self) -> int:
        """R's degf(): PSUs minus strata, or the replicate weights' rank minus 1."""
        if self.replicated:
            return int(self.core.replicate_degf())
        return int(self.core.degf)

    def summary(self, degf: bool = True) -> dict[str, Any]:
        """Design facts: rows, strata, PSUs (or replicates), df, the columns used.

        With ``degf=False`` a replicate design's ``degf`` is None: its rank of the
        replicate weights costs seconds at thousands of replicates, and a result
        that used no df (``df=math.inf``) should not pay for it.
        """
        core = self.core
        out: dict[str, Any] = {
            "n_rows": int(core.rows),
            "n_strata": int(core.strata),
            "n_psu": int(core.psus),
            "degf": self.degf if degf or not self.replicated else None,
            "has_fpc": bool(core.has_fpc),
        }
        out.update(self.spec.as_dict())
        if self.replicated:
            out.update(
                {
                    "type": core.replicate_type,
                    "replicates": len(core.replicate_rscales or []),
                    "scale": core.replicate_scale,
                    "rho": core.replicate_rho,
                    "mse": bool(core.replicate_mse),
                }
            )
        if self.mask is not None:
            out["domain_rows"] = int(self.mask.sum())
        return out

    def with_column(self, name: str, values: pd.Series) -> DesignState:
        """Return the same design over its data plus one derived column."""
        if name in self.data.columns:
            raise InvalidInputError(f"column {name!r} already exists")
        return self.replace(data=self.data.assign(**{name: values}), cache=dict(self.cache))

    def codes(self, column: str) -> cols.Codes:
        """Return the cached codes and labels of a categorical column (int8/int16 kept narrow)."""
        key = ("codes", column)
        if key not in self.cache:
            self.cache[key] = cols.factorize(self.data[column], narrow=True, threads=self.threads)
        return self.cache[key]  # type: ignore[no-any-return]

    def numeric(self, column: str, role: str) -> np.ndarray:
        """Return the cached float64 values of a numeric column (NaN = missing)."""
        key = ("numeric", column)
        if key not in self.cache:
            self.cache[key] = cols.numeric(self.data[column], role)
        return self.cache[key]  # type: ignore[no-any-return]
