"""Every chapter notebook executes without error, and keeps the book's conventions."""

from __future__ import annotations

import subprocess

import jupytext
import pytest
from nbclient import NotebookClient

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
    assert "## What the article claims" in text
    assert "## Article vs reproduction" in text
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


@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    nb = jupytext.read(path)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == []
