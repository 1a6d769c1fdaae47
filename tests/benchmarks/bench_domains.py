"""Benchmark: shares of a 5-level item by 600 domains and by age x region.

steppe (estimates, SEs, CIs, design effects) against pandas ``groupby`` (weighted
point estimates only), R survey's ``svyby`` (estimates and SEs; run with Rscript)
and, when installed, samplics' ``TaylorEstimator``, on the same synthetic data
(``_synthetic.py``: 1M rows, 50 strata x 40 PSUs, Categorical columns for all
four tools). Speed is measured, not asserted; steppe's numbers are asserted to
agree with R's to ``--tol`` relative, since a benchmark of wrong numbers is
worthless.

Prints the machine, a table (operation, rows, time, ratio vs pandas, peak memory
in bytes per row) and writes the same to ``results.json`` next to this file.

Usage::

    python tests/benchmarks/bench_domains.py             # R and samplics on 100k rows
    python tests/benchmarks/bench_domains.py --full      # R also on all rows (~2-3 min)
    python tests/benchmarks/bench_domains.py --no-r --no-samplics

Peak memory of an operation is measured in a fresh subprocess once the input
columns exist: ``/proc/self/clear_refs`` resets the peak RSS (VmHWM) to the current
RSS, the operation runs once, and VmHWM minus the RSS before it is the peak
memory beyond the inputs.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _synthetic as syn  # noqa: E402
from _rtable import fmt_time  # noqa: E402

GROUPINGS = {"domain": ["domain"], "age_region": ["age_group", "region"]}
DESIGN_ARGS = {"weights": "w", "strata": "stratum", "psu": "psu"}
CATEGORICALS = ("item", "domain", "age_group", "region")
# glibc raises its mmap threshold as large blocks are freed, after which freed
# memory stays in the heap and is reused unseen by RSS; a fixed threshold returns
# large blocks to the OS on free, so a step's peak RSS counts its own allocations.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


# ------------------------------------------------------------------ machine
def machine_info() -> dict[str, Any]:
    """CPU model, core counts, memory and library versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem_gib = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    import steppe

    return {
        "cpu_model": model,
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "mem_gib": mem_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "interpreter": sys.executable,
        "load_average_at_start": os.getloadavg(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "steppe": getattr(steppe, "__version__", "unknown"),
    }


# ------------------------------------------------------------------- timing
def best_of(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, Any]:
    """Best wall time in seconds of ``repeats`` calls after ``warmup`` calls, and a result."""
    result = None
    for _ in range(warmup):
        result = fn()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def pandas_shares(df: pd.DataFrame, by: list[str]) -> pd.Series:
    """Weighted share of each item level within each ``by`` cell (point estimates only)."""
    num = df.groupby([*by, "item"], observed=True)["w"].sum()
    den = df.groupby(by, observed=True)["w"].sum()
    return num / den


def steppe_design(df: pd.DataFrame, threads: int | None = None) -> Any:
    """Build the steppe design of the benchmark data (it sorts rows by stratum and PSU once)."""
    import steppe as sp

    return sp.Design(df, threads=threads, **DESIGN_ARGS)


def steppe_frame(design: Any, by: list[str] | None) -> pd.DataFrame:
    """Estimate the item's shares by ``by`` with steppe (logit CIs), as a tidy frame."""
    by_arg = None if by is None else (by[0] if len(by) == 1 else by)
    return design.proportion("item", by=by_arg, ci="logit").to_frame()


# ------------------------------------------------------------------- memory
def _status_kb(field: str) -> int:
    """Read a ``/proc/self/status`` field (VmRSS, VmHWM) in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _measure_peak(fn: Callable[[], Any]) -> dict[str, int]:
    """Run ``fn`` once; peak and retained RSS increase in bytes (Linux clear_refs)."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status_kb("VmRSS")
    result = fn()
    peak = _status_kb("VmHWM")
    after = _status_kb("VmRSS")
    del result
    return {"peak_bytes": (peak - before) * 1024, "retained_bytes": (after - before) * 1024}


def probe(op: str, rows: int, seed: int, cache_dir: Path) -> dict[str, int]:
    """Peak memory of one operation on freshly loaded data (run in a child process)."""
    import steppe  # noqa: F401 - import cost is not the operation's

    df = syn.cached(syn.Spec(rows, seed), cache_dir)
    tool, what = op.split(":")
    if tool == "pandas":
        return _measure_peak(lambda: pandas_shares(df, GROUPINGS[what]))
    if what == "design":
        return _measure_peak(lambda: steppe_design(df))
    if what == "pipeline":
        return _measure_peak(lambda: steppe_frame(steppe_design(df), GROUPINGS["domain"]))
    design = steppe_design(df)
    return _measure_peak(lambda: steppe_frame(design, GROUPINGS[what]))


def probe_in_child(
    op: str, args: argparse.Namespace, script: str = __file__, timeout: float = 600
) -> dict[str, int] | None:
    """Run ``script --probe op`` in a fresh interpreter (each benchmark's memory
    probe) and return the JSON it prints last; None where /proc is not available."""
    if not Path("/proc/self/clear_refs").exists():
        return None
    cmd = [sys.executable, script, "--probe", op, "--rows", str(args.rows)]
    cmd += ["--seed", str(args.seed), "--cache-dir", str(args.cache_dir)]
    env = {**os.environ, **MALLOC_ENV}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=timeout, env=env)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------ results
