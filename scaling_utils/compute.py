"""Compute, parameter counts and units.

* :func:`training_flops`: the ``C = 6 N D`` approximation (Kaplan et al. 2020, Sec. 2.1).
* :func:`pf_days`, :func:`flops_from_pf_days`: 1 PF-day = 1e15 FLOP/s x 86,400 s.
* :func:`non_embedding_params`: Kaplan's ``N = 2 n_layer d_model (2 d_attn + d_ff)``.
* :func:`chinchilla_flops`: Hoffmann et al. (2022), Appendix F, forward plus backward.
* :func:`kaplan_flops_per_token`: Kaplan's Table 1 count, ``6 N + 6 n_layer n_ctx d_attn``.
* :func:`params_with_head`, :func:`flops_per_token_with_head`: the same counts with the
  output head (``vocab x d_model``) added, which matters at small widths (the book's
  corrected convention; Porian et al. 2024, Sec. 3.1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scaling_utils._validation import as_positive, as_positive_int, broadcast, finite_result, scalar_or_array

__all__ = [
    "PF_DAY",
    "chinchilla_flops",
    "flops_from_pf_days",
    "flops_per_token_with_head",
    "kaplan_flops_per_token",
    "non_embedding_params",
    "params_with_head",
    "pf_days",
    "training_flops",
]

FloatOrArray = float | NDArray[np.float64]

PF_DAY: float = 1e15 * 24 * 3600
"""FLOPs in one petaflop/s-day: 8.64e19."""


def training_flops(N: ArrayLike, D: ArrayLike) -> FloatOrArray:
    """Training compute ``C = 6 N D`` in FLOPs.

    Two FLOPs per parameter per token for the forward pass (a multiply and an add) and
    twice that for the backward pass (Kaplan et al. 2020, Sec. 2.1).

    Parameters
    ----------
    N : array_like
        Parameters, finite and > 0.
    D : array_like
        Training tokens, finite and > 0; broadcast against ``N``.

    Returns
    -------
    float or ndarray
        FLOPs.

    Examples
    --------
    >>> f"{training_flops(280e9, 300e9):.3g}"  # Gopher
    '5.04e+23'
    """
    n, d = broadcast(N=as_positive(N, "N"), D=as_positive(D, "D"))
    with np.errstate(over="ignore"):
        c = 6.0 * n * d
    return scalar_or_array(finite_result(c, "training_flops: 6 N D"))


def pf_days(flops: ArrayLike) -> FloatOrArray:
    """Convert FLOPs to PF-days.

    Examples
    --------
    >>> pf_days(8.64e19)
    1.0
    """
    return scalar_or_array(as_positive(flops, "flops") / PF_DAY)


def flops_from_pf_days(pf_days: ArrayLike) -> FloatOrArray:
    """Convert PF-days to FLOPs.

    Examples
    --------
    >>> f"{flops_from_pf_days(3.1e8):.3g}"
    '2.68e+28'
    """
    return scalar_or_array(as_positive(pf_days, "pf_days") * PF_DAY)


def _resolve_shape(d_model: NDArray[np.float64], d_ff: ArrayLike | None, d_attn: ArrayLike | None):
    """Default ``d_ff = 4 d_model`` and ``d_attn = d_model``; given widths must be whole numbers."""
    ff = 4.0 * d_model if d_ff is None else as_positive_int(d_ff, "d_ff")
    attn = d_model if d_attn is None else as_positive_int(d_attn, "d_attn")
    return ff, attn


def _checked(value: NDArray[np.float64], what: str) -> FloatOrArray:
    """A finite result as a float or array (inputs so large that it overflows are a ValueError)."""
    return scalar_or_array(finite_result(value, what))


def non_embedding_params(
    n_layer: ArrayLike, d_model: ArrayLike, d_ff: ArrayLike | None = None, d_attn: ArrayLike | None = None
) -> FloatOrArray:
    """Non-embedding parameters of a decoder-only transformer, as counted by Kaplan et al.

    Parameters
    ----------
    n_layer : array_like
        Number of layers, a whole number > 0.
    d_model : array_like
        Residual stream width, a whole number > 0.
    d_ff : array_like, optional
        Feed-forward width, a whole number; default ``4 * d_model``.
    d_attn : array_like, optional
        Total attention width (``n_head * d_head``), a whole number; default ``d_model``.

    Returns
    -------
    float or ndarray
        ``2 n_layer d_model (2 d_attn + d_ff)``, which is ``12 n_layer d_model**2`` with
        the defaults. Biases and layer norms are left out, as in the paper.

    References
    ----------
    Kaplan et al. 2020, Table 1.

    Examples
    --------
    >>> non_embedding_params(2, 64)
    98304.0
    >>> non_embedding_params(96, 12288) / 1e9  # GPT-3 175B shape
    173.946175488
    """
    nl = as_positive_int(n_layer, "n_layer")
    dm = as_positive_int(d_model, "d_model")
    ff, attn = _resolve_shape(dm, d_ff, d_attn)
    nl, dm, ff, attn = broadcast(n_layer=nl, d_model=dm, d_ff=ff, d_attn=attn)
    with np.errstate(over="ignore"):
        return _checked(2.0 * nl * dm * (2.0 * attn + ff), "non_embedding_params")


def chinchilla_flops(
    n_layer: ArrayLike,
    d_model: ArrayLike,
    n_head: ArrayLike,
    *,
    d_head: ArrayLike | None = None,
    d_ff: ArrayLike | None = None,
    vocab_size: ArrayLike = 32_000,
    seq_len: ArrayLike = 2048,
    tokens: ArrayLike | None = None,
) -> FloatOrArray:
    r"""Training FLOPs by the full count of Hoffmann et al. (2022), Appendix F.

    Per sequence of ``seq_len`` tokens, the forward pass costs

    * embeddings: :math:`2\,s\,V\,d`;
    * per layer, attention: QKV projections :math:`2\cdot3\,s\,d\,(kh)`, key-query logits
      :math:`2 s^2 (kh)`, softmax :math:`3 h s^2`, softmax-weighted values
      :math:`2 s^2 (kh)`, output projection :math:`2 s (kh) d`;
    * per layer, dense block: :math:`2 s (2 d\, d_{ff})`;
    * final logits: :math:`2 s d V`;

    and the backward pass twice the forward, so the total is three forward passes.

    Parameters
    ----------
    n_layer, d_model, n_head : array_like
        Layers, width and attention heads, whole numbers > 0.
    d_head : array_like, optional
        Key/query size per head ``k``; default ``d_model / n_head`` (then ``d_model`` must
        be divisible by ``n_head``).
    d_ff : array_like, optional
        Feed-forward width; default ``4 * d_model``.
    vocab_size : array_like, default 32,000
        Vocabulary size ``V`` (Chinchilla's SentencePiece vocabulary).
    seq_len : array_like, default 2048
        Sequence length ``s``.
    tokens : array_like, optional
        Training tokens. If given, returns the FLOPs for that many tokens
        (``tokens / seq_len`` sequences); otherwise the FLOPs per sequence.

    Returns
    -------
    float or ndarray
        Forward-plus-backward FLOPs.

    Examples
    --------
    Chinchilla (80 layers, d_model 8192, 64 heads of size 128) on 1.4T tokens; the full
    count is within a few percent of ``6 N D = 5.88e23`` for its 70B parameters:

    >>> c = chinchilla_flops(80, 8192, 64, d_head=128, d_ff=32768, tokens=1.4e12)
    >>> f"{c:.3g}"
    '5.68e+23'
    """
    nl = as_positive_int(n_layer, "n_layer")
    d = as_positive_int(d_model, "d_model")
    h = as_positive_int(n_head, "n_head")
    if d_head is None:
        d, h = broadcast(d_model=d, n_head=h)
        if (d % h != 0).any():
            i = int(np.argmax(d % h != 0))
            raise ValueError(
                f"d_model must be divisible by n_head (or give d_head), got d_model {d.flat[i]:g} and n_head "
                f"{h.flat[i]:g}"
            )
    k = d / h if d_head is None else as_positive_int(d_head, "d_head")
    ff = 4.0 * d if d_ff is None else as_positive_int(d_ff, "d_ff")
    v = as_positive_int(vocab_size, "vocab_size")
    s = as_positive_int(seq_len, "seq_len")
    nl, d, h, k, ff, v, s = broadcast(n_layer=nl, d_model=d, n_head=h, d_head=k, d_ff=ff, vocab_size=v, seq_len=s)
    kh = k * h
    embeddings = 2 * s * v * d
    attention = 2 * 3 * s * d * kh + 2 * s**2 * kh + 3 * h * s**2 + 2 * s**2 * kh + 2 * s * kh * d
    dense = 2 * s * (2 * d * ff)
    logits = 2 * s * d * v
    forward = embeddings + nl * (attention + dense) + logits
    per_sequence = 3.0 * forward
    if tokens is None:
        return _checked(per_sequence, "chinchilla_flops")
    t = as_positive(tokens, "tokens")
    per_sequence, s, t = broadcast(per_sequence=per_sequence, seq_len=s, tokens=t)
    with np.errstate(over="ignore"):
        return _checked(per_sequence * t / s, "chinchilla_flops")


def kaplan_flops_per_token(
    n_layer: ArrayLike,
    d_model: ArrayLike,
    n_ctx: ArrayLike,
    d_ff: ArrayLike | None = None,
    d_attn: ArrayLike | None = None,
) -> FloatOrArray:
    """Training FLOPs per token including attention, by Kaplan et al. (2020), Table 1.

    ``C_forward = 2 N + 2 n_layer n_ctx d_attn`` and training is three forward passes, so
    ``6 N + 6 n_layer n_ctx d_attn`` (embeddings left out).

    Examples
    --------
    >>> kaplan_flops_per_token(2, 64, 128)
    688128.0
    """
    nl = as_positive_int(n_layer, "n_layer")
    dm = as_positive_int(d_model, "d_model")
    ctx = as_positive_int(n_ctx, "n_ctx")
    ff, attn = _resolve_shape(dm, d_ff, d_attn)
    n = non_embedding_params(nl, dm, ff, attn)
    nl, ctx, attn, n = broadcast(n_layer=nl, n_ctx=ctx, d_attn=attn, N=np.asarray(n))
    with np.errstate(over="ignore"):
        return _checked(6.0 * n + 6.0 * nl * ctx * attn, "kaplan_flops_per_token")


def params_with_head(
    n_layer: ArrayLike, d_model: ArrayLike, d_ff: ArrayLike | None = None, vocab: ArrayLike = 256
) -> FloatOrArray:
    """Non-embedding parameters plus the output head, ``N_ne + vocab d_model``.

    Kaplan et al. leave out every embedding matrix, the output (unembedding) head
    included. At the book's widths (``d_model`` 16-112 over a 256-byte vocabulary) the head
    is 10-40% of the model and costs as many FLOPs per token as its parameter count
    suggests, so the corrected convention counts it (Porian et al. 2024, Sec. 3.1, "count
    the last layer"). The input embedding is a lookup and is still left out.

    Examples
    --------
    >>> params_with_head(2, 16)  # 6,144 non-embedding + 4,096 head
    10240.0
    """
    vocab_ = as_positive_int(vocab, "vocab")
    n = np.asarray(non_embedding_params(n_layer, d_model, d_ff))
    dm = as_positive_int(d_model, "d_model")
    n, dm, vocab_ = broadcast(N=n, d_model=dm, vocab=vocab_)
    return scalar_or_array(n + vocab_ * dm)


def flops_per_token_with_head(
    n_layer: ArrayLike,
    d_model: ArrayLike,
    n_ctx: ArrayLike,
    d_ff: ArrayLike | None = None,
    vocab: ArrayLike = 256,
) -> FloatOrArray:
    """Training FLOPs per token: Kaplan's per-token count plus the output head.

    ``6 (N_ne + vocab d_model) + 6 n_layer n_ctx d_model``: Kaplan's Table 1 count with
    attention (:func:`kaplan_flops_per_token`) plus ``6 vocab d_model`` for the head's
    forward and backward matrix products. This is the book's corrected compute ``C = D x``
    this. Hoffmann et al.'s Appendix F count (:func:`chinchilla_flops`) differs in counting
    the attention scores twice and the input embedding too; at the book's shapes the two
    differ by 10-30%, a constant-ish factor that barely moves fitted exponents.

    Examples
    --------
    >>> flops_per_token_with_head(2, 16, 128)  # 6 x 10,240 + 6 x 2 x 128 x 16
    86016.0
    >>> flops_per_token_with_head(2, 64, 128) - kaplan_flops_per_token(2, 64, 128)
    98304.0
    """
    nl = as_positive_int(n_layer, "n_layer")
    dm = as_positive_int(d_model, "d_model")
    ctx = as_positive_int(n_ctx, "n_ctx")
    n = np.asarray(params_with_head(nl, dm, d_ff, vocab))
    nl, dm, ctx, n = broadcast(n_layer=nl, d_model=dm, n_ctx=ctx, N=n)
    return scalar_or_array(6.0 * n + 6.0 * nl * ctx * dm)
