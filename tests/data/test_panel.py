"""load_panel: formats, month parsing, the report, and every validation error with its message."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from conftest import same_as_in_memory
from famtrial.data.load import load_panel
from famtrial.data.panel import Panel
from famtrial.errors import PanelError
from famtrial.plan.spec import Columns, load_plan

# tiny_panel_frame (tests/conftest.py): 120 one-parent families (parent_id = family_id = 0..119),
# offices 1..6 (office = family % 6 + 1), months 2016-04 .. 2017-03 as 'YYYY-MM' text.


@pytest.fixture(scope="module")
def _tiny_once():
    from conftest import make_panel_frame

    return make_panel_frame()


@pytest.fixture
def tiny_panel_frame(_tiny_once):
    """The conftest frame, built once per module (a fresh copy per test)."""
    return _tiny_once.copy()


@pytest.fixture(scope="module", autouse=True)
def _client(dask_client):
    """Every error case also runs the Dask loader on a real LocalCluster (``_expect``)."""
    return dask_client


def _expect(frame, match, **kwargs) -> str:
    """The in-memory loader's error; the Dask loader on 1, 3 and 7 partitions gives the same message."""
    with pytest.raises(PanelError, match=match) as info:
        load_panel(frame, **kwargs)
    same_as_in_memory(frame, **kwargs)
    return str(info.value)


def _two_parent(frame: pd.DataFrame) -> pd.DataFrame:
    """Add a second parent (id + 1000) to families 0..9, with the family's office and arm."""
    second = frame[frame["family_id"] < 10].assign(parent_id=lambda d: d["parent_id"] + 1000)
    return pd.concat([frame, second], ignore_index=True)


# -- loading and the report ------------------------------------------------------------------------
def test_valid_panel_loads_with_roles_and_report(tiny_panel_frame):
    panel = load_panel(tiny_panel_frame)
    assert isinstance(panel, Panel)
    data = panel.data
    assert isinstance(data["month"].dtype, pd.PeriodDtype) and data["month"].dtype == pd.PeriodDtype("M")
    assert data["arm"].dtype == np.int8 and data["activation"].dtype == np.int8
    assert list(data["model"].cat.categories) == ["ordinary", "local", "holf"]
    assert list(data.columns) == load_plan().columns.required()
    r = panel.report
    assert (r.rows_read, r.rows_kept, r.parents, r.families, r.offices, r.months) == (1440, 1440, 120, 120, 6, 12)
    assert (r.first_month, r.last_month) == ("2016-04", "2017-03")
    assert r.parents_with_gaps == 0 and r.parents_without_baseline == 0 and r.dropped_missing == {}
    assert panel.baseline == pd.Period("2016-10", "M") == panel.implementation
    base = panel.baseline_frame()
    assert len(base) == 120 and (base["month"] == panel.baseline).all() and base["parent_id"].is_unique
    text = panel.summary()
    assert "parents: 120 in 120 families and 6 offices" in text and "months: 12 (2016-04 .. 2017-03)" in text
    assert repr(panel) == text


def test_values_are_kept_and_rows_sorted_by_parent_then_month(tiny_panel_frame):
    shuffled = tiny_panel_frame.sample(frac=1, random_state=4)
    data = load_panel(shuffled).data
    expected = tiny_panel_frame.sort_values(["parent_id", "month"]).reset_index(drop=True)
    assert data["parent_id"].tolist() == expected["parent_id"].tolist()
    assert data["month"].astype(str).tolist() == expected["month"].tolist()
    for c in ("activation", "employed", "n_children", "year_of_birth", "married"):
        np.testing.assert_array_equal(data[c].to_numpy(), expected[c].to_numpy())
    assert data["model"].astype(str).tolist() == expected["model"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".dta"])
