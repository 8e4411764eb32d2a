"""The book's Chinese web font: Noto Sans CJK SC, subset for the book and its Chinese edition.

The source is Debian's ``fonts-noto-cjk`` package (SIL Open Font License 1.1), whose
``NotoSansCJK-Regular.ttc`` holds ten fonts; number 2 is Noto Sans CJK SC (simplified
Chinese). :func:`subset_font` keeps

* every character of the book's sources (``book/*.md``, ``notebooks/*.md``) and of the
  Chinese edition's catalogues (``locale/*/LC_MESSAGES/**/*.po``), and
* all 3,755 characters of GB 2312 level 1 (the common characters of simplified Chinese,
  :func:`gb2312_level1`), plus CJK and full-width punctuation,

so that a Chinese edition renders without regenerating the font. ``make font`` downloads the
package, extracts it and runs ``python -m scaling_utils.report.webfont TTC OUT_DIR``, which writes
``NotoSansCJKsc-subset.woff2`` and ``OFL.txt`` (the licence, from the package's copyright
file) into ``_static/fonts/``; ``_static/book.css`` declares the font for CJK text.

fontTools (and brotli, for woff2) come with the ``book`` extra.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["FONT_FILE", "FONT_NUMBER", "book_characters", "gb2312_level1", "is_cjk", "subset_font", "wanted_characters"]

FONT_NUMBER = 2
"""Index of Noto Sans CJK SC in Debian's NotoSansCJK-Regular.ttc (0 JP, 1 KR, 2 SC, 3 TC, 4 HK)."""

FONT_FILE = "NotoSansCJKsc-subset.woff2"

# CJK symbols and punctuation, full-width forms, and the ideograph ranges used by is_cjk.
_PUNCTUATION = [(0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2018, 0x201F), (0x00B7, 0x00B7), (0x2026, 0x2026)]
_CJK = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x3000, 0x303F), (0xFF00, 0xFFEF)]


def is_cjk(ch: str) -> bool:
    """Whether ``ch`` is a CJK ideograph or CJK/full-width punctuation.

    >>> is_cjk("律"), is_cjk("，"), is_cjk("a")
    (True, True, False)
    """
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK)


def gb2312_level1() -> str:
    """The 3,755 characters of GB 2312 level 1, decoded from rows 0xB0-0xD7 of the code table.

    >>> chars = gb2312_level1()
    >>> len(chars), chars[0], "律" in chars
    (3755, '啊', True)
    """
    out = []
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                out.append(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(out)


def book_characters(root: Path) -> str:
    """The CJK characters the book's sources and its Chinese catalogues use, sorted."""
    found: set[str] = set()
    for pattern in ("book/*.md", "book/*.bib", "notebooks/*.md", "locale/*/LC_MESSAGES/**/*.po"):
        for path in sorted(root.glob(pattern)):
            found |= {ch for ch in path.read_text(encoding="utf-8") if is_cjk(ch)}
    return "".join(sorted(found))


def wanted_characters(root: Path) -> str:
    """What the subset keeps: the book's characters, GB 2312 level 1 and CJK punctuation."""
    chars = set(book_characters(root)) | set(gb2312_level1())
    for lo, hi in _PUNCTUATION:
        chars |= {chr(cp) for cp in range(lo, hi + 1)}
    return "".join(sorted(chars))


def _licence_text(copyright_file: Path) -> str:
    """The SIL OFL 1.1 text from a Debian copyright file (its ``License: SIL-1.1`` paragraph)."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    start = next(
        i
        for i, line in enumerate(lines)
        if line.strip() == "License: SIL-1.1" and i + 1 < len(lines) and lines[i + 1].strip().startswith("---")
    )
    body = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    return "\n".join(body).strip() + "\n"


def subset_font(ttc: Path, out_dir: Path, root: Path, copyright_file: Path | None = None) -> Path:
    """Write the woff2 subset of font :data:`FONT_NUMBER` of ``ttc`` (and ``OFL.txt``) to ``out_dir``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    # recalcTimestamp=False: keep the source's head.modified, so the same input gives the same bytes.
    font = TTFont(ttc, fontNumber=FONT_NUMBER, lazy=False, recalcTimestamp=False)
    family = font["name"].getDebugName(1)
    if family != "Noto Sans CJK SC":
        raise ValueError(f"font {FONT_NUMBER} of {ttc} is {family!r}, not Noto Sans CJK SC")
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=wanted_characters(root) + "".join(chr(c) for c in range(0x20, 0x7F)))
    subsetter.subset(font)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / FONT_FILE
    font.save(out)
    if copyright_file is not None:
        notice = (
            "Noto Sans CJK SC, subset by scaling_utils.report.webfont (make font) from Debian's fonts-noto-cjk.\n"
            "Copyright 2014-2021 Adobe (http://www.adobe.com/), with Reserved Font Name 'Source'.\n"
            "Debian's copyright file: Copyright 2010-2012, Google Corporation.\n\n"
        )
        (out_dir / "OFL.txt").write_text(notice + _licence_text(copyright_file), encoding="utf-8")
    return out


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python -m scaling_utils.report.webfont TTC OUT_DIR [DEBIAN_COPYRIGHT]", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parents[2]  # the repository: scaling_utils/report/webfont.py
    copyright_file = Path(argv[2]) if len(argv) == 3 else None
    out = subset_font(Path(argv[0]), Path(argv[1]), root, copyright_file)
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB, {len(wanted_characters(root))} CJK characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
