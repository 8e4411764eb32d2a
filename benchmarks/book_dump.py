"""Dump every result of the book's pages to one JSON file, to compare two versions of the code.

Each page of ``_toc.yml`` with a kernel is executed from scratch, as ``benchmarks/book_build.py``
and the book build do (jupytext, then nbclient in the page's folder). The dump holds, per page:

* ``glue``: every glued value by name, each MIME type's text (a PNG by its sha256);
* ``outputs``: every other output in order (streams, results, displayed tables; images by sha256);
* ``figures``: the data of every figure drawn (each time a figure is rendered, by the inline
  backend or by ``glue``): per axes its title, labels, scales, limits, lines' xy data,
  collections' offsets and paths, patches, texts, images and legend; the figure's texts.

Usage::

    python benchmarks/book_dump.py /tmp/dump_before.json     # before a change
    python benchmarks/book_dump.py /tmp/dump_after.json      # after it
    python benchmarks/book_dump.py --compare /tmp/dump_before.json /tmp/dump_after.json

``--compare`` prints each difference (page, kind, key) and exits 1 when there is one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_build import ROOT, pages

GLUE_PREFIX = "application/papermill.record/"

# Run in the kernel before the page's first cell: every rendered figure's data is recorded.
RECORDER = r"""
import json as _dump_json, math as _dump_math
import numpy as _dump_np
import matplotlib.backend_bases as _dump_bb
_DUMP_FIGURES = []

def _dump_arr(a):
    a = _dump_np.ma.filled(_dump_np.ma.asarray(a, dtype=float), _dump_np.nan)
    flat = [None if not _dump_math.isfinite(v) else float(v) for v in a.ravel().tolist()]
    if len(flat) > 400:
        import hashlib as _h
        return {"shape": list(a.shape), "sha256": _h.sha256(_dump_np.ascontiguousarray(a).tobytes()).hexdigest(),
                "head": flat[:8]}
    return {"shape": list(a.shape), "values": flat}

def _dump_text(t):
    return {"text": t.get_text(), "xy": [float(v) for v in t.get_position()]}

def _dump_axes(ax):
    out = {"title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
           "xscale": ax.get_xscale(), "yscale": ax.get_yscale(),
           "xlim": _dump_arr(ax.get_xlim()), "ylim": _dump_arr(ax.get_ylim()),
           "xticklabels": [t.get_text() for t in ax.get_xticklabels()],
           "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
           "lines": [{"label": l.get_label(), "x": _dump_arr(l.get_xdata()), "y": _dump_arr(l.get_ydata())}
                     for l in ax.get_lines()],
           "collections": [], "patches": [], "texts": [_dump_text(t) for t in ax.texts],
           "images": [_dump_arr(im.get_array()) for im in ax.get_images()]}
    for c in ax.collections:
        rec = {"type": type(c).__name__, "label": c.get_label(), "offsets": _dump_arr(c.get_offsets())}
        try:
            arr = c.get_array()
            rec["array"] = None if arr is None else _dump_arr(arr)
        except Exception:
            pass
        paths = c.get_paths() or []
        rec["paths"] = [_dump_arr(p.vertices) for p in paths[:50]]
        rec["n_paths"] = len(paths)
        out["collections"].append(rec)
    for p in ax.patches:
        rec = {"type": type(p).__name__, "label": p.get_label()}
        if hasattr(p, "get_width") and hasattr(p, "get_x"):
            rec["xywh"] = _dump_arr([p.get_x(), p.get_y(), p.get_width(), p.get_height()])
        else:
            rec["vertices"] = _dump_arr(p.get_path().vertices)
        out["patches"].append(rec)
    leg = ax.get_legend()
    out["legend"] = None if leg is None else [t.get_text() for t in leg.get_texts()]
    return out

_dump_original = _dump_bb.FigureCanvasBase.print_figure

def _dump_print_figure(self, *args, **kwargs):
    fig = self.figure
    try:
        _DUMP_FIGURES.append({"axes": [_dump_axes(ax) for ax in fig.axes],
                              "texts": [_dump_text(t) for t in fig.texts],
                              "suptitle": fig._suptitle.get_text() if fig._suptitle else None,
                              "size": [float(v) for v in fig.get_size_inches()]})
    except Exception as err:  # never let the dump change what the page does
        _DUMP_FIGURES.append({"error": repr(err)})
    return _dump_original(self, *args, **kwargs)

_dump_bb.FigureCanvasBase.print_figure = _dump_print_figure
"""

WRITER = """
with open({path!r}, "w") as _dump_f:
    _dump_json.dump(_DUMP_FIGURES, _dump_f)
"""


def _mime(data: dict) -> dict:
    out = {}
    for key, value in sorted(data.items()):
        if key.startswith(GLUE_PREFIX):
            key = key[len(GLUE_PREFIX) :]
        if key.startswith("image/"):
            value = "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()
        out[key] = value
    return out


def dump_page(path: Path) -> dict:
    """Execute one page and return its glued values, other outputs and figures' data."""
    nb = jupytext.read(path)
    n_cells = len(nb.cells)
    with tempfile.TemporaryDirectory() as tmp:
        fig_file = Path(tmp) / "figures.json"
        nb.cells.insert(0, nbformat.v4.new_code_cell(RECORDER))
        nb.cells.append(nbformat.v4.new_code_cell(WRITER.format(path=str(fig_file))))
        NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        ).execute()
        figures = json.loads(fig_file.read_text())
    glue: dict[str, dict] = {}
    outputs: list[dict] = []
    for cell in nb.cells[1 : n_cells + 1]:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                glue[name] = _mime(out.get("data", {}))
            elif out.output_type == "stream":
                outputs.append({"stream": out.name, "text": out.text})
            elif out.output_type in ("display_data", "execute_result"):
                outputs.append(_mime(out.get("data", {})))
            elif out.output_type == "error":
                outputs.append({"error": out.ename + ": " + out.evalue})
    return {"glue": glue, "outputs": outputs, "figures": figures}


def _diff(a, b, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                out.append(f"{where}/{k}: only after")
            elif k not in b:
                out.append(f"{where}/{k}: only before")
            else:
                _diff(a[k], b[k], f"{where}/{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{where}: {len(a)} items before, {len(b)} after")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{where}[{i}]", out)
    elif a != b:
        sa, sb = repr(a), repr(b)
        out.append(f"{where}: {sa[:300]} -> {sb[:300]}")


def compare(before: dict, after: dict) -> list[str]:
    """Every difference between two dumps, as ``page/kind/key: before -> after`` lines."""
    out: list[str] = []
    _diff(before, after, "", out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?", help="the JSON file to write")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="compare two dumps")
    parser.add_argument("--page", action="append", help="only this page (e.g. notebooks/kaplan.md); repeatable")
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.compare)
        diffs = compare(before, after)
        print("\n".join(diffs) if diffs else "no differences")
        return 1 if diffs else 0
    if not args.out:
        parser.error("give the JSON file to write, or --compare BEFORE AFTER")
    dump = {}
    for path in pages():
        rel = path.relative_to(ROOT).as_posix()
        if args.page and rel not in args.page:
            continue
        print(rel, flush=True)
        dump[rel] = dump_page(path)
    Path(args.out).write_text(json.dumps(dump, indent=1, sort_keys=True))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
