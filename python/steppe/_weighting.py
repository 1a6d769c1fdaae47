"""Weighting a design to population figures: R's postStratify, rake, calibrate, trimWeights.

Here only the pandas side: labels and population tables become codes, counts
and model matrices. The core (``_core.poststratify`` etc.) weights the design,
replicate columns included, and returns a new core design that keeps what the
variance needs of the calibration; this module returns it with the step's record.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from . import _core, _formula
from .errors import ConvergenceWarning, InvalidInputError, NotEstimableError, WeightingWarning

if TYPE_CHECKING:
    from ._state import DesignState

Population = Union["pd.Series[Any]", pd.DataFrame, Mapping[Any, float]]


@dataclass(frozen=True)
class Weighted:
    """A weighting step's result: the new design state."""

    state: DesignState


def _weighted(state: DesignState, core: _core.Design, step: dict[str, Any]) -> Weighted:
    """Return the state of the design the core weighted, with the step's record.

    The core design holds the new weights and what the variance needs of the
    calibration (or, for a replicate design, the re-weighted replicates).
    """
    return Weighted(
        state.replace(
            core=core,
            weights=core.weights,
            spec=replace(state.spec, weighting=(*state.spec.weighting, step)),
            base_weights=state.weights if state.base_weights is None else state.base_weights,
        )
    )


def _replicate_names(state: DesignState) -> list[str]:
    return list(state.spec.replicate_weights)


def _not_converged(message: str, strict: bool) -> None:
    """Warn (R's rake; calibrate with force = TRUE) or, with ``strict``, raise."""
    if strict:
        raise NotEstimableError(message)
    warnings.warn(message, ConvergenceWarning, stacklevel=4)


def joint_codes(
    data: pd.DataFrame, names: Sequence[str], role: str
) -> tuple[np.ndarray, list[tuple[str, ...]]]:
    """Codes of the combinations of ``names`` that occur, and each code's labels.

    Combinations are ordered as R's crossed factors: by the first column's
    levels, then the next (levels as R's ``factor()``: a Categorical's order,
    otherwise sorted). Missing values are an error.
    """
    per_col = [cols.design_codes(data, [n], role) for n in names]
    if len(per_col) == 1:
        return per_col[0].codes.astype(np.int32, copy=False), [(str(x),) for x in per_col[0].labels]
    key = np.zeros(len(data), dtype=np.int64)
    for c in per_col:
        key = key * len(c.labels) + c.codes.astype(np.int64)
    uniques, codes = np.unique(key, return_inverse=True)
    labels = []
    for u in uniques:
        parts = []
        for c in reversed(per_col):
            parts.append(str(c.labels[int(u % len(c.labels))]))
            u //= len(c.labels)
        labels.append(tuple(reversed(parts)))
    return np.ascontiguousarray(codes.astype(np.int32)), labels


def _margin_name(key: tuple[str, ...]) -> str:
    return ":".join(key)


def margin_key(key: Any) -> tuple[str, ...]:
    """Return a margin's columns: one name, or a tuple/list of names for a joint margin."""
    return tuple(str(k) for k in key) if isinstance(key, (tuple, list)) else (str(key),)


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
    """Post-stratify to population counts (see Design.poststratify)."""
    names = cols.as_list(columns)
    data = state.data
    cols.require_columns(data, names, "poststratify")
    # Each column's codes; the core crosses them into cells in one pass.
    per_col = [cols.design_codes(data, [n], "poststratify") for n in names]
    col_labels = [[str(x) for x in c.labels] for c in per_col]
    pop = population_counts(population, names)
    index = [{lab: i for i, lab in enumerate(labs)} for labs in col_labels]
    unmatched = [
        k for k, v in pop.items() if v > 0 and any(k[j] not in index[j] for j in range(len(k)))
    ]
    if unmatched:
        raise InvalidInputError(
            f"poststratify: population cell(s) {unmatched[:10]!r} have no sample "
            "(collapse cells or drop them from the population)"
        )
    pop_keys = [k for k in pop if all(k[j] in index[j] for j in range(len(k)))]
    pop_codes = [
        np.array([index[j][k[j]] for k in pop_keys], dtype=np.int32) for j in range(len(names))
    ]
    core, report = _core.poststratify(
        state.core,
        [c.codes for c in per_col],
        [len(labs) for labs in col_labels],
        pop_codes,
        np.array([pop[k] for k in pop_keys], dtype=np.float64),
        labels=col_labels,
        threads=state.threads,
        replicate_names=_replicate_names(state),
    )
    return _weighted(
        state, core, {"method": "poststratify", "columns": names, "cells": report.cells}
    )


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


