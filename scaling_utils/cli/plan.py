"""``scaling-book plan``: the compute-optimal (and inference-aware) model for a budget."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from scaling_utils._validation import PLAUSIBLE
from scaling_utils.cli.runs import InputError
from scaling_utils.laws import (
    BESIROGLU_2024,
    HOFFMANN_2022,
    HOFFMANN_2022_UNROUNDED,
    MUENNIGHOFF_2023,
    ChinchillaLaw,
    DataConstrainedLaw,
    inference_optimal,
)

__all__ = ["DATA_CONSTRAINED", "LAWS", "make_plan", "print_plan"]

LAWS: dict[str, ChinchillaLaw] = {
    "hoffmann2022": HOFFMANN_2022,
    "hoffmann2022-unrounded": HOFFMANN_2022_UNROUNDED,
    "besiroglu2024": BESIROGLU_2024,
}
"""Law presets for ``plan --law``: Hoffmann et al. 2022's approach-3 fit as printed (Eq. 10)
and with the unrounded constants, and Besiroglu et al. 2024's replication."""

DATA_CONSTRAINED: dict[str, DataConstrainedLaw] = {"muennighoff2023": MUENNIGHOFF_2023}
"""Data-constrained presets: Muennighoff et al. 2023's C4 fit (with ``--unique-tokens``)."""


