"""Beyond intention to treat (issue 26): CACE, subgroups and time since randomisation against R references.

The panel is the shipped replica with a take-up and an entry month given by formulas of the family id,
written the same way in ``tests/reference/beyond_itt_reference.R`` (which wrote the reference CSVs with
AER::ivreg, sandwich::vcovCL, estimatr::iv_robust and survival::clogit with its own cluster scores):

- ``accepted = 1`` if offered and ``(family_id * 37) % 100 < 75``;
- entry month = 2016-10 plus ``(family_id * 13) % 20`` months.

Tolerances: the LPM/2SLS numbers are closed-form (1e-8 relative); the conditional logits are fitted by two
optimisers to their own convergence criteria (1e-6 relative on coefficients and SEs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import famtrial as ft
from famtrial.errors import PanelError, PlanError
from famtrial.plan.spec import Plan
from famtrial.trial.compliance import cace, cace_models, cace_table, monthly_cace, take_up
from famtrial.trial.sample import analysis_sample

REF = Path(__file__).resolve().parents[1] / "reference" / "beyond_itt"


def replica_raw() -> pd.DataFrame:
    """The shipped replica with the reference's take-up and entry-month formulas."""
    plan = ft.load_plan()
    df = pd.read_parquet(plan.resolve_data())
    df["accepted"] = ((df["arm"] == 1) & ((df["family_id"] * 37) % 100 < 75)).astype(int)
    entry = pd.Period("2016-10", freq="M").ordinal + (df["family_id"] * 13) % 20
    df["entry_month"] = pd.PeriodIndex.from_ordinals(entry.to_numpy(), freq="M").astype(str)
    return df


def replica_plan(**sections: dict) -> Plan:
    """The paper's plan with the take-up and entry roles, a month-effects twin of model 1 and ``sections``."""
    raw = ft.load_plan().to_dict()
    raw["columns"].update(take_up="accepted", entry="entry_month")
    raw["models"]["model1m"] = {**raw["models"]["model1"], "time": "months"}
    raw.update(sections)
    return Plan.from_dict(raw)


@pytest.fixture(scope="module")
def analysed() -> ft.Panel:
    plan = replica_plan(subgroups={"variables": ["female", "immigrant"], "models": ["model1", "model3"]})
    return analysis_sample(ft.load_panel(replica_raw(), plan)).panel


@pytest.fixture(scope="module")
def cace_results(analysed: ft.Panel) -> dict:
    return cace_models(analysed, ["model1", "model3", "model1m"])


def test_cace_matches_aer_ivreg_and_the_delta_method(cace_results: dict) -> None:
    ref = pd.read_csv(REF / "cace.csv")
    for model in ("model1", "model3", "model1m"):
        r = cace_results[model]
        want = ref[ref["model"] == model].set_index("estimate")
        assert r.nobs == int(want["nobs"].iloc[0]) and r.n_clusters == int(want["clusters"].iloc[0])
        for name in ("itt", "first_stage", "cace_2sls", "cace_wald"):
            np.testing.assert_allclose(r.estimates.loc[name, "coef"], want.loc[name, "coef"], rtol=1e-8, atol=1e-12)
            np.testing.assert_allclose(r.estimates.loc[name, "se"], want.loc[name, "se"], rtol=1e-8)
        np.testing.assert_allclose(r.take_up.loc["offered", "share"], want.loc["take_up_offered", "coef"], rtol=1e-12)
        assert r.take_up.loc["control", "share"] == 0.0
        assert any("exclusion restriction" in a for a in r.assumptions) and "monotonicity" in r.summary()


def test_monthly_cace_column_matches_ivreg_per_month(analysed: ft.Panel) -> None:
    ref = pd.read_csv(REF / "cace_monthly.csv")
    got = monthly_cace(analysed, "activation")
    assert list(got["month"]) == list(ref["month"])
    np.testing.assert_array_equal(got["n"], ref["n"])
    for col in ("itt", "itt_se", "cace", "cace_se"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-7, atol=1e-12, err_msg=col)


