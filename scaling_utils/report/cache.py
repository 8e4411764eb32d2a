"""Results that cost seconds, cached by the hash of their inputs and of the code that made them.

A page calls ``cached(fn, *args, **kwargs)`` instead of ``fn(*args, **kwargs)``. The key is the
sha256 of the function's name, of its arguments (arrays, tables and numbers, encoded exactly;
never a fitted result, whose last digits vary with the processor, so the same committed data
give the same key on any machine)
and of the source of the function's module and of every scaling_utils module it imports,
transitively (found by reading their imports, inside functions too). A file
``data/cache/<function>-<key>.pkl`` with that key is read; otherwise the function runs. So a
reader's "try changing" edit, or any change to the code below, recomputes instead of reading a
stale result (showyourwork's rule).

Only ``make cache`` writes (``python -m scaling_utils.report.cache``): it executes every page
with writing on, then removes the files no page asked for. Each file holds the call
(function, arguments) beside the result, so a test can recompute one and compare.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._paths import repo_root

__all__ = ["CACHE_DIR", "WRITE_ENV", "cache_key", "cached", "code_sha", "load_entry"]

CACHE_DIR = Path("data") / "cache"
"""Where the cached results live, from the repository root (committed)."""

WRITE_ENV = "SCALING_BOOK_CACHE"
"""Set to ``write`` to write cache files (``make cache`` does); anything else reads only."""


def _module_file(module: str) -> Path | None:
    base = repo_root() / Path(*module.split("."))
    for f in (base.with_suffix(".py"), base / "__init__.py"):
        if f.is_file():
            return f
    return None


def _imports(path: Path) -> set[str]:
    """The scaling_utils modules a file imports, inside functions too (``from a import b``: ``a.b`` if a module)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("scaling_utils")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scaling_utils"):
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names if _module_file(f"{node.module}.{a.name}")}
    return out


def code_sha(module: str) -> str:
    """sha256 of the source of ``module`` and of every scaling_utils module it imports, transitively."""
    if _module_file(module) is None:
        raise ValueError(f"{module!r} is not a module of this repository")
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        m = todo.pop()
        f = _module_file(m)
        if m in seen or f is None:
            continue
        seen[m] = f
        parts = m.split(".")
        todo += [".".join(parts[:i]) for i in range(2, len(parts))]  # the packages' __init__ run too
        todo += sorted(_imports(f))
    h = hashlib.sha256()
    for m in sorted(seen):
        h.update(m.encode() + b"\0" + seen[m].read_bytes() + b"\0")
    return h.hexdigest()


def _encode(value) -> object:
    """A JSON-able, exact encoding of an argument (floats by repr, arrays and tables in full)."""
    if isinstance(value, pd.DataFrame):
        return {"DataFrame": value.to_csv(index=True, float_format="%r")}
    if isinstance(value, np.ndarray):
        return {"ndarray": [str(value.dtype), list(value.shape), value.ravel().tolist()]}
    if isinstance(value, pd.Series):
        return {"Series": value.to_frame().to_csv(index=True, float_format="%r")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        raise TypeError(
            f"cached() does not key a result ({type(value).__name__}): a fit's last digits differ from one "
            "processor to another, so its key would too; pass the data it was fitted to"
        )
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in sorted(value.items())}
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, (np.integer, int, bool, str)) or value is None:
        return value.item() if isinstance(value, np.generic) else value
    raise TypeError(f"cached() cannot key an argument of type {type(value).__name__}; pass arrays, tables or numbers")


def cache_key(fn, args: tuple, kwargs: dict) -> str:
    """The first 16 hex digits of the sha256 of the call and of the code below it."""
    blob = json.dumps({"fn": f"{fn.__module__}.{fn.__qualname__}", "args": _encode(list(args)),
                       "kwargs": _encode(kwargs), "code": code_sha(fn.__module__)}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _path(fn, key: str) -> Path:
    return repo_root() / CACHE_DIR / f"{fn.__qualname__}-{key}.pkl"


def cached(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, read from ``data/cache`` when a file with this call's key exists.

    Examples
    --------
    >>> import numpy as np
    >>> from scaling_utils.fitting import fit_power_law
    >>> round(cached(fit_power_law, np.array([1.0, 10.0, 100.0]), np.array([2.0, 20.0, 200.0])).exponent, 6)
    1.0
    """
    key = cache_key(fn, args, kwargs)
    path = _path(fn, key)
    write = os.environ.get(WRITE_ENV) == "write"
    if path.is_file():
        result = load_entry(path)["result"]
    else:
        result = fn(*args, **kwargs)
        if write:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"fn": f"{fn.__module__}:{fn.__qualname__}", "args": args, "kwargs": kwargs, "key": key,
                     "result": result}  # fmt: skip
            path.write_bytes(pickle.dumps(entry, protocol=4))
    if write:  # make cache keeps the files some page asked for
        with (path.parent / ".used").open("a") as f:
            f.write(path.name + "\n")
    return result


def load_entry(path: Path) -> dict:
    """A cache file's call and result: ``fn`` (``module:qualname``), ``args``, ``kwargs``, ``key``, ``result``."""
    entry = pickle.loads(Path(path).read_bytes())
    if not {"fn", "args", "kwargs", "key", "result"} <= set(entry):
        raise ValueError(f"{path} is not a cache entry (written by scaling_utils.report.cache.cached)")
    return entry


def resolve(name: str):
    """The function named ``module:qualname`` in a cache entry."""
    module, qualname = name.split(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def main() -> int:
    """``python -m scaling_utils.report.cache``: execute every page with writing on; drop files no page used."""
    import sys

    sys.path.insert(0, str(repo_root() / "benchmarks"))
    from book_build import pages, run  # the benchmark's executor: every page with a kernel

    folder = repo_root() / CACHE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    used = folder / ".used"
    used.unlink(missing_ok=True)
    os.environ[WRITE_ENV] = "write"
    for page in pages():
        run(page)
    keep = set(used.read_text().split()) if used.is_file() else set()
    used.unlink(missing_ok=True)
    for f in folder.glob("*.pkl"):
        if f.name not in keep:
            f.unlink()
    print(f"{len(keep)} cached results in {CACHE_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
