"""Every page of the built book, opened in headless Chromium over http://127.0.0.1.

Checks that math is rendered (no raw TeX delimiters left), every image loads, and the page
requests nothing outside 127.0.0.1; keeps a screenshot of each page in ``_build/screenshots``.
Chromium comes from Debian's ``chromium`` package (``make setup`` installs it).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from urllib.parse import urljoin

import pytest

from tests._cdp import Browser, find_chromium
from tests.conftest import SCREENSHOTS, book_pages

pytestmark = pytest.mark.book

CHECK_PAGE = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  window.scrollTo(0, document.body.scrollHeight);
  await Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));
  window.scrollTo(0, 0);
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, textarea').forEach(e => e.remove());
  const text = clone.textContent;
  return {
    raw_tex: ['\\(', '\\[', '$$'].filter(d => text.includes(d)),
    math: document.querySelectorAll('.math').length,
    unrendered: Array.from(document.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length,
    broken_images: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    images: document.images.length,
  };
})()
"""

SHOW_BUTTONS = r"""
document.querySelectorAll('.dropdown-launch-buttons .dropdown-menu, .dropdown-download-buttons .dropdown-menu')
  .forEach(m => { m.classList.add('show'); m.style.position = 'absolute'; });
Array.from(document.querySelectorAll('.dropdown-launch-buttons a, .dropdown-download-buttons a')).map(a => a.href)
"""


# Layout: nothing in the article wider than the article; nothing that scrolls sideways at
# desktop width (at phone width, code blocks, tables, display math and figures may scroll
# inside their own box);
# every table captioned, with a header row of human words (no raw column names with "_");
# every figure image at least 600 px wide at desktop width.
LAYOUT = r"""
((allowScroll) => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const box = article.getBoundingClientRect();
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).slice(0, 2).join('.') : '');
  const where = (e) => { const f = e.closest('figure[id], section[id]'); return f ? ` in #${f.id}` : ''; };
  const scrolls = (e) => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
  const problems = [];
  for (const e of article.querySelectorAll('*')) {
    if (e.closest('.MathJax, mjx-container, .toggle-hidden, details:not([open])')) continue;
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    let a = e.parentElement, inScroll = false;
    while (a && a !== article) { if (scrolls(a)) { inScroll = true; break; } a = a.parentElement; }
    if (!inScroll && (r.right > box.right + 1 || r.left < box.left - 1)) {
      problems.push(`${name(e)}${where(e)} is ${Math.round(r.width)} px wide, sticks out of the ${Math.round(box.width)} px article`);
    }
    if (scrolls(e) && e.scrollWidth > e.clientWidth + 1) {
      const code = !!e.querySelector('pre') || e.tagName === 'PRE';
      const table = !!e.querySelector('table');
      const math = !!e.querySelector('mjx-container');
      const image = !!e.querySelector('img');
      if (!allowScroll || !(code || table || math || image)) {
        problems.push(`${name(e)}${where(e)} scrolls sideways (${e.scrollWidth} px of content in ${e.clientWidth} px)`);
      }
    }
  }
  for (const t of article.querySelectorAll('table')) {
    if (t.closest('.toggle-hidden, details')) continue;
    const captioned = t.querySelector('caption') || (t.closest('figure') && t.closest('figure').querySelector('figcaption'));
    if (!captioned) problems.push(`table${where(t)} has no caption`);
    const head = t.querySelector('thead th, tr th');
    if (!head) problems.push(`table${where(t)} has no header row`);
    for (const th of t.querySelectorAll('thead th')) {
      if (th.textContent.includes('_')) problems.push(`table${where(t)} header "${th.textContent.trim()}" is a raw name`);
    }
  }
  if (!allowScroll) {
    for (const img of article.querySelectorAll('figure img')) {
      const w = img.getBoundingClientRect().width;
      if (w < 600) problems.push(`figure image ${img.src.split('/').pop()}${where(img)} is ${Math.round(w)} px wide`);
    }
  }
  return problems;
})
"""


_MEASURED: dict[tuple[str, int], tuple[list[str], float]] = {}
"""(layout problems, page height in px) by (url, width), for the page open now: each page is loaded
once per width, and the layout and length tests read what its first load measured."""


