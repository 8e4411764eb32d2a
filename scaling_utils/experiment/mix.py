"""The ``mix`` training text: 20 pinned sources, deduplicated, interleaved, 1 block in 20 held out.

``mix_fit`` is trained on and ``mix`` is its held-out split. The mix is every source of the
old ``train`` text (GCIDE, manual pages, Shakespeare) without the 12 MB cap, plus the
sources of :data:`MIX_TABLE`: Debian's documentation packages (Python, Django,
PostgreSQL, Git, Perl, the Linux kernel, Vim, the Debian manuals), dictionaries (WordNet,
FOLDOC) and two public-domain books (the Jargon File, Bierce's *Devil's Dictionary*). It
leans technical; the evaluation distributions (``austen``, ``kjv``, ``web``, ``spanish``,
``fortunes``, ``code``) stay apart from it.

Each source's prepared text goes through :func:`dedup_paragraphs`: a paragraph (text
between blank lines) of at least :data:`MIN_DUP_BYTES` bytes, compared after collapsing its
whitespace, is dropped when it occurs in an evaluation source's full prepared text, or
already occurred earlier in the mix (sources in order); a paragraph whose letters are over
30% non-ASCII is dropped too (translations, the odd non-English page). :func:`interleave` then
spreads each source's 4 KB blocks evenly over the mix, so any prefix holds every source in
proportion to its size.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

__all__ = [
    "MIN_DUP_BYTES",
    "MIX_TABLE",
    "DedupStats",
    "build_mix",
    "dedup_paragraphs",
    "eval_keys",
    "interleave",
    "split_block_list",
]

MIN_DUP_BYTES = 64
"""Paragraphs shorter than this (after collapsing whitespace) are never treated as duplicates."""
NON_ASCII_MAX = 0.3
"""A paragraph (of 16 letters or more) whose letters are more than this fraction non-ASCII is dropped
as not English; box-drawing tables and non-breaking spaces are not letters, so they stay."""

# (name, package, version, licence as stated in the copyright file, extractor); all Debian.
MIX_TABLE = (
    ("python_docs", "python3.11-doc", "3.11.2-6+deb12u9", "PSF-2.0 (Python licence)", "python_docs"),
    ("django_docs", "python-django-doc", "3:3.2.25-0+deb12u7", "BSD-3-Clause", "django_docs"),
    ("postgresql_docs", "postgresql-doc-15", "15.20-0+deb12u1", "PostgreSQL", "postgresql_docs"),
    ("git_docs", "git-doc", "1:2.39.5-0+deb12u3", "GPL-2 (documentation; see copyright file)", "git_docs"),
    ("perl_docs", "perl-doc", "5.36.0-7+deb12u4", "GPL-1+ or Artistic", "perl_docs"),
    ("linux_docs", "linux-doc-6.1", "6.1.192-3", "GPL-2 (Documentation/; see copyright file)", "linux_docs"),
    ("manpages_dev", "manpages-dev", "6.03-2", "various free licences (copyright file in manpages)", "manpages"),
    ("vim_docs", "vim-runtime", "2:9.0.1378-2+deb12u2", "OPL-1+ (runtime/doc)", "vim_docs"),
    ("debian_handbook", "debian-handbook", "11.20220922", "GPL-2+ or CC-BY-SA-3.0", "debian_handbook"),
    ("debian_reference", "debian-reference-en", "2.100", "GPL-2+", "debian_reference"),
    ("debian_policy", "debian-policy", "4.6.2.0", "GPL-2+ (and BSD-3-clause, FHS licence parts)", "debian_policy"),
    ("developers_reference", "developers-reference", "12.18", "GPL-2", "developers_reference"),
    ("maint_guide", "maint-guide", "1.2.53", "GPL-2+", "maint_guide"),
    ("debian_faq", "debian-faq", "11.1", "permissive (copies and modified copies allowed)", "debian_faq"),
    ("wordnet", "dict-wn", "1:3.0-37", "WordNet-3.0 (BSD-like)", "dictd"),
    ("foldoc", "dict-foldoc", "20230119-1", "GFDL-1.1+ (no invariant sections)", "dictd"),
    ("jargon", "jargon-text", "4.4.7-4.1", "public domain", "jargon"),
    ("devil", "dict-devil", "1.0-13.1", "public domain (copyright expired)", "dictd"),
)


@dataclass
class DedupStats:
    """Bytes (UTF-8) of one source: prepared, dropped as evaluation text, repeated, not English, kept.

    ``eval_overlap`` is what duplicated an evaluation text, ``duplicate`` what repeated a
    paragraph met earlier in the mix.
    """

    prepared: int = 0
    eval_overlap: int = 0
    duplicate: int = 0
    non_english: int = 0
    kept: int = 0


def _key(paragraph: str) -> bytes | None:
    flat = " ".join(paragraph.split()).encode("utf-8")
    return hashlib.blake2b(flat, digest_size=16).digest() if len(flat) >= MIN_DUP_BYTES else None


def _non_english(paragraph: str) -> bool:
    letters = [c for c in paragraph if c.isalpha()]
    return len(letters) >= 16 and sum(ord(c) > 127 for c in letters) > NON_ASCII_MAX * len(letters)


def paragraphs(text: str) -> list[str]:
    """Paragraphs of normalised text (split at blank lines), empty ones left out."""
    return [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]


def eval_keys(text: str) -> set[bytes]:
    """The duplicate keys of every long-enough paragraph of an evaluation text."""
    return {k for p in paragraphs(text) if (k := _key(p)) is not None}


def dedup_paragraphs(text: str, seen: set[bytes], held_out: frozenset[bytes] | set[bytes] = frozenset()):
    r"""Drop from ``text`` the paragraphs in ``held_out`` or already in ``seen``, and non-English ones.

    ``seen`` is updated with the keys of the kept paragraphs, so calling this on each source
    in turn deduplicates the whole mix. Returns (kept text, :class:`DedupStats`). Paragraphs
    shorter than :data:`MIN_DUP_BYTES` (after collapsing whitespace) are always kept.

    Examples
    --------
    >>> long = "a paragraph long enough to be compared with the others, surely " * 2
    >>> seen = set()
    >>> kept, stats = dedup_paragraphs(f"{long}\n\nshort\n\n{long}\n\nshort\n", seen)
    >>> kept.count("paragraph"), kept.count("short"), stats.duplicate
    (2, 2, 128)
    """
    stats = DedupStats(prepared=len(text.encode("utf-8")))
    kept = []
    for p in paragraphs(text):
        size = len(p.encode("utf-8")) + 2
        key = _key(p)
        if key is not None and key in held_out:
            stats.eval_overlap += size
        elif key is not None and key in seen:
            stats.duplicate += size
        elif _non_english(p):
            stats.non_english += size
        else:
            if key is not None:
                seen.add(key)
            kept.append(p.strip("\n").rstrip())
    out = "\n\n".join(kept) + "\n" if kept else ""
    stats.kept = len(out.encode("utf-8"))
    return out, stats


def interleave(parts: list[bytes], block: int) -> list[bytes]:
    """Cut each part into ``block``-byte blocks and spread each part's blocks evenly over the result.

    Block ``j`` of a part with ``n`` blocks sits at ``(j + 0.5) / n`` of the way through;
    ties go to the earlier part. Any prefix of the result holds every part in proportion to
    its size (the old round-robin ran the small parts dry early).

    Examples
    --------
    >>> interleave([b"aaaa", b"bb"], 1)
    [b'a', b'b', b'a', b'a', b'b', b'a']
    """
    keyed = []
    for k, part in enumerate(parts):
        blocks = [part[i : i + block] for i in range(0, len(part), block)]
        n = len(blocks)
        keyed += [((2 * j + 1) / (2 * n), k, b) for j, b in enumerate(blocks)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [b for _, _, b in keyed]


def split_block_list(blocks: list[bytes], every: int) -> tuple[bytes, bytes]:
    """(training, held-out) of a list of blocks: block ``i`` is held out when ``i % every == every - 1``."""
    train = b"".join(b for i, b in enumerate(blocks) if i % every != every - 1)
    held = b"".join(b for i, b in enumerate(blocks) if i % every == every - 1)
    return train, held


def build_mix(parts: dict[str, bytes], eval_texts: list[bytes], block: int = 4096, every: int = 20):
    r"""(``mix_fit``, ``mix``, table): deduplicate each part in order, interleave, hold out blocks.

    ``parts`` maps each source of the mix to its prepared UTF-8 text, in the mix's order;
    ``eval_texts`` are the full prepared evaluation texts that no paragraph may repeat. The
    table gives each source's bytes (:class:`DedupStats`) and the sha256 of what it kept.

    Examples
    --------
    >>> para = "words enough to make one paragraph count as a long paragraph here; "
    >>> fit, held, table = build_mix({"a": (para * 2 + "\n\nA\n").encode(), "b": (para * 2).encode()},
    ...                              [b"eval"], block=4, every=2)
    >>> table["total"]["duplicate_bytes"] > 0, len(fit) + len(held) == table["total"]["kept_bytes"]
    (True, True)
    """
    held_out: set[bytes] = set()
    for text in eval_texts:
        held_out |= eval_keys(text.decode("utf-8"))
    seen: set[bytes] = set()
    kept: list[bytes] = []
    table: dict[str, dict] = {}
    for name, text in parts.items():
        out, stats = dedup_paragraphs(text.decode("utf-8"), seen, held_out)
        data = out.encode("utf-8")
        kept.append(data)
        table[name] = {f"{k}_bytes": v for k, v in asdict(stats).items()}
        table[name]["kept_sha256"] = hashlib.sha256(data).hexdigest()
    train, held = split_block_list(interleave(kept, block), every)
    total = {k: sum(t[k] for t in table.values()) for k in (f"{f}_bytes" for f in asdict(DedupStats()))}
    info = {"min_dup_bytes": MIN_DUP_BYTES, "non_ascii_max": NON_ASCII_MAX, "block": block, "holdout_every": every}
    return train, held, {"sources": table, "total": total, **info}
