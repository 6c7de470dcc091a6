"""Benchmark: ``monthly_effects`` on a Dask panel beside the in-memory series, in one run.

    python benchmarks/bench_monthly_dask.py --parents 100000 --months 12 --partitions 8

A panel of ``--parents`` x ``--months`` rows (tests/trial/test_monthly.py's ``path_panel``: 12 offices,
0/1 offer and baseline controls, an effect path) is written as ``--partitions`` Parquet files of
whole parents. Timed, each once after an untimed warm-up on a small panel (numba loaded):

- ``in memory``: ``load_panel(frame)`` then ``monthly_effects(panel, "activation")``;
- ``Dask``: ``load_panel(folder, engine="dask")`` (lazy) then ``monthly_effects`` on it on a
  ``LocalCluster(n_workers=2, threads_per_worker=1)``: the workers read, validate and collapse
  their partitions into cells; the client sums the cells and fits.

Prints one JSON line with the times, the rows, the cells the workers sent, the largest difference of
the frame's numbers from in memory, and the load averages before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    from distributed import Client, LocalCluster
    from test_monthly import path_panel

    from famtrial.data.load import load_panel
    from famtrial.trial.monthly import monthly_effects

    ap = argparse.ArgumentParser()
    ap.add_argument("--parents", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--partitions", type=int, default=8)
    a = ap.parse_args()
    load_before = os.getloadavg()
    path = [0.0, 0.0, 0.0, 0.3, 0.3] + [0.0] * max(a.months - 5, 0)
    frame = path_panel(1, path[: a.months], n_families=a.parents)
    out: dict[str, object] = {"rows": len(frame), "parents": a.parents, "months": a.months, "partitions": a.partitions}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster),
    ):
        folder = Path(tmp)
        ids = frame["parent_id"].unique()
        for i, block in enumerate(np.array_split(ids, a.partitions)):
            frame[frame["parent_id"].isin(block)].to_parquet(folder / f"part-{i:03d}.parquet", index=False)
        small = path_panel(2, [0.0, 0.0, 0.0], n_families=300)
        monthly_effects(load_panel(small), "activation", progress=False)  # warm-up
        t = time.perf_counter()
        memory = monthly_effects(load_panel(frame), "activation", progress=False)
        out["in_memory_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        lazy = monthly_effects(load_panel(folder, engine="dask"), "activation", progress=False)
        out["dask_s"] = round(time.perf_counter() - t, 2)
        num = memory.frame.select_dtypes("number").columns
        out["max_abs_diff"] = float(
            np.nanmax(np.abs(lazy.frame[num].to_numpy(float) - memory.frame[num].to_numpy(float)))
        )
    base = frame[frame["month"] == frame["month"].min()][
        ["parent_id", "reduced_work_capacity", "activation", "employed"]
    ]
    rows = frame[frame["month"] >= "2016-10"].merge(base, on="parent_id", suffixes=("", "_b"))
    out["cells"] = int(
        rows.groupby(
            ["month", "office", "arm", "activation", "reduced_work_capacity", "activation_b", "employed_b"]
        ).ngroups
    )
    out["load_before"], out["load_after"] = [round(x, 2) for x in load_before], [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
