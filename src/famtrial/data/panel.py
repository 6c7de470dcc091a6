"""Load and validate a long trial panel: one row per parent per calendar month.

``load_panel`` maps the user's columns to roles (an analysis :class:`~famtrial.plan.spec.Plan`, or just
:class:`Columns`), reads only those columns, maps the plan's arm and variant codes, parses months as
pandas ``period[M]``, checks the panel's structure, and applies an explicit missing-value policy. Every
problem raises :class:`PanelError` naming the column, the number of offending rows, up to five
example ids, and what to do. Validation is vectorized: the panel is sorted once by (parent, month)
and within-parent checks compare neighbouring rows, so 39 million rows validate in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from famtrial.plan.spec import Plan

from typing import get_args

from famtrial._options import Engine, Missing
from famtrial._parallel import compute_each_partition, is_dask_dataframe, read_parquet
from famtrial.errors import PanelError
from famtrial.plan.spec import Columns

__all__ = ["Panel", "LoadReport", "load_panel"]


_MISSING = get_args(Missing)

_ENGINES = get_args(Engine)
_NAT = np.iinfo(np.int64).min
_STATA_TM_OFFSET = 120  # Stata %tm counts months from 1960m1, pandas ordinals from 1970-01
_FIRST_ORDINAL, _LAST_ORDINAL = -840, 11_999  # every month form must lie in 1900-01 .. 2969-12
_MONTH_RANGE = "1900-01 .. 2969-12"
_MONTH_TEXT = re.compile(r"^\s*(\d{4})\s*(?:-|/|m|M)\s*(\d{1,2})(?:[-/]\d{1,2})?(?:[ T][\d:.]*)?\s*$")


#: A row check's failure in parts (see :func:`_fail`): column, offending rows, example parent ids,
#: problem text, fix, example values, rank of the check within its step.
_FailureParts = tuple[str, int, list[object], str, str, list[object], int]


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
        values = self.data[self.columns.month].unique()
        if is_dask_dataframe(self.data):
            values = values.compute()
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
                f"{self.report.first_month} .. {self.report.last_month}: pass baseline= to load_panel"
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
        dims = _structure(data, self.columns, self.baseline)
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
        present = self.data[office].unique().compute().tolist()
        known = set(present)
        unknown = [o for o in keep_offices if o not in known]
        if unknown:
            raise PanelError(f"restrict: offices {unknown} are not in the panel; it has {sorted(present)}")
        data = self.data[self.data[office].isin(keep_offices)]
        parts = compute_each_partition(data, _structure_part, self.columns, self.baseline)
        dims = _structure_total(parts, self.columns)
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
            lazy = (
                f"data: a Dask DataFrame of {self.data.npartitions:,} partitions, each parent's rows in one "
                "partition (lazy: read and validated when computed)\n"
            )
        return (
            f"Panel ({self.plan.name}): implementation {self.implementation}, baseline {self.baseline}\n"
            + lazy
            + self.report.describe(self.plan.units)
        )

    def __repr__(self) -> str:
        return self.summary()


# -- messages --------------------------------------------------------------------------------------
def _unhashable(values: pd.Series) -> np.ndarray | None:
    """Rows holding lists, dicts or other non-scalar cells (checked only for columns of mixed objects)."""
    if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) != "mixed":
        return None
    bad = ~values.map(lambda v: isinstance(v, Hashable)).to_numpy(dtype=bool)
    return bad if bad.any() else None


def _infinite(values: pd.Series) -> np.ndarray:
    """Rows holding +-inf: floats, and text or objects that read as infinite numbers ('inf', '-Infinity')."""
    dtype = values.dtype
    if pd.api.types.is_float_dtype(dtype):
        inf: np.ndarray = np.isinf(values.to_numpy(dtype=float, na_value=np.nan))
        return inf
    if dtype == object or pd.api.types.is_string_dtype(dtype):  # noqa: E721 (a numpy dtype equals object)
        try:
            number = pd.to_numeric(values, errors="coerce")
        except (TypeError, ValueError):  # non-scalar cells: reported by the column's own check
            return np.zeros(len(values), dtype=bool)
        if pd.api.types.is_float_dtype(number.dtype):
            inf_text: np.ndarray = np.isinf(number.to_numpy(dtype=float, na_value=np.nan))
            return inf_text
    return np.zeros(len(values), dtype=bool)


#: Where a message's offending values go in a ``_fail`` problem text (filled with up to three of them).
_VALUES = "\x1fvalues\x1f"


def _first(values: Collection[object], k: int) -> list[object]:
    """Up to ``k`` distinct values in order of appearance (as text when the cells are unhashable)."""
    try:
        unique = pd.unique(np.asarray(values))
    except TypeError:  # unhashable cells (lists, dicts): show them as text
        unique = pd.unique(np.asarray([str(v) for v in np.asarray(values, dtype=object)[:1000]], dtype=object))
    return list(unique[:k])


def _fail(
    column: str,
    n_rows: int,
    ids: Collection[object],
    problem: str,
    fix: str,
    values: Collection[object] | None = None,
    rank: int = 0,
) -> PanelError:
    """The error of a row check: ``n_rows`` offending rows, their parent ids, and (``values``) their cells.

    The parts are kept on the error (``err.parts``) so that the errors of several partitions of one
    panel combine into the message the whole panel gives (:func:`_combine_fail`); ``rank`` orders two
    checks made at one step (the earlier check has the lower rank).
    """
    return _failure(
        column,
        n_rows,
        _first(ids, 5) if len(ids) else [],
        problem,
        fix,
        [] if values is None else _first(values, 3),
        rank,
    )


def _failure(
    column: str,
    n_rows: int,
    id_examples: list[object],
    problem: str,
    fix: str,
    value_examples: list[object],
    rank: int = 0,
) -> PanelError:
    ex = f" (e.g. parent ids {', '.join(map(str, id_examples))})" if len(id_examples) else ""
    text = problem.replace(_VALUES, ", ".join(map(str, value_examples)))
    err = PanelError(f"column {column!r}: {n_rows:,} rows {text}{ex}. {fix}")
    err.parts = (column, n_rows, list(id_examples), problem, fix, list(value_examples), rank)
    return err


def _combine_fail(errors: list[PanelError], sort_ids: bool = False) -> PanelError:
    """One check's errors from consecutive partitions as the whole panel's error: counts summed, the
    first five ids (``sort_ids``: the five smallest, for checks made after sorting by parent) and the
    first three values."""
    column, _, _, problem, fix, _, rank = errors[0].parts
    ids = [i for e in errors for i in e.parts[2]]
    if sort_ids:
        try:
            ids = sorted(pd.unique(np.asarray(ids, dtype=object)).tolist())
        except TypeError:  # ids of mixed types: order of the partitions
            pass
    return _failure(
        column,
        sum(e.parts[1] for e in errors),
        _first(np.asarray(ids, dtype=object), 5) if ids else [],
        problem,
        fix,
        _first(np.asarray([v for e in errors for v in e.parts[5]], dtype=object), 3),
        rank,
    )


# -- reading ---------------------------------------------------------------------------------------
def _file_columns(path: Path) -> list[str]:
    """The column names of a panel file, read without its rows (errors name the file and the fix)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            if path.stat().st_size == 0:
                raise PanelError(f"panel file {str(path)!r} is empty (0 bytes): check the export that wrote it")
            header = pd.read_csv(path, nrows=0)
            names = list(map(str, header.columns))
            sep = next((c for c in (";", "\t", "|") if len(names) == 1 and c in names[0]), None)
            if sep is not None:
                shown = {"\t": "\\t"}.get(sep, sep)
                raise PanelError(
                    f"panel file {str(path)!r} looks like '{shown}'-separated CSV (header "
                    f"{names[0][:60]!r}): pass sep: read it with pandas.read_csv(path, sep='{shown}') "
                    "and pass the DataFrame, or save it comma-separated"
                )
            return names
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix == ".dta":
            with pd.read_stata(path, iterator=True, convert_categoricals=False) as reader:
                return list(reader.variable_labels())
    except PanelError:
        raise
    except Exception as exc:  # a corrupt or mislabelled file: the reader's own error, shortened
        kind = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".dta": "Stata .dta"}[suffix]
        raise PanelError(
            f"panel file {str(path)!r} cannot be read as {kind} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}): check that the file is "
            f"complete and really {kind}"
        ) from None
    raise PanelError(f"cannot read {path.name!r}: give a .csv, .parquet or .dta file, or a pandas DataFrame")


