"""Replicate weights built from a design, as R's ``as.svrepdesign``.

The replicates are R's, replicate for replicate and in R's order, for the
jackknives (``jk1weights``, ``jknweights``), BRR and Fay (``brrweights`` with the
Hadamard matrix of R's ``hadamard()``). The bootstrap follows R's
``bootweights`` (resample each stratum's PSUs, the replicate multiplier being how
often a PSU is drawn) but draws with numpy's generator, so its replicates cannot
equal R's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from ._state import DesignSpec
from .errors import InvalidInputError, NotEstimableError

if TYPE_CHECKING:
    from ._state import DesignState

_TYPES = ("auto", "JK1", "JKn", "BRR", "Fay", "bootstrap")

# Sizes of the Hadamard matrices R's survey package stores (survey:::hadamard.sizes).
# 4 and 16 are Sylvester matrices, rebuilt here; 28 and 36 are not reproduced.
_STORED_SIZES = (4, 16, 28, 36)


def to_replicate(
    state: DesignState,
    type: str = "auto",
    replicates: int = 50,
    seed: int | None = None,
    fay_rho: float = 0.0,
    mse: bool = False,
) -> DesignState:
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
        Seed of numpy's random generator for the bootstrap (R's RNG differs, so
        bootstrap replicates are never R's).
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
    rho = _check_rho(fay_rho)

    strata = state.strata_codes
    n_rows = len(state.weights)
    psu = state.psu_codes
    psu = np.arange(n_rows, dtype=np.int64) if psu is None else np.asarray(psu, dtype=np.int64)
    # PSUs renumbered in order of first appearance (R's unique(psu)).
    uniq, first = np.unique(psu, return_index=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    psu_index = rank[np.searchsorted(uniq, psu)]  # row -> PSU number (appearance order)
    first_row = first[order]  # PSU number -> its first row
    n_psu = len(uniq)
    has_strata = strata is not None
    stratum = (
        np.zeros(n_rows, dtype=np.int64) if strata is None else np.asarray(strata, dtype=np.int64)
    )
    psu_stratum = stratum[first_row]  # stratum code of each PSU
    popsizes = np.asarray(state.core.stratum_popsizes(), dtype=np.float64)

    if type == "auto":
        type = "JKn" if has_strata else "JK1"
    if type == "JK1" and has_strata:
        raise InvalidInputError("Can't use JK1 for a stratified design (use JKn, BRR or bootstrap)")
    if type in ("JKn", "BRR", "Fay") and not has_strata:
        raise InvalidInputError(f"Must use JK1 or bootstrap for an unstratified design, not {type}")

    kind: str
    scale: float
    rho_arg: float | None = None
    if type == "JK1":
        mult, scale = _jk1(n_psu, float(popsizes[0]))
        rscales = [1.0] * mult.shape[1]
        kind = "JK1"
    elif type == "JKn":
        labels = _stratum_labels(state, stratum)
        mult, rscales, scale = _jkn(psu_stratum, popsizes, labels, state.spec.lonely_psu)
        kind = "JKn"
    elif type in ("BRR", "Fay"):
        if type == "Fay" and rho == 0:
            raise InvalidInputError("type='Fay' needs fay_rho in (0, 1); fay_rho=0 is BRR")
        labels = _stratum_labels(state, stratum)
        mult = _brr(psu_stratum, labels, rho)
        kind = "BRR" if rho == 0 else "Fay"
        rho_arg = None if rho == 0 else rho
        scale = 1.0 / (mult.shape[1] * (1 - rho) ** 2)
        rscales = [1.0] * mult.shape[1]
    else:
        if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)):
            raise InvalidInputError(f"replicates must be an integer, got {replicates!r}")
        if replicates < 2:
            raise InvalidInputError(f"replicates must be at least 2, got {replicates}")
        mult, scale = _bootstrap(psu_stratum, popsizes, int(replicates), seed)
        rscales = [1.0] * mult.shape[1]
        kind = "bootstrap"

    if mult.shape[1] < 2:
        raise NotEstimableError(
            f"to_replicate({type!r}): only {mult.shape[1]} replicate(s); every stratum is "
            "sampled exhaustively or has a single PSU: no sampling variance to replicate"
        )
    reps = np.asfortranarray(mult[psu_index] * state.weights[:, None])
    # The replicates carry the design: the engine sees weights only (no strata, PSUs,
    # FPC or calibration), as ReplicateDesign(data, weights, ...) does.
    w = np.ascontiguousarray(state.weights, dtype=np.float64)
    # GREG-calibrated weights may be negative (as in R)
    core = _core.Design(w, allow_negative_weights=bool((w < 0).any())).with_replicates(
        reps,
        type=kind,
        scale=float(scale),
        rscales=[float(x) for x in rscales],
        mse=bool(mse),
        rho=math.nan if rho_arg is None else float(rho_arg),
    )
    spec = DesignSpec(
        weights=state.spec.weights,
        lonely_psu=state.spec.lonely_psu,
        replicate_weights=tuple(f"rep{i + 1}" for i in range(reps.shape[1])),
    )
    return state.replace(
        core=core,
        spec=spec,
        calibration=None,
        strata_codes=None,
        psu_codes=None,
        stratum_labels=(),
        cache=dict(state.cache),
    )


# ----------------------------------------------------------------------------- helpers
def _check_rho(fay_rho: Any) -> float:
    if isinstance(fay_rho, bool) or not isinstance(fay_rho, (int, float, np.floating)):
        raise InvalidInputError(f"fay_rho must be a number in [0, 1), got {fay_rho!r}")
    rho = float(fay_rho)
    if not 0 <= rho < 1:
        raise InvalidInputError(f"fay_rho must be in [0, 1), got {fay_rho!r}")
    return rho


def _stratum_labels(state: DesignState, stratum: np.ndarray) -> list[str]:
    """Stratum labels as R's as.character() of the stratum column (codes -> text)."""
    labels = list(state.stratum_labels)
    out = []
    for lab in labels:
        try:
            x = float(lab)
        except ValueError:
            out.append(str(lab))
            continue
        out.append(str(int(x)) if x.is_integer() and abs(x) < 1e15 else str(lab))
    return out


