"""Bad input gets a steppe error that names the column and the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core


@pytest.fixture
def df() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 60
    return pd.DataFrame(
        {
            "w": rng.uniform(1, 5, n),
            "stratum": np.repeat(["a", "b", "c"], 20),
            "psu": np.repeat(np.arange(12), 5),
            "y": rng.normal(size=n),
            "cat": rng.choice(["x", "y", "z"], n),
            "text": rng.choice(["p", "q"], n),
        }
    )


def test_errors_are_value_errors_and_steppe_errors() -> None:
    assert issubclass(sp.InvalidInputError, ValueError)
    assert issubclass(sp.InvalidInputError, sp.SteppeError)
    assert issubclass(sp.NotEstimableError, ValueError)


def test_unknown_column_is_named(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="'nope'"):
        sp.Design(df, weights="nope")
    d = sp.Design(df, weights="w")
    with pytest.raises(sp.InvalidInputError, match="'missing_var'"):
        d.mean("missing_var")
    with pytest.raises(sp.InvalidInputError, match="'grp'"):
        d.mean("y", by="grp")


@pytest.mark.parametrize(
    ("value", "problem"),
    [(np.nan, "missing"), (-1.0, "negative"), (np.inf, "infinite")],
)
def test_bad_weights_name_column_and_row(df: pd.DataFrame, value: float, problem: str) -> None:
    df.loc[7, "w"] = value
    with pytest.raises(sp.InvalidInputError, match=rf"'w'.*{problem}.*row 7"):
        sp.Design(df, weights="w")


def test_non_numeric_weights(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="'text'.*not numeric"):
        sp.Design(df, weights="text")


def test_non_numeric_variable_for_ratio(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    with pytest.raises(sp.InvalidInputError, match="'text'.*not numeric"):
        d.ratio("text", "y")


def test_infinite_variable(df: pd.DataFrame) -> None:
    df.loc[3, "y"] = np.inf
    with pytest.raises(sp.InvalidInputError, match="'y'.*infinite.*row 3"):
        sp.Design(df, weights="w").mean("y")


def test_missing_design_column(df: pd.DataFrame) -> None:
    df["stratum"] = df["stratum"].astype(object)
    df.loc[5, "stratum"] = None
    with pytest.raises(sp.InvalidInputError, match="'stratum'.*missing.*row 5"):
        sp.Design(df, weights="w", strata="stratum")


def test_clusters_not_nested(df: pd.DataFrame) -> None:
    df.loc[0, "psu"] = 11  # PSU 11 is in stratum "c"
    with pytest.raises(sp.InvalidInputError, match="nest=True"):
        sp.Design(df, weights="w", strata="stratum", psu="psu")


def test_nest_true_makes_ids_unique_within_strata(df: pd.DataFrame) -> None:
    df["psu_in_stratum"] = df["psu"] % 4
    d = sp.Design(df, weights="w", strata="stratum", psu="psu_in_stratum", nest=True)
    ref = sp.Design(df, weights="w", strata="stratum", psu="psu")
    a, b = d.mean("y").to_frame(), ref.mean("y").to_frame()
    assert a.se.iloc[0] == pytest.approx(b.se.iloc[0], rel=1e-12)


def test_lonely_psu_fail_lists_strata(df: pd.DataFrame) -> None:
    df.loc[df.stratum == "c", "psu"] = 99
    d = sp.Design(df, weights="w", strata="stratum", psu="psu")
    with pytest.raises(sp.NotEstimableError, match="'c'"):
        d.mean("y")
    ok = sp.Design(df, weights="w", strata="stratum", psu="psu", lonely_psu="certainty")
    assert np.isfinite(ok.mean("y").to_frame().se.iloc[0])


def test_unknown_lonely_rule(df: pd.DataFrame) -> None:
    with pytest.raises(sp.InvalidInputError, match="lonely_psu"):
        sp.Design(df, weights="w", lonely_psu="ignore")


def test_empty_domain(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    with pytest.raises(sp.NotEstimableError, match="empty"):
        d.subset(df.y > 100)
    df["all_missing"] = np.nan
    with pytest.raises(sp.NotEstimableError):
        d.mean("all_missing")


def test_subset_mask_length_and_dtype(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    with pytest.raises(sp.InvalidInputError, match="rows"):
        d.subset(np.ones(3, dtype=bool))
    with pytest.raises(sp.InvalidInputError, match="boolean"):
        d.subset(np.ones(len(df)))


def test_bad_level_and_df(df: pd.DataFrame) -> None:
    d = sp.Design(df, weights="w")
    with pytest.raises(sp.InvalidInputError, match="level"):
        d.mean("y", level=95)
    with pytest.raises(sp.InvalidInputError, match="df"):
        d.mean("y", df=0)


def test_core_refuses_float_codes() -> None:
    core = _core.Design(np.ones(4))
    with pytest.raises(ValueError, match="int32"):
        _core.estimate(core, "mean", codes=np.array([0.0, 1, 0, 1]), levels=2)


def test_core_refuses_mismatched_lengths() -> None:
    core = _core.Design(np.ones(4))
    with pytest.raises(ValueError, match="rows"):
        _core.estimate(core, "mean", values=np.ones(3))
    with pytest.raises(ValueError, match="strata"):
        _core.Design(np.ones(4), strata=np.zeros(3, dtype=np.int32))


def test_fpc_must_be_constant_within_strata(df: pd.DataFrame) -> None:
    df["fpc"] = 100.0
    df.loc[0, "fpc"] = 90.0
    with pytest.raises(sp.InvalidInputError, match="fpc varies"):
        sp.Design(df, weights="w", strata="stratum", psu="psu", fpc="fpc")


def test_unused_categories_in_design_columns_are_dropped(df: pd.DataFrame) -> None:
    """A subset of rows keeps a categorical's unused levels; R drops them too."""
    df["stratum"] = pd.Categorical(df["stratum"], categories=["z", "a", "b", "c"])
    d = sp.Design(df, weights="w", strata="stratum", psu="psu")
    assert d.summary()["n_strata"] == 3
