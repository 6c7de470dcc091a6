"""Wild cluster score bootstrap: boottest's statistic, checked against sources independent of famtrial.

1. boottest's own published unit-test log (droodman/boottest, ``unit tests.log``): after
   ``probit c_city tenure wage ttl_exp collgrad, cluster(industry)`` on Stata's nlsw88 data,
   ``boottest tenure`` prints the restricted estimates, z = 0.2980 and four 999-draw p-values
   (``tests/reference/boottest/boottest_log_values.csv``); after ``regress hasinsurance
   selfemployed post post_self, cluster(year)`` on its ``collapsed.dta``, ``boottest post_self=.04,
   weight(mammen) reps(9999) boottype(score)`` prints t(7) = 1.8479 and two 9,999-draw Mammen
   p-values (Mata 0.0926, Julia 0.0903). The probit likelihood is written here,
   independently of famtrial's models; the data are third-party and not committed (the test looks
   for ``nlsw88.dta`` and ``collapsed.dta`` in ``tests/reference/boottest/`` or ``../shared/boottest/``).
2. An independent R re-implementation of boottest's formula
   (``tests/reference/boottest/score_bootstrap_reference.R``: restricted fits by ``glm`` and
   ``survival::clogit`` with an offset, conditional-logit scores by its own dynamic programme, all
   2^G sign vectors), stored in ``r_reference.csv``: famtrial's Logit (G = 15) and
   ConditionalLogit (G = 12) against it, and the same script's probit against boottest's log.
3. Hand-written direct computations of boottest's formula (restricted fit from statsmodels with an
   offset, or a conditional likelihood by enumerating outcome patterns; all 2^G sign vectors by
   hand; strict ``>`` count) for famtrial's Logit and ConditionalLogit.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.special import expit

from famtrial.errors import FamtrialWarning
from famtrial.inference.score_bootstrap import (
    efficient_scores,
    score_bootstrap,
    score_statistics,
    wald_t_pvalue,
    wild_weights,
)
from famtrial.models.clogit import ConditionalLogit
from famtrial.models.logit import Logit

# the score bootstrap is the few-cluster remedy: its designs have 5-12 clusters on purpose
# (tests/models/test_model_errors.py asserts the warning itself)
pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")

REF = Path(__file__).parents[1] / "reference" / "boottest"


def _brute_boottest(s: np.ndarray, n_g: np.ndarray) -> tuple[float, float]:
    """boottest's t and p over all 2^G sign vectors (not halved), by hand, from cluster sums and sizes."""
    pi = n_g / n_g.sum()

    def t(v):
        num = sum(vg * sg for vg, sg in zip(v, s))
        return num / np.sqrt(sum((vg * sg - pg * num) ** 2 for vg, sg, pg in zip(v, s, pi)))

    t_obs = t(np.ones(len(s)))
    draws = np.array([t(np.array(v)) for v in itertools.product((-1.0, 1.0), repeat=len(s))])
    return t_obs, float(np.mean(np.abs(draws) > abs(t_obs) * (1 + 1e-9)))


_PHI = (1 + np.sqrt(5)) / 2  # Mammen (1993) as boottest's manual: 1 - phi w.p. phi / sqrt(5), else phi


def _brute_boottest_mammen(s: np.ndarray, n_g: np.ndarray) -> tuple[float, float]:
    """boottest's t and the exact Mammen p-value: every one of the 2^G two-point vectors, weighted by
    its probability (the value B Mammen draws estimate), by hand from cluster sums and sizes."""
    pi = n_g / n_g.sum()
    points = {1 - _PHI: _PHI / np.sqrt(5), _PHI: 1 - _PHI / np.sqrt(5)}

    def t(v):
        num = sum(vg * sg for vg, sg in zip(v, s))
        return num / np.sqrt(sum((vg * sg - pg * num) ** 2 for vg, sg, pg in zip(v, s, pi)))

    t_obs = t(np.ones(len(s)))
    p = sum(
        np.prod([points[vg] for vg in v]) * (abs(t(v)) > abs(t_obs) * (1 + 1e-9))
        for v in itertools.product(points, repeat=len(s))
    )
    return t_obs, float(p)


