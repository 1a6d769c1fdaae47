"""Seeded synthetic survey data for the domain benchmark.

The layout follows the benchmark issue: 1M rows in 50 strata x 40 PSUs, lognormal
weights, a 5-level opinion item whose level probabilities vary by a 600-level
domain (with a PSU-level cluster effect, so design effects are above 1), and
age group (6 levels) x region (20 levels). Rows are shuffled, not sorted by
stratum or PSU, as survey files usually are.

Every categorical column is a pandas ``Categorical`` (int8 or int16 codes); both
steppe and pandas ``groupby`` get the very same columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

N_STRATA = 50
PSU_PER_STRATUM = 40
N_DOMAINS = 600
ITEM_LEVELS = ("strongly agree", "agree", "neutral", "disagree", "strongly disagree")
AGE_LEVELS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
N_REGIONS = 20
CLUSTER_SHARE = 0.05  # share of rows that answer with their PSU's modal level
MIN_LEVEL_PROB = 0.02  # floor on a level's probability within a domain
VERSION = 1  # bump when the generator changes: it names the cache file


@dataclass(frozen=True)
class Spec:
    """Size and seed of one synthetic data set."""

    rows: int = 1_000_000
    seed: int = 20240601


def _categorical(codes: np.ndarray, labels: list[str] | tuple[str, ...]) -> pd.Categorical:
    """Wrap integer codes as a pandas Categorical with the smallest code dtype."""
    dtype = np.int8 if len(labels) < 128 else np.int16
    return pd.Categorical.from_codes(codes.astype(dtype, copy=False), categories=list(labels))


def _domain_item_probs(rng: np.random.Generator) -> np.ndarray:
    """Level probabilities of the item per domain (rows sum to 1), floored away from 0."""
    base = np.array([0.15, 0.30, 0.25, 0.20, 0.10])
    probs = rng.dirichlet(base * 20.0, size=N_DOMAINS)
    probs = np.maximum(probs, MIN_LEVEL_PROB)
    return probs / probs.sum(axis=1, keepdims=True)


def _draw_item(rng: np.random.Generator, domain: np.ndarray, psu: np.ndarray) -> np.ndarray:
    """Draw the item from its domain's probabilities, with a PSU cluster effect."""
    cum = np.cumsum(_domain_item_probs(rng), axis=1)
    u = rng.random(domain.size)
    item = np.zeros(domain.size, dtype=np.int8)
    for level in range(len(ITEM_LEVELS) - 1):
        item += (u >= cum[domain, level]).astype(np.int8)
    modal = rng.integers(0, len(ITEM_LEVELS), size=N_STRATA * PSU_PER_STRATUM, dtype=np.int8)
    clustered = rng.random(domain.size) < CLUSTER_SHARE
    item[clustered] = modal[psu[clustered]]
    return item


def _draw_weights(rng: np.random.Generator, stratum: np.ndarray) -> np.ndarray:
    """Lognormal weights with a stratum-specific scale (mean weight ~ 40..400)."""
    scale = rng.uniform(np.log(40.0), np.log(400.0), size=N_STRATA)
    return np.exp(scale[stratum] + rng.normal(0.0, 0.5, size=stratum.size))


def _arrays(spec: Spec) -> dict[str, np.ndarray]:
    """Draw the columns as plain numpy arrays (categoricals as integer codes)."""
    rng = np.random.default_rng(spec.seed)
    n_psu = N_STRATA * PSU_PER_STRATUM
    psu = rng.integers(0, n_psu, size=spec.rows).astype(np.int16)
    stratum = (psu // PSU_PER_STRATUM).astype(np.int16)
    domain_p = rng.lognormal(0.0, 0.5, size=N_DOMAINS)
    domain = rng.choice(N_DOMAINS, size=spec.rows, p=domain_p / domain_p.sum()).astype(np.int16)
    item = _draw_item(rng, domain, psu)
    age = rng.choice(len(AGE_LEVELS), size=spec.rows, p=[0.12, 0.2, 0.19, 0.17, 0.16, 0.16])
    region_p = rng.uniform(0.5, 2.0, size=N_REGIONS)
    region = rng.choice(N_REGIONS, size=spec.rows, p=region_p / region_p.sum())
    return {
        "w": _draw_weights(rng, stratum),
        "stratum": stratum,
        "psu": psu,
        "item": item,
        "domain": domain,
        "age_group": age.astype(np.int8),
        "region": region.astype(np.int8),
    }


def _frame(arrays: dict[str, np.ndarray]) -> pd.DataFrame:
    """Assemble the DataFrame, turning the code arrays into Categoricals."""
    labels = {
        "item": ITEM_LEVELS,
        "domain": [f"d{i:03d}" for i in range(N_DOMAINS)],
        "age_group": AGE_LEVELS,
        "region": [f"r{i:02d}" for i in range(N_REGIONS)],
    }
    columns: dict[str, object] = {k: arrays[k] for k in ("w", "stratum", "psu")}
    for name, levels in labels.items():
        columns[name] = _categorical(arrays[name], levels)
    return pd.DataFrame(columns)


def generate(spec: Spec = Spec()) -> pd.DataFrame:
    """Build the benchmark DataFrame.

    Columns: ``w`` (float64), ``stratum`` (int16), ``psu`` (int16, unique across
    strata), and the categoricals ``item`` (5), ``domain`` (600), ``age_group`` (6),
    ``region`` (20).
    """
    return _frame(_arrays(spec))


def subsample(df: pd.DataFrame, rows: int, seed: int = 7) -> pd.DataFrame:
    """Draw a simple random subsample of ``rows`` rows (weights unchanged, index reset)."""
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(df), size=rows, replace=False))
    return df.iloc[keep].reset_index(drop=True)


def cached(spec: Spec, cache_dir: Path) -> pd.DataFrame:
    """Load the data set from ``cache_dir``, generating and saving it if absent.

    The cache holds plain numpy arrays (``.npz``), so it loads in any environment.
    """
    path = cache_dir / f"synthetic_v{VERSION}_{spec.rows}_{spec.seed}.npz"
    if path.exists():
        with np.load(path) as z:
            return _frame({k: z[k] for k in z.files})
    arrays = _arrays(spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return _frame(arrays)


def input_bytes(df: pd.DataFrame) -> int:
    """Bytes held by the columns themselves (codes + weights + design ids)."""
    return int(df.memory_usage(index=False, deep=True).sum())
