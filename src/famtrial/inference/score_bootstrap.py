r"""Wild cluster score bootstrap (Kline and Santos 2012) for one coefficient of a likelihood model.

With few clusters (the trial has G = 14 offices) cluster-robust Wald tests over-reject. The score
bootstrap needs no re-estimation per draw: under H0: b_j = c,

1. fit the restricted model (b_j fixed at c, the other coefficients maximised): b~;
2. take the full model's cluster scores ``S_g = sum_{i in g} s_i(b~)`` (G x k) and Hessian H(b~);
3. partial the nuisance coefficients out (the efficient score)::

       s~_g = S_gj - H_{j,-j} H_{-j,-j}^{-1} S_{g,-j}

4. the observed statistic is the studentized score ``T = sum_g s~_g / sqrt(G/(G-1) sum_g s~_g^2)``;
   draw ``T* = sum_g w_g s~_g / sqrt(G/(G-1) sum_g (w_g s~_g)^2)`` with cluster weights w_g:
   Rademacher (+-1; all 2^G sign vectors when G <= ``enumerate_max``) or Webb's six-point
   (+-sqrt(1/2), +-1, +-sqrt(3/2));
5. p = share of draws with ``|T*| >= |T|``; the confidence interval is the set of c not rejected,
   found by test inversion (grid bracketing, then Brent's method on p(c) - alpha).

Works with any model exposing ``exog_names``, ``derivatives(b) -> (llf, grad, hess)`` and either
``score_groups(b)`` + ``clusters_of_groups(clusters)`` (conditional logit) or ``score_obs(b)``
(logit). Stata: ``boottest x, weight(rademacher)`` after ``logit``/``clogit`` (score bootstrap for
ML models; Roodman, MacKinnon, Nielsen and Webb 2019). R: no equivalent (fwildclusterboot covers
linear models only).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from famtrial.models.covariance import cluster_sums
from famtrial.models.optim import newton

__all__ = ["ScoreBootstrapResult", "score_bootstrap", "efficient_scores", "wild_weights", "score_statistics",
           "restricted_fit", "cluster_scores", "wald_t_pvalue"]

Weights = Literal["rademacher", "webb"]
_WEIGHTS = ("rademacher", "webb")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def wild_weights(n_clusters: int, kind: Weights = "rademacher", *, n_boot: int = 9999, seed=None,
                 enumerate_max: int = 16) -> tuple[np.ndarray, bool]:
    """Cluster weights ``(B, G)`` and whether they enumerate every sign vector.

    Rademacher with ``G <= enumerate_max``: the 2^(G-1) sign vectors with w_1 = +1 (each pair
    +-w gives the same |T*|, so this is the full enumeration). Otherwise ``n_boot`` seeded draws.
    """
    if kind not in _WEIGHTS:
        raise ValueError(f"weights={kind!r} is not one of {_WEIGHTS}")
    if n_clusters < 2:
        raise ValueError(f"the wild cluster bootstrap needs at least 2 clusters; got {n_clusters}")
    if kind == "rademacher" and n_clusters <= enumerate_max:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n_clusters - 1))).reshape(-1, n_clusters - 1)
        return np.column_stack([np.ones(len(signs)), signs]), True
    if n_boot < 1:
        raise ValueError(f"n_boot={n_boot} must be positive")
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice((-1.0, 1.0), size=(n_boot, n_clusters)), False
    return rng.choice(_WEBB, size=(n_boot, n_clusters)), False


def efficient_scores(scores: np.ndarray, hessian: np.ndarray, j: int) -> np.ndarray:
    """``s~_g = S_gj - H_{j,-j} H_{-j,-j}^{-1} S_{g,-j}``: coefficient j's score net of the nuisance ones."""
    scores = np.asarray(scores, dtype=float)
    hessian = np.asarray(hessian, dtype=float)
    free = np.delete(np.arange(hessian.shape[0]), j)
    if len(free) == 0:
        return scores[:, j].copy()
    coef = np.linalg.solve(hessian[np.ix_(free, free)], hessian[free, j])
    return scores[:, j] - scores[:, free] @ coef


