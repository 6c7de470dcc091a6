"""Covariance switching, Wald/t/LR tests, predictions, tidy/glance.

References: car::linearHypothesis with sandwich::vcovCL (tests/reference/ecosystem/wald.csv), R glm +
sandwich (tests/reference/logit/results.csv), statsmodels (LR test, predictions, AIC/BIC), brute-force
enumeration (conditional probabilities)."""

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from famtrial.errors import PostEstimationError
from famtrial.models.clogit import conditional_logit
from famtrial.models.formula import clogit, logit
from famtrial.models.logit import Logit
from famtrial.models.postestimation import conditional_probabilities

FORMULA = "y ~ arm + rwc + base_y + age"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv("tests/reference/logit/data.csv")


@pytest.fixture(scope="module")
def fit(data):
    return logit(FORMULA, data, vcov={"CRV1": "cl"})


@pytest.fixture(scope="module")
def panel():
    return pd.read_csv("tests/reference/clogit/panel_data.csv")


# -- vcov switching ---------------------------------------------------------------------------
def test_vcov_switch_matches_r_and_leaves_the_original(fit):
    ref = pd.read_csv("tests/reference/logit/results.csv").set_index("term")
    iid = fit.vcov("iid")
    np.testing.assert_allclose(iid.bse, ref["se_model"], rtol=1e-7)
    np.testing.assert_allclose(fit.bse, ref["se_hc0"], rtol=1e-7)
    np.testing.assert_allclose(iid.vcov({"CRV1": "cl"}, adjustment="statsmodels").bse, ref["se_hc1"], rtol=1e-7)
    assert fit.cov_type == "cluster" and iid.cov_type == "nonrobust"
    assert iid.params is fit.params and iid.cluster_name is None
    assert dict(iid.info).get("Clusters") is None


@pytest.mark.parametrize("spec, cov_type", [("hetero", "robust"), ("iid", "nonrobust"), ({"CRV1": "cl"}, "cluster")])
def test_vcov_switch_equals_a_fit_with_that_covariance(data, spec, cov_type):
    start = logit(FORMULA, data)
    model = Logit(data["y"], data[["arm", "rwc", "base_y", "age"]])
    direct = model.fit(cov_type, data["cl"] if cov_type == "cluster" else None)
    np.testing.assert_allclose(start.vcov(spec).cov_params(), direct.cov_params(), rtol=1e-12)


def test_vcov_switch_conditional_logit_and_t_reference(panel):
    base = clogit("y ~ x1 + x2 + x3 | g", panel)
    direct = conditional_logit(panel, "y", ["x1", "x2", "x3"], "g", cluster="cl", t_reference=True)
    switched = base.vcov({"CRV1": "cl"}, t_reference=True)
    np.testing.assert_allclose(switched.cov_params(), direct.cov_params(), rtol=1e-12)
    np.testing.assert_allclose(switched.pvalues, direct.pvalues, rtol=1e-12)
    assert switched.covariance.df == direct.n_clusters - 1
    robust = conditional_logit(panel, "y", ["x1", "x2", "x3"], "g", robust=True)
    np.testing.assert_allclose(base.vcov("hetero").cov_params(), robust.cov_params(), rtol=1e-12)


def test_vcov_errors_name_the_option(fit, data):
    with pytest.raises(PostEstimationError, match="'HC2' is not one of"):
        fit.vcov("HC2")
    with pytest.raises(PostEstimationError, match="the dictionary forms are"):
        fit.vcov({"CRV2": "cl"})
    with pytest.raises(PostEstimationError, match="'nope' is not in the data"):
        fit.vcov({"CRV1": "nope"})
    columns = Logit(data["y"], data[["arm"]]).fit()
    with pytest.raises(PostEstimationError, match="do not keep their data"):
        columns.vcov({"CRV1": "cl"})
    assert columns.vcov({"CRV1": data["cl"]}).n_clusters == 15


# -- Wald and t tests ------------------------------------------------------------------------
def test_wald_tests_match_car_linear_hypothesis(fit):
    ref = pd.read_csv("tests/reference/ecosystem/wald.csv")
    for row in ref.itertuples():
        w = fit.wald_test(row.label)
        assert w.distribution == "chi2" and w.df_num == row.df
        assert w.statistic == pytest.approx(row.chisq, rel=1e-7)
        assert w.pvalue == pytest.approx(row.p, rel=1e-6)


