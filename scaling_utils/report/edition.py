"""Build the book's two editions, English and Chinese, from one execution of its notebooks.

May import ``scaling_utils.analysis.results``, ``scaling_utils.report`` modules and the book extra.

``make book`` runs ``python -m scaling_utils.report.edition build``:

1. :func:`execute` runs every notebook page of ``_toc.yml`` once, with nbclient, two kernels
   side by side, into ``_build/executed/<docname>.ipynb``. Each kernel draws every figure,
   table and glued string in both languages (:mod:`scaling_utils.report.translate`).
2. :func:`build` then builds the English edition into ``_build/html`` and the Chinese one into
   ``_build/html/zh_CN``, side by side, both with execution off: each page takes its outputs
   from the executed notebook (:mod:`scaling_utils.report.bilingual`). Nothing executes twice.

The prose of the Chinese edition comes from the gettext catalogues
``locale/zh_CN/LC_MESSAGES/<docname>.po``, and the words in the outputs from
``locale/zh_CN/LC_MESSAGES/outputs.po``. A message they lack fails the build, naming it.
``make locale`` (``python -m scaling_utils.report.edition locale``) extracts the messages of
the current sources and merges them into the catalogues, for a translator to fill in: changed
English prose comes back as a fuzzy entry, which counts as untranslated until reviewed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "EDITIONS",
    "build",
    "catalogue_problems",
    "compile_catalogues",
    "edition_config",
    "execute",
    "main",
    "notebook_pages",
    "update",
]

EDITIONS = {
    "en": {},
    "zh_CN": {
        "title": "缩放定律，复现",
        "language": "zh_CN",
        "sphinx": {"nb_code_prompt_show": "显示代码", "nb_code_prompt_hide": "隐藏代码"},
    },
}
"""Each edition's overrides of ``_config.yml``: its title, language and Sphinx settings (myst-nb's own words)."""

EXECUTED = "executed"
"""Under the build folder: the executed notebooks (and ``strings.jsonl``, ``timings.json``)."""

KERNEL_SETUP = "--IPKernelApp.exec_lines=import scaling_utils.report.translate as _t; _t.install()"
"""The kernel's start-up line: every output drawn in each edition's language (``translate.install``)."""

SECOND = "zh_CN"
"""The other edition's language, and its folder inside the English HTML."""


def _pages(root: Path) -> list[str]:
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def notebook_pages(root: Path | str = ".") -> list[str]:
    """The docnames of ``_toc.yml`` whose sources are MyST notebooks (those that execute)."""
    from myst_nb.core.read import is_myst_markdown_notebook

    root = Path(root)
    return [d for d in _pages(root) if is_myst_markdown_notebook((root / f"{d}.md").read_text(encoding="utf-8"))]


def _execute_one(root: str, doc: str, out: str, env: dict) -> tuple[str, float]:
    """Execute one page (in its own folder, as the book build does) and write it under ``out``."""
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbclient import NotebookClient

    from scaling_utils.report.translate import LANGS_ENV, missing_twins

    src = Path(root) / f"{doc}.md"
    nb = read_myst_markdown_notebook(src.read_text(encoding="utf-8"), add_source_map=True, path=src)
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(src.parent)}},
        extra_arguments=[KERNEL_SETUP],
    )
    client.execute(env=env | {"SCALING_UTILS_PAGE": doc})
    langs = [x for x in env.get(LANGS_ENV, "").split(",") if x and not x.startswith("en")]
    problems = missing_twins(nb, langs)
    if problems:  # IPython logs a failed start-up line and goes on: without this, English in the other edition
        raise RuntimeError(
            f"{doc}.md: outputs not drawn in every edition's language (the kernel's translation "
            f"set-up failed?): " + "; ".join(problems[:5])
        )
    target = Path(out) / f"{doc}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    return doc, time.perf_counter() - start


