"""Design-matrix checks shared by the estimators: collinear columns, dropped in Stata's order."""

from __future__ import annotations

import numpy as np

__all__ = ["independent_columns"]


def independent_columns(x: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Indices of columns to keep, dropping any column that the earlier kept ones span.

    Columns are taken in order (as Stata's ``_rmcoll``, which marks the later of two collinear
    variables "omitted"): column j is dropped when its residual after least-squares projection
    on the kept columns has norm below ``tol`` times its own norm (or the column is zero).
    """
    x = np.asarray(x, dtype=float)
    keep: list[int] = []
    basis = np.empty((x.shape[0], 0))
    for j in range(x.shape[1]):
        col = x[:, j]
        norm = np.linalg.norm(col)
        if norm == 0:
            continue
        resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
        rnorm = np.linalg.norm(resid)
        if rnorm > tol * norm:
            keep.append(j)
            basis = np.column_stack([basis, resid / rnorm])
            # one re-orthogonalisation pass keeps the basis orthonormal to machine precision
            basis[:, -1] -= basis[:, :-1] @ (basis[:, :-1].T @ basis[:, -1])
            basis[:, -1] /= np.linalg.norm(basis[:, -1])
    return np.asarray(keep, dtype=int)
