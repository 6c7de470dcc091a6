"""Size, power and coverage of four tests of the pooled effect with the trial's 14 offices (Monte Carlo).

Each replication is one simulation of ``famtrial.power()`` with the replica source (the default;
``famtrial.simulation.power.one_trial``): the same generator, seeds and analysis.

Data: the replica's data-generating process (``famtrial.simulation.replica.generate`` with the shipped
``replica.toml``: 29 offices, the 14 analysed after the one-third rule, families, parents x 39 months,
parent fixed-effects logit with office-level heterogeneity of the covariate slopes), with the
activation effect set per scenario (the month-specific ``path`` deviations switched off):

- ``null``: no effect for anyone (tau = 0; no office-level effects or office trends): the sharp null;
  rejection rate = size.
- ``effect``: a common effect tau = 0.25 (log odds): rejection of H0: b = 0 = power; non-rejection
  of H0: b = tau = coverage of the 95% interval (cluster z, t(G-1), score bootstrap).

By default every month, the baseline month included, follows the model (``force_baseline = false``).
``--forced-baseline`` keeps the shipped replica's baseline month instead, set to Table 3's counts per
arm: that month's arm imbalance (activation 17.4% vs 13.1%) is not a parent-level shift the fixed
effects absorb, so it biases the estimate and no test has its nominal size there.

Tests of Model 1 (conditional logit, linear trend, SE clustered by office), at 5%:
cluster-robust z (normal), the same z against t(G-1), the wild cluster score bootstrap (Rademacher,
all 2^14 sign vectors), and randomization inference (families re-drawn within office, robust z,
``--ri-draws`` re-draws; with R = 19 or 39 the test has exact size 5% in theory).

Run (a few minutes on 2 cores)::

    python benchmarks/size_study.py --reps 20 --ri-draws 19

More replications, in batches with their own seeds (each writes its CSV, so a long study can be
stopped and resumed), then one table from all the batch files::

    for i in $(seq 1 20); do
        python benchmarks/size_study.py --reps 100 --scenarios null --seed $i --out out/null_$i.csv
    done
    python benchmarks/size_study.py --from-csv out/null_*.csv out/effect_*.csv

Replications run in parallel across cores (``--n-jobs``) or on a Dask cluster (``--scheduler
tcp://host:8786``; each task carries only its seed and simulates its own panel, one numba thread per
task); each has its own seed (``SeedSequence(--seed).spawn``), so the results do not depend on the
number of processes or on the executor.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd
from scipy import stats

from famtrial._parallel import run_tasks
from famtrial.table import Table

TAU = 0.25
ALPHA = 0.05
LEVELS = (0.01, 0.05, 0.10)  # nominal levels at which rejection rates are reported


def one_replication(task: tuple[str, np.random.SeedSequence, int, bool]) -> dict:
    """Simulate one replica panel and return the four tests' p-values: one ``power()`` simulation.

    ``famtrial.simulation.power.one_trial(seed_seq, "replica", effect_or=exp(tau))`` is the
    simulation ``power(effect_or=exp(tau), seed=s)`` runs with the same seed sequence (same panel,
    same re-draws): the size study and ``power()`` share one code path. ``cover_*`` are 1 when the
    test does not reject the true tau at 5%.
    """
    from famtrial.simulation.power import TESTS, one_trial

    scenario, seed_seq, ri_draws, forced_baseline = task
    if forced_baseline:
        return _forced_baseline_replication(task)
    tau = 0.0 if scenario == "null" else TAU
    row = one_trial(seed_seq, "replica", effect_or=float(np.exp(tau)), tests=TESTS, alpha=ALPHA, ri_draws=ri_draws)
    if row.get("error"):
        raise RuntimeError(f"replication failed: {row['error']}")
    out = {
        "scenario": scenario,
        "coef": row["estimate"],
        "se": row["se"],
        "p_z": row["p_cluster_z"],
        "p_t": row["p_t"],
        "p_sb": row["p_score_bootstrap"],
        "p_ri": row["p_randomization"],
    }
    if tau != 0:
        out |= {"cover_z": row["cover_cluster_z"], "cover_t": row["cover_t"], "cover_sb": row["cover_score_bootstrap"]}
    return out


def _forced_baseline_replication(task: tuple[str, np.random.SeedSequence, int, bool]) -> dict:
    """``--forced-baseline``: the shipped replica's forced baseline month, outside ``power()``'s pure model."""
    from famtrial.data.load import load_panel
    from famtrial.inference.score_bootstrap import score_bootstrap, wald_t_pvalue
    from famtrial.simulation.replica import ReplicaConfig, generate
    from famtrial.trial.effects import fe_design, fe_model
    from famtrial.trial.few_cluster import randomization_test
    from famtrial.trial.sample import analysis_sample

    scenario, seed_seq, ri_draws, _ = task
    tau = 0.0 if scenario == "null" else TAU
    cfg = ReplicaConfig.load().with_outcome(
        "activation",
        tau_local=tau,
        tau_holf=tau,
        office_effect_sd_local=0.0,
        office_effect_sd_holf=0.0,
        office_sd_trend=0.0,
        path={},
    )
    cfg = dataclasses.replace(cfg, panel=cfg.panel | {"force_baseline": True})
    data_seed, ri_seed = (int(s.generate_state(1)[0]) for s in seed_seq.spawn(2))
    panel = analysis_sample(load_panel(generate(cfg, seed=data_seed))).panel
    fit = fe_model(panel, "activation")
    frame, _ = fe_design(panel, "activation")
    office = frame[panel.columns.office]
    term = "coordinator_pooled"
    out = {
        "scenario": scenario,
        "coef": fit.params[term],
        "se": fit.bse[term],
        "p_z": fit.pvalues[term],
        "p_t": wald_t_pvalue(fit, term),
        "p_sb": score_bootstrap(fit, term, office, conf_int=False).pvalue,
        "p_ri": randomization_test(panel, "activation", n_perm=ri_draws, seed=ri_seed, n_jobs=1, progress=False).pvalue,
    }
    if tau != 0:
        z_true = (fit.params[term] - tau) / fit.bse[term]
        out |= {
            "cover_z": float(abs(z_true) < stats.norm.isf(ALPHA / 2)),
            "cover_t": float(abs(z_true) < stats.t(fit.n_clusters - 1).isf(ALPHA / 2)),
            "cover_sb": float(score_bootstrap(fit, term, office, null=tau, conf_int=False).pvalue > ALPHA),
        }
    return out


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Rejection rates at 1%, 5% and 10% with Monte Carlo SEs, per scenario and test; 95% coverage."""
    rows = []
    for scenario, grp in results.groupby("scenario"):
        n = len(grp)
        for label, col in (
            ("cluster-robust z", "p_z"),
            ("z with t(G-1)", "p_t"),
            ("score bootstrap", "p_sb"),
            ("randomization inference", "p_ri"),
        ):
            row = {"scenario": scenario, "test": label, "replications": n}
            for level in LEVELS:
                rate = float((grp[col] <= level).mean())
                row |= {f"rejects_{level:g}": rate, f"mc_se_{level:g}": float(np.sqrt(rate * (1 - rate) / n))}
            cover = {"p_z": "cover_z", "p_t": "cover_t", "p_sb": "cover_sb"}.get(col)
            # cover_*: 1/0 (does not reject the true tau at 5%); CSVs of the earlier script hold that test's
            # p-value instead: "> ALPHA" reads both the same way
            if cover in grp and grp[cover].notna().any():
                c = float((grp[cover] > ALPHA).mean())
                row |= {"coverage_95": c, "coverage_mc_se": float(np.sqrt(c * (1 - c) / n))}
            rows.append(row)
    return pd.DataFrame(rows)


