"""The chapter's cached tables match their key (inputs and code), and one is recomputed against the cache."""

from __future__ import annotations

import pytest

from scaling_utils.analysis import derived


@pytest.mark.parametrize("name", sorted(derived.TABLES))
def test_every_cached_table_matches_its_inputs_and_code(name):
    derived.load(name, stale="error")  # a changed input or code without a rerun fails here


def test_a_cached_row_is_what_the_code_computes_now():
    from scaling_utils.analysis.bias import approach_bias, law_with_optimum, runs_on_sizes
    from scaling_utils.analysis.design import LADDER
    from scaling_utils.compute import params_with_head

    cached = derived.load("approach2_bias", stale="error")
    row = cached[(cached["alpha"] == 0.5) & (cached["N_opt at 1.6e12"] == 6e4)].iloc[0]
    n = [params_with_head(layer, d, 4 * d) for layer, d, _ in LADDER]
    sizes = {c: n[2 * i : 2 * i + 7] for i, c in enumerate(derived.BUDGETS)}
    law = law_with_optimum(0.5, 0.25, 6e4, 1.6e12)
    now = approach_bias(runs_on_sizes(law, sizes), law)
    assert row["approach2 exact"] == pytest.approx(now["approach2"], abs=1e-6)


def test_a_stale_or_unknown_table_is_named(monkeypatch):
    monkeypatch.setattr(derived, "key", lambda name: {"inputs": {}, "code": "changed"})
    with pytest.raises(RuntimeError, match=r"stale: run python -m scaling_utils\.analysis\.derived"):
        derived.load("approach2_bias", stale="error")
    with pytest.raises(ValueError, match="name must be one of"):
        derived.load("nothing")
    assert all(isinstance(t[1], tuple) and isinstance(t[2], tuple) for t in derived.TABLES.values())
