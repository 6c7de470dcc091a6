"""Argument checks the trial drivers share: a Panel, and the data columns of plan keys or columns."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from famtrial._options import check_names
from famtrial.data.panel import Panel
from famtrial.errors import PlanError


def _need_panel(panel: object, where: str) -> Panel:
    if not isinstance(panel, Panel):
        hint = " (load it with famtrial.load_panel(data, plan))" if isinstance(panel, pd.DataFrame) else ""
        raise TypeError(f"{where} needs a famtrial Panel, not {type(panel).__name__}{hint}")
    return panel


def _columns_of(panel: Panel, names: Sequence[str], what: str) -> list[str]:
    """Data columns of plan keys or columns (covariates), with an error naming the unknown ones."""
    names = check_names(names, what)
    plan, out = panel.plan, []
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{what}: {name!r} is not a name (a plan key or a column, as a string)")
        try:
            out.append(plan.variable(name).column)
        except PlanError:
            if name not in panel.data.columns:
                raise PlanError(
                    f"{what}: {name!r} is neither a variable of the plan nor a column of the panel; "
                    f"covariates: {[v.key for v in plan.covariates]}"
                ) from None
            out.append(name)
    repeated = sorted({c for c in out if out.count(c) > 1})
    if repeated:
        raise PlanError(f"{what}: {repeated} are given more than once")
    cols = panel.columns
    roles = {
        cols.parent: "the parent id",
        cols.family: "the family id",
        cols.office: "the office id",
        cols.month: "the month",
        cols.arm: "the randomized arm (the treatment terms use it)",
        **({cols.model: "the offer's variant (split=True uses it)"} if cols.model else {}),
        **({cols.start: "the treatment start month"} if cols.start else {}),
    }
    for c in out:
        if c in roles:
            raise PlanError(f"{what}: {c!r} is {roles[c]}, not a covariate")
        if not pd.api.types.is_numeric_dtype(panel.data[c].dtype) or pd.api.types.is_complex_dtype(panel.data[c].dtype):
            raise PlanError(
                f"{what}: column {c!r} is {panel.data[c].dtype}, not numeric: recode it as numbers "
                "(0/1 dummies for categories)"
            )
    return out
