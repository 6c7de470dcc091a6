"""Hostile input through the public API and the command line (issue 15).

Every malformed panel or wrong call must raise a famtrial error (PanelError, PlanError, or a
ValueError/TypeError raised by famtrial itself) whose message names the argument, column, month or
file and says what to do; never a pandas/numpy/pyarrow exception from deep inside. Each case
asserts the class, that the exception was raised in famtrial's own code, and the words the message
must contain.
"""

from __future__ import annotations

import traceback
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import famtrial as ft
from conftest import same_as_in_memory
from famtrial.cli import main as cli_main
from famtrial.published.verify import load_spec, verify

matplotlib.use("Agg")

SRC = str(Path(ft.__file__).parent)


@pytest.fixture(scope="module", autouse=True)
def _client(dask_client):
    """The panel cases also run the Dask loader on a real LocalCluster (``_load_raises``)."""
    return dask_client


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    from conftest import make_panel_frame

    return make_panel_frame()


@pytest.fixture(scope="module")
def panel(frame) -> ft.Panel:
    return ft.load_panel(frame)


@pytest.fixture(scope="module")
def sample(panel) -> ft.AnalysisSample:
    return ft.analysis_sample(panel)


@pytest.fixture(scope="module")
def base(panel) -> pd.DataFrame:
    return panel.baseline_frame()


@pytest.fixture(scope="module")
def fit(panel):
    return ft.fe_model(panel, "activation")