def _read(
    source: object, columns: list[str] | None = None, engine: Engine | None = None
) -> tuple[pd.DataFrame, str, list[str]]:
    """The panel, its name and all its column names; from a file, only ``columns`` (those present) are read.

    With ``engine="dask"`` (or a Dask DataFrame as ``source``) the panel is a lazy Dask DataFrame.
    """
    if is_dask_dataframe(source):
        if engine == "pandas":
            raise TypeError(
                "source is a Dask DataFrame: load it with engine='dask' (or leave engine unset), "
                "or pass source.compute() to load it in memory"
            )
        lazy: pd.DataFrame = source  # a Dask DataFrame, annotated as Panel.data is
        return lazy, "Dask DataFrame", list(map(str, lazy.columns))
    if engine == "dask":
        return _read_dataset(source, columns)
    if isinstance(source, pd.DataFrame):
        return source, "DataFrame", list(source.columns)
    if hasattr(source, "data") and hasattr(source, "plan") and isinstance(source.data, pd.DataFrame):
        raise TypeError(
            "source is already a loaded famtrial Panel: use it directly (load_panel takes a file or a DataFrame)"
        )
    if not isinstance(source, (str, Path)):
        raise TypeError(
            f"source must be a DataFrame or a path to a .csv, .parquet or .dta file, not {type(source).__name__}"
        )
    path = Path(source)
    if not path.exists():
        raise PanelError(f"panel file {str(path)!r} does not exist")
    if path.is_dir():
        raise PanelError(
            f"panel file {str(path)!r} is a folder: give the file (.csv, .parquet or .dta), or load "
            "a folder of Parquet files (a partitioned dataset) with engine='dask'"
        )
    present = _file_columns(path)
    use = present if columns is None else [c for c in present if c in set(columns)]
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, usecols=use)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path, columns=use)
        else:  # .dta: %tm-formatted months arrive as datetimes; value labels stay codes
            frame = pd.read_stata(path, columns=use, convert_categoricals=False)
    except Exception as exc:
        raise PanelError(
            f"panel file {str(path)!r} cannot be read ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}): check that the file is "
            "complete"
        ) from None
    return frame, str(path), present


