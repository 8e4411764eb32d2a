"""Every chapter notebook executes without error, and keeps the book's conventions."""

from __future__ import annotations

import ast
import re
import subprocess

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.md"))
CHAPTERS = {"generalization", "kaplan", "chinchilla", "beyond_power_law"}


def test_the_four_chapters_exist():
    assert {p.stem for p in NOTEBOOKS} >= CHAPTERS


def test_no_ipynb_in_git():
    tracked = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    assert tracked == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(path):
    text = path.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="md:myst")
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # The experiment chapter is the book's own (it opens with why the book trains models).
    assert "## What the article claims" in text or path.stem == "experiment"
    # Each chapter closes in prose, then compares: "What this means" comes before the table.
    assert "## What this means" in text
    assert text.index("## What this means") < text.index("## Article vs reproduction")
    # Thin notebooks: no helper functions or classes defined in code cells.
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "def " not in cell.source and "class " not in cell.source, path.name
    # One figure per cell, each with a name and caption, and referenced in the text.
    for cell in nb.cells:
        fig = cell.metadata.get("mystnb", {}).get("figure")
        if fig:
            assert fig.get("name") and fig.get("caption")
            assert f"{{numref}}`{fig['name']}`" in text, f"{fig['name']} is never referenced"


PAGES = [
    p
    for p in sorted((ROOT / "notebooks").glob("*.md")) + sorted((ROOT / "book").glob("*.md"))
    if "kernelspec:" in p.read_text(encoding="utf-8")[:600]
]
"""Every page that runs code: the chapters and the book's pages with a kernel (lab notes, cli, provenance)."""

MAX_GLUE_PER_CELL = 5


@pytest.mark.parametrize("path", PAGES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_cells_call_the_library_instead_of_plumbing_it(path):
    """No page defines a function or class, no cell glues more than 5 values by hand, none builds a DataFrame.

    Numbers come from a result's ``summary()`` through ``glue_all``; tables and figures from
    ``scaling_utils.report``.
    """
    nb = jupytext.read(path, fmt="md:myst")
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        tree = ast.parse(cell.source)
        defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        assert defs == [], f"{path.name}, code cell {i}: defines {[d.name for d in defs]}"
        calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
        names = [f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else "" for f in calls]
        assert names.count("glue") <= MAX_GLUE_PER_CELL, f"{path.name}, code cell {i}: {names.count('glue')} glue calls"
        assert "DataFrame" not in names, f"{path.name}, code cell {i}: builds a DataFrame by hand"


def _try_cells(nb):
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.lstrip().startswith("# Try changing")]
    assert cells, "each chapter has a 'Try changing' cell (one per section with parameters)"
    return cells


def _try_cell(nb):
    """The chapter's first 'Try changing' cell (its main assumptions)."""
    return _try_cells(nb)[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_try_changing_parameters_are_all_used(path):
    """Every parameter of the 'Try changing' cell is read by a later cell: editing it does something."""
    nb = jupytext.read(path)
    for cell in _try_cells(nb):
        names = set()
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
        assert names, "a 'Try changing' cell assigns no parameter"
        later = "\n".join(c.source for c in nb.cells[nb.cells.index(cell) + 1 :] if c.cell_type == "code")
        unused = sorted(n for n in names if not re.search(rf"\b{n}\b", later))
        assert unused == [], f"{path.name}: parameters never used: {unused}"


def _outputs(nb, *, figure: str | None = None, glue: str | None = None) -> list[str]:
    """The outputs of the cell that makes a named figure, or of a glued value, as strings."""
    found = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        if figure and c.metadata.get("mystnb", {}).get("figure", {}).get("name") == figure:
            found += [str(o.get("data", {}).get("image/png")) for o in c.outputs if o.get("data")]
        for o in c.get("outputs", []):
            if glue and o.get("metadata", {}).get("scrapbook", {}).get("name") == glue:
                found.append(str(o["data"]))
    assert found, f"no output for {figure or glue}"
    return found


# chapter: (parameter line as written, the edit, what must change). Other edits only keep it fast.
TRY_EDITS = {
    "kaplan": ("law = KAPLAN_2020", "law = KaplanLaw(alpha_N=0.08)", {"figure": "fig-kaplan-laws"}),
    "chinchilla": (
        "laws = [HOFFMANN_2022_UNROUNDED, BESIROGLU_2024]",
        "laws = [HOFFMANN_2022]\nn_resamples = 200",
        {"figure": "fig-chinchilla-contours"},
    ),
    "beyond_power_law": (
        "tokens_per_param = datasize.ARTICLE_TOKENS_PER_PARAM",
        "tokens_per_param = 40.0",
        {"glue": "t2_table"},
    ),
    "generalization": ("query = prompts.ARTICLE_QUERY", "query = (2, 3)", {"glue": "prompt_zero"}),
}


def _execute(nb, path):
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


@pytest.mark.book
@pytest.mark.parametrize("chapter", sorted(TRY_EDITS))
def test_editing_a_parameter_changes_the_output(book_build, chapter):
    """Edit the 'Try changing' cell, rerun the chapter: its figure or table differs from the book's."""
    path = ROOT / "notebooks" / f"{chapter}.md"
    line, edit, what = TRY_EDITS[chapter]
    if "figure" in what:  # the book's own execution of the chapter, as built
        baseline = nbformat.read(book_build / "jupyter_execute" / "notebooks" / f"{chapter}.ipynb", as_version=4)
    else:  # the book's copy drops glued values; run the unedited chapter
        baseline = _execute(jupytext.read(path), path)
    nb = jupytext.read(path)
    cell = _try_cell(nb)
    assert line in cell.source, f"{chapter}: the 'Try changing' cell no longer has {line!r}"
    cell.source = cell.source.replace(line, edit)
    _execute(nb, path)
    assert _outputs(nb, **what) != _outputs(baseline, **what)


@pytest.mark.notebooks
def test_a_missing_results_folder_fails_clearly(tmp_path):
    """Pointing a chapter at a folder without results stops with a message naming what is missing."""
    path = ROOT / "notebooks" / "experiment.md"
    nb = jupytext.read(path)
    cell = _try_cell(nb)
    line = 'results_dir = "../data/experiments"'
    assert line in cell.source
    cell.source = cell.source.replace(line, f"results_dir = {str(tmp_path)!r}")
    with pytest.raises(CellExecutionError, match=r"ResultsError.*lr_pilot"):
        _execute(nb, path)


def test_code_shown_to_readers_fits_the_column():
    """Every line of a code cell a reader can see (all but ``remove-cell``) is <= 88 characters.

    At 1400 px the text column holds about 100 monospace characters; 88 leaves room for the
    cell's padding, and is what ``ruff format --line-length 88`` (through jupytext) keeps.
    """
    long = []
    for path in sorted((ROOT / "notebooks").glob("*.md")) + sorted((ROOT / "book").glob("*.md")):
        nb = jupytext.read(path, fmt="md:myst")
        for cell in nb.cells:
            if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
                continue
            long += [
                f"{path.name}: {len(line)} chars: {line[:60]}" for line in cell.source.splitlines() if len(line) > 88
            ]
    assert long == [], "\n".join(long)
