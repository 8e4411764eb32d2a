"""Benchmark: approach-3 fitting (scaling_utils) against the full grid and a plain loop of scipy.optimize.

Data: the 245 runs that Besiroglu et al. (2024) extracted from Hoffmann et al. (2022), Fig. 4,
read from ../shared/data/external (never copied into this repository); the 5 runs with the
highest loss are dropped, as in that paper.

Two references are written here, independently of scaling_utils; each loops over the same
4,500-point grid, runs ``scipy.optimize.minimize(method="L-BFGS-B")`` from each start with
default tolerances, and keeps the best:

* the *usual loop*, as the fit is commonly written: the objective built from
  ``scipy.special.logsumexp`` and ``scipy.special.huber``, gradients by finite differences;
* the *analytic loop*: the same with a hand-written analytic gradient, a much stronger
  baseline.

The usual loop takes minutes on the whole grid, so by default both run on every 10th start
(an evenly spaced subsample) and their times are scaled up to the whole grid;
``--stride 1`` runs them in full.

Prints: the default fit's time (variable-projection starts, median of 5), the full grid's
optimum (every one of the 4,500 starts run to convergence) and the two loops' timings and optima,
and the time of a 4,000-resample bootstrap. Goals (exit status 1 if one is missed): the default
fit in <= 50 ms with the full grid's optimum (relative objective difference <= 1e-6), both
loops' optima too, and the bootstrap in <= 1.5 s. Measure on a quiet machine.

Usage: python benchmarks/fit_speed.py [--stride 10] [--resamples 4000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import huber, logsumexp

from scaling_utils.fitting import bootstrap_chinchilla, default_grid, fit_chinchilla

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "external" / "chinchilla_fig4_epoch_extracted.csv"
DELTA = 1e-3


def usual_objective(theta, ln_n, ln_d, ln_l):
    """The objective as commonly written (no gradient: L-BFGS-B differentiates numerically)."""
    a, b, e, alpha, beta = theta
    pred = logsumexp([a - alpha * ln_n, b - beta * ln_d, np.full_like(ln_n, e)], axis=0)
    return huber(DELTA, pred - ln_l).sum()


def reference_objective(theta, ln_n, ln_d, ln_l):
    """Sum of Huber(LSE(a - alpha ln N, b - beta ln D, e) - ln L) and its gradient."""
    a, b, e, alpha, beta = theta
    t = np.stack([a - alpha * ln_n, b - beta * ln_d, np.full_like(ln_n, e)])
    m = t.max(axis=0)
    ex = np.exp(t - m)
    s = ex.sum(axis=0)
    r = m + np.log(s) - ln_l
    p = ex / s
    quad = np.abs(r) <= DELTA
    f = np.where(quad, 0.5 * r**2, DELTA * (np.abs(r) - 0.5 * DELTA)).sum()
    dh = np.where(quad, r, DELTA * np.sign(r))
    g = np.array(
        [(dh * p[0]).sum(), (dh * p[1]).sum(), (dh * p[2]).sum(), -(dh * p[0] * ln_n).sum(), -(dh * p[1] * ln_d).sum()]
    )
    return f, g


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stride", type=int, default=10, help="run the reference on every STRIDE-th start")
    parser.add_argument("--resamples", type=int, default=4000)
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"SKIP: {DATA} is absent (third-party validation data lives in ../shared only)")
        return 0
    df = pd.read_csv(DATA).sort_values("loss").iloc[:-5]
    n = df["Model Size"].to_numpy()
    d = df["Training FLOP"].to_numpy() / (6 * n)
    loss = df["loss"].to_numpy()
    grid = default_grid()

    fit_chinchilla(n, d, loss, delta=DELTA)  # warm up (imports, caches)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        fit = fit_chinchilla(n, d, loss, delta=DELTA)
        times.append(time.perf_counter() - t0)
    t_ours = float(np.median(times))
    t0 = time.perf_counter()
    full = fit_chinchilla(n, d, loss, delta=DELTA, method="grid", halving=False)
    t_full = time.perf_counter() - t0

    ln_n, ln_d, ln_l = np.log(n), np.log(d), np.log(loss)
    starts = grid[:: args.stride]
    refs = {}
    for name, func, jac in (("usual loop", usual_objective, False), ("analytic loop", reference_objective, True)):
        t0 = time.perf_counter()
        best = np.inf
        for x0 in starts:
            res = minimize(func, x0, args=(ln_n, ln_d, ln_l), jac=jac, method="L-BFGS-B")
            if np.isfinite(res.fun) and res.fun < best:
                best = float(res.fun)
        t_sub = time.perf_counter() - t0
        refs[name] = (t_sub, t_sub * grid.shape[0] / starts.shape[0], best)

    t0 = time.perf_counter()
    boot = bootstrap_chinchilla(n, d, loss, n_resamples=args.resamples, fit=fit, delta=DELTA)
    t_boot = time.perf_counter() - t0

    print(f"data: {n.size} runs (245 minus the 5 highest-loss)")
    rel_full = (fit.objective - full.objective) / full.objective
    ok = t_ours <= 0.050 and rel_full <= 1e-6
    print(
        f"scaling_utils.fit_chinchilla (variable projection, {fit.n_starts} starts): median of 5 "
        f"{t_ours * 1000:.0f} ms (goal <= 50 ms); objective {fit.objective:.10g}"
    )
    print(
        f"full grid, all {grid.shape[0]} starts to convergence: {t_full:.2f} s; objective {full.objective:.10g}; "
        f"relative difference {rel_full:.1e} (goal <= 1e-6)"
    )
    for name, (t_sub, t_full_loop, best) in refs.items():
        rel = (fit.objective - best) / abs(best)
        print(
            f"{name}: {starts.shape[0]} starts (every {args.stride}th) {t_sub:.2f} s, scaled to "
            f"{grid.shape[0]}: {t_full_loop:.1f} s ({t_full_loop / t_ours:.0f}x ours); objective {best:.10g}, "
            f"ours {rel:+.1e} relative (goal <= 1e-6)"
        )
        ok &= rel <= 1e-6
    print(f"bootstrap, {args.resamples} resamples: {t_boot:.2f} s (goal <= 1.5 s); {len(boot.samples)} fitted")
    ok &= t_boot <= 1.5
    law = fit.law
    print(
        f"fit: E={law.E:.4f} A={law.A:.2f} B={law.B:.2f} alpha={law.alpha:.4f} beta={law.beta:.4f} "
        f"a={law.exponents[0]:.4f}"
    )
    ok &= t_boot <= 60
    print("PASS" if ok else "MISSED A GOAL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
