"""Benchmark: raking 1M rows to three margins, steppe against R survey's ``rake``.

steppe's ``Design.rake`` and R's ``rake`` (run with Rscript) rake the design
weights of the synthetic survey (``_synthetic.py``, plus a ``sex`` column drawn
here) to population counts of region (20 levels), age group (6) and sex (2),
with R's defaults ``maxit=10, epsilon=1``. The sample's composition differs from
the margins, and sex depends on age, so raking needs several passes. weightipy
(``pip install weightipy`` in a separate venv, see ``--weightipy-python``) is
timed too when present. It has no design weights: it rakes from weights of 1, so
steppe is also timed raking from weights of 1 for a like-for-like row.

Speed is measured, not asserted. Correctness is asserted: steppe's raked weights
must equal R's to ``--tol`` relative, with the same number of passes, and
steppe's ``proportion("item")`` on the raked design (estimates and SEs, which use
the raking residuals) must equal R's ``svymean``; otherwise the exit status is 1.

Prints the machine, a table (operation, rows, time, ratio vs R, peak memory in
bytes per row) and writes the same to ``rake_results.json`` next to this file.

Usage::

    python tests/benchmarks/bench_rake.py               # R on all 1M rows (~1.5 min)
    python tests/benchmarks/bench_rake.py --r-rows 100000
    python tests/benchmarks/bench_rake.py --no-r --no-weightipy

Peak memory is measured as in ``bench_domains.py``: in a fresh subprocess once
the inputs exist, ``/proc/self/clear_refs`` resets VmHWM, the operation runs once
(cold) and VmHWM minus the RSS before it is the peak beyond the inputs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
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
    machine_info,
    probe_in_child,
    results_header,
)

DESIGN_ARGS = {"weights": "w", "strata": "stratum", "psu": "psu"}
MARGINS = ("region", "age_group", "sex")
RAKE_ARGS = {"max_iter": 10, "tol": 1.0}  # R's rake defaults: maxit=10, epsilon=1
POPULATION = 150_000_000  # every margin sums to this
SEX_LEVELS = ("female", "male")
# P(female) by age group, shifted by region: ties sex to age and region in the sample.
FEMALE_BY_AGE = (0.42, 0.46, 0.50, 0.54, 0.58, 0.64)
FEMALE_REGION_SHIFT = 0.05
# Population shares; the sample has ~12/20/19/17/16/16% by age and ~52% women.
AGE_SHARES = (0.10, 0.15, 0.16, 0.17, 0.18, 0.24)
SEX_SHARES = (0.51, 0.49)
MARGIN_SEED = 5  # region shares are drawn, independently of the sample's


# --------------------------------------------------------------------- data
def rake_data(spec: syn.Spec, cache_dir: Path) -> pd.DataFrame:
    """The domain benchmark's data plus ``sex`` (Categorical), drawn from its own seed."""
    df = syn.cached(spec, cache_dir)
    rng = np.random.default_rng(spec.seed + 1)
    age = df["age_group"].cat.codes.to_numpy()
    region = df["region"].cat.codes.to_numpy()
    shift = np.linspace(-FEMALE_REGION_SHIFT, FEMALE_REGION_SHIFT, syn.N_REGIONS)
    female = np.asarray(FEMALE_BY_AGE)[age] + shift[region]
    codes = (rng.random(len(df)) >= female).astype(np.int8)
    df["sex"] = pd.Categorical.from_codes(codes, categories=list(SEX_LEVELS))
    return df


def _counts(shares: Any, labels: list[str]) -> pd.Series:
    """Integer population counts in proportion to ``shares`` that sum to POPULATION."""
    s = np.asarray(shares, dtype=float)
    c = np.floor(s / s.sum() * POPULATION)
    c[np.argmax(c)] += POPULATION - c.sum()
    return pd.Series(c, index=labels)


