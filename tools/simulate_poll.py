#!/usr/bin/env python3
"""Generate steppe's SIMULATED Kazakhstan opinion poll.

Everything this script writes is SIMULATED: no respondent in it exists. It
imitates the Demoscope telephone polls on the war in Ukraine (waves 2022-11,
2023-05 and 2025-01) so that steppe's examples can reproduce the published
toplines with a realistic survey design. No respondent-level Demoscope data is
public (see ../shared/data/README.md beside the repository, "Microdata").

What is taken from the sourced tables in python/steppe/datasets/data/:
  * population by region x sex on 1 Jan 2023 (strata, allocation, design weights),
  * the raking margins of steppe.datasets.poll_margins() (region, sex, ethnicity;
    built from the 1 Jan 2023 population, the 2023 age x sex table and the 2021
    census ethnic composition),
  * the 2021 census urban share (urban/rural),
  * each wave's size and published sample composition (ethnicity, interview
    language), from demoscope_methodology.csv,
  * the published toplines, national and by age, from demoscope_toplines.csv.
Everything else is an ASSUMPTION and is listed, with its value, in the
"Assumptions" block below (and in the .meta.json the script writes).

Weights: the design weight (column design_weight) is raked, within each wave,
to the region, sex and ethnicity margins with steppe's own
Design(...).rake(...) (R's rake: defaults maxit 10, epsilon 1), giving the
column weight. Users can redo this step from design_weight.

How the toplines are hit: weights are computed first (design and raking); then,
in each wave and age group, answers are handed out in an "exponential race"
(respondents with a higher assumed propensity for an answer tend to come first)
until the weighted share of that answer reaches its target. So weighted
toplines match the published ones up to one respondent's weight.

Usage::

    python tools/simulate_poll.py           # (re)write the CSV and .meta.json
    python tools/simulate_poll.py --check   # verify the committed files are
                                            # reproduced byte-for-byte

It needs numpy, pandas and the installed steppe package (for Design.rake; run it
with the project's .venv python). The margins are read from the source tree's
steppe/datasets, so edits there take effect without reinstalling. All
randomness comes from one numpy.random.Generator seeded with SEED.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

SEED = 20230512  # last fieldwork day of the May 2023 wave
SCRIPT = "tools/simulate_poll.py"
DATASETS = Path(__file__).resolve().parents[1] / "python" / "steppe" / "datasets"
DATA = DATASETS / "data"
OUT_CSV = DATA / "kz_poll_simulated.csv"
OUT_META = DATA / "kz_poll_simulated.meta.json"

WAVES = {  # wave label -> survey_id in demoscope_*.csv
    "2022-11": "DEMOSCOPE-2022-11",
    "2023-05": "DEMOSCOPE-2023-05",
    "2025-01": "DEMOSCOPE-2025-01",
}
AGE_GROUPS = ["18-29", "30-39", "40-59", "60+"]  # the bands Demoscope publishes
ITEMS = {  # column -> (question text in demoscope_toplines.csv, levels)
    "side_supported": (
        "Which side do you support?",
        ["Russia", "Ukraine", "neutral", "hard to say"],
    ),
    "attitude_to_russia": (
        "Has your attitude to Russia changed since the war began?",
        ["improved", "unchanged", "worsened", "hard to say"],
    ),
}
RESIDUAL_LEVEL = "hard to say"
COLUMNS = [
    "respondent_id", "wave", "region", "stratum", "psu", "urban_rural", "sex", "age",
    "age_group", "ethnicity", "interview_language", "attitude_to_russia",
    "side_supported", "design_weight", "weight",
]  # fmt: skip
DESIGN_WEIGHT_DECIMALS = 4
WEIGHT_DECIMALS = 6  # raked weights: enough digits to redo the raking to 1e-9

# ---------------------------------------------------------------------------
# Assumptions: none of these figures is in the sourced data.
# ---------------------------------------------------------------------------
ASSUMPTIONS = {
    "A1": "Adult age distribution by the survey bands 18-29/30-39/40-59/60+ (not found in "
    "the sources): men 0.27/0.24/0.33/0.16, women 0.24/0.22/0.33/0.21. Age is uniform "
    "within the younger bands; 60+ is 60 + an exponential with mean 8 years, capped at 90.",
    "A2": "Men answer less often than women: relative response propensity 0.75.",
    "A3": "Urban share: Astana, Almaty and Shymkent cities are wholly urban; every other "
    "region has the same urban share, set so that the national share equals the 2021 "
    "census share (census_2021_totals.csv). PSUs are wholly urban or wholly rural.",
    "A4": "Ethnicity is independent of region, sex and age, drawn with the wave's published "
    "sample composition (2025-01 not published: the 2023-05 composition is used).",
    "A5": "P(interview in Russian | ethnicity) = 0.98 for Russians, 0.85 for Other; for "
    "Kazakhs it is solved so that the wave's published language split is reproduced.",
    "A6": "Design: each wave is an independent stratified two-stage sample; the 20 regions "
    "are strata; allocation proportional to sqrt(population); about 11 interviews per PSU, "
    "3-8 PSUs per region drawn with probability proportional to size; achieved takes vary "
    "+-40% around the plan (nonresponse). The 1 Jan 2023 population is used for all waves.",
    "A7": "Published answer shares that do not add up to 100% leave a remainder that is "
    "coded 'hard to say'; 'Neutral*' (2022-11) is coded 'neutral'.",
    "A8": "Age groups without a published figure share one common value that reproduces the "
    "national figure; answers without age figures split the rest of each age group in "
    "their national proportions.",
    "A9": "2023-05 'which side' has no published age figures: the 2022-11 published age "
    "figures are scaled by the ratio of the two waves' national figures.",
    "A10": "Within an age group, who gives which answer follows assumed relative propensities "
    "(PROPENSITY in the script; the language ratios 45/20 and 20/6 are the March 2022 "
    "Demoscope language gaps) times a PSU effect exp(N(0, 0.5^2)).",
    "A11": "Items are simulated only in waves with a published national topline; elsewhere "
    "they are missing (attitude: 2023-05 only; side: 2022-11 and 2023-05 - the 2025-01 "
    "figures were not found).",
    "A12": "Weights are raked to margins of the whole population, used as margins of adults "
    "18+ (no adult counts were found): regions as on 1 Jan 2023 (all ages); sex as among "
    "people aged 15+ in 2023; ethnicity (Kazakh/Russian/Other) as in the 2021 census among "
    "those who stated one ('not stated', 0.13%, assumed distributed like the rest). All "
    "margins are shares times the 1 Jan 2023 population 19,765,004 (= the sum of the design "
    "weights), so weighted totals are not counts of adults. The same margins serve every "
    "wave (steppe.datasets.poll_margins).",
    "A13": "No age margin: the sources give 0-14/15-64/65+ only, not the poll's bands "
    "18-29/30-39/40-59/60+, and no 15-17 count to turn 15-64 into 18-64; the sample's age "
    "mix comes from A1 alone.",
}
AGE_BAND_SHARES = {"male": [0.27, 0.24, 0.33, 0.16], "female": [0.24, 0.22, 0.33, 0.21]}
AGE_60PLUS_MEAN_EXCESS = 8.0
MALE_RESPONSE = 0.75
RUSSIAN_LANGUAGE = {"Russian": 0.98, "Other": 0.85}
ALLOCATION_POWER = 0.5
INTERVIEWS_PER_PSU = 11
TAKE_SPREAD = 0.4
PSU_SD = 0.5
# Relative propensities, per item, in assignment order; the last level takes the rest.
PROPENSITY = {
    "side_supported": {
        "Russia": {
            ("ethnicity", "Russian"): 3.0,
            ("ethnicity", "Other"): 1.5,
            ("interview_language", "Russian"): 45 / 20,
        },
        "Ukraine": {("interview_language", "Kazakh"): 20 / 6},
        "hard to say": {("urban_rural", "rural"): 1.5},
        "neutral": {},
    },
    "attitude_to_russia": {
        "improved": {("side_supported", "Russia"): 8.0, ("ethnicity", "Russian"): 2.0},
        "worsened": {
            ("side_supported", "Ukraine"): 4.0,
            ("interview_language", "Kazakh"): 1.5,
        },
        "hard to say": {("side_supported", "hard to say"): 4.0},
        "unchanged": {},
    },
}


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------
def read_inputs() -> dict:
    """Read the sourced tables the simulation uses."""
    pop = pd.read_csv(DATA / "population_by_region_2023-01-01.csv")
    pop = pop[~pop.region.str.startswith("Kazakhstan")].reset_index(drop=True)
    totals = pd.read_csv(DATA / "census_2021_totals.csv").set_index(["dimension", "category"])
    urban = totals.loc[("settlement", "urban"), "count"] / totals.loc[("total", "all"), "count"]
    return {
        "pop": pop,
        "urban_share": float(urban),
        "toplines": pd.read_csv(DATA / "demoscope_toplines.csv"),
        "methodology": pd.read_csv(DATA / "demoscope_methodology.csv").set_index("survey_id"),
    }


def parse_shares(text: str) -> dict[str, float]:
    """Parse '61% Kazakh / 24% Russian / 15% other' into {'Kazakh': 0.61, ...}."""
    return {name.capitalize(): float(p) / 100 for p, name in re.findall(r"([\d.]+)% (\w+)", text)}


def composition(methodology: pd.DataFrame, wave: str) -> dict:
    """Sample size, ethnicity shares and P(Russian interview | ethnicity) of a wave."""
    row = methodology.loc[WAVES[wave]]
    ethnicity = parse_shares(row.sample_ethnicity)
    language = parse_shares(row.interview_language)
    if not ethnicity or not language:  # A4: not published -> use 2023-05
        fallback = composition(methodology, "2023-05")
        return {**fallback, "n": int(row.n)}
    p_ru = dict(RUSSIAN_LANGUAGE)
    others = sum(ethnicity[e] * p_ru[e] for e in p_ru)
    p_ru["Kazakh"] = (language["Russian"] - others) / ethnicity["Kazakh"]  # A5
    assert 0 <= p_ru["Kazakh"] <= 1, (wave, p_ru)
    return {"n": int(row.n), "ethnicity": ethnicity, "p_russian": p_ru}


# ---------------------------------------------------------------------------
# Sample
# ---------------------------------------------------------------------------
def largest_remainder(x: np.ndarray) -> np.ndarray:
    """Round non-negative reals to integers that keep their (integer) sum."""
    base = np.floor(x).astype(int)
    extra = int(round(x.sum())) - base.sum()
    base[np.argsort(-(x - base), kind="stable")[:extra]] += 1
    return base


def draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Draw one category index per row from a (rows x categories) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return (u >= cum).sum(axis=1)


def draw_wave(rng: np.random.Generator, wave: str, inputs: dict, comp: dict) -> pd.DataFrame:
    """Draw one wave's respondents: design columns and demographics."""
    pop = inputs["pop"]
    size = pop.total.to_numpy() ** ALLOCATION_POWER  # A6
    n_h = largest_remainder(comp["n"] * size / size.sum())
    city = pop.region.str.endswith(" city").to_numpy()
    urban_total = inputs["urban_share"] * pop.total.sum()
    urban_other = (urban_total - pop.total[city].sum()) / pop.total[~city].sum()  # A3

    m_h = np.clip(np.round(n_h / INTERVIEWS_PER_PSU), 3, 8).astype(int)
    urban_psus = np.where(city, m_h, largest_remainder(np.where(city, 0, m_h * urban_other)))

    psus = []
    for (_, reg), nh, m, n_urban in zip(pop.iterrows(), n_h, m_h, urban_psus):
        spread = rng.uniform(1 - TAKE_SPREAD, 1 + TAKE_SPREAD, m)
        takes = largest_remainder(nh * spread / spread.sum())
        for j, k in enumerate(takes):
            psus.append({
                "region": reg.region,
                "psu": f"{wave}/{reg.region}/{j + 1:02d}",
                "urban_rural": "urban" if j < n_urban else "rural",
                "N_h": reg.total, "N_male": reg.male, "N_female": reg.female,
                "n_h": nh, "m_h": m, "k_hi": k,
            })  # fmt: skip
    psus = pd.DataFrame(psus)
    df = psus.loc[psus.index.repeat(psus.k_hi)].reset_index(drop=True)
    n = len(df)

    p_male = df.N_male * MALE_RESPONSE / (df.N_male * MALE_RESPONSE + df.N_female)  # A2
    df["sex"] = np.where(rng.random(n) < p_male, "male", "female")
    band_p = np.array([AGE_BAND_SHARES[s] for s in df.sex])  # A1
    band = draw(rng, band_p)
    lo = np.array([18, 30, 40, 60])[band]
    width = np.array([12, 10, 20, 0])[band]
    u = rng.random(n)
    old = np.minimum(90, 60 + np.floor(-AGE_60PLUS_MEAN_EXCESS * np.log1p(-u)))
    df["age"] = np.where(band == 3, old, lo + np.floor(u * width)).astype(int)
    df["age_group"] = np.array(AGE_GROUPS)[band]

    eth_names = list(comp["ethnicity"])  # A4
    eth = draw(rng, np.tile([comp["ethnicity"][e] for e in eth_names], (n, 1)))
    df["ethnicity"] = np.array(eth_names)[eth]
    p_ru = df.ethnicity.map(comp["p_russian"])  # A5
    df["interview_language"] = np.where(rng.random(n) < p_ru, "Russian", "Kazakh")
    df.insert(0, "wave", wave)
    df["stratum"] = wave + " " + df.region
    return df


