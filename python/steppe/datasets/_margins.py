"""Population margins for weighting the simulated poll, built from the sourced tables.

Every number comes from a bundled, sourced file (see ``README.md`` next to this
module); each table keeps that file's ``source`` column. Where the sources do
not match the poll's definitions (the poll covers adults aged 18+, the margins
cover all ages; ethnicity has more groups than the poll's three), the
assumption made is stated in the docstring and in ``README.md`` ("Margins").
"""

from __future__ import annotations

import pandas as pd

from ._loaders import (
    POLL_LEVELS,
    _invalid_input,
    census_ethnicity_2021,
    census_totals_2021,
    population_age_sex_2023,
    population_by_region_2023,
)

#: Common total of the margins returned by :func:`poll_margins`: the population of
#: Kazakhstan on 1 January 2023 (all ages, sum of the 20 regions), which is also the
#: sum of the simulated poll's design weights in every wave.
POLL_MARGIN_TOTAL = 19_765_004

#: The poll's waves (the margins are the same for each: single-date sources).
POLL_WAVES = tuple(POLL_LEVELS["wave"])

_NOT_STATED = "Not stated (new answer option in 2021)"
#: Age groups of ``population_age_sex_2023.csv`` used for the adult sex split.
ADULT_PROXY_AGE_GROUPS = ("15-64", "65+")


def margins_region_sex_2023() -> pd.DataFrame:
    """Load the population of the 20 regions by sex on 1 January 2023, as a weighting margin.

    The counts are the BNS figures of ``population_by_region_2023-01-01.csv``,
    unchanged. They cover **all ages**; the simulated poll covers adults aged
    18+. No adult population by region was found (see the README, "Gaps"), so
    weighting a poll to these counts assumes that adults are spread over regions
    and sexes as the whole population is.

    Returns
    -------
    pandas.DataFrame
        40 rows: ``region`` (named as in the poll), ``sex`` (``"male"`` /
        ``"female"``), ``count``, ``share`` (of the national total 19,765,004),
        ``reference_date`` and ``source``.

    See Also
    --------
    poll_margins : The margins the simulated poll is raked to.

    Examples
    --------
    >>> from steppe.datasets import margins_region_sex_2023
    >>> m = margins_region_sex_2023()
    >>> int(m["count"].sum()), m["region"].nunique()
    (19765004, 20)
    >>> m.groupby("sex")["count"].sum().to_dict()
    {'female': 10118282, 'male': 9646722}
    """
    pop = population_by_region_2023()
    out = pop[["region", "sex", "count"]].copy()
    out["share"] = out["count"] / out["count"].sum()
    out["reference_date"] = pop["reference_date"]
    out["source"] = pop["source"]
    return out


def margins_age_sex_2023() -> pd.DataFrame:
    """Load the population by broad age group (0-14, 15-64, 65+) and sex, 1 January 2023.

    The counts are those of ``population_age_sex_2023.csv`` (an encyclopedia
    infobox whose six cells add up to the BNS revised 1 January 2023 total
    19,766,807; the underlying table was not seen). These bands are **not**
    the poll's age groups (18-29, 30-39, 40-59, 60+): no adult population by
    those bands was found, and the 15-17 count that would turn 15-64 into
    18-64 is not in the sources either. So the poll is *not* raked to age;
    these counts only give the sex split of the population aged 15+, which
    :func:`poll_margins` uses as the sex split of adults.

    Returns
    -------
    pandas.DataFrame
        Six rows: ``age_group``, ``sex``, ``count``, ``share`` (of the total
        19,766,807), ``reference`` and ``source``.

    See Also
    --------
    poll_margins : The margins the simulated poll is raked to.

    Examples
    --------
    >>> from steppe.datasets import margins_age_sex_2023
    >>> m = margins_age_sex_2023()
    >>> int(m["count"].sum())
    19766807
    >>> adults = m[m.age_group != "0-14"].groupby("sex")["count"].sum()
    >>> round(float(adults["male"] / adults.sum()), 4)
    0.477
    """
    raw = population_age_sex_2023()
    out = raw[["age_group", "sex", "count"]].copy()
    out["count"] = out["count"].astype("int64")
    out["share"] = out["count"] / out["count"].sum()
    out["reference"] = raw["reference"]
    out["source"] = raw["source"]
    return out