# -- 1. boottest's published log ------------------------------------------------------------------


class _Probit:
    """Probit written from its textbook formulas, with the interface score_bootstrap uses."""

    def __init__(self, y, x, names):
        self.y, self.x, self.exog_names = np.asarray(y, float), np.asarray(x, float), list(names)
        self.used_rows = np.arange(len(self.y))

    def _parts(self, b):
        q = 2 * self.y - 1
        eta = self.x @ b
        lam = q * np.exp(stats.norm.logpdf(q * eta) - stats.norm.logcdf(q * eta))
        return q, eta, lam

    def derivatives(self, b):
        q, eta, lam = self._parts(b)
        hess = -(self.x * (lam * (lam + eta))[:, None]).T @ self.x
        return float(stats.norm.logcdf(q * eta).sum()), self.x.T @ lam, hess

    def score_obs(self, b):
        return self.x * self._parts(b)[2][:, None]

    def clusters_of_rows(self, clusters):
        return np.asarray(clusters)


def _boottest_data(name: str) -> pd.DataFrame:
    for path in (REF / name, Path(__file__).parents[3] / "shared" / "boottest" / name):
        if path.exists():
            return pd.read_stata(path, convert_categoricals=False)
    pytest.skip(
        f"boottest's {name} is not here: copy droodman/boottest test/{name} to "
        "tests/reference/boottest/ (or ../shared/boottest/) to check against boottest's log"
    )


def _nlsw88() -> pd.DataFrame:
    return _boottest_data("nlsw88.dta")


def _printed() -> dict[str, tuple[float, int]]:
    log = pd.read_csv(REF / "boottest_log_values.csv")
    log = log[log["case"] == "probit_nlsw88"]
    return {q: (float(v), int(d)) for q, v, d in zip(log["quantity"], log["value"], log["decimals"])}


@pytest.fixture(scope="module")
def probit_nlsw88():
    data = _nlsw88().dropna(subset=["c_city", "tenure", "wage", "ttl_exp", "collgrad", "industry"])
    names = ["tenure", "wage", "ttl_exp", "collgrad", "_cons"]
    x = np.column_stack([data[c].to_numpy(float) for c in names[:-1]] + [np.ones(len(data))])
    model = _Probit(data["c_city"], x, names)
    b = np.zeros(len(names))
    for _ in range(30):
        _, g, h = model.derivatives(b)
        b = b - np.linalg.solve(h, g)
    fit = SimpleNamespace(
        model=model, params=pd.Series(b, index=names), bse=pd.Series(np.sqrt(np.diag(np.linalg.inv(-h))), index=names)
    )
    return fit, data["industry"].to_numpy()


def test_boottest_log_probit_restricted_fit_and_statistic(probit_nlsw88):
    fit, industry = probit_nlsw88
    printed = _printed()
    res = score_bootstrap(fit, "tenure", industry, conf_int=False)
    assert len(industry) == printed["nobs"][0] and res.n_clusters == printed["n_clusters"][0]
    for name in ("wage", "ttl_exp", "collgrad", "_cons"):
        value, decimals = printed[f"restricted.{name}"]
        assert abs(res.restricted_params[name] - value) <= 0.5 * 10.0**-decimals
    value, decimals = printed["restricted.llf"]
    assert abs(fit.model.derivatives(res.restricted_params.to_numpy())[0] - value) <= 0.5 * 10.0**-decimals
    value, decimals = printed["z"]
    assert round(res.statistic, decimals) == value  # 0.2980; the former uncentred G/(G-1) statistic gave 0.3030


