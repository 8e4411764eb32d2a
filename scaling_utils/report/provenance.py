"""Where every artefact of the article lives in the book, what makes it, and from what data.

One registry, :data:`ARTEFACTS` (read from the YAML file :data:`REGISTRY`, checked against
the JSON Schema :data:`SCHEMA`), holds an entry for each figure (F1-F5), table (T1, T2) and
number (N1-N9) of the article map: the page and label where the book shows it, the
``scaling_utils`` objects that make it, the committed sweeps it reads, the papers it cites,
and its status. The book's provenance page is generated from it by :func:`provenance_markdown`
(with the data's sha256 computed at build time), and the tests check that every entry points
at something real. Statuses are judgements and are written here, once; the numbers behind
them live on the pages the entries point to.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from scaling_utils._paths import sha256_file

__all__ = [
    "ARTEFACTS",
    "REGISTRY",
    "SCHEMA",
    "STATUSES",
    "Artefact",
    "RegistryError",
    "artefact",
    "data_files",
    "load_registry",
    "provenance_markdown",
    "readme_table",
    "repository",
    "resolve",
    "sha256_of",
]

Status = Literal["reproduced", "reproduced, with a stated difference", "beyond the article", "in progress"]
STATUSES: tuple[str, ...] = ("reproduced", "reproduced, with a stated difference", "beyond the article", "in progress")
"""The statuses an entry may have. Nothing in the article map is left unreproduced; entries
beyond the map (ids ``R1``...) say "beyond the article", or "in progress" (with a note)
while the runs they need are still being made."""

RESULTS_DIR = "data/experiments"


@dataclass(frozen=True)
class Artefact:
    """One artefact of the article and where the book regenerates it.

    Attributes
    ----------
    id : str
        The article map's identifier: ``F1``-``F5``, ``T1``, ``T2``, ``N1``-``N9``.
    title : str
        What the artefact is, in a few words.
    page : str
        The book page (Sphinx docname, e.g. ``notebooks/kaplan``) that shows it.
    labels : tuple of str
        Figure names, table names or MyST targets on that page.
    makers : tuple of str
        Dotted names of the ``scaling_utils`` functions and constants that make it.
    sweeps : tuple of str
        Committed sweeps (``data/experiments/<sweep>.csv``) it reads; empty when it is drawn
        from published constants only.
    sources : tuple of str
        BibTeX keys of the papers it comes from (``book/references.bib``).
    status : str
        One of :data:`STATUSES`.
    note : str
        For a stated difference: what differs and why, in words (the numbers are on the page).
    files : tuple of str
        Other committed data files it reads (paths from the repository root), e.g.
        third-party data under ``data/external/``.
    """

    id: str
    title: str
    page: str
    labels: tuple[str, ...]
    makers: tuple[str, ...]
    sweeps: tuple[str, ...]
    sources: tuple[str, ...]
    status: Status
    note: str = ""
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not self.labels:
            raise ValueError(f"{self.id}: labels must name at least one figure, table or target")
        if self.status in ("reproduced, with a stated difference", "in progress") and not self.note:
            raise ValueError(f"{self.id}: a stated difference needs a note")


REGISTRY = Path(__file__).resolve().parent / "registry" / "artefacts.yaml"
"""The registry, as data: one YAML entry per artefact."""
SCHEMA = REGISTRY.with_name("artefacts.schema.json")
"""Its JSON Schema (draft 2020-12)."""


class RegistryError(ValueError):
    """The registry file does not match its schema (the message names the entry and field)."""


def load_registry(path: Path | str = REGISTRY, schema: Path | str = SCHEMA) -> tuple[Artefact, ...]:
    """Read and validate the registry; ids must be unique.

    Raises
    ------
    RegistryError
        Naming the entry (by index and id) and the field that breaks the schema.

    Examples
    --------
    >>> [a.id for a in load_registry()][:3]
    ['F1', 'F2', 'F3']
    """
    import jsonschema
    import yaml

    path = Path(path)
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise RegistryError(f"{path}: not valid YAML ({err})") from None
    validator = jsonschema.Draft202012Validator(json.loads(Path(schema).read_text(encoding="utf-8")))
    errors = sorted(validator.iter_errors(entries), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = list(err.absolute_path)
        entry = ""
        if where and isinstance(where[0], int) and isinstance(entries[where[0]], dict):
            entry = f" entry {where[0]} ({entries[where[0]].get('id', '?')})"
        field = ".".join(str(p) for p in where[1:]) or "(the entry)"
        raise RegistryError(f"{path.name}:{entry} field {field}: {err.message}")
    seen: set[str] = set()
    out = []
    for e in entries:
        if e["id"] in seen:
            raise RegistryError(f"{path.name}: id {e['id']} appears twice")
        seen.add(e["id"])
        out.append(
            Artefact(
                e["id"],
                e["title"],
                e["page"],
                tuple(e["labels"]),
                tuple(e["makers"]),
                tuple(e.get("sweeps", ())),
                tuple(e["sources"]),
                e["status"],
                e.get("note", ""),
                tuple(e.get("files", ())),
            )
        )
    return tuple(out)


ARTEFACTS: tuple[Artefact, ...] = load_registry()
"""Every artefact of the article map, in the map's order, then the book's own (``R``, ``B``)."""


def artefact(artefact_id: str) -> Artefact:
    """Return the registry entry with this id.

    Examples
    --------
    >>> artefact("F5").page
    'notebooks/chinchilla'
    """
    for a in ARTEFACTS:
        if a.id == artefact_id:
            return a
    known = ", ".join(a.id for a in ARTEFACTS)
    raise ValueError(f"artefact_id must be one of {known}, got {artefact_id!r}")


def resolve(dotted: str) -> Any:
    """Import the object a dotted name such as ``scaling_utils.report.figures.kaplan.kaplan_power_laws`` names.

    Raises
    ------
    ValueError
        If the module or attribute does not exist.

    Examples
    --------
    >>> resolve("scaling_utils.laws.HOFFMANN_2022").alpha
    0.34
    """
    module, _, attr = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"dotted must name an existing object, got {dotted!r} ({err})") from err


def data_files(a: Artefact, root: Path | str = ".") -> list[Path]:
    """The committed files an artefact reads: each sweep's CSV and its ``meta.json``."""
    base = Path(root) / RESULTS_DIR
    return [base / f"{s}{ext}" for s in a.sweeps for ext in (".csv", ".meta.json")] + [Path(root) / f for f in a.files]