def _read_dataset(source: object, columns: list[str] | None) -> tuple[Any, str, list[str]]:
    """A partitioned Parquet dataset (folder, glob or list of files) as a lazy Dask DataFrame of ``columns``."""
    if isinstance(source, pd.DataFrame):
        raise TypeError(
            "engine='dask' loads a partitioned Parquet dataset (a folder, a glob or a list of files) "
            "or a Dask DataFrame; a pandas DataFrame loads in memory: leave engine unset"
        )
    paths = [source] if isinstance(source, (str, Path)) else source
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, Path)) for p in paths):
        raise TypeError(
            f"with engine='dask', source must be a folder, a glob or a list of Parquet files, "
            f"not {type(source).__name__}"
        )
    name = str(source) if isinstance(source, (str, Path)) else f"{len(paths)} Parquet files"
    if isinstance(source, (str, Path)) and not any(ch in str(source) for ch in "*?[") and not Path(source).exists():
        raise PanelError(f"panel dataset {str(source)!r} does not exist")
    target = str(source) if isinstance(source, (str, Path)) else [str(p) for p in paths]
    import dask

    try:  # text columns as object columns, as pandas.read_parquet gives them (not Dask's pyarrow strings)
        with dask.config.set({"dataframe.convert-string": False}):
            present = list(map(str, read_parquet(target, None).columns))
            use = present if columns is None else [c for c in present if c in set(columns)]
            frame = read_parquet(target, use)
    except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from these
        raise PanelError(
            f"panel dataset {name!r} cannot be read as Parquet ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}): give a folder, a glob or "
            "a list of Parquet files with one schema"
        ) from None
    return frame, name, present


def _month_ordinal(value: object) -> int | None:
    """Months since 1970-01 of one value (Period, datetime, 'YYYY-MM', 'YYYYmMM', 'YYYY-MM-DD'), else None."""
    if isinstance(value, pd.Period):
        period_ordinal: int = value.asfreq("M").ordinal
        return period_ordinal
    if isinstance(value, np.datetime64) and not np.isnat(value):
        value = pd.Timestamp(value)
    if isinstance(value, (int, float)) or pd.isna(value) is True:
        return None
    if hasattr(value, "year") and hasattr(value, "month"):  # datetime, date, Timestamp
        date_ordinal: int = (value.year - 1970) * 12 + value.month - 1
        return date_ordinal
    if isinstance(value, str):
        m = _MONTH_TEXT.match(value)
        if m and 1 <= int(m.group(2)) <= 12:
            return (int(m.group(1)) - 1970) * 12 + int(m.group(2)) - 1
    return None


