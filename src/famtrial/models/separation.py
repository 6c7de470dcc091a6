r"""(Quasi-)complete separation in the conditional (fixed-effects) logit: detection and the drop rule.

The conditional log-likelihood of group g (k ones among T rows, linear predictor z_t = x_t'd along a
direction d) is ``sum_{y=1} z_t - log sum_{|S|=k} exp(sum_S z_s)``. Moving the coefficients to
``b + c d`` never lowers it, for every c > 0, exactly when in every group the observed ones are
among the k largest z: ``z_t >= z_s`` for each row t with y = 1 and each row s with y = 0 of the
same group (the pair differences ``(x_t - x_s)'d >= 0``). If some pair is strict the likelihood
keeps rising as c -> infinity and the maximum likelihood estimate does not exist: d is a direction
of recession and the coefficients along it run to +-infinity (the issue's OR = 1.93e156). As c
grows, every row of a group strictly above the group's k-th largest value v_g is forced to y = 1,
every row strictly below to y = 0, and only the rows tied at v_g still carry information: the limit
of the likelihood is the conditional likelihood of those rows (with k minus the forced ones).

Detection is exact (no threshold on estimates):

* :func:`screen` (before the fit, O(n p)): each regressor alone, both signs — the conditional
  analogue of Stata ``logit``'s "x != 0 predicts success perfectly". A regressor that separates
  has its determined rows dropped (counted); groups left without outcome variation are dropped as
  usual, and the regressor, now constant within every remaining group, is omitted ("no
  within-group variation"). The fit on the remaining rows is the limit described above and equals
  what R ``survival::clogit`` (or Stata ``clogit``) reports when run on those rows.
* :func:`direction` (a linear programme, Konis 2007, for combinations of regressors):
  ``max sum_r s_r (x_r'd - c_g)`` subject to ``s_r (x_r'd - c_g) >= 0``, ``-1 <= d_j <= 1`` with
  ``s_r = 2 y_r - 1`` and one free threshold c_g per group (so the constraints grow with the rows,
  not with the pairs). Its optimum is positive exactly when a direction of recession exists. The
  LP costs a few fits, so the model runs it only when the fit signals divergence (step halving
  failed, no convergence, or a linear-predictor gap beyond ``EXTREME_ETA`` within a group), and
  then raises :class:`~famtrial.errors.SeparationError` naming a minimal set of regressors.

See docs/methods.md, "Separation", for the Stata and R behaviour side by side.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from famtrial.errors import SeparationError
from famtrial.models.base import DropRecord

__all__ = ["EXTREME_ETA", "screen", "determined_rows", "direction", "diverging", "raise_if_separated"]

#: A positive row this far above every negative row of its group on the linear predictor (or a
#: negative row this far below every positive row) makes the fitted model run the exact LP check.
EXTREME_ETA = 15.0
_TOL = 1e-7


def _rows(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The row positions of the ranges ``[lo[g], hi[g])``, concatenated."""
    lengths = np.asarray(hi - lo, dtype=np.int64)
    firsts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    return np.repeat(np.asarray(lo, dtype=np.int64) - firsts, lengths) + np.arange(lengths.sum())


@nb.njit(cache=True)
def _extremes(zt, y, lo, hi):
    """Per row of ``zt`` and per group, the extremes of its values over the ones and over the zeros.

    ``(4, p, G)``: per row of ``zt`` (p, n) and group (rows ``lo[g]:hi[g]``), min and max over the ones, then over the
    zeros (+-inf where there are none). One pass over the data.
    """
    p = zt.shape[0]
    G = lo.shape[0]
    out = np.empty((4, p, G))
    for g in range(G):
        for a in range(p):
            mn1 = np.inf
            mx1 = -np.inf
            mn0 = np.inf
            mx0 = -np.inf
            for r in range(lo[g], hi[g]):
                v = zt[a, r]
                if y[r] == 1:
                    mn1 = min(mn1, v)
                    mx1 = max(mx1, v)
                else:
                    mn0 = min(mn0, v)
                    mx0 = max(mx0, v)
            out[0, a, g] = mn1
            out[1, a, g] = mx1
            out[2, a, g] = mn0
            out[3, a, g] = mx0
    return out


def _group_extremes(z: np.ndarray, y: np.ndarray, starts: np.ndarray):
    """Per group: min and max of z over the ones, and over the zeros (+-inf where there are none)."""
    starts = np.asarray(starts, dtype=np.int64)
    out = _extremes(np.ascontiguousarray(z, dtype=float)[None, :], y, starts[:-1], starts[1:])
    return out[0, 0], out[1, 0], out[2, 0], out[3, 0]


