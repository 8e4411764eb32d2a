"""Experiment v2's engine options: each changes training as intended, old run ids stay, bad configs stop."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scaling_utils.compute import flops_per_token_with_head, non_embedding_params, params_with_head
from scaling_utils.experiment.corpus import fixture_corpus
from tests.conftest import ROOT

torch = pytest.importorskip("torch", reason="the experiment needs the [experiment] extra (torch)")

from scaling_utils.experiment.schedules import lr_multiplier, warmup_length  # noqa: E402
from scaling_utils.experiment.sweep import SweepConfigError, load_sweep  # noqa: E402
from scaling_utils.experiment.train import RunSpec, deepseek_batch, deepseek_lr, train_model  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "kjv_genesis.txt"
STANDARD = ROOT / "experiments" / "standard"
RUNS = ROOT / "data" / "experiments" / "runs"


@pytest.fixture(scope="module")
def corpus():
    torch.set_num_threads(1)
    return fixture_corpus(FIXTURE)


BASE = RunSpec(sweep="t", n_layer=1, d_model=16, n_head=2, n_ctx=32, tokens=32 * 8 * 60, batch_size=8, eval_sequences=8)


def _final(rows):
    return [r for r in rows if r["distribution"] == "train"][-1]


# ------------------------------------------------------------------ run ids and counting


@pytest.mark.parametrize("toml", sorted(STANDARD.glob("*.toml")), ids=lambda p: p.stem)
def test_new_fields_at_their_defaults_keep_committed_run_ids(toml):
    config, specs = load_sweep(toml)
    folder = RUNS / config["sweep"]
    committed = {p.stem for p in folder.glob("*.json")}
    if config["sweep"] in (
        "chinchilla_isoflop",
        "kaplan_isoflop",
        "kaplan_isoflop_v2",
        "chinchilla_isoflop_checks",
        "chinchilla_isoflop_batch16",
        "chinchilla_isoflop_batch8",
        "repeat",
    ):
        assert committed <= {s.run_id for s in specs}, "a committed run file matches no run of its sweep"
        return
    assert committed, f"no committed run files for {config['sweep']}"
    assert {s.run_id for s in specs} == committed


def test_corrected_counts_add_the_head_and_attention():
    # (2, 16): 6,144 non-embedding + 256 x 16 head; attention 6 x 2 x 128 x 16 per token.
    assert params_with_head(2, 16) == 6144 + 4096
    assert flops_per_token_with_head(2, 16, 128) == 6 * 10240 + 6 * 2 * 128 * 16
    # At d_model 16 the head and attention make the count 2.3x Kaplan's 6 N_ne.
    assert flops_per_token_with_head(2, 16, 128) / (6 * non_embedding_params(2, 16)) == pytest.approx(2.333, abs=1e-3)
    with pytest.raises(ValueError, match="vocab"):
        params_with_head(2, 16, vocab=0)


def test_committed_flops_total_leaves_out_the_head():
    import pandas as pd

    df = pd.read_csv(ROOT / "data" / "experiments" / "isoflop.csv")
    per_token = df["flops_total"] / df["tokens"]
    kaplan = 6 * df["params_nonembedding"] + 6 * df["n_layer"] * df["n_ctx"] * df["d_model"]
    np.testing.assert_allclose(per_token, kaplan, rtol=1e-5)  # so the head is not in it


# ------------------------------------------------------------------ each option changes training


def test_adam_betas_weight_decay_and_clipping_reach_the_optimiser(corpus, monkeypatch):
    seen = {}
    real_adamw, real_clip = torch.optim.AdamW, torch.nn.utils.clip_grad_norm_

    def adamw(groups, **kw):
        seen["betas"], seen["wd"] = kw["betas"], [g["weight_decay"] for g in groups]
        return real_adamw(groups, **kw)

    def clip(params, max_norm):
        seen.setdefault("clip", []).append(max_norm)
        return real_clip(params, max_norm)

    monkeypatch.setattr(torch.optim, "AdamW", adamw)
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip)
    train_model(replace(BASE, tokens=32 * 8 * 5, beta1=0.8, beta2=0.99, weight_decay=0.3, grad_clip=0.5), corpus)
    assert seen["betas"] == (0.8, 0.99)
    assert seen["wd"] == [0.3, 0.0]  # matrices decay, biases and norms do not
    assert seen["clip"] == [0.5] * 5
    seen.clear()
    train_model(replace(BASE, tokens=32 * 8 * 5, grad_clip=0.0), corpus)
    assert "clip" not in seen  # 0 turns clipping off


def test_beta2_changes_the_losses(corpus):
    a = _final(train_model(BASE, corpus)[0])["loss"]
    b = _final(train_model(replace(BASE, beta2=0.99), corpus)[0])["loss"]
    assert a != b


def test_weight_decay_shrinks_the_weights(corpus):
    def norm(wd):
        _, model = train_model(replace(BASE, weight_decay=wd, lr=0.01), corpus)
        return sum(float(p.detach().norm()) ** 2 for p in model.parameters() if p.dim() >= 2) ** 0.5

    assert norm(20.0) < 0.8 * norm(0.0)


def test_warmup_rule():
    # Legacy: a fraction of the run.
    assert warmup_length(1000, 0.05) == 50
    # max(k steps, N tokens), capped at the fraction.
    assert warmup_length(1000, 0.05, tokens_per_step=100, min_steps=20, min_tokens=1000) == 20
    assert warmup_length(1000, 0.05, tokens_per_step=100, min_steps=20, min_tokens=3000) == 30
    assert warmup_length(1000, 0.05, tokens_per_step=100, min_steps=20, min_tokens=10**6) == 50
    with pytest.raises(ValueError, match="warmup_frac"):
        warmup_length(10, 1.5)
    spec = replace(BASE, tokens=256 * 400, warmup_steps=20, warmup_tokens=256 * 30, warmup_frac=0.05)
    assert spec.steps == 400 and spec.warmup == 20  # 30 steps of tokens, capped at 5% of 400
    assert replace(spec, warmup_frac=0.5).warmup == 30


def test_warmup_and_horizon_shape_the_learning_rate_actually_used(corpus):
    steps = 60
    matched = replace(BASE, warmup_steps=10, warmup_frac=0.5)
    rows, _ = train_model(matched, corpus)
    expected = sum(matched.lr * lr_multiplier("cosine", s, steps, 0.5, warmup=10) for s in range(steps))
    assert _final(rows)["lr_sum"] == pytest.approx(expected, rel=1e-9)
    assert _final(rows)["warmup_steps_used"] == 10
    # Kaplan's fixed long horizon: the run stops part-way down the cosine, so more lr is spent.
    long = replace(matched, horizon_tokens=4 * matched.tokens)
    rows_long, _ = train_model(long, corpus)
    assert long.horizon_steps == 4 * steps
    assert _final(rows_long)["lr_sum"] > 1.3 * _final(rows)["lr_sum"]
    assert lr_multiplier("cosine", steps - 1, steps, 0.0, warmup=10, horizon=4 * steps) > 0.8
    assert _final(rows_long)["loss"] != _final(rows)["loss"]


def test_checkpoints_at_listed_tokens_and_eval_windows(corpus):
    spec = replace(BASE, checkpoint_tokens=(256 * 10, 256 * 25), eval_sequences=24)
    rows, _ = train_model(spec, corpus)
    assert sorted({r["step"] for r in rows}) == [10, 25, 60]  # the listed tokens plus the end
    from scaling_utils.experiment.train import _eval_set

    data = np.frombuffer(corpus["train"], dtype=np.uint8)
    assert _eval_set(data, 32, 24).shape == (24, 33)


def test_budget_scaled_learning_rate_and_batch(tmp_path):
    assert deepseek_lr(1e17) == pytest.approx(0.3118 * 1e17**-0.125)
    # B = 0.2920 C^0.3271 tokens, rounded down to a power of two sequences of n_ctx.
    for c in (1e12, 8e12, 1e15):
        b = deepseek_batch(c, 128)
        assert b & (b - 1) == 0 and b * 128 <= 0.2920 * c**0.3271 < 2 * b * 128
    f = tmp_path / "s.toml"
    f.write_text(
        'sweep = "s"\n[defaults]\nn_ctx = 128\nflops_count = "head_attn"\nlr = "deepseek"\n'
        'batch_size = "deepseek"\n[[grid]]\nshape = [[2, 16, 2]]\nbudget_flops = [1e12, 8e12]\n'
        "[[grid]]\nshape = [[2, 16, 2]]\nbudget_flops = 8e12\nlr_scale = 2.0\nbatch_scale = 0.5\n"
    )
    _, (small, large, check) = load_sweep(f)
    assert small.lr > large.lr and small.batch_size < large.batch_size
    assert small.tokens == int(1e12 / flops_per_token_with_head(2, 16, 128))
    assert check.lr == pytest.approx(2 * large.lr, rel=1e-3) and check.batch_size == large.batch_size // 2


def test_checkpoint_budgets_become_token_counts(tmp_path):
    f = tmp_path / "k.toml"
    f.write_text(
        'sweep = "k"\n[defaults]\nn_ctx = 128\n[[grid]]\nshape = [[2, 16, 2]]\nbudget_flops = 4e12\n'
        "checkpoint_budgets = [1e12, 2e12, 4e12]\nhorizon_tokens = 3e8\n"
    )
    _, (spec,) = load_sweep(f)
    n = non_embedding_params(2, 16)
    assert spec.checkpoint_tokens == tuple(int(b / (6 * n)) for b in (1e12, 2e12, 4e12))
    assert spec.horizon_tokens == 300_000_000


# ------------------------------------------------------------------ bad configs


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('sweep = "x"\nbogus = 1\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e5\n', "unknown top-level keys.*bogus"),
        ('sweep = "x"\n[defaults]\nlr_warp = 1\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e5\n', "lr_warp"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\nbudget_flops = -1e11\n', "grid entry 0.*budget_flops"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1000\nbatch_size = 64\n', "batch_size x n_ctx"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e5\nlr = nan\n', "lr must be"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e5\nlr = "deepseek"\n', "needs budget_flops"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e6\nhorizon_tokens = 10\n', "horizon_tokens"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e6\nflops_count = "7n"\n', "flops_count"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e6\nbeta2 = 1.5\n', "beta2"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16]]\ntokens = 1e6\n', "shape must be"),
        ('sweep = "x"\n[[grid]]\nshape = [[1, 16, 2]]\ntokens = 1e6\nwarmup_frac = -0.1\n', "warmup_frac"),
        ('sweep = "x"\n[[grid]\n', "not valid TOML"),
    ],
)
def test_bad_sweep_configs_name_the_field(tmp_path, body, message):
    f = tmp_path / "bad.toml"
    f.write_text(body)
    with pytest.raises(SweepConfigError, match=message):
        load_sweep(f)


# ------------------------------------------------------------------ the v2 sweep designs


def test_chinchilla_isoflop_design_meets_the_step_criteria():
    _, specs = load_sweep(STANDARD / "chinchilla_isoflop.toml")
    budgets = sorted({s.budget_flops for s in specs})
    assert len(budgets) >= 5 and math.log10(budgets[-1] / budgets[0]) >= 1.2
    assert min(s.steps for s in specs) >= 500
    for b in budgets:
        sizes = {s.model_config.params_nonembedding for s in specs if s.budget_flops == b}
        assert len(sizes) >= 7
        assert {s.seed for s in specs if s.budget_flops == b} == {0, 1}


def test_committed_v2_run_files_have_enough_steps():
    import json

    for name in ("chinchilla_isoflop",):
        for f in (RUNS / name).glob("*.json"):
            rows = json.loads(f.read_text())["rows"]
            assert max(r["step"] for r in rows) >= 500, f.name
            assert {r["eval_sequences"] for r in rows} == {1024}, f.name


def test_v2_run_files_are_the_ones_the_sweep_would_write():
    # A run file's name is its spec's run id, and its rows say the same settings.
    import json

    _, specs = load_sweep(STANDARD / "chinchilla_isoflop.toml")
    by_id = {s.run_id: s for s in specs}
    for f in Path(RUNS / "chinchilla_isoflop").glob("*.json"):
        spec = by_id[f.stem]
        row = json.loads(f.read_text())["rows"][-1]
        assert (row["batch_size"], row["lr"], row["beta2"]) == (spec.batch_size, spec.lr, spec.beta2)
        assert row["tokens"] == spec.steps * spec.tokens_per_step
