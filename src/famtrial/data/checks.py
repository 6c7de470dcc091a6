"""The checks of a panel, numbered in the order both loaders make them.

:func:`validate` converts, sorts and checks a panel (in memory) or one partition of it (the Dask
loader, :mod:`famtrial.data._dask`), step by step in this order:

1. cells holding lists, dicts or other non-scalar values (each required column);
2. missing or infinite ids (parent, family, office);
3. months that cannot be read or lie outside 1900-01 .. 2969-12; then the plan's window of months
   (rows outside are removed and counted; all rows outside is an error) and an implementation month
   after every month of the data;
4. a missing arm;
5. missing or infinite outcomes and covariates: an error, or (``missing="drop"``) rows dropped listwise;
6. the arm outside the plan's two codes, and only one arm in the whole panel;
7. outcomes outside {0, 1}; non-numeric covariates; a variant unknown to the plan or inconsistent
   with the arm; an unreadable start month;
8. after sorting by (parent, month): repeated (parent, month) pairs; an arm, family or office that
   changes within a parent; a family in two offices or whose parents have two arms.

A row check raises at once (:func:`famtrial.data.failures.fail`). A check that needs the whole
panel (every row's month, both arms, families across parents) is a function of totals run through
:class:`Checks`: in memory at once, on a partition recorded for the client to run on the summed
totals. ``Checks.step`` counts every check, so the partitions' first failures reduce to the one
the whole panel gives in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from famtrial._options import Missing
from famtrial.data.failures import VALUES, fail, first_values
from famtrial.data.months import parse_months
from famtrial.errors import PanelError

if TYPE_CHECKING:
    from famtrial.plan.spec import Columns, Plan

__all__ = ["Check", "Checks", "check_columns", "validate", "runs", "changes"]

#: A check that needs the whole panel: it raises :class:`PanelError` on the totals it is given.
Check: TypeAlias = "Callable[[dict[str, Any], Plan], None]"


class Checks:
    """The checks that need the whole panel (every row's month, every parent's arm ...).

    In memory (this class) each runs at once on the panel's totals. On one partition of a Dask
    panel (``famtrial.data._dask``) a subclass records the partition's totals instead, and the
    client runs the same check functions on their sums. ``step`` numbers the checks in the order
    :func:`validate` makes them, so that the partitions' first failures reduce to the whole panel's.
    """

    def __init__(self) -> None:
        self.step = 0
        self.sorted = False  # the rows are sorted by (parent, month): later errors name parents in that order

    def next(self) -> None:
        """Count a row check (made at once, on these rows)."""
        self.step += 1

    def __call__(self, check: Check, totals: dict[str, Any], plan: Plan) -> None:
        """Count a whole-panel check and run it on ``totals`` (it raises :class:`PanelError` on a failure)."""
        self.step += 1
        check(totals, plan)


# -- the checks that need the whole panel (functions of totals) ------------------------------------------
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
        raise fail(
            worst,
            counts[worst],
            np.asarray(t["ids"][worst], dtype=object),
            f"have missing or infinite values (all such columns: {detail}; {t['any_na']:,} rows)",
            'Set [data] missing = "drop" in the plan (--missing drop on the command line, missing="drop" in '
            "Python) to drop those rows listwise (they are counted in Panel.report), or impute them first.",
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
            raise fail(c, int(per_rows[bad].sum()), per.loc[bad, cols.parent], problem, fix, rank=rank)


# -- the columns ------------------------------------------------------------------------------------------
def check_columns(names: pd.Index, required: list[str], present: list[str], n_rows: Callable[[], int]) -> None:
    """The panel has rows, and each required column once.

    Parameters
    ----------
    names : Index
        The columns read.
    required : list of str
        The plan's columns.
    present : list of str
        Every column of the source (named in the message when some are missing).
    n_rows : callable
        The number of rows; called only when needed (on a Dask panel it is a pass over the data).

    Raises
    ------
    PanelError
        An empty panel, a repeated column or missing columns (in that order).
    """
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


# -- cells ------------------------------------------------------------------------------------------------
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


# -- conversions: outcomes, covariates, arm, variant ------------------------------------------------------
def _binary(data: pd.DataFrame, column: str, pid: pd.Series, what: str, fix: str) -> pd.Series:
    values = data[column]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(np.int8)
    numeric = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_numeric_dtype(values.dtype) else values
    bad = ~numeric.isin([0, 1]).to_numpy()
    if bad.any():
        raise fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"are not 0/1 (values such as {VALUES}); the {what} must be binary",
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
        raise fail(
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
        raise fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"are not numeric (values such as {VALUES})",
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
        raise fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"have an arm that is neither the offered code {plan.offered_code!r} nor the control code "
            f"{plan.control_code!r} (values such as {VALUES})",
            "Recode the arm, or set arms.offered / arms.control in the plan to the codes your data use.",
            values[bad].astype(str),
        )
    return pd.Series(arm, index=data.index, name=column)


def _variant(data: pd.DataFrame, column: str, plan: Plan, pid: pd.Series) -> pd.Series:
    """The variant (``column``, the plan's variant column) as a categorical.

    Its categories are the plan's control name, then its variant names (codes mapped).
    """
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
        raise fail(
            column,
            int(bad.sum()),
            pid[bad],
            f"have a missing or unknown variant (values such as {VALUES})",
            f"The plan's [variants] codes are: {known}. Add the codes to the plan or fix the column.",
            values[bad].astype(str),
        )
    inconsistent = (category == 0) != (data[plan.arm].to_numpy() == 0)
    if inconsistent.any():
        raise fail(
            column,
            int(inconsistent.sum()),
            pid[inconsistent],
            f"disagree with the arm (the variant must be {plan.control_variant!r} exactly when the arm is "
            "the control arm)",
            "Fix the variant column or the arm.",
            rank=1,
        )
    return pd.Series(pd.Categorical.from_codes(category, categories=names), index=data.index, name=column)


# -- within parents (vectorized on data sorted by parent, month) ------------------------------------------
def _codes(values: pd.Series) -> np.ndarray:
    codes: np.ndarray = (
        pd.factorize(values)[0] if not pd.api.types.is_numeric_dtype(values.dtype) else values.to_numpy()
    )
    return codes


def runs(parent_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs of one parent's rows in rows sorted by parent.

    Parameters
    ----------
    parent_codes : ndarray
        The rows' parent codes, sorted.

    Returns
    -------
    same : ndarray of bool
        ``same[i]``: rows i and i+1 belong to one parent.
    starts : ndarray of int
        The first row of each parent (none when there are no rows).
    """
    same = parent_codes[1:] == parent_codes[:-1]
    return same, np.flatnonzero(np.r_[len(parent_codes) > 0, ~same])  # no rows (a partition): no parent


def changes(values: pd.Series, same: np.ndarray, parent_codes: np.ndarray, n_parents: int) -> np.ndarray:
    """Rows of parents whose ``values`` change over their months.

    Parameters
    ----------
    values : Series
        A column of rows sorted by parent.
    same, parent_codes : ndarray
        From :func:`runs` and the codes it was given.
    n_parents : int
        The number of parent codes.

    Returns
    -------
    ndarray of bool
        Per row.
    """
    v = _codes(values)
    changed = same & (v[1:] != v[:-1])
    bad_parent = np.zeros(n_parents, bool)
    bad_parent[parent_codes[1:][changed]] = True
    changing: np.ndarray = bad_parent[parent_codes]
    return changing


# -- the steps of validate, in order ----------------------------------------------------------------------
def _check_cells(data: pd.DataFrame, cols: Columns, pid: pd.Series, checks: Checks) -> None:
    """Step 1: lists, dicts or sets in cells: nothing downstream can compare them."""
    for c in cols.required():
        checks.next()
        bad = _unhashable(data[c])
        if bad is not None:
            raise fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                f"hold non-scalar values such as lists or dicts (e.g. {VALUES})",
                "Give one number, code or text per cell (flatten or explode the column first).",
                data[c][bad],
            )