class Table:
    """Rows of the results table; ratios are against pandas on the same rows and grouping."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.pandas: dict[tuple[int, str], float] = {}

    def add(
        self,
        operation: str,
        rows: int,
        seconds: float,
        by: str = "domain",
        memory: dict[str, int] | None = None,
        note: str = "",
    ) -> None:
        """Record one measurement; pandas rows become the baseline for their (rows, by)."""
        if operation.startswith("pandas"):
            self.pandas[(rows, by)] = seconds
        base = self.pandas.get((rows, by))
        peak = None if memory is None else memory["peak_bytes"]
        self.rows.append(
            {
                "operation": operation,
                "by": by,
                "rows": rows,
                "seconds": seconds,
                "ratio_vs_pandas": None if base is None else seconds / base,
                "peak_bytes": peak,
                "peak_bytes_per_row": None if peak is None else peak / rows,
                "retained_bytes": None if memory is None else memory.get("retained_bytes"),
                "note": note,
            }
        )

    def seconds(self, operation: str, rows: int) -> float | None:
        """Time of a recorded operation, or None."""
        for r in self.rows:
            if r["operation"] == operation and r["rows"] == rows:
                return float(r["seconds"])
        return None

    def print(self) -> None:
        """Print the table to stdout."""
        head = f"{'operation':<46} {'rows':>9} {'time':>10} {'vs pandas':>10} {'peak B/row':>11}"
        print(head)
        print("-" * len(head))
        for r in self.rows:
            ratio = "" if r["ratio_vs_pandas"] is None else f"{r['ratio_vs_pandas']:.2f}x"
            mem = "" if r["peak_bytes_per_row"] is None else f"{r['peak_bytes_per_row']:.1f}"
            print(
                f"{r['operation']:<46} {r['rows']:>9,} {fmt_time(r['seconds']):>10} "
                f"{ratio:>10} {mem:>11}"
            )


# ------------------------------------------------------------- steppe/pandas
def bench_python(df: pd.DataFrame, table: Table, args: argparse.Namespace, memory: bool) -> None:
    """Time pandas and steppe on ``df``; with ``memory``, probe peak RSS in subprocesses."""
    n = len(df)

    def mem(op: str) -> dict[str, int] | None:
        return probe_in_child(op, args) if memory else None

    for key, by in GROUPINGS.items():
        t, _ = best_of(lambda by=by: pandas_shares(df, by), args.repeats)
        label = " x ".join(by)
        table.add(f"pandas groupby shares by {label}", n, t, key, mem(f"pandas:{key}"))

    t, _ = best_of(lambda: steppe_design(df), args.repeats, warmup=0)
    table.add("steppe Design() (sorts rows once)", n, t, "domain", mem("steppe:design"))
    design = steppe_design(df)
    for key, by in GROUPINGS.items():
        label = " x ".join(by)
        t, _ = best_of(lambda by=by: design.proportion("item", by=by, ci="logit"), args.repeats)
        table.add(f"steppe proportion() by {label}", n, t, key, mem(f"steppe:{key}"))
    t, _ = best_of(lambda: steppe_frame(design, GROUPINGS["domain"]), args.repeats)
    table.add("steppe proportion().to_frame() by domain", n, t, "domain")
    one = steppe_design(df, threads=1)
    t, _ = best_of(lambda: one.proportion("item", by="domain", ci="logit"), args.repeats)
    table.add("steppe proportion() by domain, 1 thread", n, t, "domain")
    t, _ = best_of(lambda: steppe_frame(steppe_design(df), GROUPINGS["domain"]), args.repeats, 0)
    table.add("steppe Design+proportion+to_frame by domain", n, t, "domain", mem("steppe:pipeline"))


# ------------------------------------------------------------------------ R
def write_r_input(df: pd.DataFrame, path: Path) -> None:
    """CSV for R: design columns and the categoricals' integer codes."""
    out = df[["w", "stratum", "psu"]].copy()
    for c in CATEGORICALS:
        out[c] = df[c].cat.codes
    out.to_csv(path, index=False, float_format="%.17g")


