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

Categorical time effects (:func:`time_derivatives`) have their own kernel, one group at a time:
each row switches on one time effect, so the time block needs the rows' inclusion probabilities
and their covariance, not p^2 products per row and recursion level.

Every compiled kernel is a ``nogil`` function over one chunk of groups or batches; the Python
wrappers normalise the inputs to one dtype and layout (one specialisation per kernel), choose the
threads by problem size and run the chunks on :mod:`famtrial._threads`' pool. A one-line
notice goes to stderr when a kernel is compiled (not when it is loaded from the disk cache).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba.core import event
from numpy.typing import ArrayLike, NDArray

from famtrial import _threads as threads
from famtrial._progress import logger

_BIG = 1e100

# single-core speed of the batched update by lane count (GFMA/s, measured on AVX2): wider batches
# vectorize better but leave more lanes empty when a depth has few groups
_LANE_SPEED = {16: 2.3, 32: 2.7, 64: 3.35}


class _CompileNotice(event.Listener):
    """Logs one notice per process (famtrial's logger, INFO) when this module's kernels are compiled.

    Not when they are loaded from numba's on-disk cache: the first fit in a fresh environment waits for the compiler.
    """

    said = False

    def on_start(self, event):
        if not self.said and getattr(event.data["dispatcher"].py_func, "__module__", None) == __name__:
            type(self).said = True
            logger.info(
                "compiling the conditional-logit kernels (first use in this environment; cached on disk for later runs) ..."
            )

    def on_end(self, event):
        pass


event.register("numba:compile", _CompileNotice())


def _kernel_input(a, dtype):
    """A kernel input C-contiguous in ``dtype`` and read-only, so each kernel has one compiled specialisation.

    numba types an array by dtype, layout and writability: a DataFrame's block under pandas' copy-on-write is
    read-only, a reordered copy is not, and each would compile (or load) its own machine code. The kernels
    never write their inputs, so every input is passed as a read-only view (no copy when dtype and layout fit).
    """
    out = np.ascontiguousarray(a, dtype=dtype)
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


def _f64(a):
    """Every float input of the kernels (see :func:`_kernel_input`)."""
    return _kernel_input(a, np.float64)


def _i64(a):
    return _kernel_input(a, np.int64)


def _i8(a):
    return _kernel_input(a, np.int8)


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
    lanes = min(work, key=lambda n: work[n])
    n_batches = -(-run_len // lanes)
    batches = np.full((int(n_batches.sum()), lanes), -1, np.int64)
    first = np.r_[0, np.cumsum(n_batches)]
    for a, b, b0, b1 in zip(run_starts, run_ends, first[:-1], first[1:]):
        batches[b0:b1].reshape(-1)[: b - a] = order[a:b]
    return flip, batches, depth[batches[:, 0]]


def null_point(
    xt: NDArray[np.float64], y: NDArray[np.int8], lo: NDArray[np.int64], hi: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], float, NDArray[np.float64], NDArray[np.float64]]:
    """Closed-form statistics at b = 0 without offset.

    Within-group cross-products of x, sum of squares, log-likelihood, score and Hessian. ``xt`` is the covariate matrix
    transposed, ``(p, n)``.

    At b = 0 the ones are a simple random sample of k_g of the T_g rows: log-likelihood
    ``-sum_g log C(T_g, k_g)``, score ``sum_g (sum_{y=1} x - k_g xbar_g)``, Hessian
    ``-sum_g k_g (T_g - k_g) / (T_g (T_g - 1)) sum_t (x_t - xbar_g)(x_t - xbar_g)'``.
    """
    xt, y, lo, hi = _f64(xt), _i8(y), _i64(lo), _i64(hi)
    G = lo.shape[0]
    p = xt.shape[0]
    npair = p * (p + 1) // 2
    n_threads = threads.threads_for(xt.shape[1] * (npair + 2 * p))
    nchunk = max(1, min(G, 4 * n_threads))
    gram = np.zeros((nchunk, npair))
    hess = np.zeros((nchunk, npair))
    score = np.zeros((nchunk, p))
    sumsq = np.zeros((nchunk, p))
    ll = np.zeros(nchunk)
    threads.run_chunks(
        lambda c, nc: _null_chunk(xt, y, lo, hi, c, nc, gram[c], hess[c], score[c], sumsq[c], ll[c : c + 1]),
        nchunk,
        n_threads,
    )
    g = np.empty((p, p))
    h = np.empty((p, p))
    iu = np.triu_indices(p)
    g[iu] = gram.sum(axis=0)
    h[iu] = hess.sum(axis=0)
    g.T[iu] = g[iu]
    h.T[iu] = h[iu]
    return g, sumsq.sum(axis=0), ll.sum(), score.sum(axis=0), h


