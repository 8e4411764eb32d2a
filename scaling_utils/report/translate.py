"""The words inside the book's outputs (figures, tables, glued strings), in the reader's language.

May import the standard library, numpy, pandas, matplotlib, IPython and babel (the book extra).

The prose of the Chinese edition comes from Sphinx's gettext catalogues. The outputs of the code
cells carry words too: axis labels, legends, titles, table headings and cells, glued strings.
They come from one more catalogue, ``locale/<lang>/LC_MESSAGES/outputs.po``, so that the code is
never copied: the notebooks execute once, and :func:`install` (run in each kernel by
:mod:`scaling_utils.report.edition`) adds one display format per other language to IPython.
Every figure is then drawn twice, its texts swapped for their translations in between; every
table and glued string is formatted twice. The Sphinx extension
(:mod:`scaling_utils.report.bilingual`) keeps, in each edition, its own language's output.

A message is a string with its numbers and inline math replaced by numbered fields
(:func:`template`): ``"approach 2, a = 0.52"`` is the message ``"approach {0}, a = {1}"``, so
one translation serves every value. Strings without a word of two letters are not messages.
A string whose translation is missing is shown in English and recorded; the edition build
then fails, naming it.

Examples
--------
>>> template("approach 2, a = $0.52$")
('approach {0}, a = {1}', ['2', '$0.52$'])
>>> fill("方法 {0}，a = {1}", ['2', '$0.52$'])
'方法 2，a = $0.52$'
>>> is_message("L3-d40-h4"), is_message("$N$"), is_message("loss (nats)")
(False, False, True)
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "LANGS_ENV",
    "LOCALE_ENV",
    "MIME",
    "STRINGS_ENV",
    "fill",
    "install",
    "is_message",
    "keep_language",
    "load_catalogue",
    "template",
    "translate_text",
]

LANGS_ENV = "SCALING_BOOK_LANGS"
"""Comma-separated languages to draw besides English, e.g. ``zh_CN`` (none: :func:`install` does nothing)."""
LOCALE_ENV = "SCALING_BOOK_LOCALE"
"""The folder holding ``<lang>/LC_MESSAGES/outputs.po``."""
STRINGS_ENV = "SCALING_BOOK_STRINGS"
"""A file to which each kernel appends (JSON lines) every message it met and whether it was translated."""

DOMAIN = "outputs"
"""The catalogue's name: ``locale/<lang>/LC_MESSAGES/outputs.po``."""

MIME = {"image/png": "image/x-{lang}-png", "text/html": "text/x-{lang}-html", "text/plain": "text/x-{lang}-plain"}
"""Each translated output's MIME type, per language, beside the English one it replaces."""

CJK_FONT = "Noto Sans CJK SC"

_FIELD = re.compile(
    r"\$[^$]*\$"  # inline math
    r"|(?<![A-Za-z0-9_.])[-−+]?\d(?:[\d.,]*\d)?(?:[eE][-+]?\d+)?(?:\s?×\s?10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?[kKMBGT%]?(?![A-Za-z0-9_])"
)
_WORD = re.compile(r"[A-Za-z]{2,}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:\W+[A-Za-z]{2,}){2,}")
"""Three English words in a row: a sentence, not a name beside Chinese (``Chinchilla 的计数方式``)."""


def template(text: str) -> tuple[str, list[str]]:
    """Split ``text`` into its message (numbers and math as ``{0}``, ``{1}``, ...) and its fields."""
    fields: list[str] = []
    parts: list[str] = []
    end = 0
    for match in _FIELD.finditer(text):
        parts.append(text[end : match.start()].replace("{", "{{").replace("}", "}}"))
        parts.append("{" + str(len(fields)) + "}")
        fields.append(match.group(0))
        end = match.end()
    parts.append(text[end:].replace("{", "{{").replace("}", "}}"))
    return "".join(parts), fields


def fill(message: str, fields: list[str]) -> str:
    """Put ``fields`` back into a (translated) message."""
    return message.format(*fields)


def is_message(text: str) -> bool:
    """Whether ``text`` has words to translate (a word of two letters outside math and numbers).

    Chinese inside an English sentence (the article's own term, quoted) does not make it translated:

    >>> is_message("a big run's loss is predictable (大模型的可预测性)"), is_message("方法 3 (Chinchilla)")
    (True, False)
    """
    if not isinstance(text, str):
        return False
    if _CJK.search(text):
        return bool(_ENGLISH.search(_CJK_RUN.sub(" ", _FIELD.sub(" ", text))))
    return bool(_WORD.search(_FIELD.sub(" ", text)))


