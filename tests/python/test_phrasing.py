"""Plain-language phrasing: "1 in N", adaptive percent, CI phrases, sentences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from steppe.phrasing import describe, format_number, number_ci, one_in, percent, percent_ci

EN_DASH = "\u2013"


@pytest.mark.parametrize(
    ("share", "expected"),
    [
        (0.155, "1 in 6"),  # 2021 census: ethnic Russians
        (0.15542, "1 in 6"),
        (0.146, "1 in 7"),  # ~2025 estimate
        (0.5, "1 in 2"),  # the boundary belongs to "1 in N"
        (0.25, "1 in 4"),
        (0.4, "1 in 3"),  # 1/0.4 = 2.5 rounds half up
        (0.007, "1 in 143"),
        (1e-6, "1 in 1,000,000"),
        (0.50001, "5 in 10"),
        (0.7035, "7 in 10"),  # 2021 census: Kazakhs
        (0.85, "9 in 10"),  # 8.5 rounds half up
        (0.949, "9 in 10"),
        (0.95, "19 in 20"),  # never "10 in 10"
        (0.96, "24 in 25"),
        (0.999, "999 in 1,000"),
        (0.0, "none"),
        (1.0, "all"),
    ],
)
def test_one_in(share: float, expected: str) -> None:
    assert one_in(share) == expected


def test_one_in_tiny_share_is_a_large_n_not_zero() -> None:
    assert one_in(1e-12) == "1 in 1,000,000,000,000"
    assert one_in(5e-324) == "fewer than 1 in 1,000,000,000,000"


@pytest.mark.parametrize("bad", [math.nan, np.nan, math.inf, -0.01, 1.01, -math.inf])
def test_one_in_rejects_nan_and_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError):
        one_in(bad)


def test_one_in_accepts_numpy_scalars() -> None:
    assert one_in(np.float64(0.155)) == "1 in 6"


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.007, "0.7%"),
        (0.024, "2.4%"),
        (0.001, "0.1%"),
        (0.0999, "10.0%"),  # rounds into the next band's value with the band's decimals
        (0.1, "10%"),
        (0.3125, "31%"),
        (0.70353, "70%"),
        (1.0, "100%"),
        (0.0, "0%"),
        (0.00047, "0.047%"),
        (0.0000123, "0.0012%"),
        (-0.05, "-5.0%"),  # differences of shares
        (-1e-9, "-0.00000010%"),
    ],
)
def test_percent_adaptive_digits(x: float, expected: str) -> None:
    assert percent(x) == expected


def test_percent_explicit_digits_and_no_negative_zero() -> None:
    assert percent(0.3125, digits=2) == "31.25%"
    assert percent(0.3125, digits=0) == "31%"
    assert percent(-0.0001, digits=0) == "0%"
    with pytest.raises(ValueError):
        percent(0.5, digits=-1)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_percent_rejects_nan(bad: float) -> None:
    with pytest.raises(ValueError, match="x is"):
        percent(bad)


def test_percent_ci_headline() -> None:
    assert percent_ci(0.007, 0.002, 0.024) == f"0.7% (95% CI 0.2%{EN_DASH}2.4%)"


def test_percent_ci_level_and_digits() -> None:
    assert percent_ci(0.31, 0.27, 0.35, level=0.9) == f"31% (90% CI 27%{EN_DASH}35%)"
    assert percent_ci(0.31, 0.27, 0.35, level=0.995) == f"31% (99.5% CI 27%{EN_DASH}35%)"
    assert percent_ci(0.31, 0.27, 0.35, digits=1) == f"31.0% (95% CI 27.0%{EN_DASH}35.0%)"


def test_percent_ci_keeps_small_bounds_visible() -> None:
    # A Korn-Graubard lower bound of 0.04% must not read "0.0%", as if it were zero.
    assert percent_ci(0.007, 0.0004, 0.024) == f"0.7% (95% CI 0.040%{EN_DASH}2.4%)"


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((math.nan, 0.1, 0.2), {}),
        ((0.1, math.nan, 0.2), {}),
        ((0.1, 0.05, math.nan), {}),
        ((0.1, 0.05, 0.2), {"level": 95}),
        ((0.1, 0.05, 0.2), {"level": 1.0}),
    ],
)
def test_percent_ci_rejects_nan_and_bad_level(args: tuple[float, ...], kwargs: dict) -> None:
    with pytest.raises(ValueError):
        percent_ci(*args, **kwargs)


def test_format_number_and_number_ci() -> None:
    assert format_number(42.317) == "42.3"
    assert format_number(2981946.4) == "2,981,946"
    assert format_number(0.012345) == "0.0123"
    assert format_number(-0.0001, decimals=2) == "0.00"
    assert number_ci(42.317, 41.02, 43.61) == f"42.3 (95% CI 41.0{EN_DASH}43.6)"
    with pytest.raises(ValueError):
        format_number(math.nan)


def _row(**changes: object) -> pd.Series:
    base: dict[str, object] = {
        "age_group": "18-29",
        "variable": "attitude_to_russia",
        "level": "improved",
        "estimate": 0.007,
        "se": 0.004,
        "ci_low": 0.002,
        "ci_high": 0.024,
        "deff": 1.3,
        "n": 290,
        "n_eff": 22.0,
        "flag": "suppress: n_eff < 30",
        "weight_sum": 1.9e6,
        "df": 49.0,
    }
    base.update(changes)
    return pd.Series(base)


def test_describe_share_row_infers_by_columns_and_keeps_the_flag() -> None:
    text = describe(_row())
    assert text == (
        f"Among age_group = 18-29, 0.7% (95% CI 0.2%{EN_DASH}2.4%) have attitude_to_russia = "
        '"improved" (about 1 in 143; n = 290). Not reliable: suppress: n_eff < 30.'
    )


def test_describe_publishable_row_has_no_flag_sentence() -> None:
    assert "Not reliable" not in describe(_row(flag=""))


def test_describe_without_by_and_numeric_statistic() -> None:
    row = _row(level=None, estimate=42.317, ci_low=41.02, ci_high=43.61, flag="")
    row = row.drop("age_group").rename({"variable": "variable"})
    row["variable"] = "age"
    assert describe(row, statistic="mean") == (
        f"Overall, the mean of age is 42.3 (95% CI 41.0{EN_DASH}43.6) (n = 290)."
    )


def test_describe_total_of_a_level_is_a_count_not_a_share() -> None:
    row = _row(estimate=134000.0, ci_low=80000.0, ci_high=190000.0, flag="")
    text = describe(row, statistic="total")
    assert text == (
        'Among age_group = 18-29, the total of attitude_to_russia = "improved" is '
        f"134,000 (95% CI 80,000{EN_DASH}190,000) (n = 290)."
    )


def test_describe_missing_estimate_or_ci() -> None:
    assert "not estimable" in describe(_row(estimate=np.nan, ci_low=np.nan, ci_high=np.nan))
    assert "0.7% (no CI)" in describe(_row(ci_low=np.nan))


def test_describe_explicit_by_and_level() -> None:
    row = _row(sex="female")
    text = describe(row, by=["age_group", "sex"], level=0.9)
    assert text.startswith("Among age_group = 18-29, sex = female, 0.7% (90% CI")
