"""Formula front end: ``logit("y ~ arm + x", data, vcov=...)`` and ``clogit("y ~ x + C(month) | parent", data)``.

The right-hand side is read by formulaic (``C()``, interactions ``a:b`` / ``a*b``, transformations
such as ``np.log(x)`` or ``I(x**2)``, ``0 +`` / ``- 1`` to drop the intercept); ``| group`` names
the conditioned-out fixed effect of the conditional logit. Categorical terms use treatment coding
with the first (sorted) level as the base, as Stata's ``i.var`` and R's default contrasts. Rows
with a missing value in any column the model uses (outcome, regressors, group, cluster, weights)
are dropped and recorded in ``results.dropped``; so is a ``C(var)`` term whose column holds one
value (no contrast to estimate).

**A formula is Python code.** Its terms (``I(...)``, ``np.log(...)``, any function call) are evaluated
by formulaic, as by patsy, statsmodels and R's ``model.frame``: a formula can run any Python, e.g.
``I(__import__('os').system(...))``. Never fit a formula from an untrusted source (a web form, a
shared file); famtrial's analysis plans never carry formulas (their models are built from declared
column names), so a shared plan cannot run code. A formula that is not valid Python or formulaic
raises :class:`~famtrial.errors.FormulaError`.

A formula fit equals the column-API fit on the same columns exactly (same arrays, same code); it
additionally keeps the formula, the rows it used (``results.data``) and the design (so
``predict(new_data)``, ``margins`` and ``vcov({"CRV1": "office"})`` work by column name).

Covariance (pyfixest's names): ``vcov="iid"`` model-based (Stata ``vce(oim)``), ``"hetero"``
robust (``vce(robust)``), ``{"CRV1": "office"}`` cluster-robust (``vce(cluster office)``, factor
G/(G-1) by default, see ``adjustment``); ``t_reference=True`` uses t(G-1).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from famtrial._options import WeightType
from famtrial._parallel import is_dask_dataframe
from famtrial.errors import FormulaError
from famtrial.models.base import DropRecord
from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults, conditional_logit
from famtrial.models.covariance import Adjustment
from famtrial.models.logit import Logit, LogitResults
from famtrial.models.logit import logit as column_logit
from famtrial.models.postestimation import VcovSpec, parse_vcov, refit_vcov, vcov_columns, with_vcov
from famtrial.models.terms import (
    Design,
    extra_columns,
    is_multiple,
    model_matrix,
    one_level_categoricals,
    parse_formula,
    split_formula,
)
from famtrial.models.terms import time_effect_dummies as _time_effect_dummies  # noqa: F401  (0.2's import path)

__all__ = ["FormulaError", "logit", "clogit"]


def _prepare(
    formula: str, data: pd.DataFrame, extra: list[str], allow_group: bool
) -> tuple[pd.DataFrame, np.ndarray, str, pd.DataFrame, Design, str | None, list[DropRecord]]:
    """Parse, drop rows with missing values (recorded), and build the outcome and design."""
    if not isinstance(formula, str):
        raise FormulaError(
            f"the first argument is the formula (a string such as 'y ~ x'); got "
            f"{type(formula).__name__}. For the column API name the columns: logit(data, outcome='y', "
            "covariates=['x1']) or clogit(data, outcome='y', covariates=['x1'], group='parent')"
        )
    if not isinstance(data, pd.DataFrame):
        raise FormulaError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    lhs, rhs, group, time_var, parsed, present = parse_formula(formula, list(data.columns), extra, allow_group)
    complete = data[present].notna().all(axis=1).to_numpy()
    frame = data.loc[complete] if not complete.all() else data
    dropped = []
    if not complete.all():
        counts = data[present].isna().sum()
        what = ", ".join(f"{c} ({n:,})" for c, n in counts[counts > 0].items())
        dropped.append(DropRecord("rows", int((~complete).sum()), f"missing values in {what}"))
    if len(frame) == 0:
        raise FormulaError(f"formula {formula!r}: no row is complete in {present}")
    mm = model_matrix(parsed, frame, formula, lhs, "raise")
    y = np.asarray(mm.lhs, dtype=float)[:, 0]
    outcome = str(mm.lhs.columns[0])
    levels: tuple[Any, ...] = ()
    if time_var is not None:
        levels = tuple(sorted(pd.unique(frame[time_var])))
    design = Design(mm.rhs.model_spec, time_var, levels)
    for var, values in one_level_categoricals(design, frame):
        dropped.append(
            DropRecord(
                "variable", 0, f"one level in the data ({values[:1]!r}): no contrast to estimate", (f"C({var})",)
            )
        )
    x = design.get_model_matrix(frame)
    return frame, y, outcome, x, design, group, dropped


def _column_or_array(
    data: pd.DataFrame, frame: pd.DataFrame, value: ArrayLike | str | None, what: str
) -> np.ndarray | None:
    """A column name of ``data`` (read on ``frame``'s rows) or an array aligned with ``data``."""
    if value is None:
        return None
    if isinstance(value, str):
        if value not in data.columns:
            raise FormulaError(f"{what} column {value!r} is not in the data (columns: {list(data.columns)})")
        column: np.ndarray = frame[value].to_numpy()
        return column
    arr = np.asarray(value)
    if len(arr) != len(data):
        raise FormulaError(f"{what} has {len(arr):,} entries; the data have {len(data):,} rows")
    out: np.ndarray = arr[data.index.get_indexer(frame.index)] if len(frame) != len(data) else arr
    return out


#: In a formula call, where each column-form keyword goes instead.
_FORMULA_INSTEAD = {
    "outcome": "the formula names the outcome ('y ~ x1 + x2')",
    "covariates": "the formula names the regressors ('y ~ x1 + x2')",
    "group": "write the group after '|' ('y ~ x | parent')",
    "cluster": "give vcov={'CRV1': 'office'}",
    "fixed_effects": "write '+ C(office)' in the formula",
    "robust": "give vcov='hetero'",
    "time_effects": "write '+ C(month)' in the formula",
}


def _column_form(what: str, first: Any, data: Any, columns: Mapping[str, Any], **formula_only: Any) -> bool:
    """Whether a front-door call is the column form: a data frame first with the column keywords.

    The column keywords are ``columns``, those given not None. A formula with a column keyword, or the column form with
    a second positional argument or a formula-only keyword (``formula_only``), is a :class:`FormulaError` naming the
    argument; a data frame without the column keywords is left to the formula path (its error).
    """
    given = [k for k, v in columns.items() if v is not None]
    if isinstance(first, str):
        if given:
            raise FormulaError(
                f"{what}({first!r}, ...): {given[0]}= belongs to the column form ({what}(data, outcome=..., "
                f"covariates=...)); in the formula form {_FORMULA_INSTEAD[given[0]]}"
            )
        return False
    if not given or not (isinstance(first, pd.DataFrame) or is_dask_dataframe(first)):
        return False
    required = ["outcome", "covariates", *(["group"] if "group" in columns else [])]
    missing = [k for k in required if columns[k] is None]
    mixed = [k for k, v in formula_only.items() if v is not None]
    if data is not None or mixed or missing:
        problem = (
            f"{mixed[0]}= belongs to the formula form ({what}('y ~ x', data, {mixed[0]}=...))"
            if mixed
            else f"it needs {', '.join(f'{k}=' for k in missing)}"
            if missing
            else f"give its arguments by name, not a second positional argument ({type(data).__name__})"
        )
        raise FormulaError(
            f"{what}(data, {', '.join(f'{k}=' for k in given)} ...) is the column form: {problem}; "
            f"write {what}(data, outcome='y', covariates=['x1', 'x2']"
            + (", group='parent'" if "group" in columns else "")
            + ", cluster='office')"
        )
    return True


def _single(what: str, formula: Any) -> None:
    """Refuse a multiple-estimation formula (``sw``/``csw``/several outcomes): it is :func:`fit_multiple`'s."""
    if isinstance(formula, str) and is_multiple(formula):
        raise FormulaError(
            f"{what}({formula!r}) asks for several models (sw/sw0/csw/csw0 or several outcomes): fit them with "
            f"famtrial.fit_multiple({formula!r}, data, model={what!r}), which returns a FitCollection"
        )


def _in_memory_only(what: str, formula: str, vcov: VcovSpec | None) -> None:
    """Refuse on a Dask DataFrame what only the in-memory front door does: ``i()`` terms, the jackknife, two-way."""
    if re.search(r"(?<![\w.])i\(", formula) or (what == "clogit" and re.search(r"Treatment\(", formula)):
        raise FormulaError(
            f"{what}({formula!r}, <Dask DataFrame>): event-study terms (i(), C(var, Treatment(ref)):x) are fitted in "
            "memory only (their levels come from the whole column); call .compute() on the data first"
        )
    if refit_vcov(vcov):
        raise FormulaError(
            f"{what}(..., vcov={vcov!r}) on a Dask DataFrame: the jackknife (HC3, CRV3) and two-way clustering "
            "are computed in memory only; call .compute() on the data first, or use {'CRV1': column}"
        )


def logit(
    formula: str | Any,
    data: Any = None,
    *,
    vcov: VcovSpec | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
    offset: ArrayLike | str | None = None,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    outcome: str | None = None,
    covariates: Sequence[str] | None = None,
    cluster: str | None = None,
    fixed_effects: str | None = None,
) -> LogitResults:
    """Fit a binary logit from a formula or from columns.

    ``logit("y ~ x1 + x2", data)``, or ``logit(data, outcome="y", covariates=["x1", "x2"], cluster="office")``.

    The first argument decides the form: a formula string is the formula front end; a DataFrame (or
    Dask DataFrame) with ``outcome=`` and ``covariates=`` is the column API
    (:func:`famtrial.models.logit.logit`, famtrial 0.1's ``famtrial.logit``): the same estimator, the
    same :class:`~famtrial.models.logit.LogitResults`. Keywords of the other form (``outcome=`` with a
    formula, ``vcov=`` with columns) raise :class:`~famtrial.errors.FormulaError` naming them.

    Parameters
    ----------
    formula : str, or DataFrame for the column form
        ``"y ~ arm + rwc_b + C(office)"``; an intercept is included unless ``0 +`` or ``- 1``.
    data : DataFrame or dask.dataframe.DataFrame (formula form only)
        A Dask DataFrame is fitted on its partitions (:mod:`famtrial.models._formula_dask`: the same
        numbers; no weights, no ``"hetero"``, an intercept; weights, offset and cluster as column names).
    vcov : {"iid", "hetero"} or {"CRV1": column}, optional
        Default ``"iid"`` (``"hetero"`` with pweights, as Stata).
    weights : str or array-like, optional
        Weight column or one weight per row of ``data``; ``weight_type`` ``"fweight"`` or
        ``"pweight"`` (see :class:`~famtrial.models.logit.Logit`).
    weight_type : {"fweight", "pweight"}
        How ``weights`` count (default ``"fweight"``), as :class:`~famtrial.models.logit.Logit`: frequencies
        (Stata ``[fweight=w]``, R ``glm(weights = w)``) or sampling weights (Stata ``[pweight=w]``; the
        covariance is then robust or clustered). Unused without ``weights``.
    offset : str or array-like, optional
        Known term added to the linear predictor.
    adjustment : {"stata", "statsmodels", "none"}
        Sandwich factor (default G/(G-1), Stata).
    t_reference : bool
        t(G-1) reference distribution.
    outcome, covariates, cluster, fixed_effects : column form only
        The outcome column, the regressor columns (the constant is added), the cluster column
        (cluster-robust covariance; model-based without) and a column whose levels get dummies, as
        :func:`famtrial.models.logit.logit`.

    Returns
    -------
    LogitResults
        A formula fit has ``formula``, ``data`` (the rows used) and ``design`` set.

    Notes
    -----
    Stata: ``logit y arm rwc_b i.office [pweight=w], vce(cluster office)`` (both forms).
    R: ``glm(y ~ arm + rwc_b + factor(office), binomial, weights = w)`` + ``sandwich::vcovCL(fit,
    cluster = ~office, type = "HC0")``.
    """
    _single("logit", formula)
    columns = {"outcome": outcome, "covariates": covariates, "cluster": cluster, "fixed_effects": fixed_effects}
    if _column_form("logit", formula, data, columns, vcov=vcov):
        return column_logit(
            formula,
            cast(str, outcome),
            cast(Sequence[str], covariates),
            cluster,
            adjustment=adjustment,
            t_reference=t_reference,
            fixed_effects=fixed_effects,
            offset=offset,
            weights=weights,
            weight_type=weight_type,
        )
    if is_dask_dataframe(data):
        from famtrial.models import _formula_dask

        _in_memory_only("logit", formula, vcov)
        return _formula_dask.logit(
            formula, data, vcov=vcov, weights=weights, offset=offset, adjustment=adjustment, t_reference=t_reference
        )
    return _logit_in_memory(formula, data, vcov, weights, weight_type, offset, adjustment, t_reference)


def _logit_in_memory(
    formula: str,
    data: pd.DataFrame,
    vcov: VcovSpec | None,
    weights: ArrayLike | str | None,
    weight_type: WeightType,
    offset: ArrayLike | str | None,
    adjustment: Adjustment,
    t_reference: bool,
) -> LogitResults:
    """:func:`logit`'s formula form on a pandas DataFrame."""
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    refit = refit_vcov(vcov)
    if refit:  # the jackknife or two-way clustering: the default covariance, then with_vcov
        cov_type, cluster = None, None
    extra = extra_columns(cluster, weights, offset, *vcov_columns(vcov))
    frame, y, outcome, x, design, _, dropped = _prepare(formula, data, extra, False)
    w = _column_or_array(data, frame, weights, "weights")
    off = _column_or_array(data, frame, offset, "offset")
    has_constant = "Intercept" in x.columns
    exog = x.drop(columns="Intercept") if has_constant else x
    model = Logit(
        y,
        exog,
        offset=off,
        names=list(exog.columns),
        add_constant=has_constant,
        weights=w,
        weight_type=weight_type,
        dropped=dropped,
    )
    labels = None if cluster is None else _column_or_array(data, frame, cluster, "cluster")
    res = model.fit(
        cov_type, labels, adjustment=adjustment, t_reference=t_reference if not refit else False, outcome=outcome
    )
    res = replace(
        res,
        formula=formula,
        data=frame,
        design=design,
        cluster_name=cluster if isinstance(cluster, str) else getattr(cluster, "name", None),
    )
    if refit:
        assert vcov is not None
        res = cast(Any, with_vcov(res, vcov, adjustment=adjustment, t_reference=t_reference))
    return res


def clogit(
    formula: str | Any,
    data: Any = None,
    *,
    vcov: VcovSpec | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
    offset: ArrayLike | str | None = None,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    outcome: str | None = None,
    covariates: Sequence[str] | None = None,
    group: str | None = None,
    cluster: str | None = None,
    robust: bool | None = None,
    time_effects: str | None = None,
) -> ConditionalLogitResults:
    """Fit an exact fixed-effects (conditional) logit from a formula or from columns.

    ``clogit("y ~ x1 + x2 + C(month) | group", data)``, or ``clogit(data, outcome="y", covariates=["x1", "x2"],
    group="parent", cluster="office")``.

    The first argument decides the form, as in :func:`logit`: a formula string is the formula front
    end; a DataFrame (or Dask DataFrame) with ``outcome=``, ``covariates=`` and ``group=`` is the
    column API (:func:`famtrial.models.clogit.conditional_logit`, also ``famtrial.conditional_logit``),
    the same estimator and :class:`~famtrial.models.clogit.ConditionalLogitResults`. Keywords of
    the other form raise :class:`~famtrial.errors.FormulaError` naming them.

    The part after ``|`` is the group whose intercepts are conditioned out (parents); the
    right-hand side has no intercept (it is not identified). Categorical terms are
    treatment-coded with the first sorted level as base (Stata ``i.month``).

    Month effects: when the right-hand side has exactly one ``C()`` term and it is a bare main
    effect whose variable appears in no other term (``y ~ x + C(month) | parent``), it takes the
    categorical time-effects path of :class:`~famtrial.models.clogit.ConditionalLogit` (``time=``,
    as ``conditional_logit(..., time_effects="month")``) instead of dense dummy regressors: the
    same estimates and covariances, faster. The effects keep formulaic's names
    (``C(month)[T.3]``). Dense dummies (formulaic's encoding) are used instead when that ``C()``
    term is interacted or its variable appears in another term (``C(month):x``,
    ``C(month):treat``, ``C(month) + treat:month``), when there are two or more ``C()`` terms
    (``C(month) + C(region)``), and with weights (the categorical path takes none).

    Parameters
    ----------
    formula : str, or DataFrame for the column form
        ``"y ~ x1 + x2 + C(month) | parent"``: the 0/1 outcome, the regressors (no intercept) and, after
        ``|``, the group whose intercepts are conditioned out.
    data : DataFrame or dask.dataframe.DataFrame
        A Dask DataFrame is fitted on its partitions (:mod:`famtrial.models._formula_dask`: the same
        numbers; weights, offset and cluster as column names).
    vcov : {"iid", "hetero"} or {"CRV1": column}, optional
        Default ``"iid"`` (``"hetero"``, clustered on the group, with pweights). The cluster column
        must be constant within groups (e.g. office).
    weights : str or array-like, optional
        Constant within group (Stata's rule); ``weight_type`` as
        :class:`~famtrial.models.clogit.ConditionalLogit`.
    weight_type : {"fweight", "pweight"}
        How ``weights`` count (default ``"fweight"``), as :class:`~famtrial.models.clogit.ConditionalLogit`:
        each group stands for w_g identical groups (Stata ``[fweight=w]``), or sampling weights (Stata
        ``[pweight=w]``; the covariance is then robust on the group or clustered). Unused without ``weights``.
    offset : str or array-like, optional
        Known term added to the linear predictor ``x'b`` (Stata ``offset()``): a column name or one value
        per row of ``data``.
    adjustment, t_reference
        As :func:`logit`.
    outcome, covariates, group, cluster, robust, time_effects : column form only
        As :func:`famtrial.models.clogit.conditional_logit` (``robust=True``: clustered on the group;
        ``time_effects="month"``: one effect per month, the lowest the base).

    Notes
    -----
    Stata: ``clogit y x1 x2 i.month, group(parent) vce(cluster office) or`` (both forms).
    R: ``survival::clogit(y ~ x1 + x2 + factor(month) + strata(parent), method = "exact")``.
    """
    _single("clogit", formula)
    common: dict[str, Any] = {"weights": weights, "weight_type": weight_type, "offset": offset}
    common.update(adjustment=adjustment, t_reference=t_reference)
    columns: dict[str, Any] = {"outcome": outcome, "covariates": covariates, "group": group, "cluster": cluster}
    columns.update(robust=robust, time_effects=time_effects)
    if _column_form("clogit", formula, data, columns, vcov=vcov):
        assert outcome is not None and covariates is not None and group is not None  # _column_form checked
        return conditional_logit(
            formula, outcome, covariates, group, cluster, robust=bool(robust), time_effects=time_effects, **common
        )
    if isinstance(formula, str) and split_formula(formula, True)[2] is None:
        raise FormulaError(
            f"formula {formula!r} has no '| group' part: clogit needs the conditioned-out group, "
            "e.g. 'y ~ treat + C(month) | parent'"
        )
    if is_dask_dataframe(data):
        from famtrial.models import _formula_dask

        _in_memory_only("clogit", formula, vcov)
        return _formula_dask.clogit(formula, data, vcov=vcov, **common)
    return _clogit_in_memory(formula, data, vcov, weights, weight_type, offset, adjustment, t_reference)


def _clogit_in_memory(
    formula: str,
    data: pd.DataFrame,
    vcov: VcovSpec | None,
    weights: ArrayLike | str | None,
    weight_type: WeightType,
    offset: ArrayLike | str | None,
    adjustment: Adjustment,
    t_reference: bool,
) -> ConditionalLogitResults:
    """:func:`clogit`'s formula form on a pandas DataFrame (a bare ``C(month)``: the categorical path)."""
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    refit = refit_vcov(vcov)
    if refit:  # the jackknife or two-way clustering: the default covariance, then with_vcov
        cov_type, cluster = None, None
    extra = extra_columns(cluster, weights, offset, *vcov_columns(vcov))
    frame, y, outcome, x, design, group, dropped = _prepare(formula, data, extra, True)
    x = x.drop(columns="Intercept", errors="ignore")
    w = _column_or_array(data, frame, weights, "weights")
    off = _column_or_array(data, frame, offset, "offset")
    if design.time_var is not None and w is None:  # C(month): the categorical time-effects path
        effects = [f"C({design.time_var})[T.{lev}]" for lev in design.time_levels[1:]]
        x = x.drop(columns=effects)
        model = ConditionalLogit(
            y,
            x,
            frame[group].to_numpy(),
            offset=off,
            names=list(x.columns),
            time=frame[design.time_var].to_numpy(),
            time_name=f"C({design.time_var})",
            time_labels=effects,
            dropped=dropped,
        )
    else:
        model = ConditionalLogit(
            y,
            x,
            frame[group].to_numpy(),
            offset=off,
            names=list(x.columns),
            weights=w,
            weight_type=weight_type,
            dropped=dropped,
        )
    labels = None if cluster is None else _column_or_array(data, frame, cluster, "cluster")
    res = model.fit(
        cov_type, labels, adjustment=adjustment, t_reference=t_reference if not refit else False, outcome=outcome
    )
    res = replace(
        res,
        formula=formula,
        data=frame,
        design=design,
        fixed_effects=group,
        cluster_name=cluster if isinstance(cluster, str) else getattr(cluster, "name", None),
    )
    if refit:
        assert vcov is not None
        res = cast(Any, with_vcov(res, vcov, adjustment=adjustment, t_reference=t_reference))
    return res