def test_boottest_log_probit_pvalue(probit_nlsw88):
    """boottest drew 999 Rademacher vectors (Stata's and Julia's RNGs); famtrial enumerates all 4,096."""
    fit, industry = probit_nlsw88
    printed = _printed()
    res = score_bootstrap(fit, "tenure", industry, conf_int=False)
    assert res.enumerated and res.n_draws == 2**12
    drawn = score_bootstrap(fit, "tenure", industry, n_boot=999, enumerate_max=11, seed=1, conf_int=False)
    assert not drawn.enumerated and drawn.n_draws == 999 and drawn.statistic == res.statistic
    for key in ("p_mata", "p_gsem_mata", "p_julia", "p_gsem_julia"):
        p = printed[key][0]
        mc_se = np.sqrt(p * (1 - p) / 999)
        assert abs(res.pvalue - p) < 3 * mc_se
        assert abs(drawn.pvalue - p) < 3 * np.sqrt(2) * mc_se


# -- 1b. boottest's published log: the score bootstrap with Mammen weights ------------------------


class _OLS:
    """Least squares as Gaussian ML with unit scale (boottest's score bootstrap after ``regress``:
    scores ``x_i u_i``, ``A = (X'X)^-1``), with the interface score_bootstrap uses."""

    def __init__(self, y, x, names):
        self.y, self.x, self.exog_names = np.asarray(y, float), np.asarray(x, float), list(names)
        self.used_rows = np.arange(len(self.y))

    def derivatives(self, b):
        u = self.y - self.x @ b
        return -0.5 * float(u @ u), self.x.T @ u, -self.x.T @ self.x

    def score_obs(self, b):
        return self.x * (self.y - self.x @ b)[:, None]

    def clusters_of_rows(self, clusters):
        return np.asarray(clusters)


@pytest.fixture(scope="module")
def ols_collapsed():
    data = _boottest_data("collapsed.dta")
    names = ["selfemployed", "post", "post_self", "_cons"]
    data = data.dropna(subset=["hasinsurance", *names[:-1], "year"])
    x = np.column_stack([data[c].to_numpy(float) for c in names[:-1]] + [np.ones(len(data))])
    b = np.linalg.lstsq(x, data["hasinsurance"].to_numpy(float), rcond=None)[0]
    fit = SimpleNamespace(
        model=_OLS(data["hasinsurance"], x, names),
        params=pd.Series(b, index=names),
        bse=pd.Series(np.ones(len(names)), index=names),
    )
    return fit, data["year"].to_numpy()


def _printed_mammen() -> dict[str, tuple[float, int]]:
    log = pd.read_csv(REF / "boottest_log_values.csv")
    log = log[log["case"] == "ols_collapsed_mammen"]
    return {q: (float(v), int(d)) for q, v, d in zip(log["quantity"], log["value"], log["decimals"])}


def test_boottest_log_mammen_statistic_and_exact_pvalue(ols_collapsed):
    """boottest's t(7) = 1.8479 (regress's small-sample factor sqrt((G-1)/G (N-k)/(N-1)), k = 4), and
    the exact Mammen p-value (all 2^8 vectors weighted by their probabilities) within simulation error
    of both printed 9,999-draw p-values; the enumerated Rademacher p-value is not."""
    fit, year = ols_collapsed
    printed = _printed_mammen()
    res = score_bootstrap(fit, "post_self", year, null=0.04, conf_int=False)
    g, n = res.n_clusters, len(year)
    assert g == printed["n_clusters"][0]
    value, decimals = printed["t_small"]
    assert round(res.statistic * np.sqrt((g - 1) / g * (n - 4) / (n - 1)), decimals) == value
    b = res.restricted_params.to_numpy()
    u = efficient_scores(fit.model.score_obs(b), fit.model.derivatives(b)[2], 2)
    codes, _ = pd.factorize(year)
    t_obs, p_exact = _brute_boottest_mammen(np.bincount(codes, weights=u), np.bincount(codes).astype(float))
    assert res.statistic == pytest.approx(t_obs, rel=1e-10)
    for key in ("p_mata", "p_julia"):
        p = printed[key][0]
        mc_se = np.sqrt(p * (1 - p) / 9999)
        assert abs(p_exact - p) < 3 * mc_se
        assert abs(res.pvalue - p) > 6 * mc_se  # Rademacher's p (all 256 sign vectors) differs clearly