@nb.njit(cache=True, nogil=True)
def _null_chunk(xt, y, lo, hi, c, nchunk, gram, hess, sc, sq, ll):
    """Groups ``c, c + nchunk, ...`` of :func:`null_point`, added to this chunk's accumulators."""
    G = lo.shape[0]
    p = xt.shape[0]
    npair = p * (p + 1) // 2
    mean = np.empty(p)
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
            gram[m] += pairs[m]
            hess[m] -= wgt * pairs[m]
        ll[0] -= math.lgamma(T + 1.0) - math.lgamma(k + 1.0) - math.lgamma(T - k + 1.0)


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def _batch(
    xt,
    params,
    offset,
    y,
    lo,
    hi,
    flip,
    groups,
    kk,
    want_hess,
    pa,
    pb,
    S,
    xb,
    wb,
    c1,
    c2,
    dc1,
    dc2,
    sx,
    d2c1,
    d2c2,
    logscale,
    mx,
    ll,
    scores,
    hess,
):
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
                    S[j + 1, d2 + m, l] += (
                        d2c1[m, l] * S[j, 0, l]
                        + dc1[a, l] * S[j, d1 + b, l]
                        + dc1[b, l] * S[j, d1 + a, l]
                        + c1[l] * S[j, d2 + m, l]
                        + d2c2[m, l] * S[j - 1, 0, l]
                        + dc2[a, l] * S[j - 1, d1 + b, l]
                        + dc2[b, l] * S[j - 1, d1 + a, l]
                        + c2[l] * S[j - 1, d2 + m, l]
                    )
            for a in range(p):
                for l in range(L):
                    S[j + 1, d1 + a, l] += (
                        dc1[a, l] * S[j, 0, l]
                        + c1[l] * S[j, d1 + a, l]
                        + dc2[a, l] * S[j - 1, 0, l]
                        + c2[l] * S[j - 1, d1 + a, l]
                    )
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


