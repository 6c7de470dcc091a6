"""Numba kernels for the exact conditional logit: log-likelihood, per-group scores and Hessian.

Each group's denominator is the elementary symmetric polynomial e_k(w) of w_t = exp(eta_t) over
its rows, built by the recursion E_j <- E_j + w_t E_{j-1} (Gail, Lubin and Rubinstein 1981). First
and second derivatives with respect to the coefficients are carried through the same recursion.
Weights are centred on the group's mean eta and the live part of the arrays is rescaled whenever
it leaves [1e-150, 1e150], so nothing overflows and nothing that still matters underflows. Groups with more ones than zeros are
complemented (y -> 1-y, x -> -x), which leaves the likelihood unchanged and keeps the recursion at
min(k, T-k) terms.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_BIG = 1e150


@nb.njit(cache=True, nogil=True)
def _group(x, eta, y, s, e, kk, flip, want_hess, score_out, hess_acc, E, dE, d2E, xt):
    p = x.shape[1]
    sign = -1.0 if flip else 1.0
    # shift the weights to centre them (w = exp(eta' - c), c = mean of eta' but no lower than
    # max - 300): centred weights keep the live E_j on one scale, so none underflows before it
    # is combined with the remaining rows; the cap keeps every w below exp(300)
    cmax = -np.inf
    total = 0.0
    for t in range(s, e):
        v = sign * eta[t]
        total += v
        if v > cmax:
            cmax = v
    cmax = max(total / (e - s), cmax - 300.0)
    for j in range(kk + 1):
        E[j] = 0.0
        for a in range(p):
            dE[j, a] = 0.0
            if want_hess:
                for b in range(a, p):
                    d2E[j, a, b] = 0.0
    E[0] = 1.0
    logscale = 0.0
    ll = 0.0
    for t in range(s, e):
        w = np.exp(sign * eta[t] - cmax)
        for a in range(p):
            xt[a] = sign * x[t, a]
        yt = (1 - y[t]) if flip else y[t]
        if yt == 1:
            ll += sign * eta[t] - cmax
            for a in range(p):
                score_out[a] += xt[a]
        # E_j can still reach E_kk only if j >= kk - (rows left after this one)
        top = min(kk, t - s + 1)
        bottom = max(1, kk - (e - t - 1))
        for j in range(top, bottom - 1, -1):
            Ej1 = E[j - 1]
            if want_hess:
                for a in range(p):
                    da = dE[j - 1, a]
                    xa = xt[a]
                    for b in range(a, p):
                        d2E[j, a, b] += w * (xa * xt[b] * Ej1 + xa * dE[j - 1, b] + da * xt[b] + d2E[j - 1, a, b])
            for a in range(p):
                dE[j, a] += w * (xt[a] * Ej1 + dE[j - 1, a])
            E[j] += w * Ej1
        # rescale the live entries (those that can still reach E_kk) to stay in range;
        # entries below them are dead and are never read again
        live = max(0, kk - (e - t - 1))
        m = 0.0
        for j in range(live, kk + 1):
            if E[j] > m:
                m = E[j]
        if m > _BIG or (0.0 < m < 1.0 / _BIG):
            inv = 1.0 / m
            logscale += np.log(m)
            for j in range(live, kk + 1):
                E[j] *= inv
                for a in range(p):
                    dE[j, a] *= inv
                    if want_hess:
                        for b in range(a, p):
                            d2E[j, a, b] *= inv
    Ek = E[kk]
    ll -= np.log(Ek) + logscale
    for a in range(p):
        ma = dE[kk, a] / Ek
        score_out[a] -= ma
    if want_hess:
        for a in range(p):
            ma = dE[kk, a] / Ek
            for b in range(a, p):
                mb = dE[kk, b] / Ek
                h = -(d2E[kk, a, b] / Ek - ma * mb)
                hess_acc[a, b] += h
                if b != a:
                    hess_acc[b, a] += h
    return ll


@nb.njit(cache=True)
def group_sizes(y, starts):
    """Per group: the recursion depth min(k, T-k) and whether the group is complemented (k > T/2)."""
    G = starts.shape[0] - 1
    depth = np.empty(G, np.int64)
    flip = np.empty(G, np.bool_)
    for g in range(G):
        k = 0
        for t in range(starts[g], starts[g + 1]):
            k += y[t]
        T = starts[g + 1] - starts[g]
        flip[g] = 2 * k > T
        depth[g] = T - k if flip[g] else k
    return depth, flip


@nb.njit(cache=True, parallel=True)
def derivatives(x, eta, y, starts, depth, flip, want_hess):
    """Per-group log-likelihood (G,), per-group scores (G, p) and the summed Hessian (p, p)."""
    G = starts.shape[0] - 1
    p = x.shape[1]
    nchunk = min(G, 256)
    ll = np.zeros(G)
    scores = np.zeros((G, p))
    hess = np.zeros((nchunk, p, p))
    per = (G + nchunk - 1) // nchunk
    kmax = depth.max() if G > 0 else 0
    for c in nb.prange(nchunk):
        E = np.empty(kmax + 1)
        dE = np.empty((kmax + 1, p))
        d2E = np.empty((kmax + 1, p, p)) if want_hess else np.empty((1, 1, 1))
        xt = np.empty(p)
        for g in range(c * per, min(G, (c + 1) * per)):
            ll[g] = _group(x, eta, y, starts[g], starts[g + 1], depth[g], flip[g], want_hess,
                           scores[g], hess[c], E, dE, d2E, xt)
    return ll, scores, hess.sum(axis=0)
