"""Weighting a design to population counts: post-stratification (R's postStratify).

The new design keeps what the variance needs: each row's cell and the weights
before and after, so that estimates use the post-stratification residuals as
R's svyrecvar does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core
from .errors import InvalidInputError, NotEstimableError

if TYPE_CHECKING:
    from ._state import DesignState

Population = Union["pd.Series[Any]", pd.DataFrame, Mapping[Any, float]]


@dataclass(frozen=True)
class Weighted:
    """A weighting step's result: the new design state."""

    state: DesignState


@dataclass
class Weigher:
    """One weighting step, prepared once and applied to any set of weights.

    ``full(w)`` weights the design's own weights: the new weights, what the
    variance needs of the calibration (None if nothing), and the step's record.
    ``replicate(w, step)`` weights one replicate column as R does for
    replicate-weight designs (the same step, with the full sample's record).
    """

    full: Callable[[np.ndarray], tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]]
    replicate: Callable[[np.ndarray, dict[str, Any]], np.ndarray]


def population_counts(
    population: Population, columns: Sequence[str]
) -> dict[tuple[str, ...], float]:
    """Normalise a population table to {(label, ...): count} with labels as strings."""
    if isinstance(population, pd.DataFrame):
        count_cols = [c for c in population.columns if c not in columns]
        missing = [c for c in columns if c not in population.columns]
        if missing or len(count_cols) != 1:
            raise InvalidInputError(
                f"population: a DataFrame needs the columns {list(columns)!r} and one count "
                f"column; it has {list(population.columns)!r}"
            )
        keys = population[list(columns)].astype(str).itertuples(index=False, name=None)
        values = population[count_cols[0]].to_numpy(dtype=np.float64)
        pairs = list(zip(keys, values))
    elif isinstance(population, pd.Series):
        pairs = [(_key(k, len(columns)), float(v)) for k, v in population.items()]
    elif isinstance(population, Mapping):
        pairs = [(_key(k, len(columns)), float(v)) for k, v in population.items()]
    else:
        kind = type(population).__name__
        raise InvalidInputError(
            f"population must be a pandas Series, DataFrame or dict, got {kind}"
        )
    out: dict[tuple[str, ...], float] = {}
    for key, value in pairs:
        if not np.isfinite(value) or value < 0:
            raise InvalidInputError(f"population count for {key!r} is {value}: counts must be >= 0")
        if key in out:
            raise InvalidInputError(f"population lists {key!r} twice")
        out[key] = value
    return out


def _key(k: Any, width: int) -> tuple[str, ...]:
    key = tuple(str(x) for x in k) if isinstance(k, tuple) else (str(k),)
    if len(key) != width:
        raise InvalidInputError(f"population label {k!r} does not have {width} part(s)")
    return key


