"""Replicate weights built from a design, as R's ``as.svrepdesign``.

The core builds them (``_core.replicate_weights``, cpp/src/replicate_weights.cpp):
R's replicates, replicate for replicate and in R's order, for the jackknives
(``jk1weights``, ``jknweights``), BRR and Fay (``brrweights`` with the Hadamard
matrix of R's ``hadamard()``). The bootstrap follows R's ``bootweights``
(resample each stratum's PSUs, the replicate multiplier being how often a PSU is
drawn) with the core's own generator, so its replicates cannot equal R's. Here
the arguments are checked, the core is called, and the ReplicateDesign is built
from its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np

from . import _core
from .errors import InvalidInputError, translate_core_errors

if TYPE_CHECKING:
    from .design import Design
    from .replicate import ReplicateDesign

_TYPES = ("auto", "JK1", "JKn", "BRR", "Fay", "bootstrap")


class _StateLike(Protocol):
    """What this module reads of a design (the lead's ``_state.DesignState``)."""

    @property
    def core(self) -> _core.Design: ...
    @property
    def mask(self) -> np.ndarray | None: ...
    @property
    def threads(self) -> int: ...


class _State(NamedTuple):
    # Until Design carries its DesignState: the three fields read here.
    core: _core.Design
    mask: np.ndarray | None
    threads: int


def replicate_weights(
    state: _StateLike,
    type: str = "auto",
    replicates: int = 50,
    seed: int | None = None,
    fay_rho: float = 0.0,
    mse: bool = False,
) -> _core.ReplicateWeights:
    """Check the arguments of ``to_replicate`` and build the replicate weights in the core.

    Returns the core's ``ReplicateWeights``: ``weights`` (rows x replicates,
    column-major, a read-only view), ``scale``, ``rscales``, ``type``, ``rho``,
    ``mse`` and ``seed`` (the bootstrap's, drawn when none was given).
    """
    if state.mask is not None:
        raise InvalidInputError(
            "to_replicate: call it on the full design, then take subsets of the replicate design"
        )
    if type not in _TYPES:
        raise InvalidInputError(f"type must be one of {_TYPES}, got {type!r}")
    if not isinstance(mse, (bool, np.bool_)):
        raise InvalidInputError(f"mse must be True or False, got {mse!r}")
    rho = _check_rho(fay_rho)
    if type == "Fay" and rho == 0:
        raise InvalidInputError("type='Fay' needs fay_rho in (0, 1); fay_rho=0 is BRR")
    if type == "bootstrap":
        if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)):
            raise InvalidInputError(f"replicates must be an integer, got {replicates!r}")
        if replicates < 2:
            raise InvalidInputError(f"replicates must be at least 2, got {replicates}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64
    ):
        raise InvalidInputError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    with translate_core_errors():
        return _core.replicate_weights(
            state.core,
            type=type,
            replicates=int(replicates) if type == "bootstrap" else 50,
            seed=None if seed is None else int(seed),
            rho=rho,
            mse=bool(mse),
            threads=state.threads,
        )


