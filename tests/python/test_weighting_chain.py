"""Chained and formula weighting against R (issue 9, item 3).

``tests/golden/chain/weighting_chain.json`` is written by
``tests/golden/make_weighting_chain_golden.R``: R's postStratify / calibrate /
rake / trimWeights applied in sequence (each on the design the step before
returned), joint raking margins, formula calibration with an interaction and a
numeric auxiliary, on Taylor designs and on JK1 replicate designs; then
estimates, SEs, CIs and design effects to 1e-9 relative. The rest of the file
tests the API around it: totals as R's model-matrix vector (named or
positional) or per-level counts, reference levels in the data's category
order, the non-convergence warning and ``strict=True``, and every error.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_compare import assert_rows_match, design_from_spec

import steppe as sp

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
with open(GOLDEN / "chain" / "weighting_chain.json", encoding="utf-8") as _f:
    CASES: list[dict[str, Any]] = json.load(_f)["cases"]


@functools.cache
def _read(name: str) -> pd.DataFrame:
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(
        GOLDEN / "data" / f"{name}.csv", keep_default_na=False, na_values=[""], **exact
    )


def _records(records: list[dict[str, Any]], columns: list[str]) -> pd.Series:
    frame = pd.DataFrame(records)
    return frame.set_index(columns)["Freq"]


def apply_step(design: Any, step: dict[str, Any]) -> Any:
    """One golden weighting step through the public API."""
    method = step["method"]
    if method == "poststratify":
        return design.poststratify(step["columns"], pd.DataFrame(step["population"]))
    if method == "calibrate":
        pop = dict(zip(step["population"]["names"], step["population"]["values"]))
        bounds = tuple(step["bounds"]) if step.get("bounds") else None
        return design.calibrate(step["formula"], pop, method=step["calfun"], bounds=bounds)
    if method == "rake":
        margins = {
            (tuple(m["columns"]) if len(m["columns"]) > 1 else m["columns"][0]): _records(
                m["population"], m["columns"]
            )
            for m in step["margins"]
        }
        return design.rake(margins, max_iter=step["maxit"], tol=step["epsilon"])
    if method == "trim":
        return design.trim(step.get("lower"), step.get("upper"), strict=step["strict"])
    raise AssertionError(f"unknown step {method!r}")


def build(case: dict[str, Any]) -> Any:
    design = design_from_spec(_read(case["data"]).copy(), case["design"])
    if case["replicate"] is not None:
        design = design.to_replicate(case["replicate"])
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for step in case["weighting"]:
            design = apply_step(design, step)
    for w in seen:
        assert issubclass(w.category, sp.ConvergenceWarning), w
        caught.append(str(w.message))
    assert len(caught) == len(case["warns"]), (caught, case["warns"])
    for got, r_text in zip(caught, case["warns"]):
        assert got.startswith(r_text.rstrip(".")), (got, r_text)
    return design


def run(case: dict[str, Any]) -> pd.DataFrame:
    design = build(case)
    call = case["call"]
    kwargs: dict[str, Any] = {"by": call["by"], "level": call["level"], "df": call["df"]}
    if call["stat"] == "ratio":
        return design.ratio(call["variable"], call["denominator"], **kwargs).to_frame()
    return getattr(design, call["stat"])(call["variable"], **kwargs).to_frame()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_chain_golden(case: dict[str, Any]) -> None:
    assert_rows_match(case, run(case))


def test_golden_covers_the_issue() -> None:
    names = {c["name"].rsplit("_", 1)[0] for c in CASES}
    assert {
        "clus1_ps_cal_trim",
        "clus1_rake_cal",
        "clus1_rake_joint",
        "clus1_formula_linear",
        "clus1_formula_raking",
        "strat_formula_logit",
        "clus1_rake_not_converged",
        "clus1_jk1_formula",
        "clus1_jk1_ps_cal",
    } <= names
    assert len(CASES) >= 40
    # every trim in the golden chains trims something
    for c in CASES:
        if c["replicate"] is None and c["weighting"][-1]["method"] == "trim":
            d = build(c)
            assert d.summary()["weighting"][-1]["trimmed"] > 0, c["name"]


# ---------------------------------------------------------------------------------
# The API: totals, reference levels, chains, warnings, errors
# ---------------------------------------------------------------------------------
R_TOTALS = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "api99": 3914069.0}


def clus1() -> sp.Design:
    return sp.Design(_read("apiclus1").copy(), weights="pw", psu="dnum", fpc="fpc")


def test_formula_totals_named_positional_and_counts_agree() -> None:
    named = clus1().calibrate("~stype + api99", R_TOTALS)
    positional = clus1().calibrate("~stype + api99", list(R_TOTALS.values()))
    series = clus1().calibrate("~stype + api99", pd.Series(R_TOTALS))
    counts = clus1().calibrate(
        "~stype + api99", {"stype": {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069.0}
    )
    legacy = clus1().calibrate({"stype": {"E": 4421, "H": 755, "M": 1018}, "api99": 3914069.0})
    for d in (positional, series, counts, legacy):
        np.testing.assert_allclose(d.weights, named.weights, rtol=1e-12)
    assert named.summary()["weighting"][0]["targets"] == list(R_TOTALS)
    assert named.summary()["weighting"][0]["formula"] == "~stype + api99"


def test_interaction_totals_from_joint_counts() -> None:
    data = _read("apiclus1")
    joint = pd.DataFrame(
        {
            "stype": ["E", "E", "H", "H", "M", "M"],
            "sch.wide": ["No", "Yes"] * 3,
            "n": [400.0, 4021, 300, 455, 370, 648],
        }
    )
    d = sp.Design(data.copy(), weights="pw", psu="dnum", fpc="fpc")
    by_counts = d.calibrate("~stype*sch.wide", {("stype", "sch.wide"): joint})
    by_names = d.calibrate(
        "~stype*sch.wide",
        {
            "(Intercept)": 6194.0,
            "stypeH": 755.0,
            "stypeM": 1018.0,
            "sch.wideYes": 5124.0,
            "stypeH:sch.wideYes": 455.0,
            "stypeM:sch.wideYes": 648.0,
        },
    )
    np.testing.assert_allclose(by_counts.weights, by_names.weights, rtol=1e-12)
    # The interaction is a joint post-stratification: every cell hits its count.
    t = by_counts.total("stype").to_frame()
    np.testing.assert_allclose(t.estimate.to_numpy(), [4421, 755, 1018], rtol=1e-9)


def test_formula_functions_and_string_literals() -> None:
    # C(x, Treatment('M')) names no column 'M'; R's contr.treatment(base = 3) is the same
    # model with stypeE and stypeH columns.
    pop = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "api99": 3914069.0}
    a = clus1().calibrate("~stype + api99", pop)
    b = clus1().calibrate(
        "~C(stype, contr.treatment('M')) + I(api99 * 1)", [6194.0, 4421.0, 755.0, 3914069.0]
    )
    np.testing.assert_allclose(b.weights, a.weights, rtol=1e-10)


def test_reference_level_follows_category_order() -> None:
    data = _read("apiclus1").copy()
    data["stype"] = pd.Categorical(data["stype"], categories=["M", "H", "E"])
    d = sp.Design(data, weights="pw", psu="dnum", fpc="fpc")
    cal = d.calibrate("~stype", {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeE": 4421.0})
    assert cal.summary()["weighting"][0]["targets"] == ["(Intercept)", "stypeH", "stypeE"]
    plain = clus1().calibrate("~stype", {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0})
    np.testing.assert_allclose(cal.weights, plain.weights, rtol=1e-12)
    legacy = d.calibrate({"stype": {"E": 4421, "H": 755, "M": 1018}})
    assert legacy.summary()["weighting"][0]["targets"] == ["(Intercept)", "stypeH", "stypeE"]


def test_chains_record_every_step_and_keep_each_steps_targets() -> None:
    pop = pd.Series({"E": 4421.0, "H": 755.0, "M": 1018.0})
    raked = (
        clus1()
        .poststratify("stype", pop)
        .calibrate(
            "~sch.wide + api99", {"(Intercept)": 6194.0, "sch.wideYes": 5122.0, "api99": 3914069.0}
        )
        .rake({"stype": pop, "sch.wide": {"No": 1072.0, "Yes": 5122.0}}, tol=1e-9, max_iter=50)
    )
    t = raked.total("stype").to_frame().estimate.to_numpy()
    np.testing.assert_allclose(t, [4421, 755, 1018], rtol=1e-9)
    d = raked.trim(upper=50)
    steps = [s["method"] for s in d.summary()["weighting"]]
    assert steps == ["poststratify", "calibrate", "rake", "trim"]
    assert d.weights.max() <= 50 and d.summary()["weighting"][-1]["trimmed"] > 0
    np.testing.assert_allclose(d.weights.sum(), raked.weights.sum(), rtol=1e-12)


def test_joint_margin_rakes_to_the_cells() -> None:
    data = _read("apiclus1")
    cells = pd.Series(
        [400.0, 4021, 300, 455, 370, 648],
        index=pd.MultiIndex.from_product([["E", "H", "M"], ["No", "Yes"]]),
    )
    d = sp.Design(data.copy(), weights="pw", psu="dnum", fpc="fpc").rake(
        {("stype", "sch.wide"): cells, "awards": {"No": 2027.0, "Yes": 4167.0}},
        tol=1e-10,
        max_iter=100,
    )
    w = d.weights
    got = pd.Series(w).groupby([data["stype"], data["sch.wide"]]).sum()
    np.testing.assert_allclose(got.to_numpy(), cells.to_numpy(), rtol=1e-8)
    assert d.summary()["weighting"][0]["margins"] == ["stype:sch.wide", "awards"]


def test_rake_not_converging_warns_and_keeps_the_last_iterate() -> None:
    margins = {
        "stype": {"E": 4421.0, "H": 755.0, "M": 1018.0},
        "sch.wide": {"No": 1072.0, "Yes": 5122.0},
    }
    with pytest.warns(
        sp.ConvergenceWarning,
        match=r"^Raking did not converge after 1 iterations "
        r"\(R's warning\): the largest change .* margin errors: stype .*, sch.wide "
        r".*The weights are the last iteration's; raise max_iter or check the "
        r"margins\.$",
    ):
        d = clus1().rake(margins, max_iter=1, tol=1e-12)
    step = d.summary()["weighting"][0]
    assert step["converged"] is False and step["iterations"] == 1
    # the last pass ends on the last margin, so that margin is met exactly
    t = d.total("sch.wide").to_frame().estimate.to_numpy()
    np.testing.assert_allclose(t, [1072, 5122], rtol=1e-12)
    with pytest.raises(sp.NotEstimableError, match="^Raking did not converge after 1 iterations"):
        clus1().rake(margins, max_iter=1, tol=1e-12, strict=True)


def test_calibration_not_converging_warns_or_raises() -> None:
    pop = {"(Intercept)": 6194.0, "stypeH": 755.0, "stypeM": 1018.0, "api99": 3914069.0}
    with pytest.warns(
        sp.ConvergenceWarning,
        match=(
            r"^Calibration did not converge after 2 iterations \(raking, bounds \(0\.5, 2\.0\); "
            r"R: \"Failed to converge: eps=0\.0476375 in 3 iterations\"\): the largest misfit "
            r"\|target - total\| / \(1 \+ \|target\|\) is .*, tol 1e-07\. The "
            r"weights are the last iteration's, as R's calibrate\(force = TRUE\); without force R "
            r"stops with \"Calibration failed\"\. Widen the bounds, raise max_iter or check the "
            r"targets\.$"
        ),
    ):
        d = clus1().calibrate("~stype + api99", pop, method="raking", bounds=(0.5, 2.0), max_iter=2)
    assert d.summary()["weighting"][0]["converged"] is False
    with pytest.raises(sp.NotEstimableError, match="^Calibration did not converge after 2"):
        clus1().calibrate(
            "~stype + api99", pop, method="raking", bounds=(0.5, 2.0), max_iter=2, strict=True
        )
    # bounded raking through rake(bounds=) takes strict= too
    with pytest.raises(sp.NotEstimableError, match="^Calibration did not converge after 1"):
        clus1().rake(
            {"stype": {"E": 4421.0, "H": 755.0, "M": 1018.0}},
            bounds=(0.9, 1.1),
            max_iter=1,
            strict=True,
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda d: d.calibrate("~stype + api99"),
            r"^calibrate: the formula '~stype \+ api99' needs population= "
            r"\(R's model-matrix totals or per-level counts\)$",
        ),
        (
            lambda d: d.calibrate({"stype": {"E": 1.0}}, {"x": 1}),
            r"^calibrate: population= goes with a formula; per-level targets carry their own "
            r"counts$",
        ),
        (
            lambda d: d.calibrate(["stype"]),
            r"^calibrate: targets must be a formula such as '~stype \+ api99' or a dict of "
            r"per-level counts, got list$",
        ),
        (
            lambda d: d.calibrate("~stype + nosuch", [1.0]),
            r"^formula '~stype \+ nosuch' names column\(s\) \['nosuch'\] that the data does not "
            r"have$",
        ),
        (
            lambda d: d.calibrate("stype", [1.0]),
            r"^calibrate: a formula is a string such as '~stype \+ api99'$",
        ),
        (
            lambda d: d.calibrate("~stype + api99", [6194.0, 755.0]),
            r"^calibrate: 2 totals given for 4 model columns \['\(Intercept\)', 'stypeH', "
            r"'stypeM', 'api99'\]$",
        ),
        (
            lambda d: d.calibrate("~stype + api99", {"(Intercept)": 6194.0, "stypeH": 755.0}),
            r"^calibrate: the totals lack the model column\(s\) \['stypeM', 'api99'\]; the model's "
            r"columns are \['\(Intercept\)', 'stypeH', 'stypeM', 'api99'\]$",
        ),
        (
            lambda d: d.calibrate("~stype", pd.Series({"(Intercept)": 1.0, "stype[T.H]": 2.0})),
            r"^calibrate: total\(s\) named \['stype\[T.H\]'\] are not model columns; the model's "
            r"columns are \['\(Intercept\)', 'stypeH', 'stypeM'\] \(as R's model.matrix names "
            r"them\)$",
        ),
        (
            lambda d: d.calibrate("~stype", "x"),
            r"^calibrate: population must be R's model-matrix totals \(a Series, dict or list\) or "
            r"per-level counts \(a dict\), got str$",
        ),
        (
            lambda d: d.calibrate("~stype*sch.wide", {"stype": {"E": 4421, "H": 755, "M": 1018}}),
            r"^calibrate: no counts cover \['sch.wide'\] for the model column 'sch.wideYes'; give "
            r"counts over those columns \(a key such as \('sch.wide',\)\) or R's model-matrix "
            r"totals$",
        ),
        (
            lambda d: d.calibrate("api00 ~ stype", [1.0]),
            r"^calibrate: the formula 'api00 ~ stype' has a left-hand side; a calibration "
            r"formula is one-sided, such as '~stype \+ api99'$",
        ),
        (
            lambda d: d.calibrate("~stype", {"stype": {"E": 4421, "H": 755}}),
            r"^calibrate: the counts of \['stype'\] have no entry for 'M' \(model column "
            r"'stypeM'\); list every level, with count 0 if the population has none$",
        ),
        (
            lambda d: d.calibrate("~stype:api99", {"stype": {"E": 4421, "H": 755, "M": 1018}}),
            r"^calibrate: the model column 'stypeE:api99' needs its population total; per-level "
            r"counts give only counts and numeric totals, so give R's model-matrix totals$",
        ),
        (
            lambda d: d.calibrate("~api99", {"api99": 1.0, "x": 2.0}),
            r"^calibrate: the intercept needs the population size: give counts of a categorical "
            r"column or total=$",
        ),
        (
            lambda d: d.calibrate(
                "~stype + sch.wide",
                {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1.0, "Yes": 2.0}},
            ),
            r"^calibrate: the counts of \['sch.wide'\] sum to 3.0, other totals to 6194.0$",
        ),
        (
            lambda d: d.calibrate("~stype + acs.k3", [1.0, 2.0, 3.0, 4.0]),
            r"^calibrate: column 'acs.k3' is missing in .*; auxiliaries may not be missing$",
        ),
        (
            lambda d: d.calibrate({("stype", "sch.wide"): 5.0}),
            r"^calibrate: the total of \('stype', 'sch.wide'\) must be one number$",
        ),
        (
            lambda d: d.rake(
                {
                    ("stype", "sch.wide"): pd.Series(
                        [1.0], index=pd.MultiIndex.from_tuples([("E", "No")])
                    )
                }
            ),
            r"^rake: level\(s\) \['E / Yes', 'H / No', 'H / Yes', 'M / No', 'M / Yes'\] of "
            r"'stype:sch.wide' are in the sample, not in its margin$",
        ),
        (
            lambda d: d.rake(
                {
                    ("stype", "sch.wide"): pd.Series(
                        [1.0] * 7,
                        index=pd.MultiIndex.from_product([["E", "H", "M"], ["No", "Yes"]]).append(
                            pd.MultiIndex.from_tuples([("X", "No")])
                        ),
                    )
                }
            ),
            r"^rake: margin 'stype:sch.wide' has level\(s\) \['X / No'\] with no sample$",
        ),
        (
            lambda d: d.rake({("stype", "nosuch"): {}}),
            r"^rake margins: unknown column\(s\) \['nosuch'\]",
        ),
    ],
)
def test_errors_name_the_problem(call: Any, message: str) -> None:
    with pytest.raises(sp.InvalidInputError, match=message):
        call(clus1())


def test_replicate_chains_reweight_every_replicate() -> None:
    r = clus1().to_replicate("JK1")
    pop = pd.Series({"E": 4421.0, "H": 755.0, "M": 1018.0})
    chained = r.poststratify("stype", pop).calibrate("~api99", [6194.0, 3914069.0])
    reps = chained.replicate_weights
    api99 = _read("apiclus1")["api99"].to_numpy()
    # every replicate column is calibrated to the last step's totals
    np.testing.assert_allclose(reps.sum(axis=0), 6194.0, rtol=1e-9)
    np.testing.assert_allclose(api99 @ reps, 3914069.0, rtol=1e-9)
    assert math.isfinite(float(chained.mean("api00").to_frame().se.iloc[0]))


def test_post_stratifying_twice_to_the_same_counts_changes_nothing() -> None:
    # g is constant within a post-stratum, so the second step's residuals vanish
    # (svyrecvar: the first step leaves each cell's sum of x / g at zero).
    pop = pd.Series({"E": 4421.0, "H": 755.0, "M": 1018.0})
    once = clus1().poststratify("stype", pop)
    twice = once.poststratify("stype", pop)
    a = once.mean("api00", by="sch.wide").to_frame()
    b = twice.mean("api00", by="sch.wide").to_frame()
    np.testing.assert_allclose(b.estimate, a.estimate, rtol=1e-12)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-9)


def test_bounded_raking_takes_joint_margins() -> None:
    data = _read("apiclus1")
    cells = pd.Series(
        [400.0, 4021, 300, 455, 370, 648],
        index=pd.MultiIndex.from_product([["E", "H", "M"], ["No", "Yes"]]),
    )
    margins = {("stype", "sch.wide"): cells, "awards": {"No": 2027.0, "Yes": 4167.0}}
    d = sp.Design(data.copy(), weights="pw", psu="dnum", fpc="fpc")
    bounded = d.rake(margins, bounds=(0.2, 5.0), tol=1e-10)
    got = pd.Series(bounded.weights).groupby([data["stype"], data["sch.wide"]]).sum()
    np.testing.assert_allclose(got.to_numpy(), cells.to_numpy(), rtol=1e-7)
    step = bounded.summary()["weighting"][0]
    assert step["method"] == "calibrate" and step["calfun"] == "raking"
    assert step["targets"][:2] == ["(Intercept)", "stypeE:sch.wideYes"]
