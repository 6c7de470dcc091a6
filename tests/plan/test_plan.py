"""The analysis plan: TOML round trip, validation errors that name the key, scaffold guesses, renamed data."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

import famtrial
from conftest import make_panel_frame, renamed_replica
from famtrial.data.scaffold import scaffold
from famtrial.errors import PlanError
from famtrial.plan.spec import Plan, load_plan, shipped_plans


@pytest.fixture(scope="module")
def paper() -> Plan:
    return load_plan("nct03102775")


def _raw(plan: Plan) -> dict:
    return tomllib.loads(plan.to_toml())


def _broken(plan: Plan, edit) -> dict:
    raw = _raw(plan)
    edit(raw)
    return raw


def test_the_paper_is_a_shipped_plan(paper):
    assert "nct03102775" in shipped_plans() and load_plan() == paper
    assert [m.name for m in paper.models] == ["model1", "model2", "model3", "model4"]
    assert paper.model("model2").split and paper.model("model2").table == "table5"
    assert paper.treatment_terms == ("coordinator_pooled", "coordinator_local", "coordinator_holf")
    assert paper.labels["coordinator_holf"] == "Family coordinator and HOLF"
    assert paper.columns.time_varying == ("n_children", "married", "reduced_work_capacity")
    assert paper.threshold == pytest.approx(1 / 3) and paper.sample_unit == "family"
    assert paper.resolve_data().name == "trial_panel.parquet" and paper.resolve_data().exists()


def test_toml_round_trip_gives_an_equal_plan(paper, tmp_path):
    text = paper.to_toml()
    again = load_plan(text)
    assert again == paper and again.to_toml() == text
    path = tmp_path / "plan.toml"
    path.write_text(text)
    assert load_plan(path) == paper and load_plan(str(path)).source == str(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda r: r["models"]["model1"].update(outcom="activation"),
            r"unknown key\(s\) \['outcom'\] in \[models.model1\]; known keys there: .*outcome",
        ),
        (
            lambda r: r["models"]["model1"].update(outcome="income"),
            r"models.model1.outcome = 'income' is not an outcome of the plan; outcomes: \['activation', 'employed'\]",
        ),
        (
            lambda r: r["models"]["model1"].update(covariates=["married", "pets"]),
            r"models.model1.covariates names \['pets'\], which are not covariates of the plan",
        ),
        (
            lambda r: r["models"]["model1"].update(covariates=["female"]),
            r"models.model1.covariates names time-invariant covariate\(s\) \['female'\]",
        ),
        (
            lambda r: r["models"]["model1"].update(time="quarterly"),
            r"models.model1.time = 'quarterly' is not one of \['linear', 'months', 'none'\]",
        ),
        (lambda r: r["models"]["model1"].update(cluster="county"), r"models.model1.cluster = 'county' is not one of"),
        (
            lambda r: r["series"]["activation"].update(controls=["wealth"]),
            r"series.activation.controls names \['wealth'\], which the plan does not declare",
        ),
        (
            lambda r: r["inference"].update(models=["model9"]),
            r"inference.models names \['model9'\], which are not models of the plan",
        ),
        (
            lambda r: r["inference"].update(randomization_draws=0),
            r"inference.randomization_draws = 0 must be at least 1",
        ),
        (
            lambda r: r["months"].update(implementation="October 2016"),
            r"months.implementation = 'October 2016' is not a month: write 'YYYY-MM'",
        ),
        (lambda r: r["months"].pop("implementation"), r"months.implementation is required"),
        (lambda r: r["months"].update(implementation=""), r"months.implementation = '' is empty: write the month"),
        (lambda r: r["months"].update(baseline=""), r"months.baseline = '' is empty: write the month"),
        (lambda r: r["sample"].update(threshold="1/0"), r"sample.threshold = '1/0' is not a number or a fraction"),
        (lambda r: r["sample"].update(threshold=1.5), r"sample.threshold = 1.5 must lie strictly between 0 and 1"),
        (lambda r: r["sample"].update(unit="office"), r"sample.unit = 'office' is not one of \['family', 'parent'\]"),
        (lambda r: r["columns"].update(arm="married"), r"data column\(s\) \['married'\] are given more than one role"),
        (lambda r: r["arms"].update(control=1), r"arms.offered and arms.control are both 1"),
        (lambda r: r["output"].update(formats=["gif"]), r"output.formats = \['gif'\]: give one or more of"),
        (lambda r: r["output"].update(digits="2"), r"output.digits must be int, not str"),
        (
            lambda r: r["variants"]["levels"]["holf"].update(codes=[1]),
            r"variants.levels.holf.codes: code 1 also means 'local'",
        ),
        (lambda r: r["models"].update({"model 5": {"outcome": "activation"}}), r"models.model 5 is not a usable name"),
        (lambda r: r.update(extra={}), r"unknown key\(s\) \['extra'\] in the top level"),
        (lambda r: r["balance"].update(variables=["female", "shoe_size"]), r"balance.variables names \['shoe_size'\]"),
        (lambda r: r["balance"].update(table="table5"), r"table names must differ"),
    ],
)
def test_validation_errors_name_the_key(paper, edit, message):
    with pytest.raises(PlanError, match=message):
        Plan.from_dict(_broken(paper, edit))


def test_variant_models_need_variants(paper):
    def drop(raw):
        raw.pop("variants")
        raw["columns"].pop("variant")

    with pytest.raises(PlanError, match=r"models.model2.treatment = 'variants' needs \[variants.levels.<name>\]"):
        Plan.from_dict(_broken(paper, drop))


def test_load_plan_errors(tmp_path):
    with pytest.raises(
        PlanError,
        match=r"plan 'nowhere.toml' does not exist: .*shipped plan's name \(casework, "
        r"nct03102775\)",
    ):
        load_plan("nowhere.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[trial\nname = 1")
    with pytest.raises(PlanError, match="bad.toml: not valid TOML"):
        load_plan(bad)
    with pytest.raises(PlanError, match=r"trial.name is required"):
        load_plan("[trial]\n")
    with pytest.raises(TypeError, match="plan must be a path"):
        load_plan(3)


@pytest.mark.slow
def test_renamed_replica_reproduces_identical_numbers(tmp_path):
    """Renamed columns, recoded arm/variant and YYYYMM months, mapped by a plan: the same reproduced numbers."""
    renamed, plan_text = renamed_replica()
    data_path, plan_path = tmp_path / "renamed.parquet", tmp_path / "renamed.toml"
    renamed.to_parquet(data_path)
    plan_path.write_text(plan_text)
    ours = famtrial.reproduce(data_path, tmp_path / "renamed", plan=plan_path, inference=False, progress=False)
    paper = famtrial.reproduce(None, tmp_path / "paper", inference=False, progress=False)
    assert ours.numbers.keys() == paper.numbers.keys() and len(ours.numbers) > 400
    for key, value in paper.numbers.items():
        assert ours.numbers[key] == value or (value != value and ours.numbers[key] != ours.numbers[key]), key
    table5 = (tmp_path / "renamed" / "table5.md").read_text()
    assert table5 == (tmp_path / "paper" / "table5.md").read_text()  # labels from the plan, not the columns
    assert "Reduced work capacity" in table5 and "redwc" not in table5


def test_renamed_data_flow_through_the_public_api():
    """Every step takes the renamed panel and the plan's keys, as the README's example does."""
    renamed, plan_text = renamed_replica()
    plan = load_plan(plan_text)
    panel = famtrial.load_panel(renamed, plan)
    assert panel.columns.parent == "pid" and list(panel.data["variant"].cat.categories) == ["ordinary", "local", "holf"]
    sample = famtrial.analysis_sample(panel)
    assert sample.flow.parents_analysed_offered == 964
    fit = famtrial.fe_model(sample.panel, "activation", covariates=["n_children", "married", "reduced_work_capacity"])
    assert list(fit.params.index) == ["coordinator_pooled", "nkids", "gift", "redwc", "trend"]
    assert famtrial.fe_model(sample.panel, "active").params.equals(
        famtrial.fe_model(sample.panel, "activation").params
    )  # outcome by key or by column
    table = famtrial.balance_table(sample.panel)
    assert "Reduced work capacity (%)" in table.display.index and table.to_numbers()["table3.n.total"] == 2537


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
def test_bare_columns_make_a_plain_plan():
    frame = make_panel_frame().rename(columns={"parent_id": "pid", "activation": "act"})
    cols = famtrial.Columns(parent="pid", model="model", outcomes=("act",), time_varying=("married",))
    panel = famtrial.load_panel(frame, cols, implementation="2016-10")
    plan = panel.plan
    assert plan.columns == cols and [v.name for v in plan.variants] == ["holf", "local"]
    assert plan.control_variant == "ordinary" and plan.treatment_terms == ("treat_pooled", "treat_holf", "treat_local")
    fit = famtrial.fe_model(panel, "act", split=True)
    assert list(fit.params.index)[:2] == ["treat_holf", "treat_local"]
    with pytest.raises(famtrial.PanelError, match="implementation month is unknown: pass implementation="):
        famtrial.load_panel(frame, cols)


def test_scaffold_guesses_roles_and_marks_them(tmp_path):
    renamed, _ = renamed_replica()
    path = tmp_path / "mine.parquet"
    renamed.to_parquet(path)
    text = scaffold(path)
    plan = load_plan(text)
    assert (plan.parent, plan.family, plan.office, plan.month, plan.arm, plan.variant_column) == (
        "pid",
        "fid",
        "kontor",
        "ym",
        "offered",
        "variant",
    )
    assert (plan.offered_code, plan.control_code) == ("yes", "no")
    assert {v.name for v in plan.variants} == {"h", "l"} and plan.control_variant == "none"
    assert {v.key for v in plan.outcomes} >= {"active", "employed_flag"}
    assert {v.key: v.time for v in plan.covariates}["kvinne"] == "invariant"
    assert text.count("GUESS") >= 6
    assert "# GUESS from the data and its name: 'pid' is unique within each month (3,691 values)" in text
    assert "'fid' is constant within 'pid' and groups 1-2 persons" in text
    assert "'offered' is constant within 'fid' with two values ['no', 'yes']" in text
    assert plan.implementation == "2015-10"  # no data can tell: the first month as a placeholder, a QUESTION
    assert "# QUESTION (not a guess; no data can tell): the first month of the offer" in text
    panel = famtrial.load_panel(path, plan)  # the scaffold loads the data as it is
    assert panel.report.parents == 3691


def test_scaffold_reads_the_structure_when_the_names_say_nothing():
    """The liaison example with opaque column names: roles from the structure, ties marked UNDECIDED."""
    import importlib.util
    from pathlib import Path

    here = Path(__file__).parents[1] / "examples" / "liaison" / "make_liaison.py"
    spec = importlib.util.spec_from_file_location("make_liaison", here)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = module.build_panel()
    opaque = frame.rename(columns={c: f"v{i}" for i, c in enumerate(frame.columns)})
    text = scaffold(opaque)
    plan = load_plan(text)
    # guardian_no, hh_id, district, period, grp; the distractors school (v11) and lone_parent (v10) not taken
    assert (plan.parent, plan.family, plan.office, plan.month, plan.arm) == ("v0", "v1", "v2", "v3", "v4")
    assert "# GUESS from the data: 'v0' is unique within each month (693 values)" in text
    assert "# UNDECIDED between ['v2', 'v11']: 'v2' taken" in text  # district or school: the coarsest
    assert "# UNDECIDED between ['v4', 'v10']: 'v4' taken" in text  # grp or lone_parent: both two-valued per household
    assert {v.key: v.time for v in plan.covariates}["v10"] == "invariant"
    famtrial.load_panel(opaque, plan)  # loads as it is
    # with its own names, every role is decided by structure and name together
    named = scaffold(frame)
    assert "UNDECIDED" not in named.split("[units]")[0]
    assert load_plan(named).arm == "grp" and load_plan(named).office == "district"


def test_scaffold_marks_what_it_could_not_guess():
    frame = pd.DataFrame({"a": [1, 1, 2, 2], "b": [0, 1, 0, 1], "when": ["2020-01", "2020-02"] * 2})
    text = scaffold(frame)
    assert "GUESS FAILED: no column looks like the office" in text
    assert load_plan(text).name == "my trial"
