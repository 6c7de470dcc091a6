"""Size and power of randomization inference with the score and the Wald statistic (issue 30), replica DGP.

Each replication simulates one replica panel (``famtrial.simulation.replica.generate`` with the shipped
``replica.toml``; 29 offices, the 14 analysed after the one-third rule; every month follows the model)
and runs :func:`famtrial.randomization_test` on Model 1 (conditional logit, linear trend, covariates)
twice with the same seed, hence the same re-draws: ``statistic="score"`` (one restricted fit) and
``statistic="wald"`` (a refit per re-draw). Scenarios for the activation outcome (log odds):

- ``null``: no effect for anyone (sharp null): rejection rate = size;
- ``weak``: effects of opposite sign by variant (+0.3 local, -0.3 holf): no sharp null, the pooled
  effect about 0 (the weak null; neither test is exact here);
- ``effect``: a common effect tau = 0.25: rejection rate = power;
- ``small``: a common effect tau = 0.1 (power below 1, where the statistics can differ).

Rejection rates at 5% and 10% with Monte Carlo SEs ``sqrt(r (1 - r) / n)``. Run::

    python benchmarks/ri_statistic_study.py --reps 30 --ri-draws 99 --out benchmarks/logs/ri_statistic_study.csv
    python benchmarks/ri_statistic_study.py --reps 40 --ri-draws 19 --scenarios null small --seed 31 \
        --out benchmarks/logs/ri_statistic_study_2.csv
    python benchmarks/ri_statistic_study.py --from-csv benchmarks/logs/ri_statistic_study*.csv
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

SCENARIOS = {"null": (0.0, 0.0), "weak": (0.3, -0.3), "effect": (0.25, 0.25), "small": (0.1, 0.1)}


def one(scenario: str, seed: np.random.SeedSequence, ri_draws: int) -> dict:
    """One replication: a simulated panel and both statistics' randomization p-values (same re-draws)."""
    from famtrial.data.load import load_panel
    from famtrial.simulation.replica import ReplicaConfig, generate
    from famtrial.trial.few_cluster import randomization_test
    from famtrial.trial.sample import analysis_sample

    local, holf = SCENARIOS[scenario]
    cfg = ReplicaConfig.load().with_outcome(
        "activation",
        tau_local=local,
        tau_holf=holf,
        office_effect_sd_local=0.0,
        office_effect_sd_holf=0.0,
        office_sd_trend=0.0,
        path={},
    )
    data_seed, ri_seed = (int(s.generate_state(1)[0]) for s in seed.spawn(2))
    panel = analysis_sample(load_panel(generate(cfg, seed=data_seed))).panel
    row: dict = {"scenario": scenario}
    for statistic in ("score", "wald"):
        t = time.perf_counter()
        res = randomization_test(
            panel, "activation", statistic=statistic, n_perm=ri_draws, seed=ri_seed, n_jobs=1, progress=False
        )
        row |= {
            f"p_{statistic}": res.pvalue,
            f"t_{statistic}": res.observed,
            f"sec_{statistic}": time.perf_counter() - t,
        }
    return row


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Rejection rates with Monte Carlo SEs per scenario and statistic, and the mean seconds per test."""
    rows = []
    for (scenario, grp), stat in ((g, s) for g in frame.groupby("scenario") for s in ("score", "wald")):
        n = len(grp)
        row = {"scenario": scenario, "statistic": stat, "replications": n}
        for level in (0.05, 0.10):
            r = float((grp[f"p_{stat}"] <= level).mean())
            row |= {f"reject_{level:g}": r, f"mc_se_{level:g}": float(np.sqrt(r * (1 - r) / n))}
        row["seconds"] = float(grp[f"sec_{stat}"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--ri-draws", type=int, default=99)
    parser.add_argument("--seed", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/logs/ri_statistic_study.csv"))
    parser.add_argument("--from-csv", type=Path, nargs="*")
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS), choices=list(SCENARIOS))
    args = parser.parse_args()
    if args.from_csv:
        frame = pd.concat([pd.read_csv(p, keep_default_na=False) for p in args.from_csv])  # "null" is a scenario
    else:
        print(f"load average at start: {os.getloadavg()}", flush=True)
        rows = []
        chosen = args.scenarios
        seeds = np.random.SeedSequence(args.seed).spawn(args.reps * len(chosen))
        tasks = [(s, seeds[i * len(chosen) + k]) for i in range(args.reps) for k, s in enumerate(chosen)]
        for scenario, seed in tasks:
            rows.append(one(scenario, seed, args.ri_draws))
            pd.DataFrame(rows).to_csv(args.out, index=False)
            print(rows[-1], flush=True)
        frame = pd.DataFrame(rows)
        print(f"load average at end: {os.getloadavg()}", flush=True)
    print(summarise(frame).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
