"""Issue 30's timings in one run, with the 1-minute load average recorded around each measurement.

    python benchmarks/bench_issue30.py > benchmarks/logs/issue30.log
    python benchmarks/bench_issue30.py --sections 2,3 > benchmarks/logs/issue30b.log   # only some sections


1. **999 re-draws of Model 1** (activation, pooled treatment, linear trend; the default statistic,
   ``"score"``) in a warm process: ``randomization_test`` timed around the call (the panel loaded first,
   one warm-up call of 9 re-draws; wall and CPU seconds of the process: on a shared machine the CPU
   seconds are what the call costs, the wall seconds what the load let it have); also Model 1 with month effects and a month's logit, and 99 Wald
   re-draws for comparison (a refit each).
2. **Warm ``famtrial reproduce``** of both shipped plans, default inference settings, against
   ``--skip-inference``: fresh processes with numba's cache filled (a warm-up run first, not timed).
3. **First run**: the whole process of "import famtrial, load the replica, fit Model 1" with an empty
   numba cache (``NUMBA_CACHE_DIR`` a new folder: every kernel compiled) and again with that cache
   filled, and the in-process second fit; each kernel's compile time in the empty-cache process (numba's
   ``numba:compile`` events) and the import time of the fit's heaviest modules (``python -X importtime``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")

RI = """
import time
from famtrial.data.load import load_panel
from famtrial.pipeline import default_panel_path
from famtrial.trial.sample import analysis_sample
from famtrial.trial.few_cluster import randomization_test
panel = analysis_sample(load_panel(default_panel_path())).panel
randomization_test(panel, "activation", n_perm=9, progress=False)
for label, kw in (
    ("Model 1, score, R = 999", dict(n_perm=999)),
    ("Model 1 with month effects, score, R = 999", dict(n_perm=999, trend="months")),
    ("logit of 2017-06, score, R = 999", dict(n_perm=999, kind="monthly", month="2017-06")),
    ("Model 1, wald, R = 99 (threads)", dict(n_perm=99, statistic="wald")),
):
    t, cpu = time.perf_counter(), time.process_time()
    r = randomization_test(panel, "activation", progress=False, **kw)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"{label}: {wall:.3f} s wall, {cpu:.3f} s CPU, p = {r.pvalue:.4f}, observed {r.observed:.4f}", flush=True)
"""

FIRST = """
import time
t0 = time.perf_counter()
import famtrial
from famtrial.data.load import load_panel
from famtrial.pipeline import default_panel_path
from famtrial.trial.sample import analysis_sample
from famtrial.trial.effects import fe_model
panel = analysis_sample(load_panel(default_panel_path())).panel
t1 = time.perf_counter()
fe_model(panel, "activation")
t2 = time.perf_counter()
fe_model(panel, "activation")
t3 = time.perf_counter()
print(f"{t2 - t0:.3f} {t2 - t1:.3f} {t3 - t2:.3f}")
"""

#: FIRST with each numba kernel's compile time printed (to stderr) as it finishes.
COMPILES = (
    """
import sys, time
from numba.core import event
class Timer(event.Listener):
    started = {}
    def on_start(self, e):
        self.started[id(e.data["dispatcher"])] = time.perf_counter()
    def on_end(self, e):
        f = e.data["dispatcher"].py_func
        if f.__module__.startswith("famtrial"):
            took = time.perf_counter() - self.started[id(e.data["dispatcher"])]
            print(f"compiled {f.__module__}.{f.__name__}: {took:.2f} s", file=sys.stderr)
event.register("numba:compile", Timer())
"""
    + FIRST
)


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(args: list[str], env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(
        args, env={**os.environ, "PYTHONPATH": SRC, **(env or {})}, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t, out.stdout


def sections() -> set[str]:
    """The sections asked for with ``--sections 1,2,3`` (all by default; ``--ri-only`` is section 1)."""
    if "--ri-only" in sys.argv:
        return {"1"}
    if "--sections" in sys.argv:
        return set(sys.argv[sys.argv.index("--sections") + 1].split(","))
    return {"1", "2", "3"}


def main() -> None:
    wanted = sections()
    print(f"cores {os.cpu_count()}; {load()}", flush=True)
    if "1" in wanted:
        ri()
    if "2" in wanted:
        reproduce()
    if "3" in wanted:
        first_run()


def ri() -> None:
    """Section 1: re-draws in a warm process."""
    print("\n1. randomization inference in a warm process", flush=True)
    print(f"   before: {load()}", flush=True)
    _, out = run([sys.executable, "-c", RI])
    print("   " + out.strip().replace("\n", "\n   "))
    print(f"   after: {load()}", flush=True)


def reproduce() -> None:
    """Section 2: warm reproduce against --skip-inference."""
    print("\n2. warm famtrial reproduce (fresh processes, numba cache filled)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for plan in ("nct03102775", "casework"):
            base = [sys.executable, "-m", "famtrial", "reproduce", "--plan", plan, "--quiet"]
            run([*base, "--out", f"{tmp}/warm"])  # warm-up
            before = load()
            full, _ = run([*base, "--out", f"{tmp}/{plan}"])
            skip, _ = run([*base, "--out", f"{tmp}/{plan}_skip", "--skip-inference"])
            print(
                f"   {plan}: default {full:.2f} s, --skip-inference {skip:.2f} s, ratio {full / skip:.2f} "
                f"({before}; after {load()})",
                flush=True,
            )


def first_run() -> None:
    """Section 3: a fresh process's first fit, empty and filled numba cache; compile and import times."""
    print("\n3. first run: whole process, import + load + first fit (s), first fit, in-process second fit", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        before = load()
        cold, out_cold = run([sys.executable, "-c", FIRST], {"NUMBA_CACHE_DIR": cache})
        warm, out_warm = run([sys.executable, "-c", FIRST], {"NUMBA_CACHE_DIR": cache})
        print(f"   empty cache: process {cold:.2f} s (inside: {out_cold.strip()}) ({before})")
        print(f"   filled cache: process {warm:.2f} s (inside: {out_warm.strip()}) ({load()})")
        print(f"   ratio {cold / warm:.2f}", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPATH": SRC, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", COMPILES], env=env, capture_output=True, text=True, check=True)
        print(f"   empty cache, each kernel's compile time ({load()}):")
        for line in out.stderr.splitlines():
            if line.startswith("compiled"):
                print(f"     {line}")
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", FIRST], env=env, capture_output=True, text=True, check=True
        )
        rows = [line.split("|") for line in out.stderr.splitlines() if line.startswith("import time:")]
        cumulative = {r[2].strip(): int(r[1]) / 1e6 for r in rows[1:] if len(r) == 3}
        print(f"   filled cache, cumulative import time of the fit's modules ({load()}):")
        for name in (
            "famtrial",
            "famtrial.data.load",
            "famtrial.trial.effects",
            "famtrial.models.clogit",
            "pandas",
            "numba",
            "scipy.stats",
            "scipy.optimize",
            "statsmodels.api",
            "linearmodels",
            "matplotlib.pyplot",
        ):
            if name in cumulative:
                print(f"     {name}: {cumulative[name]:.2f} s")
        print(
            f"     (not imported on this path: {', '.join(n for n in ('statsmodels.api', 'linearmodels', 'matplotlib.pyplot') if n not in cumulative) or 'none'})",
            flush=True,
        )


if __name__ == "__main__":
    main()