def margins_ethnicity_2021() -> pd.DataFrame:
    """Load the 2021 census ethnic composition collapsed to Kazakh / Russian / Other.

    These are the poll's ethnicity levels. ``Kazakh`` and ``Russian`` are the
    census counts. ``Other`` is the census total (19,186,015) minus Kazakhs,
    Russians and the 24,800 people whose ethnicity was "not stated" (a new
    answer option in 2021; the count is published rounded to 0.1 thousand), so
    it holds the other eight of the ten largest groups, all smaller groups and
    the "other nationality" answer.
    The "not stated" are left out of the base: ``share`` is of the 19,161,215
    people who stated an ethnicity, which assumes that those who did not state
    one are distributed like those who did (they are 0.13% of the population).

    The census counts all ages; weighting an adult poll to these shares
    assumes that the ethnic composition of adults in 2023 is that of the whole
    population in 2021 (the census by age was not found).

    Returns
    -------
    pandas.DataFrame
        Three rows: ``ethnicity`` (the poll's labels), ``count``, ``share``
        (fraction of those who stated an ethnicity), ``derivation`` (how the
        row is made from the census table) and ``source``.

    See Also
    --------
    census_ethnicity_2021 : The census table itself.
    poll_margins : The margins the simulated poll is raked to.

    Examples
    --------
    >>> from steppe.datasets import margins_ethnicity_2021
    >>> m = margins_ethnicity_2021().set_index("ethnicity")
    >>> m["count"].to_dict()
    {'Kazakh': 13497891, 'Russian': 2981946, 'Other': 2681378}
    >>> round(float(m.loc["Russian", "share"]), 4)
    0.1556
    """
    census = census_ethnicity_2021().set_index("ethnic_group")
    count = {str(k): int(v) for k, v in census["count"].items()}
    source = {str(k): str(v) for k, v in census["source"].items()}
    totals = census_totals_2021()
    total_row = totals[(totals.dimension == "total") & (totals.category == "all")]
    total = int(total_row["count"].iloc[0])
    total_source = str(total_row["source"].iloc[0])
    not_stated = count[_NOT_STATED]
    other = total - count["Kazakh"] - count["Russian"] - not_stated
    stated = total - not_stated
    rows = [
        ("Kazakh", count["Kazakh"], "census count 'Kazakh'", source["Kazakh"]),
        ("Russian", count["Russian"], "census count 'Russian'", source["Russian"]),
        (
            "Other",
            other,
            f"census total {total:,} minus Kazakh, Russian and 'not stated' ({not_stated:,}, "
            "rounded to 0.1k); includes the 'other nationality' answer",
            f"total: {total_source} | not stated: {source[_NOT_STATED]} "
            f"| Kazakh, Russian: {source['Kazakh']}",
        ),
    ]
    out = pd.DataFrame(rows, columns=["ethnicity", "count", "derivation", "source"])
    out["count"] = out["count"].astype("int64")
    out.insert(2, "share", out["count"] / stated)
    return out


