"""The loaded panel: :class:`Panel` (the validated long frame with its plan) and :class:`LoadReport`.

A panel is one row per parent per calendar month, sorted by (parent, month), months as pandas
``period[M]``, its data in memory or a lazy Dask DataFrame (each parent's rows in one partition).
The report says what loading and any later restriction did; its dimensions (parents, families,
offices, months, gaps, baseline coverage, irregularities that are allowed and counted) are computed
per block of whole parents and summed (:func:`structure_part`, :func:`structure_total`), so one
pass over a Dask panel's partitions gives the in-memory numbers. Loading itself is
:func:`famtrial.data.load.load_panel`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from famtrial._parallel import compute_each_partition, is_dask_dataframe
from famtrial.data.checks import changes, runs
from famtrial.errors import PanelError

if TYPE_CHECKING:
    from famtrial.plan.spec import Columns, Plan

__all__ = ["Panel", "LoadReport", "structure", "structure_part", "structure_total", "plan_from_columns"]


@dataclass(frozen=True)
class LoadReport:
    """What loading (and any later restriction) did: rows read, dropped by reason and column, dimensions.

    ``dropped_missing`` counts rows with a missing value per column (a row missing two values
    counts in both); ``rows_dropped_missing`` counts the rows removed. ``time_invariant_varying``
    counts parents whose declared time-invariant covariate changes over months (reported, allowed);
    ``offices_mixed_model`` lists offices whose offered parents follow more than one model.
    """

    rows_read: int
    rows_kept: int
    source: str = "DataFrame"
    dropped_missing: dict[str, int] = field(default_factory=dict)
    rows_dropped_missing: int = 0
    parents_dropped_missing: int = 0
    parents: int = 0
    families: int = 0
    offices: int = 0
    months: int = 0
    first_month: str = ""
    last_month: str = ""
    parents_with_gaps: int = 0
    missing_parent_months: int = 0
    parents_without_baseline: int = 0
    time_invariant_varying: dict[str, int] = field(default_factory=dict)
    offices_mixed_model: tuple[Hashable, ...] = ()
    offices_removed: tuple[Hashable, ...] = ()
    rows_removed_by_restriction: int = 0
    rows_outside_window: int = 0

    def describe(self, units: tuple[str, str, str] = ("parent", "family", "office")) -> str:
        """The report as readable lines (``units``: the trial's words for parent, family, office)."""
        from famtrial._text import plural

        par, fam, off = (plural(u) for u in units)
        lines = [f"source: {self.source}", f"rows: {self.rows_read:,} read, {self.rows_kept:,} kept"]
        if self.rows_outside_window:
            lines.append(f"months window: {self.rows_outside_window:,} rows outside the plan's months removed")
        lines += [
            f"{par}: {self.parents:,} in {self.families:,} {fam} and {self.offices:,} {off}",
            f"months: {self.months} ({self.first_month} .. {self.last_month})",
            f"gaps: {self.parents_with_gaps:,} {par} miss {self.missing_parent_months:,} months "
            "between their first and last month (allowed; counted)",
        ]
        if self.parents_without_baseline:
            lines.append(
                f"baseline: {self.parents_without_baseline:,} {par} have no row at the baseline month "
                "(absent from baseline_frame())"
            )
        if self.dropped_missing:
            detail = ", ".join(f"{c}: {n:,}" for c, n in self.dropped_missing.items())
            lines.append(
                f"dropped for missing values (listwise): {self.rows_dropped_missing:,} rows ({detail}); "
                f"{self.parents_dropped_missing:,} {par} lost every row"
            )
        if self.time_invariant_varying:
            detail = ", ".join(f"{c}: {n:,}" for c, n in self.time_invariant_varying.items())
            lines.append(f"time-invariant covariates that vary within a {units[0]} ({par}): {detail}")
        if self.offices_mixed_model:
            lines.append(f"{off} whose offered {par} follow more than one variant: {list(self.offices_mixed_model)}")
        if self.offices_removed:
            lines.append(
                f"restricted: {len(self.offices_removed)} {off} removed {list(self.offices_removed)}, "
                f"{self.rows_removed_by_restriction:,} rows"
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class Panel:
    """A validated long panel: ``data`` sorted by (parent, month), months as ``period[M]``.

    Attributes
    ----------
    data : DataFrame
        The plan's columns only, with the data's own names; arm and outcomes as int8 0/1 (1 =
        offered), the variant categorical (the plan's control name, then its variant names).
    plan : Plan
        The analysis plan the panel was loaded with; its roles, labels and models drive every step.
    report : LoadReport
    columns : Columns
        The plan's column roles.
    implementation, baseline : pandas.Period
        First post-implementation month; the month ``baseline_frame()`` describes.
    """

    data: pd.DataFrame
    plan: Plan
    report: LoadReport

    @property
    def columns(self) -> Columns:
        """The plan's column roles."""
        return self.plan.columns

    @property
    def implementation(self) -> pd.Period:
        """The first month of the offer (the plan's ``months.implementation``)."""
        return pd.Period(self.plan.implementation, "M")

    @property
    def baseline(self) -> pd.Period:
        """The month ``baseline_frame()`` describes (the plan's ``months.baseline``)."""
        return pd.Period(self.plan.baseline, "M")

    @property
    def months(self) -> pd.PeriodIndex:
        """The calendar months present, sorted (on a Dask panel: one pass over the partitions)."""
        if is_dask_dataframe(self.data):
            values = _distinct(self.data, self.columns.month)
        else:
            values = self.data[self.columns.month].unique()
        return pd.PeriodIndex(np.sort(np.asarray(values)), freq="M")

    def baseline_frame(self) -> pd.DataFrame:
        """One row per parent at the baseline month (Table 3's cross-section).

        Parents without a row at the baseline month are absent; their number is
        ``report.parents_without_baseline``. On a Dask panel the baseline month's rows are
        computed into memory (one row per parent).
        """
        data = self.data
        if is_dask_dataframe(data):
            base = self.baseline.ordinal
            out = (
                data.map_partitions(lambda d: d.loc[d[self.columns.month].array.asi8 == base], meta=data._meta)
                .compute()
                .reset_index(drop=True)
            )
        else:
            out = data.loc[data[self.columns.month] == self.baseline].reset_index(drop=True)
        if out.empty:
            raise PanelError(
                f"no rows at the baseline month {self.baseline}; the panel covers "
                f"{self.report.first_month} .. {self.report.last_month}: set [months] baseline in the plan "
                "(baseline= in load_panel)"
            )
        return out

    def restrict(self, offices: Iterable[Hashable]) -> Panel:
        """The panel restricted to ``offices`` (labels of the office column); the report counts the rest."""
        if isinstance(offices, (str, bytes)) or not isinstance(offices, Iterable):
            raise TypeError(
                f"restrict: offices must be a list of office labels, not {type(offices).__name__} "
                f"(write restrict([{offices!r}]))"
            )
        keep_offices = list(offices)
        if not keep_offices:
            raise PanelError("restrict: give at least one office to keep")
        if is_dask_dataframe(self.data):
            return self._restrict_dask(keep_offices)
        present = pd.unique(self.data[self.columns.office]).tolist()
        known = set(present)
        unknown = [o for o in keep_offices if o not in known]
        if unknown:
            raise PanelError(f"restrict: offices {unknown} are not in the panel; it has {sorted(present)}")
        keep = self.data[self.columns.office].isin(keep_offices).to_numpy()
        data = self.data.loc[keep].reset_index(drop=True)
        removed = tuple(sorted(set(present) - set(keep_offices)))
        dims = structure(data, self.columns, self.baseline)
        report = replace(
            self.report,
            **dims,
            offices_removed=(*self.report.offices_removed, *removed),
            rows_removed_by_restriction=self.report.rows_removed_by_restriction + int((~keep).sum()),
        )
        return replace(self, data=data, report=report)

    def _restrict_dask(self, keep_offices: list[Hashable]) -> Panel:
        """:meth:`restrict` of a Dask panel: the filter stays lazy; the report from one pass over the partitions."""
        office = self.columns.office
        present = _distinct(self.data, office).tolist()
        known = set(present)
        unknown = [o for o in keep_offices if o not in known]
        if unknown:
            raise PanelError(f"restrict: offices {unknown} are not in the panel; it has {sorted(present)}")
        data = self.data[self.data[office].isin(keep_offices)]
        parts = compute_each_partition(data, structure_part, self.columns, self.baseline)
        dims = structure_total(parts, self.columns)
        removed = tuple(sorted(set(present) - set(keep_offices)))
        report = replace(
            self.report,
            **dims,
            offices_removed=(*self.report.offices_removed, *removed),
            rows_removed_by_restriction=self.report.rows_removed_by_restriction
            + self.report.rows_kept
            - dims["rows_kept"],
        )
        return replace(self, data=data, report=report)

    def summary(self) -> str:
        """The load report as text."""
        lazy = ""
        if is_dask_dataframe(self.data):
            kept = _persisted(self.data)
            lazy = (
                f"data: a Dask DataFrame of {self.data.npartitions:,} partitions, each parent's rows in one "
                f"partition ({'kept on the workers' if kept else 'lazy: read and validated when computed'})\n"
            )
        return (
            f"Panel ({self.plan.name}): implementation {self.implementation}, baseline {self.baseline}\n"
            + lazy
            + self.report.describe(self.plan.units)
        )

    def __repr__(self) -> str:
        return self.summary()


# -- the report's dimensions (vectorized on data sorted by parent, month) ------------------------------
def _unique(frame: pd.DataFrame, column: str) -> Any:
    return pd.unique(frame[column])


def _distinct(data: Any, column: str) -> Any:
    """A Dask panel's distinct values of ``column`` in order of appearance: each partition's, then their union.

    (Dask's own ``Series.unique`` shuffles the column between the workers.)
    """
    parts = compute_each_partition(data, _unique, column)
    return pd.unique(pd.concat([pd.Series(p) for p in parts], ignore_index=True)) if parts else np.zeros(0)


def structure(data: pd.DataFrame, cols: Columns, baseline: pd.Period) -> dict[str, Any]:
    """Dimensions, gaps, baseline coverage and reported irregularities of a sorted, validated panel.

    Parameters
    ----------
    data : DataFrame
        The panel, sorted by (parent, month), months as ``period[M]``.
    cols : Columns
        The plan's column roles.
    baseline : Period
        The baseline month.

    Returns
    -------
    dict
        The :class:`LoadReport` fields they fill, by name (``rows_kept``, ``parents``, ...).
    """
    return structure_total([structure_part(data, cols, baseline)], cols)


def structure_part(data: pd.DataFrame, cols: Columns, baseline: pd.Period) -> dict[str, Any]:
    """The pieces of :func:`structure` of one block of whole parents (sums, distinct values).

    Parameters
    ----------
    data : DataFrame
        Whole parents' rows, sorted by (parent, month) (one partition of a Dask panel).
    cols : Columns
        The plan's column roles.
    baseline : Period
        The baseline month.

    Returns
    -------
    dict
        Counts and distinct values that :func:`structure_total` sums over blocks.
    """
    if data.empty:
        return {"rows": 0}
    pcode = pd.factorize(data[cols.parent])[0]
    same, starts = runs(pcode)
    ends = np.r_[starts[1:], len(data)] - 1
    month = data[cols.month].array.asi8
    missing = (month[ends] - month[starts] + 1) - (ends - starts + 1)
    varying = {c: int(changes(data[c], same, pcode, len(starts))[starts].sum()) for c in cols.time_invariant}
    offered = None
    if cols.model is not None:
        first = data.iloc[starts]
        offered = first.loc[first[cols.arm] == 1, [cols.office, cols.model]].drop_duplicates()
    return {
        "rows": len(data),
        "parents": len(starts),
        "families": pd.unique(data[cols.family]),
        "offices": pd.unique(data[cols.office]),
        "months": pd.unique(month),
        "gaps": int((missing > 0).sum()),
        "missing": int(missing.sum()),
        "without_baseline": int(len(starts) - (month == baseline.ordinal).sum()),
        "varying": varying,
        "offered": offered,
    }


def structure_total(parts: list[dict[str, Any]], cols: Columns) -> dict[str, Any]:
    """:func:`structure` of blocks of whole parents, from their :func:`structure_part`.

    Parameters
    ----------
    parts : list of dict
        One :func:`structure_part` per block.
    cols : Columns
        The plan's column roles.

    Returns
    -------
    dict
        The :class:`LoadReport` fields, as :func:`structure` gives them for the blocks together.
    """
    rows = sum(p["rows"] for p in parts)
    if rows == 0:
        return {"rows_kept": 0, "parents": 0, "families": 0, "offices": 0, "months": 0}
    parts = [p for p in parts if p["rows"]]
    months = pd.unique(np.concatenate([p["months"] for p in parts]))
    varying = {c: n for c in cols.time_invariant if (n := sum(p["varying"][c] for p in parts))}
    mixed: tuple[object, ...] = ()
    if cols.model is not None:
        offered = pd.concat([p["offered"] for p in parts])
        per_office = offered.groupby(cols.office, sort=True)[cols.model].nunique()
        mixed = tuple(per_office.index[per_office > 1].tolist())
    return {
        "rows_kept": int(rows),
        "parents": int(sum(p["parents"] for p in parts)),
        "families": int(pd.unique(np.concatenate([p["families"] for p in parts])).size),
        "offices": int(pd.unique(np.concatenate([p["offices"] for p in parts])).size),
        "months": int(months.size),
        "first_month": str(pd.Period(ordinal=int(months.min()), freq="M")),
        "last_month": str(pd.Period(ordinal=int(months.max()), freq="M")),
        "parents_with_gaps": sum(p["gaps"] for p in parts),
        "missing_parent_months": sum(p["missing"] for p in parts),
        "parents_without_baseline": sum(p["without_baseline"] for p in parts),
        "time_invariant_varying": varying,
        "offices_mixed_model": mixed,
    }


# -- the plan of a panel loaded with bare Columns ---------------------------------------------------------
def plan_from_columns(
    raw: pd.DataFrame, cols: Columns, implementation: str | pd.Period | None, baseline: str | pd.Period | None
) -> Plan:
    """A plain plan for bare Columns: variants are the variant column's values among offered parents.

    Parameters
    ----------
    raw : DataFrame
        The panel as read (at least its arm and variant columns, where present).
    cols : Columns
        The column roles.
    implementation, baseline : str or Period or None
        The first month of the offer (required) and the baseline month.

    Returns
    -------
    Plan
        Labels are the column names; the control variant is the variant column's one value among
        control rows, if it has one.

    Raises
    ------
    PanelError
        ``implementation`` is None.
    """
    from famtrial.plan.spec import Plan

    if implementation is None:
        raise PanelError(
            "the implementation month is unknown: pass implementation='YYYY-MM' (the first month of "
            "the offer) with Columns, or load with an analysis plan (famtrial.load_plan)"
        )
    variants, control = [], None
    if cols.model is not None and cols.model in raw.columns and cols.arm in raw.columns:
        arm = pd.to_numeric(raw[cols.arm], errors="coerce")
        variants = sorted(map(str, pd.unique(raw.loc[arm == 1, cols.model].dropna())))
        controls = pd.unique(raw.loc[arm == 0, cols.model].dropna())
        control = str(controls[0]) if len(controls) == 1 else None
    return Plan.from_columns(
        cols,
        implementation=str(implementation),
        baseline=None if baseline is None else str(baseline),
        variants=variants,
        control_variant=control,
    )


def _persisted(data: Any) -> bool:
    """Whether the Dask DataFrame ``data`` rests on partitions kept on the workers (futures it holds)."""
    return bool(kept_futures(data))


def kept_futures(data: Any) -> list[Any]:
    """The ``dask.distributed`` futures the Dask DataFrame ``data`` is made of (empty: it is lazy).

    Those of ``persist()`` (in its graph) and those of ``load_panel(..., persist=True)``
    (``dask.dataframe.from_delayed`` over the kept partitions: in its expression).
    """
    try:
        from distributed import Future, futures_of
    except ImportError:  # pragma: no cover - a Dask DataFrame without distributed is lazy
        return []
    found = list(futures_of(data))  # type: ignore[no-untyped-call]
    walk = getattr(getattr(data, "expr", None), "walk", None)
    if walk is not None:
        found += [op for expr in walk() for op in getattr(expr, "operands", ()) if isinstance(op, Future)]
    return list({f.key: f for f in found}.values())