def load_catalogue(locale_dir: Path | str, lang: str) -> dict[str, str]:
    """``{message: translation}`` from ``<locale_dir>/<lang>/LC_MESSAGES/outputs.po``, fuzzy and empty left out."""
    from babel.messages import pofile

    path = Path(locale_dir) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        catalog = pofile.read_po(f)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


class _Translator:
    """Looks messages up in one language's catalogue and records every one it met."""

    def __init__(self, lang: str, catalogue: dict[str, str], record: Path | None):
        self.lang, self.catalogue, self.record, self.seen = lang, catalogue, record, {}

    def __call__(self, text):
        if not is_message(text):
            return text
        message, fields = template(text)
        translated = self.catalogue.get(message)
        if message not in self.seen:
            self.seen[message] = translated is not None
            if self.record is not None:
                line = json.dumps({"lang": self.lang, "msgid": message, "translated": translated is not None})
                with self.record.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
        return text if translated is None else fill(translated, fields)


def translate_text(text: str, catalogue: dict[str, str]) -> str:
    """``text`` in the catalogue's language, or ``text`` itself when it has no translation.

    >>> translate_text("approach 3, a = 0.49", {"approach {0}, a = {1}": "方法 {0}，a = {1}"})
    '方法 3，a = 0.49'
    """
    return _Translator("", catalogue, None)(text)


@contextmanager
def _translated_figure(fig, translate):
    """Inside: every text of ``fig`` (and each fixed tick label) in the other language; restored after."""
    import matplotlib as mpl
    import matplotlib.font_manager as fm
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    _register_cjk_font()
    saved_texts = [(t, t.get_text()) for t in fig.findobj(Text)]
    saved_ticks = []  # tick labels come from their formatters at each draw: translate what those return
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for fmt in {id(f): f for f in (axis.get_major_formatter(), axis.get_minor_formatter())}.values():
                if isinstance(fmt, FixedFormatter):
                    saved_ticks.append((fmt, "seq", fmt.seq))
                elif isinstance(fmt, FuncFormatter):
                    saved_ticks.append((fmt, "func", fmt.func))
    families = [(t, t.get_fontfamily()) for t, _ in saved_texts]
    try:
        for t, s in saved_texts:
            t.set_text(translate(s))
        for fmt, attr, value in saved_ticks:
            if attr == "seq":
                fmt.seq = [translate(x) for x in value]
            else:
                fmt.func = lambda x, pos=None, f=value: translate(f(x, pos))
        installed = {f.name for f in fm.fontManager.ttflist}
        for t, family in families:  # matplotlib falls back along an explicit list only, not a generic name
            fonts = [f for f in _expand(family, mpl.rcParams) if f in installed]
            # mathtext draws the text around the math in the first font alone: there, Chinese first
            t.set_fontfamily([CJK_FONT, *fonts] if _mixed_math(t.get_text()) else [*fonts, CJK_FONT])
        yield
    finally:
        for t, s in saved_texts:
            t.set_text(s)
        for t, family in families:
            t.set_fontfamily(family)
        for fmt, attr, value in saved_ticks:
            setattr(fmt, attr, value)


def _mixed_math(text: str) -> bool:
    """Whether matplotlib draws ``text`` as mathtext (an even, non-zero number of unescaped $) with Chinese in it."""
    n = len(re.findall(r"(?<!\\)\$", text))
    return n > 0 and n % 2 == 0 and bool(_CJK.search(text))


_GENERIC = ("serif", "sans-serif", "cursive", "fantasy", "monospace")


def _expand(family, rc) -> list[str]:
    """A text's font families with each generic name replaced by its rcParams list."""
    out: list[str] = []
    for f in [family] if isinstance(family, str) else family:
        out += [x for x in rc[f"font.{f}"]] if f in _GENERIC else [f]
    return [f for f in out if f != CJK_FONT]