def test_monthly_series_carries_the_cace_columns_matching_ivreg(analysed: ft.Panel) -> None:
    """With columns.take_up the series' own frame (monthly_<series>.csv) has the CACE, as R's ivreg gives it."""
    ref = pd.read_csv(REF / "cace_monthly.csv").set_index("month")
    series = ft.monthly_effects(analysed, "activation", n_boot=99, progress=False)
    f = series.frame.set_index("month")
    assert set(ref.index) <= set(f.index)
    rows = f.loc[ref.index]
    for got, want in (("itt_lpm", "itt"), ("itt_lpm_se", "itt_se"), ("cace", "cace"), ("cace_se", "cace_se")):
        np.testing.assert_allclose(rows[got], ref[want], rtol=1e-7, atol=1e-12, err_msg=got)
    z = stats.norm.isf(0.025)
    np.testing.assert_allclose(rows["cace_ci_low"], ref["cace"] - z * ref["cace_se"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(rows["cace_ci_high"], ref["cace"] + z * ref["cace_se"], rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(rows["cace_p"], 2 * stats.norm.sf(np.abs(ref["cace"] / ref["cace_se"])), rtol=1e-6)
    assert f.loc[~f.index.isin(ref.index), "cace"].isna().all()  # months before the offer: no CACE
    assert "cace" in series.csv_frame() and "CACE (pp)" in series.table.display
    # the same series without take-up: the columns are absent and the rest is unchanged
    plain = ft.monthly_effects(analysed, "activation", n_boot=99, progress=False, cace=False)
    pd.testing.assert_frame_equal(plain.frame, series.frame[plain.frame.columns])
    assert "cace" not in plain.frame and "CACE (pp)" not in plain.table.display
    with pytest.raises(ValueError, match="cluster=None"):
        ft.monthly_effects(analysed, "activation", cluster=None, band=False, progress=False)


def test_cace_table_states_the_assumptions_and_numbers(analysed: ft.Panel, cace_results: dict) -> None:
    results = cace_results
    tab = cace_table(list(results.values()))
    assert "exclusion restriction" in tab.notes and "monotonicity" in tab.notes
    assert len(tab.display) == 3 * 6
    assert cace(analysed).model == "model1"  # the default: the plan's first pooled model
    numbers = results["model1"].to_numbers()
    assert numbers["cace.model1.cace_2sls.coef"] == results["model1"].estimates.loc["cace_2sls", "coef"]


def test_take_up_is_validated_when_the_panel_is_loaded() -> None:
    """Bad take-up is refused by load_panel (so plan check and reproduce), naming the column, count and examples."""
    raw = replica_raw()
    plan = replica_plan()
    first = int(raw.loc[raw["arm"] == 1, "family_id"].iloc[0])
    control = raw.loc[raw["arm"] == 0, "family_id"].unique()[:3]
    offered = raw["arm"] == 1
    one_row = raw.index[raw["family_id"] == first][1]
    for change, words in (
        (
            lambda d: d.assign(accepted=np.where(d["family_id"] == first, 2, d["accepted"])),
            r"other than 0/1 for 1 family \(e.g. \[2\]\)",
        ),
        (
            lambda d: d.assign(accepted=d["accepted"].where(~offered)),
            rf"missing for {raw.loc[offered, 'family_id'].nunique()} offered families",
        ),
        (
            lambda d: d.assign(accepted=np.where(d["family_id"].isin(control), 1, d["accepted"])),
            r"is 1 for 3 control families \(e.g. \[" + str(control[0]),
        ),
        (
            lambda d: d.assign(accepted=np.where(d.index == one_row, 1 - d["accepted"], d["accepted"])),
            rf"varies within 1 family \(e.g. \[{first}\]\)",
        ),
    ):
        with pytest.raises(PanelError, match=r"column 'accepted' \(columns.take_up\).*" + words):
            ft.load_panel(change(raw.copy()), plan)
    # controls may leave take-up missing; the loaded panel's take-up is then 0 for them
    panel = ft.load_panel(raw.assign(accepted=raw["accepted"].where(offered)), plan)
    assert take_up(panel)[panel.data["arm"] == 0].eq(0).all()
    # a panel built without load_panel is still refused when the CACE runs
    bad = ft.Panel(
        data=panel.data.assign(accepted=np.where(panel.data["arm"] == 0, 1.0, 0.0)), plan=plan, report=panel.report
    )
    with pytest.raises(PanelError, match="one-sided"):
        take_up(bad)


def test_plan_check_with_data_refuses_bad_take_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from famtrial.cli import main

    raw = replica_raw()
    raw.loc[raw["arm"] == 0, "accepted"] = 1
    data = tmp_path / "panel.parquet"
    raw.to_parquet(data)
    plan = tmp_path / "plan.toml"
    plan.write_text(replica_plan().to_toml(), encoding="utf-8")
    assert main(["plan", "check", str(plan), "--data", str(data)]) != 0
    err = capsys.readouterr().err
    assert "columns.take_up" in err and "control families" in err and "Traceback" not in err


def test_plans_without_take_up_refuse_the_cace_and_sections_need_their_roles() -> None:
    panel = ft.load_panel(ft.load_plan().resolve_data(), ft.load_plan())
    with pytest.raises(PlanError, match="columns.take_up"):
        cace(panel, "model1")
    raw = ft.load_plan().to_dict()
    with pytest.raises(PlanError, match="compliance"):
        Plan.from_dict({**raw, "compliance": {"table": "x"}})
    with pytest.raises(PlanError, match="since_randomisation"):
        Plan.from_dict({**raw, "since_randomisation": {"bins": [0, 3]}})
    with pytest.raises(PlanError, match="subgroups.variables"):
        Plan.from_dict({**raw, "subgroups": {"variables": ["nope"]}})
    with pytest.raises(PlanError, match="pooled"):
        Plan.from_dict({**raw, "subgroups": {"variables": ["female"], "models": ["model2"]}})
    with pytest.raises(PlanError, match="bins"):
        Plan.from_dict({**raw, "columns": {**raw["columns"], "entry": "e"}, "since_randomisation": {"bins": [1, 3]}})


def test_new_sections_round_trip_and_leave_old_plans_unchanged() -> None:
    plan = replica_plan(subgroups={"variables": ["female"], "reference": "t"}, since_randomisation={"bins": [0, 3, 9]})
    again = ft.load_plan(plan.to_toml())
    assert again == plan and again.subgroups.reference == "t" and again.since_randomisation.bins == (0, 3, 9)
    for name in ("nct03102775", "casework"):
        text = ft.load_plan(name).to_toml()
        assert "take_up" not in text and "subgroups" not in text and "compliance" not in text


@pytest.mark.slow
def test_subgroups_match_survival_clogit_with_own_cluster_scores(analysed: ft.Panel) -> None:
    from famtrial.trial.subgroups import subgroup_analysis

    levels = pd.read_csv(REF / "subgroups_levels.csv")
    tests = pd.read_csv(REF / "subgroups_tests.csv")
    assert levels["score_max"].max() < 1e-4  # R's fits are at the MLE (its own scores sum to ~0)
    got = subgroup_analysis(analysed)
    for e in got.effects:
        want = levels[(levels["model"] == e.model) & (levels["variable"] == e.variable)].set_index("level")
        np.testing.assert_allclose(e.levels["coef"], want.loc[e.levels.index, "coef"], rtol=1e-6)
        np.testing.assert_allclose(e.levels["se"], want.loc[e.levels.index, "se"], rtol=1e-6)
        assert not e.exploratory
    merged = got.tests.merge(tests, on=["model", "variable"], suffixes=("", "_r"))
    assert len(merged) == 4
    for col in ("statistic", "p", "p_holm", "p_bh"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=1e-5, err_msg=col)
    t_ref = subgroup_analysis(analysed, reference="t", models=["model1"])
    merged = t_ref.tests.merge(tests, on=["model", "variable"], suffixes=("", "_r"))
    assert (merged["distribution"] == "F").all() and (merged["df_denom"] == 13).all()
    np.testing.assert_allclose(merged["statistic"], merged["F"], rtol=1e-5)
    np.testing.assert_allclose(merged["p"], merged["p_F"], rtol=1e-5)


@pytest.mark.slow
def test_effects_since_randomisation_match_survival_clogit(analysed: ft.Panel) -> None:
    from famtrial.trial.since_randomisation import effects_since_randomisation

    ref = pd.read_csv(REF / "since.csv")
    for model in ("model1", "model3"):
        e = effects_since_randomisation(analysed, model, bins=[0, 6, 12, 18])
        want = ref[ref["model"] == model]
        np.testing.assert_allclose(e.frame["coef"], want["coef"], rtol=1e-6)
        np.testing.assert_allclose(e.frame["se"], want["se"], rtol=1e-6)
        assert e.equality is not None
        np.testing.assert_allclose(e.equality.pvalue, want["p_equal"].iloc[0], rtol=1e-5)


def test_plan_check_describes_the_analyses_beyond_itt() -> None:
    plan = replica_plan(subgroups={"variables": ["female"]})
    text = plan.describe()
    assert "CACE" in text and "subgroups female" in text and "months since entry" in text
    assert "CACE" not in ft.load_plan().describe()


@pytest.mark.slow
def test_reproduce_writes_the_beyond_itt_outputs(tmp_path: Path) -> None:
    from famtrial.simulation.compliance import replica_take_up

    plan = ft.load_plan()
    data, with_roles = replica_take_up(pd.read_parquet(plan.resolve_data()))
    raw = with_roles.to_dict()
    raw["subgroups"] = {"variables": ["female", "immigrant"], "models": ["model1"]}
    raw["since_randomisation"] = {"models": ["model1"]}
    raw["compliance"] = {"models": ["model1"]}
    run = ft.reproduce(data, tmp_path, plan=Plan.from_dict(raw), inference=False, n_boot=99, progress=False)
    names = {p.name for p in run.files}
    assert {
        "cace.csv",
        "subgroups.csv",
        "forest.png",
        "since_randomisation.png",
    } <= names
    assert not any(name.endswith("_cace.csv") for name in names)  # the monthly CACE is in the series' own CSV
    monthly = pd.read_csv(tmp_path / "monthly_activation.csv")
    assert {"take_up", "itt_lpm", "cace", "cace_se", "cace_ci_low", "cace_ci_high", "cace_p"} <= set(monthly)
    assert monthly["cace"].notna().sum() >= 20
    assert "cace.model1.cace_2sls.coef" in run.numbers and "subgroups.model1.female.p_het" in run.numbers
    page = run.report.read_text(encoding="utf-8")
    assert "Beyond intention to treat" in page and "exclusion restriction" in page


@pytest.fixture(scope="module")
def small(analysed: ft.Panel) -> ft.Panel:
    """Four offices of the analysed replica: quick fits for labels, errors and figures."""
    data = analysed.data[analysed.data["office"].isin([1, 3, 4, 6])].reset_index(drop=True)
    return ft.Panel(data=data, plan=analysed.plan, report=analysed.report)


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")
def test_post_hoc_subgroups_are_labelled_exploratory_and_adjusted_apart(small: ft.Panel) -> None:
    from famtrial.report.forest import plot_forest
    from famtrial.trial.subgroups import subgroup_analysis

    result = subgroup_analysis(small, ["female", "immigrant", "married"], ["model1"])
    status = dict(zip(result.tests["variable"], result.tests["status"], strict=True))
    assert status == {"female": "pre-specified", "immigrant": "pre-specified", "married": "exploratory (post hoc)"}
    pre = result.tests[result.tests["status"] == "pre-specified"]
    np.testing.assert_allclose(
        pre["p_holm"],
        np.minimum(1, np.maximum.accumulate(np.sort(pre["p"]) * [2, 1]))[np.argsort(np.argsort(pre["p"]))],
    )
    post = result.tests[result.tests["variable"] == "married"]
    assert float(post["p_holm"].iloc[0]) == float(post["p"].iloc[0])  # a family of one
    shown = result.table().display["Subgroup"]
    assert shown.str.contains("exploratory, post hoc").sum() == 2 and "post hoc" in result.table().notes
    fig = plot_forest(result, title="t")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("exploratory, post hoc" in t for t in labels)


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")
def test_subgroups_refuse_many_levels_and_outcomes(small: ft.Panel) -> None:
    from famtrial.trial.subgroups import subgroup_effects

    with pytest.raises(PlanError, match="levels"):
        subgroup_effects(small, "year_of_birth", "model1")
    with pytest.raises(PlanError, match="outcome"):
        subgroup_effects(small, "employed", "model1")
    with pytest.raises(PlanError, match="pooled"):
        subgroup_effects(small, "female", "model2")


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")
def test_months_since_entry_and_bins(small: ft.Panel) -> None:
    from famtrial.report.forest import plot_since_randomisation
    from famtrial.trial.since_randomisation import effects_since_randomisation, months_since_entry, since_table

    k = months_since_entry(small)
    entry = pd.PeriodIndex(small.data["entry_month"], freq="M")
    np.testing.assert_array_equal(k.to_numpy(), (small.data["month"].array.asi8 - entry.asi8))
    with pytest.raises(PlanError, match="start at 0"):
        effects_since_randomisation(small, "model1", bins=[1, 6])
    e = effects_since_randomisation(small, "model1", bins=[0, 12])
    assert list(e.frame["bin"]) == ["0-11", "12+"] and e.equality is not None and e.equality.df_num == 1
    assert len(since_table([e]).display) == 2
    fig = plot_since_randomisation([e])
    assert len(fig.axes) == 1