def execute(root: Path | str = ".", build_dir: Path | str = "_build", *, jobs: int = 2,
            langs: tuple[str, ...] = (SECOND,)) -> dict[str, float]:  # fmt: skip
    """Execute every notebook page once into ``<build_dir>/executed``; return seconds per page.

    Also writes ``<build_dir>/data-reads.jsonl`` (each committed sweep a page read, sorted),
    ``executed/strings.jsonl`` (every output message met, per language, and whether it was
    translated) and ``executed/timings.json``. The longest pages of the last run start first.

    Raises
    ------
    RuntimeError
        When a page fails to execute (its traceback follows).
    """
    from scaling_utils.analysis.results import READS_ENV
    from scaling_utils.report.booktools import READS_MANIFEST, source_date_epoch
    from scaling_utils.report.translate import LANGS_ENV, LOCALE_ENV, STRINGS_ENV

    root, build_dir = Path(root).resolve(), Path(build_dir).resolve()
    out = build_dir / EXECUTED
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    manifest, strings = build_dir / READS_MANIFEST, out / "strings.jsonl"
    manifest.write_text("", encoding="utf-8")
    env = os.environ | {
        READS_ENV: str(manifest),
        LANGS_ENV: ",".join(langs),
        LOCALE_ENV: str(root / "locale"),
        STRINGS_ENV: str(strings),
        "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", str(source_date_epoch(root))),
        "PYTHONHASHSEED": "0",
        "IPYTHONDIR": os.environ.get("IPYTHONDIR", str(root / ".ipython")),
    }
    if any(not x.startswith("en") for x in langs):
        from scaling_utils.report.translate import _cjk_font_file

        _cjk_font_file(root)  # converted here, once, before two kernels would race to write it
    docs = notebook_pages(root)
    last = build_dir / "last-timings.json"
    before = json.loads(last.read_text()) if last.is_file() else {}
    docs.sort(key=lambda d: -before.get(d, 0.0))
    timings: dict[str, float] = {}
    with ProcessPoolExecutor(max(1, jobs)) as pool:
        futures = {pool.submit(_execute_one, str(root), d, str(out), env): d for d in docs}
        for future, doc in futures.items():
            try:
                timings[doc] = future.result()[1]
            except Exception as exc:  # the cell's traceback, as nbclient reports it
                raise RuntimeError(f"{doc}.md failed to execute:\n{exc}") from None
    lines = sorted(set(manifest.read_text(encoding="utf-8").splitlines()))
    manifest.write_text("".join(line + "\n" for line in lines if line), encoding="utf-8")
    timings = dict(sorted(timings.items()))
    (out / "timings.json").write_text(json.dumps(timings, indent=1) + "\n", encoding="utf-8")
    last.write_text(json.dumps(timings), encoding="utf-8")
    return timings


def untranslated_outputs(build_dir: Path | str = "_build") -> dict[str, list[str]]:
    """``{lang: [message, ...]}``: the output messages the last execution found no translation for."""
    path = Path(build_dir) / EXECUTED / "strings.jsonl"
    missing: dict[str, set[str]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if not rec["translated"]:
                missing.setdefault(rec["lang"], set()).add(rec["msgid"])
    return {lang: sorted(ids) for lang, ids in sorted(missing.items())}


def compile_catalogues(root: Path | str, out: Path | str, lang: str = SECOND) -> int:
    """Compile ``locale/<lang>/**/*.po`` into ``<out>/<lang>/LC_MESSAGES/**/*.mo`` (fuzzy left out)."""
    from babel.messages import mofile, pofile

    src = Path(root) / "locale" / lang / "LC_MESSAGES"
    n = 0
    for po in sorted(src.rglob("*.po")):
        with po.open("rb") as f:
            catalog = pofile.read_po(f)
        mo = Path(out) / lang / "LC_MESSAGES" / po.relative_to(src).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as f:
            mofile.write_mo(f, catalog, use_fuzzy=False)
        n += 1
    return n


def edition_config(root: Path | str, build_dir: Path | str, lang: str = "en", *, executed: bool = True) -> Path:
    """Write ``<build_dir>/editions/<lang>.yml``: ``_config.yml`` with execution off and the edition's overrides.

    Jupyter Book's ``--config`` replaces ``_config.yml`` rather than merging with it, so the
    edition's file is the whole configuration.
    """
    import yaml

    root, build_dir = Path(root).resolve(), Path(build_dir).resolve()
    cfg = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    over = EDITIONS[lang]
    cfg["execute"] = {**cfg.get("execute", {}), "execute_notebooks": "off"}
    sphinx = cfg.setdefault("sphinx", {}).setdefault("config", {})
    sphinx["bilingual_twin"] = True
    if executed:
        sphinx["bilingual_executed"] = str(build_dir / EXECUTED)
    if "title" in over:
        cfg["title"] = over["title"]
    sphinx.update(over.get("sphinx", {}))
    if "language" in over:
        sphinx["language"] = over["language"]
        sphinx["locale_dirs"] = [str(build_dir / "locale")]
        sphinx["gettext_auto_build"] = False
    path = build_dir / "editions" / f"{lang}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _jupyter_book(root: Path, config: Path, path_output: Path, *extra: str) -> subprocess.Popen:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(root), "--config", str(config), "--path-output", str(path_output), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def build(root: Path | str = ".", path_output: Path | str | None = None, *, jobs: int = 2) -> Path:
    """Execute once, then build both editions; return the build folder (``<path_output>/_build``).

    Raises
    ------
    RuntimeError
        When a page fails to execute, an output message lacks its translation, or an edition's
        build fails (its log's end follows).
    """
    root = Path(root).resolve()
    path_output = Path(path_output).resolve() if path_output else root
    build_dir = path_output / "_build"
    start = time.perf_counter()
    execute(root, build_dir, jobs=jobs)
    walls = {"execute": time.perf_counter() - start}
    missing = untranslated_outputs(build_dir)
    if missing:
        raise RuntimeError(
            "words in figures, tables or glued strings without a translation in "
            f"locale/{{lang}}/LC_MESSAGES/outputs.po (run make locale and translate them): {missing}"
        )
    compile_catalogues(root, build_dir / "locale")
    flags = ("--all", "-W", "-n", "--keep-going")
    zh_out = build_dir / "editions" / "zh_src"
    shutil.rmtree(zh_out, ignore_errors=True)
    procs = {
        "en": _jupyter_book(root, edition_config(root, build_dir, "en"), path_output, *flags),
        SECOND: _jupyter_book(root, edition_config(root, build_dir, SECOND), zh_out, *flags),
    }
    failed = []
    start = time.perf_counter()
    for lang, proc in procs.items():
        log, _ = proc.communicate()
        walls[lang] = time.perf_counter() - start  # the two build side by side: each from the same start
        (build_dir / "editions" / f"{lang}.log").write_text(log, encoding="utf-8")
        if proc.returncode != 0:
            failed.append(f"the {lang} edition failed:\n{log[-6000:]}")
    if failed:
        raise RuntimeError("\n".join(failed))
    target = build_dir / "html" / SECOND
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(zh_out / "_build" / "html"), str(target))
    shutil.rmtree(zh_out, ignore_errors=True)
    timings = {k: round(v, 1) for k, v in walls.items()}
    (build_dir / "editions" / "timings.json").write_text(json.dumps(timings) + "\n", encoding="utf-8")
    return build_dir


