"""Input checks shared by the public functions of :mod:`scaling_utils`.

Every public function converts its inputs here, at the API boundary, so that bad input
raises a clear :class:`ValueError` or :class:`TypeError` naming the argument instead of a
silent NaN or a traceback from deep inside numpy or scipy.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_float_array",
    "as_positive",
    "broadcast",
    "check_int",
    "check_level",
    "paired",
    "positive_scalar",
    "scalar_or_array",
]


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array, rejecting non-numeric input with a TypeError."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number or an array of real numbers, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or an array of real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _describe_bad(arr: NDArray[np.float64], mask: NDArray[np.bool_]) -> str:
    bad = arr[mask]
    first = float(bad.flat[0])
    return f"{first!r}" if bad.size == 1 else f"{bad.size} bad values, first {first!r}"


def as_positive(value: ArrayLike, name: str, *, allow_zero: bool = False) -> NDArray[np.float64]:
    """Return ``value`` as a float array, requiring every entry finite and > 0 (>= 0)."""
    arr = as_float_array(value, name)
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    finite = np.isfinite(arr)
    ok = finite & ((arr >= 0) if allow_zero else (arr > 0))
    if not ok.all():
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {_describe_bad(arr, ~ok)}")
    return arr


def as_in_range(value: ArrayLike, name: str, low: float, high: float, *, closed: str = "both") -> NDArray[np.float64]:
    """Return ``value`` as a float array, requiring every entry in [low, high] (see ``closed``)."""
    arr = as_float_array(value, name)
    lo_ok = arr >= low if closed in ("both", "left") else arr > low
    hi_ok = arr <= high if closed in ("both", "right") else arr < high
    ok = np.isfinite(arr) & lo_ok & hi_ok
    if not ok.all():
        lb = "[" if closed in ("both", "left") else "("
        rb = "]" if closed in ("both", "right") else ")"
        raise ValueError(f"{name} must be finite and in {lb}{low}, {high}{rb}, got {_describe_bad(arr, ~ok)}")
    return arr


def positive_scalar(value: Any, name: str) -> float:
    """Return ``value`` as a finite float > 0, for constants and options."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    x = float(value)
    if not np.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return x


