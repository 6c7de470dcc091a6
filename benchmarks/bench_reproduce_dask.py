"""``famtrial reproduce --engine dask`` at registry scale, beside the in-memory run.

Runs the shipped plan's whole analysis (``famtrial.reproduce``) on the first ``--files`` files of a
partitioned Parquet dataset written by ``benchmarks/make_registry.py`` (copies of the simulator's
replica, whole parents per file), on a LocalCluster of ``--workers`` single-threaded workers with
``--memory-limit`` each (workers spill to disk past 60% of it and pause at 80%), and reports:

- wall time per step (the pipeline's own step timings, ``famtrial: <step> done in ...``);
- peak memory (RSS) of every worker and of the client, sampled every second; spill to disk (bytes
  the workers wrote to their spill directories, their ``SpillBuffer`` counters);
- the load averages at the start and end (the machine is shared);

and, with ``--memory``, the in-memory run (``engine="pandas"``) on the same rows in one Parquet file,
in a child process (its peak RSS from ``getrusage``), with its step timings and the largest
difference between the two runs' ``reproduced.csv``.

    nice -n 10 python benchmarks/bench_reproduce_dask.py --data /work/tmp/registry --files 70 \\
        --workers 2 --memory-limit 3GB --skip-inference
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

STEP = re.compile(r"famtrial: (.+) done in \S+ \(([\d.]+) s\)")


class _Tee(io.TextIOBase):
    """stderr copied to the real stderr and kept (the step lines are parsed from it)."""

    def __init__(self, stream):
        self.stream, self.text = stream, []

    def write(self, s):
        self.stream.write(s)
        self.text.append(s)
        return len(s)

    def flush(self):
        self.stream.flush()


def _worker_rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _worker_spill(dask_worker=None) -> int:
    data = getattr(dask_worker, "data", None)
    total = getattr(data, "spilled_total", None)
    return int(getattr(total, "disk", 0) or 0) if total is not None else 0


class _Sampler:
    """Peak RSS per worker and of this process, every ``interval`` seconds, on a thread."""

    def __init__(self, client, interval: float = 1.0):
        self.client, self.interval = client, interval
        self.workers: dict[str, int] = {}
        self.client_peak = 0
        self.spill: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        import psutil

        self.client_peak = max(self.client_peak, psutil.Process().memory_info().rss)
        with contextlib.suppress(Exception):
            for address, rss in self.client.run(_worker_rss).items():
                self.workers[address] = max(self.workers.get(address, 0), rss)
            for address, spilled in self.client.run(_worker_spill).items():
                self.spill[address] = max(self.spill.get(address, 0), spilled)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def _gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def _steps(text: str) -> dict[str, float]:
    return {m.group(1): float(m.group(2)) for m in STEP.finditer(text)}


def _in_memory(files: list[Path], out: Path, args) -> tuple[dict[str, float], float, float]:
    """The in-memory run in a child process: its step times, wall time and peak RSS."""
    one = out.parent / "one.parquet"
    pd.concat([pd.read_parquet(f) for f in files], ignore_index=True).to_parquet(one, index=False)
    argv = ["reproduce", "--data", str(one), "--out", str(out)]
    argv += ["--skip-inference"] if args.skip_inference else ["--n-perm", str(args.n_perm)]
    code = (  # the child's own peak RSS (getrusage of itself), printed last
        "import resource, sys\nfrom famtrial.cli import main\ncode = main(sys.argv[1:])\n"
        "print(f'peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}', file=sys.stderr)\n"
        "sys.exit(code)"
    )
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    one.unlink()
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    peak = float(re.findall(r"peak (\d+)", done.stderr)[-1])
    return _steps(done.stderr), wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the registry folder (benchmarks/make_registry.py)")
    parser.add_argument("--files", type=int, default=None, help="use the first N files (default: all)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="3GB", help="per worker")
    parser.add_argument("--n-perm", type=int, default=19, help="randomization re-draws")
    parser.add_argument("--skip-inference", action="store_true")
    parser.add_argument("--memory", action="store_true", help="also the in-memory run on the same rows")
    parser.add_argument("--keep", default=None, help="write the outputs here (default: a temporary folder)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    from distributed import Client, LocalCluster

    import famtrial

    files = sorted(Path(args.data).glob("*.parquet"))[: args.files]
    rows = sum(pd.read_parquet(f, columns=["arm"]).shape[0] for f in files)
    size = sum(f.stat().st_size for f in files)
    print(
        f"{rows:,} parent-months in {len(files)} Parquet files ({_gb(size)} on disk); {args.workers} workers x 1 "
        f"thread, memory_limit {args.memory_limit} each; "
        + ("no inference" if args.skip_inference else f"inference with {args.n_perm} re-draws"),
        flush=True,
    )
    print(f"load averages at start {os.getloadavg()}; cores {os.cpu_count()}", flush=True)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="famtrial_bench_"))
    tee = _Tee(sys.stderr)
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            memory_limit=args.memory_limit,
            dashboard_address=None,
            worker_dashboard_address=None,
            local_directory=str(base / "dask-scratch"),
        ) as cluster,
        Client(cluster) as client,
        _Sampler(client) as sampler,
        contextlib.redirect_stderr(tee),
    ):
        t0 = time.perf_counter()
        famtrial.reproduce(
            [str(f) for f in files],
            base / "dask",
            engine="dask",
            client=client,
            inference=not args.skip_inference,
            n_perm=args.n_perm,
        )
        wall = time.perf_counter() - t0
    dask_steps = _steps("".join(tee.text))
    print(f"\nDask: {wall:.0f} s in all; load averages at end {os.getloadavg()}")
    for step, seconds in dask_steps.items():
        print(f"  {step:<32} {seconds:8.1f} s")
    for address, peak in sorted(sampler.workers.items()):
        print(f"  worker {address}: peak RSS {_gb(peak)}, spilled to disk {_gb(sampler.spill.get(address, 0))}")
    print(f"  client: peak RSS {_gb(sampler.client_peak)}", flush=True)
    if args.memory:
        steps, wall_mem, peak = _in_memory(files, base / "memory", args)
        print(
            f"\nin memory (one process): {wall_mem:.0f} s in all, peak RSS {_gb(peak)}; load averages {os.getloadavg()}"
        )
        for step, seconds in steps.items():
            print(f"  {step:<32} {seconds:8.1f} s   (Dask {dask_steps.get(step, float('nan')):.1f} s)")
        a = pd.read_csv(base / "memory" / "reproduced.csv")
        b = pd.read_csv(base / "dask" / "reproduced.csv")
        x = pd.to_numeric(a["value"], errors="coerce").to_numpy()
        y = pd.to_numeric(b["value"], errors="coerce").to_numpy()
        same = list(a["key"]) == list(b["key"])
        print(
            f"  reproduced.csv: {len(a)} numbers, keys equal {same}, max |Dask - memory| {np.nanmax(np.abs(x - y)):.1e}"
        )


if __name__ == "__main__":
    main()