def _check_ids(data: pd.DataFrame, cols: Columns, pid: pd.Series, checks: Checks) -> None:
    """Step 2: every row has a finite parent, family and office id."""
    for c in cols.ids:
        checks.next()
        bad = data[c].isna().to_numpy()
        if bad.any():
            raise fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                "have no id",
                "Every row needs a parent, family and office id: fill or drop those rows.",
            )
        bad = _infinite(data[c]) if pd.api.types.is_float_dtype(data[c].dtype) else None
        if bad is not None and bad.any():
            raise fail(
                c,
                int(bad.sum()),
                [] if c == cols.parent else pid[bad],
                "have an infinite id (inf)",
                "Ids must be finite codes or text: fix the export that produced them.",
                rank=1,
            )
        if data[c].dtype == object:
            _check_id_types(data[c], c, [] if c == cols.parent else pid)


def _check_id_types(values: pd.Series, column: str, pid: Any) -> None:
    """Ids of one kind: a column holding both numbers and text (``1`` and ``'1'``) would split one unit in two."""
    text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if text.all() or not text.any():
        return
    minority = ~text if text.sum() >= (~text).sum() else text
    kinds = "numbers" if not text[minority].any() else "text"
    examples = [
        repr(v) for v in (*first_values(values[~text].to_numpy(), 2), *first_values(values[text].to_numpy(), 1))
    ]
    raise fail(
        column,
        int(minority.sum()),
        pid[minority] if len(pid) else [],
        f"hold ids that are {kinds} while the other rows' are {'text' if kinds == 'numbers' else 'numbers'} "
        f"(values such as {VALUES}): 1 and '1' would be two different units",
        "Store the ids as one type: all text or all numbers (e.g. df[col] = df[col].astype(str)).",
        examples,
        rank=2,
    )


def _months(data: pd.DataFrame, plan: Plan, pid: pd.Series, checks: Checks) -> tuple[pd.DataFrame, int]:
    """Step 3: months parsed, rows outside the plan's window removed (their number returned).

    The window and the implementation month are checked.
    """
    cols = plan.columns
    checks.next()
    data[cols.month] = parse_months(data[cols.month], cols.month, pid)
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
    return data, outside


