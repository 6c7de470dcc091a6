"""Categorical time (month) effects in the exact conditional logit: against R survival::clogit with
factor(month) (stored), and against the same model with dense month dummies."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import rerun_r_script
from famtrial.models.clogit import ConditionalLogit, conditional_logit

REF = Path(__file__).parents[1] / "reference" / "clogit_month"
COVS = ["treat", "x2", "x3"]
# R converged to eps = 1e-14; the dense path and the time-effects path are the same model
RTOL_R, ATOL_LL_R = 1e-8, 1e-8
RTOL_DENSE = 1e-10


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "data.csv")


def _dummies(month: pd.Series) -> pd.DataFrame:
    """Dense dummies for every level but the first (sorted), named as famtrial names time effects."""
    levels = np.sort(month.unique())
    return pd.DataFrame({f"month[{lev}]": (month == lev).astype(float) for lev in levels[1:]}, index=month.index)


@pytest.mark.parametrize("name, covariates", [("month", COVS), ("trend", [*COVS, "trend"])])
def test_matches_r_clogit_exact_with_factor_month(panel, name, covariates):
    ref = pd.read_csv(REF / f"{name}_results.csv").set_index("term")
    res = conditional_logit(panel, "y", covariates, "id", time_effects="month")
    estimated = ref[ref["coef"].notna()]
    assert list(res.params.index) == list(estimated.index)  # same terms, same order, same base
    np.testing.assert_allclose(res.params, estimated["coef"], rtol=RTOL_R)
    np.testing.assert_allclose(res.bse, estimated["se"], rtol=RTOL_R)
    assert res.llf == pytest.approx(ref["loglik"].iloc[0], abs=ATOL_LL_R)
    assert res.llnull == pytest.approx(ref["loglik0"].iloc[0], abs=ATOL_LL_R)
    assert res.converged
    omitted = [d.names[0] for d in res.dropped if d.kind == "variable"]
    assert omitted == list(ref.index[ref["coef"].isna()])  # R's NA is famtrial's omitted level
    assert res.model.time_base == "2015-10"


@pytest.mark.parametrize("cov_type", ["nonrobust", "robust", "cluster"])
def test_equals_dense_month_dummies(panel, cov_type):
    """Estimates, SEs (model-based, robust, cluster-robust), log-likelihoods: the dense path with
    the same dummies, to 1e-10 (shuffled rows, string labels, groups of 12-30 months, complemented
    groups, all-0/all-1 groups dropped)."""
    dense_x = pd.concat([panel[COVS], _dummies(panel["month"])], axis=1)
    clusters = panel["office"] if cov_type == "cluster" else None
    dense = ConditionalLogit(panel["y"], dense_x, panel["id"]).fit(cov_type, clusters)
    timed = ConditionalLogit(panel["y"], panel[COVS], panel["id"], time=panel["month"]).fit(cov_type, clusters)
    assert list(timed.params.index) == list(dense.params.index)
    np.testing.assert_allclose(timed.params, dense.params, rtol=RTOL_DENSE, atol=1e-13)
    np.testing.assert_allclose(timed.bse, dense.bse, rtol=RTOL_DENSE)
    np.testing.assert_allclose(timed.cov_params(), dense.cov_params(), rtol=RTOL_DENSE, atol=1e-15)
    assert timed.llf == pytest.approx(dense.llf, rel=1e-13)
    assert timed.llnull == pytest.approx(dense.llnull, rel=1e-13)
    assert timed.nobs == dense.nobs and timed.n_groups == dense.n_groups


def test_derivatives_and_group_scores_equal_dense_path_at_any_point(panel):
    dense_x = pd.concat([panel[COVS], _dummies(panel["month"])], axis=1)
    dense = ConditionalLogit(panel["y"], dense_x, panel["id"])
    timed = ConditionalLogit(panel["y"], panel[COVS], panel["id"], time=panel["month"])
    rng = np.random.default_rng(5)
    for scale in (0.0, 0.5, 2.0):
        b = rng.normal(size=len(dense.exog_names)) * scale
        ld, gd, hd = dense.derivatives(b)
        lt, gt, ht = timed.derivatives(b)
        assert lt == pytest.approx(ld, rel=1e-13)
        np.testing.assert_allclose(gt, gd, rtol=1e-10, atol=1e-10 * np.abs(gd).max())
        np.testing.assert_allclose(ht, hd, rtol=1e-10, atol=1e-12 * np.abs(hd).max())
        np.testing.assert_allclose(timed.score_groups(b), dense.score_groups(b), rtol=1e-10, atol=1e-12)


@pytest.mark.slow  # long groups: the large-panel tier
def test_long_groups_and_large_effects_are_stable():
    """60 months a parent, month effects spanning 8 on the logit scale, outcome rates from 2% to
    98% (depths up to 30 after complementing): the same numbers as the dense path."""
    rng = np.random.default_rng(11)
    G, T = 40, 60
    g = np.repeat(np.arange(G), T)
    m = np.tile(np.arange(T), G)
    x = rng.normal(size=(G * T, 2))
    eta = rng.normal(0, 2.5, G)[g] + x @ [1.0, -0.5] + np.linspace(-4, 4, T)[m]
    y = (rng.random(G * T) < 1 / (1 + np.exp(-eta))).astype(int)
    dense = ConditionalLogit(y, np.c_[x, (m[:, None] == np.arange(1, T)).astype(float)], g).fit()
    timed = ConditionalLogit(y, x, g, time=m).fit()
    np.testing.assert_allclose(timed.params.to_numpy(), dense.params.to_numpy(), rtol=RTOL_DENSE, atol=1e-12)
    np.testing.assert_allclose(timed.bse.to_numpy(), dense.bse.to_numpy(), rtol=RTOL_DENSE)


def test_offset_with_time_effects_equals_dense_path(panel):
    off = 0.3 * np.sin(np.arange(len(panel)))
    dense_x = pd.concat([panel[COVS], _dummies(panel["month"])], axis=1)
    dense = ConditionalLogit(panel["y"], dense_x, panel["id"], offset=off).fit()
    timed = ConditionalLogit(panel["y"], panel[COVS], panel["id"], offset=off, time=panel["month"]).fit()
    np.testing.assert_allclose(timed.params.to_numpy(), dense.params.to_numpy(), rtol=RTOL_DENSE, atol=1e-13)
    assert timed.llnull == pytest.approx(dense.llnull, rel=1e-13)


def test_level_names_base_and_levels_without_information():
    """Dates print as YYYY-MM; the lowest level is the base whatever the row order; a month seen
    only in all-0 groups has no within-group variation and is omitted (listed in dropped)."""
    rng = np.random.default_rng(2)
    G, T = 80, 6
    g = np.repeat(np.arange(G), T)
    month = pd.Series(pd.to_datetime("2016-11-01") + pd.DateOffset(months=1) * np.tile(np.arange(T), G))
    x = rng.normal(size=G * T)
    y = (rng.random(G * T) < 0.4).astype(int)
    # an extra month 2017-05 held only by two parents with all-zero outcomes
    extra = pd.DataFrame(
        {
            "g": [900, 900, 901, 901],
            "month": pd.to_datetime(["2017-04-01", "2017-05-01"] * 2),
            "x": [0.1, 0.2, 0.3, 0.4],
            "y": 0,
        }
    )
    data = pd.concat([pd.DataFrame({"g": g, "month": month, "x": x, "y": y}), extra]).iloc[::-1]
    res = conditional_logit(data, "y", ["x"], "g", time_effects="month")
    assert res.model.time_base == "2016-11"
    assert list(res.params.index) == [
        "x",
        "month[2016-12]",
        "month[2017-01]",
        "month[2017-02]",
        "month[2017-03]",
        "month[2017-04]",
    ]
    assert [d.names for d in res.dropped if d.kind == "variable"] == [("month[2017-05]",)]
    periods = data.assign(month=data["month"].dt.to_period("M"))
    again = conditional_logit(periods, "y", ["x"], "g", time_effects="month")
    assert list(again.params.index) == list(res.params.index)
    np.testing.assert_allclose(again.params, res.params, rtol=1e-14)


def test_bad_time_input_is_named():
    y, x, g = [0, 1, 1, 0], [0.1, 0.5, 0.2, 0.3], [1, 1, 2, 2]
    with pytest.raises(ValueError, match=r"time column 'month' has 1 missing"):
        ConditionalLogit(y, x, g, time=[1, 2, None, 2])
    with pytest.raises(ValueError, match=r"time \('month'\) has 3 rows; the data have 4"):
        ConditionalLogit(y, x, g, time=[1, 2, 1])
    with pytest.raises(ValueError, match=r"time_effects column 'quarter' is not in the data"):
        conditional_logit(pd.DataFrame({"y": y, "x": x, "g": g}), "y", ["x"], "g", time_effects="quarter")
    with pytest.raises(ValueError, match=r"time_labels has 2 names; the time column 'month' has 2 levels, so give 1"):
        ConditionalLogit(y, x, g, time=[1, 2, 1, 2], time_labels=["m2", "m3"])
    with pytest.raises(ValueError, match=r"time_labels names the time effects: give time= as well"):
        ConditionalLogit(y, x, g, time_labels=["m2"])


def test_time_labels_name_the_effects(panel):
    levels = sorted(panel["month"].unique())
    labels = [f"C(month)[T.{m}]" for m in levels[1:]]
    named = ConditionalLogit(panel["y"], panel[COVS], panel["id"], time=panel["month"], time_labels=labels).fit()
    plain = ConditionalLogit(panel["y"], panel[COVS], panel["id"], time=panel["month"]).fit()
    assert list(named.params.index) == [*COVS, *labels]
    assert np.array_equal(named.params.to_numpy(), plain.params.to_numpy())


@pytest.mark.needs_r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_reference_script_reproduces_stored_values(tmp_path):
    """Re-run the committed R script and compare with the stored reference CSVs."""
    reference = rerun_r_script(tmp_path, "clogit_month_reference.R")
    for name in ("data.csv", "month_results.csv", "trend_results.csv"):
        new = pd.read_csv(reference / "clogit_month" / name)
        old = pd.read_csv(REF / name)
        pd.testing.assert_frame_equal(
            new.drop(columns="software", errors="ignore"), old.drop(columns="software", errors="ignore"), rtol=1e-9
        )
