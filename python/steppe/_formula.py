"""R-style model formulas over a frame: the model matrix, named as R's ``model.matrix``.

The matrix is built by ``formulaic`` with R's default coding (treatment
contrasts, the first level the reference, terms ordered by degree). Factor
levels follow R's ``factor()``: a pandas Categorical keeps its categories'
order, any other text column is sorted. Column names are translated to R's
(``stypeH``, ``stypeH:sch.wideYes``, ``(Intercept)``), so totals can be given
as R's ``calibrate`` takes them. Shared by calibration and (later) regression.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _columns as cols
from .errors import InvalidInputError

_LEVEL = re.compile(r"^(.*)\[(?:T\.)?(.*)\]$")


@dataclass(frozen=True)
class ColumnPart:
    """One factor of a model column: a variable and, for a categorical one, its level."""

    variable: str
    level: str | None  # None: the variable's numeric values


@dataclass(frozen=True)
class ModelMatrix:
    """A model matrix (rows x columns, C order) with R's column names and their parts."""

    matrix: np.ndarray
    names: list[str]
    parts: list[tuple[ColumnPart, ...]]  # () for the intercept
    variables: list[str]
    categorical: list[str]


_NAME = re.compile(r"`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*)(\s*\()?")


def _variables(formula: str, data: pd.DataFrame) -> list[str]:
    """Return the data columns a formula names, read R's way.

    A name may hold dots (``sch.wide``) or be backquoted; a name followed by
    ``(`` is a function.
    """
    found: list[str] = []
    unknown: list[str] = []
    unquoted = re.sub(r"'[^']*'|\"[^\"]*\"", "''", formula)  # string literals name no column
    for m in _NAME.finditer(unquoted):
        quoted, name, call = m.group(1), m.group(2), m.group(3)
        token = quoted if quoted is not None else name
        if call is not None or token is None:
            continue
        if token in data.columns:
            if token not in found:
                found.append(token)
        elif quoted is not None or not re.fullmatch(r"[.0-9]+", token):
            unknown.append(token)
    if unknown:
        raise InvalidInputError(
            f"formula {formula!r} names column(s) {unknown!r} that the data does not have"
        )
    return found


def _as_factor(series: pd.Series) -> pd.Series:
    """Return the column as R's factor(): categories' order kept, other labels sorted."""
    codes = cols.factorize(series)
    dtype = pd.CategoricalDtype([str(x) for x in codes.labels])
    return pd.Series(pd.Categorical.from_codes(codes.codes.astype(np.int64), dtype=dtype))


def _r_name(part: str) -> tuple[str, ColumnPart]:
    """``stype[T.H]`` -> ("stypeH", part); ``api99`` -> ("api99", part)."""
    m = _LEVEL.match(part)
    if m is None:
        return part, ColumnPart(part, None)
    var, level = m.group(1), m.group(2)
    return f"{var}{level}", ColumnPart(var, level)


def model_matrix(formula: str, data: pd.DataFrame, role: str) -> ModelMatrix:
    """Build R's model matrix of ``formula`` over every row of ``data``.

    Missing values in the formula's columns are an error (every row is weighted).
    """
    from formulaic import model_matrix as formulaic_matrix  # type: ignore[import-untyped]

    if not isinstance(formula, str) or "~" not in formula:
        raise InvalidInputError(f"{role}: a formula is a string such as '~stype + api99'")
    if formula.split("~", 1)[0].strip():
        raise InvalidInputError(
            f"{role}: the formula {formula!r} has a left-hand side; a calibration formula is "
            "one-sided, such as '~stype + api99'"
        )
    names = _variables(formula, data)
    frame = pd.DataFrame(index=pd.RangeIndex(len(data)))
    categorical = []
    for name in names:
        series = data[name].reset_index(drop=True)
        if series.isna().any():
            bad = series.isna().to_numpy()
            raise InvalidInputError(
                f"{role}: column {name!r} is missing in "
                f"{cols.describe_rows(bad, data.index)}; auxiliaries may not be missing"
            )
        if cols.is_categorical(series):
            frame[name] = _as_factor(series)
            categorical.append(name)
        else:
            frame[name] = cols.numeric(series, role)
    try:
        mm = formulaic_matrix(formula, frame, na_action="raise")
    except Exception as exc:
        raise InvalidInputError(f"{role}: formula {formula!r}: {exc}") from exc
    out_names: list[str] = []
    parts: list[tuple[ColumnPart, ...]] = []
    for column in mm.columns:
        if column == "Intercept":
            out_names.append("(Intercept)")
            parts.append(())
            continue
        pieces = [_r_name(p) for p in str(column).split(":")]
        out_names.append(":".join(n for n, _ in pieces))
        parts.append(tuple(p for _, p in pieces))
    matrix = np.ascontiguousarray(np.asarray(mm, dtype=np.float64))
    return ModelMatrix(matrix, out_names, parts, names, categorical)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _key_columns(key: Any) -> tuple[str, ...]:
    return tuple(str(k) for k in key) if isinstance(key, (tuple, list)) else (str(key),)