def _fpc_factor(popsize: float, n: int, where: str) -> float:
    """R's jk1weights: (N - n) / N for a population size N, 1 without an FPC."""
    if not math.isfinite(popsize):
        return 1.0
    if popsize < n:
        raise InvalidInputError(f"{where}: population size {popsize:g} smaller than {n} PSUs")
    return (popsize - n) / popsize


def _jk1(n: int, popsize: float) -> tuple[np.ndarray, float]:
    """Delete-one jackknife over n PSUs: multipliers PSU x replicate and R's scale."""
    f = _fpc_factor(popsize, n, "JK1")
    if f == 0:
        return np.zeros((n, 0)), 0.0
    if n < 2:
        raise NotEstimableError("JK1 needs at least two PSUs")
    mult = np.full((n, n), n / (n - 1))
    np.fill_diagonal(mult, 0.0)
    return mult, f * (n - 1) / n


def _jkn(
    psu_stratum: np.ndarray, popsizes: np.ndarray, labels: list[str], lonely: str
) -> tuple[np.ndarray, list[float], float]:
    """R's jknweights: one replicate per PSU of each stratum, strata in order of appearance."""
    n_psu = len(psu_stratum)
    _, first = np.unique(psu_stratum, return_index=True)
    strata_order = psu_stratum[np.sort(first)]
    nstrat = len(strata_order)
    cols: list[np.ndarray] = []
    rscales: list[float] = []
    for s in strata_order:
        members = np.flatnonzero(psu_stratum == s)  # in order of appearance
        n_h = len(members)
        f = _fpc_factor(float(popsizes[s]), n_h, f"JKn, stratum {labels[s]!r}")
        if f == 0:
            continue  # exhaustively sampled: no replicates (survey.drop.replicates)
        if n_h == 1:
            if lonely == "fail":
                raise NotEstimableError(
                    f"JKn: stratum {labels[s]!r} has only one PSU; set lonely_psu on the design "
                    "('remove', 'certainty', 'average' or 'adjust') as R's survey.lonely.psu"
                )
            if lonely == "adjust":
                col = np.where(psu_stratum == s, 0.0, nstrat / (nstrat - 1))
                cols.append(col)
                rscales.append((nstrat - 1) / nstrat)
            continue  # remove / certainty / average: the stratum gets no replicate
        for j in members:
            col = np.ones(n_psu)
            col[members] = n_h / (n_h - 1)
            col[j] = 0.0
            cols.append(col)
            rscales.append(f * (n_h - 1) / n_h)
    if not cols:
        raise NotEstimableError("JKn: every stratum was sampled exhaustively (no replicates)")
    scale = 1.0
    if len(cols) < n_psu and lonely == "average":
        scale = scale * n_psu / len(cols)
    return np.column_stack(cols), rscales, scale