def _integer_months(values: np.ndarray) -> np.ndarray | None:
    """Integers as YYYYMM (all six-digit with a valid month) or Stata %tm (months since 1960m1)."""
    month = values % 100
    if ((values >= 190001) & (values <= 299912) & (month >= 1) & (month <= 12)).all():
        yyyymm: np.ndarray = (values // 100 - 1970) * 12 + month - 1
        return yyyymm
    ordinal = values - _STATA_TM_OFFSET
    return ordinal if ((ordinal >= _FIRST_ORDINAL) & (ordinal <= _LAST_ORDINAL)).all() else None


def _parse_months(values: pd.Series, column: str, ids: pd.Series, *, allow_missing: bool = False) -> pd.Series:
    """Months as ``period[M]`` from periods, datetimes, Stata %tm integers, YYYYMM integers or text.

    Text forms: ``'2016-10'``, ``'2016/10'``, ``'2016m10'`` (Stata), ``'2016-10-01'`` (a date).
    Distinct values are parsed once, so 39 million rows cost as much as their few distinct months.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.PeriodDtype):
        ordinal = values.dt.asfreq("M").array.asi8.copy()
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = values.dt.tz_localize(None) if getattr(dtype, "tz", None) is not None else values
        ordinal = stamps.dt.to_period("M").array.asi8.copy()
    else:
        codes, uniques = pd.factorize(values)
        numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        parsed = None
        if numeric and len(uniques) and np.all(np.mod(np.asarray(uniques, float), 1) == 0):
            parsed = _integer_months(np.asarray(uniques, float).astype(np.int64))
        if parsed is None:
            parsed = np.array([_NAT if (o := _month_ordinal(u)) is None else o for u in uniques], dtype=np.int64)
        ordinal = np.where(codes >= 0, parsed[np.maximum(codes, 0)] if len(parsed) else _NAT, _NAT)
    known = ordinal != _NAT
    outside = known & ((ordinal < _FIRST_ORDINAL) | (ordinal > _LAST_ORDINAL))
    if outside.any():
        raise _fail(
            column,
            int(outside.sum()),
            ids[outside],
            f"have months outside {_MONTH_RANGE} (values such as {_VALUES})",
            "Check the month column: a year that far off is a data error (Stata %tm months count from 1960m1; "
            "YYYYMM integers need six digits).",
            values[outside].astype(str),
        )
    bad = ~known & values.notna().to_numpy()
    if not allow_missing:
        bad |= values.isna().to_numpy()
    if bad.any():
        raise _fail(
            column,
            int(bad.sum()),
            ids[bad],
            f"have months that cannot be read (values such as {_VALUES})",
            "Give months as 'YYYY-MM' text, dates, pandas Periods, Stata %tm ('2016m10' or months "
            "since 1960m1) or YYYYMM integers.",
            values[bad].astype(str),
            rank=1,
        )
    return pd.Series(pd.arrays.PeriodArray(ordinal, dtype=pd.PeriodDtype("M")), index=values.index, name=values.name)


def _month_option(value: str | pd.Period, name: str) -> pd.Period:
    ordinal = _month_ordinal(value)
    if ordinal is None:
        raise ValueError(f"{name}={value!r} is not a month: give 'YYYY-MM' or a pandas Period")
    return pd.Period(ordinal=ordinal, freq="M")


# -- structure (vectorized on data sorted by parent, month) -----------------------------------------
def _codes(values: pd.Series) -> np.ndarray:
    codes: np.ndarray = (
        pd.factorize(values)[0] if not pd.api.types.is_numeric_dtype(values.dtype) else values.to_numpy()
    )
    return codes


def _runs(parent_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``same[i]``: rows i and i+1 belong to one parent; ``starts``: first row of each parent."""
    same = parent_codes[1:] == parent_codes[:-1]
    return same, np.flatnonzero(np.r_[len(parent_codes) > 0, ~same])  # no rows (a partition): no parent


def _changes(values: pd.Series, same: np.ndarray, parent_codes: np.ndarray, n_parents: int) -> np.ndarray:
    """Rows of parents whose ``values`` change over their months."""
    v = _codes(values)
    changed = same & (v[1:] != v[:-1])
    bad_parent = np.zeros(n_parents, bool)
    bad_parent[parent_codes[1:][changed]] = True
    changing: np.ndarray = bad_parent[parent_codes]
    return changing


def _structure(data: pd.DataFrame, cols: Columns, baseline: pd.Period) -> dict[str, Any]:
    """Dimensions, gaps, baseline coverage and reported irregularities of a sorted, validated panel."""
    return _structure_total([_structure_part(data, cols, baseline)], cols)


def _structure_part(data: pd.DataFrame, cols: Columns, baseline: pd.Period) -> dict[str, Any]:
    """The pieces of :func:`_structure` of one block of whole parents (sums, distinct values)."""
    if data.empty:
        return {"rows": 0}
    pcode = pd.factorize(data[cols.parent])[0]
    same, starts = _runs(pcode)
    ends = np.r_[starts[1:], len(data)] - 1
    month = data[cols.month].array.asi8
    missing = (month[ends] - month[starts] + 1) - (ends - starts + 1)
    varying = {c: int(_changes(data[c], same, pcode, len(starts))[starts].sum()) for c in cols.time_invariant}
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


def _structure_total(parts: list[dict[str, Any]], cols: Columns) -> dict[str, Any]:
    """:func:`_structure` of blocks of whole parents, from their :func:`_structure_part`."""
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


# -- column checks ---------------------------------------------------------------------------------
def _binary(data: pd.DataFrame, column: str, pid: pd.Series, what: str, fix: str) -> pd.Series:
    values = data[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(np.int8)
    numeric = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values.dtype) else values
    bad = ~numeric.isin([0, 1]).to_numpy()
    if bad.any():
        raise _fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"are not 0/1 (values such as {_VALUES}); the {what} must be binary",
            fix,
            values[bad],
        )
    return numeric.astype(np.int8)


def _numeric(data: pd.DataFrame, column: str, pid: pd.Series) -> pd.Series:
    values = data[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(np.int8)
    kind = getattr(values.dtype, "kind", "O")
    if kind in "cmM" or isinstance(values.dtype, (pd.PeriodDtype, pd.IntervalDtype, pd.DatetimeTZDtype)):
        raise _fail(
            column,
            len(values),
            pid,
            f"are {values.dtype}, not real numbers",
            "Recode the covariate as real numbers (e.g. a date as years since a reference date).",
        )
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values
    converted = pd.to_numeric(values, errors="coerce")
    bad = (converted.isna() & values.notna()).to_numpy()
    if bad.any():
        raise _fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"are not numeric (values such as {_VALUES})",
            "Recode the covariate as numbers (0/1 dummies for categories).",
            values[bad],
            rank=1,
        )
    return converted


