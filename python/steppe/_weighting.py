"""Weighting a design to population counts: post-stratification (R's postStratify).

The new design keeps what the variance needs: each row's cell and the weights
before and after, so that estimates use the post-stratification residuals as
R's svyrecvar does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import pandas as pd

from . import _columns as cols
from .errors import InvalidInputError

if TYPE_CHECKING:
    from .design import Design

Population = Union["pd.Series[Any]", pd.DataFrame, Mapping[Any, float]]


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


def poststratify(design: Design, columns: str | Sequence[str], population: Population) -> Design:
    """Post-stratify ``design`` to population counts (see Design.poststratify)."""
    names = cols.as_list(columns)
    data = design.data
    cols.require_columns(data, names, "poststratify")
    if design._calibration is not None:
        raise InvalidInputError(
            "this design is already post-stratified or calibrated; steppe weights a design once "
            "(weight the original design with all the margins at once)"
        )
    cells = cols.design_codes(data, names, "poststratify")
    labels = [
        tuple(str(x) for x in (lab if isinstance(lab, tuple) else (lab,)))
        for lab in _cell_labels(data, names, cells)
    ]
    pop = population_counts(population, names)
    w = design.weights
    sample = np.bincount(cells.codes, weights=w, minlength=len(labels))
    absent = [lab for lab in labels if lab not in pop]
    if absent:
        raise InvalidInputError(
            f"poststratify: sample cell(s) {absent[:10]!r} are absent from the population"
        )
    in_sample = set(labels)
    unmatched = [k for k, v in pop.items() if k not in in_sample and v > 0]
    if unmatched:
        raise InvalidInputError(
            f"poststratify: population cell(s) {unmatched[:10]!r} have no sample "
            "(collapse cells or drop them from the population)"
        )
    target = np.array([pop[lab] for lab in labels])
    if (sample <= 0).any():
        bad = [labels[i] for i in np.flatnonzero(sample <= 0)]
        raise InvalidInputError(f"poststratify: sample cell(s) {bad[:10]!r} have zero weight")
    g = target / sample
    new_w = w * g[cells.codes]
    calibration = {
        "cell": cells.codes,
        "matrix": None,
        "columns": len(labels),
        "base_weights": w,
        "calibrated_weights": new_w,
    }
    step = {"method": "poststratify", "columns": names}
    return design._reweighted(new_w, calibration, step)


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
    design: Design,
    margins: Any,
    max_iter: int = 10,
    tol: float = 1.0,
) -> Design:
    """Rake ``design`` to margins as R's ``rake`` (see Design.rake)."""
    if design._calibration is not None:
        raise InvalidInputError(
            "this design is already weighted to population totals; steppe weights a design once"
        )
    by_margin = margins_dict(margins)
    if len(by_margin) < 1:
        raise InvalidInputError("rake: no margins given")
    names = list(by_margin)
    data = design.data
    cols.require_columns(data, names, "rake margins")
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise InvalidInputError(f"max_iter must be a positive integer, got {max_iter!r}")
    w0 = design.weights
    # One pass over the rows: the table of weighted counts over the crossed margins
    # (only combinations that occur); raking then iterates on its cells.
    cells = cols.design_codes(data, names, "rake margins")
    n_cells = int(cells.codes.max()) + 1
    _, first = np.unique(cells.codes, return_index=True)
    cell_w0: np.ndarray = np.bincount(cells.codes, weights=w0, minlength=n_cells).astype(float)
    levels: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    totals = []
    for name in names:
        lab = data[name].to_numpy()[first].astype(str)
        pop = population_counts(by_margin[name], [name])
        uniq = sorted(set(lab))
        absent = [u for u in uniq if (u,) not in pop]
        if absent:
            raise InvalidInputError(
                f"rake: level(s) {absent[:10]!r} of {name!r} are in the sample, not in its margin"
            )
        empty = [k[0] for k, v in pop.items() if k[0] not in set(uniq) and v > 0]
        if empty:
            raise InvalidInputError(
                f"rake: margin {name!r} has level(s) {empty[:10]!r} with no sample"
            )
        code = {u: i for i, u in enumerate(uniq)}
        levels.append(np.array([code[x] for x in lab], dtype=np.int32))
        targets.append(np.array([pop[(u,)] for u in uniq]))
        totals.append(sum(pop.values()))
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise InvalidInputError(
            f"rake: the margins' totals differ ({dict(zip(names, totals))}); they must agree"
        )
    eps = tol * w0.sum() if tol < 1 else tol  # R: epsilon < 1 is a fraction of the weight sum
    g = np.ones(n_cells)
    factors: list[np.ndarray] = [g] * len(names)
    old: np.ndarray = cell_w0.copy()
    converged = False
    iterations = 0
    while iterations < max_iter:
        factors = []
        for lev, target in zip(levels, targets):
            sample = np.bincount(lev, weights=cell_w0 * g, minlength=len(target))
            g = g * (target / sample)[lev]
            factors.append(g.copy())
        new = cell_w0 * g
        delta = float(np.max(np.abs(old - new)))
        if delta < eps:
            converged = True
            break
        old = new
        iterations += 1
    margin_errors = {
        name: float(np.max(np.abs(np.bincount(lev, weights=cell_w0 * g, minlength=len(t)) - t)))
        for name, lev, t in zip(names, levels, targets)
    }
    if not converged:
        from .errors import NotEstimableError

        raise NotEstimableError(
            f"rake did not converge in {max_iter} iterations (largest change {delta:.6g} >= "
            f"tol {eps:.6g}); margin errors {margin_errors}. Raise max_iter or check the margins."
        )
    new_w = w0 * g[cells.codes]
    calibration = {
        "cell": cells.codes,
        "matrix": None,
        "columns": n_cells,
        "base_weights": w0,
        "calibrated_weights": new_w,
        "raking_levels": levels,
        "raking_factors": factors,
    }
    step = {
        "method": "rake",
        "margins": names,
        "iterations": iterations + 1,
        "converged": converged,
        "margin_errors": margin_errors,
    }
    return design._reweighted(new_w, calibration, step)


def trim(
    design: Design, lower: float | None = None, upper: float | None = None, strict: bool = False
) -> Design:
    """Trim weights to [lower, upper] as R's ``trimWeights`` (see Design.trim)."""
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lo > hi:
        raise InvalidInputError(f"trim: lower ({lo}) is above upper ({hi})")
    w = design.weights.copy()
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
    step = {"method": "trim", "lower": lower, "upper": upper, "strict": strict, "rounds": rounds}
    # The variance keeps any calibration residuals, as R keeps design$postStrata.
    return design._reweighted(w, design._calibration, step)
