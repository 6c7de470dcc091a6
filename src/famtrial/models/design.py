"""Design checks shared by the estimators: collinear columns (dropped in Stata's order) and Stata-style weights."""

from __future__ import annotations

from typing import get_args

import numpy as np
from numpy.typing import ArrayLike

from famtrial._options import WeightType, check_choice

__all__ = [
    "EXTREME_ETA",
    "WEIGHT_TYPES",
    "check_weights",
    "independent_columns",
    "raise_weight_problems",
    "read_only",
    "weight_problems",
]

#: A logit's linear predictors beyond this (fitted p within 3e-7 of 0 or 1) trigger the exact separation check.
EXTREME_ETA = 15.0

#: Stata's weight types (the values of :data:`famtrial._options.WeightType`).
WEIGHT_TYPES = get_args(WeightType)


def independent_columns(gram: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """Indices of columns to keep, from the Gram matrix ``X'X`` (or a within-group cross product).

    Columns are taken in order (as Stata's ``_rmcoll``, which marks the later of two collinear
    variables "omitted"): column j is dropped when its residual sum of squares after projection on
    the kept columns, ``G_jj - G_jK G_KK^-1 G_Kj``, is below ``tol * G_jj`` (or ``G_jj`` is 0).
    Working on the k x k Gram matrix keeps the check cheap for tens of millions of rows.
    """
    gram = np.asarray(gram, dtype=float)
    keep: list[int] = []
    for j in range(gram.shape[0]):
        gjj = gram[j, j]
        if gjj <= 0:
            continue
        if keep:
            gkk = gram[np.ix_(keep, keep)]
            gkj = gram[keep, j]
            resid = gjj - gkj @ np.linalg.solve(gkk, gkj)
        else:
            resid = gjj
        if resid > tol * gjj:
            keep.append(j)
    return np.asarray(keep, dtype=int)


def weight_problems(w: np.ndarray, weight_type: str) -> tuple[int, int, float | None]:
    """Rows of ``w`` missing, infinite, zero or negative; fweights that are not whole numbers, and the first."""
    bad = ~np.isfinite(w) | (w <= 0)
    frac = np.isfinite(w) & (w != np.round(w)) if weight_type == "fweight" else np.zeros(len(w), bool)
    return int(bad.sum()), int(frac.sum()), float(w[frac][0]) if frac.any() else None


def raise_weight_problems(n: int, n_bad: int, n_fractional: int, example: float | None, weight_type: str) -> None:
    """The error for the counts of :func:`weight_problems` over ``n`` rows (none: nothing)."""
    if n_bad:
        raise ValueError(
            f"weights: {n_bad:,} of {n:,} rows are missing, infinite, zero or negative; "
            "drop those rows first (a zero-weight row carries no information)"
        )
    if weight_type == "fweight" and n_fractional:
        raise ValueError(
            f"fweights must be whole numbers; {n_fractional:,} rows are not "
            f"(e.g. {example:g}); use weight_type='pweight' for sampling weights"
        )


def check_weights(weights: ArrayLike, weight_type: WeightType, n: int) -> np.ndarray:
    """Validate Stata-style weights: fweights positive integers, pweights positive; finite, one per row."""
    check_choice(weight_type, WeightType, "weight_type")
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != n:
        raise ValueError(f"weights has {len(w):,} rows; the data have {n:,}")
    raise_weight_problems(n, *weight_problems(w, weight_type), weight_type)
    return w


def read_only(values: np.ndarray) -> np.ndarray:
    """A view of ``values`` that cannot be written to (a model's data stay as they were fitted)."""
    view = values.view()
    view.flags.writeable = False
    return view
