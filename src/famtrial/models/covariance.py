"""Covariance estimators shared by every famtrial model: model-based and (cluster-)robust sandwich.

All estimators here take a *bread* (the inverse of the negative Hessian of the log-likelihood at the
estimate) and *scores* (per-observation or per-group first derivatives of the log-likelihood), so the
finite-sample factor lives in exactly one place.

Finite-sample factors (``adjustment``):

===============  ============================  ===============================================
name             factor                         used by
===============  ============================  ===============================================
``"stata"``      G/(G-1)                        Stata ML commands (``logit``, ``clogit``) with
                                                ``vce(cluster c)``; ``vce(robust)`` uses N/(N-1)
``"statsmodels"``G/(G-1) * (N-1)/(N-K)          statsmodels ``cov_type="cluster"`` (default
                                                ``use_correction=True``); R sandwich ``vcovCL(type="HC1")``
``"none"``       1                              R sandwich ``vcovCL(type="HC0", cadjust=FALSE)``
===============  ============================  ===============================================
"""

from __future__ import annotations

import os
import sys
import types
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from famtrial._options import Adjustment, CovType, JackknifeCenter, check_choice
from famtrial.errors import FewClustersWarning

__all__ = [
    "Covariance",
    "Adjustment",
    "CovType",
    "JackknifeCenter",
    "model_based",
    "sandwich",
    "two_way",
    "jackknife",
    "cluster_sums",
    "FEW_CLUSTERS",
]

#: Cluster-robust covariances from fewer clusters than this warn (:class:`FewClustersWarning`) and
#: record it (``Covariance.few_clusters``). Cameron and Miller (2015, "A Practitioner's Guide to
#: Cluster-Robust Inference", J. Human Resources 50(2), Sec. VI) give no single cut-off: "few" can
#: mean fewer than 20 to 50 clusters depending on balance, and Wald tests with the sandwich
#: over-reject increasingly as G falls (Cameron, Gelbach and Miller 2008 simulate G = 5 to 30). Below
#: 10 the sandwich is an average of fewer than 10 outer products and its rank is at most G - 1 (at
#: most G - 1 restrictions can be tested jointly); famtrial warns there, always (G <= 5 included).
#: Between 10 and about 50 the remedies are the same (t_reference=True, the wild cluster score
#: bootstrap, randomization inference) but the warning is left to the user's judgment.
FEW_CLUSTERS = 10


@dataclass(frozen=True)
class Covariance:
    """A covariance matrix and how it was made.

    Attributes
    ----------
    matrix : ndarray, shape (k, k)
    cov_type : {"nonrobust", "robust", "cluster"}
    n_clusters : int or None
        Clusters G entering the sandwich (after the estimator's dropped groups), else None.
    factor : float
        The finite-sample factor applied to the sandwich (1.0 for model-based).
    adjustment : str
        Which convention gave ``factor`` (see module docs).
    df : int or None
        Degrees of freedom of a t reference distribution (G-1) when requested; None means normal.
    few_clusters : bool
        True when a cluster-robust covariance rests on fewer than :data:`FEW_CLUSTERS` clusters
        (a :class:`~famtrial.errors.FewClustersWarning` was issued).
    label : str or None
        pyfixest's name of the estimator when it is not the one ``cov_type`` implies: ``"CRV3"`` (the
        leave-one-cluster-out jackknife), ``"HC3"`` (the leave-one-out jackknife); None for the sandwich.
    n_clusters_by : tuple of int
        Two-way clustering: the clusters of each dimension and of their intersection (``n_clusters`` is the
        smaller dimension's); empty otherwise.
    """

    matrix: np.ndarray
    cov_type: CovType
    n_clusters: int | None = None
    factor: float = 1.0
    adjustment: str = "none"
    df: int | None = None
    few_clusters: bool = False
    label: str | None = None
    n_clusters_by: tuple[int, ...] = ()

    def describe(self) -> str:
        """One line for summaries, e.g. ``cluster-robust (office, G = 14), factor G/(G-1) = 1.0769``."""
        if self.cov_type == "nonrobust":
            return "model-based (inverse information)"
        what = f"cluster-robust, G = {self.n_clusters}" if self.cov_type == "cluster" else "robust"
        if self.n_clusters_by:
            g = self.n_clusters_by
            what = f"two-way cluster-robust, G = {g[0]} and {g[1]} ({g[2]} intersections)"
        if self.label in ("CRV3", "HC3"):
            unit = f"G = {self.n_clusters} clusters" if self.cov_type == "cluster" else f"{self.n_clusters} units"
            what = f"{self.label} jackknife (refits leaving one out), {unit}"
        ref = f"; t({self.df}) reference" if self.df is not None else ""
        few = f"; FEW CLUSTERS (G < {FEW_CLUSTERS}): sandwich unreliable" if self.few_clusters else ""
        factor = (
            f"factors ({self.adjustment})" if self.n_clusters_by else f"factor {self.factor:.6g} ({self.adjustment})"
        )
        return f"{what}, {factor}{ref}{few}"


