"""The bundled population margins, and the simulated poll's weights raked to them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import datasets as ds

ROOT = Path(__file__).resolve().parents[2]
META = ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.meta.json"
WAVES = ["2022-11", "2023-05", "2025-01"]
POP_2023 = 19_765_004  # 1 Jan 2023, sum of the 20 regions
CENSUS_2021 = 19_186_015
NOT_STATED_2021 = 24_800


@pytest.fixture(scope="module")
def poll() -> pd.DataFrame:
    return ds.load_poll()


def wave_design(wave: str) -> sp.Design:
    data = ds.load_poll(wave=wave)
    return sp.Design(data, weights="design_weight", strata="stratum", psu="psu")


# --- the margins: sources, values, totals -------------------------------------------------


@pytest.mark.parametrize(
    "loader", [ds.margins_region_sex_2023, ds.margins_age_sex_2023, ds.margins_ethnicity_2021]
)
def test_margin_tables_carry_their_sources(loader) -> None:  # type: ignore[no-untyped-def]
    m = loader()
    assert {"count", "share", "source"} <= set(m.columns)
    assert m["source"].notna().all() and (m["source"].str.len() > 20).all()
    assert (m["count"] > 0).all()
    assert m["count"].dtype == np.int64
    assert loader.__doc__ and "Examples" in loader.__doc__


def test_region_sex_margin_is_the_published_table() -> None:
    m = ds.margins_region_sex_2023()
    pop = ds.population_by_region_2023()
    assert m["count"].tolist() == pop["count"].tolist()
    assert int(m["count"].sum()) == POP_2023
    assert m["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert set(m.region) == set(ds.load_poll().region)


def test_age_sex_margin() -> None:
    m = ds.margins_age_sex_2023()
    assert sorted(set(m.age_group)) == ["0-14", "15-64", "65+"]
    assert int(m["count"].sum()) == 19_766_807


def test_ethnicity_margin_collapses_the_census() -> None:
    m = ds.margins_ethnicity_2021().set_index("ethnicity")
    assert list(m.index) == ["Kazakh", "Russian", "Other"]
    assert int(m.loc["Kazakh", "count"]) == 13_497_891
    assert int(m.loc["Russian", "count"]) == 2_981_946
    # everyone in the census except those who did not state an ethnicity
    assert int(m["count"].sum()) == CENSUS_2021 - NOT_STATED_2021
    np.testing.assert_allclose(m["share"], m["count"] / (CENSUS_2021 - NOT_STATED_2021))
    assert "not stated" in m.loc["Other", "derivation"]
    assert "astanatimes" in m.loc["Other", "source"]  # the census total's source


def test_poll_margins_form_and_equal_totals(poll: pd.DataFrame) -> None:
    margins = ds.poll_margins("2023-05")
    assert list(margins) == ["region", "sex", "ethnicity"]
    for name, counts in margins.items():
        assert isinstance(counts, pd.Series) and counts.name == name
        assert counts.sum() == pytest.approx(POP_2023, rel=1e-12)
        assert (counts > 0).all()
        assert set(counts.index) == set(poll[name].astype(str)), name
        assert counts.attrs["source"] and counts.attrs["assumption"]
    # regions: the published counts, unscaled
    pop = ds.population_by_region_2023().groupby("region", sort=False)["count"].sum()
    assert margins["region"].to_dict() == pop.astype(float).to_dict()
    # sex: the split of the population aged 15+ (assumed for adults)
    age = ds.margins_age_sex_2023()
    adults = age[age.age_group != "0-14"].groupby("sex")["count"].sum()
    assert margins["sex"]["male"] / POP_2023 == pytest.approx(adults["male"] / adults.sum())
    # ethnicity: census shares among those who stated one
    eth = ds.margins_ethnicity_2021().set_index("ethnicity")["share"]
    np.testing.assert_allclose(margins["ethnicity"] / POP_2023, eth[margins["ethnicity"].index])


def test_poll_margins_same_for_every_wave_and_scalable() -> None:
    base = ds.poll_margins()
    for wave in WAVES:
        for name, counts in ds.poll_margins(wave).items():
            pd.testing.assert_series_equal(counts, base[name])
    scaled = ds.poll_margins(total=1000.0)
    for name, counts in scaled.items():
        assert counts.sum() == pytest.approx(1000.0)
        np.testing.assert_allclose(counts / 1000.0, base[name] / POP_2023)


@pytest.mark.parametrize(
    "kwargs", [{"wave": "2024-01"}, {"total": 0}, {"total": -5.0}, {"total": float("inf")}]
)
def test_poll_margins_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(sp.InvalidInputError):
        ds.poll_margins(**kwargs)


# --- the poll's weights are the raked design weights --------------------------------------


def test_design_weights(poll: pd.DataFrame) -> None:
    assert list(poll.columns[-2:]) == ["design_weight", "weight"]
    assert (poll.design_weight > 0).all()
    for wave in WAVES:
        d = poll[poll.wave == wave]
        # design weights add up to each region's population (up to rounding to 4 decimals)
        by_region = d.groupby("region", observed=True).design_weight.sum()
        pop = ds.margins_region_sex_2023().groupby("region")["count"].sum()
        np.testing.assert_allclose(by_region, pop[by_region.index], atol=0.01)


@pytest.mark.parametrize("wave", WAVES)
def test_weight_is_design_weight_raked_to_poll_margins(poll: pd.DataFrame, wave: str) -> None:
    raked = wave_design(wave).rake(ds.poll_margins(wave))
    step = raked.summary()["weighting"][-1]
    assert step["method"] == "rake" and step["converged"]
    shipped = poll.loc[poll.wave == wave, "weight"].to_numpy()
    np.testing.assert_allclose(shipped, raked.weights, rtol=1e-9)


@pytest.mark.parametrize("wave", WAVES)
def test_weighted_margins_hit_population_margins(poll: pd.DataFrame, wave: str) -> None:
    d = poll[poll.wave == wave]
    for name, counts in ds.poll_margins(wave).items():
        got = d.groupby(d[name].astype(str)).weight.sum()
        np.testing.assert_allclose(got[counts.index], counts, rtol=1e-6)


def test_raking_moves_composition_to_the_census(poll: pd.DataFrame) -> None:
    # the 2022-11 sample has ~24% ethnic Russians (published composition), the census 15.6%
    d = poll[poll.wave == "2022-11"]
    russian = d.ethnicity == "Russian"
    before = d.design_weight[russian].sum() / d.design_weight.sum()
    after = d.weight[russian].sum() / d.weight.sum()
    assert before > 0.2
    assert after == pytest.approx(0.15562, abs=1e-4)


def test_compare_margins_after_raking(poll: pd.DataFrame) -> None:
    margins = ds.poll_margins("2023-05")
    raked = wave_design("2023-05").rake(margins)
    table = raked.compare_margins(margins).to_frame()
    assert len(table) == 20 + 2 + 3
    assert table.diff_after.abs().max() < 1e-6
    assert table.diff_before.abs().max() > 0.01


def test_meta_reports_margins_and_raking() -> None:
    meta = json.loads(META.read_text(encoding="utf-8"))
    assert set(meta["margins"]) == {"region", "sex", "ethnicity"}
    for m in meta["margins"].values():
        assert m["source"] and m["assumption"]
    assert set(meta["raking"]) == set(WAVES)
    assert all(r["converged"] for r in meta["raking"].values())
    assert {"A12", "A13"} <= set(meta["assumptions"])


# --- bad margins are refused --------------------------------------------------------------


def _bad(kind: str) -> dict:
    margins = ds.poll_margins("2023-05")
    eth = margins["ethnicity"].copy()
    if kind == "missing_level":
        margins["ethnicity"] = eth.drop("Russian") * (eth.sum() / eth.drop("Russian").sum())
    elif kind == "negative":
        other = eth["Other"]
        eth["Other"] = -other
        eth["Kazakh"] += 2 * other  # keep the total, so only the sign is wrong
        margins["ethnicity"] = eth
    elif kind == "totals_differ":
        margins["ethnicity"] = eth * 1.01
    elif kind == "labels":
        margins["ethnicity"] = eth.rename(index=str.lower)
    elif kind == "extra_level":
        margins["ethnicity"] = pd.concat([eth, pd.Series({"Ukrainian": 1.0})]) * (
            eth.sum() / (eth.sum() + 1.0)
        )
    return margins


@pytest.mark.parametrize(
    "kind", ["missing_level", "negative", "totals_differ", "labels", "extra_level"]
)
def test_bad_margins_raise(poll: pd.DataFrame, kind: str) -> None:
    with pytest.raises(sp.InvalidInputError):
        wave_design("2023-05").rake(_bad(kind))


def test_unknown_margin_column_raises(poll: pd.DataFrame) -> None:
    margins = ds.poll_margins("2023-05")
    margins["nationality"] = margins.pop("ethnicity")
    with pytest.raises(sp.InvalidInputError):
        wave_design("2023-05").rake(margins)
