"""Event-study terms, the CRV3/HC3 jackknife and two-way clustering against R (issue 29 B).

References: ``tests/reference/event_study_reference.R`` (survival::clogit and glm with relevel'ed interactions; an
explicit leave-one-office-out refit loop; sandwich::vcovCL(cluster = ~ office + month)), stored as CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import famtrial
from conftest import rerun_r_script
from famtrial.errors import FormulaError, PostEstimationError
from famtrial.models.covariance import jackknife, sandwich, two_way
from famtrial.models.terms import event_study_terms

REF = Path(__file__).parents[1] / "reference" / "event_study"
ES = "i(month, arm, ref='2016-09')"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "data.csv")


def _ref(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / f"{name}.csv").set_index("term")


def test_clogit_event_study_matches_r_relevel(panel):
    """i(month, arm, ref=) beside C(month) (the categorical time path) equals R clogit with relevel'ed interactions."""
    r = _ref("clogit_event_study")
    fit = famtrial.clogit(f"y ~ {ES} + x + C(month) | parent", panel)
    assert "month::2016-09:arm" not in fit.params.index  # the chosen reference, not the last month
    assert event_study_terms(fit.params.index, "month", "arm") == [t for t in r.index if t != "x"]
    np.testing.assert_allclose(fit.params[r.index], r["coef"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-8)
    assert any(n.startswith("C(month)[T.") for n in fit.params.index)


def test_treatment_reference_is_honoured(panel):
    """C(month, Treatment('2016-09')):arm (either order) is the same event study as i(); no collinear level dropped."""
    base = famtrial.clogit(f"y ~ {ES} + x + C(month) | parent", panel)
    for term in ("C(month, Treatment('2016-09')):arm", "arm:C(month, Treatment(reference='2016-09'))"):
        fit = famtrial.clogit(f"y ~ {term} + x + C(month) | parent", panel)
        pd.testing.assert_series_equal(fit.params, base.params, rtol=1e-10)
        assert not [d for d in fit.dropped if d.kind == "variable"]


def test_logit_event_study_matches_r_glm(panel):
    r = _ref("logit_event_study")
    fit = famtrial.logit(f"y ~ arm + {ES} + x + C(month)", panel, vcov={"CRV1": "office"})
    np.testing.assert_allclose(fit.params[r.index], r["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-8)


def test_event_study_predicts_on_new_data_with_the_fit_levels(panel):
    """The levels are the estimation rows' (kept in the design): new data with fewer months get the same columns."""
    fit = famtrial.logit(f"y ~ arm + {ES} + x", panel)
    new = panel[panel["month"] == "2016-12"].head(5)
    eta = fit.predict(new, which="linear")
    b = fit.params
    expected = b["Intercept"] + b["arm"] * new["arm"] + b["month::2016-12:arm"] * new["arm"] + b["x"] * new["x"]
    np.testing.assert_allclose(eta, expected, rtol=1e-12)


def test_event_study_errors_name_the_reference(panel):
    with pytest.raises(FormulaError, match="ref='2015-01' is not a level"):
        famtrial.logit("y ~ i(month, arm, ref='2015-01')", panel)


def test_logit_crv3_matches_r_leave_one_cluster_out(panel):
    r = _ref("logit_crv3")
    fit = famtrial.logit("y ~ treat + arm + x + C(month)", panel, vcov={"CRV3": "office"})
    assert fit.se_type == "CRV3" and fit.n_clusters == 16
    np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-8)
    mse = fit.vcov({"CRV3": "office", "center": "estimate"})
    np.testing.assert_allclose(mse.bse[r.index], r["se_mse"], rtol=1e-8)
    assert (mse.bse >= fit.bse - 1e-15).all()  # mse = mean-centred + (G-1)(bbar - b)(bbar - b)'


def test_clogit_crv3_matches_r_leave_one_cluster_out(panel):
    r = _ref("clogit_crv3")
    fit = famtrial.clogit("y ~ treat + x + C(month) | parent", panel, vcov={"CRV3": "office"})
    np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-7)
    mse = fit.vcov({"CRV3": "office", "center": "estimate"})
    np.testing.assert_allclose(mse.bse[r.index], r["se_mse"], rtol=1e-7)


def test_logit_two_way_matches_r_vcovcl(panel):
    r = _ref("logit_two_way")
    fit = famtrial.logit("y ~ treat + arm + x", panel, vcov={"CRV1": "office + month"})
    np.testing.assert_allclose(fit.bse[r.index], r["se"], rtol=1e-10)
    hc1 = fit.vcov({"CRV1": "office+month"}, adjustment="statsmodels")
    np.testing.assert_allclose(hc1.bse[r.index], r["se_hc1"], rtol=1e-10)
    assert fit.covariance.n_clusters_by == (16, 14, panel.groupby(["office", "month"]).ngroups)
    assert fit.n_clusters == 14 and fit.cluster_name == "office + month"


def test_clogit_two_way_is_cgm_from_group_scores(panel):
    """The conditional logit's two-way covariance: V_a + V_b - V_ab from per-group scores, each its own G/(G-1)."""
    panel = panel.assign(region=panel["office"].str[-1].map(lambda c: "r" + str(int(c) % 3)))
    with pytest.warns(famtrial.FewClustersWarning, match="G = 3"):
        fit = famtrial.clogit("y ~ treat + x | parent", panel, vcov={"CRV1": "office + region"})
    model = fit.model
    b = fit.params.to_numpy()
    s = model.score_groups(b)
    bread = np.linalg.inv(-model.derivatives(b)[2])
    first = panel.groupby("parent")["office"].first()[model.group_labels].to_numpy()
    second = panel.groupby("parent")["region"].first()[model.group_labels].to_numpy()

    def v(labels):
        u = pd.DataFrame(s).groupby(labels).sum().to_numpy()
        g = len(u)
        return g / (g - 1) * bread @ u.T @ u @ bread

    expected = v(first) + v(second) - v(pd.Series(first) + "|" + pd.Series(second))
    np.testing.assert_allclose(fit.covariance.matrix, expected, rtol=1e-10)
    with pytest.raises(PostEstimationError, match="groups span several clusters"):
        fit.vcov({"CRV1": "office + month"})


def test_hc_aliases(panel):
    base = famtrial.logit("y ~ treat + arm + x", panel, vcov="hetero")
    hc1 = famtrial.logit("y ~ treat + arm + x", panel, vcov="HC1")
    pd.testing.assert_series_equal(hc1.bse, base.bse)
    assert hc1.se_type == "hetero"


def test_hc3_is_the_leave_one_out_jackknife():
    """HC3: exact leave-one-row-out refits, checked against an independent numpy Newton loop."""
    rng = np.random.default_rng(3)
    n = 80
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    data = pd.DataFrame({"y": y, "x": x})
    fit = famtrial.logit("y ~ x", data, vcov="HC3")
    assert fit.se_type == "HC3"
    xx = np.column_stack([np.ones(n), x])

    def mle(keep):
        b = np.zeros(2)
        for _ in range(50):
            p = 1 / (1 + np.exp(-xx[keep] @ b))
            b = b + np.linalg.solve((xx[keep] * (p * (1 - p))[:, None]).T @ xx[keep], xx[keep].T @ (y[keep] - p))
        return b

    reps = np.array([mle(np.arange(n) != i) for i in range(n)])
    dev = reps - reps.mean(axis=0)
    np.testing.assert_allclose(fit.covariance.matrix, (n - 1) / n * dev.T @ dev, rtol=1e-8)


def test_jackknife_centring_and_two_way_from_formulas():
    rng = np.random.default_rng(0)
    reps = rng.normal(size=(7, 3))
    est = reps.mean(axis=0) + 0.1
    with pytest.warns(famtrial.FewClustersWarning):
        mean = jackknife(reps, est, t_reference=True).matrix
        mse = jackknife(reps, est, center="estimate").matrix
    d = reps.mean(axis=0) - est
    np.testing.assert_allclose(mse - mean, 6 * np.outer(d, d), atol=1e-12)
    bread, scores = np.eye(2), rng.normal(size=(60, 2))
    a, b = rng.integers(0, 12, 60), rng.integers(0, 15, 60)
    tw = two_way(bread, scores, a, b, adjustment="none")
    ab = a * 100 + b
    parts = [sandwich(bread, scores, c, adjustment="none").matrix for c in (a, b, ab)]
    np.testing.assert_allclose(tw.matrix, parts[0] + parts[1] - parts[2], rtol=1e-12)


def test_crv3_refuses_fixed_effects_of_the_cluster(panel):
    with pytest.raises(PostEstimationError, match="leaving out unit 'o01'.*cannot estimate"):
        famtrial.logit("y ~ treat + C(office)", panel, vcov={"CRV3": "office"})


@pytest.mark.parametrize(
    "vcov, match",
    [
        ({"CRV3": "office", "centre": "mean"}, "dictionary forms"),
        ({"CRV3": "office", "center": "median"}, "center"),
        ({"CRV1": "office + month + arm"}, "exactly two columns"),
        ("HC2", "is not one of"),
    ],
)
def test_vcov_errors(panel, vcov, match):
    with pytest.raises(PostEstimationError, match=match):
        famtrial.logit("y ~ treat + x", panel, vcov=vcov)


@pytest.mark.needs_r
def test_reference_script_reproduces_stored_values(tmp_path):
    reference = rerun_r_script(tmp_path, "event_study_reference.R", ("survival", "sandwich"))
    for name in ("data", "clogit_event_study", "logit_event_study", "logit_crv3", "clogit_crv3", "logit_two_way"):
        new = pd.read_csv(reference / "event_study" / f"{name}.csv")
        old = pd.read_csv(REF / f"{name}.csv")
        pd.testing.assert_frame_equal(
            new.drop(columns="software", errors="ignore"), old.drop(columns="software", errors="ignore"), rtol=1e-9
        )


def test_dask_frames_are_refused_what_only_memory_does(panel):
    dd = pytest.importorskip("dask.dataframe")
    lazy = dd.from_pandas(panel, npartitions=2)
    with pytest.raises(FormulaError, match="event-study terms .* in memory only"):
        famtrial.clogit(f"y ~ {ES} + C(month) | parent", lazy)
    with pytest.raises(FormulaError, match="jackknife .* in memory only"):
        famtrial.logit("y ~ treat + x", lazy, vcov={"CRV3": "office"})


def test_i_without_treat_is_the_level_dummies(panel):
    """i(month, ref=r) alone: the month dummies with r the base, the fit of C(month, contr.treatment(r))."""
    fit = famtrial.logit("y ~ i(month, ref='2016-09') + x", panel)
    same = famtrial.logit("y ~ C(month, contr.treatment('2016-09')) + x", panel)
    assert "month::2016-10" in fit.params.index and "month::2016-09" not in fit.params.index
    np.testing.assert_allclose(fit.params.to_numpy(), same.params.to_numpy(), rtol=1e-10)
    assert event_study_terms(fit.params.index, "month") == [t for t in fit.params.index if t.startswith("month::")]


def test_weighted_crv3_refits_the_weighted_model():
    """CRV3 with pweights: each replicate is the weighted MLE without the cluster (an independent numpy Newton loop)."""
    rng = np.random.default_rng(11)
    n, g = 300, 12
    c = rng.integers(0, g, n)
    x = rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + 0.7 * x)))).astype(float)
    data = pd.DataFrame({"y": y, "x": x, "c": c, "w": w})
    fit = famtrial.logit("y ~ x", data, weights="w", weight_type="pweight", vcov={"CRV3": "c", "center": "estimate"})
    xx = np.column_stack([np.ones(n), x])

    def mle(keep):
        b = np.zeros(2)
        for _ in range(50):
            p = 1 / (1 + np.exp(-xx[keep] @ b))
            h = (xx[keep] * (w[keep] * p * (1 - p))[:, None]).T @ xx[keep]
            b = b + np.linalg.solve(h, xx[keep].T @ (w[keep] * (y[keep] - p)))
        return b

    full = mle(np.ones(n, bool))
    np.testing.assert_allclose(fit.params.to_numpy(), full, rtol=1e-10)
    dev = np.array([mle(c != k) for k in range(g)]) - full
    np.testing.assert_allclose(fit.covariance.matrix, (g - 1) / g * dev.T @ dev, rtol=1e-8)
