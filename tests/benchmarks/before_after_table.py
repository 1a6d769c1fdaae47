"""Markdown table of a before_after.sh run: steppe's rows, before vs after, same machine.

Usage: python tests/benchmarks/before_after_table.py OUT_DIR
(OUT_DIR as given to before_after.sh; reads {domains,rake,replicates}_{before,after}.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def rows(path: Path) -> dict[tuple[str, int], float]:
    """(operation, rows) -> seconds for steppe's rows of one result file."""
    doc = json.loads(path.read_text())
    return {
        (r["operation"], int(r["rows"])): float(r["seconds"])
        for r in doc["results"]
        if r["operation"].startswith("steppe") and r.get("seconds") is not None
    }


def main(out: Path) -> None:
    """Print the table (milliseconds, after / before)."""
    print("| benchmark | operation | rows | before | after | after / before |")
    print("|---|---|--:|--:|--:|--:|")
    for name in ("domains", "rake", "replicates"):
        before = rows(out / f"{name}_before.json")
        after = rows(out / f"{name}_after.json")
        for key, b in before.items():
            if key not in after:
                continue
            a = after[key]
            print(
                f"| {name} | {key[0]} | {key[1]:,} | {b * 1000:.0f} ms | {a * 1000:.0f} ms "
                f"| {a / b:.2f}× |"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