def report(results: pd.DataFrame, header: str, ri_draws: int) -> None:
    """Print the table, ``header``, and per scenario the estimates' mean and SD beside the mean SE."""
    print(as_table(summarise(results), ri_draws).to_markdown())
    print(f"\n{header}")
    print(
        "; ".join(
            f"{s}: mean estimate {g['coef'].mean():.4f}, SD {g['coef'].std():.4f}, "
            f"mean cluster-robust SE {g['se'].mean():.4f}"
            for s, g in results.groupby("scenario")
        )
    )


def as_table(summary: pd.DataFrame, ri_draws: int) -> Table:
    """The summary as a famtrial Table: rates in percent with Monte Carlo SEs."""
    pct = lambda v, se: "" if pd.isna(v) else f"{100 * v:.1f} ({100 * se:.1f})"  # noqa: E731
    display = pd.DataFrame(
        {"scenario": summary["scenario"], "test": summary["test"], "replications": summary["replications"].astype(str)}
    )
    for level in LEVELS:
        display[f"rejects H0: b = 0 at {100 * level:g}%, % (MC SE)"] = [
            pct(v, s) for v, s in zip(summary[f"rejects_{level:g}"], summary[f"mc_se_{level:g}"])
        ]
    nan = pd.Series(np.nan, summary.index)
    display["95% coverage of true b, % (MC SE)"] = [
        pct(v, s) for v, s in zip(summary.get("coverage_95", nan), summary.get("coverage_mc_se", nan))
    ]
    display.index = display.pop("scenario") + ": " + display.pop("test")
    return Table(
        frame=summary.set_index(["scenario", "test"]),
        display=display,
        title="Size, power and coverage with G = 14 offices (Model 1, replica DGP)",
        notes=f"null: no effect (size); effect: common tau = {TAU} (power, coverage). "
        f"Randomization inference with {ri_draws} re-draws per replication.",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="replications per scenario (default 20)")
    parser.add_argument("--ri-draws", type=int, default=19, help="randomization re-draws per replication (default 19)")
    parser.add_argument("--scenarios", default="null,effect", help="comma-separated: null, effect")
    parser.add_argument("--seed", type=int, default=20161001)
    parser.add_argument("--n-jobs", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument(
        "--scheduler",
        default=None,
        help='address of a Dask scheduler to run the replications on (pip install "famtrial[dask]")',
    )
    parser.add_argument("--out", default=None, help="CSV of per-replication p-values")
    parser.add_argument(
        "--forced-baseline",
        action="store_true",
        help="keep the shipped replica's baseline month (Table 3's counts per arm; biased, see above)",
    )
    parser.add_argument(
        "--from-csv",
        nargs="+",
        default=None,
        metavar="CSV",
        help="summarise these per-replication CSVs (from earlier --out runs) instead of simulating",
    )
    args = parser.parse_args(argv)
    if args.from_csv:
        # keep_default_na=False: pandas would read the scenario name "null" as a missing value
        results = pd.concat(
            [pd.read_csv(f, keep_default_na=False, na_values=[""]) for f in args.from_csv], ignore_index=True
        )
        report(
            results,
            f"{len(results)} replications from {len(args.from_csv)} files; RI re-draws per "
            f"replication: {args.ri_draws} (as given by --ri-draws)",
            args.ri_draws,
        )
        return 0
    scenarios = args.scenarios.split(",")
    bad = sorted(set(scenarios) - {"null", "effect"})
    if bad:
        parser.error(f"unknown scenario(s) {bad}")
    root = np.random.SeedSequence(args.seed)
    tasks = [
        (sc, ss, args.ri_draws, args.forced_baseline)
        for sc, child in zip(scenarios, root.spawn(len(scenarios)))
        for ss in child.spawn(args.reps)
    ]
    client = None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError:
            parser.error('--scheduler needs dask: pip install "famtrial[dask]"')
        client = Client(args.scheduler)
    start = time.perf_counter()
    results = pd.DataFrame(
        run_tasks(one_replication, tasks, n_jobs=args.n_jobs, client=client, progress=True, desc="size study")
    )
    elapsed = time.perf_counter() - start
    if args.out:
        results.to_csv(args.out, index=False)
    report(
        results,
        f"{len(results)} replications in {elapsed:.0f} s; RI re-draws per replication: {args.ri_draws}",
        args.ri_draws,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