def update(root: Path | str = ".", build_dir: Path | str | None = None, lang: str = SECOND, *,
           run: bool = True) -> list[Path]:  # fmt: skip
    """Merge the current messages into ``locale/<lang>``'s catalogues; return the files written.

    Executes the notebooks (to meet every output message), extracts the prose messages with
    Sphinx's gettext builder, and updates each ``.po`` from its template as ``msgmerge``
    does: new messages empty, changed ones fuzzy with the old translation as a hint,
    vanished ones kept as obsolete (and restored when they come back). With ``run=False`` the
    notebooks are not executed again: the last execution's outputs are used, for a change to
    the prose alone (a page whose code changed since fails).
    """
    from babel.messages import pofile
    from babel.messages.catalog import Catalog

    root = Path(root).resolve()
    build_dir = Path(build_dir).resolve() if build_dir else root / "_build"
    if run:
        execute(root, build_dir, langs=(lang,))
    pot_dir = build_dir / "gettext"
    shutil.rmtree(pot_dir, ignore_errors=True)
    src = build_dir / "editions" / "pot_src"
    config = edition_config(root, build_dir, "en")  # with the outputs: a cell's Markdown output is prose too
    proc = _jupyter_book(root, config, src, "--all", "--builder", "custom",
                         "--custom-builder", "gettext")  # fmt: skip
    log, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the gettext build failed:\n{log[-6000:]}")
    shutil.move(str(src / "_build" / "gettext"), str(pot_dir))
    outputs = Catalog(domain="outputs")
    path = build_dir / EXECUTED / "strings.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["lang"] == lang:
            outputs.add(rec["msgid"])
    with (pot_dir / "outputs.pot").open("wb") as f:
        pofile.write_po(f, outputs, width=0, sort_output=True)
    written = []
    for pot in sorted(pot_dir.rglob("*.pot")):
        with pot.open("rb") as f:
            template = pofile.read_po(f)
        po_path = root / "locale" / lang / "LC_MESSAGES" / pot.relative_to(pot_dir).with_suffix(".po")
        if po_path.is_file():
            with po_path.open("rb") as f:
                catalog = pofile.read_po(f, locale=lang)
        else:
            catalog = Catalog(locale=lang, domain=pot.stem)
        for msgid in list(catalog.obsolete):  # a message back in the sources gets its old translation back
            catalog[msgid] = catalog.obsolete.pop(msgid)
        catalog.update(template)
        catalog.domain = pot.relative_to(pot_dir).with_suffix("").as_posix()
        _header(catalog)
        catalog.revision_date = catalog.creation_date = template.creation_date = _EPOCH
        po_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("wb") as f:
            pofile.write_po(f, catalog, width=0, omit_header=False, ignore_obsolete=False, include_previous=True)
        written.append(po_path)
    return written


