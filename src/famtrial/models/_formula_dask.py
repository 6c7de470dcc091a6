"""The formula front ends on a Dask DataFrame: ``famtrial.clogit(formula, ddf)`` and ``famtrial.logit(formula, ddf)``.

:func:`famtrial.models.formula.clogit` and :func:`~famtrial.models.formula.logit` call these when
``data`` is a ``dask.dataframe.DataFrame``. A fit runs in three steps:

1. **Global pass** (one read of the columns the formula names): per partition, the rows, the
   missing values per column (the complete-case drop, counted and recorded exactly as in memory)
   and, on the complete rows, the distinct values of every categorical variable (a variable in
   ``C()``, a text, boolean or categorical column, the clogit's ``C(month)``). The client takes
   their union, sorted: the levels formulaic would find on the whole complete-case frame.
2. **One design for every partition**: formulaic builds its ModelSpec once, on the client, from a
   small frame holding every level of every categorical variable; each partition's model matrix
   is ``spec.get_model_matrix(partition)`` (``map_partitions`` with the explicit meta of that
   small frame), so every partition has the same columns, in formulaic's order and with its names
   (``C(office)[T.3]``, ``x:C(g)[T.b]``), whatever levels the partition holds.
3. **The distributed fits** of :mod:`famtrial.models.distributed` on those columns: ``| group`` is
   ``group=``, a bare ``C(month)`` of a clogit ``time_effects=`` (dense dummies with weights, as in
   memory), ``vcov`` ``cluster=`` / ``robust=``.

The results equal the in-memory formula fit's (estimates, covariance, log-likelihoods, names, drop
records) up to the order of floating-point sums. ``results.formula`` and ``results.design`` are
set (``predict(new_data)`` on a pandas frame works); ``results.data`` is None (the rows stay in
the cluster), so post-estimation that reads columns of the fitted rows (``vcov({"CRV1": ...})``
after the fit, ``margins``) needs the in-memory fit.

Not supported on a Dask DataFrame, each raising :class:`DaskFormulaError` naming it:
transformations with a state learnt from the data (``center()``, ``scale()``, ``poly()``,
splines: formulaic would learn it per partition), categorical factors built by an expression
(``C(x > 0)``, ``{x > 0}``: their levels are not collected), arrays for ``weights``, ``offset`` or the
cluster (give column names); for :func:`logit` also ``weights``, ``vcov="hetero"`` and a formula
without intercept, which the distributed logit does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from formulaic import ModelSpec
from formulaic.errors import FormulaicError
from numpy.typing import ArrayLike

from famtrial._options import WeightType
from famtrial._parallel import get_client
from famtrial.errors import DaskFormulaError, FormulaError
from famtrial.models import distributed as fdist
from famtrial.models.base import ConditionalLogitResults, DropRecord, LogitResults, ModelResults
from famtrial.models.covariance import Adjustment
from famtrial.models.design import level_labels
from famtrial.models.postestimation import VcovSpec, parse_vcov
from famtrial.models.terms import Design, extra_columns, model_matrix, parse_formula

__all__ = ["DaskFormulaError", "clogit", "logit"]


def _column_name(value: ArrayLike | str | None, what: str) -> str | None:
    """A column name (the only form of weights, offset and cluster on a Dask DataFrame)."""
    if value is None or isinstance(value, str):
        return value
    raise DaskFormulaError(
        f"{what} must be a column name with a Dask DataFrame; got {type(value).__name__} "
        f"(add it as a column of the Dask DataFrame and give its name)"
    )


def _categorical_candidates(formula_text: str, ddf: Any, present: Sequence[str], time_var: str | None) -> list[str]:
    """Columns whose levels the global pass collects: in ``C()``, non-numeric, or the time effect."""
    in_c = set(re.findall(r"C\(\s*([A-Za-z_]\w*)", formula_text))
    out = []
    for col in present:
        dtype = ddf.dtypes[col]
        if (
            col in in_c
            or col == time_var
            or not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype))
        ):
            out.append(col)
    return out


def _first_pass(frame: pd.DataFrame, present: list[str], categorical: list[str]) -> dict[str, Any]:
    """One partition: rows, missing values per column, the levels on complete rows and one complete row."""
    part = frame[present]
    missing = part.isna()
    complete = ~missing.any(axis=1).to_numpy()
    rows = part.loc[complete]
    return {
        "n": len(part),
        "na": missing.sum().to_numpy(dtype=np.int64),
        "n_complete": int(complete.sum()),
        "levels": {c: pd.unique(rows[c].to_numpy()) for c in categorical},
        "sample": rows.head(1),
    }


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns of a string dtype (Dask's default ``string[pyarrow]``) as object columns, as pandas' own text.

    formulaic encodes an object column as categorical; it reads a ``string`` column as numerical.
    """
    text = [
        c
        for c in frame.columns
        if pd.api.types.is_string_dtype(frame[c].dtype)
        and not isinstance(frame[c].dtype, pd.CategoricalDtype)
        and frame[c].dtype != object
    ]
    return frame.astype(dict.fromkeys(text, object)) if text else frame


