"""The data layer's modules on their own: public names where they live, 0.2's path, month forms,
the failure messages, the numbered checks, and no private name crossing a module of famtrial.data.

Fast, in memory, no Dask cluster: the loaders' messages on 1, 3 and 7 partitions are checked in
tests/data/test_panel.py and tests/data/test_panel_dask.py.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import famtrial
from famtrial.data import checks, failures, months
from famtrial.data.load import load_panel
from famtrial.data.panel import LoadReport, Panel
from famtrial.data.read import read
from famtrial.data.scaffold import scaffold
from famtrial.errors import FamtrialDeprecationWarning, PanelError

DATA = Path(famtrial.__file__).parent / "data"


def test_public_names_come_from_their_modules():
    assert famtrial.load_panel is load_panel
    assert famtrial.Panel is Panel and famtrial.LoadReport is LoadReport
    assert famtrial.scaffold is scaffold
    assert {"load_panel", "Panel", "LoadReport", "scaffold"} <= set(famtrial.__all__)


def test_old_panel_module_path_warns_and_works():
    import importlib

    old = importlib.import_module("famtrial.panel")
    with pytest.warns(FamtrialDeprecationWarning, match="famtrial.panel.load_panel moved to famtrial.data.load"):
        assert old.load_panel is load_panel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FamtrialDeprecationWarning)
        assert old.Panel is Panel and old.Columns is famtrial.Columns


def _private_imports(path: Path) -> list[str]:
    """``from famtrial.data.<module> import _name`` lines of one module (TYPE_CHECKING blocks included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("famtrial.data"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    return found


@pytest.mark.parametrize("path", sorted(DATA.glob("*.py")), ids=lambda p: p.name)
def test_no_module_imports_another_modules_private_name(path):
    assert _private_imports(path) == []


# -- months ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [
        ["2016-10", "2016/11", "2016m12", "2017-01-15"],
        [201610, 201611, 201612, 201701],
        [681, 682, 683, 684],  # Stata %tm: months since 1960m1
        pd.to_datetime(["2016-10-01", "2016-11-30", "2016-12-01", "2017-01-31"]),
        pd.period_range("2016-10", periods=4, freq="M"),
    ],
    ids=["text", "yyyymm", "stata-tm", "datetime", "period"],
)
def test_every_month_form_parses_to_the_same_periods(values):
    parsed = months.parse_months(pd.Series(values), "month", pd.Series(range(4)))
    assert parsed.dtype == pd.PeriodDtype("M")
    assert parsed.astype(str).tolist() == ["2016-10", "2016-11", "2016-12", "2017-01"]


def test_months_outside_the_range_come_before_unreadable_ones():
    values = pd.Series(["1850-01", "soon", "2016-10"])
    with pytest.raises(PanelError) as info:
        months.parse_months(values, "month", pd.Series([7, 8, 9]))
    assert str(info.value) == (
        "column 'month': 1 rows have months outside 1900-01 .. 2969-12 (values such as 1850-01) "
        "(e.g. parent ids 7). Check the month column: a year that far off is a data error (Stata %tm "
        "months count from 1960m1; YYYYMM integers need six digits)."
    )
    assert info.value.parts[-1] == 0
    with pytest.raises(PanelError, match=r"1 rows have months that cannot be read \(values such as soon\)") as info:
        months.parse_months(values[1:], "month", pd.Series([8, 9], index=[1, 2]))
    assert info.value.parts[-1] == 1


def test_missing_months_allowed_only_when_asked():
    values = pd.Series(["2016-10", None])
    assert months.parse_months(values, "start", pd.Series([1, 2]), allow_missing=True).isna().tolist() == [False, True]
    with pytest.raises(PanelError, match="cannot be read"):
        months.parse_months(values, "month", pd.Series([1, 2]))


def test_month_option():
    assert months.month_option("2016m10", "baseline") == pd.Period("2016-10", "M")
    with pytest.raises(ValueError, match=r"baseline='October' is not a month: give 'YYYY-MM' or a pandas Period"):
        months.month_option("October", "baseline")


