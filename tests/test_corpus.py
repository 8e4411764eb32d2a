"""The corpus: the ``mix`` training text (dedup, interleaving, lock) and its extractors; offline and fast."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from scaling_utils.experiment.corpus import (
    EVAL_ROLES,
    MIX_SOURCES,
    SOURCES,
    check_lock,
    load_corpus,
    load_distribution,
)
from scaling_utils.experiment.extract import EXTRACTORS
from scaling_utils.experiment.extract_docs import html_text, pod_text, rst_text, tree_text
from scaling_utils.experiment.mix import MIN_DUP_BYTES, build_mix, dedup_paragraphs, interleave, split_block_list

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "experiments" / "corpus.lock.json"
BUILT = ROOT / "data" / "corpus"

# The corpus of the committed sweeps (experiments/corpus.lock.json at commit eee6742): the
# 14 distributions they trained and were evaluated on. The mix must leave every one as it was.
COMMITTED = {
    "austen": "8cd7a593d67eedc8fbf1146a601952b1ab475aefb562ba7693ccc48e55ce489b",
    "code": "0ba19d36d42179ea5fc35f7bddc3fd0a29a20c9e76a78d2b36f53bcec4c5e4be",
    "fortunes": "b3981e7b8c2a4665ea9f8a7fb80be72caab43c7a1c7bd93149214c102c66f10c",
    "kjv": "ef4196af86cfb731539a039208ef9453a1f5babc1247d694917d38be7d0fd7fe",
    "markov": "b13f4057d9aea40285f4fc03034e0c2427c4ffb6d20104398b7b54248a7b3c31",
    "markov1": "09c73653ad962bd11b5d727e4311ef0b949503a7f6fd6bb2011667ada46a6043",
    "markov1_fit": "2b860c456314e7bffbc09ad38164115ed5361a7b0e8d7ca5feaa22d7b437f3d3",
    "markov2": "54d57df4ca85b53285b7a200db39f261f880647535fe719dc0ee2949d0d3719e",
    "markov2_fit": "565f8005c650b88a1a4dacdbb6ab7aafa0f77a84fb7a8850b7d0b88cf23fc994",
    "markov_fit": "f44d82320e6c6b594b780d5e9bcf3cecfd1bc3340b0a59e664b46e7a13e6bdbd",
    "spanish": "d3ed1d9146abef22589d8608a6a4bb94ea948862edbcb898f5f370bee459a3d2",
    "train": "0b8aa8ff2b81d1e65aca6cb30205ef0a59ac71ac3f9c94f361664fc0d32ea050",
    "train_fit": "9652b198e8431f7679a1fb5495c90833732f93bc8e9d032a194065665cc1c6ef",
    "web": "4c2f13c68ceb2c7b36d380975a5602784364e1633006e2e9f1ad12357959f73c",
}

LONG = "This paragraph is long enough to count: it has well over sixty-four bytes of text in it."


def _lock() -> dict:
    return json.loads(LOCK.read_text())


# ------------------------------------------------------------------ deduplication


def test_dedup_drops_repeats_keeps_first_and_short_paragraphs():
    seen: set[bytes] = set()
    text = f"{LONG}\n\nok\n\n{LONG}\n\nok\n\nanother line\n"
    kept, stats = dedup_paragraphs(text, seen)
    assert kept == f"{LONG}\n\nok\n\nok\n\nanother line\n"
    assert stats.duplicate == len(LONG) + 2
    assert stats.prepared == len(text) and stats.kept == len(kept)
    # The set carries across sources: a later source loses the paragraph too,
    # compared after collapsing whitespace.
    kept2, stats2 = dedup_paragraphs("  " + LONG.replace(" ", "\n", 3) + "\n\nnew\n", seen)
    assert kept2 == "new\n" and stats2.duplicate > 0


def test_dedup_against_evaluation_text_and_non_english():
    from scaling_utils.experiment.mix import eval_keys

    held = eval_keys(f"intro\n\n{LONG}\n")
    greek = "Αυτή είναι μια παράγραφος στα ελληνικά, αρκετά μεγάλη για να μετρήσει."
    kept, stats = dedup_paragraphs(f"{LONG}\n\n{greek}\n\nkeep me\n", set(), held)
    assert kept == "keep me\n"
    assert stats.eval_overlap == len(LONG) + 2
    assert stats.non_english == len(greek.encode()) + 2
    assert stats.duplicate == 0
    assert len(" ".join("short paragraph".split())) < MIN_DUP_BYTES


def test_interleave_spreads_every_part_over_the_whole():
    parts = [b"a" * 400, b"b" * 100, b"c" * 20]
    blocks = interleave(parts, 10)
    assert sorted(blocks) == sorted(p[i : i + 10] for p in parts for i in range(0, len(p), 10))
    for k in (13, 26, 39):  # every prefix holds each part in proportion, to within a block
        prefix = b"".join(blocks[:k])
        for p in parts:
            assert abs(prefix.count(p[:1]) - len(prefix) * len(p) / 520) <= 10
    train, held = split_block_list([b"0", b"1", b"2", b"3"], every=2)
    assert (train, held) == (b"02", b"13")


def test_build_mix_table_adds_up():
    parts = {"a": f"{LONG}\n\nx\n".encode(), "b": f"{LONG}\n\ny\n".encode(), "c": b"only eval\n\nz\n"}
    fit, held, table = build_mix(parts, [b"only eval\n"], block=4, every=3)
    total = table["total"]
    assert total["kept_bytes"] == len(fit) + len(held)
    assert table["sources"]["b"]["duplicate_bytes"] == len(LONG) + 2
    assert total["prepared_bytes"] == sum(len(p) for p in parts.values())
    assert table["sources"]["c"]["eval_overlap_bytes"] == 0  # "only eval" is shorter than MIN_DUP_BYTES


# ------------------------------------------------------------------ extractors


def test_html_text_skips_navigation_and_keeps_pre():
    page = (
        "<html><head><title>x</title><style>p{}</style></head><body>"
        "<div class='related' role='navigation'><a>prev</a><div><a>next</a></div></div>"
        "<div class='body' role='main'><h1>Title<a class='headerlink' href='#'>¶</a></h1>"
        "<p>One  &amp;\n two<br>three</p><pre>  indented\n    code</pre>"
        "<table><tr><td>a</td><td>b</td></tr></table><img src=x></div>"
        "<div class='footer'>© footer</div><script>var x;</script></body></html>"
    )
    assert html_text(page) == "Title\n\nOne & two\nthree\n\n  indented\n    code\n\na  b\n"


def test_pod_text():
    pod = (
        "=pod\n\n=encoding utf8\n\n=head1 NAME\n\nI<perlx> - F<file> and X<index>S<no break>\n\n"
        "=begin html\n\n<p>skipped</p>\n\n=end html\n\n=over\n\n=item B<-x>\n\nE<0x41>E<eacute>\n\n"
        "=back\n\n  my $x = 1;\n  print $x;\n\n=cut\n\nsub code {}\n"
    )
    assert pod_text(pod) == "NAME\n\nperlx - file and no break\n\n-x\n\nAé\n\n  my $x = 1;\n  print $x;"


def test_rst_text():
    rst = (
        ".. SPDX-License-Identifier: GPL-2.0\n\n.. _label:\n\nTitle\n-----\n\n"
        ".. toctree::\n   :maxdepth: 2\n\nUse :c:func:`kmalloc` and :doc:`the docs </x/y>`, see `LWN <https://x>`_.\n\n"
        ".. note::\n\n   Indented note.\n"
    )
    assert rst_text(rst) == "Title\n\nUse kmalloc and the docs, see LWN.\n\n   Indented note."


def test_tree_text_reads_gz_skips_links_and_excluded(tmp_path):
    (tmp_path / "d" / "translations").mkdir(parents=True)
    (tmp_path / "d" / "b.rst.gz").write_bytes(gzip.compress(b"Bee\n===\n\ntext b"))
    (tmp_path / "d" / "a.txt").write_text("text a")
    (tmp_path / "d" / "translations" / "c.txt").write_text("skipped")
    (tmp_path / "d" / "link.txt").symlink_to(tmp_path / "d" / "a.txt")
    out = tree_text(tmp_path, ("d/**/*.txt", "d/**/*.rst.gz"), exclude=("/translations/",))
    assert out == "text a\n\nBee\n\ntext b"
    with pytest.raises(FileNotFoundError):
        tree_text(tmp_path, ("nothing/*.html",))


# ------------------------------------------------------------------ sources and lock


def test_mix_sources_are_pinned_free_and_apart_from_evaluation():
    eval_packages = {s.package for s in SOURCES if s.role in EVAL_ROLES}
    free = ("GPL", "BSD", "PSF", "PostgreSQL", "Artistic", "OPL", "CC-BY-SA", "WordNet", "GFDL", "public domain")
    free += ("permissive", "various free")
    for s in MIX_SOURCES:
        assert s.package not in eval_packages
        assert s.version and s.extractor in EXTRACTORS
        assert any(f in s.licence for f in free), s
    assert len({s.name for s in SOURCES}) == len(SOURCES)


def test_lock_keeps_the_committed_corpus():
    dists = _lock()["distributions"]
    for name, sha in COMMITTED.items():
        assert dists[name]["sha256"] == sha, f"{name} changed: the committed sweeps would not reproduce"


def test_lock_gives_bytes_per_distribution_and_source():
    lock = _lock()
    dists = lock["distributions"]
    assert dists["mix_fit"]["bytes"] >= 120_000_000
    assert 0.04 < dists["mix"]["bytes"] / dists["mix_fit"]["bytes"] < 0.06  # 1 block in 20
    table = lock["mix"]["sources"]
    mix_names = [s.name for s in SOURCES if s.role in ("train", "mix")]
    assert sorted(table) == sorted(mix_names)
    for name, row in table.items():
        removed = row["eval_overlap_bytes"] + row["duplicate_bytes"] + row["non_english_bytes"]
        assert 0 < row["kept_bytes"] <= row["prepared_bytes"] - removed + 1, name
        assert lock["sources"][name]["prepared_sha256"]
    assert sum(r["kept_bytes"] for r in table.values()) == dists["mix_fit"]["bytes"] + dists["mix"]["bytes"]


def test_check_lock_names_the_changed_source(tmp_path):
    lock = _lock()
    manifest = {
        "distributions": {k: dict(v) for k, v in lock["distributions"].items()},
        "sources": [{"name": "gcide", "prepared_sha256": "0" * 64}],
    }
    manifest["distributions"]["mix"]["sha256"] = "f" * 64
    problems = check_lock(manifest, LOCK)
    assert any(p.startswith("source gcide (dict-gcide=") for p in problems)
    assert any(p.startswith("mix: hash mismatch") for p in problems)


def test_load_distribution_maps_read_only_and_checks_hash(tmp_path):
    data = bytes(range(256)) * 4
    (tmp_path / "x.bin").write_bytes(data)
    info = {"x": {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}}
    (tmp_path / "manifest.json").write_text(json.dumps({"distributions": info}))
    arr = load_distribution(tmp_path, "x")
    assert isinstance(arr, np.memmap) and arr.dtype == np.uint8 and not arr.flags.writeable
    assert arr.tobytes() == data
    assert load_corpus(tmp_path, ("x",)) == {"x": data}
    with pytest.raises(KeyError, match="no distribution 'y'"):
        load_distribution(tmp_path, "y")
    (tmp_path / "x.bin").write_bytes(data[::-1])  # changes the file: checked again
    with pytest.raises(ValueError, match="does not match its manifest hash"):
        load_distribution(tmp_path, "x")


@pytest.mark.skipif(
    not (BUILT / "manifest.json").is_file(),
    reason="no built corpus at data/corpus (make corpus builds it, ~5 min): its hashes are not checked",
)
def test_built_corpus_matches_the_lock():
    manifest = json.loads((BUILT / "manifest.json").read_text())
    assert check_lock(manifest, LOCK) == []
    assert manifest["mix"]["sources"] == _lock()["mix"]["sources"]
    for name, info in manifest["distributions"].items():
        assert (BUILT / f"{name}.bin").stat().st_size == info["bytes"]
    held = load_distribution(BUILT, "mix")
    assert len(held) == manifest["distributions"]["mix"]["bytes"]
