"""A row check's failure as a :class:`~famtrial.errors.PanelError`, and several partitions' failures as one.

Every row check of the loaders (:mod:`famtrial.data.checks`, :mod:`famtrial.data.months`) reports a
problem the same way: the column, the number of offending rows, up to five example parent ids, up to
three example values, and what to do. The parts are kept on the error (``err.parts``) so that the
Dask loader (:mod:`famtrial.data._dask`) combines the failures of a panel's partitions into the
message the whole panel gives in memory, word for word (:func:`combine_fail`).

This module sits below the month parser and the checks, which both raise through :func:`fail`.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from famtrial.errors import PanelError

__all__ = ["VALUES", "first_values", "fail", "combine_fail"]

#: Where a message's offending values go in a :func:`fail` problem text (filled with up to three of them).
VALUES = "\x1fvalues\x1f"


def first_values(values: Collection[object], k: int) -> list[object]:
    """Up to ``k`` distinct values in order of appearance (as text when the cells are unhashable).

    Parameters
    ----------
    values : collection
        Cells or ids, in row order.
    k : int
        How many to keep.

    Returns
    -------
    list
    """
    try:
        unique = pd.unique(np.asarray(values))
    except TypeError:  # unhashable cells (lists, dicts): show them as text
        unique = pd.unique(np.asarray([str(v) for v in np.asarray(values, dtype=object)[:1000]], dtype=object))
    return list(unique[:k])


def fail(
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
    panel combine into the message the whole panel gives (:func:`combine_fail`); ``rank`` orders two
    checks made at one step (the earlier check has the lower rank).

    Parameters
    ----------
    column : str
        The column the check looked at.
    n_rows : int
        The number of offending rows.
    ids : collection
        The offending rows' parent ids (the first five distinct are shown).
    problem : str
        What is wrong, after "N rows"; :data:`VALUES` in it is replaced by up to three ``values``.
    fix : str
        What to do.
    values : collection, optional
        The offending cells.
    rank : int
        The check's rank within its step.

    Returns
    -------
    PanelError
        To be raised by the caller.
    """
    return _failure(
        column,
        n_rows,
        first_values(ids, 5) if len(ids) else [],
        problem,
        fix,
        [] if values is None else first_values(values, 3),
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
    """The error from its parts (example ids and values already chosen)."""
    ex = f" (e.g. parent ids {', '.join(map(str, id_examples))})" if len(id_examples) else ""
    text = problem.replace(VALUES, ", ".join(map(str, value_examples)))
    err = PanelError(f"column {column!r}: {n_rows:,} rows {text}{ex}. {fix}")
    err.parts = (column, n_rows, list(id_examples), problem, fix, list(value_examples), rank)
    return err


def combine_fail(errors: list[PanelError], sort_ids: bool = False) -> PanelError:
    """One check's errors from consecutive partitions as the whole panel's error.

    Counts are summed; the example ids are the first five (``sort_ids``: the five smallest, for checks
    made after sorting by parent) and the values the first three.

    Parameters
    ----------
    errors : list of PanelError
        Errors made by :func:`fail` for one check, in partition order.
    sort_ids : bool
        Whether the check ran on rows sorted by parent.

    Returns
    -------
    PanelError
    """
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
        first_values(np.asarray(ids, dtype=object), 5) if ids else [],
        problem,
        fix,
        first_values(np.asarray([v for e in errors for v in e.parts[5]], dtype=object), 3),
        rank,
    )
