"""Estimates: the contract table, display, phrasing, plotting and JSON."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from steppe import Estimates, InvalidInputError, NotEstimableError  # noqa: E402
from steppe.results import RESULT_COLUMNS  # noqa: E402

EN_DASH = "\u2013"
NAN = float("nan")


def attitude_frame() -> pd.DataFrame:
    """Two age groups x three levels; one flagged share, one row with no estimate."""
    return pd.DataFrame(
        {
            "age_group": ["18-29"] * 3 + ["30-39"] * 3,
            "variable": ["attitude_to_russia"] * 6,
            "level": ["improved", "unchanged", "worsened"] * 2,
            "estimate": [0.007, 0.55, 0.443, 0.05, 0.5, NAN],
            "se": [0.004, 0.03, 0.03, 0.01, 0.03, NAN],
            "ci_low": [0.002, 0.49, 0.38, 0.03, 0.44, NAN],
            "ci_high": [0.024, 0.61, 0.50, 0.07, 0.56, NAN],
            "deff": [1.3, 1.2, 1.1, 1.0, 1.2, NAN],
            "n": [290, 290, 290, 301, 301, 301],
            "n_eff": [22.0, 223.0, 223.0, 250.0, 250.0, NAN],
            "flag": ["suppress: n_eff < 30", "", "", "", "", "suppress: not estimable"],
            "weight_sum": [1.9e6] * 3 + [2.0e6] * 3,
            "df": [49.0] * 6,
        }
    )


def attitude_meta(**changes: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "statistic": "proportion",
        "variables": ["attitude_to_russia"],
        "by": ["age_group"],
        "ci_method": "beta",
        "level": 0.95,
        "df_rule": "design",
        "design": {"n_rows": 1100, "n_strata": 20, "n_psu": 100, "degf": 80, "weights": "weight"},
        "steppe_version": "0.1.0",
    }
    meta.update(changes)
    return meta


def numeric_estimates(statistic: str = "mean") -> Estimates:
    frame = pd.DataFrame(
        {
            "variable": ["age", "income"],
            "level": [None, None],
            "estimate": [42.317, 123456.7],
            "se": [0.66, 2100.0],
            "ci_low": [41.02, 119300.0],
            "ci_high": [43.61, 127600.0],
            "deff": [1.8, 2.2],
            "n": [1100, 1100],
            "n_eff": [611.0, 500.0],
            "flag": ["", ""],
            "weight_sum": [1.4e7, 1.4e7],
            "df": [80.0, 80.0],
        }
    )
    meta = attitude_meta(statistic=statistic, variables=["age", "income"], by=[], ci_method=None)
    return Estimates(frame, meta)


@pytest.fixture
def est() -> Estimates:
    return Estimates(attitude_frame(), attitude_meta())


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


# -- construction and the frame contract ---------------------------------------


def test_frame_is_the_contract_and_a_copy(est: Estimates) -> None:
    frame = est.to_frame()
    assert list(frame.columns) == ["age_group", *RESULT_COLUMNS]
    pd.testing.assert_frame_equal(frame, attitude_frame())
    frame.loc[0, "estimate"] = 0.9
    assert est.to_frame().loc[0, "estimate"] == 0.007
    assert len(est) == 6
    assert est.by == ["age_group"] and est.statistic == "proportion" and est.level == 0.95


def test_input_frame_is_not_shared() -> None:
    frame = attitude_frame()
    est = Estimates(frame, attitude_meta())
    frame.loc[0, "estimate"] = 0.9
    assert est.to_frame().loc[0, "estimate"] == 0.007


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f.drop(columns="flag"),
        lambda f: f.drop(columns="age_group"),
        lambda f: f.assign(extra=1),
        lambda f: f[["variable", "age_group", *RESULT_COLUMNS[1:]]],
    ],
    ids=["missing-flag", "missing-by", "extra", "wrong-order"],
)
def test_wrong_columns_are_rejected(mutate: Any) -> None:
    with pytest.raises(InvalidInputError, match="Estimates frame columns"):
        Estimates(mutate(attitude_frame()), attitude_meta())
    with pytest.raises(ValueError):  # InvalidInputError is a ValueError too
        Estimates(mutate(attitude_frame()), attitude_meta())


def test_meta_is_copied(est: Estimates) -> None:
    meta = est.meta
    meta["statistic"] = "total"
    assert est.statistic == "proportion"


# -- display --------------------------------------------------------------------


def test_repr_html_formats_shares_ci_and_flags(est: Estimates) -> None:
    page = est._repr_html_()
    assert page.startswith("<style>")
    assert "<table" in page and page.endswith("</table>")
    assert ">0.7%<" in page
    assert f">0.2%{EN_DASH}2.4%<" in page
    assert ">95% CI<" in page
    assert "suppress: n_eff &lt; 30" in page  # escaped
    assert page.count('<tr class="flagged">') == 2
    assert "beta" in page and "1,100 rows" in page and "100 PSUs" in page
    assert "0.007" not in page  # shares shown as percent, not fractions


def test_repr_html_escapes_labels() -> None:
    frame = attitude_frame()
    frame["age_group"] = ["<b>young</b>"] * 3 + ["old & wise"] * 3
    page = Estimates(frame, attitude_meta())._repr_html_()
    assert "<b>young</b>" not in page
    assert "&lt;b&gt;young&lt;/b&gt;" in page and "old &amp; wise" in page


def test_text_repr(est: Estimates) -> None:
    text = repr(est)
    first, *rows = text.splitlines()
    assert first.startswith("Estimates: proportion of attitude_to_russia by age_group")
    assert len(rows) == 7  # header + 6 rows
    assert "0.7%" in rows[1] and f"0.2%{EN_DASH}2.4%" in rows[1]
    assert "suppress: n_eff < 30" in rows[1]
    assert "\u2014" in rows[6]  # no estimate: a dash, never "nan"
    assert "nan" not in text.lower()


def test_numeric_display_has_no_percent_and_no_level_column() -> None:
    est = numeric_estimates()
    text = repr(est)
    assert "%" not in text.split("\n", 1)[1].replace("95% CI", "")
    assert "42.3" in text and f"41.0{EN_DASH}43.6" in text and "123,457" in text
    header = text.splitlines()[1].split()
    assert "level" not in header


def test_long_tables_are_clipped() -> None:
    frame = pd.concat([attitude_frame()] * 20, ignore_index=True)
    est = Estimates(frame, attitude_meta())
    assert "... 60 more rows" in repr(est)
    assert "60 more rows" in est._repr_html_()
    assert est._repr_html_().count("<tr") == 1 + 60 + 1  # header, shown rows, note


# -- phrasing --------------------------------------------------------------------


def test_phrase_by_position_and_selector(est: Estimates) -> None:
    assert est.phrase() == f"0.7% (95% CI 0.2%{EN_DASH}2.4%)"
    assert est.phrase(3) == f"5.0% (95% CI 3.0%{EN_DASH}7.0%)"
    assert est.phrase(-2) == f"50% (95% CI 44%{EN_DASH}56%)"
    assert est.phrase({"age_group": "30-39", "level": "improved"}) == est.phrase(3)


def test_phrase_uses_the_confidence_level() -> None:
    est = Estimates(attitude_frame(), attitude_meta(level=0.9))
    assert est.phrase().startswith("0.7% (90% CI")


@pytest.mark.parametrize(
    ("selector", "match"),
    [
        ({"level": "improved"}, "matches 2 rows"),
        ({"age_group": "60+"}, "matches 0 rows"),
        ({"region": "Abai"}, "'region' is not in the estimates"),
        (6, "out of range"),
        (-7, "out of range"),
        ("improved", "int or a dict"),
        (True, "int or a dict"),
    ],
)
def test_phrase_bad_selectors(est: Estimates, selector: Any, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        est.phrase(selector)


def test_phrase_of_a_missing_estimate_is_an_error(est: Estimates) -> None:
    with pytest.raises(NotEstimableError, match="not estimable"):
        est.phrase({"age_group": "30-39", "level": "worsened"})


def test_phrase_without_ci() -> None:
    frame = attitude_frame()
    frame.loc[0, ["ci_low", "ci_high"]] = NAN
    assert Estimates(frame, attitude_meta()).phrase(0) == "0.7% (no CI)"


def test_phrase_of_numbers_and_counts() -> None:
    assert numeric_estimates().phrase(0) == f"42.3 (95% CI 41.0{EN_DASH}43.6)"
    assert numeric_estimates("total").phrase({"variable": "income"}).startswith("123,457 (")
    # total() of a categorical: weighted counts per level, not shares
    frame = attitude_frame()
    frame["estimate"] *= 1e6
    frame["ci_low"] *= 1e6
    frame["ci_high"] *= 1e6
    counts = Estimates(frame, attitude_meta(statistic="total"))
    assert counts.phrase(0) == f"7,000 (95% CI 2,000{EN_DASH}24,000)"
    # mean() of a categorical: shares
    shares = Estimates(attitude_frame(), attitude_meta(statistic="mean"))
    assert shares.phrase(0) == est_phrase_headline()


def est_phrase_headline() -> str:
    return f"0.7% (95% CI 0.2%{EN_DASH}2.4%)"


def test_describe(est: Estimates) -> None:
    text = est.describe({"age_group": "18-29", "level": "improved"})
    assert text.startswith(f"Among age_group = 18-29, {est_phrase_headline()} have")
    assert text.endswith("Not reliable: suppress: n_eff < 30.")
    assert "Not reliable" not in est.describe(1)


# -- plot ------------------------------------------------------------------------


def test_bar_plot_draws_one_bar_per_estimate_with_ci(est: Estimates) -> None:
    ax = est.plot()
    bars = [p for p in ax.patches if p.get_height() > 0]
    heights = sorted(round(b.get_height(), 6) for b in bars)
    assert heights == sorted([0.007, 0.55, 0.443, 0.05, 0.5])  # NaN row left out
    flagged = [b for b in bars if b.get_hatch()]
    assert [round(b.get_height(), 6) for b in flagged] == [0.007]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["18-29", "30-39"]
    assert ax.get_xlabel() == "age_group"
    assert ax.yaxis.get_major_formatter().__class__.__name__ == "PercentFormatter"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["improved", "unchanged", "worsened", "flagged: not reliable"]
    # error bars span the CI: the segment of the flagged bar goes 0.002..0.024
    segments = np.concatenate([c.get_segments() for c in ax.collections])
    spans = {(round(s[0][1], 6), round(s[1][1], 6)) for s in segments}
    assert (0.002, 0.024) in spans and (0.49, 0.61) in spans


def test_point_plot_on_a_given_axes(est: Estimates) -> None:
    _, ax = plt.subplots()
    assert est.plot(ax=ax, kind="point") is ax
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    ys = sorted(round(y, 6) for line in lines for y in line.get_ydata())
    assert ys == sorted([0.007, 0.55, 0.443, 0.05, 0.5])


def test_plot_without_by_puts_variables_on_the_x_axis() -> None:
    ax = numeric_estimates().plot(kind="point")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["age", "income"]
    assert ax.get_ylabel() == "mean"
    assert ax.get_legend() is None


def test_plot_rejects_unknown_kind(est: Estimates) -> None:
    with pytest.raises(InvalidInputError, match="kind"):
        est.plot(kind="pie")


def test_plot_without_matplotlib_names_the_extra(
    est: Estimates, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("matplotlib", "matplotlib.lines", "matplotlib.patches", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=r"steppe\[plot\]"):
        est.plot()


# -- JSON (written by the C++ core) ----------------------------------------------


def test_to_json_round_trip(est: Estimates) -> None:
    out = json.loads(est.to_json())
    assert list(out) == ["meta", "columns", "rows"]
    assert out["meta"] == attitude_meta()
    assert out["columns"] == ["age_group", *RESULT_COLUMNS]
    assert len(out["rows"]) == 6
    first = out["rows"][0]
    assert list(first) == out["columns"]
    assert first["age_group"] == "18-29" and first["level"] == "improved"
    assert first["estimate"] == 0.007 and first["flag"] == "suppress: n_eff < 30"
    assert isinstance(first["n"], int) and first["n"] == 290
    last = out["rows"][5]
    assert last["estimate"] is None and last["ci_low"] is None and last["n_eff"] is None


def test_to_json_indent(est: Estimates) -> None:
    compact = est.to_json()
    pretty = est.to_json(indent=2)
    assert "\n" not in compact
    assert '\n  "columns": [' in pretty
    assert json.loads(compact) == json.loads(pretty)


def test_to_json_doubles_round_trip_exactly() -> None:
    frame = attitude_frame()
    frame["estimate"] = [1 / 3, 0.1 + 0.2, 2981946 / 19186015, 1e-300, math.pi, NAN]
    out = json.loads(Estimates(frame, attitude_meta()).to_json())
    assert [r["estimate"] for r in out["rows"][:5]] == frame["estimate"].tolist()[:5]


def test_to_json_labels_and_meta_types() -> None:
    frame = attitude_frame().rename(columns={"age_group": "year"})
    frame["year"] = [2022, 2022, 2022, 2023, 2023, 2023]
    frame["level"] = pd.Categorical(frame["level"])
    frame.loc[5, "level"] = None
    frame["df"] = math.inf
    meta = attitude_meta(
        by=["year"],
        df_rule=math.inf,
        level=np.float64(0.9),
        design={"n_rows": np.int64(1100), "fpc": None, "weights": "weight"},
    )
    out = json.loads(Estimates(frame, meta).to_json())
    assert [r["year"] for r in out["rows"]] == [2022] * 3 + [2023] * 3
    assert out["rows"][5]["level"] is None
    assert all(r["df"] is None for r in out["rows"])  # JSON has no infinity ...
    assert out["meta"]["df_rule"] == "inf"  # ... the rule says why
    assert out["meta"]["level"] == 0.9
    assert out["meta"]["design"] == {"n_rows": 1100, "fpc": None, "weights": "weight"}


def test_to_json_meta_value_of_an_unknown_type_names_its_path() -> None:
    meta = attitude_meta(design={"strata": ["region", object()]})
    with pytest.raises(InvalidInputError, match=r'meta\["design"\]\["strata"\]\[1\] is a object'):
        Estimates(attitude_frame(), meta).to_json()


def test_to_json_of_an_empty_table() -> None:
    frame = attitude_frame().iloc[0:0]
    out = json.loads(Estimates(frame, attitude_meta()).to_json())
    assert out["rows"] == [] and out["columns"][0] == "age_group"


def test_caption_shows_the_domain_of_a_subset() -> None:
    design = {"n_rows": 3310, "n_strata": 60, "n_psu": 307, "domain_rows": 1100}
    est = Estimates(attitude_frame(), attitude_meta(design=design))
    assert "1,100 of 3,310 rows, 60 strata, 307 PSUs" in repr(est).splitlines()[0]
