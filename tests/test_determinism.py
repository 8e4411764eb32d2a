"""Two clean builds of the book give byte-identical figures and identical tables and pages."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.conftest import background_build

pytestmark = pytest.mark.book

TABLE = re.compile(r"<table.*?</table>", re.S)


def _digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def second_build(tmp_path_factory):
    return background_build("second_build", tmp_path_factory)


def test_figures_are_byte_identical(book_build, second_build):
    first, second = _digest(book_build / "html" / "_images"), _digest(second_build / "html" / "_images")
    assert len(first) >= 8
    assert first == second


def test_tables_are_identical(book_build, second_build):
    pages = sorted((book_build / "html").rglob("*.html"))
    n_tables = 0
    for page in pages:
        rel = page.relative_to(book_build / "html")
        a = TABLE.findall(page.read_text(encoding="utf-8"))
        b = TABLE.findall((second_build / "html" / rel).read_text(encoding="utf-8"))
        assert a == b, f"tables differ on {rel}"
        n_tables += len(a)
    assert n_tables >= 10


def test_pages_and_downloads_are_identical(book_build, second_build):
    first, second = _digest(book_build / "html"), _digest(second_build / "html")
    differ = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    assert differ == []