def test_boottest_log_mammen_drawn_pvalue(ols_collapsed):
    """famtrial's 9,999 Mammen draws (numpy's generator, not Stata's) against boottest's printed p-values."""
    fit, year = ols_collapsed
    printed = _printed_mammen()
    with pytest.warns(FamtrialWarning, match="9,999 Mammen draws exceed the 2\\^8 = 256"):
        res = score_bootstrap(fit, "post_self", year, null=0.04, weights="mammen", n_boot=9999, seed=1, conf_int=False)
    assert res.weights == "mammen" and not res.enumerated and res.n_draws == 9999
    for key in ("p_mata", "p_julia"):
        p = printed[key][0]
        assert abs(res.pvalue - p) < 3 * np.sqrt(2) * np.sqrt(p * (1 - p) / 9999)


# -- 2. the independent R re-implementation -------------------------------------------------------


def _r_reference(case: str) -> pd.DataFrame:
    ref = pd.read_csv(REF / "r_reference.csv")
    return ref[ref["case"] == case]


def test_r_reference_reproduces_boottest_log():
    """The R script's probit (run where nlsw88.dta was present) prints what boottest printed."""
    r = _r_reference("probit_nlsw88").set_index("quantity")["value"]
    for quantity, (value, decimals) in _printed().items():
        if quantity.startswith("restricted.") or quantity == "nobs":
            assert abs(r[quantity] - value) <= 0.5 * 10.0**-decimals
    assert round(r["statistic"], 4) == _printed()["z"][0]


def _compare_with_r(fit, term, clusters, case):
    ref = _r_reference(case)
    for null, block in ref.groupby("null"):
        r = block.set_index("quantity")["value"]
        res = score_bootstrap(fit, term, clusters, null=null, conf_int=False)
        for name in fit.params.index:
            assert res.restricted_params[name] == pytest.approx(r[f"restricted.{name}"], abs=1e-7)
        assert res.statistic == pytest.approx(r["statistic"], rel=1e-6)
        assert res.pvalue == r["pvalue"]  # k / 2^G: no tolerance
        assert res.enumerated and res.n_draws == r["n_draws"]


def test_logit_matches_r_reference():
    d = pd.read_csv(Path(__file__).parents[1] / "reference" / "logit" / "data.csv")
    fit = Logit.from_frame(d, "y", ["arm", "rwc", "base_y", "age"]).fit("cluster", d["cl"])
    _compare_with_r(fit, "arm", d["cl"], "logit")


def test_clogit_matches_r_reference():
    d = pd.read_csv(Path(__file__).parents[1] / "reference" / "clogit" / "panel_data.csv")
    fit = ConditionalLogit.from_frame(d, "y", ["x1", "x2", "x3"], "g").fit("cluster", d["cl"])
    _compare_with_r(fit, "x1", d["cl"], "clogit")


@pytest.mark.needs_r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_r_reference_script_reproduces_stored_values(tmp_path):
    """Re-run the committed R script (without the third-party data) and compare with the stored CSV."""
    repo = Path(__file__).parents[2]
    work = tmp_path / "repo"
    for sub in ("boottest", "logit", "clogit"):
        (work / "tests" / "reference" / sub).mkdir(parents=True)
    shutil.copy(REF / "score_bootstrap_reference.R", work / "tests" / "reference" / "boottest")
    shutil.copy(repo / "tests" / "reference" / "logit" / "data.csv", work / "tests" / "reference" / "logit")
    shutil.copy(repo / "tests" / "reference" / "clogit" / "panel_data.csv", work / "tests" / "reference" / "clogit")
    if subprocess.run(["Rscript", "-e", "library(survival)"], capture_output=True).returncode != 0:
        pytest.skip("R package survival is not installed")
    subprocess.run(
        ["Rscript", "tests/reference/boottest/score_bootstrap_reference.R"], cwd=work, check=True, capture_output=True
    )
    new = pd.read_csv(work / "tests" / "reference" / "boottest" / "r_reference.csv").drop(columns="software")
    old = pd.read_csv(REF / "r_reference.csv").drop(columns="software")
    old = old[old["case"] != "probit_nlsw88"].reset_index(drop=True)
    pd.testing.assert_frame_equal(new, old, rtol=1e-9, atol=1e-12)


