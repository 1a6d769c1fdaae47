"""The results table of the benchmarks that compare against R (rake, replicates).

Each row may name the R step it is compared with (``r_op``); R's own rows are the
baseline (ratio 1) for rows naming them on the same number of rows.
"""

from __future__ import annotations

from typing import Any


def fmt_time(seconds: float) -> str:
    """Seconds as ms below 10 s, else s."""
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


class RTable:
    """Rows of a results table whose ratios are against R on the same rows."""

    def __init__(self, width: int = 50) -> None:
        self.rows: list[dict[str, Any]] = []
        self.width = width

    def add(
        self,
        operation: str,
        rows: int,
        seconds: float,
        r_op: str | None = None,
        memory: dict[str, Any] | None = None,
        runs: int | None = None,
        note: str = "",
        first: float | None = None,
    ) -> None:
        """Record one measurement; ``r_op`` is the key of the R row it is compared with."""
        peak = None if memory is None else memory.get("peak_bytes")
        self.rows.append(
            {
                "operation": operation,
                "rows": rows,
                "seconds": seconds,
                "timed_runs": runs,
                "first_call_seconds": first,
                "r_op": r_op,
                "ratio_vs_r": None,
                "peak_bytes": peak,
                "peak_bytes_per_row": None if peak is None else peak / rows,
                "retained_bytes": None if memory is None else memory.get("retained_bytes"),
                "note": note,
            }
        )

    def add_r(self, key: str, operation: str, rows: int, timing: dict[str, Any]) -> None:
        """Record an R step (run once); it is the baseline for rows that name ``key``."""
        self.add(operation, rows, float(timing["seconds"]), key, timing, runs=1)
        self.rows[-1]["is_r"] = True

    def finish(self) -> None:
        """Fill in each row's time divided by its R counterpart's time on the same rows."""
        base = {(r["r_op"], r["rows"]): r["seconds"] for r in self.rows if r.get("is_r")}
        for r in self.rows:
            b = base.get((r["r_op"], r["rows"]))
            r["ratio_vs_r"] = None if not b else r["seconds"] / b

    def seconds(self, prefix: str, rows: int) -> float | None:
        """Time of the first recorded operation starting with ``prefix`` on ``rows`` rows."""
        for r in self.rows:
            if r["operation"].startswith(prefix) and r["rows"] == rows:
                return float(r["seconds"])
        return None

    def print(self) -> None:
        """Print the table to stdout."""
        w = self.width
        head = f"{'operation':<{w}} {'rows':>9} {'time':>10} {'runs':>4} {'vs R':>8}"
        head += f" {'peak B/row':>11}"
        print(head)
        print("-" * len(head))
        for r in self.rows:
            ratio = "" if r["ratio_vs_r"] is None else f"{r['ratio_vs_r']:.3f}x"
            mem = "" if r["peak_bytes_per_row"] is None else f"{r['peak_bytes_per_row']:.1f}"
            print(
                f"{r['operation']:<{w}} {r['rows']:>9,} {fmt_time(r['seconds']):>10} "
                f"{r['timed_runs'] or '':>4} {ratio:>8} {mem:>11}"
            )