def _code_key(value: object) -> str:
    """A code as comparable text: 1, 1.0, '1' and ' 1 ' agree; text compares case-insensitively."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, float, np.number)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip().lower()


def _arm(data: pd.DataFrame, plan: Plan, pid: pd.Series) -> pd.Series:
    """The arm as int8 1 (the plan's offered code) / 0 (its control code)."""
    column, values = plan.arm, data[plan.arm]
    codes, uniques = pd.factorize(values)
    meaning = {_code_key(plan.offered_code): 1, _code_key(plan.control_code): 0}
    if {plan.offered_code, plan.control_code} == {1, 0}:
        meaning.update({"true": 1, "false": 0})
    mapped = np.array([meaning.get(_code_key(u), -1) for u in uniques] + [-1], dtype=np.int8)
    arm = mapped[np.where(codes >= 0, codes, len(uniques))]
    bad = arm < 0
    if bad.any():
        raise _fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"have an arm that is neither the offered code {plan.offered_code!r} nor the control code "
            f"{plan.control_code!r} (values such as {_VALUES})",
            "Recode the arm, or set arms.offered / arms.control in the plan to the codes your data use.",
            values[bad].astype(str),
        )
    return pd.Series(arm, index=data.index, name=column)


def _variant(data: pd.DataFrame, column: str, plan: Plan, pid: pd.Series) -> pd.Series:
    """The variant (``column``, the plan's variant column) as a categorical: the plan's control name,
    then its variant names (codes mapped)."""
    values = data[column]
    names = [plan.control_variant, *(v.name for v in plan.variants)]
    meaning = {_code_key(c): 0 for c in (plan.control_variant, *plan.control_variant_codes)}
    for i, v in enumerate(plan.variants, start=1):
        meaning.update({_code_key(c): i for c in (v.name, *v.codes)})
    codes, uniques = pd.factorize(values)
    mapped = np.array([meaning.get(_code_key(u), -1) for u in uniques] + [-1], dtype=np.int8)
    category = mapped[np.where(codes >= 0, codes, len(uniques))]
    bad = category < 0
    if bad.any():
        known = ", ".join(f"{n} = {[c for c, i in meaning.items() if i == k]}" for k, n in enumerate(names))
        raise _fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"have a missing or unknown variant (values such as {_VALUES})",
            f"The plan's [variants] codes are: {known}. Add the codes to the plan or fix the column.",
            values[bad].astype(str),
        )
    inconsistent = (category == 0) != (data[plan.arm].to_numpy() == 0)
    if inconsistent.any():
        raise _fail(
            column,
            int(inconsistent.sum()),
            pid[inconsistent],
            f"disagree with the arm (the variant must be {plan.control_variant!r} exactly when the arm is "
            "the control arm)",
            "Fix the variant column or the arm.",
            rank=1,
        )
    return pd.Series(pd.Categorical.from_codes(category, categories=names), index=data.index, name=column)


def _plan_from_columns(
    raw: pd.DataFrame, cols: Columns, implementation: str | pd.Period | None, baseline: str | pd.Period | None
) -> Plan:
    """A plain plan for bare Columns: variants are the variant column's values among offered parents."""
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