def rake_margins(margins: Any) -> dict[tuple[str, ...], Population]:
    """Return margins as {(column, ...): population}: a tuple key is a joint margin.

    Accepts what :func:`margins_dict` does, and dict keys that are tuples of columns.
    """
    if isinstance(margins, Mapping):
        return {margin_key(k): v for k, v in margins.items()}
    return {(k,): v for k, v in margins_dict(margins).items()}


def rake(
    state: DesignState, margins: Any, max_iter: int = 10, tol: float = 1.0, strict: bool = False
) -> Weighted:
    """Rake to margins as R's ``rake`` (see Design.rake)."""
    by_margin = rake_margins(margins)
    if len(by_margin) < 1:
        raise InvalidInputError("rake: no margins given")
    keys = list(by_margin)
    names = [_margin_name(k) for k in keys]
    data = state.data
    cols.require_columns(data, sorted({c for k in keys for c in k}), "rake margins")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InvalidInputError(f"max_iter must be a positive integer, got {max_iter!r}")
    margin_codes = []
    totals_by_margin = []
    labels_by_margin = []
    totals = []
    for key, name in zip(keys, names):
        codes, combos = joint_codes(data, key, "rake margins")
        pop = population_counts(by_margin[key], list(key))
        absent = [" / ".join(u) for u in combos if u not in pop]
        if absent:
            raise InvalidInputError(
                f"rake: level(s) {absent[:10]!r} of {name!r} are in the sample, not in its margin"
            )
        seen = set(combos)
        empty = [" / ".join(k) for k, v in pop.items() if k not in seen and v > 0]
        if empty:
            raise InvalidInputError(
                f"rake: margin {name!r} has level(s) {empty[:10]!r} with no sample"
            )
        margin_codes.append(codes)
        totals_by_margin.append(np.array([pop[u] for u in combos], dtype=np.float64))
        labels_by_margin.append([" / ".join(u) for u in combos])
        totals.append(sum(pop.values()))
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise InvalidInputError(
            f"rake: the margins' totals differ ({dict(zip(names, totals))}); they must agree"
        )
    # The core builds the table of weighted counts over the crossed margins in
    # one pass (only combinations that occur) and rakes its cells.
    core, report = _core.rake(
        state.core,
        margin_codes,
        [len(lab) for lab in labels_by_margin],
        totals_by_margin,
        maxit=int(max_iter),
        epsilon=float(tol),
        names=names,
        labels=labels_by_margin,
        threads=state.threads,
        replicate_names=_replicate_names(state),
    )
    errors = {n: float(e) for n, e in zip(names, report.margin_errors)}
    if not report.converged:
        listed = ", ".join(f"{n} {e:.6g}" for n, e in errors.items())
        _not_converged(
            f"Raking did not converge after {max_iter} iterations (R's warning): the largest "
            f"change of the crossed table in the last pass was {report.change:.6g}, tol "
            f"{report.tolerance:.6g}; margin errors: {listed}. The weights are the last "
            "iteration's; raise max_iter or check the margins.",
            strict,
        )
    step = {
        "method": "rake",
        "margins": names,
        "iterations": int(report.iterations),
        "converged": bool(report.converged),
        "margin_errors": errors,
    }
    return _weighted(state, core, step)


def trim(
    state: DesignState,
    lower: float | None = None,
    upper: float | None = None,
    strict: bool = False,
) -> Weighted:
    """Trim weights to [lower, upper] as R's ``trimWeights`` (see Design.trim)."""
    core, report = _core.trim(
        state.core,
        -np.inf if lower is None else float(lower),
        np.inf if upper is None else float(upper),
        strict=bool(strict),
        threads=state.threads,
        replicate_names=_replicate_names(state),
    )
    step = {
        "method": "trim",
        "lower": lower,
        "upper": upper,
        "strict": strict,
        "rounds": int(report.iterations),
        "trimmed": int(report.trimmed),
    }
    return _weighted(state, core, step)