# -- 3. direct computations for famtrial's own models --------------------------------------------


def _logit_data(seed=1, g=4, n_per=60, effect=0.4, unequal=False):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(n_per // 2, 2 * n_per, size=g) if unequal else np.full(g, n_per)
    cl = np.repeat(np.arange(g), sizes)
    n = len(cl)
    d = (rng.random(n) < 0.5).astype(float)
    x = rng.normal(size=n) + 0.3 * cl
    y = (rng.random(n) < expit(-0.3 + effect * d + 0.5 * x + 0.4 * rng.normal(size=g)[cl])).astype(float)
    return y, np.column_stack([d, x]), cl


@pytest.mark.parametrize("null", [0.0, 0.7])
def test_logit_matches_brute_force(null):
    y, x, cl = _logit_data(g=6, unequal=True)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl, null=null, conf_int=False)
    # independent restricted fit: statsmodels logit without d, offset null * d
    sm_fit = sm.Logit(y, sm.add_constant(x[:, 1]), offset=null * x[:, 0]).fit(disp=0, tol=1e-12)
    b = np.array([sm_fit.params[0], null, sm_fit.params[1]])  # order: Intercept, d, x
    X = np.column_stack([np.ones(len(y)), x])
    p = expit(X @ b)
    hess = -(X * (p * (1 - p))[:, None]).T @ X
    u = (X * (y - p)[:, None]) @ np.linalg.inv(-hess)[:, 1]  # boottest's u = Sc A R'
    s = pd.Series(u).groupby(cl).sum().to_numpy()
    t_obs, p_brute = _brute_boottest(s, np.bincount(cl).astype(float))
    assert res.restricted_params.to_numpy() == pytest.approx(b, abs=1e-7)
    assert res.statistic == pytest.approx(t_obs, rel=1e-7)
    assert res.pvalue == p_brute
    assert res.enumerated and res.n_draws == 2**6 and res.n_clusters == 6


def _brute_group_ll(beta, x, y):
    """log P(pattern | k) by enumerating every k-subset of the group's rows."""
    eta = x @ beta
    k = int(y.sum())
    denom = [np.exp(eta[list(s)].sum()) for s in itertools.combinations(range(len(y)), k)]
    return eta[y == 1].sum() - np.log(np.sum(denom))


def test_clogit_matches_brute_force():
    """Cluster shares count the rows of informative groups only (Stata's clogit e(sample))."""
    rng = np.random.default_rng(5)
    n_groups = 30
    sizes = rng.integers(2, 6, size=n_groups)
    grp = np.repeat(np.arange(n_groups), sizes)
    cl = np.repeat(rng.integers(0, 5, size=n_groups), sizes)
    n = len(grp)
    x = np.column_stack([(rng.random(n) < 0.5).astype(float), rng.normal(size=n)])
    a = rng.normal(size=n_groups)[grp]
    y = (rng.random(n) < expit(a + 0.5 * x[:, 0] - 0.4 * x[:, 1])).astype(float)
    fit = ConditionalLogit(y, x, grp, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl, null=0.2, conf_int=False)

    keep = [g for g in range(n_groups) if 0 < y[grp == g].sum() < (grp == g).sum()]
    assert len(keep) < n_groups  # some groups are uninformative and must not count in the shares
    total = lambda b: sum(_brute_group_ll(b, x[grp == g], y[grp == g]) for g in keep)  # noqa: E731
    opt = optimize.minimize(
        lambda v: -total(np.array([0.2, v[0]])),
        x0=[0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14},
    )
    b = np.array([0.2, opt.x[0]])
    h = 1e-5

    def grad(fun, b):
        return np.array([(fun(b + h * e) - fun(b - h * e)) / (2 * h) for e in np.eye(2)])

    group_scores = np.array([grad(lambda v, g=g: _brute_group_ll(v, x[grp == g], y[grp == g]), b) for g in keep])
    hess = np.array([(grad(total, b + 1e-4 * e) - grad(total, b - 1e-4 * e)) / 2e-4 for e in np.eye(2)])
    u = group_scores @ np.linalg.inv(-hess)[:, 0]
    group_cl = np.array([cl[grp == g][0] for g in keep])
    s = pd.Series(u).groupby(group_cl).sum()
    n_g = pd.Series([(grp == g).sum() for g in keep]).groupby(group_cl).sum().reindex(s.index)
    t_obs, p_brute = _brute_boottest(s.to_numpy(), n_g.to_numpy(dtype=float))
    assert res.restricted_params.to_numpy() == pytest.approx(b, abs=1e-5)
    assert res.statistic == pytest.approx(t_obs, rel=1e-4)
    assert res.pvalue == p_brute


