"""Two-way fixed-effects LPM against statsmodels OLS with explicit parent and month dummies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from conftest import make_panel_frame
from famtrial.data.load import load_panel
from famtrial.models.lpm import lpm
from famtrial.report.compare import lpm_table
from famtrial.trial.effects import fe_model, trial_lpm


@pytest.fixture(scope="module")
def panel():
    return load_panel(make_panel_frame(n_families=90))


def test_matches_dummy_variable_ols(panel):
    res = trial_lpm(panel, "activation")
    d = panel.data
    post = (d["month"] >= pd.Period("2016-10", "M")).to_numpy()
    x = pd.DataFrame(
        {
            "coordinator_pooled": d["arm"].to_numpy() * post,
            **{c: d[c] for c in ("n_children", "married", "reduced_work_capacity")},
        },
        dtype=float,
    )
    dummies = pd.concat(
        [
            pd.get_dummies(d["parent_id"], prefix="p", dtype=float),
            pd.get_dummies(d["month"].astype(str), prefix="m", dtype=float).iloc[:, 1:],
        ],
        axis=1,
    )
    ols = sm.OLS(d["activation"].astype(float), pd.concat([x, dummies], axis=1)).fit(
        cov_type="cluster", cov_kwds={"groups": d["office"].to_numpy(), "use_correction": False}
    )
    g = d["office"].nunique()
    terms = list(x.columns)
    assert res.params.to_numpy() == pytest.approx(ols.params[terms].to_numpy(), abs=1e-10)
    expected = np.sqrt(np.diag(ols.cov_params().loc[terms, terms]) * g / (g - 1))
    assert res.bse.to_numpy() == pytest.approx(expected, rel=1e-6)
    assert res.nobs == len(d) and res.n_clusters == g and res.n_periods == 12
    frame = res.to_frame()
    assert frame.loc["coordinator_pooled", "coef_pp"] == pytest.approx(100 * res.params["coordinator_pooled"])
    assert "Within R2" in res.summary()


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
def test_table_beside_clogit(panel):
    fits = {"model1": fe_model(panel, "activation"), "model2": fe_model(panel, "activation", split=True)}
    lins = {"model1": trial_lpm(panel, "activation"), "model2": trial_lpm(panel, "activation", split=True)}
    tab = lpm_table(fits, lins, terms=panel.plan.treatment_terms)
    assert list(tab.frame.index) == [
        ("model1", "coordinator_pooled"),
        ("model2", "coordinator_local"),
        ("model2", "coordinator_holf"),
    ]
    assert tab.frame.loc[("model2", "coordinator_holf"), "pp"] == pytest.approx(
        100 * lins["model2"].params["coordinator_holf"]
    )
    assert "pp (LPM)" in tab.to_markdown()


def test_errors(panel):
    res = trial_lpm(panel, "activation")
    with pytest.raises(TypeError, match="no odds ratios"):
        res.odds_ratios()
    frame = panel.data.assign(x=1.0)
    frame.loc[frame.index[:3], "x"] = np.nan
    with pytest.raises(ValueError, match="3 rows have missing values in \\['x'\\]"):
        lpm(frame, "activation", ["x"], "parent_id", "month", "office")
    with pytest.raises(ValueError, match="columns not in the data: \\['nope'\\]"):
        lpm(frame, "activation", ["nope"], "parent_id", "month", "office")