# -- failures ----------------------------------------------------------------------------------------------
def test_partitions_failures_combine_into_the_whole_panels_message():
    problem = f"are not 0/1 (values such as {failures.VALUES}); the outcome must be binary"
    whole = failures.fail("y", 7, [5, 1, 5, 3, 9, 8, 2], problem, "Recode.", [2, 3, 2, 4, 5, 6, 7])
    parts = [
        failures.fail("y", 3, [5, 1, 5], problem, "Recode.", [2, 3, 2]),
        failures.fail("y", 4, [3, 9, 8, 2], problem, "Recode.", [4, 5, 6, 7]),
    ]
    assert str(failures.combine_fail(parts)) == str(whole)
    assert str(whole) == (
        "column 'y': 7 rows are not 0/1 (values such as 2, 3, 4); the outcome must be binary "
        "(e.g. parent ids 5, 1, 3, 9, 8). Recode."
    )
    assert "parent ids 1, 2, 3, 5, 8" in str(failures.combine_fail(parts, sort_ids=True))


# -- the numbered checks -----------------------------------------------------------------------------------
def test_validate_numbers_every_check_in_order(tiny_panel_frame):
    plan = famtrial.load_plan()
    required = plan.columns.required()
    frame = tiny_panel_frame[required].reset_index(drop=True)

    class Recording(checks.Checks):
        def __init__(self) -> None:
            super().__init__()
            self.whole: list[tuple[int, str]] = []

        def __call__(self, check, totals, plan) -> None:
            super().__call__(check, totals, plan)
            self.whole.append((self.step, check.__name__))

    run = Recording()
    data, counts = checks.validate(frame, plan, "error", len(frame), run)
    cols = plan.columns
    n_cells, n_ids = len(required), len(cols.ids)
    month_step = n_cells + n_ids + 1
    names = [name for _, name in run.whole]
    assert names == ["_check_window", "_check_implementation", "_check_missing", "_check_arms", "_check_families"]
    assert run.whole[0][0] == month_step + 1 and run.whole[1][0] == month_step + 2
    assert run.sorted and run.step == run.whole[-1][0]
    # cells, ids, months, window, implementation, arm known, missing, arm, arms, outcomes, covariates,
    # variant, start, repeated months, arm/family/office within parents, families
    assert run.step == n_cells + n_ids + 1 + 2 + 1 + 1 + 2 + len(cols.outcomes) + len(cols.covariates) + 2 + 1 + 3 + 1
    assert counts == {"outside": 0, "counts": {}, "rows_dropped": 0, "parents_dropped": 0}
    assert len(data) == len(frame)


def test_check_columns_messages_in_order():
    names = pd.Index(["a", "b", "b"])
    with pytest.raises(PanelError, match=r"the panel is empty \(0 rows\)"):
        checks.check_columns(names, ["a", "b"], list(names), lambda: 0)
    with pytest.raises(PanelError, match=r"columns \['b'\] appear more than once"):
        checks.check_columns(names, ["a", "b"], list(names), lambda: 3)
    with pytest.raises(PanelError, match=r"columns \['c'\] are missing \(1 of 2 required\)"):
        checks.check_columns(pd.Index(["a"]), ["a", "c"], ["a"], lambda: 3)


def test_runs_and_changes():
    codes = np.array([0, 0, 1, 1, 1, 2])
    same, starts = checks.runs(codes)
    assert starts.tolist() == [0, 2, 5]
    assert checks.changes(pd.Series([1, 1, 1, 2, 1, 3]), same, codes, 3).tolist() == [
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    assert checks.runs(np.zeros(0, int))[1].size == 0


# -- reading -------------------------------------------------------------------------------------------------
def test_read_names_the_source(tiny_panel_frame, tmp_path):
    frame, name, present = read(tiny_panel_frame)
    assert frame is tiny_panel_frame and name == "DataFrame" and present == list(tiny_panel_frame.columns)
    path = tmp_path / "p.csv"
    tiny_panel_frame.to_csv(path, index=False)
    frame, name, present = read(path, ["parent_id", "month", "nothing"])
    assert list(frame.columns) == ["parent_id", "month"] and name == str(path) and "arm" in present
    (tmp_path / "s.csv").write_text("a;b\n1;2\n")
    with pytest.raises(PanelError, match="looks like ';'-separated CSV"):
        read(tmp_path / "s.csv")
    with pytest.raises(TypeError, match="source must be a DataFrame or a path"):
        read(3)
