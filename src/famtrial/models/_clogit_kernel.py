"""Numba kernels for the exact conditional logit: log-likelihood, per-group scores and Hessian.

Each group's denominator is the elementary symmetric polynomial e_k(w) of w_t = exp(eta_t) over
its rows, built by the recursion E_j <- E_j + w_t E_{j-1} (Gail, Lubin and Rubinstein 1981). First
and second derivatives with respect to the coefficients are carried through the same recursion.

Layout: groups with the same recursion depth are processed a batch (16-64 groups) at a time, the
group ("lane") index innermost, so the updates run as SIMD operations across groups. Shorter
groups of a batch are padded in front with rows of weight 0, which leave e_k unchanged. Groups
with more ones than zeros are complemented (y -> 1-y, x -> -x), which leaves the likelihood
unchanged and keeps the depth at min(k, T-k). Weights are centred on the group's mean eta, and the
live part of a lane's arrays is rescaled whenever it leaves [1e-100, 1e100], so nothing overflows
and nothing that still matters underflows.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_BIG = 1e100
# single-core speed of the batched update by lane count (GFMA/s, measured on AVX2): wider batches
# vectorize better but leave more lanes empty when a depth has few groups
_LANE_SPEED = {16: 2.3, 32: 2.7, 64: 3.35}


def plan(ones: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complementing flag per group and the batches of equal depth min(k, T-k).

    Group i has ``ones[i]`` ones among ``sizes[i]`` rows. Returns ``flip (G,)``, ``batches (B, lanes)`` (group
    indices, -1 for an empty lane) and ``batch_depth (B,)``. Groups are sorted by depth, then size,
    so a batch's groups have the same depth and similar sizes; the lane count minimises the
    estimated time, empty lanes included.
    """
    flip = 2 * ones > sizes
    depth = np.where(flip, sizes - ones, ones).astype(np.int64)
    order = np.lexsort((sizes, depth))
    d_sorted = depth[order]
    run_starts = np.flatnonzero(np.r_[True, d_sorted[1:] != d_sorted[:-1]])
    run_ends = np.r_[run_starts[1:], len(order)]
    run_len = run_ends - run_starts
    work = {n: (-(-run_len // n) * n * (d_sorted[run_starts] + 1)).sum() / speed for n, speed in _LANE_SPEED.items()}
    lanes = min(work, key=work.get)
    n_batches = -(-run_len // lanes)
    batches = np.full((int(n_batches.sum()), lanes), -1, np.int64)
    first = np.r_[0, np.cumsum(n_batches)]
    for a, b, b0, b1 in zip(run_starts, run_ends, first[:-1], first[1:]):
        batches[b0:b1].reshape(-1)[:b - a] = order[a:b]
    return flip, batches, depth[batches[:, 0]]


@nb.njit(cache=True, parallel=True)
def null_point(xt, y, lo, hi):
    """At b = 0 without offset, in closed form: within-group cross-products of x, sum of squares,
    log-likelihood, score and Hessian. ``xt`` is the covariate matrix transposed, ``(p, n)``.

    At b = 0 the ones are a simple random sample of k_g of the T_g rows: log-likelihood
    ``-sum_g log C(T_g, k_g)``, score ``sum_g (sum_{y=1} x - k_g xbar_g)``, Hessian
    ``-sum_g k_g (T_g - k_g) / (T_g (T_g - 1)) sum_t (x_t - xbar_g)(x_t - xbar_g)'``.
    """
    G = lo.shape[0]
    p = xt.shape[0]
    npair = p * (p + 1) // 2
    nchunk = max(1, min(G, 64))
    gram = np.zeros((nchunk, npair))
    hess = np.zeros((nchunk, npair))
    score = np.zeros((nchunk, p))
    sumsq = np.zeros((nchunk, p))
    ll = np.zeros(nchunk)
    for c in nb.prange(nchunk):
        mean = np.empty(p)
        sq = np.zeros(p)
        sc = np.zeros(p)
        dev = np.empty(p)
        pairs = np.empty(npair)
        for i in range(c, G, nchunk):
            s, e = lo[i], hi[i]
            T = e - s
            k = 0
            mean[:] = 0.0
            for r in range(s, e):
                on = y[r] == 1
                k += on
                for a in range(p):
                    v = xt[a, r]
                    mean[a] += v
                    sq[a] += v * v
                    if on:
                        sc[a] += v
            for a in range(p):
                mean[a] /= T
                sc[a] -= k * mean[a]
            pairs[:] = 0.0
            for r in range(s, e):
                for a in range(p):
                    dev[a] = xt[a, r] - mean[a]
                m = 0
                for a in range(p):
                    for b in range(a, p):
                        pairs[m] += dev[a] * dev[b]
                        m += 1
            wgt = k * (T - k) / (T * (T - 1.0))
            for m in range(npair):
                gram[c, m] += pairs[m]
                hess[c, m] -= wgt * pairs[m]
            ll[c] -= math.lgamma(T + 1.0) - math.lgamma(k + 1.0) - math.lgamma(T - k + 1.0)
        score[c] = sc
        sumsq[c] = sq
    g = np.empty((p, p))
    h = np.empty((p, p))
    gsum = gram.sum(axis=0)
    hsum = hess.sum(axis=0)
    m = 0
    for a in range(p):
        for b in range(a, p):
            g[a, b] = g[b, a] = gsum[m]
            h[a, b] = h[b, a] = hsum[m]
            m += 1
    return g, sumsq.sum(axis=0), ll.sum(), score.sum(axis=0), h


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _batch(xt, params, offset, y, lo, hi, flip, groups, kk, want_hess, pa, pb,
           S, xb, wb, c1, c2, dc1, dc2, sx, d2c1, d2c2, logscale, mx, ll, scores, hess):
    p = xt.shape[0]
    L = groups.shape[0]
    npair = pa.shape[0] if want_hess else 0
    d1 = 1
    d2 = 1 + p
    ncomp = d2 + npair
    has_offset = offset.shape[0] > 0
    # gather the lanes: complemented covariates and centred weights, padded in front to a common length
    tb = 0
    for l in range(L):
        if groups[l] >= 0:
            tb = max(tb, hi[groups[l]] - lo[groups[l]])
    minpad = tb
    for l in range(L):
        g = groups[l]
        logscale[l] = 0.0
        s = lo[g] if g >= 0 else 0
        e = hi[g] if g >= 0 else 0
        pad = tb - (e - s)
        for t in range(pad):
            wb[t, l] = 0.0
            for a in range(p):
                xb[t, a, l] = 0.0
        if g < 0:
            continue
        minpad = min(minpad, pad)
        sign = -1.0 if flip[g] else 1.0
        total = 0.0
        vmax = -np.inf
        for r in range(s, e):
            v = offset[r] if has_offset else 0.0
            for a in range(p):
                v += xt[a, r] * params[a]
            v *= sign
            wb[pad + r - s, l] = v
            total += v
            vmax = max(vmax, v)
            for a in range(p):
                xb[pad + r - s, a, l] = sign * xt[a, r]
        # w = exp(v - c), c = mean of v but no lower than max - 200: centred weights keep the live
        # E_j on one scale, and the cap keeps every w below exp(200), so two rows multiply the
        # live entries (at most 1e100 after rescaling) by at most 5e173
        c = max(total / (e - s), vmax - 200.0)
        llg = 0.0
        for r in range(s, e):
            t = pad + r - s
            if (1 - y[r] if flip[g] else y[r]) == 1:
                llg += wb[t, l] - c
                for a in range(p):
                    scores[g, a] += xb[t, a, l]
            wb[t, l] = np.exp(wb[t, l] - c)
        ll[g] = llg
    # the recursion, all lanes at once and two rows per sweep: multiplying by
    # (1 + w_t z)(1 + w_u z) = 1 + c1 z + c2 z^2 adds c1 E_{j-1} + c2 E_{j-2} to E_j, and the
    # derivatives follow by the product rule; one sweep for two rows halves the memory traffic.
    # An odd last row is paired with a phantom row of weight 0 (row tb of wb and xb).
    for l in range(L):
        wb[tb, l] = 0.0
        for a in range(p):
            xb[tb, a, l] = 0.0
    for j in range(kk + 2):
        for m in range(ncomp):
            for l in range(L):
                S[j, m, l] = 0.0
    for l in range(L):
        S[1, 0, l] = 1.0
    for t in range(minpad, tb, 2):
        u = t + 1
        left = max(0, tb - t - 2)
        top = min(kk, min(u, tb - 1) - minpad + 1)
        bottom = max(1, kk - left)
        for l in range(L):
            c1[l] = wb[t, l] + wb[u, l]
            c2[l] = wb[t, l] * wb[u, l]
        for a in range(p):
            for l in range(L):
                dc1[a, l] = wb[t, l] * xb[t, a, l] + wb[u, l] * xb[u, a, l]
                sx[a, l] = xb[t, a, l] + xb[u, a, l]
                dc2[a, l] = c2[l] * sx[a, l]
        for m in range(npair):
            a = pa[m]
            b = pb[m]
            for l in range(L):
                d2c1[m, l] = wb[t, l] * xb[t, a, l] * xb[t, b, l] + wb[u, l] * xb[u, a, l] * xb[u, b, l]
                d2c2[m, l] = c2[l] * sx[a, l] * sx[b, l]
        for j in range(top, bottom - 1, -1):  # E_j is row j + 1 of S; row 0 holds E_{-1} = 0
            for m in range(npair):
                a = pa[m]
                b = pb[m]
                for l in range(L):
                    S[j + 1, d2 + m, l] += (d2c1[m, l] * S[j, 0, l] + dc1[a, l] * S[j, d1 + b, l]
                                            + dc1[b, l] * S[j, d1 + a, l] + c1[l] * S[j, d2 + m, l]
                                            + d2c2[m, l] * S[j - 1, 0, l] + dc2[a, l] * S[j - 1, d1 + b, l]
                                            + dc2[b, l] * S[j - 1, d1 + a, l] + c2[l] * S[j - 1, d2 + m, l])
            for a in range(p):
                for l in range(L):
                    S[j + 1, d1 + a, l] += (dc1[a, l] * S[j, 0, l] + c1[l] * S[j, d1 + a, l]
                                            + dc2[a, l] * S[j - 1, 0, l] + c2[l] * S[j - 1, d1 + a, l])
            for l in range(L):
                S[j + 1, 0, l] += c1[l] * S[j, 0, l] + c2[l] * S[j - 1, 0, l]
        # rescale a lane's live entries (those that can still reach E_kk) to stay in range;
        # entries below them are dead and are never read again
        live = max(0, kk - left)
        for l in range(L):
            mx[l] = 0.0
        for j in range(live + 1, kk + 2):
            for l in range(L):
                mx[l] = max(mx[l], S[j, 0, l])
        for l in range(L):
            if mx[l] > _BIG or 0.0 < mx[l] < 1.0 / _BIG:
                inv = 1.0 / mx[l]
                logscale[l] += np.log(mx[l])
                for j in range(live + 1, kk + 2):
                    for m in range(ncomp):
                        S[j, m, l] *= inv
    # per lane: log-likelihood, score and Hessian contributions
    for l in range(L):
        g = groups[l]
        if g < 0:
            continue
        ek = S[kk + 1, 0, l]
        if not ek > 0.0:  # e_k underflowed: linear predictors spanning more than ~900 in one group
            ll[g] = np.nan  # the caller sees a non-finite log-likelihood (Newton halves its step)
            continue
        ll[g] -= np.log(ek) + logscale[l]
        for a in range(p):
            scores[g, a] -= S[kk + 1, d1 + a, l] / ek
        for m in range(npair):
            a = pa[m]
            b = pb[m]
            h = -(S[kk + 1, d2 + m, l] / ek - S[kk + 1, d1 + a, l] * S[kk + 1, d1 + b, l] / (ek * ek))
            hess[a, b] += h
            if a != b:
                hess[b, a] += h


@nb.njit(cache=True, parallel=True)
def derivatives(xt, params, offset, y, lo, hi, flip, batches, batch_depth, want_hess, chunks):
    """Per-group log-likelihood (G,), per-group scores (G, p) and the summed Hessian (p, p).

    ``xt`` is the covariate matrix transposed, ``(p, n)``; ``offset`` has n entries or none.
    ``eta = x @ params + offset`` is formed inside, batch by batch. Batches (sorted by depth) are
    dealt round-robin to ``chunks`` chunks (a few per thread), so the chunks cost about the same.
    """
    G = lo.shape[0]
    p = xt.shape[0]
    nbatch, L = batches.shape
    npair = p * (p + 1) // 2
    pa = np.empty(npair, np.int64)
    pb = np.empty(npair, np.int64)
    m = 0
    for a in range(p):
        for b in range(a, p):
            pa[m] = a
            pb[m] = b
            m += 1
    ncomp = 1 + p + (npair if want_hess else 0)
    kmax = batch_depth.max() if nbatch > 0 else 0
    tmax = (hi - lo).max() if G > 0 else 0
    nchunk = max(1, min(nbatch, chunks))
    ll = np.zeros(G)
    scores = np.zeros((G, p))
    hess = np.zeros((nchunk, p, p))
    for c in nb.prange(nchunk):
        S = np.empty((kmax + 2, ncomp, L))
        xb = np.empty((tmax + 1, p, L))
        wb = np.empty((tmax + 1, L))
        coef = np.empty((2, L))
        dcoef = np.empty((3, p, L))
        d2coef = np.empty((2, npair, L))
        logscale = np.empty(L)
        mx = np.empty(L)
        for bi in range(c, nbatch, nchunk):
            _batch(xt, params, offset, y, lo, hi, flip, batches[bi], batch_depth[bi], want_hess, pa, pb,
                   S, xb, wb, coef[0], coef[1], dcoef[0], dcoef[1], dcoef[2], d2coef[0], d2coef[1],
                   logscale, mx, ll, scores, hess[c])
    return ll, scores, hess.sum(axis=0)


@nb.njit(cache=True)
def count_bad(values, binary):
    """Number of entries that are not finite (or, with ``binary``, not exactly 0 or 1)."""
    n = 0
    for v in values.flat:
        if binary:
            n += v != 0 and v != 1
        else:
            n += not np.isfinite(v)
    return n
