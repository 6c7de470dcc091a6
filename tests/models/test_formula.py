"""The formula front end: a formula fit equals the column-API fit exactly; C(), interactions, missing
rows, errors."""

import numpy as np
import pandas as pd
import pytest

from famtrial.errors import FormulaError
from famtrial.models.clogit import conditional_logit
from famtrial.models.formula import _time_effect_dummies, clogit, logit
from famtrial.models.logit import logit as logit_columns


@pytest.fixture(scope="module")
def data():
    return pd.read_csv("tests/reference/logit/data.csv")


@pytest.fixture(scope="module")
def panel():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    return p.assign(month=pd.PeriodIndex(pd.Period("2016-01", "M") + p.groupby("g").cumcount() % 5))


def _same(a, b):
    assert list(a.params.index) == list(b.params.index)
    assert np.array_equal(a.params.to_numpy(), b.params.to_numpy())
    assert np.array_equal(a.cov_params().to_numpy(), b.cov_params().to_numpy())
    assert (a.llf, a.nobs, a.n_clusters) == (b.llf, b.nobs, b.n_clusters)


@pytest.mark.parametrize("vcov, cluster", [(None, None), ({"CRV1": "cl"}, "cl")])
def test_logit_formula_equals_column_api_exactly(data, vcov, cluster):
    _same(
        logit("y ~ arm + rwc + base_y + age", data, vcov=vcov),
        logit_columns(data, "y", ["arm", "rwc", "base_y", "age"], cluster=cluster),
    )


def test_logit_categorical_equals_hand_dummies(data):
    fit = logit("y ~ arm + C(cl)", data, vcov={"CRV1": "cl"})
    hand = data.assign(**{f"C(cl)[T.{k}]": (data["cl"] == k).astype(float) for k in range(2, 16)})
    cols = ["arm", *[f"C(cl)[T.{k}]" for k in range(2, 16)]]
    _same(fit, logit_columns(hand, "y", cols, cluster="cl"))


def test_clogit_formula_equals_column_api_exactly(panel):
    _same(
        clogit("y ~ x1 + x2 + x3 | g", panel, vcov={"CRV1": "cl"}),
        conditional_logit(panel, "y", ["x1", "x2", "x3"], "g", cluster="cl"),
    )


