"""Calendar months in every form a panel brings them, as pandas ``period[M]``.

A month may come as a pandas Period, a datetime (Stata ``%tm`` columns read from a .dta file arrive
so), a Stata ``%tm`` integer (months since 1960m1), a ``YYYYMM`` integer, or text (``'2016-10'``,
``'2016/10'``, ``'2016m10'``, ``'2016-10-01'``). Every form must lie in 1900-01 .. 2969-12: a year
further off is a data error, reported as a row check (:func:`famtrial.data.failures.fail`).
Distinct values are parsed once, so 39 million rows cost as much as their few distinct months.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from famtrial.data.failures import VALUES, fail

__all__ = ["parse_months", "month_option"]

_NAT = np.iinfo(np.int64).min
_STATA_TM_OFFSET = 120  # Stata %tm counts months from 1960m1, pandas ordinals from 1970-01
_FIRST_ORDINAL, _LAST_ORDINAL = -840, 11_999  # every month form must lie in 1900-01 .. 2969-12
_MONTH_RANGE = "1900-01 .. 2969-12"
_MONTH_TEXT = re.compile(r"^\s*(\d{4})\s*(?:-|/|m|M)\s*(\d{1,2})(?:[-/]\d{1,2})?(?:[ T][\d:.]*)?\s*$")


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
    """Integers as YYYYMM (all six-digit) or Stata %tm (months since 1960m1).

    Six-digit integers cannot be Stata %tm months of 1900-01 .. 2969-12, so a column of them is YYYYMM;
    a value with no month 01-12 (``202213``) is then unreadable (``_NAT``), reported with its own value,
    not the whole column.
    """
    month = values % 100
    if ((values >= 190001) & (values <= 299912)).all():
        valid = (month >= 1) & (month <= 12)
        yyyymm: np.ndarray = np.where(valid, (values // 100 - 1970) * 12 + month - 1, _NAT)
        return yyyymm
    ordinal = values - _STATA_TM_OFFSET
    return ordinal if ((ordinal >= _FIRST_ORDINAL) & (ordinal <= _LAST_ORDINAL)).all() else None


def _ordinals(values: pd.Series) -> np.ndarray:
    """Months since 1970-01 of every row (a copy); rows that hold no readable month are ``_NAT``."""
    dtype = values.dtype
    if isinstance(dtype, pd.PeriodDtype):
        period_ordinals: np.ndarray = values.dt.asfreq("M").array.asi8.copy()
        return period_ordinals
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = values.dt.tz_localize(None) if getattr(dtype, "tz", None) is not None else values
        date_ordinals: np.ndarray = stamps.dt.to_period("M").array.asi8.copy()
        return date_ordinals
    codes, uniques = pd.factorize(values)
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    parsed = None
    if numeric and len(uniques) and np.all(np.mod(np.asarray(uniques, float), 1) == 0):
        parsed = _integer_months(np.asarray(uniques, float).astype(np.int64))
    if parsed is None:
        parsed = np.array([_NAT if (o := _month_ordinal(u)) is None else o for u in uniques], dtype=np.int64)
    ordinal: np.ndarray = np.where(codes >= 0, parsed[np.maximum(codes, 0)] if len(parsed) else _NAT, _NAT)
    return ordinal


def parse_months(values: pd.Series, column: str, ids: pd.Series, *, allow_missing: bool = False) -> pd.Series:
    """Months as ``period[M]`` from periods, datetimes, Stata %tm integers, YYYYMM integers or text.

    Text forms: ``'2016-10'``, ``'2016/10'``, ``'2016m10'`` (Stata), ``'2016-10-01'`` (a date).

    Parameters
    ----------
    values : Series
        The month column.
    column : str
        Its name, for the messages.
    ids : Series
        The rows' parent ids, for the messages.
    allow_missing : bool
        Whether a missing month is allowed (it stays missing) rather than an error.

    Returns
    -------
    Series
        ``period[M]``, on ``values``' index and with its name.

    Raises
    ------
    PanelError
        Months outside 1900-01 .. 2969-12 (first), or months that cannot be read.
    """
    ordinal = _ordinals(values)
    known = ordinal != _NAT
    outside = known & ((ordinal < _FIRST_ORDINAL) | (ordinal > _LAST_ORDINAL))
    if outside.any():
        raise fail(
            column,
            int(outside.sum()),
            ids[outside],
            f"have months outside {_MONTH_RANGE} (values such as {VALUES})",
            "Check the month column: a year that far off is a data error (Stata %tm months count from 1960m1; "
            "YYYYMM integers need six digits).",
            values[outside].astype(str),
        )
    bad = ~known & values.notna().to_numpy()
    if not allow_missing:
        bad |= values.isna().to_numpy()
    if bad.any():
        raise fail(
            column,
            int(bad.sum()),
            ids[bad],
            f"have months that cannot be read (values such as {VALUES})",
            "Give months as 'YYYY-MM' text, dates, pandas Periods, Stata %tm ('2016m10' or months "
            "since 1960m1) or YYYYMM integers.",
            values[bad].astype(str),
            rank=1,
        )
    return pd.Series(pd.arrays.PeriodArray(ordinal, dtype=pd.PeriodDtype("M")), index=values.index, name=values.name)


def month_option(value: str | pd.Period, name: str) -> pd.Period:
    """A month given as an option (``implementation=``, ``baseline=``) as a pandas Period.

    Parameters
    ----------
    value : str or Period
        ``'YYYY-MM'`` (or any text form :func:`parse_months` reads), a date or a Period.
    name : str
        The option's name, for the message.

    Returns
    -------
    Period
        Monthly.

    Raises
    ------
    ValueError
        ``value`` is not a month.
    """
    ordinal = _month_ordinal(value)
    if ordinal is None:
        raise ValueError(f"{name}={value!r} is not a month: give 'YYYY-MM' or a pandas Period")
    return pd.Period(ordinal=ordinal, freq="M")
