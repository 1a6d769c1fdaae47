"""Every quantile rule under unequal weights against R's svyquantile (make_quantile_golden.R)."""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core

ROOT = pathlib.Path(__file__).parents[2]
GOLDEN = json.loads((ROOT / "tests" / "golden" / "quantile" / "rules.json").read_text())
RULES = sorted({r["rule"] for r in GOLDEN["rows"]})


@pytest.fixture(scope="module")
def design() -> sp.Design:
    data = pd.read_csv(ROOT / "tests" / "golden" / "data" / "apistrat.csv")
    return sp.Design(data, **GOLDEN["design"])


@pytest.mark.parametrize("by", [False, True], ids=["all", "by_stype"])
@pytest.mark.parametrize("rule", RULES)
def test_rule_matches_r(design: sp.Design, rule: str, by: bool) -> None:
    frame = design.quantile(
        GOLDEN["variable"], GOLDEN["probs"], by="stype" if by else None, rule=rule
    ).to_frame()
    want = [r for r in GOLDEN["rows"] if r["rule"] == rule and bool(r["by"]) == by]
    assert len(frame) == len(want)
    for row in want:
        sel = frame.prob == row["level"]
        if by:
            sel &= frame.stype == row["by"]
        got = frame[sel].iloc[0]
        assert got.df == row["df"]
        for field in ("estimate", "se", "ci_low", "ci_high"):
            if row[field] is None:  # R: no quantile at a CDF limit outside [0, 1]
                assert math.isnan(got[field]), (field, got[field])
                assert got.flag.startswith("review")
            else:
                assert got[field] == pytest.approx(row[field], rel=1e-9), field


def test_core_result_is_read_only_and_shaped(design: sp.Design) -> None:
    state = design._state
    codes = state.codes("stype")
    res = _core.quantile(
        state.core,
        state.numeric("api00", "variable"),
        [0.25, 0.5],
        by=[codes.codes],
        by_levels=[len(codes.labels)],
        df=math.inf,
    )
    assert (res.domains, res.probs) == (3, 2)
    assert res.domain_codes.shape == (3, 1)
    assert res.prob.tolist() == [0.25, 0.5] * 3
    assert np.isinf(res.df).all()
    with pytest.raises(ValueError, match="read-only"):
        res.estimate[0] = 0.0


def test_bad_arguments_raise_steppe_errors(design: sp.Design) -> None:
    with pytest.raises(sp.InvalidInputError, match="rule must be one of"):
        design.quantile("api00", 0.5, rule="hf10")
    with pytest.raises(sp.InvalidInputError, match="probs"):
        design.quantile("api00", [1.5])
    with pytest.raises(sp.InvalidInputError, match="not numeric"):
        design.quantile("stype", 0.5)
    with pytest.raises(sp.InvalidInputError, match="quantile"):
        design.quantile("api00", 0.5, ci="quantile")  # replicate designs only


def test_the_probability_has_its_own_column(design: sp.Design) -> None:
    est = design.quantile("api00", [0.25, 0.5], by="stype")
    frame = est.to_frame()
    assert frame.columns[:3].tolist() == ["stype", "variable", "prob"]
    assert "level" not in frame.columns and est.level == 0.95
    assert frame.prob.tolist() == [0.25, 0.5] * 3
    assert " prob " in repr(est).splitlines()[1]
    assert est.describe({"stype": "E", "prob": 0.5}).startswith(
        "Among stype = E, the 0.5 quantile of api00 is "
    )
    with pytest.raises(sp.InvalidInputError, match=r"unexpected \['level'\]"):
        sp.Estimates(frame.rename(columns={"prob": "level"}), est.meta)
