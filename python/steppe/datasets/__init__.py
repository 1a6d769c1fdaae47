"""Data bundled with steppe: sourced population tables and a SIMULATED poll.

The census and population tables are published figures; each keeps the
``source`` column of its file (see :func:`sources` and
``steppe/datasets/README.md``). The poll returned by :func:`load_poll` is
**simulated** by the seeded script ``tools/simulate_poll.py``; no respondent in
it is real. Shares are fractions 0-1. :func:`poll_margins` gives the population
margins (region, sex, ethnicity) the poll's ``weight`` is raked to, built from
the sourced tables (``margins_*``), with the assumptions each one needs.

Examples
--------
>>> from steppe.datasets import load_poll, sources
>>> load_poll().attrs["simulated"]
True
>>> int(sources()["status"].str.startswith("SIMULATED").sum())
2
"""

from __future__ import annotations

from ._loaders import (
    census_ethnicity_2021,
    census_ethnicity_history,
    census_totals_2021,
    demoscope_methodology,
    demoscope_toplines,
    load_poll,
    population_age_sex_2023,
    population_by_region_2023,
    sources,
)
from ._margins import (
    margins_age_sex_2023,
    margins_ethnicity_2021,
    margins_region_sex_2023,
    poll_margins,
)

__all__ = [
    "census_ethnicity_2021",
    "census_ethnicity_history",
    "census_totals_2021",
    "demoscope_methodology",
    "demoscope_toplines",
    "load_poll",
    "margins_age_sex_2023",
    "margins_ethnicity_2021",
    "margins_region_sex_2023",
    "poll_margins",
    "population_age_sex_2023",
    "population_by_region_2023",
    "sources",
]
