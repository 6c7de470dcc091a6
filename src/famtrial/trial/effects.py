"""The plan's fixed-effects models: treatment indicators, estimation frames, fits and their tables.

This layer reads the trial from the panel's analysis plan (arms, variants, implementation month,
the models' outcomes, covariates, time adjustment and cluster) and calls the numerical layer
(:mod:`famtrial.models`) with plain columns; it does no numerics itself. Term names come from the
plan's treatment name (``<name>_pooled``, ``<name>_<variant>``); row labels from its labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

import numpy as np
import pandas as pd

from famtrial._options import TimeAdjustment, check_bool, check_names
from famtrial._parallel import is_dask_dataframe
from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.models.clogit import ConditionalLogitResults, conditional_logit
from famtrial.models.lpm import LPMResults, lpm
from famtrial.plan.spec import FEModel, Plan
from famtrial.trial._args import _columns_of, _need_panel

__all__ = ["treatment_indicators", "fe_design", "fe_model", "fe_models", "fit_plan_model", "paper_models", "trial_lpm"]

_TRENDS = get_args(TimeAdjustment)


def treatment_indicators(panel: Panel, *, split: bool = False) -> pd.DataFrame:
    """Treatment switched on from the implementation month (or a per-parent start month) for the offered arm.

    ``<treatment>_pooled = arm * 1[month >= start]``; with ``split=True`` one column per variant
    of the plan, ``<treatment>_<variant> = arm * 1[variant] * 1[month >= start]``. ``start`` is the
    plan's implementation month unless the plan names a per-parent start-month column (a missing
    start month means never treated).
    """
    panel = _need_panel(panel, "treatment_indicators")
    check_bool(split, "split")
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
        raise PlanError(
            f"split=True needs the offer's variants: the plan {plan.name!r} declares no variant column "
            "and [variants.levels]"
        )
    variant = data[cols.model].to_numpy()
    return pd.DataFrame(
        {plan.term(v.name): (treat & (variant == v.name)).astype(np.int8) for v in plan.variants}, index=data.index
    )


def _trend_columns(panel: Panel, trend: TimeAdjustment, first: int | None = None) -> pd.DataFrame:
    """The trend column (``"linear"``: months since ``first``, the ordinal of the panel's first month by default)."""
    if trend not in _TRENDS:
        raise ValueError(f"trend={trend!r} is not one of {_TRENDS}")
    month = panel.data[panel.columns.month]
    ordinal = month.array.asi8  # months since 1970-01: integer arithmetic, no Period objects
    if trend == "linear":  # months since the panel's first month
        origin = ordinal.min() if first is None else first
        return pd.DataFrame({"trend": (ordinal - origin).astype(float)}, index=panel.data.index)
    return pd.DataFrame(index=panel.data.index)  # month effects: categorical, fitted by the model (time_effects)


def fe_design(
    panel: Panel,
    outcome: str,
    *,
    split: bool = False,
    trend: TimeAdjustment = "linear",
    covariates: Sequence[str] | None = None,
    first_month: int | None = None,
) -> tuple[pd.DataFrame, list[str]]:
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
    if is_dask_dataframe(panel.data):
        return _fe_design_dask(panel, outcome, split=split, trend=trend, covariates=covariates)
    check_bool(split, "split")
    cols = panel.columns
    y = panel.plan.outcome(outcome).column
    covariates = list(cols.time_varying) if covariates is None else _columns_of(panel, covariates, "covariates")
    if y in covariates:
        raise PlanError(f"covariates: {y!r} is the outcome of this model; it cannot also be a covariate")
    treat = treatment_indicators(panel, split=split)
    time = _trend_columns(panel, trend, first_month)
    frame = pd.concat(
        [panel.data[[cols.parent, cols.office, cols.family, cols.month, y, *covariates]], treat, time], axis=1
    )
    return frame, [*treat.columns, *covariates, *time.columns]


def _design_partition(
    part: pd.DataFrame,
    panel: Panel,
    first_month: int,
    *,
    outcome: str,
    split: bool,
    trend: TimeAdjustment,
    covariates: Sequence[str] | None,
) -> pd.DataFrame:
    return fe_design(
        Panel(data=part, plan=panel.plan, report=panel.report),
        outcome,
        split=split,
        trend=trend,
        covariates=covariates,
        first_month=first_month,
    )[0]


def _fe_design_dask(
    panel: Panel, outcome: str, *, split: bool, trend: TimeAdjustment, covariates: Sequence[str] | None
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`fe_design` partition by partition (one aggregation first: the panel's first month)."""
    month = panel.data[panel.columns.month]
    first = int(
        month.map_partitions(
            lambda m: pd.Series([m.array.asi8.min() if len(m) else np.iinfo(np.int64).max]), meta=(None, "int64")
        )
        .min()
        .compute()
    )
    meta_panel = Panel(data=panel.data._meta, plan=panel.plan, report=panel.report)
    meta, regressors = fe_design(
        meta_panel, outcome, split=split, trend=trend, covariates=covariates, first_month=first
    )
    frame = panel.data.map_partitions(
        _design_partition,
        meta_panel,
        first,
        outcome=outcome,
        split=split,
        trend=trend,
        covariates=covariates,
        meta=meta,
    )
    return frame, regressors


def fe_model(
    panel: Panel,
    outcome: str,
    *,
    split: bool = False,
    trend: TimeAdjustment = "linear",
    covariates: Sequence[str] | None = None,
    cluster: str | None = "office",
    t_reference: bool = False,
) -> ConditionalLogitResults:
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
    check_bool(t_reference, "t_reference")
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
    fit = conditional_logit(
        frame,
        y,
        regressors,
        group=cols.parent,
        cluster=cluster_col,
        t_reference=t_reference,
        time_effects=cols.month if trend == "months" else None,
    )
    lost = [t for t in regressors if t in panel.plan.treatment_terms and t not in fit.params.index]
    if lost:
        why = "; ".join(d.describe() for d in fit.dropped if d.kind == "variable") or "no within-parent variation"
        raise PanelError(
            f"the treatment term(s) {lost} of the fixed-effects model of {y!r} cannot be estimated "
            f"({why}): the offer never switches on within a parent with outcome variation. Check the "
            f"implementation month {panel.implementation} against the data's months "
            f"({panel.report.first_month} .. {panel.report.last_month}) and the arm coding"
        )
    return fit


def fit_plan_model(panel: Panel, spec: FEModel, *, t_reference: bool = False) -> ConditionalLogitResults:
    """Fit one model of the plan (:class:`~famtrial.plan.spec.FEModel`); a dynamic one by :func:`dynamic_model`."""
    if spec.treatment == "dynamic":
        from famtrial.trial.dynamic import dynamic_model

        return dynamic_model(
            panel,
            spec.outcome,
            reference=spec.reference,
            covariates=spec.covariates,
            cluster=None if spec.cluster == "none" else spec.cluster,
            t_reference=t_reference,
        )
    return fe_model(
        panel,
        spec.outcome,
        split=spec.split,
        trend=spec.time,
        covariates=spec.covariates,
        cluster=None if spec.cluster == "none" else spec.cluster,
        t_reference=t_reference,
    )


def fe_models(
    panel: Panel,
    plan: Plan | None = None,
    *,
    models: Sequence[str] | None = None,
    t_reference: bool | None = None,
) -> dict[str, ConditionalLogitResults]:
    """Fit the plan's fixed-effects models (default: the panel's plan; ``models`` selects by name).

    The family-coordinator plan's are Models 1-4 of Tables 5 and 6. ``t_reference``: p-values and
    intervals against t(G-1) rather than the normal; default (None) the plan's ``[inference] reference``.
    """
    panel = _need_panel(panel, "fe_models")
    if plan is not None and not isinstance(plan, Plan):
        raise TypeError(
            f"plan must be a famtrial Plan (famtrial.load_plan(...)) or None for the panel's own, "
            f"not {type(plan).__name__}"
        )
    plan = panel.plan if plan is None else plan
    t_reference = plan.reference == "t" if t_reference is None else t_reference
    check_bool(t_reference, "t_reference")
    if isinstance(models, str):
        raise TypeError(f"models must be a list of model names, not the string {models!r}")
    chosen = [plan.model(m) for m in check_names(models, "models")] if models is not None else list(plan.models)
    if models is not None and not chosen:
        raise PlanError(f"models=[] selects no model: give names from {[m.name for m in plan.models]} or None for all")
    if not chosen:
        raise PlanError(f"the plan {plan.name!r} has no [models.<name>] tables: declare the fixed-effects models")
    return {spec.name: fit_plan_model(panel, spec, t_reference=t_reference) for spec in chosen}


def paper_models(panel: Panel, *, t_reference: bool = False) -> dict[str, ConditionalLogitResults]:
    """The panel's plan's fixed-effects models (an alias of :func:`fe_models`, the round-one name)."""
    return fe_models(panel, t_reference=t_reference)


def trial_lpm(
    panel: Panel, outcome: str, *, split: bool = False, covariates: Sequence[str] | None = None
) -> LPMResults:
    """The LPM twin of Models 1-4: treatment (pooled or split), time-varying covariates, parent and month effects.

    Month effects replace the clogit's linear trend (they absorb it).
    """
    from famtrial.trial.effects import fe_design

    cols = panel.columns
    frame, regressors = fe_design(panel, outcome, split=split, trend="none", covariates=covariates)
    frame = frame.assign(**{cols.month: panel.data[cols.month].to_numpy()})
    return lpm(
        frame, panel.plan.outcome(outcome).column, regressors, entity=cols.parent, time=cols.month, cluster=cols.office
    )
