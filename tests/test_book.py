"""The whole book builds from scratch with warnings as errors, offline, with its figures and links."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scaling_utils.report import provenance
from tests.conftest import ROOT, book_pages

pytestmark = pytest.mark.book

EXTERNAL = re.compile(r"^(https?:)?//", re.IGNORECASE)


class _Resources(HTMLParser):
    """Collect what a page loads: scripts, stylesheets, fonts, images, iframes."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.images: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in ("script", "iframe") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
            self.loads.append(a["src"])
        if tag == "link" and a.get("href"):
            rel = (a.get("rel") or "").lower()
            if any(r in rel for r in ("stylesheet", "preload", "modulepreload", "icon", "prefetch")):
                self.loads.append(a["href"])


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
            ["fig-chinchilla-contours", "fig-chinchilla-approaches", "fig-chinchilla-own"],
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


def test_internal_links_and_anchors_resolve(built_book):
    """Every link between pages, to a file or to an anchor, lands on something that exists."""
    parsed = {page: _parse(page) for page in book_pages(built_book)}
    broken = []
    for page, p in parsed.items():
        for href in p.links + p.loads:
            if EXTERNAL.match(href) or href.startswith(("mailto:", "data:", "javascript:")):
                continue
            path, _, anchor = href.partition("#")
            target = (page.parent / path.split("?")[0]).resolve() if path else page
            if not target.is_file():
                broken.append(f"{page.relative_to(built_book)}: {href} (no such file)")
            elif anchor and target.suffix == ".html" and anchor not in parsed[target].ids:
                broken.append(f"{page.relative_to(built_book)}: {href} (no such anchor)")
    assert broken == []


def test_provenance_page_lists_every_artefact(built_book):
    page = _parse(built_book / "book" / "provenance.html")
    html = (built_book / "book" / "provenance.html").read_text(encoding="utf-8")
    assert {f"prov-{a.id.lower()}" for a in provenance.ARTEFACTS} <= page.ids
    for a in provenance.ARTEFACTS:
        for f in provenance.data_files(a, ROOT):
            assert provenance.sha256_of(f) in html, f"{a.id}: sha256 of {f.name} missing"
    assert "{ref}" not in html and "{numref}" not in html and "{cite" not in html


@pytest.mark.parametrize("a", provenance.ARTEFACTS, ids=lambda a: a.id)
def test_provenance_labels_are_anchors_of_the_built_pages(built_book, a):
    ids = _parse(built_book / f"{a.page}.html").ids
    assert set(a.labels) <= ids, f"{a.id}: {set(a.labels) - ids} not on {a.page}.html"


@pytest.mark.parametrize("page", ["notebooks/kaplan.html", "notebooks/chinchilla.html"])
def test_launch_and_download_buttons(built_book, page):
    html = (built_book / page).read_text(encoding="utf-8")
    url, branch = provenance.repository(ROOT)
    owner_repo = url.removeprefix("https://github.com/")
    stem = Path(page).stem
    assert f"colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{stem}.ipynb" in html
    assert f"mybinder.org/v2/gh/{owner_repo}/{branch}?urlpath=lab/tree/notebooks/{stem}.ipynb" in html
    for ext in (".ipynb", ".md"):
        href = f"../_sources/notebooks/{stem}{ext}"
        assert href in html, f"no download button for {ext}"
        assert (built_book / "_sources" / "notebooks" / f"{stem}{ext}").is_file()


def test_every_sweep_an_artefact_names_was_read_by_its_page(book_build):
    """Provenance rests on what the build read: the manifest load_sweep_results wrote."""
    import json

    from scaling_utils.report.booktools import READS_MANIFEST

    reads = [json.loads(line) for line in (book_build / READS_MANIFEST).read_text().splitlines() if line]
    assert reads, "the build recorded no reads"
    by_page = {}
    for r in reads:
        by_page.setdefault(r["page"], {})[r["sweep"]] = r["csv_sha256"]
    for a in provenance.ARTEFACTS:
        for sweep in a.sweeps:
            assert sweep in by_page.get(a.page, {}), f"{a.id}: {a.page} never loaded sweep {sweep}"
            meta = json.loads((ROOT / "data" / "experiments" / f"{sweep}.meta.json").read_text())
            assert by_page[a.page][sweep] == meta["csv_sha256"]


def test_glued_tables_are_numbered_tables_and_figures_by_chapter(built_book):
    html = (built_book / "notebooks" / "beyond_power_law.html").read_text("utf-8")
    assert re.search(r'<figure class="[^"]*book-table[^"]*" id="tab-t2"', html)
    assert re.search(r"Table 6\.\d+", html) and re.search(r"Fig\. 6\.\d+", html)  # the sixth chapter
    refs = re.findall(r'<span class="std std-numref">([^<]+)</span>', html)
    assert refs and all(re.fullmatch(r"(Table|Fig\.) \d+\.\d+", r) for r in refs), refs


def test_no_table_cell_is_cut_short(built_book):
    """A cell ending in '...' is pandas' truncation (display.max_colwidth), not the author's."""
    cut = {
        page.relative_to(built_book).as_posix(): hits
        for page in book_pages(built_book)
        if (hits := re.findall(r"[^<>]{0,40}\.\.\.</td>", page.read_text("utf-8")))
    }
    assert not cut, cut


