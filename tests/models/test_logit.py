"""Logit: against R glm + sandwich::vcovCL (stored), statsmodels, finite differences; separation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.errors import SeparationError
from famtrial.models.logit import Logit, logit, separating_direction

REF = Path(__file__).parents[1] / "reference" / "logit"
COVS = ["arm", "rwc", "base_y", "age"]


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF / "data.csv")


def _ref(name):
    return pd.read_csv(REF / name).set_index("term")


def test_coefficients_and_model_se_match_r_glm(data):
    res = _ref("results.csv")
    fit = logit(data, "y", COVS)
    np.testing.assert_allclose(fit.params[res.index], res["coef"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(fit.bse[res.index], res["se_model"], rtol=1e-5)
    assert fit.llf == pytest.approx(res["loglik"].iloc[0], rel=1e-10)


@pytest.mark.parametrize(
    "adjustment, column", [("stata", "se_hc0"), ("statsmodels", "se_hc1"), ("none", "se_hc0_nocadjust")]
)
def test_cluster_se_all_conventions_match_r_vcovcl(data, adjustment, column):
    """Stata's G/(G-1) = vcovCL HC0; statsmodels' extra (N-1)/(N-K) = vcovCL HC1 (to 1e-5 relative)."""
    res = _ref("results.csv")
    fit = logit(data, "y", COVS, cluster="cl", adjustment=adjustment)
    np.testing.assert_allclose(fit.bse[res.index], res[column], rtol=1e-5)
    assert fit.n_clusters == data["cl"].nunique() == 15


def test_cluster_factors_are_the_ones_r_verified(data):
    """mapping.csv: R's own check that vcovCL(HC0/HC1/cadjust=FALSE) = factor * B M B (to 1e-12)."""
    mapping = pd.read_csv(REF / "mapping.csv").set_index("vcovcl")
    assert (mapping["max_rel_diff"] < 1e-12).all()
    for adjustment, row in (
        ("stata", "HC0, cadjust=TRUE"),
        ("statsmodels", "HC1, cadjust=TRUE"),
        ("none", "HC0, cadjust=FALSE"),
    ):
        fit = logit(data, "y", COVS, cluster="cl", adjustment=adjustment)
        assert fit.covariance.factor == pytest.approx(mapping.loc[row, "factor"], rel=1e-12)


@pytest.mark.parametrize("adjustment, column", [("stata", "se_hc0"), ("statsmodels", "se_hc1")])
def test_cluster_dummies_match_r_glm_with_factor(data, adjustment, column):
    res = _ref("results_fe.csv")
    fit = logit(data, "y", COVS, cluster="cl", fixed_effects="cl", adjustment=adjustment)
    assert list(fit.params.index) == list(res.index)  # cl_1 is the base level, as R's factor()
    np.testing.assert_allclose(fit.params[res.index], res["coef"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fit.bse[res.index], res[column], rtol=1e-5)


def test_statsmodels_cluster_option_is_the_hc1_convention(data):
    import statsmodels.api as sm

    sm_fit = sm.Logit(data["y"], sm.add_constant(data[COVS])).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": data["cl"]}
    )
    ours = logit(data, "y", COVS, cluster="cl", adjustment="statsmodels")
    np.testing.assert_allclose(ours.bse.to_numpy(), sm_fit.bse.to_numpy(), rtol=1e-6)
    assert ours.llnull == pytest.approx(sm_fit.llnull, rel=1e-8)
    assert ours.prsquared == pytest.approx(sm_fit.prsquared, rel=1e-8)
    odds = ours.odds_ratios()
    np.testing.assert_allclose(odds["OR"], np.exp(sm_fit.params), rtol=1e-6)


def test_offset_and_null_likelihood_with_offset_match_statsmodels(data):
    import statsmodels.api as sm

    off = 0.3 * data["base_y"].to_numpy()
    ours = logit(data, "y", ["arm", "age"], offset=off)
    sm_fit = sm.Logit(data["y"], sm.add_constant(data[["arm", "age"]]), offset=off).fit(disp=0, tol=1e-12)
    np.testing.assert_allclose(ours.params.to_numpy(), sm_fit.params.to_numpy(), rtol=1e-6)
    null = sm.Logit(data["y"], np.ones(len(data)), offset=off).fit(disp=0, tol=1e-12)
    assert ours.llnull == pytest.approx(null.llf, rel=1e-9)  # Stata's ll_0 keeps the offset


