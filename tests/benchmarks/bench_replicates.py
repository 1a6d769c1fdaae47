"""Benchmark: shares of a 5-level item by 600 domains on a design with 80 replicate weights.

steppe's ``ReplicateDesign`` (JK1, 80 replicate columns of full analysis weights)
and ``proportion("item", by="domain", ci="xlogit")`` against R survey's
``svrepdesign`` and ``svyby(~item, ~domain, des, svymean)`` (run with Rscript),
on the domain benchmark's synthetic data (``_synthetic.py``: 1M rows, 50 strata
x 40 PSUs, 600 domains) plus 80 jackknife replicate weights built here.

The replicate weights are a grouped delete-one jackknife (JK1): the 2,000 PSUs
are put in 80 random groups of 25 (seeded), and replicate r gives weight 0 to
the rows of group r and ``w * 80 / 79`` to all others.

R's ``svyby`` subsets the replicate-weight matrix once per domain and takes
about 2 minutes on 1M rows. By default R runs twice: on a simple random
subsample of rows (``--r-rows``, default 100,000; same 80 replicate columns,
unchanged weights) and on all rows; ``--no-r-full`` skips the second run (about
2.5 minutes less). Speed is measured, not asserted. Correctness is
asserted: on every row set R runs on, steppe's estimates and SEs must match R's
to ``--tol`` relative, otherwise the exit status is 1.

Prints the machine, a table (operation, rows, time, ratio vs R, peak memory in
bytes per row) and writes the same to ``replicate_results.json`` next to this file.

Usage::

    python tests/benchmarks/bench_replicates.py                  # R on 100k and 1M rows (~5 min)
    python tests/benchmarks/bench_replicates.py --no-r-full      # R on 100k rows only (~2 min)
    python tests/benchmarks/bench_replicates.py --no-r --no-memory

Peak memory is measured as in ``bench_domains.py``: in a fresh subprocess once
the inputs (including the 80 replicate columns) exist, ``/proc/self/clear_refs``
resets VmHWM, the operation runs once (cold) and VmHWM minus the RSS before it
is the peak beyond the inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _synthetic as syn  # noqa: E402
from _rtable import RTable as Table  # noqa: E402
from bench_domains import (  # noqa: E402
    MALLOC_ENV,
    _json_default,
    _measure_peak,
    best_of,
    compare,
    machine_info,
    probe_in_child,
    results_header,
)

N_REPLICATES = 80
REP_SEED = 80  # seeds the assignment of PSUs to jackknife groups
REP_PREFIX = "rep"
JK1_SCALE = (N_REPLICATES - 1) / N_REPLICATES  # R's svrepdesign default for JK1


# --------------------------------------------------------------------- data
def psu_groups(n_rep: int = N_REPLICATES, seed: int = REP_SEED) -> np.ndarray:
    """Jackknife group (0..n_rep-1) of each of the 2,000 PSUs: random, equal-sized groups."""
    n_psu = syn.N_STRATA * syn.PSU_PER_STRATUM
    return np.random.default_rng(seed).permutation(np.arange(n_psu) % n_rep)


def jk1_replicates(w: np.ndarray, psu: np.ndarray, n_rep: int = N_REPLICATES) -> np.ndarray:
    """rows x n_rep replicate weights (Fortran order): 0 in the deleted group, else w * R/(R-1)."""
    group = psu_groups(n_rep)[psu]
    scaled = w * (n_rep / (n_rep - 1))
    out = np.empty((len(w), n_rep), order="F")
    for r in range(n_rep):
        np.copyto(out[:, r], scaled)
        out[group == r, r] = 0.0
    return out


def replicate_data(spec: syn.Spec, cache_dir: Path) -> pd.DataFrame:
    """The domain benchmark's data plus replicate weight columns rep1..rep80."""
    df = syn.cached(spec, cache_dir)
    reps = jk1_replicates(df["w"].to_numpy(), df["psu"].to_numpy())
    names = [f"{REP_PREFIX}{r + 1}" for r in range(N_REPLICATES)]
    return pd.concat([df, pd.DataFrame(reps, columns=names, copy=False)], axis=1)