def model_totals(
    mm: ModelMatrix,
    population: Any,
    total: float | None,
    counts: Any,
) -> np.ndarray:
    """Return the population totals of the model's columns, in its order.

    ``population`` is R's model-matrix totals (a Series or dict named as R's
    ``model.matrix`` names the columns, or a sequence in their order), or
    per-level counts ``{column or (columns...): counts by level, numeric column:
    total}``, from which each column's total is summed (the intercept's is the
    counts' common total, or ``total``). ``counts(entry, columns)`` normalises
    one table of counts to ``{(label, ...): count}``.
    """
    p = len(mm.names)
    if isinstance(population, (pd.Series, Mapping)):
        items = list(population.items())
        if (
            items
            and all(_is_number(v) for _, v in items)
            and all(str(k) in mm.names for k, _ in items)
        ):
            given = {str(k): float(v) for k, v in items}
            missing = [n for n in mm.names if n not in given]
            if missing:
                raise InvalidInputError(
                    f"calibrate: the totals lack the model column(s) {missing!r}; the model's "
                    f"columns are {mm.names!r}"
                )
            return np.array([given[n] for n in mm.names], dtype=np.float64)
        if isinstance(population, pd.Series):
            unknown = [str(k) for k in population.index if str(k) not in mm.names]
            raise InvalidInputError(
                f"calibrate: total(s) named {unknown[:10]!r} are not model columns; the model's "
                f"columns are {mm.names!r} (as R's model.matrix names them)"
            )
        return _totals_from_counts(mm, dict(population), total, counts)
    if isinstance(population, (Sequence, np.ndarray)) and not isinstance(population, str):
        values = np.asarray(population, dtype=np.float64)
        if values.ndim != 1 or values.size != p:
            raise InvalidInputError(
                f"calibrate: {values.size} totals given for {p} model columns {mm.names!r}"
            )
        return np.ascontiguousarray(values)
    raise InvalidInputError(
        "calibrate: population must be R's model-matrix totals (a Series, dict or list) or "
        f"per-level counts (a dict), got {type(population).__name__}"
    )


def _totals_from_counts(
    mm: ModelMatrix, population: dict[Any, Any], total: float | None, counts: Any
) -> np.ndarray:
    tables: list[tuple[tuple[str, ...], dict[tuple[str, ...], float]]] = []
    numbers: dict[str, float] = {}
    for key, value in population.items():
        columns = _key_columns(key)
        if _is_number(value):
            if len(columns) != 1:
                raise InvalidInputError(f"calibrate: the total of {key!r} must be one number")
            numbers[columns[0]] = float(value)
        else:
            tables.append((columns, counts(value, list(columns))))
    sizes = [sum(t.values()) for _, t in tables]
    size = None if total is None else float(total)
    for (columns, _), s in zip(tables, sizes):
        if size is None:
            size = s
        elif abs(s - size) > 1e-6 * max(size, 1.0):
            raise InvalidInputError(
                f"calibrate: the counts of {list(columns)!r} sum to {s}, other totals to {size}"
            )
    out = np.empty(len(mm.names))
    for j, (name, parts) in enumerate(zip(mm.names, mm.parts)):
        numeric = [p.variable for p in parts if p.level is None]
        levels = {p.variable: p.level for p in parts if p.level is not None}
        if not parts:
            if size is None:
                raise InvalidInputError(
                    "calibrate: the intercept needs the population size: give counts of a "
                    "categorical column or total="
                )
            out[j] = size
        elif not levels and len(numeric) == 1 and numeric[0] in numbers:
            out[j] = numbers[numeric[0]]
        elif not numeric:
            table = next((t for t in tables if set(levels) <= set(t[0])), None)
            if table is None:
                raise InvalidInputError(
                    f"calibrate: no counts cover {sorted(levels)!r} for the model column "
                    f"{name!r}; give counts over those columns (a key such as "
                    f"{tuple(sorted(levels))!r}) or R's model-matrix totals"
                )
            columns, cells = table
            at = [columns.index(v) for v in levels]
            want = [levels[v] for v in levels]
            matched = [c for k, c in cells.items() if [k[i] for i in at] == want]
            if not matched:
                raise InvalidInputError(
                    f"calibrate: the counts of {list(columns)!r} have no entry for "
                    f"{' / '.join(want)!r} (model column {name!r}); list every level, with "
                    "count 0 if the population has none"
                )
            out[j] = sum(matched)
        else:
            raise InvalidInputError(
                f"calibrate: the model column {name!r} needs its population total; per-level "
                "counts give only counts and numeric totals, so give R's model-matrix totals"
            )
    return out