def _translated_table(df, translate):
    """A copy of ``df`` with its headings, row labels and text cells translated."""
    import pandas as pd

    def word(v):
        return translate(v) if isinstance(v, str) else v

    def labels(index):
        if isinstance(index, pd.MultiIndex):
            return index.set_levels([level.map(word) for level in index.levels])
        return index.map(word)

    out = df.copy()
    out.columns = labels(df.columns)
    out.index = labels(df.index)
    for index in (out.index, out.columns):  # the names of the row and column labels head rows of their own
        index.names = [word(n) for n in index.names]
    for col in range(out.shape[1]):
        series = out.iloc[:, col]
        if pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype):
            out.iloc[:, col] = series.map(word)
    return out


def _register_cjk_font() -> None:
    """Make the book's Chinese font known to matplotlib (once per process).

    Raises
    ------
    FileNotFoundError
        When the font file is missing (``make font`` writes it), rather than drawing boxes.
    """
    import matplotlib.font_manager as fm

    if any(f.name == CJK_FONT for f in fm.fontManager.ttflist):
        return
    root = Path(os.environ[LOCALE_ENV]).resolve().parent if LOCALE_ENV in os.environ else Path(__file__).parents[2]
    font = _cjk_font_file(root)
    if font is None:
        raise FileNotFoundError(f"the Chinese font {root / '_static' / 'fonts'} is missing; run make font")
    fm.fontManager.addfont(str(font))


def _cjk_font_file(root: Path) -> Path | None:
    """The book's Chinese web font as an OpenType file matplotlib can read (converted once, cached)."""
    from scaling_utils.report.webfont import FONT_FILE

    woff2 = root / "_static" / "fonts" / FONT_FILE
    if not woff2.is_file():
        return None
    out = root / ".cache" / "fonts" / (woff2.stem + ".otf")
    if not out.is_file() or out.stat().st_mtime < woff2.stat().st_mtime:
        from fontTools.ttLib import TTFont

        out.parent.mkdir(parents=True, exist_ok=True)
        font = TTFont(str(woff2))
        font.flavor = None
        tmp = out.with_suffix(f".{os.getpid()}.tmp")  # kernels started side by side never share a half-written file
        font.save(str(tmp))
        tmp.replace(out)
    return out


def _laid_out_once(print_png):
    """``print_png`` with one constrained layout before the drawing and nothing drawn twice.

    matplotlib's ``print_figure`` runs a figure's layout engine inside a first, unseen drawing of
    the whole figure, then draws it again to the file. The layout alone is what that drawing is
    for; run it, then print with the engine set aside (and put back after).
    """

    def printer(fig, *args, **kwargs):
        engine = fig.get_layout_engine()
        if engine is None or not fig.axes:
            return print_png(fig, *args, **kwargs)
        engine.execute(fig)
        fig.set_layout_engine(None)
        try:
            return print_png(fig, *args, **kwargs)
        finally:
            fig.set_layout_engine(engine)

    return printer


def install(shell=None) -> list[str]:  # pragma: no cover - runs in the kernels of every edition build
    """Add a display format per language of :data:`LANGS_ENV` to IPython; return those languages.

    Figures (``image/png``), book tables (``text/html``) and strings (``text/plain``, what
    ``{glue:text}`` reads) each get a twin ``image/x-<lang>-png`` (and so on) holding the
    translated output. Without the environment variable, nothing changes.
    """
    from IPython import get_ipython
    from matplotlib_inline.config import InlineBackend

    shell = shell or get_ipython()
    # Every book figure is laid out by matplotlib's constrained layout, which already fits it to its
    # size: the inline backend's default bbox_inches="tight" would draw each figure twice more.
    InlineBackend.instance(parent=shell).print_figure_kwargs = {"bbox_inches": None}
    # The inline backend displays each new figure after its cell (its own post-execute hook). pyplot's
    # post-execute hook would first draw every stale figure once more, to a canvas nobody sees: resolve
    # the backend now (that is when pyplot installs its hook) and take that hook out.
    import matplotlib
    import matplotlib.pyplot as plt

    plt.switch_backend(matplotlib.get_backend())
    plt.uninstall_repl_displayhook()
    from matplotlib.figure import Figure

    png_formatter = shell.display_formatter.formatters["image/png"]
    if Figure in png_formatter.type_printers:
        png_formatter.for_type(Figure, _laid_out_once(png_formatter.type_printers[Figure]))
    langs = [x for x in os.environ.get(LANGS_ENV, "").split(",") if x and not x.startswith("en")]
    if not langs:
        return []
    import pandas as pd
    from IPython.core.formatters import BaseFormatter
    from matplotlib.figure import FigureBase  # not Figure: the inline backend drops every printer of Figure
    from traitlets import ObjectName, Unicode

    locale_dir = Path(os.environ.get(LOCALE_ENV, "locale")).resolve()
    record = os.environ.get(STRINGS_ENV)
    _register_cjk_font()
    formatters = shell.display_formatter.formatters
    for lang in langs:
        translate = _Translator(lang, load_catalogue(locale_dir, lang), Path(record) if record else None)
        short = lang.split("_")[0]

        def png(fig, translate=translate):
            base = formatters["image/png"].lookup(fig)
            with _translated_figure(fig, translate):
                return base(fig)

        def html(df, translate=translate):
            return _translated_table(df, translate)._repr_html_()

        def plain(text, translate=translate):
            out = translate(text)
            return repr(out) if out is not text else None

        for mime, func, kind in ((MIME["image/png"], png, FigureBase), (MIME["text/html"], html, pd.DataFrame),
                                 (MIME["text/plain"], plain, str)):  # fmt: skip
            name = mime.format(lang=short)
            cls = type(f"Formatter_{name}", (BaseFormatter,), {"format_type": Unicode(name),
                       "print_method": ObjectName("_repr_never_"), "_return_type": (str,)})  # fmt: skip
            formatter = cls(parent=shell.display_formatter)
            formatter.for_type(kind, func)
            formatters[name] = formatter
            if name not in shell.display_formatter.active_types:
                shell.display_formatter.active_types.append(name)
    return langs


