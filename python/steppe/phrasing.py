"""Plain-language phrasing of estimates: "1 in 6", "0.7%", "0.7% (95% CI 0.2%–2.4%)".

Shares are fractions between 0 and 1, as everywhere in steppe. Ranges use an
en dash (–). Every function refuses NaN with a :class:`ValueError` rather than
printing "nan%" in a sentence someone may quote.

Rules
-----
``one_in(share)``
    * share 0 -> ``"none"``; share 1 -> ``"all"``; 0 < share < 1e-12 ->
      ``"fewer than 1 in 1,000,000,000,000"``.
    * 0 < share <= 0.5 -> ``"1 in N"`` with N = 1/share rounded half up:
      0.155 -> "1 in 6", 0.5 -> "1 in 2", 0.007 -> "1 in 143".
    * 0.5 < share < 0.95 -> ``"K in 10"`` with K = 10 * share rounded half up:
      0.7035 -> "7 in 10", 0.54 -> "5 in 10".
    * 0.95 <= share < 1 -> ``"N-1 in N"`` with N = 1/(1 - share) rounded half up,
      so that a near-certainty never reads "10 in 10": 0.96 -> "24 in 25".
``percent(x)``
    The number of decimals follows the size of the percentage, so small shares
    keep their meaning and large ones do not pretend to precision:
    at least 10% -> no decimals (0.3125 -> "31%"); 0.1% to 10% -> one decimal
    (0.007 -> "0.7%", 0.024 -> "2.4%"); below 0.1% -> two significant digits
    (0.00047 -> "0.047%"); exactly 0 -> "0%".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import pandas as pd

    Row = Union[Mapping[str, Any], "pd.Series[Any]"]

__all__ = ["describe", "format_number", "number_ci", "one_in", "percent", "percent_ci"]

_EN_DASH = "\u2013"
_SHARE_STATISTICS = ("proportion", "mean")
_TINY_SHARE = 1e-12


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _check_finite(name: str, x: float) -> float:
    value = float(x)
    if math.isnan(value):
        raise ValueError(f"{name} is NaN: there is no estimate to phrase")
    if math.isinf(value):
        raise ValueError(f"{name} is infinite: there is no estimate to phrase")
    return value


def one_in(share: float) -> str:
    """Phrase a share as "1 in N" (shares up to one half) or "K in 10" (above).

    Parameters
    ----------
    share : float
        A fraction between 0 and 1.

    Returns
    -------
    str
        ``"none"``, ``"1 in N"``, ``"K in 10"``, ``"N-1 in N"`` or ``"all"``; see
        the module docstring for the rule.

    Raises
    ------
    ValueError
        If ``share`` is NaN or outside [0, 1].

    Examples
    --------
    >>> one_in(0.155)
    '1 in 6'
    >>> one_in(0.7035)
    '7 in 10'
    >>> one_in(0.007)
    '1 in 143'
    >>> one_in(0.96)
    '24 in 25'
    """
    value = _check_finite("share", share)
    if value < 0.0 or value > 1.0:
        raise ValueError(f"share must be between 0 and 1, got {value!r}")
    if value == 0.0:
        return "none"
    if value == 1.0:
        return "all"
    if value < _TINY_SHARE:
        return f"fewer than 1 in {round(1.0 / _TINY_SHARE):,}"
    if value <= 0.5:
        return f"1 in {_round_half_up(1.0 / value):,}"
    tenths = _round_half_up(10.0 * value)
    if tenths < 10:
        return f"{tenths} in 10"
    n = _round_half_up(1.0 / (1.0 - value))
    return f"{n - 1:,} in {n:,}"


def _percent_digits(pct: float) -> int:
    """Decimals for a percentage (already multiplied by 100); see the module rule."""
    size = abs(pct)
    if size == 0.0 or size >= 10.0:
        return 0
    if size >= 0.1:
        return 1
    # Two significant digits: 0.047 -> 3 decimals, 0.0012 -> 4 decimals.
    return min(1 - math.floor(math.log10(size)), 12)


def percent(x: float, digits: int | None = None) -> str:
    """Format a share (0–1) as a percentage with adaptive decimals.

    Parameters
    ----------
    x : float
        A fraction (0.007 means 0.7%). Values outside [0, 1] are allowed (for
        differences of shares), NaN is not.
    digits : int, optional
        Decimals to show. By default they follow the size of the percentage:
        no decimals from 10% up, one from 0.1% to 10%, two significant digits
        below 0.1%.

    Returns
    -------
    str
        For example ``"0.7%"``.

    Raises
    ------
    ValueError
        If ``x`` is NaN or infinite, or ``digits`` is negative.

    Examples
    --------
    >>> percent(0.007)
    '0.7%'
    >>> percent(0.3125)
    '31%'
    >>> percent(0.3125, digits=2)
    '31.25%'
    >>> percent(0.00047)
    '0.047%'
    """
    pct = 100.0 * _check_finite("x", x)
    if digits is None:
        digits = _percent_digits(pct)
    if digits < 0:
        raise ValueError(f"digits must be >= 0, got {digits}")
    text = f"{pct:.{digits}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")  # never print "-0%"
    return f"{text}%"


def _level_text(level: float) -> str:
    value = _check_finite("level", level)
    if not 0.0 < value < 1.0:
        raise ValueError(f"level must be between 0 and 1 (exclusive), got {value!r}")
    return f"{round(100.0 * value, 6):g}%"


def percent_ci(
    estimate: float,
    low: float,
    high: float,
    level: float = 0.95,
    digits: int | None = None,
) -> str:
    """Phrase a share with its confidence interval.

    Each number gets its own adaptive decimals (see :func:`percent`) unless
    ``digits`` is given, so a lower bound of 0.04% is not printed as "0.0%".

    Parameters
    ----------
    estimate, low, high : float
        The share and its interval, as fractions.
    level : float, default 0.95
        Confidence level of the interval.
    digits : int, optional
        Decimals for all three numbers.

    Returns
    -------
    str
        For example ``"0.7% (95% CI 0.2%–2.4%)"``.

    Raises
    ------
    ValueError
        If any number is NaN, or ``level`` is not strictly between 0 and 1.

    Examples
    --------
    >>> percent_ci(0.007, 0.002, 0.024)
    '0.7% (95% CI 0.2%–2.4%)'
    >>> percent_ci(0.31, 0.27, 0.35, level=0.9)
    '31% (90% CI 27%–35%)'
    """
    _check_finite("low", low)
    _check_finite("high", high)
    return (
        f"{percent(estimate, digits)} ({_level_text(level)} CI "
        f"{percent(low, digits)}{_EN_DASH}{percent(high, digits)})"
    )


def _number_decimals(x: float) -> int:
    """Decimals showing three significant digits, none for numbers of 100 and more."""
    size = abs(x)
    if size == 0.0 or size >= 100.0:
        return 0
    return min(2 - math.floor(math.log10(size)), 12)


def format_number(x: float, decimals: int | None = None) -> str:
    """Format a mean, total or ratio with about three significant digits.

    Parameters
    ----------
    x : float
        The number.
    decimals : int, optional
        Decimals to show; by default three significant digits, and no
        decimals (with thousands separators) from 100 up.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If ``x`` is NaN or infinite.

    Examples
    --------
    >>> format_number(42.317)
    '42.3'
    >>> format_number(2981946.0)
    '2,981,946'
    >>> format_number(0.012345)
    '0.0123'
    """
    value = _check_finite("x", x)
    if decimals is None:
        decimals = _number_decimals(value)
    text = f"{value:,.{decimals}f}"
    return text.lstrip("-") if float(text.replace(",", "")) == 0.0 else text


def number_ci(estimate: float, low: float, high: float, level: float = 0.95) -> str:
    """Phrase a mean, total or ratio with its interval, all with the estimate's decimals.

    Examples
    --------
    >>> number_ci(42.317, 41.02, 43.61)
    '42.3 (95% CI 41.0–43.6)'
    """
    decimals = _number_decimals(_check_finite("estimate", estimate))
    return (
        f"{format_number(estimate, decimals)} ({_level_text(level)} CI "
        f"{format_number(low, decimals)}{_EN_DASH}{format_number(high, decimals)})"
    )


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(value))
    except TypeError:
        return False


def _domain_text(row: Row, by: list[str]) -> str:
    if not by:
        return "Overall"
    return "Among " + ", ".join(f"{name} = {row[name]}" for name in by)


def describe(
    row: Row,
    *,
    statistic: str = "proportion",
    level: float = 0.95,
    by: list[str] | None = None,
) -> str:
    """Describe one row of an estimates table in a plain-language sentence.

    Parameters
    ----------
    row : mapping
        A row of :meth:`steppe.Estimates.to_frame` (a ``pandas.Series`` or a
        dict) with at least ``variable``, ``level``, ``estimate``, ``ci_low``,
        ``ci_high``, ``n`` and ``flag``.
    statistic : {"proportion", "mean", "total", "ratio"}, default "proportion"
        What the estimate is. Rows with a ``level`` under "proportion" or
        "mean" are shares; under "total" they are weighted counts.
    level : float, default 0.95
        Confidence level of ``ci_low``/``ci_high``.
    by : list of str, optional
        The domain columns. By default, the entries before ``variable``.

    Returns
    -------
    str
        One sentence, ending with the reliability flag when there is one.

    Examples
    --------
    >>> row = {"age_group": "18-29", "variable": "attitude_to_russia",
    ...        "level": "improved", "estimate": 0.007, "ci_low": 0.002,
    ...        "ci_high": 0.024, "n": 290, "flag": "suppress: n_eff < 30"}
    >>> describe(row)  # doctest: +NORMALIZE_WHITESPACE
    'Among age_group = 18-29, 0.7% (95% CI 0.2%–2.4%) have attitude_to_russia =
    "improved" (about 1 in 143; n = 290). Not reliable: suppress: n_eff < 30.'
    """
    if by is None:
        keys = list(row.keys())
        by = keys[: keys.index("variable")] if "variable" in keys else []
    domain = _domain_text(row, by)
    variable = row["variable"]
    category = row.get("level")
    has_level = not _is_missing(category)
    n_text = f"n = {int(row['n']):,}"
    estimate, low, high = row["estimate"], row["ci_low"], row["ci_high"]
    no_ci = _is_missing(low) or _is_missing(high)
    if _is_missing(estimate):
        sentence = f"{domain}, {variable} is not estimable ({n_text})."
    elif has_level and statistic in _SHARE_STATISTICS:
        share = percent(estimate) + " (no CI)" if no_ci else percent_ci(estimate, low, high, level)
        about = one_in(min(max(float(estimate), 0.0), 1.0))
        sentence = f'{domain}, {share} have {variable} = "{category}" (about {about}; {n_text}).'
    else:
        what = f"{statistic} of {variable}"
        if not _is_missing(row.get("prob")):  # a quantile's probability
            what = f"{float(row['prob']):g} quantile of {variable}"
        elif has_level:
            what += f' = "{category}"'
        value = (
            format_number(estimate) + " (no CI)" if no_ci else number_ci(estimate, low, high, level)
        )
        sentence = f"{domain}, the {what} is {value} ({n_text})."
    flag = row.get("flag")
    if isinstance(flag, str) and flag:
        sentence += f" Not reliable: {flag}."
    return sentence
