"""The steps of ``famtrial reproduce --engine dask`` that need more than the Dask paths of the trial functions.

Most steps of the analysis run on a Dask panel through the trial functions themselves: the
exclusion rule (:func:`~famtrial.trial.sample.analysis_sample`: one row per parent per partition,
counted on the client), balance and correlations (per-partition sums, :mod:`famtrial.trial._balance_dask`),
the fixed-effects models (:mod:`famtrial.models.distributed`), the monthly series
(:mod:`famtrial.trial._monthly_dask`) and few-cluster inference with the score statistic
(:mod:`famtrial.trial._inference_dask`). This module holds the pieces that do not:

- :func:`persist_panel`: a panel the user loaded lazily (``load_panel(..., engine="dask")``) read
  and validated once more, its partitions kept by the workers (spilled to their disks past their
  memory limit) for every later step, rather than read and validated again by each. A panel
  ``reproduce`` loads itself needs no such pass: ``load_panel(..., persist=True)`` keeps each
  partition from the one pass that validates it (:mod:`famtrial.data._dask`);
- :func:`count_parents`: the analysed parents, summed over partitions (each partition holds whole
  parents: the Dask loader aligns them, shuffling by parent once when a parent's rows lie in two
  partitions);
- :func:`inference_panel`: the rows few-cluster inference with the Wald or coefficient statistic
  needs, in memory (those statistics refit the model for every re-draw). The conditional logit
  conditions every parent whose outcome never changes out of the likelihood (its rows add nothing
  to the log-likelihood, the scores, the Hessian, the observation count or the cluster shares), so
  its rows are dropped on the workers except the parent's first row, which keeps the parent, its
  family, office and arm in the randomization design (families re-drawn within offices: every
  family, informative or not, takes part in a re-draw) and keeps the panel's first month (the linear
  trend's origin). The in-memory fit, score bootstrap and randomization test then run on this panel,
  the re-draws on the cluster (:func:`famtrial.trial.few_cluster.few_cluster_inference` with the
  client: the design and the refit's arrays scattered to every worker once, one kernel thread per
  worker), and give the numbers of the whole panel.

With those statistics the client holds the informative parents' rows of the inference models'
outcomes (all their months, the plan's columns): with most parents informative, about the
in-memory panel. That bounds such a run by the client's memory (docs/scale.md); the default score
statistic runs from sums on the workers instead.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from famtrial._parallel import compute_each_partition, is_dask_dataframe
from famtrial.data.panel import Panel, kept_futures

__all__ = ["persist_panel", "count_parents", "inference_panel"]


def persist_panel(panel: Panel) -> Panel:
    """The Dask panel with its partitions computed once and kept on the workers (``persist``); an in-memory panel as is.

    For a lazy panel (``load_panel(..., engine="dask")``): its partitions are read and validated once
    more, a second pass beside the load's; a panel whose partitions are already kept
    (``load_panel(..., persist=True)``, or persisted) is returned as is. Each worker holds the
    validated partitions it computed; past its memory limit's spill threshold (Dask's
    ``distributed.worker.memory.target``, 60% by default) it moves partitions to its local disk, so a
    worker's memory stays bounded whatever the panel's size.
    """
    if not is_dask_dataframe(panel.data) or kept_futures(panel.data):
        return panel
    return replace(panel, data=panel.data.persist())


def _n_parents(frame: pd.DataFrame, parent: str) -> int:
    return int(frame[parent].nunique())


def count_parents(panel: Panel) -> int:
    """The panel's distinct parents (on a Dask panel: each partition's, summed; partitions hold whole parents)."""
    parent = panel.columns.parent
    if not is_dask_dataframe(panel.data):
        return int(panel.data[parent].nunique())
    return sum(compute_each_partition(panel.data, _n_parents, parent))


def _informative_rows(frame: pd.DataFrame, parent: str, outcomes: list[str]) -> pd.DataFrame:
    """Every row of a parent whose outcome varies in one of ``outcomes``; the first row of every other parent.

    ``frame`` is sorted by (parent, month), as every partition of a loaded panel is.
    """
    if frame.empty:
        return frame
    ids = frame[parent].to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    varies = np.zeros(len(starts), dtype=bool)
    for outcome in outcomes:
        y = frame[outcome].to_numpy()
        varies |= np.minimum.reduceat(y, starts) != np.maximum.reduceat(y, starts)
    keep = np.repeat(varies, np.diff(np.r_[starts, len(ids)]))
    keep[starts] = True
    return frame.loc[keep]


def inference_panel(panel: Panel, models: Any = None) -> Panel:
    """The rows of ``panel`` few-cluster inference of ``models`` (default: the plan's) needs, as an in-memory Panel.

    Parameters
    ----------
    panel : Panel
        The analysis panel; its ``data`` in memory or a Dask DataFrame whose partitions hold whole parents.
    models : sequence of str, optional
        Plan models (default: the plan's ``inference.models``).

    Returns
    -------
    Panel
        Sorted by (parent, month), with the panel's plan and report: all rows of every parent whose outcome
        varies over its months in one of the models' outcomes, and the first row of every other parent.
    """
    plan = panel.plan
    names = list(plan.inference_models if models is None else models)
    outcomes = list(dict.fromkeys(plan.outcome(plan.model(name).outcome).column for name in names))
    cols = panel.columns
    if is_dask_dataframe(panel.data):
        parts = compute_each_partition(panel.data, _informative_rows, cols.parent, outcomes)
        data = pd.concat(parts, ignore_index=True)
    else:
        data = _informative_rows(panel.data, cols.parent, outcomes)
    data = data.sort_values([cols.parent, cols.month], kind="stable").reset_index(drop=True)
    return Panel(data=data, plan=plan, report=panel.report)
