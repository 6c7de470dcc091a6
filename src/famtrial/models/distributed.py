r"""The exact conditional logit and the logit on a Dask DataFrame: map over partitions, reduce on the client.

Every model here gives the same numbers as its in-memory twin (:func:`famtrial.models.clogit.conditional_logit`,
:func:`famtrial.models.logit.logit`), which dispatch here when handed a ``dask.dataframe.DataFrame``:
the same drop rules decided on global sums, the same Newton iterations (:func:`famtrial.models.optim.newton`),
the same covariance (:func:`famtrial.models.covariance.sandwich`) and the same results objects.

How a fit runs (``P`` partitions, ``k`` regressors):

1. **Prepare** (one read of the projected columns): each partition is validated (counts of
   non-finite values, non-0/1 outcomes, missing labels, reduced on the client so the error names
   the global count), its rows grouped, its uninformative groups (all 0 or all 1) counted and set
   aside, and the b = 0 sums of the informative ones formed (within-group cross products, score,
   Hessian, log-likelihood: ``_clogit_kernel.null_point``). The result stays in worker memory
   (a future per partition); only sums and the partition's group labels reach the client.
2. **Alignment**: a group whose rows lie in two partitions would be split in two. The group labels
   of step 1 are checked for a label in more than one partition; if there is one, the frame is
   shuffled by group (``DataFrame.shuffle(on=group)``: one all-to-all transfer of the projected
   columns between workers, and step 1 again) and ``DistributedFit.shuffled`` records it. Data
   written one block of parents per Parquet file (:func:`read_parquet`) are aligned and never pay this.
3. **Global decisions** on the reduced sums, exactly as in memory: dropped groups and their rows,
   regressors without within-group variation, collinear regressors (same Gram matrix, same
   :func:`~famtrial.models.design.independent_columns`), clusters that fail to nest groups.
4. **Newton on the client**: each evaluation maps ``(ll, score, Hessian)`` over the partitions and
   sums them; the start is the closed-form b = 0 point of step 1.
5. **Sandwich**: per-cluster score sums per partition, summed across partitions on the client
   (a cluster may span partitions), then ``sandwich`` as in memory.

Month effects (``time_effects=``): step 1 also returns each partition's time values; the client
sorts their union into the levels (the lowest the base), each partition forms the b = 0 time
derivatives with those levels, and the client decides the omitted levels on their sum
(:func:`~famtrial.models.clogit.time_columns`, as in memory); Newton then uses the time-effects
kernel on each partition. Group weights (``weights=``, constant within group): step 1 checks
them per partition (the errors reduced to the in-memory messages), and each evaluation uses the
in-memory weighting of the kernel's data (``x sqrt(w)``, offset ``(1 - sqrt(w)) x'b``).

The kernel runs with **one thread inside each task** (``famtrial._threads.set_max_threads(1)`` at the
start of every task; it is a per-thread setting): the cluster's parallelism is its workers x
threads, and a kernel spawning its own threads in every worker would oversubscribe the cores.
Start workers with ``threads_per_worker=1`` and as many workers as cores (``LocalCluster(n_workers=
cores, threads_per_worker=1)``, or ``dask worker --nthreads 1 --nworkers N``).

Differences from in memory, all in the bookkeeping, never in a number: the example labels in a
drop record are the first five in partition order (the same as in memory when the partitions
are consecutive blocks of the in-memory frame, as from :func:`read_parquet` of files written in order);
``results.model`` is a :class:`DistributedFit` description (the data are released from the workers
after the fit) rather than the in-memory model; ``offset``, ``weights`` and ``time_effects`` must be
column names. The logit's exact
separation check (a linear programme over all rows) runs in memory only: on a Dask DataFrame a fit
that reaches fitted probabilities within 3e-7 of 0 or 1, or whose Newton iterations fail, raises
:class:`~famtrial.errors.SeparationError` with the count and the in-memory check to run.

Dask is optional: ``pip install "famtrial[dask]"``. Without it, the functions that need it raise
:class:`DaskNotInstalledError` saying so.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit

from famtrial._options import CovType, WeightType, check_choice
from famtrial._parallel import (
    INSTALL,
    compute_parts,
    gather,
    get_client,
    is_dask_dataframe,
    read_parquet,
)
from famtrial.errors import ConvergenceError, DaskNotInstalledError, ModelInputError, SeparationError
from famtrial.models import _clogit_kernel as kernel
from famtrial.models.base import ConditionalLogitResults, DropRecord, LogitResults
from famtrial.models.covariance import Adjustment, Covariance, model_based, sandwich
from famtrial.models.design import (
    EXTREME_ETA,
    WEIGHTS_WITH_TIME,
    example_labels,
    independent_columns,
    level_labels,
    raise_weight_problems,
    time_columns,
    weight_problems,
    weights_vary_error,
)
from famtrial.models.optim import newton

__all__ = [
    "INSTALL",
    "DaskNotInstalledError",
    "DistributedFit",
    "conditional_logit",
    "is_dask_dataframe",
    "logit",
    "read_parquet",
]


def _one_thread() -> None:
    """Inside a task: the numba kernel on this thread uses one thread (numba's setting is per thread).

    The worker's memory accounting also sizes the prepared partitions by their arrays (:func:`_register_sizeof`).
    """
    from famtrial._threads import set_max_threads

    set_max_threads(1)
    _register_sizeof()


_SIZEOF_REGISTERED = False


def _register_sizeof() -> None:
    """Teach ``dask.sizeof`` the prepared partitions' size (their arrays' bytes).

    A worker's managed memory, and its spilling to disk, then count them (the default, ``sys.getsizeof``, would not).
    """
    global _SIZEOF_REGISTERED
    if _SIZEOF_REGISTERED:
        return
    from dask.sizeof import sizeof

    def size(part) -> int:
        return 1000 + sum(v.nbytes for v in part.__dict__.values() if isinstance(v, np.ndarray))

    sizeof.register(_ClogitPart)(size)
    sizeof.register(_LogitPart)(size)
    _SIZEOF_REGISTERED = True


@dataclass(frozen=True)
class DistributedFit:
    """What ``results.model`` holds for a fit on a Dask DataFrame: a description, not the data.

    ``n_partitions`` partitions were fitted (after a shuffle by group when ``shuffled``); the
    prepared partitions are released from the workers when the fit returns. ``seconds``: wall
    time of each phase (``prepare``: read, validate and reduce, the shuffle included; ``newton and
    covariance``: the fit and its sandwich). ``time_name``: the categorical time effects' name (None without them).
    """

    kind: str
    exog_names: tuple[str, ...]
    nobs: int
    n_groups: int | None
    n_partitions: int
    shuffled: bool
    dropped: tuple[DropRecord, ...]
    seconds: tuple[tuple[str, float], ...] = ()
    time_name: str | None = None


def _check_columns(ddf, needed: Sequence[str], message) -> None:
    if not is_dask_dataframe(ddf):
        raise TypeError(f"expected a dask.dataframe.DataFrame; got {type(ddf).__name__}")
    missing = [c for c in needed if c not in ddf.columns]
    if missing:
        raise ValueError(message(missing))


# ---------------------------------------------------------------------------------------------
# conditional logit: one partition
# ---------------------------------------------------------------------------------------------
class _ClogitPart:
    """A partition's informative groups in the kernel's layout (rows grouped, covariates transposed)."""

    problems: dict[str, Any]
    labels: NDArray[Any]
    n_bad: int
    bad_rows: int
    bad_examples: list[Any]
    n_groups: int
    nobs: int
    xt: NDArray[np.float64]
    y: NDArray[np.int8]
    offset: NDArray[np.float64]
    lo: NDArray[np.int64]
    hi: NDArray[np.int64]
    flip: NDArray[np.bool_]
    batches: NDArray[np.int64]
    depth: NDArray[np.int64]
    group_labels: NDArray[Any]
    cluster_of_group: NDArray[Any] | None
    spanning: int
    spanning_examples: list[Any]
    null: tuple[NDArray[np.float64], NDArray[np.float64], float, NDArray[np.float64], NDArray[np.float64]] | None
    has_offset: bool
    # weights (``weights_on``): per informative group its weight, the rows' square-root weights and the
    # kernel's weighted regressors (None without weights); the weighted number of observations
    gw: NDArray[np.float64]
    sqrt_w: NDArray[np.float64] | None
    xt_w: NDArray[np.float64] | None
    nobs_weighted: float
    weights_on: bool
    # time effects: all rows' distinct time values (None once collected); the informative rows' time
    # codes and their values (empty and None once the levels are known); each informative row's column
    # among the regressors, p + level - 1 or -1 for the base level (None until the levels are known)
    time_all: NDArray[Any] | None
    time_codes: NDArray[np.int64]
    time_uniques: NDArray[Any] | None
    time_col: NDArray[np.int64] | None

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _clogit_prepare(
    frame: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    group: str,
    cluster: str | None,
    offset: str | None,
    weights: str | None = None,
    weight_type: str = "fweight",
    time: str | None = None,
) -> _ClogitPart:
    """Validate, group and reduce one partition (the constructor of ``ConditionalLogit``, per partition).

    ``weights``: the partition's weight problems (:func:`~famtrial.models.design.weight_problems`),
    groups whose weight varies, and per informative group its weight and the kernel's weighted
    regressors. ``time``: the time values of all rows (``time_all``, for the global levels) and of
    the informative rows, factorized (``time_codes``, ``time_uniques``).
    """
    _one_thread()
    n = len(frame)
    y = frame[outcome].to_numpy()
    g = frame[group].to_numpy()
    c = frame[cluster].to_numpy() if cluster is not None else None
    off = frame[offset].to_numpy(dtype=float) if offset is not None else np.zeros(0)
    w = frame[weights].to_numpy(dtype=float) if weights is not None else None
    t = frame[time].to_numpy() if time is not None else None
    problems, y = _partition_problems(frame, y, g, c, off, w, t, covariates, weight_type)
    empty = _empty_part(len(covariates), g, c, w, t)
    if _fatal(problems) or n == 0:
        return _ClogitPart(problems=problems, **empty)
    y = y.astype(np.int8)
    # group the rows exactly as ConditionalLogit does (stable, within-group order kept)
    starts_all = np.concatenate(([0], np.flatnonzero(g[1:] != g[:-1]) + 1, [n]))
    labels = g[starts_all[:-1]]
    order = None
    if len(pd.unique(labels)) != len(labels):
        codes, labels = pd.factorize(g, sort=False)
        order = np.argsort(codes, kind="stable")
        y = y[order]
        off = off[order] if len(off) else off
        c = c[order] if c is not None else None
        w = w[order] if w is not None else None
        starts_all = np.concatenate(([0], np.flatnonzero(np.diff(codes[order])) + 1, [n]))
    sizes = np.diff(starts_all)
    ysum = np.add.reduceat(y, starts_all[:-1], dtype=np.int64)
    informative = (ysum > 0) & (ysum < sizes)
    bad = {
        "labels": labels,
        "n_bad": int((~informative).sum()),
        "bad_rows": int(sizes[~informative].sum()),
        "bad_examples": list(labels[~informative][:5]),
    }
    if w is not None:  # Stata's clogit rule: one weight per group (every group, as in memory)
        varies = np.minimum.reduceat(w, starts_all[:-1]) != np.maximum.reduceat(w, starts_all[:-1])
        problems["weights_varying"] = int(varies.sum())
        problems["weights_varying_example"] = labels[np.flatnonzero(varies)[0]] if varies.any() else None
    if not informative.any():  # a partition without an informative group contributes only counts
        return _ClogitPart(problems=problems, **{**empty, **bad})
    rows = np.repeat(informative, sizes)
    keep_all = bool(rows.all())
    index = None if keep_all else np.flatnonzero(rows)  # positions among the grouped rows
    if order is not None:
        index = order if index is None else order[index]
    kept = _Informative(rows, keep_all, index, sizes[informative], ysum[informative], labels[informative])
    return _ClogitPart(
        problems=problems,
        **bad,
        **_informative_fields(frame, covariates, kept, y, off, c, w, t, problems["cluster_na"], empty),
    )


def _partition_problems(
    frame: pd.DataFrame,
    y: NDArray[Any],
    g: NDArray[Any],
    c: NDArray[Any] | None,
    off: NDArray[np.float64],
    w: NDArray[np.float64] | None,
    t: NDArray[Any] | None,
    covariates: list[str],
    weight_type: str,
) -> tuple[dict[str, Any], NDArray[Any]]:
    """The partition's counts of what the in-memory constructor refuses, and the outcome.

    The counts are reduced on the client to its errors; the outcome is float when it is not integer.
    """
    problems: dict[str, Any] = {
        "n": len(frame),
        "outcome_nonfinite": 0,
        "x_nonfinite": [0] * len(covariates),
        "group_na": 0,
        "outcome_bad": 0,
        "outcome_examples": [],
        "offset_nonfinite": int((~np.isfinite(off)).sum()),
        "cluster_na": int(pd.isna(c).sum()) if c is not None else 0,
        "weights": (0, 0, None),
        "weights_varying": 0,
        "weights_varying_example": None,
        "time_na": 0,
    }
    if w is not None:
        problems["weights"] = weight_problems(w, weight_type)
    if t is not None:
        problems["time_na"] = int(pd.isna(t).sum())
    if y.dtype.kind not in "iub":
        y = y.astype(float)
        problems["outcome_nonfinite"] = int((~np.isfinite(y)).sum())
    # covariates are read one at a time, and only the informative groups' rows kept (memory: one copy)
    problems["x_nonfinite"] = [int(kernel.count_bad(frame[name].to_numpy(dtype=float), False)) for name in covariates]
    if g.dtype.kind not in "iub":
        problems["group_na"] = int(pd.isna(g).sum())
    if problems["outcome_nonfinite"] == 0 and kernel.count_bad(y, True):
        bad = (y != 0) & (y != 1)
        problems["outcome_bad"] = int(bad.sum())
        problems["outcome_examples"] = list(pd.unique(y[bad])[:5])
    return problems, y


def _fatal(problems: dict[str, Any]) -> bool:
    """Whether the partition has a problem that makes the fit raise (then it is not grouped or reduced)."""
    return bool(
        problems["outcome_nonfinite"]
        or any(problems["x_nonfinite"])
        or problems["group_na"]
        or problems["outcome_bad"]
        or problems["offset_nonfinite"]
        or any(problems["weights"][:2])
        or problems["time_na"]
    )


def _empty_part(
    p: int, g: NDArray[Any], c: NDArray[Any] | None, w: NDArray[Any] | None, t: NDArray[Any] | None
) -> dict[str, Any]:
    """The fields of a partition without informative groups (it contributes only counts)."""
    return {
        "labels": g[:0],
        "n_bad": 0,
        "bad_rows": 0,
        "bad_examples": [],
        "n_groups": 0,
        "nobs": 0,
        "xt": np.zeros((p, 0)),
        "y": np.zeros(0, np.int8),
        "offset": np.zeros(0),
        "lo": np.zeros(0, np.int64),
        "hi": np.zeros(0, np.int64),
        "flip": np.zeros(0, bool),
        "batches": np.zeros((0, 16), np.int64),
        "depth": np.zeros(0, np.int64),
        "group_labels": g[:0],
        "cluster_of_group": None if c is None else c[:0],
        "spanning": 0,
        "spanning_examples": [],
        "null": (np.zeros((p, p)), np.zeros(p), 0.0, np.zeros(p), np.zeros((p, p))),
        "has_offset": False,
        "gw": np.zeros(0),
        "sqrt_w": None,
        "xt_w": None,
        "nobs_weighted": 0.0,
        "weights_on": w is not None,
        "time_all": None if t is None else pd.unique(t),
        "time_codes": np.zeros(0, np.int64),
        "time_uniques": None if t is None else t[:0],
        "time_col": None,
    }


@dataclass(frozen=True)
class _Informative:
    """A grouped partition's informative groups.

    Which grouped rows (``rows``; all when ``keep_all``), their positions in the partition (``index``, None when in
    order and all kept), and per group its size, number of ones and label.
    """

    rows: NDArray[np.bool_]
    keep_all: bool
    index: NDArray[np.intp] | None
    sizes: NDArray[np.intp]
    ones: NDArray[np.int64]
    labels: NDArray[Any]


def _informative_fields(
    frame: pd.DataFrame,
    covariates: list[str],
    kept: _Informative,
    y: NDArray[np.int8],
    off: NDArray[np.float64],
    c: NDArray[Any] | None,
    w: NDArray[np.float64] | None,
    t: NDArray[Any] | None,
    cluster_na: int,
    empty: dict[str, Any],
) -> dict[str, Any]:
    """The kernel's layout of the informative groups' rows, with their b = 0 sums, weights, time codes and clusters.

    The fields of :class:`_ClogitPart` besides the problems and the dropped groups.
    """
    rows, keep_all, index = kept.rows, kept.keep_all, kept.index
    xt_i = np.empty((len(covariates), int(kept.sizes.sum())))
    for j, name in enumerate(covariates):
        col = frame[name].to_numpy(dtype=float)
        xt_i[j] = col if index is None else col[index]
    y_i = y if keep_all else y[rows]
    off_i = off if (keep_all or not len(off)) else off[rows]
    has_offset = bool(off_i.any())
    if not has_offset:
        off_i = np.zeros(0)
    bounds = np.concatenate(([0], np.cumsum(kept.sizes))).astype(np.int64)
    lo, hi = bounds[:-1], bounds[1:]
    flip, batches, depth = kernel.plan(kept.ones, kept.sizes)
    fields = {k: empty[k] for k in ("gw", "sqrt_w", "xt_w", "nobs_weighted", "weights_on", "time_all")}
    fields.update(time_codes=empty["time_codes"], time_uniques=empty["time_uniques"], time_col=empty["time_col"])
    if w is not None:
        w_i = w if keep_all else w[rows]
        fields["sqrt_w"] = np.sqrt(w_i)
        fields.update(
            gw=w_i[lo],
            xt_w=np.ascontiguousarray(xt_i * fields["sqrt_w"]),
            nobs_weighted=float((w_i[lo] * kept.sizes).sum()),
        )
    if t is not None:
        fields["time_codes"], fields["time_uniques"] = pd.factorize(t if index is None else t[index])
    cluster_of_group, spanning, spanning_examples = None, 0, []
    if c is not None and cluster_na == 0 and len(lo):
        c_i = c if keep_all else c[rows]
        codes = pd.factorize(c_i)[0]
        span = np.minimum.reduceat(codes, lo) != np.maximum.reduceat(codes, lo)
        spanning = int(span.sum())
        spanning_examples = list(pd.unique(kept.labels[span])[:5])
        cluster_of_group = c_i[lo]
    return {
        "n_groups": len(lo),
        "nobs": int(kept.sizes.sum()),
        "xt": xt_i,
        "y": y_i,
        "offset": off_i,
        "lo": lo,
        "hi": hi,
        "flip": flip,
        "batches": batches,
        "depth": depth,
        "group_labels": kept.labels,
        "cluster_of_group": cluster_of_group,
        "spanning": spanning,
        "spanning_examples": spanning_examples,
        "null": kernel.null_point(xt_i, y_i, lo, hi),
        "has_offset": has_offset,
        **fields,
    }


def _clogit_summary(part: _ClogitPart) -> dict:
    keys = (
        "problems",
        "labels",
        "n_bad",
        "bad_rows",
        "bad_examples",
        "n_groups",
        "nobs",
        "spanning",
        "spanning_examples",
        "null",
        "has_offset",
        "nobs_weighted",
        "time_all",
    )
    return {k: getattr(part, k) for k in keys}


def _clogit_restrict(part: _ClogitPart, kept: np.ndarray) -> _ClogitPart:
    fields = dict(part.__dict__)
    fields.update(xt=np.ascontiguousarray(part.xt[kept]), labels=None, null=None, time_all=None)
    if part.xt_w is not None:
        fields["xt_w"] = np.ascontiguousarray(part.xt_w[kept])
    return _ClogitPart(**fields)


def _clogit_time_null(part: _ClogitPart, levels: pd.Index):
    """Time effects at b = 0 on one partition (``ConditionalLogit._setup_time``).

    Returns the partition with its rows' columns (``time_col``: ``p + level - 1``, -1 for the base level) and ``(ll,
    score, Hessian, rows per level)``.
    """
    _one_thread()
    p = part.xt.shape[0]
    k_all = p + len(levels) - 1
    codes = levels.get_indexer(part.time_uniques)[part.time_codes] if len(part.time_codes) else part.time_codes
    col = np.where(codes > 0, p + codes - 1, -1).astype(np.int64)
    fields = dict(part.__dict__)
    fields.update(time_col=col, time_codes=np.zeros(0, np.int64), time_uniques=None)
    if part.n_groups == 0:
        return _ClogitPart(**fields), (0.0, np.zeros(k_all), np.zeros((k_all, k_all)), np.zeros(k_all - p, np.int64))
    ll0, scores0, hess0 = kernel.time_derivatives(
        part.xt, col, np.zeros(k_all), part.offset, part.y, part.lo, part.hi, True
    )
    count = np.bincount(col[col >= 0], minlength=k_all)[p:]
    return _ClogitPart(**fields), (float(ll0.sum()), scores0.sum(axis=0), hess0, count)


def _clogit_time_restrict(part, kept_x: np.ndarray, position: np.ndarray, p: int) -> _ClogitPart:
    """Keep the regressors ``kept_x`` and renumber the rows' time columns to the kept ones (``position``)."""
    part = part[0]
    fields = dict(part.__dict__)
    col = part.time_col
    fields["time_col"] = np.where(col >= 0, position[np.maximum(col, 0)], -1) if col is not None else None
    if len(kept_x) < p:
        fields["xt"] = np.ascontiguousarray(part.xt[kept_x])
    return _ClogitPart(**fields)


