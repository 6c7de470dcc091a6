"""Logit: against R glm + sandwich::vcovCL (stored), statsmodels, finite differences; separation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.models.logit import Logit, SeparationError, logit

REF = Path(__file__).parent / "reference" / "logit"
COVS = ["arm", "rwc", "base_y", "age"]


@pytest.fixture(scope="module")
def ref():
    return pd.read_csv(REF / "data.csv"), pd.read_csv(REF / "results.csv").set_index("term")


def test_coefficients_and_model_se_match_r_glm(ref):
    data, res = ref
    fit = logit(data, "y", COVS)
    np.testing.assert_allclose(fit.params[res.index], res["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.bse[res.index], res["se_model"], rtol=1e-5)
    assert fit.llf == pytest.approx(res["loglik"].iloc[0], rel=1e-10)


@pytest.mark.parametrize("adjustment, column", [("stata", "se_hc0"), ("statsmodels", "se_hc1")])
def test_cluster_se_both_conventions_match_r_vcovcl(ref, adjustment, column):
    """Stata's G/(G-1) = vcovCL HC0; statsmodels' extra (N-1)/(N-K) = vcovCL HC1 (to 1e-5 relative)."""
    data, res = ref
    fit = logit(data, "y", COVS, cluster="cl", adjustment=adjustment)
    np.testing.assert_allclose(fit.bse[res.index], res[column], rtol=1e-5)
    assert fit.n_clusters == data["cl"].nunique()


def test_statsmodels_cluster_option_is_the_hc1_convention(ref):
    import statsmodels.api as sm

    data, _ = ref
    sm_fit = sm.Logit(data["y"], sm.add_constant(data[COVS])).fit(disp=0, cov_type="cluster",
                                                                   cov_kwds={"groups": data["cl"]})
    ours = logit(data, "y", COVS, cluster="cl", adjustment="statsmodels")
    np.testing.assert_allclose(ours.bse.to_numpy(), sm_fit.bse.to_numpy(), rtol=1e-6)
    assert ours.llnull == pytest.approx(sm_fit.llnull, rel=1e-8)  # statsmodels fits ll_0 iteratively
    assert ours.prsquared == pytest.approx(sm_fit.prsquared, rel=1e-8)


def test_score_and_hessian_against_finite_differences(ref):
    data, _ = ref
    model = Logit.from_frame(data, "y", COVS)
    b = np.array([-0.3, 0.2, 0.4, 1.0, -0.01])
    ll, grad, hess = model.derivatives(b)
    eps = 1e-6
    num = np.array([(model.loglike(b + eps * e) - model.loglike(b - eps * e)) / (2 * eps) for e in np.eye(5)])
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-4)
    numh = np.array([(model.derivatives(b + eps * e)[1] - model.derivatives(b - eps * e)[1]) / (2 * eps)
                     for e in np.eye(5)])
    np.testing.assert_allclose(hess, numh, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(model.score_obs(b).sum(axis=0), grad, rtol=1e-12)


def test_dummy_predicting_perfectly_is_dropped_with_its_rows_as_stata():
    rng = np.random.default_rng(2)
    n = 600
    d = pd.DataFrame({"x": rng.normal(size=n), "office": rng.integers(0, 5, n)})
    d["y"] = (rng.random(n) < 0.4).astype(int)
    d.loc[d["office"] == 3, "y"] = 0
    fit = logit(d, "y", ["x"], fixed_effects="office")
    rec = [r for r in fit.dropped if r.kind == "rows"]
    assert len(rec) == 1 and rec[0].count == int((d["office"] == 3).sum())
    assert "office_3 != 0 predicts failure perfectly" in rec[0].reason
    assert "office_3" not in fit.params.index and fit.nobs == n - rec[0].count
    assert "predicts failure perfectly" in fit.summary()


def test_quasi_complete_separation_by_a_continuous_regressor_raises():
    x = np.linspace(-2, 2, 200)
    y = (x > 0).astype(int)
    with pytest.raises(SeparationError, match="separation"):
        Logit(y, x[:, None], names=["score"]).fit()


def test_options_are_validated(ref):
    data, _ = ref
    with pytest.raises(ValueError, match="cov_type='hc3' is not one of"):
        Logit.from_frame(data, "y", COVS).fit("hc3")
    with pytest.raises(ValueError, match="adjustment='hc1' is not one of"):
        logit(data, "y", COVS, cluster="cl", adjustment="hc1")
    with pytest.raises(ValueError, match="cluster column 'nope'"):
        logit(data, "y", COVS, cluster="nope")
