"""Pieces the analyses beyond intention to treat share: the plan's models they use, family-level columns, demeaning.

:mod:`famtrial.trial.compliance`, :mod:`famtrial.trial.subgroups` and
:mod:`famtrial.trial.since_randomisation` read a plan model's outcome, covariates, time adjustment and
cluster (:func:`model_specs`), a column that is constant within a family (take-up, the entry month:
:func:`family_values`) and baseline values (:func:`baseline_values`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.plan.spec import FEModel, Plan

__all__ = ["model_specs", "family_values", "baseline_values", "cluster_column", "within"]


def model_specs(plan: Plan, names: Sequence[str], section: str) -> list[FEModel]:
    """The plan models ``names`` (empty: every model with a pooled treatment), each checked to be pooled."""
    if isinstance(names, str):
        raise TypeError(f"{section}: models must be a list of model names, not the string {names!r}")
    chosen = [plan.model(m) for m in names] if names else [m for m in plan.models if not m.split]
    split = [m.name for m in chosen if m.split]
    if split:
        raise PlanError(f"{section}: models {split} have treatment 'variants': name models with a pooled treatment")
    if not chosen:
        raise PlanError(
            f"{section}: the plan {plan.name!r} has no fixed-effects model with a pooled treatment: "
            "declare one ([models.<name>] with treatment = 'pooled')"
        )
    return chosen


def cluster_column(panel: Panel, spec: FEModel) -> str:
    """The data column of a model's cluster role (``"none"``: the parent, the unit of the repeated months)."""
    cols = panel.columns
    return {"office": cols.office, "family": cols.family, "parent": cols.parent, "none": cols.parent}[spec.cluster]


def family_values(panel: Panel, column: str | None, role: str) -> pd.Series:
    """The rows' values of a family-level column, checked constant within each family (``role`` names it)."""
    if column is None:
        raise PlanError(
            f"the plan {panel.plan.name!r} names no {role} column: set columns.{role} = '<column>' in the plan"
        )
    data, fam = panel.data, panel.columns.family
    values = data[column]
    per_family = values.groupby(data[fam], sort=False, observed=True).nunique(dropna=False)
    varying = per_family.index[per_family.to_numpy() > 1]
    if len(varying):
        raise PanelError(
            f"column {column!r} (columns.{role}) varies within {len(varying)} "
            f"{panel.plan.unit('family', len(varying))} (e.g. {list(varying[:5])}): it records one value per "
            "family; make it constant within each family"
        )
    return values


def baseline_values(panel: Panel, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Each parent's values of ``columns`` in the plan's baseline month, and the number of parents without one."""
    cols, data = panel.columns, panel.data
    base = pd.Period(panel.plan.baseline, freq="M")
    rows = data.loc[data[cols.month] == base, [cols.parent, *columns]].drop_duplicates(cols.parent)
    missing = int(data[cols.parent].nunique() - len(rows))
    return rows.set_index(cols.parent), missing


def within(frame: pd.DataFrame, group: np.ndarray) -> pd.DataFrame:
    """Every column minus its mean within ``group`` (the within transformation of a one-way fixed effect)."""
    means = frame.groupby(group, sort=False).transform("mean")
    return frame - means
