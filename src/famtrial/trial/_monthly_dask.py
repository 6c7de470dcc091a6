"""``monthly_effects`` on a Dask panel: the months' cross-sections reduced to weighted cells on the workers.

A month's cross-section is one row per parent: the outcome, the offer, the office, the cluster and
the baseline controls. With the trial's discrete regressors (the 0/1 offer, 0/1 or few-valued
baseline indicators) many parents share a row's values, so each partition collapses its rows into
cells, one per (month, office, cluster, offer, baseline values, outcome) with the number of rows
``n`` (:func:`_partition_cells`, the collapse :func:`famtrial.models.logit.fit_logit_blocks`
makes in memory), and the client sums the partitions' cells (a cell of one office and month may
come from several partitions). Only the cells and three counts travel to the client; the panel is
never computed. The client fits each month's logit on its cells with the counts as frequency
weights (Stata ``fweight``: a cell stands for its ``n`` identical rows), so the estimates,
covariances (their small-sample factor counts the rows), drop notes, observation counts, risk
differences and the band equal the in-memory ones to rounding (the fits' sums are the same sums
in another order; the band uses per-cluster score sums only, which the cells keep since the
cluster is a cell key). The months' results (``MonthlyEffects.results``) hold the cells and their
weights rather than one row per parent.

The client's memory is the cells': with the trial's discrete regressors, a few thousand per
month whatever the number of parents. With a continuous baseline control (income, age in days)
each parent is its own cell, and the cells are then the months' cross-sections.

Parent counts (parents fitted, parents without a baseline row) are summed over partitions: the
Dask loader (``load_panel(..., engine="dask")``) aligns the partitions on the parent, so a
parent's baseline row and its monthly rows lie in one partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from famtrial._parallel import compute_parts, get_client
from famtrial.data.panel import Panel

__all__ = ["COUNT", "monthly_cells"]

#: the cells' column of row counts (their frequency weights)
COUNT = "__famtrial_rows__"


def _partition_cells(
    frame: pd.DataFrame,
    parent: str,
    month: str,
    keep: list[str],
    base_vars: list[str],
    base_ordinal: int,
    wanted: list[int],
) -> dict[str, Any]:
    """One partition: its cells with their row counts, its parents fitted and without a baseline row.

    The same selection and inner join on the parent as the in-memory ``monthly_effects``.
    """
    ordinals = frame[month].array.asi8
    base = frame.loc[ordinals == base_ordinal, [parent, *base_vars]]
    data = frame.loc[np.isin(ordinals, wanted), keep]
    at = pd.Index(base[parent]).get_indexer(data[parent])
    has = at >= 0
    no_base = len(pd.unique(data[parent].to_numpy()[~has]))
    n_parents = len(pd.unique(data[parent].to_numpy()[has]))
    columns = {c: data[c].to_numpy()[has] for c in keep if c not in (parent, month)}
    columns[month] = data[month].array.asi8[has]
    columns.update({f"{v}_baseline": base[v].to_numpy()[at[has]] for v in base_vars})
    rows = pd.DataFrame(columns)
    cells = rows.groupby(list(rows.columns), dropna=False, sort=False, observed=True).size().rename(COUNT).reset_index()
    return {"cells": cells, "no_base": no_base, "n_parents": n_parents}


def monthly_cells(
    panel: Panel, keep: Sequence[str], base_vars: Sequence[str], base_month: pd.Period, wanted: Sequence[pd.Period]
) -> tuple[pd.DataFrame, int, int]:
    """The cells ``monthly_effects`` fits, summed on the client over the partitions' cells.

    Parameters
    ----------
    panel : Panel
        A panel whose ``data`` is a Dask DataFrame aligned on the parent.
    keep : sequence of str
        The monthly columns (parent, office, month, arm, outcome, cluster).
    base_vars : sequence of str
        Variables entered at their baseline-month value (columns ``<name>_baseline``).
    base_month : Period
        The baseline month: a parent's row in it supplies the ``<name>_baseline`` values; parents without
        a row in it are left out of ``data`` and counted.
    wanted : sequence of Period
        The fitted months.

    Returns
    -------
    data, parents_without_baseline, n_parents
        ``data``: the ``keep`` columns but the parent, then the ``_baseline`` columns, then ``rows``
        (:data:`COUNT`, int64): one row per cell of identical values among the fitted months' rows
        with a baseline row, ordered by month, office and values, with its number of rows; months as
        ``period[M]``.
    """
    cols = panel.columns
    client = get_client(None)  # the shared helper's error without a client
    keep = list(keep)
    futures = compute_parts(
        client,
        panel.data,
        _partition_cells,
        parent=cols.parent,
        month=cols.month,
        keep=keep,
        base_vars=list(base_vars),
        base_ordinal=base_month.ordinal,
        wanted=[m.ordinal for m in wanted],
    )
    parts = client.gather(futures)
    keys = [c for c in parts[0]["cells"].columns if c != COUNT]
    cells = pd.concat([p["cells"] for p in parts], ignore_index=True)
    cells = cells.groupby(keys, dropna=False, sort=True, observed=True)[COUNT].sum().reset_index()
    data = pd.DataFrame({c: cells[c].to_numpy() for c in keys if c != cols.month})
    data.insert(0, cols.month, pd.PeriodIndex.from_ordinals(cells[cols.month].to_numpy(), freq="M"))
    meta = panel.data._meta
    for c in keys:  # the panel's dtypes (int8 0/1 arm and outcomes, categoricals)
        source = c[: -len("_baseline")] if c.endswith("_baseline") and c not in meta.columns else c
        if c != cols.month and source in meta.columns and data[c].dtype != meta[source].dtype:
            data[c] = data[c].astype(meta[source].dtype)
    order = [c for c in keep if c != cols.parent] + [f"{v}_baseline" for v in base_vars]
    data = data[order].assign(**{COUNT: cells[COUNT].to_numpy(dtype=np.int64)})
    return (data, sum(int(p["no_base"]) for p in parts), sum(int(p["n_parents"]) for p in parts))
