"""Benchmark: replicate-weight shares, steppe against the Python ``svy`` package.

Same data, same run, each tool in a fresh child process per workload (so peak
memory is the tool's own): the domain benchmark's synthetic survey
(``_synthetic.py``: 50 strata x 40 PSUs, a 5-level item) with a 12-level domain
(``domain mod 12``) and two replicate designs:

- ``jk1_80``: 80 grouped delete-one jackknife replicates (JK1, scale 79/80) on
  1,000,000 rows (``--rows``);
- ``jkn_2000``: stratified jackknife (JKn), one replicate per PSU, 2,000
  replicates with rscales (n_h - 1) / n_h = 39/40, on 100,000 rows (``--jkn-rows``).

Each child runs ``proportion`` (steppe: ``ReplicateDesign.proportion(item,
by=domain)``; svy: ``Sample.estimation.prop(item, by=domain,
method="replication")``) five times (``--rounds``) after building the design,
and reports the median wall time, CPU time / wall time over the rounds (2 cores:
up to 2.0), and peak RSS above what the inputs took. steppe also runs with 1
and 2 threads (the thread-scaling table). Estimates and SEs of the two tools are
compared and the script exits 1 if they differ by more than ``--tol`` (relative).
Speed is measured, never asserted.

svy is not in the project's venv (it brings polars); ``make bench-peers`` makes
``.venv-peers`` with it, which this script finds (or pass ``--svy-python``).

Usage::

    python tests/benchmarks/bench_svy.py                  # both workloads, both tools
    python tests/benchmarks/bench_svy.py --only jk1_80 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOMAINS = 12


# ------------------------------------------------------------------ data
def workload_arrays(name: str, rows: int, cache_dir: Path) -> dict[str, np.ndarray]:
    """Columns as plain arrays: weights, item and domain codes, replicate weights."""
    sys.path.insert(0, str(HERE))
    import _synthetic as syn

    path = cache_dir / f"svy_{name}_{rows}.npz"
    if path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    df = syn.cached(syn.Spec(rows=rows), cache_dir)
    w = df["w"].to_numpy()
    psu = df["psu"].to_numpy().astype(np.int64)
    out = {
        "w": w,
        "item": df["item"].cat.codes.to_numpy().astype(np.int8),
        "domain": (df["domain"].cat.codes.to_numpy() % DOMAINS).astype(np.int8),
    }
    if name == "jk1_80":
        n_rep = 80
        group = np.random.default_rng(80).permutation(
            np.arange(syn.N_STRATA * syn.PSU_PER_STRATUM) % n_rep
        )[psu]
        reps = np.repeat((w * n_rep / (n_rep - 1))[:, None], n_rep, axis=1)
        reps[np.arange(len(w)), group] = 0.0
    else:  # jkn_2000: replicate p deletes PSU p and reweights the rest of its stratum
        n_h = syn.PSU_PER_STRATUM
        n_psu = syn.N_STRATA * n_h
        stratum_of_psu = np.arange(n_psu) // n_h
        same_stratum = stratum_of_psu[None, :] == (psu // n_h)[:, None]
        reps = np.where(same_stratum, w[:, None] * n_h / (n_h - 1), w[:, None])
        reps[np.arange(len(w)), psu] = 0.0
    out["reps"] = np.asfortranarray(reps)
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def constants(name: str, n_rep: int) -> tuple[str, float, list[float]]:
    """Replicate type, scale and rscales (R's svrepdesign conventions)."""
    if name == "jk1_80":
        return "JK1", (n_rep - 1) / n_rep, [1.0] * n_rep
    return "JKn", 1.0, [39 / 40] * n_rep


# ------------------------------------------------------------------ children
def child(tool: str, name: str, rows: int, rounds: int, threads: int, cache_dir: Path) -> None:
    """Run one tool on one workload; print a JSON line with timings and results."""
    arrays = workload_arrays(name, rows, cache_dir)
    n_rep = arrays["reps"].shape[1]
    kind, scale, rscales = constants(name, n_rep)
    items = np.array(["a", "b", "c", "d", "e"])[arrays["item"]]
    domains = np.array([f"g{i:02d}" for i in range(DOMAINS)])[arrays["domain"]]
    rep_names = [f"rep{r + 1}" for r in range(n_rep)]
    if tool == "steppe":
        import pandas as pd

        import steppe as sp

        frame = pd.DataFrame({"w": arrays["w"], "item": items, "domain": domains})
        frame = pd.concat(
            [frame, pd.DataFrame(arrays["reps"], columns=rep_names, copy=False)], axis=1
        )
        del arrays
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        design = sp.ReplicateDesign(
            frame,
            weights="w",
            replicate_weights=rep_names,
            type=kind,
            rscales=None if kind == "JK1" else rscales,
            threads=threads,
        )

        def run() -> Any:
            return design.proportion("item", by="domain", ci="xlogit").to_frame()

        def result(f: Any) -> dict[str, list[Any]]:
            return {
                "domain": f["domain"].astype(str).tolist(),
                "level": f["level"].astype(str).tolist(),
                "estimate": f["estimate"].tolist(),
                "se": f["se"].tolist(),
            }

    else:
        import polars as pl
        import svy

        cols: dict[str, Any] = {"w": arrays["w"], "item": items, "domain": domains}
        for r in range(n_rep):
            cols[rep_names[r]] = arrays["reps"][:, r]
        frame = pl.DataFrame(cols)
        del arrays, cols
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        reps = svy.JackknifeWgts(
            prefix="rep",
            n_reps=n_rep,
            kind="jk1" if kind == "JK1" else "jkn",
            **({} if kind == "JK1" else {"rep_coefs": tuple(rscales)}),
        )
        sample = svy.Sample(frame, svy.Design(wgt="w", rep_wgts=reps))

        def run() -> Any:
            return sample.estimation.prop("item", by="domain", method="replication").to_polars()

        def result(f: Any) -> dict[str, list[Any]]:
            return {
                "domain": [str(x) for x in f["domain"].to_list()],
                "level": [str(x) for x in f["item"].to_list()],
                "estimate": f["est"].to_list(),
                "se": f["se"].to_list(),
            }

    walls, cpus = [], []
    out = None
    for _ in range(rounds):
        c0, t0 = time.process_time(), time.perf_counter()
        out = run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
    print(
        json.dumps(
            {
                "median_s": statistics.median(walls),
                "cpu_over_wall": sum(cpus) / sum(walls),
                "peak_kb_beyond_inputs": peak,
                "rounds": rounds,
                "result": result(out),
            }
        )
    )


def run_child(
    python: str, tool: str, name: str, rows: int, rounds: int, threads: int, cache_dir: Path
) -> dict[str, Any]:
    cmd = [python, __file__, "--child", tool, "--only", name, "--rounds", str(rounds)]
    cmd += ["--threads", str(threads), "--cache-dir", str(cache_dir), "--child-rows", str(rows)]
    # The peer's interpreter must not see the project's source tree.
    env = dict(os.environ, PYTHONPATH="") if tool == "svy" else dict(os.environ)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def max_rel_diff(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> dict[str, float]:
    """Largest relative difference of estimate and se over matching (domain, level) rows."""
    index = {(d, lv): i for i, (d, lv) in enumerate(zip(b["domain"], b["level"]))}
    worst = {"estimate": 0.0, "se": 0.0}
    for i, key in enumerate(zip(a["domain"], a["level"])):
        j = index[key]
        for col in worst:
            x, y = a[col][i], b[col][j]
            worst[col] = max(worst[col], abs(x - y) / max(abs(y), 1e-300))
    return worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of jk1_80")
    p.add_argument("--jkn-rows", type=int, default=100_000, help="rows of jkn_2000")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", choices=["jk1_80", "jkn_2000"])
    p.add_argument("--tol", type=float, default=1e-9)
    p.add_argument("--svy-python", default=str(ROOT / ".venv-peers" / "bin" / "python"))
    p.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "steppe-bench")
    p.add_argument("--out", type=Path, default=HERE / "svy_results.json")
    p.add_argument("--child", choices=["steppe", "svy"], help=argparse.SUPPRESS)
    p.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        assert args.only is not None
        child(args.child, args.only, args.child_rows, args.rounds, args.threads, args.cache_dir)
        return 0

    have_svy = Path(args.svy_python).exists()
    if not have_svy:
        print(f"svy skipped: {args.svy_python} not found (`make bench-peers` makes it)")
    rows_of = {"jk1_80": args.rows, "jkn_2000": args.jkn_rows}
    names = [args.only] if args.only else list(rows_of)
    report: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "load_average_at_start": os.getloadavg()},
        "rounds": args.rounds,
        "workloads": {},
    }
    status = 0
    print(f"{'workload':<10} {'tool':<16} {'rows':>9} {'median':>9} {'cpu/wall':>9} {'peak MB':>8}")
    for name in names:
        rows = rows_of[name]
        workload_arrays(name, rows, args.cache_dir)  # build the cache once, outside timings
        entry: dict[str, Any] = {"rows": rows}
        runs = [("steppe", sys.executable, 0), ("steppe 1 thread", sys.executable, 1)]
        runs += [("steppe 2 threads", sys.executable, 2)]
        if have_svy:
            runs.append(("svy", args.svy_python, 0))
        for label, python, threads in runs:
            tool = "svy" if label == "svy" else "steppe"
            r = run_child(python, tool, name, rows, args.rounds, threads, args.cache_dir)
            entry[label] = {k: v for k, v in r.items() if k != "result"}
            entry.setdefault("results", {})[label] = r["result"]
            print(
                f"{name:<10} {label:<16} {rows:>9,} {r['median_s']:>8.3f}s "
                f"{r['cpu_over_wall']:>9.2f} {r['peak_kb_beyond_inputs'] / 1024:>8.0f}"
            )
        results = entry.pop("results")
        if have_svy:
            diff = max_rel_diff(results["steppe"], results["svy"])
            entry["max_rel_diff_vs_svy"] = diff
            entry["svy_over_steppe"] = entry["svy"]["median_s"] / entry["steppe"]["median_s"]
            print(
                f"  steppe vs svy: max rel diff {diff}; svy / steppe time "
                f"{entry['svy_over_steppe']:.2f}"
            )
            if max(diff.values()) > args.tol:
                status = 1
        report["workloads"][name] = entry
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    sys.exit(main())
