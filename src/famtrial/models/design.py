"""Design checks shared by the estimators: collinear columns (dropped in Stata's order) and Stata-style weights."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from famtrial._options import WeightType, check_choice
from famtrial.models.base import DropRecord

__all__ = [
    "EXTREME_ETA",
    "WEIGHTS_WITH_TIME",
    "WEIGHT_TYPES",
    "check_weights",
    "example_labels",
    "independent_columns",
    "level_labels",
    "raise_weight_problems",
    "read_only",
    "time_columns",
    "weight_problems",
    "weights_vary_error",
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


def example_labels(values: np.ndarray, n: int = 5) -> str:
    """The first ``n`` distinct values, as text for an error message."""
    return ", ".join(map(str, pd.unique(values)[:n]))


def level_labels(levels: pd.Index) -> list[str]:
    """Time levels as text: dates as YYYY-MM-DD (YYYY-MM when all are the first of a month)."""
    if isinstance(levels, pd.DatetimeIndex):
        return list(
            levels.strftime("%Y-%m" if (levels.day == 1).all() and (levels == levels.normalize()).all() else "%Y-%m-%d")
        )
    return [str(v) for v in levels]


#: The unsupported combination of weights and categorical time effects.
WEIGHTS_WITH_TIME = (
    "weights with categorical time effects are not supported: give the month effects as dense dummy "
    "regressors (C(month) in a formula) to weight the model"
)


def weights_vary_error(first_label: object, count: int) -> ValueError:
    """Weights not constant within ``count`` groups, the first ``first_label`` (Stata's clogit rule)."""
    return ValueError(
        f"weights vary within group '{first_label}' ({count:,} groups have non-constant weights); the "
        "conditional logit needs one weight per group (Stata's clogit rule): give every row of a group "
        "the group's weight"
    )


def time_columns(
    info: np.ndarray, count: np.ndarray, exog_names: list[str], level_names: list[str]
) -> tuple[np.ndarray, list[str], list[DropRecord]]:
    """Which regressors and time levels stay, from the information matrix at b = 0.

    ``info`` holds the regressors then the levels after the base; ``count`` is each level's row count among informative
    groups. Levels without within-group variation, then columns collinear with earlier ones, are omitted. Returns the
    kept columns' positions, all columns' names and the drop records.
    """
    p = len(exog_names)
    names = [*exog_names, *level_names]
    dropped = []
    constant = np.diag(info)[p:] <= 1e-20 * np.maximum(count, 1)
    for j in np.flatnonzero(constant):
        dropped.append(DropRecord("variable", 0, "no within-group variation", (names[p + j],)))
    candidates = np.r_[np.arange(p), p + np.flatnonzero(~constant)]
    kept = candidates[independent_columns(info[np.ix_(candidates, candidates)])]
    for j in sorted(set(candidates) - set(kept)):
        dropped.append(DropRecord("variable", 0, "collinear with earlier regressors", (names[j],)))
    return kept, names, dropped