@pytest.fixture(scope="module")
def files(tmp_path_factory, frame) -> Path:
    """Broken panel files: 0-byte, ';'- and tab-separated CSV, garbage .dta, corrupt and truncated Parquet."""
    d = tmp_path_factory.mktemp("hostile")
    (d / "empty.csv").write_bytes(b"")
    frame.to_csv(d / "semicolon.csv", sep=";", index=False)
    frame.to_csv(d / "tab.csv", sep="\t", index=False)
    (d / "garbage.dta").write_bytes(b"this is not a Stata file\x00\x01" * 40)
    (d / "garbage.parquet").write_bytes(b"PAR1 but not really parquet")
    frame.to_parquet(d / "good.parquet")
    whole = (d / "good.parquet").read_bytes()
    (d / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    (d / "empty.parquet").write_bytes(b"")
    (d / "empty.dta").write_bytes(b"")
    (d / "panel.xlsx").write_bytes(b"PK")
    frame.head(0).to_csv(d / "header_only.csv", index=False)
    (d / "bad.toml").write_text("[[[", encoding="utf-8")
    (d / "results_empty.csv").write_bytes(b"")
    (d / "no_results").mkdir()
    return d


def _raises(call, error, *words):
    """``call()`` raises ``error`` from famtrial's own code, with every one of ``words`` in its message."""
    with pytest.raises(error) as info:
        call()
    site = traceback.extract_tb(info.value.__traceback__)[-1].filename
    assert site.startswith(SRC), f"raised outside famtrial, in {site}: {info.value!r}"
    text = str(info.value)
    for word in words:
        assert word in text, f"{word!r} not in: {text}"
    return text


def _load_raises(frame: pd.DataFrame, error, *words, **kwargs) -> str:
    """``load_panel(frame, **kwargs)`` raises ``error`` with ``words`` (``_raises``); the Dask loader on
    1, 3 and 7 partitions of ``frame`` raises the same message word for word."""
    text = _raises(lambda: ft.load_panel(frame, **kwargs), error, *words)
    same_as_in_memory(frame, **kwargs)
    return text


def _set(frame: pd.DataFrame, column: str, row: int, value) -> pd.DataFrame:
    out = frame.copy()
    out[column] = out[column].astype(object if isinstance(value, str) else float)
    out.loc[row, column] = value
    return out


def _stata_tm(frame: pd.DataFrame, shift: int = 0) -> pd.DataFrame:
    month = pd.PeriodIndex(frame["month"], freq="M")
    return frame.assign(month=(month.year - 1960) * 12 + month.month - 1 + shift)


# -- panels: values ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [np.inf, -np.inf, "inf", "-Infinity"])
def test_infinite_covariate_is_missing(frame, value):
    bad = _set(frame, "n_children", 5, value)
    _load_raises(bad, ft.PanelError, "'n_children'", "1 rows", "missing or infinite", '[data] missing = "drop"')
    panel = same_as_in_memory(bad, missing="drop")
    r = panel.report
    assert r.dropped_missing == {"n_children": 1} and r.rows_dropped_missing == 1
    assert r.rows_read == r.rows_kept + 1 and np.isfinite(panel.data["n_children"].to_numpy(float)).all()


def test_infinite_outcome_is_missing(frame):
    bad = _set(frame, "activation", 3, np.inf)
    _load_raises(bad, ft.PanelError, "'activation'", "1 rows", "missing or infinite")
    assert same_as_in_memory(bad, missing="drop").report.dropped_missing == {"activation": 1}


@pytest.mark.parametrize("column", ["parent_id", "family_id", "office"])
def test_infinite_id(frame, column):
    bad = _set(frame, column, 0, np.inf)
    _load_raises(bad, ft.PanelError, repr(column), "1 rows", "infinite id")


@pytest.mark.parametrize(
    "column, cells", [("n_children", "lists"), ("parent_id", "lists"), ("month", "lists"), ("arm", "dicts")]
)
def test_non_scalar_cells(frame, column, cells):
    bad = frame.copy()
    bad[column] = [[v] if cells == "lists" else {"v": v} for v in bad[column]]
    _load_raises(bad, ft.PanelError, repr(column), f"{len(bad):,} rows", "non-scalar")


@pytest.mark.parametrize(
    "values, dtype",
    [
        (lambda s: s.astype(complex), "complex128"),
        (lambda s: pd.to_datetime("2020-01-01") + pd.to_timedelta(s, "D"), "datetime64"),
        (lambda s: pd.to_timedelta(s, "D"), "timedelta64"),
    ],
)
def test_covariate_that_is_not_a_real_number(frame, values, dtype):
    bad = frame.assign(married=values(frame["married"]))
    _load_raises(bad, ft.PanelError, "'married'", "1,440 rows", dtype, "not real numbers")


@pytest.mark.parametrize(
    "value, words",
    [
        ("0001-01", ("outside 1900-01 .. 2969-12", "0001-01")),
        ("9999-12", ("outside 1900-01 .. 2969-12", "9999-12")),
        ("2016-13", ("cannot be read", "2016-13")),
        ("soon", ("cannot be read", "soon")),
    ],
)
def test_month_out_of_range_or_unreadable(frame, value, words):
    _load_raises(_set(frame, "month", 7, value), ft.PanelError, "'month'", "1 rows", *words)


def test_implementation_after_the_data(frame):
    _load_raises(
        frame,
        ft.PanelError,
        "'month'",
        "implementation month 2020-01",
        "2016-04 .. 2017-03",
        "1,440 rows",
        "months.implementation",
        implementation="2020-01",
    )


def test_negative_stata_months_put_the_panel_in_the_1930s(frame):
    shifted = _stata_tm(frame, shift=-1000)  # months since 1960m1, negative: 1932-12 .. 1933-11
    _load_raises(shifted, ft.PanelError, "'month'", "implementation month 2016-10", "1932-12 .. 1933-11", "Stata %tm")
    assert ft.load_panel(_stata_tm(frame)).report.first_month == "2016-04"  # the valid %tm panel loads


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
def test_implementation_before_the_data_fails_at_the_model(frame):
    panel = ft.load_panel(frame, implementation="2000-01")
    _raises(
        lambda: ft.fe_model(panel, "activation"),
        ft.PanelError,
        "['coordinator_pooled']",
        "implementation month 2000-01",
        "2016-04 .. 2017-03",
    )


def test_one_arm_only(frame):
    _load_raises(frame.assign(arm=1, model="local"), ft.PanelError, "'arm'", "all 1,440 rows", "both arms")


def test_duplicate_column_names(frame):
    bad = pd.concat([frame, frame[["office"]]], axis=1)
    _load_raises(bad, ft.PanelError, "['office']", "more than once")


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("arm", 2, ("'arm'", "neither the offered code 1 nor the control code 0")),
        ("activation", 0.5, ("'activation'", "not 0/1")),
        ("n_children", "three", ("'n_children'", "not numeric", "three")),
        ("model", "nope", ("'model'", "unknown variant", "nope")),
    ],
)
def test_wrong_values(frame, column, value, words):
    _load_raises(_set(frame, column, 4, value), ft.PanelError, *words, "1 rows")


