"""The trial's specifications: treatment indicators, the fixed-effects Models 1-4 (Tables 5 and 6).

This layer knows the trial (arms, coordinated models, implementation month) and calls the
numerical layer (:mod:`famtrial.models`) with plain columns; it does no numerics itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from famtrial.models.clogit import ConditionalLogitResults, conditional_logit
from famtrial.panel import Panel
from famtrial.tables import Table, stars

__all__ = ["treatment_indicators", "fe_design", "fe_model", "paper_models", "compare_models", "fe_numbers", "PAPER_MODELS"]

Trend = Literal["linear", "months", "none"]
_TRENDS = ("linear", "months", "none")

#: The paper's four fixed-effects models: (table, outcome, split by coordinated model).
PAPER_MODELS: dict[str, tuple[str, str, bool]] = {
    "model1": ("table5", "activation", False),
    "model2": ("table5", "activation", True),
    "model3": ("table6", "employed", False),
    "model4": ("table6", "employed", True),
}

#: Row labels as printed in Tables 5 and 6.
TERM_LABELS = {
    "coordinator_pooled": "Family coordinator (pooled)",
    "coordinator_local": "Family coordinator",
    "coordinator_holf": "Family coordinator and HOLF",
    "n_children": "Nr of children",
    "married": "Married",
    "reduced_work_capacity": "Reduced work capacity",
}


def treatment_indicators(panel: Panel, *, split: bool = False) -> pd.DataFrame:
    """Treatment switched on from the implementation month (or a per-parent start month) for the offered arm.

    ``coordinator_pooled = arm * 1[month >= start]``; with ``split=True`` it is split by the
    office's coordinated model into ``coordinator_local`` and ``coordinator_holf``. ``start`` is
    ``panel.implementation`` unless ``panel.columns.start`` names a per-parent start-month column
    (a missing start month means never treated).
    """
    cols, data = panel.columns, panel.data
    month = data[cols.month]
    if cols.start is not None:
        start = data[cols.start]
        post = (month >= start).fillna(False).to_numpy(dtype=bool) & start.notna().to_numpy()
    else:
        post = (month >= panel.implementation).to_numpy(dtype=bool)
    treat = (data[cols.arm].to_numpy() == 1) & post
    if not split:
        return pd.DataFrame({"coordinator_pooled": treat.astype(np.int8)}, index=data.index)
    if cols.model is None:
        raise ValueError("split=True needs the coordinated-model column: set Columns(model=...) when loading")
    model = data[cols.model].to_numpy()
    return pd.DataFrame({
        "coordinator_local": (treat & (model == "local")).astype(np.int8),
        "coordinator_holf": (treat & (model == "holf")).astype(np.int8),
    }, index=data.index)


def _trend_columns(panel: Panel, trend: Trend) -> pd.DataFrame:
    if trend not in _TRENDS:
        raise ValueError(f"trend={trend!r} is not one of {_TRENDS}")
    month = panel.data[panel.columns.month]
    ordinal = month.array.asi8  # months since 1970-01: integer arithmetic, no Period objects
    if trend == "linear":  # months since the panel's first month
        return pd.DataFrame({"trend": (ordinal - ordinal.min()).astype(float)}, index=panel.data.index)
    if trend == "months":
        dummies = pd.get_dummies(month.astype(str), prefix="month", dtype=np.int8)
        return dummies.iloc[:, 1:]
    return pd.DataFrame(index=panel.data.index)


def fe_design(panel: Panel, outcome: str, *, split: bool = False, trend: Trend = "linear",
              covariates: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The estimation frame of a fixed-effects model and its regressor names, in table order."""
    cols = panel.columns
    covariates = list(cols.time_varying if covariates is None else covariates)
    treat = treatment_indicators(panel, split=split)
    time = _trend_columns(panel, trend)
    frame = pd.concat([panel.data[[cols.parent, cols.office, outcome, *covariates]], treat, time], axis=1)
    return frame, [*treat.columns, *covariates, *time.columns]


def fe_model(panel: Panel, outcome: str, *, split: bool = False, trend: Trend = "linear",
             covariates: Sequence[str] | None = None, cluster: str | None = "office",
             t_reference: bool = False) -> ConditionalLogitResults:
    """Fixed-effects (conditional) logit of ``outcome`` on the treatment, time-varying covariates and trend.

    ``logit P(y_it = 1) = a_i + b * treat_it + x_it' g + f(t)`` with parent effects ``a_i``
    conditioned out; ``f(t)`` a linear trend (default) or month effects. Stata::

        clogit y treat n_children married reduced_work_capacity trend, group(parent) vce(cluster office) or
    """
    frame, regressors = fe_design(panel, outcome, split=split, trend=trend, covariates=covariates)
    cluster_col = panel.columns.office if cluster == "office" else cluster
    return conditional_logit(frame, outcome, regressors, group=panel.columns.parent, cluster=cluster_col,
                             t_reference=t_reference)


