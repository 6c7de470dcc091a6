"""``famtrial reproduce --engine dask``: the whole analysis on a partitioned Parquet dataset equals the in-memory run.

The reference is the in-memory run (``engine="pandas"``) on the shipped replica, itself checked against
R and independent implementations elsewhere; here every number of ``reproduced.csv`` and every cell of
every table written (``*.csv``) must equal it to 1e-10, on the replica written as 1, 3 and 7 Parquet
files of whole parents, and on 5 files of parents in random order with their rows shuffled (the loader
then sorts each partition). The Dask runs use conftest's session LocalCluster (2 workers x 1 thread).

The fast tier checks the engine option and its unsupported combinations, the CLI's, the step
announcements, and that the inference panel (informative parents, one row of each other parent) gives
the whole panel's fit and randomization design.
"""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import famtrial
from famtrial._progress import Step
from famtrial.data.load import load_panel
from famtrial.errors import PlanError
from famtrial.plan.spec import load_plan

N_PERM = 9  # randomization re-draws of each run (the numbers compared include every re-draw's p-value)
TOL = 1e-10


def _replica() -> pd.DataFrame:
    return pd.read_parquet(load_plan("nct03102775").resolve_data())


def _write_split(frame: pd.DataFrame, folder: Path, n: int, *, shuffled: bool) -> Path:
    """``frame`` as ``n`` Parquet files of whole parents (consecutive blocks, or random parents with rows shuffled)."""
    folder.mkdir(parents=True)
    ids = np.sort(frame["parent_id"].unique())
    if shuffled:
        ids = np.random.default_rng(28).permutation(ids)
    for i, chunk in enumerate(np.array_split(ids, n)):
        part = frame[frame["parent_id"].isin(chunk)]
        if shuffled:
            part = part.sample(frac=1, random_state=i)
        part.to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return folder


def _numbers(folder: Path) -> pd.Series:
    table = pd.read_csv(folder / "reproduced.csv")
    return pd.Series(pd.to_numeric(table["value"], errors="coerce").to_numpy(), index=table["key"])


def _assert_same_outputs(memory: Path, dask: Path) -> None:
    names = sorted(p.name for p in memory.glob("*.csv"))
    assert names == sorted(p.name for p in dask.glob("*.csv"))
    assert {"reproduced.csv", "table2.csv", "table3.csv", "table5.csv", "inference.csv"} <= set(names)
    a, b = _numbers(memory), _numbers(dask)
    assert list(a.index) == list(b.index)
    assert a.notna().sum() > 400
    np.testing.assert_allclose(b.to_numpy(), a.to_numpy(), rtol=0, atol=TOL, equal_nan=True)
    for name in names:
        left, right = pd.read_csv(memory / name), pd.read_csv(dask / name)
        assert list(left.columns) == list(right.columns), name
        assert left.shape == right.shape, name
        for column in left.columns:  # numbers to TOL, text (labels, a number's formatted form) exactly
            x, y = left[column], right[column]
            xn, yn = pd.to_numeric(x, errors="coerce"), pd.to_numeric(y, errors="coerce")
            text = xn.isna() & x.notna()
            assert text.equals(yn.isna() & y.notna()), (name, column)
            assert x[text].astype(str).tolist() == y[text].astype(str).tolist(), (name, column)
            np.testing.assert_allclose(
                yn.to_numpy(float), xn.to_numpy(float), rtol=0, atol=TOL, equal_nan=True, err_msg=f"{name}: {column}"
            )
    assert (dask / "report.html").stat().st_size > 10_000


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory):
    out = tmp_path_factory.mktemp("memory")
    famtrial.reproduce(out=out, n_perm=N_PERM, progress=False)
    return out


@pytest.mark.dask
@pytest.mark.parametrize(("files", "shuffled"), [(1, False), (3, False), (7, False), (5, True)])
def test_dask_engine_equals_in_memory(in_memory, dask_client, tmp_path, files, shuffled):
    data = _write_split(_replica(), tmp_path / "data", files, shuffled=shuffled)
    source = str(data) if files != 3 else [str(p) for p in sorted(data.glob("*.parquet"))]  # a folder, or a list
    out = tmp_path / "dask"
    result = famtrial.reproduce(source, out, n_perm=N_PERM, engine="dask", client=dask_client, progress=False)
    assert result.report == out / "report.html"
    _assert_same_outputs(in_memory, out)


@pytest.mark.dask
def test_dask_engine_glob_and_own_cluster(in_memory, tmp_path):
    """A glob, and ``client=2``: a LocalCluster of 2 workers is started for the run and closed after it."""
    import psutil

    data = _write_split(_replica(), tmp_path / "data", 2, shuffled=False)
    out = tmp_path / "dask"

    def workers() -> set[int]:  # spawned worker processes (not multiprocessing's resource tracker)
        found = set()
        for child in psutil.Process().children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                    found.add(child.pid)
        return found

    before = workers()
    famtrial.reproduce(str(data / "*.parquet"), out, n_perm=N_PERM, engine="dask", client=2, progress=False)
    _assert_same_outputs(in_memory, out)
    assert workers() <= before  # the run's worker processes are gone