def _clogit_eval(part: _ClogitPart, params: np.ndarray, want_hess: bool, offset_scale: float = 1.0):
    """``(ll, score, Hessian)`` of one partition (``Hessian`` zeros when not wanted)."""
    _one_thread()
    k = len(params)
    if part.n_groups == 0:
        return 0.0, np.zeros(k), np.zeros((k, k))
    ll, scores, hess = _clogit_derivatives(part, params, want_hess, offset_scale)
    return float(ll.sum()), scores.sum(axis=0), hess


def _clogit_derivatives(part: _ClogitPart, params, want_hess: bool, offset_scale: float = 1.0):
    """Per-group log-likelihoods and scores and the Hessian, as ``ConditionalLogit._eval``.

    With time effects, group weights (the kernel sees ``x sqrt(w)`` with offset ``(1 - sqrt(w)) x'b``) or neither.
    The offset enters multiplied by ``offset_scale`` (:meth:`PreparedConditionalLogit.with_offset_scale`).
    """
    params = np.array(params, dtype=float)
    offset = part.offset * offset_scale if offset_scale != 1.0 and len(part.offset) else part.offset
    if part.time_col is not None:
        return kernel.time_derivatives(part.xt, part.time_col, params, offset, part.y, part.lo, part.hi, want_hess)
    sqrt_w, xt_w = part.sqrt_w, part.xt_w
    if sqrt_w is None or xt_w is None:  # without weights (both are set with weights)
        return kernel.derivatives(
            part.xt, params, offset, part.y, part.lo, part.hi, part.flip, part.batches, part.depth, want_hess
        )
    off = (1 - sqrt_w) * (params @ part.xt) + (offset if len(offset) else 0.0)
    ll, scores, hess = kernel.derivatives(
        xt_w, params, off, part.y, part.lo, part.hi, part.flip, part.batches, part.depth, want_hess
    )
    return ll * part.gw, scores * np.sqrt(part.gw)[:, None], hess


