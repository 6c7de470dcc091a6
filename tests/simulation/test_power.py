"""Power by simulation: size at OR = 1, monotone power, the design-effect formula, executors, MDE, CLI.

Monte Carlo tolerances are derived from the binomial MC SE of a rejection rate, sqrt(p(1-p)/R),
with fixed seeds (so each test is deterministic, and a failure means a real change).
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from famtrial._paths import data_dir
from famtrial.cli import main as cli_main
from famtrial.simulation.design import Columns, OfficeGroup, Outcome, TrialDesign, load_design, simulate_panel
from famtrial.simulation.power import (
    PowerResult,
    design_effect_power,
    marginal_icc,
    minimum_detectable_effect,
    power,
)

# power simulates trials of 4-12 offices: the few-cluster warning is the state under study
# (tests/models/test_model_errors.py asserts the warning itself)
pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")

matplotlib.use("Agg")

CASEWORK = data_dir() / "synthetic" / "casework.toml"
RULE = {"threshold": 0.25, "unit": "parent"}


def _small(offices: int = 12, office_effect_sd: float = 0.0) -> TrialDesign:
    """The casework design made small: 35-45 households per office, 6 + 6 months, no effect heterogeneity."""
    design = load_design(CASEWORK)
    work = replace(design.outcome("work"), office_effect_sd=office_effect_sd)
    design = replace(design, outcomes=(work, design.outcome("educ")))
    return design.vary(offices=offices, families_per_office=(35, 45), months_pre=6, months_post=6)


def _tiny(offices: int = 12) -> TrialDesign:
    """Smaller still, for Monte Carlo tests: 25-30 households per office, 4 + 4 months."""
    return _small(offices).vary(families_per_office=(25, 30), months_pre=4, months_post=4)


def _within(rate: float, target: float, n: int, k: float = 3.0) -> bool:
    return abs(rate - target) <= k * np.sqrt(target * (1 - target) / n)


@pytest.mark.slow
def test_rejection_rates_at_or_1_are_nominal_within_mc_error():
    """Sharp null (OR = 1, no office heterogeneity), 10 analysed offices: t(G-1), score bootstrap and
    randomization inference reject 5% within 3 MC SEs; intervals cover 95% within 3 MC SEs."""
    n = 200
    res = power(_tiny(), outcome="work", effect_or=1.0, n_sims=n, seed=11, ri_draws=19, progress=False, **RULE)
    s = res.summary.iloc[0]
    assert s["failed"] <= 0.02 * n and 9.5 <= s["offices_analysed"] <= 10
    ok = n - s["failed"]
    for test in ("t", "score_bootstrap", "randomization"):
        assert _within(s[f"power_{test}"], 0.05, ok), (test, s[f"power_{test}"])
    for test in ("t", "score_bootstrap"):
        assert _within(s[f"coverage_{test}"], 0.95, ok), (test, s[f"coverage_{test}"])
    assert abs(s["bias"]) < 3 * s["bias_mc_se"]
    # the normal-reference z over-rejects with 10 clusters (the size study's finding at 14)
    assert s["power_cluster_z"] >= s["power_t"]


@pytest.mark.slow
def test_power_rises_with_the_effect_and_with_offices():
    n = 60
    res = power(
        _tiny(),
        outcome="work",
        effect_or=[1.0, 1.3, 1.7],
        offices=[6, 18],
        n_sims=n,
        seed=5,
        tests=("t", "score_bootstrap"),
        progress=False,
        **RULE,
    )
    # 6 offices leave 5 after the rule: 2^5 = 32 sign vectors; boottest counts only |t*| > |t| (the two
    # vectors that reproduce t tie and do not count), so the bootstrap can reject, and its power rises too
    sb = res.power("score_bootstrap").query("offices == 18").sort_values("effect_or")["power"].to_numpy()
    assert sb[-1] > sb[0]
    frame = res.power("t")
    tol = 2 * np.sqrt(0.25 / n)  # 2 MC SEs at the least favourable rate
    for offices, grp in frame.groupby("offices"):
        p = grp.sort_values("effect_or")["power"].to_numpy()
        assert (np.diff(p) >= -tol).all(), (offices, p)
        assert p[-1] - p[0] > 3 * np.sqrt(0.25 / n), (offices, p)
    wide = frame.pivot(index="effect_or", columns="offices", values="power")
    assert (wide[18] >= wide[6] - tol).all()
    assert wide.loc[1.3, 18] - wide.loc[1.3, 6] > 2 * np.sqrt(0.25 / n)


def _cluster_randomized(tau: float, office_sd: float) -> TrialDesign:
    return TrialDesign(
        columns=Columns(),
        first_month="2019-03",
        last_month="2019-04",
        implementation="2019-04",
        offices=(OfficeGroup(60, (30, 30), (0.5, 0.5)),),
        randomize="office",
        outcomes=(Outcome("y", -1.0, 1.0, effects=(("", tau),), office_intercept_sd=office_sd),),
    )


@pytest.mark.slow
def test_cross_sectional_power_matches_the_design_effect_formula():
    """60 offices of 30 persons, 30 offices randomized to each arm, a logit of y on the arm (SE clustered by
    office) in the one post month: simulated power equals the closed form with DE = 1 + (m - 1) ICC
    within 3 MC SEs, and differs from the formula without the design effect (DE = 1)."""
    n, sd = 300, 0.4
    res = power(
        _cluster_randomized(0.0, sd),
        effect_or=[1.25, 1.45],
        analysis="cross_section",
        threshold=None,
        tests=("cluster_z",),
        n_sims=n,
        seed=21,
        progress=False,
    )
    assert (res.summary["offices_analysed"] == 60).all()
    far = 0
    for sid, row in res.scenarios.iterrows():
        tau = np.log(row["effect_or"])
        p0, icc0 = marginal_icc(-1.0, sd, 1.0)
        p1, icc1 = marginal_icc(-1.0 + tau, sd, 1.0)
        analytic = design_effect_power(p0, p1, 900, 900, 30, icc0, icc1)
        naive = design_effect_power(p0, p1, 900, 900, 30, 0.0, 0.0)
        simulated = res.summary.loc[sid, "power_cluster_z"]
        mc_se = np.sqrt(analytic * (1 - analytic) / n)
        assert abs(simulated - analytic) < 3 * mc_se, (row["effect_or"], simulated, analytic)
        far += abs(simulated - naive) > 3 * mc_se
    assert far == 2


def test_marginal_icc_against_direct_simulation():
    rng = np.random.default_rng(0)
    u = rng.normal(0, 0.5, 4000)
    cond = (1 / (1 + np.exp(-(-1 + u[:, None] + rng.normal(0, 1.0, (4000, 400)))))).mean(axis=1)
    p, icc = marginal_icc(-1.0, 0.5, 1.0)
    assert p == pytest.approx(cond.mean(), abs=0.005)
    assert icc == pytest.approx(cond.var() / (p * (1 - p)), rel=0.08)
    assert marginal_icc(-1.0, 0.0, 1.0)[1] == pytest.approx(0.0, abs=1e-12)


def test_design_effect_power_reduces_to_the_two_sample_formula():
    # m = 1 or ICC = 0: the usual two-sample Wald power for a log-OR
    p0, p1, n = 0.3, 0.4, 500
    b = np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))
    se = np.sqrt(1 / (n * p1 * (1 - p1)) + 1 / (n * p0 * (1 - p0)))
    from scipy import stats

    expected = stats.norm.cdf(b / se - 1.959963984540054) + stats.norm.cdf(-b / se - 1.959963984540054)
    assert design_effect_power(p0, p1, n, n, 1, 0.9) == pytest.approx(expected, rel=1e-12)
    assert design_effect_power(p0, p1, n, n, 40, 0.0) == pytest.approx(expected, rel=1e-12)
    assert design_effect_power(p0, p1, n, n, 40, 0.05) < expected


class _Client:
    """A Dask-like client that runs map eagerly (enough to exercise the client path)."""

    def map(self, fn, items, pure=True):
        return [fn(i) for i in items]

    def gather(self, futures):
        return futures


@pytest.mark.processes
def test_identical_results_serially_in_processes_and_on_a_client():
    kw = dict(
        outcome="work",
        effect_or=[1.0, 1.4],
        offices=6,
        n_sims=2,
        seed=8,
        tests=("t", "score_bootstrap"),
        progress=False,
        **RULE,
    )
    serial = power(_small(), n_jobs=1, **kw)
    procs = power(_small(), n_jobs=2, **kw)
    client = power(_small(), client=_Client(), **kw)
    pd.testing.assert_frame_equal(serial.simulations, procs.simulations)
    pd.testing.assert_frame_equal(serial.simulations, client.simulations)
    # common random numbers: simulation r uses the same data seed in every scenario
    a, b = (serial.simulations[serial.simulations["scenario"] == k].reset_index(drop=True) for k in (0, 1))
    assert (b["estimate"] > a["estimate"]).all()


def _fake(powers: dict[float, float], n: int = 100) -> PowerResult:
    ors = sorted(powers)
    scenarios = pd.DataFrame({"effect_or": ors, "true_log_or": np.log(ors)})
    scenarios.index.name = "scenario"
    pw = np.array([powers[o] for o in ors])
    summary = pd.DataFrame({"power_t": pw, "power_t_mc_se": np.sqrt(pw * (1 - pw) / n)}, index=scenarios.index)
    return PowerResult(
        scenarios=scenarios,
        summary=summary,
        simulations=pd.DataFrame(),
        tests=("t",),
        alpha=0.05,
        n_sims=n,
        seed=0,
        outcome="y",
        analysis="fe",
        elapsed=0.0,
        varied=("effect_or",),
    )


def test_minimum_detectable_effect_interpolates_in_log_or():
    res = _fake({1.0: 0.05, 1.2: 0.5, 1.5: 0.9})
    mde = res.minimum_detectable_effect(0.8, "t").iloc[0]
    x = np.log(1.2) + (0.8 - 0.5) / (0.9 - 0.5) * (np.log(1.5) - np.log(1.2))
    assert mde["mde_or"] == pytest.approx(np.exp(x)) and mde["reached"] == "interpolated"
    assert mde["mde_log_or_mc_se"] > 0
    assert res.minimum_detectable_effect(0.95, "t").iloc[0]["reached"] == "above grid"
    assert res.minimum_detectable_effect(0.04, "t").iloc[0]["reached"] == "below grid"
    with pytest.raises(ValueError, match="was not run"):
        res.minimum_detectable_effect(0.8, "score_bootstrap")


@pytest.mark.slow  # over 8 s: the full set runs it (the fast tier stays under two minutes)
def test_minimum_detectable_effect_by_bisection():
    mde = minimum_detectable_effect(
        _small(offices=6),
        outcome="work",
        power_target=0.5,
        test="t",
        effect_range=(1.0, 2.0),
        tol=0.1,
        n_sims=10,
        seed=3,
        **RULE,
    )
    ev = mde.evaluations
    assert mde.upper_or / mde.lower_or <= 1.1 and mde.mde_or == mde.upper_or
    assert ev.loc[ev["effect_or"] == mde.upper_or, "power"].iloc[0] >= 0.5
    assert ev.loc[ev["effect_or"] == mde.lower_or, "power"].iloc[0] < 0.5
    assert "minimum detectable OR" in str(mde)


def test_table_figure_and_describe():
    res = power(
        _small(offices=6),
        outcome="work",
        effect_or=[1.0, 1.5],
        offices=[4, 6],
        n_sims=2,
        seed=1,
        tests=("cluster_z", "t"),
        progress=False,
        **RULE,
    )
    table = res.table()
    assert list(table.display.columns[:2]) == ["effect_or", "offices"] and len(table.display) == 4
    assert "power, z with t(G-1)" in table.display.columns and "Monte Carlo SE" in table.notes
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert res.plot("offices", ax=ax) is fig
    assert len(ax.get_legend().get_texts()) == 4  # 2 tests x 2 effect sizes
    plt.close(fig)
    plt.close(res.plot("effect_or", tests=["t"]))
    assert "effect_or = 1.5, offices = 6" in repr(res)
    assert set(res.power()["test"]) == {"cluster_z", "t"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tests": ("wald",)}, "give distinct tests"),
        ({"tests": ("randomization",), "ri_draws": 9}, "ri_draws >= 19"),
        ({"analysis": "cross_section"}, "not supported"),
        ({"analysis": "pooled"}, "analysis='pooled'"),
        ({"effect_or": []}, "effect_or=\\[\\] is empty"),
        ({"effect_or": -1.0}, "positive odds ratio"),
        ({"offices": [0]}, "offices=0"),
        ({"months_pre": 0}, "months_pre=0"),
        ({"outcome": "income"}, "outcome 'income' is not in the design"),
        ({"n_sims": 1}, "n_sims=1"),
        ({"threshold": 1.5}, "threshold=1.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        power(_small(offices=4), **{"n_sims": 2, "progress": False, **kwargs})


def test_failed_trials_are_counted_not_hidden():
    # a rule no office meets: every trial fails, and the error says why
    with pytest.raises(ValueError, match="no simulated trial could be analysed.*no office meets the rule"):
        power(_small(offices=4), n_sims=2, threshold=0.9, tests=("t",), progress=False)


def test_main_runs_a_scenario_file(tmp_path, capsys):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(f'''design = "{CASEWORK}"
outcome = "work"
n_sims = 2
seed = 4
tests = ["t"]
[analysis]
threshold = 0.25
unit = "parent"
[grid]
effect_or = [1.0, 1.5]
offices = [4, 6]
months_pre = 3
months_post = 3
families_per_office = [[20, 25]]
[output]
mde_test = "t"
''')
    assert cli_main(["power", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    for name in ("power.csv", "simulations.csv", "power.md", "power.png"):
        assert (tmp_path / "out" / name).exists(), name
    assert "Minimum detectable OR" in (tmp_path / "out" / "power.md").read_text()
    assert "effect_or = 1.5, offices = 6" in capsys.readouterr().out
    scenario.write_text(scenario.read_text().replace("[analysis]", "[analysis]\nthreshhold = 0.3"))
    assert cli_main(["power", str(scenario), "--out", str(tmp_path / "out")]) == 2
    assert "analysis: unknown keys ['threshhold']" in capsys.readouterr().err


def test_office_randomization_assigns_whole_offices():
    data = simulate_panel(_cluster_randomized(0.3, 0.4), seed=1)
    per_office = data.groupby("office")["arm"].agg(["min", "max"])
    assert (per_office["min"] == per_office["max"]).all() and per_office["min"].sum() == 30


# -- sources: the replica (the size study's path), plans calibrated to their data, a Dask cluster -------------
ROOT = Path(__file__).resolve().parents[2]


def _size_study():
    spec = importlib.util.spec_from_file_location("size_study", ROOT / "benchmarks" / "size_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # Monte Carlo: the size study's replications
def test_power_at_or_1_draws_the_size_studys_replications():
    """Same seed -> same draws: power()'s default source (the replica) at OR = 1 is the size study's
    replication ``one_replication(("null", SeedSequence(seed).spawn(n)[r], 19, False))``: the same panel,
    estimate, SE and four p-values."""
    res = power(effect_or=1.0, n_sims=2, seed=5, progress=False)
    assert res.outcome == "activation" and res.summary["offices_analysed"].iloc[0] == 14
    study = _size_study()
    for r, seq in enumerate(np.random.SeedSequence(5).spawn(2)):
        rep = study.one_replication(("null", seq, 19, False))
        row = res.simulations.iloc[r]
        assert (rep["coef"], rep["se"]) == (row["estimate"], row["se"])
        for ours, theirs in (
            ("p_cluster_z", "p_z"),
            ("p_t", "p_t"),
            ("p_score_bootstrap", "p_sb"),
            ("p_randomization", "p_ri"),
        ):
            assert rep[theirs] == row[ours], ours
    assert res.simulations["estimate"].nunique() == 2  # two different panels


@pytest.mark.slow  # a Monte Carlo of the plan's calibrated trials (16 s for casework)
@pytest.mark.parametrize(
    "name, outcome, primary", [("casework", "work", "work"), ("nct03102775", "activation", "model1")]
)
def test_a_plan_is_simulated_from_its_calibration_and_analysed_with_its_rule_and_primary_model(name, outcome, primary):
    """Plan source: trial r is ``simulate_panel(calibrate(plan data).vary(...), seed)``, loaded with the plan,
    put through the plan's sample rule (analysis_sample's defaults) and its first model (fit_plan_model):
    re-done here by hand, estimate equal to 1e-12."""
    import famtrial
    from famtrial.simulation.calibrate import calibrate
    from famtrial.trial.effects import fit_plan_model

    plan = famtrial.load_plan(name)
    kw = dict(effect_or=[1.0, 1.6], offices=10, n_sims=2, tests=("t",), seed=2, progress=False)
    res = power(name, **kw)
    assert res.outcome == outcome
    pd.testing.assert_frame_equal(res.simulations, power(plan, **kw).simulations)  # a Plan or its name
    design = calibrate(famtrial.load_panel(plan.resolve_data(), plan)).vary(offices=10, effect_or=1.6, outcome=outcome)
    seq = np.random.SeedSequence(2).spawn(2)[1]
    data_seed = int(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, 0)).generate_state(1)[0])
    sample = famtrial.analysis_sample(famtrial.load_panel(simulate_panel(design, seed=data_seed), plan))
    fit = fit_plan_model(sample.panel, plan.model(primary))
    row = res.simulations[(res.simulations["scenario"] == 1) & (res.simulations["sim"] == 1)].iloc[0]
    term = plan.term("pooled")
    assert abs(row["estimate"] - fit.params[term]) < 1e-12 and abs(row["se"] - fit.bse[term]) < 1e-12
    assert row["offices_analysed"] == sample.panel.data[plan.office].nunique() < 10  # the rule excluded some
    # power rises with the effect (2 trials: the estimates, common random numbers)
    sims = res.simulations
    assert (
        sims.loc[sims["scenario"] == 1, "estimate"].to_numpy() > sims.loc[sims["scenario"] == 0, "estimate"].to_numpy()
    ).all()


@pytest.mark.parametrize(
    "source, kwargs, message",
    [
        ("casework", {"threshold": 0.3}, r"\['threshold'\] cannot be combined with a plan"),
        (None, {"trend": "months"}, r"\['trend'\] cannot be combined"),
        (None, {"offices": [10, 20]}, r"\['offices'\] cannot vary with the replica's generator"),
        ("nosuchplan", {}, "neither 'replica', a shipped plan"),
        ("casework", {"analysis": "cross_section"}, "analysis='cross_section' with a plan"),
        (None, {"outcome": "income"}, "income"),
    ],
)
def test_bad_sources_are_named(source, kwargs, message):
    with pytest.raises(ValueError, match=message):
        power(source, **{"n_sims": 2, "progress": False, **kwargs})


@pytest.mark.dask
def test_a_dask_local_cluster_gives_the_serial_results(dask_client):
    """A real distributed.LocalCluster (2 worker processes): identical simulations to the serial run."""
    kw = dict(
        outcome="work",
        effect_or=[1.0, 1.4],
        offices=6,
        n_sims=3,
        seed=8,
        tests=("t", "score_bootstrap"),
        progress=False,
        **RULE,
    )
    serial = power(_small(), n_jobs=1, **kw)
    on_cluster = power(_small(), client=dask_client, **kw)
    pd.testing.assert_frame_equal(serial.simulations, on_cluster.simulations)
    pd.testing.assert_frame_equal(serial.summary, on_cluster.summary)
    replica = dict(effect_or=1.0, n_sims=2, seed=3, tests=("cluster_z", "t"), progress=False)
    pd.testing.assert_frame_equal(power(**replica).simulations, power(client=dask_client, **replica).simulations)


@pytest.mark.slow  # over 8 s: the full set runs it (the fast tier stays under two minutes)
def test_main_takes_a_plan_in_the_scenario_file(tmp_path, capsys):
    scenario = tmp_path / "scenario.toml"
    scenario.write_text("""plan = "casework"
