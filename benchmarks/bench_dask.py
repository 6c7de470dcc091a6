"""Benchmark: the exact conditional logit on a Dask LocalCluster vs in memory, and out of core.

    python benchmarks/bench_dask.py overhead                       # 2,537 and 1,000,000 parents x 39 months
    python benchmarks/bench_dask.py out-of-core --parents 2500000 --months 40 --memory-limit 4GB
    python benchmarks/bench_dask.py ri --draws 200     # randomization re-draws: processes vs LocalCluster

**overhead**: the same panels (the columns and data-generating process of bench_clogit.py: 5
regressors, parent intercepts, offices as clusters) fitted with cluster-robust SEs in memory and
on a ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``, each in a fresh process.
The panel is made in chunks of 50,000 parents (seeded per chunk), concatenated for the in-memory
fit, generated on the workers and persisted (``ddf.persist()``) for the Dask fit, so neither time
includes making the data. Both processes first load numba's cached kernel with a tiny fit (not timed).

A month-partitioned copy of a 100,000-parent panel (``ddf.shuffle(on="month")``, as a register
delivered one file per month) measures what the fit's shuffle by parent costs.

**ri**: Model 1's randomization test on the shipped replica (analysis sample), ``--draws``
re-draws, run serially, in 2 local processes (``n_jobs=2``) and on the LocalCluster (design
scattered once), in one process one after the other; the cluster's start is not timed.

**out-of-core**: the panel is written as Parquet, one file per chunk of parents, by tasks on the
cluster (no process ever holds more than a chunk: ``--per-file`` parents), under ``--dir``
(default /tmp); then a cluster of 2 workers with ``--memory-limit`` each fits it from the files
with cluster-robust SEs (``famtrial.models.distributed.read_parquet`` + ``famtrial.conditional_logit``). Reported: wall
time (read + fit), each worker's peak RSS (``VmHWM``), the client's (which hosts the scheduler),
the bytes each worker spilled to disk, and whether any worker was restarted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

COVS = ["treat", "x2", "x3", "x4", "trend"]
CHUNK = 50_000


def make_chunk(first: int, n_parents: int, months: int, seed: int = 1) -> pd.DataFrame:
    """Parents ``first .. first + n_parents - 1`` x ``months``, seeded by ``(seed, first)``."""
    rng = np.random.default_rng([seed, first])
    n = n_parents * months
    local = np.repeat(np.arange(n_parents), months)
    parent = first + local
    month = np.tile(np.arange(months, dtype=np.int16), n_parents)
    office = (parent % 29).astype(np.int16)
    arm = (rng.random(n_parents) < 0.4).astype(np.int8)[local]
    treat = (arm * (month >= 12)).astype(float)
    x2 = (rng.random(n) < 0.3).astype(float)
    x3 = (rng.random(n) < 0.5).astype(float)
    x4 = rng.normal(size=n)
    trend = month.astype(float)
    alpha = rng.normal(-1.5, 1.5, n_parents)[local]
    eta = alpha + 0.1 * treat + 1.0 * x2 - 0.4 * x3 + 0.3 * x4 + 0.01 * trend
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    return pd.DataFrame(
        {
            "parent": parent,
            "month": month,
            "office": office,
            "y": y,
            "treat": treat,
            "x2": x2,
            "x3": x3,
            "x4": x4,
            "trend": trend,
        }
    )


def chunks(n_parents: int, size: int = CHUNK) -> list[tuple[int, int]]:
    return [(a, min(size, n_parents - a)) for a in range(0, n_parents, size)]


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker_peaks(client) -> dict:
    """Per worker: peak RSS (VmHWM, MB) and bytes spilled to disk."""

    def probe(dask_worker):
        with open("/proc/self/status") as status:
            hwm = next(line for line in status if line.startswith("VmHWM"))
        written = sum(v for k, v in dask_worker.digests_total.items() if "disk-write" in str(k) and "bytes" in str(k))
        return {
            "peak_rss_mb": int(hwm.split()[1]) / 1024,
            "spilled_now_mb": dask_worker.data.spilled_total.disk / 2**20,
            "spill_written_mb": written / 2**20,
            "pid": os.getpid(),
        }

    return client.run(probe)


def _cluster(memory_limit):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory_limit, dashboard_address=None
    )
    return cluster, Client(cluster)


def run_overhead(mode: str, n_parents: int, months: int) -> dict:
    from famtrial import conditional_logit

    if mode == "memory":
        conditional_logit(make_chunk(0, 50, months), "y", COVS, "parent", "office")  # numba cache
        data = pd.concat([make_chunk(a, n, months) for a, n in chunks(n_parents)], ignore_index=True)
        t0 = time.perf_counter()
        res = conditional_logit(data, "y", COVS, "parent", "office")
        seconds = time.perf_counter() - t0
        extra = {}
    else:
        import dask.dataframe as dd
        from distributed import wait

        t0 = time.perf_counter()
        cluster, client = _cluster("auto")
        start = time.perf_counter() - t0
        warm = dd.from_map(make_chunk, [0, 50], [50, 50], months=months, enforce_metadata=False)
        conditional_logit(warm, "y", COVS, "parent", "office")  # numba cache in both workers
        parts = chunks(n_parents)
        ddf = dd.from_map(
            make_chunk, [a for a, _ in parts], [n for _, n in parts], months=months, enforce_metadata=False
        ).persist()
        wait(ddf)
        if mode == "dask-month":  # a register delivered one partition per month: the fit must shuffle
            ddf = ddf.shuffle(on="month", npartitions=months).persist()
            wait(ddf)
        t0 = time.perf_counter()
        res = conditional_logit(ddf, "y", COVS, "parent", "office")
        seconds = time.perf_counter() - t0
        extra = {
            "cluster_start_s": start,
            "partitions": ddf.npartitions,
            "workers": _worker_peaks(client),
            "shuffled": res.model.shuffled,
            "phases_s": dict(res.model.seconds),
        }
        client.close()
        cluster.close()
    return {
        "mode": mode,
        "parents": n_parents,
        "rows": n_parents * months,
        "seconds": seconds,
        "client_peak_rss_mb": _peak_mb(),
        "params": res.params.to_list(),
        "bse": res.bse.to_list(),
        "llf": res.llf,
        "iterations": res.iterations,
        **extra,
    }


def _write_chunk(first: int, n: int, months: int, directory: str) -> int:
    frame = make_chunk(first, n, months)
    frame.to_parquet(Path(directory) / f"parents-{first:09d}.parquet", index=False, row_group_size=500_000)
    return len(frame)


def run_out_of_core(n_parents: int, months: int, memory_limit: str, directory: Path, keep: bool, per_file: int) -> dict:
    from distributed import Client, LocalCluster

    from famtrial import conditional_logit
    from famtrial.models.distributed import read_parquet

    directory.mkdir(parents=True, exist_ok=True)
    out = {"parents": n_parents, "months": months, "rows": n_parents * months, "memory_limit": memory_limit}
    existing = sorted(directory.glob("parents-*.parquet"))
    if len(existing) != len(chunks(n_parents, per_file)):
        shutil.rmtree(directory)
        directory.mkdir(parents=True)
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, memory_limit=memory_limit, dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            t0 = time.perf_counter()
            parts = chunks(n_parents, per_file)
            rows = client.gather(
                client.map(
                    _write_chunk,
                    [a for a, _ in parts],
                    [n for _, n in parts],
                    months=months,
                    directory=str(directory),
                    pure=False,
                )
            )
            out["generate_s"] = time.perf_counter() - t0
            out["generate_workers"] = _worker_peaks(client)
            assert sum(rows) == n_parents * months
    out["parquet_mb"] = sum(f.stat().st_size for f in directory.glob("*.parquet")) / 2**20
    out["files"] = len(list(directory.glob("*.parquet")))
    cluster, client = _cluster(memory_limit)
    try:
        import dask.dataframe as dd

        warm = dd.from_map(make_chunk, [0, 50], [50, 50], months=months, enforce_metadata=False)
        conditional_logit(warm, "y", COVS, "parent", "office")  # numba's cached kernel into both workers
        pids = {w: v["pid"] for w, v in _worker_peaks(client).items()}
        t0 = time.perf_counter()
        ddf = read_parquet(directory, ["parent", "office", "y", *COVS])
        res = conditional_logit(ddf, "y", COVS, "parent", "office")
        out["fit_s"] = time.perf_counter() - t0
        workers = _worker_peaks(client)
        out.update(
            workers=workers,
            restarted=any(pids.get(w) != v["pid"] for w, v in workers.items()),
            partitions=ddf.npartitions,
            nobs=res.nobs,
            n_groups=res.n_groups,
            n_clusters=res.n_clusters,
            iterations=res.iterations,
            params=res.params.to_list(),
            bse=res.bse.to_list(),
            llf=res.llf,
            dropped=[d.describe() for d in res.dropped],
            shuffled=res.model.shuffled,
            phases_s=dict(res.model.seconds),
            summary=res.summary(),
        )
    finally:
        client.close()
        cluster.close()
    out["client_peak_rss_mb"] = _peak_mb()
    if not keep:
        shutil.rmtree(directory)
    return out


def run_ri(draws: int) -> dict:
    from famtrial import analysis_sample
    from famtrial.data.load import load_panel
    from famtrial.pipeline import default_panel_path
    from famtrial.trial.few_cluster import randomization_test

    panel = analysis_sample(load_panel(default_panel_path())).panel
    kwargs = {"n_perm": draws, "seed": 1, "progress": False}
    randomization_test(panel, "activation", n_perm=2, n_jobs=1, progress=False)  # numba cache
    out = {"draws": draws}
    for label, extra in (("serial", {"n_jobs": 1}), ("processes", {"n_jobs": 2})):
        t0 = time.perf_counter()
        res = randomization_test(panel, "activation", **kwargs, **extra)
        out[f"{label}_s"] = time.perf_counter() - t0
        out[f"{label}_p"] = res.pvalue
    cluster, client = _cluster("auto")
    try:
        t0 = time.perf_counter()
        res = randomization_test(panel, "activation", **kwargs, client=client)
        out["dask_s"] = time.perf_counter() - t0
        out["dask_p"] = res.pvalue
    finally:
        client.close()
        cluster.close()
    return out


def child(args: list[str], timeout: float) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        return {"args": args, "error": proc.stderr[-2000:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["overhead", "out-of-core", "ri"], nargs="?")
    parser.add_argument("--draws", type=int, default=200, help="ri: re-draws")
    parser.add_argument("--sizes", type=int, nargs="*", default=[2537, 1_000_000], help="overhead: parents")
    parser.add_argument(
        "--shuffle-sizes",
        type=int,
        nargs="*",
        default=[100_000],
        help="overhead: parents of the month-partitioned panel (a shuffle by parent)",
    )
    parser.add_argument("--parents", type=int, default=2_500_000, help="out-of-core: parents")
    parser.add_argument("--months", type=int, default=None, help="months (39 overhead, 40 out of core)")
    parser.add_argument("--memory-limit", default="4GB", help="out-of-core: per worker")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/famtrial_bench_dask"))
    parser.add_argument("--keep", action="store_true", help="keep the Parquet files")
    parser.add_argument("--per-file", type=int, default=25_000, help="out-of-core: parents per Parquet file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, n, months = args.child[0], int(args.child[1]), int(args.child[2])
        print(json.dumps(run_overhead(mode, n, months)))
        return
    load = os.getloadavg()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    if args.what == "ri":
        print(json.dumps(run_ri(args.draws)))
    elif args.what == "overhead":
        months = args.months or 39
        rows = []
        for n in args.sizes:
            mem = child(["memory", str(n), str(months)], 3600)
            dsk = child(["dask", str(n), str(months)], 3600)
            for r in (mem, dsk):
                print(json.dumps(r))
            if "error" in mem or "error" in dsk:
                continue
            rows.append(
                {
                    "parents": n,
                    "rows": n * months,
                    "in memory s": mem["seconds"],
                    "dask s": dsk["seconds"],
                    "dask / memory": dsk["seconds"] / mem["seconds"],
                    "memory peak RSS MB": mem["client_peak_rss_mb"],
                    "dask worker peak RSS MB": max(w["peak_rss_mb"] for w in dsk["workers"].values()),
                    "cluster start s": dsk["cluster_start_s"],
                    "max |coef diff|": float(np.max(np.abs(np.subtract(mem["params"], dsk["params"])))),
                    "max rel |se diff|": float(np.max(np.abs(np.subtract(mem["bse"], dsk["bse"]) / mem["bse"]))),
                }
            )
        print(pd.DataFrame(rows).to_string(index=False))
        for n in args.shuffle_sizes:
            aligned = child(["dask", str(n), str(months)], 3600)
            by_month = child(["dask-month", str(n), str(months)], 3600)
            print(json.dumps(aligned))
            print(json.dumps(by_month))
            if "error" not in aligned and "error" not in by_month:
                print(
                    f"{n:,} parents x {months} months: aligned {aligned['seconds']:.2f} s, partitioned by month "
                    f"(shuffled by parent in the fit: {by_month['shuffled']}) {by_month['seconds']:.2f} s; max |coef "
                    f"diff| {np.max(np.abs(np.subtract(aligned['params'], by_month['params']))):.1e}"
                )
    else:
        months = args.months or 40
        res = run_out_of_core(args.parents, months, args.memory_limit, args.dir, args.keep, args.per_file)
        summary = res.pop("summary")
        print(json.dumps(res, indent=1))
        print(summary)
    load = os.getloadavg()
    print(f"load average after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
