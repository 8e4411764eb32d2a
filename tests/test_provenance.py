"""The provenance registry covers the whole article map, and every entry points at something real."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from scaling_utils.report import provenance
from tests.conftest import ROOT, SHARED

# The article map's identifiers (../shared/ARTICLE_MAP.md), kept here too so that the test
# still bites where ../shared is absent.
MAP_IDS = ["F1", "F2", "F3", "F4", "F5", "T1", "T2", *(f"N{i}" for i in range(1, 10))]
# The book's own artefacts beyond the map.
BOOK_IDS = ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "B1", "B2", "B3", "B4"]


def _toc_files() -> set[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = {toc["root"]}
    for part in toc["parts"]:
        files |= {c["file"] for c in part["chapters"]}
    return files


def test_registry_matches_the_map_ids_in_order():
    assert [a.id for a in provenance.ARTEFACTS] == MAP_IDS + BOOK_IDS
    for a in provenance.ARTEFACTS:
        beyond = a.status in ("beyond the article", "in progress")
        assert beyond == (a.id in BOOK_IDS), f"{a.id}: status {a.status!r}"


def test_registry_matches_the_article_map_file():
    path = SHARED / "ARTICLE_MAP.md"
    if not path.is_file():
        pytest.skip(f"{path} is absent (it lies beside the project checkout in development and CI)")
    text = path.read_text(encoding="utf-8")
    in_map = re.findall(r"^### ([FT]\d) ", text, flags=re.M) + re.findall(r"^\| (N\d) \|", text, flags=re.M)
    assert sorted(in_map) == sorted(MAP_IDS)


@pytest.mark.parametrize("a", provenance.ARTEFACTS, ids=lambda a: a.id)
def test_entry_points_at_real_things(a):
    assert a.page in _toc_files(), f"{a.id}: {a.page} is not in _toc.yml"
    source = (ROOT / f"{a.page}.md").read_text(encoding="utf-8")
    for label in a.labels:
        assert f"({label})=" in source or f"name: {label}" in source, f"{a.id}: no {label} on {a.page}"
    for dotted in a.makers:
        provenance.resolve(dotted)  # raises if it names nothing
        assert dotted.rsplit(".", 1)[1] in source, f"{a.id}: {a.page} never uses {dotted}"
    for sweep in a.sweeps:
        assert f'load_sweep_results("{sweep}"' in source, f"{a.id}: {a.page} never reads the {sweep} sweep"
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    for key in a.sources:
        assert re.search(rf"@\w+\{{{key},", bib), f"{a.id}: {key} not in references.bib"


@pytest.mark.parametrize("a", [a for a in provenance.ARTEFACTS if a.sweeps], ids=lambda a: a.id)
def test_data_files_exist_and_match_their_recorded_hash(a):
    for f in provenance.data_files(a, ROOT):
        assert f.is_file(), f
    for sweep in a.sweeps:
        meta = json.loads((ROOT / provenance.RESULTS_DIR / f"{sweep}.meta.json").read_text(encoding="utf-8"))
        csv = ROOT / provenance.RESULTS_DIR / f"{sweep}.csv"
        assert provenance.sha256_of(csv) == meta["csv_sha256"]


def test_markdown_lists_every_artefact_with_hashes():
    text = provenance.provenance_markdown(ROOT, repository_url="https://github.com/o/r")
    for a in provenance.ARTEFACTS:
        assert f"(prov-{a.id.lower()})=" in text
        assert a.status in text
    assert provenance.sha256_of(ROOT / "data/experiments/size.csv") in text
    assert "https://github.com/o/r/blob/HEAD/data/experiments/size.csv" in text


def test_bad_entries_and_lookups_are_refused():
    good = provenance.ARTEFACTS[0]
    with pytest.raises(ValueError, match="status must be one of"):
        provenance.Artefact(**{**good.__dict__, "status": "done"})
    with pytest.raises(ValueError, match="needs a note"):
        provenance.Artefact(**{**good.__dict__, "note": ""})
    with pytest.raises(ValueError, match="labels must name"):
        provenance.Artefact(**{**good.__dict__, "labels": ()})
    with pytest.raises(ValueError, match="artefact_id must be one of"):
        provenance.artefact("F9")
    with pytest.raises(ValueError, match="dotted must name an existing object"):
        provenance.resolve("scaling_utils.report.figures.chinchilla.no_such_figure")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda e: e[1].pop("makers"), r"entry 1 \(F2\) field \(the entry\): 'makers' is a required property"),
        (lambda e: e[0].update(status="done"), r"entry 0 \(F1\) field status: 'done' is not one of"),
        (lambda e: e[2].update(labels=[]), r"entry 2 \(F3\) field labels: \[\] should be non-empty"),
        (lambda e: e[0].pop("note"), r"entry 0 \(F1\) field \(the entry\): 'note' is a required property"),
        (lambda e: e[3].update(page="/abs/path"), r"entry 3 \(F4\) field page: '/abs/path' does not match"),
        (lambda e: e[0].update(colour="red"), r"entry 0 \(F1\) .*Additional properties are not allowed"),
        (lambda e: e.append(dict(e[0])), "id F1 appears twice"),
    ],
)
def test_registry_file_errors_name_the_entry_and_field(tmp_path, edit, message):
    entries = yaml.safe_load(provenance.REGISTRY.read_text(encoding="utf-8"))
    edit(entries)
    bad = tmp_path / "artefacts.yaml"
    bad.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    with pytest.raises(provenance.RegistryError, match=message):
        provenance.load_registry(bad)


def test_registry_file_that_is_not_yaml(tmp_path):
    bad = tmp_path / "artefacts.yaml"
    bad.write_text("- id: [unclosed\n", encoding="utf-8")
    with pytest.raises(provenance.RegistryError, match="not valid YAML"):
        provenance.load_registry(bad)


def test_repository_comes_from_the_config(tmp_path):
    url, branch = provenance.repository(ROOT)
    assert url.startswith("https://github.com/") and branch
    (tmp_path / "_config.yml").write_text("title: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="repository: url"):
        provenance.repository(tmp_path)


def test_every_reference_is_cited_in_the_book():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    keys = re.findall(r"^@\w+\{([\w-]+),", bib, flags=re.M)
    pages = "\n".join(p.read_text(encoding="utf-8") for p in [*ROOT.glob("notebooks/*.md"), *ROOT.glob("book/*.md")])
    cited = set(re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", pages))
    cited = {k.strip() for group in cited for k in group.split(",")}
    assert len(keys) >= 10
    assert sorted(set(keys) - cited) == []


def test_readme_table_is_generated_from_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = provenance.README_START, provenance.README_END
    assert start in text and end in text
    table = text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"
    assert table == provenance.readme_table(), "stale README table: run `make readme-table`"
    for a in provenance.ARTEFACTS:
        assert f"{a.id}: " in table