def _law(spec: str) -> ChinchillaLaw | DataConstrainedLaw:
    if spec in LAWS:
        return LAWS[spec]
    if spec in DATA_CONSTRAINED:
        return DATA_CONSTRAINED[spec]
    path = Path(spec)
    if path.suffix.lower() != ".json":
        names = ", ".join([*LAWS, *DATA_CONSTRAINED])
        raise InputError(f"--law must be one of {names} or a FILE.json; got {spec!r}")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected an object with keys E, A, B, alpha, beta")
    missing = [k for k in ("E", "A", "B", "alpha", "beta") if k not in data]
    if missing:
        raise InputError(f"{path}: missing keys {missing} (a law needs E, A, B, alpha, beta)")
    unknown = sorted(set(data) - {"E", "A", "B", "alpha", "beta", "name"})
    if unknown:
        raise InputError(f"{path}: unknown keys {unknown}")
    if "name" in data and not isinstance(data["name"], str):
        raise InputError(f"{path}: name must be a string, got {data['name']!r}")
    for k in ("E", "A", "B", "alpha", "beta"):
        v = data[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InputError(f"{path}: {k} must be a finite number > 0, got {v!r}")
    return ChinchillaLaw(
        E=float(data["E"]),
        A=float(data["A"]),
        B=float(data["B"]),
        alpha=float(data["alpha"]),
        beta=float(data["beta"]),
        name=str(data.get("name", path.stem)),
    )


def make_plan(args: argparse.Namespace) -> dict:
    """The compute-optimal allocation ``args`` ask for, as a JSON-ready dict."""
    chosen = _law(args.law)
    c = args.compute
    constrained = isinstance(chosen, DataConstrainedLaw)
    # The single-epoch (Chinchilla) law: the law itself, or the base of a data-constrained one.
    law = (
        ChinchillaLaw(E=chosen.E, A=chosen.A, B=chosen.B, alpha=chosen.alpha, beta=chosen.beta, name=chosen.name)
        if constrained
        else chosen
    )
    capped = constrained and args.unique_tokens is not None
    if capped:
        n, d = chosen.compute_optimal(c, args.unique_tokens)
        loss = float(chosen.loss(n, d, args.unique_tokens))
    else:
        n, d = law.compute_optimal(c)
        loss = float(law.loss(n, d))
    if not (n >= 1 and d >= 1):  # NaN too
        raise InputError(
            f"--compute {c:g} FLOPs gives a compute-optimal model of {float(n):.3g} parameters and {float(d):.3g} "
            f"tokens under {chosen.name}: below one parameter or token the law means nothing "
            f"(it needs --compute >= {_smallest_compute(law):.3g})"
        )
    _finite(f"the plan at --compute {c:g}", n=n, d=d, loss=loss)
    low, high = PLAUSIBLE["loss"]
    if not low <= loss <= high:
        raise InputError(
            f"{chosen.name} predicts a loss of {loss:.4g} at --compute {c:g}, outside the plausible {low:g} to "
            f"{high:g}: the law's constants are too extreme"
        )
    constants = law.constants() | ({"R_D*": chosen.rd_star, "R_N*": chosen.rn_star} if constrained else {})
    plan = {
        "law": chosen.name,
        "constants": constants,
        "compute": c,
        "N": float(n),
        "D": float(d),
        "tokens_per_parameter": float(d / n),
        "loss": loss,
        "data_constrained": constrained and args.unique_tokens is not None,
    }
    if args.unique_tokens is not None:
        plan["unique_tokens"] = args.unique_tokens
        plan["epochs"] = float(d / args.unique_tokens)
    if args.inference_tokens is not None:
        target = args.loss if args.loss is not None else plan["loss"]
        if target <= law.E:
            raise InputError(f"--loss {target:g} is unreachable: the law's irreducible loss is E = {law.E:.4g}")
        if capped:
            chin = _capped_inference(chosen, target, args.unique_tokens, 0.0)
            inf = _capped_inference(chosen, target, args.unique_tokens, args.inference_tokens)
        else:
            chin = inference_optimal(law, target, 0.0)
            inf = inference_optimal(law, target, args.inference_tokens)
        _finite("the inference-aware plan", n=inf.N, d=inf.D, chinchilla_n=chin.N, chinchilla_d=chin.D)
        plan["inference"] = {
            "inference_tokens": args.inference_tokens,
            "loss": target,
            "chinchilla": {
                "N": chin.N,
                "D": chin.D,
                "training_flops": chin.training_flops,
                "total_flops": chin.training_flops + 2 * chin.N * args.inference_tokens,
            },
            "inference_aware": {
                "N": inf.N,
                "D": inf.D,
                "training_flops": inf.training_flops,
                "total_flops": inf.total_flops,
            },
        }
        if capped:
            plan["inference"]["unique_tokens"] = args.unique_tokens
    if args.loss is not None:
        plan["target_loss"] = args.loss
        if args.loss <= law.E:
            plan["target_note"] = f"unreachable: the law's irreducible loss is E = {law.E:.4g}"
        else:
            plan["compute_for_target"] = float(_compute_for_loss(law, args.loss))
            if capped:
                plan["target_note"] = (
                    f"needs C = {plan['compute_for_target']:.4g} FLOPs with unlimited unique data "
                    f"(with {args.unique_tokens:.3g} unique tokens, see the inference table's Chinchilla row)"
                )
    return plan


def _smallest_compute(law: ChinchillaLaw) -> float:
    """The compute at which the optimum first has one parameter and one token."""
    a, b = law.exponents
    return 6.0 * max(law.G ** (-1.0 / a), law.G ** (1.0 / b))


def _finite(what: str, **values: float) -> None:
    """An InputError naming the first non-finite value: the law is too extreme for the budget."""
    for k, v in values.items():
        if not math.isfinite(float(v)):
            raise InputError(f"{what}: {k} = {v} is not finite; the law's constants are too extreme")


def _compute_for_loss(law: ChinchillaLaw, target: float) -> float:
    """Compute at which the law's optimal loss equals ``target``, in closed form.

    At the optimum both terms scale as ``(C/6)^-g`` with ``g = alpha beta / (alpha + beta)``:
    ``L_opt(C) - E = K (C/6)^-g`` with ``K = A G^-alpha + B G^beta``, so every target above
    ``E`` is within reach; one beyond float64's range is an InputError that says how far.
    """
    g = law.alpha * law.beta / (law.alpha + law.beta)
    k = law.A * law.G ** (-law.alpha) + law.B * law.G**law.beta
    log10_c = math.log10(6.0) + (math.log10(k) - math.log10(target - law.E)) / g
    if log10_c > 308:
        raise InputError(
            f"--loss {target:g} needs about 10^{log10_c:.0f} FLOPs under {law.name}: beyond any budget "
            f"(the law's irreducible loss is E = {law.E:.4g})"
        )
    return 10.0**log10_c


_UNREACHABLE = 1e300
"""The cost of a size that cannot reach the target (finite, so the scalar search stays finite)."""


class _Capped:
    """An inference-aware optimum under a data cap (the fields :func:`make_plan` reads)."""

    def __init__(self, n: float, d: float, d_inf: float) -> None:
        self.N, self.D = n, d
        self.training_flops = 6.0 * n * d
        self.total_flops = self.training_flops + 2.0 * n * d_inf


def _capped_inference(law: DataConstrainedLaw, target: float, unique: float, d_inf: float) -> _Capped:
    """Minimise ``6 N D + 2 N D_inf`` subject to the data-constrained loss equal to ``target``.

    For each ``N`` the tokens that reach ``target`` from ``unique`` unique tokens are found by
    bisection in ``log D`` (the loss falls with ``D``, towards a floor set by repetition);
    ``log N`` is searched on a grid, then by bounded scalar minimisation.
    """

    def tokens(log_n: float) -> float:
        n = math.exp(log_n)
        lo, hi = 0.0, 80.0  # log D from 1 to 5e34 tokens
        if float(law.loss(n, math.exp(hi), unique)) > target:
            return math.inf
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if float(law.loss(n, math.exp(mid), unique)) > target else (lo, mid)
        return math.exp(hi)

    def cost(log_n: float) -> float:
        d = tokens(log_n)
        n = math.exp(log_n)
        return math.log(6.0 * n * d + 2.0 * n * d_inf) if math.isfinite(d) else _UNREACHABLE

    grid = np.linspace(0.0, 80.0, 161)
    values = np.array([cost(x) for x in grid])
    if not (values < _UNREACHABLE).any():
        raise InputError(
            f"--loss {target:g} is out of reach with {unique:.3g} unique tokens under {law.name}: "
            "repeating them cannot lower the loss that far"
        )
    k = int(np.argmin(values))
    from scipy.optimize import minimize_scalar  # imported when needed: --help stays fast

    res = minimize_scalar(cost, bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]), method="bounded")
    log_n = float(res.x) if res.fun <= values[k] else float(grid[k])
    return _Capped(math.exp(log_n), tokens(log_n), d_inf)


