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
