"""PPS sampling without replacement (``Design(pps=, variance=)``) against R's survey.

Goldens: ``tests/golden/make_pps_golden.R`` (R's ``election`` data, Brewer, Overton,
Hartley-Rao, Horvitz-Thompson and Yates-Grundy with joint probabilities), compared
to 1e-9 relative by ``golden_compare``. Then the argument checks and their messages.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from golden_compare import FIELDS, apply_weighting, assert_rows_match

import steppe as sp

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
with open(GOLDEN / "pps" / "pps.json", encoding="utf-8") as f:
    CASES: list[dict[str, Any]] = json.load(f)


def _read(name: str) -> pd.DataFrame:
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(GOLDEN / "data" / f"{name}.csv", **exact)


DATA = _read("election_pps")
CLUS2 = _read("apiclus2_pps")
JOINT = _read("election_jointprob").to_numpy()


def design(spec: dict[str, Any], data: pd.DataFrame = DATA) -> sp.Design:
    pps: Any = spec["pps"]
    if pps == "joint":
        pps = JOINT
    elif pps == "hartley-rao" and spec["psum"] is not None:
        pps = sp.HartleyRao(spec["psum"])
    d = sp.Design(
        data,
        fpc=spec["fpc"],
        strata=spec["strata"],
        psu=spec["psu"],
        psu2=spec["psu2"],
        fpc2=spec["fpc2"],
        pps=pps,
        variance=spec["variance"],
    )
    return apply_weighting(d, spec.get("weighting"))  # type: ignore[no-any-return]


def run(case: dict[str, Any]) -> pd.DataFrame:
    data = {"election_pps": DATA, "apiclus2_pps": CLUS2}[case["data"]]
    d = design(case["design"], data)
    call = case["call"]
    if call["subset"] is not None:
        d = d.subset(data[call["subset"]["column"]] == call["subset"]["equals"])
    kwargs: dict[str, Any] = {"by": call["by"], "level": call["level"]}
    stat = call["stat"]
    if stat == "ratio":
        est = d.ratio(call["variable"], call["denominator"], **kwargs)
    elif stat == "proportion":
        est = d.proportion(call["variable"], ci=call["ci"], **kwargs)
    else:
        est = getattr(d, stat)(call["variable"], **kwargs)
    return est.to_frame()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["name"]) for c in CASES])
def test_pps_golden(case: dict[str, Any]) -> None:
    frame = run(case)
    assert not [c for c in ["level", *FIELDS] if c not in frame.columns]
    assert_rows_match(case, frame)


def test_pps_golden_cases_cover_every_method() -> None:
    seen = {
        (c["design"]["pps"], c["design"]["variance"], c["design"]["psum"] is not None)
        for c in CASES
    }
    assert seen >= {
        ("brewer", "HT", False),
        ("overton", "HT", False),
        ("hartley-rao", "HT", False),
        ("hartley-rao", "HT", True),
        ("joint", "HT", False),
        ("joint", "YG", False),
        ("overton", "YG", False),
        ("hartley-rao", "YG", False),
    }
    assert any(c["call"]["by"] for c in CASES) and any(c["call"]["subset"] for c in CASES)
    assert {s["method"] for c in CASES for s in c["design"]["weighting"] or []} == {
        "poststratify",
        "calibrate",
    }
    assert any(c["design"]["psu2"] for c in CASES)  # two-stage Brewer
    assert len(CASES) >= 100


def test_pps_weights_are_inverse_probabilities() -> None:
    d = sp.Design(DATA, fpc="p", pps="overton")
    np.testing.assert_allclose(d.weights, 1 / DATA.p.to_numpy(), rtol=1e-14)
    summary = d.summary()
    assert summary["pps"] == "overton" and summary["variance"] == "HT"
    yg = sp.Design(DATA, fpc="p", pps=JOINT, variance="YG").summary()
    assert yg["pps"] == "joint" and yg["variance"] == "YG"
    assert "pps" not in sp.Design(DATA, weights="p").summary()
    assert repr(d) == (
        "<steppe.Design: 40 rows, 1 strata, each row its own PSU, PPS overton (HT), df=39>"
    )


def test_pps_joint_accepts_a_dataframe() -> None:
    a = sp.Design(DATA, fpc="p", pps=JOINT).total("Bush").to_frame()
    b = sp.Design(DATA, fpc="p", pps=pd.DataFrame(JOINT)).total("Bush").to_frame()
    assert a.se.iloc[0] == b.se.iloc[0]


def test_pps_threads_do_not_change_the_numbers() -> None:
    one = sp.Design(DATA, fpc="p", pps="hartley-rao", threads=1).mean("Bush", by="winner")
    two = sp.Design(DATA, fpc="p", pps="hartley-rao", threads=2).mean("Bush", by="winner")
    assert one.to_frame().se.tolist() == two.to_frame().se.tolist()


def test_pps_crosstab_uses_the_pps_variance() -> None:
    # R: svyby(~winner, ~size, svydesign(id=~1, fpc=~p, data, pps="overton"), svymean)
    # gives winner shares 0.717453749985 (se 0.104115666709) in size 1 and
    # 0.484196572815 (se 0.283114448913) in size 2 (printed to 12 digits).
    d = sp.Design(DATA, fpc="p", pps="overton")
    tab = d.crosstab("winner", "size").to_frame()
    col = tab[(tab.table == "column") & (tab.level == "Bush")].set_index("size")
    assert col.estimate[1] == pytest.approx(0.717453749985, rel=1e-11)
    assert col.se[1] == pytest.approx(0.104115666709, rel=1e-11)
    assert col.estimate[2] == pytest.approx(0.484196572815, rel=1e-11)
    assert col.se[2] == pytest.approx(0.283114448913, rel=1e-11)


def test_pps_brewer_can_be_weighted() -> None:
    d = sp.Design(DATA, fpc="p", pps="brewer")
    pop = pd.DataFrame({"size": [1, 2], "Freq": [300.0, 2400.0]})
    post = d.poststratify(["size"], pop)
    assert math.isfinite(post.total("Bush").to_frame().se.iloc[0])


# ------------------------------------------------------------------- errors
def _raises(exc: type[Exception], pattern: str, **kwargs: Any) -> None:
    with pytest.raises(exc, match=pattern):
        sp.Design(DATA, **kwargs)


def test_pps_unknown_method() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "pps must be one of ('brewer', 'overton', 'hartley-rao'), a HartleyRao(psum) "
            "or a square matrix of joint inclusion probabilities; got 'HR'"
        ),
        fpc="p",
        pps="HR",
    )
    _raises(sp.InvalidInputError, "got list", fpc="p", pps=[[1.0]])


def test_pps_variance_values() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape("variance must be 'HT' (Horvitz-Thompson) or 'YG' (Yates-Grundy), got 'ht'"),
        fpc="p",
        pps="overton",
        variance="ht",
    )


def test_pps_yates_grundy_needs_joint_probabilities() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "variance='YG' needs a PPS design (pps='overton', 'hartley-rao' or a "
            "joint-probability matrix); R allows only variance='HT' without pps"
        ),
        weights="p",
        variance="YG",
    )
    _raises(
        sp.InvalidInputError,
        re.escape(
            "variance='YG' needs joint inclusion probabilities (pps='overton', "
            "'hartley-rao' or a matrix); Brewer's approximation has only variance='HT', "
            "as R's svydesign"
        ),
        fpc="p",
        pps="brewer",
        variance="YG",
    )


def test_pps_needs_fpc_as_probabilities() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "pps='overton' needs fpc: each row's PSU inclusion probability (R's fpc as "
            "sampling fractions)"
        ),
        weights="p",
        pps="overton",
    )
    data = DATA.assign(N=1 / DATA.p)
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape(
            "fpc column 'N' must hold inclusion probabilities in (0, 1] for a PPS "
            "design; row 0 has 1.1066138"
        ),
    ):
        sp.Design(data, fpc="N", pps="brewer")


def test_pps_fpc_constant_within_psu() -> None:
    data = DATA.assign(cluster=np.arange(len(DATA)) // 2)
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape(
            "fpc varies within PSU '0': fpc column 'p' must be the PSU's inclusion "
            "probability, the same on its rows; it differs in 20 rows (first: row 1)"
        ),
    ):
        sp.Design(data, fpc="p", psu="cluster", pps="overton")


def test_pps_options_that_do_not_apply() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "weights: with pps='overton' the weights are 1 / fpc (R's svydesign ignores "
            "weights= there); omit weights"
        ),
        weights="p",
        fpc="p",
        pps="overton",
    )
    _raises(
        sp.InvalidInputError,
        re.escape(
            "lonely_psu does not apply to pps='hartley-rao': a stratum with a single PSU "
            "adds (1 - pi) z^2 to the variance, as in R; omit lonely_psu"
        ),
        fpc="p",
        pps="hartley-rao",
        lonely_psu="adjust",
    )
    data = DATA.assign(cluster=np.arange(len(DATA)))
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape(
            "a joint-probability matrix needs one row per PSU: omit psu (R's ppsmat "
            "indexes the matrix by the data's rows)"
        ),
    ):
        sp.Design(data, fpc="p", psu="cluster", pps=JOINT)


def test_pps_refuses_adjust_domain_lonely() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "adjust_domain_lonely: not available for PPS designs (pps='brewer'); R's pps "
            "designs other than 'brewer' ignore it, and steppe does not apply it to Brewer's "
            "approximation"
        ),
        fpc="p",
        pps="brewer",
        adjust_domain_lonely=True,
    )


def test_pps_second_stage_checks() -> None:
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape(
            "psu2/fpc2: pps='overton' has a single stage (R: \"Multistage PPS sampling not "
            "supported with this method\"); pps='brewer' has two"
        ),
    ):
        sp.Design(CLUS2, psu="dnum", psu2="snum", fpc="p1", fpc2="frac2", pps="overton")
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape("psu2 with fpc needs fpc2 (the second-stage population size or fraction)"),
    ):
        sp.Design(CLUS2, psu="dnum", psu2="snum", fpc="p1", pps="brewer")
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape(
            "fpc2 column 'fpc2' must hold sampling fractions in (0, 1] for a PPS design (R: "
            '"fpc must be specified as sampling fraction for PPS sampling"); not so in '
        ),
    ):
        sp.Design(CLUS2, psu="dnum", psu2="snum", fpc="p1", fpc2="fpc2", pps="brewer")


def test_pps_joint_matrix_checks() -> None:
    _raises(
        sp.InvalidInputError,
        re.escape(
            "pps: the joint-probability matrix must be 40 x 40 (one row and column per "
            "data row, in row order); got shape (39, 39)"
        ),
        fpc="p",
        pps=JOINT[:39, :39],
    )
    bad = JOINT.copy()
    bad[2, 5] = 0.0
    _raises(
        sp.InvalidInputError,
        re.escape(
            "the joint-probability matrix must hold probabilities in (0, 1]; row 2, column 5 has 0"
        ),
        fpc="p",
        pps=bad,
    )


def test_pps_refuses_what_would_ignore_it() -> None:
    d = sp.Design(DATA, fpc="p", pps="overton")
    with pytest.raises(
        sp.NotEstimableError,
        match=re.escape(
            "chisq is not available for a PPS design (pps='overton'): it would "
            "ignore the joint inclusion probabilities"
        ),
    ):
        d.chisq("winner", "size")
    with pytest.raises(sp.NotEstimableError, match=re.escape("contrast is not available")):
        d.compare("Bush", "winner")
    with pytest.raises(sp.NotEstimableError, match=re.escape("to_replicate is not available")):
        d.to_replicate("JK1")
    with pytest.raises(sp.NotEstimableError, match=re.escape("quantile is not available")):
        d.quantile("Bush", [0.5])
    pop = pd.DataFrame({"size": [1, 2], "Freq": [300.0, 2400.0]})
    with pytest.raises(
        sp.NotEstimableError,
        match=re.escape(
            "weighting a design with pps='overton' is not supported (R's "
            "postStratify and rake fail on such designs); pps='brewer' designs can "
            "be weighted"
        ),
    ):
        d.poststratify(["size"], pop)


def test_hartley_rao_psum() -> None:
    a = sp.Design(DATA, fpc="p", pps=sp.HartleyRao(0.05)).total("Bush").to_frame()
    b = sp.Design(DATA, fpc="p", pps=sp.HartleyRao(0.1)).total("Bush").to_frame()
    assert a.estimate.iloc[0] == b.estimate.iloc[0]
    assert a.se.iloc[0] != b.se.iloc[0]
    with pytest.raises(
        sp.InvalidInputError,
        match=re.escape("HartleyRao: psum must be a finite number >= 0, got -1.0"),
    ):
        sp.Design(DATA, fpc="p", pps=sp.HartleyRao(-1.0))


def test_pps_negative_variance_is_refused() -> None:
    # A psum far above the sample's mean pi makes Hartley-Rao's form negative; R
    # returns a NaN SE.
    d = sp.Design(DATA, fpc="p", pps=sp.HartleyRao(0.9))
    with pytest.raises(
        sp.NotEstimableError,
        match=r"the PPS variance estimate is negative \(-[0-9.e+]+\) in domain 0, cell 0: the "
        r"quadratic form of pps='hartley-rao' \(variance='HT'\) is not positive for these "
        r"totals; R gives a NaN standard error",
    ):
        d.total("Bush")
