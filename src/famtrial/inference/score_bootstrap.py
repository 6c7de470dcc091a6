r"""Wild cluster score bootstrap after a likelihood model: Stata's ``boottest`` statistic, exactly.

With few clusters (the trial has G = 14 offices) cluster-robust Wald tests over-reject. The score
bootstrap (Kline and Santos 2012) needs no re-estimation per draw. famtrial computes the statistic
that ``boottest`` (Roodman, MacKinnon, Nielsen and Webb 2019, "Fast and wild", Stata Journal
19(1); source ``boottest.mata``, Mata class ``boottest``, the ML branch of ``_MakeInterpolables``
and ``MakeNonWREStats``) computes after ``logit``/``probit``/``clogit``/``ml`` with
``vce(cluster c)``. Under H0: b_j = c:

1. **restricted fit** b~: the log-likelihood maximised with b_j fixed at c (boottest re-runs the
   command with ``constraints()``);
2. per-observation scores at b~ mapped onto b_j's direction, ``u_i = s_i(b~)' A[:, j]`` with
   ``A = (-H(b~))^-1`` the full model's model-based covariance at b~ (boottest's ``A = e(V)`` of
   the ``iterate(0)`` re-run at b~, ``e(V_modelbased)`` when the fit is robust); cluster sums
   ``S_g = sum_{i in g} u_i``. ``u_i`` is ``A_jj`` times the efficient score
   ``s_ij - H_{j,-j} H_{-j,-j}^{-1} s_{i,-j}``; the factor cancels from the statistic;
3. with cluster weights ``v_g`` and ``N*(v) = sum_g v_g S_g``, the **re-centred** cluster terms
   ``J_g(v) = v_g S_g - pi_g N*(v)``, ``pi_g = N_g / N`` the cluster's share of the estimation
   sample's observations (boottest's ``ClustShare``; after a weighted fit the cluster's share of the
   weights, ``sum_{i in g} w_i / sum_i w_i``, as boottest's ``panelsum(wt, info) / sumwt``), give ::

       t*(v) = N*(v) / sqrt( sum_g J_g(v)^2 )

   The observed statistic is ``t = t*(1, ..., 1)`` = ``sum_g S_g / sqrt(sum_g (S_g - pi_g S)^2)``,
   ``S = sum_g S_g``; no G/(G-1) or other small-sample factor unless ``small=True``;
4. p = share of the B draws with ``|t*| > |t|`` (strictly: a draw that ties the observed
   statistic, such as v = +-1 in every cluster, does not count; boottest's ``getp``,
   ``ptype(symmetric)``); the observed statistic is not among the B draws;
5. weights (boottest's ``weighttype()``): Rademacher (boottest's default). When ``2^G <= n_boot``
   or ``G <= enumerate_max`` every one of the 2^G sign vectors is used once, B = 2^G (boottest
   enumerates when ``2^G <= reps``), so the p-value has no simulation error. Otherwise ``n_boot``
   seeded Rademacher draws, or Webb's six-point weights (+-sqrt(1/2), +-1, +-sqrt(3/2)), drawn; or
   Mammen's two-point weights, ``1 - phi`` with probability ``phi / sqrt(5)`` and ``phi`` otherwise,
   ``phi = (1 + sqrt(5)) / 2`` (mean 0, variance 1, third moment 1), always drawn: boottest
   enumerates Rademacher weights only, and so does famtrial, although with Mammen weights too only
   2^G distinct vectors exist (boottest warns when ``reps`` exceeds 2^G; famtrial too). boottest
   draws Mammen weights divided by sqrt(5), with ``rdiscrete`` at probabilities ``.5 + sqrt(.05)``
   and ``.5 - sqrt(.05)``; the statistic does not depend on the weights' scale. Draws come from
   numpy's generator, not Stata's, so drawn p-values agree with boottest's only up to simulation
   error.

Stata: ``boottest x = c, reps(R) weight(rademacher)`` after ``clogit y x ..., group(g)
vce(cluster c)`` or ``logit y x ..., vce(cluster c)``, with ``R >= 2^G`` for the enumerated p-value
(``reps(16384)`` for G = 14); boottest's default ``reps(999)`` draws at random when ``2^G > 999``.
Julia (WildBootTests.jl, which boottest calls with its ``julia`` option): ``wildboottest(R, r;
scores=s, ml=true, beta=b_tilde, A=inv(-H), clustid=c, hetrobust=true, scorebs=true,
imposenull=true, reps=2^G, auxwttype=:rademacher, small=false)``. R: no equivalent
(fwildclusterboot covers linear models only).

Works with any model exposing ``exog_names``, ``derivatives(b) -> (llf, grad, hess)``,
``used_rows`` and either ``score_groups(b)`` + ``clusters_of_groups(clusters)`` (conditional
logit) or ``score_obs(b)`` + ``clusters_of_rows(clusters)`` (logit); or, for a model kept on a Dask
cluster (:class:`~famtrial.models.distributed.PreparedConditionalLogit`), ``cluster_masses()`` and
``cluster_score_sums(b)``: the statistic needs the scores' cluster sums only (``u_i`` is linear in
``s_i``), so no per-row array reaches the client.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, stats

from famtrial._options import BootstrapWeights, check_choice
from famtrial.errors import FamtrialWarning
from famtrial.models.base import ModelResults, ScoreModel
from famtrial.models.clogit import ConditionalLogitResults
from famtrial.models.logit import LogitResults
from famtrial.models.optim import newton

__all__ = [
    "ScoreBootstrapResult",
    "score_bootstrap",
    "efficient_scores",
    "wild_weights",
    "score_statistics",
    "restricted_fit",
    "cluster_scores",
    "wald_t_pvalue",
    "WEIGHT_NAMES",
]

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_PHI = (1 + np.sqrt(5.0)) / 2
#: Mammen's two points and their probabilities, as boottest's ``MakeWildWeights``: ``1 - phi`` with
#: probability ``phi / sqrt(5) = .5 + sqrt(.05)``, ``phi`` with ``.5 - sqrt(.05)`` (boottest divides both
#: points by sqrt(5), which leaves the statistic unchanged).
_MAMMEN = np.array([1 - _PHI, _PHI])
_MAMMEN_P = np.array([0.5 + np.sqrt(0.05), 0.5 - np.sqrt(0.05)])
#: The weights' names in words, for notes and summaries.
WEIGHT_NAMES: dict[str, str] = {"rademacher": "Rademacher", "webb": "Webb", "mammen": "Mammen"}
#: |t*| must exceed |t| by this relative margin to count: exact ties (v = +-1, mirrored clusters)
#: stay ties under rounding, as boottest's strict ``>`` treats them in exact arithmetic.
_TIE = 1e-10


def wild_weights(
    n_clusters: int,
    kind: BootstrapWeights = "rademacher",
    *,
    n_boot: int = 9999,
    seed: int | None = None,
    enumerate_max: int = 16,
) -> tuple[np.ndarray, bool]:
    """Cluster weights ``(B, G)`` and whether they enumerate every sign vector.

    Rademacher with ``G <= enumerate_max`` or ``2^G <= n_boot``: all 2^G sign vectors, each once
    (boottest's enumeration, which it uses when ``2^G <= reps``). Otherwise ``n_boot`` seeded
    draws: Rademacher +-1, Webb's six points with equal probability, or Mammen's two points
    ``1 - phi`` (probability ``phi / sqrt(5)``) and ``phi``, ``phi = (1 + sqrt(5)) / 2``. Mammen
    weights are always drawn, as boottest draws them (it enumerates Rademacher weights only), with a
    :class:`~famtrial.errors.FamtrialWarning` when ``n_boot`` exceeds their 2^G distinct vectors.
    """
    check_choice(kind, BootstrapWeights, "weights", ValueError)
    if n_clusters < 2:
        raise ValueError(f"the wild cluster bootstrap needs at least 2 clusters; got {n_clusters}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot={n_boot!r} must be a positive integer")
    if kind == "rademacher" and (n_clusters <= enumerate_max or 2.0**n_clusters <= n_boot):
        bits = (np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        return rng.choice((-1.0, 1.0), size=(n_boot, n_clusters)), False
    if kind == "webb":
        return rng.choice(_WEBB, size=(n_boot, n_clusters)), False
    if 2.0**n_clusters < n_boot:  # boottest's warning
        warnings.warn(
            f"with {n_clusters} clusters, the {n_boot:,} Mammen draws exceed the 2^{n_clusters} = "
            f"{2**n_clusters:,} distinct weight vectors, so draws repeat; consider weights='webb'",
            FamtrialWarning,
            stacklevel=3,
        )
    return rng.choice(_MAMMEN, size=(n_boot, n_clusters), p=_MAMMEN_P), False


def efficient_scores(scores: np.ndarray, hessian: np.ndarray, j: int) -> np.ndarray:
    """``s~_g = S_gj - H_{j,-j} H_{-j,-j}^{-1} S_{g,-j}``: coefficient j's score net of the nuisance ones.

    Equals ``(S @ A[:, j]) / A_jj`` with ``A = (-H)^-1``: boottest's ``u = S A R'`` up to the factor
    ``A_jj``, which cancels from the studentized statistic.
    """
    scores = np.asarray(scores, dtype=float)
    hessian = np.asarray(hessian, dtype=float)
    free = np.delete(np.arange(hessian.shape[0]), j)
    if len(free) == 0:
        return scores[:, j].copy()
    coef = np.linalg.solve(hessian[np.ix_(free, free)], hessian[free, j])
    net: np.ndarray = scores[:, j] - scores[:, free] @ coef
    return net


def score_statistics(s_tilde: np.ndarray, weights: np.ndarray, shares: np.ndarray) -> tuple[float, np.ndarray]:
    """Boottest's observed score statistic and its bootstrap draws (rows of ``weights``).

    ``t*(v) = sum_g v_g s_g / sqrt(sum_g (v_g s_g - pi_g sum_h v_h s_h)^2)``; the observed ``t`` is
    ``t*(1, ..., 1)``. ``shares`` are the clusters' shares of the observations, ``pi_g = N_g / N``.
    """
    s = np.asarray(s_tilde, dtype=float)
    pi = np.asarray(shares, dtype=float)
    if s.shape != pi.shape:
        raise ValueError(f"s_tilde has {s.shape} entries but shares has {pi.shape}: one of each per cluster")
    if not np.isclose(pi.sum(), 1.0, rtol=0, atol=1e-12) or (pi <= 0).any():
        raise ValueError(f"shares must be positive and sum to 1 (they sum to {pi.sum():.6g})")

    def t(v: np.ndarray) -> np.ndarray:
        numer = v @ s
        stat: np.ndarray = numer / np.sqrt((((v * s) - numer[:, None] * pi) ** 2).sum(axis=1))
        return stat

    return float(t(np.ones((1, len(s))))[0]), t(np.asarray(weights, dtype=float))


def _pvalue(observed: float, draws: np.ndarray) -> float:
    return float(np.mean(np.abs(draws) > abs(observed) * (1 + _TIE)))


def restricted_fit(model: ScoreModel, j: int, value: float, start: ArrayLike | None = None) -> np.ndarray:
    """Maximise the log-likelihood with coefficient j fixed at ``value`` (Newton on the others).

    Uses only ``model.derivatives`` (and ``model.gradient`` for Newton's cheap chord steps when the model
    has one); returns the full coefficient vector (``b_j = value``).
    """
    return _restricted(model, j, value, start)[0]


def _restricted(
    model: ScoreModel, j: int, value: float, start: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`restricted_fit` and the full Hessian at its estimate (the last Newton evaluation's; None if not kept)."""
    k = len(model.exog_names)
    free = np.delete(np.arange(k), j)
    start = np.zeros(k) if start is None else np.asarray(start, dtype=float)
    last: dict[str, np.ndarray] = {}

    def objective(b_free: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        b = np.insert(b_free, j, value)
        ll, grad, hess = model.derivatives(b)
        last["b"], last["hess"] = b, hess
        return ll, grad[free], hess[np.ix_(free, free)]

    def gradient(b_free: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = model.gradient(np.insert(b_free, j, value))  # type: ignore[attr-defined]
        return ll, grad[free]

    if len(free) == 0:
        return np.array([float(value)]), None
    opt = newton(objective, start[free], gradient=gradient if hasattr(model, "gradient") else None)
    if not opt.converged:
        raise RuntimeError(f"the restricted fit (b_{model.exog_names[j]} = {value:g}) did not converge")
    b = np.insert(opt.x, j, value)
    return b, last["hess"] if "b" in last and np.array_equal(last["b"], b) else None


@dataclass(frozen=True)
class _Layout:
    """Which cluster each score row belongs to, and each cluster's share of the observations."""

    codes: np.ndarray | None  # each score row's cluster (None: the model sums its scores by cluster)
    shares: np.ndarray
    nobs: int
    labels: pd.Index | None = None  # the clusters' labels, in ``shares``' order (cluster-summing models)

    @property
    def n_clusters(self) -> int:
        return len(self.shares)


def _layout(model: ScoreModel, clusters: ArrayLike | None) -> _Layout:
    if hasattr(model, "cluster_masses"):  # a model that sums its scores by cluster itself (Dask)
        masses = model.cluster_masses()
        mass = masses.to_numpy(dtype=float)
        return _Layout(codes=None, shares=mass / mass.sum(), nobs=int(round(mass.sum())), labels=masses.index)
    if hasattr(model, "clusters_of_groups"):  # conditional logit: score rows are groups, nested in clusters
        labels = model.clusters_of_groups(clusters)
    elif hasattr(model, "clusters_of_rows"):  # logit: score rows are estimation rows
        labels = model.clusters_of_rows(clusters)
    else:
        raise TypeError(
            f"{type(model).__name__} has neither score_groups() nor score_obs(): "
            "pass the result of a famtrial Logit or ConditionalLogit fit"
        )
    codes, uniques = pd.factorize(np.asarray(labels), sort=False)
    used = pd.Series(np.asarray(clusters)[cast(Any, model).used_rows])
    counts = used.value_counts().reindex(uniques).to_numpy(dtype=float)
    weights = getattr(model, "weights", None)
    # boottest's ClustShare: the clusters' shares of the weights after a weighted fit (any weight type),
    # of the observations otherwise
    mass = counts if weights is None else pd.Series(np.asarray(weights)).groupby(used).sum().reindex(uniques)
    mass = np.asarray(mass, dtype=float)
    return _Layout(codes=codes, shares=mass / mass.sum(), nobs=int(counts.sum()))


def _scores(model: ScoreModel, params: np.ndarray) -> np.ndarray:
    if hasattr(model, "score_groups"):  # conditional logit: one row per group
        groups: np.ndarray = model.score_groups(params)
        return groups
    assert hasattr(model, "score_obs")  # _layout checked: per-group or per-row scores
    rows: np.ndarray = model.score_obs(params)
    return rows


def cluster_scores(model: ScoreModel, params: np.ndarray, clusters: ArrayLike | None) -> np.ndarray:
    """Cluster sums of the model's score contributions at ``params``, ``(G, k)``.

    ``clusters`` is aligned with the rows given to the model's constructor (as for ``fit``);
    clusters are ordered by first appearance.
    """
    layout = _layout(model, clusters)
    if layout.codes is None:
        return _model_cluster_sums(model, layout, params)
    out = np.zeros((layout.n_clusters, len(model.exog_names)))
    np.add.at(out, layout.codes, _scores(model, params))
    return out


def _model_cluster_sums(model: ScoreModel, layout: _Layout, params: np.ndarray) -> np.ndarray:
    """A cluster-summing model's score sums at ``params``, in the layout's cluster order."""
    sums: np.ndarray = model.cluster_score_sums(params).reindex(layout.labels).to_numpy(dtype=float)  # type: ignore[attr-defined]
    return sums


def _cluster_efficient(model: ScoreModel, layout: _Layout, params: np.ndarray, hess: np.ndarray, j: int) -> np.ndarray:
    """``S_g``: the efficient scores of coefficient ``j`` at ``params`` summed by cluster (:func:`efficient_scores`)."""
    if layout.codes is None:  # linear in the scores: the cluster sums' efficient scores
        return efficient_scores(_model_cluster_sums(model, layout, params), hess, j)
    per_row = efficient_scores(_scores(model, params), hess, j)
    return np.bincount(layout.codes, weights=per_row, minlength=layout.n_clusters)


@dataclass(frozen=True)
class ScoreBootstrapResult:
    """Score-bootstrap test of H0: b_term = null, with the test-inversion confidence interval.

    ``statistic`` is boottest's studentized score statistic ``t`` (asymptotically N(0, 1) under
    H0; with ``small=True`` multiplied by boottest's small-sample factor); ``pvalue`` its bootstrap
    p-value; ``conf_int`` ``(lower, upper)`` on the coefficient scale (``None`` when not requested;
    an end is +-inf when p(c) stays above alpha to the grid's end). ``n_draws`` is boottest's B
    (2^G when ``enumerated``).
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
    small: bool = False

    def odds_ratio_conf_int(self) -> tuple[float, float] | None:
        """The interval on the odds-ratio scale, ``exp`` of ``conf_int``."""
        return None if self.conf_int is None else (float(np.exp(self.conf_int[0])), float(np.exp(self.conf_int[1])))

    def summary(self) -> str:
        """The test in words: the hypothesis, clusters and draws, the statistic and its p, and the interval."""
        how = (
            f"all {self.n_draws:,} Rademacher sign vectors (2^G, enumerated)"
            if self.enumerated
            else f"{self.n_draws:,} {self.weights} draws"
        )
        lines = [
            f"Wild cluster score bootstrap (boottest), H0: {self.term} = {self.null:g}",
            f"clusters G = {self.n_clusters}; {how}",
            f"score statistic {'t' if self.small else 'z'} = {self.statistic:.4f}"
            f"{' (small-sample factor)' if self.small else ''}, bootstrap p = {self.pvalue:.4f}",
        ]
        if self.conf_int is not None:
            lo, hi = self.conf_int
            lines.append(
                f"{100 * (1 - self.alpha):g}% CI by test inversion: coef ({lo:.4f}, {hi:.4f}), "
                f"OR ({np.exp(lo):.4f}, {np.exp(hi):.4f}); estimate {self.estimate:.4f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


class _ScoreTest:
    """p(c) for H0: b_j = c with fixed weights, caching restricted fits (warm starts).

    Each evaluated c keeps ``(t, p, b~, H(b~), gap)``: the observed statistic, its p-value, the
    restricted fit, the full Hessian there, and ``gap(c) = |t*|_(K+1) - |t|(1 + tie)``, the (K + 1)-th
    largest bootstrap |t*| minus the observed |t| as :func:`_pvalue` compares them, where K is the
    largest count of exceedances with ``K / B <= alpha + 1e-12``. ``gap(c) > 0`` exactly when
    ``p(c) > alpha + 1e-12`` (more than K draws exceed), so ``gap`` changes sign where ``p(c) - alpha``
    does, but it is continuous in c (an order statistic of continuous functions), so a root finder
    converges superlinearly on it where on the step function ``p(c)`` it can only bisect.
    """

    def __init__(
        self, model: ScoreModel, j: int, layout: _Layout, weights: np.ndarray, start: ArrayLike, alpha: float = 0.05
    ) -> None:
        self.model, self.j, self.layout, self.weights = model, j, layout, weights
        self.start = np.asarray(start, dtype=float)
        self.cache: dict[float, tuple[float, float, np.ndarray, np.ndarray, float]] = {}
        n_draws = len(weights)
        # K: the most draws that may exceed |t| with p = K / B still <= alpha + 1e-12 (as _invert's brentq
        # compared); computed in the same floating-point arithmetic as _pvalue's mean
        allowed = min(int(np.floor(alpha * n_draws)) + 2, n_draws - 1)
        while allowed > 0 and allowed / n_draws - alpha - 1e-12 > 0:
            allowed -= 1
        # a weight vector proportional to (1, ..., 1) gives t* = +-t at every c: a tie that never counts
        # (_TIE), left out of the order statistic so that gap(c) has no flat stretch at -|t| * tie
        self.varying = np.ptp(weights, axis=1) > 0
        self.rank = int(self.varying.sum()) - allowed - 1  # ascending index of the (K + 1)-th largest |t*|

    def _start(self, value: float) -> np.ndarray:
        """Warm start: the nearest restricted fit so far moved along its tangent ``db_free/dc``.

        On the restricted fit's path, ``grad_free(b(c)) = 0`` gives ``db_free/dc = -H_ff^-1 H_fj``
        (implicit function theorem), so the start is first-order accurate in ``c - c_near`` and Newton
        needs fewer steps; the fit it converges to does not depend on the start beyond Newton's tolerance.
        """
        near = min(self.cache, key=lambda c: abs(c - value), default=None)
        if near is None or value == self.start[self.j]:  # at b_j = the estimate, the estimate is the restricted fit
            return self.start
        b, hess = self.cache[near][2], self.cache[near][3]
        free = np.delete(np.arange(len(b)), self.j)
        try:
            slope = -np.linalg.solve(hess[np.ix_(free, free)], hess[free, self.j])
        except np.linalg.LinAlgError:
            return b
        start = b.copy()
        start[free] += (value - near) * slope
        return start if np.isfinite(start).all() else b

    def __call__(self, value: float) -> tuple[float, float, np.ndarray]:
        value = float(value)
        if value not in self.cache:
            b, hess = _restricted(self.model, self.j, value, start=self._start(value))
            if hess is None:
                hess = self.model.derivatives(b)[2]
            s = _cluster_efficient(self.model, self.layout, b, hess, self.j)
            obs, draws = score_statistics(s, self.weights, self.layout.shares)
            size = np.abs(draws[self.varying])
            # rank < 0: at most K draws can exceed at all, p(c) <= alpha at every c
            gap = float(np.partition(size, self.rank)[self.rank] - abs(obs) * (1 + _TIE)) if self.rank >= 0 else -1.0
            self.cache[value] = (obs, _pvalue(obs, draws), b, hess, gap)
        obs, p, b = self.cache[value][:3]
        return obs, p, b

    def p(self, value: float) -> float:
        return self(value)[1]

    def gap(self, value: float) -> float:
        """``gap(c)``: positive where ``p(c) > alpha + 1e-12`` (c inside the interval), else <= 0."""
        self(value)
        return self.cache[float(value)][4]


def _invert(test: _ScoreTest, estimate: float, se: float, alpha: float, span: float, steps: int) -> tuple[float, float]:
    """Ends of {c : p(c) > alpha}: the first grid point out from the estimate with p(c) <= alpha, then Brent's method.

    The grid is ``estimate + direction * se * (span / steps) * k``, k = 1..steps. Walking it point by
    point costs a restricted fit per point; instead, from the last point known inside, the grid point
    where ``gap`` (continuous, see :class:`_ScoreTest`) extrapolates linearly to zero is tried next, and
    the point before it is checked to be inside, so the bracket is the walk's (the first outside grid
    point and the inside one before it) whenever p(c) crosses alpha once between grid points already
    known inside and that point. Brent's method on ``test.gap`` then reaches the end to ``1e-4 * se`` in
    a few restricted fits instead of bisecting the step function ``p(c)`` (about 13 fits per end).
    """
    grid = se * np.linspace(span / steps, span, steps)
    ends = []
    for direction in (-1.0, 1.0):
        points = estimate + direction * grid
        known_in, last = -1, (estimate, test.gap(estimate))  # index of the last grid point known inside
        end = direction * np.inf
        k = 0
        while k < steps:
            if test.p(points[k]) <= alpha:
                if k - 1 > known_in and test.p(points[k - 1]) <= alpha:
                    k -= 1  # the jump overshot the crossing: step back towards the last inside point
                    continue
                inside = estimate if k == 0 else points[k - 1]
                end = optimize.brentq(test.gap, inside, points[k], xtol=1e-4 * se)
                break
            known_in, here = k, (points[k], test.gap(points[k]))
            # next: the grid point where the line through the last two inside points reaches gap = 0
            slope = (here[1] - last[1]) / (here[0] - last[0])
            last = here
            ahead = -here[1] / slope * direction if slope * direction < 0 else np.inf
            k = int(min(max(k + 1, k + np.ceil(ahead / grid[0] - 1e-9)), steps - 1)) if np.isfinite(ahead) else k + 1
            if k <= known_in:
                k = known_in + 1
        ends.append(end)
    return float(ends[0]), float(ends[1])


def score_bootstrap(
    results: LogitResults | ConditionalLogitResults,
    term: str,
    clusters: ArrayLike | None,
    *,
    null: float = 0.0,
    weights: BootstrapWeights = "rademacher",
    n_boot: int = 9999,
    seed: int | None = None,
    enumerate_max: int = 16,
    small: bool = False,
    conf_int: bool = True,
    alpha: float = 0.05,
    span: float = 8.0,
    steps: int = 16,
) -> ScoreBootstrapResult:
    r"""Wild cluster score bootstrap test of ``H0: b_term = null``, boottest's statistic.

    Parameters
    ----------
    results : ConditionalLogitResults or LogitResults
        A fit (any covariance); its ``.model`` supplies derivatives and scores.
    term : str
        The coefficient tested (e.g. ``"coordinator_pooled"``).
    clusters : array-like or None
        Cluster label per row given to the model (e.g. ``frame["office"]``); None for a model that sums
        its scores by its own clusters (a fit of
        :class:`~famtrial.models.distributed.PreparedConditionalLogit`, prepared with ``cluster=``).
    null : float
        Hypothesised coefficient (log-odds scale).
    weights : {"rademacher", "webb", "mammen"}
        Rademacher (boottest's default; all 2^G sign vectors when ``G <= enumerate_max`` or
        ``2^G <= n_boot``), Webb's six-point weights (drawn; better with very few clusters) or
        Mammen's two-point weights (``1 - phi`` with probability ``phi / sqrt(5)``, else ``phi``;
        always drawn, as boottest draws them). boottest's ``weighttype()``.
    n_boot, seed
        Draws and seed when weights are drawn rather than enumerated (boottest's ``reps``;
        famtrial's default 9,999 where boottest's is 999).
    enumerate_max : int
        Enumerate the Rademacher sign vectors up to this G even when ``2^G > n_boot``.
    small : bool
        boottest's ``small``: multiply the statistic by ``sqrt((G-1)/G * N/(N-1))`` (its cluster
        factor G/(G-1) in the variance, and its ``(N - k)/(N - 1)`` with k = 0 after ML, N the
        estimation sample's observations). The p-value does not change (the factor scales every
        draw alike); boottest then labels the statistic t(G-1).
    conf_int : bool
        Also invert the test for a ``1 - alpha`` interval, ``{c : p(c) > alpha}`` (boottest's
        rule; boottest itself reports no interval after ML models). One restricted fit per
        evaluated c, the same weights for every c. The grid spans ``estimate +- span * se`` in
        ``steps`` steps; each end is then located by Brent's method to ``1e-4 * se``.
    alpha : float, default 0.05
        The interval's level (0.05: a 95% interval); it must lie strictly between 0 and 1. The test's
        p-value does not depend on it.
    span : float, default 8.0
        How far the interval's grid walks out from the estimate on each side, in standard errors (the
        larger of the model-based SE at the estimate and the fit's own SE). An end that the grid does
        not reach (p(c) stays above ``alpha`` up to ``estimate +- span * se``) is -inf or +inf.
    steps : int, default 16
        Grid points on each side between the estimate and ``estimate +- span * se``; the end is
        bracketed by the first grid point with p(c) <= ``alpha`` and the one before it (found by
        jumping to where a continuous function with the sign of ``p(c) - alpha`` extrapolates to zero,
        then checking the point before), and Brent's method on that function locates it to
        ``1e-4 * se``.

    Notes
    -----
    Statistic (module docstring): with ``u_i = s_i(b~)' (-H(b~))^{-1} e_j`` summed by cluster to
    ``S_g``, ``pi_g = N_g / N`` and weights ``v``,

    .. math:: t^*(v) = \frac{\sum_g v_g S_g}{\sqrt{\sum_g (v_g S_g - \pi_g \sum_h v_h S_h)^2}},
              \qquad t = t^*(1,\dots,1), \qquad p = \frac{1}{B}\#\{b : |t^*_b| > |t|\}.

    Stata: ``boottest term = null, reps(R) weight(rademacher)`` (or ``weight(webb)``,
    ``weight(mammen)``) after ``clogit``/``logit`` with ``vce(cluster c)``; ``R >= 2^G`` makes
    boottest enumerate Rademacher weights as famtrial does.
    WildBootTests.jl: ``wildboottest(R, r; scores, ml=true, beta=b_tilde, A=inv(-H), clustid,
    hetrobust=true, scorebs=true, reps=2^G)``. Kline and Santos (2012), "A score based approach
    to wild bootstrap inference", J. Econometric Methods 1(1); Roodman, MacKinnon, Nielsen and Webb
    (2019), Stata Journal 19(1). Checked against the values printed in boottest's own unit-test
    log (``tests/reference/boottest/``), Mammen weights included.
    """
    check_choice(weights, BootstrapWeights, "weights", ValueError)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1")
    if not isinstance(small, (bool, np.bool_)):
        raise TypeError(f"small={small!r} must be True or False")
    model = results.model
    names = list(model.exog_names)
    if term not in names:
        raise ValueError(f"term {term!r} is not a coefficient of the model ({names})")
    j = names.index(term)
    b_hat = results.params.to_numpy()
    layout = _layout(model, clusters)
    w, enumerated = wild_weights(layout.n_clusters, weights, n_boot=n_boot, seed=seed, enumerate_max=enumerate_max)
    test = _ScoreTest(model, j, layout, w, b_hat, alpha)
    statistic, pvalue, b_tilde = test(null)
    if small:
        g, n = layout.n_clusters, layout.nobs
        statistic *= float(np.sqrt((g - 1) / g * n / (n - 1)))
    ci = None
    if conf_int:
        se = float(np.sqrt(np.linalg.inv(-model.derivatives(b_hat)[2])[j, j]))
        se = max(se, float(results.bse.iloc[j]))
        ci = _invert(test, float(b_hat[j]), se, alpha, span, steps)
    return ScoreBootstrapResult(
        term=term,
        null=float(null),
        statistic=statistic,
        pvalue=pvalue,
        weights=weights,
        n_draws=len(w),
        enumerated=enumerated,
        n_clusters=layout.n_clusters,
        alpha=alpha,
        conf_int=ci,
        estimate=float(b_hat[j]),
        restricted_params=pd.Series(b_tilde, index=names, name="restricted"),
        small=bool(small),
    )


def wald_t_pvalue(results: ModelResults, term: str) -> float:
    """Cluster-robust Wald p-value with a t(G-1) reference (the simplest few-cluster fix)."""
    g = results.n_clusters
    if g is None:
        raise ValueError("the fit is not cluster-robust: refit with cov_type='cluster'")
    return float(2 * stats.t(g - 1).sf(abs(results.tvalues[term])))
