"""FLOP and parameter arithmetic against the papers' numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scaling_utils.compute import (
    PF_DAY,
    chinchilla_flops,
    flops_from_pf_days,
    kaplan_flops_per_token,
    non_embedding_params,
    pf_days,
    training_flops,
)


def test_pf_day():
    assert PF_DAY == 8.64e19
    assert pf_days(8.64e19) == 1.0


def test_gopher_flops():
    # Hoffmann et al. 2022 quote 5.76e23 FLOPs for Gopher (280B params, 300B tokens) from
    # their full count; 6ND gives 5.04e23: the two counts differ by ~14% for this shape.
    assert training_flops(280e9, 300e9) == pytest.approx(5.04e23)


def test_gpt3_non_embedding_params():
    # Brown et al. 2020, Table 2.1: 96 layers, d_model 12288 -> "175B".
    assert non_embedding_params(96, 12288) == pytest.approx(175e9, rel=0.01)
    assert non_embedding_params(2, 64) == 12 * 2 * 64**2


def test_non_embedding_params_general_shape():
    # 2 n_layer d_model (2 d_attn + d_ff)
    assert non_embedding_params(4, 128, d_ff=256, d_attn=64) == 2 * 4 * 128 * (2 * 64 + 256)


def test_chinchilla_full_count_close_to_6nd_for_large_models():
    # Appendix F: the full count and 6ND agree within a few percent at Chinchilla's scale.
    n = non_embedding_params(80, 8192)
    full = chinchilla_flops(80, 8192, 64, d_head=128, d_ff=32768, tokens=1.4e12)
    assert full / training_flops(n, 1.4e12) == pytest.approx(1.0, abs=0.08)


def test_chinchilla_count_by_hand():
    # One layer, tiny shape, every term of Appendix F written out.
    L, d, h, k, ff, V, s = 1, 8, 2, 4, 32, 10, 16
    fwd = (
        2 * s * V * d
        + L
        * (
            2 * 3 * s * d * k * h
            + 2 * s * s * k * h
            + 3 * h * s * s
            + 2 * s * s * k * h
            + 2 * s * k * h * d
            + 2 * s * 2 * d * ff
        )
        + 2 * s * d * V
    )
    assert chinchilla_flops(L, d, h, d_head=k, d_ff=ff, vocab_size=V, seq_len=s) == 3 * fwd
    assert chinchilla_flops(L, d, h, d_head=k, d_ff=ff, vocab_size=V, seq_len=s, tokens=5 * s) == 15 * fwd


def test_attention_matters_for_small_models():
    # For a tiny model with a long context, attention FLOPs are a large share of the total.
    per_token = kaplan_flops_per_token(2, 64, 1024)
    six_n = 6 * non_embedding_params(2, 64)
    assert per_token / six_n > 1.5


@given(st.floats(1e-6, 1e12))
def test_pf_day_round_trip(x):
    assert pf_days(flops_from_pf_days(x)) == pytest.approx(x, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: training_flops(-1, 1), "N"),
        (lambda: training_flops(1, float("nan")), "D"),
        (lambda: pf_days(0), "flops"),
        (lambda: flops_from_pf_days(float("inf")), "pf_days"),
        (lambda: non_embedding_params(0, 64), "n_layer"),
        (lambda: non_embedding_params(2, -64), "d_model"),
        (lambda: non_embedding_params(2, 64, d_ff=0), "d_ff"),
        (lambda: chinchilla_flops(2, 64, 0), "n_head"),
        (lambda: chinchilla_flops(2, 64, 4, seq_len=-1), "seq_len"),
        (lambda: chinchilla_flops(2, 64, 4, tokens=0), "tokens"),
        (lambda: kaplan_flops_per_token(2, 64, 0), "n_ctx"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name} must be finite and > 0"):
        call()


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes do not broadcast"):
        training_flops([1, 2], [1, 2, 3])
