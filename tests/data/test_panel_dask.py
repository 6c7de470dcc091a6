"""load_panel(..., engine="dask"): a partitioned Parquet panel loads lazily with the in-memory loader's report.

The error messages are compared word for word with the in-memory loader's on 1, 3 and 7
partitions in tests/data/test_panel.py and tests/test_hostile_input.py (``conftest.same_as_in_memory``);
here: folders, globs and lists of Parquet files, column projection, parents spread over
partitions, and the arguments. A real ``dask.distributed.LocalCluster`` (2 processes).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from conftest import PARTITIONS, make_panel_frame, same_as_in_memory  # noqa: E402
from famtrial.data.load import load_panel  # noqa: E402
from famtrial.errors import PanelError

pytestmark = [
    pytest.mark.dask,  # every test runs on the session's LocalCluster (conftest.dask_client)
    # the fits on conftest's 6-office panel warn by design (tests/models/test_model_errors.py asserts the warning)
    pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning"),
]


@pytest.fixture(scope="module", autouse=True)
def _client(dask_client):
    return dask_client


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_panel_frame().assign(unused=lambda d: np.arange(len(d)))


def write_files(frame: pd.DataFrame, n: int, folder) -> list:
    """``frame`` (sorted by parent) as ``n`` Parquet files of whole parents."""
    folder.mkdir()
    parents = np.array_split(frame["parent_id"].unique(), n)
    paths = []
    for i, block in enumerate(parents):
        paths.append(folder / f"part-{i:03d}.parquet")
        frame[frame["parent_id"].isin(block)].to_parquet(paths[-1], index=False)
    return paths


@pytest.mark.parametrize("n", PARTITIONS)
def test_folder_glob_and_files_load_as_in_memory(frame, tmp_path, n):
    paths = write_files(frame, n, tmp_path / "panel")
    expected = load_panel(frame)
    for source in (tmp_path / "panel", str(tmp_path / "panel" / "*.parquet"), paths):
        panel = load_panel(source, engine="dask")
        assert panel.data.npartitions == n
        assert replace(panel.report, source="DataFrame") == expected.report
        assert "unused" not in panel.data.columns  # only the plan's columns are read
        pd.testing.assert_frame_equal(panel.data.compute().reset_index(drop=True), expected.data)
    assert panel.report.source == f"{n} Parquet files"
    text = repr(panel)
    assert f"a Dask DataFrame of {n} partitions" in text and "each parent's rows in one partition" in text


def test_missing_values_dropped_and_counted_per_partition(frame, tmp_path):
    bad = frame.astype({"employed": float})
    bad.loc[bad["parent_id"].isin([3, 50, 119]), "employed"] = np.nan  # three parents lose every row
    bad.loc[[5, 600], "married"] = np.nan
    expected = same_as_in_memory(bad, missing="drop")
    assert expected.report.parents_dropped_missing == 3
    paths = write_files(bad, 3, tmp_path / "panel")
    panel = load_panel(paths, missing="drop", engine="dask")
    assert replace(panel.report, source="DataFrame") == expected.report


def test_every_parent_in_every_partition_is_shuffled_together(frame):
    by_month = frame.sort_values(["month", "parent_id"], kind="stable").reset_index(drop=True)
    same_as_in_memory(by_month)  # files of months: each parent in every partition; report and rows as in memory
    bad = by_month.copy()
    bad.loc[bad["parent_id"] == 9, "office"] = np.where(np.arange(12) < 6, 1, 2)  # office changes across files
    err = same_as_in_memory(bad)  # the in-memory error, and the same message from the Dask loader
    assert isinstance(err, PanelError)
    assert "column 'office': 12 rows belong to parents whose office changes over months (e.g. parent ids 9)" in str(err)


def test_sources_and_engine_arguments(frame, tmp_path):
    with pytest.raises(ValueError, match=r"engine='spark' is not one of \('pandas', 'dask'\)"):
        load_panel(frame, engine="spark")
    with pytest.raises(TypeError, match="a pandas DataFrame loads in memory: leave engine unset"):
        load_panel(frame, engine="dask")
    with pytest.raises(PanelError, match="does not exist"):
        load_panel(tmp_path / "nowhere", engine="dask")
    write_files(frame, 2, tmp_path / "panel")
    with pytest.raises(PanelError, match="is a folder: .* with engine='dask'"):
        load_panel(tmp_path / "panel")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.parquet").write_text("not parquet")
    with pytest.raises(PanelError, match="cannot be read as Parquet"):
        load_panel(tmp_path / "junk", engine="dask")


@pytest.mark.parametrize("n", PARTITIONS)
def test_fe_models_on_a_dask_panel_equal_in_memory(tmp_path, n):
    import famtrial as ft

    frame = make_panel_frame(n_families=300)
    write_files(frame, n, tmp_path / "panel")
    lazy, memory = load_panel(tmp_path / "panel", engine="dask"), load_panel(frame)
    for trend in ("linear", "months"):
        got, want = ft.fe_model(lazy, "activation", trend=trend), ft.fe_model(memory, "activation", trend=trend)
        assert list(got.params.index) == list(want.params.index)
        np.testing.assert_allclose(got.params, want.params, rtol=1e-10)
        np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10)
        assert got.llf == pytest.approx(want.llf, abs=1e-10, rel=0) and got.nobs == want.nobs
        assert got.dropped == want.dropped and got.n_clusters == want.n_clusters
    got, want = ft.fe_models(lazy), ft.fe_models(memory)
    assert list(got) == list(want)
    for name in want:
        np.testing.assert_allclose(got[name].params, want[name].params, rtol=1e-10)
        np.testing.assert_allclose(got[name].bse, want[name].bse, rtol=1e-10)
    assert str(ft.compare_models(got)) == str(ft.compare_models(want))  # the table, month effects noted


def test_analysis_sample_on_a_dask_panel_equals_in_memory(tmp_path):
    import famtrial as ft

    frame = make_panel_frame(n_families=300, offices=9)
    arm = frame["arm"].to_numpy().copy()
    arm[(frame["office"] == 2).to_numpy()] = 1  # office 2 has no control family: excluded by the plan's rule
    frame = frame.assign(
        arm=arm, model=np.where(arm == 0, "ordinary", np.where(frame["office"] % 2 == 0, "holf", "local"))
    )
    write_files(frame, 3, tmp_path / "panel")
    lazy = ft.analysis_sample(load_panel(tmp_path / "panel", engine="dask"))
    memory = ft.analysis_sample(load_panel(frame))
    assert lazy.flow == memory.flow and lazy.excluded_offices == memory.excluded_offices == [2]
    pd.testing.assert_frame_equal(lazy.offices, memory.offices)
    assert replace(lazy.panel.report, source="DataFrame") == memory.panel.report
    pd.testing.assert_frame_equal(lazy.panel.data.compute().reset_index(drop=True), memory.panel.data)
    got, want = ft.fe_model(lazy.panel, "activation"), ft.fe_model(memory.panel, "activation")
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10)


def test_bare_columns_months_and_baseline_frame(tmp_path):
    from famtrial.plan.spec import Columns

    frame = make_panel_frame().rename(columns={"parent_id": "pid", "family_id": "fid", "office": "kontor"})
    cols = Columns(
        parent="pid",
        family="fid",
        office="kontor",
        model="model",
        outcomes=("activation",),
        time_varying=("employed",),
        time_invariant=("female",),
    )
    write_files(frame.rename(columns={"pid": "parent_id"}), 3, tmp_path / "panel")
    for name in (tmp_path / "panel").iterdir():  # back to the user's names, three files of whole parents
        pd.read_parquet(name).rename(columns={"parent_id": "pid"}).to_parquet(name)
    lazy = load_panel(tmp_path / "panel", cols, implementation="2016-10", engine="dask")
    memory = load_panel(frame, cols, implementation="2016-10")
    assert lazy.plan == memory.plan
    assert replace(lazy.report, source="DataFrame") == memory.report
    assert list(lazy.months) == list(memory.months)
    pd.testing.assert_frame_equal(lazy.baseline_frame(), memory.baseline_frame())


def test_empty_files_and_partitions_emptied_by_the_months_window(frame, tmp_path):
    import famtrial as ft

    paths = write_files(frame, 3, tmp_path / "panel")
    frame.iloc[:0].to_parquet(tmp_path / "panel" / "part-empty.parquet", index=False)
    late = make_panel_frame(n_families=10).assign(
        parent_id=lambda d: d["parent_id"] + 5000, family_id=lambda d: d["family_id"] + 5000, month="2019-01", unused=0
    )  # every row outside the window
    late = late.drop_duplicates("parent_id")
    late.to_parquet(tmp_path / "panel" / "part-late.parquet", index=False)
    plan = replace(ft.load_plan(), last_month="2017-12")  # the plan's window of months
    whole = pd.concat(
        [pd.read_parquet(p) for p in [*paths, tmp_path / "panel" / "part-late.parquet"]], ignore_index=True
    )
    expected = load_panel(whole, plan)
    panel = load_panel(tmp_path / "panel", plan, engine="dask")
    assert replace(panel.report, source="DataFrame") == expected.report
    assert panel.report.rows_outside_window == 10
    pd.testing.assert_frame_equal(panel.data.compute().reset_index(drop=True), expected.data)
