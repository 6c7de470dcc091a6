"""An independent numpy implementation of the score-statistic randomization test, written from the formula.

Not famtrial's code: the exact conditional logit is computed by enumerating every way a group's k ones
can fall among its T rows (``itertools.combinations``; small groups only), the restricted fit by
scipy's BFGS on that likelihood, and every derivative from the enumerated conditional distribution.

For a re-draw ``a`` (one 0/1 arm per unit; a unit's rows get ``x_it = a_u d_it``) and the restricted
estimate ``g~`` (the model without the treatment):

* per group i: ``pi_t`` = P(row t is a one | k ones), ``Cov_i`` their covariance (both by enumeration);
  the treatment score ``r_i = d_i'(y_i - pi)``, nuisance scores ``s_i = X_i'(y_i - pi)``, the
  cross-information ``c_i = X_i' Cov_i d_i`` and ``I = sum_i X_i' Cov_i X_i`` (all times the group's
  weight when weighted);
* the logit: ``p = expit(X g~)``, ``r_i = d_i (y_i - p_i)``, ``s_i = x_i (y_i - p_i)``,
  ``c_i = p_i (1 - p_i) d_i x_i``, ``I = X' diag(p (1 - p)) X``;
* ``S(a) = sum_i a_u(i) r_i``; ``b(a) = I^{-1} sum_i a_u(i) c_i``; cluster terms
  ``u_c = sum_{i in c} (a_u(i) r_i - b(a)' s_i)``; ``T(a) = S / sqrt(G/(G-1) sum_c u_c^2)``;
* ``p = (1 + #{|T(a_r)| >= |T(a_obs)|}) / (1 + R)``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import optimize
from scipy.special import expit


def _group_moments(eta: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Inclusion probabilities, their covariance and log e_k of one group, by enumeration."""
    t = len(eta)
    subsets = np.array(list(itertools.combinations(range(t), k)))
    z = np.zeros((len(subsets), t))
    z[np.arange(len(subsets))[:, None], subsets] = 1.0
    logw = z @ eta
    m = logw.max()
    w = np.exp(logw - m)
    prob = w / w.sum()
    pi = prob @ z
    second = (z * prob[:, None]).T @ z
    return pi, second - np.outer(pi, pi), float(m + np.log(w.sum()))


def _design(x: np.ndarray, time: np.ndarray | None) -> np.ndarray:
    if time is None:
        return x
    levels = np.unique(time)
    dummies = (time[:, None] == levels[None, 1:]).astype(float)
    return np.column_stack([x, dummies])


def clogit_pieces(y, x, groups, d, units, clusters, time=None, weights=None):
    """Per-group r_i, c_i, s_i, unit and cluster, and I, of the restricted exact conditional logit."""
    xx = _design(np.asarray(x, float).reshape(len(y), -1), None if time is None else np.asarray(time))
    labels = [g for g in dict.fromkeys(groups) if 0 < y[groups == g].sum() < (groups == g).sum()]
    rows = [np.flatnonzero(groups == g) for g in labels]
    wg = [1.0 if weights is None else float(weights[r[0]]) for r in rows]

    def negll(b):
        total = 0.0
        for r, w in zip(rows, wg):
            eta = xx[r] @ b
            _, _, loge = _group_moments(eta, int(y[r].sum()))
            total -= w * (y[r] @ eta - loge)
        return total

    def grad(b):
        g = np.zeros(len(b))
        for r, w in zip(rows, wg):
            pi, _, _ = _group_moments(xx[r] @ b, int(y[r].sum()))
            g -= w * xx[r].T @ (y[r] - pi)
        return g

    b = optimize.minimize(negll, np.zeros(xx.shape[1]), jac=grad, method="BFGS", options={"gtol": 1e-11}).x
    r_i, c_i, s_i, info = [], [], [], np.zeros((xx.shape[1], xx.shape[1]))
    for r, w in zip(rows, wg):
        pi, cov, _ = _group_moments(xx[r] @ b, int(y[r].sum()))
        r_i.append(w * d[r] @ (y[r] - pi))
        s_i.append(w * xx[r].T @ (y[r] - pi))
        c_i.append(w * xx[r].T @ cov @ d[r])
        info += w * xx[r].T @ cov @ xx[r]
    unit = np.array([units[r[0]] for r in rows])
    cluster = np.array([clusters[r[0]] for r in rows])
    return np.array(r_i), np.array(c_i), np.array(s_i), unit, cluster, info


def logit_pieces(y, x, d, units, clusters):
    """Per-row r_i, c_i, s_i, unit and cluster, and I, of the restricted logit (x includes the intercept)."""
    x = np.asarray(x, float)

    def negll(b):
        eta = x @ b
        return -(y @ eta - np.logaddexp(0, eta).sum())

    b = optimize.minimize(
        negll, np.zeros(x.shape[1]), jac=lambda b: -x.T @ (y - expit(x @ b)), method="BFGS", options={"gtol": 1e-12}
    ).x
    p = expit(x @ b)
    v = p * (1 - p)
    return (
        d * (y - p),
        (v * d)[:, None] * x,
        (y - p)[:, None] * x,
        np.asarray(units),
        np.asarray(clusters),
        (x.T * v) @ x,
    )


def statistic(pieces, arm_of_unit: np.ndarray) -> float:
    """T(a) for one assignment (``arm_of_unit[u]`` the arm of unit u)."""
    r_i, c_i, s_i, unit, cluster, info = pieces
    a = arm_of_unit[unit].astype(float)
    score = float(a @ r_i)
    b = np.linalg.solve(info, (a[:, None] * c_i).sum(axis=0))
    labels = np.unique(cluster)
    u = np.array([(a[cluster == c] @ r_i[cluster == c]) - s_i[cluster == c].sum(axis=0) @ b for c in labels])
    g = len(labels)
    return score / np.sqrt(g / (g - 1) * (u**2).sum())


def pvalue(observed: float, draws: np.ndarray) -> float:
    """``(1 + #{|T*| >= |T|}) / (1 + R)``."""
    return float((1 + np.sum(np.abs(draws) >= abs(observed))) / (1 + len(draws)))
