"""Benchmark (a prototype for the fast-rebuild issue): variable-projection starts for approach 3.

For each (alpha, beta) on a 50 x 50 grid, (E, A, B) by weighted linear least squares of L on
(1, N^-alpha, D^-beta), weights 1/L; the 8 pairs with the lowest Huber objective on log L start
fit_chinchilla (no halving). Prints, for the halving test's cases, the time against the default
4,500-start fit and the relative objective difference; exits 1 if any optimum differs by more
than 1e-6 relative (worse). Needs ../shared for Epoch's points (those cases are skipped without).

Usage: python benchmarks/varpro_starts.py
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pytest

from scaling_utils import fitting
from tests.test_fit_halving import CASES

GRID = np.linspace(0.02, 2.0, 50)


def varpro_starts(n, d, l, k=8, grid=GRID):
    """Starts from variable projection: for each (alpha, beta) on a grid, (E, A, B) by weighted
    linear least squares of L on (1, N^-alpha, D^-beta) with weights 1/L (relative residuals);
    the k pairs with the lowest Huber objective on log L become starts (a, b, e, alpha, beta)."""
    ln_n, ln_d, ln_l = np.log(n), np.log(d), np.log(l)
    w = 1.0 / l
    al, be = np.meshgrid(grid, grid, indexing="ij")
    al, be = al.ravel(), be.ravel()
    X = np.exp(-al[:, None] * ln_n[None, :])  # (P, n)
    Y = np.exp(-be[:, None] * ln_d[None, :])
    one = np.ones_like(X)
    M = np.stack([one, X, Y], axis=2) * w[None, :, None]  # (P, n, 3)
    t = l * w
    G = np.einsum("pni,pnj->pij", M, M)
    r = np.einsum("pni,n->pi", M, t)
    coef = np.linalg.solve(G + 1e-12 * np.eye(3), r[:, :, None])[:, :, 0]
    floor = 1e-6 * l.min()
    coef = np.maximum(coef, floor)
    E, A, B = coef.T
    pred = E[:, None] + A[:, None] * X + B[:, None] * Y
    res = np.log(pred) - ln_l[None, :]
    delta = 1e-3
    dh = np.clip(res, -delta, delta)
    obj = (dh * (res - 0.5 * dh)).sum(1)
    best = np.argsort(obj)[:k]
    return np.column_stack([np.log(A[best]), np.log(B[best]), np.log(E[best]), al[best], be[best]])


worse = []
for case, fn in CASES.items():
    try:
        n, d, l = fn()
    except pytest.skip.Exception as why:
        print(f"{case:20s} skipped: {why}")
        continue
    t = time.perf_counter()
    s = varpro_starts(n, d, l)
    t0 = time.perf_counter() - t
    t = time.perf_counter()
    fast = fitting.fit_chinchilla(n, d, l, grid=s, halving=False)
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    ref = fitting.fit_chinchilla(n, d, l)
    t2 = time.perf_counter() - t
    if fast.objective > ref.objective * (1 + 1e-6):
        worse.append(case)
    print(
        f"{case:20s} starts {t0 * 1000:.0f} ms, fit {t1 * 1000:.0f} ms, default fit {t2 * 1000:.0f} ms, "
        f"relative objective difference {(fast.objective - ref.objective) / ref.objective:.1e}"
    )

if worse:
    print(f"MISSED A GOAL: variable-projection starts end above the full grid's optimum on {worse}")
    sys.exit(1)
