"""Benchmark: the formula front end on a Dask DataFrame beside its peers, in one run.

    python benchmarks/bench_formula_dask.py --parents 100000 --months 12 --partitions 8

The panel (``--parents`` x ``--months`` rows: parent intercepts, two numeric regressors, a
time-varying 5-level categorical ``g``, offices as clusters) is made in memory, then persisted on a
``LocalCluster(n_workers=2, threads_per_worker=1)`` as ``--partitions`` blocks of whole parents.
Timed, each once after an untimed warm-up fit on a small panel (numba's cached kernel loaded):

- ``formula, in memory``: ``famtrial.clogit("y ~ x1 + x2 + C(g) + C(month) | parent", frame, vcov={"CRV1": "office"})``;
- ``formula, Dask``: the same call on the persisted Dask DataFrame (first pass + per-partition design + fit);
- ``columns, Dask``: its peer without the formula, ``famtrial.conditional_logit`` on a persisted
  Dask DataFrame already holding the dummy columns of ``g`` (``time_effects="month"``): the
  difference is what the formula layer costs.

Prints one JSON line with the times, the largest difference of the estimates from in memory, and
the load averages before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import pandas as pd


def make_panel(parents: int, months: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parent = np.repeat(np.arange(parents), months)
    n = len(parent)
    g = rng.choice(np.array(list("abcde"), dtype=object), n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    eta = rng.normal(0, 1.2, parents)[parent] + 0.5 * x1 - 0.3 * x2 + 0.2 * (g == "b")
    return pd.DataFrame(
        {
            "parent": parent,
            "month": np.tile(np.arange(months), parents),
            "office": rng.integers(0, 40, parents)[parent],
            "g": g,
            "x1": x1,
            "x2": x2,
            "y": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64),
        }
    )


def blocks(frame: pd.DataFrame, parents: int, n: int):  # type: ignore[no-untyped-def]
    import dask
    import dask.dataframe as dd

    cuts = np.linspace(0, parents, n + 1).astype(int) * (len(frame) // parents)
    pieces = [frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(lambda piece: piece, pieces, meta=frame.iloc[:0], enforce_metadata=False).persist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parents", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args()
    from distributed import Client, LocalCluster, wait

    import famtrial

    formula = "y ~ x1 + x2 + C(g) + C(month) | parent"
    load_before = os.getloadavg()
    with Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)) as client:
        small = make_panel(300, args.months)
        famtrial.clogit(formula, small, vcov={"CRV1": "office"})
        famtrial.clogit(formula, blocks(small, 300, 2), vcov={"CRV1": "office"})
        frame = make_panel(args.parents, args.months)
        ddf = blocks(frame, args.parents, args.partitions)
        dummies = frame.assign(**{f"C(g)[T.{v}]": (frame.g == v).astype(float) for v in "bcde"}).drop(columns="g")
        ddf_cols = blocks(dummies, args.parents, args.partitions)
        wait([ddf, ddf_cols])
        times = {}
        t = time.perf_counter()
        mem = famtrial.clogit(formula, frame, vcov={"CRV1": "office"})
        times["formula, in memory"] = time.perf_counter() - t
        t = time.perf_counter()
        dsk = famtrial.clogit(formula, ddf, vcov={"CRV1": "office"})
        times["formula, Dask"] = time.perf_counter() - t
        t = time.perf_counter()
        famtrial.conditional_logit(
            ddf_cols,
            "y",
            ["x1", "x2", *(f"C(g)[T.{v}]" for v in "bcde")],
            group="parent",
            cluster="office",
            time_effects="month",
        )
        times["columns, Dask"] = time.perf_counter() - t
        client.close()
    print(
        json.dumps(
            {
                "rows": len(frame),
                "partitions": args.partitions,
                "workers": "2 x 1 thread",
                "seconds": {k: round(v, 2) for k, v in times.items()},
                "max |params diff|": float(np.max(np.abs(mem.params - dsk.params))),
                "max |bse diff|": float(np.max(np.abs(mem.bse - dsk.bse))),
                "load average before": load_before,
                "load average after": os.getloadavg(),
            }
        )
    )


if __name__ == "__main__":
    main()