def run_r(df: pd.DataFrame, workdir: Path) -> dict[str, Any]:
    """Run r_svyby.R on ``df``; its timings plus its estimates relabelled to categories."""
    csv = workdir / "input.csv"
    write_r_input(df, csv)
    cmd = ["Rscript", str(HERE / "r_svyby.R"), str(csv), str(workdir)]
    subprocess.run(cmd, check=True, timeout=1800, env={**os.environ, **MALLOC_ENV})
    timings = json.loads((workdir / "r_timings.json").read_text())
    frames = {}
    for key, by in [("domain", ["domain"]), ("age_region", ["age_group", "region"]), ("whole", [])]:
        f = pd.read_csv(workdir / f"r_{key}.csv", dtype={"estimate": float, "se": float})
        for c in [*by, "level"]:
            cats = df["item" if c == "level" else c].cat.categories
            f[c] = np.asarray(cats)[f[c].to_numpy()]
        frames[key] = f
    return {"timings": timings, "frames": frames}


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, by: list[str]) -> dict[str, Any]:
    """Max relative differences of estimate and SE, matching cells by (by..., level).

    Cells R reports as 0 with SE 0 (a level absent from a domain) may be absent
    from steppe's frame; any other unmatched cell counts as a mismatch (inf).
    """
    keys = [*by, "level"]
    left = ours[keys + ["estimate", "se"]].copy()
    for c in keys:
        left[c] = left[c].astype(str)
    merged = theirs.merge(left, on=keys, how="outer", suffixes=("_r", "_steppe"), indicator=True)
    only_r = merged[merged["_merge"] == "left_only"]
    empty_in_r = (only_r["estimate_r"] == 0) & (only_r["se_r"] == 0)
    both = merged[merged["_merge"] == "both"]
    out: dict[str, Any] = {"cells": int(len(both)), "absent_zero_cells": int(empty_in_r.sum())}
    for col in ("estimate", "se"):
        a, b = both[f"{col}_steppe"].to_numpy(float), both[f"{col}_r"].to_numpy(float)
        scale = np.maximum(np.abs(b), np.finfo(float).tiny)
        rel = np.where(a == b, 0.0, np.abs(a - b) / scale)
        out[f"max_rel_diff_{col}"] = float(np.nanmax(rel)) if len(rel) else 0.0
        if np.isnan(rel).any():
            out[f"max_rel_diff_{col}"] = math.inf
    unmatched = int((merged["_merge"] == "right_only").sum()) + int((~empty_in_r).sum())
    out["unmatched_cells"] = unmatched
    if unmatched:
        out["max_rel_diff_estimate"] = out["max_rel_diff_se"] = math.inf
    return out


def crosscheck(df: pd.DataFrame, r: dict[str, Any], tol: float) -> dict[str, Any]:
    """Compare steppe with R on the same rows for each grouping; print and return the diffs."""
    design = steppe_design(df)
    checks = {}
    for key, by in [("domain", ["domain"]), ("age_region", ["age_group", "region"]), ("whole", [])]:
        ours = steppe_frame(design, by or None)
        checks[key] = compare(ours, r["frames"][key], by)
        c = checks[key]
        print(
            f"  steppe vs R, {key:<10} {len(df):>9,} rows: {c['cells']} cells, "
            f"max rel diff estimate {c['max_rel_diff_estimate']:.2e}, "
            f"SE {c['max_rel_diff_se']:.2e}"
            + (
                f" ({c['absent_zero_cells']} empty cells only in R)"
                if c["absent_zero_cells"]
                else ""
            )
        )
    worst = max(max(c["max_rel_diff_estimate"], c["max_rel_diff_se"]) for c in checks.values())
    checks["tolerance"] = tol
    checks["passed"] = bool(worst <= tol)
    return checks


