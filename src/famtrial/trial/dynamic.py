"""The plan's dynamic-effects (event-study) model: the offer's odds ratio month by month.

A plan model with ``treatment = "dynamic"`` (``[models.<name>]``, ``time = "months"``) is::

    logit P(y_it = 1) = a_i + sum_{m != r} d_m 1[month_t = m] arm_i + x_it' g + f(month_t)

with parent effects ``a_i`` conditioned out (the exact conditional logit), month effects ``f`` on the categorical
time path, and one coefficient ``d_m`` per month but the reference month ``r`` (default: the month before the
implementation month), named ``<month>::<YYYY-MM>:<arm>`` (pyfixest's ``i()`` names). ``exp(d_m)`` is the offered
arm's odds ratio relative to control in month m, relative to month r; the pre-implementation ``d_m`` are the
placebo (pre-trend) checks. :func:`famtrial.iplot` draws it. This layer builds the formula and the frame; the
numerics are :func:`famtrial.models.formula.clogit`.

Stata: ``clogit y ib(r).month#1.arm x i.month, group(parent) vce(cluster office) or``; R: ``survival::clogit(y ~
arm:relevel(factor(month), ref = r) + x + factor(month) + strata(parent), method = "exact")`` (dropping the
reference month's column).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from famtrial._options import check_bool
from famtrial._parallel import is_dask_dataframe
from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.models.clogit import ConditionalLogitResults
from famtrial.models.formula import clogit
from famtrial.trial._args import _columns_of, _need_panel

__all__ = ["dynamic_model"]


def dynamic_model(
    panel: Panel,
    outcome: str,
    *,
    reference: str | None = None,
    covariates: Sequence[str] | None = None,
    cluster: str | None = "office",
    t_reference: bool = False,
) -> ConditionalLogitResults:
    """Fit the dynamic-effects (event-study) conditional logit of ``outcome`` (see the module).

    Parameters
    ----------
    panel : Panel
        A loaded panel (in memory).
    outcome : str
        An outcome key of the plan (or its column).
    reference : str, optional
        The omitted month ``YYYY-MM`` (default: the month before the implementation month); it must be a month of
        the data.
    covariates : sequence of str, optional
        Time-varying covariate keys or columns (default: the plan's time-varying covariates).
    cluster : str or None
        A role (``"office"``, ``"family"``, ``"parent"``), a column, or None (model-based SE).
    t_reference : bool
        t(G-1) reference distribution.

    Returns
    -------
    ConditionalLogitResults
        A formula fit: ``params`` holds the monthly terms, the covariates and the month effects.
    """
    panel = _need_panel(panel, "dynamic_model")
    check_bool(t_reference, "t_reference")
    if is_dask_dataframe(panel.data):
        raise PlanError("a dynamic (event-study) model is fitted in memory: load the panel with engine='pandas'")
    cols = panel.columns
    y = panel.plan.outcome(outcome).column
    covs = list(cols.time_varying) if covariates is None else _columns_of(panel, covariates, "covariates")
    roles = {"office": cols.office, "family": cols.family, "parent": cols.parent}
    cluster_col = roles.get(cluster, cluster) if cluster is not None else None
    if cluster_col is not None and cluster_col not in panel.data.columns:
        raise PlanError(f"cluster={cluster!r} is neither a role (office, family, parent) nor a column of the panel")
    names = [cols.parent, cols.month, cols.arm, y, *covs, *([cluster_col] if cluster_col else [])]
    bad = [c for c in dict.fromkeys(names) if not re.fullmatch(r"[A-Za-z_]\w*", str(c))]
    if bad:
        raise PlanError(f"a dynamic model's columns must be plain names (letters, digits, _): rename {bad}")
    ref = str(pd.Period(panel.implementation, "M") - 1) if reference is None else str(reference)
    frame = panel.data[list(dict.fromkeys(names))].copy()
    frame[cols.arm] = (frame[cols.arm].to_numpy() == 1).astype(np.int8)
    months = sorted({str(m) for m in frame[cols.month].unique()})
    if ref not in months:
        raise PanelError(
            f"the dynamic model's reference month {ref} is not a month of the data ({months[0]} .. {months[-1]}); "
            "set [models.<name>] reference to one of them"
        )
    rhs = " + ".join([f"i({cols.month}, {cols.arm}, ref='{ref}')", *covs, f"C({cols.month})"])
    vcov = {"CRV1": cluster_col} if cluster_col is not None else None
    return clogit(f"{y} ~ {rhs} | {cols.parent}", frame, vcov=vcov, t_reference=t_reference)