def test_file_formats_round_trip(tiny_panel_frame, tmp_path, suffix):
    path = tmp_path / f"panel{suffix}"
    frame = tiny_panel_frame
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.to_parquet(path)
    else:  # Stata: month as a %tm date, model as its 0/1/2 codes
        stata = frame.assign(
            month=pd.to_datetime(frame["month"]), model=frame["model"].map({"ordinary": 0, "local": 1, "holf": 2})
        )
        stata.to_stata(path, write_index=False, convert_dates={"month": "tm"})
    loaded = load_panel(path)
    reference = load_panel(frame)
    pd.testing.assert_frame_equal(loaded.data, reference.data, check_dtype=False)
    assert loaded.report.source == str(path)


def test_stata_dta_with_text_and_integer_months(tiny_panel_frame, tmp_path):
    months = pd.PeriodIndex(tiny_panel_frame["month"], freq="M")
    reference = load_panel(tiny_panel_frame).data
    text = tiny_panel_frame.assign(month=[f"{p.year}m{p.month}" for p in months])
    text.to_stata(tmp_path / "text.dta", write_index=False)
    # %tm integers: months since 1960m1; Stata's tm(2016m4) is 675
    tm = tiny_panel_frame.assign(month=[675 + p.ordinal - pd.Period("2016-04", "M").ordinal for p in months])
    tm.to_stata(tmp_path / "tm.dta", write_index=False)
    for name in ("text.dta", "tm.dta"):
        pd.testing.assert_series_equal(load_panel(tmp_path / name).data["month"], reference["month"])


@pytest.mark.parametrize(
    "values",
    [
        pd.array(["2016-10", "2016-11"], dtype="str"),
        np.array(["2016m10", "2016m11"], dtype=object),
        np.array(["2016-10-01", "2016-11-30"], dtype=object),
        np.array(["2016-10-01 00:00:00", "2016/11"], dtype=object),
        pd.to_datetime(["2016-10-15", "2016-11-01"]),
        pd.PeriodIndex(["2016-10", "2016-11"], freq="M"),
        pd.PeriodIndex(["2016-10-05", "2016-11-05"], freq="D"),
        np.array([681, 682]),  # Stata %tm: tm(2016m10) = 681
        np.array([201610, 201611]),  # YYYYMM
        np.array([pd.Period("2016-10", "M"), pd.Period("2016-11", "M")], dtype=object),
    ],
)
def test_month_forms(tiny_panel_frame, values):
    frame = tiny_panel_frame[tiny_panel_frame["month"].isin(["2016-10", "2016-11"])].reset_index(drop=True)
    frame["month"] = np.tile(np.asarray(values), 120)
    months = load_panel(frame).data["month"]
    assert months.astype(str).tolist() == ["2016-10", "2016-11"] * 120


