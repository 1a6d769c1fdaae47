"""The compiled distribution and interval functions, through the bindings."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

from steppe import _core

GOLDEN = json.loads(
    (pathlib.Path(__file__).parents[1] / "golden" / "distributions.json").read_text()
)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


@pytest.mark.parametrize("name", ["qnorm", "qt", "qbeta"])
def test_quantiles_match_r(name: str) -> None:
    worst = 0.0
    for c in GOLDEN[name]:
        df = c.get("df", 1)
        df = math.inf if df in ("Inf", "inf") else float(df)
        value = c["value"]
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if (math.isfinite(df) and df > 4e5) or df == 0.5:
            continue  # R's own approximations there (see test_distributions.cpp)
        p = np.array([c["p"]])
        if name == "qnorm":
            got = _core.qnorm(p, lower_tail=c["lower"])[0]
        elif name == "qt":
            got = _core.qt(p, df, lower_tail=c["lower"])[0]
        else:
            got = _core.qbeta(p, c["a"], c["b"], lower_tail=c["lower"])[0]
        worst = max(worst, rel(got, value))
    assert worst < 1e-9


def test_wald_ci_is_estimate_plus_minus_t_se() -> None:
    low, high = _core.wald_ci(np.array([0.5]), np.array([0.1]), np.array([10.0]), 0.95)
    t = _core.qt(np.array([0.975]), 10.0)[0]
    assert low[0] == pytest.approx(0.5 - t * 0.1, rel=1e-14)
    assert high[0] == pytest.approx(0.5 + t * 0.1, rel=1e-14)


def test_proportion_ci_at_zero_is_one_sided_korn_graubard() -> None:
    low, high = _core.proportion_ci(
        "logit", np.array([0.0]), np.array([0.0]), np.array([math.inf]), np.array([100.0]), 0.95
    )
    assert low[0] == 0.0
    # Clopper-Pearson upper limit for 0 of n: 1 - (alpha/2)^(1/n), df adjustment 1 at df=inf.
    t_ratio = _core.qt(np.array([0.025]), 99.0)[0] / _core.qnorm(np.array([0.025]))[0]
    n_eff = 100 * t_ratio**2
    assert high[0] == pytest.approx(1 - 0.025 ** (1 / n_eff), rel=1e-12)


def test_proportion_ci_refuses_bad_method_and_lengths() -> None:
    one = np.array([0.3])
    with pytest.raises(ValueError, match="wilson"):
        _core.proportion_ci("clopper", one, one, one * 10, one * 100, 0.95)
    with pytest.raises(ValueError):
        _core.proportion_ci("logit", one, np.array([0.1, 0.2]), one * 10, one * 100, 0.95)


def test_reliability_flags() -> None:
    flags = _core.reliability_flags(
        np.array([0.5, 0.007, 0.2]),
        np.array([0.0001, 0.00004, 0.01]),
        np.array([1000.0, 12.0, 200.0]),
        np.array([100.0, 10.0, 4.0]),
    )
    assert flags[0] == ""
    assert "n < 30" in flags[1]
    assert "df < 8" in flags[2]