# -- panels: files ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, words",
    [
        ("empty.csv", ("empty.csv", "empty (0 bytes)")),
        ("semicolon.csv", ("semicolon.csv", "looks like ';'-separated", "[data] sep", "--sep ';'")),
        ("tab.csv", ("tab.csv", "-separated", "[data] sep")),
        ("garbage.dta", ("garbage.dta", "cannot be read as Stata .dta", "check that the file")),
        ("empty.dta", ("empty.dta", "cannot be read as Stata .dta")),
        ("garbage.parquet", ("garbage.parquet", "cannot be read as Parquet")),
        ("truncated.parquet", ("truncated.parquet", "cannot be read as Parquet", "complete")),
        ("empty.parquet", ("empty.parquet", "cannot be read as Parquet")),
        ("panel.xlsx", ("panel.xlsx", ".csv, .parquet or .dta")),
        ("header_only.csv", ("empty (0 rows)",)),
        ("missing.csv", ("missing.csv", "does not exist")),
        (".", ("is a folder",)),
    ],
)
def test_broken_files(files, name, words):
    _raises(lambda: ft.load_panel(files / name), ft.PanelError, *words)


# -- wrong objects and argument types ---------------------------------------------------------------
@pytest.mark.parametrize(
    "source, words",
    [
        (None, ("source", "NoneType")),
        (3, ("source", "int")),
        ([1, 2], ("source", "list")),
        (np.zeros((2, 2)), ("source", "ndarray")),
    ],
)
def test_load_panel_source_types(source, words):
    _raises(lambda: ft.load_panel(source), TypeError, *words)


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
def test_panel_where_a_dataframe_is_expected_and_vice_versa(frame, panel, sample, fit):
    _raises(lambda: ft.load_panel(panel), TypeError, "source", "already a loaded famtrial Panel")
    _raises(lambda: ft.analysis_sample(frame), TypeError, "analysis_sample", "Panel", "DataFrame")
    _raises(lambda: ft.analysis_sample(sample), TypeError, "analysis_sample", "AnalysisSample")
    _raises(lambda: ft.office_counts(frame), TypeError, "office_counts", "DataFrame")
    _raises(lambda: ft.balance_table(sample), TypeError, "data", "AnalysisSample")
    _raises(lambda: ft.correlation_table(None), TypeError, "data", "NoneType")
    _raises(lambda: ft.fe_model(frame, "activation"), TypeError, "fe_model", "Panel", "load_panel")
    _raises(lambda: ft.fe_models(frame), TypeError, "fe_models", "Panel", "load_panel")
    _raises(lambda: ft.treatment_indicators(frame), TypeError, "treatment_indicators", "Panel", "load_panel")
    _raises(lambda: ft.monthly_effects(frame, "activation"), TypeError, "monthly_effects", "Panel")
    _raises(lambda: ft.plot_monthly(frame), TypeError, "plot_monthly", "MonthlyEffects")
    _raises(lambda: ft.plot_flow(sample), TypeError, "plot_flow", "FlowCounts", "sample.flow")
    _raises(lambda: ft.plot_flow(panel), TypeError, "plot_flow", "Panel")
    _raises(lambda: ft.compare_models(fit), TypeError, "compare_models", "mapping")
    _raises(lambda: ft.exclusion_rule([1, 2]), TypeError, "exclusion_rule", "list")
    _raises(lambda: verify(None), TypeError, "results", "NoneType")


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"plan": 5}, TypeError, ("plan", "int")),
        ({"plan": {}}, TypeError, ("plan", "dict")),
        ({"plan": "no_such_plan"}, ft.PlanError, ("no_such_plan", "does not exist")),
        ({"columns": "parent_id"}, TypeError, ("columns", "str")),
        ({"missing": "ignore"}, ValueError, ("missing='ignore'", "'error', 'drop'")),
        ({"missing": ["drop"]}, ValueError, ("missing=['drop']",)),
        ({"implementation": "October"}, ValueError, ("implementation='October'", "YYYY-MM")),
        ({"implementation": ["2016-10"]}, ValueError, ("implementation=",)),
        ({"baseline": 2016.10}, ValueError, ("baseline=",)),
    ],
)
def test_load_panel_arguments(frame, kwargs, error, words):
    _raises(lambda: ft.load_panel(frame, **kwargs), error, *words)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"outcomes": None}, ("outcomes=None",)),
        ({"parent": 3}, ("parent=3",)),
        ({"model": ""}, ("model=''",)),
        ({"outcomes": (1, 2)}, ("outcomes", "[1, 2]")),
        ({"time_varying": {"a": 1}}, ("time_varying",)),
    ],
)
def test_columns_arguments(kwargs, words):
    _raises(lambda: ft.Columns(**kwargs), TypeError, "Columns", *words)


