"""The compiled replicate-weight construction, through the bindings.

R's matrices are checked case by case in tests/cpp/test_replicate_weights.cpp;
here: the binding hands back R's numbers, as a read-only column-major view of
the core's matrix (no copy), and to_replicate gives the design those weights.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import pandas as pd
import pytest

import steppe as sp
from steppe import _core

GOLDEN = pathlib.Path(__file__).parents[1] / "golden"


def core_design(d: dict[str, Any]) -> _core.Design:
    def ints(key: str) -> np.ndarray | None:
        return None if d[key] is None else np.asarray(d[key], dtype=np.int32)

    return _core.Design(
        np.asarray(d["weights"], dtype=np.float64),
        strata=ints("strata"),
        psu=ints("psu"),
        fpc=None if d["fpc"] is None else np.asarray(d["fpc"], dtype=np.float64),
        stratum_labels=d["stratum_labels"] or [],
        lonely_psu=d["lonely_psu"],
    )


@pytest.mark.parametrize("name", ["jk1_apiclus1", "jkn_apistrat", "fay_split_apistrat"])
def test_binding_gives_r_weights_as_a_view(name: str) -> None:
    g = json.loads((GOLDEN / "replicate_weights" / f"{name}.json").read_text())
    opt = g["options"]
    r = _core.replicate_weights(
        core_design(g["design"]),
        type=opt["type"] or "auto",
        rho=opt["rho"],
        mse=opt["mse"],
        threads=2,
    )
    want = np.asarray(g["weights"]).reshape(g["replicates"], g["rows"]).T
    w = r.weights
    assert w.shape == (g["rows"], g["replicates"]) == (r.rows, r.replicates)
    np.testing.assert_allclose(w, want, rtol=1e-12, atol=0)
    assert (r.type, r.mse, r.seed) == (g["type"], g["mse"], 0)
    assert r.scale == pytest.approx(g["scale"], rel=1e-12)
    np.testing.assert_allclose(r.rscales, g["rscales"], rtol=1e-12)
    # a read-only, column-major view of the core's matrix, kept alive by the array
    assert w.flags.f_contiguous and not w.flags.owndata and not w.flags.writeable
    assert isinstance(w.base, _core.ReplicateWeights)
    assert np.shares_memory(w, r.weights)
    del r
    np.testing.assert_allclose(w, want, rtol=1e-12, atol=0)


def test_to_replicate_carries_the_core_weights() -> None:
    data = pd.read_csv(GOLDEN / "data" / "apistrat.csv")
    d = sp.Design(data, weights="pw", strata="stype", fpc="fpc")
    rd = d.to_replicate("JKn")
    r = _core.replicate_weights(d._state.core, type="JKn")
    assert np.array_equal(rd.replicate_weights, r.weights)
    assert rd.replicate_weights.flags.f_contiguous
    assert (rd.scale, list(rd.rscales)) == (r.scale, list(r.rscales))


def test_bootstraps_and_seed() -> None:
    data = pd.read_csv(GOLDEN / "data" / "apistrat.csv")
    core = sp.Design(data, weights="pw", strata="stype")._state.core
    a = _core.replicate_weights(core, type="bootstrap", replicates=10, seed=3)
    b = _core.replicate_weights(core, type="bootstrap", replicates=10, seed=3)
    assert a.seed == 3 and np.array_equal(a.weights, b.weights)
    drawn = _core.replicate_weights(core, type="bootstrap", replicates=10)
    again = _core.replicate_weights(core, type="bootstrap", replicates=10, seed=drawn.seed)
    assert np.array_equal(drawn.weights, again.weights)
    # Rao-Wu: n_h - 1 draws per stratum, multipliers rescaled by n_h / (n_h - 1)
    sub = _core.replicate_weights(core, type="subbootstrap", replicates=10, seed=3)
    assert sub.type == "subbootstrap"
    mult = sub.weights / data.pw.to_numpy()[:, None]
    for s, n_h in data.stype.value_counts().items():
        np.testing.assert_allclose(mult[data.stype == s].sum(axis=0), n_h, rtol=1e-12)
    assert sub.scale == pytest.approx(1 / 9, rel=1e-15)


def test_errors_and_hadamard() -> None:
    data = pd.read_csv(GOLDEN / "data" / "apistrat.csv")
    core = sp.Design(data, weights="pw", strata="stype")._state.core
    with pytest.raises(sp.InvalidInputError, match="Can't use JK1"):
        _core.replicate_weights(core, type="JK1")
    with pytest.raises(sp.InvalidInputError, match="replicate type"):
        _core.replicate_weights(core, type="jackknife")
    with pytest.raises(sp.InvalidInputError, match="even number"):
        _core.replicate_weights(
            sp.Design(data.iloc[:-1], weights="pw", strata="stype")._state.core, type="BRR"
        )
    h = _core.hadamard(20)
    assert h.shape == (24, 24) and h.dtype == np.uint8
    pm = 2 * h.astype(np.int64) - 1
    assert np.array_equal(pm @ pm.T, 24 * np.eye(24, dtype=np.int64))
    with pytest.raises(sp.InvalidInputError, match="stored 28 x 28"):
        _core.hadamard(24)