def _header(catalog) -> None:
    catalog.project, catalog.version = "Scaling Laws, Reproduced", ""
    catalog.copyright_holder = catalog.last_translator = "The Scaling Laws, Reproduced authors"
    catalog.msgid_bugs_address, catalog.language_team = "", "zh_CN"
    catalog.header_comment = (
        f"# The Chinese edition of {catalog.project}: {catalog.domain or 'a page'}.\n"
        "# Translate msgstr only; keep every role, math, code and {0} field (make locale; see locale/README.md)."
    )


_EPOCH = datetime(2024, 1, 21, tzinfo=UTC)
"""The catalogues' dates: fixed (the article's date), so an unchanged catalogue is unchanged bytes."""


_ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$]+\$", re.S)
_CODE = re.compile(r"(?<!\})`[^`]+`")
_FIELD = re.compile(r"(?<!\{)\{\d+\}(?!\})")
_LINK = re.compile(r"\]\(([^)]*)\)")


def _markup(text: str) -> list[str]:
    """What a translation must keep exactly: roles, math, code, links' targets, fields and bold marks."""
    rest = _ROLE.sub(" ", text)
    parts = _ROLE.findall(text) + _MATH.findall(rest)
    rest = _MATH.sub(" ", rest)
    parts += _CODE.findall(rest) + _LINK.findall(rest) + _FIELD.findall(rest)
    parts += ["**"] * (rest.count("**") // 2 * 2)
    return sorted(parts)


def catalogue_problems(root: Path | str = ".", lang: str = SECOND, paths=None) -> list[str]:
    """Every problem of ``locale/<lang>``'s catalogues: untranslated, fuzzy, or markup not kept.

    A translation must keep each role (``{glue:text}`...```, ``{numref}`...```), inline math,
    inline code, link target, ``{0}`` field and bold mark of its message, exactly.

    Examples
    --------
    >>> _markup("See {numref}`fig-a`: $N$ grows, **fast**.")
    ['$N$', '**', '**', '{numref}`fig-a`']
    """
    from babel.messages import pofile

    src = Path(root) / "locale" / lang / "LC_MESSAGES"
    problems = []
    for po in sorted(Path(p) for p in paths) if paths else sorted(src.rglob("*.po")):
        with po.open("rb") as f:
            catalog = pofile.read_po(f)
        name = po.relative_to(src) if po.is_relative_to(src) else po
        for msg in catalog:
            if not msg.id:
                continue
            short = " ".join(msg.id.split())[:70]
            if msg.fuzzy:
                problems.append(f"{name}: fuzzy: {short!r}")
            elif not msg.string:
                problems.append(f"{name}: untranslated: {short!r}")
            elif _markup(msg.id) != _markup(msg.string):
                lost = sorted(set(_markup(msg.id)) ^ set(_markup(msg.string))) or ["a repeated item"]
                problems.append(f"{name}: markup differs ({', '.join(lost)[:120]}): {short!r}")
    return problems


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - exercised by make book / make locale
    """``python -m scaling_utils.report.edition build|execute|locale|check``; 0 when all went well."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m scaling_utils.report.edition", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["build", "execute", "locale", "check"])
    parser.add_argument("files", nargs="*", help="check: the .po files (default: all)")
    parser.add_argument("--root", default=".")
    parser.add_argument("--path-output", default=None, help="the build goes to PATH_OUTPUT/_build (default: ROOT)")
    parser.add_argument("--jobs", type=int, default=2, help="kernels side by side (default 2)")
    parser.add_argument("--no-execute", action="store_true", help="locale: reuse the last execution's output messages")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.command == "build":
            out = build(args.root, args.path_output, jobs=args.jobs)
            walls = json.loads((out / "editions" / "timings.json").read_text())
            print(f"Built: {out / 'html' / 'index.html'} and {out / 'html' / SECOND / 'index.html'}")
            print(
                f"seconds: executing {walls['execute']}, "
                f"then side by side English {walls['en']}, Chinese {walls[SECOND]}"
            )
        elif args.command == "execute":
            base = Path(args.path_output or args.root) / "_build"
            for doc, s in execute(args.root, base, jobs=args.jobs).items():
                print(f"{s:6.1f} s  {doc}")
        elif args.command == "check":
            problems = catalogue_problems(args.root, paths=args.files or None)
            print("\n".join(problems) or "every message translated, markup kept")
            return 1 if problems else 0
        else:
            for path in update(args.root, run=not args.no_execute):
                print(path)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.command}: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