def paper_models(panel: Panel, *, trend: Trend = "linear", t_reference: bool = False,
                 outcomes: Mapping[str, str] | None = None) -> dict[str, ConditionalLogitResults]:
    """Fit Models 1-4 of Tables 5 and 6 on an analysis panel.

    ``outcomes`` maps the paper's outcome names (``activation``, ``employed``) to the panel's columns.
    """
    outcomes = dict(outcomes or {})
    return {name: fe_model(panel, outcomes.get(outcome, outcome), split=split, trend=trend, t_reference=t_reference)
            for name, (_, outcome, split) in PAPER_MODELS.items()}


def _fmt(value: float, digits: int) -> str:
    """Format as the paper prints: two decimals, no leading zero below 1 (``.90``, ``12.23``)."""
    if pd.isna(value):
        return ""
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def compare_models(results: Mapping[str, ConditionalLogitResults], *, title: str = "",
                   labels: Mapping[str, str] | None = None, hide: Sequence[str] = ("trend", "month_"),
                   n_parents: int | None = None, digits: int = 2, alpha: float = 0.05) -> Table:
    """Lay fixed-effects models side by side as Tables 5 and 6: OR (stars), robust SE, 95% CI.

    ``frame`` holds, per model, OR, SE, CI bounds, p for every term, and the pseudo R2, the
    number of parents used (groups with outcome variation) and ``n_parents`` (the sample's
    parents, as the paper's "n = 2537"). Terms starting with a ``hide`` prefix (the time trend)
    stay in ``frame`` but not in ``display``, as in the paper ("adjusted for the time trend").
    """
    labels = {**TERM_LABELS, **(labels or {})}
    terms: list[str] = []
    for res in results.values():
        terms += [t for t in res.params.index if t not in terms]
    terms.sort(key=lambda t: not t.startswith("coordinator_"))  # treatment rows first, as printed (stable)
    numeric, shown = {}, {}
    for name, res in results.items():
        odds = res.to_frame(alpha).reindex(terms)
        for field, src in (("or", "or"), ("se", "or_se"), ("ci_low", "or_ci_low"), ("ci_high", "or_ci_high"), ("p", "p")):
            numeric[(name, field)] = odds[src]
        fmt = lambda v: _fmt(v, digits)  # noqa: E731
        shown[(name, "OR")] = [("" if pd.isna(o) else fmt(o) + stars(p)) for o, p in zip(odds["or"], odds["p"])]
        shown[(name, "Robust SE" if res.cov_type != "nonrobust" else "SE")] = [fmt(v) for v in odds["or_se"]]
        shown[(name, f"{100 * (1 - alpha):g}% CI")] = [
            "" if pd.isna(lo) else f"({fmt(lo)}, {fmt(hi)})" for lo, hi in zip(odds["or_ci_low"], odds["or_ci_high"])]
    frame = pd.DataFrame(numeric, index=terms)
    display = pd.DataFrame(shown, index=terms)
    keep = [t for t in terms if not any(t.startswith(h) for h in hide)]
    display = display.loc[keep].rename(index=labels)
    extra = {"Pseudo R2": {(n, "OR"): _fmt(r.prsquared, digits) for n, r in results.items()},
             "Parents with outcome change": {(n, "OR"): f"{r.n_groups:,}" for n, r in results.items()}}
    if n_parents is not None:
        extra["n parents"] = {(n, "OR"): f"{n_parents:,}" for n in results}
    display = pd.concat([display, pd.DataFrame.from_dict(extra, orient="index")]).fillna("")
    display.columns = pd.MultiIndex.from_tuples(display.columns)
    display.columns = [f"{model} {col}" for model, col in display.columns]
    for name, res in results.items():
        frame.loc["pseudo_r2", (name, "or")] = res.prsquared
        frame.loc["n_groups", (name, "or")] = res.n_groups
    frame.columns = [f"{model}.{field}" for model, field in frame.columns]
    notes = ("Fixed-effects (conditional) logit, group = parent; odds ratios with cluster-robust SE "
             f"(clustered by office) and {100 * (1 - alpha):g}% CI; adjusted for the time trend. "
             "* p < .05, ** p < .01, *** p < .001.")
    return Table(frame=frame, display=display, title=title, notes=notes)


def fe_numbers(results: Mapping[str, ConditionalLogitResults]) -> dict[str, float]:
    """Reproduced numbers for ``famtrial verify``: ``table5.model1.<term>.or|se|ci_low|ci_high`` and ``pseudo_r2``."""
    out: dict[str, float] = {}
    for name, res in results.items():
        table = PAPER_MODELS[name][0]
        frame = res.to_frame()
        for term, row in frame.iterrows():
            for field, src in (("or", "or"), ("se", "or_se"), ("ci_low", "or_ci_low"), ("ci_high", "or_ci_high")):
                out[f"{table}.{name}.{term}.{field}"] = float(row[src])
        out[f"{table}.{name}.pseudo_r2"] = float(res.prsquared)
    return out