def print_plan(plan: dict, out) -> None:
    """Write the result of :func:`make_plan` as text to ``out``."""
    print(f"law: {plan['law']}", file=out)
    print(f"  {', '.join(f'{k} = {v:.4g}' for k, v in plan['constants'].items())}", file=out)
    print(f"compute C        {plan['compute']:.4g} FLOPs (C = 6 N D)", file=out)
    print(f"parameters N     {plan['N']:.4g}", file=out)
    print(f"tokens D         {plan['D']:.4g}", file=out)
    print(f"tokens/parameter {plan['tokens_per_parameter']:.3g}", file=out)
    print(f"predicted loss   {plan['loss']:.4f}", file=out)
    if "epochs" in plan:
        print(f"epochs of {plan['unique_tokens']:.3g} unique tokens: {plan['epochs']:.3g}", file=out)
        if plan["data_constrained"]:
            print("  (the data-constrained optimum: repeated tokens count as less than new ones)", file=out)
        elif plan["epochs"] > 1:
            print("  (this law assumes every token is new; --law muennighoff2023 values repeats less)", file=out)
    if "target_loss" in plan:
        if "target_note" in plan:
            print(f"loss {plan['target_loss']:.4g}: {plan['target_note']}", file=out)
        else:
            print(f"loss {plan['target_loss']:.4g} needs C = {plan['compute_for_target']:.4g} FLOPs", file=out)
    if "inference" in plan:
        i = plan["inference"]
        print(
            f"\nServing {i['inference_tokens']:.3g} tokens at loss {i['loss']:.4f} "
            "(Sardana et al. 2024: minimise 6ND + 2N D_inf):",
            file=out,
        )
        if "unique_tokens" in i:
            print(
                f"  (both rows drawn from {i['unique_tokens']:.3g} unique tokens: the data-constrained law)", file=out
            )
        print(f"{'':<16} {'N':>10} {'D':>10} {'D/N':>7} {'train FLOPs':>12} {'total FLOPs':>12}", file=out)
        for name, key in (("Chinchilla", "chinchilla"), ("inference-aware", "inference_aware")):
            r = i[key]
            print(
                f"{name:<16} {r['N']:>10.4g} {r['D']:>10.4g} {r['D'] / r['N']:>7.3g} "
                f"{r['training_flops']:>12.4g} {r['total_flops']:>12.4g}",
                file=out,
            )