sha256_of = sha256_file
"""The sha256 of a file, hex (:func:`scaling_utils._paths.sha256_file`)."""


def _where(a: Artefact) -> str:
    """Links to an artefact's figures, tables and targets (numbered ones by number)."""
    # Sections of the unnumbered Lab notes part have no number: linked by title, like art- targets.
    in_notes = a.page.startswith("book/labnotes")

    def by_title(lab: str) -> bool:
        return lab.startswith("art-") or (in_notes and not lab.startswith(("fig-", "tab-")))

    return ", ".join(f"{{ref}}`{lab}`" if by_title(lab) else f"{{numref}}`{lab}`" for lab in a.labels)


def _api_link(dotted: str) -> str:
    return f"`{dotted.removeprefix('scaling_utils.')}`"


def provenance_markdown(root: Path | str = ".", repository_url: str | None = None) -> str:
    """The provenance page's body as MyST Markdown, generated from :data:`ARTEFACTS`.

    Parameters
    ----------
    root : path
        The repository root (where ``data/`` lies); the sha256 of each data file is computed
        from the file found there.
    repository_url : str, optional
        When given, each data file links to its copy on the repository's default branch.

    Returns
    -------
    str
        A summary table (artefact, where, status) and, per artefact, the functions, data with
        sha256, sources and the stated difference.

    Examples
    --------
    >>> from scaling_utils._paths import repo_root
    >>> text = provenance_markdown(repo_root())  # a checkout, where data/ lies
    >>> text.count("(prov-") == len(ARTEFACTS)  # one section per registry entry
    True
    """
    root = Path(root)
    lines = [
        ":::{table} Every artefact: what it is, where the book shows it, and its status.",
        ":name: tab-provenance",
        ":width: 100%",
        "",
        "| artefact | what | where | status |",
        "| --- | --- | --- | --- |",
    ]
    for a in ARTEFACTS:
        lines.append(f"| {{ref}}`{a.id} <prov-{a.id.lower()}>` | {a.title} | {_where(a)} | {a.status} |")
    lines += [":::", ""]
    for a in ARTEFACTS:
        lines += [f"(prov-{a.id.lower()})=", f"**{a.id}: {a.title}**", ""]
        lines.append(f"Where\n: {{doc}}`/{a.page}`: {_where(a)}")
        lines.append("")
        lines.append("Made by\n: " + ", ".join(_api_link(m) for m in a.makers))
        lines.append("")
        if a.sweeps or a.files:
            cells = []
            for f in data_files(a, root):
                rel = f.relative_to(root).as_posix()
                name = f"[`{rel}`]({repository_url.rstrip('/')}/blob/HEAD/{rel})" if repository_url else f"`{rel}`"
                cells.append(f"{name} sha256 `{sha256_of(f)}`")
            lines.append("Data")
            lines += [f": {c}" for c in cells]
        else:
            lines.append("Data\n: published constants only (no measurement)")
        lines.append("")
        lines.append("Sources\n: " + ", ".join(f"{{cite:t}}`{k}`" for k in a.sources))
        lines.append("")
        lines.append(f"Status\n: {a.status}" + (f". {a.note}" if a.note else ""))
        lines.append("")
    return "\n".join(lines)