@pytest.mark.dask
def test_cli_on_an_existing_cluster(in_memory, dask_cluster, tmp_path, capsys):
    """``famtrial reproduce --engine dask --scheduler ADDRESS``: connects, runs, and leaves the cluster running."""
    from famtrial.cli import main

    data = _write_split(_replica(), tmp_path / "data", 3, shuffled=False)
    out = tmp_path / "cli"
    argv = ["reproduce", "--data", str(data), "--out", str(out), "--engine", "dask", "--skip-inference"]
    assert main([*argv, "--scheduler", dask_cluster.scheduler_address, "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    a, b = _numbers(in_memory), _numbers(out)
    shared = [k for k in a.index if not k.startswith("inference.")]
    assert list(b.index) == shared
    np.testing.assert_allclose(b[shared].to_numpy(), a[shared].to_numpy(), rtol=0, atol=TOL, equal_nan=True)
    assert dask_cluster.status.name == "running"


# -- the fast tier ------------------------------------------------------------------------------------
def test_engine_is_checked_once_with_its_choices(tmp_path):
    with pytest.raises(PlanError, match=r"engine='spark' is not one of 'pandas', 'dask'"):
        famtrial.reproduce(out=tmp_path, engine="spark")


def test_unsupported_combinations_are_named(tmp_path):
    with pytest.raises(PlanError, match=r"client= needs engine='dask'"):
        famtrial.reproduce(out=tmp_path, client="tcp://127.0.0.1:8786")
    with pytest.raises(PlanError, match=r"engine='dask' with an in-memory DataFrame"):
        famtrial.reproduce(_replica(), tmp_path, engine="dask")
    with pytest.raises(PlanError, match=r"engine='pandas' reads one panel file, not a list"):
        famtrial.reproduce(["a.parquet", "b.parquet"], tmp_path)


def test_cli_engine_options_need_dask(capsys):
    from famtrial.cli import main

    assert main(["reproduce", "--scheduler", "tcp://127.0.0.1:8786"]) != 0
    assert "--scheduler and --workers need --engine dask" in capsys.readouterr().err
    assert main(["reproduce", "--engine", "dask", "--scheduler", "tcp://x:8786", "--workers", "2"]) != 0
    assert "with --scheduler the cluster has its own" in capsys.readouterr().err
    assert main(["reproduce", "--engine", "spark"]) != 0
    assert "invalid choice: 'spark'" in capsys.readouterr().err


def test_step_beats_and_times():
    stream = io.StringIO()
    with Step("models", first=0.05, heartbeat=0.05, stream=stream) as step:
        time.sleep(0.18)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "famtrial: models running, 0:00"
    assert len(lines) >= 3
    assert lines[-1].startswith("famtrial: models done in 0:00 (0.")
    assert 0.18 <= step.seconds < 5
    quiet = io.StringIO()
    with Step("models", enabled=False, stream=quiet):
        pass
    assert quiet.getvalue() == ""


def test_a_step_failing_at_once_adds_nothing_to_the_error():
    stream = io.StringIO()
    with pytest.raises(ValueError), Step("loading", stream=stream):
        raise ValueError("bad")
    assert stream.getvalue() == ""
    with pytest.raises(ValueError), Step("loading", first=0.01, stream=stream):
        time.sleep(0.1)
        raise ValueError("bad")
    assert stream.getvalue().splitlines()[-1] == "famtrial: loading failed after 0:00"


def test_inference_panel_keeps_the_fit_and_the_design():
    """Dropping the rows of parents whose outcome never changes (but their first) changes neither the
    conditional logit nor the randomization design; checked on the in-memory panel."""
    from famtrial.trial._dask_steps import count_parents, inference_panel
    from famtrial.trial.effects import fit_plan_model
    from famtrial.trial.few_cluster import family_design
    from famtrial.trial.sample import analysis_sample

    panel = analysis_sample(load_panel(_replica(), "nct03102775")).panel
    compact = inference_panel(panel)
    assert len(compact.data) < 0.99 * len(panel.data)  # both outcomes constant: about 3% of rows here
    assert count_parents(compact) == count_parents(panel) == panel.data["parent_id"].nunique()
    full, small = family_design(panel), family_design(compact)
    for name in ("family", "office", "arm"):
        np.testing.assert_array_equal(getattr(small, name), getattr(full, name))
    for name in panel.plan.inference_models:
        a = fit_plan_model(panel, panel.plan.model(name))
        b = fit_plan_model(compact, panel.plan.model(name))
        assert a.nobs == b.nobs and a.n_clusters == b.n_clusters
        np.testing.assert_allclose(b.params, a.params, rtol=0, atol=1e-12)
        np.testing.assert_allclose(b.bse, a.bse, rtol=0, atol=1e-12)