def test_gaps_missing_baseline_and_reported_irregularities(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame = frame.drop(index=[3, 4, 29])  # parent 0 misses 2 months, parent 2 misses 1
    frame = frame[~((frame["parent_id"] == 5) & (frame["month"] == "2016-10"))]  # parent 5 has no baseline row
    frame.loc[(frame["parent_id"] == 9) & (frame["month"] > "2016-12"), "female"] = (
        1 - frame.loc[frame["parent_id"] == 9, "female"].iloc[0]
    )  # 'time-invariant' sex changes for parent 9
    offered = frame.loc[(frame["office"] == 2) & (frame["arm"] == 1), "parent_id"].unique()
    frame.loc[frame["parent_id"].isin(offered[:1]), "model"] = "local"  # office 2 (HOLF) gets one local parent
    panel = load_panel(frame)
    r = panel.report
    assert r.parents_with_gaps == 3 and r.missing_parent_months == 4  # parent 5's baseline month is a gap too
    assert r.parents_without_baseline == 1 and len(panel.baseline_frame()) == 119
    assert r.time_invariant_varying == {"female": 1}
    assert r.offices_mixed_model == (2,)
    text = panel.summary()
    assert "gaps: 3 parents miss 4 months" in text and "1 parents have no row at the baseline month" in text
    assert "female: 1" in text and "more than one variant: [2]" in text


def test_custom_column_names_and_months(tiny_panel_frame):
    frame = tiny_panel_frame.rename(columns={"parent_id": "pid", "activation": "act", "month": "ym"}).drop(
        columns="model"
    )
    cols = Columns(parent="pid", month="ym", model=None, outcomes=["act", "employed"])
    panel = load_panel(frame, cols, implementation="2016-11", baseline=pd.Period("2016-09", "M"))
    assert panel.columns.outcomes == ("act", "employed")  # sequences become tuples
    assert panel.implementation == pd.Period("2016-11", "M") and panel.columns.parent == "pid"
    assert len(panel.baseline_frame()) == 120 and "model" not in panel.data


def test_restrict_counts_the_removed_offices(tiny_panel_frame):
    panel = load_panel(tiny_panel_frame)
    small = panel.restrict(offices=[1, 2])
    assert set(small.data["office"]) == {1, 2} and small.report.offices == 2 and small.report.parents == 40
    assert small.report.offices_removed == (3, 4, 5, 6) and small.report.rows_removed_by_restriction == 80 * 12
    assert "restricted: 4 offices removed [3, 4, 5, 6], 960 rows" in small.summary()
    assert panel.report.parents == 120  # the original is unchanged (frozen)
    with pytest.raises(PanelError, match=r"restrict: offices \[99\] are not in the panel"):
        panel.restrict(offices=[1, 99])


def test_baseline_outside_the_panel(tiny_panel_frame):
    panel = load_panel(tiny_panel_frame, baseline="2019-01")
    assert panel.report.parents_without_baseline == 120
    with pytest.raises(PanelError, match=r"no rows at the baseline month 2019-01; the panel covers 2016-04 .. 2017-03"):
        panel.baseline_frame()


# -- validation errors: column, row count, example ids, fix -----------------------------------------
def test_missing_columns(tiny_panel_frame):
    msg = _expect(
        tiny_panel_frame.drop(columns=["office", "employed"]), r"columns \['office', 'employed'\] are missing"
    )
    assert "(2 of 14 required)" in msg and "famtrial.Columns(" in msg


def test_empty_panel(tiny_panel_frame):
    msg = _expect(tiny_panel_frame.iloc[:0], "the panel is empty")
    assert "0 rows" in msg


def test_missing_ids(tiny_panel_frame):
    frame = tiny_panel_frame.astype({"family_id": float})
    frame.loc[[12, 13, 30], "family_id"] = np.nan
    msg = _expect(frame, r"column 'family_id': 3 rows have no id \(e.g. parent ids 1, 2\)")
    assert "fill or drop those rows" in msg


def test_duplicate_parent_months(tiny_panel_frame):
    frame = pd.concat([tiny_panel_frame, tiny_panel_frame.iloc[[0, 13]]])
    msg = _expect(frame, r"column 'month': 4 rows repeat a \(parent, month\) pair \(e.g. parent ids 0, 1\)")
    assert "one row per parent per month" in msg


@pytest.mark.parametrize("column, what", [("arm", "randomized arm"), ("family_id", "family"), ("office", "office")])
def test_not_constant_within_parent(tiny_panel_frame, column, what):
    frame = tiny_panel_frame.copy()
    rows = frame.index[frame["parent_id"] == 7][:6]
    if column == "arm":
        frame.loc[rows, "arm"] = 1 - frame.loc[rows, "arm"]
        frame.loc[rows, "model"] = np.where(frame.loc[rows, "arm"] == 0, "ordinary", "local")
    else:
        frame.loc[rows, column] = 500
    msg = _expect(
        frame,
        rf"column '{column}': 12 rows belong to parents whose {what} changes over months "
        r"\(e.g. parent ids 7\)",
    )
    assert f"The {what} must be constant within a parent" in msg


def test_family_in_two_offices(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[frame["parent_id"] == 5, "family_id"] = 4  # parent 5 (office 6) joins family 4 (office 5)
    frame.loc[frame["parent_id"] == 5, "arm"] = frame.loc[frame["parent_id"] == 4, "arm"].iloc[0]
    frame.loc[frame["parent_id"] == 5, "model"] = frame.loc[frame["parent_id"] == 4, "model"].iloc[0]
    msg = _expect(
        frame,
        r"column 'office': 24 rows belong to families listed in two or more offices "
        r"\(e.g. parent ids 4, 5\)",
    )
    assert "A family belongs to one office" in msg


def test_family_with_two_arms(tiny_panel_frame):
    frame = _two_parent(tiny_panel_frame)
    second = frame["parent_id"] == 1003
    frame.loc[second, "arm"] = 1 - frame.loc[second, "arm"]
    frame.loc[second, "model"] = np.where(frame.loc[second, "arm"] == 0, "ordinary", "holf")
    msg = _expect(
        frame,
        r"column 'arm': 24 rows belong to families whose parents have different arms "
        r"\(e.g. parent ids 3, 1003\)",
    )
    assert "randomized per family" in msg


def test_outcome_must_be_binary(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[[0, 1, 12], "activation"] = 2
    msg = _expect(
        frame,
        r"column 'activation': 3 rows are not 0/1 \(values such as 2\); the outcome must be binary "
        r"\(e.g. parent ids 0, 1\)",
    )
    assert "Recode the outcome to 0/1" in msg


def test_arm_must_be_binary_and_present(tiny_panel_frame):
    frame = tiny_panel_frame.assign(arm=np.where(tiny_panel_frame["arm"] == 1, 2, 0))
    n_bad = int((tiny_panel_frame["arm"] == 1).sum())
    first = tiny_panel_frame.loc[tiny_panel_frame["arm"] == 1, "parent_id"].iloc[0]
    msg = _expect(
        frame,
        rf"column 'arm': {n_bad:,} rows have an arm that is neither the offered code 1 nor the "
        r"control code 0 \(values such as 2\)",
    )
    assert f"parent ids {first}" in msg and "arms.offered / arms.control" in msg
    frame = tiny_panel_frame.astype({"arm": float})
    frame.loc[[24, 25], "arm"] = np.nan
    msg = _expect(
        frame, r"column 'arm': 2 rows have no arm \(missing values\) \(e.g. parent ids 2\)", missing="drop"
    )  # never dropped: the arm is the design
    assert "randomization list" in msg


def test_non_numeric_covariate(tiny_panel_frame):
    frame = tiny_panel_frame.astype({"married": object})
    frame.loc[[5, 6, 40], "married"] = "yes"
    msg = _expect(frame, r"column 'married': 3 rows are not numeric \(values such as yes\) \(e.g. parent ids 0, 3\)")
    assert "0/1 dummies" in msg


def test_unparseable_months(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[[0, 12], "month"] = "Oct sixteen"
    frame.loc[24, "month"] = "2016-13"
    msg = _expect(
        frame,
        r"column 'month': 3 rows have months that cannot be read \(values such as Oct sixteen, 2016-13\) "
        r"\(e.g. parent ids 0, 1, 2\)",
    )
    assert "'YYYY-MM'" in msg and "Stata %tm" in msg


def test_unknown_model_and_model_disagreeing_with_arm(tiny_panel_frame):
    frame = tiny_panel_frame.copy()
    frame.loc[[0, 1], "model"] = "family-first"
    msg = _expect(
        frame,
        r"column 'model': 2 rows have a missing or unknown variant "
        r"\(values such as family-first\) \(e.g. parent ids 0\)",
    )
    assert "ordinary = ['ordinary', '0'], local = ['local', '1'], holf = ['holf', '2']" in msg
    frame = tiny_panel_frame.copy()
    control = frame["arm"] == 0
    frame.loc[control, "model"] = "holf"
    first = frame.loc[control, "parent_id"].iloc[0]
    msg = _expect(frame, rf"column 'model': {int(control.sum()):,} rows disagree with the arm")
    assert "'ordinary' exactly when the arm is the control arm" in msg and f"parent ids {first}" in msg


def test_model_integer_codes(tiny_panel_frame):
    codes = tiny_panel_frame.assign(model=tiny_panel_frame["model"].map({"ordinary": 0, "local": 1, "holf": 2}))
    assert (
        load_panel(codes).data["model"].astype(str).tolist()
        == load_panel(tiny_panel_frame).data["model"].astype(str).tolist()
    )


def test_missing_values_error_or_dropped_and_counted(tiny_panel_frame):
    frame = tiny_panel_frame.astype({"employed": float, "married": float})
    frame.loc[[0, 1, 2], "employed"] = np.nan
    frame.loc[[2, 40], "married"] = np.nan
    msg = _expect(
        frame,
        r"column 'employed': 3 rows have missing or infinite values \(all such columns: "
        r"employed: 3, married: 2; 4 rows\) \(e.g. parent ids 0\)",
    )
    assert '[data] missing = "drop"' in msg and 'missing="drop" in Python' in msg
    panel = load_panel(frame, missing="drop")
    r = panel.report
    assert (r.rows_read, r.rows_kept, r.rows_dropped_missing) == (1440, 1436, 4)
    assert r.dropped_missing == {"employed": 3, "married": 2} and r.parents_dropped_missing == 0
    assert (
        "dropped for missing values (listwise): 4 rows (employed: 3, married: 2); 0 parents lost every row"
        in panel.summary()
    )
    all_rows = tiny_panel_frame.astype({"immigrant": float})
    all_rows.loc[all_rows["parent_id"] == 8, "immigrant"] = np.nan
    assert load_panel(all_rows, missing="drop").report.parents_dropped_missing == 1


def test_bad_sources_and_options(tiny_panel_frame, tmp_path):
    with pytest.raises(PanelError, match="does not exist"):
        load_panel(tmp_path / "nowhere.csv")
    (tmp_path / "panel.xlsx").write_text("x")
    with pytest.raises(PanelError, match=r"cannot read 'panel.xlsx': give a .csv, .parquet or .dta file"):
        load_panel(tmp_path / "panel.xlsx")
    with pytest.raises(ValueError, match=r"missing='skip' is not one of \('error', 'drop'\)"):
        load_panel(tiny_panel_frame, missing="skip")
    with pytest.raises(ValueError, match=r"baseline='October' is not a month"):
        load_panel(tiny_panel_frame, baseline="October")
    with pytest.raises(
        TypeError,
        match="plan must be a famtrial Plan, a plan file, a shipped plan's name or famtrial.Columns, not dict",
    ):
        load_panel(tiny_panel_frame, {"parent": "parent_id"})
    with pytest.raises(ValueError, match=r"\['arm'\] are given more than one role"):
        Columns(outcomes=("arm",))


@pytest.mark.slow
def test_large_panel_validates_quickly():
    """100,000 parents x 39 months (3.9M rows, shuffled): vectorized checks, no per-parent loop."""
    n, months = 100_000, 39
    rng = np.random.default_rng(1)
    family = np.arange(n) // 2
    arm = rng.integers(0, 2, n // 2)[family].astype(np.int8)
    office = family % 29 + 1
    period = pd.period_range("2015-10", periods=months, freq="M")
    rep = lambda a: np.repeat(a, months)  # noqa: E731
    frame = pd.DataFrame(
        {
            "parent_id": rep(np.arange(n)),
            "family_id": rep(family),
            "office": rep(office),
            "month": np.tile(period.astype(str).to_numpy(), n),
            "arm": rep(arm),
            "model": rep(np.where(arm == 0, "ordinary", np.where(office % 2 == 0, "holf", "local"))),
            **{
                c: rng.integers(0, 2, n * months, dtype=np.int8)
                for c in ("activation", "employed", "married", "reduced_work_capacity")
            },
            "n_children": rng.integers(1, 5, n * months, dtype=np.int8),
            "female": rep(rng.integers(0, 2, n)),
            "year_of_birth": rep(rng.integers(1960, 1999, n)),
            "immigrant": rep(rng.integers(0, 2, n)),
        }
    ).sample(frac=1, random_state=2)
    start = time.perf_counter()
    panel = load_panel(frame)
    elapsed = time.perf_counter() - start
    assert panel.report.parents == n and panel.report.rows_kept == n * months
    assert panel.data["parent_id"].is_monotonic_increasing
    assert elapsed < 60, f"load_panel took {elapsed:.1f} s for {n * months:,} rows"
