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
    return f"{bad.flat[0]!r}" if bad.size == 1 else f"{bad.size} bad values, first {bad.flat[0]!r}"


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
