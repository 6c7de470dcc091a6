"""Issue 30's timings in one run, with the 1-minute load average recorded around each measurement.

    python benchmarks/bench_issue30.py > benchmarks/logs/issue30.log

1. **999 re-draws of Model 1** (activation, pooled treatment, linear trend; the default statistic,
   ``"score"``) in a warm process: ``randomization_test`` timed around the call (the panel loaded first,
   one warm-up call of 9 re-draws; wall and CPU seconds of the process: on a shared machine the CPU
   seconds are what the call costs, the wall seconds what the load let it have); also Model 1 with month effects and a month's logit, and 99 Wald
   re-draws for comparison (a refit each).
2. **Warm ``famtrial reproduce``** of both shipped plans, default inference settings, against
   ``--skip-inference``: fresh processes with numba's cache filled (a warm-up run first, not timed).
3. **First run**: the whole process of "import famtrial, load the replica, fit Model 1" with an empty
   numba cache (``NUMBA_CACHE_DIR`` a new folder: every kernel compiled) and again with that cache
   filled, and the in-process second fit.
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


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(args: list[str], env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(
        args, env={**os.environ, "PYTHONPATH": SRC, **(env or {})}, capture_output=True, text=True, check=True
    )
    return time.perf_counter() - t, out.stdout


def main() -> None:
    print(f"cores {os.cpu_count()}; {load()}", flush=True)
    print("\n1. randomization inference in a warm process", flush=True)
    print(f"   before: {load()}", flush=True)
    _, out = run([sys.executable, "-c", RI])
    print("   " + out.strip().replace("\n", "\n   "))
    print(f"   after: {load()}", flush=True)
    if "--ri-only" in sys.argv:
        return

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

    print("\n3. first run: whole process, import + load + first fit (s), first fit, in-process second fit", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        before = load()
        cold, out_cold = run([sys.executable, "-c", FIRST], {"NUMBA_CACHE_DIR": cache})
        warm, out_warm = run([sys.executable, "-c", FIRST], {"NUMBA_CACHE_DIR": cache})
        print(f"   empty cache: process {cold:.2f} s (inside: {out_cold.strip()}) ({before})")
        print(f"   filled cache: process {warm:.2f} s (inside: {out_warm.strip()}) ({load()})")
        print(f"   ratio {cold / warm:.2f}", flush=True)


if __name__ == "__main__":
    main()