def test_statistic_is_recentred_without_small_sample_factor():
    s = np.array([0.3, -1.2, 0.8, 2.0, -0.1])
    pi = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    t, draws = score_statistics(s, np.array([[1, -1, 1, 1, -1.0]]), pi)
    assert t == pytest.approx(s.sum() / np.sqrt(((s - pi * s.sum()) ** 2).sum()), rel=1e-14)
    v = np.array([1, -1, 1, 1, -1.0])
    assert draws[0] == pytest.approx((v @ s) / np.sqrt(((v * s - pi * (v @ s)) ** 2).sum()), rel=1e-14)
    with pytest.raises(ValueError, match="shares must be positive and sum to 1"):
        score_statistics(s, np.ones((1, 5)), np.full(5, 0.3))
    with pytest.raises(ValueError, match="one of each per cluster"):
        score_statistics(s, np.ones((1, 5)), np.full(4, 0.25))


def test_ties_do_not_count():
    """The sign vectors +-1 reproduce |t| exactly and are not counted: with G = 3, p = k / 8 (k <= 6)."""
    s = np.array([1.0, 2.0, 4.0])
    pi = np.full(3, 1 / 3)
    w, full = wild_weights(3)
    t, draws = score_statistics(s, w, pi)
    assert full and w.shape == (8, 3)
    assert np.sum(np.isclose(np.abs(draws), abs(t), rtol=1e-12)) == 2
    assert np.mean(np.abs(draws) > abs(t) * (1 + 1e-9)) == _brute_boottest(s, np.ones(3))[1]


def test_enumerated_weights_and_webb():
    w, full = wild_weights(5)
    assert full and w.shape == (32, 5) and len({tuple(r) for r in w}) == 32
    w2, full2 = wild_weights(20, n_boot=500, seed=3)
    assert not full2 and w2.shape == (500, 20) and set(np.unique(w2)) == {-1.0, 1.0}
    w3, full3 = wild_weights(10, n_boot=999, enumerate_max=8)  # boottest: 2^10 = 1024 > 999 draws
    assert not full3 and w3.shape == (999, 10)
    w4, full4 = wild_weights(10, n_boot=1024, enumerate_max=8)  # 2^G <= reps: boottest enumerates
    assert full4 and w4.shape == (1024, 10)
    webb, _ = wild_weights(6, "webb", n_boot=20000, seed=1)
    assert set(np.round(np.unique(webb) ** 2, 12)) == {0.5, 1.0, 1.5}
    assert webb.mean() == pytest.approx(0, abs=0.02) and (webb**2).mean() == pytest.approx(1, abs=0.02)
    again, _ = wild_weights(6, "webb", n_boot=20000, seed=1)
    assert np.array_equal(webb, again)
    with pytest.raises(ValueError, match="weights='normal' is not one of 'rademacher', 'webb', 'mammen'"):
        wild_weights(6, "normal")
    with pytest.raises(ValueError, match="at least 2 clusters"):
        wild_weights(1)
    with pytest.raises(ValueError, match="n_boot=0 must be a positive integer"):
        wild_weights(30, n_boot=0)


