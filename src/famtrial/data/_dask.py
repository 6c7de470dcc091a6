"""``load_panel(..., engine="dask")``: a partitioned Parquet panel validated partition by partition.

One pass over the partitions (the plan's columns only) runs :func:`famtrial.data.checks.validate`, the
in-memory loader's checks, on each partition, and returns small pieces: the partition's raw parent
labels, its first failing row check (a :class:`~famtrial.errors.PanelError` whose parts are its
count, example ids and values), the totals of the checks that need the whole panel (months
window, implementation month, missing values, both arms present, families across parents) and its
report pieces, with its row count (so an empty panel is found by this pass: the rows are counted in
a pass of their own only when a column is also missing or repeated, whose error comes after the empty
panel's). The client then makes the whole panel's decisions in the in-memory order:

- **a parent in two partitions**: the raw frame is shuffled by parent (``DataFrame.shuffle``, one
  all-to-all transfer of the plan's columns) and the pass repeated, so every parent's rows lie in
  one partition; the loaded panel's partitions are aligned on the parent;
- **the first failing check** over all partitions (checks are numbered in the order
  ``validate`` makes them): a whole-panel check runs on the partitions' summed totals; a row
  check's error is the partitions' errors combined (counts summed, the first five parent ids and
  three values in partition order, for checks after sorting the five smallest ids), word for word
  the message the whole panel gives in memory when the partitions are consecutive blocks of it;
- **families across partitions** (a family in two offices, a family's parents with two arms): the
  same check function on the partitions' one-row-per-parent frames;
- **the report**: sums and distinct values of the partitions' pieces (``structure_total``).

Duplicated parent-months and a parent whose arm, family or office changes are within a parent, so
within a partition once the partitions are aligned.

The returned panel's ``data`` is one of two things:

- **lazy** (``load_panel(..., engine="dask")``, the default): each partition is read and validated
  again whenever it is computed (the validation costs about what the read does), so a fit reads the
  dataset once more rather than holding it; persisting it (``panel.data.persist()``) is the user's
  choice, and costs that second pass once;
- **persisted in the same pass** (``persist=True``, what ``famtrial reproduce --engine dask`` uses):
  each partition's task reads and validates the partition once and returns the pair (validated
  frame, summary); the frame stays on the worker that made it (a Dask future, spilled to the
  worker's disk past its memory limit like any persisted data) and only the summary travels to the
  client, which makes the decisions above; ``data`` is then ``dask.dataframe.from_delayed`` over the
  kept frames, so no later step reads or validates the files again. A worker holds the frames it
  keeps plus the one partition it is reading. When a parent lies in two partitions the kept frames
  of the first pass are released, the raw frame is shuffled by parent as above, and the pass after
  the shuffle is the one whose frames are kept.
"""

from __future__ import annotations

import operator
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, NotRequired, TypedDict

import numpy as np
import pandas as pd

from famtrial._options import Missing
from famtrial._parallel import compute_each_partition, require_dask
from famtrial.data.checks import Checks, check_columns, validate
from famtrial.data.failures import combine_fail
from famtrial.data.panel import LoadReport, Panel, plan_from_columns, structure_part, structure_total
from famtrial.errors import PanelError
from famtrial.plan.spec import Columns

if TYPE_CHECKING:
    from famtrial.data.checks import Check
    from famtrial.plan.spec import Plan

__all__ = ["load_partitioned"]

#: A whole-panel check recorded on a partition: its step, the check, the partition's totals.
_Totals = tuple[int, "Check", dict[str, Any]]


class _PartitionChecks(Checks):
    """On one partition: a whole-panel check records the partition's totals instead of running."""

    def __init__(self) -> None:
        super().__init__()
        self.totals: list[_Totals] = []

    def __call__(self, check: Check, totals: dict[str, Any], plan: Plan) -> None:
        self.step += 1
        self.totals.append((self.step, check, totals))


class _Summary(TypedDict):
    """One partition's pass (:func:`_summarise`)."""

    n: int  # rows read
    parents: np.ndarray  # the raw parent labels (distinct)
    failure: tuple[int, int, PanelError, bool] | None  # the first failing row check: step, rank, error, ids sorted
    meta: pd.DataFrame | None  # the validated partition's columns, no rows (None: failed or empty)
    totals: list[_Totals]  # the whole-panel checks reached
    agg: NotRequired[dict[str, Any]]  # the missing-value and window counts (absent after a failure)
    structure: NotRequired[dict[str, Any]]  # the report pieces, ``structure_part`` (absent after a failure)


