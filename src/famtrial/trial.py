"""The plan's fixed-effects models: treatment indicators, estimation frames, fits and their tables.

This layer reads the trial from the panel's analysis plan (arms, variants, implementation month,
the models' outcomes, covariates, time adjustment and cluster) and calls the numerical layer
(:mod:`famtrial.models`) with plain columns; it does no numerics itself. Term names come from the
plan's treatment name (``<name>_pooled``, ``<name>_<variant>``); row labels from its labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from famtrial.models.base import ModelResults
from famtrial.models.clogit import ConditionalLogitResults, conditional_logit
from famtrial.panel import Panel, PanelError
from famtrial.plan import FEModel, Plan, PlanError
from famtrial.tables import Table, stars

__all__ = ["treatment_indicators", "fe_design", "fe_model", "fe_models", "paper_models", "compare_models",
           "fe_numbers", "model_tables"]

Trend = Literal["linear", "months", "none"]
_TRENDS = ("linear", "months", "none")
_HIDDEN = ("trend",)


def _need_bool(value: object, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False")


def _need_names(value: object, what: str) -> list[Any]:
    """A list of names; a bare string, a mapping or a non-iterable is an error naming the argument."""
    if isinstance(value, str):
        raise TypeError(f"{what} must be a list of names, not the string {value!r} (write [{value!r}])")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of names, not {type(value).__name__}")
    return list(value)


def _need_panel(panel: object, where: str) -> Panel:
    if not isinstance(panel, Panel):
        hint = " (load it with famtrial.load_panel(data, plan))" if isinstance(panel, pd.DataFrame) else ""
        raise TypeError(f"{where} needs a famtrial Panel, not {type(panel).__name__}{hint}")
    return panel


def treatment_indicators(panel: Panel, *, split: bool = False) -> pd.DataFrame:
    """Treatment switched on from the implementation month (or a per-parent start month) for the offered arm.

    ``<treatment>_pooled = arm * 1[month >= start]``; with ``split=True`` one column per variant
    of the plan, ``<treatment>_<variant> = arm * 1[variant] * 1[month >= start]``. ``start`` is the
    plan's implementation month unless the plan names a per-parent start-month column (a missing
    start month means never treated).
    """
    panel = _need_panel(panel, "treatment_indicators")
    _need_bool(split, "split")
    plan, cols, data = panel.plan, panel.columns, panel.data
    month = data[cols.month]
    if cols.start is not None:
        start = data[cols.start]
        post = (month >= start).fillna(False).to_numpy(dtype=bool) & start.notna().to_numpy()
    else:
        post = (month >= panel.implementation).to_numpy(dtype=bool)
    treat = (data[cols.arm].to_numpy() == 1) & post
    if not split:
        return pd.DataFrame({plan.term("pooled"): treat.astype(np.int8)}, index=data.index)
    if cols.model is None or not plan.variants:
        raise PlanError(f"split=True needs the offer's variants: the plan {plan.name!r} declares no variant column "
                        "and [variants.levels]")
    variant = data[cols.model].to_numpy()
    return pd.DataFrame({plan.term(v.name): (treat & (variant == v.name)).astype(np.int8) for v in plan.variants},
                        index=data.index)


def _trend_columns(panel: Panel, trend: Trend, first: int | None = None) -> pd.DataFrame:
    """The trend column (``"linear"``: months since ``first``, the ordinal of the panel's first month by default)."""
    if trend not in _TRENDS:
        raise ValueError(f"trend={trend!r} is not one of {_TRENDS}")
    month = panel.data[panel.columns.month]
    ordinal = month.array.asi8  # months since 1970-01: integer arithmetic, no Period objects
    if trend == "linear":  # months since the panel's first month
        origin = ordinal.min() if first is None else first
        return pd.DataFrame({"trend": (ordinal - origin).astype(float)}, index=panel.data.index)
    return pd.DataFrame(index=panel.data.index)  # month effects: categorical, fitted by the model (time_effects)


def _columns_of(panel: Panel, names: Sequence[str], what: str) -> list[str]:
    """Data columns of plan keys or columns (covariates), with an error naming the unknown ones."""
    names = _need_names(names, what)
    plan, out = panel.plan, []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what}: {name!r} is not a name (a plan key or a column, as a string)")
        try:
            out.append(plan.variable(name).column)
        except PlanError:
            if name not in panel.data.columns:
                raise PlanError(f"{what}: {name!r} is neither a variable of the plan nor a column of the panel; "
                                f"covariates: {[v.key for v in plan.covariates]}") from None
            out.append(name)
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        raise PlanError(f"{what}: {repeated} are given more than once")
    cols = panel.columns
    roles = {cols.parent: "the parent id", cols.family: "the family id", cols.office: "the office id",
             cols.month: "the month", cols.arm: "the randomized arm (the treatment terms use it)",
             **({cols.model: "the offer's variant (split=True uses it)"} if cols.model else {}),
             **({cols.start: "the treatment start month"} if cols.start else {})}
    for c in out:
        if c in roles:
            raise PlanError(f"{what}: {c!r} is {roles[c]}, not a covariate")
        if not pd.api.types.is_numeric_dtype(panel.data[c].dtype) or pd.api.types.is_complex_dtype(panel.data[c].dtype):
            raise PlanError(f"{what}: column {c!r} is {panel.data[c].dtype}, not numeric: recode it as numbers "
                            "(0/1 dummies for categories)")
    return out