def broadcast(**arrays: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """Broadcast named arrays together; mismatched shapes raise a ValueError naming them."""
    try:
        return list(np.broadcast_arrays(*arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"shapes do not broadcast together: {shapes}") from None


def scalar_or_array(result: NDArray[np.float64]) -> float | NDArray[np.float64]:
    """Return a Python float for a 0-d result, the array otherwise."""
    result = np.asarray(result, dtype=np.float64)
    return float(result) if result.ndim == 0 else result


def paired(min_points: int, **arrays: ArrayLike) -> list[NDArray[np.float64]]:
    """Positive, finite, 1-d arrays of equal length, at least ``min_points`` long."""
    out = []
    for name, value in arrays.items():
        arr = as_positive(value, name)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {arr.shape}")
        out.append(arr)
    lengths = {name: a.size for name, a in zip(arrays, out, strict=True)}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have the same length: {desc}")
    n = out[0].size
    if n < min_points:
        raise ValueError(f"need at least {min_points} points, got {n}")
    return out


def check_int(value: object, name: str, low: int) -> int:
    """An ``int`` (not a bool) ``>= low``; TypeError or ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_level(level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    lv = positive_scalar(level, "level")
    if not 0 < lv < 1:
        raise ValueError(f"level must be in (0, 1), got {lv}")
    return lv


def check_bool(value: object, name: str) -> bool:
    """A ``bool`` (or numpy bool); anything else, ``"no"`` included, is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def as_positive_int(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """A positive array of whole numbers (``512`` or ``512.0``; not ``2.5``), as floats."""
    arr = as_positive(value, name)
    frac = arr != np.round(arr)
    if frac.any():
        raise ValueError(f"{name} must be a whole number, got {_describe_bad(arr, frac)}")
    return arr


def finite_result(result: NDArray[np.float64], what: str) -> NDArray[np.float64]:
    """``result`` unchanged if finite; otherwise a ValueError saying the inputs overflow."""
    arr = np.asarray(result, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} overflows float64 (> 1.8e308) for these inputs: they are far too large")
    return result


PLAUSIBLE: dict[str, tuple[float, float]] = {
    "N": (1.0, 1e16),
    "D": (1.0, 1e18),
    "C": (1.0, 1e35),
    "loss": (1e-6, 100.0),
}
"""Broad plausible ranges: parameters, tokens, FLOPs and loss (nats per token or byte)."""

WHAT = {"N": "parameters", "D": "tokens", "C": "compute (FLOPs)", "loss": "loss"}


def plausible(arr: NDArray[np.float64], role: str, name: str | None = None) -> int | None:
    """Index of the first value of ``arr`` outside :data:`PLAUSIBLE` ``[role]``, or None.

    With ``name`` given, raises the ValueError instead, with the value and the range.
    """
    low, high = PLAUSIBLE[role]
    bad = ~((arr >= low) & (arr <= high))
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    if name is not None:
        raise ValueError(out_of_range(name, role, float(arr[i]), f"index {i}"))
    return i


def out_of_range(name: str, role: str, value: float, where: str) -> str:
    """The message for a value outside its plausible range."""
    low, high = PLAUSIBLE[role]
    return f"{name} at {where} is {value:.4g}, outside the plausible range of {WHAT[role]}, {low:g} to {high:g}" + (
        " (a loss is in nats per token; is this a perplexity or a sum?)" if role == "loss" else ""
    )


COMPUTE_COUNTS: dict[str, tuple[float, float]] = {
    "6nd": (0.95, 1.05),
    "full": (0.95, 4.0),
    "any": (0.0, np.inf),
}
"""Accepted ``C / 6ND`` per way of counting compute: exactly ``6 N D`` (within 5%); a full
count with the head, attention and embeddings (the book's runs give 1.1-1.7, up to 2.3 at
tiny widths, so up to 4); or unchecked."""


def compute_ratio_problem(n, d, c, count: str = "full") -> tuple[int, str] | None:
    """``(index, message)`` of the first run whose ``C / 6ND`` is outside ``COMPUTE_COUNTS[count]``."""
    low, high = COMPUTE_COUNTS[count]
    ratio = np.asarray(c) / (6.0 * np.asarray(n) * np.asarray(d))
    bad = ~((ratio >= low) & (ratio <= high))
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    r = float(ratio[i])
    why = (
        "below 6ND: fewer FLOPs than one forward and backward pass per parameter and token (tokens or "
        "FLOPs in the wrong column or unit?)"
        if r < low
        else f"far above 6ND (accepted up to {high:g}x for count {count!r})"
    )
    return i, f"C / 6ND = {r:.3g}, {why}; accepted {low:g} to {high:g} (set how C counts with --compute-count)"


TOKENS_PER_PARAM: tuple[float, float] = (1e-3, 1e7)
"""Tokens per parameter accepted for any one run. IsoFLOP flanks go well below 1 (Porian et
al.'s released runs reach 0.006), so below 1 is accepted for some runs, not for most."""


def tokens_per_param_problem(n, d) -> tuple[int, str] | None:
    """``(index, message)`` of a run whose tokens per parameter is implausible, or None.

    Each run must have :data:`TOKENS_PER_PARAM`; the median run at least 1 token per
    parameter (the file then cannot be compute given as tokens, or tokens as compute).
    """
    n, d = np.asarray(n, dtype=float), np.asarray(d, dtype=float)
    tpp = d / n
    low, high = TOKENS_PER_PARAM
    bad = ~((tpp >= low) & (tpp <= high))
    hint = "is compute given as tokens, or tokens as compute?"
    if bad.any():
        i = int(np.argmax(bad))
        return i, (
            f"{tpp[i]:.3g} tokens per parameter (D = {d[i]:.4g}, N = {n[i]:.4g}), outside the plausible "
            f"{low:g} to {high:g}: {hint}"
        )
    if tpp.size and np.median(tpp) < 1.0:
        i = int(np.argsort(tpp)[tpp.size // 2])
        return i, (
            f"the median run sees {np.median(tpp):.3g} tokens per parameter (this one D = {d[i]:.4g}, "
            f"N = {n[i]:.4g}); most runs of a sweep see at least 1: {hint}"
        )
    return None


def group_budgets(c: ArrayLike, rtol: float = 1e-6) -> NDArray[np.float64]:
    """Each value replaced by the smallest of its group of nearly equal values.

    Values within ``rtol`` (relative) of their sorted neighbour form one budget, so ``C``
    recomputed as ``6ND`` with float noise
    stays one budget. Exactly equal values are unchanged.

    Examples
    --------
    >>> group_budgets([1e19, 1e19 * (1 + 1e-12), 3e19]).tolist()
    [1e+19, 1e+19, 3e+19]
    """
    arr = np.asarray(c, dtype=np.float64)
    order = np.argsort(arr, kind="stable")
    s = arr[order]
    new = np.ones(s.size, dtype=bool)
    new[1:] = s[1:] > s[:-1] * (1.0 + rtol)
    out = np.empty_like(arr)
    out[order] = s[np.flatnonzero(new)][np.cumsum(new) - 1]
    return out
