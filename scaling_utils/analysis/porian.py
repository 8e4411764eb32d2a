"""Porian et al. 2024's released IsoFLOP points and their ladder of corrections.

Porian et al. ("Resolving Discrepancies in Compute-Optimal Scaling of Language Models",
arXiv:2406.19146) trained the same models under Kaplan's and Chinchilla's methods and
changed one thing at a time. Their data (MIT) is committed in ``data/external/porian2024``;
:func:`load_porian2024` reads and checks it, :data:`SETTINGS` lists the 15 settings with the
exponent the paper reports for each, and :func:`porian_ladder` refits every setting with the
book's own approach 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scaling_utils._paths import repo_root
from scaling_utils.analysis.results import ResultsError, file_sha256
from scaling_utils.fitting import bootstrap_isoflop, fit_isoflop

__all__ = ["KEYS", "SETTINGS", "Refit", "Setting", "load_porian2024", "porian_ladder", "refit", "select", "setting"]

SHA256 = "f19e98fce2b0e68a2dca7f4c2d7270dac7fa3e64fdca12d987566785a7e8d25d"
KEYS: tuple[str, ...] = ("dataset", "hparams", "warmup", "decay", "param_count", "loss_split")
"""Columns that name a setting."""

_VALUES = {
    "dataset": {"rw", "owt2"},
    "hparams": {"base", "tuned"},
    "warmup": {"long", "short"},
    "decay": {"kaplan", "chinchilla", "const"},
    "param_count": {"kaplan", "standard", "attention"},
    "loss_split": {"train", "val"},
}
_NUMERIC = ("flops", "n", "tokens", "loss")


@dataclass(frozen=True)
class Setting:
    """One methodology setting of Porian et al. and the exponent ``a`` the paper reports for it."""

    key: tuple[str, str, str, str, str, str]
    ladder: str
    rung: int
    label: str
    a_paper: float


def _s(key: str, ladder: str, rung: int, label: str, a: float) -> Setting:
    return Setting(tuple(key.split("/")), ladder, rung, label, a)  # type: ignore[arg-type]


SETTINGS: tuple[Setting, ...] = (
    _s("rw/base/long/kaplan/kaplan/train", "RefinedWeb", 0, "Kaplan's method", 0.835),
    _s("rw/base/long/kaplan/standard/val", "RefinedWeb", 1, "+ count the last layer", 0.707),
    _s("rw/base/short/kaplan/standard/val", "RefinedWeb", 2, "+ short warmup", 0.602),
    _s("rw/base/short/chinchilla/standard/val", "RefinedWeb", 3, "+ cosine matched to the run", 0.572),
    _s("rw/tuned/short/const/standard/val", "RefinedWeb", 4, "+ tuned lr, batch, beta2 (constant lr)", 0.497),
    _s("owt2/base/long/kaplan/kaplan/train", "OpenWebText2", 0, "Kaplan's method", 0.864),
    _s("owt2/base/long/kaplan/standard/val", "OpenWebText2", 1, "+ count the last layer", 0.699),
    _s("owt2/base/short/kaplan/standard/val", "OpenWebText2", 2, "+ short warmup", 0.603),
    _s("owt2/base/short/chinchilla/standard/val", "OpenWebText2", 3, "+ cosine matched to the run", 0.574),
    _s("owt2/tuned/short/const/standard/val", "OpenWebText2", 4, "+ tuned lr, batch, beta2 (constant lr)", 0.518),
    _s(
        "rw/base/long/kaplan/attention/train",
        "RefinedWeb, attention counted",
        1,
        "+ count last layer and attention",
        0.717,
    ),
    _s("rw/base/short/kaplan/attention/train", "RefinedWeb, attention counted", 2, "+ short warmup", 0.622),
    _s(
        "rw/base/short/chinchilla/attention/train",
        "RefinedWeb, attention counted",
        3,
        "+ cosine matched to the run",
        0.577,
    ),
    _s("rw/tuned/short/const/attention/train", "RefinedWeb, attention counted", 4, "+ tuned lr, batch, beta2", 0.505),
    _s(
        "rw/tuned/long/const/kaplan/train", "RefinedWeb, tuned only", 0, "tuned lr, batch, beta2; Kaplan's count", 0.711
    ),
)
"""The 15 settings; ``a_paper`` is the paper's bootstrap median (its Fig. 1 sequence)."""


def load_porian2024(path: Path | str | None = None) -> pd.DataFrame:
    """Read and check Porian et al.'s IsoFLOP points.

    Parameters
    ----------
    path : path, optional
        Default ``data/external/porian2024/isoflop_points.csv``. The default file must match
        its recorded sha256; another file is checked for its columns and values only.

    Returns
    -------
    pandas.DataFrame
        One row per point, the columns of :data:`KEYS` and ``flops, n, tokens, loss``.

    Raises
    ------
    ResultsError
        A missing file or column, a non-numeric or non-positive value (naming the row and
        column), an unknown setting value, or a changed default file.

    Examples
    --------
    >>> df = load_porian2024()
    >>> len(df), df.groupby(list(KEYS)).ngroups
    (1745, 15)
    """
    default = path is None
    csv = repo_root() / "data" / "external" / "porian2024" / "isoflop_points.csv" if default else Path(path)
    if not csv.is_file():
        raise ResultsError(f"{csv} is missing")
    if default and file_sha256(csv) != SHA256:
        raise ResultsError(f"{csv} does not match its recorded sha256: the file was changed")
    try:
        df = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ResultsError(f"{csv} cannot be parsed as CSV ({err})") from None
    missing = [c for c in (*KEYS, *_NUMERIC) if c not in df.columns]
    if missing:
        raise ResultsError(f"{csv} lacks columns {missing}")
    if df.empty:
        raise ResultsError(f"{csv} has no rows")
    for col, allowed in _VALUES.items():
        bad = ~df[col].isin(allowed)
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise ResultsError(
                f"{csv}: column {col}, row {row + 2}: unknown value {df[col].iloc[row]!r}; allowed {sorted(allowed)}"
            )
    for col in _NUMERIC:
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = ~(np.isfinite(values) & (values > 0))
        if bad.any():
            row = int(np.argmax(bad))
            raise ResultsError(
                f"{csv}: column {col}, row {row + 2}: must be a finite number > 0, got {df[col].iloc[row]!r}"
            )
        df[col] = values
    known = {s.key for s in SETTINGS}
    for key in df.groupby(list(KEYS)).groups:
        if tuple(key) not in known:
            raise ResultsError(f"{csv}: unknown setting {'/'.join(key)}")
    return df