# -- the loader ------------------------------------------------------------------------------------
def load_panel(
    source: pd.DataFrame | str | Path,
    plan: Plan | Columns | str | Path | None = None,
    *,
    columns: Columns | None = None,
    implementation: str | pd.Period | None = None,
    baseline: str | pd.Period | None = None,
    missing: Missing | None = None,
    engine: Engine | None = None,
) -> Panel:
    """Load a long panel (DataFrame, .csv, .parquet or .dta) for an analysis plan and validate it.

    Parameters
    ----------
    source : DataFrame or path
        One row per parent per month. Months may be ``period[M]``, datetimes (Stata ``%tm``
        columns read from .dta arrive so), Stata ``%tm`` integers (months since 1960m1),
        ``YYYYMM`` integers, or text ``'2016-10'``/``'2016m10'``/``'2016-10-01'``. From a file
        only the plan's columns are read.
    plan : Plan, path to a plan TOML, shipped plan name, or Columns, optional
        The analysis plan (:func:`famtrial.load_plan`): roles, arm and variant codes, months,
        outcomes and covariates. Default: the shipped family-coordinator plan. Bare
        :class:`Columns` (or ``columns=``) give a plain plan whose labels are the column names;
        ``implementation`` is then required.
    implementation, baseline : str or Period, optional
        Override the plan's first month of the offer and baseline month.
    missing : {"error", "drop"}, optional
        Missing outcomes or covariates: raise, or drop those rows listwise (counted per column
        in ``Panel.report`` and shown by ``summary()``); default: the plan's ``data.missing``.
        Missing ids, months, arm or variant always raise.
    engine : {"pandas", "dask"}, optional
        ``"dask"``: ``source`` is a partitioned Parquet dataset (a folder, a glob such as
        ``"panel/*.parquet"``, or a list of files; each file is one partition) read lazily with
        Dask, or a ``dask.dataframe.DataFrame``; the panel's ``data`` is then a Dask DataFrame
        (see ``famtrial.data._dask.load_partitioned`` and docs/scale.md). Default: ``"dask"``
        for a Dask DataFrame, else ``"pandas"`` (the panel in memory). The same checks run and
        raise the same messages, and the report holds the same counts, either way.

    Returns
    -------
    Panel

    Raises
    ------
    PanelError
        An unreadable or empty file (a ';', tab or '|'-separated CSV is named as such); missing
        or repeated columns; cells holding lists or dicts; missing or infinite ids; unparseable
        months, or months outside 1900-01 .. 2969-12 (whatever their form: text, dates, Periods,
        Stata %tm or YYYYMM); an arm outside the plan's two codes or missing, or only one arm in the
        whole panel; outcomes outside {0, 1}; non-numeric covariates (text, complex, dates or
        durations); missing or infinite (+-inf, also as text ``'inf'``) outcomes or covariates under
        ``missing="error"``; duplicate (parent, month) rows; arm, family or office not constant
        within a parent; a family in two offices or with two arms; a variant unknown to the plan or
        inconsistent with the arm; an implementation month after the data. Gaps in a parent's
        months are allowed and counted.

    Notes
    -----
    Stata: ``xtset parent_id month`` (which also rejects repeated parent-months); R:
    ``plm::pdata.frame(data, index = c("parent_id", "month"))``.
    """
    from famtrial.plan.spec import Plan, load_plan

    if isinstance(plan, Columns):
        if columns is not None:
            raise TypeError("give the columns once: as the second argument or as columns=, not both")
        plan, columns = None, plan
    if columns is not None and not isinstance(columns, Columns):
        raise TypeError(f"columns must be a famtrial.Columns, not {type(columns).__name__}")
    if columns is not None and plan is not None:
        raise TypeError("give a plan or columns, not both: the plan holds the columns ([columns] in its TOML)")
    if plan is not None and not isinstance(plan, (Plan, str, Path)):
        raise TypeError(
            f"plan must be a famtrial Plan, a plan file, a shipped plan's name or famtrial.Columns, "
            f"not {type(plan).__name__}"
        )
    implementation = None if implementation is None else _month_option(implementation, "implementation")
    baseline = None if baseline is None else _month_option(baseline, "baseline")
    spec: Plan | Columns  # the loaded plan, or bare columns (the plan is made from the data)
    if columns is None:
        spec = load_plan(plan)
        if implementation is not None or baseline is not None:
            spec = spec.with_months(
                None if implementation is None else str(implementation), None if baseline is None else str(baseline)
            )
        wanted = spec.columns.required()
        missing = spec.missing if missing is None else (missing or "error")
    else:
        spec = columns
        wanted = columns.required()
        missing = missing or "error"
    if missing not in _MISSING:
        raise ValueError(f"missing={missing!r} is not one of {_MISSING}")
    if engine is not None and engine not in _ENGINES:
        raise ValueError(f"engine={engine!r} is not one of {_ENGINES}")
    raw, source_name, present = _read(source, wanted, engine)
    if engine == "dask" or source_name == "Dask DataFrame":
        from famtrial.data._dask import load_partitioned

        return load_partitioned(raw, source_name, present, spec, implementation, baseline, missing)
    plan = _plan_from_columns(raw, spec, implementation, baseline) if isinstance(spec, Columns) else spec
    cols = plan.columns
    rows_read = len(raw)
    required = cols.required()
    _check_columns(raw.columns, required, present, lambda: rows_read)
    data, agg = _validate(raw[required].reset_index(drop=True), plan, missing, rows_read, _Checks())
    report = LoadReport(
        rows_read=rows_read,
        rows_kept=len(data),
        source=source_name,
        dropped_missing=agg["counts"],
        rows_dropped_missing=agg["rows_dropped"],
        parents_dropped_missing=agg["parents_dropped"],
        rows_outside_window=agg["outside"],
        **{k: v for k, v in _structure(data, cols, pd.Period(plan.baseline, "M")).items() if k != "rows_kept"},
    )
    return Panel(data=data, plan=plan, report=report)


def _check_columns(names: pd.Index, required: list[str], present: list[str], n_rows: Callable[[], int]) -> None:
    """The panel has rows (``n_rows()``, called only when needed), and each required column once."""
    absent = [c for c in required if c not in names]
    if (len(absent) < len(required) or not len(names)) and n_rows() == 0:
        raise PanelError("the panel is empty (0 rows): check the file or the filter that produced it")
    repeated = sorted({str(c) for c in names[names.duplicated()] if c in set(required)})
    if repeated:
        raise PanelError(
            f"columns {repeated} appear more than once in the data: each column name must be unique "
            "(rename or drop the copies)"
        )
    if absent:
        raise PanelError(
            f"columns {absent} are missing ({len(absent)} of {len(required)} required); the data have "
            f"{present[:20]}. Map your names in the plan's [columns], [outcomes.<key>] column = ... "
            "and [covariates.<key>] column = ... (or famtrial.Columns(parent=..., family=..., office=..., "
            "month=..., arm=..., outcomes=(...), time_varying=(...), time_invariant=(...))), "
            "or rename the columns"
        )


# -- the checks, on a whole panel or on one partition of it ----------------------------------------------
#: A check that needs the whole panel: it raises :class:`PanelError` on the totals it is given.
_Check: TypeAlias = "Callable[[dict[str, Any], Plan], None]"


