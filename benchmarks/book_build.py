"""Benchmark: execution time of every page of the book that runs code, from scratch.

Each page in ``_toc.yml`` with a kernel is read with jupytext and executed with nbclient in
its own folder, as the book build does (``execute_notebooks: force``); nothing is cached.
Prints one line per page, the total, and the goals (issue "Fast to rebuild and rerun"):
every page <= 20 s, all pages <= 60 s for the article's chapters and <= 90 s in total.

Usage: python benchmarks/book_build.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jupytext
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
PAGE_GOAL, TOTAL_GOAL = 20.0, 90.0


def pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    out = []
    for f in files:
        path = ROOT / f"{f}.md"
        if path.is_file() and "kernelspec:" in path.read_text(encoding="utf-8")[:600]:
            out.append(path)
    return out


def run(path: Path) -> float:
    nb = jupytext.read(path)
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="run each page this many times, keep the fastest")
    args = parser.parse_args()
    total = 0.0
    ok = True
    print(f"{'page':<36} {'seconds':>8}   goal <= {PAGE_GOAL:.0f} s")
    for path in pages():
        t = min(run(path) for _ in range(max(1, args.repeat)))
        total += t
        ok &= t <= PAGE_GOAL
        print(f"{path.relative_to(ROOT).as_posix():<36} {t:8.1f}   {'ok' if t <= PAGE_GOAL else 'OVER'}")
    ok &= total <= TOTAL_GOAL
    print(f"{'total':<36} {total:8.1f}   goal <= {TOTAL_GOAL:.0f} s: {'ok' if total <= TOTAL_GOAL else 'OVER'}")
    print("PASS" if ok else "MISSED A GOAL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
