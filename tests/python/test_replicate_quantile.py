"""Quantiles on replicate designs against R's svyquantile (make_replicate_quantile_golden.R)."""

from __future__ import annotations

import json
import math
import pathlib
from typing import Any

import pandas as pd
import pytest

import steppe as sp

ROOT = pathlib.Path(__file__).parents[2]
CASES = json.loads((ROOT / "tests" / "golden" / "replicate" / "quantile.json").read_text())
DESIGNS = {
    "apiclus1": {"weights": "pw", "psu": "dnum", "fpc": "fpc"},
    "apistrat": {"weights": "pw", "strata": "stype", "fpc": "fpc"},
}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_replicate_quantiles_match_r(case: dict[str, Any]) -> None:
    data = pd.read_csv(ROOT / "tests" / "golden" / "data" / f"{case['data']}.csv")
    d = sp.Design(data, **DESIGNS[case["data"]]).to_replicate(case["type"])
    frame = d.quantile(
        case["variable"], case["probs"], by=case["by"], ci=case["ci"], rule=case["rule"]
    ).to_frame()
    for row in case["rows"]:
        sel = frame.prob == row["level"]
        if case["by"]:
            sel &= frame[case["by"]] == row["by"]
        got = frame[sel].iloc[0]
        for field in ("estimate", "se", "ci_low", "ci_high"):
            want = row[field]
            if want is None:
                assert math.isnan(got[field]), (field, got[field])
                assert got.flag.startswith("review")
            else:
                assert got[field] == pytest.approx(want, rel=1e-9), field


def test_replicate_quantile_refuses_intervals_r_ignores() -> None:
    data = pd.read_csv(ROOT / "tests" / "golden" / "data" / "apiclus1.csv")
    d = sp.Design(data, **DESIGNS["apiclus1"]).to_replicate("JK1")
    with pytest.raises(sp.InvalidInputError, match="ignores"):
        d.quantile("api00", [0.5], ci="beta")
    # "quantile" intervals are symmetric about the estimate (q +- t se).
    f = d.quantile("api00", [0.5], ci="quantile").to_frame().iloc[0]
    assert f.estimate - f.ci_low == pytest.approx(f.ci_high - f.estimate, rel=1e-12)
