"""The two editions, as built: every page in both, the same figures, tables and numbers, each in its language.

``make book`` executes every notebook once and builds the English edition (``_build/html``)
and the Chinese one (``_build/html/zh_CN``) from the same outputs
(:mod:`scaling_utils.report.edition`); these tests read the HTML of that build.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from scaling_utils.report.edition import SECOND
from tests.conftest import book_pages

pytestmark = pytest.mark.book

MAIN = re.compile(r"<main.*?</main>", re.S)
CJK = re.compile(r"[\u4e00-\u9fff]")


def _pages(built_book):
    zh = built_book / SECOND
    en = [p.relative_to(built_book) for p in book_pages(built_book) if SECOND not in p.relative_to(built_book).parts]
    return en, zh


def _main(path) -> str:
    html = path.read_text(encoding="utf-8")
    found = MAIN.search(html)
    return found.group(0) if found else html


def _content_pages(built_book):
    en, _ = _pages(built_book)
    return [
        p
        for p in en
        if p.name not in ("genindex.html", "search.html")
        and 'http-equiv="Refresh"' not in (built_book / p).read_text("utf-8")
    ]


def test_every_page_exists_in_both_editions(built_book):
    en, zh = _pages(built_book)
    zh_pages = {p.relative_to(zh) for p in book_pages(zh)}
    assert len(en) >= 15
    assert set(en) == zh_pages


def test_chinese_pages_are_chinese(built_book):
    for page in _content_pages(built_book):
        html = (built_book / SECOND / page).read_text(encoding="utf-8")
        assert '<html lang="zh-CN"' in html or "<html lang='zh-CN'" in html, page
        body = re.sub(r"<(pre|script|style|code)\b.*?</\1>", " ", _main(built_book / SECOND / page), flags=re.S)
        text = re.sub(r"<[^>]+>", " ", body)
        assert len(CJK.findall(text)) >= 30, f"{page}: only {len(CJK.findall(text))} Chinese characters"
        for raw in ("{glue", "{numref", "{ref}", "{cite", "{doc}", "{eq}"):
            assert raw not in text, f"{page}: raw {raw} left in the Chinese edition"


def test_the_same_figures_tables_and_glued_numbers_in_the_same_order(built_book):
    problems = []
    for page in _content_pages(built_book):
        en, zh = _main(built_book / page), _main(built_book / SECOND / page)
        for what, pattern in (("figures", r'<figure[^>]*id="([^"]+)"'), ("tables", r'<table[^>]*id="([^"]+)"')):
            a, b = re.findall(pattern, en), re.findall(pattern, zh)
            if a != b:
                problems.append(f"{page}: {what} {a} != {b}")
        # a translated paragraph may put its values in another order: compare the values as a multiset
        a = Counter(re.findall(r'class="pasted-text">([^<]*)<', en))
        b = Counter(re.findall(r'class="pasted-text">([^<]*)<', zh))

        def numbers(c):
            return Counter({k: v for k, v in c.items() if re.fullmatch(r"[-−+]?[\d.,]+[%kMB]?", k.strip())})

        if numbers(a) != numbers(b):
            problems.append(f"{page}: glued numbers differ: {sorted((numbers(a) - numbers(b)).elements())[:5]} "
                            f"vs {sorted((numbers(b) - numbers(a)).elements())[:5]}")  # fmt: skip
    assert problems == [], "\n".join(problems)


def test_figures_are_drawn_in_each_language(built_book):
    """The Chinese edition shows its own drawings of the figures (Chinese labels), the same number of them."""
    same = differ = 0
    for page in _content_pages(built_book):
        a = re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', _main(built_book / page))
        b = re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', _main(built_book / SECOND / page))
        assert len(a) == len(b), f"{page}: {len(a)} images in English, {len(b)} in Chinese"
        for x, y in zip(a, b, strict=True):
            same_bytes = (built_book / page).parent.joinpath(x).read_bytes() == (
                built_book / SECOND / page
            ).parent.joinpath(y).read_bytes()
            same += same_bytes
            differ += not same_bytes
    assert differ >= 15 and same == 0, f"{differ} figures redrawn in Chinese, {same} identical"


def _touched_edges(png: bytes, width: int = 2) -> list[str]:
    """The edges of an image where something other than the white background is drawn."""
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    edges = {"top": a[:width], "bottom": a[-width:], "left": a[:, :width], "right": a[:, -width:]}
    return [name for name, e in edges.items() if (np.abs(e - 255).sum(axis=-1) > 30).any()]


def test_no_figure_is_cut_at_its_edge(built_book):
    """Figures are saved at their own size (constrained layout, no tight crop): a label or legend too big
    for it would be cut at the edge, where constrained layout otherwise leaves a white margin."""
    cut = []
    for page in _content_pages(built_book):
        for root in (built_book, built_book / SECOND):
            for src in re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', _main(root / page)):
                edges = _touched_edges((root / page).parent.joinpath(src).read_bytes())
                if edges:
                    cut.append(f"{(root / page).relative_to(built_book)}: {src.rsplit('/', 1)[-1][:12]} {edges}")
    assert not cut, "figures drawn past their edge:\n" + "\n".join(cut)


def test_each_page_links_to_its_twin(built_book):
    for page in _content_pages(built_book):
        for root, twin_root, label in (
            (built_book, built_book / SECOND, "中文"),
            (built_book / SECOND, built_book, "EN"),
        ):
            html = (root / page).read_text(encoding="utf-8")
            link = re.search(r'class="btn btn-sm lang-switch" href="([^"]+)"[^>]*>([^<]+)<', html)
            assert link, f"{root / page}: no language switch"
            assert link.group(2) == label
            assert (root / page).parent.joinpath(link.group(1)).resolve() == (twin_root / page).resolve()


def test_the_second_edition_executes_nothing(book_build):
    for log in ("en.log", f"{SECOND}.log"):
        text = (book_build / "editions" / log).read_text(encoding="utf-8")
        assert "Executing" not in text and "executing" not in text.lower().replace("execute_notebooks", ""), log
