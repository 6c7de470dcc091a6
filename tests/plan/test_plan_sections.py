"""The plan as nested frozen sections: writing is the inverse of reading, 0.2's flat names still read."""

from __future__ import annotations

import dataclasses
import pickle
import tomllib

import pytest

from famtrial.errors import PlanError
from famtrial.plan import sections
from famtrial.plan.spec import Plan, load_plan, shipped_plans

#: A plan with every key of every section, written as ``to_dict`` writes it.
EVERY_KEY = """
[trial]
name = "Every key"
registry = "NCT00000000"
description = "A plan that sets every optional key."

[data]
missing = "drop"
path = "data/panel.parquet"
published = "data/published.toml"
sep = ";"

[columns]
parent = "pid"
family = "fid"
office = "site"
month = "ym"
arm = "offer"
variant = "kind"
start = "began"
take_up = "took"
entry = "entered"

[units]
parent = "person"
family = "household"
office = "site"

[arms]
offered = "yes"
control = "no"
offered_label = "Offered"
control_label = "Not offered"
offered_key = "yes"
control_key = "no"

[treatment]
name = "offer"
label = "Offer (any kind)"
description = "the offer"

[variants]
control = "none"
control_codes = [0, "-"]

[variants.levels.phone]
label = "By phone"
codes = [1, "P"]

[variants.levels.visit]
label = "Home visits"
codes = [2]

[months]
implementation = "2019-04"
baseline = "2019-03"
first = "2018-01"
last = "2022-12"

[sample]
rule = "control_share"
threshold = "1/4"
unit = "parent"
table = "table1"
title = "Table 1. Persons per site by arm"
figure = "figure1"

[outcomes.work]
column = "job"
label = "In paid work"
description = "paid work"

[covariates.kids]
column = "n_kids"
label = "Children"
time = "varying"

[covariates.woman]
column = "female"
label = "Woman"
time = "invariant"

[balance]
table = "table2"
title = "Table 2. Baseline"
correlations_table = "table3"
correlations_title = "Table 3. Correlations"
variables = ["woman", "kids", "work"]

[models.work]
outcome = "work"
treatment = "variants"
covariates = ["kids"]
time = "months"
cluster = "family"
table = "table4"
label = "Paid work, by kind"

[models.work_none]
outcome = "work"
treatment = "pooled"
covariates = []
time = "none"
cluster = "none"
table = "table5"

[tables.table4]
title = "Table 4. Paid work"

[tables.table5]
title = ""

[series.work]
outcome = "work"
controls = ["kids", "woman"]
own_baseline = false
office_effects = true
figure = "figure2"
title = "Paid work by month"

[compliance]
models = ["work_none"]
table = "table8"

[subgroups]
variables = ["woman"]
models = ["work_none"]
reference = "t"
table = "table6"
figure = "figure3"

[since_randomisation]
bins = [0, 3, 12]
models = ["work_none"]
table = "table7"
figure = "figure4"

[inference]
models = ["work"]
randomization_draws = 999
band_draws = 99
seed = 1
bootstrap_weights = "webb"
few_clusters = 20
reference = "t"
statistic = "wald"

[output]
formats = ["png", "pdf", "svg"]
digits = 3
leading_zero = false
"""


@pytest.fixture(scope="module")
def every_key() -> dict:
    return tomllib.loads(EVERY_KEY)


def test_writing_is_the_inverse_of_reading(every_key):
    assert Plan.from_dict(every_key).to_dict() == every_key
    assert list(Plan.from_dict(every_key).to_dict()) == list(every_key)  # the sections in the file's order
    for name in shipped_plans():
        plan = load_plan(name)
        written = plan.to_dict()
        assert Plan.from_dict(written).to_dict() == written
        assert Plan.from_dict(written) == plan and load_plan(plan.to_toml()) == plan


def test_a_shipped_plan_file_reads_back_from_what_it_writes():
    for path in shipped_plans().values():
        raw = tomllib.loads(path.read_text())
        plan = Plan.from_dict(raw)
        written = plan.to_dict()
        for section, table in raw.items():  # every key the file gives is written back with its value
            for key, value in table.items():
                if not isinstance(value, dict):
                    assert written[section][key] == (
                        value if section != "sample" or key != "threshold" else plan.threshold_text
                    )


def test_optional_keys_are_written_only_when_set():
    plan = Plan.from_dict({"trial": {"name": "t"}, "months": {"implementation": "2020-01"}})
    written = plan.to_dict()
    assert written["trial"] == {"name": "t"} and written["data"] == {"missing": "error"}
    assert "variant" not in written["columns"] and "first" not in written["months"]
    assert "variants" not in written and "variables" not in written["balance"]
    assert Plan.from_dict(written) == plan


