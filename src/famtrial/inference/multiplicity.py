"""Multiple testing across a series of estimates: Holm, Benjamini-Hochberg, and a sup-t band.

The sup-t band covers the whole series with probability ``1 - alpha``: with cluster influence
values ``IF_gm`` of the coefficient in month m (cluster sums of ``(B_m s_i)_j``), draws
``t*_m = c_G sum_g w_g IF_gm / se_m`` with multiplier weights ``w_g`` (Rademacher; every sign
vector when G <= 16), ``c_G = sqrt(G/(G-1))`` so that the draws' variance matches Stata's
cluster covariance; the critical value is the ``1 - alpha`` quantile of ``max_m |t*_m|`` and the
band ``b_m +/- crit * se_m`` (Montiel Olea and Plagborg-Moller 2019; Chernozhukov et al. 2013).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["holm", "benjamini_hochberg", "sup_t_critical"]


def holm(pvalues) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error rate). R: ``p.adjust(p, "holm")``."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(pvalues) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate). R: ``p.adjust(p, "BH")``."""
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p)[::-1]
    adjusted = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def sup_t_critical(influence: np.ndarray, se: np.ndarray, *, alpha: float = 0.05, n_boot: int = 9999,
                   seed: int | None = None, enumerate_max: int = 16) -> tuple[float, int]:
    """Critical value of the sup-t band from cluster influence values ``(G, M)`` and SEs ``(M,)``.

    Returns ``(critical value, number of draws)``; with G <= ``enumerate_max`` every Rademacher
    sign vector is used (2^(G-1) distinct up to sign, which the max |t| ignores).
    """
    influence = np.asarray(influence, dtype=float)
    g = influence.shape[0]
    if g < 2:
        raise ValueError("a multiplier bootstrap needs at least 2 clusters")
    if g <= enumerate_max:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=g - 1)))
        weights = np.column_stack([np.ones(len(signs)), signs])  # fix the first sign: |t| is symmetric
    else:
        rng = np.random.default_rng(seed)
        weights = rng.choice((-1.0, 1.0), size=(n_boot, g))
    draws = np.sqrt(g / (g - 1)) * (weights @ influence) / np.asarray(se, dtype=float)[None, :]
    stat = np.abs(draws).max(axis=1)
    return float(np.quantile(stat, 1 - alpha)), len(weights)
