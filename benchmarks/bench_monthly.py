"""Benchmark: ``monthly_effects`` against a plain statsmodels loop, on the synthetic replica.

    python benchmarks/bench_monthly.py                      # this checkout
    python benchmarks/bench_monthly.py --before /path/src   # also an older famtrial (a child process)

The workload is the paper's Figure 2: 27 post-implementation months of the analysis sample (2,537
parents, 14 offices), one logit a month of activation on the offer and three baseline controls,
clustered by office. famtrial's time is the whole ``monthly_effects`` call: the 27 logits with
Stata's cluster-robust SE, Holm and Benjamini-Hochberg p-values and the sup-t band (all 8,192
sign vectors of 14 offices). The peer is the loop a statsmodels user writes: for each month
``sm.Logit(y, X).fit(cov_type="cluster")`` on that month's rows after one merge of the baseline
values, then ``multipletests`` for Holm and BH (no band: statsmodels has none). Both run in one
process, alternated, each timed ``--repeats`` times after a warm-up (median reported); the
maximum difference between the two tools' odds ratios and SEs is printed. ``--before`` times
``monthly_effects`` of another famtrial source tree in a child process on the same data.
``OPENBLAS_NUM_THREADS=1`` is set before numpy loads (both tools' matrices are tiny).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def load():
    from famtrial.data.load import load_panel
    from famtrial.pipeline import default_panel_path
    from famtrial.trial.sample import analysis_sample

    return analysis_sample(load_panel(default_panel_path())).panel


def famtrial_run(panel):
    from famtrial.trial.monthly import monthly_effects

    return monthly_effects(panel, "activation", progress=False)


def statsmodels_run(panel):
    import numpy as np
    import statsmodels.api as sm
    from statsmodels.stats.multitest import multipletests

    d = panel.data
    controls = ["reduced_work_capacity", "activation", "employed"]
    base = d.loc[d["month"] == panel.baseline, ["parent_id", *controls]].rename(columns={c: f"{c}_b" for c in controls})
    data = d.loc[d["month"] >= panel.implementation, ["parent_id", "office", "month", "arm", "activation"]].merge(
        base, on="parent_id"
    )
    out = []
    for month, cross in data.groupby("month"):
        cols = ["arm", "reduced_work_capacity_b", "employed_b"] + (["activation_b"] if month != panel.baseline else [])
        x = sm.add_constant(cross[cols].to_numpy(float))
        fit = sm.Logit(cross["activation"].to_numpy(float), x).fit(
            disp=0, cov_type="cluster", cov_kwds={"groups": cross["office"].to_numpy()}
        )
        out.append((str(month), fit.params[1], fit.bse[1], fit.pvalues[1]))
    p = np.array([o[3] for o in out])
    multipletests(p, method="holm")
    multipletests(p, method="fdr_bh")
    return out


def timed(fn, panel, repeats):
    fn(panel)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(panel)
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2], times


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--before", help="src folder of another famtrial, timed in a child process")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    panel = load()
    if args.child:
        median, _ = timed(famtrial_run, panel, args.repeats)
        print(f"{median:.4f}")
        return
    import numpy as np

    print(f"load average before: {os.getloadavg()}")
    med_f, med_s, all_f, all_s = [], [], [], []
    for _ in range(2):  # alternate the tools
        m, t = timed(famtrial_run, panel, args.repeats)
        med_f.append(m)
        all_f += t
        m, t = timed(statsmodels_run, panel, args.repeats)
        med_s.append(m)
        all_s += t
    f, s = float(np.median(all_f)), float(np.median(all_s))
    eff = famtrial_run(panel).frame.set_index("month")
    peer = {m: (b, se) for m, b, se, _ in statsmodels_run(panel)}
    d_or = max(abs(eff.loc[m, "or"] - np.exp(b)) for m, (b, _) in peer.items())
    # statsmodels' cluster SE carries (N-1)/(N-K) beyond Stata's G/(G-1) (famtrial's adjustment="statsmodels")
    d_se = max(abs(eff.loc[m, "se_coef"] / se - 1) for m, (_, se) in peer.items())
    print(f"famtrial monthly_effects (27 logits, cluster SE, Holm/BH, sup-t band): {f:.4f} s (median of {len(all_f)})")
    print(f"statsmodels loop (27 logits, cluster SE, Holm/BH):                     {s:.4f} s (median of {len(all_s)})")
    print(
        f"statsmodels / famtrial: {s / f:.1f}x; max |OR difference| {d_or:.1e}, SEs within {d_se:.1e} relative (the (N-1)/(N-K) factor)"
    )
    if args.before:
        env = {**os.environ, "PYTHONPATH": args.before}
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        print(f"famtrial from {args.before}: {float(out):.4f} s ({float(out) / f:.1f}x this checkout's time)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
