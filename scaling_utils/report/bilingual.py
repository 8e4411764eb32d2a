"""Sphinx extension for the book's two editions: one executed source, prose from gettext catalogues.

May import ``scaling_utils.report.translate`` and the book extra (Sphinx, docutils, myst-nb).

The English and the Chinese edition are built from the same MyST sources, with execution off,
from the notebooks that :mod:`scaling_utils.report.edition` executed once. This extension does
what Sphinx's gettext machinery and myst-nb do not do by themselves:

1. **Executed outputs.** With ``bilingual_executed`` set, each notebook page is read from its
   ``.md`` (so its prose is the source's and its messages are the catalogue's) and its code
   cells take the outputs of ``<bilingual_executed>/<docname>.ipynb``. A page whose code changed
   since it was executed fails the build instead of showing stale outputs. Every figure was
   drawn in both languages at execution (:mod:`~scaling_utils.report.translate`); each
   edition keeps its own.
2. **Glued values in translated prose.** Sphinx parses each translation (``msgstr``) into a
   throw-away document without myst-nb's renderer, where ``{glue:text}`` finds no data and
   silently vanishes. A glue role parsed there becomes a reference to its own page's glue,
   which myst-nb resolves after reading.
3. **Catalogue targets.** MyST table cells get a source line, so gettext extracts them;
   messages with no words (display math, numbers, a cell that is only a glued value) are not
   extracted; the captions of ``_toc.yml``'s parts are translated (they are inserted after
   Sphinx's translation step).
4. **Nothing silently English.** In a non-English edition, every message the catalogue does
   not translate (missing, empty or fuzzy) is a warning naming the page, the line and the
   catalogue file; the book builds with ``-W``, so an untranslated paragraph fails it.
5. **EN ⇄ 中文.** With ``bilingual_twin`` on, each page's header links to its twin page in the
   other edition (the Chinese edition lives in ``<html>/zh_CN/``).
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

__all__ = ["ZH_DIR", "setup"]

ZH_DIR = "zh_CN"
"""The Chinese edition's folder inside the English edition's HTML folder."""

LOGGER = logging.getLogger(__name__)

_WORDLESS = re.compile(r"\{[\w:-]+\}`[^`]*`|\$[^$]*\$|[^A-Za-z]")
"""What is not a word to translate: roles with their targets, inline math, non-letters."""


def _language(config) -> str:
    return (config.language or "en").split("_")[0]


# --- 1. executed outputs -----------------------------------------------------------------------

_STATE: dict[str, object] = {}


def _remember_env(app) -> None:
    _STATE["env"] = app.env


def _patch_reader() -> None:
    import myst_nb.sphinx_ as nb_sphinx

    if getattr(nb_sphinx.create_nb_reader, "bilingual", False):
        return
    original = nb_sphinx.create_nb_reader

    def create_nb_reader(path, md_config, nb_config, content):
        reader = original(path, md_config, nb_config, content)
        env = _STATE.get("env")
        folder = getattr(env.config, "bilingual_executed", "") if env is not None else ""
        if reader is None or not folder:
            return reader
        executed = Path(env.srcdir, folder, env.path2doc(str(path)) + ".ipynb")
        lang = _language(env.config)

        def read(text):
            import nbformat
            from sphinx.errors import ExtensionError

            from scaling_utils.report.translate import keep_language, missing_twins

            nb = reader.read(text)
            if not executed.is_file():
                raise ExtensionError(f"{path}: not executed ({executed} is missing); run make book")
            done = nbformat.read(executed, as_version=4)
            lacking = missing_twins(done, [lang]) if not lang.startswith("en") else []
            if lacking:  # the English drawing would stand in the other edition, unsaid
                raise ExtensionError(f"{path}: {executed} has outputs not drawn in {lang}: " + "; ".join(lacking[:5]))
            code = [c for c in nb.cells if c.cell_type == "code"]
            done_code = [c for c in done.cells if c.cell_type == "code"]
            if [c.source for c in code] != [c.source for c in done_code]:
                raise ExtensionError(f"{path}: its code changed since {executed} was executed; run make book")
            for cell, run in zip(code, done_code, strict=True):
                cell.outputs = [keep_language(out, lang) for out in run.outputs]
                cell.execution_count = run.execution_count
            return nb

        return type(reader)(read, reader.md_config, reader.read_fmt)

    create_nb_reader.bilingual = True
    nb_sphinx.create_nb_reader = create_nb_reader


# --- 2. glued values in translated prose -------------------------------------------------------


def _patch_glue_roles() -> None:
    import myst_nb.ext.glue.roles as roles

    for role_cls, split_fmt in ((roles.PasteTextRole, True), (roles.PasteRoleAny, False)):
        run = role_cls.run
        if getattr(run, "bilingual", False):
            continue

        def wrapped(self, run=run, split_fmt=split_fmt):
            env = getattr(self.document.settings, "env", None)
            if env is not None and "nb_renderer" not in self.document and "::" not in self.text:
                key, sep, fmt = self.text.partition(":") if split_fmt else (self.text, "", "")
                doc = "/" + Path(env.doc2path(env.docname, False)).as_posix()
                self.text = f"{doc}::{key}" + (f":{fmt}" if sep else (":s" if split_fmt else ""))
            return run(self)

        wrapped.bilingual = True
        role_cls.run = wrapped


# --- 3. catalogue targets ------------------------------------------------------------------------


class CatalogueTargets(SphinxTransform):
    """Before Sphinx's Locale (priority 20): give table cells a source; drop wordless messages."""

    default_priority = 10

    def apply(self, **kwargs) -> None:
        for para in self.document.findall(nodes.paragraph):
            if para.source is None and isinstance(para.parent, nodes.entry):
                table = para.parent
                while table is not None and not isinstance(table, nodes.table):
                    table = table.parent
                para.source = self.document["source"]
                para.line = getattr(table, "line", None) or 1
        for node in self.document.findall(nodes.TextElement):
            if isinstance(node, nodes.Inline):  # marking an inline would make Sphinx drop it
                continue
            raw = getattr(node, "rawsource", "") or ""
            if isinstance(node, nodes.math_block) or (raw and not _WORDLESS.sub("", raw)):
                node["translatable"] = False


