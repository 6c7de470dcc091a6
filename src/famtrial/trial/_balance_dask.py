"""The baseline month's sums on a Dask panel: what ``balance_table`` and ``correlation_table`` need, without its rows.

On a Dask panel (``load_panel(..., engine="dask")``) each partition reduces its baseline-month rows (the
rows :meth:`famtrial.data.panel.Panel.baseline_frame` selects: month equal to the baseline month) to
small sums (:func:`_partition_sums`):

- the facts the input checks ask (rows; per column its missing and infinite values, its values outside
  0/1 with the first three distinct ones in row order);
- per arm (rows with arm 1, rows with arm 0): the count ``n``, the sums ``s = sum x``, the minima and
  maxima, and the centred cross-products ``C = sum (x - s/n)(x - s/n)'`` of the arm and the
  variables (a k x k matrix: the variances, covariances and correlations all come from it);
- for the joint test, optionally, the cells: the distinct (arm, variables) rows with their counts,
  sent only while the partition has at most ``MAX_CELLS / partitions`` of them.

The client (:func:`baseline_sums`) adds them up. Partial moments are pooled with the within plus
between decomposition (Chan, Golub and LeVeque's pairwise update, applied to all groups at once):
``n = sum n_g``, ``mean = (sum s_g) / n``, ``C = sum C_g + sum n_g (m_g - mean)(m_g - mean)'`` with
``m_g = s_g / n_g``. Every term is a sum of squares of deviations, never ``sum x^2 - n mean^2``, so
the variances keep full precision with large means (years of birth about 1980, or 1e6). The mean is
the summed total over ``n``: for integer-valued columns the same bits as numpy's mean of the rows. A
column whose minimum equals its maximum in a group has ``C`` set to exactly 0 there (the in-memory
``std() == 0`` of a constant column).

What reaches the client is O(k^2) numbers per partition and arm, plus at most ``MAX_CELLS`` cells in
all; never a row per parent. With continuous variables of very many distinct values (income, age in
days) a partition's cells exceed its share and it sends none; the joint test's logit is then fitted
with the distributed Newton of :func:`famtrial.models.distributed.logit` on the standardized
baseline rows (one pass per Newton step, each partition returning its gradient and Hessian; needs a
``dask.distributed`` client).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from famtrial._parallel import compute_each_partition, get_client
from famtrial.data.panel import Panel

__all__ = ["MAX_CELLS", "BaselineSums", "Moments", "baseline_sums", "distributed_joint_logit", "pool"]

#: The most cells (distinct arm and variable rows) the joint test's partitions send in all; beyond it
#: the logit runs as a distributed Newton.
MAX_CELLS = 1_000_000


@dataclass(frozen=True)
class Moments:
    """Pooled moments of the columns of one group of rows (an arm, or all rows).

    ``comoment`` is ``sum (x - mean)(x - mean)'`` (k x k); ``comoment[j, j] / (n - 1)`` is column j's
    variance (ddof 1).
    """

    n: int
    sum: np.ndarray
    mean: np.ndarray
    comoment: np.ndarray
    min: np.ndarray
    max: np.ndarray


def pool(groups: Sequence[dict[str, Any]], k: int) -> Moments:
    """Moments of the union of groups from their counts, sums, centred cross-products, minima and maxima.

    ``C = sum_g C_g + sum_g n_g (m_g - m)(m_g - m)'`` with ``m_g = s_g / n_g`` and ``m = sum_g s_g / n``:
    the identity behind Chan, Golub and LeVeque's pairwise update for any number of groups. A column
    constant over the union (min = max) gets exactly zero variance and cross-products.
    """
    groups = [g for g in groups if g["n"] > 0]
    if not groups:
        nan = np.full(k, np.nan)
        return Moments(0, np.zeros(k), nan, np.full((k, k), np.nan), nan, nan)
    n = sum(int(g["n"]) for g in groups)
    total = np.sum([g["sum"] for g in groups], axis=0)
    mean = total / n
    comoment = np.sum([g["comoment"] for g in groups], axis=0)
    for g in groups:
        d = g["sum"] / g["n"] - mean
        comoment = comoment + g["n"] * np.outer(d, d)
    low, high = np.min([g["min"] for g in groups], axis=0), np.max([g["max"] for g in groups], axis=0)
    constant = low == high
    comoment[constant, :] = 0.0
    comoment[:, constant] = 0.0
    return Moments(n, total, mean, comoment, low, high)


def _group(x: np.ndarray) -> dict[str, Any]:
    """One group's count, sums, centred cross-products (two passes: the partition's own mean first), min and max."""
    x = np.asfortranarray(x)  # each column's sum pairwise (numpy's 1-D mean), not row after row
    n, s = len(x), x.sum(axis=0)
    d = x - s / n
    return {"n": n, "sum": s, "comoment": d.T @ d, "min": x.min(axis=0), "max": x.max(axis=0)}


def _partition_sums(
    frame: pd.DataFrame,
    month: str,
    base: int,
    columns: list[Any],
    numeric: list[Any],
    cells_of: list[Any] | None,
    cell_cap: int,
) -> dict[str, Any]:
    """One partition's baseline-month rows reduced to sums (the module's docstring lists them).

    ``numeric`` starts with the arm (empty when the arm is not numeric: the checks then refuse it).
    """
    rows = frame.loc[frame[month].array.asi8 == base]
    out: dict[str, Any] = {"n": len(rows), "missing": {}, "infinite": {}, "outside": {}, "groups": {}, "cells": None}
    for c in columns:
        col = rows[c]
        out["missing"][c] = int(col.isna().sum())
        if pd.api.types.is_float_dtype(col.dtype):
            out["infinite"][c] = int(np.isinf(col.to_numpy(dtype=float)).sum())
        bad = ~col.isin([0, 1])
        out["outside"][c] = (int(bad.sum()), col[bad].drop_duplicates().head(3).reset_index(drop=True))
    if numeric and len(rows):
        x = rows[numeric].to_numpy(dtype=float, na_value=np.nan)
        for value in (1, 0):
            part = x[x[:, 0] == value]
            if len(part):
                out["groups"][value] = _group(part)
    if cells_of is not None and len(rows):  # in the columns' own dtypes (int8 0/1 columns stay one byte)
        cells = rows[cells_of].set_axis(range(len(cells_of)), axis=1)
        counts = cells.groupby(list(cells.columns), sort=False, dropna=False).size()
        if len(counts) <= cell_cap:
            out["cells"] = (counts.index.to_frame(index=False), counts.to_numpy(np.int64))
    return out


class BaselineSums:
    """The partitions' sums added up; the facts ``balance._check_facts`` asks (the in-memory messages).

    Attributes
    ----------
    n : int
        Baseline-month rows (parents with a baseline row).
    columns : Index
        The panel's columns (its Dask meta).
    numeric : list
        The columns with moments, the arm first.
    """

    def __init__(self, parts: list[dict[str, Any]], meta: pd.DataFrame, numeric: list[Any], cells_of: Any) -> None:
        self.columns, self.numeric, self._meta = meta.columns, numeric, meta
        self.n = sum(int(p["n"]) for p in parts)
        self._parts = parts
        self._position = {c: j for j, c in enumerate(numeric)}
        self._cells_of = cells_of

    def dtype(self, column: Any) -> Any:
        """The column's dtype (the panel's meta)."""
        return self._meta[column].dtype

    def missing(self, column: Any) -> int:
        """Missing values summed over partitions."""
        return sum(p["missing"][column] for p in self._parts)

    def infinite(self, column: Any) -> int:
        """Infinite values summed over partitions."""
        return sum(p["infinite"][column] for p in self._parts)

    def outside(self, column: Any) -> tuple[int, list[Any]]:
        """Values outside 0/1: the count, and the first three distinct ones in row order (partition order)."""
        count = sum(p["outside"][column][0] for p in self._parts)
        examples = [p["outside"][column][1] for p in self._parts if len(p["outside"][column][1])]
        return count, list(pd.unique(pd.concat(examples, ignore_index=True)))[:3] if examples else []

    def is_binary(self, column: Any) -> bool:
        """Whether every value is 0 or 1 (``balance._is_binary``)."""
        return self.outside(column)[0] == 0

    def arms(self, arm: str) -> tuple[int, int]:
        """Rows in arm 1 and in arm 0."""
        return tuple(sum(int(p["groups"][a]["n"]) for p in self._parts if a in p["groups"]) for a in (1, 0))  # type: ignore[return-value]

    def moments(self, arm: int | None = None) -> Moments:
        """Pooled moments of the ``numeric`` columns in arm 1, arm 0, or (None) all rows."""
        arms = (1, 0) if arm is None else (arm,)
        return pool([p["groups"][a] for p in self._parts for a in arms if a in p["groups"]], len(self.numeric))

    def position(self, column: Any) -> int:
        """Index of ``column`` in the ``numeric`` columns (and in :class:`Moments`' arrays)."""
        return self._position[column]

    @property
    def cell_columns(self) -> list[Any]:
        """The columns whose values are the cells' columns 0, 1, ... (the arm first); empty without cells."""
        return list(self._cells_of or ())

    def cells(self) -> pd.DataFrame | None:
        """The distinct (arm, variables) rows with their counts (column ``count`` last), or None when too many."""
        if self._cells_of is None or any(p["cells"] is None for p in self._parts if p["n"]):
            return None
        parts = [p["cells"][0].assign(count=p["cells"][1]) for p in self._parts if p["n"]]
        frame = pd.concat(parts, ignore_index=True)
        keys = [c for c in frame.columns if c != "count"]
        return frame.groupby(keys, sort=True, dropna=False)["count"].sum().reset_index()


def baseline_sums(panel: Panel, columns: Sequence[Any], cells_of: Sequence[Any] | None = None) -> BaselineSums:
    """One pass over a Dask panel's partitions: the baseline month's sums of ``columns`` (the arm first).

    Parameters
    ----------
    panel : Panel
        A panel whose ``data`` is a Dask DataFrame.
    columns : sequence
        The arm, then the variables; columns absent from the panel or repeated in it are left out (the
        checks name them).
    cells_of : sequence, optional
        Columns whose distinct rows are counted for the joint test (the arm first); their values are the
        cells' columns 0, 1, ... in this order.

    Returns
    -------
    BaselineSums
    """
    meta = panel.data._meta
    present = [c for c in dict.fromkeys(columns) if c in meta.columns and (meta.columns == c).sum() == 1]
    numeric = [c for c in present if _numeric(meta[c].dtype)]
    arm = panel.columns.arm
    if arm not in numeric:
        numeric = []
    elif numeric[0] != arm:
        numeric = [arm, *[c for c in numeric if c != arm]]
    cells = None
    if cells_of is not None:
        cells = list(dict.fromkeys(cells_of))
        cells = cells if all(c in numeric for c in cells) else None
    share = max(1, MAX_CELLS // max(1, panel.data.npartitions))
    parts = compute_each_partition(
        panel.data, _partition_sums, panel.columns.month, panel.baseline.ordinal, present, numeric, cells, share
    )
    return BaselineSums(parts, meta, numeric, cells)


def _numeric(dtype: Any) -> bool:
    """A real number or boolean dtype (the columns the checks accept)."""
    return (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)) and not (
        pd.api.types.is_complex_dtype(dtype)
    )


def _standardized(
    frame: pd.DataFrame,
    month: str,
    base: int,
    columns: list[Any],
    names: list[str],
    shift: np.ndarray,
    scale: np.ndarray,
) -> pd.DataFrame:
    """A partition's baseline rows: the arm and the variables standardized (``(x - shift) / scale``)."""
    x = frame.loc[frame[month].array.asi8 == base, columns].to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame((x - shift) / scale, columns=names)


def distributed_joint_logit(panel: Panel, use: Sequence[Any], mean: np.ndarray, sd: np.ndarray) -> Any:
    """The joint test's logit of the arm on the standardized ``use`` variables, Newton summed over partitions.

    The rows never leave the workers: :func:`famtrial.models.distributed.logit` on the baseline rows with
    ``z = (x - mean) / sd``. Needs a running ``dask.distributed`` client.
    """
    from famtrial.models.distributed import logit

    arm = panel.columns.arm
    names = ["arm", *[f"x{j}" for j in range(len(use))]]
    shift = np.r_[0.0, mean]
    scale = np.r_[1.0, sd]
    meta = pd.DataFrame({c: pd.Series(dtype=float) for c in names})
    ddf = panel.data.map_partitions(
        _standardized,
        panel.columns.month,
        panel.baseline.ordinal,
        [arm, *use],
        names,
        shift,
        scale,
        meta=meta,
    )
    fit = logit(ddf, "arm", names[1:], client=get_client(None))
    rename = dict(zip(names[1:], [str(u) for u in use]))
    return _Renamed(fit, rename)


@dataclass(frozen=True)
class _Renamed:
    """A fit's ``params`` under the variables' own names, with its ``llf``, ``llnull`` and ``nobs``."""

    fit: Any
    rename: dict[str, str]

    @property
    def params(self) -> pd.Series:
        return self.fit.params.rename(self.rename)

    @property
    def llf(self) -> float:
        return float(self.fit.llf)

    @property
    def llnull(self) -> float:
        return float(self.fit.llnull)

    @property
    def nobs(self) -> int:
        return int(self.fit.nobs)