def _raw_parents(frame: pd.DataFrame, parent: str) -> np.ndarray:
    try:
        parents: np.ndarray = pd.unique(frame[parent].dropna())
    except TypeError:  # unhashable ids: the row check reports them
        return np.zeros(0)
    return parents


def _summarise(frame: pd.DataFrame, plan: Plan, missing: Missing, required: list[str]) -> _Summary:
    """One partition's pass: raw parents, first failure, whole-panel totals, report pieces, empty meta."""
    return _checked(frame, plan, missing, required)[1]


def _checked(
    frame: pd.DataFrame, plan: Plan, missing: Missing, required: list[str]
) -> tuple[pd.DataFrame | None, _Summary]:
    """One partition read and validated once: its validated frame (None after a failing row check) and its summary.

    The frame is the loaded panel's partition (what :func:`_validated` gives); the summary is what
    :func:`_summarise` gives.
    """
    cols = plan.columns
    checks = _PartitionChecks()
    n, parents = len(frame), _raw_parents(frame, cols.parent)
    if not n:  # an empty file: nothing to check or count (its partition of the panel is empty)
        return _validated(frame, plan, missing, required), _Summary(
            n=n,
            parents=parents,
            failure=None,
            meta=None,
            totals=[],
            agg={"outside": 0, "counts": {}, "rows_dropped": 0, "parents_dropped": 0},
            structure={"rows": 0},
        )
    try:
        data, agg = validate(frame[required].reset_index(drop=True), plan, missing, n, checks)
    except PanelError as err:
        return None, _Summary(
            n=n,
            parents=parents,
            failure=(checks.step, err.parts[-1], err, checks.sorted),
            meta=None,
            totals=checks.totals,
        )
    return data, _Summary(
        n=n,
        parents=parents,
        failure=None,
        meta=data.iloc[:0],
        totals=checks.totals,
        agg=agg,
        structure=structure_part(data, cols, pd.Period(plan.baseline, "M")),
    )


def _validated(frame: pd.DataFrame, plan: Plan, missing: Missing, required: list[str]) -> pd.DataFrame:
    """One partition of the loaded panel: converted, sorted and checked row by row again.

    The whole-panel checks passed at load time and are not repeated on the partition alone.
    """
    return validate(frame[required].reset_index(drop=True), plan, missing, len(frame), _PartitionChecks())[0]


def _merge(key: str, values: Sequence[Any]) -> Any:
    """The whole panel's total ``key`` from the partitions' totals.

    Each key has its own type: a count, a month ordinal, a mapping of columns to counts or ids, an array
    or a frame.
    """
    first = values[0]
    if key == "first":
        return min(values)
    if key == "last":
        return max(values)
    if key == "missing":
        return first
    if key == "counts":
        counts: dict[Hashable, int] = {}
        for v in values:  # the first partition's column order, then columns first seen later
            for c, n in v.items():
                counts[c] = counts.get(c, 0) + n
        return counts
    if key == "ids":
        ids: dict[Hashable, list[object]] = {}
        for v in values:
            for c, some in v.items():
                ids.setdefault(c, []).extend(some)
        return ids
    if key == "per":
        return pd.concat(values, ignore_index=True)
    if isinstance(first, np.ndarray):
        return np.concatenate(values) if key == "per_rows" else np.sum(values, axis=0)
    return sum(values)


def _first_failure(summaries: list[_Summary], plan: Plan, order: list[str]) -> None:
    """Raise the whole panel's first failing check, if any, in ``validate``'s order."""
    failures = [s["failure"] for s in summaries if s["failure"] is not None]
    first = min(((f[0], f[1]) for f in failures), default=(np.inf, 0))
    steps = sorted({step for s in summaries for step, _, _ in s["totals"] if step < first[0]})
    for step in steps:  # every partition reached these (none failed earlier)
        entries = [t for s in summaries for t in s["totals"] if t[0] == step]
        check, keys = entries[0][1], entries[0][2].keys()
        totals = {k: _merge(k, [e[2][k] for e in entries]) for k in keys}
        if "counts" in totals:  # the plan's column order, as in memory
            totals["counts"] = {c: totals["counts"][c] for c in order if c in totals["counts"]}
        if "per" in totals:  # one row per parent in the order of the parents, as in memory
            totals["per"], totals["per_rows"] = _sorted_parents(totals["per"], totals["per_rows"], plan)
        check(totals, plan)
    if failures:
        same = [f for f in failures if (f[0], f[1]) == first]
        raise combine_fail([f[2] for f in same], sort_ids=same[0][3])


