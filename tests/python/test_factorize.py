"""String columns factorised by the core: the same codes and labels as pandas."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import steppe as sp
from steppe import _columns as cols
from steppe import _core
from steppe.errors import InvalidInputError

WORDS = ["", "a", "b", "ab", "B", "é", "e\u0301", "中文", "😀", "a\x00", "ž" * 20, "long " * 9]
MISSING = [None, np.nan, pd.NA, pd.NaT, np.datetime64("NaT"), decimal.Decimal("NaN")]


def pandas_codes(series: pd.Series) -> tuple[np.ndarray, list[object]]:
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    return codes.astype(np.int32), list(uniques)


def assert_like_pandas(series: pd.Series, fast: bool = True) -> None:
    """cols.factorize equals pd.factorize(sort=True); `fast`: the core did it."""
    want_codes, want_labels = pandas_codes(series)
    core = cols._factorize_strings(series)
    if fast:
        assert core is not None
        assert core.codes.dtype == np.int32
        np.testing.assert_array_equal(core.codes, want_codes)
        assert core.labels == want_labels
        assert [type(x) for x in core.labels] == [type(x) for x in want_labels]
    else:
        assert core is None
    got = cols.factorize(series)
    np.testing.assert_array_equal(got.codes, want_codes)
    assert got.labels == want_labels


def random_column(rng: np.random.Generator, n: int, missing_share: float) -> list[object]:
    values: list[object] = [WORDS[i] for i in rng.integers(0, len(WORDS), n)]
    for i in np.flatnonzero(rng.random(n) < missing_share):
        values[i] = MISSING[int(rng.integers(0, len(MISSING)))]
    return values


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("missing_share", [0.0, 0.2])
def test_object_column_matches_pandas(seed: int, missing_share: float) -> None:
    rng = np.random.default_rng(seed)
    values = random_column(rng, 5000, missing_share)
    assert_like_pandas(pd.Series(values, dtype=object))


@pytest.mark.parametrize("dtype", ["string", "str"])
def test_string_dtypes_match_pandas(dtype: str) -> None:
    rng = np.random.default_rng(4)
    values: list[object] = [WORDS[i] for i in rng.integers(0, len(WORDS), 3000)]
    for i in range(0, 3000, 7):
        values[i] = None
    series = pd.Series(values, dtype=dtype)
    # Python storage goes through the core; pyarrow storage falls back to pandas:
    # either way the codes and labels are pandas'.
    assert_like_pandas(series)


def test_many_levels_and_rows_on_every_thread_count() -> None:
    # 300k rows: the core splits them into chunks; 50k distinct values, unicode included.
    rng = np.random.default_rng(5)
    pool = np.array([f"{WORDS[i % len(WORDS)]}{i}" for i in range(50_000)], dtype=object)
    values = pool[rng.integers(0, len(pool), 300_000)]
    values[rng.random(len(values)) < 0.05] = None
    want_codes, want_labels = pandas_codes(pd.Series(values))
    for threads in (1, 2, 3, 4):
        out = _core.factorize_strings(values, threads=threads)
        assert out is not None
        np.testing.assert_array_equal(out[0], want_codes)
        assert out[1] == want_labels
    got = cols.factorize(pd.Series(values, dtype="string"), threads=3)
    np.testing.assert_array_equal(got.codes, want_codes)
    assert got.labels == want_labels


def test_labels_are_the_first_objects_holding_each_value() -> None:
    first, again = "".join(["x", "y"]), "".join(["x", "y"])
    assert first is not again
    values = np.array([again, "a", first, None], dtype=object)[[2, 1, 0, 3]]
    out = _core.factorize_strings(values)
    assert out is not None
    assert out[1][1] is first  # row 0 holds `first`


@pytest.mark.parametrize(
    "odd",
    [1, 2.5, True, b"a", np.str_("a"), ("a",), "\ud800"],
    ids=["int", "float", "bool", "bytes", "np.str_", "tuple", "lone surrogate"],
)
def test_anything_but_str_or_missing_falls_back_to_pandas(odd: object) -> None:
    values = ["b", "a", None, odd, "a"]
    assert _core.factorize_strings(np.array(values, dtype=object)) is None
    series = pd.Series(values, dtype=object)
    if isinstance(odd, (str, bytes, tuple)) or odd is True:  # comparable or sortable alone
        assert_like_pandas(series, fast=False)
    else:
        assert cols._factorize_strings(series) is None


def test_str_subclass_falls_back() -> None:
    class Loud(str):
        def __eq__(self, other: object) -> bool:
            return str.__eq__(self.lower(), str(other).lower())

        __hash__ = str.__hash__

    values = np.array(["a", Loud("A"), "b"], dtype=object)
    assert _core.factorize_strings(values) is None


def test_missing_objects_need_the_predicate() -> None:
    values = np.array(["a", pd.NA, "b", pd.NA, pd.NaT], dtype=object)
    assert _core.factorize_strings(values) is None  # pd.NA unknown without it
    asked: list[object] = []

    def is_missing(v: object) -> bool:
        asked.append(v)
        return cols._is_missing(v)

    out = _core.factorize_strings(values, is_missing=is_missing)
    assert out is not None
    np.testing.assert_array_equal(out[0], [0, -1, 1, -1, -1])
    assert asked == [pd.NA, pd.NaT]  # asked once per object


def test_float_nan_and_none_are_missing_without_predicate() -> None:
    values = np.array([None, "a", float("nan"), np.float64("nan")], dtype=object)
    out = _core.factorize_strings(values)
    assert out is not None
    np.testing.assert_array_equal(out[0], [-1, 0, -1, -1])
    assert out[1] == ["a"]


def test_empty_all_missing_and_strided() -> None:
    empty = _core.factorize_strings(np.array([], dtype=object))
    assert empty is not None
    assert empty[0].shape == (0,) and empty[1] == []
    assert_like_pandas(pd.Series([None, np.nan], dtype=object))
    base = np.array(["c", "x", "a", "x", "c"], dtype=object)
    out = _core.factorize_strings(base[::2])
    assert out is not None
    np.testing.assert_array_equal(out[0], [1, 0, 1])


def test_refuses_non_object_arrays() -> None:
    with pytest.raises(InvalidInputError, match="object array"):
        _core.factorize_strings(np.array(["a", "b"]))
    with pytest.raises(InvalidInputError, match="1-d"):
        _core.factorize_strings(np.array([["a"], ["b"]], dtype=object))


def test_design_estimates_do_not_depend_on_the_string_dtype() -> None:
    rng = np.random.default_rng(6)
    n = 2000
    item = rng.choice(["yes", "no", "ünsure", ""], n)
    grp = rng.choice(["g1", "g2", "中"], n)
    stratum = rng.integers(0, 3, n)
    base = pd.DataFrame(
        {
            "w": rng.uniform(1, 3, n),
            "stratum": np.array(["s1", "s2", "s3"])[stratum],
            "psu": stratum * 10 + rng.integers(0, 4, n),
        }
    )
    frames = []
    for make in (pd.Categorical, lambda v: pd.Series(v, dtype=object), pd.Series):
        df = base.assign(item=make(item), grp=make(grp))
        df["stratum"] = make(df["stratum"].to_numpy())
        d = sp.Design(df, weights="w", strata="stratum", psu="psu")
        frames.append(d.proportion("item", by="grp").to_frame())
    for other in frames[1:]:
        pd.testing.assert_frame_equal(
            other.astype({"grp": object, "level": object}),
            frames[0].astype({"grp": object, "level": object}),
        )


_ELEMENTS = st.one_of(
    st.text(max_size=6),
    st.sampled_from(WORDS),
    st.sampled_from([None, math.nan, pd.NA, pd.NaT]),
)


@settings(max_examples=200, deadline=None)
@given(values=st.lists(_ELEMENTS, max_size=60))
def test_property_like_pandas(values: list[object]) -> None:
    assert_like_pandas(pd.Series(values, dtype=object))


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(_ELEMENTS, st.integers(), st.booleans()), max_size=30),
)
def test_property_mixed_types_still_like_pandas(values: list[object]) -> None:
    series = pd.Series(values, dtype=object)
    try:
        want_codes, want_labels = pandas_codes(series)
    except TypeError:  # pandas cannot sort these either
        return
    got = cols.factorize(series)
    np.testing.assert_array_equal(got.codes, want_codes)
    assert got.labels == want_labels