@pytest.mark.parametrize(
    "offices, words", [("1", ("offices", "str", "['1']")), (1, ("offices", "int")), (None, ("offices", "NoneType"))]
)
def test_restrict_arguments(panel, offices, words):
    _raises(lambda: panel.restrict(offices), TypeError, "restrict", *words)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"threshold": "1/3"}, TypeError, ("threshold='1/3'",)),
        ({"threshold": [0.3]}, TypeError, ("threshold=[0.3]",)),
        ({"threshold": True}, TypeError, ("threshold=True",)),
        ({"threshold": float("nan")}, ValueError, ("threshold=nan", "between 0 and 1")),
        ({"threshold": 0.99}, ValueError, ("no office meets the rule", "0.99")),
        ({"unit": "office"}, ValueError, ("unit='office'",)),
        ({"rule": "none", "unit": "x"}, ValueError, ("unit='x'",)),
        ({"rule": "all"}, ValueError, ("rule='all'",)),
    ],
)
def test_analysis_sample_arguments(panel, kwargs, error, words):
    _raises(lambda: ft.analysis_sample(panel, **kwargs), error, *words)


def test_exclusion_rule_counts(panel):
    counts = ft.office_counts(panel)
    _raises(lambda: ft.exclusion_rule(counts.astype(str)), ValueError, "'families_coordinated'", "not numbers")
    nan = counts.astype(float).assign(families_ordinary=np.nan)
    _raises(lambda: ft.exclusion_rule(nan), ValueError, "'families_ordinary'", "missing, infinite or fractional")


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda b, p: ft.balance_table(b, binary="female"), TypeError, ("binary", "'female'", "['female']")),
        (lambda b, p: ft.balance_table(b, continuous="year_of_birth"), TypeError, ("continuous", "['year_of_birth']")),
        (lambda b, p: ft.balance_table(b, binary=["female", "female"]), ValueError, ("binary", "more than once")),
        (lambda b, p: ft.balance_table(b, binary=[]), ValueError, ("no variables",)),
        (lambda b, p: ft.balance_table(b, arm=1, binary=["female"]), TypeError, ("arm=1",)),
        (lambda b, p: ft.balance_table(b, binary=["nope"]), ValueError, ("['nope']", "not in the baseline data")),
        (lambda b, p: ft.balance_table(p, labels=["a"]), TypeError, ("labels", "mapping")),
        (lambda b, p: ft.balance_table(p, arm_labels="ab"), TypeError, ("arm_labels='ab'", "two strings")),
        (lambda b, p: ft.balance_table(p, title=3), TypeError, ("title=3",)),
        (lambda b, p: ft.balance_table(p, equal_var="yes"), TypeError, ("equal_var='yes'",)),
        (lambda b, p: ft.balance_table(b.assign(arm=1), binary=["female"]), ValueError, ("'arm'", "both arms")),
        (
            lambda b, p: ft.balance_table(b.assign(female=b["female"].astype(str)), binary=["female"]),
            ValueError,
            ("'female'", "not numeric"),
        ),
        (
            lambda b, p: ft.balance_table(
                b.assign(year_of_birth=b["year_of_birth"].astype(complex)), continuous=["year_of_birth"]
            ),
            ValueError,
            ("'year_of_birth'", "complex"),
        ),
        (
            lambda b, p: ft.balance_table(pd.concat([b, b[["female"]]], axis=1), binary=["female"]),
            ValueError,
            ("['female']", "more than once"),
        ),
        (lambda b, p: ft.correlation_table(b, "female"), TypeError, ("variables", "['female']")),
        (lambda b, p: ft.correlation_table(b, 3), TypeError, ("variables", "int")),
        (lambda b, p: ft.correlation_table(b, ["female", "female"]), ValueError, ("variables", "more than once")),
        (
            lambda b, p: ft.correlation_table(b.head(2).assign(arm=[0, 1]), ["female"]),
            ValueError,
            ("at least 3 rows", "2"),
        ),
        (lambda b, p: ft.correlation_table(p, title=3), TypeError, ("title=3",)),
    ],
)
def test_balance_and_correlation_arguments(base, panel, call, error, words):
    _raises(lambda: call(base, panel), error, *words)


