"""Input checks of the estimators.

Each raises a :mod:`famtrial.errors` exception naming the argument, column or variable, the count and the fix.

This module imports nothing from the trial layer: a :class:`famtrial.Panel` passed where a
DataFrame is expected is recognised by duck typing (it has ``.data`` and ``.columns`` but is not a
DataFrame).
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from famtrial.errors import ModelInputError, ModelTypeError

__all__ = ["check_frame", "check_columns", "check_names", "numeric_column", "numeric_matrix", "check_finite"]


def check_frame(data: object, argument: str = "data") -> pd.DataFrame:
    """``data`` itself if it is a DataFrame, else a :class:`ModelTypeError` naming ``argument``."""
    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "data") and hasattr(data, "columns"):  # a famtrial Panel (duck typing: no trial import)
        raise ModelTypeError(
            f"{argument} must be a pandas DataFrame; got a {type(data).__name__} "
            f"(a panel): pass its .data (e.g. {argument}=panel.data), or use the panel-level "
            "function (famtrial.fe_model / famtrial.monthly_effects)"
        )
    raise ModelTypeError(f"{argument} must be a pandas DataFrame; got {type(data).__name__}")


def check_names(names: Any, argument: str = "covariates") -> list[Any]:
    """A list of column names from a sequence; a bare string is an error (it would be read letter by letter)."""
    if isinstance(names, (str, bytes)):
        raise ModelTypeError(
            f"{argument} must be a list of column names; got the string {names!r} — write {argument}=[{names!r}]"
        )
    if isinstance(names, pd.DataFrame):
        raise ModelTypeError(f"{argument} must be a list of column names; got a DataFrame (pass list(frame.columns))")
    try:
        out: list[Any] = list(names)
        return out
    except TypeError:
        raise ModelTypeError(f"{argument} must be a list of column names; got {type(names).__name__}") from None


def check_columns(data: pd.DataFrame, **roles: Any) -> None:
    """Every column named in ``roles`` is in ``data``, else a :class:`ModelInputError`.

    ``roles`` maps an argument name to a column name or a list of names (None skipped); the error names the argument,
    the missing columns and close matches.
    """
    missing: list[str] = []
    present = [str(c) for c in data.columns]
    for role, cols in roles.items():
        if cols is None:
            continue
        for col in [cols] if not isinstance(cols, list) else cols:
            try:
                present_here = col in data.columns
            except TypeError:  # an unhashable entry, e.g. a nested list
                raise ModelTypeError(f"{role} must name columns; got {col!r} ({type(col).__name__})") from None
            if not present_here:
                close = difflib.get_close_matches(str(col), present, n=2)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                missing.append(f"{role} column {col!r}{hint}")
    if missing:
        shown = present if len(present) <= 20 else present[:20] + [f"... {len(present) - 20} more"]
        raise ModelInputError(
            f"{'; '.join(missing)} {'is' if len(missing) == 1 else 'are'} not in the data "
            f"({len(missing)} missing); the data have columns {shown}"
        )


def numeric_column(data: pd.DataFrame, column: Any, role: str = "covariate") -> np.ndarray:
    """The column as float64, or a :class:`ModelInputError` naming it when it is not numeric.

    Strings, categories and dates are not numeric. Non-finite values are left for :func:`check_finite`.
    """
    series = data[column]
    if isinstance(series, pd.DataFrame):
        raise ModelInputError(
            f"{role} column {column!r} appears {series.shape[1]} times in the data; rename the duplicates"
        )
    kind = series.dtype.kind
    if kind in "biuf":
        return np.asarray(series.to_numpy(dtype=float, na_value=np.nan))
    if isinstance(series.dtype, pd.BooleanDtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return np.asarray(series.to_numpy(dtype=float, na_value=np.nan))
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any() or isinstance(series.dtype, pd.CategoricalDtype) or kind in "mM":
        examples = ", ".join(map(repr, pd.unique(series[bad] if bad.any() else series.dropna())[:3]))
        raise ModelInputError(
            f"{role} column {column!r} is not numeric (dtype {series.dtype}; "
            f"{int(bad.sum()) if bad.any() else len(series):,} of {len(series):,} values such as "
            f"{examples}); encode it as numbers or 0/1 dummies (e.g. pandas.get_dummies) first"
        )
    return np.asarray(converted.to_numpy(dtype=float, na_value=np.nan))


def numeric_matrix(exog: Any) -> np.ndarray:
    """Regressors as a float matrix (n, p), or a :class:`ModelInputError` naming the first text column."""
    if isinstance(exog, pd.DataFrame) and not all(t.kind in "biuf" for t in exog.dtypes):
        return (
            np.column_stack([numeric_column(exog, c) for c in exog.columns])
            if exog.shape[1]
            else np.zeros((len(exog), 0))
        )
    try:
        x = np.asarray(exog, dtype=float)
    except (TypeError, ValueError) as err:
        raise ModelInputError(
            f"exog is not numeric ({err}); encode text regressors as numbers or 0/1 dummies first"
        ) from None
    return x[:, None] if x.ndim == 1 else x


def check_finite(name: Any, values: np.ndarray) -> None:
    """:class:`ModelInputError` naming the column and counting its NaN and +-inf values."""
    values = np.asarray(values)
    bad = ~np.isfinite(values)
    if bad.any():
        n_inf = int(np.isinf(values).sum())
        parts = [f"{int(bad.sum()) - n_inf:,} missing"] * (int(bad.sum()) > n_inf) + [f"{n_inf:,} infinite"] * (
            n_inf > 0
        )
        raise ModelInputError(
            f"column {name!r} has {int(bad.sum()):,} missing or infinite values of {len(values):,} "
            f"({' and '.join(parts)}); drop or impute those rows before fitting "
            "(famtrial.load_panel(..., missing='drop') counts them)"
        )