def _brr(psu_stratum: np.ndarray, labels: list[str], rho: float) -> np.ndarray:
    """R's brrweights(small = "fail", large = "split"): multipliers PSU x replicate."""
    n_psu = len(psu_stratum)
    lab = [labels[s] for s in psu_stratum]
    sizes: dict[str, int] = {}
    for x in lab:
        sizes[x] = sizes.get(x, 0) + 1
    if any(k < 2 for k in sizes.values()):
        small = sorted(x for x, k in sizes.items() if k < 2)
        raise InvalidInputError(f"BRR: some strata have fewer than 2 PSUs: {small[:5]!r}")
    # PSUs ordered by stratum label (R's order() of the character labels, C collation),
    # then by appearance.
    oo = sorted(range(n_psu), key=lambda j: (lab[j], j))
    half = np.zeros((n_psu, 2))
    pair = np.zeros(n_psu, dtype=np.int64)
    upto = 0
    large = sorted(x for x, k in sizes.items() if k > 2)
    good = sorted(x for x, k in sizes.items() if k == 2)
    for x in large:
        if sizes[x] % 2 == 1:
            raise InvalidInputError(
                f"BRR: stratum {x!r} has {sizes[x]} PSUs; strata with more than two PSUs are "
                "split into pairs, which needs an even number"
            )
    for group in [[x] for x in large] + ([good] if good else []):
        members = [j for j in oo if lab[j] in set(group)]
        for i, j in enumerate(members):
            half[j, 0] = i % 2
            half[j, 1] = 1 - i % 2
            pair[j] = upto + 1 + i // 2
        upto += len(members) // 2
    h = _hadamard(upto)
    col = h[pair, :].astype(np.int64)  # PSU x replicate: which half-weight column
    rows = np.arange(n_psu)[:, None]
    wa = half[rows, col]
    wb = half[rows, 1 - col]
    return np.asarray(wa * (2 - rho) + wb * rho, dtype=np.float64)