def _skeleton(sample: pd.DataFrame, levels: dict[str, list[Any]], meta: pd.DataFrame) -> pd.DataFrame:
    """A small frame holding every level of every categorical variable (other columns: one real row's values)."""
    n = max([1, *(len(v) for v in levels.values())])
    frame = pd.DataFrame({c: np.repeat(sample[c].to_numpy(), n) for c in sample.columns})
    for c, values in levels.items():
        frame[c] = [values[i % len(values)] for i in range(n)]
    return _plain_strings(frame.astype(meta.dtypes.to_dict()))


def _check_factors(spec: ModelSpec, categorical: Sequence[str], formula: str) -> None:
    """Raise for a term whose encoding would be learnt per partition (stateful transform, expression category)."""
    stateful = sorted(str(k) for k in spec.transform_state)
    if stateful:
        raise DaskFormulaError(
            f"formula {formula!r}: the term(s) {stateful} use a transformation learnt from the "
            "data (center, scale, poly, splines), which on a Dask DataFrame would be learnt per "
            "partition: compute the column on the whole data first (e.g. ddf['xc'] = ddf.x - "
            "ddf.x.mean()) and name it in the formula"
        )
    ordered = sorted(
        {str(f.expr) for term in spec.formula for f in term.factors if re.search(r"\b(lag|diff)\(", str(f.expr))}
    )
    if ordered:
        raise DaskFormulaError(
            f"formula {formula!r}: the term(s) {ordered} read neighbouring rows, which on a Dask "
            "DataFrame would stop at partition edges: compute the column first (per parent, "
            "e.g. with groupby().shift()) and name it in the formula"
        )
    for expr, (kind, _) in spec.encoder_state.items():
        if str(getattr(kind, "value", kind)) != "categorical":
            continue
        m = re.fullmatch(r"C\(\s*([A-Za-z_]\w*)\s*(,.*)?\)", str(expr), flags=re.S)
        var = m.group(1) if m else str(expr)
        if var not in categorical:
            raise DaskFormulaError(
                f"formula {formula!r}: the categorical term {str(expr)!r} is built by an "
                "expression, whose levels are not collected over the partitions of a Dask "
                "DataFrame: add it as a column (e.g. ddf['pos'] = ddf.x > 0) and write C(pos)"
            )