def population_margins(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Population counts by level for region, age group and sex (steppe's ``margins``)."""
    region_shares = np.random.default_rng(MARGIN_SEED).uniform(0.5, 2.0, syn.N_REGIONS)
    shares = {"region": region_shares, "age_group": AGE_SHARES, "sex": SEX_SHARES}
    return {m: _counts(shares[m], list(df[m].cat.categories)) for m in MARGINS}


def unit_weighted(df: pd.DataFrame) -> pd.DataFrame:
    """The same rows with every design weight 1 (weightipy's starting point)."""
    return df.assign(w=1.0)


# ------------------------------------------------------------------- steppe
def steppe_design(df: pd.DataFrame) -> Any:
    """The benchmark's stratified cluster design."""
    import steppe as sp

    return sp.Design(df, **DESIGN_ARGS)


def steppe_rake(design: Any, margins: dict[str, pd.Series]) -> Any:
    """Rake ``design`` to ``margins`` with R's defaults; the raked Design."""
    return design.rake(margins, **RAKE_ARGS)


def steppe_passes(raked: Any) -> int:
    """Passes over the margins that steppe's rake took."""
    return int(raked.summary()["weighting"][-1]["iterations"])


def steppe_rake_estimate(design: Any, margins: dict[str, pd.Series], by: str | None) -> Any:
    """Rake, then the item's shares (with SEs from the raking residuals)."""
    return steppe_rake(design, margins).proportion("item", by=by)


# ---------------------------------------------------------------- weightipy
def weightipy_rake(df: pd.DataFrame, margins: dict[str, pd.Series], passes: int) -> np.ndarray:
    """weightipy's weights after exactly ``passes`` passes (convcrit 0), in row order.

    weightipy starts from weights of 1 and scales them to sum to the row count.
    Its own log line ("Convergence did not occur in N iterations") is swallowed:
    with ``max_iterations=passes`` it always reaches the cap.
    """
    import weightipy as wp

    targets = {m: {str(k): float(v) for k, v in margins[m].items()} for m in MARGINS}
    params = {"max_iterations": passes, "convcrit": 0.0}
    scheme = wp.scheme_from_dict(targets, name="bench", rim_params=params)
    with contextlib.redirect_stdout(io.StringIO()):
        w = wp.weight(df[list(MARGINS)], scheme)
    return w.sort_index().to_numpy(dtype=float)


def weightipy_child(args: argparse.Namespace) -> dict[str, Any]:
    """Inside the weightipy venv: time weightipy (or probe its peak memory)."""
    import weightipy as wp

    df = rake_data(syn.Spec(args.rows, args.seed), args.cache_dir)
    margins = population_margins(df)
    if args.weightipy_child == "memory":
        return _measure_peak(lambda: weightipy_rake(df, margins, args.passes))
    t, w = best_of(lambda: weightipy_rake(df, margins, args.passes), args.repeats)
    np.save(args.cache_dir / "weightipy_weights.npy", w)
    return {"seconds": t, "version": wp.__version__}


def run_weightipy(args: argparse.Namespace, passes: int, memory: bool) -> dict[str, Any]:
    """Time (and probe) weightipy in its own venv; {'skipped': why} if it is not there."""
    python = args.weightipy_python
    if not python.exists():
        return {"skipped": f"{python} not found (see README: a separate venv with weightipy)"}
    cmd = [str(python), __file__, "--rows", str(args.rows), "--seed", str(args.seed)]
    cmd += ["--cache-dir", str(args.cache_dir), "--passes", str(passes)]
    cmd += ["--repeats", str(args.repeats)]

    def child(mode: str, env: dict[str, str]) -> dict[str, Any]:
        out = subprocess.run(
            [*cmd, "--weightipy-child", mode],
            check=True,
            capture_output=True,
            text=True,
            timeout=900,
            env=env,
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))

    try:
        result = child("time", dict(os.environ))
        if memory and Path("/proc/self/clear_refs").exists():
            result["memory"] = child("memory", {**os.environ, **MALLOC_ENV})
    except subprocess.CalledProcessError as exc:
        return {"skipped": f"weightipy failed: {exc.stderr.strip().splitlines()[-1:]}"}
    weights_file = args.cache_dir / "weightipy_weights.npy"
    result["weights"] = np.load(weights_file)
    weights_file.unlink()
    return result


# ------------------------------------------------------------------- memory
def probe(op: str, args: argparse.Namespace) -> dict[str, int]:
    """Peak memory of one steppe operation on freshly loaded data (in a child process)."""
    import steppe  # noqa: F401 - import cost is not the operation's

    df = rake_data(syn.Spec(args.rows, args.seed), args.cache_dir)
    margins = population_margins(df)
    if op == "design":
        return _measure_peak(lambda: steppe_design(df))
    if op == "unit_rake":
        unit = steppe_design(unit_weighted(df))
        return _measure_peak(lambda: steppe_rake(unit, margins))
    design = steppe_design(df)
    if op == "rake":
        return _measure_peak(lambda: steppe_rake(design, margins))
    by = "domain" if op == "rake_domain" else None
    return _measure_peak(lambda: steppe_rake_estimate(design, margins, by))


# ------------------------------------------------------------------ results
# ------------------------------------------------------------------- steppe
def bench_steppe(
    df: pd.DataFrame, table: Table, args: argparse.Namespace, memory: bool
) -> dict[str, int]:
    """Time steppe's Design, rake and rake + estimate on ``df``; the passes rake took."""
    n = len(df)
    margins = population_margins(df)

    def mem(op: str) -> dict[str, int] | None:
        return probe_in_child(op, args, __file__) if memory else None

    t, _ = best_of(lambda: steppe_design(df), args.repeats, warmup=0)
    table.add("steppe Design() (sorts rows once)", n, t, "svydesign", mem("design"))
    design = steppe_design(df)
    t, raked = best_of(lambda: steppe_rake(design, margins), args.repeats)
    passes = steppe_passes(raked)
    table.add(f"steppe rake(), 3 margins, {passes} passes", n, t, "rake", mem("rake"))
    t, _ = best_of(lambda: steppe_rake_estimate(design, margins, None), args.repeats)
    table.add('steppe rake() + proportion("item")', n, t, "rake_svymean", mem("rake_item"))
    t, _ = best_of(lambda: steppe_rake_estimate(design, margins, "domain"), args.repeats)
    label = 'steppe rake() + proportion("item", by="domain")'
    table.add(label, n, t, None, mem("rake_domain"), note="600 domains; no R counterpart timed")
    unit = steppe_design(unit_weighted(df))
    t, unit_raked = best_of(lambda: steppe_rake(unit, margins), args.repeats)
    unit_passes = steppe_passes(unit_raked)
    label = f"steppe rake() from weights of 1, {unit_passes} passes"
    table.add(label, n, t, "rake", mem("unit_rake"), note="like-for-like with weightipy")
    return {"passes": passes, "unit_passes": unit_passes}


def bench_weightipy(
    df: pd.DataFrame, table: Table, args: argparse.Namespace, passes: int
) -> dict[str, Any]:
    """Time weightipy for ``passes`` passes; compare its weights with steppe's from weights 1."""
    result = run_weightipy(args, passes, memory=not args.no_memory)
    if "skipped" in result:
        print(f"  weightipy skipped: {result['skipped']}")
        return result
    w = result.pop("weights")
    label = f"weightipy {result['version']} weight() from weights of 1, {passes} passes"
    table.add(label, len(df), result["seconds"], "rake", result.get("memory"))
    ours = steppe_rake(steppe_design(unit_weighted(df)), population_margins(df)).weights
    scaled = w * (POPULATION / len(df))  # weightipy's weights sum to the row count
    result["max_rel_diff_vs_steppe"] = _max_rel_diff(ours, scaled)
    print(
        f"  weightipy vs steppe from weights of 1 (not asserted): max rel diff of weights "
        f"{result['max_rel_diff_vs_steppe']:.2e} after {passes} passes"
    )
    return result


# ------------------------------------------------------------------------ R
def write_r_input(df: pd.DataFrame, margins: dict[str, pd.Series], workdir: Path) -> None:
    """input.csv (weights, design ids, category codes) and margins.csv (variable, code, count)."""
    out = df[["w", "stratum", "psu"]].copy()
    for c in ("item", *MARGINS):
        out[c] = df[c].cat.codes
    out.to_csv(workdir / "input.csv", index=False, float_format="%.17g")
    long = []
    for m in MARGINS:
        codes = df[m].cat.categories.get_indexer(margins[m].index)
        long.append(pd.DataFrame({"variable": m, "code": codes, "count": margins[m].to_numpy()}))
    pd.concat(long).to_csv(workdir / "margins.csv", index=False, float_format="%.17g")


def run_r(df: pd.DataFrame, margins: dict[str, pd.Series]) -> dict[str, Any]:
    """Run r_rake.R on ``df``: its timings, raked weights and svymean on the raked design."""
    workdir = Path(tempfile.mkdtemp(prefix="steppe-bench-rake-"))
    try:
        write_r_input(df, margins, workdir)
        cmd = ["Rscript", str(HERE / "r_rake.R")]
        cmd += [str(workdir / "input.csv"), str(workdir / "margins.csv"), str(workdir)]
        subprocess.run(cmd, check=True, timeout=1800, env={**os.environ, **MALLOC_ENV})
        timings = json.loads((workdir / "r_timings.json").read_text())
        weights = np.fromfile(workdir / "r_weights.bin", dtype="<f8")
        svymean = pd.read_csv(workdir / "r_svymean.csv", dtype={"estimate": float, "se": float})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    svymean["level"] = np.asarray(df["item"].cat.categories)[svymean["level"].to_numpy()]
    return {"timings": timings, "weights": weights, "svymean": svymean}


def _max_rel_diff(ours: np.ndarray, theirs: np.ndarray) -> float:
    """Largest |ours - theirs| / |theirs| (inf on a length mismatch or a NaN)."""
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if a.shape != b.shape:
        return math.inf
    rel = np.where(a == b, 0.0, np.abs(a - b) / np.maximum(np.abs(b), np.finfo(float).tiny))
    return math.inf if np.isnan(rel).any() else float(rel.max(initial=0.0))


def crosscheck(df: pd.DataFrame, r: dict[str, Any], tol: float) -> dict[str, Any]:
    """Compare steppe's raked weights, passes and proportion("item") with R's."""
    raked = steppe_rake(steppe_design(df), population_margins(df))
    ours = raked.proportion("item").to_frame().set_index("level")
    theirs = r["svymean"].set_index("level")
    ours = ours.reindex(theirs.index)
    out = {
        "max_rel_diff_weights": _max_rel_diff(raked.weights, r["weights"]),
        "max_rel_diff_estimate": _max_rel_diff(ours["estimate"], theirs["estimate"]),
        "max_rel_diff_se": _max_rel_diff(ours["se"], theirs["se"]),
        "passes_steppe": steppe_passes(raked),
        "passes_r": r["timings"]["passes"],
        "r_converged": r["timings"]["converged"],
        "tolerance": tol,
    }
    worst = max(out["max_rel_diff_weights"], out["max_rel_diff_estimate"], out["max_rel_diff_se"])
    same_passes = out["passes_steppe"] == out["passes_r"]
    out["passed"] = bool(worst <= tol and same_passes and out["r_converged"])
    print(
        f"  steppe vs R, {len(df):,} rows: max rel diff of raked weights "
        f"{out['max_rel_diff_weights']:.2e}, proportion estimate {out['max_rel_diff_estimate']:.2e}"
        f", SE {out['max_rel_diff_se']:.2e}; passes steppe {out['passes_steppe']}, "
        f"R {out['passes_r']:g} (R converged: {out['r_converged']})"
    )
    return out


def bench_r(df: pd.DataFrame, table: Table, tol: float) -> dict[str, Any]:
    """Time R's svydesign, rake and svymean on ``df`` and cross-check steppe against R."""
    n = len(df)
    r = run_r(df, population_margins(df))
    t = r["timings"]
    table.add_r("svydesign", "R svydesign()", n, t["svydesign"])
    table.add_r("rake", f"R rake(), 3 margins, {t['passes']:g} passes", n, t["rake"])
    table.add_r("svymean", "R svymean(~item) on the raked design", n, t["svymean"])
    both = {"seconds": t["rake"]["seconds"] + t["svymean"]["seconds"]}
    table.add_r("rake_svymean", "R rake() + svymean(~item)", n, both)
    peak = t.get("process_peak_bytes")
    if peak:
        print(f"  R process peak RSS {peak / 2**20:,.0f} MiB ({peak / n:,.0f} bytes/row, all of R)")
    return {"rows": n, "timings": t, "crosscheck": crosscheck(df, r, tol)}


# --------------------------------------------------------------------- main
def summary(table: Table, rows: int, passes: dict[str, int]) -> dict[str, Any]:
    """Headline ratios: R's and weightipy's time over steppe's for the same work and rows."""
    pairs = {
        "r_rake_over_steppe_rake": ("R rake(), 3", "steppe rake(), 3"),
        "r_rake_svymean_over_steppe": ("R rake() + svymean", 'steppe rake() + proportion("item")'),
        "weightipy_over_steppe_from_weights_1": ("weightipy", "steppe rake() from weights"),
    }
    out: dict[str, Any] = {"rows": rows, **passes}
    for key, (num_prefix, den_prefix) in pairs.items():
        for num in (r for r in table.rows if r["operation"].startswith(num_prefix)):
            den = [
                r
                for r in table.rows
                if r["operation"].startswith(den_prefix) and r["rows"] == num["rows"]
            ]
            if den:
                out[key] = {"ratio": num["seconds"] / den[0]["seconds"], "rows": num["rows"]}
                break
    return out


def print_summary(s: dict[str, Any]) -> None:
    """Print the headline ratios."""
    print()
    lines = {
        "r_rake_over_steppe_rake": "R rake() takes {:,.0f}x steppe's rake() time",
        "r_rake_svymean_over_steppe": (
            'R rake() + svymean(~item) takes {:,.0f}x steppe\'s rake() + proportion("item")'
        ),
        "weightipy_over_steppe_from_weights_1": (
            "weightipy takes {:,.2f}x steppe's rake() time, both from weights of 1"
        ),
    }
    for key, text in lines.items():
        if key in s:
            print(text.format(s[key]["ratio"]) + f" on {s[key]['rows']:,} rows")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    cache = Path(tempfile.gettempdir()) / "steppe-bench"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the data")
    p.add_argument("--r-rows", type=int, default=None, help="rows of an R subsample (default all)")
    p.add_argument("--no-r", action="store_true", help="skip R")
    p.add_argument("--no-weightipy", action="store_true", help="skip weightipy")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--repeats", type=int, default=5, help="timed runs per operation (best kept)")
    p.add_argument("--seed", type=int, default=syn.Spec().seed)
    p.add_argument("--tol", type=float, default=1e-9, help="max relative difference vs R")
    p.add_argument("--cache-dir", type=Path, default=cache)
    p.add_argument(
        "--weightipy-python",
        type=Path,
        default=cache / "weightipy-venv" / "bin" / "python",
        help="python of a venv with weightipy installed",
    )
    p.add_argument("--out", type=Path, default=HERE / "rake_results.json")
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--weightipy-child", choices=("time", "memory"), help=argparse.SUPPRESS)
    p.add_argument("--passes", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if steppe disagrees with R."""
    args = parse_args(argv)
    if args.weightipy_child:
        print(json.dumps(weightipy_child(args)))
        return 0
    if args.probe:
        print(json.dumps(probe(args.probe, args)))
        return 0
    machine = machine_info()
    print(f"machine: {machine['cpu_model']}, nproc={machine['nproc']}, {machine['mem_gib']} GiB")
    print(f"python {machine['python']}, numpy {machine['numpy']}, pandas {machine['pandas']}")
    load = machine["load_average_at_start"][0]
    print(f"load average {load:.2f} (1 min; other work on the machine makes timings noisy)")
    df = rake_data(syn.Spec(args.rows, args.seed), args.cache_dir)
    print(f"data: {len(df):,} rows; margins {', '.join(MARGINS)} ", end="")
    print(f"({', '.join(str(df[m].cat.categories.size) for m in MARGINS)} levels)\n")

    table = Table(width=52)
    passes = bench_steppe(df, table, args, memory=not args.no_memory)
    r_result: dict[str, Any] = {}
    if not args.no_r:
        sub = df
        if args.r_rows and args.r_rows < len(df):
            sub = syn.subsample(df, args.r_rows)
            print(f"steppe on the {len(sub):,}-row subsample R runs on ...")
            bench_steppe(sub, table, args, memory=False)
        print(f"R survey rake on {len(sub):,} rows ...")
        r_result = bench_r(sub, table, args.tol)
    weightipy: dict[str, Any] = {"skipped": "--no-weightipy"}
    if not args.no_weightipy:
        print(f"weightipy on {len(df):,} rows ...")
        weightipy = bench_weightipy(df, table, args, passes["unit_passes"])
    table.finish()
    print()
    table.print()
    s = summary(table, len(df), passes)
    print_summary(s)
    machine["load_average_at_end"] = os.getloadavg()
    write_json(args, machine, table, r_result, weightipy, s)
    if r_result and not r_result["crosscheck"]["passed"]:
        print(f"\nFAILED: steppe differs from R (tolerance {args.tol:g} relative, same passes)")
        return 1
    return 0


def write_json(
    args: argparse.Namespace,
    machine: dict[str, Any],
    table: Table,
    r_result: dict[str, Any],
    weightipy: dict[str, Any],
    s: dict[str, Any],
) -> None:
    """Write everything printed to ``args.out`` as JSON."""
    skip = ("probe", "weightipy_child", "passes")
    doc = {
        **results_header(args, machine, skip=skip),
        "data": {
            "margin_levels": {
                "region": syn.N_REGIONS,
                "age_group": len(syn.AGE_LEVELS),
                "sex": len(SEX_LEVELS),
            },
            "population": POPULATION,
            "rake_args": RAKE_ARGS,
        },
        "results": table.rows,
        "r": r_result,
        "weightipy": weightipy,
        "summary": s,
    }
    args.out.write_text(json.dumps(doc, indent=2, default=_json_default) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
