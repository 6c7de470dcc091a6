"""The trial layer: treatment indicators, the paper's model design, and the Tables 5/6 layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import famtrial
from conftest import make_panel_frame
from famtrial.data.load import load_panel
from famtrial.report.compare import compare_models, fe_numbers, model_tables
from famtrial.trial.effects import fe_design, fe_model, paper_models, treatment_indicators

# conftest's panel has 6 offices: the fixed-effects tables fitted on it warn by design
# (tests/models/test_model_errors.py asserts the warning itself)
pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


@pytest.fixture(scope="module")
def panel():
    return load_panel(make_panel_frame())


def test_treatment_switches_on_at_implementation_for_offered_arm(panel):
    data = panel.data
    pooled = treatment_indicators(panel)["coordinator_pooled"].to_numpy()
    expected = ((data["arm"] == 1) & (data["month"] >= pd.Period("2016-10", "M"))).to_numpy()
    np.testing.assert_array_equal(pooled, expected.astype(int))
    split = treatment_indicators(panel, split=True)
    np.testing.assert_array_equal(split.sum(axis=1).to_numpy(), pooled)
    assert (split.loc[data["model"].to_numpy() == "holf", "coordinator_local"] == 0).all()
    assert split["coordinator_holf"].sum() > 0 and split["coordinator_local"].sum() > 0


def test_linear_trend_counts_months_from_panel_start(panel):
    frame, names = fe_design(panel, "activation")
    assert names == ["coordinator_pooled", "n_children", "married", "reduced_work_capacity", "trend"]
    first = panel.data["month"].min()
    expected = (panel.data["month"] - first).map(lambda d: d.n).to_numpy()
    np.testing.assert_array_equal(frame["trend"].to_numpy(), expected)
    frame_m, names_m = fe_design(panel, "activation", trend="months")
    assert names_m == names[:-1] and "month" in frame_m  # month effects are categorical, fitted by the model
    fit = fe_model(panel, "activation", trend="months", cluster=None)
    months = [t for t in fit.params.index if t.startswith("month[")]
    assert len(months) == panel.data["month"].nunique() - 1 and months[0] == "month[2016-05]"  # base: the first
    dummies = pd.get_dummies(panel.data["month"].astype(str), prefix="m", dtype=float).iloc[:, 1:]
    dense = famtrial.conditional_logit(
        pd.concat([frame_m, dummies], axis=1), "activation", [*names_m, *dummies.columns], "parent_id"
    )
    np.testing.assert_allclose(fit.params.to_numpy(), dense.params.to_numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(fit.bse.to_numpy(), dense.bse.to_numpy(), rtol=1e-8)


def test_fe_model_matches_statsmodels_conditional_logit(panel):
    """Point estimates of the design against an independent implementation (statsmodels)."""
    from statsmodels.discrete.conditional_models import ConditionalLogit

    res = fe_model(panel, "activation")
    frame, names = fe_design(panel, "activation")
    sm = ConditionalLogit(frame["activation"], frame[names], groups=frame["parent_id"]).fit(
        disp=0, method="newton", maxiter=100, tol=1e-12
    )
    np.testing.assert_allclose(res.params[names].to_numpy(), np.asarray(sm.params), rtol=1e-4, atol=1e-6)
    assert res.cov_type == "cluster" and res.n_clusters == panel.data["office"].nunique()


def test_compare_models_lays_out_tables_5_and_6(panel):
    models = paper_models(panel)
    table = model_tables(models, panel.plan, n_parents=120)["table5"]
    assert table.title == "Table 5. Fixed-effects logit: participation in activation programmes"
    assert "clustered by office, G = 6" in table.notes and "linear time trend" in table.notes
    shown = table.display
    assert "Family coordinator (pooled)" in shown.index and "Family coordinator and HOLF" in shown.index
    assert "Pseudo R2" in shown.index and "trend" not in shown.index
    or1 = models["model1"].odds_ratios().loc["coordinator_pooled", "OR"]
    assert shown.loc["Family coordinator (pooled)", ("model1", "OR")].rstrip("*") == f"{or1:.2f}".lstrip("0")
    numbers = fe_numbers(models, panel.plan)
    assert numbers["table5.model1.coordinator_pooled.or"] == pytest.approx(or1)
    lo, hi = np.exp(models["model3"].conf_int().loc["married"])
    assert numbers["table6.model3.married.ci_low"] == pytest.approx(lo)
    assert numbers["table6.model3.married.ci_high"] == pytest.approx(hi)
    assert numbers["table5.model2.pseudo_r2"] == pytest.approx(models["model2"].prsquared)


def test_compare_models_notes_come_from_the_results(panel):
    plain = fe_model(panel, "activation", trend="none", cluster=None)
    clustered = fe_model(panel, "activation")
    table = compare_models({"a": plain})
    assert "model-based SE" in table.notes and "trend" not in table.notes and "clustered" not in table.notes
    mixed = compare_models({"a": plain, "b": clustered})
    assert "a: model-based SE; b: cluster-robust SE (clustered by office, G = 6)" in mixed.notes
    assert "models b adjusted for a linear trend" in mixed.notes
    assert list(mixed.display.columns) == [
        ("a", "OR"),
        ("a", "SE"),
        ("a", "95% CI"),
        ("b", "OR"),
        ("b", "Robust SE"),
        ("b", "95% CI"),
    ]
    with pytest.raises(TypeError, match="non-empty mapping"):
        compare_models({})
    with pytest.raises(TypeError, match="not famtrial results"):
        compare_models({"a": 1})


def test_compare_models_mixes_logit_and_conditional_logit(panel):
    """A cross-sectional logit and a conditional logit in one table: each model's own terms, blanks elsewhere."""
    from famtrial.models.formula import logit

    last = panel.data[panel.data["month"] == panel.data["month"].max()]
    cross = logit("activation ~ arm + married", last, vcov={"CRV1": "office"})
    fe = fe_model(panel, "activation")
    table = compare_models({"Logit": cross, "FE logit": fe}, first=["arm"])
    shown = table.display
    assert shown.columns.nlevels == 2 and list(shown.columns.get_level_values(0).unique()) == ["Logit", "FE logit"]
    assert shown.loc["arm", ("Logit", "OR")].rstrip("*") == f"{np.exp(cross.params['arm']):.2f}"
    assert shown.loc["arm", ("FE logit", "OR")] == "" and shown.loc["Intercept", ("FE logit", "OR")] == ""
    assert shown.loc["married", ("FE logit", "OR")].rstrip("*") == f"{np.exp(fe.params['married']):.2f}"
    assert shown.loc["Pseudo R2", ("Logit", "OR")] == f"{cross.prsquared:.2f}"
    assert table.frame.loc["married", "Logit.or"] == pytest.approx(np.exp(cross.params["married"]))
    assert "Logit" in table.notes and "Conditional" in table.notes