n_sims = 2
seed = 4
tests = ["t"]
[grid]
effect_or = [1.0, 1.5]
offices = [6]
""")
    assert cli_main(["power", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert "outcome work" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "out" / "simulations.csv")) == 4
    scenario.write_text(scenario.read_text() + "[analysis]\nthreshold = 0.3\n")
    assert cli_main(["power", str(scenario), "--out", str(tmp_path / "out")]) == 2
    assert "['threshold'] cannot be combined with a plan" in capsys.readouterr().err
    scenario.write_text(f'plan = "casework"\ndesign = "{CASEWORK}"\n')
    assert cli_main(["power", str(scenario), "--out", str(tmp_path / "out")]) == 2
    assert "give exactly one of plan" in capsys.readouterr().err


def test_one_trial_is_power_simulation_r_for_a_design():
    """``one_trial(SeedSequence(s).spawn(n)[r], design, effect_or=OR)`` is row r of ``power(design, seed=s)``."""
    from famtrial.simulation.power import one_trial

    res = power(_small(), effect_or=1.4, n_sims=2, seed=6, tests=("t", "score_bootstrap"), progress=False)
    row = one_trial(np.random.SeedSequence(6).spawn(2)[1], _small(), effect_or=1.4, tests=("t", "score_bootstrap"))
    got = res.simulations.iloc[1]
    assert row["sim"] == 0 and got["sim"] == 1  # one_trial numbers its single simulation 0
    for key in ("estimate", "se", "p_t", "p_score_bootstrap", "cover_t", "offices_analysed"):
        assert row[key] == got[key], key
