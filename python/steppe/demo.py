"""The main job on bundled data: ``python -m steppe.demo [--out DIR]``.

Estimates from the bundled **simulated** Kazakhstan poll (attitude to Russia by
age group in May 2023, side supported by wave) and the 2021 census ethnic
composition, printed with confidence intervals and plain-language phrases, and
written to ``DIR/index.html`` (default ``report/index.html``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import steppe as sp
from steppe.report import Section, write_report

__all__ = ["main"]

WAVE = "2023-05"
YOUTH = {"age_group": "18-29", "level": "improved"}
SIMULATED = (
    "The poll used here is SIMULATED: a seeded script drew fictitious respondents to "
    "match published Demoscope toplines and population margins. No respondent is real; "
    "do not cite these poll numbers as data. The census figures are published counts."
)


def _census_table(census: pd.DataFrame) -> pd.DataFrame:
    """Census groups with their share as percent and as "1 in N"."""
    rows = census.dropna(subset=["share"])
    return pd.DataFrame(
        {
            "ethnic group": rows["ethnic_group"],
            "count": rows["count"].map(lambda c: f"{int(c):,}"),
            "share": rows["share"].map(lambda s: sp.percent(s, digits=1)),
            "about": rows["share"].map(sp.one_in),
        }
    )


def _heading(text: str) -> None:
    print(f"\n== {text} ==")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo and write the HTML report.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default: ``sys.argv[1:]``); ``--out DIR``
        chooses the report folder.

    Returns
    -------
    int
        Exit status, 0 on success.

    Examples
    --------
    >>> main(["--out", "report"])  # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m steppe.demo", description=__doc__)
    parser.add_argument("--out", default="report", help="folder for index.html (default: report)")
    args = parser.parse_args(argv)

    print("NOTE: " + SIMULATED)
    poll = sp.datasets.load_poll()
    # Strata and PSUs are wave-specific (each wave is its own sample), so one
    # design over all waves is right; a wave is a domain, not a dropped-rows copy.
    design = sp.Design(poll, weights="weight", strata="stratum", psu="psu")
    print(design)

    _heading(f"Attitude to Russia since the war began, by age group ({WAVE}, simulated)")
    # "beta" (Korn-Graubard) stays valid for shares near 0 such as the young "improved".
    attitude = design.subset(poll["wave"] == WAVE).proportion(
        "attitude_to_russia", by="age_group", ci="beta"
    )
    print(attitude)
    frame = attitude.to_frame()
    youth = frame[(frame["age_group"] == YOUTH["age_group"]) & (frame["level"] == YOUTH["level"])]
    youth_text = attitude.describe(YOUTH)
    print(f"\nHeadline: {attitude.phrase(YOUTH)} of 18-29 year-olds say 'improved'.")
    print(youth_text)
    print(f"Reliability flag: {youth['flag'].iloc[0] or 'none (publishable)'}")

    _heading("Which side do you support? By wave (simulated; not asked in every wave)")
    answered = design.subset(poll["side_supported"].notna())
    side = answered.proportion("side_supported", by="wave", ci="beta")
    print(side)
    waves = side.to_frame()["wave"].unique()
    side_text = [side.describe({"wave": wave, "level": "Russia"}) for wave in waves]
    print("\n".join(side_text))

    _heading("Ethnic composition, 2021 census")
    census = sp.datasets.census_ethnicity_2021()
    census_table = _census_table(census)
    print(census_table.to_string(index=False))
    russian = float(census.loc[census["ethnic_group"] == "Russian", "share"].iloc[0])
    census_text = (
        f"{sp.percent(russian, digits=1)} of residents were ethnic Russian in 2021: about "
        f"{sp.one_in(russian)}. Census counts are a full count, so they carry no "
        "sampling error."
    )
    print(census_text)

    sections = [
        Section(
            f"Attitude to Russia by age group, {WAVE} (simulated poll)",
            text=[youth_text],
            estimates=attitude,
            notes=[SIMULATED],
        ),
        Section(
            "Side supported, by wave (simulated poll)",
            text=side_text,
            estimates=side,
            chart="point",
        ),
        Section("Ethnic composition, 2021 census", text=[census_text], table=census_table),
    ]
    path = write_report(
        sections,
        Path(args.out) / "index.html",
        title="Kazakhstan: opinion and ethnic composition",
        notes=[SIMULATED],
    )
    print(f"\nReport written to {path.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
