"""The Dask loader beside the in-memory one: ``load_panel(folder, engine="dask")`` vs ``load_panel(file)``.

One run, on the same rows: a panel of ``--parents`` parents x ``--months`` months in the shipped
plan's schema (month as 'YYYY-MM' text, the costliest form to parse), written in vectorized chunks
to ``--files`` Parquet files of whole parents, and to one Parquet file. Times: the in-memory load of
the one file; the Dask load (one validation pass over the files; the panel's data stay lazy) on a
LocalCluster of 2 workers x 1 thread, cluster start excluded; and ``fe_model`` on each panel (the
Dask fit reads and validates the files again). ``uptime``'s load averages are printed beside the
times: the machine is shared.

    python benchmarks/bench_dask_loader.py --parents 200000 --months 12 --files 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_chunk(first: int, n: int, months: int, seed: int) -> pd.DataFrame:
    """Parents ``first .. first + n - 1`` (one per family), the replica's columns, vectorized."""
    rng = np.random.default_rng(seed)
    pid = np.repeat(np.arange(first, first + n), months)
    office = pid % 6 + 1
    arm = (rng.random(n) < 0.5).astype(np.int64)[pid - first]
    period = pd.period_range("2016-04", periods=months, freq="M").astype(str)
    t = np.tile(np.arange(months), n)
    rwc = (rng.random(len(pid)) < 0.3).astype(np.int64)
    eta = rng.normal(0, 1.5, n)[pid - first] + 0.8 * rwc + 0.5 * arm * (t >= 6) - 0.02 * t
    return pd.DataFrame(
        {
            "parent_id": pid,
            "family_id": pid,
            "office": office,
            "month": np.tile(np.asarray(period), n),
            "arm": arm,
            "model": np.where(arm == 0, "ordinary", np.where(office % 2 == 0, "holf", "local")),
            "activation": (rng.random(len(pid)) < 1 / (1 + np.exp(-eta))).astype(np.int64),
            "employed": (rng.random(len(pid)) < 0.3).astype(np.int64),
            "married": (rng.random(len(pid)) < 0.4).astype(np.int64),
            "n_children": rng.integers(1, 4, len(pid)),
            "reduced_work_capacity": rwc,
            "female": (rng.random(n) < 0.6).astype(np.int64)[pid - first],
            "year_of_birth": rng.integers(1960, 1995, n)[pid - first],
            "immigrant": (rng.random(n) < 0.8).astype(np.int64)[pid - first],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    import famtrial as ft

    folder = Path(tempfile.mkdtemp(prefix="famtrial_loader_"))
    try:
        (folder / "parts").mkdir()
        bounds = np.linspace(0, args.parents, args.files + 1).astype(int)
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            make_chunk(a, b - a, args.months, seed=i).to_parquet(folder / "parts" / f"part-{i:04d}.parquet")
        pd.read_parquet(folder / "parts").to_parquet(folder / "one.parquet")
        rows = args.parents * args.months
        print(
            f"{args.parents:,} parents x {args.months} months = {rows:,} rows, {args.files} files; "
            f"load averages {os.getloadavg()}"
        )
        t0 = time.perf_counter()
        memory = ft.load_panel(folder / "one.parquet")
        t1 = time.perf_counter()
        fit_memory = ft.fe_model(memory, "activation")
        t2 = time.perf_counter()
        print(f"in memory: load {t1 - t0:.2f} s, fe_model {t2 - t1:.2f} s; load averages {os.getloadavg()}")
        with Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)):
            t0 = time.perf_counter()
            lazy = ft.load_panel(folder / "parts", engine="dask")
            t1 = time.perf_counter()
            fit_dask = ft.fe_model(lazy, "activation")
            t2 = time.perf_counter()
        print(
            f"Dask (2 workers x 1 thread): load {t1 - t0:.2f} s, fe_model {t2 - t1:.2f} s; "
            f"load averages {os.getloadavg()}"
        )
        same = lazy.report.__class__(**{**lazy.report.__dict__, "source": memory.report.source}) == memory.report
        diff = float(np.max(np.abs(fit_dask.params - fit_memory.params)))
        print(f"reports equal: {same}; max abs coefficient difference {diff:.1e}")
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
