"""Design-matrix checks shared by the estimators: collinear columns, dropped in Stata's order."""

from __future__ import annotations

import numpy as np

__all__ = ["independent_columns"]


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