class TranslateTocCaptions(SphinxTransform):
    """The part captions of ``_toc.yml`` come in after Locale (sphinx-external-toc, priority 100)."""

    default_priority = 101

    def apply(self, **kwargs) -> None:
        from sphinx import addnodes

        catalog = _catalog(self)
        if catalog is None:
            return
        for toc in self.document.findall(addnodes.toctree):
            if toc.get("caption"):
                raw = toc.get("rawcaption") or toc["caption"]
                text = catalog.get(raw, "")
                if not text:
                    _untranslated(self, raw, toc.get("line"))
                toc["caption"] = toc["rawcaption"] = text or raw


def _catalog(transform) -> dict[str, str] | None:
    """The current page's merged catalogue, or None in the English edition."""
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    config = transform.config
    if _language(config) == "en":
        return None
    domain = docname_to_domain(transform.env.docname, config.gettext_compact)
    dirs = [str(Path(transform.env.srcdir, d)) for d in config.locale_dirs]
    catalog, has = init_locale(dirs, config.language, domain)
    if not has:
        return {}
    merged: dict[str, str] = {}
    chain = []
    while catalog is not None:
        chain.append(getattr(catalog, "_catalog", None) or {})
        catalog = getattr(catalog, "_fallback", None)
    for part in reversed(chain):
        merged |= part
    return merged


# --- 4. nothing silently English -------------------------------------------------------------------


def _untranslated(transform, message: str, line) -> None:
    from sphinx.util.i18n import docname_to_domain

    domain = docname_to_domain(transform.env.docname, transform.config.gettext_compact)
    short = " ".join(message.split())
    short = short if len(short) <= 90 else short[:87] + "..."
    LOGGER.warning(
        "untranslated message (no entry, empty or fuzzy in locale/%s/LC_MESSAGES/%s.po; "
        "run make locale and translate it): %r",
        transform.config.language,
        domain,
        short,
        location=(transform.env.docname, line),
        type="bilingual",
        subtype="untranslated",
    )


class UntranslatedMessages(SphinxTransform):
    """After Locale: warn on every message left in English in a non-English edition."""

    default_priority = 21

    def apply(self, **kwargs) -> None:
        from sphinx.util.nodes import extract_messages

        if _language(self.config) == "en" or self.document["source"].endswith("<translated>"):
            return
        for node, msg in extract_messages(self.document):
            if not node.get("translated", False) and not _in_front_matter(node):
                _untranslated(self, msg, node.line)


def _in_front_matter(node) -> bool:
    """Whether ``node`` is in a page's front matter (kernelspec, jupytext), never shown.

    MyST renders it as the document's first field list, which docutils turns into a
    ``docinfo`` only after the translation step.
    """
    while node is not None:
        if isinstance(node, nodes.docinfo):
            return True
        if isinstance(node, nodes.field_list) and isinstance(node.parent, nodes.document):
            return node.parent.index(node) == 0 or all(
                isinstance(c, nodes.target) for c in node.parent[: node.parent.index(node)]
            )
        node = node.parent
    return False


# --- 5. EN ⇄ 中文 ----------------------------------------------------------------------------------


def _twin(app, pagename, templatename, context, doctree) -> None:
    if not app.config.bilingual_twin:
        context["lang_twin_url"] = ""
        return
    up = "../" * pagename.count("/")
    zh = _language(app.config) == "zh"
    context["lang_twin_url"] = f"{up}../{pagename}.html" if zh else f"{up}{ZH_DIR}/{pagename}.html"
    context["lang_twin_label"] = "EN" if zh else "中文"


def _config_inited(app, config) -> None:
    config.templates_path.append(str(Path(__file__).parent / "templates"))
    opts = config.html_theme_options
    end = opts.get("article_header_end", ["article-header-buttons.html"])
    end = [end] if isinstance(end, str) else list(end)
    opts["article_header_end"] = ["lang-switch.html", *[e for e in end if e != "lang-switch.html"]]


def setup(app):  # pragma: no cover - a Sphinx extension hook, exercised by every book build
    """Sphinx extension entry point (``sphinx: extra_extensions`` in ``_config.yml``)."""
    app.add_config_value("bilingual_executed", "", "env")
    app.add_config_value("bilingual_twin", False, "html")
    _patch_reader()
    _patch_glue_roles()
    app.connect("builder-inited", _remember_env)
    app.connect("config-inited", _config_inited)
    app.connect("html-page-context", _twin)
    app.add_transform(CatalogueTargets)
    app.add_transform(UntranslatedMessages)
    app.add_transform(TranslateTocCaptions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
