"""Tables 3-4 on a Dask panel: per-partition sums against the baseline rows gathered (issue 28).

``python benchmarks/bench_balance_dask.py --copies 20 --files 8``: the shipped replica copied ``copies``
times (parent and family ids offset), written as ``files`` Parquet files of whole parents, loaded with
``engine="dask"`` and persisted on a LocalCluster of 2 workers x 1 thread. Times ``balance_table`` and
``correlation_table`` from per-partition sums, then the same from ``panel.baseline_frame()`` (the rows
gathered to the client, the path before), and prints the bytes each sends to the client (the pickled
partition results against the baseline frame) and the largest difference between the two.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from distributed import Client, LocalCluster

from famtrial._parallel import compute_each_partition
from famtrial.data.load import load_panel
from famtrial.plan.spec import load_plan
from famtrial.trial import _balance_dask
from famtrial.trial.balance import _plan_variables, balance_table, correlation_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    replica = pd.read_parquet(load_plan("nct03102775").resolve_data())
    step = int(replica["parent_id"].max()) + 1
    frame = pd.concat(
        [
            replica.assign(parent_id=replica["parent_id"] + k * step, family_id=replica["family_id"] + k * step)
            for k in range(args.copies)
        ],
        ignore_index=True,
    )
    with tempfile.TemporaryDirectory() as tmp, Client(LocalCluster(n_workers=2, threads_per_worker=1)) as client:
        ids = np.sort(frame["parent_id"].unique())
        for i, chunk in enumerate(np.array_split(ids, args.files)):
            frame[frame["parent_id"].isin(chunk)].to_parquet(Path(tmp) / f"part-{i:02d}.parquet", index=False)
        panel = load_panel(tmp, engine="dask")
        panel = dataclasses.replace(panel, data=panel.data.persist())
        client.wait_for_workers(2)
        print(f"{len(frame):,} parent-months, {frame['parent_id'].nunique():,} parents, {args.files} partitions")
        t0 = time.perf_counter()
        sums = (balance_table(panel), correlation_table(panel))
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        sums = (balance_table(panel), correlation_table(panel))
        t_sums = time.perf_counter() - t0
        t0 = time.perf_counter()
        base = panel.baseline_frame()  # what the tables gathered before
        t_gather = time.perf_counter() - t0
        memory = load_panel(frame)  # the in-memory tables of the same rows (the reference)
        t0 = time.perf_counter()
        expected = (balance_table(memory), correlation_table(memory))
        t_memory = time.perf_counter() - t0
        columns = [panel.columns.arm, *_plan_variables(panel)]
        parts = compute_each_partition(
            panel.data,
            _balance_dask._partition_sums,
            panel.columns.month,
            panel.baseline.ordinal,
            columns,
            columns,
            columns,
            _balance_dask.MAX_CELLS // args.files,
        )
        sent = sum(len(pickle.dumps(p)) for p in parts)
        gathered = len(pickle.dumps(base[columns]))
        diff = max(
            float(
                np.nanmax(
                    np.abs((a.frame.select_dtypes("number") - b.frame.select_dtypes("number")).to_numpy())
                    / np.abs(b.frame.select_dtypes("number").to_numpy()).clip(1e-300)
                )
            )
            for a, b in zip(sums, expected)
        )
        print(
            f"Dask from sums: {t_sums:.2f} s (both tables; first call {t_first:.2f} s); sent {sent:,} bytes "
            f"({sum(len(p['cells'][0]) for p in parts if p['cells'] is not None):,} cells)"
        )
        print(f"baseline rows gathered instead: {gathered:,} bytes ({len(base):,} rows) in {t_gather:.2f} s")
        print(f"in memory: {t_memory:.2f} s (both tables); largest relative difference {diff:.1e}")


if __name__ == "__main__":
    main()