def _dict_model(
    data: pd.DataFrame, targets: Mapping[Any, Any], total: float | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return the model matrix, totals and column labels of per-level targets.

    An intercept, each categorical target's levels but its first (R's treatment
    coding; a tuple key is a joint target over its columns' combinations), then
    the numeric targets.
    """
    columns: list[np.ndarray] = []
    totals: list[float] = []
    labels: list[str] = []
    population: float | None = None if total is None else float(total)
    for key, target in targets.items():
        names = margin_key(key)
        name = _margin_name(names)
        if isinstance(target, (int, float, np.floating, np.integer)):
            if len(names) != 1:
                raise InvalidInputError(f"calibrate: the total of {key!r} must be one number")
            values = cols.numeric(data[names[0]], "calibrate target")
            if np.isnan(values).any():
                raise InvalidInputError(f"calibrate: auxiliary {name!r} has missing values")
            columns.append(values)
            totals.append(float(target))
            labels.append(name)
            continue
        codes, combos = joint_codes(data, names, "calibrate target")
        pop = population_counts(target, list(names))
        absent = [" / ".join(u) for u in combos if u not in pop]
        if absent:
            raise InvalidInputError(
                f"calibrate: level(s) {absent[:10]!r} of {name!r} are in the sample, not in targets"
            )
        seen = set(combos)
        extra = [" / ".join(k) for k, v in pop.items() if k not in seen and v > 0]
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
        # Treatment coding as R's model.matrix: the first level is the reference.
        for k, combo in enumerate(combos[1:], start=1):
            columns.append((codes == k).astype(np.float64))
            totals.append(pop[combo])
            labels.append(":".join(f"{c}{lev}" for c, lev in zip(names, combo)))
    if population is not None:
        columns.insert(0, np.ones(len(data)))
        totals.insert(0, population)
        labels.insert(0, "(Intercept)")
    matrix = np.ascontiguousarray(np.column_stack(columns))
    return matrix, np.asarray(totals, dtype=np.float64), labels


def calibrate(
    state: DesignState,
    targets: Any,
    population: Any = None,
    method: str = "linear",
    bounds: tuple[float, float] | None = None,
    max_iter: int = 50,
    tol: float = 1e-7,
    total: float | None = None,
    strict: bool = False,
) -> Weighted:
    """Calibrate to population totals as R's ``calibrate`` (see Design.calibrate)."""
    if method not in ("linear", "raking", "logit"):
        raise InvalidInputError(f"method must be 'linear', 'raking' or 'logit', got {method!r}")
    if not targets:
        raise InvalidInputError("calibrate: no targets given")
    data = state.data
    if isinstance(targets, str):
        if population is None:
            raise InvalidInputError(
                f"calibrate: the formula {targets!r} needs population= (R's model-matrix totals "
                "or per-level counts)"
            )
        mm = _formula.model_matrix(targets, data, "calibrate")
        matrix, labels = mm.matrix, mm.names
        totals = _formula.model_totals(mm, population, total, population_counts)
    else:
        if population is not None:
            raise InvalidInputError(
                "calibrate: population= goes with a formula; per-level targets carry their "
                "own counts"
            )
        if not isinstance(targets, Mapping):
            raise InvalidInputError(
                "calibrate: targets must be a formula such as '~stype + api99' or a dict of "
                f"per-level counts, got {type(targets).__name__}"
            )
        cols.require_columns(
            data, sorted({c for k in targets for c in margin_key(k)}), "calibrate targets"
        )
        matrix, totals, labels = _dict_model(data, targets, total)
    lower, upper = (-np.inf, np.inf) if bounds is None else (float(bounds[0]), float(bounds[1]))

    core, report = _core.calibrate(
        state.core,
        matrix,
        np.ascontiguousarray(totals, dtype=np.float64),
        calfun=method,
        lower=lower,
        upper=upper,
        maxit=int(max_iter),
        epsilon=float(tol),
        threads=state.threads,
        replicate_names=_replicate_names(state),
    )
    if report.scale != 1 and bounds is not None and np.isfinite([lower, upper]).any():
        warnings.warn(
            f"calibrate: bounds were set but will be interpreted after rescaling by "
            f"{report.scale:.3g} (R's warning): every population total is over 20 times its "
            "sample total, so the weights were first scaled by the mean ratio",
            WeightingWarning,
            stacklevel=3,
        )
    if not report.converged:
        where = "no bounds" if bounds is None else f"bounds {tuple(bounds)!r}"
        _not_converged(
            f"Calibration did not converge after {max_iter} iterations ({method}, {where}; R: "
            f'"Failed to converge: eps={report.change:.7g} in {report.iterations} iterations"): '
            f"the largest misfit |target - total| / (1 + |target|) is {report.change:.6g}, tol "
            f"{tol:g}. The weights are the last iteration's, as R's calibrate(force = TRUE); "
            'without force R stops with "Calibration failed". Widen the bounds, raise '
            "max_iter or check the targets.",
            strict,
        )
    step = {
        "method": "calibrate",
        "calfun": method,
        "bounds": bounds,
        "targets": [labels[i] for i in report.kept_columns],
        "iterations": int(report.iterations),
        "converged": bool(report.converged),
    }
    if isinstance(targets, str):
        step["formula"] = targets
    return _weighted(state, core, step)
