"""Replicate-weight designs against R's ``survey`` package.

``tests/golden/replicate/replicate.json`` is written by
``tests/golden/make_replicate_golden.R`` (it reads the CSVs of make_golden.R and
exports R's replicate weights to ``tests/golden/data/rep_*.csv``). Every design
there has one or more ways to be built in steppe (``Design.to_replicate`` or
``ReplicateDesign`` over R's exported replicate weights); each must give R's
estimate, se, interval, design effect, df and n to 1e-9 relative for every case.
``to_replicate`` must also give R's replicate weights, scale and rscales, and
R's Hadamard matrices. Bootstrap replicates are drawn with numpy, so they are
tested by their properties.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_compare import apply_weighting, assert_rows_match, close, design_from_spec

import steppe as sp
from steppe._replicate_weights import _hadamard

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
GOLDEN_FILE = GOLDEN / "replicate" / "replicate.json"
DATA_PATHS = {
    "kz_poll_simulated": ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv",
}

with open(GOLDEN_FILE, encoding="utf-8") as _f:
    GOLD = json.load(_f)


@functools.cache
def _read(name: str) -> pd.DataFrame:
    path = DATA_PATHS.get(name, GOLDEN / "data" / f"{name}.csv")
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(path, keep_default_na=False, na_values=[""], **exact)


def load_data(name: str, filter: dict[str, Any] | None = None) -> pd.DataFrame:
    data = _read(name).copy()
    if filter is not None:
        data = data[data[filter["column"]] == filter["equals"]].reset_index(drop=True)
    return data


def base_design(data: pd.DataFrame, ds: dict[str, Any]) -> sp.Design:
    return design_from_spec(data, ds)  # type: ignore[no-any-return]


def build(b: dict[str, Any]) -> sp.ReplicateDesign:
    """One way of building a golden design in steppe, then its weighting steps."""
    d = build_unweighted(b)
    return apply_weighting(d, b.get("weighting"))  # type: ignore[no-any-return]


def build_unweighted(b: dict[str, Any]) -> sp.ReplicateDesign:
    data = load_data(b["data"], b["filter"])
    if b["kind"] == "to_replicate":
        d = base_design(data, b["design"])
        return d.to_replicate(b["type"], rho=b["fay_rho"], mse=b["mse"])  # type: ignore[no-any-return]
    assert b["kind"] == "columns", b["kind"]
    reps = _read(b["replicate_csv"])
    assert len(reps) == len(data)
    data = pd.concat([data, reps], axis=1)
    return sp.ReplicateDesign(
        data,
        weights=b["weights"],
        replicate_weights=list(reps.columns),
        type=b["type"],
        rho=b["rho"],
        scale=b["scale"],
        rscales=b["rscales"],
        mse=b["mse"],
        combined_weights=b["combined_weights"],
    )


@functools.cache
def built(design: str, i: int) -> sp.ReplicateDesign:
    return build(GOLD["designs"][design][i])


def run(case: dict[str, Any], design: sp.ReplicateDesign) -> pd.DataFrame:
    call = case["call"]
    sub = call["subset"]
    if sub is not None:
        column = design.data[sub["column"]]
        mask = column == sub["equals"] if "equals" in sub else column.isin(sub["in"])
        design = design.subset(mask)
    kwargs: dict[str, Any] = {"by": call["by"], "level": call["level"], "df": call["df"]}
    stat = call["stat"]
    if stat == "ratio":
        est = design.ratio(call["variable"], call["denominator"], **kwargs)
    elif stat == "proportion":
        est = design.proportion(call["variable"], ci=call["ci"], **kwargs)
    else:
        est = getattr(design, stat)(call["variable"], **kwargs)
    return est.to_frame()


BUILD_PARAMS = [
    pytest.param(case, i, id=f"{case['name']}-{b['kind']}")
    for case in GOLD["cases"]
    for i, b in enumerate(GOLD["designs"][case["design"]])
]


@pytest.mark.parametrize(("case", "build_index"), BUILD_PARAMS)
def test_replicate_golden(case: dict[str, Any], build_index: int) -> None:
    design = built(case["design"], build_index)
    frame = run(case, design)
    assert_rows_match(case, frame)


def test_golden_contents() -> None:
    assert len(GOLD["cases"]) >= 40
    names = [c["name"] for c in GOLD["cases"]]
    assert len(set(names)) == len(names)
    kinds = {b["kind"] for builds in GOLD["designs"].values() for b in builds}
    assert kinds == {"to_replicate", "columns"}
    types = {b["type"] for builds in GOLD["designs"].values() for b in builds}
    assert {"JK1", "JKn", "BRR", "Fay", "bootstrap"} <= types
    # R drops replicates that give NA in a domain (svrVar's na.action); the golden has one
    assert GOLD["na_replicate_cases"]
    # logit intervals from replicate fits differ from the delta method's by far more than
    # the tolerance, so the logit cases check the replicate logits are used
    assert GOLD["logit_gap"] > 1e-3
    assert sum(c["call"]["ci"] == "logit" for c in GOLD["cases"]) >= 3


def test_logit_interval_with_a_replicate_share_of_zero() -> None:
    # Replicate 1 drops the only "yes" row: its logit is -inf, the interval [0, 1].
    df = pd.DataFrame({"w": [1.0] * 4, "y": ["yes", "no", "no", "no"]})
    for i in range(4):
        df[f"rep{i}"] = np.where(np.arange(4) == i, 0.0, 4 / 3)
    d = sp.ReplicateDesign(df, weights="w", replicate_weights="^rep", type="JK1")
    yes = d.proportion("y", ci="logit").to_frame().set_index("level").loc["yes"]
    assert (yes.ci_low, yes.ci_high) == (0.0, 1.0)
    xl = d.proportion("y", ci="xlogit").to_frame().set_index("level").loc["yes"]
    assert 0 < xl.ci_low < xl.ci_high < 1
    with pytest.raises(sp.InvalidInputError, match="likelihood"):
        d.proportion("y", ci="likelihood")


# ------------------------------------------------------------ to_replicate = R's weights
@pytest.mark.parametrize("w", GOLD["weights"], ids=lambda w: w["name"])
def test_to_replicate_weights_match_r(w: dict[str, Any]) -> None:
    data = load_data(w["data"], w["filter"])
    d = base_design(data, w["design"])
    rd = d.to_replicate(w["type"], rho=w["fay_rho"])
    reps = rd.replicate_weights
    assert rd.summary()["type"] == w["r_type"]
    assert reps.shape == (len(data), len(w["rscales"]))
    if w["replicate_csv"] is not None:
        mult = _read(w["replicate_csv"]).to_numpy(dtype=np.float64)
        want = mult * d.weights[:, None]
        np.testing.assert_allclose(reps, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(reps.sum(axis=0), w["col_sums"], rtol=1e-12)
    index = np.arange(1, len(data) + 1, dtype=np.float64)
    np.testing.assert_allclose((reps * index[:, None]).sum(axis=0), w["col_index_sums"], rtol=1e-12)
    assert close(rd.scale, w["scale"], 1e-12)
    np.testing.assert_allclose(rd.rscales, w["rscales"], rtol=1e-12)
    assert rd.degf == w["degf"]


def test_hadamard_matches_r() -> None:
    for h in GOLD["hadamard"]["matrices"]:
        m = _hadamard(h["n"])
        assert m.shape == (h["nrow"], h["ncol"]), h["n"]
        i = np.arange(1, m.shape[0] + 1)[:, None]
        j = np.arange(1, m.shape[1] + 1)[None, :]
        assert int((m * ((i * 131 + j * 17) % 1009)).sum()) == h["checksum"], h["n"]
        # a Hadamard matrix: +-1 form has orthogonal columns
        pm = 2 * m - 1
        assert np.array_equal(pm.T @ pm, m.shape[0] * np.eye(m.shape[0], dtype=np.int64))
    for n in GOLD["hadamard"]["stored"]:
        with pytest.raises(sp.InvalidInputError, match=f"stored {28 if n % 8 < 4 else 36}|stored"):
            _hadamard(n)


def test_to_replicate_does_not_change_the_design() -> None:
    data = load_data("apistrat")
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    before = d.mean("api00").to_frame()
    spec = d.summary()
    rd = d.to_replicate()
    assert isinstance(rd, sp.ReplicateDesign)
    assert d.summary() == spec
    pd.testing.assert_frame_equal(d.mean("api00").to_frame(), before)
    assert rd.summary()["replicates"] == 200
    assert "JKn" in repr(rd)
    # domains of the replicate design work as R's subset
    sub = rd.subset(data.stype == "E").mean("api00").to_frame()
    by = rd.mean("api00", by="stype").to_frame()
    assert close(float(sub.se.iloc[0]), float(by[by.stype == "E"].se.iloc[0]))


# ------------------------------------------------------------------------- bootstrap
def _strat_design(fpc: bool) -> sp.Design:
    data = load_data("apistrat")
    return sp.Design(data, weights="pw", strata="stype", fpc="fpc" if fpc else None)


@pytest.mark.parametrize("fpc", [False, True])
def test_bootstrap_properties(fpc: bool) -> None:
    d = _strat_design(fpc)
    r_count = 2000
    rd = d.to_replicate("bootstrap", replicates=r_count, seed=12345)
    reps = rd.replicate_weights
    assert reps.shape == (200, r_count)
    mult = reps / d.weights[:, None]
    # multipliers are the times each PSU (school) was drawn ...
    np.testing.assert_allclose(mult, np.round(mult), rtol=0, atol=1e-12)
    mult = np.round(mult)
    assert (mult >= 0).all()
    # ... and each replicate draws n_h PSUs in every stratum
    stype = d.data.stype.to_numpy()
    for s, n_h in (("E", 100), ("M", 50), ("H", 50)):
        assert (mult[stype == s].sum(axis=0) == n_h).all()
    # replicate weights average to the full-sample weights
    np.testing.assert_allclose(reps.mean(axis=1), d.weights, rtol=0.12)
    assert abs(reps.mean() / d.weights.mean() - 1) < 0.01
    # R's scale: nbar / ((nbar - 1) (R - 1)), nbar the harmonic mean of PSUs per stratum
    nbar = 3 / (1 / 100 + 1 / 50 + 1 / 50)
    assert close(rd.scale, nbar / ((nbar - 1) * (r_count - 1)), 1e-12)
    assert rd.summary()["type"] == "bootstrap"
    # the bootstrap variance estimates the jackknife's
    se_boot = float(rd.mean("api00").to_frame().se.iloc[0])
    se_jk = float(d.to_replicate("JKn").mean("api00").to_frame().se.iloc[0])
    assert abs(se_boot / se_jk - 1) < 0.1


def test_subbootstrap_properties() -> None:
    d = _strat_design(False)
    r_count = 1000
    rd = d.to_replicate("subbootstrap", replicates=r_count, seed=3)
    assert rd.type == "subbootstrap"
    assert close(rd.scale, 1 / (r_count - 1), 1e-15)  # R: scale = 1 / (replicates - 1)
    mult = rd.replicate_weights / d.weights[:, None]
    stype = d.data.stype.to_numpy()
    for s, n_h in (("E", 100), ("M", 50), ("H", 50)):
        # n_h - 1 draws, each worth n_h / (n_h - 1): whole draws that add up to n_h
        draws = mult[stype == s] * (n_h - 1) / n_h
        np.testing.assert_allclose(draws, np.round(draws), rtol=0, atol=1e-9)
        np.testing.assert_allclose(draws.sum(axis=0), n_h - 1, rtol=0, atol=1e-9)
    se_sub = float(rd.mean("api00").to_frame().se.iloc[0])
    se_jk = float(d.to_replicate("JKn").mean("api00").to_frame().se.iloc[0])
    assert abs(se_sub / se_jk - 1) < 0.1


def test_bootstrap_seed() -> None:
    d = _strat_design(True)
    a = d.to_replicate("bootstrap", replicates=20, seed=7).replicate_weights
    b = d.to_replicate("bootstrap", replicates=20, seed=7).replicate_weights
    c = d.to_replicate("bootstrap", replicates=20, seed=8).replicate_weights
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bootstrap_unstratified_clusters() -> None:
    data = load_data("apiclus1")
    d = sp.Design(data, weights="pw", psu="dnum")
    rd = d.to_replicate("bootstrap", replicates=30, seed=1)
    mult = np.round(rd.replicate_weights / d.weights[:, None], 12)
    # constant within a PSU, 15 draws per replicate
    for _, rows in data.groupby("dnum").groups.items():
        block = mult[np.asarray(rows)]
        assert (block == block[0]).all()
    first = data.drop_duplicates("dnum").index.to_numpy()
    assert (mult[first].sum(axis=0) == 15).all()
    assert close(rd.scale, 15 / (14 * 29), 1e-12)


# ---------------------------------------------------------------------------- errors
def _scd(name: str = "scd", **kw: Any) -> sp.Design:
    return sp.Design(load_data(name), weights="w", strata="ESA", psu="ambulance", nest=True, **kw)


def test_replicate_design_bad_input() -> None:
    data = load_data("scd")
    with pytest.raises(sp.InvalidInputError, match="no column matches"):
        sp.ReplicateDesign(data, weights="w", replicate_weights="^repwt[0-9]+$", type="BRR")
    with pytest.raises(sp.InvalidInputError):
        sp.ReplicateDesign(data, weights="w", replicate_weights=["nope1", "nope2"], type="BRR")
    reps = pd.concat([data, _read("rep_scd_fay")], axis=1)
    with pytest.raises(sp.InvalidInputError, match="rho"):
        sp.ReplicateDesign(reps, weights="w", replicate_weights="^rep[0-9]+$", type="Fay")
    with pytest.raises(sp.InvalidInputError, match="rscales"):
        sp.ReplicateDesign(reps, weights="w", replicate_weights="^rep[0-9]+$", type="JKn")


@pytest.mark.parametrize(("bad", "what"), [(np.nan, "missing \\(NaN\\)"), (-1.0, "negative")])
def test_replicate_weight_columns_are_checked_by_name(bad: float, what: str) -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "w": 1.0, "r1": [0.0, 2, 2, 2], "r2": [2.0, 0, 2, 2]})
    df.loc[[1, 3], "r2"] = bad
    with pytest.raises(
        sp.InvalidInputError,
        match=f"replicate weights column 'r2' is {what} in 2 rows \\(first: row position 1\\)",
    ):
        sp.ReplicateDesign(df, weights="w", replicate_weights=["r1", "r2"])
    df["r2"] = [2.0, np.inf, 2, 2]
    with pytest.raises(sp.InvalidInputError, match="column 'r2' has infinite values in 1 row"):
        sp.ReplicateDesign(df, weights="w", replicate_weights=["r1", "r2"])
    df["r2"] = ["a", "b", "c", "d"]
    with pytest.raises(sp.InvalidInputError, match="replicate weights column 'r2' is not numeric"):
        sp.ReplicateDesign(df, weights="w", replicate_weights=["r1", "r2"])


@pytest.mark.parametrize("threads", [1, 2])
def test_replicate_columns_not_combined_are_multiplied_by_the_weights(threads: int) -> None:
    df = pd.DataFrame({"y": [1.0, 2, 3, 4], "w": [1.0, 2, 3, 4]})
    df["r1"], df["r2"] = [0.0, 2, 2, 2], [2.0, 0, 2, 2]
    d = sp.ReplicateDesign(
        df, weights="w", replicate_weights=["r1", "r2"], combined_weights=False, threads=threads
    )
    expected = df[["r1", "r2"]].to_numpy() * df[["w"]].to_numpy()
    np.testing.assert_array_equal(d.replicate_weights, expected)


def test_to_replicate_bad_input() -> None:
    strat = _strat_design(True)
    clus = sp.Design(load_data("apiclus1"), weights="pw", psu="dnum", fpc="fpc")
    with pytest.raises(sp.InvalidInputError, match="Can't use JK1 for a stratified design"):
        strat.to_replicate("JK1")
    for t in ("JKn", "BRR", "Fay"):
        with pytest.raises(sp.InvalidInputError, match="unstratified"):
            clus.to_replicate(t, rho=0.3)
    with pytest.raises(sp.InvalidInputError, match="rho"):
        _scd().to_replicate("Fay")  # R would silently make BRR
    for rho in (-0.1, 1.0, "0.3"):
        with pytest.raises(sp.InvalidInputError, match="rho"):
            _scd().to_replicate("Fay", rho=rho)  # type: ignore[arg-type]
    with pytest.raises(sp.InvalidInputError, match="type must be"):
        clus.to_replicate("jackknife")
    for bad in (1, 2.5, True):
        with pytest.raises(sp.InvalidInputError, match="replicates"):
            clus.to_replicate("bootstrap", replicates=bad)  # type: ignore[arg-type]
    with pytest.raises(sp.InvalidInputError, match="subset"):
        clus.subset(clus.data.stype == "E").to_replicate()
    with pytest.raises(sp.InvalidInputError, match="already"):
        sp.Design.to_replicate(clus.to_replicate())


def test_brr_needs_pairs() -> None:
    # R: "Some strata have fewer than 2 PSUs"
    with pytest.raises(sp.InvalidInputError, match="fewer than 2 PSUs"):
        _scd("scd_lonely").to_replicate("BRR")
    # R: "Can't split with odd numbers of PSUs in a stratum"
    data = load_data("apistrat")
    odd = data.iloc[:-1].reset_index(drop=True)  # 49 high schools
    with pytest.raises(sp.InvalidInputError, match="even number"):
        sp.Design(odd, weights="pw", strata="stype").to_replicate("BRR")
    # 24 pairs: R takes its stored 28 x 28 Hadamard matrix, which steppe does not rebuild
    df = pd.DataFrame({"s": np.repeat(np.arange(24), 2), "w": 1.0, "y": np.arange(48.0)})
    with pytest.raises(sp.InvalidInputError, match="28 x 28"):
        sp.Design(df, weights="w", strata="s").to_replicate("BRR")
    # 23 pairs: a 24 x 24 Paley matrix
    ok = df[df.s < 23].reset_index(drop=True)
    rd = sp.Design(ok, weights="w", strata="s").to_replicate("BRR")
    assert rd.replicate_weights.shape == (46, 24)


def test_jkn_lonely_psu() -> None:
    # R: "Stratum3has only one PSU" under survey.lonely.psu = "fail"
    with pytest.raises(sp.NotEstimableError, match="only one PSU"):
        _scd("scd_lonely").to_replicate("JKn")
    for rule in ("remove", "certainty", "average", "adjust"):
        rd = _scd("scd_lonely", lonely_psu=rule).to_replicate("JKn")
        assert rd.replicate_weights.shape[1] == (5 if rule == "adjust" else 4)


def test_exhaustive_sample_has_no_replicates() -> None:
    df = pd.DataFrame({"p": [1, 1, 2, 2, 3], "w": 1.0, "N": 3.0, "y": [1.0, 2, 3, 4, 5]})
    with pytest.raises(sp.NotEstimableError, match="exhaustively"):
        sp.Design(df, weights="w", psu="p", fpc="N").to_replicate("JK1")
    # a stratum with N = n gets no JKn replicates (R's survey.drop.replicates)
    df2 = pd.DataFrame(
        {"s": [1, 1, 2, 2, 2], "w": 1.0, "N": [2.0, 2, 10, 10, 10], "y": [1.0, 2, 3, 4, 5]}
    )
    rd = sp.Design(df2, weights="w", strata="s", fpc="N").to_replicate("JKn")
    assert rd.replicate_weights.shape == (5, 3)
    np.testing.assert_allclose(rd.rscales, [0.7 * 2 / 3] * 3)


@pytest.mark.parametrize("rank", [1, 7, 30])
def test_domain_rank_from_cross_products_equals_svd_rank(rank: int) -> None:
    rng = np.random.default_rng(rank)
    # tall replicate-like matrices of known rank, with weights spanning 1e-2 .. 1e4
    x = rng.uniform(0.01, 1e4, size=(500, rank)) @ rng.uniform(0, 1, size=(rank, 40))

    def svd_rank(m: np.ndarray) -> int:
        s = np.linalg.svd(m, compute_uv=False)
        return int(np.sum(s > 1e-5 * s[0]))

    df = pd.DataFrame(x, columns=[f"r{j}" for j in range(40)])
    df["w"] = x.mean(axis=1)
    df["y"] = rng.standard_normal(500)
    df["g"] = np.where(np.arange(500) < 60, "short", "long")
    rd = sp.ReplicateDesign(df, weights="w", replicate_weights="^r[0-9]+$", type="other")
    assert svd_rank(x) == rank
    assert rd.degf == rank - 1
    by_group = rd.mean("y", by="g").to_frame().set_index("g")
    assert by_group.df["short"] == svd_rank(x[:60]) - 1
    assert by_group.df["long"] == svd_rank(x[60:]) - 1


def test_trim_replicate_design_trims_every_column() -> None:
    # R's trimWeights.svyrep.design is broken in survey 4.1.1, so this is checked by its
    # definition: every column (full sample and each replicate) trimmed by the same rule.
    data = load_data("apistrat")
    d = base_design(data, GOLD["designs"]["apistrat_jkn"][0]["design"]).to_replicate("JKn")
    t = d.trim(upper=40.0)
    plain = sp.Design(data.assign(_w=d.weights), weights="_w").trim(upper=40.0)
    np.testing.assert_allclose(t.weights, plain.weights, rtol=1e-15)
    for r in (0, 7, d.replicate_weights.shape[1] - 1):
        col = d.replicate_weights[:, r]
        want = sp.Design(data.assign(_w=col), weights="_w").trim(upper=40.0).weights
        np.testing.assert_allclose(t.replicate_weights[:, r], want, rtol=1e-15)
    assert t.weights.max() <= 40.0 + 1e-12
    assert t.weights.sum() == pytest.approx(d.weights.sum(), rel=1e-12)
    # the original design is unchanged
    assert d.weights.max() > 40.0


def test_weighting_a_replicate_design_names_the_failing_replicate() -> None:
    data = load_data("apiclus1")
    d = base_design(data, GOLD["designs"]["apiclus1_jk1"][0]["design"]).to_replicate("JK1")
    pop = {"E": 4421.0, "H": 755.0, "M": 1018.0}
    ps = d.poststratify("stype", pop)
    assert ps.proportion("stype").to_frame().estimate.tolist() == pytest.approx(
        [4421 / 6194, 755 / 6194, 1018 / 6194], rel=1e-12
    )
    # Cell "b" is only in PSU 2: the replicate that drops PSU 2 has no weight there.
    df = pd.DataFrame({"psu": [1, 1, 2, 2, 3, 3], "w": [1.0] * 6, "c": list("aabaaa")})
    rep = sp.Design(df, weights="w", psu="psu").to_replicate("JK1")
    with pytest.raises(sp.SteppeError, match="replicate 2"):
        rep.poststratify("c", {"a": 10.0, "b": 2.0})


def test_replicate_constants_are_public_and_read_only() -> None:
    # R's svrepdesign object: design$type, $scale, $rscales, $rho, $mse.
    data = load_data("scd")
    reps = pd.concat([data, _read("rep_scd_fay")], axis=1)
    names = list(_read("rep_scd_fay").columns)
    fay = sp.ReplicateDesign(data=reps, weights="w", replicate_weights=names, type="Fay", rho=0.3)
    assert fay.type == "Fay" and fay.rho == 0.3 and fay.mse is False
    assert close(fay.scale, 1 / (len(names) * 0.7**2), 1e-12)
    assert fay.rscales == [1.0] * len(names)
    jk = _scd().to_replicate("JKn", mse=True)
    assert jk.type == "JKn" and jk.mse is True and jk.rho is None
    assert len(jk.rscales) == jk.replicate_weights.shape[1]
    for name, value in (("type", "BRR"), ("scale", 1.0), ("rscales", []), ("rho", 0.5), ("mse", 1)):
        with pytest.raises(AttributeError):
            setattr(jk, name, value)
    assert jk.summary()["type"] == "JKn"


def test_a_result_without_df_does_not_compute_the_replicate_rank() -> None:
    data = load_data("scd")
    reps = pd.concat([data, _read("rep_scd_fay")], axis=1)
    d = sp.ReplicateDesign(reps, weights="w", replicate_weights="^rep[0-9]+$", type="Fay", rho=0.3)
    assert d.mean("arrests", df=math.inf).meta["design"]["degf"] is None
    assert d.mean("arrests").meta["design"]["degf"] == d.degf