def fe_design(panel: Panel, outcome: str, *, split: bool = False, trend: Trend = "linear",
              covariates: Sequence[str] | None = None, first_month: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The estimation frame of a fixed-effects model and its regressor names, in table order.

    ``outcome`` and ``covariates`` are plan keys or data columns; covariates default to the
    plan's time-varying covariates. ``trend="linear"`` adds the column ``trend``; month effects
    (``"months"``) are not columns: the frame keeps the month column and the model fits them as
    categorical time effects (``conditional_logit(..., time_effects=month)``). ``first_month``:
    the trend's origin as a month ordinal (default: the panel's first month).

    On a panel whose data are a Dask DataFrame (``load_panel(..., engine="dask")``) the frame is a
    Dask DataFrame: this function on each partition, the trend counted from the whole panel's first month.
    """
    panel = _need_panel(panel, "fe_design")
    if _is_dask(panel.data):
        return _fe_design_dask(panel, outcome, split=split, trend=trend, covariates=covariates)
    _need_bool(split, "split")
    cols = panel.columns
    y = panel.plan.outcome(outcome).column
    covariates = list(cols.time_varying) if covariates is None else _columns_of(panel, covariates, "covariates")
    if y in covariates:
        raise PlanError(f"covariates: {y!r} is the outcome of this model; it cannot also be a covariate")
    treat = treatment_indicators(panel, split=split)
    time = _trend_columns(panel, trend, first_month)
    frame = pd.concat([panel.data[[cols.parent, cols.office, cols.family, cols.month, y, *covariates]], treat, time],
                      axis=1)
    return frame, [*treat.columns, *covariates, *time.columns]


def _is_dask(data: object) -> bool:
    from famtrial.models.distributed import is_dask_dataframe

    return is_dask_dataframe(data)


def _design_partition(part: pd.DataFrame, panel: Panel, first_month: int, *, outcome: str, split: bool,
                      trend: Trend, covariates: Sequence[str] | None) -> pd.DataFrame:
    return fe_design(Panel(data=part, plan=panel.plan, report=panel.report), outcome, split=split, trend=trend,
                     covariates=covariates, first_month=first_month)[0]


def _fe_design_dask(panel: Panel, outcome: str, *, split: bool, trend: Trend, covariates: Sequence[str] | None
                    ) -> tuple[pd.DataFrame, list[str]]:
    """:func:`fe_design` partition by partition (one aggregation first: the panel's first month)."""
    month = panel.data[panel.columns.month]
    first = int(month.map_partitions(lambda m: pd.Series([m.array.asi8.min() if len(m) else np.iinfo(np.int64).max]),
                                     meta=(None, "int64")).min().compute())
    meta_panel = Panel(data=panel.data._meta, plan=panel.plan, report=panel.report)
    meta, regressors = fe_design(meta_panel, outcome, split=split, trend=trend, covariates=covariates,
                                 first_month=first)
    frame = panel.data.map_partitions(_design_partition, meta_panel, first, outcome=outcome, split=split, trend=trend,
                                      covariates=covariates, meta=meta)
    return frame, regressors


def fe_model(panel: Panel, outcome: str, *, split: bool = False, trend: Trend = "linear",
             covariates: Sequence[str] | None = None, cluster: str | None = "office",
             t_reference: bool = False) -> ConditionalLogitResults:
    """Fixed-effects (conditional) logit of ``outcome`` on the treatment, covariates and time adjustment.

    ``logit P(y_it = 1) = a_i + b * treat_it + x_it' g + f(t)`` with parent effects ``a_i``
    conditioned out; ``f(t)`` a linear trend (default), month effects (one per month but the
    first, fitted by the categorical time-effects path: no dense dummies) or nothing. ``cluster``
    is a role (``"office"``, ``"family"``, ``"parent"``), a column, or None (model-based SE).
    A panel loaded with ``engine="dask"`` is fitted on the current Dask client
    (:func:`famtrial.models.distributed.conditional_logit`), with the same numbers.
    Stata::

        clogit y treat x1 x2 trend, group(parent) vce(cluster office) or
        clogit y treat x1 x2 i.month, group(parent) vce(cluster office) or    // trend="months"

    R: ``survival::clogit(y ~ treat + x1 + x2 + trend + strata(parent), method = "exact")``
    (no cluster-robust SE).
    """
    panel = _need_panel(panel, "fe_model")
    _need_bool(t_reference, "t_reference")
    if cluster is not None and not isinstance(cluster, str):
        raise TypeError(f"cluster={cluster!r} must be a role ('office', 'family', 'parent'), a column name or None")
    frame, regressors = fe_design(panel, outcome, split=split, trend=trend, covariates=covariates)
    cols = panel.columns
    roles = {"office": cols.office, "family": cols.family, "parent": cols.parent, "none": None}
    cluster_col = roles.get(cluster, cluster) if cluster is not None else None
    if cluster_col is not None and cluster_col not in frame.columns:
        if cluster_col not in panel.data.columns:
            raise PlanError(f"cluster={cluster!r} is neither a role (office, family, parent) nor a column of the panel")
        frame = frame.assign(**{cluster_col: panel.data[cluster_col]})
    y = panel.plan.outcome(outcome).column
    fit = conditional_logit(frame, y, regressors, group=cols.parent, cluster=cluster_col, t_reference=t_reference,
                            time_effects=cols.month if trend == "months" else None)
    lost = [t for t in regressors if t in panel.plan.treatment_terms and t not in fit.params.index]
    if lost:
        why = "; ".join(d.describe() for d in fit.dropped if d.kind == "variable") or "no within-parent variation"
        raise PanelError(f"the treatment term(s) {lost} of the fixed-effects model of {y!r} cannot be estimated "
                         f"({why}): the offer never switches on within a parent with outcome variation. Check the "
                         f"implementation month {panel.implementation} against the data's months "
                         f"({panel.report.first_month} .. {panel.report.last_month}) and the arm coding")
    return fit


def fit_plan_model(panel: Panel, spec: FEModel, *, t_reference: bool = False) -> ConditionalLogitResults:
    """Fit one model of the plan (:class:`~famtrial.plan.FEModel`)."""
    return fe_model(panel, spec.outcome, split=spec.split, trend=spec.time, covariates=spec.covariates,
                    cluster=None if spec.cluster == "none" else spec.cluster, t_reference=t_reference)


def fe_models(panel: Panel, plan: Plan | None = None, *, models: Sequence[str] | None = None,
              t_reference: bool = False) -> dict[str, ConditionalLogitResults]:
    """Fit the plan's fixed-effects models (default: the panel's plan; ``models`` selects by name).

    The family-coordinator plan's are Models 1-4 of Tables 5 and 6.
    """
    panel = _need_panel(panel, "fe_models")
    if plan is not None and not isinstance(plan, Plan):
        raise TypeError(f"plan must be a famtrial Plan (famtrial.load_plan(...)) or None for the panel's own, "
                        f"not {type(plan).__name__}")
    plan = panel.plan if plan is None else plan
    _need_bool(t_reference, "t_reference")
    if isinstance(models, str):
        raise TypeError(f"models must be a list of model names, not the string {models!r}")
    chosen = [plan.model(m) for m in _need_names(models, "models")] if models is not None else list(plan.models)
    if models is not None and not chosen:
        raise PlanError(f"models=[] selects no model: give names from {[m.name for m in plan.models]} or None for all")
    if not chosen:
        raise PlanError(f"the plan {plan.name!r} has no [models.<name>] tables: declare the fixed-effects models")
    return {spec.name: fit_plan_model(panel, spec, t_reference=t_reference) for spec in chosen}


def paper_models(panel: Panel, *, t_reference: bool = False) -> dict[str, ConditionalLogitResults]:
    """The panel's plan's fixed-effects models (an alias of :func:`fe_models`, the round-one name)."""
    return fe_models(panel, t_reference=t_reference)


def _fmt(value: float, digits: int, leading_zero: bool = True) -> str:
    """Format with ``digits`` decimals; without the leading zero below 1 when asked (``.90``, ``12.23``)."""
    if pd.isna(value):
        return ""
    text = f"{value:.{digits}f}"
    if not leading_zero and text.startswith(("0.", "-0.")):
        return text.replace("0.", ".", 1)
    return text


def _time_terms(res: ModelResults) -> list[str]:
    """The categorical time (month) effects of a fit, if it has them."""
    name = getattr(getattr(res, "model", None), "time_name", None)
    return [] if name is None else [t for t in res.params.index if t.startswith(f"{name}[")]


def _time_note(results: Mapping[str, ModelResults]) -> str:
    terms = [set(r.params.index) for r in results.values()]
    linear = [("trend" in t) for t in terms]
    months = [getattr(getattr(r, "model", None), "time_name", None) is not None for r in results.values()]
    parts = []
    if all(linear):
        parts.append("adjusted for a linear time trend")
    elif any(linear):
        parts.append("models " + ", ".join(n for n, f in zip(results, linear) if f) + " adjusted for a linear trend")
    if all(months):
        parts.append("month fixed effects")
    elif any(months):
        parts.append("models " + ", ".join(n for n, f in zip(results, months) if f) + " with month fixed effects")
    return "; ".join(parts)


def _se_note(results: Mapping[str, ModelResults], names: Mapping[str, str]) -> str:
    kinds = []
    for res in results.values():
        if res.cov_type == "cluster":
            name = dict(res.info).get("Cluster variable")
            name = names.get(name, name) if name is not None else None
            kinds.append(f"cluster-robust SE (clustered by {name}, G = {res.n_clusters})" if name else
                         f"cluster-robust SE (G = {res.n_clusters})")
        elif res.cov_type == "robust":
            kinds.append("robust SE")
        else:
            kinds.append("model-based SE")
        if res.covariance.df is not None:
            kinds[-1] += f", t({res.covariance.df}) reference"
    if len(set(kinds)) == 1:
        return kinds[0]
    return "; ".join(f"{n}: {k}" for n, k in zip(results, kinds))


def compare_models(results: Mapping[str, ModelResults], *, title: str = "",
                   labels: Mapping[str, str] | None = None, hide: Sequence[str] = _HIDDEN,
                   n_parents: int | None = None, digits: int = 2, alpha: float = 0.05,
                   leading_zero: bool = True, first: Sequence[str] = (),
                   unit: tuple[str, str] = ("parent", "parents"), cluster_names: Mapping[str, str] | None = None) -> Table:
    """Lay fitted models side by side: OR (stars), SE of the OR, CI; pseudo R2 and groups.

    ``results`` may mix any famtrial results (logit and conditional logit in one table); terms
    absent from a model are blank. ``display`` has a two-level column index: the model name, then
    ``OR`` / ``SE`` (``Robust SE`` for a sandwich covariance) / the CI, and every export renders
    both levels. ``frame`` holds, per model, OR, SE, CI bounds, p for every term (columns ``model.field``),
    and the pseudo R2 and number of groups used. Terms starting with a ``hide`` prefix (the time
    trend) and month effects stay in ``frame`` but not in ``display``. ``first`` lists terms shown
    first (the treatment terms). ``labels`` maps terms to row labels, ``cluster_names`` cluster
    columns to the words the notes use (``{"kontor": "office"}``). The notes are derived from the
    results: the estimator, the covariance (and cluster variable) each model used, the time
    adjustment found among the terms.
    """
    if not isinstance(results, Mapping) or not results:
        raise TypeError("compare_models needs a non-empty mapping of model name -> fitted results, e.g. "
                        "{'model1': fit1, 'model2': fit2}")
    bad = [n for n, r in results.items() if not isinstance(r, ModelResults)]
    if bad:
        raise TypeError(f"compare_models: {bad} are not famtrial results (got "
                        f"{', '.join(type(results[n]).__name__ for n in bad)})")
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a mapping term -> row label, not {type(labels).__name__}")
    hide, first = tuple(_need_names(hide, "hide")), tuple(_need_names(first, "first"))
    if not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string")
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or not 0 <= digits <= 10:
        raise ValueError(f"digits={digits!r} must be a whole number from 0 to 10")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
    if n_parents is not None and (isinstance(n_parents, bool) or not isinstance(n_parents, (int, np.integer))
                                  or n_parents < 0):
        raise TypeError(f"n_parents={n_parents!r} must be a whole number >= 0 or None")
    _need_bool(leading_zero, "leading_zero")
    if isinstance(unit, str) or not isinstance(unit, Sequence) or len(unit) != 2 \
            or not all(isinstance(u, str) for u in unit):
        raise TypeError(f"unit={unit!r} must be two strings: (singular, plural), e.g. ('parent', 'parents')")
    labels = dict(labels or {})
    terms: list[str] = []
    for res in results.values():
        terms += [t for t in res.params.index if t not in terms]
    terms.sort(key=lambda t: t not in first)  # treatment rows first (stable)
    numeric, shown = {}, {}

    def fmt(value: float) -> str:
        return _fmt(value, digits, leading_zero)

    level = f"{100 * (1 - alpha):g}% CI"
    for name, res in results.items():
        odds = res.to_frame(alpha).reindex(terms)
        for field, src in (("or", "or"), ("se", "or_se"), ("ci_low", "or_ci_low"), ("ci_high", "or_ci_high"), ("p", "p")):
            numeric[(name, field)] = odds[src]
        shown[(name, "OR")] = [("" if pd.isna(o) else fmt(o) + stars(p)) for o, p in zip(odds["or"], odds["p"])]
        shown[(name, "Robust SE" if res.cov_type != "nonrobust" else "SE")] = [fmt(v) for v in odds["or_se"]]
        shown[(name, level)] = ["" if pd.isna(lo) else f"({fmt(lo)}, {fmt(hi)})"
                                for lo, hi in zip(odds["or_ci_low"], odds["or_ci_high"])]
    frame = pd.DataFrame(numeric, index=terms)
    display = pd.DataFrame(shown, index=terms)
    time_terms = {t for r in results.values() for t in _time_terms(r)}
    keep = [t for t in terms if not any(t.startswith(h) for h in hide) and t not in time_terms]
    display = display.loc[keep].rename(index=labels)
    groups = unit[1].capitalize() + " with outcome change"
    extra = {"Pseudo R2": {(n, "OR"): _fmt(r.prsquared, digits, leading_zero) for n, r in results.items()},
             groups: {(n, "OR"): f"{getattr(r, 'n_groups', r.nobs):,}" for n, r in results.items()}}
    if n_parents is not None:
        extra[f"n {unit[1]}"] = {(n, "OR"): f"{n_parents:,}" for n in results}
    display = pd.concat([display, pd.DataFrame.from_dict(extra, orient="index")]).fillna("")
    display = display[list(shown)]  # the models' order, OR / SE / CI within each
    display.columns = pd.MultiIndex.from_tuples(list(shown))
    for name, res in results.items():
        frame.loc["pseudo_r2", (name, "or")] = res.prsquared
        frame.loc["n_groups", (name, "or")] = getattr(res, "n_groups", res.nobs)
    frame.columns = [f"{model}.{field}" for model, field in frame.columns]
    estimators = sorted({r.model_name for r in results.values()})
    group = f", group = {unit[0]}" if any(isinstance(r, ConditionalLogitResults) for r in results.values()) else ""
    time = _time_note(results)
    notes = (f"{'; '.join(estimators)}{group}. Odds ratios with {_se_note(results, cluster_names or {})} and {level}"
             + (f"; {time}" if time else "") + ". * p < .05, ** p < .01, *** p < .001.")
    return Table(frame=frame, display=display, title=title, notes=notes)


def model_tables(results: Mapping[str, ConditionalLogitResults], plan: Plan, *,
                 n_parents: int | None = None) -> dict[str, Table]:
    """The plan's model tables (e.g. Tables 5 and 6): each table's models side by side, labelled from the plan."""
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a mapping model name -> fitted results (from fe_models), "
                        f"not {type(results).__name__}")
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a famtrial Plan (panel.plan or famtrial.load_plan(...)), not {type(plan).__name__}")
    unknown = [name for name in results if name not in {m.name for m in plan.models}]
    if unknown:
        raise PlanError(f"results: {unknown} are not models of the plan; its models are {[m.name for m in plan.models]}")
    out = {}
    for table in plan.model_tables:
        members = {m.name: results[m.name] for m in plan.models_in(table) if m.name in results}
        if members:
            out[table] = compare_models(members, title=plan.table_title(table), labels=plan.labels,
                                        n_parents=n_parents, digits=plan.digits, leading_zero=plan.leading_zero,
                                        first=plan.treatment_terms, unit=(plan.unit("parent", 1), plan.unit("parent")),
                                        cluster_names={getattr(plan, r): plan.unit(r, 1) for r in
                                                       ("parent", "family", "office")})
    return out


def fe_numbers(results: Mapping[str, ConditionalLogitResults], plan: Plan) -> dict[str, float]:
    """Reproduced numbers for ``famtrial verify``: ``<table>.<model>.<term>.or|se|ci_low|ci_high`` and ``pseudo_r2``.

    Terms are named by their plan keys, so a renamed data set gives the same keys.
    """
    out: dict[str, float] = {}
    for name, res in results.items():
        table = plan.model(name).table
        frame = res.to_frame()
        for term, row in frame.iterrows():
            key = plan.key_of(term)
            for field, src in (("or", "or"), ("se", "or_se"), ("ci_low", "or_ci_low"), ("ci_high", "or_ci_high")):
                out[f"{table}.{name}.{key}.{field}"] = float(row[src])
        out[f"{table}.{name}.pseudo_r2"] = float(res.prsquared)
    return out