@pytest.mark.parametrize("table", ["balance", "correlation"])
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_baseline_value_is_an_error_not_a_lost_degree_of_freedom(base, table, value):
    bad = base.assign(year_of_birth=base["year_of_birth"].astype(float).where(base.index != 0, value))
    call = (
        (lambda: ft.balance_table(bad, continuous=["year_of_birth"]))
        if table == "balance"
        else (lambda: ft.correlation_table(bad, ["year_of_birth"]))
    )
    _raises(call, ValueError, "'year_of_birth'", "1 infinite values of 120", "missing='drop'")


def test_boolean_arm_is_read_as_0_1(base):
    table = ft.balance_table(base.assign(arm=base["arm"].astype(bool)), binary=["female"])
    assert (table.nobs_treated, table.nobs_control) == (int(base["arm"].sum()), int((base["arm"] == 0).sum()))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"covariates": "married"}, TypeError, ("covariates", "['married']")),
        ({"covariates": 3}, TypeError, ("covariates", "int")),
        ({"covariates": {}}, TypeError, ("covariates", "dict")),
        ({"covariates": ["nope"]}, ft.PlanError, ("covariates", "'nope'")),
        ({"covariates": ["married", "married"]}, ft.PlanError, ("covariates", "['married']", "more than once")),
        ({"covariates": ["activation"]}, ft.PlanError, ("covariates", "'activation'", "outcome")),
        ({"covariates": ["model"]}, ft.PlanError, ("covariates", "'model'", "variant")),
        ({"covariates": ["office"]}, ft.PlanError, ("covariates", "'office'", "office id")),
        ({"covariates": [1]}, TypeError, ("covariates", "1")),
        ({"cluster": ["office"]}, TypeError, ("cluster=['office']",)),
        ({"cluster": "region"}, ft.PlanError, ("cluster='region'",)),
        ({"trend": "quadratic"}, ValueError, ("trend='quadratic'",)),
        ({"split": "yes"}, TypeError, ("split='yes'",)),
        ({"t_reference": "yes"}, TypeError, ("t_reference='yes'",)),
    ],
)
def test_fe_model_arguments(panel, kwargs, error, words):
    _raises(lambda: ft.fe_model(panel, "activation", **kwargs), error, *words)