def to_replicate(
    design: Design,
    type: str = "auto",
    replicates: int = 50,
    seed: int | None = None,
    fay_rho: float = 0.0,
    mse: bool = False,
) -> ReplicateDesign:
    """Replicate-weight version of ``design``, as R's ``as.svrepdesign(design, type)``.

    Parameters
    ----------
    design : Design
        A linearisation design (not a domain, not already replicate-weighted).
        Only stage-1 strata, PSUs and FPC are used, as R. Weighting steps
        (post-stratification, raking, trimming) are kept as fixed weights and
        not repeated per replicate, as R's ``as.svrepdesign``.
    type : {"auto", "JK1", "JKn", "BRR", "Fay", "bootstrap"}
        "auto" is JK1 without strata, JKn with. JK1: delete one PSU at a time
        (unstratified designs). JKn: delete one PSU of one stratum at a time;
        strata with one PSU follow the design's ``lonely_psu`` as R's
        ``jknweights``. BRR: half-samples from a Hadamard matrix (two PSUs per
        stratum; larger even strata are split into pairs, as R). Fay: BRR with
        multipliers ``2 - fay_rho`` and ``fay_rho``. bootstrap: ``replicates``
        resamples of each stratum's PSUs.
    replicates : int
        Number of bootstrap replicates.
    seed : int, optional
        Seed of the core's generator for the bootstrap (R's RNG differs, so
        bootstrap replicates are never R's); without one, a seed is drawn and
        recorded in the design's summary.
    fay_rho : float
        Fay's coefficient in (0, 1); with type "BRR" a non-zero value gives Fay
        replicates, as R.
    mse : bool
        Centre the replicate estimates at the full-sample estimate.

    Returns
    -------
    ReplicateDesign
        Over the same data, with replicate analysis weights ``rep1``, ``rep2``, ...

    Notes
    -----
    The FPC enters JK1 and JKn through the replicate scales ((N - n) / N), and
    strata sampled exhaustively (N = n) get no replicates, as R with
    ``survey.drop.replicates = TRUE``. BRR and Fay drop the FPC (R warns).
    With the FPC the bootstrap draws without replacement from the stratum's
    PSUs repeated up to the population size, as R's ``bootweights``.
    """
    from .replicate import ReplicateDesign

    if isinstance(design, ReplicateDesign):
        raise InvalidInputError("to_replicate: the design already has replicate weights")
    state = _State(design._core, design._mask, design._threads)
    result = replicate_weights(state, type, replicates, seed, fay_rho, mse)
    return _replicate_design(design, result, seed)


def _replicate_design(
    design: Design, result: _core.ReplicateWeights, seed: int | None
) -> ReplicateDesign:
    """Return the ReplicateDesign over ``design``'s data with the core's replicate weights.

    The one place a ReplicateDesign is built from a replicate-weight matrix.
    """
    from .replicate import ReplicateDesign

    out = object.__new__(ReplicateDesign)
    out.__dict__.update(design.__dict__)
    # The replicates carry the design: the engine sees weights only (no strata, PSUs,
    # FPC or calibration), as ReplicateDesign(data, weights, ...) does.
    out._core_args = {
        "strata": None,
        "psu": None,
        "psu2": None,
        "fpc": None,
        "fpc2": None,
        "stratum_labels": [],
        "psu_labels": [],
        "lonely_psu": design._spec["lonely_psu"],
    }
    with translate_core_errors():
        w = np.ascontiguousarray(design.weights, dtype=np.float64)
        # GREG-calibrated weights may be negative (as in R)
        out._core = _core.Design(w, allow_negative_weights=bool((w < 0).any()))
    out._calibration = None
    out._cache = dict(design._cache)
    bootstrap = result.type == "bootstrap"
    out._spec = {
        "weights": design._spec["weights"],
        "strata": [],
        "psu": None,
        "fpc": None,
        "psu2": None,
        "fpc2": None,
        "nest": False,
        "lonely_psu": design._spec["lonely_psu"],
        "replicates_from": {
            "design": {k: v for k, v in design._spec.items()},
            "type": result.type,
            "fay_rho": result.rho,
            "seed": int(result.seed) if bootstrap else seed,
        },
    }
    out._init_replicates(
        result.weights,  # a read-only view of the core's matrix, column-major (no copy)
        [f"rep{i + 1}" for i in range(result.replicates)],
        result.type,
        result.rho if result.type == "Fay" else None,
        result.scale,
        [float(x) for x in result.rscales],
        result.mse,
        True,
        None,
    )
    return out


def _check_rho(fay_rho: Any) -> float:
    if isinstance(fay_rho, bool) or not isinstance(fay_rho, (int, float, np.floating)):
        raise InvalidInputError(f"fay_rho must be a number in [0, 1), got {fay_rho!r}")
    rho = float(fay_rho)
    if not 0 <= rho < 1:
        raise InvalidInputError(f"fay_rho must be in [0, 1), got {fay_rho!r}")
    return rho


def _hadamard(n: int) -> np.ndarray:
    """R's survey::hadamard(n) as 0/1 int64 (the core's; refused where R uses its 28 / 36)."""
    with translate_core_errors():
        return np.asarray(_core.hadamard(n), dtype=np.int64)
