"""Average marginal effects of the logit against a hand delta method in R (sandwich::vcovCL, finite-difference
Jacobian; tests/reference/ecosystem_reference.R), and the conditional logit's refusal."""

import numpy as np
import pandas as pd
import pytest

from famtrial.errors import NotIdentifiedError, PostEstimationError
from famtrial.models.formula import clogit, logit
from famtrial.models.logit import logit as logit_columns

REF = "tests/reference/ecosystem"


@pytest.fixture(scope="module")
def data():
    return pd.read_csv("tests/reference/logit/data.csv")


@pytest.fixture(scope="module")
def ref():
    return pd.read_csv(f"{REF}/ames.csv")


def _expected(ref, model, variable, kind):
    row = ref.loc[(ref["model"] == model) & (ref["variable"] == variable) & (ref["kind"] == kind)]
    return row["ame"].iloc[0], row["se"].iloc[0]


@pytest.mark.parametrize("api", ["formula", "columns"])
def test_main_effects_model_matches_r(data, ref, api):
    if api == "formula":
        fit = logit("y ~ arm + rwc + base_y + age", data, vcov={"CRV1": "cl"})
    else:
        fit = logit_columns(data, "y", ["arm", "rwc", "base_y", "age"], cluster="cl")
    disc = fit.margins(["arm", "rwc"], discrete=True)
    slope = fit.margins(["arm", "age"])
    for frame, var, kind in [
        (disc, "arm", "discrete"),
        (disc, "rwc", "discrete"),
        (slope, "arm", "derivative"),
        (slope, "age", "derivative"),
    ]:
        ame, se = _expected(ref, "main", var, kind)
        assert frame.loc[var, "ame"] == pytest.approx(ame, rel=1e-7)
        # R's Jacobian is a finite difference: agreement to ~1e-6
        assert frame.loc[var, "se"] == pytest.approx(se, rel=1e-5)
    assert list(disc["type"]) == ["discrete 0 -> 1"] * 2 and list(slope["type"]) == ["derivative"] * 2


def test_interaction_and_transformation_go_through_the_formula(data, ref):
    fit = logit("y ~ arm * age + I(age**2)", data, vcov={"CRV1": "cl"})
    out = fit.margins(discrete=["arm"])
    assert list(out.index) == ["arm", "age"]
    for var, kind in [("arm", "discrete"), ("age", "derivative")]:
        ame, se = _expected(ref, "interaction", var, kind)
        assert out.loc[var, "ame"] == pytest.approx(ame, rel=1e-6)
        assert out.loc[var, "se"] == pytest.approx(se, rel=1e-5)


def test_t_reference_uses_t_g_minus_1(data):
    fit = logit("y ~ arm + age", data, vcov={"CRV1": "cl"}, t_reference=True)
    out = fit.margins("arm", discrete=True)
    assert "t" in out.columns
    from scipy import stats

    assert out.loc["arm", "p"] == pytest.approx(2 * stats.t(14).sf(abs(out.loc["arm", "t"])), rel=1e-12)


def test_margins_errors_name_the_variable(data):
    fit = logit("y ~ C(arm) + age", data)
    with pytest.raises(PostEstimationError, match=r"\['arm'\] enter as categories"):
        fit.margins("arm")
    with pytest.raises(PostEstimationError, match="'age' is not 0/1"):
        fit.margins("age", discrete=True)
    with pytest.raises(PostEstimationError, match=r"\['nope'\] are not regressors"):
        fit.margins("nope")


def test_conditional_logit_says_what_is_not_identified():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    fit = clogit("y ~ x1 + x2 | g", p)
    with pytest.raises(NotIdentifiedError, match="not identified.*famtrial.models.lpm"):
        fit.margins("x1")
    assert np.isfinite(fit.params).all()
