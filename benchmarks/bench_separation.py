"""Benchmark: the cost of the separation checks in the conditional logit, peer beside the fit.

    python benchmarks/bench_separation.py [--parents 2537 25000]

For each panel (bench_clogit.py's: parents x 39 months, 5 regressors, offices as clusters) and in
one process, times (median of 7, after a warm-up that loads numba's cache):
  * the whole fit as shipped (``conditional_logit`` from the DataFrame, cluster-robust);
  * the same fit with the separation checks switched off (screen -> None, divergence test -> False);
  * the one-regressor screen and the divergence test alone;
  * the exact LP (``separation.direction``), which runs only when the fit signals divergence.
Load averages before and after are printed beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from bench_clogit import COVS, make_panel

from famtrial.models import clogit, separation
from famtrial.models.clogit import ConditionalLogit, conditional_logit


def median_ms(f, repeats: int = 7) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parents", type=int, nargs="+", default=[2537, 25000])
    args = parser.parse_args()
    print("load average before:", os.getloadavg())
    conditional_logit(make_panel(50), "y", COVS, group="parent", cluster="office")  # numba cache
    for n_parents in args.parents:
        data = make_panel(n_parents)
        fit = lambda: conditional_logit(data, "y", COVS, group="parent", cluster="office")  # noqa: E731
        shipped = median_ms(fit)
        screen, diverging = separation.screen, separation.diverging
        try:
            clogit.separation.screen = lambda *a: None
            clogit.separation.diverging = lambda *a: False
            bare = median_ms(fit)
        finally:
            clogit.separation.screen, clogit.separation.diverging = screen, diverging
        model = ConditionalLogit.from_frame(data, "y", COVS, "parent")
        b = model.fit().params.to_numpy()
        xt = np.ascontiguousarray(data[COVS].to_numpy(float).T)
        y = data["y"].to_numpy(np.int8)
        starts = np.r_[0, np.flatnonzero(np.diff(data["parent"].to_numpy())) + 1, len(data)]
        t_screen = median_ms(lambda: separation.screen(xt, y, starts, COVS))
        t_div = median_ms(lambda: separation.diverging(model._xt, b, model._y, model._lo, model._hi))
        t_lp = median_ms(lambda: separation.direction(model._xt, model._y, model._lo, model._hi), repeats=3)
        print(
            f"{n_parents:,} parents, {len(data):,} rows: fit {shipped:.1f} ms as shipped, {bare:.1f} ms without the "
            f"checks; screen {t_screen:.1f} ms, divergence test {t_div:.1f} ms; exact LP {t_lp:.0f} ms "
            "(only on a divergence signal)"
        )
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