def setting(name: str) -> Setting:
    """The :class:`Setting` of :data:`SETTINGS` named ``"rw/base/long/..."``.

    Examples
    --------
    >>> setting("rw/tuned/short/const/standard/val").a_paper
    0.497
    """
    for s in SETTINGS:
        if "/".join(s.key) == name:
            return s
    raise ValueError(f"name: no setting {name!r} in SETTINGS; known: {sorted('/'.join(s.key) for s in SETTINGS)}")


def select(df: pd.DataFrame, setting: Setting | str) -> pd.DataFrame:
    """The points of one setting (a :class:`Setting` or its ``"rw/base/long/..."`` name).

    Examples
    --------
    >>> len(select(load_porian2024(), "rw/tuned/short/const/standard/val"))
    121
    """
    key = setting.key if isinstance(setting, Setting) else tuple(str(setting).split("/"))
    if len(key) != len(KEYS):
        raise ValueError(f"setting must name {len(KEYS)} fields ({'/'.join(KEYS)}), got {setting!r}")
    sel = np.logical_and.reduce([df[k] == v for k, v in zip(KEYS, key, strict=True)])
    if not sel.any():
        raise ValueError(f"df has no points for setting {'/'.join(key)}")
    return df[sel]


def porian_ladder(
    df: pd.DataFrame, *, window: int = 5, n_resamples: int = 2000, seed: int = 0, level: float = 0.8
) -> pd.DataFrame:
    """Approach 2 on every setting, beside the paper's exponent.

    For each setting: the vertex of a parabola in log N over the ``window`` sizes around
    each budget's lowest loss (:func:`~scaling_utils.fitting.fit_isoflop`), a power law
    through the interior vertices, and a bootstrap percentile interval at ``level``
    (:func:`~scaling_utils.fitting.bootstrap_isoflop`, runs resampled within budgets).

    Returns
    -------
    pandas.DataFrame
        One row per setting of :data:`SETTINGS`, in its order: ``ladder, rung, label,
        setting, a_paper, a_book, low, high, budgets`` (interior minima used) and
        ``budgets_total``.
    """
    rows = []
    for s in SETTINGS:
        g = select(df, s)
        fit = fit_isoflop(g["n"], g["flops"], g["loss"], window=window)
        boot = bootstrap_isoflop(g["n"], g["flops"], g["loss"], window=window, n_resamples=n_resamples, seed=seed)
        lo, hi = boot.interval("a", level)
        rows.append(
            {
                "ladder": s.ladder,
                "rung": s.rung,
                "label": s.label,
                "setting": "/".join(s.key),
                "a_paper": s.a_paper,
                "a_book": fit.a,
                "low": lo,
                "high": hi,
                "budgets": int((~fit.minima["at_edge"]).sum()),
                "budgets_total": len(fit.minima),
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Refit:
    """Porian et al.'s ladder refitted on their released points (:func:`refit`)."""

    points: pd.DataFrame = field(repr=False)  # load_porian2024()
    ladder: pd.DataFrame  # porian_ladder(points, ...)
    window: int | None
    level: float

    def summary(self) -> dict[str, object]:
        """The window, the points, the largest difference to the paper (and where), RefinedWeb's first and last a."""
        ladder = self.ladder
        diff = (ladder["a_book"] - ladder["a_paper"]).abs()
        worst = ladder.loc[diff.idxmax()]
        rw = ladder[ladder["ladder"] == "RefinedWeb"].sort_values("rung")
        return {
            "window": self.window,
            "points": len(self.points),
            "max_diff": float(diff.max()),
            "max_diff_setting": f"{worst['ladder']}, {worst['label']}",
            "rw_first": float(rw["a_book"].iloc[0]),
            "rw_last": float(rw["a_book"].iloc[-1]),
            "level_pct": 100 * self.level,
        }

    def profiles(self, ladder: str = "RefinedWeb") -> list[tuple[str, pd.DataFrame, pd.DataFrame, float]]:
        """Per setting of ``ladder``: its label, points, approach-2 vertices and ``a`` (for the profiles figure)."""
        panels = []
        for s in [s for s in SETTINGS if s.ladder == ladder]:
            pts = select(self.points, s)
            fit = fit_isoflop(pts["n"], pts["flops"], pts["loss"], window=self.window)
            panels.append((s.label, pts, fit.minima, fit.a))
        return panels


def refit(
    points: pd.DataFrame, *, window: int | None = 5, n_resamples: int = 2000, seed: int = 0, level: float = 0.8
) -> Refit:
    """:func:`porian_ladder` on ``points`` (their released IsoFLOP points), kept with its settings."""
    ladder = porian_ladder(points, window=window, n_resamples=n_resamples, seed=seed, level=level)
    return Refit(points=points, ladder=ladder, window=window, level=level)
