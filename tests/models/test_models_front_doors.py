"""One rule for the two estimators' front doors (issue 23, item 5): ``famtrial.logit`` and ``famtrial.clogit``
take a formula string or, as famtrial 0.1's ``famtrial.logit``, a DataFrame with the column keywords.

The three forms of one model (0.1's column call through the front door, the column API itself and the
formula) run the same estimator on the same arrays, so the estimates and standard errors are equal
exactly; mixing the forms raises a FormulaError naming the argument.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import famtrial
from conftest import make_frame
from famtrial.errors import FormulaError
from famtrial.models.clogit import ConditionalLogitResults, conditional_logit
from famtrial.models.logit import LogitResults
from famtrial.models.logit import logit as column_logit


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return make_frame()


def test_the_01_logit_call_works_and_equals_the_column_api_and_the_formula(df):
    old = famtrial.logit(df, outcome="y", covariates=["x1"], cluster="office")  # famtrial 0.1, verbatim
    columns = column_logit(df, "y", ["x1"], "office")
    formula = famtrial.logit("y ~ x1", df, vcov={"CRV1": "office"})
    assert isinstance(old, LogitResults)
    for other in (columns, formula):
        np.testing.assert_array_equal(old.params.to_numpy(), other.params.to_numpy())
        np.testing.assert_array_equal(old.bse.to_numpy(), other.bse.to_numpy())
    assert list(old.params.index) == ["Intercept", "x1"] and old.n_clusters == formula.n_clusters


def test_the_column_logit_takes_every_column_option(df):
    got = famtrial.logit(df, outcome="y", covariates=["x1", "x2"], fixed_effects="office", adjustment="statsmodels")
    want = column_logit(df, "y", ["x1", "x2"], fixed_effects="office", adjustment="statsmodels")
    np.testing.assert_array_equal(got.params.to_numpy(), want.params.to_numpy())
    np.testing.assert_array_equal(got.bse.to_numpy(), want.bse.to_numpy())
    assert got.dropped == want.dropped


def test_the_column_call_of_clogit_equals_conditional_logit_and_the_formula(df):
    old = famtrial.clogit(df, outcome="y", covariates=["x1", "x2"], group="parent", cluster="office")
    columns = conditional_logit(df, "y", ["x1", "x2"], "parent", "office")
    alias = famtrial.conditional_logit(df, outcome="y", covariates=["x1", "x2"], group="parent", cluster="office")
    formula = famtrial.clogit("y ~ x1 + x2 | parent", df, vcov={"CRV1": "office"})
    assert isinstance(old, ConditionalLogitResults)
    for other in (columns, alias, formula):
        np.testing.assert_array_equal(old.params.to_numpy(), other.params.to_numpy())
        np.testing.assert_array_equal(old.bse.to_numpy(), other.bse.to_numpy())
    robust = famtrial.clogit(df, outcome="y", covariates=["x1"], group="parent", robust=True)
    hetero = famtrial.clogit("y ~ x1 | parent", df, vcov="hetero")
    np.testing.assert_array_equal(robust.bse.to_numpy(), hetero.bse.to_numpy())


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda d: famtrial.logit("y ~ x1", d, outcome="y"), r"outcome= belongs to the column form"),
        (lambda d: famtrial.logit("y ~ x1", d, cluster="office"), r"cluster= belongs .* vcov=\{'CRV1': 'office'\}"),
        (lambda d: famtrial.clogit("y ~ x1 | parent", d, group="parent"), r"group= belongs .* after '\|'"),
        (lambda d: famtrial.clogit("y ~ x1 | parent", d, robust=True), r"robust= belongs .* vcov='hetero'"),
        (lambda d: famtrial.logit(d, outcome="y", covariates=["x1"], vcov="iid"), r"vcov= belongs to the formula"),
        (lambda d: famtrial.clogit(d, outcome="y", covariates=["x1"]), r"it needs group="),
        (lambda d: famtrial.logit(d, covariates=["x1"]), r"it needs outcome="),
        (lambda d: famtrial.logit(d, d, outcome="y", covariates=["x1"]), r"not a second positional argument"),
        (lambda d: famtrial.logit(d, "y"), r"the first argument is the formula"),
    ],
)
def test_mixing_the_forms_names_the_argument(df, call, match):
    with pytest.raises(FormulaError, match=match):
        call(df)


def test_the_docstrings_state_both_forms_and_the_stata_and_r_equivalents():
    for fn in (famtrial.logit, famtrial.clogit):
        doc = fn.__doc__ or ""
        assert "outcome=" in doc and "covariates=" in doc and "Stata" in doc and "R:" in doc
