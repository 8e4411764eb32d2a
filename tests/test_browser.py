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
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(built_book).as_posix() for p in book_pages(built_book))
    assert len(pages) >= 10
    problems = []
    math_pages = 0
    for page in pages:
        redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', (built_book / page).read_text("utf-8"))
        if redirect:  # index.html only forwards to the first page
            browser.open(f"{server}/{page}")
            browser.wait_for_event("Page.loadEventFired")
            landed = browser.evaluate("location.href")
            if landed != f"{server}/{redirect.group(1)}":
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
        browser.screenshot(SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png"))
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
