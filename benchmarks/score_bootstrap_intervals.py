"""Every shipped plan's score-bootstrap tests (p-value, statistic, interval) with their restricted-fit count and time.

    python benchmarks/score_bootstrap_intervals.py OUT.json   # write the outputs
    python benchmarks/score_bootstrap_intervals.py OUT.json --compare BEFORE.json   # and compare

Issue 30b: the interval's search was made cheaper; this records the tests of both shipped plans (the
inference models of ``nct03102775`` and ``casework``, the plans' own bootstrap weights and seed) so the
outputs before and after the change can be compared: p-values and statistics exactly, interval ends to
the search tolerance ``1e-4 * se`` (``se`` the larger of the model-based and the fit's standard error).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from famtrial.data.load import load_panel
from famtrial.inference import score_bootstrap as sb_module
from famtrial.pipeline import default_panel_path
from famtrial.plan.spec import load_plan
from famtrial.trial.effects import fe_design, fit_plan_model
from famtrial.trial.few_cluster import _inference_models
from famtrial.trial.sample import analysis_sample

SEED = 20161001


def run() -> dict[str, dict[str, object]]:
    """Each plan model's tests, keyed ``plan/model/term``."""
    out: dict[str, dict[str, object]] = {}
    fits = {"n": 0}
    original = sb_module._restricted

    def counted(*args: object, **kwargs: object) -> object:
        fits["n"] += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    sb_module._restricted = counted  # type: ignore[assignment]
    for name in ("nct03102775", "casework"):
        plan = load_plan(name)
        panel = analysis_sample(load_panel(default_panel_path(plan), plan)).panel
        for model in _inference_models(plan, None):
            spec = plan.model(model)
            fit = fit_plan_model(panel, spec)
            frame, _ = fe_design(panel, spec.outcome, split=spec.split, trend=spec.time, covariates=spec.covariates)
            for term in [t for t in fit.params.index if t in plan.treatment_terms]:
                fits["n"] = 0
                t0 = time.perf_counter()
                res = sb_module.score_bootstrap(
                    fit, term, frame[panel.columns.office], weights=plan.bootstrap_weights, seed=SEED
                )
                secs = time.perf_counter() - t0
                se = max(
                    float(np.sqrt(np.linalg.inv(-fit.model.derivatives(fit.params.to_numpy())[2])[term_j(fit, term)])),
                    float(fit.bse[term]),
                )
                assert res.conf_int is not None
                out[f"{name}/{model}/{term}"] = {
                    "pvalue": res.pvalue,
                    "statistic": res.statistic,
                    "ci_low": res.conf_int[0],
                    "ci_high": res.conf_int[1],
                    "se": se,
                    "restricted_fits": fits["n"],
                    "seconds": round(secs, 3),
                }
                print(name, model, term, out[f"{name}/{model}/{term}"], flush=True)
    return out


def term_j(fit: object, term: str) -> tuple[int, int]:
    """The diagonal index of ``term``."""
    j = list(fit.params.index).index(term)  # type: ignore[attr-defined]
    return (j, j)


def compare(after: dict[str, dict[str, object]], before: dict[str, dict[str, object]]) -> bool:
    """Exact p-values and statistics, interval ends within ``1e-4 * se``; prints each difference."""
    ok = after.keys() == before.keys()
    for key, b in before.items():
        a = after[key]
        tol = 1e-4 * float(b["se"])  # type: ignore[arg-type]
        same = a["pvalue"] == b["pvalue"] and a["statistic"] == b["statistic"]
        dlo = abs(float(a["ci_low"]) - float(b["ci_low"]))  # type: ignore[arg-type]
        dhi = abs(float(a["ci_high"]) - float(b["ci_high"]))  # type: ignore[arg-type]
        good = same and dlo <= tol and dhi <= tol
        ok &= good
        print(
            f"{key}: p {'same' if same else 'DIFFERENT'}; |d low| {dlo:.2e}, |d high| {dhi:.2e} "
            f"(tolerance {tol:.2e}); fits {b['restricted_fits']} -> {a['restricted_fits']}, "
            f"{b['seconds']} s -> {a['seconds']} s {'ok' if good else 'FAIL'}"
        )
    return ok


if __name__ == "__main__":
    result = run()
    with open(sys.argv[1], "w") as fh:
        json.dump(result, fh, indent=1)
    if "--compare" in sys.argv:
        with open(sys.argv[sys.argv.index("--compare") + 1]) as fh:
            sys.exit(0 if compare(result, json.load(fh)) else 1)