def model_based(bread: np.ndarray) -> Covariance:
    """Model-based covariance: the inverse information ``(-H)^-1`` (Stata ``vce(oim)``)."""
    return Covariance(matrix=np.asarray(bread, dtype=float), cov_type="nonrobust")


def cluster_sums(scores: np.ndarray, clusters: np.ndarray | pd.Series | None) -> np.ndarray:
    """Sum score rows within clusters: returns ``(G, k)``; ``clusters=None`` returns the rows."""
    scores = np.asarray(scores, dtype=float)
    if clusters is None:
        return scores
    codes, uniques = pd.factorize(np.asarray(clusters), sort=False)
    if (codes < 0).any():
        raise ValueError(f"cluster labels are missing for {(codes < 0).sum()} rows; fill or drop them first")
    out = np.zeros((len(uniques), scores.shape[1]))
    np.add.at(out, codes, scores)
    return out


def sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    clusters: np.ndarray | pd.Series | None = None,
    *,
    adjustment: Adjustment = "stata",
    nobs: int | None = None,
    t_reference: bool = False,
    frequency: np.ndarray | None = None,
) -> Covariance:
    r"""Robust sandwich covariance ``c * B (sum_g u_g u_g') B``.

    Parameters
    ----------
    bread : ndarray (k, k)
        ``(-H)^-1``, the model-based covariance.
    scores : ndarray (n, k)
        Score contributions: per observation for a logit, per group for a conditional logit.
    clusters : array-like of length n, optional
        Cluster label of each score row; ``None`` treats each row as its own cluster
        (``cov_type="robust"``: Stata ``vce(robust)``, factor N/(N-1) under ``"stata"``).
    adjustment : {"stata", "statsmodels", "none"}
        Finite-sample factor: G/(G-1); G/(G-1)(N-1)/(N-K); or 1.
    nobs : int, optional
        N for the ``"statsmodels"`` factor (observations, not score rows); defaults to ``len(scores)``.
    t_reference : bool
        Record ``df = G - 1`` so that results use a t(G-1) reference distribution.
    frequency : ndarray (n,), optional
        Frequency weights (Stata ``fweight``) of the score rows: row i stands for ``frequency[i]``
        identical copies and ``scores[i]`` is the score of one copy. With clusters, a cluster's
        score is ``sum_i f_i s_i``; without, every copy is its own cluster: meat ``sum_i f_i s_i s_i'``
        and G = ``sum_i f_i`` (the expanded data's sandwich, as Stata's ``vce(robust)`` with fweights).

    Notes
    -----
    Stata: ``logit/clogit ..., vce(cluster c)``. R: ``sandwich::vcovCL(fit, cluster = ~c,
    type = "HC0")`` equals ``adjustment="stata"``; ``type = "HC1"`` equals ``"statsmodels"``.
    """
    check_choice(adjustment, Adjustment, "adjustment")
    bread = np.asarray(bread, dtype=float)
    if frequency is None:
        u = cluster_sums(scores, clusters)
        g = u.shape[0]
        meat = u.T @ u
    else:
        f = np.asarray(frequency, dtype=float)
        s = np.asarray(scores, dtype=float)
        if clusters is None:
            g = int(round(f.sum()))
            meat = (s * f[:, None]).T @ s
        else:
            u = cluster_sums(s * f[:, None], clusters)
            g = u.shape[0]
            meat = u.T @ u
    if g < 2:
        raise ValueError(f"a robust covariance needs at least 2 clusters; got {g}")
    k = bread.shape[0]
    n = len(scores) if nobs is None else int(nobs)
    factor = {"stata": g / (g - 1), "statsmodels": g / (g - 1) * (n - 1) / (n - k), "none": 1.0}[adjustment]
    few = clusters is not None and g < FEW_CLUSTERS
    if few:
        warnings.warn(
            f"cluster-robust covariance from only G = {g} clusters: with fewer than {FEW_CLUSTERS} "
            "clusters the sandwich is unreliable and Wald p-values and intervals are too small "
            "(Cameron and Miller 2015, Sec. VI). Use t_reference=True (t(G-1)), the wild cluster score "
            "bootstrap (famtrial.inference.score_bootstrap) or randomization inference",
            FewClustersWarning,
            stacklevel=_outside_famtrial(),
        )
    matrix = factor * bread @ meat @ bread
    matrix = (matrix + matrix.T) / 2
    return Covariance(
        matrix=matrix,
        cov_type="robust" if clusters is None else "cluster",
        n_clusters=g,
        factor=factor,
        adjustment=adjustment,
        df=g - 1 if t_reference else None,
        few_clusters=few,
    )