def test_round_trips_that_0_2_lost():
    """No rule but a parent unit, a variant column with a control name and no levels: written back."""
    raw = {
        "trial": {"name": "t"},
        "columns": {"variant": "kind"},
        "variants": {"control": "ordinary"},
        "months": {"implementation": "2020-01"},
        "sample": {"rule": "none", "unit": "parent"},
    }
    plan = Plan.from_dict(raw)
    assert plan.sample_unit == "parent" and plan.control_variant == "ordinary"
    assert Plan.from_dict(plan.to_dict()) == plan and load_plan(plan.to_toml()) == plan
    assert "threshold" not in plan.to_dict()["sample"]


def test_sections_are_frozen_and_named_as_their_tables(every_key):
    plan = Plan.from_dict(every_key)
    assert isinstance(plan.months, sections.Months) and plan.months.first == "2018-01"
    assert plan.roles == sections.ColumnRoles("pid", "fid", "site", "ym", "offer", "kind", "began", "took", "entered")
    assert plan.nouns.parent == "person" and plan.units == ("person", "household", "site")
    assert [v.name for v in plan.variant_coding.levels] == ["phone", "visit"] and plan.variants[1].codes == (2,)
    assert plan.sample == sections.SampleRule(
        "control_share", 0.25, "parent", "table1", "Table 1. Persons per site by arm", "figure1", "1/4"
    )
    assert plan.inference.bootstrap_weights == "webb" and plan.output.formats == ("png", "pdf", "svg")
    assert plan.inference.statistic == "wald" and plan.randomization_statistic == "wald"
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.months.first = "2017-01"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.first_month = "2017-01"  # type: ignore[misc]
    for f in dataclasses.fields(plan):
        if "toml" in f.metadata and f.metadata["toml"] in every_key:
            value = getattr(plan, f.name)
            if dataclasses.is_dataclass(value) and f.metadata["toml"] != "sample":
                keys = {g.name for g in dataclasses.fields(value)}
                assert set(every_key[f.metadata["toml"]]) == keys, f.name


def test_the_flat_names_of_0_2_read_the_sections():
    plan = load_plan("casework")
    flat = {
        "name": "Welfare casework trial (synthetic example)",
        "registry": "",
        "data_path": "famtrial:synthetic/casework_panel.parquet",
        "missing": "error",
        "published": "",
        "parent": "pid",
        "family": "hh",
        "office": "kontor",
        "month": "ym",
        "arm": "offer",
        "variant_column": "variant",
        "start": None,
        "offered_code": "yes",
        "control_code": "no",
        "offered_label": "Casework offered",
        "control_label": "Ordinary follow-up",
        "control_variant": "none",
        "control_variant_codes": (),
        "treatment_name": "casework",
        "treatment_label": "Casework (any variant)",
        "treatment_description": "coordinated casework",
        "implementation": "2019-04",
        "baseline": "2019-03",
        "first_month": None,
        "last_month": None,
        "sample_rule": "control_share",
        "threshold": 0.25,
        "threshold_text": "1/4",
        "sample_unit": "parent",
        "sample_table": "table1",
        "sample_title": "Table 1. Persons per office by arm",
        "flow_figure": "figure1",
        "balance_table": "table2",
        "balance_variables": (),
        "correlations_table": "table3",
        "inference_models": ("work",),
        "randomization_draws": 99,
        "band_draws": 999,
        "seed": 20190401,
        "bootstrap_weights": "rademacher",
        "formats": ("png",),
        "digits": 2,
        "leading_zero": True,
        "units": ("person", "household", "office"),
    }
    assert {k: getattr(plan, k) for k in flat} == flat
    assert [v.name for v in plan.variants] == ["phone", "home", "group"]
    assert plan.tables == (
        ("table4", "Table 4. Fixed-effects logit: paid work (month fixed effects)"),
        ("table5", "Table 5. Fixed-effects logit: education or training (linear trend)"),
    )


def test_dataclasses_replace_takes_the_flat_names():
    plan = load_plan()
    moved = dataclasses.replace(plan, first_month="2016-01", last_month="2017-12")
    assert moved.months == dataclasses.replace(plan.months, first="2016-01", last="2017-12")
    assert moved.source == plan.source and moved.models == plan.models and moved != plan
    assert dataclasses.replace(plan, months=plan.months) == plan
    with pytest.raises(TypeError, match="unexpected keyword argument 'shoe_size'"):
        dataclasses.replace(plan, shoe_size=44)


def test_a_plan_pickles_and_hashes():
    plan = load_plan("casework")
    again = pickle.loads(pickle.dumps(plan))
    assert again == plan and hash(again) == hash(plan) and again.source == plan.source


def test_references_are_checked_after_every_section_is_read(every_key):
    """A section's own problem is reported before a reference another section makes."""
    raw = {**every_key, "models": {"m": {"outcome": "income", "time": "quarterly"}}}
    with pytest.raises(PlanError, match=r"models.m.time = 'quarterly' is not one of"):
        Plan.from_dict(raw)
    raw["models"]["m"].pop("time")
    with pytest.raises(PlanError, match=r"models.m.outcome = 'income' is not an outcome of the plan"):
        Plan.from_dict(raw)
