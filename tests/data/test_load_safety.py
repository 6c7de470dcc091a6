"""Silent data changes on load (issue 25): repeated columns, ids of mixed types, a bad YYYYMM month.

Each is an error naming the column, the count and examples; the Dask loader names the partition file
(the ``dask`` tests at the end).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_panel_frame
from famtrial.data.load import load_panel
from famtrial.errors import PanelError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_panel_frame()


def test_repeated_column_names_in_a_csv_parquet_or_frame(frame, tmp_path):
    doubled = pd.concat([frame, frame[["arm"]].assign(arm=1 - frame["arm"])], axis=1)
    with pytest.raises(PanelError, match=r"the DataFrame has column\(s\) \['arm'\] more than once \('arm' 2 times\)"):
        load_panel(doubled)
    doubled.to_csv(tmp_path / "p.csv", index=False)  # pandas would read the second as 'arm.1' and use the first
    with pytest.raises(PanelError, match=r"p\.csv' has column\(s\) \['arm'\] more than once"):
        load_panel(tmp_path / "p.csv")
    pytest.importorskip("pyarrow")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_arrays(
        [pa.array(doubled.iloc[:, i]) for i in range(doubled.shape[1])], names=list(doubled.columns)
    )
    pq.write_table(table, tmp_path / "p.parquet")
    with pytest.raises(PanelError, match=r"p\.parquet' has column\(s\) \['arm'\] more than once"):
        load_panel(tmp_path / "p.parquet")


@pytest.mark.parametrize("column", ["parent_id", "family_id", "office"])
def test_ids_stored_as_numbers_and_text_are_an_error(frame, column):
    bad = frame.copy()
    bad[column] = bad[column].astype(object)
    rows = bad.index[bad[column] == bad[column].iloc[0]]
    bad.loc[rows, column] = str(bad[column].iloc[0])  # 1 and '1': one unit, or two?
    with pytest.raises(PanelError) as err:
        load_panel(bad)
    text = str(err.value)
    assert f"column {column!r}: {len(rows):,} rows hold ids that are text" in text
    assert f"'{frame[column].iloc[0]}'" in text and "one type" in text


def test_one_bad_yyyymm_month_is_reported_with_its_value(frame):
    bad = frame.copy()
    bad["month"] = bad["month"].map(lambda m: int(str(m).replace("-", "")[:6]))
    bad.loc[7, "month"] = 202213
    bad.loc[8, "month"] = 201600
    with pytest.raises(PanelError) as err:
        load_panel(bad)
    text = str(err.value)
    assert "column 'month': 2 rows have months that cannot be read (values such as 202213, 201600)" in text


def write_parts(frame: pd.DataFrame, folder, n: int = 3) -> list:
    folder.mkdir()
    paths = []
    for i, block in enumerate(np.array_split(frame["parent_id"].unique(), n)):
        paths.append(folder / f"part-{i}.parquet")
        frame[frame["parent_id"].isin(block)].to_parquet(paths[-1], index=False)
    return paths


@pytest.mark.dask
def test_dask_loader_names_the_partition_file(frame, tmp_path, dask_client):
    pytest.importorskip("dask.dataframe")
    paths = write_parts(frame, tmp_path / "panel")
    block = pd.read_parquet(paths[1])
    block.loc[block.index[:2], "arm"] = 7
    block.to_parquet(paths[1], index=False)
    with pytest.raises(PanelError, match=r"2 rows have an arm .* \(partition file\(s\) '.*part-1\.parquet'\)"):
        load_panel(tmp_path / "panel", engine="dask")
    pd.read_parquet(paths[1]).drop(columns="arm").to_parquet(paths[1], index=False)
    with pytest.raises(PanelError, match=r"partition file '.*part-1\.parquet' .* lacks column\(s\) \['arm'\]"):
        load_panel(tmp_path / "panel", engine="dask")
    paths[2].write_bytes(b"PAR1 not a parquet file")
    with pytest.raises(PanelError, match=r"partition file '.*part-2\.parquet' .* cannot be read as Parquet"):
        load_panel(paths, engine="dask")
