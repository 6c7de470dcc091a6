"""Weights: logit fweights/pweights and conditional-logit group weights against R
(tests/reference/ecosystem_reference.R: glm on the expanded data, survey::svyglm, survival::clogit on
the expanded data, survival::coxph with weights and cluster())."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.models.clogit import ConditionalLogit, conditional_logit
from famtrial.models.formula import clogit, logit
from famtrial.models.logit import Logit

REF = "tests/reference/ecosystem"
COVS = ["arm", "rwc", "base_y", "age"]


@pytest.fixture(scope="module")
def data():
    d = pd.read_csv("tests/reference/logit/data.csv")
    return pd.concat([d, pd.read_csv(f"{REF}/logit_weights.csv")], axis=1)


@pytest.fixture(scope="module")
def ref():
    return pd.read_csv(f"{REF}/logit_weighted.csv").set_index("term")


def test_logit_fweights_match_expanded_data_in_r(data, ref):
    fit = logit("y ~ arm + rwc + base_y + age", data, weights="fw", vcov={"CRV1": "cl"})
    np.testing.assert_allclose(fit.params, ref["fweight_coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.bse, ref["fweight_se_cluster"], rtol=1e-7)
    assert fit.llf == pytest.approx(ref["fweight_loglik"].iloc[0], rel=1e-10)
    assert fit.nobs == data["fw"].sum()
    np.testing.assert_allclose(fit.vcov("iid").bse, ref["fweight_se_model"], rtol=1e-7)
    np.testing.assert_allclose(fit.vcov("hetero").bse, ref["fweight_se_robust"], rtol=1e-7)


def test_logit_pweights_match_svyglm(data, ref):
    fit = logit("y ~ arm + rwc + base_y + age", data, weights="pw", weight_type="pweight", vcov={"CRV1": "cl"})
    np.testing.assert_allclose(fit.params, ref["pweight_coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.bse, ref["pweight_se_cluster"], rtol=1e-7)
    robust = logit("y ~ arm + rwc + base_y + age", data, weights="pw", weight_type="pweight")
    assert robust.cov_type == "robust"  # pweights imply vce(robust), as Stata
    np.testing.assert_allclose(robust.bse, ref["pweight_se_robust"], rtol=1e-7)
    assert robust.nobs == len(data)
    ame = fit.margins("arm", discrete=True)
    assert ame.loc["arm", "ame"] == pytest.approx(ref["pweight_ame_arm"].iloc[0], rel=1e-7)
    assert ame.loc["arm", "se"] == pytest.approx(ref["pweight_ame_arm_se"].iloc[0], rel=1e-5)


def test_logit_pweights_refuse_model_based_covariance(data):
    model = Logit(data["y"], data[COVS], weights=data["pw"], weight_type="pweight")
    with pytest.raises(ValueError, match="pweights need a robust or cluster"):
        model.fit("nonrobust")
    fit = model.fit()
    with pytest.raises(ValueError, match="not valid with pweights"):
        fit.vcov("iid")


@pytest.mark.parametrize("bad, match", [(-1.0, "zero or negative"), (np.nan, "missing"), (1.5, "whole numbers")])
def test_logit_bad_weights_name_the_problem(data, bad, match):
    w = data["fw"].astype(float).copy()
    w.iloc[3] = bad
    with pytest.raises(ValueError, match=match):
        Logit(data["y"], data[COVS], weights=w)


def test_clogit_fweights_match_expanded_data_in_r():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    gw = pd.read_csv(f"{REF}/clogit_group_weights.csv").set_index("g")["fw"]
    p["fw"] = p["g"].map(gw)
    ref = pd.read_csv(f"{REF}/clogit_fweight.csv").set_index("term")
    fit = clogit("y ~ x1 + x2 + x3 | g", p, weights="fw")
    np.testing.assert_allclose(fit.params, ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.bse, ref["se"], rtol=1e-7)
    assert fit.llf == pytest.approx(ref["loglik"].iloc[0], rel=1e-10)
    # the data R expanded include all-0/all-1 groups; famtrial's nobs counts the informative rows
    used = p.loc[p.groupby("g")["y"].transform(lambda s: 0 < s.sum() < len(s))]
    assert fit.nobs == used["fw"].sum()


def test_clogit_weighted_cluster_equals_expanded_fit():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    gw = pd.read_csv(f"{REF}/clogit_group_weights.csv").set_index("g")["fw"]
    p["fw"] = p["g"].map(gw)
    expanded = p.loc[p.index.repeat(p["fw"])].copy()
    expanded["copy"] = expanded.groupby(level=0).cumcount()
    expanded["g2"] = expanded["g"].astype(str) + "_" + expanded["copy"].astype(str)
    for kw in ({"cluster": "cl"}, {"robust": True}):
        w = conditional_logit(p, "y", ["x1", "x2", "x3"], "g", weights="fw", **kw)
        e = conditional_logit(expanded, "y", ["x1", "x2", "x3"], "g2", **kw)
        np.testing.assert_allclose(w.bse, e.bse, rtol=1e-10)


def test_clogit_pweights_match_coxph_on_infert():
    inf = pd.concat(
        [pd.read_csv("tests/reference/clogit/infert_data.csv"), pd.read_csv(f"{REF}/infert_weights.csv")], axis=1
    )
    ref = pd.read_csv(f"{REF}/clogit_pweight.csv").set_index("term")
    fit = clogit(
        "case ~ spontaneous + induced | stratum", inf, weights="pw", weight_type="pweight", vcov={"CRV1": "cl"}
    )
    np.testing.assert_allclose(fit.params, ref["coef"], rtol=1e-7)
    np.testing.assert_allclose(fit.bse, ref["se_cluster"], rtol=1e-6)
    with pytest.raises(ValueError, match="pweights need a robust or cluster"):
        fit.model.fit("nonrobust")


def test_clogit_weights_must_be_constant_within_group():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    w = np.ones(len(p))
    w[p.index[p["g"] == 4][1]] = 2.0
    with pytest.raises(ValueError, match="weights vary within group '4'"):
        ConditionalLogit(p["y"], p[["x1"]], p["g"], weights=w)


@pytest.mark.needs_r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_reference_script_reproduces_stored_values(tmp_path):
    """Re-run tests/reference/ecosystem_reference.R and compare with the stored CSVs (AMEs, Wald, weights)."""
    repo = Path(__file__).parents[2]
    probe = subprocess.run(
        ["Rscript", "-e", "library(sandwich); library(car); library(survey); library(survival)"], capture_output=True
    )
    if probe.returncode != 0:
        pytest.skip("R packages sandwich, car, survey or survival are not installed")
    work = tmp_path / "repo"
    for sub in ("logit", "clogit"):
        shutil.copytree(repo / "tests" / "reference" / sub, work / "tests" / "reference" / sub)
    shutil.copy(repo / "tests" / "reference" / "ecosystem_reference.R", work / "tests" / "reference")
    subprocess.run(["Rscript", "tests/reference/ecosystem_reference.R"], cwd=work, check=True, capture_output=True)
    stored = sorted((repo / REF).glob("*.csv"))
    assert len(stored) == 8
    for path in stored:
        new = pd.read_csv(work / REF / path.name)
        pd.testing.assert_frame_equal(
            new.drop(columns="software", errors="ignore"),
            pd.read_csv(path).drop(columns="software", errors="ignore"),
            rtol=1e-9,
        )
