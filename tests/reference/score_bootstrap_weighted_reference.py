"""boottest's score bootstrap after a weighted logit, written in numpy from boottest's source (not famtrial's code).

boottest.mata (droodman/boottest, commit a67e4f2): with weights, ``ClustShare = panelsum(wt, info) / sumwt``
(line 1175), the re-centring ``pustar :- ClustShare * colsum(pustar)`` (line 2441), scores from the ML
command's weighted scores at the restricted fit. The statistic::

    t*(v) = sum_g v_g S_g / sqrt(sum_g (v_g S_g - pi_g sum_h v_h S_h)^2),   pi_g = sum_{i in g} w_i / sum_i w_i

with ``S_g`` the cluster sums of the efficient score ``s_ij - H_{j,-j} H_{-j,-j}^{-1} s_{i,-j}`` at the
restricted fit (b_j = 0), p = share of all 2^G Rademacher vectors with ``|t*| > |t|``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit


def weighted_logit_score_bootstrap(y, x, w, clusters, j: int, *, weighted_shares: bool = True) -> tuple[float, float]:
    """``(t, p)`` of H0: b_j = 0 after ``logit y x [pw=w], vce(cluster c)`` (x includes the constant)."""
    free = [k for k in range(x.shape[1]) if k != j]
    xf = x[:, free]

    def negll(b):
        eta = xf @ b
        return -(w @ (y * eta - np.logaddexp(0, eta)))

    b = optimize.minimize(
        negll,
        np.zeros(len(free)),
        jac=lambda b: -xf.T @ (w * (y - expit(xf @ b))),
        method="BFGS",
        options={"gtol": 1e-12},
    ).x
    full = np.zeros(x.shape[1])
    full[free] = b
    p = expit(x @ full)
    scores = (w * (y - p))[:, None] * x
    hess = -(x * (w * p * (1 - p))[:, None]).T @ x
    coef = np.linalg.solve(hess[np.ix_(free, free)], hess[free, j])
    eff = scores[:, j] - scores[:, free] @ coef
    labels, codes = np.unique(clusters, return_inverse=True)
    s = np.bincount(codes, weights=eff)
    mass = np.bincount(codes, weights=w) if weighted_shares else np.bincount(codes).astype(float)
    pi = mass / mass.sum()
    g = len(labels)
    v = 1.0 - 2.0 * ((np.arange(2**g)[:, None] >> np.arange(g)[None, :]) & 1)

    def t(v):
        num = v @ s
        return num / np.sqrt(((v * s - num[:, None] * pi) ** 2).sum(axis=1))

    obs = float(t(np.ones((1, g)))[0])
    return obs, float(np.mean(np.abs(t(v)) > abs(obs) * (1 + 1e-10)))