class _Checks:
    """The checks that need the whole panel (every row's month, every parent's arm ...).

    In memory (this class) each runs at once on the panel's totals. On one partition of a Dask
    panel (``famtrial.data._dask``) a subclass records the partition's totals instead, and the
    client runs the same check functions on their sums. ``step`` numbers the checks in the order
    :func:`_validate` makes them, so that the partitions' first failures reduce to the whole panel's.
    """

    def __init__(self) -> None:
        self.step = 0
        self.sorted = False  # the rows are sorted by (parent, month): later errors name parents in that order

    def next(self) -> None:
        self.step += 1

    def __call__(self, check: _Check, totals: dict[str, Any], plan: Plan) -> None:
        self.step += 1
        check(totals, plan)


def _check_window(t: dict[str, Any], plan: Plan) -> None:
    if t["outside"] and t["outside"] == t["n"]:
        raise PanelError(
            f"column {plan.columns.month!r}: all {t['outside']:,} rows lie outside the plan's months "
            f"{plan.first_month or '...'} .. {plan.last_month or '...'}: check months.first/last"
        )


def _check_implementation(t: dict[str, Any], plan: Plan) -> None:
    if not t["n"]:
        return
    first, last = (pd.Period(ordinal=int(t[k]), freq="M") for k in ("first", "last"))
    implementation = pd.Period(plan.implementation, "M")
    if implementation > last:
        raise PanelError(
            f"column {plan.columns.month!r}: the implementation month {implementation} is after every "
            f"month in the data ({first} .. {last}, "
            f"{t['n']:,} rows), so the offer's effect cannot be estimated. Set months.implementation "
            "in the plan (or implementation=) to the first month of the offer, or check the month "
            "column (Stata %tm months count from 1960m1; YYYYMM integers need six digits)"
        )


def _check_missing(t: dict[str, Any], plan: Plan) -> None:
    counts = t["counts"]
    if counts and t["missing"] == "error":
        worst = max(counts, key=counts.get)
        detail = ", ".join(f"{c}: {n:,}" for c, n in counts.items())
        raise _fail(
            worst,
            counts[worst],
            np.asarray(t["ids"][worst], dtype=object),
            f"have missing or infinite values (all such columns: {detail}; {t['any_na']:,} rows)",
            "Pass missing='drop' to drop those rows listwise (they are counted in Panel.report), or impute them first.",
        )
    if counts and t["n_after"] == 0:
        raise PanelError(f"the panel is empty after dropping {t['rows_read']:,} rows with missing values ({counts})")


def _check_arms(t: dict[str, Any], plan: Plan) -> None:
    arms = t["arms"]
    if not arms.all():
        only = plan.offered_code if arms[1] else plan.control_code
        raise PanelError(
            f"column {plan.arm!r}: all {int(arms.sum()):,} rows have the arm {only!r} "
            f"({plan.offered_label if arms[1] else plan.control_label}); a randomized trial's panel "
            f"needs parents in both arms (offered code {plan.offered_code!r}, control code "
            f"{plan.control_code!r}): check the arm coding or the filter that produced the data"
        )


