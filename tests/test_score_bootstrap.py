"""Wild cluster score bootstrap: checked against brute-force computations built independently.

References: the logit case uses statsmodels (restricted fit with an offset) and hand-written
scores and Hessian; the conditional-logit case computes the conditional likelihood by enumerating
every outcome pattern of each group (no recursion), finite-difference scores and Hessian, and a
scipy optimiser for the restricted fit. In both, all 2^G sign vectors are enumerated by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize
from scipy.special import expit

from famtrial.models.clogit import ConditionalLogit
from famtrial.models.logit import Logit
from famtrial.inference.score_bootstrap import (
    efficient_scores, score_bootstrap, score_statistics, wald_t_pvalue, wild_weights,
)


def _brute_p(s_tilde: np.ndarray) -> tuple[float, float]:
    """Observed studentized score and p over all 2^G sign vectors (not halved), by hand."""
    g = len(s_tilde)
    c = g / (g - 1)
    t_obs = s_tilde.sum() / np.sqrt(c * (s_tilde ** 2).sum())
    stats_ = []
    for signs in itertools.product((-1.0, 1.0), repeat=g):
        w = np.array(signs)
        stats_.append((w * s_tilde).sum() / np.sqrt(c * ((w * s_tilde) ** 2).sum()))
    stats_ = np.abs(np.array(stats_))
    return t_obs, float(np.mean(stats_ >= abs(t_obs) - 1e-12))


def _logit_data(seed=1, g=4, n_per=60, effect=0.4):
    rng = np.random.default_rng(seed)
    n = g * n_per
    cl = np.repeat(np.arange(g), n_per)
    d = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(size=n) + 0.3 * cl
    y = (rng.random(n) < expit(-0.3 + effect * d + 0.5 * x + 0.4 * rng.normal(size=g)[cl])).astype(float)
    return y, np.column_stack([d, x]), cl


@pytest.mark.parametrize("null", [0.0, 0.7])
def test_logit_g4_matches_brute_force(null):
    y, x, cl = _logit_data()
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl, null=null, conf_int=False)
    # independent restricted fit: statsmodels logit without d, offset null * d
    xr = sm.add_constant(x[:, 1])
    sm_fit = sm.Logit(y, xr, offset=null * x[:, 0]).fit(disp=0, tol=1e-12)
    b = np.array([sm_fit.params[0], null, sm_fit.params[1]])  # order: Intercept, d, x
    X = np.column_stack([np.ones(len(y)), x])
    p = expit(X @ b)
    scores = pd.DataFrame(X * (y - p)[:, None]).groupby(cl).sum().to_numpy()
    hess = -(X * (p * (1 - p))[:, None]).T @ X
    j = 1
    others = [0, 2]
    s_tilde = scores[:, j] - scores[:, others] @ np.linalg.solve(hess[np.ix_(others, others)], hess[others, j])
    t_obs, p_brute = _brute_p(s_tilde)
    assert res.restricted_params.to_numpy() == pytest.approx(b, abs=1e-7)
    assert res.statistic == pytest.approx(t_obs, rel=1e-7)
    assert res.pvalue == p_brute
    assert res.enumerated and res.n_draws == 8 and res.n_clusters == 4


def _brute_group_ll(beta, x, y):
    """log P(pattern | k) by enumerating every k-subset of the group's rows."""
    eta = x @ beta
    k = int(y.sum())
    denom = [np.exp(eta[list(s)].sum()) for s in itertools.combinations(range(len(y)), k)]
    return eta[y == 1].sum() - np.log(np.sum(denom))


def test_clogit_g4_matches_brute_force():
    rng = np.random.default_rng(5)
    n_groups, t = 24, 4
    grp = np.repeat(np.arange(n_groups), t)
    cl = grp % 4
    x = np.column_stack([(rng.random(n_groups * t) < 0.5).astype(float), rng.normal(size=n_groups * t)])
    a = rng.normal(size=n_groups)[grp]
    y = (rng.random(n_groups * t) < expit(a + 0.5 * x[:, 0] - 0.4 * x[:, 1])).astype(float)
    fit = ConditionalLogit(y, x, grp, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl, null=0.2, conf_int=False)

    keep = [g for g in range(n_groups) if 0 < y[grp == g].sum() < t]
    total = lambda b: sum(_brute_group_ll(b, x[grp == g], y[grp == g]) for g in keep)  # noqa: E731
    opt = optimize.minimize(lambda v: -total(np.array([0.2, v[0]])), x0=[0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-14})
    b = np.array([0.2, opt.x[0]])
    h = 1e-5

    def grad(fun, b):
        return np.array([(fun(b + h * e) - fun(b - h * e)) / (2 * h) for e in np.eye(2)])

    group_scores = np.array([grad(lambda v, g=g: _brute_group_ll(v, x[grp == g], y[grp == g]), b) for g in keep])
    scores = pd.DataFrame(group_scores).groupby(np.array([cl[grp == g][0] for g in keep])).sum().to_numpy()
    hess = np.array([(grad(total, b + 1e-4 * e) - grad(total, b - 1e-4 * e)) / 2e-4 for e in np.eye(2)])
    s_tilde = scores[:, 0] - scores[:, 1] * hess[1, 0] / hess[1, 1]
    t_obs, p_brute = _brute_p(s_tilde)
    assert res.restricted_params.to_numpy() == pytest.approx(b, abs=1e-5)
    assert res.statistic == pytest.approx(t_obs, rel=1e-4)
    assert res.pvalue == p_brute


