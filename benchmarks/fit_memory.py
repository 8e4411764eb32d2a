"""Approach 3 on a large table of runs, under an address-space limit (issue 27).

Writes a CSV of ``--rows`` IsoFLOP-like runs drawn from a known law with 1% noise, then runs
``scaling-book fit --approach 3`` on it in a child process whose address space is capped
with ``resource.setrlimit(RLIMIT_AS)``, and prints the wall and CPU time and the peak
resident memory. Measured (2 shared cores): 20k rows 35 s, 296 MB; 200k rows 714 s wall
(289 s CPU), 326 MB peak, under a 2 GiB address-space limit (unchunked, one array of
4,500 starts x 200k rows alone is 6.7 GiB).

    python benchmarks/fit_memory.py --rows 200000 --limit-gb 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import resource, sys, time, json
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from scaling_utils.cli import main
t = time.perf_counter()
status = main(["fit", sys.argv[2], "--approach", "3", "--resamples", sys.argv[3], "--json", sys.argv[4]])
wall = time.perf_counter() - t
use = resource.getrusage(resource.RUSAGE_SELF)
cpu = use.ru_utime + use.ru_stime
print(json.dumps({"status": status, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": use.ru_maxrss / 1024}))
"""


def make_runs(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` runs (N, D, loss) from a Chinchilla law with 1% multiplicative noise.

    Parameters
    ----------
    rows : int
        Number of runs.
    seed : int
        Seed of the noise and of the sizes drawn.
    """
    from scaling_utils.laws import ChinchillaLaw

    law = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)
    rng = np.random.default_rng(seed)
    n = 10 ** rng.uniform(6, 10, rows)
    d = n * 10 ** rng.uniform(0.3, 3, rows)
    loss = law.loss(n, d) * np.exp(rng.normal(0, 0.01, rows))
    return pd.DataFrame({"N": n, "D": d, "loss": loss})


def run(rows: int, limit_gb: float, resamples: int) -> dict:
    """Write the runs, fit them in a capped child process, and return its figures.

    Parameters
    ----------
    rows : int
        Runs in the file.
    limit_gb : float
        Address-space limit of the child, in GiB.
    resamples : int
        Bootstrap resamples.
    """
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "runs.csv"
        make_runs(rows).to_csv(csv, index=False)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        limit = int(limit_gb * 2**30)
        args = [sys.executable, "-c", CHILD, str(limit), str(csv), str(resamples), str(Path(tmp) / "fit.json")]
        res = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT)
        if res.returncode != 0:
            return {"status": res.returncode, "stderr": res.stderr[-2000:]}
        out = json.loads(res.stdout.strip().splitlines()[-1])
        out["a"] = json.loads((Path(tmp) / "fit.json").read_text())["approaches"]["3"]["a"]["estimate"]
        return out


def main() -> None:
    """Command line: ``--rows``, ``--limit-gb``, ``--resamples``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--limit-gb", type=float, default=2.0)
    p.add_argument("--resamples", type=int, default=10)
    a = p.parse_args()
    t = time.perf_counter()
    out = run(a.rows, a.limit_gb, a.resamples)
    out["total_s"] = time.perf_counter() - t
    print(json.dumps({"rows": a.rows, "limit_gb": a.limit_gb, "resamples": a.resamples, **out}, indent=2))


if __name__ == "__main__":
    main()