def test_figures_are_opaque_so_they_read_in_the_dark_theme_too(built_book):
    """The theme has a dark mode; a transparent figure would put black text on a dark page.

    Every figure is drawn on an opaque white background (matplotlib's default facecolor), so it
    reads the same in both themes. Pillow comes with matplotlib.
    """
    from PIL import Image

    images = sorted((built_book / "_images").glob("*.png"))
    assert images
    for path in images:
        with Image.open(path) as im:
            if im.mode in ("RGBA", "LA"):
                assert im.getchannel("A").getextrema()[0] == 255, f"{path.name} has transparent pixels"


class _Text(HTMLParser):
    """The text a reader sees, split into prose (p, li, figcaption, headings) and table cells.

    Code (pre, code, the highlighted blocks of code cells), scripts, styles and math are left
    out: code cells and the CLI's law names are not prose.
    """

    SKIP = frozenset({"pre", "code", "script", "style", "math", "mjx-container", "nav", "footer", "header"})
    PROSE = frozenset({"p", "li", "figcaption", "h1", "h2", "h3", "h4", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.prose: list[str] = []
        self.cells: list[str] = []
        self._cell: list[str] | None = None
        self._prose: list[list[str]] = []

    def _skipping(self) -> bool:
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        skip = tag in self.SKIP or "highlight" in cls.split() or "math" in cls.split()
        if tag in ("br", "img", "hr", "input", "meta", "link"):
            return
        self.stack.append((tag, skip))
        if tag in ("td", "th"):
            self._cell = []
        elif tag in self.PROSE:
            self._prose.append([])

    def handle_endtag(self, tag):
        if tag in ("br", "img", "hr", "input", "meta", "link"):
            return
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag in self.PROSE and self._prose:
            self.prose.append(" ".join("".join(self._prose.pop()).split()))

    def handle_data(self, data):
        if self._skipping():
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._prose:
            for chunk in self._prose:
                chunk.append(data)


def _text(page: Path) -> _Text:
    t = _Text()
    html = page.read_text(encoding="utf-8")
    article = re.search(r"<article[^>]*>(.*)</article>", html, re.S)
    t.feed(article.group(1) if article else html)
    return t


CITE_KEYS = re.findall(r"@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(encoding="utf-8"))
UNRESOLVED = re.compile(r"\{(ref|numref|doc|cite(:[pt])?|eq|glue(:text)?)\}|\bEq\. \([a-z][a-z0-9-]*\)|\?\?")
E_NOTATION = re.compile(r"\b\d+(\.\d+)?e[+-]?\d+\b")


def test_no_nan_or_none_in_any_table(built_book):
    bad = {
        page.relative_to(built_book).as_posix(): hits
        for page in book_pages(built_book)
        if (hits := [c for c in _text(page).cells if re.search(r"\b(NaN|nan|None)\b", c)])
    }
    assert not bad, bad


def test_no_raw_citation_key_or_unresolved_reference(built_book):
    keys = re.compile(r"\b(" + "|".join(map(re.escape, CITE_KEYS)) + r")\b")
    bad = []
    for page in book_pages(built_book):
        t = _text(page)
        for s in t.prose + t.cells:
            if keys.search(s) or UNRESOLVED.search(s):
                bad.append(f"{page.relative_to(built_book)}: {s[:120]}")
    assert bad == [], "\n".join(bad)


def test_no_e_notation_in_prose(built_book):
    """Numbers in paragraphs are typeset (8.8 × 10¹³, scaling_utils.report.typeset), not 8.80e+13."""
    bad = [
        f"{page.relative_to(built_book)}: {s[:160]}"
        for page in book_pages(built_book)
        for s in _text(page).prose
        if E_NOTATION.search(s)
    ]
    assert bad == [], "\n".join(bad)


def test_each_figure_is_shown_once(built_book):
    """As many images in the article as numbered figures: a figure glued and left open shows twice."""
    bad = {}
    for page in book_pages(built_book):
        html = page.read_text(encoding="utf-8")
        article = re.search(r"<article[^>]*>(.*)</article>", html, re.S)
        body = article.group(1) if article else ""
        images = len(re.findall(r"<img\b", body))
        figures = len(set(re.findall(r'<span class="caption-number">(?:Fig\.|图) ?([\d.]+)', body)))
        if images != figures:
            bad[page.relative_to(built_book).as_posix()] = (images, figures)
    assert not bad, f"page: (images, numbered figures) {bad}"


def test_footer_carries_the_last_commit_date(built_book):
    import datetime
    import subprocess

    from scaling_utils.report.booktools import source_date_epoch

    epoch = source_date_epoch(ROOT)
    has_git = subprocess.run(["git", "-C", str(ROOT), "log", "-1"], capture_output=True, check=False).returncode == 0
    day = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    html = (built_book / "notebooks" / "kaplan.html").read_text(encoding="utf-8")
    assert f"Last updated on {day:%b} {day.day:02d}, {day.year}" in html or f"Last updated on {day:%b %d, %Y}" in html
    assert f"Copyright {day.year}" in html or f"© Copyright {day.year}" in html
    if has_git:
        assert epoch != 1700000000
