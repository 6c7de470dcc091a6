"""Shared fixtures: a small valid long panel in the replica's schema."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.plan.spec import Plan, load_plan


def make_panel_frame(
    seed: int = 3,
    n_families: int = 120,
    months: int = 12,
    first: str = "2016-04",
    offices: int = 6,
    effect: float = 0.5,
) -> pd.DataFrame:
    """A long panel (one parent per family) with a known treatment effect on activation."""
    rng = np.random.default_rng(seed)
    fam = np.arange(n_families)
    office = fam % offices + 1
    arm = (rng.random(n_families) < 0.5).astype(int)
    model = np.where(arm == 0, "ordinary", np.where(office % 2 == 0, "holf", "local"))
    period = pd.period_range(first, periods=months, freq="M")
    post = (period >= pd.Period("2016-10", "M")).astype(int)
    alpha = rng.normal(0, 1.5, n_families)
    rows = []
    for i in fam:
        rwc = (rng.random(months) < 0.3).astype(int)
        eta = alpha[i] + 0.8 * rwc + effect * arm[i] * post - 0.02 * np.arange(months)
        rows.append(
            pd.DataFrame(
                {
                    "parent_id": i,
                    "family_id": i,
                    "office": office[i],
                    "month": period.astype(str),
                    "arm": arm[i],
                    "model": model[i],
                    "activation": (rng.random(months) < 1 / (1 + np.exp(-eta))).astype(int),
                    "employed": (rng.random(months) < 0.3).astype(int),
                    "married": (rng.random(months) < 0.4).astype(int),
                    "n_children": rng.integers(1, 4, months),
                    "reduced_work_capacity": rwc,
                    "female": int(rng.random() < 0.6),
                    "year_of_birth": int(rng.integers(1960, 1995)),
                    "immigrant": int(rng.random() < 0.8),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def tiny_panel_frame() -> pd.DataFrame:
    return make_panel_frame()


def renamed_replica() -> tuple[pd.DataFrame, str]:
    """The shipped replica with every column renamed and the arm and variant recoded, and a plan that maps it."""
    data = pd.read_parquet(load_plan().resolve_data())
    names = {
        "parent_id": "pid",
        "family_id": "fid",
        "office": "kontor",
        "month": "ym",
        "arm": "offered",
        "model": "variant",
        "activation": "active",
        "employed": "employed_flag",
        "married": "gift",
        "n_children": "nkids",
        "reduced_work_capacity": "redwc",
        "female": "kvinne",
        "year_of_birth": "born",
        "immigrant": "innvandrer",
    }
    renamed = data.rename(columns=names)
    renamed["offered"] = np.where(data["arm"] == 1, "yes", "no")
    renamed["variant"] = data["model"].map({"ordinary": "none", "local": "L", "holf": "H"})
    renamed["ym"] = pd.PeriodIndex(data["month"], freq="M").strftime("%Y%m").astype(int)  # YYYYMM integers
    raw = tomllib.loads(load_plan().to_toml())
    raw["columns"] = {
        "parent": "pid",
        "family": "fid",
        "office": "kontor",
        "month": "ym",
        "arm": "offered",
        "variant": "variant",
    }
    raw["arms"].update(offered="yes", control="no")
    raw["variants"].update(control="ordinary", control_codes=["none"])
    raw["variants"]["levels"]["local"]["codes"] = ["L"]
    raw["variants"]["levels"]["holf"]["codes"] = ["H"]
    for section in ("outcomes", "covariates"):
        for key, entry in raw[section].items():
            entry["column"] = names[key]
    raw["data"].pop("path")
    return renamed, Plan.from_dict(raw).to_toml()


def rerun_r_script(tmp_path: Path, script: str, packages: tuple[str, ...] = ("survival",)) -> Path:
    """Run a committed reference script under tests/reference/ in a scratch copy of the folder layout;
    return the scratch ``tests/reference`` folder (the test skips when R or a package is absent)."""
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    library = "; ".join(f"library({p})" for p in packages)
    if subprocess.run(["Rscript", "-e", library], capture_output=True).returncode != 0:
        pytest.skip(f"R package(s) {', '.join(packages)} not installed")
    reference = tmp_path / "repo" / "tests" / "reference"
    reference.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "reference" / script, reference)
    subprocess.run(["Rscript", f"tests/reference/{script}"], cwd=tmp_path / "repo", check=True, capture_output=True)
    return reference


# -- the Dask loader beside the in-memory one (load_panel(..., engine="dask")) ------------------------
PARTITIONS = (1, 3, 7)


@pytest.fixture(scope="module")
def dask_client():
    """A real dask.distributed LocalCluster (2 worker processes, 1 thread each) for the module
    (None without dask: the modules that use it for the Dask twin of a check still run in memory)."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        yield None
        return
    cluster = distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None, worker_dashboard_address=None
    )
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def partitioned(frame: pd.DataFrame, n: int):
    """``frame`` as a Dask DataFrame of ``n`` consecutive row blocks cut where the parent id changes
    (a parent whose rows are not consecutive spans blocks, and the loader shuffles it together).
    Text columns stay object columns (as in the in-memory frame), not Dask's default pyarrow strings."""
    import dask
    import dask.dataframe as dd

    ids = frame["parent_id"].to_numpy() if "parent_id" in frame.columns else np.arange(len(frame))
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(frame) else np.zeros(1, int)
    cuts = sorted({0, len(frame), *(int(starts[int(i)]) for i in np.linspace(0, len(starts), n + 1)[1:-1])})
    pieces = [frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])] or [frame]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(lambda piece: piece, pieces, meta=frame.iloc[:0], enforce_metadata=False)


def same_as_in_memory(frame: pd.DataFrame, *args, **kwargs):
    """Load ``frame`` in memory and with the Dask loader on 1, 3 and 7 partitions: the same error
    message word for word, or the same report and rows (rows of the Dask panel in parent order).
    Without dask installed only the in-memory load runs. Returns the in-memory panel or error."""
    import importlib.util
    from dataclasses import replace

    from famtrial.data.load import load_panel

    try:
        expected = load_panel(frame, *args, **kwargs)
    except (ValueError, TypeError) as err:
        expected = err
    for n in PARTITIONS if importlib.util.find_spec("distributed") else ():
        try:
            got = load_panel(partitioned(frame, n), *args, **kwargs)
        except (ValueError, TypeError) as err:
            got = err
        if isinstance(expected, Exception):
            assert type(got) is type(expected) and str(got) == str(expected), (n, str(got), str(expected))
        else:
            assert not isinstance(got, Exception), (n, got)
            assert replace(got.report, source="DataFrame") == expected.report, n
            data = got.data.compute()
            order = np.argsort(pd.factorize(data["parent_id"], sort=True)[0], kind="stable")
            pd.testing.assert_frame_equal(data.take(order).reset_index(drop=True), expected.data)
    return expected