def _measure(browser, url: str, width: int) -> list[str]:
    """Record the layout problems and height of the page open at ``url`` (loaded, CHECK_PAGE run)."""
    problems = browser.evaluate(f"({LAYOUT})({'true' if width < 600 else 'false'})")
    _MEASURED[url, width] = problems, browser.evaluate("document.documentElement.scrollHeight")
    return problems


def layout_problems(browser, url: str, width: int) -> list[str]:
    """Open ``url`` at ``width`` px and return what breaks the layout rules (empty: none)."""
    browser.set_width(width)
    browser.open(url)
    browser.evaluate(CHECK_PAGE)  # math typeset and images decoded, so sizes are final
    return _measure(browser, url, width)


def measured(browser, url: str, width: int) -> tuple[list[str], float]:
    """The page's layout problems and height at ``width`` px, from its earlier load (loaded now if none)."""
    if (url, width) not in _MEASURED:
        layout_problems(browser, url, width)
    return _MEASURED[url, width]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        message = "Chromium not found: install Debian's chromium package (make setup does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    b = Browser(exe)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(built_book):
    handler = functools.partial(_Quiet, directory=str(built_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_every_page_in_a_real_browser(built_book, server, browser):
    """Every page loads, offline, with its math and images; a screenshot of each at 1400 px is kept."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(built_book).as_posix() for p in book_pages(built_book))
    assert len(pages) >= 10
    browser.set_width(1400)
    problems = []
    math_pages = 0
    for page in pages:
        redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', (built_book / page).read_text("utf-8"))
        if redirect:  # index.html only forwards to the first page
            browser.open(f"{server}/{page}")
            browser.wait_for_event("Page.loadEventFired")
            landed = browser.evaluate("location.href")
            if landed != urljoin(f"{server}/{page}", redirect.group(1)):  # relative to the page's folder
                problems.append(f"{page}: redirects to {landed}, not {redirect.group(1)}")
            continue
        requests = browser.open(f"{server}/{page}")
        outside = [u for u in requests if not u.startswith((server + "/", "data:", "blob:", "about:"))]
        result = browser.evaluate(CHECK_PAGE)
        requests = browser.requests()  # including what the page loaded after the load event
        outside += [u for u in requests if not u.startswith((server + "/", "data:", "blob:", "about:"))]
        if outside:
            problems.append(f"{page}: requests outside 127.0.0.1: {sorted(set(outside))}")
        if result["raw_tex"] or result["unrendered"]:
            problems.append(f"{page}: math not rendered ({result})")
        if result["broken_images"]:
            problems.append(f"{page}: images that did not load: {result['broken_images']}")
        math_pages += result["math"] > 0
        _measure(browser, f"{server}/{page}", 1400)  # read by the layout and length tests at 1400 px
        browser.screenshot(SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png"))
    browser.set_width(1280)
    assert problems == []
    assert math_pages >= 3  # the chapters do have math, so the check above checked something


@pytest.mark.parametrize("page", ["notebooks/kaplan.html", "notebooks/chinchilla.html"])
def test_chapter_buttons_and_figures_on_screen(built_book, server, browser, page):
    browser.open(f"{server}/{page}")
    result = browser.evaluate(CHECK_PAGE)
    assert result["images"] >= 4 and not result["broken_images"]
    assert result["math"] > 0 and result["unrendered"] == 0
    hrefs = browser.evaluate(SHOW_BUTTONS)
    assert any("colab.research.google.com" in h for h in hrefs)
    assert any("mybinder.org" in h for h in hrefs)
    assert any(h.endswith(".ipynb") and "_sources" in h for h in hrefs)
    assert any(h.endswith(".md") and "_sources" in h for h in hrefs)
    shot = SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + "__buttons.png")
    browser.screenshot(shot)
    assert shot.stat().st_size > 50_000


@pytest.mark.parametrize("width", [1400, 400])
def test_layout_of_every_page(built_book, server, browser, width):
    pages = sorted(p.relative_to(built_book).as_posix() for p in book_pages(built_book))
    problems = []
    for page in pages:
        if 'http-equiv="Refresh"' in (built_book / page).read_text("utf-8"):
            continue
        problems += [f"{page} at {width} px: {p}" for p in measured(browser, f"{server}/{page}", width)[0]]
    browser.set_width(1280)
    assert problems == [], "\n".join(problems)


def test_layout_check_catches_a_widened_table(built_book, server, browser):
    page = "notebooks/beyond_power_law.html"
    assert layout_problems(browser, f"{server}/{page}", 1400) == []
    widen = """
      const t = document.querySelector('figure#tab-t2 table');
      t.style.minWidth = '3000px';
      t.closest('figure').querySelectorAll('*').forEach(e => { e.style.overflowX = 'visible'; });
    """
    browser.evaluate(f"(() => {{ {widen} }})()")
    problems = browser.evaluate(f"({LAYOUT})(false)")
    browser.set_width(1280)
    assert any("#tab-t2" in p and "sticks out" in p for p in problems), problems


# Mark every element whose own text holds CJK characters (data-cjk), once the fonts are ready.
MARK_CJK = r"""
(async () => {
  await document.fonts.ready;
  const cjk = /[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]/;
  let n = 0;
  for (const e of document.querySelectorAll('article *')) {
    const own = Array.from(e.childNodes).filter(c => c.nodeType === 3).map(c => c.textContent).join('');
    if (cjk.test(own)) { e.setAttribute('data-cjk', String(n++)); }
  }
  const face = Array.from(document.fonts).find(f => f.family.replace(/"/g, '') === 'Book CJK SC');
  return {marked: n, face: face ? face.status : null};
})()
"""


@pytest.mark.parametrize(
    "page", ["book/guide.html", "book/intro.html", "zh_CN/notebooks/kaplan.html", "zh_CN/notebooks/predictable.html"]
)
def test_chinese_text_is_drawn_with_the_book_font(built_book, server, browser, page):
    """Every element with Chinese text is drawn with the shipped web font, no glyph left to the system.

    Without it, a machine with no CJK font shows boxes; the font (``_static/fonts``, ``make font``)
    must be loaded and must cover every character: no other font may draw any CJK glyph there.
    """
    browser.set_width(1400)
    browser.open(f"{server}/{page}")
    browser.evaluate(CHECK_PAGE)
    marked = browser.evaluate(MARK_CJK)
    assert marked["marked"] > 0, f"{page} has no Chinese text to check"
    assert marked["face"] == "loaded", f"the CJK web font is {marked['face']} on {page}"
    problems = []
    for i, fonts in enumerate(browser.platform_fonts("[data-cjk]")):
        # an element drawn with no font at all is not displayed (a collapsed part of the page)
        if fonts and not any(f["isCustomFont"] and "CJK" in f["familyName"] for f in fonts):
            problems.append(f"element {i}: drawn with {fonts}")
    assert problems == [], "\n".join(problems)


SCREEN_PX = 900
MAX_SCREENS = 10


def test_every_chapter_fits_in_ten_screens(built_book, server, browser):
    """At 1400 px, a chapter is at most 10 screens of 900 px; the Provenance page (reference) is exempt, in both editions."""
    long = {}
    for page in sorted(p.relative_to(built_book).as_posix() for p in book_pages(built_book)):
        if page.endswith("book/provenance.html") or 'http-equiv="Refresh"' in (built_book / page).read_text("utf-8"):
            continue
        screens = measured(browser, f"{server}/{page}", 1400)[1] / SCREEN_PX
        if screens > MAX_SCREENS:
            long[page] = round(screens, 1)
    browser.set_width(1280)
    assert not long, f"pages longer than {MAX_SCREENS} screens: {long}"


def test_launch_button_has_a_text_label(built_book, server, browser):
    browser.set_width(1400)
    browser.open(f"{server}/notebooks/kaplan.html")
    label = browser.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('.dropdown-launch-buttons > button'), '::after');"
        " return {content: s.content, display: s.display}; })()"
    )
    browser.set_width(1280)
    assert "Run this page" in label["content"] and label["display"] != "none", label
