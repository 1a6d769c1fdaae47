"""Design.contrast / compare against R's svycontrast(svyby(..., covmat=TRUE))."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pandas as pd
import pytest
from golden_compare import design_from_spec

import steppe as sp
from steppe._contrast import adjust_p

ROOT = pathlib.Path(__file__).parents[2]
CASES = json.loads((ROOT / "tests" / "golden" / "contrast" / "contrast.json").read_text())


def load(name: str) -> pd.DataFrame:
    if name == "kz_poll_simulated":
        path = ROOT / "python" / "steppe" / "datasets" / "data" / "kz_poll_simulated.csv"
    else:
        path = ROOT / "tests" / "golden" / "data" / f"{name}.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def design_of(case: dict[str, Any]) -> sp.Design:
    s = case["design"]
    data = load(s["data"])
    d = design_from_spec(data, s)
    if case.get("replicate"):  # R: as.svrepdesign on the whole design, then the subset
        d = d.to_replicate(case["replicate"])
    if case["subset"]:
        values = case["subset"]["values"]
        values = values if isinstance(values, list) else [values]
        d = d.subset(data[case["subset"]["column"]].isin(values))
    return d


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_contrast_matches_r(case: dict[str, Any]) -> None:
    d = design_of(case)
    got = d.contrast(
        case["variable"],
        case["by"],
        case["contrasts"],
        category=case["level"],
        statistic=case["statistic"],
        denominator=case.get("denominator"),
    ).set_index("contrast")
    for row in case["rows"]:
        r = got.loc[row["contrast"]]
        assert r.estimate == pytest.approx(row["estimate"], rel=1e-9, abs=1e-12)
        assert r.se == pytest.approx(row["se"], rel=1e-9)


def test_compare_all_pairs_with_holm() -> None:
    case = next(c for c in CASES if c["name"] == "apiclus1_api00_by_stype")
    d = design_of(case)
    table = d.compare("api00", "stype", adjust="holm")
    assert list(table.contrast) == ["E - H", "E - M", "H - M"]
    assert table.p_adjusted.tolist() == pytest.approx(adjust_p(table.p_value.tolist(), "holm"))
    e_h = table.set_index("contrast").loc["E - H"]
    want = next(r for r in case["rows"] if r["contrast"] == "E-H")
    assert e_h.se == pytest.approx(want["se"], rel=1e-9)


def test_p_adjust_as_r() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.2), "holm") = 0.04 0.09 0.09 0.20
    assert adjust_p([0.01, 0.04, 0.03, 0.2], "holm") == pytest.approx([0.04, 0.09, 0.09, 0.2])
    assert adjust_p([0.01, 0.4], "bonferroni") == pytest.approx([0.02, 0.8])
    with pytest.raises(sp.InvalidInputError, match="adjust"):
        adjust_p([0.1], "fdr")


def test_contrast_errors() -> None:
    case = CASES[0]
    d = design_of(case)
    with pytest.raises(sp.InvalidInputError, match="no domain"):
        d.contrast("api00", "stype", {"x": {"Z": 1}})
    with pytest.raises(sp.InvalidInputError, match="category="):
        d.contrast("sch.wide", "stype", {"x": {"E": 1, "H": -1}})


def test_ratio_contrast_arguments() -> None:
    case = CASES[0]
    d = design_of(case)
    with pytest.raises(sp.InvalidInputError, match="denominator="):
        d.contrast("api00", "stype", {"x": {"E": 1, "H": -1}}, statistic="ratio")
    with pytest.raises(sp.InvalidInputError, match="statistic='ratio'"):
        d.contrast("api00", "stype", {"x": {"E": 1, "H": -1}}, denominator="api99")
    with pytest.raises(sp.InvalidInputError, match="nope"):
        d.contrast("api00", "stype", {"x": {"E": 1}}, statistic="ratio", denominator="nope")
    # a ratio contrast of one domain is that domain's ratio (svyratio), on both kinds
    # of design
    for design in (d, d.to_replicate("JK1")):
        one = design.contrast(
            "api00", "stype", {"E": {"E": 1}}, statistic="ratio", denominator="api99"
        )
        ratio = design.ratio("api00", "api99", by="stype").to_frame().set_index("stype").loc["E"]
        assert one.estimate.iloc[0] == pytest.approx(ratio.estimate, rel=1e-12)
        assert one.se.iloc[0] == pytest.approx(ratio.se, rel=1e-9)