def rep_names(df: pd.DataFrame) -> list[str]:
    """The replicate weight columns, in order."""
    return [c for c in df.columns if c.startswith(REP_PREFIX)]


# ------------------------------------------------------------------- steppe
def steppe_rep_design(df: pd.DataFrame) -> Any:
    """steppe's JK1 replicate design over the 80 replicate columns (full analysis weights)."""
    import steppe as sp

    return sp.ReplicateDesign(df, weights="w", replicate_weights=rep_names(df), type="JK1")


def steppe_proportion(design: Any) -> Any:
    """Shares of the item by domain with replicate SEs and xlogit CIs."""
    return design.proportion("item", by="domain", ci="xlogit")


def steppe_taylor(df: pd.DataFrame) -> Any:
    """For reference: the same shares on the stratified cluster design (linearisation)."""
    import steppe as sp

    design = sp.Design(df, weights="w", strata="stratum", psu="psu")
    return design.proportion("item", by="domain", ci="logit")


def timed(
    fn: Callable[[], Any], repeats: int, budget: float, warmup: bool
) -> tuple[float, int, float]:
    """Best of up to ``repeats`` runs, fewer when they would take over ``budget`` seconds.

    The first call is cold (first-call caches, page faults); its time decides how
    many runs fit in the budget, at least one. With ``warmup`` it is not a timed
    run, else it is the first of them. Returns the best time, the number of timed
    runs and the first call's time.
    """
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    runs = min(repeats, max(1, int(budget // max(first, 1e-9))))
    if warmup:
        return best_of(fn, runs, warmup=0)[0], runs, first
    if runs == 1:
        return first, 1, first
    return min(first, best_of(fn, runs - 1, warmup=0)[0]), runs, first


# ------------------------------------------------------------------- memory
def probe(op: str, args: argparse.Namespace) -> dict[str, int]:
    """Peak memory of one steppe operation on freshly loaded data (in a child process)."""
    import steppe  # noqa: F401 - import cost is not the operation's

    df = replicate_data(syn.Spec(args.rows, args.seed), args.cache_dir)
    if op == "design":
        return _measure_peak(lambda: steppe_rep_design(df))
    if op == "taylor":
        return _measure_peak(lambda: steppe_taylor(df))
    design = steppe_rep_design(df)
    return _measure_peak(lambda: steppe_proportion(design))


# ------------------------------------------------------------------ results
def bench_steppe(df: pd.DataFrame, table: Table, args: argparse.Namespace, memory: bool) -> None:
    """Time steppe's ReplicateDesign() and proportion() by domain on ``df``."""
    n = len(df)

    def mem(op: str) -> dict[str, int] | None:
        return probe_in_child(op, args, __file__, timeout=900) if memory else None

    t, runs, first = timed(lambda: steppe_rep_design(df), args.repeats, args.budget, False)
    label = f"steppe ReplicateDesign() ({N_REPLICATES} JK1 replicates)"
    table.add(label, n, t, "svrepdesign", mem("design"), runs, first=first)
    design = steppe_rep_design(df)
    t, runs, first = timed(lambda: steppe_proportion(design), args.repeats, args.budget, True)
    label = 'steppe proportion("item", by="domain", ci="xlogit")'
    table.add(label, n, t, "svyby_domain", mem("proportion"), runs, first=first)
    if args.taylor:
        t, runs, first = timed(lambda: steppe_taylor(df), args.repeats, args.budget, True)
        label = "steppe Design()+proportion() by domain, Taylor"
        note = "reference: linearisation on strata/PSUs, same rows and domains"
        table.add(label, n, t, None, mem("taylor"), runs, note, first)


# ------------------------------------------------------------------------ R
def run_r(df: pd.DataFrame) -> dict[str, Any]:
    """Run r_replicates.R on ``df``: its timings and its estimates relabelled to categories."""
    workdir = Path(tempfile.mkdtemp(prefix="steppe-bench-rep-"))
    try:
        csv = workdir / "input.csv"
        out = pd.DataFrame({"w": df["w"], "item": df["item"].cat.codes})
        out["domain"] = df["domain"].cat.codes
        out.to_csv(csv, index=False, float_format="%.17g")
        reps = np.asfortranarray(df[rep_names(df)].to_numpy(dtype="<f8"))
        reps.T.tofile(workdir / "repweights.bin")  # column-major: replicate after replicate
        del reps
        cmd = ["Rscript", str(HERE / "r_replicates.R"), str(csv), str(workdir / "repweights.bin")]
        cmd.append(str(workdir))
        subprocess.run(cmd, check=True, timeout=3600, env={**os.environ, **MALLOC_ENV})
        timings = json.loads((workdir / "r_timings.json").read_text())
        frame = pd.read_csv(workdir / "r_domain.csv", dtype={"estimate": float, "se": float})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for c, source in (("domain", "domain"), ("level", "item")):
        cats = np.asarray(df[source].cat.categories)
        frame[c] = cats[frame[c].to_numpy()]
    return {"timings": timings, "frame": frame}


def crosscheck(df: pd.DataFrame, r: dict[str, Any], tol: float) -> dict[str, Any]:
    """Compare steppe's estimates and SEs by domain with R's on the same rows."""
    ours = steppe_proportion(steppe_rep_design(df)).to_frame()
    out = compare(ours, r["frame"], ["domain"])
    worst = max(out["max_rel_diff_estimate"], out["max_rel_diff_se"])
    out["tolerance"] = tol
    out["passed"] = bool(worst <= tol)
    empty = (
        f" ({out['absent_zero_cells']} empty cells only in R)" if out["absent_zero_cells"] else ""
    )
    print(
        f"  steppe vs R, {len(df):,} rows: {out['cells']} cells, max rel diff estimate "
        f"{out['max_rel_diff_estimate']:.2e}, SE {out['max_rel_diff_se']:.2e}{empty}"
    )
    return out


def bench_r(df: pd.DataFrame, table: Table, tol: float) -> dict[str, Any]:
    """Time R's svrepdesign and svyby on ``df`` and cross-check steppe against R."""
    n = len(df)
    r = run_r(df)
    t = r["timings"]
    table.add_r(
        "svrepdesign", f"R svrepdesign() ({t['replicates']} JK1 replicates)", n, t["svrepdesign"]
    )
    table.add_r("svyby_domain", "R svyby(~item, ~domain, des, svymean)", n, t["svyby_domain"])
    peak = t.get("process_peak_bytes")
    if peak:
        print(f"  R process peak RSS {peak / 2**20:,.0f} MiB ({peak / n:,.0f} bytes/row, all of R)")
    return {"rows": n, "timings": t, "crosscheck": crosscheck(df, r, tol)}


# --------------------------------------------------------------------- main
def summary(table: Table, rows: int, r_rows: list[int]) -> dict[str, Any]:
    """Headline ratios: R's time over steppe's for the same operation and rows."""
    out: dict[str, Any] = {"rows": rows, "replicates": N_REPLICATES, "domains": syn.N_DOMAINS}
    for n in r_rows:
        r_t = table.seconds("R svyby", n)
        s_t = table.seconds("steppe proportion", n)
        if r_t and s_t:
            out[f"r_svyby_over_steppe_proportion_{n}_rows"] = r_t / s_t
        r_d = table.seconds("R svrepdesign", n)
        s_d = table.seconds("steppe ReplicateDesign", n)
        if r_d and s_d:
            out[f"r_svrepdesign_over_steppe_design_{n}_rows"] = r_d / s_d
    return out


def print_summary(s: dict[str, Any]) -> None:
    """Print the headline ratios."""
    print()
    for key, value in s.items():
        if key.startswith("r_svyby_over"):
            rows = int(key.split("_")[-2])
            print(f"R svyby by domain takes {value:,.1f}x steppe's proportion() on {rows:,} rows")
        elif key.startswith("r_svrepdesign_over"):
            rows = int(key.split("_")[-2])
            print(f"R svrepdesign takes {value:,.1f}x steppe's ReplicateDesign() on {rows:,} rows")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the data")
    p.add_argument("--r-rows", type=int, default=100_000, help="rows of the R subsample")
    p.add_argument(
        "--no-r-full", dest="r_full", action="store_false", help="R on the subsample only"
    )
    p.add_argument("--no-r", action="store_true", help="skip R")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--no-taylor", dest="taylor", action="store_false", help="skip the Taylor row")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per operation (best kept)")
    p.add_argument(
        "--budget", type=float, default=30.0, help="seconds of timed runs per operation (>= 1 run)"
    )
    p.add_argument("--seed", type=int, default=syn.Spec().seed)
    p.add_argument("--tol", type=float, default=1e-9, help="max relative difference vs R")
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "steppe-bench")
    p.add_argument("--out", type=Path, default=HERE / "replicate_results.json")
    p.add_argument("--probe", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if steppe disagrees with R."""
    args = parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args)))
        return 0
    started = time.perf_counter()
    machine = machine_info()
    print(f"machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['mem_gib']} GiB")
    print(f"python {machine['python']}, numpy {machine['numpy']}, pandas {machine['pandas']}")
    load = machine["load_average_at_start"][0]
    print(f"load average {load:.2f} (1 min; other work on the machine makes timings noisy)")
    df = replicate_data(syn.Spec(args.rows, args.seed), args.cache_dir)
    print(
        f"data: {len(df):,} rows, {N_REPLICATES} JK1 replicate weights (PSUs in "
        f"{N_REPLICATES} random groups), {syn.N_DOMAINS} domains; inputs "
        f"{syn.input_bytes(df) / len(df):.0f} bytes/row\n"
    )

    table = Table(width=50)
    print(f"steppe on {len(df):,} rows ...")
    bench_steppe(df, table, args, memory=not args.no_memory)
    r_results: dict[str, Any] = {}
    if not args.no_r:
        sub = syn.subsample(df, args.r_rows) if args.r_rows < len(df) else df
        if len(sub) < len(df):
            print(f"steppe on the {len(sub):,}-row subsample R runs on ...")
            bench_steppe(sub, table, args, memory=False)
        print(f"R survey svrepdesign + svyby on {len(sub):,} rows ...")
        r_results["subsample"] = bench_r(sub, table, args.tol)
        if args.r_full and len(sub) < len(df):
            print(f"R survey svrepdesign + svyby on all {len(df):,} rows ...")
            r_results["full"] = bench_r(df, table, args.tol)
    table.finish()
    print()
    table.print()
    s = summary(table, len(df), [r["rows"] for r in r_results.values()])
    print_summary(s)
    machine["load_average_at_end"] = os.getloadavg()
    machine["wall_seconds"] = time.perf_counter() - started
    write_json(args, machine, table, r_results, s)
    if not all(r["crosscheck"]["passed"] for r in r_results.values()):
        print(f"\nFAILED: steppe differs from R by more than {args.tol:g} relative")
        return 1
    return 0


def write_json(
    args: argparse.Namespace,
    machine: dict[str, Any],
    table: Table,
    r_results: dict[str, Any],
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
            "replicates": N_REPLICATES,
            "replicate_type": "JK1",
            "replicate_scale": JK1_SCALE,
            "replicate_construction": (
                f"PSUs in {N_REPLICATES} random equal groups (seed {REP_SEED}); replicate r: "
                f"0 in group r, w * {N_REPLICATES}/{N_REPLICATES - 1} elsewhere"
            ),
        },
        "results": table.rows,
        "r": r_results,
        "summary": s,
    }
    args.out.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