def _validate(
    data: pd.DataFrame, plan: Plan, missing: str, rows_read: int, checks: _Checks
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every check of :func:`load_panel` after the columns are found: the panel (or one partition of
    it) converted, sorted by (parent, month) and validated, and its counts (``outside``: rows outside
    the plan's months; ``counts``, ``rows_dropped``, ``parents_dropped``: the missing-value policy;
    ``per``, ``per_rows``: one row per parent and its row count)."""
    cols = plan.columns
    required = cols.required()
    pid = data[cols.parent]
    for c in required:  # lists, dicts or sets in cells: nothing downstream can compare them
        checks.next()
        bad = _unhashable(data[c])
        if bad is not None:
            raise _fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                f"hold non-scalar values such as lists or dicts (e.g. {_VALUES})",
                "Give one number, code or text per cell (flatten or explode the column first).",
                data[c][bad],
            )

    for c in cols.ids:
        checks.next()
        bad = data[c].isna().to_numpy()
        if bad.any():
            raise _fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                "have no id",
                "Every row needs a parent, family and office id: fill or drop those rows.",
            )
        bad = _infinite(data[c]) if pd.api.types.is_float_dtype(data[c].dtype) else None
        if bad is not None and bad.any():
            raise _fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                "have an infinite id (inf)",
                "Ids must be finite codes or text: fix the export that produced them.",
                rank=1,
            )
    checks.next()
    data[cols.month] = _parse_months(data[cols.month], cols.month, pid)
    outside = 0
    if plan.first_month or plan.last_month:  # the plan's window of months: rows outside are removed, counted
        month = data[cols.month].array.asi8
        keep = np.ones(len(data), bool)
        if plan.first_month:
            keep &= month >= pd.Period(plan.first_month, "M").ordinal
        if plan.last_month:
            keep &= month <= pd.Period(plan.last_month, "M").ordinal
        outside = int((~keep).sum())
        if outside:
            data = data.loc[keep].reset_index(drop=True)
            pid = data[cols.parent]
    checks(_check_window, {"outside": outside, "n": len(data) + outside}, plan)
    month = data[cols.month].array.asi8
    checks(
        _check_implementation,
        {
            "n": len(data),
            "first": int(month.min()) if len(month) else np.iinfo(np.int64).max,
            "last": int(month.max()) if len(month) else np.iinfo(np.int64).min,
        },
        plan,
    )
    checks.next()
    bad = data[cols.arm].isna().to_numpy()
    if bad.any():
        raise _fail(
            cols.arm,
            int(bad.sum()),
            pid[bad],
            "have no arm (missing values)",
            "The randomized arm must be known for every row: fill it from the randomization list.",
        )

    # missing outcomes / covariates: explicit policy
    value_cols = [*cols.outcomes, *cols.covariates]
    na = data[value_cols].isna()
    for c in value_cols:  # +-inf (also as text 'inf') counts as missing: no finite analysis uses it
        na[c] |= _infinite(data[c])
    counts = {c: int(n) for c, n in na.sum().items() if n}
    any_na = na.any(axis=1).to_numpy()
    parents_before = pid.nunique() if counts and missing != "error" else 0  # (an O(n) count: only when dropping)
    if counts and missing != "error":
        data = data.loc[~any_na].reset_index(drop=True)
        pid = data[cols.parent]
    checks(
        _check_missing,
        {
            "counts": counts,
            "missing": missing,
            "any_na": int(any_na.sum()),
            "n_after": len(data),
            "rows_read": rows_read,
            "ids": {c: _first(pid[na[c].to_numpy()] if missing == "error" else pid[:0], 5) for c in counts},
        },
        plan,
    )
    rows_dropped, parents_dropped = (int(any_na.sum()), int(parents_before - pid.nunique())) if counts else (0, 0)

    checks.next()
    data[cols.arm] = _arm(data, plan, pid)
    checks(_check_arms, {"arms": np.bincount(data[cols.arm].to_numpy(), minlength=2)}, plan)
    for c in cols.outcomes:
        checks.next()
        data[c] = _binary(data, c, pid, "outcome", "Recode the outcome to 0/1 (1 = yes in that month).")
    for c in cols.covariates:
        checks.next()
        data[c] = _numeric(data, c, pid)
    checks.next()
    if cols.model is not None:
        data[cols.model] = _variant(data, cols.model, plan, pid)
    checks.next()
    if cols.start is not None:
        data[cols.start] = _parse_months(data[cols.start], cols.start, pid, allow_missing=True)

    # sort once by (parent, month); then every within-parent check compares neighbouring rows
    try:
        pcode, parents = pd.factorize(data[cols.parent], sort=True)
    except TypeError:  # ids of mixed types: order of first appearance
        pcode, parents = pd.factorize(data[cols.parent])
    month = data[cols.month].array.asi8
    ordered = np.all(pcode[1:] >= pcode[:-1]) and np.all((pcode[1:] != pcode[:-1]) | (month[1:] >= month[:-1]))
    if not ordered:
        span = int(month.max() - month.min()) + 1
        order = np.argsort(pcode.astype(np.int64) * span + (month - month.min()))
        data, pcode, month = data.take(order).reset_index(drop=True), pcode[order], month[order]
    pid = data[cols.parent]
    checks.sorted = True
    same, starts = _runs(pcode)
    checks.next()
    dup = same & (month[1:] == month[:-1])
    if dup.any():
        rows = np.r_[dup, False] | np.r_[False, dup]
        raise _fail(
            cols.month,
            int(rows.sum()),
            pid[rows],
            "repeat a (parent, month) pair",
            "Keep one row per parent per month (aggregate or de-duplicate first).",
        )
    for c, what in ((cols.arm, "randomized arm"), (cols.family, "family"), (cols.office, "office")):
        checks.next()
        bad = _changes(data[c], same, pcode, len(parents))
        if bad.any():
            raise _fail(
                c,
                int(bad.sum()),
                pid[bad],
                f"belong to parents whose {what} changes over months",
                f"The {what} must be constant within a parent: fix the id or the assignment.",
            )

    per = data.iloc[starts][[cols.parent, cols.family, cols.office, cols.arm]].reset_index(drop=True)
    per_rows = np.diff(np.r_[starts, len(data)])
    checks(_check_families, {"per": per, "per_rows": per_rows}, plan)
    return data, {
        "outside": outside,
        "counts": counts,
        "rows_dropped": rows_dropped,
        "parents_dropped": parents_dropped,
    }


def _check_families(t: dict[str, Any], plan: Plan) -> None:
    """Family-level checks on one row per parent (``per``, sorted by parent; ``per_rows`` its rows)."""
    cols, per, per_rows = plan.columns, t["per"], t["per_rows"]
    for rank, (c, problem, fix) in enumerate(
        (
            (
                cols.office,
                "belong to families listed in two or more offices",
                "A family belongs to one office: fix the family or office ids.",
            ),
            (
                cols.arm,
                "belong to families whose parents have different arms",
                "The offer was randomized per family: every parent of a family shares its arm.",
            ),
        )
    ):
        bad = per.groupby(cols.family, sort=False)[c].transform("nunique").to_numpy() > 1
        if bad.any():
            raise _fail(c, int(per_rows[bad].sum()), per.loc[bad, cols.parent], problem, fix, rank=rank)
