"""Benchmark: randomization inference and the warm ``famtrial reproduce``, this checkout vs an older one.

    python benchmarks/bench_ri.py                          # this checkout
    python benchmarks/bench_ri.py --before /path/to/src    # and an older famtrial source tree

Every measurement is a fresh process with numba's on-disk cache already filled (a warm-up run of
each command comes first and is not timed), so the numbers are the warm ones:

* ``famtrial reproduce --out <tmp> --quiet`` (the plan's 199 re-draws for each of Models 1 and 3)
  and the same with ``--skip-inference`` (what the randomization and score bootstrap cost is the
  difference);
* ``randomization_test`` of Model 1 (activation, pooled treatment, robust z) called directly with
  R = 199 and R = 999 re-draws and the default executor (``n_jobs=None, executor="auto"``: threads
  of the process), timed around the call only (the panel is loaded before); with ``--executors``
  also ``n_jobs=1`` (serial), ``executor="threads"`` and ``executor="processes"`` (2 processes,
  start-up included) for each R. An older tree (``--before``) is run with its default only.

The p-values are printed so runs can be compared (a given seed gives the same draws on every
executor). The 1-minute load average is recorded before and after each measurement: on a shared
machine it is part of the result.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time
from famtrial.data.load import load_panel
from famtrial.pipeline import default_panel_path
from famtrial.trial.sample import analysis_sample
from famtrial.trial.few_cluster import randomization_test
if __name__ == "__main__":
    panel = analysis_sample(load_panel(default_panel_path())).panel
    n, how = int(sys.argv[1]), sys.argv[2]
    kw = {} if how == "default" else {"n_jobs": 1} if how == "serial" else {"executor": how}
    t = time.perf_counter()
    r = randomization_test(panel, "activation", n_perm=n, progress=False, **kw)
    print(f"{time.perf_counter() - t:.3f} {r.pvalue:.6f}")
"""


def load() -> float:
    return os.getloadavg()[0]


def run(cmd: list[str], src: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": src}
    t = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, out


def measure(src: str, label: str, draws: list[int], jobs: list[str], script: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for extra, what in (
            ([], "warm reproduce (199 re-draws x 2 models)"),
            (["--skip-inference"], "warm reproduce --skip-inference"),
        ):
            cmd = [sys.executable, "-m", "famtrial", "reproduce", "--out", tmp, "--quiet", *extra]
            run(cmd, src)  # warm-up: fills numba's cache for this tree
            before = load()
            seconds, _ = run(cmd, src)
            print(f"{label:10s} {what:45s} {seconds:8.2f} s   load {before:5.2f} -> {load():5.2f}", flush=True)
    run([sys.executable, str(script), "2", "serial"], src)
    for n in draws:
        for how in jobs:
            before = load()
            _, out = run([sys.executable, str(script), str(n), how], src)
            seconds, p = out.split()
            print(
                f"{label:10s} {f'randomization_test Model 1, R = {n}, {how}':45s} {float(seconds):8.2f} s   "
                f"load {before:5.2f} -> {load():5.2f}   p = {float(p):.4f}",
                flush=True,
            )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", help="src folder of another famtrial (e.g. a `git archive` of main)")
    ap.add_argument("--before-draws", type=int, nargs="*", default=[199], help="R for the older tree (default 199)")
    ap.add_argument("--draws", type=int, nargs="*", default=[199, 999])
    ap.add_argument("--executors", action="store_true", help="also time serial, threads and processes")
    args = ap.parse_args(argv)
    here = str(Path(__file__).resolve().parents[1] / "src")
    jobs = ["default", "serial", "threads", "processes"] if args.executors else ["default"]
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ri_child.py"
        script.write_text(CHILD)
        measure(here, "this", args.draws, jobs, script)
        if args.before:
            measure(args.before, "before", args.before_draws, ["default"], script)
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