def test_efficient_score_is_orthogonal_to_nuisance():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6, 3))
    a = rng.normal(size=(3, 3))
    h = -(a @ a.T + 3 * np.eye(3))
    out = efficient_scores(s, h, 1)
    # equals the j-th row of (-H)^-1 applied to the scores, rescaled by 1 / [(-H)^-1]_jj
    inv = np.linalg.inv(-h)
    assert out == pytest.approx((s @ inv[:, 1]) / inv[1, 1], rel=1e-10)


def test_enumerated_weights_and_webb():
    w, full = wild_weights(5)
    assert full and w.shape == (16, 5) and (w[:, 0] == 1).all()
    assert len({tuple(r) for r in w}) == 16
    w2, full2 = wild_weights(20, n_boot=500, seed=3)
    assert not full2 and w2.shape == (500, 20) and set(np.unique(w2)) == {-1.0, 1.0}
    webb, _ = wild_weights(6, "webb", n_boot=20000, seed=1)
    assert set(np.round(np.unique(webb) ** 2, 12)) == {0.5, 1.0, 1.5}
    assert webb.mean() == pytest.approx(0, abs=0.02) and (webb ** 2).mean() == pytest.approx(1, abs=0.02)
    again, _ = wild_weights(6, "webb", n_boot=20000, seed=1)
    assert np.array_equal(webb, again)
    with pytest.raises(ValueError, match="weights='mammen'"):
        wild_weights(6, "mammen")
    with pytest.raises(ValueError, match="at least 2 clusters"):
        wild_weights(1)


def test_halved_enumeration_equals_full():
    s = np.array([0.3, -1.2, 0.8, 2.0, -0.1])
    w, _ = wild_weights(5)
    t_obs, draws = score_statistics(s, w)
    assert np.mean(np.abs(draws) >= abs(t_obs) - 1e-12) == _brute_p(s)[1]


def test_conf_int_inverts_the_test():
    y, x, cl = _logit_data(seed=7, g=8, n_per=80)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl)
    lo, hi = res.conf_int
    assert lo < fit.params["d"] < hi
    eps = 1e-3 * fit.bse["d"]
    for end, sign in ((lo, -1), (hi, 1)):
        outside = score_bootstrap(fit, "d", cl, null=end + sign * eps, conf_int=False).pvalue
        inside = score_bootstrap(fit, "d", cl, null=end - sign * eps, conf_int=False).pvalue
        assert outside <= 0.05 < inside
    assert res.odds_ratio_conf_int() == pytest.approx(np.exp([lo, hi]))
    assert "test inversion" in res.summary()


def test_t_reference_and_errors():
    y, x, cl = _logit_data()
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    from scipy import stats
    assert wald_t_pvalue(fit, "d") == pytest.approx(2 * stats.t(3).sf(abs(fit.tvalues["d"])))
    with pytest.raises(ValueError, match="term 'z' is not a coefficient"):
        score_bootstrap(fit, "z", cl)
    with pytest.raises(ValueError, match="not cluster-robust"):
        wald_t_pvalue(Logit(y, x).fit(), "x1")


def test_webb_draws_seeded():
    y, x, cl = _logit_data(seed=2, g=6)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    a = score_bootstrap(fit, "d", cl, weights="webb", n_boot=999, seed=3, conf_int=False)
    b = score_bootstrap(fit, "d", cl, weights="webb", n_boot=999, seed=3, conf_int=False)
    rad = score_bootstrap(fit, "d", cl, conf_int=False)
    assert a.pvalue == b.pvalue and a.n_draws == 999 and not a.enumerated
    assert a.statistic == pytest.approx(rad.statistic) and 0 < a.pvalue <= 1