def test_wald_forms_agree(fit):
    a = fit.wald_test("arm = rwc").statistic
    assert fit.wald_test("arm - rwc = 0").statistic == pytest.approx(a, rel=1e-12)
    assert fit.wald_test(["2*arm = 2*rwc"]).statistic == pytest.approx(a, rel=1e-12)
    r = np.array([[0.0, 1.0, -1.0, 0.0, 0.0]])
    assert fit.wald_test((r, np.zeros(1))).statistic == pytest.approx(a, rel=1e-12)
    tt = fit.t_test("arm = rwc")
    assert tt["z"].iloc[0] ** 2 == pytest.approx(a, rel=1e-12)
    assert tt["estimate"].iloc[0] == pytest.approx(fit.params["arm"] - fit.params["rwc"], rel=1e-12)
    assert len(fit.wald_test("arm = rwc = base_y").restrictions) == 2


def test_wald_with_t_reference_is_f_on_g_minus_1(data):
    fit = logit(FORMULA, data, vcov={"CRV1": "cl"}, t_reference=True)
    w = fit.wald_test("arm = rwc, age = 0")
    chi2 = logit(FORMULA, data, vcov={"CRV1": "cl"}).wald_test("arm = rwc, age = 0").statistic
    assert (w.distribution, w.df_num, w.df_denom) == ("F", 2, 14)
    assert w.statistic == pytest.approx(chi2 / 2, rel=1e-12)
    one = fit.wald_test("arm = rwc")
    assert one.pvalue == pytest.approx(fit.t_test("arm = rwc")["p"].iloc[0], rel=1e-10)


def test_restriction_errors(fit):
    with pytest.raises(PostEstimationError, match=r"unknown terms \['armm'\]"):
        fit.wald_test("armm = rwc")
    with pytest.raises(PostEstimationError, match="linearly dependent"):
        fit.wald_test("arm = rwc, 2*arm = 2*rwc")
    with pytest.raises(PostEstimationError, match="cannot read"):
        fit.wald_test("arm * rwc = 0")


def test_wald_names_with_brackets(panel):
    p = panel.assign(t=panel.groupby("g").cumcount() % 3)
    fit = clogit("y ~ x1 + C(t) | g", p)
    w = fit.wald_test("C(t)[T.1] = C(t)[T.2]")
    diff = fit.params["C(t)[T.1]"] - fit.params["C(t)[T.2]"]
    v = fit.cov_params()
    var = v.loc["C(t)[T.1]", "C(t)[T.1]"] + v.loc["C(t)[T.2]", "C(t)[T.2]"] - 2 * v.loc["C(t)[T.1]", "C(t)[T.2]"]
    assert w.statistic == pytest.approx(diff**2 / var, rel=1e-10)


# -- LR test ---------------------------------------------------------------------------------
def test_lr_test_matches_statsmodels(data):
    big, small = logit(FORMULA, data), logit("y ~ arm + rwc", data)
    x = sm.add_constant(data[["arm", "rwc", "base_y", "age"]])
    sm_big = sm.Logit(data["y"], x).fit(disp=0)
    sm_small = sm.Logit(data["y"], x[["const", "arm", "rwc"]]).fit(disp=0)
    lr = small.lr_test(big)
    assert lr.statistic == pytest.approx(2 * (sm_big.llf - sm_small.llf), rel=1e-9)
    assert lr.df == 2 and lr.restricted == ("base_y", "age")
    assert lr.pvalue == pytest.approx(stats.chi2.sf(lr.statistic, 2), rel=1e-12)


def test_lr_test_refusals(data, fit):
    small = logit("y ~ arm", data, vcov={"CRV1": "cl"})
    with pytest.raises(PostEstimationError, match="likely invalid"):
        fit.lr_test(small)
    assert fit.lr_test(small, force=True).df == 3
    with pytest.raises(PostEstimationError, match="not nested"):
        logit("y ~ arm + rwc", data).lr_test(logit("y ~ arm + age", data))
    with pytest.raises(PostEstimationError, match="different observations"):
        logit("y ~ arm", data).lr_test(logit(FORMULA, data.iloc[:-5]))


# -- predictions -----------------------------------------------------------------------------
def test_logit_predictions_match_statsmodels(data, fit):
    x = sm.add_constant(data[["arm", "rwc", "base_y", "age"]])
    ref = sm.Logit(data["y"], x).fit(disp=0)
    np.testing.assert_allclose(fit.predict(), ref.predict(x), rtol=1e-9)
    np.testing.assert_allclose(fit.predict(which="linear"), x @ ref.params, rtol=1e-8)
    new = data.iloc[[5, 3, 9]]
    np.testing.assert_allclose(fit.predict(new), fit.predict().loc[new.index], rtol=1e-12)
    assert list(fit.predict(new).index) == [5, 3, 9]


