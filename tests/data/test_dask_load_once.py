"""``load_panel(..., engine="dask", persist=True)``: each partition read and validated once, and kept on the workers.

What ``famtrial reproduce --engine dask`` loads with (``pipeline._load``). The reference is the
in-memory loader (``load_panel(frame)``) on the same rows, and the lazy Dask loader (``persist=False``)
for the error messages, which are word for word those of the in-memory loader
(tests/data/test_panel_dask.py, conftest.same_as_in_memory).

The count of ``validate`` calls runs on an in-process LocalCluster (``processes=False``: the workers are
threads of this process, so the counting wrapper put in place of ``famtrial.data._dask.validate`` sees
every call a worker makes). The old load (one summary pass, then ``persist`` of a lazy frame that
validates again) makes two calls per partition; the load under test one, however many later steps
compute the panel.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.data.load import load_panel
from famtrial.errors import PanelError
from famtrial.plan.spec import load_plan

PLAN = "nct03102775"


def _replica() -> pd.DataFrame:
    return pd.read_parquet(load_plan(PLAN).resolve_data())


def _write(frame: pd.DataFrame, folder: Path, n: int, how: str = "blocks") -> list[Path]:
    """``frame`` as ``n`` Parquet files: consecutive blocks of whole parents (``"blocks"``), whole parents in
    random order with their rows shuffled (``"random"``), or rows dealt out so parents span files (``"split"``)."""
    folder.mkdir(parents=True)
    paths = [folder / f"part-{i:02d}.parquet" for i in range(n)]
    if how == "split":  # every parent's months dealt round the files: the loader must shuffle by parent
        order = np.random.default_rng(7).permutation(len(frame))
        for i, path in enumerate(paths):
            frame.iloc[np.sort(order[i::n])].to_parquet(path, index=False)
        return paths
    ids = np.sort(frame["parent_id"].unique())
    if how == "random":
        ids = np.random.default_rng(28).permutation(ids)
    for i, (chunk, path) in enumerate(zip(np.array_split(ids, n), paths, strict=True)):
        part = frame[frame["parent_id"].isin(chunk)]
        (part.sample(frac=1, random_state=i) if how == "random" else part).to_parquet(path, index=False)
    return paths


def _in_parent_order(data: pd.DataFrame) -> pd.DataFrame:
    order = np.argsort(pd.factorize(data["parent_id"], sort=True)[0], kind="stable")
    return data.take(order).reset_index(drop=True)


# -- the arguments (fast tier) -----------------------------------------------------------------------------
def test_persist_is_refused_in_memory_and_checked():
    frame = _replica().head(500)
    with pytest.raises(ValueError, match=r"persist=True keeps a Dask panel's partitions on the workers: it needs "):
        load_panel(frame, PLAN, persist=True)
    with pytest.raises(TypeError, match=r"persist='yes' must be True or False"):
        load_panel(frame, PLAN, persist="yes")  # type: ignore[arg-type]


def test_persist_needs_a_running_client(tmp_path):
    pytest.importorskip("distributed")
    from distributed import default_client

    try:
        default_client()
    except ValueError:
        pass
    else:  # pragma: no cover - a client left running by another module
        pytest.skip("a dask.distributed client is running")
    paths = _write(_replica().head(2000), tmp_path / "data", 2)
    with pytest.raises(ValueError, match=r"persist=True .* needs a running Client: .*or load with persist=False"):
        load_panel(paths, PLAN, engine="dask", persist=True)


# -- on an in-process LocalCluster (the dask tier) ------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, worker_dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as started,
        started.as_current(),
    ):
        yield started


@pytest.fixture(scope="module")
def replica() -> pd.DataFrame:
    return _replica()


@pytest.fixture(scope="module")
def in_memory(replica):
    return load_panel(replica, PLAN)


@pytest.fixture
def validations(monkeypatch):
    """Every ``validate`` call of the Dask loader, counted by the partition's smallest parent id."""
    import famtrial.data._dask as loader

    calls: Counter[object] = Counter()
    lock = threading.Lock()
    original = loader.validate

    def counting(frame, *args, **kwargs):
        with lock:
            calls[frame["parent_id"].min() if len(frame) else None] += 1
        return original(frame, *args, **kwargs)

    monkeypatch.setattr(loader, "validate", counting)
    return calls


def _downstream(panel) -> int:
    """What reproduce's next steps do with the panel: the exclusion rule, the parents counted, the rows read."""
    from famtrial.trial._dask_steps import count_parents
    from famtrial.trial.sample import analysis_sample

    analysis_sample(panel)
    panel.data.compute()
    return count_parents(panel)


@pytest.mark.dask
@pytest.mark.parametrize("n", [3, 7])
def test_reproduce_load_validates_each_partition_once(client, replica, in_memory, validations, tmp_path, n):
    from famtrial.pipeline import _load

    _write(replica, tmp_path / "data", n)
    panel = _load(str(tmp_path / "data"), load_plan(PLAN), None, "dask")  # what reproduce --engine dask runs
    assert _downstream(panel) == in_memory.data["parent_id"].nunique()
    assert len(validations) == n and set(validations.values()) == {1}, validations  # once per partition
    assert "(kept on the workers)" in str(panel)
    assert _load(panel, load_plan(PLAN), None, "dask").data is panel.data  # a kept panel given to reproduce: as is
    assert sum(validations.values()) == n