def group_values(
    part: _ClogitPart, params: NDArray[np.float64], offset_scale: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A prepared partition's per-group log-likelihoods ``(n_groups,)`` and scores ``(n_groups, k)`` at ``params``.

    The offset column enters times ``offset_scale``. Inside a task (:meth:`PreparedConditionalLogit.map`):
    the kernel on one thread.
    """
    _one_thread()
    ll, scores, _ = _clogit_derivatives(part, params, False, offset_scale)
    return ll, scores


def _clogit_cluster_scores(part: _ClogitPart, params: np.ndarray, by_group: bool, offset_scale: float = 1.0):
    """Per-cluster sums of the group scores, with their labels.

    ``by_group``: the group scores themselves; with weights, per group always. Returns (cluster or group labels, scores,
    group weights).
    """
    _one_thread()
    k = len(params)
    if part.n_groups == 0:
        return part.group_labels[:0], np.zeros((0, k)), np.zeros(0)
    _, scores, _ = _clogit_derivatives(part, params, False, offset_scale)
    if by_group or part.weights_on:
        return (part.group_labels if by_group else part.cluster_of_group), scores, part.gw
    codes, uniques = pd.factorize(part.cluster_of_group, sort=False)
    sums = np.zeros((len(uniques), k))
    np.add.at(sums, codes, scores)
    return np.asarray(uniques), sums, None


def _sum_evals(results: list) -> tuple[float, np.ndarray, np.ndarray]:
    ll = sum(r[0] for r in results)
    return ll, np.sum([r[1] for r in results], axis=0), np.sum([r[2] for r in results], axis=0)


def _raise_problems(problems: list[dict], covariates: Sequence[str], weight_type: str | None = None) -> None:
    """The in-memory constructor's validation errors, with global counts, in its order."""
    total = {
        key: sum(pr[key] for pr in problems)
        for key in ("outcome_nonfinite", "group_na", "outcome_bad", "offset_nonfinite")
    }
    fix = "drop or impute those rows before fitting (famtrial.load_panel(..., missing='drop') counts them)"
    if total["outcome_nonfinite"]:
        raise ValueError(f"column 'outcome' has {total['outcome_nonfinite']:,} missing or infinite values; {fix}")
    for j, name in enumerate(covariates):
        bad = sum(pr["x_nonfinite"][j] for pr in problems)
        if bad:
            raise ValueError(f"column {name!r} has {bad:,} missing or infinite values; {fix}")
    if total["group_na"]:
        raise ValueError(f"the group column has {total['group_na']:,} missing labels; drop those rows first")
    if total["outcome_bad"]:
        examples = [v for pr in problems for v in pr["outcome_examples"]]
        raise ValueError(
            f"the outcome must be 0/1; {total['outcome_bad']:,} rows have other values "
            f"(e.g. {example_labels(np.asarray(examples))}); recode it to 0/1"
        )
    if total["offset_nonfinite"]:
        raise ValueError(f"column 'offset' has {total['offset_nonfinite']:,} missing or infinite values; {fix}")
    if weight_type is not None:
        n = sum(pr["n"] for pr in problems)
        w_bad, w_fractional = (sum(pr["weights"][i] for pr in problems) for i in (0, 1))
        example = next((pr["weights"][2] for pr in problems if pr["weights"][2] is not None), None)
        raise_weight_problems(n, w_bad, w_fractional, example, weight_type)


def _raise_weights_varying(problems: list[dict]) -> None:
    """``ConditionalLogit._set_group_weights``'s error: the first group (in partition order) and the count."""
    varying = sum(pr["weights_varying"] for pr in problems)
    if varying:
        raise weights_vary_error(
            next(pr["weights_varying_example"] for pr in problems if pr["weights_varying"]), varying
        )


def _weight_sum(part: _ClogitPart) -> float:
    return float(part.gw.sum())


def _second(pair):
    return pair[1]


def _column_names(**values: object) -> list[str | None]:
    """The values, each a column name or None (with a Dask DataFrame an array cannot be given)."""
    names: list[str | None] = []
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be a column name with a Dask DataFrame; got {type(value).__name__}")
        names.append(value)
    return names


@dataclass(frozen=True)
class _ClogitGlobal:
    """Step 3's decisions, made on the sums reduced over the partitions exactly as in memory."""

    dropped: tuple[DropRecord, ...]
    n_groups: int
    nobs: int
    kept: NDArray[np.intp]  # the regressors kept (positions among the covariates)
    names: list[str]
    null: tuple[float, NDArray[np.float64], NDArray[np.float64]] | None  # b = 0: (ll, score, Hessian)
    cov_type: CovType
    levels: pd.Index | None  # the time effects' levels (None without them)


def conditional_logit(
    data,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    cluster: str | None = None,
    *,
    robust: bool = False,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    offset: str | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
    time_effects: str | None = None,
    client=None,
    tol: float = 1e-18,
    maxiter: int = 100,
) -> ConditionalLogitResults:
    """Exact fixed-effects logit of a Dask DataFrame: the numbers of the in-memory fit, computed partition by partition.

    Arguments as :func:`famtrial.models.clogit.conditional_logit` (which calls this when given a
    Dask DataFrame); ``offset`` is a column name; ``client`` a ``dask.distributed.Client``
    (default: the current one); ``tol`` and ``maxiter`` Newton's, as in ``ConditionalLogit.fit``.
    ``weights`` (a column name; constant within each group, Stata's clogit rule, else an error
    naming the first group) and ``weight_type`` as :class:`~famtrial.models.clogit.ConditionalLogit`;
    ``time_effects`` a categorical time column: its levels are collected over all partitions in a
    first pass (sorted, the lowest the base), then the in-memory omissions are decided on the
    b = 0 information matrix summed over partitions. Not both (as in memory).
    The model, drop rules, Newton iterations and sandwich ``G/(G-1) (-H)^-1 (sum_c u_c u_c') (-H)^-1``
    are those of :class:`~famtrial.models.clogit.ConditionalLogit`; see the module docs for how
    they are distributed (steps 1 to 5 below). Stata: ``clogit outcome covariates, group(group) vce(cluster cluster)``.
    R: ``survival::clogit(outcome ~ covariates + strata(group), method = "exact")``.
    """
    clock = [time.perf_counter()]
    prepared = prepare_conditional_logit(
        data,
        outcome,
        covariates,
        group,
        cluster,
        robust=robust,
        offset=offset,
        weights=weights,
        weight_type=weight_type,
        time_effects=time_effects,
        client=client,
    )
    clock.append(time.perf_counter())
    with prepared:
        fit = prepared.fit(adjustment=adjustment, t_reference=t_reference, tol=tol, maxiter=maxiter)  # steps 4, 5
    clock.append(time.perf_counter())
    model = prepared.describe(tuple(zip(("prepare", "newton and covariance"), np.diff(clock).tolist())))
    return replace(fit, model=model)  # type: ignore[arg-type]  # results.model of a Dask fit: a DistributedFit


def _clogit_results(
    outcome: str, opt: Any, cov: Covariance, llnull: float, prepared: PreparedConditionalLogit, info: Any, model: Any
) -> ConditionalLogitResults:
    """The results object of a fit of ``prepared`` (``model``: what ``results.model`` holds)."""
    decided, n_parts = prepared.decided, prepared.n_partitions
    return ConditionalLogitResults(
        model_name="Conditional (fixed-effects) logit, exact likelihood",
        outcome=outcome,
        params=pd.Series(opt.x, index=prepared.exog_names, name="params"),
        covariance=cov,
        nobs=decided.nobs,
        llf=opt.llf,
        llnull=llnull,
        converged=opt.converged,
        iterations=opt.iterations,
        dropped=prepared.dropped,
        info=(
            ("Groups", f"{decided.n_groups:,}"),
            *info,
            ("Dask partitions", f"{n_parts:,}" + (" (shuffled by group)" if prepared.shuffled else "")),
        ),
        n_groups=decided.n_groups,
        model=model,  # a DistributedFit (or the PreparedConditionalLogit while it is kept), by design
    )


def prepare_conditional_logit(
    data,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    cluster: str | None = None,
    *,
    robust: bool = False,
    offset: str | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
    time_effects: str | None = None,
    client=None,
) -> PreparedConditionalLogit:
    """Steps 1 to 3 of :func:`conditional_logit`: the model prepared on the workers and kept there.

    Arguments as :func:`conditional_logit`. The returned :class:`PreparedConditionalLogit` evaluates
    the log-likelihood, its derivatives and the cluster sums of the group scores at any coefficients,
    one pass over the kept partitions each, until :meth:`~PreparedConditionalLogit.release` (or the end
    of its ``with`` block) frees the workers' memory.
    """
    spec = _clogit_arguments(
        data, outcome, covariates, group, cluster, robust, offset, weights, weight_type, time_effects
    )
    client = get_client(client)
    ddf = data[list(dict.fromkeys([outcome, *spec["covariates"], group, *(c for c in _clogit_extras(spec) if c)]))]
    parts, summaries, shuffled = _clogit_prepare_aligned(client, ddf, spec)  # steps 1 and 2
    decided = _clogit_global(summaries, spec, robust)  # step 3
    del summaries
    if len(decided.kept) != len(spec["covariates"]):
        parts = client.map(_clogit_restrict, parts, kept=decided.kept, pure=False)
    names, null, dropped = decided.names, decided.null, decided.dropped
    if decided.levels is not None:
        parts, names, null, time_dropped = _clogit_time_effects(client, parts, decided.levels, names, spec["time"])
        dropped = (*dropped, *time_dropped)
    return PreparedConditionalLogit(client, parts, spec, decided, list(names), null, tuple(dropped), shuffled)


class PreparedConditionalLogit:
    """An exact conditional logit prepared on a Dask cluster: its partitions' kernel arrays kept by the workers.

    Made by :func:`prepare_conditional_logit`. Each evaluation maps over the kept partitions and sums
    on the client (one pass, nothing but sums travels): :meth:`derivatives` and :meth:`gradient` (the
    interface :func:`famtrial.models.optim.newton` and the score bootstrap use), :meth:`cluster_score_sums`
    and :meth:`cluster_masses` (the score bootstrap's cluster sums and shares), :meth:`map` (any function
    of a partition's prepared arrays). :meth:`release` frees the workers' memory; the object is a context
    manager that releases on exit.
    """

    def __init__(
        self,
        client: Any,
        parts: list[Any],
        spec: dict[str, Any],
        decided: _ClogitGlobal,
        names: list[str],
        null: tuple[float, NDArray[np.float64], NDArray[np.float64]] | None,
        dropped: tuple[DropRecord, ...],
        shuffled: bool,
    ) -> None:
        self.client, self.parts, self.spec, self.decided = client, parts, spec, decided
        self.exog_names, self.null, self.dropped, self.shuffled = names, null, dropped, shuffled
        self.n_partitions = len(parts)
        self.nobs, self.n_groups = decided.nobs, decided.n_groups
        self.offset_scale = 1.0

    def with_offset_scale(self, scale: float) -> PreparedConditionalLogit:
        """The same prepared model (sharing its partitions) with its offset column multiplied by ``scale``.

        ``scale = 0`` is the model without the offset; small ``scale`` moves it along the offset's
        direction (the score randomization's differences). Release the original, not the copy.
        """
        other = copy.copy(self)
        other.offset_scale = float(scale)
        return other

    def __enter__(self) -> PreparedConditionalLogit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Free the prepared partitions on the workers (later evaluations raise)."""
        if self.parts:
            self.client.cancel(self.parts)
        self.parts = []

    def _parts(self) -> list[Any]:
        if not self.parts and self.n_partitions:
            raise RuntimeError("the prepared conditional logit was released: prepare it again")
        return self.parts

    def derivatives(self, params: ArrayLike) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        """Log-likelihood, score and Hessian at ``params``, summed over the partitions."""
        return _sum_evals(
            gather(
                self.client,
                _clogit_eval,
                self._parts(),
                params=np.asarray(params),
                want_hess=True,
                offset_scale=self.offset_scale,
            )
        )

    def gradient(self, params: ArrayLike) -> tuple[float, NDArray[np.float64]]:
        """Log-likelihood and score at ``params`` (no Hessian: Newton's chord steps)."""
        ll, score, _ = _sum_evals(
            gather(
                self.client,
                _clogit_eval,
                self._parts(),
                params=np.asarray(params),
                want_hess=False,
                offset_scale=self.offset_scale,
            )
        )
        return ll, score

    def covariance(
        self, params: NDArray[np.float64], bread: NDArray[np.float64], *, adjustment: Adjustment, t_reference: bool
    ) -> tuple[Covariance, tuple[tuple[str, str], ...]]:
        """Step 5: the fit's covariance at ``params`` and its info lines (:func:`conditional_logit`)."""
        return _clogit_sandwich(
            self.client,
            self._parts(),
            params,
            bread,
            self.decided,
            self.spec,
            adjustment=adjustment,
            t_reference=t_reference,
        )

    def fit(
        self, *, adjustment: Adjustment = "stata", t_reference: bool = False, tol: float = 1e-18, maxiter: int = 100
    ) -> ConditionalLogitResults:
        """Steps 4 and 5: Newton from the b = 0 point and the covariance; ``results.model`` is this object.

        Arguments as :func:`conditional_logit`. The results' model keeps the prepared partitions for
        post-estimation that evaluates the likelihood again (the score bootstrap's restricted fits) until
        :meth:`release`.
        """
        k = len(self.exog_names)
        opt = newton(self.derivatives, np.zeros(k), initial=self.null, gradient=self.gradient, tol=tol, maxiter=maxiter)
        cov, info = self.covariance(opt.x, np.linalg.inv(-opt.hessian), adjustment=adjustment, t_reference=t_reference)
        llnull = self.null[0] if self.null is not None else self.derivatives(np.zeros(k))[0]
        return _clogit_results(self.spec["outcome"], opt, cov, llnull, self, info, self)

    def describe(self, seconds: tuple[tuple[str, float], ...] = ()) -> DistributedFit:
        """What a fit's ``results.model`` keeps once the partitions are released: a :class:`DistributedFit`."""
        return DistributedFit(
            kind="conditional logit",
            exog_names=tuple(self.exog_names),
            nobs=self.nobs,
            n_groups=self.n_groups,
            n_partitions=self.n_partitions,
            shuffled=self.shuffled,
            dropped=self.dropped,
            seconds=seconds,
            time_name=self.spec["time"],
        )

    def map(self, fn: Any, **kwargs: Any) -> list[Any]:
        """``fn(part, **kwargs)`` of every kept partition (a ``_ClogitPart``: the kernel's arrays), gathered in order."""
        return gather(self.client, fn, self._parts(), **kwargs)

    def cluster_masses(self) -> pd.Series:
        """Each cluster's observations in the estimation sample (rows of the informative groups), by label.

        Ordered by each cluster's smallest group label: the order in which an in-memory model sorted
        by group meets them.
        """
        if self.spec["cluster"] is None or self.spec["weights"] is not None:
            raise ValueError("cluster_masses needs a clustered, unweighted model")
        pieces = self.map(_clogit_cluster_rows)
        rows = pd.concat([p[0] for p in pieces]).groupby(level=0, sort=False).sum()
        first = pd.concat([p[1] for p in pieces]).groupby(level=0, sort=False).min()
        return rows.loc[first.sort_values(kind="stable").index]

    def cluster_score_sums(self, params: ArrayLike) -> pd.DataFrame:
        """The group scores at ``params`` summed by cluster (one row per cluster label, one column per coefficient)."""
        pieces = self.map(
            _clogit_cluster_scores,
            params=np.asarray(params, dtype=float),
            by_group=False,
            offset_scale=self.offset_scale,
        )
        frame = pd.concat([pd.DataFrame(p[1], index=p[0]) for p in pieces])
        return frame.groupby(level=0, sort=False).sum()


def _clogit_cluster_rows(part: _ClogitPart) -> tuple[pd.Series, pd.Series]:
    """A partition's estimation rows per cluster and each cluster's smallest group label."""
    if part.n_groups == 0 or part.cluster_of_group is None:
        return pd.Series(dtype=float), pd.Series(dtype=object)
    sizes = (part.hi - part.lo).astype(float)
    clusters = pd.Series(part.cluster_of_group)
    rows = pd.Series(sizes).groupby(clusters.to_numpy(), sort=False).sum()
    first = pd.Series(part.group_labels).groupby(clusters.to_numpy(), sort=False).min()
    return rows, first


def _clogit_extras(spec: dict[str, Any]) -> list[str | None]:
    """The optional columns a fit reads besides the outcome, covariates and group."""
    return [spec["cluster"], spec["offset"], spec["weights"], spec["time"]]


def _clogit_arguments(
    data: Any,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    cluster: str | None,
    robust: bool,
    offset: str | None,
    weights: ArrayLike | str | None,
    weight_type: WeightType,
    time_effects: str | None,
) -> dict[str, Any]:
    """The arguments checked (as in memory, before any work) as the keywords of :func:`_clogit_prepare`."""
    if cluster is not None and robust:
        raise ValueError("give either cluster= or robust=True, not both")
    covariates = list(covariates)
    offset, weight_column, time_effects = _column_names(offset=offset, weights=weights, time_effects=time_effects)
    check_choice(weight_type, WeightType, "weight_type")
    if weight_column is not None and time_effects is not None:
        raise ModelInputError(WEIGHTS_WITH_TIME)
    extras = [c for c in (offset, weight_column, time_effects) if c]
    _check_columns(data, [outcome, *covariates, group, *extras], lambda m: f"columns not in the data: {m}")
    _check_columns(data, [cluster] if cluster else [], lambda m: f"cluster column {m[0]!r} is not in the data")
    return {
        "outcome": outcome,
        "covariates": covariates,
        "group": group,
        "cluster": cluster,
        "offset": offset,
        "weights": weight_column,
        "weight_type": weight_type,
        "time": time_effects,
    }


def _clogit_prepare_aligned(client: Any, ddf: Any, spec: dict[str, Any]) -> tuple[list[Any], list[dict], bool]:
    """Steps 1 and 2: every partition prepared, then shuffled by group when a group's rows lie in several partitions.

    Validation errors are raised with global counts. Returns the parts, their summaries and whether the frame was
    shuffled.
    """
    parts = compute_parts(client, ddf, _clogit_prepare, **spec)
    summaries = gather(client, _clogit_summary, parts)
    weighted = spec["weight_type"] if spec["weights"] is not None else None
    _raise_problems([s["problems"] for s in summaries], spec["covariates"], weighted)
    labels = [s["labels"] for s in summaries]
    if len(labels) > 1 and pd.Index(np.concatenate(labels)).has_duplicates:
        # some group's rows lie in several partitions: bring each group's rows together
        del parts
        ddf = ddf.shuffle(on=spec["group"], npartitions=ddf.npartitions)
        parts = compute_parts(client, ddf, _clogit_prepare, **spec)
        return parts, gather(client, _clogit_summary, parts), True
    return parts, summaries, False


def _clogit_global(summaries: list[dict], spec: dict[str, Any], robust: bool) -> _ClogitGlobal:
    """Step 3: the in-memory constructor's decisions on the partitions' sums, in its order.

    Groups without outcome variation, regressors without within-group variation or collinear, weights, clusters that
    fail to nest groups, the time effects' levels.
    """
    covariates, weights, weight_type = spec["covariates"], spec["weights"], spec["weight_type"]
    dropped: list[DropRecord] = []
    n_bad = sum(s["n_bad"] for s in summaries)
    if n_bad:
        examples: Sequence[Any] = [e for s in summaries for e in s["bad_examples"]][:5]
        dropped.append(
            DropRecord(
                "groups",
                n_bad,
                f"all positive or all negative outcomes ({sum(s['bad_rows'] for s in summaries):,} rows)",
                tuple(map(str, examples)),
            )
        )
    n_groups = sum(s["n_groups"] for s in summaries)
    if n_groups == 0:
        raise ValueError(
            "no group has variation in the outcome (every group is all 0 or all 1): the conditional likelihood is empty"
        )
    nobs = sum(s["nobs"] for s in summaries)
    gram, sumsq, ll0, score0, hess0 = (sum(s["null"][i] for s in summaries) for i in range(5))
    constant = np.diag(gram) <= 1e-20 * np.maximum(sumsq, 1.0)
    for j in np.flatnonzero(constant):
        dropped.append(DropRecord("variable", 0, "no within-group variation", (covariates[j],)))
    candidates = np.flatnonzero(~constant)
    kept = candidates[independent_columns(gram[np.ix_(candidates, candidates)])]
    for j in sorted(set(candidates) - set(kept)):
        dropped.append(DropRecord("variable", 0, "collinear with earlier regressors", (covariates[j],)))
    if weights is not None:
        _raise_weights_varying([s["problems"] for s in summaries])
        if weight_type == "fweight":
            nobs = int(round(sum(s["nobs_weighted"] for s in summaries)))
    cov_type: CovType = (
        "cluster"
        if spec["cluster"] is not None
        else ("robust" if robust or weight_type == "pweight" and weights else "nonrobust")
    )
    if cov_type == "cluster":
        _raise_cluster_problems(summaries)
    has_offset = any(s["has_offset"] for s in summaries)
    return _ClogitGlobal(
        dropped=tuple(dropped),
        n_groups=n_groups,
        nobs=nobs,
        kept=kept,
        names=[covariates[j] for j in kept],
        null=None if has_offset or weights is not None else (ll0, score0[kept], hess0[np.ix_(kept, kept)]),
        cov_type=cov_type,
        levels=None if spec["time"] is None else _time_levels(summaries, spec["time"]),
    )


def _raise_cluster_problems(summaries: list[dict]) -> None:
    """``ConditionalLogit.clusters_of_groups``' errors: missing cluster labels, groups spanning clusters."""
    na = sum(s["problems"]["cluster_na"] for s in summaries)
    if na:
        raise ValueError(f"the cluster column has {na:,} missing labels; drop those rows first")
    spanning = sum(s["spanning"] for s in summaries)
    if spanning:
        examples = np.asarray([e for s in summaries for e in s["spanning_examples"]], dtype=object)
        raise ValueError(
            f"clusters must nest groups: {spanning:,} groups span several clusters "
            f"(e.g. groups {example_labels(examples)}); cluster on a variable "
            "that is constant within each group (e.g. office, not month)"
        )


def _time_levels(summaries: list[dict], time_effects: str) -> pd.Index:
    """The time effects' levels: the sorted union of the partitions' values (missing values an error)."""
    n_missing = sum(s["problems"]["time_na"] for s in summaries)
    if n_missing:
        raise ValueError(f"the time column {time_effects!r} has {n_missing:,} missing values; drop those rows first")
    values = [s["time_all"] for s in summaries if s["time_all"] is not None and len(s["time_all"])]
    return pd.Index(pd.factorize(np.concatenate(values), sort=True)[1])


def _clogit_time_effects(
    client: Any, parts: list[Any], levels: pd.Index, names: list[str], time_effects: str
) -> tuple[list[Any], list[str], tuple[float, NDArray[np.float64], NDArray[np.float64]], list[DropRecord]]:
    """``ConditionalLogit._setup_time`` on sums over partitions.

    Returns the parts with their rows' time columns, the kept names, the b = 0 point and the omitted levels' records.
    """
    pairs = client.map(_clogit_time_null, parts, levels=levels, pure=False)
    stats = gather(client, _second, pairs)
    labels = level_labels(levels)
    k_x = len(names)
    hess = np.sum([st[2] for st in stats], axis=0)
    time_kept, all_names, time_dropped = time_columns(
        -hess, np.sum([st[3] for st in stats], axis=0), names, [f"{time_effects}[{lab}]" for lab in labels[1:]]
    )
    position = np.full(k_x + len(levels) - 1, -1, np.int64)
    position[time_kept] = np.arange(len(time_kept))
    parts = client.map(
        _clogit_time_restrict, pairs, kept_x=time_kept[time_kept < k_x], position=position, p=k_x, pure=False
    )
    del pairs
    null = (
        sum(st[0] for st in stats),
        np.sum([st[1] for st in stats], axis=0)[time_kept],
        hess[np.ix_(time_kept, time_kept)],
    )
    return parts, [all_names[j] for j in time_kept], null, time_dropped


def _clogit_sandwich(
    client: Any,
    parts: list[Any],
    params: NDArray[np.float64],
    bread: NDArray[np.float64],
    decided: _ClogitGlobal,
    spec: dict[str, Any],
    *,
    adjustment: Adjustment,
    t_reference: bool,
) -> tuple[Covariance, tuple[tuple[str, str], ...]]:
    """Step 5: the covariance (per-cluster score sums per partition, summed on the client) and its info lines."""
    cov_type, weights, weight_type = decided.cov_type, spec["weights"], spec["weight_type"]
    info: tuple[tuple[str, str], ...] = ()
    if cov_type == "nonrobust":
        cov = model_based(bread)
    else:
        pieces = gather(client, _clogit_cluster_scores, parts, params=params, by_group=cov_type == "robust")
        scores = np.concatenate([pc[1] for pc in pieces])
        score_labels = np.concatenate([pc[0] for pc in pieces])
        if weights is not None and weight_type == "fweight":  # the expanded data's sandwich, as in memory
            gw = np.concatenate([pc[2] for pc in pieces])
            cov = sandwich(
                bread,
                scores / gw[:, None],
                None if cov_type == "robust" else score_labels,
                adjustment=adjustment,
                nobs=decided.nobs,
                t_reference=t_reference,
                frequency=gw,
            )
        else:
            cov = sandwich(
                bread, scores, score_labels, adjustment=adjustment, nobs=decided.nobs, t_reference=t_reference
            )
        info = (("Clusters", f"{cov.n_clusters:,}"),)
        if cov_type == "cluster":  # as the in-memory fit: the cluster variable's name
            info += (("Cluster variable", str(spec["cluster"])),)
    if weights is not None:
        total = sum(gather(client, _weight_sum, parts))
        info = (("Weights", f"{weight_type} (one per group, sum {total:,.6g})"), *info)
    return cov, info


# ---------------------------------------------------------------------------------------------
# logit: one partition
# ---------------------------------------------------------------------------------------------
class _LogitPart:
    problems: dict[str, Any]
    y: NDArray[np.float64]
    x: NDArray[np.float64]
    offset: NDArray[np.float64]
    clusters: NDArray[Any] | None

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _logit_prepare(
    frame: pd.DataFrame, outcome: str, covariates: list[str], cluster: str | None, offset: str | None
) -> _LogitPart:
    _register_sizeof()
    n = len(frame)
    y = frame[outcome].to_numpy(dtype=float)
    x = np.empty((n, len(covariates)))
    for j, col in enumerate(covariates):
        x[:, j] = frame[col].to_numpy(dtype=float)
    off = frame[offset].to_numpy(dtype=float) if offset is not None else np.zeros(n)
    c = frame[cluster].to_numpy() if cluster is not None else None
    nonfinite = [int((~np.isfinite(col)).sum()) for col in (y, off, *x.T)]
    bad01 = int((~np.isin(y, (0.0, 1.0))).sum())
    problems = {
        "n": n,
        "nonfinite": nonfinite,
        "bad01": bad01,
        "cluster_na": int(pd.isna(c).sum()) if c is not None else 0,
    }
    return _LogitPart(problems=problems, y=y, x=x, offset=off, clusters=c)


def _logit_problems(part: _LogitPart) -> dict:
    return part.problems


def _keep_mask(part: _LogitPart, exclusions: list[tuple[int, float]]) -> np.ndarray:
    keep = np.ones(len(part.y), dtype=bool)
    for j, value in exclusions:
        keep &= part.x[:, j] != value
    return keep


def _logit_stats(part: _LogitPart, exclusions: list[tuple[int, float]]) -> dict:
    """One partition's statistics for Stata's perfect-prediction rule, among the rows not yet excluded.

    Per regressor: whether it is 0/1 and, for each value, the row count and the outcome's min and max; the Gram matrix
    of ``[1, x]`` and the outcome's sum.
    """
    keep = _keep_mask(part, exclusions)
    x, y = part.x[keep], part.y[keep]
    p = x.shape[1]
    binary = np.isin(x, (0.0, 1.0)).all(axis=0) if len(y) else np.ones(p, bool)
    counts = np.zeros((p, 2), np.int64)
    ymin = np.full((p, 2), np.inf)
    ymax = np.full((p, 2), -np.inf)
    for j in np.flatnonzero(binary):
        for i, value in enumerate((1.0, 0.0)):
            on = x[:, j] == value
            counts[j, i] = int(on.sum())
            if counts[j, i]:
                ymin[j, i], ymax[j, i] = y[on].min(), y[on].max()
    xc = np.column_stack([np.ones(len(y)), x])
    return {
        "n": len(y),
        "binary": binary,
        "counts": counts,
        "ymin": ymin,
        "ymax": ymax,
        "gram": xc.T @ xc,
        "ysum": float(y.sum()),
        "offset_any": bool(part.offset[keep].any()),
    }


def _logit_restrict(part: _LogitPart, exclusions, columns: np.ndarray) -> _LogitPart:
    """The rows and columns the fit uses: ``columns`` index ``[1, x]`` (0 is the intercept)."""
    keep = _keep_mask(part, exclusions)
    x = np.column_stack([np.ones(int(keep.sum())), part.x[keep]])[:, columns]
    return _LogitPart(
        y=part.y[keep],
        x=np.ascontiguousarray(x),
        offset=part.offset[keep],
        clusters=part.clusters[keep] if part.clusters is not None else None,
    )


def _logit_eval(part: _LogitPart, params: np.ndarray, columns: np.ndarray | None = None):
    """Log-likelihood, gradient ``X'(y - p)`` and Hessian ``-X' diag(p(1-p)) X`` (as ``Logit.derivatives``)."""
    x = part.x if columns is None else part.x[:, columns]
    eta = x @ np.asarray(params, dtype=float) + part.offset
    prob = expit(eta)
    ll = float(np.sum(part.y * eta + log_expit(-eta)))
    return ll, x.T @ (part.y - prob), -(x * (prob * (1 - prob))[:, None]).T @ x


def _logit_final(part: _LogitPart, params: np.ndarray, scores: bool):
    """``max |eta|`` and, with ``scores``, the per-cluster sums of the row scores with their labels."""
    eta = part.x @ params + part.offset
    big = float(np.abs(eta).max()) if len(eta) else 0.0
    if not scores:
        return big, None, None
    u = part.x * (part.y - expit(eta))[:, None]
    codes, uniques = pd.factorize(part.clusters, sort=False)
    sums = np.zeros((len(uniques), u.shape[1]))
    np.add.at(sums, codes, u)
    return big, np.asarray(uniques), sums


def logit(
    data,
    outcome: str,
    covariates: Sequence[str],
    cluster: str | None = None,
    *,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    fixed_effects: str | None = None,
    offset: str | None = None,
    client=None,
    maxiter: int = 100,
) -> LogitResults:
    """Logit with an intercept on a Dask DataFrame: the numbers of :func:`famtrial.models.logit.logit`.

    Stata's perfect-prediction rule for 0/1 regressors, the collinearity drops, Newton from
    ``logit(mean y)`` and the cluster-robust sandwich are those of
    :class:`~famtrial.models.logit.Logit`, decided on sums reduced over partitions (one pass, plus
    one per perfect-prediction drop). ``fixed_effects`` is not supported on a Dask DataFrame.
    For the monthly series, call it on one month's rows (``ddf[ddf.month == m]``, or
    :func:`read_parquet` with ``filters``). Stata: ``logit outcome covariates, vce(cluster cluster)``.
    R: ``glm(outcome ~ covariates, binomial)`` + ``sandwich::vcovCL(fit, cluster = ~cluster, type = "HC0")``.
    """
    covariates = _logit_arguments(data, outcome, covariates, cluster, fixed_effects, offset)
    client = get_client(client)
    ddf = data[list(dict.fromkeys([outcome, *covariates, *(c for c in (cluster, offset) if c)]))]
    parts = compute_parts(
        client, ddf, _logit_prepare, outcome=outcome, covariates=covariates, cluster=cluster, offset=offset
    )
    problems = gather(client, _logit_problems, parts)
    n_input = _raise_logit_problems(problems, covariates)
    exclusions, dropped, stats = _perfect_prediction_rounds(client, parts, covariates)
    n_keep, ysum = sum(s["n"] for s in stats), sum(s["ysum"] for s in stats)
    if n_keep == 0 or ysum in (0, n_keep):
        what = f"{int(ysum > 0)} in all {n_keep:,} remaining rows" if n_keep else "left with no rows"
        raise SeparationError(
            f"the outcome is {what}"
            + (" after the perfect-prediction drops" if dropped else "")
            + ": nothing to estimate"
        )
    kept, names = _logit_columns(stats, covariates, {j for j, _ in exclusions}, dropped)
    has_offset = any(s["offset_any"] for s in stats)
    del stats
    if cluster is not None:
        na = sum(pr["cluster_na"] for pr in problems)
        if na:
            raise ValueError(
                f"the cluster labels have {na:,} missing values of {n_input:,}; fill or drop those rows first"
            )
    parts = client.map(_logit_restrict, parts, exclusions=exclusions, columns=kept, pure=False)
    opt, finals = _logit_newton(client, parts, kept, ysum / n_keep, cluster is not None, maxiter)
    bread = np.linalg.inv(-opt.hessian)
    info: tuple = ()
    if cluster is None:
        cov = model_based(bread)
    else:
        cov = sandwich(
            bread,
            np.concatenate([f[2] for f in finals]),
            np.concatenate([f[1] for f in finals]),
            adjustment=adjustment,
            nobs=n_keep,
            t_reference=t_reference,
        )
        info = (("Clusters", f"{cov.n_clusters:,}"),)
    llnull = _logit_llnull(client, parts, kept, has_offset, ysum, n_keep)
    n_parts = len(parts)
    client.cancel(parts)
    model = DistributedFit(
        kind="logit",
        exog_names=tuple(names),
        nobs=n_keep,
        n_groups=None,
        n_partitions=n_parts,
        shuffled=False,
        dropped=tuple(dropped),
    )
    return LogitResults(
        model_name="Logit (maximum likelihood)",
        outcome=outcome,
        params=pd.Series(opt.x, index=names, name="params"),
        covariance=cov,
        nobs=n_keep,
        llf=opt.llf,
        llnull=llnull,
        converged=opt.converged,
        iterations=opt.iterations,
        dropped=tuple(dropped),
        info=(*info, ("Dask partitions", f"{n_parts:,}")),
        model=model,  # type: ignore[arg-type]  # a DistributedFit, by design
    )


def _logit_arguments(
    data: Any, outcome: str, covariates: Sequence[str], cluster: str | None, fixed_effects: str | None, offset: Any
) -> list[str]:
    """The arguments checked before any work (as in memory): the covariates as a list."""
    covariates = list(covariates)
    if fixed_effects is not None:
        raise ValueError(
            f"fixed_effects={fixed_effects!r} is not supported on a Dask DataFrame; add the dummies "
            "as columns, or fit the conditional logit (famtrial.conditional_logit) for many levels"
        )
    if offset is not None and not isinstance(offset, str):
        raise TypeError(f"offset must be a column name with a Dask DataFrame; got {type(offset).__name__}")
    cols = list(data.columns) if is_dask_dataframe(data) else []
    _check_columns(
        data, [cluster] if cluster else [], lambda m: f"cluster column {m[0]!r} is not in the data (columns: {cols})"
    )
    _check_columns(data, [outcome], lambda m: f"outcome column {m[0]!r} is not in the data (columns: {cols})")
    _check_columns(data, [offset] if offset else [], lambda m: f"offset column {m[0]!r} is not in the data")
    _check_columns(data, covariates, lambda m: f"columns {m} are not in the data (columns: {cols})")
    return covariates


def _raise_logit_problems(problems: list[dict], covariates: list[str]) -> int:
    """``Logit``'s validation errors with global counts (non-finite values, a non-0/1 outcome); the rows."""
    n_input = sum(pr["n"] for pr in problems)
    for i, name in enumerate(["outcome", "offset", *covariates]):
        bad = sum(pr["nonfinite"][i] for pr in problems)
        if bad:
            raise ValueError(
                f"column {name!r} has {bad:,} missing or infinite values of {n_input:,}; drop or impute those rows first"
            )
    bad01 = sum(pr["bad01"] for pr in problems)
    if bad01:
        raise ValueError(f"the outcome must be 0/1; {bad01:,} of {n_input:,} rows have other values")
    return n_input


def _perfect_prediction_rounds(
    client: Any, parts: list[Any], covariates: list[str]
) -> tuple[list[tuple[int, float]], list[DropRecord], list[dict]]:
    """Stata's perfect-prediction rule, regressor by regressor, on sums over partitions.

    A drop changes the rows the later ones see. Returns the exclusions (column, value), the drop records and the last
    round's per-partition statistics (of the rows left).
    """
    p = len(covariates)
    exclusions: list[tuple[int, float]] = []
    dropped: list[DropRecord] = []
    start_col = 0
    while True:
        stats = gather(client, _logit_stats, parts, exclusions=exclusions)
        n_keep = sum(s["n"] for s in stats)
        binary = np.all([s["binary"] for s in stats], axis=0)
        counts = np.sum([s["counts"] for s in stats], axis=0)
        ymin = np.min([s["ymin"] for s in stats], axis=0)
        ymax = np.max([s["ymax"] for s in stats], axis=0)
        found = next(
            (
                (j, i)
                for j in range(start_col, p)
                if binary[j]
                for i in range(2)
                if 0 < counts[j, i] < n_keep and ymin[j, i] == ymax[j, i]
            ),
            None,
        )
        if found is None:
            return exclusions, dropped, stats
        j, i = found
        name, label = covariates[j], ("!= 0", "== 0")[i]
        what = "success" if ymin[j, i] == 1 else "failure"
        dropped.append(
            DropRecord(
                "rows",
                int(counts[j, i]),
                f"{name} {label} predicts {what} perfectly; {name} omitted and its rows not used",
                (name,),
            )
        )
        exclusions.append((j, 1.0 - i))
        start_col = j + 1


def _logit_columns(
    stats: list[dict], covariates: list[str], omitted: set[int], dropped: list[DropRecord]
) -> tuple[NDArray[np.intp], list[str]]:
    """The columns of ``[1, x]`` kept (collinear ones omitted in order, recorded in ``dropped``) and their names."""
    gram = np.sum([s["gram"] for s in stats], axis=0)
    candidates = np.array([0] + [j + 1 for j in range(len(covariates)) if j not in omitted])  # columns of [1, x]
    all_names = ["Intercept", *covariates]
    kept = candidates[independent_columns(gram[np.ix_(candidates, candidates)])]
    for j in sorted(set(candidates) - set(kept)):
        dropped.append(DropRecord("variable", 0, "collinear with earlier regressors (or constant)", (all_names[j],)))
    return kept, [all_names[j] for j in kept]


def _logit_newton(
    client: Any, parts: list[Any], kept: NDArray[np.intp], ybar: float, clustered: bool, maxiter: int
) -> tuple[Any, list[Any]]:
    """Newton from ``logit(mean y)``, with each partition's ``max |eta|`` and cluster score sums at the estimates.

    A fit that fails or reaches extreme fitted probabilities raises :class:`SeparationError`.
    """

    def derivatives(params):
        return _sum_evals(gather(client, _logit_eval, parts, params=params))

    start = np.zeros(len(kept))
    if kept[0] == 0:
        start[0] = np.log(ybar / (1 - ybar))
    fail = None
    finals: list[Any] = []
    try:
        opt = newton(derivatives, start, maxiter=maxiter)
    except (np.linalg.LinAlgError, ConvergenceError) as err:  # diverging estimates make -H singular
        fail = str(err)
    if fail is None:
        finals = gather(client, _logit_final, parts, params=opt.x, scores=clustered)
        big = max(f[0] for f in finals)
        if not opt.converged:
            fail = f"no convergence in {maxiter} iterations"
        elif big > EXTREME_ETA:
            fail = f"a fitted probability within {1 / (1 + np.exp(EXTREME_ETA)):.0e} of 0 or 1 (|eta| = {big:.1f})"
    if fail is not None:
        client.cancel(parts)
        raise SeparationError(
            f"the logit on the Dask DataFrame reached {fail}: (quasi-)complete separation is "
            "likely, and its exact check (a linear programme over all rows) runs in memory only: "
            "fit famtrial.logit on the rows in memory (ddf.compute(), or a sample that keeps the "
            "suspect regressors) to name the separating regressors"
        )
    return opt, finals


def _logit_llnull(
    client: Any, parts: list[Any], kept: NDArray[np.intp], has_offset: bool, ysum: float, n_keep: int
) -> float:
    """Stata's ll_0: the intercept-only log-likelihood (with the offset), 0 coefficients without an intercept."""
    if kept[0] != 0:
        return float(_sum_evals(gather(client, _logit_eval, parts, params=np.zeros(len(kept))))[0])
    if has_offset:
        null_cols = np.array([0])
        return newton(
            lambda b: _sum_evals(gather(client, _logit_eval, parts, params=b, columns=null_cols)), np.zeros(1)
        ).llf
    ybar = ysum / n_keep
    return float(ysum * np.log(ybar) + (n_keep - ysum) * np.log(1 - ybar))
