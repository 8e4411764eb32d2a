"""One shape for every fit's result (as scipy's ``OptimizeResult`` and lmfit's ``ModelResult``).

Every fit returns an object that has:

``params``
    A dict of the fitted parameters, by name.
``converged``, ``message``
    Whether the fit reached its optimum, and what was measured to decide it. A result that
    did not converge is returned (so it can be inspected) but must not be used silently:
    the chapters check ``converged`` and say so.
``n_points``
    The number of data points the fit used.
``predict(...)``
    The fitted curve at new inputs.
``table()``
    The parameters with their standard errors (NaN where a method gives none), one row each.

Bootstraps (:mod:`scaling_utils.fitting.bootstrap`) are not fits: they carry intervals and
count the resamples whose fit did not converge (``n_unconverged``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["FitResult", "param_table"]


@runtime_checkable
class FitResult(Protocol):
    """What every fit result offers (see the module docstring)."""

    converged: bool
    message: str
    n_points: int

    @property
    def params(self) -> dict[str, float]:
        """The fitted parameters, by name."""
        ...

    def predict(self, *args, **kwargs):
        """The fitted curve at new inputs."""
        ...

    def table(self) -> pd.DataFrame:
        """``param, value, se``: one row per parameter."""
        ...


def param_table(params: dict[str, float], errors: dict[str, float] | None = None) -> pd.DataFrame:
    """``param, value, se`` rows (``se`` NaN where ``errors`` lacks the parameter).

    Examples
    --------
    >>> param_table({"a": 0.5, "b": 0.5}, {"a": 0.01})
           value    se
    param
    a        0.5  0.01
    b        0.5   NaN
    """
    errors = errors or {}
    return pd.DataFrame(
        {"param": list(params), "value": list(params.values()), "se": [errors.get(k, np.nan) for k in params]}
    ).set_index("param")