@pytest.mark.parametrize("outcome", ["nope", 3, ["activation"], "n_children"])
def test_fe_model_outcome(panel, outcome):
    _raises(lambda: ft.fe_model(panel, outcome), ft.PlanError, repr(outcome), "not an outcome of the plan")


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"models": "model1"}, TypeError, ("models", "'model1'")),
        ({"models": 3}, TypeError, ("models", "int")),
        ({"models": []}, ft.PlanError, ("models=[]", "model1")),
        ({"models": ["nope"]}, ft.PlanError, ("'nope'", "model1")),
        ({"plan": "nct03102775"}, TypeError, ("plan", "str")),
        ({"t_reference": 1}, TypeError, ("t_reference=1",)),
    ],
)
def test_fe_models_arguments(panel, kwargs, error, words):
    _raises(lambda: ft.fe_models(panel, **kwargs), error, *words)


@pytest.mark.parametrize(
    "results, kwargs, error, words",
    [
        ({}, {}, TypeError, ("compare_models", "non-empty mapping")),
        ([], {}, TypeError, ("compare_models", "non-empty mapping")),
        ("fit", {}, TypeError, ("compare_models",)),
        ({"a": "b"}, {}, TypeError, ("['a']", "str")),
        (None, {"labels": ["x"]}, TypeError, ("labels", "list")),
        (None, {"hide": "trend"}, TypeError, ("hide", "['trend']")),
        (None, {"first": "coordinator_pooled"}, TypeError, ("first", "['coordinator_pooled']")),
        (None, {"digits": "2"}, ValueError, ("digits='2'",)),
        (None, {"digits": -1}, ValueError, ("digits=-1",)),
        (None, {"alpha": 2}, ValueError, ("alpha=2",)),
        (None, {"alpha": "0.05"}, ValueError, ("alpha='0.05'",)),
        (None, {"n_parents": "5"}, TypeError, ("n_parents='5'",)),
        (None, {"unit": "parent"}, TypeError, ("unit='parent'", "two strings")),
        (None, {"title": 5}, TypeError, ("title=5",)),
        (None, {"leading_zero": "no"}, TypeError, ("leading_zero='no'",)),
    ],
)
def test_compare_models_arguments(fit, results, kwargs, error, words):
    results = {"model1": fit} if results is None else results
    _raises(lambda: ft.compare_models(results, **kwargs), error, *words)


def test_model_tables_arguments(panel, fit):
    _raises(lambda: ft.model_tables({"model1": fit}, "nct03102775"), TypeError, "plan", "str")
    _raises(lambda: ft.model_tables([fit], panel.plan), TypeError, "results", "list")
    _raises(lambda: ft.model_tables({"modelX": fit}, panel.plan), ft.PlanError, "['modelX']", "model1")


def test_plot_flow_arguments(sample):
    _raises(lambda: ft.plot_flow(sample.flow, ax="x"), TypeError, "ax", "str")
    _raises(lambda: ft.plot_flow(sample.flow, title=3), TypeError, "title=3")


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"results": {}}, ValueError, ("results are empty",)),
        ({"results": {1: 2.0}}, TypeError, ("results keys", "[1]")),
        ({"results": pd.DataFrame({"a": [1]})}, ValueError, ("'key'", "'value'")),
        ({"tolerances": ["table5"]}, TypeError, ("tolerances", "list")),
        ({"tolerances": {"table5": True}}, ValueError, ("'table5'", "True")),
        ({"tolerances": {"table5": -1}}, ValueError, ("'table5'", "-1")),
        ({"tolerances": {"tabel5": 0.1}}, ValueError, ("'tabel5'", "matches no published number")),
        ({"tables": 3}, TypeError, ("tables", "3")),
        ({"tables": ["nope"]}, ValueError, ("'nope'", "table5")),
        ({"allow_missing": "no"}, TypeError, ("allow_missing='no'",)),
        ({"spec": 3}, TypeError, ("spec", "int")),
    ],
)
def test_verify_arguments(kwargs, error, words):
    kwargs = {"results": {"table5.model1.coordinator_pooled.or": 1.0}, **kwargs}
    _raises(lambda: verify(**kwargs), error, *words)


