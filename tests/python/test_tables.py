"""Design.crosstab / Design.chisq as presentation over the core's tables (_core.crosstab,
_core.chisq): the same numbers as the estimators they generalise, and the errors."""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pandas as pd
import pytest

import steppe as sp

ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(scope="module")
def poll() -> pd.DataFrame:
    return sp.datasets.load_poll()


@pytest.fixture(scope="module")
def apistrat() -> pd.DataFrame:
    path = ROOT / "tests" / "golden" / "data" / "apistrat.csv"
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def designs(poll: pd.DataFrame) -> dict[str, sp.Design]:
    d = sp.Design(poll, weights="weight", strata="stratum", psu="psu")
    jk = d.to_replicate("JKn")
    may = poll.wave == "2023-05"
    return {"taylor": d, "jkn": jk, "taylor-subset": d.subset(may), "jkn-subset": jk.subset(may)}


@pytest.mark.parametrize("kind", ["taylor", "jkn", "taylor-subset", "jkn-subset"])
@pytest.mark.parametrize(("ci", "df"), [("logit", "design"), ("beta", math.inf), ("wilson", 30)])
def test_row_and_column_shares_are_the_domain_proportions(
    poll: pd.DataFrame, kind: str, ci: str, df: str | float
) -> None:
    d = designs(poll)[kind]
    t = d.crosstab("attitude_to_russia", "ethnicity", by="sex", ci=ci, df=df)
    rows = d.proportion("ethnicity", by=["sex", "attitude_to_russia"], ci=ci, df=df)
    cols = d.proportion("attitude_to_russia", by=["sex", "ethnicity"], ci=ci, df=df)
    pd.testing.assert_frame_equal(t.rows.to_frame(), rows.to_frame(), check_exact=True)
    pd.testing.assert_frame_equal(t.columns.to_frame(), cols.to_frame(), check_exact=True)
    assert t.rows.meta == rows.meta


@pytest.mark.parametrize("kind", ["taylor", "jkn-subset"])
def test_cells_are_the_crossed_variables_shares(poll: pd.DataFrame, kind: str) -> None:
    row, col = "attitude_to_russia", "ethnicity"
    r, c = pd.Categorical(poll[row]), pd.Categorical(poll[col])
    nr = len(r.categories)
    crossed = np.where((r.codes >= 0) & (c.codes >= 0), r.codes + nr * c.codes, -1)
    labels = [f"{x} / {y}" for y in c.categories for x in r.categories]
    name = f"{row} x {col}"
    with_cells = poll.assign(
        **{name: pd.Categorical.from_codes(crossed, categories=pd.Index(labels))}
    )
    t = designs(poll)[kind].crosstab(row, col)
    expected = designs(with_cells)[kind].proportion(name, ci="logit")
    pd.testing.assert_frame_equal(t.cells.to_frame(), expected.to_frame(), check_exact=True)
    cov = t.result.cells.covariance
    assert cov is not None and cov.shape == (1, len(labels), len(labels))
    se = t.cells.to_frame().se.to_numpy()
    assert np.diag(cov[0]) == pytest.approx(se**2, rel=1e-12)
    assert cov[0].sum(axis=1) == pytest.approx(0, abs=1e-15)  # shares sum to 1


def test_chisq_result_presents_the_core_result(apistrat: pd.DataFrame) -> None:
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    f = d.chisq("sch.wide", "stype")
    assert repr(f).startswith("Pearson's X^2: Rao & Scott adjustment: F = 17.2474")
    assert f.to_dict()["statistic_name"] == "F"
    assert f.table.index.name == "sch.wide" and f.table.columns.name == "stype"
    assert f.table.to_numpy().sum() == pytest.approx(apistrat.pw.sum(), rel=1e-12)
    # F = X^2 / sum(design effects), on d0 = sum(delta)^2 / sum(delta^2) df.
    delta = f.design_effects
    assert f.statistic == pytest.approx(f.pearson / delta.sum(), rel=1e-12)
    assert f.ndf == pytest.approx(delta.sum() ** 2 / (delta**2).sum(), rel=1e-12)
    x2 = d.chisq("sch.wide", "stype", statistic="Chisq")
    assert math.isnan(x2.ddf) and x2.ndf == 2
    assert d.chisq("sch.wide", "stype", statistic="Wald").design_effects.size == 0


def test_chisq_table_has_the_levels_present_in_the_subset(apistrat: pd.DataFrame) -> None:
    # No school in sch.wide == "No" scores 800+: R's table (after droplevels) is 3 x 3.
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    r = d.subset(apistrat["sch.wide"] == "No").chisq("api00_band", "stype", statistic="Chisq")
    assert list(r.table.index) == ["600-699", "700-799", "lt600"]
    assert r.ndf == 4


def test_chisq_level_without_weight_in_the_table_is_not_estimable(
    apistrat: pd.DataFrame,
) -> None:
    # Every "H" school has a missing column value: R's expected counts are 0 (NaN).
    data = apistrat.assign(k=apistrat["sch.wide"].where(apistrat.stype != "H"))
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(sp.NotEstimableError, match="level 'H' of 'stype'"):
        d.chisq("stype", "k")


def test_crosstab_errors(apistrat: pd.DataFrame) -> None:
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(sp.InvalidInputError, match="df must be"):
        d.crosstab("sch.wide", "stype", df="lots")
    with pytest.raises(sp.InvalidInputError, match="level"):
        d.crosstab("sch.wide", "stype", level=95)
    with pytest.raises(sp.InvalidInputError, match="nope"):
        d.crosstab("sch.wide", "nope")
    with pytest.raises(sp.NotEstimableError, match="empty"):
        sp.Design(apistrat.assign(e=None), weights="pw").crosstab("sch.wide", "e")


def test_chisq_df_has_r_names(apistrat: pd.DataFrame) -> None:
    # R's svychisq: parameter = c(df = ) for "Chisq", c(ndf = , ddf = ) for "F".
    d = sp.Design(apistrat, weights="pw", strata="stype", fpc="fpc")
    x2 = d.chisq("sch.wide", "stype", statistic="Chisq")
    assert x2.df == 2 and x2.parameter == {"df": 2.0}
    assert "ndf" not in x2.to_dict() and x2.to_dict()["df"] == 2.0
    assert ", df = 2, p = " in repr(x2)
    f = d.chisq("sch.wide", "stype")
    assert math.isnan(f.df) and set(f.parameter) == {"ndf", "ddf"}
    assert f.parameter["ddf"] == f.ddf and f.to_dict()["ndf"] == f.ndf
    assert ", ndf = " in repr(f) and ", ddf = " in repr(f)
    assert d.chisq("sch.wide", "stype", statistic="lincom").parameter == {}
