"""The Summary object: the fit's numbers in fixed formats (p < 0.001 style), keep/drop, omitted terms, text/HTML/LaTeX;
WaldTest/LRTest notebook displays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from famtrial.errors import PostEstimationError
from famtrial.models.base import DropRecord
from famtrial.models.formula import clogit, logit
from famtrial.models.summary import Summary, format_p, select_terms


@pytest.fixture(scope="module")
def fit():
    d = pd.read_csv("tests/reference/logit/data.csv")
    return logit("y ~ arm + rwc + age", d, vcov={"CRV1": "cl"})


def test_format_p():
    assert [format_p(p) for p in (2.39625e-197, 0.0009999, 0.001, 0.0345, 0.5, 1.0)] == [
        "<0.001",
        "<0.001",
        "0.001",
        "0.035",  # 3 decimals
        "0.500",
        "1.000",
    ]
    assert format_p(float("nan")) == "" and format_p(1e-5, digits=4) == "<0.0001"


def test_summary_numbers_are_the_fits(fit):
    s = fit.summary()
    assert isinstance(s, Summary) and str(s) == s.as_text() == repr(s)
    table = s.table
    assert list(table.columns) == ["coef", "std err", "z", "P>|z|", "[95% lower", "95% upper]"]
    np.testing.assert_array_equal(table["coef"], fit.params)
    np.testing.assert_array_equal(table["std err"], fit.bse)
    np.testing.assert_array_equal(table["P>|z|"], fit.pvalues)
    shown = s.formatted()
    assert (
        shown.loc["arm", "coef"] == f"{fit.params['arm']:.4f}" and shown.loc["arm", "z"] == f"{fit.tvalues['arm']:.2f}"
    )
    assert fit.pvalues["arm"] < 0.001 and shown.loc["arm", "P>|z|"] == "<0.001"
    assert "e-" not in s.as_text()  # no scientific notation anywhere
    odds = fit.summary(odds=True, alpha=0.1, digits=2)
    assert list(odds.table.columns)[0] == "OR" and "[90% lower" in odds.table.columns
    assert odds.formatted().loc["arm", "OR"] == f"{np.exp(fit.params['arm']):.2f}"
    assert str(fit) == s.as_text() and "Covariance" in s  # __contains__ searches the text


def test_t_reference_names_the_t_columns():
    d = pd.read_csv("tests/reference/logit/data.csv")
    s = logit("y ~ arm", d, vcov={"CRV1": "cl"}, t_reference=True).summary()
    assert list(s.table.columns)[2:4] == ["t", "P>|t|"]


def test_keep_and_drop_are_regular_expressions(fit):
    assert list(fit.summary(keep=["arm", "^rwc$"]).table.index) == ["arm", "rwc"]
    assert list(fit.summary(drop="Intercept|age").table.index) == ["arm", "rwc"]
    assert list(fit.summary(keep="a", drop="^age").table.index) == ["arm"]  # keep first, then drop
    assert select_terms(["C(month)[T.2016-10]", "x"], drop=r"^C\(month\)") == ["x"]
    with pytest.raises(PostEstimationError, match=r"keep='nothing' matches none of the terms \['Intercept'"):
        fit.summary(keep="nothing")
    with pytest.raises(PostEstimationError, match=r"drop='\(' is not a regular expression"):
        fit.summary(drop="(")
    with pytest.raises(PostEstimationError, match="digits=1.5 must be a whole number from 0 to 12"):
        fit.summary(digits=1.5)


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")
def test_omitted_terms_show_as_rows():
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    p["x1_copy"] = 2 * p["x1"]  # collinear: the estimator omits it and records it
    fe = clogit("y ~ x1 + x2 + x1_copy | g", p, vcov={"CRV1": "cl"})
    s = fe.summary()
    assert list(s.table.index) == ["x1", "x2", "x1_copy"] and s.omitted == ("x1_copy",)
    assert s.formatted().loc["x1_copy"].tolist() == ["(omitted)", "", "", "", "", ""]
    assert "x1_copy  (omitted)" in s.as_text() and "variable x1_copy omitted" in s
    assert fe.summary(drop="copy").omitted == ()
    # whatever the results record as omitted (an ``omitted`` attribute, e.g. dropped dummies) shows as well
    hooked = dataclasses.replace(fe, dropped=(*fe.dropped, DropRecord("variable", 0, "collinear", ("z",))))
    assert hooked.summary().omitted == ("x1_copy", "z")


def test_html_and_latex(fit):
    s = fit.summary()
    html = s._repr_html_()
    assert "<table" in html and "&lt;0.001" in html and "y ~ arm + rwc + age" in html
    assert fit._repr_html_() == html
    tex = s.as_latex()
    assert tex.startswith("\\begin{tabular}{lrrrrrr}") and tex.endswith("\\end{tabular}")
    assert "$<$0.001" in tex and "P$>$$|$z$|$" in tex and "y \\textasciitilde{} arm" in tex
    assert f"arm & {fit.params['arm']:.4f} & {fit.bse['arm']:.4f}" in tex


def test_tests_display_as_tables(fit):
    w = fit.wald_test("arm = rwc, age = 0")
    html = w._repr_html_()
    assert "<caption>Wald test</caption>" in html and "arm = rwc; age = 0" in html and f"{w.statistic:.4f}" in html
    small = logit("y ~ arm", pd.read_csv("tests/reference/logit/data.csv"))
    big = logit("y ~ arm + rwc", pd.read_csv("tests/reference/logit/data.csv"))
    lr = big.lr_test(small)
    assert "rwc = 0" in lr._repr_html_() and "chi2(1)" in lr._repr_html_()
