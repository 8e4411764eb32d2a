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


def build_book(out: Path, *, launch: bool = True) -> Path:
    """Build both editions from scratch into ``out`` as ``make book`` does; return ``out/_build``.

    Writes the launch notebooks first (so the launch buttons point at them), executes every
    notebook once and builds the English and the Chinese edition, treating every warning as an
    error (:mod:`scaling_utils.report.edition`).
    """
    import subprocess
    import sys

    from scaling_utils.report.booktools import source_date_epoch, write_launch_notebooks

    if launch:
        write_launch_notebooks(ROOT)
    env = os.environ | {
        "IPYTHONDIR": str(ROOT / ".ipython"),
        "SOURCE_DATE_EPOCH": str(source_date_epoch(ROOT)),  # as the Makefile: the last commit's
        "PYTHONHASHSEED": "0",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "scaling_utils.report.edition", "build", "--root", str(ROOT), "--path-output", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return out / "_build"


_BACKGROUND: dict[str, tuple] = {}
"""Book builds started when collection ends, in threads (each build is a subprocess), by fixture name."""


def pytest_collection_finish(session) -> None:
    """Start the book builds the selected tests need at once, side by side.

    A build is one process busy on one core; the test process is another. Starting the
    builds (the shared one, and the determinism test's second) in the background while the
    other tests run keeps both cores of a 2-core machine busy: ``make test`` then takes
    about the time of its longest part instead of the sum.
    """
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    if os.environ.get(REUSE_ENV) and not os.environ.get("CI"):
        return
    wanted = [name for name in ("book_build", "second_build")
              if any(name in getattr(item, "fixturenames", ()) for item in session.items)]  # fmt: skip
    if not wanted:
        return
    from scaling_utils.report.booktools import write_launch_notebooks

    write_launch_notebooks(ROOT)  # once, before the builds read them
    pool = ThreadPoolExecutor(len(wanted))
    for name in wanted:
        out = Path(tempfile.mkdtemp(prefix=f"{name}-"))
        _BACKGROUND[name] = (pool.submit(build_book, out, launch=False), out)
    pool.shutdown(wait=False)


def pytest_sessionfinish(session, exitstatus) -> None:
    import shutil

    for future, out in _BACKGROUND.values():
        future.cancel()
        if future.done() or future.running():
            try:
                future.result()
            except Exception:  # reported by the fixture that used it
                pass
        shutil.rmtree(out, ignore_errors=True)


REUSE_ENV = "SCALING_BOOK_REUSE_BUILD"
"""Set to a finished build folder (``.../_build``) to test it instead of building (local use only, never in CI)."""


def background_build(name: str, tmp_path_factory) -> Path:
    """The build started for fixture ``name`` at collection, or a fresh one (when none was started)."""
    if os.environ.get(REUSE_ENV) and not os.environ.get("CI"):
        return Path(os.environ[REUSE_ENV])
    if name in _BACKGROUND:
        return _BACKGROUND[name][0].result()
    return build_book(tmp_path_factory.mktemp(name))


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> Path:
    """One clean build of the book, shared by the book, provenance, link, browser and notebook tests."""
    return background_build("book_build", tmp_path_factory)


@pytest.fixture(scope="session")
def built_book(book_build) -> Path:
    """The HTML output of :func:`book_build`."""
    return book_build / "html"


def book_pages(html: Path) -> list[Path]:
    """The built book's pages (not the theme's template snippets under ``_static``)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.relative_to(html).parts)