def _close(a, b, rtol=1e-10):
    assert list(a.params.index) == list(b.params.index)
    np.testing.assert_allclose(a.params, b.params, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(a.cov_params(), b.cov_params(), rtol=rtol, atol=1e-14)
    assert a.llf == pytest.approx(b.llf, rel=1e-12) and (a.nobs, a.n_clusters) == (b.nobs, b.n_clusters)


def _hand_months(panel):
    months = sorted(panel["month"].unique())
    hand = panel.assign(**{f"C(month)[T.{m}]": (panel["month"] == m).astype(float) for m in months[1:]})
    return hand, [f"C(month)[T.{m}]" for m in months[1:]]


def test_clogit_month_effects_take_the_categorical_path(panel):
    fit = clogit("y ~ x1 + x3 + C(month) | g", panel, vcov={"CRV1": "cl"})
    assert fit.model._time_col is not None and fit.model.time_name == "C(month)"
    hand, effects = _hand_months(panel)
    dense = conditional_logit(hand, "y", ["x1", "x3", *effects], "g", cluster="cl")
    assert dense.model._time_col is None
    _close(fit, dense)
    # the column API's categorical path: the same code, the same numbers, formulaic's names
    direct = conditional_logit(panel, "y", ["x1", "x3"], "g", cluster="cl", time_effects="month")
    assert np.array_equal(fit.params.to_numpy(), direct.params.to_numpy())
    assert np.array_equal(fit.cov_params().to_numpy(), direct.cov_params().to_numpy())
    assert fit.fixed_effects == "g" and fit.design.time_var == "month"
    # post-estimation on the categorical path equals the dense fit's
    for vcov in ("iid", "hetero", {"CRV1": "cl"}):
        np.testing.assert_allclose(
            fit.vcov(vcov).cov_params(),
            dense.vcov(vcov if not isinstance(vcov, dict) else {"CRV1": hand["cl"]}).cov_params(),
            rtol=1e-10,
            atol=1e-14,
        )
    hyp = f"{effects[0]} = {effects[1]}"
    assert fit.wald_test(hyp).statistic == pytest.approx(dense.wald_test(hyp).statistic, rel=1e-9)
    for which in ("linear", "prob"):
        np.testing.assert_allclose(fit.predict(which=which), dense.predict(which=which), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        fit.predict(panel, which="linear"), dense.predict(hand, which="linear"), rtol=1e-9, atol=1e-12
    )
    on_new = fit.predict(panel)  # conditional probabilities on the data given again: the estimation rows' values
    np.testing.assert_allclose(on_new[fit.predict().index], fit.predict(), rtol=1e-9, atol=1e-12)
    tidy = fit.tidy()
    assert list(tidy["term"]) == ["x1", "x3", *effects]
    np.testing.assert_allclose(tidy["std.error"], dense.bse, rtol=1e-10)


def test_clogit_month_effects_match_r_survival():
    """R survival::clogit(y ~ treat + x2 + x3 + factor(month) + strata(id), method = "exact")
    (tests/reference/clogit_month_reference.R): estimates and SEs to 1e-8."""
    data = pd.read_csv("tests/reference/clogit_month/data.csv")
    ref = pd.read_csv("tests/reference/clogit_month/month_results.csv")
    fit = clogit("y ~ treat + x2 + x3 + C(month) | id", data)
    assert fit.model._time_col is not None
    terms = ref["term"].str.replace(r"^month\[(.*)\]$", r"C(month)[T.\1]", regex=True)
    assert list(fit.params.index) == list(terms)
    np.testing.assert_allclose(fit.params, ref["coef"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(fit.bse, ref["se"], rtol=1e-8)
    assert fit.llf == pytest.approx(ref["loglik"].iloc[0], rel=1e-10)


def test_clogit_month_effects_fall_back_to_dense_dummies(panel):
    hand, effects = _hand_months(panel)
    # interacted: formulaic's dummies
    kept = clogit("y ~ x1 + x3 + C(month):x1 | g", panel)
    assert kept.design.time_var is None and kept.model._time_col is None
    assert (
        clogit("y ~ x1 + x3 + C(month) + x1:month | g", panel.assign(month=panel["month"].dt.month)).model._time_col
        is None
    )
    # two C() terms: both dense, equal to hand-made dummies
    two = clogit("y ~ x1 + x3 + C(month) + C(x2) | g", panel, vcov={"CRV1": "cl"})
    assert two.design.time_var is None and two.model._time_col is None
    x2 = {f"C(x2)[T.{v}]": (panel["x2"] == v).astype(float) for v in sorted(panel["x2"].unique())[1:]}
    cols = ["x1", "x3", *effects, *x2]
    dense = conditional_logit(hand.assign(**x2), "y", cols, "g", cluster="cl")
    _close(two, dense)
    # weights: the categorical path takes none, so dense dummies (_time_effect_dummies)
    weighted = clogit("y ~ x1 + x3 + C(month) | g", panel, weights=np.ones(len(panel)))
    assert weighted.design.time_var == "month" and weighted.model._time_col is None
    _close(weighted, conditional_logit(hand, "y", ["x1", "x3", *effects], "g", weights=np.ones(len(panel))))
    # the interaction with another term besides C(month) keeps the categorical path
    both = clogit("y ~ x1 + x3 + C(month) + x1:x3 | g", panel)
    assert both.design.time_var == "month" and both.model._time_col is not None


def test_time_effect_dummies_base_level_first():
    out = _time_effect_dummies(pd.Series([3, 1, 2, 3]), "m", (1, 2, 3))
    assert list(out.columns) == ["C(m)[T.2]", "C(m)[T.3]"]
    assert out.to_numpy().tolist() == [[0, 1], [0, 0], [1, 0], [0, 1]]


def test_interactions_and_transformations(data):
    fit = logit("y ~ arm * age + np.log(age) + I(age**2)", data)
    # formulaic orders terms by degree: the interaction comes last
    assert list(fit.params.index) == ["Intercept", "arm", "age", "np.log(age)", "I(age ** 2)", "arm:age"]
    hand = data.assign(inter=data["arm"] * data["age"], lg=np.log(data["age"]), sq=data["age"] ** 2)
    ref = logit_columns(hand, "y", ["arm", "age", "lg", "sq", "inter"])
    np.testing.assert_allclose(fit.params.to_numpy(), ref.params.to_numpy(), rtol=1e-10)
    no_const = logit("y ~ 0 + arm + age", data)
    assert "Intercept" not in no_const.params.index


def test_missing_rows_are_dropped_and_recorded(data):
    d = data.copy()
    d.loc[[3, 7], "age"] = np.nan
    d.loc[11, "cl"] = np.nan
    fit = logit("y ~ arm + age", d, vcov={"CRV1": "cl"})
    assert fit.nobs == len(d) - 3
    assert fit.dropped[0].count == 3 and "age (2)" in fit.dropped[0].reason and "cl (1)" in fit.dropped[0].reason
    assert len(fit.data) == len(d) - 3
    _same(fit, logit_columns(d.dropna(subset=["age", "cl"]), "y", ["arm", "age"], cluster="cl"))


def test_weights_and_clusters_as_arrays(data):
    w = np.arange(len(data)) % 3 + 1
    a = logit("y ~ arm + age", data, weights=w, vcov={"CRV1": data["cl"]})
    b = logit("y ~ arm + age", data.assign(w=w), weights="w", vcov={"CRV1": "cl"})
    _same(a, b)
    assert a.cluster_name == "cl"


@pytest.mark.parametrize(
    "formula, match",
    [
        ("y ~ arm + nope", "nope"),
        ("y ~ arm | cl", "belongs to clogit"),
        ("y arm", "exactly one '~'"),
    ],
)
def test_formula_errors(data, formula, match):
    with pytest.raises(FormulaError, match=match):
        logit(formula, data)


def test_clogit_errors(panel, data):
    with pytest.raises(FormulaError, match="no '| group' part"):
        clogit("y ~ x1", panel)
    with pytest.raises(FormulaError, match="one group column"):
        clogit("y ~ x1 | g + cl", panel)
    with pytest.raises(FormulaError, match="the first argument is the formula"):
        logit(data, "y")
    with pytest.raises(FormulaError, match=r"columns \['parent'\] are not in the data"):
        clogit("y ~ x1 | parent", panel)
    with pytest.raises(FormulaError, match="weights has 3 entries"):
        logit("y ~ arm", data, weights=[1, 2, 3])


def test_ecosystem_walkthrough_runs(capsys, tmp_path, monkeypatch):
    """Every python block of docs/ecosystem.md runs, in order, in one namespace, from an empty folder."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "ecosystem.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # outside the checkout: the data come from famtrial.examples
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/ecosystem.md", "exec"), namespace)
    out = capsys.readouterr().out
    assert "Wald test of treat_local = treat_holf" in out
    assert out.count("True") >= 2  # the within-parent sums and the statsmodels SE comparison
    assert (tmp_path / "odds_ratios.docx").is_file()


def test_vcov_hetero_in_memory_is_statas_robust_se():
    """``vcov="hetero"`` is a covariance name, not a column (it once was looked up as one): the logit's SEs
    are statsmodels' HC0 times Stata's sqrt(n / (n - 1)); the conditional logit's equal the column API's
    ``robust=True``."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"y": rng.integers(0, 2, n), "x": rng.normal(size=n), "g": np.repeat(np.arange(40), 10)})
    fit = logit("y ~ x", df, vcov="hetero")
    ref = sm.Logit(df["y"], sm.add_constant(df["x"])).fit(disp=0, cov_type="HC0")
    np.testing.assert_allclose(fit.bse.to_numpy(), ref.bse.to_numpy() * np.sqrt(n / (n - 1)), rtol=1e-6)
    robust = conditional_logit(df, "y", ["x"], "g", robust=True)
    np.testing.assert_allclose(clogit("y ~ x | g", df, vcov="hetero").bse.to_numpy(), robust.bse.to_numpy(), rtol=1e-12)
