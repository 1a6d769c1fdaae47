"""Estimates: the tidy table every steppe estimator returns, with its metadata."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import phrasing
from .errors import InvalidInputError, NotEstimableError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["MISSING_COLUMN", "RESULT_COLUMNS", "Estimates", "category_column", "result_columns"]

#: Columns after the by-columns, in this order (the ``to_frame`` contract).
RESULT_COLUMNS: tuple[str, ...] = (
    "variable",
    "level",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "n",
    "n_eff",
    "flag",
    "weight_sum",
    "df",
)
#: Optional last column: each domain's rows left out for a missing value (mean,
#: total, proportion and ratio give it; quantiles and hand-made tables may not).
MISSING_COLUMN = "n_missing"


def category_column(statistic: str | None) -> str:
    """Return the column after ``variable``: ``prob`` for quantiles, else ``level``.

    ``level`` is a categorical variable's category; a quantile's probability has
    its own name, since ``level`` also means the confidence level.

    Examples
    --------
    >>> category_column("quantile"), category_column("mean")
    ('prob', 'level')
    """
    return "prob" if statistic == "quantile" else "level"


def result_columns(statistic: str | None) -> tuple[str, ...]:
    """Return :data:`RESULT_COLUMNS` with ``level`` named for ``statistic`` (see category_column).

    Examples
    --------
    >>> result_columns("quantile")[:3]
    ('variable', 'prob', 'estimate')
    """
    name = category_column(statistic)
    return tuple(name if c == "level" else c for c in RESULT_COLUMNS)


_MAX_DISPLAY_ROWS = 60
_MISSING = "\u2014"  # em dash, for cells with no value
_EN_DASH = "\u2013"
_CSS = """
.steppe-est{border-collapse:collapse;font:13px/1.4 system-ui,sans-serif}
.steppe-est caption{caption-side:top;text-align:left;color:#444;padding:0 0 4px}
.steppe-est th{border-bottom:1px solid #999;padding:2px 8px;text-align:left}
.steppe-est td{padding:2px 8px;text-align:left}
.steppe-est td.num{text-align:right;font-variant-numeric:tabular-nums}
.steppe-est tr.flagged td{color:#777}
.steppe-est td.flag{color:#b35900;font-style:italic}
""".strip()


def _level_label(level: float) -> str:
    return f"{round(100.0 * level, 6):g}%"


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _missing_caption(missing: Mapping[str, Any], by: list[str]) -> list[str]:
    """Caption parts saying which rows were left out for missing values, and why."""
    parts: list[str] = []
    rows = missing.get("rows") or {}
    counts = {str(k): int(v) for k, v in rows.items()}
    columns = [str(c) for c in missing.get("columns") or counts]
    if any(counts.values()):
        if missing.get("rule") == "complete" and len(columns) > 1:
            n = max(counts.values())
            parts.append(
                f"{n:,} row{'s' if n != 1 else ''} left out for missing values "
                f"(complete cases of {', '.join(columns)})"
            )
        elif len(counts) == 1:
            n = next(iter(counts.values()))
            parts.append(
                f"{n:,} row{'s' if n != 1 else ''} left out for missing values of "
                f"{', '.join(columns)}"
            )
        else:
            each = ", ".join(f"{k} {v:,}" for k, v in counts.items())
            parts.append(f"rows left out for missing values: {each}")
    by_rows = int(missing.get("by_rows") or 0)
    if by and by_rows:
        parts.append(
            f"{by_rows:,} row{'s' if by_rows != 1 else ''} with a missing "
            f"{', '.join(by)} value left out"
        )
    return parts


def json_column(column: pd.Series) -> list[Any] | np.ndarray:
    """One column as a numpy array (numbers) or a list (labels, None for missing)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and not column.isna().any():
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_integer_dtype(dtype):
        if column.isna().any():
            return column.to_numpy(dtype=np.float64, na_value=np.nan)
        return column.to_numpy(dtype=np.int64)
    if pd.api.types.is_float_dtype(dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    values: list[Any] = []
    for value in column.astype(object).tolist():
        if isinstance(value, np.generic):
            value = value.item()
        if _is_missing(value):
            values.append(None)
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            values.append(value)
        else:
            values.append(str(value))
    if any(isinstance(v, str) for v in values):
        return [None if v is None else str(v) for v in values]
    return values


class Estimates:
    """Design-based estimates as a tidy table plus the metadata that produced them.

    Built by the estimators of :class:`steppe.Design` (``proportion``, ``mean``,
    ``total``, ``ratio``); you rarely construct one yourself.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns: the by-columns (named as in the data), then ``variable``,
        ``level`` (``prob`` for quantiles), ``estimate``, ``se``, ``ci_low``,
        ``ci_high``, ``deff``, ``n``, ``n_eff``, ``flag``, ``weight_sum``, ``df``,
        optionally ``n_missing``. Shares are fractions 0–1.
    meta : dict
        ``statistic``, ``variables``, ``by``, ``ci_method``, ``level``,
        ``df_rule``, ``design``, ``steppe_version``, and ``missing``: the
        missing-value rule and counts, ``{"rule": "complete" | "available",
        "columns": [...], "rows": {variable: rows left out for a missing
        value}, "by_rule": "exclude" | "domain", "by_rows": rows left out for a
        missing by value}`` (counted by the core).

    Raises
    ------
    InvalidInputError
        If the columns are not the by-columns followed by :data:`RESULT_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from steppe.results import Estimates
    >>> frame = pd.DataFrame({"age_group": ["18-29"], "variable": ["attitude"],
    ...     "level": ["improved"], "estimate": [0.007], "se": [0.004],
    ...     "ci_low": [0.002], "ci_high": [0.024], "deff": [1.3], "n": [290],
    ...     "n_eff": [223.0], "flag": [""], "weight_sum": [1.9e6], "df": [49.0]})
    >>> est = Estimates(frame, {"statistic": "proportion", "by": ["age_group"],
    ...     "variables": ["attitude"], "level": 0.95, "ci_method": "beta"})
    >>> est.phrase()
    '0.7% (95% CI 0.2%–2.4%)'
    """

    def __init__(self, frame: pd.DataFrame, meta: Mapping[str, Any]) -> None:
        by = [str(name) for name in meta.get("by", None) or []]
        columns = result_columns(meta.get("statistic"))
        expected = [*by, *columns]
        actual = [str(name) for name in frame.columns]
        if actual == [*expected, MISSING_COLUMN]:
            expected = actual
        if actual != expected:
            missing = [c for c in expected if c not in actual]
            extra = [c for c in actual if c not in expected]
            raise InvalidInputError(
                "Estimates frame columns must be the by-columns then "
                f"{', '.join(columns)}; missing {missing}, unexpected {extra}, "
                f"got {actual}"
            )
        self._frame = frame.reset_index(drop=True).copy()
        self._meta: dict[str, Any] = dict(meta)
        self._meta["by"] = by

    # -- metadata -------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        """A copy of the metadata (statistic, by, level, CI method, design, ...)."""
        return dict(self._meta)

    @property
    def statistic(self) -> str:
        """``"mean"``, ``"total"``, ``"proportion"`` or ``"ratio"``."""
        return str(self._meta.get("statistic", "proportion"))

    @property
    def by(self) -> list[str]:
        """The domain (by) columns, in order."""
        return list(self._meta["by"])

    @property
    def _category(self) -> str:
        return category_column(self.statistic)

    @property
    def level(self) -> float:
        """Confidence level of ``ci_low``/``ci_high``."""
        return float(self._meta.get("level", 0.95))

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the table.

        Returns
        -------
        pandas.DataFrame
            By-columns, then ``variable``, ``level`` (for quantiles ``prob``, the
            probability), ``estimate``, ``se``,
            ``ci_low``, ``ci_high``, ``deff``, ``n``, ``n_eff``, ``flag``,
            ``weight_sum``, ``df``; shares as fractions 0–1. Estimators also
            give ``n_missing``: the domain's rows left out for a missing value
            (the variable, or under ``na="complete"`` another of the call's
            variables). ``attrs["missing"]`` holds ``meta["missing"]``.

        Examples
        --------
        >>> est.to_frame().columns[:3].tolist()  # doctest: +SKIP
        ['age_group', 'variable', 'level']
        """
        frame = self._frame.copy()
        if "missing" in self._meta:
            frame.attrs["missing"] = dict(self._meta["missing"])
        return frame

    def __len__(self) -> int:
        return len(self._frame)

    def _share_mask(self) -> np.ndarray:
        """Rows whose estimate is a share (shown as percent, phrased as "1 in N")."""
        if self.statistic == "proportion":
            return np.ones(len(self._frame), dtype=bool)
        if self.statistic == "mean":
            return self._frame["level"].notna().to_numpy()
        return np.zeros(len(self._frame), dtype=bool)

    # -- phrasing -------------------------------------------------------------
    def _locate(self, row: int | Mapping[str, Any]) -> int:
        if isinstance(row, Mapping):
            mask = pd.Series(True, index=self._frame.index)
            for key, value in row.items():
                if key not in self._frame.columns:
                    raise InvalidInputError(
                        f"selector column {key!r} is not in the estimates; "
                        f"columns are {list(self._frame.columns)}"
                    )
                column = self._frame[key]
                mask &= column.isna() if value is None else (column == value)
            hits = np.flatnonzero(mask.to_numpy())
            if len(hits) != 1:
                raise InvalidInputError(
                    f"selector {dict(row)!r} matches {len(hits)} rows, not 1; "
                    f"narrow it with the columns {[*self.by, 'variable', self._category]}"
                )
            return int(hits[0])
        if isinstance(row, (bool, np.bool_)) or not isinstance(row, (int, np.integer)):
            raise InvalidInputError(f"row must be an int or a dict selector, got {row!r}")
        position = int(row)
        if not -len(self._frame) <= position < len(self._frame):
            raise InvalidInputError(f"row {position} out of range for {len(self)} rows")
        return position % len(self._frame)

    def phrase(self, row: int | Mapping[str, Any] = 0) -> str:
        """Phrase one estimate with its confidence interval.

        Parameters
        ----------
        row : int or dict, default 0
            A row position, or a selector such as
            ``{"age_group": "18-29", "level": "improved"}`` matching exactly one row.

        Returns
        -------
        str
            Shares as percent, e.g. ``"0.7% (95% CI 0.2%–2.4%)"``; means, totals
            and ratios as numbers, e.g. ``"42.3 (95% CI 41.0–43.6)"``.

        Raises
        ------
        InvalidInputError
            If the selector matches no row or several.
        NotEstimableError
            If the row has no estimate.

        Examples
        --------
        >>> est.phrase({"age_group": "18-29", "level": "improved"})  # doctest: +SKIP
        '0.7% (95% CI 0.2%–2.4%)'
        """
        position = self._locate(row)
        record = self._frame.iloc[position]
        estimate, low, high = record["estimate"], record["ci_low"], record["ci_high"]
        if _is_missing(estimate):
            reason = f" ({record['flag']})" if record["flag"] else ""
            raise NotEstimableError(f"row {position} has no estimate{reason}")
        share = bool(self._share_mask()[position])
        if _is_missing(low) or _is_missing(high):
            text = phrasing.percent(estimate) if share else phrasing.format_number(estimate)
            return f"{text} (no CI)"
        if share:
            return phrasing.percent_ci(estimate, low, high, self.level)
        return phrasing.number_ci(estimate, low, high, self.level)

    def describe(self, row: int | Mapping[str, Any] = 0) -> str:
        """Describe one estimate in a plain-language sentence, with its flag.

        Parameters
        ----------
        row : int or dict, default 0
            As in :meth:`phrase`.

        Returns
        -------
        str

        Examples
        --------
        >>> est.describe(0)  # doctest: +SKIP
        'Among age_group = 18-29, 0.7% (95% CI 0.2%–2.4%) have attitude = "improved" ...'
        """
        record = self._frame.iloc[self._locate(row)]
        return phrasing.describe(record, statistic=self.statistic, level=self.level, by=self.by)

    # -- display --------------------------------------------------------------
    def _caption(self) -> str:
        variables = self._meta.get("variables") or list(dict.fromkeys(self._frame["variable"]))
        text = f"{self.statistic} of {', '.join(map(str, variables))}"
        if self.by:
            text += f" by {', '.join(self.by)}"
        ci = f"{_level_label(self.level)} CI"
        if self._meta.get("ci_method"):
            ci += f" ({self._meta['ci_method']})"
        parts = [text, ci]
        design = self._meta.get("design") or {}
        sizes = [
            f"{design[key]:,} {label}"
            for key, label in (("n_rows", "rows"), ("n_strata", "strata"), ("n_psu", "PSUs"))
            if isinstance(design.get(key), (int, np.integer))
        ]
        if sizes and isinstance(design.get("domain_rows"), (int, np.integer)):
            sizes[0] = f"{design['domain_rows']:,} of {sizes[0]}"
        if sizes:
            parts.append(", ".join(sizes))
        if "df_rule" in self._meta:
            parts.append(self._df_caption())
        missing = self._meta.get("missing")
        if isinstance(missing, Mapping):
            parts.extend(_missing_caption(missing, self.by))
        return " · ".join(parts)

    def _df_caption(self) -> str:
        """Say which df the intervals used: the rule and the values of the ``df`` column."""
        rule = self._meta["df_rule"]
        if rule == "inf" or (isinstance(rule, float) and math.isinf(rule)):
            return "df: inf (normal quantiles)"
        values = pd.to_numeric(self._frame["df"], errors="coerce").dropna()
        if rule != "design" or values.empty:
            return f"df: {rule}"
        low, high = float(values.min()), float(values.max())
        used = f"{low:g}" if low == high else f"{low:g}{_EN_DASH}{high:g}"
        return f"df: design ({used})"

    def _display_frame(self) -> pd.DataFrame:
        """Format the table as strings: percent for shares, CI in one column."""
        share = self._share_mask()
        rows: list[dict[str, str]] = []
        ci_name = f"{_level_label(self.level)} CI"
        for i, record in enumerate(self._frame.itertuples(index=False)):
            values = dict(zip(self._frame.columns, record))

            def fmt(x: Any, as_share: bool = bool(share[i])) -> str:
                if _is_missing(x):
                    return _MISSING
                return phrasing.percent(x) if as_share else phrasing.format_number(x)

            out = {
                name: "(missing)" if _is_missing(values[name]) else str(values[name])
                for name in self.by
            }
            out["variable"] = str(values["variable"])
            cat = values[self._category]
            out[self._category] = _MISSING if _is_missing(cat) else str(cat)
            out["estimate"] = fmt(values["estimate"])
            low, high = values["ci_low"], values["ci_high"]
            out[ci_name] = (
                _MISSING
                if _is_missing(low) or _is_missing(high)
                else f"{fmt(low)}{_EN_DASH}{fmt(high)}"
            )
            out["se"] = fmt(values["se"])
            out["deff"] = _MISSING if _is_missing(values["deff"]) else f"{values['deff']:.2f}"
            out["n"] = _MISSING if _is_missing(values["n"]) else f"{int(values['n']):,}"
            out["n_eff"] = _MISSING if _is_missing(values["n_eff"]) else f"{values['n_eff']:,.0f}"
            out["flag"] = "" if _is_missing(values["flag"]) else str(values["flag"])
            rows.append(out)
        columns = [*self.by, "variable", self._category, "estimate", ci_name, "se", "deff", "n"]
        columns += ["n_eff", "flag"]
        table = pd.DataFrame(rows, columns=columns)
        if not self._frame[self._category].notna().any():
            table = table.drop(columns=self._category)
        return table

    def _clipped(self) -> tuple[pd.DataFrame, int]:
        table = self._display_frame()
        hidden = max(len(table) - _MAX_DISPLAY_ROWS, 0)
        return table.head(_MAX_DISPLAY_ROWS), hidden

    def __repr__(self) -> str:
        table, hidden = self._clipped()
        body = table.to_string(index=False) if len(table) else "(no rows)"
        more = f"\n... {hidden} more rows (see .to_frame())" if hidden else ""
        return f"Estimates: {self._caption()}\n{body}{more}"

    def _repr_html_(self) -> str:
        table, hidden = self._clipped()
        numeric = {"estimate", "se", "deff", "n", "n_eff"} | {
            str(c) for c in table.columns if "CI" in str(c)
        }
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        body = []
        for record in table.itertuples(index=False):
            cells = []
            for name, value in zip(table.columns, record):
                css = "num" if name in numeric else ("flag" if name == "flag" else "")
                attr = f' class="{css}"' if css else ""
                cells.append(f"<td{attr}>{html.escape(str(value))}</td>")
            row_attr = ' class="flagged"' if record[-1] else ""
            body.append(f"<tr{row_attr}>{''.join(cells)}</tr>")
        if hidden:
            body.append(
                f'<tr><td colspan="{len(table.columns)}">… {hidden} more rows '
                "(see <code>.to_frame()</code>)</td></tr>"
            )
        return (
            f"<style>{_CSS}</style>"
            f'<table class="steppe-est"><caption>{html.escape(self._caption())}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    # -- output ---------------------------------------------------------------
    def to_json(self, indent: int | None = None) -> str:
        """Serialise the table and its metadata to JSON (written by the C++ core).

        Parameters
        ----------
        indent : int, optional
            Spaces per level; ``None`` gives one compact line.

        Returns
        -------
        str
            ``{"meta": {...}, "columns": [...], "rows": [{...}, ...]}``; missing
            values (NaN, None) are ``null``; an infinite ``df`` is ``null`` too
            (``meta["df_rule"]`` says ``"inf"``).

        Examples
        --------
        >>> import json
        >>> json.loads(est.to_json())["rows"][0]["estimate"]  # doctest: +SKIP
        0.007
        """
        from . import _core

        columns = {str(name): json_column(self._frame[name]) for name in self._frame.columns}
        result: str = _core.estimates_to_json(columns, self._meta, -1 if indent is None else indent)
        return result

    def plot(self, ax: Axes | None = None, kind: str = "bar") -> Axes:
        """Plot the estimates with their confidence intervals as error bars.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; by default a new figure.
        kind : {"bar", "point"}, default "bar"
            Bars, or points (better when the estimates are far from zero).

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ImportError
            If matplotlib is not installed (``pip install "steppe[plot]"``).

        Notes
        -----
        Domains of the by-columns go on the x axis; levels (or variables) are
        the series. Flagged estimates are hatched (bars) or hollow (points);
        rows with no estimate are left out.

        Examples
        --------
        >>> ax = est.plot(kind="point")  # doctest: +SKIP
        """
        if kind not in ("bar", "point"):
            raise InvalidInputError(f'kind must be "bar" or "point", got {kind!r}')
        title = f"{self._caption().split(' · ')[0]} ({_level_label(self.level)} CI)"
        share = self._share_mask()
        ylabel = "share" if share.all() else self.statistic
        frame = self._frame.rename(columns={self._category: "level"})
        return _plot(frame, self.by, bool(share.all()), title, ylabel, ax, kind)


def _series_label(variable: Any, level: Any, several_variables: bool) -> str:
    if _is_missing(level):
        return str(variable)
    return f"{variable}: {level}" if several_variables else str(level)


def _plot(
    frame: pd.DataFrame,
    by: list[str],
    share: bool,
    title: str,
    ylabel: str,
    ax: Axes | None,
    kind: str,
) -> Axes:
    """Draw grouped bars or dodged points with CI error bars; see Estimates.plot."""
    try:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch
        from matplotlib.ticker import PercentFormatter
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError('Estimates.plot needs matplotlib: pip install "steppe[plot]"') from error
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.0, 4.0))

    data = frame[frame["estimate"].notna()]
    several = data["variable"].nunique() > 1
    series = [_series_label(v, lv, several) for v, lv in zip(data["variable"], data["level"])]
    groups = (
        [" · ".join(str(v) for v in key) for key in zip(*(data[c] for c in by))]
        if by
        else list(series)
    )
    if not by:
        series = [""] * len(data)
    group_names = list(dict.fromkeys(groups))
    series_names = list(dict.fromkeys(series))
    width = 0.8 / max(len(series_names), 1)

    estimate = data["estimate"].to_numpy(dtype=float)
    low = np.nan_to_num(estimate - data["ci_low"].to_numpy(dtype=float), nan=0.0)
    high = np.nan_to_num(data["ci_high"].to_numpy(dtype=float) - estimate, nan=0.0)
    flagged = data["flag"].fillna("").astype(str).str.len().to_numpy() > 0
    x_group = np.array([group_names.index(g) for g in groups], dtype=float)
    s_index = np.array([series_names.index(s) for s in series], dtype=int)

    for k, name in enumerate(series_names):
        rows = s_index == k
        x = x_group[rows] + (k - (len(series_names) - 1) / 2) * width
        yerr = np.vstack([np.clip(low[rows], 0, None), np.clip(high[rows], 0, None)])
        color = f"C{k}"
        if kind == "bar":
            bars = ax.bar(x, estimate[rows], width * 0.9, color=color, label=name or None)
            for bar, is_flagged in zip(bars, flagged[rows]):
                if is_flagged:
                    bar.set_hatch("//")
                    bar.set_alpha(0.45)
            ax.errorbar(x, estimate[rows], yerr=yerr, fmt="none", ecolor="#333", capsize=3)
        else:
            ax.errorbar(
                x, estimate[rows], yerr=yerr, fmt="o", color=color, capsize=3, label=name or None
            )
            if flagged[rows].any():
                ax.scatter(
                    x[flagged[rows]],
                    estimate[rows][flagged[rows]],
                    facecolors="white",
                    edgecolors=color,
                    zorder=3,
                )

    ax.set_xticks(range(len(group_names)))
    long_labels = sum(len(g) for g in group_names) > 60
    ax.set_xticklabels(
        group_names, rotation=30 if long_labels else 0, ha="right" if long_labels else "center"
    )
    if by:
        ax.set_xlabel(" · ".join(by))
    ax.set_ylabel(ylabel)
    if share:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
        ax.set_ylim(bottom=0.0)  # shares start at zero, bars and points alike
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    if kind == "bar":  # bar handles would show the first bar's hatching when it is flagged
        handles = [Patch(color=f"C{k}") for k, name in enumerate(series_names) if name]
    if flagged.any():
        marker: Any = (
            Patch(facecolor="white", edgecolor="grey", hatch="//")
            if kind == "bar"
            else Line2D([], [], marker="o", color="grey", markerfacecolor="white", linestyle="none")
        )
        handles.append(marker)
        labels.append("flagged: not reliable")
    if len(handles) > 1 or flagged.any():
        ax.legend(handles, labels, frameon=False, fontsize="small")
    return ax
