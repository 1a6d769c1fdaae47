"""Benchmark: the first call on string columns against a repeat call.

``proportion("item", by="domain")`` on the synthetic survey (``_synthetic.py``:
1M rows, 50 strata x 40 PSUs, a 600-level domain) whose ``item`` and ``domain``
are string columns. The first call on a design factorises both columns
(``DesignState.codes`` caches the result); a repeat call on the same design
reuses the codes.

Each round builds a fresh ``Design`` (not timed), times its first call, then
times a repeat call on it; "factorize" times ``_columns.factorize`` of the two
columns alone. Medians of ``--rounds`` rounds, wall and CPU time (process CPU
time, all threads: the machine may be shared, so wall time alone can mislead).

Two string dtypes, ``object`` and pandas' ``str`` (``StringDtype``, python
storage: the default string dtype of pandas 3 without pyarrow), and two layouts:
one str object per distinct value, as pandas' CSV reader makes them ("shared"),
and a str object of its own on every row ("distinct", the most memory to read).

The same run also times the old path, ``pd.factorize(sort=True)`` (steppe's
fast path switched off), so before and after share the machine's load. Prints a
table and writes ``first_call_results.json`` next to this file.

Usage::

    python tests/benchmarks/bench_first_call.py [--rows 1000000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _synthetic as syn  # noqa: E402

DESIGN_ARGS = {"weights": "w", "strata": "stratum", "psu": "psu"}
STRING_COLUMNS = ("item", "domain")


def string_frame(df: pd.DataFrame, dtype: str, layout: str) -> pd.DataFrame:
    """The data with ``item`` and ``domain`` as string columns of ``dtype``.

    ``layout`` "shared": one str object per distinct value, as pandas' CSV reader
    makes them; "distinct": a str object of its own on every row.
    """
    out = df.copy()
    for name in STRING_COLUMNS:
        cat = df[name].cat
        codes = cat.codes.to_numpy()
        if layout == "shared":
            objects = np.asarray([str(c) for c in cat.categories], dtype=object)[codes]
        else:  # numpy makes one str object per element
            objects = np.asarray(cat.categories, dtype=str)[codes].astype(object)
        out[name] = pd.Series(objects, index=df.index, dtype=dtype)
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall and process CPU seconds of one call (garbage collected before, not during)."""
    gc.collect()
    gc.disable()
    try:
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        return time.perf_counter() - w0, time.process_time() - c0
    finally:
        gc.enable()


@contextmanager
def pandas_factorize() -> Iterator[None]:
    """Switch steppe's string fast path off: every string column goes to pd.factorize."""
    from steppe import _columns

    saved = getattr(_columns, "_factorize_strings", None)
    if saved is None:  # a build without the fast path already uses pd.factorize
        yield
        return
    _columns._factorize_strings = lambda series, threads=0: None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _columns._factorize_strings = saved  # type: ignore[attr-defined]


def measure(df: pd.DataFrame, rounds: int, threads: int | None) -> dict[str, Any]:
    """Median first-call, repeat-call and factorise-only times over ``rounds`` fresh designs."""
    import steppe as sp
    from steppe import _columns

    def one_round() -> dict[str, tuple[float, float]]:
        design = sp.Design(df, threads=threads, **DESIGN_ARGS)
        first = timed(lambda: design.proportion("item", by="domain"))
        repeat = timed(lambda: design.proportion("item", by="domain"))
        alone = timed(lambda: [_columns.factorize(df[c], narrow=True) for c in STRING_COLUMNS])
        return {"first": first, "repeat": repeat, "factorize": alone}

    samples: dict[str, list[tuple[float, float]]] = {"first": [], "repeat": [], "factorize": []}
    for _ in range(rounds):
        for key, pair in one_round().items():
            samples[key].append(pair)
    out: dict[str, Any] = {}
    for key, pairs in samples.items():
        out[f"{key}_wall_s"] = statistics.median(p[0] for p in pairs)
        out[f"{key}_cpu_s"] = statistics.median(p[1] for p in pairs)
    out["first_over_repeat_wall"] = out["first_wall_s"] / out["repeat_wall_s"]
    out["first_over_repeat_cpu"] = out["first_cpu_s"] / out["repeat_cpu_s"]
    return out


def machine_info() -> dict[str, Any]:
    """CPU model, cores, load and library versions."""
    import steppe

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "steppe": steppe.__version__,
    }


def main() -> None:
    """Run both dtypes, old and new path, print a table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="Design threads (all cores)")
    parser.add_argument("--seed", type=int, default=syn.Spec().seed)
    parser.add_argument(
        "--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "steppe-bench"
    )
    parser.add_argument("--out", type=Path, default=HERE / "first_call_results.json")
    args = parser.parse_args()

    info = machine_info()
    base = syn.cached(syn.Spec(args.rows, args.seed), args.cache_dir)
    results: list[dict[str, Any]] = []
    for layout in ("shared", "distinct"):
        for dtype in ("object", "str"):
            df = string_frame(base, dtype, layout)
            for path in ("pandas", "steppe"):
                if path == "pandas":
                    with pandas_factorize():
                        row = measure(df, args.rounds, args.threads)
                else:
                    row = measure(df, args.rounds, args.threads)
                dtype_name = str(df["domain"].dtype)
                results.append({"objects": layout, "dtype": dtype_name, "factorize": path, **row})
            del df

    print(f"{args.rows:,} rows, median of {args.rounds}; load {info['load_average_at_start']}")
    print(
        f"{'objects':<9} {'dtype':<7} {'factorize':<10} {'first ms':>9} {'repeat ms':>10}"
        f" {'ratio':>6} {'first cpu':>10} {'repeat cpu':>11} {'ratio':>6} {'factorize ms':>13}"
    )
    for r in results:
        print(
            f"{r['objects']:<9} {r['dtype']:<7} {r['factorize']:<10}"
            f" {r['first_wall_s'] * 1e3:>9.1f} {r['repeat_wall_s'] * 1e3:>10.1f}"
            f" {r['first_over_repeat_wall']:>6.2f} {r['first_cpu_s'] * 1e3:>10.1f}"
            f" {r['repeat_cpu_s'] * 1e3:>11.1f} {r['first_over_repeat_cpu']:>6.2f}"
            f" {r['factorize_wall_s'] * 1e3:>13.1f}"
        )
    payload = {
        "machine": info,
        "rows": args.rows,
        "rounds": args.rounds,
        "statistic": "median",
        "operation": 'Design(...).proportion("item", by="domain"), item and domain str columns',
        "objects": {
            "shared": "one str object per distinct value (as pandas.read_csv makes them)",
            "distinct": "a str object of its own on every row",
        },
        "factorize_paths": {
            "pandas": "pd.factorize(sort=True) (steppe before this change)",
            "steppe": "steppe._core.factorize_strings",
        },
        "results": results,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