@pytest.mark.dask
def test_the_lazy_load_then_persisted_validates_twice(client, replica, validations, tmp_path):
    """The count can fail: the lazy load persisted afterwards (what reproduce did before) validates twice."""
    from famtrial.trial._dask_steps import persist_panel

    _write(replica, tmp_path / "data", 3)
    panel = persist_panel(load_panel(tmp_path / "data", PLAN, engine="dask"))
    _downstream(panel)
    assert len(validations) == 3 and set(validations.values()) == {2}, validations


@pytest.mark.dask
@pytest.mark.parametrize(("n", "how"), [(3, "blocks"), (7, "blocks"), (5, "random"), (4, "split")])
def test_persisted_panel_equals_in_memory(client, replica, in_memory, validations, tmp_path, n, how):
    from famtrial.data.panel import kept_futures

    _write(replica, tmp_path / "data", n, how)
    panel = load_panel(tmp_path / "data", PLAN, engine="dask", persist=True)
    assert replace(panel.report, source="DataFrame") == in_memory.report
    assert panel.data.npartitions == n
    kept = kept_futures(panel.data)
    assert len(kept) == n and all(f.status == "finished" for f in kept)
    # a split (parents in several files) is shuffled by parent: the first pass's frames are released and
    # the pass after the shuffle is kept; without a split each partition is validated once
    assert sum(validations.values()) == (2 * n if how == "split" else n)
    before = sum(validations.values())
    data = panel.data.compute()
    assert sum(validations.values()) == before  # computing the panel validates nothing again
    if how == "blocks":
        pd.testing.assert_frame_equal(data.reset_index(drop=True), in_memory.data)
    else:  # each partition sorted by (parent, month) and holding whole parents, in shuffled order
        pd.testing.assert_frame_equal(_in_parent_order(data), in_memory.data)
        for i in range(n):
            part = panel.data.get_partition(i).compute()
            assert part.equals(part.sort_values(["parent_id", "month"], kind="stable"))
    if how != "split":
        assert panel.data["parent_id"].map_partitions(lambda s: s.nunique()).sum().compute() == len(
            in_memory.data["parent_id"].unique()
        )  # whole parents: no parent in two partitions


@pytest.mark.dask
def test_only_the_validated_frames_stay_on_the_workers(client, replica, tmp_path):
    from famtrial.data.panel import kept_futures

    _write(replica, tmp_path / "data", 3)
    panel = load_panel(tmp_path / "data", PLAN, engine="dask", persist=True)
    kept = {f.key for f in kept_futures(panel.data)}

    def passing() -> set:  # keys in a worker's memory from the load's pass: the raw partitions, the pairs
        held = [key for key, where in client.who_has().items() if where]
        return {key for key in held if "_checked" in str(key) or "read_parquet" in str(key)}

    for _ in range(50):  # released once the pairs are taken apart (the scheduler's bookkeeping is asynchronous)
        if not passing():
            break
        time.sleep(0.1)
    assert not passing()
    assert kept <= {key for key, where in client.who_has().items() if where}  # the frames are held


@pytest.mark.dask
def test_errors_name_the_partition_file_as_the_lazy_load(client, replica, tmp_path):
    paths = _write(replica, tmp_path / "data", 3)
    bad = pd.read_parquet(paths[1])
    pd.concat([bad, bad.head(2)], ignore_index=True).to_parquet(paths[1], index=False)  # two repeated parent-months
    with pytest.raises(PanelError) as lazy:
        load_panel(paths, PLAN, engine="dask")
    with pytest.raises(PanelError) as kept:
        load_panel(paths, PLAN, engine="dask", persist=True)
    with pytest.raises(PanelError) as whole:  # the in-memory message, then the file
        load_panel(pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True), PLAN)
    assert str(kept.value) == str(lazy.value) == f"{whole.value} (partition file(s) {str(paths[1])!r})"
    assert "4 rows repeat a (parent, month) pair" in str(kept.value)

    paths[2].write_bytes(paths[2].read_bytes()[: paths[2].stat().st_size // 2])  # a truncated file
    with pytest.raises(PanelError) as lazy:
        load_panel(paths, PLAN, engine="dask")
    with pytest.raises(PanelError) as kept:
        load_panel(paths, PLAN, engine="dask", persist=True)
    assert str(kept.value) == str(lazy.value)
    assert str(paths[2]) in str(kept.value)


@pytest.mark.dask
def test_empty_files_and_an_empty_panel_as_the_lazy_load(client, replica, in_memory, validations, tmp_path):
    paths = _write(replica, tmp_path / "data", 3)
    replica.iloc[:0].to_parquet(tmp_path / "data" / "part-empty.parquet", index=False)  # an empty partition
    panel = load_panel(tmp_path / "data", PLAN, engine="dask", persist=True)
    assert panel.data.npartitions == 4 and len(kept_futures_of(panel)) == 4
    assert replace(panel.report, source="DataFrame") == in_memory.report
    pd.testing.assert_frame_equal(panel.data.compute().reset_index(drop=True), in_memory.data)
    assert panel.data.get_partition(3).compute().empty
    for path in paths:  # every file empty: the in-memory message, counted by the load's own pass
        replica.iloc[:0].to_parquet(path, index=False)
    before = sum(validations.values())
    for persist in (False, True):
        with pytest.raises(PanelError, match=r"^the panel is empty \(0 rows\): check the file or the filter"):
            load_panel(tmp_path / "data", PLAN, engine="dask", persist=persist)
    assert sum(validations.values()) - before == 2 * 4  # one pass each (the empty partitions validated, no rows)


def kept_futures_of(panel) -> list:
    from famtrial.data.panel import kept_futures

    return kept_futures(panel.data)