def score_statistics(s_tilde: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Observed studentized score and its bootstrap draws (rows of ``weights``).

    ``T = sum s~_g / sqrt(c sum s~_g^2)``, ``T*_b = sum w_bg s~_g / sqrt(c sum w_bg^2 s~_g^2)``,
    c = G/(G-1).
    """
    s = np.asarray(s_tilde, dtype=float)
    g = len(s)
    c = g / (g - 1)
    observed = s.sum() / np.sqrt(c * np.sum(s ** 2))
    draws = (weights @ s) / np.sqrt(c * ((weights ** 2) @ (s ** 2)))
    return float(observed), draws


def _pvalue(observed: float, draws: np.ndarray) -> float:
    return float(np.mean(np.abs(draws) >= abs(observed) * (1 - 1e-10)))


def restricted_fit(model, j: int, value: float, start=None) -> np.ndarray:
    """Maximise the log-likelihood with coefficient j fixed at ``value`` (Newton on the others).

    Uses only ``model.derivatives``; returns the full coefficient vector (``b_j = value``).
    """
    k = len(model.exog_names)
    free = np.delete(np.arange(k), j)
    start = np.zeros(k) if start is None else np.asarray(start, dtype=float)

    def objective(b_free):
        ll, grad, hess = model.derivatives(np.insert(b_free, j, value))
        return ll, grad[free], hess[np.ix_(free, free)]

    if len(free) == 0:
        return np.array([float(value)])
    opt = newton(objective, start[free])
    if not opt.converged:
        raise RuntimeError(f"the restricted fit (b_{model.exog_names[j]} = {value:g}) did not converge")
    return np.insert(opt.x, j, value)


def cluster_scores(model, params, clusters) -> np.ndarray:
    """Cluster sums of the model's score contributions at ``params``, ``(G, k)``.

    ``clusters`` is aligned with the rows given to the model's constructor (as for ``fit``).
    """
    if hasattr(model, "score_groups"):  # conditional logit: scores per group, groups nest in clusters
        return cluster_sums(model.score_groups(params), model.clusters_of_groups(clusters))
    if hasattr(model, "score_obs"):  # logit: scores per estimation row
        return cluster_sums(model.score_obs(params), model.clusters_of_rows(clusters))
    raise TypeError(f"{type(model).__name__} has neither score_groups() nor score_obs()")


@dataclass(frozen=True)
class ScoreBootstrapResult:
    """Score-bootstrap test of H0: b_term = null, with the test-inversion confidence interval.

    ``statistic`` is the studentized cluster-robust score (asymptotically N(0, 1) under H0);
    ``pvalue`` its bootstrap p-value; ``conf_int`` ``(lower, upper)`` on the coefficient scale
    (``None`` when not requested; an end is +-inf when p(c) stays above alpha to the grid's end).
    """

    term: str
    null: float
    statistic: float
    pvalue: float
    weights: str
    n_draws: int
    enumerated: bool
    n_clusters: int
    alpha: float
    conf_int: tuple[float, float] | None
    estimate: float
    restricted_params: pd.Series

    def odds_ratio_conf_int(self) -> tuple[float, float] | None:
        """The interval on the odds-ratio scale, ``exp`` of ``conf_int``."""
        return None if self.conf_int is None else (float(np.exp(self.conf_int[0])), float(np.exp(self.conf_int[1])))

    def summary(self) -> str:
        how = (f"all {self.n_draws:,} Rademacher sign vectors (2^(G-1), enumerated)" if self.enumerated
               else f"{self.n_draws:,} {self.weights} draws")
        lines = [f"Wild cluster score bootstrap (Kline-Santos), H0: {self.term} = {self.null:g}",
                 f"clusters G = {self.n_clusters}; {how}",
                 f"score statistic {self.statistic:.4f}, bootstrap p = {self.pvalue:.4f}"]
        if self.conf_int is not None:
            lo, hi = self.conf_int
            lines.append(f"{100 * (1 - self.alpha):g}% CI by test inversion: coef ({lo:.4f}, {hi:.4f}), "
                         f"OR ({np.exp(lo):.4f}, {np.exp(hi):.4f}); estimate {self.estimate:.4f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class _ScoreTest:
    """p(c) for H0: b_j = c with fixed weights, caching restricted fits (warm starts)."""

    def __init__(self, model, j, clusters, weights, start):
        self.model, self.j, self.clusters, self.weights = model, j, clusters, weights
        self.start = np.asarray(start, dtype=float)
        self.cache: dict[float, tuple[float, float, np.ndarray]] = {}

    def __call__(self, value: float) -> tuple[float, float, np.ndarray]:
        value = float(value)
        if value not in self.cache:
            b = restricted_fit(self.model, self.j, value, start=self.start)
            _, _, hess = self.model.derivatives(b)
            s = efficient_scores(cluster_scores(self.model, b, self.clusters), hess, self.j)
            obs, draws = score_statistics(s, self.weights)
            self.cache[value] = (obs, _pvalue(obs, draws), b)
        return self.cache[value]

    def p(self, value: float) -> float:
        return self(value)[1]


def _invert(test: _ScoreTest, estimate: float, se: float, alpha: float, span: float, steps: int) -> tuple[float, float]:
    """Ends of {c : p(c) > alpha}: walk out from the estimate on a grid, then Brent's method."""
    ends = []
    for direction in (-1.0, 1.0):
        inside = estimate
        end = direction * np.inf
        for c in estimate + direction * se * np.linspace(span / steps, span, steps):
            if test.p(c) <= alpha:
                end = optimize.brentq(lambda v: test.p(v) - alpha - 1e-12, inside, c, xtol=1e-4 * se)
                break
            inside = c
        ends.append(end)
    return float(ends[0]), float(ends[1])


def score_bootstrap(results, term: str, clusters, *, null: float = 0.0, weights: Weights = "rademacher",
                    n_boot: int = 9999, seed: int | None = None, enumerate_max: int = 16, conf_int: bool = True,
                    alpha: float = 0.05, span: float = 8.0, steps: int = 16) -> ScoreBootstrapResult:
    """Wild cluster score bootstrap test of ``H0: b_term = null`` for a fitted famtrial model.

    Parameters
    ----------
    results : ConditionalLogitResults or LogitResults
        A fit (any covariance); its ``.model`` supplies derivatives and scores.
    term : str
        The coefficient tested (e.g. ``"coordinator_pooled"``).
    clusters : array-like
        Cluster label per row given to the model (e.g. ``frame["office"]``).
    null : float
        Hypothesised coefficient (log-odds scale).
    weights : {"rademacher", "webb"}
        Rademacher (all sign vectors when G <= ``enumerate_max``) or Webb's six-point weights
        (better with very few clusters, G < 10).
    n_boot, seed
        Draws and seed when weights are drawn rather than enumerated.
    conf_int : bool
        Also invert the test for a ``1 - alpha`` interval (one restricted fit per evaluated c,
        the same weights for every c). The grid spans ``estimate +- span * se`` in ``steps`` steps.

    Notes
    -----
    Kline and Santos (2012), "A score based approach to wild bootstrap inference", J. Econometric
    Methods 1(1). Stata: ``boottest term = null, weight(rademacher|webb)`` after ``logit``/``clogit``
    with ``vce(cluster c)``.
    """
    model = results.model
    names = list(model.exog_names)
    if term not in names:
        raise ValueError(f"term {term!r} is not a coefficient of the model ({names})")
    j = names.index(term)
    b_hat = results.params.to_numpy()
    n_clusters = len(cluster_scores(model, b_hat, clusters))
    w, enumerated = wild_weights(n_clusters, weights, n_boot=n_boot, seed=seed, enumerate_max=enumerate_max)
    test = _ScoreTest(model, j, clusters, w, b_hat)
    statistic, pvalue, b_tilde = test(null)
    ci = None
    if conf_int:
        se = float(np.sqrt(np.linalg.inv(-model.derivatives(b_hat)[2])[j, j]))
        se = max(se, float(results.bse.iloc[j]))
        ci = _invert(test, float(b_hat[j]), se, alpha, span, steps)
    return ScoreBootstrapResult(
        term=term, null=float(null), statistic=statistic, pvalue=pvalue, weights=weights, n_draws=len(w),
        enumerated=enumerated, n_clusters=n_clusters, alpha=alpha, conf_int=ci, estimate=float(b_hat[j]),
        restricted_params=pd.Series(b_tilde, index=names, name="restricted"))


def wald_t_pvalue(results, term: str) -> float:
    """Cluster-robust Wald p-value with a t(G-1) reference (the simplest few-cluster fix)."""
    g = results.n_clusters
    if g is None:
        raise ValueError("the fit is not cluster-robust: refit with cov_type='cluster'")
    return float(2 * stats.t(g - 1).sf(abs(results.tvalues[term])))