def poll_margins(wave: str | None = None, total: float = POLL_MARGIN_TOTAL) -> dict[str, pd.Series]:
    """Return the population margins the simulated poll's ``weight`` is raked to.

    Returns ``{column: counts}`` in the form :meth:`steppe.Design.rake` takes,
    indexed by the poll's own labels, for three margins:

    * ``region`` -- the 20 regions on 1 January 2023 (BNS; all ages), from
      :func:`margins_region_sex_2023`;
    * ``sex`` -- the sex split of the population aged **15+** in 2023, from
      :func:`margins_age_sex_2023` (assumed to be that of adults 18+, for which
      no count was found);
    * ``ethnicity`` -- Kazakh / Russian / Other among those who stated an
      ethnicity in the 2021 census, from :func:`margins_ethnicity_2021`.

    Raking needs margins with equal totals, so every margin is its **shares
    times one common total**: by default 19,765,004, the all-age population of
    1 January 2023, which is also the sum of the poll's design weights in each
    wave (so the region counts are the published ones, unchanged). Weighted
    totals are therefore not counts of adults: use shares. Pass the sum of your
    own design weights (or an adult population you trust) as ``total`` to
    change the scale; shares, and so every estimated proportion, do not depend
    on it.

    The poll is not raked to age: the sources give only 0-14/15-64/65+, not the
    poll's bands 18-29/30-39/40-59/60+ (see :func:`margins_age_sex_2023`).

    Parameters
    ----------
    wave : {"2022-11", "2023-05", "2025-01"}, optional
        The poll wave. The margins are the same for every wave (the sources have
        one date each; the 2023 population is used for all waves); the argument
        checks the label so that code written per wave reads naturally.
    total : float
        Common total of the margins (> 0).

    Returns
    -------
    dict of str to pandas.Series
        ``{"region": ..., "sex": ..., "ethnicity": ...}``; each Series is
        indexed by the poll's labels, named after its column, sums to ``total``
        and has ``attrs["source"]`` and ``attrs["assumption"]``.

    Raises
    ------
    InvalidInputError
        For an unknown wave or a total that is not a positive number.

    Examples
    --------
    >>> import steppe as sp
    >>> from steppe.datasets import load_poll, poll_margins
    >>> margins = poll_margins("2023-05")
    >>> {k: round(float(v.sum())) for k, v in margins.items()}
    {'region': 19765004, 'sex': 19765004, 'ethnicity': 19765004}
    >>> round(float(margins["ethnicity"]["Russian"] / margins["ethnicity"].sum()), 4)
    0.1556
    >>> may = load_poll(wave="2023-05")
    >>> d = sp.Design(may, weights="design_weight", strata="stratum", psu="psu")
    >>> raked = d.rake(margins)
    >>> bool(abs(raked.weights - may["weight"].to_numpy()).max() < 1e-3)
    True
    """
    if wave is not None and wave not in POLL_WAVES:
        raise _invalid_input(f"wave must be one of {list(POLL_WAVES)}, got {wave!r}")
    if isinstance(total, bool) or not isinstance(total, (int, float)) or not total > 0:
        raise _invalid_input(f"total must be a positive number, got {total!r}")
    if total == float("inf"):
        raise _invalid_input("total must be finite")

    region_sex = margins_region_sex_2023()
    region = region_sex.groupby("region", sort=False)["count"].sum()
    age_sex = margins_age_sex_2023()
    adults = age_sex[age_sex["age_group"].isin(ADULT_PROXY_AGE_GROUPS)]
    sex = adults.groupby("sex")["count"].sum().reindex(POLL_LEVELS["sex"])
    ethnicity = margins_ethnicity_2021().set_index("ethnicity")["count"]
    ethnicity = ethnicity.reindex(POLL_LEVELS["ethnicity"])

    sources = {
        "region": str(region_sex["source"].iloc[0]),
        "sex": str(age_sex["source"].iloc[0]),
        "ethnicity": " | ".join(margins_ethnicity_2021()["source"].drop_duplicates()),
    }
    assumptions = {
        "region": "1 Jan 2023 population of all ages (BNS); adults assumed spread over regions "
        "as the whole population (no adult counts by region found)",
        "sex": "sex split of the population aged 15+ (2023) used for adults 18+ (no 18+ count "
        "found)",
        "ethnicity": "2021 census (all ages), Kazakh / Russian / Other among those who stated an "
        "ethnicity; adults in 2023 assumed to have that composition",
    }
    out: dict[str, pd.Series] = {}
    for name, counts in (("region", region), ("sex", sex), ("ethnicity", ethnicity)):
        scaled = counts.astype("float64") * (float(total) / float(counts.sum()))
        scaled.index = pd.Index([str(x) for x in scaled.index], name=name)
        scaled.name = name
        scaled.attrs["source"] = sources[name]
        scaled.attrs["assumption"] = assumptions[name]
        out[name] = scaled
    return out
