"""Bad input to the estimators gets a famtrial error naming the argument, column and count — never a
pandas/numpy traceback — and few clusters get a FewClustersWarning recorded on the results."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import famtrial
from conftest import make_panel_frame
from famtrial.errors import (
    ConvergenceError,
    FamtrialError,
    FewClustersWarning,
    ModelInputError,
    ModelTypeError,
    SeparationError,
)
from famtrial.models import errors, optim
from famtrial.models import logit as logit_module
from famtrial.models.clogit import ConditionalLogit, conditional_logit
from famtrial.models.covariance import FEW_CLUSTERS, sandwich
from famtrial.models.logit import Logit, logit

COVS = ["reduced_work_capacity", "n_children"]


@pytest.fixture(scope="module")
def frame():
    return make_panel_frame(seed=5, n_families=60, months=10)


def _fit_fe(data, covariates=COVS, **kw):
    return conditional_logit(data, "activation", covariates, "parent_id", **kw)


def _fit_logit(data, covariates=COVS, **kw):
    return logit(data, "activation", covariates, **kw)


FITTERS = [pytest.param(_fit_fe, id="conditional_logit"), pytest.param(_fit_logit, id="logit")]


@pytest.mark.filterwarnings("ignore::famtrial.errors.FamtrialDeprecationWarning")  # 0.2 paths on purpose
def test_classes_are_famtrial_errors_and_the_old_import_paths_still_work():
    assert issubclass(ModelInputError, ValueError) and issubclass(ModelTypeError, TypeError)
    assert issubclass(SeparationError, ValueError) and issubclass(ConvergenceError, RuntimeError)
    for cls in (ModelInputError, ModelTypeError, SeparationError, ConvergenceError):
        assert issubclass(cls, FamtrialError)
    assert issubclass(FewClustersWarning, UserWarning)
    assert optim.ConvergenceError is errors.ConvergenceError
    assert logit_module.SeparationError is errors.SeparationError is famtrial.SeparationError


@pytest.mark.parametrize("fit", FITTERS)
def test_string_covariate_names_the_column(frame, fit):
    data = frame.assign(region=np.where(frame["office"] % 2 == 0, "a", "b"))
    with pytest.raises(ModelInputError, match=r"covariate column 'region' is not numeric \(dtype (object|str)") as err:
        fit(data, [*COVS, "region"])
    assert "get_dummies" in str(err.value)
    data = frame.assign(region=pd.Categorical(np.where(frame["office"] % 2 == 0, "a", "b")))
    with pytest.raises(ModelInputError, match="covariate column 'region' is not numeric"):
        fit(data, [*COVS, "region"])


@pytest.mark.parametrize("fit", FITTERS)
def test_string_outcome_names_the_outcome(frame, fit):
    data = frame.assign(activation=np.where(frame["activation"] == 1, "yes", "no"))
    with pytest.raises(ModelInputError, match="outcome column 'activation' is not numeric"):
        fit(data)


@pytest.mark.parametrize("fit", FITTERS)
def test_covariates_as_a_bare_string(frame, fit):
    with pytest.raises(
        ModelTypeError,
        match=r"covariates must be a list of column names; got the string "
        r"'n_children' — write covariates=\['n_children'\]",
    ):
        fit(frame, "n_children")


@pytest.mark.parametrize("fit", FITTERS)
def test_covariates_of_the_wrong_kind(frame, fit):
    with pytest.raises(ModelTypeError, match="covariates must be a list of column names; got int"):
        fit(frame, 3)
    with pytest.raises(ModelTypeError, match=r"covariates must name columns; got \['n_children'\] \(list\)"):
        fit(frame, [["n_children"]])
    res = fit(frame, (c for c in COVS))  # any iterable of names
    assert list(res.params.index)[-2:] == COVS


@pytest.mark.parametrize("fit", FITTERS)
def test_a_panel_where_a_dataframe_is_expected(frame, fit):
    panel = famtrial.load_panel(frame)
    with pytest.raises(
        ModelTypeError,
        match=r"data must be a pandas DataFrame; got a Panel \(a panel\): pass "
        r"its \.data",
    ):
        fit(panel)
    with pytest.raises(ModelTypeError, match="data must be a pandas DataFrame; got dict"):
        fit({"activation": [0, 1]})


@pytest.mark.parametrize("fit", FITTERS)
@pytest.mark.parametrize("bad, counted", [(np.inf, "1 infinite"), (-np.inf, "1 infinite"), (np.nan, "1 missing")])
def test_non_finite_values_are_counted_and_the_column_named(frame, fit, bad, counted):
    data = frame.astype({"n_children": float})
    data.loc[3, "n_children"] = bad
    with pytest.raises(
        ModelInputError,
        match=rf"column 'n_children' has 1 missing or infinite values of "
        rf"{len(data):,} \({counted}\)",
    ):
        fit(data)


@pytest.mark.parametrize("fit", FITTERS)
def test_missing_columns_are_named_with_their_argument_and_close_matches(frame, fit):
    with pytest.raises(
        ModelInputError,
        match=r"covariates column 'n_child' \(did you mean 'n_children'\?\) is not "
        r"in the data \(1 missing\)",
    ):
        fit(frame, ["reduced_work_capacity", "n_child"])
    with pytest.raises(ModelInputError, match=r"cluster column 'ofice' \(did you mean 'office'\?\) is not in the data"):
        fit(frame, cluster="ofice")


def test_missing_group_and_outcome_columns(frame):
    with pytest.raises(ModelInputError, match="group column 'parent' .*is not in the data"):
        conditional_logit(frame, "activation", COVS, "parent")
    with pytest.raises(ModelInputError, match="outcome column 'active' .*is not in the data"):
        logit(frame, "active", COVS)


def test_array_inputs_with_text_are_named():
    with pytest.raises(ModelInputError, match="exog is not numeric"):
        ConditionalLogit([0, 1, 0, 1], [["a"], ["b"], ["a"], ["b"]], [1, 1, 2, 2])
    with pytest.raises(ModelInputError, match="exog is not numeric"):
        Logit([0, 1, 0, 1], np.array([["a"], ["b"], ["a"], ["b"]]))
    with pytest.raises(ModelInputError, match=r"the outcome \(endog\) is not numeric"):
        ConditionalLogit(["no", "yes", "no", "yes"], [[0.0], [1.0], [0.5], [2.0]], [1, 1, 2, 2])
    with pytest.raises(ModelInputError, match=r"the outcome \(endog\) is not numeric"):
        Logit(["no", "yes", "no", "yes"], [[0.0], [1.0], [0.5], [2.0]])
    x = pd.DataFrame({"z": ["1.5", "x", "2", "3"]})
    with pytest.raises(ModelInputError, match=r"covariate column 'z' is not numeric .*1 of 4 values such as 'x'"):
        Logit([0, 1, 0, 1], x)


# -- few clusters -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n_clusters", [2, 5, FEW_CLUSTERS - 1])
def test_few_clusters_warn_and_are_recorded(frame, n_clusters):
    data = frame.assign(cl=frame["parent_id"] % n_clusters)
    with pytest.warns(FewClustersWarning, match=rf"only G = {n_clusters} clusters.*t_reference=True") as rec:
        res = _fit_fe(data, cluster="cl")
    assert rec[0].filename == __file__  # pointed at the caller, not at famtrial's internals
    assert res.n_clusters == n_clusters and res.covariance.few_clusters
    assert f"FEW CLUSTERS (G < {FEW_CLUSTERS})" in res.summary()
    with pytest.warns(FewClustersWarning):
        assert _fit_logit(data, cluster="cl").covariance.few_clusters


def test_enough_clusters_and_model_based_do_not_warn(frame):
    data = frame.assign(cl=frame["parent_id"] % FEW_CLUSTERS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)
        res = _fit_fe(data, cluster="cl")
        assert res.n_clusters == FEW_CLUSTERS and not res.covariance.few_clusters
        assert not _fit_fe(data).covariance.few_clusters
        assert not _fit_fe(data, robust=True).covariance.few_clusters
    assert "FEW CLUSTERS" not in res.summary()


def test_sandwich_flags_the_cluster_count_it_uses():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 2))
    with pytest.warns(FewClustersWarning, match="G = 3"):
        cov = sandwich(np.eye(2), scores, np.arange(40) % 3)
    assert cov.few_clusters and cov.n_clusters == 3
