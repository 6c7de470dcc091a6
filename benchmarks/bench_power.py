"""Cost per simulated trial of ``famtrial.simulation.power``, by stage, with R's clogit beside it.

One simulated trial of a design (default: ``data/synthetic/casework.toml``, 24 offices, about 3,000
persons x 60 months; the 0.25-on-parents rule leaves 20 offices) goes through:

1. ``simulate_panel``;
2. loading and the exclusion rule (``load_panel`` + ``analysis_sample``);
3. the primary fixed-effects logit (clustered by office), which gives the cluster z and t(G-1) tests;
4. the wild cluster score bootstrap (p-value, and again at the true value for coverage);
5. randomization inference with ``--ri-draws`` re-draws (each a refit).

Each stage is timed over ``--reps`` trials (medians), after one warm-up trial (numba kernels
loaded). Then ``power()`` end to end for ``--n-sims`` trials, serially and with ``--n-jobs``
processes, and serially for the ``--sources`` (a plan calibrated to its data, the replica's generator). The peer: R's ``survival::clogit(method = "exact")`` on the same
analysis panel (one fit; what a DeclareDesign-style loop in R would pay per trial for the model
alone; model-based SEs: survival's exact method has no robust variance), run in a fresh ``Rscript`` (skipped when Rscript or survival is absent).

    python benchmarks/bench_power.py                   # default: 5 reps, 19 re-draws, 20 trials, 2 jobs
    python benchmarks/bench_power.py --no-r --reps 3

Prints the load average before and after: the machine's state moves these numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from famtrial._paths import data_dir
from famtrial.simulation.design import load_design, simulate_panel
from famtrial.simulation.power import power

R_SCRIPT = r"""
suppressMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
f <- as.formula(args[2])
t0 <- proc.time()[["elapsed"]]
fit <- clogit(f, data = d, method = "exact")
t1 <- proc.time()[["elapsed"]]
cat(sprintf("%.4f %.8f %.8f\n", t1 - t0, coef(fit)[1], sqrt(diag(vcov(fit)))[1]))
"""


def _stages(design, outcome: str, threshold: float, unit: str, ri_draws: int, seed: int) -> dict[str, float]:
    from famtrial.data.load import load_panel
    from famtrial.inference.score_bootstrap import score_bootstrap
    from famtrial.plan.spec import Columns
    from famtrial.trial.effects import fe_design, fe_model
    from famtrial.trial.few_cluster import randomization_test
    from famtrial.trial.sample import analysis_sample

    cols = design.columns
    out = {}
    t = time.perf_counter()
    panel = simulate_panel(design, seed=seed)
    out["simulate_panel"] = time.perf_counter() - t
    t = time.perf_counter()
    data = panel.assign(**{cols.arm: (panel[cols.arm] == cols.arm_offered).astype(np.int8)})
    if cols.variant:
        data = data.drop(columns=cols.variant)
    roles = Columns(
        parent=cols.parent,
        family=cols.family,
        office=cols.office,
        month=cols.month,
        arm=cols.arm,
        model=None,
        outcomes=tuple(o.name for o in design.outcomes),
        time_varying=design.time_varying,
        time_invariant=design.time_invariant,
    )
    sample = analysis_sample(
        load_panel(data, roles, implementation=design.implementation, baseline=design.baseline),
        threshold=threshold,
        unit=unit,
    ).panel
    out["load + exclusion rule"] = time.perf_counter() - t
    t = time.perf_counter()
    fit = fe_model(sample, outcome)
    frame, regressors = fe_design(sample, outcome)
    out["FE logit (cluster z, t)"] = time.perf_counter() - t
    t = time.perf_counter()
    term = sample.plan.term("pooled")
    score_bootstrap(fit, term, frame[cols.office], conf_int=False, seed=seed)
    score_bootstrap(fit, term, frame[cols.office], null=0.2, conf_int=False, seed=seed)
    out["score bootstrap (p + coverage)"] = time.perf_counter() - t
    t = time.perf_counter()
    randomization_test(sample, outcome, n_perm=ri_draws, seed=seed, n_jobs=1, progress=False)
    out[f"randomization ({ri_draws} re-draws)"] = time.perf_counter() - t
    out["_frame"] = frame[[cols.parent, outcome, *regressors]]  # for R: the model's columns only
    out["_regs"] = regressors
    out["_rows"] = len(frame)
    out["_parents"] = int(sample.report.parents)
    out["_offices"] = int(sample.report.offices)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default=str(data_dir() / "synthetic" / "casework.toml"))
    parser.add_argument("--outcome", default="work")
    parser.add_argument("--threshold", type=float, default=0.25)
    parser.add_argument("--unit", default="parent")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--ri-draws", type=int, default=19)
    parser.add_argument("--n-sims", type=int, default=20)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument(
        "--sources",
        default="casework,replica",
        help="comma-separated power() sources timed end to end besides the design (plans, 'replica')",
    )
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()}")
    design = load_design(args.design)
    import numba

    numba.set_num_threads(1)  # as power() runs each trial (parallelism goes across trials)
    _stages(design, args.outcome, args.threshold, args.unit, args.ri_draws, seed=0)  # warm-up
    runs = [
        _stages(design, args.outcome, args.threshold, args.unit, args.ri_draws, seed=1 + r) for r in range(args.reps)
    ]
    keys = [k for k in runs[0] if not k.startswith("_")]
    med = {k: float(np.median([r[k] for r in runs])) for k in keys}
    last = runs[-1]
    print(
        f"\none trial: {last['_parents']:,} parents, {last['_rows']:,} rows in the analysis ({last['_offices']} "
        f"offices); median of {args.reps} trials, seconds"
    )
    print("| stage | seconds |\n|:---|---:|")
    for k in keys:
        print(f"| {k} | {med[k]:.3f} |")
    print(f"| total | {sum(med.values()):.3f} |")
    without_ri = sum(v for k, v in med.items() if not k.startswith("randomization"))
    print(f"| total without randomization inference | {without_ri:.3f} |")

    if not args.no_r and shutil.which("Rscript"):
        frame = last["_frame"]
        regs = last["_regs"]
        with tempfile.TemporaryDirectory() as tmp:
            csv, script = Path(tmp) / "panel.csv", Path(tmp) / "fit.R"
            frame.to_csv(csv, index=False)
            script.write_text(R_SCRIPT)
            # survival's exact method has no robust variance: model-based SEs, as in bench_clogit.py
            formula = f"{args.outcome} ~ {' + '.join(regs)} + strata({design.columns.parent})"
            times = []
            for _ in range(3):
                res = subprocess.run(["Rscript", str(script), str(csv), formula], capture_output=True, text=True)
                if res.returncode != 0:
                    print(f"R failed: {res.stderr.strip()[:300]}")
                    break
                times.append(float(res.stdout.split()[0]))
            if times:
                print(
                    f"\nR survival::clogit exact (model-based SE), same analysis panel, one fit: median of "
                    f"{len(times)} = {np.median(times):.3f} s (famtrial's FE stage above: "
                    f"{med['FE logit (cluster z, t)']:.3f} s)"
                )

    kw = dict(
        outcome=args.outcome,
        effect_or=1.2,
        n_sims=args.n_sims,
        seed=1,
        threshold=args.threshold,
        unit=args.unit,
        ri_draws=args.ri_draws,
        progress=False,
    )
    for jobs in (1, args.n_jobs):
        for tests in (("cluster_z", "t", "score_bootstrap"), ("cluster_z", "t", "score_bootstrap", "randomization")):
            t = time.perf_counter()
            power(design, tests=tests, n_jobs=jobs, **kw)
            dt = time.perf_counter() - t
            print(
                f"power(): {args.n_sims} trials, tests {'+'.join(tests)}, n_jobs={jobs}: {dt:.1f} s, "
                f"{dt / args.n_sims:.2f} s per trial"
            )
    # the other sources: a plan (calibrated to its data once per call, then its rule and primary model) and the
    # replica's generator (the size study's path); serial, three tests
    for source in [s for s in args.sources.split(",") if s]:
        t = time.perf_counter()
        res = power(
            source,
            effect_or=1.2,
            n_sims=args.n_sims,
            seed=1,
            tests=("cluster_z", "t", "score_bootstrap"),
            n_jobs=1,
            progress=False,
        )
        dt = time.perf_counter() - t
        print(
            f"power({source!r}): {args.n_sims} trials, outcome {res.outcome}, cluster_z+t+score_bootstrap, n_jobs=1: "
            f"{dt:.1f} s in all, {res.elapsed / args.n_sims:.2f} s per trial (set-up, incl. calibration: "
            f"{dt - res.elapsed:.1f} s)"
        )
    print(f"\nload average after: {os.getloadavg()}; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
