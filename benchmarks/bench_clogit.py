"""Benchmark: famtrial's exact conditional logit vs statsmodels ConditionalLogit vs R survival::clogit.

    python benchmarks/bench_clogit.py                 # all sizes; R and statsmodels where feasible
    python benchmarks/bench_clogit.py --sizes 2537 25000 --skip-statsmodels

Each measurement runs in a fresh subprocess, so peak memory (max RSS, the panel included) is the
fit's own (R's: ``VmHWM`` of the Rscript process, read from ``/proc/self/status``). famtrial's
kernel is first loaded from numba's on-disk cache by a tiny fit (not timed), then the fit is timed
5 times (median; once above 100,000 parents); the first-ever call, which compiles, is timed
separately with an empty numba cache directory. Panels: parents x 39 months, 5 covariates (a
treatment switching on at month 13, two binary and two continuous time-varying covariates), parent
intercepts, 14-29 offices as clusters.
famtrial's time includes building the model from a DataFrame and the cluster-robust covariance;
statsmodels and R give model-based SEs only (they have no cluster-robust SE for this model).
Ratios are computed within one run on one machine.
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
OUT = HERE / "out"
T = 39


def make_panel(n_parents: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_parents * T
    parent = np.repeat(np.arange(n_parents), T)
    month = np.tile(np.arange(T), n_parents)
    office = parent % 14 if n_parents < 25000 else parent % 29
    arm = (rng.random(n_parents) < 0.4).astype(np.int8)[parent]
    treat = (arm * (month >= 12)).astype(float)
    x2 = (rng.random(n) < 0.3).astype(float)
    x3 = (rng.random(n) < 0.5).astype(float)
    x4 = rng.normal(size=n)
    trend = month.astype(float)
    alpha = rng.normal(-1.5, 1.5, n_parents)[parent]
    eta = alpha + 0.1 * treat + 1.0 * x2 - 0.4 * x3 + 0.3 * x4 + 0.01 * trend
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    return pd.DataFrame(
        {"parent": parent, "office": office, "y": y, "treat": treat, "x2": x2, "x3": x3, "x4": x4, "trend": trend}
    )


COVS = ["treat", "x2", "x3", "x4", "trend"]
REPEATS = 5


def run_one(tool: str, n_parents: int) -> dict:
    """In this (child) process: build the panel, time one fit, report time and peak RSS."""
    data = make_panel(n_parents)
    cold = tool == "famtrial-compile"
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if tool == "famtrial-compile":  # the parent process gave this child an empty NUMBA_CACHE_DIR
        tool = "famtrial"
    if tool == "famtrial":
        from famtrial import conditional_logit

        if not cold:  # load the kernel from numba's on-disk cache first (about 1 s per process)
            conditional_logit(make_panel(50), "y", COVS, group="parent", cluster="office")
        times = []
        for _ in range(1 if cold or n_parents > 100_000 else REPEATS):
            t0 = time.perf_counter()
            res = conditional_logit(data, "y", COVS, group="parent", cluster="office")
            times.append(time.perf_counter() - t0)
        elapsed = float(np.median(times))
        params = res.params.to_list()
    elif tool == "statsmodels":
        from statsmodels.discrete.conditional_models import ConditionalLogit

        t0 = time.perf_counter()
        res = ConditionalLogit(data["y"], data[COVS], groups=data["parent"]).fit(disp=0)
        elapsed = time.perf_counter() - t0
        params = list(res.params)
    else:
        raise ValueError(tool)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "tool": tool,
        "parents": n_parents,
        "rows": len(data),
        "seconds": elapsed,
        "peak_rss_mb": peak / 1024,
        "data_rss_mb": base_rss / 1024,
        "params": params,
    }


def run_r(n_parents: int, timeout: float) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    OUT.mkdir(exist_ok=True)
    path = OUT / f"panel_{n_parents}.csv"
    make_panel(n_parents).to_csv(path, index=False)
    script = (
        "suppressPackageStartupMessages(library(survival));"
        f"d <- read.csv('{path}');"
        "t0 <- proc.time()[['elapsed']];"
        "f <- clogit(y ~ treat + x2 + x3 + x4 + trend + strata(parent), data = d, method = 'exact');"
        # peak RSS of this R process (kB, Linux), the data frame included, as for the Python tools
        "hwm <- grep('^VmHWM', readLines('/proc/self/status'), value = TRUE);"
        "cat(proc.time()[['elapsed']] - t0, nrow(d), as.numeric(gsub('[^0-9]', '', hwm)), coef(f), '\\n')"
    )
    try:
        out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"tool": "R survival::clogit exact", "parents": n_parents, "seconds": None, "note": f">{timeout:.0f} s"}
    finally:
        path.unlink(missing_ok=True)
    fields = out.stdout.split()
    if out.returncode != 0 or not fields:
        return {"tool": "R survival::clogit exact", "parents": n_parents, "seconds": None, "note": out.stderr[-200:]}
    return {
        "tool": "R survival::clogit exact",
        "parents": n_parents,
        "seconds": float(fields[0]),
        "rows": int(float(fields[1])),
        "peak_rss_mb": float(fields[2]) / 1024,
        "params": [float(v) for v in fields[3:]],
    }


def child(tool: str, n_parents: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", tool, str(n_parents)]
    env = dict(os.environ)
    if tool == "famtrial-compile":
        env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="famtrial-numba-")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"tool": tool, "parents": n_parents, "seconds": None, "note": f">{timeout:.0f} s (stopped)"}
    if out.returncode != 0:
        return {"tool": tool, "parents": n_parents, "seconds": None, "note": out.stderr[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[2537, 25000, 250000, 1000000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--skip-statsmodels", action="store_true")
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--statsmodels-timeout", type=float, default=300)
    parser.add_argument("--r-max", type=int, default=25000, help="largest panel given to R")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child[0], int(args.child[1]))))
        return
    load_before = os.getloadavg()[0]
    rows = [child("famtrial-compile", 2537, 600) | {"tool": "famtrial (first call: numba compile)"}]
    for n in args.sizes:
        rows.append(child("famtrial", n, 1800))
        if not args.skip_statsmodels and n <= 2537:
            rows.append(child("statsmodels", n, args.statsmodels_timeout))
        if not args.skip_r and n <= args.r_max:
            r = run_r(n, 900)
            if r:
                rows.append(r)
    frame = pd.DataFrame(rows)
    ref = frame[frame["tool"] == "famtrial"].set_index("parents")["seconds"]
    frame["x famtrial"] = [s / ref.get(p, np.nan) if s else np.nan for s, p in zip(frame["seconds"], frame["parents"])]
    agree = []
    for _, row in frame.iterrows():
        base = frame[(frame["tool"] == "famtrial") & (frame["parents"] == row["parents"])]
        p = row.get("params")
        agree.append(
            np.nan
            if not isinstance(p, list) or base.empty
            else float(np.max(np.abs(np.array(p) - np.array(base["params"].iloc[0]))))
        )
    frame["max |coef - famtrial|"] = agree
    cols = ["tool", "parents", "rows", "seconds", "x famtrial", "peak_rss_mb", "max |coef - famtrial|", "note"]
    frame = frame.reindex(columns=cols)
    print(
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load_before:.2f} before / {os.getloadavg()[0]:.2f} after"
    )
    print(
        frame.to_markdown(index=False)
        if hasattr(frame, "to_markdown") and _has_tabulate()
        else frame.to_string(index=False)
    )


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
