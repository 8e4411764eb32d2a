"""The whole book builds from scratch with warnings as errors, offline, with its figures."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.book

EXTERNAL = re.compile(r"^(https?:)?//", re.IGNORECASE)


class _Resources(HTMLParser):
    """Collect what a page loads: scripts, stylesheets, fonts, images, iframes."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag in ("script", "iframe") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
            self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "preload", "modulepreload", "icon", "prefetch")):
                self.loads.append(a["href"])


@pytest.fixture(scope="module")
def built_book(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book")
    jb = Path(sys.executable).with_name("jupyter-book")
    env = os.environ | {"IPYTHONDIR": str(ROOT / ".ipython")}
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    return out / "_build" / "html"


def _parse(page: Path) -> _Resources:
    p = _Resources()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def test_index_exists(built_book):
    assert (built_book / "index.html").is_file()


def test_no_external_scripts_styles_or_fonts(built_book):
    offenders = []
    for page in built_book.rglob("*.html"):
        for url in _parse(page).loads:
            if EXTERNAL.match(url):
                offenders.append(f"{page.relative_to(built_book)}: {url}")
    for css in built_book.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8", errors="replace")):
            if EXTERNAL.match(url):
                offenders.append(f"{css.relative_to(built_book)}: {url}")
        for url in re.findall(r"@import\s+['\"]([^'\"]+)", css.read_text(encoding="utf-8", errors="replace")):
            if EXTERNAL.match(url):
                offenders.append(f"{css.relative_to(built_book)}: {url}")
    assert offenders == []


def test_math_renders_from_a_local_mathjax(built_book):
    page = _parse(built_book / "notebooks" / "kaplan.html")
    mathjax = [u for u in page.loads if "mathjax" in u.lower()]
    assert mathjax, "no MathJax script on a page with math"
    for url in mathjax:
        local = (built_book / "notebooks" / url.split("?")[0]).resolve()
        assert local.is_file(), url


@pytest.mark.parametrize(
    ("page", "figures"),
    [
        ("notebooks/kaplan.html", ["fig-kaplan-laws", "fig-kaplan-measured", "fig-shape-effects", "fig-lr-schedules"]),
        (
            "notebooks/chinchilla.html",
            ["fig-chinchilla-contours", "fig-chinchilla-approaches", "fig-interval-width", "fig-chinchilla-measured"],
        ),
        ("notebooks/beyond_power_law.html", ["tab-t2"]),
        ("notebooks/generalization.html", ["fig-generalization-offset"]),
        ("notebooks/experiment.html", []),
    ],
)
def test_chapter_pages_carry_their_figures(built_book, page, figures):
    parsed = _parse(built_book / page)
    for fig in figures:
        assert fig in parsed.ids, f"{page} lacks {fig}"
    for src in parsed.images:
        assert (built_book / Path(page).parent / src).resolve().is_file(), src
    if page not in ("notebooks/beyond_power_law.html", "notebooks/experiment.html"):
        assert len(parsed.images) >= len(figures)


def test_glued_numbers_are_rendered(built_book):
    html = (built_book / "notebooks" / "chinchilla.html").read_text(encoding="utf-8")
    # The optimum at Gopher's budget, formatted by glue (40.4B with the unrounded fit).
    assert "40.4" in html
    assert "{glue" not in html