def _partition_design(
    frame: pd.DataFrame,
    formula: str,
    present: list[str],
    lhs_spec: ModelSpec,
    design: Design,
    time_column: str | None,
    extras: list[str],
    meta: pd.DataFrame | None,
) -> pd.DataFrame:
    """One partition's complete rows as [outcome, regressors..., extras..., time column].

    formulaic's error (a NaN from a transformation) becomes the in-memory :class:`FormulaError`, re-raised on the
    client.
    """
    rows = _plain_strings(frame.loc[frame[present].notna().all(axis=1).to_numpy()])
    if meta is not None and len(rows) == 0:
        return meta
    try:
        y = lhs_spec.get_model_matrix(rows, na_action="raise")
        x = design.get_model_matrix(rows)
    except (FormulaicError, KeyError, NameError, ValueError, TypeError) as err:
        raise FormulaError(f"cannot build the design of {formula!r}: {err}") from None
    out = pd.concat(
        [pd.DataFrame(np.asarray(y, dtype=float), columns=[str(c) for c in y.columns], index=rows.index), x], axis=1
    )
    if time_column is not None:
        effects = [f"C({design.time_var})[T.{lev}]" for lev in design.time_levels[1:]]
        out = out.drop(columns=effects)
        out[time_column] = rows[design.time_var].to_numpy()
    for c in extras:
        if c not in out.columns:
            out[c] = rows[c].to_numpy()
    return out


def _prepare(
    formula: str, data: Any, extra: list[str], allow_group: bool, weighted: bool
) -> tuple[Any, str, list[str], Design, str | None, str | None, list[DropRecord]]:
    """The Dask twin of :func:`famtrial.models.formula._prepare`: the design as a lazy Dask DataFrame.

    Returns (design frame, outcome, regressor columns, design, group, time column or None, drop records).
    """
    if not isinstance(formula, str):
        raise FormulaError(
            f"the first argument is the formula (a string such as 'y ~ x'); got {type(formula).__name__}"
        )
    lhs, rhs, group, time_var, parsed, present = parse_formula(formula, list(data.columns), extra, allow_group)
    categorical = _categorical_candidates(f"{lhs} ~ {rhs}", data, present, time_var)
    client: Any = get_client(None)
    import dask

    passes = client.gather(
        client.compute(
            [
                dask.delayed(_first_pass, pure=True)(p, present, categorical)  # type: ignore[attr-defined]
                for p in data[present].to_delayed()
            ]
        )
    )
    na = np.sum([p["na"] for p in passes], axis=0)
    n_rows = sum(p["n"] for p in passes)
    n_complete = sum(p["n_complete"] for p in passes)
    dropped = []
    if n_complete < n_rows:
        what = ", ".join(f"{c} ({int(k):,})" for c, k in zip(present, na) if k > 0)
        dropped.append(DropRecord("rows", n_rows - n_complete, f"missing values in {what}"))
    if n_complete == 0:
        raise FormulaError(f"formula {formula!r}: no row is complete in {present}")
    levels = {c: sorted(pd.unique(np.concatenate([p["levels"][c] for p in passes]))) for c in categorical}
    sample = next(p["sample"] for p in passes if len(p["sample"]))
    meta_in = data[present]._meta
    skeleton = _skeleton(sample, levels, meta_in)
    # "ignore": a stateful transform of the skeleton's constant columns (scale) may be NaN; it raises just below,
    # and a NaN of the data raises in the partitions (_partition_design)
    with np.errstate(invalid="ignore", divide="ignore"):
        mm = model_matrix(parsed, skeleton, formula, lhs, "ignore")
    _check_factors(mm.rhs.model_spec, categorical, formula)
    _check_factors(mm.lhs.model_spec, categorical, formula)
    design = Design(mm.rhs.model_spec, time_var, tuple(levels[time_var]) if time_var else ())
    for var in sorted(design.categorical_variables - {time_var}):  # a C() term without a contrast, recorded
        if var in levels and len(levels[var]) < 2:
            reason = f"one level in the data ({list(levels[var])[:1]!r}): no contrast to estimate"
            dropped.append(DropRecord("variable", 0, reason, (f"C({var})",)))
    time_column = f"C({time_var})" if time_var is not None and not weighted else None
    extras = [c for c in (group, *extra) if c is not None]
    args = (formula, present, mm.lhs.model_spec, design, time_column, extras)
    meta = _partition_design(skeleton, *args, None).iloc[:0]
    frame = data[present].map_partitions(_partition_design, *args, meta, meta=meta, align_dataframes=False)
    outcome = str(mm.lhs.columns[0])
    effects = {f"C({time_var})[T.{lev}]" for lev in design.time_levels[1:]} if time_column is not None else set()
    regressors = [c for c in design.get_model_matrix(skeleton).columns if c != "Intercept" and c not in effects]
    return frame, outcome, regressors, design, group, time_column, dropped