def determined_rows(z: np.ndarray, y: np.ndarray, starts: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Rows whose outcome the direction with linear predictor ``z`` determines.

    In each group with outcome variation, the rows strictly above (forced to 1) or below (forced to 0) the group's k-th
    largest z, k the group's number of ones. ``starts`` are the group boundaries (rows sorted by group). (:func:`screen`
    also drops the tied rows of a group when they have no outcome variation left.)
    """
    n = len(z)
    sizes = np.diff(starts)
    code = np.repeat(np.arange(len(sizes)), sizes)
    k = np.add.reduceat(y.astype(np.int64), starts[:-1])
    order = np.lexsort((-z, code))  # within each group, z descending
    informative = (k > 0) & (k < sizes)
    kth = np.full(len(sizes), np.nan)
    kth[informative] = z[order[starts[:-1][informative] + k[informative] - 1]]
    v = kth[code]
    out = np.zeros(n, dtype=bool)
    inf_rows = informative[code]
    out[inf_rows] = np.abs(z[inf_rows] - v[inf_rows]) > tol
    return out


def _whole_groups(det: np.ndarray, y: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Extend the determined rows to every row of a touched group with no outcome variation left.

    The whole group is then determined; also return that group mask.
    """
    sizes = np.diff(starts)
    code = np.repeat(np.arange(len(sizes)), sizes)
    touched = np.bincount(code[det], minlength=len(sizes)) > 0
    left_y = np.add.reduceat(np.where(det, 0, y), starts[:-1])
    left_n = np.add.reduceat((~det).astype(np.int64), starts[:-1])
    whole = touched & ((left_y == 0) | (left_y == left_n))
    return det | whole[code], whole


def _describe(name: str, col: np.ndarray, sign: float, groups: int, rows: int, emptied: int) -> str:
    binary = np.isin(col, (0.0, 1.0)).all()
    if binary:
        what = f"{name} != 0 predicts {'success' if sign > 0 else 'failure'} perfectly within {groups:,} groups"
    else:
        what = (
            f"{'larger' if sign > 0 else 'smaller'} values of {name} predict success perfectly within "
            f"{groups:,} groups (every positive month has {name} {'>=' if sign > 0 else '<='} every negative "
            "month of its group)"
        )
    left = f" ({emptied:,} of these groups wholly determined)" if emptied else ""
    return f"{what}{left}; {name} omitted and its {rows:,} determined obs not used"