# ---------------------------------------------------------------------------
# Weights: design weight, then raking with steppe's Design.rake
# ---------------------------------------------------------------------------
def design_weights(sample: pd.DataFrame) -> pd.Series:
    """Design weight x nonresponse adjustment (the column ``design_weight``).

    PSUs are drawn with probability proportional to size (m_h per region of
    population N_h) and a planned take of n_h / m_h interviews each, so the design
    weight is N_h / n_h. The achieved take k_hi differs from the plan; the
    nonresponse adjustment is planned / achieved take in the PSU. In each region
    the weights add up to its 1 Jan 2023 population, so in each wave to 19,765,004.
    """
    design = sample.N_h / sample.n_h
    nonresponse = (sample.n_h / sample.m_h) / sample.k_hi
    return (design * nonresponse).round(DESIGN_WEIGHT_DECIMALS)


def source_datasets() -> ModuleType:
    """steppe.datasets from this source tree, loaded from its files under a private name.

    The installed steppe gives Design.rake (compiled core); the margins come from the
    files this script writes next to, so they are current without a reinstall.
    """
    name = "_simulate_poll_datasets"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, DATASETS / "__init__.py", submodule_search_locations=[str(DATASETS)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rake_weights(sample: pd.DataFrame, margins: dict) -> tuple[pd.Series, dict]:
    """Rake ``design_weight`` to the margins with steppe (as R's rake, default control)."""
    try:
        import steppe as sp  # the installed package: Design needs the compiled core
    except ImportError as exc:  # pragma: no cover - environment problem
        raise SystemExit(
            f"{SCRIPT} needs the installed steppe package for Design.rake: run it with "
            "the project's .venv/bin/python after `pip install .`"
        ) from exc

    design = sp.Design(sample, weights="design_weight", strata="stratum", psu="psu")
    raked = design.rake(margins)
    info = raked.summary()["weighting"][-1]
    w = pd.Series(raked.weights, index=sample.index).round(WEIGHT_DECIMALS)
    return w, info


# ---------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------
def published(toplines: pd.DataFrame, wave: str, item: str) -> dict:
    """{(subgroup, level): share} published for a wave and item; subgroup 'all' = national."""
    question, levels = ITEMS[item]
    rows = toplines[
        (toplines.survey_id == WAVES[wave]) & (toplines.question == question) & toplines.pct.notna()
    ]
    out = {}
    for r in rows.itertuples():
        level = r.response.split(" (")[0].rstrip("*")
        level = {"Neutral": "neutral"}.get(level, level)  # A7
        assert level in levels, (wave, item, r.response)
        out[(r.subgroup, level)] = r.pct / 100
    return out


def age_targets(pub: dict, item: str, age_share: pd.Series) -> dict:
    """Target share of every level in every age group (A7, A8); national = pub."""
    levels = ITEMS[item][1]
    national = {lvl: pub.get(("all", lvl)) for lvl in levels}
    national[RESIDUAL_LEVEL] = 1 - sum(v for k, v in national.items() if k != RESIDUAL_LEVEL)
    primary = [lvl for lvl in levels if any((g, lvl) in pub for g in AGE_GROUPS)]
    secondary = [lvl for lvl in levels if lvl not in primary]
    out = {g: {} for g in AGE_GROUPS}
    for lvl in primary:
        known = {g: pub[(g, lvl)] for g in AGE_GROUPS if (g, lvl) in pub}
        rest = [g for g in AGE_GROUPS if g not in known]
        common = (national[lvl] - sum(age_share[g] * v for g, v in known.items())) / sum(
            age_share[g] for g in rest
        )
        for g in AGE_GROUPS:
            out[g][lvl] = known.get(g, common)
    for g in AGE_GROUPS:
        left = 1 - sum(out[g].values())
        for lvl in secondary:
            out[g][lvl] = left * national[lvl] / sum(national[s] for s in secondary)
        assert all(0 <= v <= 1 for v in out[g].values()), (item, g, out[g])
    return out


def pick(weight: np.ndarray, key: np.ndarray, free: np.ndarray, target: float) -> np.ndarray:
    """Walk respondents in key order; take each one that brings the weight closer to target."""
    chosen = np.zeros(len(weight), dtype=bool)
    total = 0.0
    for i in np.argsort(key, kind="stable"):
        if free[i] and total + weight[i] / 2 < target:
            chosen[i] = True
            total += weight[i]
    return chosen


def assign(rng: np.random.Generator, df: pd.DataFrame, item: str, targets: dict) -> np.ndarray:
    """Hand out the item's answers in each age group so weighted shares hit the targets."""
    spec = PROPENSITY[item]
    levels = list(spec)
    psu = pd.factorize(df.psu)[0]
    effect = {lvl: rng.normal(0.0, PSU_SD, psu.max() + 1) for lvl in levels[:-1]}  # A10
    answer = np.full(len(df), levels[-1], dtype=object)
    for g in AGE_GROUPS:
        rows = np.flatnonzero(df.age_group.to_numpy() == g)
        sub, w = df.iloc[rows], df.weight.to_numpy()[rows]
        free = np.ones(len(rows), dtype=bool)
        for lvl in levels[:-1]:
            log_p = effect[lvl][psu[rows]].copy()
            for (col, value), factor in spec[lvl].items():
                log_p += np.log(factor) * (sub[col].to_numpy() == value)
            key = -np.log1p(-rng.random(len(rows))) / np.exp(log_p)  # exponential race
            chosen = pick(w, key, free, targets[g][lvl] * w.sum())
            answer[rows[chosen]] = lvl
            free &= ~chosen
    return answer


def weighted_shares(df: pd.DataFrame, item: str, by: str | None = None) -> pd.Series:
    """Weighted share of each level of ``item`` (optionally within groups of ``by``)."""
    d = df[df[item].notna()]
    keys = [item] if by is None else [by, item]
    num = d.groupby(keys).weight.sum()
    den = d.weight.sum() if by is None else num.groupby(level=0).transform("sum")
    return num / den


# ---------------------------------------------------------------------------
# Whole file
# ---------------------------------------------------------------------------
def simulate() -> tuple[pd.DataFrame, dict, dict]:
    """Simulate all waves; return the poll, the targets used and the raking report."""
    rng = np.random.default_rng(SEED)
    inputs = read_inputs()
    waves, targets, raking = [], {}, {}
    for wave in WAVES:
        df = draw_wave(rng, wave, inputs, composition(inputs["methodology"], wave))
        df["design_weight"] = design_weights(df)
        margins = source_datasets().poll_margins(wave)
        df["weight"], raking[wave] = rake_weights(df, margins)
        age_share = df.groupby("age_group").weight.sum() / df.weight.sum()
        for item in ITEMS:  # side first: attitude propensities use it
            pub = published(inputs["toplines"], wave, item)
            if ("all", ITEMS[item][1][0]) not in pub:  # A11: not asked / not published
                df[item] = np.nan
                continue
            if item == "side_supported" and not any(k[0] in AGE_GROUPS for k in pub):  # A9
                ref = published(inputs["toplines"], "2022-11", item)
                pub.update({
                    (g, lvl): v * pub[("all", lvl)] / ref[("all", lvl)]
                    for (g, lvl), v in ref.items() if g in AGE_GROUPS
                })  # fmt: skip
            targets[(wave, item)] = age_targets(pub, item, age_share)
            df[item] = assign(rng, df, item, targets[(wave, item)])
        waves.append(df)
    poll = pd.concat(waves, ignore_index=True)
    poll.insert(0, "respondent_id", np.arange(1, len(poll) + 1))
    return poll[COLUMNS], targets, raking


def to_csv_bytes(poll: pd.DataFrame) -> bytes:
    """The exact bytes of the committed CSV."""
    out = poll.assign(
        design_weight=poll.design_weight.map(f"{{:.{DESIGN_WEIGHT_DECIMALS}f}}".format),
        weight=poll.weight.map(f"{{:.{WEIGHT_DECIMALS}f}}".format),
    )
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def margins_meta(poll: pd.DataFrame, raking: dict) -> dict:
    """The raking margins (counts, sources, assumptions) and what the weights reach."""
    margins = source_datasets().poll_margins()
    out = {}
    for name, counts in margins.items():
        levels = {}
        for label, count in counts.items():
            levels[label] = {
                "population_count": round(float(count), 2),
                "population_share": round(float(count / counts.sum()), 6),
                **{
                    f"weighted_share_{wave}": round(
                        float(d.weight[d[name] == label].sum() / d.weight.sum()), 6
                    )
                    for wave, d in poll.groupby("wave", sort=True)
                },
            }
        out[name] = {
            "source": counts.attrs["source"],
            "assumption": counts.attrs["assumption"],
            "levels": levels,
        }
    report = {
        wave: {
            "iterations": int(info["iterations"]),
            "converged": bool(info["converged"]),
            "largest_margin_error": round(max(info["margin_errors"].values()), 6),
        }
        for wave, info in raking.items()
    }
    return {"margins": out, "raking": report}


def meta(poll: pd.DataFrame, targets: dict, raking: dict) -> dict:
    """Provenance of the simulated poll, written next to it as JSON."""
    top = pd.read_csv(DATA / "demoscope_toplines.csv")
    rows = []
    for (wave, item), by_age in targets.items():
        d = poll[poll.wave == wave]
        pub = published(top, wave, item)
        realised = {"all": weighted_shares(d, item)}
        realised.update(weighted_shares(d, item, "age_group").unstack().T.to_dict("series"))
        levels = ITEMS[item][1]
        national = {lvl: pub.get(("all", lvl)) for lvl in levels}
        national[RESIDUAL_LEVEL] = 1 - sum(v for (s, _), v in pub.items() if s == "all")
        for lvl in levels:
            for g in ["all", *AGE_GROUPS]:
                target = national[lvl] if g == "all" else by_age[g][lvl]
                basis = "published" if (g, lvl) in pub else "assumed (A7-A9)"
                rows.append({
                    "wave": wave, "item": item, "age_group": g, "level": lvl,
                    "target": round(float(target), 6), "basis": basis,
                    "realised_weighted": round(float(realised[g].get(lvl, 0.0)), 6),
                })  # fmt: skip
    return {
        "simulated": True,
        "description": "SIMULATED respondent-level poll imitating the Demoscope war-attitude "
        "polls in Kazakhstan. No respondent is real. Do not cite it as data.",
        "script": SCRIPT,
        "seed": SEED,
        "generator": "numpy.random.default_rng (PCG64)",
        "rows": len(poll),
        "respondents_per_wave": poll.wave.value_counts().sort_index().to_dict(),
        "inputs": [
            "population_by_region_2023-01-01.csv",
            "population_age_sex_2023.csv",
            "census_2021_ethnicity_national.csv",
            "census_2021_totals.csv",
            "demoscope_methodology.csv",
            "demoscope_toplines.csv",
        ],
        "target_sources": "demoscope_toplines.csv (columns source and verification); the "
        "2023-05 60+ 'improved' figure 10.8 is marked UNVERIFIED there.",
        "weights": "design_weight = design weight (PPS cluster sample, allocation ~ "
        "sqrt(population)) x nonresponse adjustment (planned/achieved PSU take), summing to "
        "the 1 Jan 2023 population in each wave; weight = design_weight raked within each wave "
        "to the region, sex and ethnicity margins of steppe.datasets.poll_margins(wave) with "
        "steppe's Design(wave, weights='design_weight', strata='stratum', psu='psu')"
        ".rake(margins) (R's rake, maxit 10, epsilon 1); assumptions A12, A13.",
        **margins_meta(poll, raking),
        "assumptions": ASSUMPTIONS,
        "targets": rows,
    }


def meta_bytes(m: dict) -> bytes:
    """The exact bytes of the committed .meta.json."""
    return (json.dumps(m, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check verify) the simulated poll and its metadata."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, do not write")
    args = parser.parse_args(argv)
    poll, targets, raking = simulate()
    files = {OUT_CSV: to_csv_bytes(poll), OUT_META: meta_bytes(meta(poll, targets, raking))}
    if args.check:
        bad = [p.name for p, b in files.items() if not p.exists() or p.read_bytes() != b]
        if bad:
            print(f"MISMATCH: {', '.join(bad)} not reproduced by {SCRIPT}", file=sys.stderr)
            return 1
        print(f"OK: {', '.join(p.name for p in files)} reproduced byte-for-byte")
        return 0
    for path, content in files.items():
        path.write_bytes(content)
        print(f"wrote {path} ({len(content)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