def _rename(res: ModelResults, mapping: dict[str, str], dropped: list[DropRecord]) -> dict[str, Any]:
    """Fields of a Dask fit's results renamed to the in-memory time-effect names, with the formula's row drop first."""
    records = tuple(
        DropRecord(d.kind, d.count, d.reason, tuple(mapping.get(n, n) for n in d.names))
        for d in (*dropped, *res.dropped)
    )
    model = res.model  # type: ignore[attr-defined]  # every famtrial results class keeps its model
    return {
        "params": res.params.rename(index=lambda n: mapping.get(n, n)),
        "dropped": records,
        "model": replace(model, dropped=records, exog_names=tuple(mapping.get(n, n) for n in model.exog_names)),
    }


def clogit(
    formula: str,
    data: Any,
    *,
    vcov: VcovSpec | None,
    weights: ArrayLike | str | None,
    weight_type: WeightType,
    offset: ArrayLike | str | None,
    adjustment: Adjustment,
    t_reference: bool,
) -> ConditionalLogitResults:
    """:func:`famtrial.models.formula.clogit` on a Dask DataFrame (see the module docs)."""
    w = _column_name(weights, "weights")
    off = _column_name(offset, "offset")
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    cluster = _column_name(cluster, "the cluster ({'CRV1': ...})")
    frame, outcome, regressors, design, group, time_column, dropped = _prepare(
        formula, data, extra_columns(cluster, w, off), True, w is not None
    )
    assert group is not None  # _split(allow_group=True) and formula.clogit's check
    res = fdist.conditional_logit(
        frame,
        outcome,
        regressors,
        group,
        cluster,
        robust=cov_type == "robust",
        adjustment=adjustment,
        t_reference=t_reference,
        offset=off,
        weights=w,
        weight_type=weight_type,
        time_effects=time_column,
    )
    mapping: dict[str, str] = {}
    if time_column is not None:
        labels = level_labels(pd.Index(list(design.time_levels)))
        mapping = {
            f"{time_column}[{lab}]": f"{time_column}[T.{lev}]" for lab, lev in zip(labels[1:], design.time_levels[1:])
        }
    return replace(
        res, **_rename(res, mapping, dropped), formula=formula, design=design, fixed_effects=group, cluster_name=cluster
    )


def logit(
    formula: str,
    data: Any,
    *,
    vcov: VcovSpec | None,
    weights: ArrayLike | str | None,
    offset: ArrayLike | str | None,
    adjustment: Adjustment,
    t_reference: bool,
) -> LogitResults:
    """:func:`famtrial.models.formula.logit` on a Dask DataFrame (see the module docs)."""
    if weights is not None:
        raise DaskFormulaError(
            "weights= is not supported by logit on a Dask DataFrame (the distributed logit is "
            "unweighted): fit the weighted logit in memory (ddf.compute())"
        )
    off = _column_name(offset, "offset")
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    if cov_type == "robust":
        raise DaskFormulaError(
            "vcov='hetero' is not supported by logit on a Dask DataFrame: use vcov='iid' or "
            "{'CRV1': column}, or fit in memory (ddf.compute())"
        )
    cluster = _column_name(cluster, "the cluster ({'CRV1': ...})")
    frame, outcome, regressors, design, _, _, dropped = _prepare(
        formula, data, extra_columns(cluster, off), False, False
    )
    if "Intercept" not in design.spec.column_names:
        raise DaskFormulaError(
            f"formula {formula!r} has no intercept ('0 +' or '- 1'): the logit on a Dask "
            "DataFrame always fits one; keep the intercept or fit in memory (ddf.compute())"
        )
    res = fdist.logit(frame, outcome, regressors, cluster, adjustment=adjustment, t_reference=t_reference, offset=off)
    return replace(res, **_rename(res, {}, dropped), formula=formula, design=design, cluster_name=cluster)
