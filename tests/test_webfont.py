"""The shipped Chinese web font covers the book's Chinese and GB 2312 level 1 (scaling_utils.report.webfont)."""

from __future__ import annotations

import pytest

from scaling_utils.report import webfont
from tests.conftest import ROOT

FONT = ROOT / "_static" / "fonts" / webfont.FONT_FILE


def test_gb2312_level1_is_the_3755_common_characters():
    chars = webfont.gb2312_level1()
    assert len(chars) == len(set(chars)) == 3755
    assert all(webfont.is_cjk(c) for c in chars)


def test_the_book_has_chinese_and_the_font_and_licence_are_committed():
    assert len(webfont.book_characters(ROOT)) >= 50
    assert FONT.is_file() and (FONT.parent / "OFL.txt").is_file()
    assert "SIL OPEN FONT LICENSE Version 1.1" in (FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "fonts/" + webfont.FONT_FILE in (ROOT / "_static" / "book.css").read_text(encoding="utf-8")


def test_the_font_covers_every_character_it_should():
    pytest.importorskip("brotli", reason="reading woff2 needs brotli (the book extra)")
    from fontTools.ttLib import TTFont

    cmap = TTFont(FONT).getBestCmap()
    # The punctuation ranges include code points Noto leaves empty; these two sets it has in full.
    wanted = set(webfont.book_characters(ROOT)) | set(webfont.gb2312_level1())
    missing = sorted(c for c in wanted if ord(c) not in cmap)
    assert missing == [], f"{len(missing)} characters missing: {''.join(missing[:40])}; run make font"