def _sorted_parents(per: pd.DataFrame, per_rows: np.ndarray, plan: Plan) -> tuple[pd.DataFrame, np.ndarray]:
    try:
        codes = pd.factorize(per[plan.columns.parent], sort=True)[0]
    except TypeError:
        return per, per_rows
    order = np.argsort(codes, kind="stable")
    return per.take(order).reset_index(drop=True), per_rows[order]


def load_partitioned(
    raw: pd.DataFrame,
    source_name: str,
    present: list[str],
    spec: Plan | Columns,
    implementation: str | pd.Period | None,
    baseline: str | pd.Period | None,
    missing: Missing,
    files: Sequence[str] = (),
    persist: bool = False,
) -> Panel:
    """The Dask branch of :func:`famtrial.data.load.load_panel`.

    Parameters
    ----------
    raw : dask.dataframe.DataFrame
        The panel as read, lazy (annotated as ``Panel.data`` is).
    source_name : str
        The source's name, for the report.
    present : list of str
        Every column of the source.
    spec : Plan or Columns
        The loaded plan, or bare columns (the plan is then made from the data).
    implementation, baseline : Period or None
        The months given to ``load_panel``.
    missing : {"error", "drop"}
        The missing-value policy.
    files : sequence of str
        The dataset's partition files in partition order (empty for a Dask DataFrame): an error of a
        partition names its file (when the partitions are the files, before any shuffle).
    persist : bool
        Keep each partition's validated frame on the workers from the one pass that validates it (needs
        a running ``dask.distributed`` client); False: ``data`` is lazy, read and validated again when
        computed. With a shuffle by parent the frames kept are those of the pass after the shuffle.

    Returns
    -------
    Panel
        Its ``data`` a Dask DataFrame of the validated partitions: persisted on the workers
        (``persist``), or lazy, its partitions validated when computed.
    """
    client = _client() if persist else None
    plan = _plan(raw, spec, implementation, baseline)
    cols = plan.columns
    required = cols.required()
    names = pd.Index(raw.columns)
    complete = all(c in names for c in required) and not any(c in required for c in names[names.duplicated()])
    # an empty panel is refused before a column's error: counting the rows is a pass over the data, made here
    # only when a column is wrong; otherwise the pass below counts them and check_columns runs again after it
    check_columns(
        names, required, present, (lambda: 1) if complete else lambda: int(raw.map_partitions(len).sum().compute())
    )
    raw = raw[required]
    shuffled = False
    by_file = list(files) if len(files) == raw.npartitions else []
    while True:
        summaries, kept = _each_partition(raw, plan, missing, required, [] if shuffled else by_file, client)
        labels = [s["parents"] for s in summaries if len(s["parents"])]
        if shuffled or len(labels) < 2 or not pd.Index(np.concatenate(labels)).has_duplicates:
            break
        kept = None  # the workers release this pass's frames: the pass after the shuffle keeps its own
        raw = raw.shuffle(on=cols.parent, npartitions=raw.npartitions)  # bring each parent's rows together
        shuffled = True
    check_columns(names, required, present, lambda: sum(s["n"] for s in summaries))  # the empty panel's error
    try:
        _first_failure(summaries, plan, [*cols.outcomes, *cols.covariates])
    except PanelError as err:
        where = [f for f, s in zip(by_file, summaries) if s["failure"] is not None] if not shuffled else []
        if where and getattr(err, "parts", None):
            shown = ", ".join(repr(str(f)) for f in where[:3]) + (", ..." if len(where) > 3 else "")
            raise PanelError(f"{err} (partition file(s) {shown})") from None
        raise
    report = _report(summaries, cols, source_name)
    meta = next(s["meta"] for s in summaries if s["n"])
    if kept is None:
        data = raw.map_partitions(_validated, plan, missing, required, meta=meta, align_dataframes=False)
    else:
        import dask.dataframe as dd

        data = dd.from_delayed(kept, meta=meta, verify_meta=False)  # the futures: nothing is computed again
    return Panel(data=data, plan=plan, report=report)