def _enumerated(eta, y):
    """P(y_t = 1 | sum y = k) by summing over all subsets of size k."""
    k, t = int(y.sum()), len(y)
    subsets = list(itertools.combinations(range(t), k))
    w = np.array([np.exp(eta[list(s)].sum()) for s in subsets])
    return np.array([w[[i in s for s in subsets]].sum() for i in range(t)]) / w.sum()


def test_conditional_probabilities_by_enumeration():
    rng = np.random.default_rng(3)
    groups, etas, ys = [], [], []
    for g, (t, k) in enumerate([(6, 2), (7, 5), (5, 1), (8, 4), (4, 0), (3, 3)]):
        groups += [g] * t
        etas.append(rng.normal(0, 1.5, t))
        y = np.zeros(t)
        y[rng.choice(t, k, replace=False)] = 1
        ys.append(y)
    eta, y = np.concatenate(etas), np.concatenate(ys)
    got = conditional_probabilities(eta, np.array(groups), y)
    want = np.concatenate([_enumerated(e, yy) if 0 < yy.sum() < len(yy) else yy for e, yy in zip(etas, ys)])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_clogit_predict_one_case_per_stratum_is_pc1():
    inf = pd.read_csv("tests/reference/clogit/infert_data.csv")
    fit = clogit("case ~ spontaneous + induced | stratum", inf)
    xb = fit.predict(which="linear")
    assert sorted(xb.index) == list(inf.index)  # every stratum has one case and some controls
    xb_hand = inf[["spontaneous", "induced"]] @ fit.params
    np.testing.assert_allclose(xb, xb_hand.loc[xb.index], rtol=1e-12)
    pc1 = np.exp(xb_hand) / np.exp(xb_hand).groupby(inf["stratum"]).transform("sum")
    np.testing.assert_allclose(fit.predict(), pc1.loc[fit.predict().index], rtol=1e-12)
    np.testing.assert_allclose(fit.predict(inf), pc1, rtol=1e-12)


def test_clogit_predict_on_estimation_rows(panel):
    fit = clogit("y ~ x1 + x2 + x3 | g", panel)
    prob = fit.predict()
    kept = panel.loc[prob.index]
    np.testing.assert_allclose(prob.groupby(kept["g"]).sum(), kept.groupby("g")["y"].sum(), rtol=1e-12)
    assert len(prob) == fit.nobs and not panel.loc[prob.index].groupby("g")["y"].mean().isin([0, 1]).any()
    columns = conditional_logit(panel, "y", ["x1", "x2", "x3"], "g")
    with pytest.raises(PostEstimationError, match="outcome and group"):
        columns.predict(panel)


# -- tidy / glance ---------------------------------------------------------------------------
def test_tidy_and_glance_shapes_and_values(data, fit):
    tidy = fit.tidy()
    assert list(tidy.columns) == ["term", "estimate", "std.error", "statistic", "p.value", "conf.low", "conf.high"]
    np.testing.assert_allclose(tidy["std.error"], fit.bse, rtol=0)
    odds = fit.tidy(conf_level=0.9, exponentiate=True)
    np.testing.assert_allclose(odds["estimate"], np.exp(fit.params), rtol=1e-12)
    np.testing.assert_allclose(odds["conf.low"], np.exp(fit.conf_int(0.1)["lower"]), rtol=1e-12)
    x = sm.add_constant(data[["arm", "rwc", "base_y", "age"]])
    ref = sm.Logit(data["y"], x).fit(disp=0)
    g = fit.glance().iloc[0]
    assert g["AIC"] == pytest.approx(ref.aic, rel=1e-9) and g["BIC"] == pytest.approx(ref.bic, rel=1e-9)
    assert g["deviance"] == pytest.approx(-2 * ref.llf, rel=1e-9)
    assert g["null.deviance"] == pytest.approx(-2 * ref.llnull, rel=1e-9)
    assert (g["df.null"], g["df.residual"], g["nobs"], g["n.clusters"]) == (1499, 1495, 1500, 15)


def test_glance_conditional_logit(panel):
    fit = clogit("y ~ x1 + x2 + x3 | g", panel)
    g = fit.glance().iloc[0]
    assert g["n.groups"] == fit.n_groups and g["vcov.type"] == "iid"
    assert g["statistic.log"] == pytest.approx(2 * (fit.llf - fit.llnull), rel=1e-12)
