"""pandas columns -> contiguous numpy arrays for the core, with clear errors.

Categories become int32 codes (-1 = missing) plus their labels; numbers become
float64 (NaN = missing). Every error names the column, the count of bad rows
and the first bad row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import _core
from .errors import InvalidInputError


@dataclass(frozen=True)
class Codes:
    """A factorised column: int32 codes (-1 = missing) and the label of each code."""

    codes: np.ndarray
    labels: list[Any]


def require_columns(data: pd.DataFrame, names: Sequence[str], role: str) -> None:
    """Raise InvalidInputError naming any column that is not in ``data``."""
    missing = [n for n in names if n not in data.columns]
    if missing:
        raise InvalidInputError(
            f"{role}: unknown column(s) {missing!r}; the data has {list(data.columns)[:20]!r}"
        )


def as_list(names: str | Sequence[str] | None) -> list[str]:
    """Normalise a column name, list of names or None to a list."""
    if names is None:
        return []
    if isinstance(names, str):
        return [names]
    return list(names)


def describe_rows(bad: np.ndarray, index: pd.Index) -> str:
    """'3 rows (first: row label 17)' for a boolean mask of bad rows."""
    count = int(bad.sum())
    first = index[int(np.argmax(bad))]
    return f"{count} row{'s' if count != 1 else ''} (first: row {first!r})"


def is_categorical(series: pd.Series) -> bool:
    """Tell whether steppe treats the column as categories rather than numbers."""
    dtype = series.dtype
    return bool(
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
    )


def factorize(series: pd.Series, narrow: bool = False, threads: int = 0) -> Codes:
    """Codes and labels of a column; categorical dtypes keep their category order.

    With ``narrow``, a categorical's int8/int16 codes are kept as they are (the
    estimation core reads them in place); otherwise codes are int32. Other
    columns get pd.factorize(sort=True)'s codes and labels; the core computes
    them for str columns on ``threads`` threads (0 = all cores).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat_codes = series.cat.codes.to_numpy()
        if not (narrow and cat_codes.dtype in (np.int8, np.int16)):
            cat_codes = cat_codes.astype(np.int32, copy=False)
        return Codes(np.ascontiguousarray(cat_codes), list(series.cat.categories))
    fast = _factorize_strings(series, threads)
    if fast is not None:
        return fast
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    return Codes(np.ascontiguousarray(codes.astype(np.int32, copy=False)), list(uniques))


def _is_missing(value: Any) -> bool:
    """Tell whether pandas counts one element as missing (pd.factorize gives it -1)."""
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


def _factorize_strings(series: pd.Series, threads: int = 0) -> Codes | None:
    """Codes of a column of str by the core (``threads``: 0 = all cores), or None.

    Object columns and pandas string columns with python storage qualify; the
    codes and labels are pd.factorize(sort=True)'s. None (the caller uses pandas)
    for other dtypes and when an element is neither a str nor missing.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):
        if dtype.storage != "python":
            return None
    elif not pd.api.types.is_object_dtype(dtype):
        return None
    values = series.to_numpy(dtype=object)
    out = _core.factorize_strings(values, is_missing=_is_missing, threads=threads)
    if out is None:
        return None
    codes, labels = out
    return Codes(codes, labels)


def numeric(series: pd.Series, role: str) -> np.ndarray:
    """float64 values of a numeric column (NaN = missing); refuses text and infinities."""
    name = series.name
    if is_categorical(series) and not pd.api.types.is_bool_dtype(series.dtype):
        raise InvalidInputError(
            f"{role} column {name!r} is not numeric (dtype {series.dtype}); "
            "use proportion() or mean() of a categorical column for shares"
        )
    try:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{role} column {name!r} is not numeric: {exc}") from exc
    values = np.ascontiguousarray(values)
    bad = np.isinf(values)
    if bad.any():
        raise InvalidInputError(
            f"{role} column {name!r} has infinite values in {describe_rows(bad, series.index)}"
        )
    return values


def weights(series: pd.Series) -> np.ndarray:
    """Return sampling weights: numeric, finite, >= 0, not missing."""
    values = numeric(series, "weights")
    name = series.name
    for bad, what in (
        (np.isnan(values), "missing (NaN)"),
        (values < 0, "negative"),
    ):
        if bad.any():
            raise InvalidInputError(
                f"weights column {name!r} is {what} in {describe_rows(bad, series.index)}"
            )
    if not (values > 0).any():
        raise InvalidInputError(f"weights column {name!r} has no positive weight")
    return values


def design_codes(data: pd.DataFrame, names: Sequence[str], role: str) -> Codes:
    """Codes of one design column or of the combination of several; no missing allowed."""
    frame = data[list(names)]
    missing = frame.isna().any(axis=1).to_numpy()
    if missing.any():
        bad_col = next(n for n in names if data[n].isna().any())
        raise InvalidInputError(
            f"{role} column {bad_col!r} is missing in {describe_rows(missing, data.index)}; "
            "design columns may not be missing"
        )
    if len(names) == 1:
        series = data[names[0]]
        single = factorize(series)
        if isinstance(series.dtype, pd.CategoricalDtype):
            # Only the levels that occur, as R's svydesign (factor(as.character(x))):
            # renumber in one pass rather than pandas' sorting remove_unused_categories.
            used = np.bincount(single.codes, minlength=len(single.labels)) > 0
            if not used.all():
                remap = (np.cumsum(used) - 1).astype(np.int32)
                kept = [lab for lab, u in zip(single.labels, used) if u]
                return Codes(np.ascontiguousarray(remap[single.codes]), kept)
        return single
    combined = pd.MultiIndex.from_frame(frame)
    codes, uniques = pd.factorize(combined, sort=True)
    labels = [" / ".join(str(v) for v in u) for u in uniques]
    return Codes(np.ascontiguousarray(codes.astype(np.int32)), labels)


def mask(values: Any, data: pd.DataFrame) -> np.ndarray:
    """Return a boolean domain mask as uint8; missing is outside (R: r & !is.na(r))."""
    if isinstance(values, pd.Series):
        if not values.index.equals(data.index):
            if len(values) != len(data) or not values.index.isin(data.index).all():
                raise InvalidInputError("subset mask: its index does not match the design's data")
            values = values.reindex(data.index)
        if not pd.api.types.is_bool_dtype(values.dtype):
            raise InvalidInputError(f"subset mask must be boolean, got dtype {values.dtype}")
        arr = values.to_numpy(dtype=bool, na_value=False)
    else:
        arr = np.asarray(values)
        if arr.dtype != bool:
            raise InvalidInputError(f"subset mask must be boolean, got dtype {arr.dtype}")
    if arr.ndim != 1 or len(arr) != len(data):
        raise InvalidInputError(
            f"subset mask has {len(arr)} values but the design has {len(data)} rows"
        )
    return np.ascontiguousarray(arr.view(np.uint8))