@pytest.mark.filterwarnings("ignore:.*Mammen draws exceed:famtrial.errors.FamtrialWarning")  # few clusters on purpose
def test_mammen_weights_are_boottests_two_points():
    """Mammen's distribution (boottest's manual: 1 - phi with probability phi / sqrt(5), phi otherwise):
    mean 0, variance 1, third moment 1; drawn, never enumerated, seeded; a warning when the draws
    exceed the 2^G distinct vectors (boottest's)."""
    points, probs = np.array([1 - _PHI, _PHI]), np.array([_PHI / np.sqrt(5), 1 - _PHI / np.sqrt(5)])
    assert probs @ points == pytest.approx(0, abs=1e-15)
    assert probs @ points**2 == pytest.approx(1, rel=1e-14) and probs @ points**3 == pytest.approx(1, rel=1e-14)
    assert probs[0] == pytest.approx(0.5 + np.sqrt(0.05), rel=1e-15)  # boottest's rdiscrete probability
    w, full = wild_weights(12, "mammen", n_boot=50000, seed=4)
    assert not full and w.shape == (50000, 12)
    assert np.allclose(np.unique(w), points, rtol=0, atol=1e-15)
    share = np.mean(w == w.min())
    assert abs(share - probs[0]) < 4 * np.sqrt(probs[0] * (1 - probs[0]) / w.size)
    for power, moment in ((1, 0.0), (2, 1.0), (3, 1.0)):
        sd = np.sqrt(probs @ points ** (2 * power) - moment**2)
        assert abs((w**power).mean() - moment) < 4 * sd / np.sqrt(w.size)
    again, _ = wild_weights(12, "mammen", n_boot=50000, seed=4)
    assert np.array_equal(w, again)
    with pytest.warns(FamtrialWarning, match="draws repeat"):
        small, full_small = wild_weights(5, "mammen", n_boot=999, seed=1, enumerate_max=16)
    assert not full_small and small.shape == (999, 5)  # boottest enumerates Rademacher weights only


@pytest.mark.filterwarnings("ignore:.*Mammen draws exceed:famtrial.errors.FamtrialWarning")  # few clusters on purpose
def test_mammen_statistic_invariances_and_exact_distribution():
    """The observed statistic does not depend on the weights; t* is unchanged by the weights' scale
    (boottest draws Mammen weights divided by sqrt(5)) and flips sign with it; drawn Mammen p-values
    agree with the exact Mammen p-value (all 2^G vectors weighted, by hand) within simulation error."""
    y, x, cl = _logit_data(seed=4, g=7, unequal=True)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    rad = score_bootstrap(fit, "d", cl, conf_int=False)
    mam = score_bootstrap(fit, "d", cl, weights="mammen", n_boot=20000, seed=2, conf_int=False)
    assert mam.statistic == rad.statistic and mam.weights == "mammen" and "20,000 mammen draws" in mam.summary()
    rng = np.random.default_rng(0)
    s, shares = rng.normal(size=7), rng.dirichlet(np.ones(7))
    w, _ = wild_weights(7, "mammen", n_boot=300, seed=5)
    _, draws = score_statistics(s, w, shares)
    _, scaled = score_statistics(s, w / np.sqrt(5), shares)
    _, flipped = score_statistics(s, -w, shares)
    np.testing.assert_allclose(scaled, draws, rtol=1e-12)
    np.testing.assert_allclose(flipped, -draws, rtol=1e-12)
    b = mam.restricted_params.to_numpy()
    u = efficient_scores(fit.model.score_obs(b), fit.model.derivatives(b)[2], fit.model.exog_names.index("d"))
    t_obs, p_exact = _brute_boottest_mammen(np.bincount(cl, weights=u), np.bincount(cl).astype(float))
    assert mam.statistic == pytest.approx(t_obs, rel=1e-10)
    assert abs(mam.pvalue - p_exact) < 4 * np.sqrt(p_exact * (1 - p_exact) / 20000)


def test_efficient_score_is_orthogonal_to_nuisance():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(6, 3))
    a = rng.normal(size=(3, 3))
    h = -(a @ a.T + 3 * np.eye(3))
    out = efficient_scores(s, h, 1)
    # equals boottest's u = S A R' (A = (-H)^-1, R = e_j), divided by A_jj
    inv = np.linalg.inv(-h)
    assert out == pytest.approx((s @ inv[:, 1]) / inv[1, 1], rel=1e-10)


