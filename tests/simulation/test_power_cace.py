"""``famtrial.power(..., estimand="cace")``: planning a trial for the complier effect, checked at the truth.

The design's generating complier effect is known (:func:`complier_risk_difference`: every row has the
same linear predictor, so the complier risk difference is ``expit(a + log OR) - expit(a)``); at zero
effect the rejection rate must be the level and at a large effect near one, within Monte Carlo error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

import famtrial as ft
from famtrial.simulation.design import TrialDesign, design_from_dict
from famtrial.simulation.power import minimum_detectable_effect, power


def _design(take_up: float = 0.6, offices: int = 20) -> TrialDesign:
    return design_from_dict(
        {
            "months": {"first": "2018-01", "last": "2019-06", "implementation": "2018-07"},
            "offices": [{"n": offices, "families": [15, 20], "control_share": [0.4, 0.6]}],
            "outcomes": {"y": {"intercept_mean": -1.0, "intercept_sd": 0.0, "effect": 0.8}},
            "compliance": {"take_up": take_up, "entry_months": 1},
        }
    )


def test_cace_power_runs_reports_the_truth_and_refuses_unsupported_combinations() -> None:
    d = _design()
    r = power(d, effect_or=[1.0, 2.0], n_sims=4, threshold=None, estimand="cace", progress=False)
    assert r.estimand == "cace" and r.tests == ("cluster_z", "t")
    np.testing.assert_allclose(r.scenarios["true_cace_rd"], [0.0, expit(-1 + np.log(2.0)) - expit(-1)], rtol=1e-12)
    assert {"take_up", "itt_estimate"} <= set(r.simulations)
    # the CACE is the ITT scaled by the offered arm's take-up share (the Wald ratio's denominator, ~0.6)
    assert 0.45 < r.simulations["take_up"].mean() < 0.75
    assert "CACE" in r.model and "complier risk difference" in r.table().notes
    # the ITT default is unchanged: the fixed-effects logit with all four tests
    assert ft.power is power
    with pytest.raises(ValueError, match="estimand='bogus'"):
        power(d, n_sims=2, estimand="bogus", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"estimand='cace' with tests \['score_bootstrap'\] is not supported"):
        power(d, n_sims=2, tests=["score_bootstrap"], estimand="cace", progress=False)
    with pytest.raises(ValueError, match="analysis='cross_section' is not supported"):
        power(d, n_sims=2, tests=["cluster_z"], analysis="cross_section", estimand="cace", progress=False)
    with pytest.raises(ValueError, match="no \\[compliance\\] table"):
        power(_no_compliance(d), n_sims=2, estimand="cace", progress=False)
    with pytest.raises(ValueError, match="plan or the replica"):
        power("replica", n_sims=2, estimand="cace", progress=False)


def test_a_scenario_file_plans_for_the_cace(tmp_path: Path) -> None:
    from famtrial.simulation.power import run_scenario

    (tmp_path / "design.toml").write_text(
        '[months]\nfirst = "2018-01"\nlast = "2019-06"\nimplementation = "2018-07"\n'
        "[[offices]]\nn = 12\nfamilies = [15, 20]\ncontrol_share = [0.4, 0.6]\n"
        "[outcomes.y]\nintercept_mean = -1.0\nintercept_sd = 0.0\neffect = 0.8\n"
        "[compliance]\ntake_up = 0.6\nentry_months = 1\n",
        encoding="utf-8",
    )
    (tmp_path / "s.toml").write_text(
        'design = "design.toml"\nn_sims = 3\n[analysis]\nthreshold = "none"\nestimand = "cace"\n'
        "[grid]\neffect_or = [1.0, 2.0]\n",
        encoding="utf-8",
    )
    result, _ = run_scenario(tmp_path / "s.toml", progress=False)
    assert result.estimand == "cace" and result.tests == ("cluster_z", "t") and "CACE" in result.describe()
    (tmp_path / "s.toml").write_text('design = "design.toml"\n[analysis]\nestimand = "late"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="estimand='late'"):
        run_scenario(tmp_path / "s.toml", progress=False)


def _no_compliance(d: TrialDesign) -> TrialDesign:
    from dataclasses import replace

    return replace(d, compliance=None)


@pytest.mark.slow
def test_cace_power_is_the_level_at_zero_and_high_at_a_large_effect() -> None:
    """150 trials per scenario: rejection at OR 1 within 3 MC SE of 5%, power > 0.9 at complier OR 2.5.

    The 2SLS CACE is unbiased for the generating complier risk difference (within 3 MC SE) and its
    95% interval covers it at 95% (within 3 MC SE). Measured (seed 20261130): rejection at OR 1 0.067
    (MC SE 0.020; t(G-1): 0.053), power 1.000 at OR 2.5, bias +0.0011 (MC SE 0.0028) at the truth 0.210,
    coverage 0.953 (MC SE 0.017).
    """
    n = 150
    r = power(_design(), effect_or=[1.0, 2.5], n_sims=n, threshold=None, estimand="cace", progress=False)
    s = r.summary
    assert (s["failed"] == 0).all()
    level, level_se = s.loc[0, "power_cluster_z"], np.sqrt(0.05 * 0.95 / n)
    assert abs(level - 0.05) < 3 * level_se, (level, level_se)
    assert s.loc[1, "power_cluster_z"] > 0.9
    for sid in (0, 1):
        assert abs(s.loc[sid, "bias"]) < 3 * s.loc[sid, "bias_mc_se"], s.loc[sid, ["bias", "bias_mc_se"]]
        assert abs(s.loc[sid, "coverage_cluster_z"] - 0.95) < 3 * np.sqrt(0.95 * 0.05 / n)
    # the ITT's power at the same complier OR is the CACE's (one-sided non-compliance: the same test up to
    # the first stage's noise), so planning for the CACE never needs fewer offices than for the ITT
    itt = power(_design(), effect_or=2.5, n_sims=n, threshold=None, tests=["cluster_z"], progress=False)
    assert abs(itt.summary.loc[0, "power_cluster_z"] - s.loc[1, "power_cluster_z"]) < 0.1


@pytest.mark.slow
def test_minimum_detectable_complier_effect_falls_with_take_up() -> None:
    """The MDE (complier OR, power 80%, cluster-robust z) is larger when fewer offered families accept."""
    kw = {"n_sims": 60, "threshold": None, "estimand": "cace", "effect_range": (1.0, 4.0), "tol": 0.05}
    high = minimum_detectable_effect(_design(take_up=0.9), **kw)
    low = minimum_detectable_effect(_design(take_up=0.4), **kw)
    assert high.test == "cluster_z"
    assert 1.0 < high.mde_or < low.mde_or < 4.0
