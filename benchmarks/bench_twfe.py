"""Benchmark: two-way fixed effects, a shared machine, and the first call.

    python benchmarks/bench_twfe.py twfe [--sizes 2537 25000] [--large] [--r-max 2537]
    python benchmarks/bench_twfe.py months            # growth of the cost in the number of months
    python benchmarks/bench_twfe.py contention        # trial-size fit, quiet vs a competing process
    python benchmarks/bench_twfe.py first-call        # first fit in a fresh environment (empty numba cache)

``twfe``: famtrial's exact conditional logit with month effects (``time_effects="month"``: parent
conditioned out, one effect per month, cluster-robust SE by office) against pyfixest's
``feglm("y ~ treat + x2 + x3 + x4 | parent + month", family="logit", vcov={"CRV1": "office"})``
(an unconditional logit with both sets of fixed effects estimated: fast, but biased by the
incidental parameters with 39 rows a parent) and R's ``survival::clogit(y ~ treat + x2 + x3 + x4 +
factor(month) + strata(parent), method = "exact")`` (the same estimator as famtrial, model-based
SE). ``--large`` adds 1,000,000 parents x 39 months and 100,000 parents x 100 months (famtrial
only). ``months``: famtrial at 2,537 parents and 13-100 months. Each measurement runs in a fresh
process, tools alternated, each the median of 3 fits after one warm-up fit on a tiny panel (one
fit above 100,000 parents); seconds include building the model from the DataFrame and the
cluster-robust covariance. The panel is benchmarks/bench_clogit.py's (parents x months, treatment
switching on at month 13, two binary and one continuous covariate), with month effects
``0.3 sin(2 pi t / 12)`` added to the linear predictor.

``contention``: the trial-size fit of bench_clogit.py (2,537 parents x 39 months, 5 regressors
with a linear trend), quiet and while a competing process started here runs a 2-thread numpy
loop (BLAS matrix products, ``OPENBLAS_NUM_THREADS=2``) on the same cores; famtrial's default
threads against ``FAMTRIAL_NUM_THREADS=1`` (``--threads-env NUMBA_NUM_THREADS`` for a famtrial
before the thread pool), alternated, 15 fits each.

``first-call``: a fresh process with an empty ``NUMBA_CACHE_DIR`` times ``import famtrial`` and the
first trial-size fit (which compiles), then a second process with the filled cache; the process's
CPU seconds beside (on a loaded machine the compile's wall time is mostly waiting for a core).

Load averages are printed before and after each part; the machine is shared.
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
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import bench_clogit

OUT = HERE / "out"
COVS = ["treat", "x2", "x3", "x4"]


def make_panel(n_parents: int, months: int = 39, seed: int = 1) -> pd.DataFrame:
    """bench_clogit's panel with ``months`` months and seasonal month effects; ``month`` a label."""
    bench_clogit.T = months
    data = bench_clogit.make_panel(n_parents, seed)
    t = data["trend"].to_numpy()
    rng = np.random.default_rng(seed + 1)
    # redraw the outcome with month effects (same parent effects and covariates)
    alpha = rng.normal(-1.5, 1.5, n_parents)[data["parent"].to_numpy()]
    eta = (
        alpha
        + 0.1 * data["treat"]
        + data["x2"]
        - 0.4 * data["x3"]
        + 0.3 * data["x4"]
        + 0.3 * np.sin(2 * np.pi * t / 12)
    )
    data["y"] = (rng.random(len(data)) < 1 / (1 + np.exp(-eta.to_numpy()))).astype(np.int8)
    data["month"] = t.astype(np.int64)
    return data.drop(columns="trend")


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run_one(tool: str, n_parents: int, months: int) -> dict:
    """In this (child) process: build the panel, time the fit, report seconds, CPU seconds, peak RSS."""
    data = make_panel(n_parents, months)
    repeats = 3 if n_parents <= 100_000 else 1
    if tool == "famtrial":
        from famtrial import conditional_logit

        def fit(d):
            return conditional_logit(d, "y", COVS, group="parent", cluster="office", time_effects="month")
    elif tool == "pyfixest":
        import pyfixest as pf

        def fit(d):
            return pf.feglm(f"y ~ {' + '.join(COVS)} | parent + month", data=d, family="logit", vcov={"CRV1": "office"})
    else:
        raise ValueError(tool)
    fit(make_panel(60, months, seed=5))  # warm-up: numba cache load / jit
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        res = fit(data)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    params = res.params[COVS].to_list() if tool == "famtrial" else res.coef()[COVS].to_list()
    return {
        "tool": tool,
        "parents": n_parents,
        "months": months,
        "rows": len(data),
        "seconds": float(np.median(times)),
        "cpu_seconds": float(np.median(cpu)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "params": params,
    }


def child(tool: str, n_parents: int, months: int, timeout: float, env: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "child", "--tool", tool, "--parents", str(n_parents), "--months", str(months)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {
            "tool": tool,
            "parents": n_parents,
            "months": months,
            "seconds": None,
            "note": f">{timeout:.0f} s (stopped)",
        }
    if out.returncode != 0:
        return {"tool": tool, "parents": n_parents, "months": months, "seconds": None, "note": out.stderr[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_r(n_parents: int, months: int, timeout: float) -> dict:
    tool = "R survival::clogit exact"
    if shutil.which("Rscript") is None:
        return {"tool": tool, "parents": n_parents, "months": months, "seconds": None, "note": "no Rscript"}
    OUT.mkdir(exist_ok=True)
    path = OUT / f"twfe_{n_parents}_{months}.csv"
    make_panel(n_parents, months).to_csv(path, index=False)
    script = (
        "suppressPackageStartupMessages(library(survival));"
        f"d <- read.csv('{path}');"
        "t0 <- proc.time()[['elapsed']];"
        "f <- clogit(y ~ treat + x2 + x3 + x4 + factor(month) + strata(parent), data = d, method = 'exact');"
        "cat(proc.time()[['elapsed']] - t0, coef(f)[1:4], '\\n')"
    )
    try:
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {
            "tool": tool,
            "parents": n_parents,
            "months": months,
            "seconds": None,
            "note": f">{timeout:.0f} s (stopped)",
        }
    finally:
        path.unlink(missing_ok=True)
    fields = out.stdout.split()
    if out.returncode != 0 or not fields:
        return {"tool": tool, "parents": n_parents, "months": months, "seconds": None, "note": out.stderr[-200:]}
    return {
        "tool": tool,
        "parents": n_parents,
        "months": months,
        "seconds": float(fields[0]),
        "params": [float(v) for v in fields[1:5]],
    }


def _table(rows: list[dict]) -> str:
    frame = pd.DataFrame(rows)
    ref = frame[frame["tool"] == "famtrial"].set_index(["parents", "months"])["seconds"]
    frame["x famtrial"] = [
        s / ref.get((p, m), np.nan) if s else np.nan
        for s, p, m in zip(frame["seconds"], frame["parents"], frame["months"])
    ]
    diffs = []
    for _, row in frame.iterrows():
        base = frame[
            (frame["tool"] == "famtrial") & (frame["parents"] == row["parents"]) & (frame["months"] == row["months"])
        ]
        p = row.get("params")
        diffs.append(
            np.nan
            if not isinstance(p, list) or base.empty or not isinstance(base["params"].iloc[0], list)
            else float(np.max(np.abs(np.array(p) - np.array(base["params"].iloc[0]))))
        )
    frame["max |coef - famtrial|"] = diffs
    cols = [
        "tool",
        "parents",
        "months",
        "rows",
        "seconds",
        "cpu_seconds",
        "x famtrial",
        "peak_rss_mb",
        "max |coef - famtrial|",
        "note",
    ]
    return frame.reindex(columns=cols).to_string(index=False)


def twfe(args) -> None:
    rows = []
    for n in args.sizes:
        rows.append(child("famtrial", n, 39, 1800))
        rows.append(child("pyfixest", n, 39, 1800))
        if n <= args.r_max:
            rows.append(run_r(n, 39, args.r_timeout))
        rows.append(child("famtrial", n, 39, 1800) | {"tool": "famtrial (again)"})
    if args.large:
        rows.append(child("famtrial", 1_000_000, 39, 1800))
        rows.append(child("famtrial", 100_000, 100, 1800))
    print(_table(rows))


def months(args) -> None:
    rows = [child("famtrial", 2537, m, 600) for m in (13, 26, 39, 52, 78, 100)]
    frame = pd.DataFrame(rows)
    frame["cpu per parent-month^2 (us)"] = frame["cpu_seconds"] / (2537 * frame["months"] ** 2) * 1e6
    print(frame[["months", "rows", "seconds", "cpu_seconds", "cpu per parent-month^2 (us)"]].to_string(index=False))
    ok = frame.dropna(subset=["cpu_seconds"])
    slope = np.polyfit(np.log(ok["months"]), np.log(ok["cpu_seconds"]), 1)[0]
    print(f"CPU time ~ months^{slope:.2f} (least squares on logs, 13-100 months)")


_COMPETITOR = """
import numpy as np, time
a = np.random.default_rng(0).normal(size=(600, 600))
end = time.time() + {seconds}
while time.time() < end:
    a = np.tanh(a @ a / 600)
"""


def _contention_fit(threads: str | None, variable: str) -> list[float]:
    code = (
        "import sys, time, json; sys.path.insert(0, " + repr(str(HERE)) + "); import bench_clogit as b;"
        "from famtrial import conditional_logit as f;"
        "d = b.make_panel(2537); f(b.make_panel(50), 'y', b.COVS, group='parent', cluster='office'); ts = []\n"
        "for _ in range(15):\n"
        "    t0 = time.perf_counter(); f(d, 'y', b.COVS, group='parent', cluster='office'); ts.append(time.perf_counter() - t0)\n"
        "print(json.dumps(ts))"
    )
    env = dict(os.environ)
    env.pop("FAMTRIAL_NUM_THREADS", None)
    env.pop("NUMBA_NUM_THREADS", None)
    if threads:
        env[variable] = threads
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def contention(args) -> None:
    results = []
    for load in ("quiet", "competing 2-thread numpy process"):
        competitor = None
        if load != "quiet":
            env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
            competitor = subprocess.Popen([sys.executable, "-c", _COMPETITOR.format(seconds=600)], env=env)
            time.sleep(1.0)
        try:
            for rep in range(2):  # alternate the two settings
                for label, threads in (("default threads", None), (f"{args.threads_env}=1", "1")):
                    before = _load()
                    ts = _contention_fit(threads, args.threads_env)
                    results.append(
                        {
                            "load": load,
                            "setting": label,
                            "round": rep + 1,
                            "median s": np.median(ts),
                            "min s": min(ts),
                            "load average before": before,
                        }
                    )
        finally:
            if competitor is not None:
                competitor.terminate()
                competitor.wait()
    frame = pd.DataFrame(results)
    print(frame.to_string(index=False))
    print(frame.groupby(["load", "setting"])["median s"].median().to_string())


def first_call(args) -> None:
    code = (
        "import time, sys; t0 = time.perf_counter(); sys.path.insert(0, "
        + repr(str(HERE))
        + "); import bench_clogit as b;"
        "from famtrial import conditional_logit as f; t1 = time.perf_counter(); d = b.make_panel(2537);"
        "t2 = time.perf_counter(); f(d, 'y', b.COVS, group='parent', cluster='office'); t3 = time.perf_counter();"
        "c = time.process_time(); print(f'{t1 - t0:.2f} {t3 - t2:.2f} {c:.2f}')"
    )
    cache = tempfile.mkdtemp(prefix="famtrial-numba-")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    try:
        for label in ("fresh environment (empty numba cache)", "second process (cache filled)"):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            total = time.perf_counter() - t0
            imp, fit, cpu = out.stdout.split()
            notice = [line for line in out.stderr.splitlines() if line.startswith("famtrial:")]
            print(
                f"{label}: import {imp} s, first fit {fit} s, whole process {total:.2f} s ({cpu} s CPU), "
                f"stderr notice: {notice[0] if notice else '(none)'}"
            )
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", choices=["twfe", "months", "contention", "first-call", "child"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2537, 25000])
    parser.add_argument("--large", action="store_true", help="add 1,000,000 x 39 and 100,000 x 100 (famtrial)")
    parser.add_argument("--r-max", type=int, default=2537, help="largest panel given to R")
    parser.add_argument("--r-timeout", type=float, default=900)
    parser.add_argument(
        "--threads-env",
        default="FAMTRIAL_NUM_THREADS",
        help="contention: the variable that sets one thread (NUMBA_NUM_THREADS for older famtrial)",
    )
    parser.add_argument("--tool")
    parser.add_argument("--parents", type=int)
    parser.add_argument("--months", type=int, default=39)
    args = parser.parse_args()
    if args.part == "child":
        print(json.dumps(run_one(args.tool, args.parents, args.months)))
        return
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {_load()} before"
    )
    {"twfe": twfe, "months": months, "contention": contention, "first-call": first_call}[args.part](args)
    print(f"load average {_load()} after")


if __name__ == "__main__":
    main()