def poststratify(
    state: DesignState, columns: str | Sequence[str], population: Population
) -> Weighted:
    """Post-stratify ``design`` to population counts (see Design.poststratify)."""
    names = cols.as_list(columns)
    data = state.data
    cols.require_columns(data, names, "poststratify")
    if state.calibration is not None:
        raise InvalidInputError(
            "this design is already post-stratified or calibrated; steppe weights a design once "
            "(weight the original design with all the margins at once)"
        )
    # Each column's codes; the crossed cells are built in one pass by the core.
    per_col = [cols.design_codes(data, [n], "poststratify") for n in names]
    col_labels = [[str(x) for x in c.labels] for c in per_col]
    pop = population_counts(population, names)
    index = [{lab: i for i, lab in enumerate(labs)} for labs in col_labels]
    pop_keys = [k for k, v in pop.items() if v > 0 or all(k[j] in index[j] for j in range(len(k)))]
    unmatched = [
        k for k in pop_keys if pop[k] > 0 and any(k[j] not in index[j] for j in range(len(k)))
    ]
    if unmatched:
        raise InvalidInputError(
            f"poststratify: population cell(s) {unmatched[:10]!r} have no sample "
            "(collapse cells or drop them from the population)"
        )
    pop_keys = [k for k in pop_keys if all(k[j] in index[j] for j in range(len(k)))]
    pop_codes = [
        np.array([index[j][k[j]] for k in pop_keys], dtype=np.int32) for j in range(len(names))
    ]

    def run(w: np.ndarray) -> dict[str, Any]:
        return dict(
            _core.poststratify(
                w,
                [c.codes for c in per_col],
                [len(labs) for labs in col_labels],
                pop_codes,
                np.array([pop[k] for k in pop_keys], dtype=np.float64),
                labels=col_labels,
            )
        )

    def full(w: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
        r = run(w)
        new_w = np.asarray(r["weights"], dtype=np.float64)
        return new_w, _cell_calibration(r, w, new_w), {"method": "poststratify", "columns": names}

    def replicate(w: np.ndarray, step: dict[str, Any]) -> np.ndarray:
        return np.asarray(run(w)["weights"], dtype=np.float64)

    return apply(state, Weigher(full, replicate))


def _cell_calibration(r: dict[str, Any], w: np.ndarray, new_w: np.ndarray) -> dict[str, Any]:
    """Return what the variance needs of a weighting by cells (post-stratify, rake)."""
    return {
        "cell": np.ascontiguousarray(r["cell_of_row"], dtype=np.int32),
        "matrix": None,
        "columns": len(r["g"]),
        "base_weights": w,
        "calibrated_weights": new_w,
    }


def _cell_labels(data: pd.DataFrame, names: list[str], cells: cols.Codes) -> list[Any]:
    """Original labels of each cell (a tuple per cell for several columns)."""
    if len(names) == 1:
        return list(cells.labels)
    _, first = np.unique(cells.codes, return_index=True)
    return [tuple(data[n].iloc[i] for n in names) for i in first]


def margins_dict(margins: Any) -> dict[str, Population]:
    """Margins as {column: population}; also accepts a long DataFrame (variable, level, count)."""
    if isinstance(margins, pd.DataFrame):
        need = {"variable", "level", "count"}
        if not need <= set(margins.columns):
            raise InvalidInputError(
                f"margins: a DataFrame needs columns {sorted(need)}, has {list(margins.columns)!r}"
            )
        return {
            str(v): dict(zip(g["level"], g["count"]))
            for v, g in margins.groupby("variable", sort=False)
        }
    if isinstance(margins, Mapping):
        return {str(k): v for k, v in margins.items()}
    raise InvalidInputError(f"margins must be a dict or a DataFrame, got {type(margins).__name__}")


def rake(
    state: DesignState,
    margins: Any,
    max_iter: int = 10,
    tol: float = 1.0,
) -> Weighted:
    """Rake ``design`` to margins as R's ``rake`` (see Design.rake)."""
    if state.calibration is not None:
        raise InvalidInputError(
            "this design is already weighted to population totals; steppe weights a design once"
        )
    by_margin = margins_dict(margins)
    if len(by_margin) < 1:
        raise InvalidInputError("rake: no margins given")
    names = list(by_margin)
    data = state.data
    cols.require_columns(data, names, "rake margins")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InvalidInputError(f"max_iter must be a positive integer, got {max_iter!r}")
    margin_codes = []
    totals_by_margin = []
    labels_by_margin = []
    totals = []
    for name in names:
        codes = cols.design_codes(data, [name], "rake margins")
        pop = population_counts(by_margin[name], [name])
        labels = [str(x) for x in codes.labels]
        absent = [u for u in labels if (u,) not in pop]
        if absent:
            raise InvalidInputError(
                f"rake: level(s) {absent[:10]!r} of {name!r} are in the sample, not in its margin"
            )
        empty = [k[0] for k, v in pop.items() if k[0] not in set(labels) and v > 0]
        if empty:
            raise InvalidInputError(
                f"rake: margin {name!r} has level(s) {empty[:10]!r} with no sample"
            )
        margin_codes.append(codes.codes)
        totals_by_margin.append(np.array([pop[(u,)] for u in labels], dtype=np.float64))
        labels_by_margin.append(labels)
        totals.append(sum(pop.values()))
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise InvalidInputError(
            f"rake: the margins' totals differ ({dict(zip(names, totals))}); they must agree"
        )

    # One pass over the rows builds the table of weighted counts over the crossed
    # margins (only combinations that occur); raking iterates on its cells (C++).
    def run(w: np.ndarray, maxit: int, epsilon: float) -> dict[str, Any]:
        return dict(
            _core.rake(
                w,
                margin_codes,
                [len(lab) for lab in labels_by_margin],
                totals_by_margin,
                maxit=maxit,
                epsilon=epsilon,
                labels=labels_by_margin,
            )
        )

    def full(w: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
        r = run(w, int(max_iter), float(tol))
        margin_errors = {name: float(e) for name, e in zip(names, r["margin_errors"])}
        if not r["converged"]:
            raise NotEstimableError(
                f"rake did not converge in {max_iter} iterations (largest change "
                f"{float(r['change']):.6g} >= tol {float(r['tolerance']):.6g}); margin errors "
                f"{margin_errors}. Raise max_iter or check the margins."
            )
        new_w = np.asarray(r["weights"], dtype=np.float64)
        calibration = _cell_calibration(r, w, new_w)
        calibration["raking_levels"] = [
            np.ascontiguousarray(x, dtype=np.int32) for x in r["cell_levels"]
        ]
        calibration["raking_factors"] = [
            np.ascontiguousarray(x, dtype=np.float64) for x in r["margin_g"]
        ]
        step = {
            "method": "rake",
            "margins": names,
            "iterations": int(r["passes"]),
            "converged": True,
            "margin_errors": margin_errors,
        }
        return new_w, calibration, step

    def replicate(w: np.ndarray, step: dict[str, Any]) -> np.ndarray:
        # R's rake post-stratifies every replicate column in each pass and stops
        # when the full-sample table converges: the same number of passes. (The
        # tiny tolerance stops earlier only when a pass changes nothing at all,
        # after which further passes would not either.)
        r = run(w, int(step["iterations"]), 1e-300)
        return np.asarray(r["weights"], dtype=np.float64)

    return apply(state, Weigher(full, replicate))


def trim(
    state: DesignState, lower: float | None = None, upper: float | None = None, strict: bool = False
) -> Weighted:
    """Trim weights to [lower, upper] as R's ``trimWeights`` (see Design.trim)."""
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo > hi:
        raise InvalidInputError(f"trim: lower ({lo}) is above upper ({hi})")

    def run(w: np.ndarray) -> tuple[np.ndarray, int]:
        w = w.copy()
        rounds = 0
        while True:
            outside = (w < lo) | (w > hi)
            if not outside.any():
                break
            if outside.all():
                raise InvalidInputError("trim: every weight is outside [lower, upper]")
            # R: the trimmed amount is shared equally among the weights inside the bounds.
            new = np.clip(w, lo, hi)
            new[~outside] += (w - new).sum() / (~outside).sum()
            w = new
            rounds += 1
            if not strict or rounds > 1000:
                break
        return w, rounds

    def full(w: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
        new_w, rounds = run(w)
        step = {
            "method": "trim",
            "lower": lower,
            "upper": upper,
            "strict": strict,
            "rounds": rounds,
        }
        # The variance keeps any calibration residuals, as R keeps design$postStrata.
        return new_w, state.calibration, step

    def replicate(w: np.ndarray, step: dict[str, Any]) -> np.ndarray:
        return run(w)[0]

    return apply(state, Weigher(full, replicate))


def calibrate(
    state: DesignState,
    targets: Mapping[str, Any],
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
    total: float | None = None,
) -> Weighted:
    """Calibrate ``design`` to population totals as R's ``calibrate`` (see Design.calibrate)."""
    if state.calibration is not None:
        raise InvalidInputError(
            "this design is already weighted to population totals; steppe weights a design once"
        )
    if method not in ("linear", "raking", "logit"):
        raise InvalidInputError(f"method must be 'linear', 'raking' or 'logit', got {method!r}")
    if not targets:
        raise InvalidInputError("calibrate: no targets given")
    data = state.data
    names = [str(k) for k in targets]
    cols.require_columns(data, names, "calibrate targets")
    columns: list[np.ndarray] = []
    totals: list[float] = []
    labels: list[str] = []
    population: float | None = None if total is None else float(total)
    categorical = []
    for name in names:
        target = targets[name]
        if isinstance(target, (int, float, np.floating, np.integer)):
            values = cols.numeric(data[name], "calibrate target")
            if np.isnan(values).any():
                raise InvalidInputError(f"calibrate: auxiliary {name!r} has missing values")
            columns.append(values)
            totals.append(float(target))
            labels.append(name)
            continue
        codes = cols.design_codes(data, [name], "calibrate target")
        pop = population_counts(target, [name])
        sample_labels = [str(x) for x in codes.labels]
        absent = [lab for lab in sample_labels if (lab,) not in pop]
        if absent:
            raise InvalidInputError(
                f"calibrate: level(s) {absent[:10]!r} of {name!r} are in the sample, not in targets"
            )
        extra = [k[0] for k, v in pop.items() if k[0] not in set(sample_labels) and v > 0]
        if extra:
            raise InvalidInputError(
                f"calibrate: target level(s) {extra[:10]!r} of {name!r} have no sample"
            )
        margin_total = float(sum(pop.values()))
        if population is None:
            population = margin_total
        elif abs(margin_total - population) > 1e-6 * max(population, 1.0):
            raise InvalidInputError(
                f"calibrate: {name!r} targets sum to {margin_total}, other totals to {population}"
            )
        categorical.append(name)
        # Treatment coding as R's model.matrix: the first level is the reference.
        for k, lab in enumerate(sample_labels[1:], start=1):
            columns.append((codes.codes == k).astype(np.float64))
            totals.append(pop[(lab,)])
            labels.append(f"{name}{lab}")
    if population is not None:
        columns.insert(0, np.ones(len(data)))
        totals.insert(0, population)
        labels.insert(0, "(Intercept)")
    matrix = np.ascontiguousarray(np.column_stack(columns))
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))

    def run(w: np.ndarray) -> dict[str, Any]:
        return dict(
            _core.calibrate(
                w,
                matrix,
                np.asarray(totals, dtype=np.float64),
                calfun=method,
                lower=lower,
                upper=upper,
                maxit=int(max_iter),
                epsilon=float(tol),
            )
        )

    def full(w: np.ndarray) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
        result = run(w)
        if not result["converged"]:
            raise NotEstimableError(
                f"calibration ({method}, bounds {bounds}) did not converge in {max_iter} "
                "iterations; widen the bounds or check the targets"
            )
        new_w = np.asarray(result["weights"], dtype=np.float64)
        kept = np.asarray(result["kept_columns"], dtype=np.int64)
        model = np.ascontiguousarray(matrix[:, kept])
        calibration = {
            "cell": None,
            "matrix": model.ravel(),
            "columns": model.shape[1],
            "base_weights": w,
            "calibrated_weights": new_w,
        }
        step = {
            "method": "calibrate",
            "calfun": method,
            "bounds": bounds,
            "targets": [labels[i] for i in kept],
            "iterations": int(result["iterations"]),
        }
        return new_w, calibration, step

    def replicate(w: np.ndarray, step: dict[str, Any]) -> np.ndarray:
        # R calibrates each replicate on its own (grake from eta = 0) and, unlike
        # the full sample, keeps a replicate that did not converge.
        return np.asarray(run(w)["weights"], dtype=np.float64)

    return apply(state, Weigher(full, replicate))


def apply(state: DesignState, weigher: Weigher) -> Weighted:
    """Weight the design's weights (and, on replicate designs, every replicate column).

    R's postStratify, rake and calibrate on a replicate design re-weight each
    replicate with the same population totals; the variance then comes from the
    re-weighted replicates alone (no calibration residuals). R's trimWeights for
    replicate designs is broken in survey 4.1.1 (it leaves the sampling weights
    untrimmed and mangles the replicates); steppe trims each column with the full
    sample's rule.
    """
    new_w, calibration, step = weigher.full(state.weights)
    new_w = np.ascontiguousarray(new_w, dtype=np.float64)
    spec = replace(state.spec, weighting=(*state.spec.weighting, step))
    base = state.weights if state.base_weights is None else state.base_weights
    core = state.core
    if state.replicated:
        old = core.replicate_weights
        assert old is not None
        reps = np.empty_like(old, order="F")
        names = state.spec.replicate_weights
        for r in range(reps.shape[1]):
            try:
                reps[:, r] = weigher.replicate(np.ascontiguousarray(old[:, r]), step)
            except (InvalidInputError, NotEstimableError) as e:
                name = names[r] if r < len(names) else str(r + 1)
                raise type(e)(f"replicate {r + 1} ({name}): {e}") from e
        if not np.isfinite(reps).all():
            raise NotEstimableError("weighting gave non-finite replicate weights")
        rho = core.replicate_rho
        new_core = core.reweighted(new_w).with_replicates(
            reps,
            type=str(core.replicate_type),
            scale=float(core.replicate_scale or 1.0),
            rscales=list(core.replicate_rscales or []),
            mse=bool(core.replicate_mse),
            rho=math.nan if rho is None else float(rho),
            df=float(core.replicate_fixed_df),  # R recomputes a rank-based degf
        )
        return Weighted(state.replace(core=new_core, weights=new_w, spec=spec, base_weights=base))
    extra: dict[str, Any] = {}
    if calibration is not None:
        extra = {
            "cal_cell": calibration.get("cell"),
            "cal_matrix": calibration.get("matrix"),
            "cal_columns": int(calibration["columns"]),
            "cal_base_weights": calibration["base_weights"],
            "cal_weights": calibration["calibrated_weights"],
            "raking_levels": calibration.get("raking_levels", []),
            "raking_factors": calibration.get("raking_factors", []),
            "allow_negative_weights": True,  # GREG weights may be negative, as in R
        }
    new_core = core.reweighted(new_w, **extra)
    return Weighted(
        state.replace(
            core=new_core, weights=new_w, spec=spec, base_weights=base, calibration=calibration
        )
    )
