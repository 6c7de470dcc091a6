"""The general trial simulator: determinism, the design's structure, recovery by the FE logit, TOML errors."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from famtrial import conditional_logit
from famtrial._paths import data_dir
from famtrial.cli import main as cli_main
from famtrial.errors import DesignError
from famtrial.simulation.design import TrialDesign, load_design, simulate_panel

CASEWORK = data_dir() / "synthetic" / "casework.toml"


@pytest.fixture(scope="module")
def design() -> TrialDesign:
    return load_design(CASEWORK)


@pytest.fixture(scope="module")
def panel(design) -> pd.DataFrame:
    return simulate_panel(design)


def test_same_seed_same_panel_other_seed_other_panel(design, panel):
    pd.testing.assert_frame_equal(simulate_panel(design), panel)
    pd.testing.assert_frame_equal(simulate_panel(design, seed=design.seed), panel)
    other = simulate_panel(design, seed=design.seed + 1)
    assert not other["work"].reset_index(drop=True).equals(panel["work"].reset_index(drop=True))


def test_shipped_casework_panel_is_the_designs_output(panel):
    shipped = pd.read_parquet(data_dir() / "synthetic" / "casework_panel.parquet")
    pd.testing.assert_frame_equal(shipped, panel, check_dtype=False)


def test_names_and_codes_come_from_the_design(panel):
    assert list(panel.columns) == [
        "pid",
        "hh",
        "kontor",
        "ym",
        "offer",
        "variant",
        "work",
        "educ",
        "kids",
        "health",
        "cohab",
        "woman",
        "born",
        "abroad",
    ]
    assert set(panel["offer"]) == {"yes", "no"}
    assert set(panel["variant"]) == {"phone", "home", "group", "none"}
    assert ((panel["variant"] == "none") == (panel["offer"] == "no")).all()
    assert sorted(panel["kontor"].unique()) == [f"K{k:02d}" for k in range(1, 25)]
    assert panel["ym"].dtype.kind == "i" and panel["ym"].min() == 201801 and panel["ym"].max() == 202212
    assert panel["ym"].nunique() == 60
    for col in ("work", "educ", "health", "cohab", "woman", "abroad"):
        assert set(panel[col].unique()) == {0, 1}, col
    assert panel["kids"].between(0, 6).all() and panel["born"].between(1975, 2000).all()


def test_offices_variants_and_family_randomization(design, panel):
    people = panel.drop_duplicates("pid")
    # arm, family and office are constant within a person; family and arm within a household
    constant = ["hh", "kontor", "offer", "variant", "woman", "born", "abroad"]
    assert (panel.groupby("pid")[constant].nunique() == 1).all().all()
    assert (people.groupby("hh")[["offer", "kontor"]].nunique() == 1).all().all()
    assert people.groupby("hh").size().isin([1, 2]).all()
    # one variant per office, 8 offices each
    offered = people[people["offer"] == "yes"]
    per_office = offered.groupby("kontor")["variant"].nunique()
    assert (per_office == 1).all() and len(per_office) == 24
    assert offered.groupby("kontor")["variant"].first().value_counts().to_dict() == {"phone": 8, "home": 8, "group": 8}
    # control shares: households within the group's range (up to rounding to whole households), parents follow
    households = people.drop_duplicates("hh")
    size = households.groupby("kontor").size()
    share_h = households.assign(c=households["offer"] == "no").groupby("kontor")["c"].mean()
    share_p = people.assign(c=people["offer"] == "no").groupby("kontor")["c"].mean()
    labels = design.office_labels()
    for group, first in ((design.offices[0], 0), (design.offices[1], design.offices[0].n)):
        ids = labels[first : first + group.n]
        lo, hi = group.control_share
        assert (share_h[ids] >= lo - 0.5 / size[ids]).all() and (share_h[ids] <= hi + 0.5 / size[ids]).all()
        assert size[ids].between(*group.families).all()
    assert (share_p[labels[20:]] < 0.2).all() and (share_p[labels[:20]] > 0.25).all()
    assert 2000 <= households.shape[0] <= 2200 and 2850 <= people.shape[0] <= 3150


def test_gaps_spare_the_baseline_month(design, panel):
    counts = panel.groupby("pid").size()
    gapped = counts[counts < 60]
    assert 0.015 < len(gapped) / len(counts) < 0.05  # gap share 0.03
    assert (counts >= 60 - design.gap_max_months).all()
    assert panel.loc[panel["ym"] == 201903, "pid"].nunique() == len(counts)


def test_time_varying_covariates_change_and_invariant_do_not(panel):
    changes = panel.groupby("pid")[["kids", "health", "cohab"]].nunique().gt(1).mean()
    assert (changes > 0.05).all(), changes


def _recovery_design(design: TrialDesign) -> TrialDesign:
    outcome = replace(design.outcome("work"), office_effect_sd=0.0)
    return replace(design, outcomes=(outcome,)).vary(offices=60, families_per_office=250, months_pre=12, months_post=12)


def test_fixed_effects_logit_recovers_the_true_effects(design):
    """True per-variant log-ORs, slopes and trend within 4 model SEs (no office heterogeneity: the
    conditional logit is then the true model given the parent intercepts, observations independent)."""
    sim = _recovery_design(design)
    data = simulate_panel(sim, seed=5)
    post = data["ym"] >= 201904
    regressors = []
    for v in sim.variants:
        data[f"treat_{v}"] = ((data["offer"] == "yes") & post & (data["variant"] == v)).astype(np.int8)
        regressors.append(f"treat_{v}")
    data["trend"] = (data["ym"] // 100 - 2018) * 12 + data["ym"] % 100 - 4  # months since the first, 2018-04
    res = conditional_logit(data, "work", [*regressors, "kids", "health", "cohab", "trend"], group="pid")
    truth = {f"treat_{v}": sim.outcome("work").effect(v) for v in sim.variants}
    truth.update({k: b for k, b in sim.outcome("work").covariates if k in ("kids", "health", "cohab")})
    truth["trend"] = sim.outcome("work").trend
    for term, value in truth.items():
        assert abs(res.params[term] - value) < 4 * res.bse[term], (term, res.params[term], value, res.bse[term])
    assert res.bse["treat_home"] < 0.03  # the tolerance is tight enough to mean something


def test_the_random_stream_does_not_depend_on_effects(design):
    a = simulate_panel(design.vary(effect_or=1.0, outcome="work", offices=6), seed=1)
    b = simulate_panel(design.vary(effect_or=2.0, outcome="work", offices=6), seed=1)
    control = a["offer"] == "no"
    pre = a["ym"] < 201904
    assert a.loc[control | pre, "work"].equals(b.loc[control | pre, "work"])
    assert (b.loc[~control & ~pre, "work"] >= a.loc[~control & ~pre, "work"]).all()  # common uniforms
    assert a["educ"].equals(b["educ"])


def test_vary_scales_offices_months_and_shares(design):
    small = design.vary(offices=12, months_pre=6, months_post=9, families_per_office=(20, 30), control_share=0.5)
    assert [g.n for g in small.offices] == [10, 2]
    assert small.first_month == "2018-10" and small.last_month == "2019-12" and small.baseline == "2019-03"
    assert all(g.families == (20, 30) and g.control_share == (0.5, 0.5) for g in small.offices)
    data = simulate_panel(small, seed=2)
    assert data["ym"].nunique() == 15 and data["kontor"].nunique() == 12
    assert design.vary(effect_or=1.5, outcome="educ").outcome("educ").effect("home") == pytest.approx(np.log(1.5))


def test_no_variants_and_integer_codes(design):
    outcome = replace(design.outcome("work"), effects=(("", 0.2),))
    plain = replace(
        design,
        variants=(),
        outcomes=(outcome,),
        office_label=None,
        columns=replace(design.columns, variant=None, arm_offered=1, arm_control=0, month_format="text"),
    ).vary(offices=4)
    data = simulate_panel(plain, seed=3)
    assert "variant" not in data.columns and set(data["offer"]) == {0, 1}
    assert sorted(data["kontor"].unique()) == [1, 2, 3, 4] and data["ym"].iloc[0] == "2018-01"


def test_main_writes_the_panel(tmp_path, capsys):
    out = tmp_path / "p.parquet"
    assert cli_main(["simulate", "--design", str(CASEWORK), "--out", str(out), "--seed", "4"]) == 0
    assert "24 offices" in capsys.readouterr().out
    assert pd.read_parquet(out)["pid"].nunique() > 2800


BASE = CASEWORK.read_text()


@pytest.mark.parametrize(
    "old, new, key",
    [
        ('implementation = "2019-04"', "", "months.implementation: is missing"),
        ('implementation = "2019-04"', 'implementation = "April"', "months.implementation: 'April' is not a month"),
        ('implementation = "2019-04"', 'implementation = "2018-01"', "months.implementation"),
        ("n = 20\n", 'n = "twenty"\n', "offices[0].n: 'twenty' is not an integer"),
        ("control_share = [0.08, 0.15]", "control_share = [0.08]", "offices[1].control_share"),
        ("control_share = [0.08, 0.15]", "control_share = [0.5, 1.2]", "offices[1].control_share"),
        ('kind = "markov"\np = 0.25', 'kind = "markow"\np = 0.25', "covariates.health.kind: 'markow'"),
        ("on = 0.010", "on = 1.5", "covariates.health.on"),
        ("up = 0.004", "up = 0.004\nupp = 0.1", "covariates.kids: unknown keys ['upp']"),
        ("up = 0.004", "", "covariates.kids.up: is missing"),
        (
            "effect = { phone = 0.10, home = 0.35, group = 0.30 }",
            "effect = { phone = 0.10, home = 0.35 }",
            "outcomes.work.effect",
        ),
        ("kids = -0.15,", "children = -0.15,", "outcomes.work.covariates: ['children']"),
        ("intercept_sd = 1.8", "intercept_sd = true", "outcomes.work.intercept_sd: True is not a number"),
        ('month_format = "yyyymm"', 'month_format = "ym"', "columns.month_format"),
        ('arm_control = "no"', 'arm_control = "yes"', "columns.arm_offered"),
        ('variant_control = "none"', 'variant_control = "home"', "columns.variant_control"),
        ('office = "kontor"', 'office = "work"', "columns: names ['work']"),
        ("seed = 20190401", "seed = 20190401\nsede = 1", "unknown keys ['sede']"),
    ],
)
def test_design_errors_name_the_key(tmp_path, old, new, key):
    assert old in BASE
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace(old, new, 1))
    with pytest.raises(DesignError) as info:
        load_design(path)
    assert key in str(info.value) and str(path) in str(info.value), str(info.value)


def test_design_file_problems(tmp_path):
    with pytest.raises(DesignError, match="does not exist"):
        load_design(tmp_path / "none.toml")
    (tmp_path / "x.toml").write_text("seed = [")
    with pytest.raises(DesignError, match="not valid TOML"):
        load_design(tmp_path / "x.toml")
    with pytest.raises(TypeError, match="TrialDesign"):
        simulate_panel({"seed": 1})


# -- calibration to a trial's data ------------------------------------------------------------------------
@pytest.mark.slow  # over 8 s: the full set runs it (the fast tier stays under two minutes)
def test_calibrate_recovers_the_casework_designs_parameters():
    """``calibrate`` of the shipped casework panel (simulated from casework.toml, so the truth is known).

    Tolerances: about 3 sampling SDs of each estimator, measured over the panels of seeds 1 and 2 beside
    the shipped one (24 offices, about 3,000 persons): intercept SD +-0.15, office intercept SD +-0.12,
    family correlation +-0.12 (the moment estimator gives 0.24-0.27 for 0.3), trend +-0.002, covariate
    rates +-15% relative. Time-invariant covariates are folded into the intercepts: the expected intercept
    mean of work is -1.4 - 0.2 * 0.58 - 0.45 * 0.35 = -1.67 and its SD sqrt(1.8^2 + 0.07) = 1.82.
    """
    import famtrial
    from famtrial.simulation.calibrate import calibrate

    plan = famtrial.load_plan("casework")
    design = calibrate(famtrial.load_panel(plan.resolve_data(), plan))
    assert TrialDesign.from_panel(famtrial.load_panel(plan.resolve_data(), plan)) == design
    assert (design.first_month, design.last_month, design.implementation) == ("2018-01", "2022-12", "2019-04")
    regular, low = design.offices
    assert (regular.n, low.n) == (20, 4)  # the 0.25-on-persons rule splits the offices as the design made them
    assert 0.29 <= regular.control_share[0] and regular.control_share[1] <= 0.61
    assert 0.07 <= low.control_share[0] and low.control_share[1] <= 0.16
    assert abs(np.mean(regular.families) - 87.5) < 5
    assert abs(design.two_parent_share - 0.43) < 0.03 and abs(design.gap_share - 0.03) < 0.01
    assert design.gap_max_months == 4 and design.variants == ("phone", "home", "group")
    assert abs(design.family_correlation - 0.3) < 0.12
    work = design.outcome("work")
    assert abs(work.intercept_mean + 1.67) < 0.2 and abs(work.intercept_sd - 1.82) < 0.15
    assert abs(work.office_intercept_sd - 0.25) < 0.12 and abs(work.trend - 0.008) < 0.002
    assert abs(dict(work.covariates)["health"] + 1.10) < 0.15 and set(dict(work.covariates)) == {
        "kids",
        "health",
        "cohab",
    }
    assert abs(work.effect("home") - 0.25) < 0.1 and work.office_effect_sd == 0
    educ = design.outcome("educ")
    assert abs(educ.intercept_sd - 1.5) < 0.2 and abs(educ.trend + 0.004) < 0.002
    covs = {c.name: c for c in design.covariates}
    assert covs["health"].kind == "markov" and abs(covs["health"].off / 0.030 - 1) < 0.15
    assert abs(covs["cohab"].on / 0.008 - 1) < 0.15 and abs(covs["kids"].mean / 1.4 - 1) < 0.15
    assert covs["kids"].kind == "count" and covs["born"].kind == "integer" and abs(covs["born"].sd - 6) < 0.5
    assert covs["woman"].kind == "binary" and abs(covs["woman"].p - 0.58) < 0.03
    # the calibrated design simulates a panel the plan loads unchanged
    sim = famtrial.load_panel(simulate_panel(design, seed=3), plan)
    assert abs(sim.data["work"].mean() - 0.2427) < 0.03


def test_calibrate_needs_a_loaded_panel():
    from famtrial.simulation.calibrate import calibrate

    with pytest.raises(TypeError, match="calibrate needs a famtrial Panel"):
        calibrate(pd.DataFrame({"a": [1]}))
