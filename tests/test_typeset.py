"""Numbers typeset for prose (scaling_utils.report.typeset) and the glue format that uses them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_utils.report.typeset import format_spec, sci


@pytest.mark.parametrize(
    ("x", "digits", "text"),
    [
        (8.8e13, 2, "8.8 × 10¹³"),
        (5e14, 1, "5 × 10¹⁴"),
        (1e12, 1, "10¹²"),
        (3126962, 2, "3.1 × 10⁶"),
        (0.05, 2, "0.050"),
    ],
)
def test_sci_reads_as_a_power_of_ten(x, digits, text):
    assert sci(x, digits) == text


@given(st.floats(min_value=1e-30, max_value=1e30), st.integers(min_value=1, max_value=4))
def test_sci_never_prints_e_notation_and_round_trips(x, digits):
    text = sci(x, digits)
    assert "e" not in text
    if "×" in text or text.startswith("10"):
        mantissa, _, power = text.partition(" × ") if "×" in text else ("1", "", text)
        exponent = int(power.removeprefix("10").translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")))
        value = float(mantissa) * 10.0**exponent
    else:
        value = float(text)
    assert math.isclose(value, x, rel_tol=10.0 ** (1 - digits))


def test_format_spec_handles_only_t():
    assert format_spec(2.3e8, ".3t") == "2.30 × 10⁸"
    assert format_spec(2.3e8, ".3e") is None
    with pytest.raises(ValueError):
        sci(1.0, 0)
