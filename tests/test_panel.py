"""load_panel: formats, month parsing, and every validation error with its message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from famtrial.panel import Columns, PanelError, load_panel


def test_valid_panel_loads_with_roles_and_report(tiny_panel_frame):
    panel = load_panel(tiny_panel_frame)
    assert isinstance(panel.data["month"].dtype, pd.PeriodDtype)
    assert panel.report.parents == 120 and panel.report.offices == 6 and panel.report.months == 12
    assert panel.baseline == pd.Period("2016-10", "M")
    base = panel.baseline_frame()
    assert len(base) == 120 and (base["month"] == panel.baseline).all()
    assert "parents: 120 in 120 families and 6 offices" in panel.summary()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".dta"])
def test_file_formats_round_trip(tiny_panel_frame, tmp_path, suffix):
    path = tmp_path / f"panel{suffix}"
    frame = tiny_panel_frame
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:  # Stata: months as %tm-style text 2016m4
        frame.assign(month=pd.PeriodIndex(frame["month"], freq="M").strftime("%Ym%m").str.replace("m0", "m"),
                     model=frame["model"].map({"ordinary": 0, "local": 1, "holf": 2})).to_stata(path, write_index=False)
    panel = load_panel(path)
    reference = load_panel(frame)
    pd.testing.assert_series_equal(panel.data["month"], reference.data["month"])
    np.testing.assert_array_equal(panel.data["activation"], reference.data["activation"])
    assert list(panel.data["model"]) == list(reference.data["model"])


def test_gaps_are_allowed_and_counted(tiny_panel_frame):
    frame = tiny_panel_frame.drop(index=[3, 4, 30])  # parent 0 misses 2 months, parent 2 misses 1
    report = load_panel(frame).report
    assert report.parents_with_gaps == 2 and report.missing_parent_months == 3


def _expect(frame, match, **kwargs):
    with pytest.raises(PanelError, match=match) as info:
        load_panel(frame, **kwargs)
    return str(info.value)


def test_missing_columns(tiny_panel_frame):
    msg = _expect(tiny_panel_frame.drop(columns=["office", "employed"]), r"columns \['office', 'employed'\] are missing")
    assert "famtrial.Columns(" in msg


def test_duplicate_parent_months(tiny_panel_frame):
    frame = pd.concat([tiny_panel_frame, tiny_panel_frame.iloc[[0, 13]]])
    msg = _expect(frame, r"column 'month': 4 rows repeat a \(parent, month\) pair")
    assert "parent ids 0, 1" in msg and "one row per parent per month" in msg


@pytest.mark.parametrize("column, what", [("arm", "arm"), ("family_id", "family"), ("office", "office")])
def test_not_constant_within_parent(tiny_panel_frame, column, what):
    frame = tiny_panel_frame.copy()
    frame.loc[frame["parent_id"] == 7, column] = frame.loc[frame["parent_id"] == 7, column].to_numpy() + \
        np.r_[np.zeros(6, int), np.ones(6, int)] * (1 if column != "arm" else 0)
    if column == "arm":
        rows = frame.index[frame["parent_id"] == 7][:6]
        frame.loc[rows, "arm"] = 1 - frame.loc[rows, "arm"]
        frame.loc[rows, "model"] = np.where(frame.loc[rows, "arm"] == 0, "ordinary", "local")
    msg = _expect(frame, rf"column '{column}': 12 rows belong to parents whose")
    assert "parent ids 7" in msg and "must be constant within a parent" in msg


def test_family_in_two_offices(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[frame["parent_id"] == 5, "family_id"] = 4  # parent 5 (office 6) joins family 4 (office 5)
    msg = _expect(frame, r"column 'office': 24 rows belong to families listed in two or more offices")
    assert "parent ids 4, 5" in msg


def test_outcome_and_arm_must_be_binary(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[[0, 1, 2], "activation"] = 2
    msg = _expect(frame, r"column 'activation': 3 rows are not 0/1")
    assert "Recode it to 0/1" in msg
    frame = tiny_panel_frame.assign(arm=tiny_panel_frame["arm"] * 3)
    _expect(frame, r"column 'arm': \d+ rows are not 0/1")


def test_non_numeric_covariate(tiny_panel_frame):
    frame = tiny_panel_frame.astype({"married": object})
    frame.loc[[5, 6], "married"] = "yes"
    msg = _expect(frame, r"column 'married': 2 rows are not numeric \(e.g. yes\)")
    assert "dummies 0/1" in msg


def test_unparseable_months(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[[0, 12], "month"] = "Oct sixteen"
    msg = _expect(frame, r"column 'month': 2 rows have months that cannot be read")
    assert "'YYYY-MM'" in msg and "parent ids 0, 1" in msg


def test_empty_panel(tiny_panel_frame):
    _expect(tiny_panel_frame.iloc[:0], "the panel is empty")


def test_model_must_agree_with_arm(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[frame["arm"] == 0, "model"] = "holf"
    msg = _expect(frame, r"column 'model': \d+ rows disagree with the arm")
    assert "'ordinary' exactly when arm is 0" in msg


def test_missing_values_error_or_dropped_and_counted(tiny_panel_frame):
    frame = tiny_panel_frame.astype({"employed": float, "married": float})
    frame.loc[[0, 1, 2], "employed"] = np.nan
    frame.loc[[2, 40], "married"] = np.nan
    msg = _expect(frame, r"column 'employed': 3 rows have missing values \(all columns: employed: 3, married: 2\)")
    assert "missing='drop'" in msg
    panel = load_panel(frame, missing="drop")
    assert panel.report.rows_read - panel.report.rows_kept == 4
    assert panel.report.dropped_missing == {"employed": 3, "married": 2}
    assert "dropped for missing values (listwise): 4 rows" in panel.summary()


def test_custom_column_names_and_months(tiny_panel_frame):
    frame = tiny_panel_frame.rename(columns={"parent_id": "pid", "activation": "act"})
    cols = Columns(parent="pid", outcomes=("act", "employed"))
    panel = load_panel(frame, cols, implementation="2016-11", baseline="2016-09")
    assert panel.implementation == pd.Period("2016-11", "M") and panel.columns.parent == "pid"
    assert len(panel.baseline_frame()) == 120