def _bootstrap(
    psu_stratum: np.ndarray, popsizes: np.ndarray, replicates: int, seed: int | None
) -> tuple[np.ndarray, float]:
    """R's bootweights, drawn with numpy: PSU multipliers = times drawn; R's scale."""
    rng = np.random.default_rng(seed)
    n_psu = len(psu_stratum)
    mult = np.zeros((n_psu, replicates))
    strata_codes, counts = np.unique(psu_stratum, return_counts=True)
    for s in strata_codes:
        members = np.flatnonzero(psu_stratum == s)
        n_h = len(members)
        popsize = float(popsizes[s])
        if not math.isfinite(popsize):
            draws = rng.integers(0, n_h, size=(replicates, n_h))
            offsets = draws + n_h * np.arange(replicates)[:, None]
            tally = np.bincount(offsets.ravel(), minlength=n_h * replicates)
            mult[members] = tally.reshape(replicates, n_h).T
            continue
        if popsize < n_h:
            raise InvalidInputError(
                f"bootstrap: population size {popsize:g} smaller than {n_h} PSUs in a stratum"
            )
        # Without replacement from the PSUs repeated (in random order) to the population size.
        size = int(popsize)
        shuffled = rng.permutation(n_h)
        copies = np.full(n_h, size // n_h, dtype=np.int64)
        copies[: size % n_h] += 1
        pop = np.empty(n_h, dtype=np.int64)
        pop[shuffled] = copies
        drawn = rng.multivariate_hypergeometric(pop, n_h, size=replicates)
        mult[members] = drawn.T
    nbar = 1.0 / float(np.mean(1.0 / counts))
    if nbar <= 1:
        raise NotEstimableError("bootstrap: every stratum has a single PSU")
    return mult, nbar / ((nbar - 1) * (replicates - 1))


# --------------------------------------------------------------------------- Hadamard
def _small_primes() -> list[int]:
    """Primes p = 3 (mod 4) up to 7919: the primes R's paley() builds from."""
    limit = 7919
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for i in range(2, int(limit**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = False
    return [int(p) for p in np.flatnonzero(sieve) if p % 4 == 3]


_SMALL_PRIMES = _small_primes()


def _sylvester(size: int) -> np.ndarray:
    """R's stored 4 x 4 and 16 x 16 matrices: entry 1 when popcount(i & j) is even."""
    i = np.arange(size)[:, None]
    j = np.arange(size)[None, :]
    x = i & j
    parity = np.zeros_like(x)
    while x.any():
        parity ^= x & 1
        x = x >> 1
    return np.asarray(1 - parity, dtype=np.int64)


def _stored(k: int, n: int) -> np.ndarray:
    size = _STORED_SIZES[k]
    if size in (28, 36):
        raise InvalidInputError(
            f"BRR with {n} pairs of PSUs needs a Hadamard matrix that R builds from its stored "
            f"{size} x {size} matrix, which steppe does not reproduce; R would use "
            f"survey:::hadamard({n}). Use type='JKn' or 'bootstrap', or merge/split strata"
        )
    return _sylvester(size)


def _doubler(h: np.ndarray) -> np.ndarray:
    return np.block([[h, h], [h, 1 - h]])


def _paley(n: int | None = None, nmax: int | None = None, prime: int | None = None) -> Any:
    """R's survey:::paley(): a Paley Hadamard matrix of size > n, or None."""
    if prime is None:
        assert n is not None
        if nmax is None:
            nmax = 2 * n
        nceil = nn = n + 4 - n % 4
        if n % 4 + 4 == n % 8:
            while nn % 8 == 0:
                nn //= 2
            if nn - 1 in _SMALL_PRIMES:
                m = _paley(prime=nn - 1)
                while nn < nceil:
                    m = _doubler(m)
                    nn *= 2
                return m
        if n > _SMALL_PRIMES[-1]:
            return None
        p = min(q for q in _SMALL_PRIMES if q >= n)
        if p + 1 > nceil + 4 and nceil + 4 < nmax:
            return _paley(nceil + 3)
        if p > nmax:
            return None
    else:
        p = prime
    residues = {0, 1} | {(i * i) % p for i in range(2, (p - 1) // 2 + 1)}
    m = (np.arange(p)[:, None] + np.arange(p)[None, :]) % p
    m = np.where(np.isin(m, list(residues)), 0, 1)
    out = np.ones((p + 1, p + 1), dtype=np.int64)
    out[1:, 1:] = m
    return out


def _hadamard(n: int) -> np.ndarray:
    """R's survey::hadamard(n): a 0/1 Hadamard matrix with more than n rows."""
    m = n - n % 4
    precooked = [k for k, s in enumerate(_STORED_SIZES) if m < s <= m + 4]
    if precooked:
        return _stored(min(precooked), n)
    if all(m < s for s in _STORED_SIZES):
        return _stored(0, n)
    sizes = [s * 2 ** max(0, math.ceil(math.log2((n + 1) / s))) for s in _STORED_SIZES]
    best = int(np.argmin([s - n for s in sizes]))
    h = None
    if sizes[best] - n > 4:
        h = _paley(n, sizes[best])
    if h is None:
        h = _stored(best, n)
        for _ in range(math.ceil(math.log2(sizes[best] / _STORED_SIZES[best]))):
            h = _doubler(h)
    return np.asarray(h, dtype=np.int64)