def _outside_famtrial() -> int:
    """``stacklevel`` that points a warning issued by the caller at the first frame outside famtrial."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame: types.FrameType | None = sys._getframe(2)  # the frame that called our caller
    level = 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def two_way(
    bread: np.ndarray,
    scores: np.ndarray,
    first: np.ndarray | pd.Series,
    second: np.ndarray | pd.Series,
    *,
    adjustment: Adjustment = "stata",
    nobs: int | None = None,
    t_reference: bool = False,
) -> Covariance:
    r"""Two-way cluster-robust covariance (Cameron, Gelbach and Miller 2011): ``V_a + V_b - V_ab``.

    Each term is the one-way sandwich :func:`sandwich` of one clustering: by ``first`` (G_a clusters), by ``second``
    (G_b) and by their intersection (G_ab non-empty cells), each with **its own** small-sample factor (under
    ``adjustment="stata"`` G_d/(G_d - 1) for d = a, b, ab; under ``"statsmodels"`` also (N-1)/(N-K)). This is
    R's ``sandwich::vcovCL(fit, cluster = ~ a + b, type = "HC0")`` (``cadjust = TRUE``, ``multi0 = FALSE``;
    ``type = "HC1"`` is ``"statsmodels"``) and Stata's ``vcemway`` / ``reghdfe``'s multi-way rule; pyfixest's
    default (``ssc(cluster_df="min")``) instead applies min(G_a, G_b)/(min - 1) to all three terms, so its
    standard errors differ by that factor. The matrix is not forced positive semi-definite (sandwich's
    ``fix = FALSE``). ``n_clusters`` is min(G_a, G_b), the G of a t(G-1) reference (``t_reference=True``), as
    Cameron, Gelbach and Miller recommend.

    Parameters
    ----------
    bread : ndarray (k, k)
        ``(-H)^-1``.
    scores : ndarray (n, k)
        Score rows (per observation for a logit, per group for a conditional logit).
    first, second : array-like (n,)
        The two cluster labels of each score row.
    adjustment : {"stata", "statsmodels", "none"}
        Small-sample factor of each term (see above).
    nobs : int, optional
        N for the ``"statsmodels"`` factor.
    t_reference : bool
        Record ``df = min(G_a, G_b) - 1``.
    """
    a = pd.factorize(np.asarray(first), sort=False)[0]
    b = pd.factorize(np.asarray(second), sort=False)[0]
    if (a < 0).any() or (b < 0).any():
        raise ValueError("two-way cluster labels are missing for some rows; fill or drop them first")
    ab = pd.factorize(pd.MultiIndex.from_arrays([a, b]))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)  # warned below once, on the smaller dimension
        parts = [sandwich(bread, scores, c, adjustment=adjustment, nobs=nobs) for c in (a, b, ab)]
    matrix = parts[0].matrix + parts[1].matrix - parts[2].matrix
    g = tuple(int(p.n_clusters or 0) for p in parts)
    g_min = min(g[0], g[1])
    few = g_min < FEW_CLUSTERS
    if few:
        warnings.warn(
            f"two-way cluster-robust covariance with only G = {g_min} clusters in one dimension: with fewer than "
            f"{FEW_CLUSTERS} the sandwich is unreliable (Cameron and Miller 2015, Sec. VI); use t_reference=True",
            FewClustersWarning,
            stacklevel=_outside_famtrial(),
        )
    return Covariance(
        matrix=(matrix + matrix.T) / 2,
        cov_type="cluster",
        n_clusters=g_min,
        factor=1.0,
        adjustment=f"{adjustment}, per dimension: " + ", ".join(f"{p.factor:.6g}" for p in parts),
        df=g_min - 1 if t_reference else None,
        few_clusters=few,
        n_clusters_by=g,
    )


def jackknife(
    replicates: np.ndarray,
    estimate: np.ndarray,
    *,
    center: JackknifeCenter = "mean",
    clustered: bool = True,
    t_reference: bool = False,
) -> Covariance:
    r"""The delete-one jackknife covariance from G leave-one-out refits.

    ``V = (G - 1)/G sum_g (b_(g) - c)(b_(g) - c)'`` with ``b_(g)`` the estimate without unit g (a cluster for
    CRV3, an observation or group for HC3) and ``c`` the replicates' mean ``center="mean"`` (Stata's default
    ``vce(jackknife, cluster(c))``) or the full-sample estimate ``center="estimate"`` (Stata's ``jackknife,
    mse``; MacKinnon, Nielsen and Webb's CV3, and pyfixest's CRV3 centring). The ``mse`` form is larger by
    ``(G - 1)(b_bar - b)(b_bar - b)'``. ``factor`` records (G-1)/G.

    Parameters
    ----------
    replicates : ndarray (G, k)
        The leave-one-out estimates.
    estimate : ndarray (k,)
        The full-sample estimate.
    center : {"mean", "estimate"}
        The centring (above).
    clustered : bool
        Whether the units are clusters (``cov_type="cluster"``, pyfixest's CRV3) or single observations/groups
        (``"robust"``, HC3).
    t_reference : bool
        Record ``df = G - 1`` (Stata's jackknife reports t(G-1)).
    """
    check_choice(center, JackknifeCenter, "center")
    reps = np.asarray(replicates, dtype=float)
    g = reps.shape[0]
    if g < 2:
        raise ValueError(f"a jackknife needs at least 2 units to leave out; got {g}")
    c = reps.mean(axis=0) if center == "mean" else np.asarray(estimate, dtype=float)
    dev = reps - c
    factor = (g - 1) / g
    matrix = factor * dev.T @ dev
    few = clustered and g < FEW_CLUSTERS
    if few:
        warnings.warn(
            f"CRV3 jackknife from only G = {g} clusters: with fewer than {FEW_CLUSTERS} clusters inference is "
            "unreliable; use t_reference=True or the wild cluster score bootstrap",
            FewClustersWarning,
            stacklevel=_outside_famtrial(),
        )
    return Covariance(
        matrix=(matrix + matrix.T) / 2,
        cov_type="cluster" if clustered else "robust",
        n_clusters=g,
        factor=factor,
        adjustment=f"jackknife (G-1)/G, centred on the {'replicate mean' if center == 'mean' else 'estimate (mse)'}",
        df=g - 1 if t_reference else None,
        few_clusters=few,
        label="CRV3" if clustered else "HC3",
    )
