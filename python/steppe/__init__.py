"""steppe: design-based survey estimation that agrees with R's survey package.

Weighted shares, means, totals and ratios for every domain in one pass over the
rows, with Taylor-linearised standard errors, confidence intervals, design
effects and reliability flags, from a pandas DataFrame.

Examples
--------
>>> import steppe as sp
>>> poll = sp.datasets.load_poll()
>>> d = sp.Design(poll, weights="weight", strata="stratum", psu="psu")
>>> est = d.subset(poll.wave == "2023-05").proportion("attitude_to_russia", by="age_group")
>>> sorted(est.to_frame().columns)[:3]
['age_group', 'ci_high', 'ci_low']
"""

from __future__ import annotations

try:
    from . import _core  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "steppe's compiled core (steppe._core) is missing. Build and install the package with "
        "`pip install .` from the source tree (or `make demo`), not by importing the source folder."
    ) from exc

from . import datasets
from ._pps import HartleyRao
from .design import Design, ReplicateDesign
from .errors import (
    ConvergenceWarning,
    InvalidInputError,
    NotEstimableError,
    SteppeError,
    SteppeWarning,
    WeightingWarning,
)
from .phrasing import one_in, percent, percent_ci
from .results import Estimates

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "Design",
    "Estimates",
    "HartleyRao",
    "InvalidInputError",
    "NotEstimableError",
    "ReplicateDesign",
    "SteppeError",
    "SteppeWarning",
    "WeightingWarning",
    "datasets",
    "one_in",
    "percent",
    "percent_ci",
    "__version__",
]
