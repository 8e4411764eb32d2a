"""Text extractors of the documentation packages in the ``mix`` training text.

Three markup formats are turned into plain text, deterministically and with the standard
library only: HTML (:func:`html_text`, through :class:`html.parser.HTMLParser`), Perl's POD
(:func:`pod_text`) and reStructuredText (:func:`rst_text`, the Linux kernel's
``Documentation``). Each package's extractor reads a fixed set of files (:data:`DOC_TREES`:
glob patterns under the unpacked package, minus excluded path fragments), sorted by path,
decompressing ``.gz``/``.dz`` files, and converts each by its suffix.
"""

from __future__ import annotations

import functools
import gzip
import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["DOC_EXTRACTORS", "DOC_TREES", "html_text", "pod_text", "rst_text", "tree_text"]

_BREAK2 = frozenset("p div section article main h1 h2 h3 h4 h5 h6 ul ol dl table blockquote figure pre hr body".split())
_BREAK1 = frozenset("li dt dd tr br caption".split())
_CELL = frozenset(("td", "th"))
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_SKIP_TAGS = frozenset("head script style nav footer noscript svg button form select textarea".split())
_SKIP_CLASSES = frozenset(
    "sphinxsidebar sphinxsidebarwrapper related headerlink footer nav navheader navfooter breadcrumbs "
    "docnav toc navigation searchbox".split()
)
_SKIP_IDS = frozenset("hd ft global-nav sidebar searchbox footer header toc".split())
_SKIP_ROLES = frozenset(("navigation", "search"))


