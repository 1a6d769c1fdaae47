"""Replicate weights built from a design, as R's ``as.svrepdesign``.

The core builds them (``_core.replicate_weights``, cpp/src/replicate_weights.cpp):
R's replicates, replicate for replicate and in R's order, for the jackknives
(``jk1weights``, ``jknweights``), BRR and Fay (``brrweights`` with the Hadamard
matrix of R's ``hadamard()``). The bootstrap follows R's ``bootweights``
(resample each stratum's PSUs, the replicate multiplier being how often a PSU is
drawn) with the core's own generator, so its replicates cannot equal R's. Here
the arguments are checked, the core is called, and the replicate design's state
is built from its result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from ._state import DesignSpec
from .errors import InvalidInputError

if TYPE_CHECKING:
    from ._state import DesignState

_TYPES = ("auto", "JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap")
_BOOTSTRAPS = ("bootstrap", "subbootstrap")


def _checked(
    state: DesignState, type: str, replicates: int, seed: int | None, rho: float, mse: bool
) -> dict[str, Any]:
    """Check ``type``, ..., ``mse`` and return them as the core's keyword arguments."""
    if state.replicated:
        raise InvalidInputError("to_replicate: the design already has replicate weights")
    if state.mask is not None:
        raise InvalidInputError(
            "to_replicate: call it on the full design, then take subsets of the replicate design"
        )
    if type not in _TYPES:
        raise InvalidInputError(f"type must be one of {_TYPES}, got {type!r}")
    if not isinstance(mse, (bool, np.bool_)):
        raise InvalidInputError(f"mse must be True or False, got {mse!r}")
    rho = _check_rho(rho)
    if type == "Fay" and rho == 0:
        raise InvalidInputError("type='Fay' needs rho in (0, 1); rho=0 is BRR")
    if type in _BOOTSTRAPS:
        if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)):
            raise InvalidInputError(f"replicates must be an integer, got {replicates!r}")
        if replicates < 2:
            raise InvalidInputError(f"replicates must be at least 2, got {replicates}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64
    ):
        raise InvalidInputError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return {
        "type": type,
        "replicates": int(replicates) if type in _BOOTSTRAPS else 50,
        "seed": None if seed is None else int(seed),
        "rho": rho,
        "mse": bool(mse),
        "threads": state.threads,
    }


def to_replicate(
    state: DesignState,
    type: str = "auto",
    replicates: int = 50,
    seed: int | None = None,
    rho: float = 0.0,
    mse: bool = False,
) -> DesignState:
    """Replicate-weight version of ``design``, as R's ``as.svrepdesign(design, type)``.

    Parameters
    ----------
    state : DesignState
        A linearisation design (not a domain, not already replicate-weighted).
        Only stage-1 strata, PSUs and FPC are used, as R. Weighting steps
        (post-stratification, raking, trimming) are kept as fixed weights and
        not repeated per replicate, as R's ``as.svrepdesign``.
    type : {"auto", "JK1", "JKn", "BRR", "Fay", "bootstrap", "subbootstrap"}
        "auto" is JK1 without strata, JKn with. JK1: delete one PSU at a time
        (unstratified designs). JKn: delete one PSU of one stratum at a time;
        strata with one PSU follow the design's ``lonely_psu`` as R's
        ``jknweights``. BRR: half-samples from a Hadamard matrix (two PSUs per
        stratum; larger even strata are split into pairs, as R). Fay: BRR with
        multipliers ``2 - rho`` and ``rho``. bootstrap: ``replicates``
        resamples of each stratum's PSUs. subbootstrap: Rao and Wu's rescaling
        bootstrap, n_h - 1 PSUs drawn with replacement and rescaled by
        n_h / (n_h - 1) (R's ``subbootweights``; no FPC).
    replicates : int
        Number of bootstrap or subbootstrap replicates.
    seed : int, optional
        Seed of the core's generator for the bootstrap (R's RNG differs, so
        bootstrap replicates are never R's).
    rho : float
        Fay's coefficient in (0, 1); with type "BRR" a non-zero value gives Fay
        replicates, as R.
    mse : bool
        Centre the replicate estimates at the full-sample estimate.

    Returns
    -------
    DesignState
        Of a ReplicateDesign over the same data, with replicate analysis weights
        ``rep1``, ``rep2``, ...

    Notes
    -----
    The FPC enters JK1 and JKn through the replicate scales ((N - n) / N), and
    strata sampled exhaustively (N = n) get no replicates, as R with
    ``survey.drop.replicates = TRUE``. BRR and Fay drop the FPC (R warns).
    With the FPC the bootstrap draws without replacement from the stratum's
    PSUs repeated up to the population size, as R's ``bootweights``.
    """
    args = _checked(state, type, replicates, seed, rho, mse)
    # The replicates carry the design: the engine sees weights only (no strata, PSUs,
    # FPC or calibration), as ReplicateDesign(data, weights, ...) does.
    w = np.ascontiguousarray(state.weights, dtype=np.float64)
    # GREG-calibrated weights may be negative (as in R)
    base = _core.Design(w, allow_negative_weights=bool((w < 0).any()))
    # The matrix is built and moved into the new design inside the core (one copy).
    core = _core.replicate_design(state.core, base, **args)
    spec = DesignSpec(
        weights=state.spec.weights,
        lonely_psu=state.spec.lonely_psu,
        replicate_weights=tuple(f"rep{i + 1}" for i in range(len(core.replicate_rscales or []))),
    )
    return state.replace(
        core=core,
        spec=spec,
        cache=dict(state.cache),
    )


def _check_rho(rho: Any) -> float:
    if isinstance(rho, bool) or not isinstance(rho, (int, float, np.floating)):
        raise InvalidInputError(f"rho must be a number in [0, 1), got {rho!r}")
    value = float(rho)
    if not 0 <= value < 1:
        raise InvalidInputError(f"rho must be in [0, 1), got {rho!r}")
    return value


def _hadamard(n: int) -> np.ndarray:
    """R's survey::hadamard(n) as 0/1 int64 (the core's; refused where R uses its 28 / 36)."""
    return np.asarray(_core.hadamard(n), dtype=np.int64)