README_START = "<!-- artefacts: generated from scaling_utils/report/registry/artefacts.yaml by `make readme-table` -->"
README_END = "<!-- artefacts: end -->"


def readme_table(artefacts: tuple[Artefact, ...] | None = None) -> str:
    """The README's table of where each artefact lives, one row per page, from the registry.

    Rows follow the registry's order of first appearance; each lists the page's artefacts
    (id and title), the page's source file and what its artefacts are made from.

    Examples
    --------
    >>> print(readme_table()[:60])
    | artefacts | page | made from |
    | --- | --- | --- |
    | F1: ...
    """
    artefacts = ARTEFACTS if artefacts is None else artefacts
    pages: dict[str, list[Artefact]] = {}
    for a in artefacts:
        pages.setdefault(a.page, []).append(a)
    lines = ["| artefacts | page | made from |", "| --- | --- | --- |"]
    for page, group in pages.items():
        what = "; ".join(f"{a.id}: {a.title}" for a in group)
        sweeps = sorted({s for a in group for s in a.sweeps})
        files = sorted({f for a in group for f in a.files})
        made = []
        if any(not a.sweeps and not a.files for a in group):
            made.append("published constants")
        if sweeps:
            made.append("our sweeps " + ", ".join(f"`{s}`" for s in sweeps))
        if files:
            made.append("released data " + ", ".join(f"`{f}`" for f in files))
        lines.append(f"| {what} | `{page}.md` | {'; '.join(made)} |")
    return "\n".join(lines) + "\n"


def write_readme_table(root: Path | str = ".") -> Path:
    """Replace the table between the README's markers by :func:`readme_table` (``make readme-table``)."""
    path = Path(root) / "README.md"
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} lacks the markers {README_START!r} ... {README_END!r}")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    path.write_text(f"{head}{README_START}\n{readme_table()}{README_END}{tail}", encoding="utf-8")
    return path


def repository(root: Path | str = ".") -> tuple[str, str]:
    """The repository URL and branch that ``_config.yml`` names (the book's one source for both).

    Raises
    ------
    ValueError
        If ``_config.yml`` has no ``repository: url:``.
    """
    import yaml  # PyYAML comes with the book extra (jupyter-book)

    config = yaml.safe_load((Path(root) / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    if not repo.get("url"):
        raise ValueError(f"{Path(root) / '_config.yml'} must set repository: url:")
    return str(repo["url"]).rstrip("/"), str(repo.get("branch", "main"))


if __name__ == "__main__":  # pragma: no cover - `make readme-table`
    import sys

    print(write_readme_table(sys.argv[1] if len(sys.argv) > 1 else "."))