def bench_r(df: pd.DataFrame, table: Table, tol: float) -> dict[str, Any]:
    """Time R svyby and svymean on ``df`` and cross-check steppe's numbers against R's."""
    n = len(df)
    workdir = Path(tempfile.mkdtemp(prefix="steppe-bench-r-"))
    try:
        r = run_r(df, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    t = r["timings"]
    table.add("R svydesign()", n, t["svydesign"]["seconds"], "domain", t["svydesign"])
    table.add(
        "R svyby(~item, ~domain, svymean)",
        n,
        t["svyby_domain"]["seconds"],
        "domain",
        t["svyby_domain"],
    )
    table.add(
        "R svyby(~item, ~age_group+region, svymean)",
        n,
        t["svyby_age_region"]["seconds"],
        "age_region",
        t["svyby_age_region"],
    )
    table.add("R svymean(~item) whole sample", n, t["svymean"]["seconds"], "domain", t["svymean"])
    peak = t.get("process_peak_bytes")
    if peak:
        print(f"  R process peak RSS {peak / 2**20:,.0f} MiB ({peak / n:,.0f} bytes/row, all of R)")
    checks = crosscheck(df, r, tol)
    return {"rows": n, "timings": t, "crosscheck": checks, "frames": r["frames"]}


# ----------------------------------------------------------------- samplics
def bench_samplics(df: pd.DataFrame, table: Table, r_frame: pd.DataFrame | None) -> dict[str, Any]:
    """Time samplics' TaylorEstimator by domain; compare with R when R ran on these rows."""
    try:
        from samplics.estimation import TaylorEstimator
        from samplics.utils.types import PopParam
    except ImportError as exc:
        print(f"  samplics skipped: not installed ({exc}); `pip install samplics` to include it")
        return {"skipped": str(exc)}

    def run() -> Any:
        est = TaylorEstimator(PopParam.prop, ciprop_method="logit")
        est.estimate(
            y=df["item"].cat.codes.to_numpy(),
            samp_weight=df["w"].to_numpy(),
            stratum=df["stratum"].to_numpy(),
            psu=df["psu"].to_numpy(),
            domain=df["domain"].cat.codes.to_numpy(),
        )
        return est

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, est = best_of(run, repeats=1, warmup=0)
        frame = est.to_dataframe()
    table.add("samplics TaylorEstimator by domain", len(df), t, "domain")
    out: dict[str, Any] = {"rows": len(df), "seconds": t}
    if r_frame is not None:
        ours = pd.DataFrame(
            {
                "domain": np.asarray(df["domain"].cat.categories)[frame["_domain"].astype(int)],
                "level": np.asarray(df["item"].cat.categories)[frame["_level"].astype(int)],
                "estimate": frame["_estimate"].astype(float),
                "se": frame["_stderror"].astype(float),
            }
        )
        out["vs_r"] = compare(ours, r_frame, ["domain"])
        print(
            f"  samplics vs R (not asserted): max rel diff estimate "
            f"{out['vs_r']['max_rel_diff_estimate']:.2e}, SE {out['vs_r']['max_rel_diff_se']:.2e}"
        )
    return out


# --------------------------------------------------------------------- main
def summary(table: Table, args: argparse.Namespace, r_rows: list[int]) -> dict[str, Any]:
    """Headline ratios: steppe vs pandas (full data) and steppe vs R (rows R ran on)."""
    n = args.rows
    prop = table.seconds("steppe proportion() by domain", n)
    pandas_t = table.seconds("pandas groupby shares by domain", n)
    out: dict[str, Any] = {
        "steppe_over_pandas_by_domain": None if not (prop and pandas_t) else prop / pandas_t
    }
    for rows in r_rows:
        r_t = table.seconds("R svyby(~item, ~domain, svymean)", rows)
        s_t = table.seconds("steppe proportion() by domain", rows)
        if r_t and s_t:
            out[f"r_over_steppe_by_domain_{rows}_rows"] = r_t / s_t
    sam = table.seconds("samplics TaylorEstimator by domain", args.r_rows)
    s_sub = table.seconds("steppe proportion() by domain", args.r_rows)
    if sam and s_sub:
        out[f"samplics_over_steppe_by_domain_{args.r_rows}_rows"] = sam / s_sub
    return out


def print_summary(s: dict[str, Any]) -> None:
    """Print the headline ratios."""
    print()
    ratio = s.get("steppe_over_pandas_by_domain")
    if ratio:
        verdict = "faster" if ratio < 1 else "slower"
        print(
            f"steppe proportion() by domain (SEs, CIs, deff) takes {ratio:.2f}x the time of "
            f"pandas groupby point estimates ({verdict})"
        )
    for key, value in s.items():
        for prefix, name in (("r_over", "R svyby"), ("samplics_over", "samplics")):
            if key.startswith(prefix):
                rows = int(key.split("_")[-2])
                print(f"{name} by domain takes {value:,.0f}x steppe's time on {rows:,} rows")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the data")
    p.add_argument("--r-rows", type=int, default=100_000, help="rows of the R/samplics subsample")
    p.add_argument("--full", action="store_true", help="also run R on all rows (~2-3 min)")
    p.add_argument("--no-r", action="store_true", help="skip R")
    p.add_argument("--no-samplics", action="store_true", help="skip samplics")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--repeats", type=int, default=7, help="timed runs per operation (best kept)")
    p.add_argument("--seed", type=int, default=syn.Spec().seed)
    p.add_argument("--tol", type=float, default=1e-9, help="max relative difference vs R")
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "steppe-bench")
    p.add_argument("--out", type=Path, default=HERE / "results.json")
    p.add_argument("--probe", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if steppe disagrees with R."""
    args = parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.rows, args.seed, args.cache_dir)))
        return 0
    machine = machine_info()
    print(f"machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['mem_gib']} GiB")
    print(f"python {machine['python']}, numpy {machine['numpy']}, pandas {machine['pandas']}")
    load = machine["load_average_at_start"][0]
    print(f"load average {load:.2f} (1 min; other work on the machine makes timings noisy)")
    df = syn.cached(syn.Spec(args.rows, args.seed), args.cache_dir)
    print(
        f"data: {len(df):,} rows, inputs {syn.input_bytes(df) / len(df):.0f} bytes/row "
        f"(Categorical item/domain/age_group/region for steppe and pandas alike)\n"
    )

    table = Table()
    bench_python(df, table, args, memory=not args.no_memory)
    sub = syn.subsample(df, args.r_rows) if args.r_rows < len(df) else df
    r_results: dict[str, Any] = {}
    r_rows = []
    if not args.no_r:
        if len(sub) < len(df):
            bench_python(sub, table, args, memory=False)
        print(f"R survey svyby on {len(sub):,} rows ...")
        r_results["subsample"] = bench_r(sub, table, args.tol)
        r_rows.append(len(sub))
        if args.full and len(sub) < len(df):
            print(f"R survey svyby on all {len(df):,} rows ...")
            r_results["full"] = bench_r(df, table, args.tol)
            r_rows.append(len(df))
    r_sub = r_results.get("subsample")
    samplics = (
        {}
        if args.no_samplics
        else bench_samplics(sub, table, None if r_sub is None else r_sub["frames"]["domain"])
    )
    print()
    table.print()
    s = summary(table, args, r_rows)
    print_summary(s)
    machine["load_average_at_end"] = os.getloadavg()
    ok = all(r["crosscheck"]["passed"] for r in r_results.values())
    write_json(args, machine, table, r_results, samplics, s)
    if not ok:
        print(f"\nFAILED: steppe differs from R by more than {args.tol:g} relative")
        return 1
    return 0


def write_json(
    args: argparse.Namespace,
    machine: dict[str, Any],
    table: Table,
    r_results: dict[str, Any],
    samplics: dict[str, Any],
    s: dict[str, Any],
) -> None:
    """Write everything printed to ``args.out`` as JSON."""
    doc = {
        **results_header(args, machine, skip=("probe",)),
        "data": {
            "strata": syn.N_STRATA,
            "psu_per_stratum": syn.PSU_PER_STRATUM,
            "domains": syn.N_DOMAINS,
            "item_levels": len(syn.ITEM_LEVELS),
            "age_groups": len(syn.AGE_LEVELS),
            "regions": syn.N_REGIONS,
        },
        "results": table.rows,
        "r": {k: {f: v for f, v in r.items() if f != "frames"} for k, r in r_results.items()},
        "samplics": samplics,
        "summary": s,
    }
    args.out.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    print(f"\nwrote {args.out}")


def results_header(
    args: argparse.Namespace, machine: dict[str, Any], skip: tuple[str, ...] = ("probe",)
) -> dict[str, Any]:
    """The first fields of every benchmark's results JSON: when, where, how it ran."""
    return {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine,
        "config": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in skip
        },
    }


def _json_default(obj: Any) -> Any:
    """JSON for numpy scalars and infinities."""
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    return str(obj)


if __name__ == "__main__":
    sys.exit(main())
