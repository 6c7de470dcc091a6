"""The Dask load of ``famtrial reproduce --engine dask``: one pass (``persist=True``) against the two it made before.

On the first ``--files`` files of a partitioned Parquet dataset (``benchmarks/make_registry.py``: copies
of the replica, whole parents per file), each on a fresh LocalCluster of ``--workers`` single-threaded
workers with ``--memory-limit`` each, times until the validated panel is held by the workers:

- ``two passes`` (reproduce before): ``load_panel(..., engine="dask")`` (a pass of summaries) then
  ``panel.data.persist()`` (every partition read and validated again), waited for;
- ``one pass`` (reproduce now): ``load_panel(..., engine="dask", persist=True)``.

Then counts the parents per partition on the held panel (a downstream step: it must not read again)
and reports both runs' reports equal, the workers' peak RSS and the load averages (the machine is shared).

    python benchmarks/bench_dask_load_once.py --data /work/tmp/reg100 --files 4 --workers 2 --memory-limit 1.5GB
"""

from __future__ import annotations

import argparse
import os
import time


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _run(mode: str, paths: list[str], workers: int, memory_limit: str) -> tuple[float, float, object, list[int]]:
    from distributed import Client, LocalCluster, wait

    import famtrial
    from famtrial.trial._dask_steps import count_parents

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            memory_limit=memory_limit,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: None)  # workers up before the clock starts
        start = time.perf_counter()
        if mode == "two passes":
            panel = famtrial.load_panel(paths, "nct03102775", engine="dask")
            panel = type(panel)(data=panel.data.persist(), plan=panel.plan, report=panel.report)
            wait(panel.data)
        else:
            panel = famtrial.load_panel(paths, "nct03102775", engine="dask", persist=True)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        count_parents(panel)
        downstream = time.perf_counter() - start
        rss = list(client.run(_rss).values())
        return loaded, downstream, panel.report, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="1.5GB")
    parser.add_argument("--order", default="two,one", help="the runs in order, e.g. two,one,one,two")
    args = parser.parse_args()
    from pathlib import Path

    paths = [str(p) for p in sorted(Path(args.data).glob("*.parquet"))[: args.files]]
    print(f"{len(paths)} files of {args.data}; {args.workers} workers x 1 thread, memory_limit {args.memory_limit}")
    reports = []
    for name in args.order.split(","):
        mode = {"two": "two passes", "one": "one pass"}[name]
        before = os.getloadavg()
        loaded, downstream, report, rss = _run(mode, paths, args.workers, args.memory_limit)
        reports.append(report)
        print(
            f"{mode:>10}: loaded and held {loaded:7.1f} s; count_parents after it {downstream:5.1f} s; "
            f"workers' RSS {', '.join(f'{r / 1e9:.2f}' for r in rss)} GB; "
            f"load averages {before[0]:.1f} -> {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    print(f"rows read {reports[0].rows_read:,}; reports equal: {all(r == reports[0] for r in reports)}")


if __name__ == "__main__":
    main()
