"""Load and validate a long trial panel: one row per parent per calendar month.

``load_panel`` maps the user's columns to roles (:class:`Columns`), parses months as pandas
periods, checks the panel's structure, and applies an explicit missing-value policy. Every
problem raises :class:`PanelError` naming the column, the number of offending rows, up to five
example ids, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["Columns", "Panel", "PanelError", "LoadReport", "load_panel", "TRIAL_COLUMNS"]

Missing = Literal["error", "drop"]
_MODEL_CODES = {0: "ordinary", 1: "local", 2: "holf"}


class PanelError(ValueError):
    """A panel that famtrial cannot analyse as given; the message says which column and what to do."""


@dataclass(frozen=True)
class Columns:
    """Which column plays which role. Defaults are the shipped replica's names.

    ``model`` (coordinated model: ``"ordinary"``/``"local"``/``"holf"`` or 0/1/2) and ``start``
    (per-parent treatment start month) are optional: set them to ``None`` when absent.
    """

    parent: str = "parent_id"
    family: str = "family_id"
    office: str = "office"
    month: str = "month"
    arm: str = "arm"
    model: str | None = "model"
    outcomes: tuple[str, ...] = ("activation", "employed")
    time_varying: tuple[str, ...] = ("n_children", "married", "reduced_work_capacity")
    time_invariant: tuple[str, ...] = ("female", "year_of_birth", "immigrant")
    start: str | None = None

    @property
    def covariates(self) -> tuple[str, ...]:
        return (*self.time_varying, *self.time_invariant)

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.parent, self.family, self.office)

    def required(self) -> list[str]:
        cols = [*self.ids, self.month, self.arm, *self.outcomes, *self.covariates]
        cols += [c for c in (self.model, self.start) if c is not None]
        return cols


TRIAL_COLUMNS = Columns()


@dataclass(frozen=True)
class LoadReport:
    """What loading did: rows read and dropped (by column), panel dimensions, gaps."""

    rows_read: int
    rows_kept: int
    dropped_missing: dict[str, int] = field(default_factory=dict)
    parents: int = 0
    families: int = 0
    offices: int = 0
    months: int = 0
    first_month: str = ""
    last_month: str = ""
    parents_with_gaps: int = 0
    missing_parent_months: int = 0
    source: str = "DataFrame"

    def describe(self) -> str:
        lines = [f"source: {self.source}",
                 f"rows: {self.rows_read:,} read, {self.rows_kept:,} kept",
                 f"parents: {self.parents:,} in {self.families:,} families and {self.offices:,} offices",
                 f"months: {self.months} ({self.first_month} .. {self.last_month})",
                 f"gaps: {self.parents_with_gaps:,} parents miss {self.missing_parent_months:,} months "
                 "between their first and last month (allowed; counted)"]
        if self.dropped_missing:
            total = self.rows_read - self.rows_kept
            detail = ", ".join(f"{c}: {n:,}" for c, n in self.dropped_missing.items())
            lines.append(f"dropped for missing values (listwise): {total:,} rows ({detail})")
        return "\n".join(lines)


@dataclass(frozen=True)
class Panel:
    """A validated long panel with its column roles and the trial's key months."""

    data: pd.DataFrame
    columns: Columns
    implementation: pd.Period
    baseline: pd.Period
    report: LoadReport

    @property
    def months(self) -> pd.PeriodIndex:
        return pd.PeriodIndex(np.sort(self.data[self.columns.month].unique()), freq="M")

    def baseline_frame(self) -> pd.DataFrame:
        """One row per parent observed at the baseline month (Table 3's cross-section)."""
        data = self.data
        return data.loc[data[self.columns.month] == self.baseline].reset_index(drop=True)

    def restrict(self, offices=None) -> Panel:
        """The panel restricted to ``offices`` (labels of the office column)."""
        keep = self.data[self.columns.office].isin(list(offices))
        data = self.data.loc[keep].reset_index(drop=True)
        return replace(self, data=data, report=replace(self.report, **_dimensions(data, self.columns)))

    def summary(self) -> str:
        return (f"Panel: implementation {self.implementation}, baseline {self.baseline}\n"
                + self.report.describe())

    def __repr__(self) -> str:
        return self.summary()


# -- helpers ---------------------------------------------------------------------------------
def _examples(values) -> str:
    vals = pd.unique(np.asarray(values))[:5]
    return ", ".join(map(str, vals))


def _fail(column: str, n_rows: int, examples, problem: str, fix: str) -> PanelError:
    ex = f" (e.g. parent ids {examples})" if examples else ""
    return PanelError(f"column {column!r}: {n_rows:,} rows {problem}{ex}. {fix}")


