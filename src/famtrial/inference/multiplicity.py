"""Multiple testing across a series of estimates: Holm, Benjamini-Hochberg, and a sup-t band.

Sup-t simultaneous band (Montiel Olea and Plagborg-Moller 2019; Chernozhukov, Fernandez-Val and
Melly 2013), from a cluster multiplier bootstrap of the stacked per-month scores:

1. For each estimate m (a month), the cluster influence values of its coefficient,
   ``IF_gm = sum_{i in g} (B_m s_im)_j`` with ``B_m`` the bread ``(-H_m)^-1`` and ``s_im`` the
   observation scores; then ``se_m^2 = c * sum_g IF_gm^2`` with ``c`` the sandwich factor
   (G/(G-1) for Stata).
2. Draw multiplier weights ``w_g`` (Rademacher +/-1), one per cluster and shared by all months,
   so the draws keep the correlation between months: ``t*_m = sqrt(c) * sum_g w_g IF_gm / se_m``
   (unit variance over the draws).
3. Critical value ``crit`` = the ``1 - alpha`` quantile of ``max_m |t*_m|``; band
   ``b_m +/- crit * se_m``. It lies between the pointwise value (1.96) and the Bonferroni one.

With G <= ``enumerate_max`` clusters every sign vector is used (2^(G-1) of them: flipping all
signs leaves ``max |t*|`` unchanged), so the band is exact for the multiplier distribution and
does not depend on a seed. Stata: no built-in; ``boottest`` offers the score bootstrap per
coefficient. R: ``p.adjust`` for Holm/BH.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from famtrial._progress import Progress

__all__ = ["holm", "benjamini_hochberg", "sup_t_critical"]


def _pvalues(pvalues: ArrayLike) -> np.ndarray:
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must be a 1-d array of numbers in [0, 1] without missing values")
    return p


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm step-down adjusted p-values (controls the family-wise error rate).

    ``p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values. R: ``p.adjust(p, "holm")``;
    statsmodels: ``multipletests(p, method="holm")``.
    """
    p = _pvalues(pvalues)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def benjamini_hochberg(pvalues: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (controls the false discovery rate).

    ``p~_(i) = min_{j >= i} min(1, m p_(j) / j)``. R: ``p.adjust(p, "BH")``; statsmodels: ``method="fdr_bh"``.
    """
    p = _pvalues(pvalues)
    m = len(p)
    order = np.argsort(p, kind="stable")[::-1]
    adjusted = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def sup_t_critical(
    influence: np.ndarray,
    se: np.ndarray,
    *,
    factor: float | np.ndarray | None = None,
    alpha: float = 0.05,
    n_boot: int = 999,
    seed: int | None = None,
    enumerate_max: int = 16,
    progress: bool = False,
) -> tuple[float, int]:
    """Critical value of the sup-t band from cluster influence values ``(G, M)`` and SEs ``(M,)``.

    Parameters
    ----------
    influence : ndarray (G, M)
        ``IF_gm``: cluster sums of the coefficient's influence ``(B_m s_i)_j`` (0 where cluster g
        has no rows in month m).
    se : ndarray (M,)
        The estimates' standard errors, ``sqrt(factor * sum_g IF_gm^2)``.
    factor : float or ndarray (M,), optional
        The sandwich's finite-sample factor of each estimate (default G/(G-1), Stata's).
    alpha : float, default 0.05
        ``crit`` is the ``1 - alpha`` quantile of ``max_m |t*_m|`` (0.05: a 95% band); it must lie in (0, 1).
    n_boot : int, default 999
        Random Rademacher draws when G > ``enumerate_max``; ignored when enumerating.
    seed : int, optional
        Seed of the random draws.
    enumerate_max : int, default 16
        With G <= ``enumerate_max`` clusters every sign vector (2^(G-1) of them) is used instead of random
        draws: the critical value is exact for the multiplier distribution and does not depend on ``seed``.
    progress : bool, default False
        Show a progress bar over the random draws (none when enumerating).

    Returns
    -------
    (critical value, number of draws used)
    """
    influence = np.asarray(influence, dtype=float)
    se = np.asarray(se, dtype=float)
    if influence.ndim != 2 or influence.shape[1] != len(se):
        raise ValueError(f"influence must be (clusters, estimates) = (G, {len(se)}); got {influence.shape}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must lie in (0, 1)")
    g = influence.shape[0]
    if g < 2:
        raise ValueError(f"a multiplier bootstrap needs at least 2 clusters; got {g}")
    scale = np.sqrt(g / (g - 1) if factor is None else np.asarray(factor, dtype=float)) / se
    if g <= enumerate_max:
        # every sign vector with the first sign fixed at +1 (max |t*| is symmetric): row i has -1 in
        # column j > 0 where bit g-1-j of i is set (itertools.product's order, built without a loop)
        bits = (np.arange(2 ** (g - 1))[:, None] >> np.arange(g - 1, -1, -1)) & 1
        weights = 1.0 - 2.0 * bits
        stat = np.abs((weights @ influence) * scale).max(axis=1)
        return float(np.quantile(stat, 1 - alpha)), len(weights)
    if n_boot < 1:
        raise ValueError(f"n_boot={n_boot} must be at least 1")
    rng = np.random.default_rng(seed)
    chunk = 10_000
    stat = np.empty(n_boot)
    with Progress(n_boot, "sup-t multiplier bootstrap", enabled=progress) as bar:
        for start in range(0, n_boot, chunk):
            size = min(chunk, n_boot - start)
            weights = rng.choice((-1.0, 1.0), size=(size, g))
            stat[start : start + size] = np.abs((weights @ influence) * scale).max(axis=1)
            bar.update(size)
    return float(np.quantile(stat, 1 - alpha)), n_boot
