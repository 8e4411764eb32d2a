"""Numbers typeset for prose: ``8.8 × 10¹³``, not ``8.80e+13``.

:func:`sci` is the formatter; :func:`format_spec` reads the glue format ``.<digits>t`` (``t``
for *typeset*), which the book's Sphinx extension (:mod:`scaling_utils.report.booktools`) teaches
myst-nb's ``{glue:text}`` role: ``{glue:text}`key:.2t``` prints the glued number with two
significant digits as a power of ten. Other format specs are left to Python's ``format``.
"""

from __future__ import annotations

import math

__all__ = ["format_spec", "sci"]

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` significant digits, as ``m × 10ⁿ`` (plain below 10⁴ and above 10⁻²).

    Examples
    --------
    >>> sci(8.8e13)
    '8.8 × 10¹³'
    >>> sci(5e14, 1), sci(3126962, 2), sci(2.3e8, 3)
    ('5 × 10¹⁴', '3.1 × 10⁶', '2.30 × 10⁸')
    >>> sci(0.05, 2), sci(-1.25e-5, 3), sci(1e12, 1), sci(0.0, 2)
    ('0.050', '−1.25 × 10⁻⁵', '10¹²', '0')
    """
    if digits < 1:
        raise ValueError(f"digits must be >= 1, got {digits}")
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    mantissa, exponent = f"{abs(x):.{digits - 1}e}".split("e")
    n = int(exponent)
    sign = "−" if x < 0 else ""
    if -2 <= n < 4:
        return sign + f"{abs(x):.{max(digits - 1 - n, 0)}f}"
    power = "10" + str(n).translate(_SUPERSCRIPT)
    if digits == 1 and mantissa == "1":
        return sign + power
    return f"{sign}{mantissa} × {power}"


def format_spec(value, spec: str) -> str | None:
    """The typeset form of ``value`` for a spec ``.<digits>t`` (``None`` for any other spec).

    >>> format_spec("8.8e13", ".2t"), format_spec(3.0, ".2f")
    ('8.8 × 10¹³', None)
    """
    if len(spec) >= 3 and spec[0] == "." and spec[-1] == "t" and spec[1:-1].isdigit():
        return sci(float(value), int(spec[1:-1]))
    return None