def _check_arm_known(data: pd.DataFrame, cols: Columns, pid: pd.Series, checks: Checks) -> None:
    """Step 4: every row has an arm."""
    checks.next()
    bad = data[cols.arm].isna().to_numpy()
    if bad.any():
        raise fail(
            cols.arm,
            int(bad.sum()),
            pid[bad],
            "have no arm (missing values)",
            "The randomized arm must be known for every row: fill it from the randomization list.",
        )


def _missing_values(
    data: pd.DataFrame, plan: Plan, missing: Missing, rows_read: int, checks: Checks
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Step 5: missing outcomes and covariates under the explicit policy (raise, or drop rows listwise).

    Returns the counts of :func:`validate` (``counts``, ``rows_dropped``, ``parents_dropped``).
    """
    cols = plan.columns
    pid = data[cols.parent]
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
            "ids": {c: first_values(pid[na[c].to_numpy()] if missing == "error" else pid[:0], 5) for c in counts},
        },
        plan,
    )
    rows_dropped, parents_dropped = (int(any_na.sum()), int(parents_before - pid.nunique())) if counts else (0, 0)
    return data, {"counts": counts, "rows_dropped": rows_dropped, "parents_dropped": parents_dropped}


def _convert(data: pd.DataFrame, plan: Plan, checks: Checks) -> None:
    """Steps 6 and 7, in place: every column converted to its analysis type.

    The arm as 0/1 (both arms present), outcomes as 0/1, covariates as numbers, the variant as a
    categorical, the start month as ``period[M]``.
    """
    cols = plan.columns
    pid = data[cols.parent]
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
        data[cols.start] = parse_months(data[cols.start], cols.start, pid, allow_missing=True)


def _sort(data: pd.DataFrame, cols: Columns) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int]:
    """The rows sorted once by (parent, month), their parent codes and months, and the number of parents."""
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
    return data, pcode, month, len(parents)


def _check_within_parents(
    data: pd.DataFrame, cols: Columns, pcode: np.ndarray, month: np.ndarray, n_parents: int, checks: Checks
) -> np.ndarray:
    """Step 8 on sorted rows: one row per parent-month; arm, family and office constant within a parent.

    Returns each parent's first row.
    """
    pid = data[cols.parent]
    same, starts = runs(pcode)
    checks.next()
    dup = same & (month[1:] == month[:-1])
    if dup.any():
        rows = np.r_[dup, False] | np.r_[False, dup]
        raise fail(
            cols.month,
            int(rows.sum()),
            pid[rows],
            "repeat a (parent, month) pair",
            "Keep one row per parent per month (aggregate or de-duplicate first).",
        )
    for c, what in ((cols.arm, "randomized arm"), (cols.family, "family"), (cols.office, "office")):
        checks.next()
        bad = changes(data[c], same, pcode, n_parents)
        if bad.any():
            raise fail(
                c,
                int(bad.sum()),
                pid[bad],
                f"belong to parents whose {what} changes over months",
                f"The {what} must be constant within a parent: fix the id or the assignment.",
            )
    return starts


def validate(
    data: pd.DataFrame, plan: Plan, missing: Missing, rows_read: int, checks: Checks
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every check of ``load_panel`` after the columns are found, in the numbered order of this module.

    Parameters
    ----------
    data : DataFrame
        The panel's required columns (or one partition's), a frame of its own: converted in place.
    plan : Plan
        The analysis plan.
    missing : {"error", "drop"}
        The missing-value policy for outcomes and covariates.
    rows_read : int
        The rows read (for the message when dropping empties the panel).
    checks : Checks
        Runs (in memory) or records (on a partition) the checks that need the whole panel.

    Returns
    -------
    data : DataFrame
        Converted, sorted by (parent, month) and validated.
    counts : dict
        ``outside``: rows outside the plan's months; ``counts`` (per column), ``rows_dropped``,
        ``parents_dropped``: the missing-value policy.

    Raises
    ------
    PanelError
        The first check that fails.
    """
    cols = plan.columns
    pid = data[cols.parent]
    _check_cells(data, cols, pid, checks)
    _check_ids(data, cols, pid, checks)
    data, outside = _months(data, plan, pid, checks)
    _check_arm_known(data, cols, data[cols.parent], checks)
    data, dropped = _missing_values(data, plan, missing, rows_read, checks)
    _convert(data, plan, checks)
    data, pcode, month, n_parents = _sort(data, cols)
    checks.sorted = True
    starts = _check_within_parents(data, cols, pcode, month, n_parents, checks)
    per = data.iloc[starts][[cols.parent, cols.family, cols.office, cols.arm]].reset_index(drop=True)
    per_rows = np.diff(np.r_[starts, len(data)])
    checks(_check_families, {"per": per, "per_rows": per_rows}, plan)
    return data, {"outside": outside, **dropped}
