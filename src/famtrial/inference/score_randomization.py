r"""Score-statistic randomization inference: one restricted fit, then per re-draw only what the assignment changes.

Under the sharp null of no effect for anyone the model *without* the treatment term does not depend on
the assignment. Fit it once (the restricted fit, nuisance parameters ``g~``: covariates, trend or month
effects; for a month's logit the intercept, controls and office dummies). The treatment regressor of a
re-draw ``a`` (one 0/1 arm per randomized unit ``f``, e.g. a family) is ``x_it = a_f(i) d_it`` with ``d``
fixed (``post``, or ``post`` times the office's variant for a split model; 1 for a month's logit). Every
piece of the score test is then linear in ``a``:

* the score of the treatment coefficient at the restricted fit, ``S(a) = sum_f a_f r_f``, with
  ``r_f = sum_{i in f} d_i'(y_i - pi~_i)`` (the unit's score if it were treated; ``pi~`` the restricted
  fit's probabilities, for the conditional logit the rows' conditional inclusion probabilities);
* the cross-information with the nuisance parameters, ``I_bg(a) = sum_f a_f c_f``, ``c_f = sum_{i in f}
  Cov~_i(d_i, x_gi)`` (the conditional covariance of the group's rows for the conditional logit,
  ``p~(1 - p~) d x_g`` for a logit);
* the efficient score of cluster c (nuisance estimation projected out),
  ``u_c(a) = sum_{f in c} a_f r_f - I_bg(a) I_gg^{-1} s_gc``, with ``s_gc`` the nuisance scores of
  cluster c at the restricted fit and ``I_gg`` the nuisance information (both fixed);

and the statistic is the cluster-robust studentized score

.. math:: T(a) = \frac{S(a)}{\sqrt{\frac{G}{G-1} \sum_c u_c(a)^2}}

(``G`` clusters with data; the factor ``G/(G-1)`` is Stata's cluster factor and leaves every
randomization p-value unchanged). With weights (one per group) every score, cross-information and
information term carries its group's weight (the pseudo-likelihood's). A re-draw costs a few products
of the ``(R, F)`` arm matrix with fixed ``(F,)``, ``(F, k)`` and ``(F, G)`` arrays: microseconds, where a
Wald re-draw refits the model by Newton's method.

The conditional logit's ``r_f`` and ``c_f`` are derivatives of each group's log-likelihood and nuisance
scores along ``d`` at the restricted estimate, taken by Richardson extrapolation of central differences
(step ``h = 1e-3`` and ``2h``; truncation ``O(h^4)``, rounding about ``1e-12`` relative) of the compiled
kernel's per-group values with ``h d`` as an offset; the logit's are in closed form.

Validity. Under the sharp null the re-draws are exchangeable with the observed assignment, so the
randomization p-value of *any* statistic is exact (size at most alpha at every G). Studentization makes
the test also asymptotically valid for the weak null of no average effect (Wu and Ding 2021, JASA
116(536); DiCiccio and Romano 2017, JASA 112(519)): the studentized statistic's randomization
distribution and its sampling distribution share the N(0, 1) limit. Stata: ``ritest`` with any statistic
(a program returning the score statistic, e.g. ``boottest``'s ``r(t)`` at ``reps(0)``); R: ``ri2::conduct_ri``
with ``test_function =`` a function returning this statistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from famtrial.inference.randomization import FamilyDesign, Refit
from famtrial.models.clogit import ConditionalLogit
from famtrial.models.logit import Logit

__all__ = [
    "ScoreRandomization",
    "clogit_score_randomization",
    "logit_score_randomization",
    "score_statistics",
    "refit_score_design",
    "score_test_draws",
    "richardson",
    "assemble",
]

#: The conditional logit's differencing step along the treatment direction (0/1 regressors).
STEP = 1e-3


@dataclass(frozen=True)
class ScoreRandomization:
    """What a re-draw's studentized score needs, every array fixed by the one restricted fit.

    Parameters
    ----------
    unit_score : ndarray, shape (F,)
        ``r_f``: the treatment coefficient's restricted score of unit f were it treated.
    unit_cross : ndarray, shape (F, k)
        ``c_f``: its cross-information with the k nuisance parameters.
    unit_cluster : ndarray, shape (F,)
        The cluster code (0 .. G-1) of each unit; -1 for a unit without data in the model.
    cluster_nuisance : ndarray, shape (G, k)
        The nuisance parameters' scores summed by cluster at the restricted fit.
    information : ndarray, shape (k, k)
        The nuisance information ``I_gg`` (minus the restricted fit's Hessian).
    restricted_params : ndarray, shape (k,)
        The restricted estimates ``g~``.
    """

    unit_score: np.ndarray
    unit_cross: np.ndarray
    unit_cluster: np.ndarray
    cluster_nuisance: np.ndarray
    information: np.ndarray
    restricted_params: np.ndarray

    @property
    def n_clusters(self) -> int:
        """G, the clusters with data."""
        return int(self.cluster_nuisance.shape[0])

    def statistics(self, arms: ArrayLike) -> np.ndarray:
        """``T(a)`` for every row ``a`` of ``arms`` (shape ``(R, F)``, 0/1), as the module's formula.

        Parameters
        ----------
        arms : array-like, shape (R, F) or (F,)
            Re-drawn 0/1 assignments of the units (one row per re-draw).
        """
        a = np.atleast_2d(np.asarray(arms, dtype=float))
        if a.shape[1] != len(self.unit_score):
            raise ValueError(f"arms has {a.shape[1]} columns; the design has {len(self.unit_score)} units")
        g = self.n_clusters
        member = np.zeros((len(self.unit_score), g))
        has = self.unit_cluster >= 0
        member[np.flatnonzero(has), self.unit_cluster[has]] = self.unit_score[has]
        score = a @ self.unit_score
        if self.information.size:
            coef = np.linalg.solve(self.information, (a @ self.unit_cross).T).T  # I_gg^-1 I_gb(a), (R, k)
            u = a @ member - coef @ self.cluster_nuisance.T
        else:
            u = a @ member
        with np.errstate(divide="ignore", invalid="ignore"):
            out: np.ndarray = score / np.sqrt(g / (g - 1) * (u * u).sum(axis=1))
        return out


def score_statistics(design: ScoreRandomization, arms: ArrayLike, *, block: int = 1024) -> np.ndarray:
    """:meth:`ScoreRandomization.statistics` in blocks of ``block`` re-draws (bounded memory).

    Parameters
    ----------
    design : ScoreRandomization
        The restricted fit's arrays.
    arms : array-like, shape (R, F)
        The re-drawn assignments.
    block : int, default 1024
        Re-draws per block.
    """
    a = np.atleast_2d(np.asarray(arms, dtype=float))
    return np.concatenate([design.statistics(a[i : i + block]) for i in range(0, max(len(a), 1), block)])


def _codes(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniques, codes = np.unique(labels, return_inverse=True)
    return codes.ravel(), uniques


def richardson(values: Sequence[np.ndarray]) -> np.ndarray:
    """Richardson's five-point derivative from values at ``-2h, -h, h, 2h`` (step :data:`STEP`)."""
    m2, m1, p1, p2 = values
    out: np.ndarray = (8.0 * (p1 - m1) - (p2 - m2)) / (12.0 * STEP)
    return out


def clogit_score_randomization(
    endog: ArrayLike,
    exog: ArrayLike,
    groups: ArrayLike,
    direction: ArrayLike,
    units: ArrayLike,
    n_units: int,
    clusters: ArrayLike,
    *,
    names: Sequence[str] | None = None,
    time: ArrayLike | None = None,
    time_name: str = "month",
    weights: ArrayLike | None = None,
    weight_type: str = "pweight",
) -> ScoreRandomization:
    """The score design of an exact conditional logit (trend, month effects or weights) under the sharp null.

    Parameters
    ----------
    endog : array-like, shape (n,)
        The 0/1 outcome.
    exog : array-like, shape (n, k)
        The nuisance regressors (everything but the treatment columns).
    groups : array-like, shape (n,)
        The conditioning group (the person).
    direction : array-like, shape (n,)
        ``d``: the tested treatment column of a treated unit (``post``; ``post`` times the variant).
    units : array-like of int, shape (n,)
        Each row's randomized unit, ``0 .. n_units - 1`` (groups nest in units).
    n_units : int
        F, the number of randomized units.
    clusters : array-like, shape (n,)
        The covariance's cluster (units nest in clusters).
    names : sequence of str, optional
        The nuisance regressors' names.
    time : array-like, optional
        Categorical time (month) effects, as :class:`~famtrial.models.clogit.ConditionalLogit`'s ``time``.
    time_name : str, default "month"
        The time effects' name.
    weights : array-like, optional
        One weight per group (constant within a group).
    weight_type : {"pweight", "fweight"}
        The weights' type.

    Notes
    -----
    The restricted fit is the conditional logit without the treatment (Stata ``clogit y x i.month,
    group(g)``; R ``survival::clogit(y ~ x + strata(g), method = "exact")``); ``r_f`` and ``c_f`` are the
    derivatives of each group's log-likelihood and nuisance scores along ``d`` (module docstring).
    """
    y = np.asarray(endog, dtype=float)
    x = np.asarray(exog, dtype=float).reshape(len(y), -1)
    d = np.asarray(direction, dtype=float)
    kwargs = dict(names=names, time=time, time_name=time_name)
    if weights is not None:
        kwargs.update(weights=weights, weight_type=weight_type)
    base = ConditionalLogit(y, x, groups, **kwargs)  # type: ignore[arg-type]
    if not base.exog_names:
        raise ValueError(
            "statistic='score' needs a restricted model with at least one parameter (covariates, a trend "
            "or month effects); use statistic='wald'"
        )
    params = base.fit().params.to_numpy()
    hess = base.derivatives(params)[2]
    scores = base.score_groups(params)
    lls, grads = [], []
    for h in (-2 * STEP, -STEP, STEP, 2 * STEP):
        shifted = ConditionalLogit(y, x, groups, offset=h * d, **kwargs)  # type: ignore[arg-type]
        # the per-group log-likelihoods and scores (the kernel's own evaluation; no public per-group loglike)
        ll_g, score_g, _ = shifted._eval(params, False)
        lls.append(ll_g)
        grads.append(score_g)
    r_group = richardson(lls)
    c_group = -richardson(grads)
    unit_of_group = base.clusters_of_groups(np.asarray(units)).astype(np.int64)
    cluster_codes, _ = _codes(base.clusters_of_groups(np.asarray(clusters)))
    return assemble(r_group, c_group, scores, unit_of_group, cluster_codes, n_units, -hess, params)


def assemble(
    r: np.ndarray,
    c: np.ndarray,
    nuisance: np.ndarray,
    unit: np.ndarray,
    cluster: np.ndarray,
    n_units: int,
    information: np.ndarray,
    params: np.ndarray,
) -> ScoreRandomization:
    """Per-row (or per-group, or per-unit) pieces summed to units and clusters; checks that units nest in clusters.

    Parameters
    ----------
    r, c, nuisance : ndarray
        Each piece's ``r`` (n,), ``c`` (n, k) and nuisance scores (n, k).
    unit, cluster : ndarray of int
        Each piece's unit (0 .. n_units - 1) and cluster code (0 .. G - 1).
    n_units : int
        F, the randomized units.
    information : ndarray (k, k)
        The nuisance information.
    params : ndarray (k,)
        The restricted estimates.
    """
    g = int(cluster.max()) + 1 if len(cluster) else 0
    unit_cluster = np.full(n_units, -1, np.int64)
    unit_cluster[unit] = cluster
    if not np.array_equal(unit_cluster[unit], cluster):
        raise ValueError("randomized units must nest in clusters: a unit has rows in two clusters")
    unit_score = np.bincount(unit, weights=r, minlength=n_units)
    unit_cross = np.zeros((n_units, c.shape[1]))
    np.add.at(unit_cross, unit, c)
    cluster_nuisance = np.zeros((g, nuisance.shape[1]))
    np.add.at(cluster_nuisance, cluster, nuisance)
    return ScoreRandomization(
        unit_score=unit_score,
        unit_cross=unit_cross,
        unit_cluster=unit_cluster,
        cluster_nuisance=cluster_nuisance,
        information=np.asarray(information, dtype=float),
        restricted_params=np.asarray(params, dtype=float),
    )


def logit_score_randomization(
    endog: ArrayLike,
    exog: ArrayLike,
    direction: ArrayLike,
    units: ArrayLike,
    n_units: int,
    clusters: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> ScoreRandomization:
    """The score design of a logit (a month's cross-section) under the sharp null.

    Parameters
    ----------
    endog : array-like, shape (n,)
        The 0/1 outcome.
    exog : array-like, shape (n, k)
        The nuisance regressors, the intercept included (controls, office dummies).
    direction : array-like, shape (n,)
        ``d``: the treatment column of a treated unit (ones for a month's logit).
    units : array-like of int, shape (n,)
        Each row's randomized unit, ``0 .. n_units - 1``.
    n_units : int
        F, the number of randomized units.
    clusters : array-like, shape (n,)
        The covariance's cluster.
    weights : array-like, optional
        Row weights.

    Notes
    -----
    Closed form at the restricted fit ``p~ = expit(x g~)``: ``r_i = w_i d_i (y_i - p~_i)``,
    ``c_i = w_i p~_i (1 - p~_i) d_i x_i``, nuisance scores ``w_i (y_i - p~_i) x_i``, ``I_gg = X' W V X``.
    Stata ``logit y x`` (restricted); R ``glm(y ~ x, binomial)``.
    """
    y = np.asarray(endog, dtype=float)
    x = np.asarray(exog, dtype=float).reshape(len(y), -1)
    model = Logit(y, x, add_constant=False, weights=weights, weight_type="pweight")
    params = model.fit("robust" if weights is not None else "nonrobust").params.to_numpy()
    rows = model.used_rows  # the rows and columns the fit uses (collinear columns dropped)
    xk, yk = model.exog, model.endog
    w = np.ones(len(rows)) if model.weights is None else model.weights
    d = np.asarray(direction, dtype=float)[rows]
    p = expit(xk @ params)
    v = w * p * (1 - p)
    resid = w * (yk - p)
    cluster_codes, _ = _codes(np.asarray(clusters)[rows])
    return assemble(
        resid * d,
        (v * d)[:, None] * xk,
        resid[:, None] * xk,
        np.asarray(units, dtype=np.int64)[rows],
        cluster_codes,
        n_units,
        (xk * v[:, None]).T @ xk,
        params,
    )


def refit_score_design(refit: Refit, n_units: int) -> ScoreRandomization:
    """The score design of a :class:`~famtrial.inference.randomization.Refit`'s model (its tested term).

    Parameters
    ----------
    refit : Refit
        The re-draw engine's model: outcome, nuisance regressors, the treatment's switches, groups,
        clusters and time effects.
    n_units : int
        The randomized units (families) of the design.
    """
    direction = refit.switches[:, refit.term_index]
    names = refit.names[refit.switches.shape[1] :]
    if refit.kind == "fe":
        assert refit.groups is not None  # a fixed-effects refit is built with its groups
        return clogit_score_randomization(
            refit.y,
            refit.exog,
            refit.groups,
            direction,
            refit.family_code,
            n_units,
            refit.clusters,
            names=names,
            time=refit.time,
            time_name=refit.time_name,
        )
    return logit_score_randomization(refit.y, refit.exog, direction, refit.family_code, n_units, refit.clusters)


def score_test_draws(
    design: FamilyDesign, refit: Refit, seeds: Sequence[np.random.SeedSequence]
) -> tuple[float, np.ndarray]:
    """The observed studentized score statistic and its re-draws (one restricted fit in all).

    Parameters
    ----------
    design : FamilyDesign
        The trial's assignment (families within offices).
    refit : Refit
        The model (the tested term's switches and the nuisance regressors).
    seeds : sequence of SeedSequence
        One per re-draw.
    """
    score = refit_score_design(refit, len(design.family))
    observed = float(score.statistics(design.arm)[0])
    return observed, score_statistics(score, design.draws(seeds))