def _client() -> Any:
    """The running dask.distributed client ``persist=True`` keeps the partitions with (an error saying how to start one)."""
    require_dask()
    from distributed import default_client

    try:
        return default_client()  # type: ignore[no-untyped-call]
    except ValueError:
        raise ValueError(
            "persist=True keeps the validated partitions on the workers of a dask.distributed cluster and needs "
            "a running Client: `from dask.distributed import Client; client = Client()` starts a local cluster, "
            '`Client("tcp://scheduler-address:8786")` connects to a running one; or load with persist=False '
            "(the panel's partitions are then read and validated when computed)"
        ) from None


def _each_partition(
    raw: pd.DataFrame, plan: Plan, missing: Missing, required: list[str], files: Sequence[str], client: Any = None
) -> tuple[list[_Summary], list[Any] | None]:
    """:func:`_summarise` of every partition; a partition that cannot be read is an error naming its file.

    With a ``client``, each partition's one task (:func:`_checked`) gives the pair (validated frame,
    summary): the summaries are gathered and the frames returned as futures, left on the workers
    (in partition order); without one, the summaries alone (and None).
    """
    try:
        if client is None:
            return compute_each_partition(raw, _summarise, plan, missing, required, pure=True), None
        from dask.delayed import delayed

        pairs = [delayed(_checked, pure=False)(part, plan, missing, required) for part in raw.to_delayed()]
        n = len(pairs)
        futures = client.compute(
            [delayed(operator.getitem, pure=False)(pair, i) for i in (0, 1) for pair in pairs]
        )  # the pair itself is released once both items are taken: a worker keeps the frame alone
        kept, summary_futures = futures[:n], futures[n:]
        summaries: list[_Summary] = client.gather(summary_futures)
        return summaries, kept
    except PanelError:
        raise
    except Exception as exc:  # a partition whose pages cannot be read (pyarrow's or pandas' error)
        _unreadable(raw, files, exc)


def _unreadable(raw: pd.DataFrame, files: Sequence[str], exc: Exception) -> NoReturn:
    """Raise the PanelError naming the partition (its file) that cannot be read, found one at a time."""
    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}"
    for i, part in enumerate(raw.to_delayed()):  # find the partition, one at a time
        try:
            part.compute()
        except Exception:  # noqa: BLE001 - the failing partition is the one to name
            where = repr(str(files[i])) if i < len(files) else f"number {i}"
            raise PanelError(
                f"partition {where} of the panel dataset cannot be read ({detail}): check that the file "
                "is complete, or remove it from the dataset"
            ) from None
    raise PanelError(f"a partition of the panel dataset cannot be read ({detail})") from None


def _plan(
    raw: pd.DataFrame, spec: Plan | Columns, implementation: str | pd.Period | None, baseline: str | pd.Period | None
) -> Plan:
    """The loaded plan, or for bare Columns a plan made from the data.

    For bare Columns the plan's variants are the variant column's values among offered parents (the arm
    and variant columns' distinct pairs computed).
    """
    if not isinstance(spec, Columns):
        return spec
    small = [c for c in (spec.arm, spec.model) if c is not None and c in raw.columns]
    return plan_from_columns(
        raw[small].drop_duplicates().compute() if small else raw._meta, spec, implementation, baseline
    )


def _report(summaries: list[_Summary], cols: Columns, source_name: str) -> LoadReport:
    """The whole panel's report from the partitions' counts and report pieces."""
    aggs = [s["agg"] for s in summaries]
    counts = _merge("counts", [a["counts"] for a in aggs])
    counts = {c: counts[c] for c in (*cols.outcomes, *cols.covariates) if c in counts}
    dims = structure_total([s["structure"] for s in summaries], cols)
    return LoadReport(
        rows_read=sum(s["n"] for s in summaries),
        rows_kept=dims["rows_kept"],
        source=source_name,
        dropped_missing=counts,
        rows_dropped_missing=sum(a["rows_dropped"] for a in aggs),
        parents_dropped_missing=sum(a["parents_dropped"] for a in aggs),
        rows_outside_window=sum(a["outside"] for a in aggs),
        **{k: v for k, v in dims.items() if k != "rows_kept"},
    )