def test_small_scales_the_statistic_only():
    y, x, cl = _logit_data(seed=3, g=7, unequal=True)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    plain = score_bootstrap(fit, "d", cl, conf_int=False)
    small = score_bootstrap(fit, "d", cl, conf_int=False, small=True)
    n, g = len(y), 7
    assert small.statistic == pytest.approx(plain.statistic * np.sqrt((g - 1) / g * n / (n - 1)), rel=1e-12)
    assert small.pvalue == plain.pvalue and small.small and "small-sample" in small.summary()
    with pytest.raises(TypeError, match="small='yes'"):
        score_bootstrap(fit, "d", cl, small="yes")


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


def _reference_p(y, x, cl, null, weights):
    """p(c) written from the formula: statsmodels' restricted fit (offset c * d), boottest's u, t*, strict >."""
    sm_fit = sm.Logit(y, sm.add_constant(x[:, 1]), offset=null * x[:, 0]).fit(disp=0, tol=1e-12)
    b = np.array([sm_fit.params[0], null, sm_fit.params[1]])
    X = np.column_stack([np.ones(len(y)), x])
    p = expit(X @ b)
    hess = -(X * (p * (1 - p))[:, None]).T @ X
    s = np.bincount(cl, weights=(X * (y - p)[:, None]) @ np.linalg.inv(-hess)[:, 1])
    pi = np.bincount(cl) / len(cl)

    def t(v):
        num = v @ s
        return num / np.sqrt((((v * s) - num[:, None] * pi) ** 2).sum(axis=1))

    obs = t(np.ones((1, len(s))))[0]
    return np.mean(np.abs(t(weights)) > abs(obs) * (1 + 1e-10))


@pytest.mark.parametrize("kind", ["rademacher", "webb"])
def test_conf_int_ends_match_an_independent_inversion(kind):
    """Issue 30b: the interval's ends (Brent's method on a continuous crossing function) lie within the
    stated search tolerance 1e-4 * se of the jumps of p(c) located independently (statsmodels' restricted
    fits, the statistic from its formula, bisection of the step function to 1e-8 * se)."""
    y, x, cl = _logit_data(seed=11, g=9, n_per=70, unequal=True)
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    res = score_bootstrap(fit, "d", cl, weights=kind, n_boot=999, seed=5, enumerate_max=9)
    w, _ = wild_weights(9, kind, n_boot=999, seed=5, enumerate_max=9)
    b_hat = fit.params.to_numpy()
    se = max(float(np.sqrt(np.linalg.inv(-fit.model.derivatives(b_hat)[2])[1, 1])), float(fit.bse["d"]))
    for end, sign in zip(res.conf_int, (-1, 1), strict=True):
        inside, outside = fit.params["d"], fit.params["d"] + sign * 8 * se
        assert _reference_p(y, x, cl, outside, w) <= 0.05
        while abs(outside - inside) > 1e-8 * se:
            mid = (inside + outside) / 2
            if _reference_p(y, x, cl, mid, w) > 0.05:
                inside = mid
            else:
                outside = mid
        assert abs(end - (inside + outside) / 2) <= 1e-4 * se


def test_t_reference_and_errors():
    y, x, cl = _logit_data()
    fit = Logit(y, x, names=["d", "x"]).fit("cluster", cl)
    assert wald_t_pvalue(fit, "d") == pytest.approx(2 * stats.t(3).sf(abs(fit.tvalues["d"])))
    with pytest.raises(ValueError, match="term 'z' is not a coefficient"):
        score_bootstrap(fit, "z", cl)
    with pytest.raises(ValueError, match="weights='normal'"):
        score_bootstrap(fit, "d", cl, weights="normal")
    with pytest.raises(ValueError, match="alpha=1.5"):
        score_bootstrap(fit, "d", cl, alpha=1.5)
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