def test_verify_and_spec_files(files):
    _raises(lambda: verify(files / "results_empty.csv"), ValueError, "results_empty.csv", "empty (0 bytes)")
    _raises(lambda: verify(files / "no_results"), FileNotFoundError, "reproduced.csv", "famtrial reproduce")
    _raises(lambda: load_spec(files / "bad.toml"), ValueError, "bad.toml", "not valid TOML")
    _raises(lambda: load_spec(files), ValueError, "is a folder")
    _raises(lambda: load_spec(3), TypeError, "spec", "int")


# -- the command line: one line on stderr, exit 2, naming the file ----------------------------------
@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["reproduce", "--data", "{d}/semicolon.csv", "--skip-inference", "--quiet"],
            ("semicolon.csv", "';'-separated", "[data] sep"),
        ),
        (["reproduce", "--data", "{d}/empty.csv", "--quiet"], ("empty.csv", "0 bytes")),
        (["reproduce", "--data", "{d}/garbage.dta", "--quiet"], ("garbage.dta", "Stata .dta")),
        (["reproduce", "--data", "{d}/truncated.parquet", "--quiet"], ("truncated.parquet", "Parquet")),
        (["reproduce", "--data", "{d}/tab.csv", "--quiet"], ("tab.csv", "[data] sep")),
        (["plan", "check", "{d}/bad.toml"], ("bad.toml", "not valid TOML")),
        (["plan", "check", "nct03102775", "--data", "{d}/garbage.parquet"], ("garbage.parquet", "Parquet")),
        (["plan", "init", "{d}/empty.csv"], ("empty.csv", "0 bytes")),
        (["verify", "--results", "{d}/results_empty.csv"], ("results_empty.csv", "empty")),
        (["verify", "--results", "{d}/no_results"], ("reproduced.csv", "does not exist")),
        (["verify", "--results", "{d}/no_results", "--spec", "{d}/bad.toml"], ("bad.toml", "not valid TOML")),
    ],
)
def test_command_line(files, capsys, argv, words):
    code = cli_main([a.format(d=files) for a in argv])
    captured = capsys.readouterr()
    text = (captured.err.strip() or captured.out.strip()).splitlines()[-1]  # verify reports on stdout
    assert code == 2, captured
    assert "Traceback" not in captured.err
    for word in words:
        assert word in text, f"{word!r} not in: {text}"


def test_table_arguments(tmp_path, sample):
    table = sample.table2
    _raises(lambda: ft.Table(frame=[1], display=table.display), TypeError, "frame", "list")
    _raises(lambda: ft.Table(frame=table.frame, display=table.display, title=3), TypeError, "title=3")
    _raises(lambda: table.save(3), TypeError, "path", "int")
    _raises(lambda: table.save(tmp_path / "table2.xlsx"), ValueError, "'.xlsx'", "table2.xlsx", ".md")
    (tmp_path / "dir.md").mkdir()
    _raises(lambda: table.save(tmp_path / "dir.md"), ValueError, "dir.md", "folder")
    _raises(lambda: table.to_csv(3), TypeError, "path", "int")


def test_inf_in_the_panel_keeps_table3_honest(frame):
    """Issue 15: +inf in a covariate printed 'inf (nan)' in Table 3 and the joint test lost a degree of
    freedom (chi2(7)). Now the row is dropped and counted, and every variable keeps its degree of freedom."""
    base_row = int(np.flatnonzero((frame["month"] == "2016-10").to_numpy())[0])
    panel = ft.load_panel(_set(frame, "n_children", base_row, np.inf), missing="drop")
    assert panel.report.dropped_missing == {"n_children": 1}
    table = ft.balance_table(panel)
    assert table.nobs == frame["parent_id"].nunique() - 1
    assert table.joint_test.df == len(panel.plan.balance_variables) and not table.joint_test.dropped
    assert "inf" not in table.display.to_string()
