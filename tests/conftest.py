"""Shared test configuration: hypothesis profiles and paths."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# CI runs derandomized (the same examples every run); locally hypothesis explores freely.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened."""
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


SCREENSHOTS = ROOT / "_build" / "screenshots"
"""Where the browser test keeps a screenshot of every page (a build artefact, git-ignored)."""


def build_book(out: Path) -> Path:
    """Build the whole book from scratch into ``out`` as ``make book`` does; return ``out/_build``.

    Writes the launch notebooks first (so the launch buttons point at them), executes every
    notebook (``execute_notebooks: force``) and treats every warning as an error.
    """
    import subprocess
    import sys

    from scaling_utils.booktools import source_date_epoch, write_launch_notebooks

    write_launch_notebooks(ROOT)
    jb = Path(sys.executable).with_name("jupyter-book")
    env = os.environ | {
        "IPYTHONDIR": str(ROOT / ".ipython"),
        "SOURCE_DATE_EPOCH": str(source_date_epoch(ROOT)),  # as the Makefile: the last commit's
        "PYTHONHASHSEED": "0",
    }
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--all", "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return out / "_build"


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> Path:
    """One clean build of the book, shared by the book, provenance, link, browser and notebook tests."""
    return build_book(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="session")
def built_book(book_build) -> Path:
    """The HTML output of :func:`book_build`."""
    return book_build / "html"


def book_pages(html: Path) -> list[Path]:
    """The built book's pages (not the theme's template snippets under ``_static``)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)