def _read(source) -> tuple[pd.DataFrame, str]:
    if isinstance(source, pd.DataFrame):
        return source.copy(), "DataFrame"
    path = Path(source)
    if not path.exists():
        raise PanelError(f"panel file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path), str(path)
    if suffix in (".parquet", ".pq"):
        return pd.read_parquet(path), str(path)
    if suffix == ".dta":
        return pd.read_stata(path, convert_categoricals=False), str(path)
    raise PanelError(f"cannot read {path.name!r}: give a .csv, .parquet or .dta file, or a pandas DataFrame")


def _parse_months(values: pd.Series, column: str, ids: pd.Series) -> pd.Series:
    """Months as ``period[M]`` from periods, datetimes, 'YYYY-MM', 'YYYYmMM' (Stata %tm) or dates."""
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.dt.asfreq("M")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.to_period("M")
    text = values.astype("string").str.strip().str.replace(r"^(\d{4})m(\d{1,2})$", r"\1-\2", regex=True)
    parsed = pd.to_datetime(text, format="mixed", errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any() or values.isna().any():
        bad = bad | values.isna()
        raise _fail(column, int(bad.sum()), _examples(ids[bad]),
                    f"have months that cannot be read (e.g. {_examples(values[bad])})",
                    "Give months as 'YYYY-MM' text, dates, pandas Periods or Stata %tm ('2016m10').")
    return parsed.dt.to_period("M")


def _dimensions(data: pd.DataFrame, cols: Columns) -> dict:
    month = data[cols.month]
    if len(data) == 0:
        return {"parents": 0, "families": 0, "offices": 0, "months": 0, "rows_kept": 0}
    ordinal = month.map(lambda p: p.ordinal) if month.dtype == object else month.array.asi8
    ordinal = pd.Series(np.asarray(ordinal), index=data.index)
    span = ordinal.groupby(data[cols.parent]).agg(["min", "max", "size"])
    missing = (span["max"] - span["min"] + 1 - span["size"])
    return {"parents": int(len(span)), "families": int(data[cols.family].nunique()),
            "offices": int(data[cols.office].nunique()), "months": int(month.nunique()),
            "first_month": str(month.min()), "last_month": str(month.max()),
            "parents_with_gaps": int((missing > 0).sum()), "missing_parent_months": int(missing.sum()),
            "rows_kept": int(len(data))}


def _not_constant(data: pd.DataFrame, by: str, column: str) -> pd.Series:
    """Rows whose ``by`` group has more than one value of ``column``."""
    return data.groupby(by, sort=False)[column].transform("nunique").to_numpy() > 1


# -- the loader ---------------------------------------------------------------------------------
def load_panel(source, columns: Columns | None = None, *, implementation: str | pd.Period = "2016-10",
               baseline: str | pd.Period = "2016-10", missing: Missing = "error") -> Panel:
    """Load a long panel (DataFrame, .csv, .parquet or .dta) and validate it.

    Parameters
    ----------
    source : DataFrame or path
    columns : Columns, optional
        Column roles; default: the replica's names (``Columns()``).
    implementation, baseline : month
        First post-implementation month, and the month Table 3 describes (both 2016-10 in the trial).
    missing : {"error", "drop"}
        Missing outcomes/covariates: raise (default), or drop those rows listwise, counted per
        column in ``Panel.report``.

    Raises
    ------
    PanelError
        Missing columns; duplicate (parent, month) rows; arm, family or office not constant
        within a parent; a family in two offices; arm outside {0, 1}; outcomes outside {0, 1};
        non-numeric covariates; coordinated model inconsistent with the arm; unparseable months;
        an empty panel; missing values under ``missing="error"``.
    """
    cols = TRIAL_COLUMNS if columns is None else columns
    if missing not in ("error", "drop"):
        raise ValueError(f"missing={missing!r} is not one of ('error', 'drop')")
    data, source_name = _read(source)
    rows_read = len(data)
    if rows_read == 0:
        raise PanelError("the panel is empty (0 rows): check the file or the filter that produced it")
    absent = [c for c in cols.required() if c not in data.columns]
    if absent:
        raise PanelError(f"columns {absent} are missing ({len(absent)} of {len(cols.required())} required); "
                         f"the data have {list(data.columns)[:20]}. Map your names with "
                         "famtrial.Columns(parent=..., family=..., office=..., month=..., arm=..., ...)")
    data = data[cols.required()].copy()
    pid = data[cols.parent]

    for c in cols.ids:
        bad = data[c].isna()
        if bad.any():
            raise _fail(c, int(bad.sum()), _examples(pid[bad]) if c != cols.parent else "",
                        "have no id", "Every row needs a parent, family and office id: fill or drop them.")

    data[cols.month] = _parse_months(data[cols.month], cols.month, pid)

    # missing values in outcomes / covariates: explicit policy
    value_cols = [*cols.outcomes, *cols.covariates, cols.arm]
    na = data[value_cols].isna()
    dropped: dict[str, int] = {}
    if na.to_numpy().any():
        counts = {c: int(n) for c, n in na.sum().items() if n}
        if missing == "error":
            worst = max(counts, key=counts.get)
            detail = ", ".join(f"{c}: {n:,}" for c, n in counts.items())
            raise _fail(worst, counts[worst], _examples(pid[na[worst]]), f"have missing values (all columns: {detail})",
                        "Pass missing='drop' to drop those rows listwise (they are counted in Panel.report), "
                        "or impute them first.")
        dropped = counts
        data = data.loc[~na.any(axis=1)].reset_index(drop=True)
        pid = data[cols.parent]
        if len(data) == 0:
            raise PanelError("the panel is empty after dropping rows with missing values")

    for c in cols.covariates:
        if not pd.api.types.is_numeric_dtype(data[c]) or pd.api.types.is_bool_dtype(data[c]):
            converted = pd.to_numeric(data[c], errors="coerce") if not pd.api.types.is_bool_dtype(data[c]) else data[c].astype(int)
            bad = converted.isna() & data[c].notna()
            if bad.any():
                raise _fail(c, int(bad.sum()), _examples(pid[bad]),
                            f"are not numeric (e.g. {_examples(data.loc[bad, c])})",
                            "Recode the covariate as numbers (dummies 0/1 for categories).")
            data[c] = converted

    for c in (cols.arm, *cols.outcomes):
        values = pd.to_numeric(data[c], errors="coerce")
        bad = ~values.isin([0, 1])
        if bad.any():
            what = "arm (randomized offer)" if c == cols.arm else "outcome"
            raise _fail(c, int(bad.sum()), _examples(pid[bad]),
                        f"are not 0/1 (e.g. {_examples(data.loc[bad, c])}); the {what} must be binary",
                        "Recode it to 0/1 (arm: 1 = offered a family coordinator, 0 = ordinary follow-up).")
        data[c] = values.astype(np.int8)

    dup = data.duplicated([cols.parent, cols.month], keep=False)
    if dup.any():
        raise _fail(cols.month, int(dup.sum()), _examples(pid[dup]), "repeat a (parent, month) pair",
                    "Keep one row per parent per month (aggregate or de-duplicate first).")
    for c, what in ((cols.arm, "the randomized arm"), (cols.family, "the family"), (cols.office, "the office")):
        bad = _not_constant(data, cols.parent, c)
        if bad.any():
            raise _fail(c, int(bad.sum()), _examples(pid[bad]), f"belong to parents whose {what} changes over months",
                        f"{what.capitalize()} must be constant within a parent: fix the id or the assignment.")
    bad = _not_constant(data, cols.family, cols.office)
    if bad.any():
        raise _fail(cols.office, int(bad.sum()), _examples(pid[bad]), "belong to families listed in two or more offices",
                    "A family belongs to one office: fix the family or office ids.")
    bad = _not_constant(data, cols.family, cols.arm)
    if bad.any():
        raise _fail(cols.arm, int(bad.sum()), _examples(pid[bad]), "belong to families whose parents have different arms",
                    "The offer was randomized per family: both parents of a family share the arm.")

    if cols.model is not None:
        model = data[cols.model]
        if pd.api.types.is_numeric_dtype(model):
            model = model.map(_MODEL_CODES)
        model = model.astype("string").str.strip().str.lower()
        unknown = ~model.isin(["ordinary", "local", "holf"])
        if unknown.any():
            raise _fail(cols.model, int(unknown.sum()), _examples(pid[unknown]),
                        f"have an unknown coordinated model (e.g. {_examples(data.loc[unknown, cols.model])})",
                        "Use 'ordinary'/'local'/'holf' or 0/1/2 (0 ordinary, 1 local, 2 HOLF).")
        inconsistent = (model == "ordinary").to_numpy() != (data[cols.arm] == 0).to_numpy()
        if inconsistent.any():
            raise _fail(cols.model, int(inconsistent.sum()), _examples(pid[inconsistent]),
                        "disagree with the arm (model must be 'ordinary' exactly when arm is 0)",
                        "Fix the coordinated-model column or the arm.")
        data[cols.model] = model.astype(object).to_numpy()
    if cols.start is not None:
        start = data[cols.start]
        if start.notna().any():
            data[cols.start] = _parse_months(start.where(start.notna(), "2000-01"), cols.start, pid).where(start.notna())

    data = data.sort_values([cols.parent, cols.month], kind="stable").reset_index(drop=True)
    dims = _dimensions(data, cols)
    report = LoadReport(rows_read=rows_read, dropped_missing=dropped, source=source_name, **dims)
    return Panel(data=data, columns=cols, implementation=pd.Period(implementation, "M"),
                 baseline=pd.Period(baseline, "M"), report=report)