class _Text(HTMLParser):
    """Collects the visible text of a page, with blank lines between blocks; skips navigation."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip: list = []  # [tag, depth] of the element being skipped
        self.pre = 0

    def _skipped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _SKIP_TAGS:
            return True
        a = {k: v or "" for k, v in attrs}
        return (
            bool(_SKIP_CLASSES.intersection(a.get("class", "").split()))
            or a.get("id", "") in _SKIP_IDS
            or a.get("role", "") in _SKIP_ROLES
        )

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag == self.skip[0] and tag not in _VOID:
                self.skip[1] += 1
            return
        if tag not in _VOID and self._skipped(tag, attrs):
            self.skip = [tag, 1]
            return
        if tag == "pre":
            self.pre += 1
        self._block(tag, start=True)

    def handle_endtag(self, tag):
        if self.skip:
            if tag == self.skip[0]:
                self.skip[1] -= 1
                if self.skip[1] == 0:
                    self.skip = []
            return
        if tag == "pre" and self.pre:
            self.pre -= 1
        self._block(tag)

    def _block(self, tag: str, start: bool = False) -> None:
        if tag in _BREAK2:
            self.out.append("\n\n")
        elif tag in _BREAK1:
            self.out.append("\n")
        elif tag in _CELL and not start:
            self.out.append("  ")

    def handle_data(self, data):
        if self.skip:
            return
        if self.pre:
            self.out.append(data)
            return
        data = re.sub(r"\s+", " ", data)
        if not self.out or self.out[-1].endswith("\n"):
            data = data.lstrip()
        if data:
            self.out.append(data)


def html_text(src: str) -> str:
    r"""Visible text of an HTML page: blocks separated by blank lines, ``<pre>`` kept verbatim.

    Skipped: ``<head>``, scripts, styles, ``<nav>``, and elements whose class, id or role marks
    them as navigation (Sphinx sidebars and "related" bars, DocBook navheaders, header links).

    Examples
    --------
    >>> html_text("<html><head><title>T</title></head><body><h1>Hi<a class='headerlink'>¶</a></h1>"
    ...           "<p>a &amp; <b>b</b></p><pre>x = 1\n  y</pre></body></html>")
    'Hi\n\na & b\n\nx = 1\n  y\n'
    """
    parser = _Text()
    parser.feed(src)
    parser.close()
    text = "".join(parser.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


_POD_ESC = {"lt": "\x01", "gt": "\x02", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}


def _pod_code(m: re.Match) -> str:
    code, inner = m.group(1), m.group(2)
    if code in "XZ":
        return ""
    if code == "E":
        if inner in _POD_ESC:
            return _POD_ESC[inner]
        if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", inner):
            return chr(int(inner, 0))
        return html.unescape(f"&{inner};")
    if code == "L":
        text, bar, _ = inner.partition("|")
        return text if bar else inner.replace('"', "")
    return inner


def _pod_codes(text: str) -> str:
    for n in (4, 3, 2):
        text = re.sub(rf"([A-Z]){'<' * n}\s+(.*?)\s+{'>' * n}", _pod_code, text, flags=re.S)
    while True:
        new = re.sub(r"([A-Z])<([^<>]*)>", _pod_code, text)
        if new == text:
            return text.replace("\x01", "<").replace("\x02", ">")
        text = new


def pod_text(src: str) -> str:
    r"""Plain text of a POD document: headings and items as lines, formatting codes removed.

    Examples
    --------
    >>> pod_text("=head1 NAME\n\nperlfoo - B<bold> and C<< $a <=> $b >>\n\n=over 4\n\n=item * one\n\n"
    ...          "L<the docs|perlpod> E<lt>hereE<gt>\n\n=back\n\n    verbatim  code\n\n=cut\n\nnot pod")
    'NAME\n\nperlfoo - bold and $a <=> $b\n\n* one\n\nthe docs <here>\n\n    verbatim  code'
    """
    out, in_pod, skipping = [], True, False
    for para in re.split(r"\n[ \t]*\n", src.replace("\r\n", "\n")):
        if not para.strip():
            continue
        if para.startswith("="):
            cmd, _, rest = para.partition(" ") if " " in para.split("\n", 1)[0] else (para.split("\n", 1)[0], "", "")
            rest = rest.strip()
            in_pod = cmd != "=cut"
            if cmd == "=begin":
                skipping = rest.split()[:1] not in (["text"], ["man"])
            elif cmd == "=end":
                skipping = False
            elif cmd.startswith("=head") or (cmd == "=item" and rest not in ("", "*")):
                out.append(_pod_codes(rest))
            continue
        if not in_pod or skipping:
            continue
        out.append(para.rstrip() if para[0] in " \t" else _pod_codes(para))
    return "\n\n".join(out)


_RST_ADORN = re.compile(r"([=\-~^\"'`#*+.:_])\1{2,}")
_RST_DROP = re.compile(r"\s*(\.\. |\.\.$|:[\w-]+:(\s.*)?$)")


def rst_text(src: str) -> str:
    r"""Plain text of a reStructuredText document: no section adornments, directives or roles.

    Directive and comment lines (``.. x::``) and field/option lines (``:maxdepth: 2``) are
    dropped; the indented body of a directive (a note, a code block) is kept. Inline markup
    keeps its text: ``:ref:`text <target>``` gives ``text``, ````code```` gives ``code``.

    Examples
    --------
    >>> rst_text(".. SPDX-License-Identifier: GPL-2.0\n\n=====\nTitle\n=====\n\n"
    ...          "See :ref:`the guide <guide>` and ``make``, **now**::\n\n    $ make\n")
    'Title\n\nSee the guide and make, now:\n\n    $ make'
    """
    lines = []
    for line in src.replace("\r\n", "\n").split("\n"):
        s = line.strip()
        if _RST_ADORN.fullmatch(s) or _RST_DROP.match(line):
            continue
        line = re.sub(r":[\w:+-]+:`([^`<]*?)\s*<[^`>]*>`", r"\1", line)
        line = re.sub(r":[\w:+-]+:`~?([^`]*)`", r"\1", line)
        line = re.sub(r"``([^`]+)``", r"\1", line)
        line = re.sub(r"`([^`<]*?)\s*<[^`>]*>`__?", r"\1", line)
        line = re.sub(r"`([^`]+)`_{0,2}", r"\1", line)
        line = re.sub(r"\*\*([^*]+)\*\*", r"\1", line)
        line = re.sub(r"(\S)::$", r"\1:", line)
        lines.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _read(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix in (".gz", ".dz"):
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", "replace")


def _convert(path: Path, text: str) -> str:
    name = path.name.removesuffix(".gz")
    if name.endswith((".html", ".htm")):
        return html_text(text)
    if name.endswith(".pod"):
        return pod_text(text)
    if name.endswith(".rst"):
        return rst_text(text)
    return text


def tree_text(root: Path, patterns: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str:
    """Text of the files matching ``patterns`` under ``root``, sorted by path, each converted by its suffix.

    Symbolic links, and files whose path contains a fragment of ``exclude``, are left out.
    """
    files = {
        p
        for pat in patterns
        for p in root.glob(pat)
        if p.is_file() and not p.is_symlink() and not any(x in p.relative_to(root).as_posix() for x in exclude)
    }
    if not files:
        raise FileNotFoundError(f"no file matches {patterns} under {root}")
    return "\n\n".join(_convert(p, _read(p)) for p in sorted(files, key=lambda p: p.as_posix()))


_INDEXES = ("genindex", "/search.html", "py-modindex", "/_sources/", "/_modules/", "/_static/")
DOC_TREES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "python_docs": (("usr/share/doc/python3.11/html/**/*.html",), (*_INDEXES, "whatsnew/changelog.html")),
    "django_docs": (("usr/share/doc/python-django-doc/html/**/*.html",), _INDEXES),
    "postgresql_docs": (("usr/share/doc/postgresql-doc-15/html/*.html",), ("bookindex",)),
    "git_docs": (("usr/share/doc/git-doc/**/*.html",), ()),
    "perl_docs": (("usr/share/perl/*/pod/*.pod",), ()),
    "linux_docs": (
        (
            "usr/share/doc/linux-doc-6.1/Documentation/**/*.rst.gz",
            "usr/share/doc/linux-doc-6.1/Documentation/**/*.txt.gz",
        ),
        ("/translations/",),
    ),
    "debian_handbook": (("usr/share/doc/debian-handbook/html/en-US/*.html",), ()),
    "debian_reference": (("usr/share/debian-reference/debian-reference.en.txt.gz",), ()),
    "debian_policy": (("usr/share/doc/debian-policy/*.txt.gz",), ()),
    "developers_reference": (("usr/share/developers-reference/developers-reference.txt.gz",), ()),
    "maint_guide": (("usr/share/doc/maint-guide/html/*.en.html",), ()),
    "debian_faq": (("usr/share/doc/debian/FAQ/debian-faq.en.txt.gz",), ()),
    "vim_docs": (("usr/share/vim/vim*/doc/*.txt",), ()),
    "dictd": (("usr/share/dictd/*.dict.dz",), ()),
    "jargon": (("usr/share/doc/jargon-text/jargon.txt.gz",), ()),
}
"""Files read by each documentation extractor: (glob patterns, excluded path fragments)."""

DOC_EXTRACTORS: dict[str, Callable[[Path], str]] = {
    name: functools.partial(tree_text, patterns=pats, exclude=excl) for name, (pats, excl) in DOC_TREES.items()
}
