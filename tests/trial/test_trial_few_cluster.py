"""Few-cluster inference honours the plan's ``[inference] bootstrap_weights``: the score bootstrap runs
with the plan's weights and the table's note names the weights actually used."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

from conftest import make_panel_frame
from famtrial.data.load import load_panel
from famtrial.errors import FamtrialWarning
from famtrial.inference.score_bootstrap import score_bootstrap
from famtrial.plan.spec import Plan, load_plan
from famtrial.trial.effects import fe_design, fit_plan_model
from famtrial.trial.few_cluster import FewClusterInference, few_cluster_inference

# the few-cluster drivers on conftest's 6-office panel: the warning is their premise
# (tests/models/test_model_errors.py asserts the warning itself)
pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


def _panel(weights: str | None):
    raw = load_plan().to_dict()
    if weights is not None:
        raw["inference"]["bootstrap_weights"] = weights
    return load_panel(make_panel_frame(seed=3), Plan.from_dict(raw))


def _score_bootstrap_of(panel, model: str, weights: str, seed: int):
    spec = panel.plan.model(model)
    fit = fit_plan_model(panel, spec)
    frame, _ = fe_design(panel, spec.outcome, split=spec.split, trend=spec.time, covariates=spec.covariates)
    term = next(t for t in fit.params.index if t in panel.plan.treatment_terms)
    return score_bootstrap(fit, term, frame[panel.columns.office], weights=weights, seed=seed)


def _mammen_warning(weights: str):
    """9,999 Mammen draws exceed the 2^6 distinct vectors of G = 6 offices: famtrial warns, as boottest does."""
    return pytest.warns(FamtrialWarning, match="Mammen draws exceed") if weights == "mammen" else nullcontext()


def _run(panel):
    return few_cluster_inference(panel, models=["model1"], n_perm=3, seed=11, n_jobs=1, progress=False)


def test_default_weights_are_rademacher_enumerated_and_named():
    panel = _panel(None)
    assert panel.plan.bootstrap_weights == "rademacher"
    res = _run(panel)
    assert res.bootstrap_weights == "rademacher" and res.bootstrap_enumerated and res.bootstrap_draws == 2**6
    assert "(boottest's statistic, Rademacher weights, all 64 sign vectors)" in res.table.notes
    direct = _score_bootstrap_of(panel, "model1", "rademacher", seed=11)
    assert res.frame.loc["model1", "p_score_bootstrap"] == direct.pvalue


@pytest.mark.parametrize(("weights", "word"), [("webb", "Webb"), ("mammen", "Mammen")])
def test_plan_weights_reach_the_score_bootstrap_and_the_note(weights, word):
    panel = _panel(weights)
    assert panel.plan.bootstrap_weights == weights
    with _mammen_warning(weights):
        res = _run(panel)
    assert res.bootstrap_weights == weights and not res.bootstrap_enumerated and res.bootstrap_draws == 9999
    assert f"(boottest's statistic, {word} weights, 9,999 draws)" in res.table.notes
    assert "Rademacher" not in res.table.notes
    with _mammen_warning(weights):
        direct = _score_bootstrap_of(panel, "model1", weights, seed=11)
    row = res.frame.loc["model1"]
    assert row["p_score_bootstrap"] == direct.pvalue and row["score_statistic"] == direct.statistic
    lo, hi = direct.odds_ratio_conf_int()
    assert (row["sb_or_ci_low"], row["sb_or_ci_high"]) == (lo, hi)


def test_note_without_a_bootstrap_names_the_weights_only():
    frame = _run(_panel(None)).frame
    res = FewClusterInference(frame=frame, n_perm=3, n_clusters=6, bootstrap_weights="mammen")
    assert "(boottest's statistic, Mammen weights)" in res.table.notes
    assert np.isfinite(res.frame["p_score_bootstrap"]).all()


def test_notes_carry_the_caution_and_the_score_bootstraps_floor_when_it_binds():
    """G = 6 < 10: the caution; with all 2^G sign vectors p moves in steps of 2/2^G, and the note says so at the bottom."""
    res = _run(_panel(None))
    g = res.n_clusters
    assert (
        "Few clusters: G = 6 offices, fewer than 10; the cluster z p-value uses the normal reference" in res.table.notes
    )
    floor = 2 / 2**g
    assert res.bootstrap_enumerated and res.bootstrap_draws == 2**g
    steps = res.frame["p_score_bootstrap"].to_numpy() / floor
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)  # multiples of 2/2^G (0 included)
    binds = bool((res.frame["p_score_bootstrap"] <= floor + 1e-12).any())
    assert ("score bootstrap's p-values move in steps" in res.table.notes) == binds
    above = FewClusterInference(
        frame=res.frame.assign(p_score_bootstrap=0.5), n_perm=3, n_clusters=g, bootstrap_draws=2**g, units=res.units
    )
    assert "move in steps" not in above.table.notes
    for bottom in (0.0, floor):  # no other pair of sign vectors exceeds, or one
        at_floor = res.frame.assign(p_score_bootstrap=bottom)
        bound = FewClusterInference(
            frame=at_floor, n_perm=3, n_clusters=g, bootstrap_draws=2**g, bootstrap_enumerated=True, units=res.units
        )
        assert (
            f"With G = {g} the score bootstrap's p-values move in steps of 2/{2**g:,} = {2 / 2**g:.4f}"
            in bound.table.notes
        )
        assert f"a p-value here is 0 or {2 / 2**g:.4f}" in bound.table.notes
    bound_note = f"|T| <= sqrt(G - 1) = {np.sqrt(g - 1):.2f}"
    assert (bound_note in res.table.notes) == (res.statistic == "score")
    wald = FewClusterInference(frame=res.frame, n_perm=3, n_clusters=g, statistic="wald", units=res.units)
    assert bound_note not in wald.table.notes
    many = FewClusterInference(frame=at_floor, n_perm=3, n_clusters=g, few_clusters=5, units=res.units)
    assert "Few clusters" not in many.table.notes  # the plan's threshold decides