def test_score_and_hessian_against_finite_differences(data):
    model = Logit.from_frame(data, "y", COVS)
    b = np.array([-0.3, 0.2, 0.4, 1.0, -0.01])
    ll, grad, hess = model.derivatives(b)
    eps = 1e-6
    num = np.array([(model.loglike(b + eps * e) - model.loglike(b - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-4)
    numh = np.array(
        [(model.derivatives(b + eps * e)[1] - model.derivatives(b - eps * e)[1]) / (2 * eps) for e in np.eye(5)]
    )
    np.testing.assert_allclose(hess, numh, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(model.score_obs(b).sum(axis=0), grad, rtol=1e-12)


def _offices(seed=2, n=600):
    rng = np.random.default_rng(seed)
    d = pd.DataFrame({"x": rng.normal(size=n), "office": rng.integers(1, 6, n)})
    d["y"] = (rng.random(n) < 0.4).astype(int)
    return d


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
@pytest.mark.parametrize("office", [3, 1])  # 1 is the base level: Stata still drops it and rebases
def test_office_predicting_perfectly_is_dropped_with_its_rows_as_stata(office):
    d = _offices()
    d.loc[d["office"] == office, "y"] = 0
    fit = logit(d, "y", ["x"], cluster="office", fixed_effects="office")
    rec = [r for r in fit.dropped if r.kind == "rows"]
    n_off = int((d["office"] == office).sum())
    assert len(rec) == 1 and rec[0].count == n_off
    assert f"office_{office} != 0 predicts failure perfectly" in rec[0].reason
    assert f"office_{office}" not in fit.params.index and fit.nobs == len(d) - n_off
    assert fit.n_clusters == 4
    assert "predicts failure perfectly" in fit.summary()
    # the estimate is the fit without that office (what Stata reports)
    rest = d.loc[d["office"] != office]
    direct = logit(rest, "y", ["x"], cluster="office", fixed_effects="office")
    np.testing.assert_allclose(fit.params.to_numpy(), direct.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(fit.bse.to_numpy(), direct.bse.to_numpy(), rtol=1e-12)
    assert np.array_equal(fit.model.used_rows, np.flatnonzero(d["office"] != office))


def test_dummy_regressor_either_value_predicting_perfectly_is_dropped():
    d = _offices(5)
    d["flag"] = (d["office"] == 2).astype(int)
    d.loc[d["flag"] == 1, "y"] = 1
    fit = logit(d, "y", ["x", "flag"])
    assert [r.names for r in fit.dropped] == [("flag",)]
    assert "flag != 0 predicts success perfectly" in fit.dropped[0].reason
    d["other"] = (d["office"] != 4).astype(int)  # other == 0 <=> office 4
    d.loc[d["office"] == 4, "y"] = 0
    fit = logit(d.loc[d["flag"] == 0], "y", ["x", "other"])
    assert "other == 0 predicts failure perfectly" in fit.dropped[0].reason
    assert fit.nobs == int(((d["flag"] == 0) & (d["office"] != 4)).sum())


def test_complete_separation_by_a_continuous_regressor_raises_naming_it():
    x = np.linspace(-2, 2, 200)
    noise = np.random.default_rng(0).normal(size=200)
    message = r"separation: score predict\(s\) the outcome perfectly for at least 19\d of 200"
    with pytest.raises(SeparationError, match=message):
        Logit((x > 0).astype(int), np.column_stack([noise, x]), names=["noise", "score"]).fit()


def test_quasi_complete_separation_raises_naming_the_regressor():
    rng = np.random.default_rng(1)
    x = rng.choice([-1.0, 0.0, 1.0, 2.0], size=400)
    y = np.where(x > 0, 1, np.where(x < 0, 0, rng.integers(0, 2, 400)))  # mixed only at x = 0
    z = rng.normal(size=400)
    with pytest.raises(SeparationError, match=r"dose predict\(s\)") as err:
        Logit(y, np.column_stack([z, x]), names=["z", "dose"]).fit("robust")
    assert "z" not in str(err.value).split("predict")[0]
    assert separating_direction(np.column_stack([np.ones(400), z, x]), y)[1] == int((x != 0).sum())


def test_extreme_but_overlapping_data_are_fitted_not_flagged():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-7 * x))).astype(int)
    fit = Logit(y, x[:, None], names=["x"]).fit()
    assert np.abs(fit.params["x"] * x).max() > 15  # the exact check ran and found overlap
    np.testing.assert_allclose(fit.params.to_numpy(), sm.Logit(y, sm.add_constant(x)).fit(disp=0).params, rtol=1e-6)


def test_constant_outcome_and_bad_input_give_clear_errors(data):
    with pytest.raises(SeparationError, match="outcome is 0 in all 50 rows: nothing to estimate"):
        Logit(np.zeros(50), np.arange(50.0)).fit()
    bad = data.assign(age=data["age"].where(data.index > 2))
    with pytest.raises(ValueError, match=r"column 'age' has 3 missing or infinite values of 1,500"):
        logit(bad, "y", COVS)
    with pytest.raises(ValueError, match="the outcome must be 0/1; 1 of 1,500"):
        logit(
            data.assign(
                y=data["y"]
                .replace({0: 2})
                .where(data.index > 0, 0)
                .where(data.index != 1, 2)
                .where(data.index < 2, data["y"])
            ),
            "y",
            COVS,
        )


def test_options_are_validated(data):
    with pytest.raises(ValueError, match="cov_type='hc3' is not one of"):
        Logit.from_frame(data, "y", COVS).fit("hc3")
    with pytest.raises(ValueError, match="adjustment='hc1' is not one of"):
        logit(data, "y", COVS, cluster="cl", adjustment="hc1")
    with pytest.raises(ValueError, match="cluster column 'nope'"):
        logit(data, "y", COVS, cluster="nope")
    with pytest.raises(ValueError, match="clusters= goes with cov_type='cluster'"):
        Logit.from_frame(data, "y", COVS).fit("robust", data["cl"])


def test_t_reference_uses_t_with_g_minus_1_df(data):
    from scipy import stats

    fit = logit(data, "y", COVS, cluster="cl", t_reference=True)
    assert fit.covariance.df == 14
    assert fit.pvalues["arm"] == pytest.approx(2 * stats.t(14).sf(abs(fit.tvalues["arm"])))