def derivatives(
    xt: NDArray[np.float64],
    params: NDArray[np.float64],
    offset: NDArray[np.float64],
    y: NDArray[np.int8],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    flip: NDArray[np.bool_],
    batches: NDArray[np.int64],
    batch_depth: NDArray[np.int64],
    want_hess: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-group log-likelihood (G,), per-group scores (G, p) and the summed Hessian (p, p).

    ``xt`` is the covariate matrix transposed, ``(p, n)``; ``offset`` has n entries or none.
    ``eta = x @ params + offset`` is formed inside, batch by batch. Batches (sorted by depth) are
    dealt round-robin to chunks (four per thread, so the chunks cost about the same and a
    descheduled thread holds up little); threads by problem size (:mod:`famtrial._threads`).
    """
    xt, params, offset, y = _f64(xt), _f64(params), _f64(offset), _i8(y)
    lo, hi, batches, batch_depth = _i64(lo), _i64(hi), _i64(batches), _i64(batch_depth)
    flip = np.ascontiguousarray(flip, dtype=np.bool_)
    G = lo.shape[0]
    p = xt.shape[0]
    nbatch = batches.shape[0]
    ncomp = 1 + p + (p * (p + 1) // 2 if want_hess else 0)
    work = (
        float(batches.shape[1]) * float(((batch_depth + 1) * (hi - lo)[batches[:, 0]]).sum()) * ncomp if nbatch else 0.0
    )
    n_threads = threads.threads_for(work)
    nchunk = max(1, min(nbatch, 4 * n_threads))
    ll = np.zeros(G)
    scores = np.zeros((G, p))
    hess = np.zeros((nchunk, p, p))
    threads.run_chunks(
        lambda c, nc: _derivatives_chunk(
            xt, params, offset, y, lo, hi, flip, batches, batch_depth, bool(want_hess), c, nc, ll, scores, hess[c]
        ),
        nchunk,
        n_threads,
    )
    return ll, scores, hess.sum(axis=0)


@nb.njit(cache=True, nogil=True)
def _derivatives_chunk(
    xt, params, offset, y, lo, hi, flip, batches, batch_depth, want_hess, c, nchunk, ll, scores, hess
):
    """Batches ``c, c + nchunk, ...`` of :func:`derivatives`; ``hess`` is this chunk's accumulator."""
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
    kmax = 0
    tmax = 0
    for bi in range(c, nbatch, nchunk):
        kmax = max(kmax, batch_depth[bi])
        for g in batches[bi]:
            if g >= 0:
                tmax = max(tmax, hi[g] - lo[g])
    S = np.empty((kmax + 2, ncomp, L))
    xb = np.empty((tmax + 1, p, L))
    wb = np.empty((tmax + 1, L))
    coef = np.empty((2, L))
    dcoef = np.empty((3, p, L))
    d2coef = np.empty((2, npair, L))
    logscale = np.empty(L)
    mx = np.empty(L)
    for bi in range(c, nbatch, nchunk):
        _batch(
            xt,
            params,
            offset,
            y,
            lo,
            hi,
            flip,
            batches[bi],
            batch_depth[bi],
            want_hess,
            pa,
            pb,
            S,
            xb,
            wb,
            coef[0],
            coef[1],
            dcoef[0],
            dcoef[1],
            dcoef[2],
            d2coef[0],
            d2coef[1],
            logscale,
            mx,
            ll,
            scores,
            hess,
        )


def count_bad(values: ArrayLike, binary: bool) -> int:
    """Number of entries that are not finite (or, with ``binary``, not exactly 0 or 1).

    numpy, not a compiled kernel (one compilation less on the first call): the finiteness check is
    one pass (NaN and inf propagate into the sum), counting only when the sum is not finite.
    """
    values = np.asarray(values)
    if binary:
        return int(np.count_nonzero((values != 0) & (values != 1)))
    if values.dtype.kind in "iub" or np.isfinite(values.sum()):
        return 0
    return int(np.count_nonzero(~np.isfinite(values)))


def time_derivatives(
    xt: NDArray[np.float64],
    col: NDArray[np.int64],
    params: NDArray[np.float64],
    offset: NDArray[np.float64],
    y: NDArray[np.int8],
    lo: NDArray[np.int64],
    hi: NDArray[np.int64],
    want_hess: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-group log-likelihood and scores and the summed Hessian of a model with categorical time effects.

    Shapes (G,), (G, k) and (k, k). ``params`` is ``[b (p dense regressors), time effects]`` and ``col[r]`` the position
    in ``params`` of row r's time effect (-1: none). See :func:`time_chunk`.
    """
    xt, col, params, offset, y, lo, hi = _f64(xt), _i64(col), _f64(params), _f64(offset), _i8(y), _i64(lo), _i64(hi)
    G = lo.shape[0]
    k = params.shape[0]
    sizes = (hi - lo).astype(np.float64)
    work = float((sizes * sizes).sum()) * (xt.shape[0] + 4) if want_hess else float(sizes.sum()) * 8 * (xt.shape[0] + 2)
    n_threads = threads.threads_for(work)
    nchunk = max(1, min(G, 4 * n_threads))
    ll = np.zeros(G)
    scores = np.zeros((G, k))
    hess = np.zeros((nchunk, k, k))
    null = not params.any() and offset.shape[0] == 0  # b = 0: pairwise inclusion in closed form
    threads.run_chunks(
        lambda c, nc: time_chunk(xt, col, params, offset, y, lo, hi, bool(want_hess), null, c, nc, ll, scores, hess[c]),
        nchunk,
        n_threads,
    )
    return ll, scores, hess.sum(axis=0)


@nb.njit(cache=True, nogil=True, fastmath={"contract"})
def time_chunk(xt, col, params, offset, y, lo, hi, want_hess, null, chunk, nchunk, ll, scores, hess):
    """Groups ``chunk, chunk + nchunk, ...`` of a model with categorical time effects.

    Row r's linear predictor is ``eta_r = x_r' b + params[col[r]] + offset_r`` (``col[r] = -1``:
    the base level, no time parameter), so each row switches on at most one time column. Per
    group (complemented when it has more ones than zeros, weights ``w_t = exp(eta_t - c)`` with c
    the mean of the k largest eta, so e_k is about 1 and nothing overflows for spans of eta below
    ~700/k):

    * prefix and suffix polynomials ``P_t = prod_{u<t} (1 + w_u z)``, ``Q_t = prod_{u>=t}``, to
      degree k, give ``e_k`` and every row's inclusion probability ``pi_t = w_t [z^{k-1}] P_t
      Q_{t+1} / e_k`` in O(T k);
    * the pairwise ones, ``pi_ut = w_u w_t [z^{k-2}] A_{u,t} Q_{t+1} / e_k`` with ``A_{u,t} =
      P_t / (1 + w_u z)`` (rows before t except u, updated by one multiplication per t for all
      u < t at once), give ``C = Cov(z) = [pi_ut - pi_u pi_t]`` in O(T^2 k), all terms positive;
    * the score wrt eta is ``y - pi`` and the Hessian wrt eta is ``-C``; with the design U = [X,
      D] (D the row's time dummy) the group adds ``U'(y - pi)`` to its score row and
      ``-U' C U`` to ``hess``: ``X' C X`` (O(T^2 p)), ``X' C D`` by scattering the rows of ``C X``
      and ``D' C D`` by scattering C itself (O(T^2)).

    ``ll[g]`` is NaN when e_k is not finite (the caller's Newton step halves). ``scores`` rows are
    added to; ``hess`` is this chunk's own (k, k) accumulator. ``null`` (b = 0, no offset): the k
    ones are a simple random sample of the T rows, ``pi_ut = k (k - 1) / (T (T - 1))``, no O(T^2 k) pass.
    """
    G = lo.shape[0]
    p = xt.shape[0]
    has_offset = offset.shape[0] > 0
    tmax = 1
    for g in range(chunk, G, nchunk):
        tmax = max(tmax, hi[g] - lo[g])
    kmax = tmax // 2 + 1
    v = np.empty(tmax)
    w = np.empty(tmax)
    pi = np.empty(tmax)
    e2 = np.empty(tmax)
    P = np.empty((tmax + 1, kmax + 1))
    Q = np.empty((tmax + 2, kmax + 1))
    A = np.empty((kmax, tmax))
    C = np.empty((tmax, tmax))
    V = np.empty((p, tmax))
    for g in range(chunk, G, nchunk):
        s = lo[g]
        T = hi[g] - s
        ones = 0
        for t in range(T):
            r = s + t
            e = offset[r] if has_offset else 0.0
            for a in range(p):
                e += xt[a, r] * params[a]
            if col[r] >= 0:
                e += params[col[r]]
            v[t] = e
            ones += y[r]
        flip = 2 * ones > T
        kk = T - ones if flip else ones
        if flip:
            for t in range(T):
                v[t] = -v[t]
        top = np.sort(v[:T])
        cen = 0.0
        for i in range(T - kk, T):
            cen += top[i]
        cen /= kk
        llg = 0.0
        for t in range(T):
            if (y[s + t] == 0) == flip:
                llg += v[t] - cen
            w[t] = np.exp(v[t] - cen)
        for j in range(kk + 1):
            P[0, j] = 0.0
            Q[T, j] = 0.0
        P[0, 0] = 1.0
        Q[T, 0] = 1.0
        for t in range(T):
            P[t + 1, 0] = 1.0
            for j in range(1, kk + 1):
                P[t + 1, j] = P[t, j] + w[t] * P[t, j - 1]
        for t in range(T - 1, -1, -1):
            Q[t, 0] = 1.0
            for j in range(1, kk + 1):
                Q[t, j] = Q[t + 1, j] + w[t] * Q[t + 1, j - 1]
        ek = P[T, kk]
        if not (ek > 0.0 and ek < np.inf):
            ll[g] = np.nan
            continue
        ll[g] = llg - np.log(ek)
        for t in range(T):
            acc = 0.0
            for a in range(kk):
                acc += P[t, a] * Q[t + 1, kk - 1 - a]
            pi[t] = kk / T if null else min(w[t] * acc / ek, 1.0)
        for t in range(T):
            r = s + t
            res = y[r] - (1.0 - pi[t] if flip else pi[t])
            for a in range(p):
                scores[g, a] += res * xt[a, r]
            if col[r] >= 0:
                scores[g, col[r]] += res
        if not want_hess:
            continue
        # C = Cov(z) of the complemented group (the same matrix as the original's)
        for t in range(T):
            C[t, t] = pi[t] * (1.0 - pi[t])
            f = w[t] / ek
            if null:  # b = 0: a simple random sample, pi_ut = k (k - 1) / (T (T - 1)) for u != t
                cut = kk * (kk - 1.0) / (T * (T - 1.0)) - pi[t] * pi[t]
                for u in range(t):
                    C[u, t] = cut
                    C[t, u] = cut
                continue
            for u in range(t):
                e2[u] = 0.0
            # A[a, u]: degree a of the rows before t except u; one pass reads e_{k-2} off it and
            # multiplies it by (1 + w_t z), top degree first
            for a in range(kk - 2, 0, -1):
                q = Q[t + 1, kk - 2 - a]
                for u in range(t):
                    e2[u] += A[a, u] * q
                    A[a, u] += w[t] * A[a - 1, u]
            if kk >= 2:
                q = Q[t + 1, kk - 2]
                for u in range(t):
                    e2[u] += A[0, u] * q
            for u in range(t):
                cut = w[u] * f * e2[u] - pi[u] * pi[t]
                C[u, t] = cut
                C[t, u] = cut
            for a in range(kk - 1):
                A[a, t] = P[t, a]
        # -U' C U, U = [X, D]
        for a in range(p):  # V = X' C, as axpys over C's rows (vectorised; a dot would be latency-bound)
            for t in range(T):
                V[a, t] = 0.0
            for u in range(T):
                xu = xt[a, s + u]
                for t in range(T):
                    V[a, t] += xu * C[u, t]
        for a in range(p):
            for b in range(a, p):
                h = 0.0
                for t in range(T):
                    h += xt[a, s + t] * V[b, t]
                hess[a, b] -= h
                if a != b:
                    hess[b, a] -= h
        for t in range(T):
            ct = col[s + t]
            if ct < 0:
                continue
            for a in range(p):
                hess[a, ct] -= V[a, t]
                hess[ct, a] -= V[a, t]
            for u in range(T):
                cu = col[s + u]
                if cu >= 0:
                    hess[ct, cu] -= C[t, u]