def screen(xt: np.ndarray, y: np.ndarray, starts: np.ndarray, names: Sequence[str]):
    """Before the fit: drop the rows each separating regressor determines (exact, one regressor at a time).

    ``xt`` is ``(p, n)`` (rows sorted by group, boundaries ``starts``), ``y`` 0/1. Regressors are
    checked in order, repeatedly, until none separates the rows still kept. Returns ``None`` when
    nothing separates, else ``(keep, records)``: a row mask and one ``"rows"``
    :class:`~famtrial.models.base.DropRecord` per separating regressor. Raises
    :class:`~famtrial.errors.SeparationError` when no group with outcome variation is left
    (complete separation).
    """
    n = len(y)
    starts = np.asarray(starts, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    records: list[DropRecord] = []
    touched_groups: list[int] = []
    cur_y, cur_starts, rows = y, starts, np.arange(n)
    found = True
    while found:
        found = False
        ext = _extremes(
            xt if len(rows) == n else np.ascontiguousarray(xt[:, rows]), cur_y, cur_starts[:-1], cur_starts[1:]
        )
        for j, name in enumerate(names):
            min1, max1, min0, max0 = ext[:, j]
            for sign in (1.0, -1.0):
                lo1, hi1, lo0, hi0 = (min1, max1, min0, max0) if sign > 0 else (-max1, -min1, -max0, -min0)
                if not (lo1 >= hi0).all() or not (hi1 > lo0).any():  # not weakly ordered, or nothing strict
                    continue
                col = xt[j, rows]
                det = determined_rows(sign * col, cur_y, cur_starts)
                sizes = np.diff(cur_starts)
                code = np.repeat(np.arange(len(sizes)), sizes)
                touched = np.bincount(code[det], minlength=len(sizes)) > 0
                det, whole = _whole_groups(det, cur_y, cur_starts)
                emptied = int(whole.sum())
                records.append(
                    DropRecord(
                        "rows",
                        int(det.sum()),
                        _describe(name, col, sign, int(touched.sum()), int(det.sum()), emptied),
                        (name,),
                    )
                )
                touched_groups.append(int(touched.sum()))
                keep[rows[det]] = False
                rows = rows[~det]
                cur_y = cur_y[~det]
                kept_sizes = np.add.reduceat((~det).astype(np.int64), cur_starts[:-1])
                cur_starts = np.concatenate(([0], np.cumsum(kept_sizes[kept_sizes > 0])))
                found = True
                break
            if found:
                break
    if not records:
        return None
    sizes = np.diff(cur_starts)
    k = np.add.reduceat(cur_y.astype(np.int64), cur_starts[:-1]) if len(cur_y) else np.zeros(0, np.int64)
    if not ((k > 0) & (k < sizes)).any():
        names_sep = [r.names[0] for r in records]
        n_touched = sum(touched_groups)
        raise SeparationError(
            f"complete separation: {' and '.join(names_sep)} predict(s) the outcome perfectly in every group with "
            f"outcome variation ({n_touched:,} groups, {int((~keep).sum()):,} rows determined), so the conditional "
            "ML estimate does not exist. Drop or recode the regressor(s), or restrict the sample",
            variables=names_sep,
            groups=n_touched,
            rows=int((~keep).sum()),
        )
    return keep, records


def direction(xt: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Exact direction of recession of the conditional likelihood, by linear programming.

    ``xt`` ``(p, n)``, ``y`` 0/1, groups ``[lo[g], hi[g])`` (those with outcome variation). Returns
    ``None`` when the conditional ML estimate exists, else ``(d, determined)``: the direction (on
    the original scale of the columns) and a mask over the rows of the groups (concatenated in
    ``lo`` order) of the rows it determines.
    """
    p = xt.shape[0]
    idx = _rows(lo, hi)
    if p == 0 or len(idx) == 0:
        return None
    x = xt[:, idx].T
    s = 2.0 * y[idx] - 1.0
    sizes = hi - lo
    code = np.repeat(np.arange(len(lo)), sizes)
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    n = len(idx)
    a = sp.hstack(
        [sp.csr_matrix(s[:, None] * (x / scale)), sp.csr_matrix((-s, (np.arange(n), code)), shape=(n, len(lo)))]
    ).tocsr()
    res = linprog(
        -np.asarray(a.sum(axis=0)).ravel(),
        A_ub=-a,
        b_ub=np.zeros(n),
        bounds=[(-1, 1)] * p + [(None, None)] * len(lo),
        method="highs",
    )
    if res.status != 0:
        return None
    d = res.x[:p] / scale
    z = x @ d
    starts = np.concatenate(([0], np.cumsum(sizes)))
    min1, max1, min0, max0 = _group_extremes(z, y[idx], starts)
    tol = _TOL * max(1.0, float(np.abs(z).max()))
    if (min1 < max0 - tol).any() or not (max1 > min0 + tol).any():
        return None
    return d, _whole_groups(determined_rows(z, y[idx], starts, tol), y[idx], starts)[0]


def diverging(xt: np.ndarray, params: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> bool:
    """Whether the linear predictor ``x'b`` at ``params`` nearly separates some group.

    True when it puts a positive row more than ``EXTREME_ETA`` above every negative row of its group, or a negative row
    that far below every positive row (a pair probability within 3e-7 of 0 or 1). Rows a direction of recession
    determines do exactly that once the fit has run far along it, so the exact check runs then.
    """
    if len(lo) == 0 or len(params) == 0:
        return False
    return (
        _largest_gap(
            xt, np.asarray(params, dtype=float), y, np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        )
        > EXTREME_ETA
    )


@nb.njit(cache=True)
def _largest_gap(xt, params, y, lo, hi):
    """Largest margin by which x'b separates a group's positive rows from its negative rows.

    A positive row above every negative row of its group, or a negative row below every positive row (``max1 - max0``
    and ``min1 - min0``), in one pass.
    """
    gap = -np.inf
    for g in range(lo.shape[0]):
        mx1 = -np.inf
        mn1 = np.inf
        mx0 = -np.inf
        mn0 = np.inf
        for r in range(lo[g], hi[g]):
            v = 0.0
            for a in range(xt.shape[0]):
                v += xt[a, r] * params[a]
            if y[r] == 1:
                mx1 = max(mx1, v)
                mn1 = min(mn1, v)
            else:
                mx0 = max(mx0, v)
                mn0 = min(mn0, v)
        gap = max(gap, mx1 - mx0, mn1 - mn0)
    return gap


def raise_if_separated(
    xt: np.ndarray, y: np.ndarray, lo: np.ndarray, hi: np.ndarray, names: Sequence[str], cause: str = ""
) -> None:
    """Raise :class:`~famtrial.errors.SeparationError` when the data separate; return if the ML estimate exists.

    The error names a minimal set of regressors whose combination separates, the groups touched and the rows determined;
    when the estimate exists, the caller then reports ``cause``, if any, itself.
    """
    found = direction(xt, y, lo, hi)
    if found is None:
        return
    support = [j for j, v in enumerate(found[0] * np.abs(xt).max(axis=1)) if abs(v) > 1e-6]
    for j in list(support):  # a minimal set: drop regressors while separation persists
        trial = [c for c in support if c != j]
        reduced = direction(xt[trial], y, lo, hi) if trial else None
        if reduced is not None:
            support, found = trial, reduced
    det = found[1]
    sizes = hi - lo
    code = np.repeat(np.arange(len(lo)), sizes)
    groups = int((np.bincount(code[det], minlength=len(lo)) > 0).sum())
    named = [names[j] for j in support]
    during = f" (the fit stopped: {cause})" if cause else ""
    raise SeparationError(
        f"(quasi-)complete separation in the conditional likelihood{during}: "
        f"{'the combination of ' * (len(named) > 1)}{' + '.join(named)} predicts the outcome perfectly within {groups:,} of {len(lo):,} groups "
        f"({int(det.sum()):,} rows determined), so the conditional ML estimate does not exist and these "
        "coefficients diverge. Drop or recode one of these regressors, or restrict the sample",
        variables=named,
        groups=groups,
        rows=int(det.sum()),
    )