def missing_twins(nb, langs) -> list[str]:
    """Where an executed notebook lacks a language's drawing of a figure or a table.

    Each entry names the cell (its index) and the twin missing. A figure (``image/png``) or a
    pandas table (``text/html`` with ``class="dataframe"``) without its twin means the
    kernel's start-up line (:func:`install`) failed; IPython only logs such a failure.

    >>> cell = {"cell_type": "code", "outputs": [{"output_type": "display_data",
    ...         "data": {"image/png": "EN", "text/plain": "<Figure>"}}]}
    >>> missing_twins({"cells": [cell]}, ["zh_CN"])
    ['cell 0: a figure without image/x-zh-png']
    >>> cell["outputs"][0]["data"]["image/x-zh-png"] = "ZH"
    >>> missing_twins({"cells": [cell]}, ["zh_CN"])
    []
    """
    problems = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = out.get("data") or {}
            for lang in langs:
                short = lang.split("_")[0]
                for key, value in data.items():
                    prefix, mime = key[: -len("/".join(key.split("/")[-2:]))], "/".join(key.split("/")[-2:])
                    table = mime == "text/html" and 'class="dataframe"' in "".join(value)
                    if mime != "image/png" and not table:
                        continue
                    twin = prefix + MIME[mime].format(lang=short)
                    if twin not in data:
                        kind = "figure" if mime == "image/png" else "table"
                        problems.append(f"cell {i}: a {kind} without {twin}")
    return problems


def keep_language(output, lang: str):
    """An executed notebook output with only ``lang``'s version of each translated MIME type.

    In the English edition the twins are dropped; in another, each twin replaces its original.

    >>> out = {"output_type": "display_data", "metadata": {},
    ...        "data": {"image/png": "EN", "image/x-zh-png": "ZH", "text/plain": "<Figure>"}}
    >>> keep_language(out, "en")["data"]["image/png"], keep_language(out, "zh_CN")["data"]["image/png"]
    ('EN', 'ZH')
    >>> sorted(keep_language(out, "en")["data"])
    ['image/png', 'text/plain']
    """
    data = output.get("data")
    if not data:
        return output
    short = (lang or "en").split("_")[0]
    twins = {mime.format(lang=short): base for base, mime in MIME.items()}
    kept = {}
    for key, value in data.items():
        mime = "/".join(key.split("/")[-2:])  # a glued output's key is "application/papermill.record/<mime>"
        if mime.startswith(("image/x-", "text/x-")) and mime not in twins:
            continue  # another language's twin
        kept[key] = value
    for key in list(kept):
        for twin, base in twins.items():
            if key.endswith(twin):
                kept[key[: -len(twin)] + base] = kept.pop(key)
    import nbformat

    return nbformat.from_dict({**output, "data": kept})
