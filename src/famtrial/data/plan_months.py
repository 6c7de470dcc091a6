"""Every month a plan names, checked against the loaded panel before anything is fitted.

``famtrial plan check`` and ``famtrial reproduce`` call :func:`check_plan_months` right after loading,
so a baseline month without rows stops the run with one message naming the plan key, the month,
the panel's months and the fix, rather than part-way through the balance tables.
"""

from __future__ import annotations

import pandas as pd

from famtrial.data.panel import Panel
from famtrial.errors import PlanError

__all__ = ["check_plan_months"]


def check_plan_months(panel: Panel) -> None:
    """Raise :class:`~famtrial.errors.PlanError` unless every month the panel's plan names has rows.

    Parameters
    ----------
    panel : Panel
        A loaded panel (its plan names the months).

    Notes
    -----
    ``[months] implementation`` and ``baseline`` must be months of the panel with rows (the baseline
    month is where Table 3 and the monthly controls come from; the implementation month starts the
    monthly series). ``first`` and ``last`` cut a window and need only lie within the data, which
    loading has checked. Stata's and R's loaders have no such check: a missing month surfaces as
    an empty cross-section later.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"check_plan_months needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
    plan = panel.plan
    present = panel.months
    if len(present) == 0:
        raise PlanError("the panel has no months: check the month column")
    have = set(present)
    span = f"{present[0]} .. {present[-1]}"
    for key, month in (("implementation", plan.implementation), ("baseline", plan.baseline)):
        if pd.Period(month, "M") not in have:
            gaps = sorted(set(pd.period_range(present[0], present[-1], freq="M")) - have)
            inside = f"; months without rows: {', '.join(map(str, gaps[:6]))}" if gaps else ""
            raise PlanError(
                f"[months] {key} = {month!r} has no rows in the data (its months run {span}{inside}): "
                f"set [months] {key} to a month of the data"
            )
    if plan.baseline and plan.implementation and pd.Period(plan.baseline, "M") > pd.Period(plan.implementation, "M"):
        raise PlanError(
            f"[months] baseline = {plan.baseline!r} comes after implementation = {plan.implementation!r}: "
            "the baseline month is at or before the first month of the offer"
        )
