"""Issue 27's property: on any malformed runs file, ``fit`` exits 0 or 2, never a traceback.

Random headers (known aliases, duplicates, junk), random cells (numbers of every size,
signs, text, booleans, empties, NaN), random delimiters and decimal marks. The CLI's
``main(argv)`` runs in-process (a subprocess costs 1.5-4 s), with few resamples and a
capped number of examples.
"""

from __future__ import annotations

import io
import sys

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaling_utils.cli import main
from scaling_utils.laws import ChinchillaLaw

ALIASES = ["N", "params", "Model Size", "D", "tokens", "C", "flops", "compute_budget", "loss", "final_loss", "run"]
HEADERS = st.sampled_from([*ALIASES, "run_id", "x", "", "loss", "N;D", "n\tloss", "é", "1e9"])
NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=1e-3, max_value=1e12).map(lambda v: f"{v:.6g}"),
    st.integers(min_value=-10, max_value=10**15).map(str),
)
CELL = st.one_of(
    NUMBER, NUMBER, st.sampled_from(["", "True", "false", "n/a", "1,5", " ", '"', "nan", "-0"]), st.text(max_size=6)
)
DELIMITER = st.sampled_from([",", ",", ";", "\t", "|", " "])


def _valid_rows() -> list[list[str]]:
    """16 IsoFLOP runs (N, C, loss) of a known law: 4 budgets x 4 sizes (all approaches run)."""
    law = ChinchillaLaw(E=1.8, A=400.0, B=1500.0, alpha=0.35, beta=0.37)
    rows = []
    for c in (1e18, 1e19, 1e20, 1e21):
        for k, n in enumerate(law.compute_optimal(c)[0] * np.logspace(-0.6, 0.6, 4)):
            rows.append([f"{n:.6g}", f"{c:g}", f"{law.loss(n, c / (6 * n)) * (1 + 0.002 * k):.6g}"])
    return rows


VALID = _valid_rows()


@st.composite
def corrupted_file(draw) -> str:
    """A valid runs file with a few cells, a header or the delimiter changed."""
    sep = draw(st.sampled_from([",", ",", ",", ";", "\t"]))
    header = ["N", "C", "loss"]
    if draw(st.booleans()):
        header[draw(st.integers(0, 2))] = draw(HEADERS)
    rows = [list(r) for r in VALID]
    for _ in range(draw(st.integers(0, 3))):
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, 2))] = draw(CELL)
    if draw(st.booleans()):
        rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))  # a duplicated run
    return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"


@st.composite
def random_file(draw) -> str:
    """The text of a CSV: a header and rows of random cells, joined by a random delimiter."""
    sep = draw(DELIMITER)
    header = draw(st.lists(HEADERS, min_size=1, max_size=5))
    n_rows = draw(st.integers(min_value=0, max_value=14))
    width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
    rows = [sep.join(draw(st.lists(CELL, min_size=max(width, 0), max_size=max(width, 0)))) for _ in range(n_rows)]
    return "\n".join([sep.join(header), *rows]) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(random_file(), corrupted_file()), approach=st.sampled_from(["all", "2", "3"]))
def test_fit_never_tracebacks(tmp_path, text, approach):
    f = tmp_path / "runs.csv"
    f.write_text(text, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    old = sys.stderr
    sys.stderr = err
    try:
        status = main(["fit", str(f), "--approach", approach, "--resamples", "10"], out=out)
    except SystemExit as exc:  # argparse
        status = exc.code
    finally:
        sys.stderr = old
    assert status in (0, 2), err.getvalue()
    if status == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("scaling-book: error: "), err.getvalue()
