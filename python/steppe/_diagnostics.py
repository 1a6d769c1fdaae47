"""Weight diagnostics.

How uneven the weights are, and how the sample compares with population margins
before and after weighting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _columns as cols
from ._weighting import margins_dict, population_counts

if TYPE_CHECKING:
    from ._state import DesignState


def weight_summary(state: DesignState) -> pd.Series:
    """Spread of the weights and Kish's design effect from unequal weighting."""
    w = state.weights[state.weights > 0]
    n = len(w)
    total = float(w.sum())
    mean = total / n
    cv = float(np.sqrt(np.mean((w - mean) ** 2)) / mean)
    # Kish (1965): deff_w = n sum w^2 / (sum w)^2 = 1 + CV^2 (population CV).
    deff = float(n * np.sum(w * w) / total**2)
    return pd.Series(
        {
            "n": n,
            "sum": total,
            "min": float(w.min()),
            "max": float(w.max()),
            "max_min_ratio": float(w.max() / w.min()),
            "mean": mean,
            "cv": cv,
            "kish_deff": deff,
            "kish_efficiency": 1.0 / deff,
            "n_eff": n / deff,
        },
        name="weights",
    )


class MarginComparison:
    """Sample composition against population margins, before and after weighting.

    ``to_frame()`` has one row per margin level with the unweighted sample share,
    the share under the weights before the design's weighting step, the share
    under its current weights, the population share, and the differences.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def to_frame(self) -> pd.DataFrame:
        """Return the comparison table (a copy)."""
        return self._frame.copy()

    def __repr__(self) -> str:
        return f"MarginComparison\n{self._frame.to_string(index=False)}"

    def _repr_html_(self) -> str:
        shown = self._frame.copy()
        for c in [c for c in shown.columns if c.endswith("share") or c.startswith("diff")]:
            shown[c] = (100 * shown[c]).map("{:.1f}%".format)
        return str(shown.to_html(index=False))

    def plot(self, ax: Any = None) -> Any:
        """Dot plot of sample (before, after) and population shares per level."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - optional extra
            raise ImportError("plotting needs matplotlib: pip install 'steppe[plot]'") from exc
        f = self._frame
        labels = [f"{v}: {lv}" for v, lv in zip(f["variable"], f["level"])]
        y = np.arange(len(f))
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 0.35 * len(f) + 1))
        ax.scatter(f["before_share"], y, marker="o", label="before weighting")
        ax.scatter(f["after_share"], y, marker="x", label="after weighting")
        ax.scatter(f["population_share"], y, marker="|", s=200, label="population")
        ax.set_yticks(y, labels)
        ax.set_xlabel("share")
        ax.legend(loc="best", fontsize="small")
        return ax


def compare_margins(state: DesignState, margins: Any) -> MarginComparison:
    """Compare the design's composition with population margins (see Design.compare_margins)."""
    data = state.data
    by_margin = margins_dict(margins)
    cols.require_columns(data, list(by_margin), "compare_margins")
    before = state.weights
    if state.base_weights is not None:
        before = state.base_weights
    rows = []
    for name, pop_in in by_margin.items():
        pop = population_counts(pop_in, [name])
        pop_total = sum(pop.values())
        labels = data[name].astype(str).where(data[name].notna())
        ok = labels.notna().to_numpy()
        lab = labels.to_numpy()
        for (level,), count in pop.items():
            sel = ok & (lab == level)
            rows.append(
                {
                    "variable": name,
                    "level": level,
                    "sample_n": int(sel.sum()),
                    "unweighted_share": sel.sum() / ok.sum(),
                    "before_share": before[sel].sum() / before[ok].sum(),
                    "after_share": state.weights[sel].sum() / state.weights[ok].sum(),
                    "population_count": count,
                    "population_share": count / pop_total,
                }
            )
    frame = pd.DataFrame(rows)
    frame["diff_before"] = frame["before_share"] - frame["population_share"]
    frame["diff_after"] = frame["after_share"] - frame["population_share"]
    return MarginComparison(frame)
