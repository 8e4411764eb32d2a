"""Benchmark: execution time of every page of the book that runs code, from scratch.

Each page in ``_toc.yml`` with a kernel is read with jupytext and executed with nbclient in
its own folder, as the book build does (each output drawn in both editions' languages);
nothing is cached between pages. A page's time runs
from the kernel's start to its last cell (kernel start included). Prints one line per page
with its three slowest cells, the total, and the goals (issue "Fast to rebuild, again"):
every page <= 15 s and all pages <= 60 s in total. Exits 1 if a goal is missed. Measure on a
quiet machine. ``--write FILE`` also saves the printed table (the README cites that file's
figures instead of typing them).

``--repeat N`` makes N passes over all pages and keeps each page's fastest (the usual estimate
of a quiet machine's time, as timeit's); it prints each pass's total too.

Usage: python benchmarks/book_build.py [--repeat 1] [--write benchmarks/results/book_build.txt]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import jupytext
import yaml
from nbclient import NotebookClient

from scaling_utils.report.edition import KERNEL_SETUP, SECOND
from scaling_utils.report.translate import LANGS_ENV, LOCALE_ENV

ROOT = Path(__file__).resolve().parents[1]
PAGE_GOAL, TOTAL_GOAL = 15.0, 60.0


def pages() -> list[Path]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    out = []
    for f in files:
        path = ROOT / f"{f}.md"
        if path.is_file() and "kernelspec:" in path.read_text(encoding="utf-8")[:600]:
            out.append(path)
    return out


def _cell_seconds(cell) -> float:
    ex = cell.get("metadata", {}).get("execution", {})
    start, end = ex.get("iopub.execute_input"), ex.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    parse = lambda s: dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (parse(end) - parse(start)).total_seconds()


def run(path: Path) -> tuple[float, list[tuple[float, int, str]]]:
    """Seconds for the page, and (seconds, cell number, first line) of its code cells."""
    nb = jupytext.read(path)
    t0 = time.perf_counter()
    # as the build executes a page (scaling_utils.report.edition): each output drawn in both languages
    client = NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(path.parent)}},
                            extra_arguments=[KERNEL_SETUP])  # fmt: skip
    client.execute(env=os.environ | {LANGS_ENV: SECOND, LOCALE_ENV: str(ROOT / "locale")})
    total = time.perf_counter() - t0
    cells = [
        (_cell_seconds(c), i, (c.source.strip().splitlines() or [""])[0][:50])
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
    ]
    return total, cells


def _processor() -> str:
    """The processor's model name (Linux), else what platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "processor unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1, help="passes over all pages; each page keeps its fastest")
    parser.add_argument("--write", type=Path, help="also save the table to this file")
    args = parser.parse_args()
    total = 0.0
    ok = True
    lines = [f"{'page':<36} {'seconds':>8}   goal <= {PAGE_GOAL:.0f} s; slowest cells (seconds, cell, first line)"]
    print(lines[0], flush=True)
    paths = pages()
    # --repeat N: N passes over every page, one after another (a slow spell of a shared machine
    # then hits one pass, not every try of one page); each page keeps its fastest pass.
    passes = [[run(path) for path in paths] for _ in range(max(1, args.repeat))]
    for k, path in enumerate(paths):
        t, cells = min((p[k] for p in passes), key=lambda r: r[0])
        total += t
        ok &= t <= PAGE_GOAL
        block = [f"{path.relative_to(ROOT).as_posix():<36} {t:8.1f}   {'ok' if t <= PAGE_GOAL else 'OVER'}"]
        block += [f"{'':<38}{s:6.1f}  cell {i:<3} {first}" for s, i, first in sorted(cells, reverse=True)[:3]]
        print("\n".join(block), flush=True)
        lines += block
    if len(passes) > 1:
        each = ", ".join(f"{sum(t for t, _ in p):.1f}" for p in passes)
        lines.append(f"{'each pass':<36} {each} s (the total below takes each page's fastest)")
        print(lines[-1])
    ok &= total <= TOTAL_GOAL
    tail = [f"{'total':<36} {total:8.1f}   goal <= {TOTAL_GOAL:.0f} s: {'ok' if total <= TOTAL_GOAL else 'OVER'}",
            "PASS" if ok else "MISSED A GOAL"]  # fmt: skip
    print("\n".join(tail))
    if args.write:
        head = (f"# python benchmarks/book_build.py --repeat {args.repeat}, {dt.date.today().isoformat()}, "
                f"{os.cpu_count()} cores ({_processor()}), Python {platform.python_version()}")  # fmt: skip
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text("\n".join([head, *lines, *tail]) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