def test_two_level_headers_in_every_export(panel, tmp_path):
    models = paper_models(panel)
    table = model_tables(models, panel.plan, n_parents=120)["table5"]
    md = table.to_markdown().splitlines()
    header = [c.strip() for c in md[2].strip("|").split("|")]
    assert header == ["", "model1", "", "", "model2", "", ""]
    sub = [c.strip() for c in md[4].strip("|").split("|")]
    assert sub == ["", "**OR**", "**Robust SE**", "**95% CI**", "**OR**", "**Robust SE**", "**95% CI**"]
    tex = table.to_latex()
    assert r" & \multicolumn{3}{c}{model1} & \multicolumn{3}{c}{model2} \\ \cmidrule(lr){2-4}\cmidrule(lr){5-7}" in tex
    assert r" & OR & Robust SE & 95\% CI & OR & Robust SE & 95\% CI \\" in tex
    html = table.to_html()
    assert '<th colspan="3" halign="left">model1</th>' in html and html.count("<th>Robust SE</th>") == 2
    text = str(table).splitlines()
    assert text[1].split() == ["model1", "model2"] and text[2].split()[:3] == ["OR", "Robust", "SE"]
    docx = pytest.importorskip("docx")
    rows = [[c.text for c in r.cells] for r in docx.Document(str(table.save(tmp_path / "t5.docx"))).tables[0].rows]
    assert rows[0] == ["", *["model1"] * 3, *["model2"] * 3]  # one merged cell per model
    assert rows[1] == ["", "OR", "Robust SE", "95% CI", "OR", "Robust SE", "95% CI"]
