"""Tests of steppe.datasets: the bundled sourced tables and the SIMULATED poll."""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "python" / "steppe" / "datasets" / "data"

WAVE_SIZES = {"2022-11": 1110, "2023-05": 1100, "2025-01": 1100}  # demoscope_methodology.csv
CENSUS_TOTAL_2021 = 19_186_015
RUSSIANS_2021 = 2_981_946
TOLERANCE = 0.01  # weighted toplines within 1 percentage point of the published ones
DESIGN_COLUMNS = [
    "respondent_id", "wave", "region", "stratum", "psu", "urban_rural", "sex", "age",
    "age_group", "ethnicity", "interview_language", "design_weight", "weight",
]  # fmt: skip
ITEM_QUESTIONS = {
    "side_supported": "Which side do you support?",
    "attitude_to_russia": "Has your attitude to Russia changed since the war began?",
}


def _load_datasets() -> ModuleType:
    """Import steppe.datasets from the source tree.

    ``steppe/__init__.py`` imports the compiled core, which may not be built when
    these tests run; the datasets subpackage is pure Python, so then it is loaded
    from its files under a private name (leaving ``steppe`` itself untouched).
    """
    src = str(ROOT / "python")
    sys.path.insert(0, src)
    try:
        return importlib.import_module("steppe.datasets")
    except ImportError:
        name = "_steppe_datasets_from_source"
        pkg = ROOT / "python" / "steppe" / "datasets"
        spec = importlib.util.spec_from_file_location(
            name, pkg / "__init__.py", submodule_search_locations=[str(pkg)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(src)


ds = _load_datasets()


@pytest.fixture(scope="module")
def poll() -> pd.DataFrame:
    return ds.load_poll()


def weighted_share(df: pd.DataFrame, item: str, level: str) -> float:
    """Sum of weights of ``level`` / sum of weights of respondents who answered ``item``."""
    answered = df[df[item].notna()]
    return float(answered.weight[answered[item] == level].sum() / answered.weight.sum())


def _level(response: str) -> str:
    level = response.split(" (")[0].rstrip("*")
    return "neutral" if level == "Neutral" else level


def _published_targets() -> list[tuple[str, str, str, str, float]]:
    """(wave, item, age group or 'all', level, share) for every published figure we target."""
    top = pd.read_csv(DATA / "demoscope_toplines.csv")
    rows = []
    for item, question in ITEM_QUESTIONS.items():
        sel = top[(top.question == question) & top.pct.notna()]
        for r in sel.itertuples():
            wave = r.survey_id.replace("DEMOSCOPE-", "")
            if wave in WAVE_SIZES:
                rows.append((wave, item, r.subgroup, _level(r.response), r.pct / 100))
    return rows


PUBLISHED = _published_targets()


# --- the simulated poll: shape and design -------------------------------------------------


def test_poll_columns_and_size(poll: pd.DataFrame) -> None:
    assert list(poll.columns) == [
        "respondent_id", "wave", "region", "stratum", "psu", "urban_rural", "sex", "age",
        "age_group", "ethnicity", "interview_language", "attitude_to_russia",
        "side_supported", "design_weight", "weight",
    ]  # fmt: skip
    assert poll.groupby("wave", observed=True).size().to_dict() == WAVE_SIZES
    assert poll.respondent_id.is_unique
    assert poll.respondent_id.dtype == np.int64


def test_poll_regions_are_the_population_regions(poll: pd.DataFrame) -> None:
    regions = set(ds.population_by_region_2023().region)
    assert len(regions) == 20
    for _, d in poll.groupby("wave", observed=True):
        assert set(d.region) == regions


def test_strata_and_psus(poll: pd.DataFrame) -> None:
    assert (poll.stratum.astype(str) == poll.wave.astype(str) + " " + poll.region.astype(str)).all()
    assert poll.stratum.nunique() == 60
    psus_per_stratum = poll.groupby("stratum", observed=True).psu.nunique()
    assert psus_per_stratum.min() >= 2
    assert psus_per_stratum.between(3, 8).all()
    # PSUs are nested in strata and unique across the whole file
    assert (poll.groupby("psu", observed=True).stratum.nunique() == 1).all()
    assert (poll.psu.astype(str).str.split("/").str[0] == poll.wave.astype(str)).all()
    sizes = poll.groupby("psu", observed=True).size()
    assert sizes.min() >= 3 and sizes.max() <= 25


def test_design_columns_complete(poll: pd.DataFrame) -> None:
    assert not poll[DESIGN_COLUMNS].isna().any().any()
    for col in ["design_weight", "weight"]:
        w = poll[col].to_numpy()
        assert np.isfinite(w).all() and (w > 0).all()
        assert 4 <= w.max() / w.min() <= 15, col


def test_weights_are_raked_to_poll_margins(poll: pd.DataFrame) -> None:
    # region, sex and ethnicity margins (not region x sex cells); details in
    # test_weighting_data.py
    for wave, d in poll.groupby("wave", observed=True):
        assert d.design_weight.sum() == pytest.approx(19_765_004, abs=0.1)
        for name, counts in ds.poll_margins(wave).items():
            got = d.groupby(d[name].astype(str)).weight.sum()
            np.testing.assert_allclose(got[counts.index], counts, rtol=1e-6)


def test_load_one_wave(poll: pd.DataFrame) -> None:
    may = ds.load_poll(wave="2023-05")
    full = poll[poll.wave == "2023-05"].reset_index(drop=True)
    assert len(may) == WAVE_SIZES["2023-05"]
    pd.testing.assert_frame_equal(
        may.astype(str), full.astype(str), check_dtype=False, check_categorical=False
    )
    assert list(may.wave.cat.categories) == ["2023-05"]
    assert set(may.stratum.cat.categories) == set(may.stratum)
    assert set(may.psu.cat.categories) == set(may.psu)
    with pytest.raises(ValueError):
        ds.load_poll(wave="2024-01")


def test_categoricals_and_ages(poll: pd.DataFrame) -> None:
    for col in ["wave", "region", "stratum", "psu", "sex", "age_group", "ethnicity"]:
        assert isinstance(poll[col].dtype, pd.CategoricalDtype), col
    assert poll.age_group.cat.ordered
    assert list(poll.age_group.cat.categories) == ["18-29", "30-39", "40-59", "60+"]
    assert list(poll.attitude_to_russia.cat.categories) == [
        "improved",
        "unchanged",
        "worsened",
        "hard to say",
    ]
    assert list(poll.side_supported.cat.categories) == [
        "Russia",
        "Ukraine",
        "neutral",
        "hard to say",
    ]
    assert set(poll.ethnicity) == {"Kazakh", "Russian", "Other"}
    assert set(poll.interview_language) == {"Kazakh", "Russian"}
    assert set(poll.urban_rural) == {"urban", "rural"}
    assert poll.age.between(18, 90).all()
    band = pd.cut(poll.age, [17, 29, 39, 59, 90], labels=["18-29", "30-39", "40-59", "60+"])
    assert (band.astype(str) == poll.age_group.astype(str)).all()


def test_questions_missing_where_not_asked(poll: pd.DataFrame) -> None:
    asked = poll.groupby("wave", observed=True)[["attitude_to_russia", "side_supported"]].count()
    assert asked.attitude_to_russia.to_dict() == {"2022-11": 0, "2023-05": 1100, "2025-01": 0}
    assert asked.side_supported.to_dict() == {"2022-11": 1110, "2023-05": 1100, "2025-01": 0}


def test_sample_composition_close_to_published(poll: pd.DataFrame) -> None:
    # demoscope_methodology.csv: interview language 75% Russian (2022-11), 40.3% (2023-05)
    for wave, russian in [("2022-11", 0.75), ("2023-05", 0.403)]:
        d = poll[poll.wave == wave]
        assert abs((d.interview_language == "Russian").mean() - russian) < 0.04


# --- the simulated poll: weighted toplines ------------------------------------------------


def test_all_published_figures_are_targeted() -> None:
    # 2022-11 side: 3 national + 4 by age; 2023-05 side: 3 national;
    # 2023-05 attitude: 3 national + 3 by age (30-39 not published)
    assert len(PUBLISHED) == 16
    assert {(w, i) for w, i, *_ in PUBLISHED} == {
        ("2022-11", "side_supported"),
        ("2023-05", "side_supported"),
        ("2023-05", "attitude_to_russia"),
    }


@pytest.mark.parametrize(
    ("wave", "item", "group", "level", "published"),
    PUBLISHED,
    ids=[f"{w}-{i}-{g}-{lvl}" for w, i, g, lvl, _ in PUBLISHED],
)
def test_weighted_toplines_near_published(
    poll: pd.DataFrame, wave: str, item: str, group: str, level: str, published: float
) -> None:
    d = poll[poll.wave == wave]
    if group != "all":
        d = d[d.age_group == group]
    assert abs(weighted_share(d, item, level) - published) <= TOLERANCE


def test_residual_is_hard_to_say(poll: pd.DataFrame) -> None:
    # published 2023-05 attitude: 4.7 + 51.5 + 32.6 = 88.8 -> 11.2% coded "hard to say"
    d = poll[poll.wave == "2023-05"]
    assert abs(weighted_share(d, "attitude_to_russia", "hard to say") - 0.112) <= TOLERANCE


def test_young_improved_is_about_0_7_percent(poll: pd.DataFrame) -> None:
    young = poll[(poll.wave == "2023-05") & (poll.age_group == "18-29")]
    assert 250 <= len(young) <= 300
    share = weighted_share(young, "attitude_to_russia", "improved")
    assert abs(share - 0.007) <= 0.005
    # the rare-proportion case: about two people
    assert 1 <= (young.attitude_to_russia == "improved").sum() <= 5
    national = weighted_share(poll[poll.wave == "2023-05"], "attitude_to_russia", "improved")
    assert abs(national - 0.047) <= 0.005


def test_poll_says_it_is_simulated(poll: pd.DataFrame) -> None:
    assert poll.attrs["simulated"] is True
    assert "SIMULATED" in poll.attrs["source"]
    assert "tools/simulate_poll.py" in poll.attrs["source"]
    meta = json.loads((DATA / "kz_poll_simulated.meta.json").read_text(encoding="utf-8"))
    assert meta["simulated"] is True
    assert meta["script"] == "tools/simulate_poll.py"
    assert (ROOT / meta["script"]).is_file()
    assert isinstance(meta["seed"], int) and meta["seed"] == poll.attrs["seed"]
    assert "SIMULATED" in meta["description"]
    readme = (ROOT / "python" / "steppe" / "datasets" / "README.md").read_text(encoding="utf-8")
    assert "SIMULATED" in readme and "kz_poll_simulated.csv" in readme


def test_script_reproduces_committed_files() -> None:
    script = ROOT / "tools" / "simulate_poll.py"
    res = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "byte-for-byte" in res.stdout


# --- sourced tables -----------------------------------------------------------------------


def test_census_russian_share() -> None:
    raw = ds.census_ethnicity_2021()
    assert list(raw.columns[:4]) == ["ethnic_group", "count", "share", "source"]
    eth = raw.set_index("ethnic_group")
    assert int(eth.loc["Russian", "count"]) == RUSSIANS_2021
    assert eth.loc["Russian", "share"] == RUSSIANS_2021 / CENSUS_TOTAL_2021
    assert abs(eth.loc["Russian", "share"] - 0.15542) < 1e-5  # "1 in 6.4"
    assert abs(eth.loc["Kazakh", "share"] - 0.70353) < 1e-5
    assert eth.source.notna().all()


def test_census_totals() -> None:
    t = ds.census_totals_2021().set_index(["dimension", "category"])["count"]
    assert t[("total", "all")] == CENSUS_TOTAL_2021
    assert t[("sex", "male")] + t[("sex", "female")] == CENSUS_TOTAL_2021
    assert t[("settlement", "urban")] + t[("settlement", "rural")] == CENSUS_TOTAL_2021


def test_population_by_region_long() -> None:
    pop = ds.population_by_region_2023()
    assert list(pop.columns[:3]) == ["region", "sex", "count"]
    assert "source" in pop.columns
    assert len(pop) == 40 and pop.region.nunique() == 20
    assert set(pop.sex) == {"male", "female"}
    assert pop["count"].sum() == 19_765_004
    almaty = pop[pop.region == "Almaty city"]["count"].sum()
    assert almaty == 2_161_695


def test_population_age_sex() -> None:
    pas = ds.population_age_sex_2023()
    assert len(pas) == 6 and pas["count"].sum() == 19_766_807
    assert pas.source.notna().all()


def test_census_ethnicity_history() -> None:
    h = ds.census_ethnicity_history()
    assert sorted(h.census_year.unique()) == [1989, 1999, 2009, 2021]
    assert h[h.census_year == 1989].share.isna().all()
    r = h[(h.census_year == 2021) & (h.ethnic_group == "Russian")].iloc[0]
    assert r["count"] == RUSSIANS_2021
    assert math.isclose(r["share"], RUSSIANS_2021 / CENSUS_TOTAL_2021)
    r = h[(h.census_year == 1999) & (h.ethnic_group == "Kazakh")].iloc[0]
    assert abs(r["share"] - 0.534) < 5e-4


def test_demoscope_toplines_shares() -> None:
    top = ds.demoscope_toplines()
    assert {"pct", "share", "wave", "source", "verification"} <= set(top.columns)
    np.testing.assert_allclose(top.share, top.pct / 100, rtol=1e-12)
    row = top[(top.wave == "2023-05") & (top.subgroup == "18-29")]
    assert row.share.tolist() == [0.007]
    assert set(WAVE_SIZES) <= set(top.wave)
    meth = ds.demoscope_methodology().set_index("wave")
    assert meth.loc[list(WAVE_SIZES), "n"].astype(int).to_dict() == WAVE_SIZES


def test_sources_lists_every_bundled_file() -> None:
    s = ds.sources()
    assert list(s.columns) == ["file", "content", "source", "status"]
    bundled = {p.name for p in DATA.iterdir() if p.suffix in {".csv", ".json"}}
    assert set(s.file) == bundled
    assert (s.source.str.len() > 0).all() and (s.status.str.len() > 0).all()
    simulated = s[s.status.str.contains("SIMULATED")]
    assert set(simulated.file) == {"kz_poll_simulated.csv", "kz_poll_simulated.meta.json"}
    for name in bundled - set(simulated.file):  # every sourced table carries its sources
        assert pd.read_csv(DATA / name)["source"].notna().any(), name


def test_public_api() -> None:
    assert sorted(ds.__all__) == sorted(
        [
            "load_poll",
            "margins_age_sex_2023",
            "margins_ethnicity_2021",
            "margins_region_sex_2023",
            "poll_margins",
            "census_ethnicity_2021",
            "census_totals_2021",
            "population_by_region_2023",
            "population_age_sex_2023",
            "census_ethnicity_history",
            "demoscope_toplines",
            "demoscope_methodology",
            "sources",
        ]
    )
    for name in ds.__all__:
        assert "Examples" in getattr(ds, name).__doc__, name
