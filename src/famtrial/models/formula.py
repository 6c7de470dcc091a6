"""Formula front end: ``logit("y ~ arm + x", data, vcov=...)`` and ``clogit("y ~ x + C(month) | parent", data)``.

The right-hand side is read by formulaic (``C()``, interactions ``a:b`` / ``a*b``, transformations
such as ``np.log(x)`` or ``I(x**2)``, ``0 +`` / ``- 1`` to drop the intercept); ``| group`` names
the conditioned-out fixed effect of the conditional logit. Categorical terms use treatment coding
with the first (sorted) level as the base, as Stata's ``i.var`` and R's default contrasts. Rows
with a missing value in any column the model uses (outcome, regressors, group, cluster, weights)
are dropped and recorded in ``results.dropped``.

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
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
from formulaic import Formula, ModelSpec
from formulaic.errors import FormulaicError
from numpy.typing import ArrayLike

from famtrial._options import WeightType
from famtrial._parallel import is_dask_dataframe
from famtrial.errors import FormulaError
from famtrial.models.base import DropRecord
from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults, conditional_logit
from famtrial.models.covariance import Adjustment
from famtrial.models.logit import Logit, LogitResults
from famtrial.models.logit import logit as column_logit
from famtrial.models.postestimation import VcovSpec, parse_vcov

__all__ = ["FormulaError", "logit", "clogit"]


@dataclass(frozen=True)
class _Design:
    """The right-hand side: formulaic's ModelSpec plus, for the conditional logit, dense dummies of a
    categorical time effect (``C(month)``) kept apart so that it can be routed to a dedicated path."""

    spec: ModelSpec
    time_var: str | None = None
    time_levels: tuple[Any, ...] = ()

    @property
    def rhs_variables(self) -> list[str]:
        """The data columns the right-hand side reads, in the order the formula names them."""
        text = str(self.spec.formula)
        names = [str(v) for v in self.spec.variables_by_source.get("data", set())]
        names.sort(key=lambda v: (m.start() if (m := re.search(rf"\b{re.escape(v)}\b", text)) else len(text), v))
        return names + ([self.time_var] if self.time_var else [])

    @property
    def categorical_variables(self) -> set[str]:
        """Columns entering through ``C()`` (no derivative; only discrete changes)."""
        cats = set(re.findall(r"C\(\s*([A-Za-z_]\w*)", str(self.spec.formula)))
        return cats | ({self.time_var} if self.time_var else set())

    def get_model_matrix(self, frame: pd.DataFrame, na_action: str = "raise") -> pd.DataFrame:
        mm = self.spec.get_model_matrix(frame, na_action=na_action)
        mm = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=frame.index)
        if self.time_var is None:
            return mm
        return pd.concat([mm, _time_effect_dummies(frame[self.time_var], self.time_var, self.time_levels)], axis=1)


def _time_effect_dummies(values: pd.Series, name: str, levels: tuple[Any, ...]) -> pd.DataFrame:
    """Dense 0/1 dummies of a categorical time effect ``C(name)``, base level (the first) omitted.

    The design of new data for ``predict`` and ``margins``, and the regressors of a weighted
    conditional logit (the categorical time-effects path takes no weights). Column names follow
    formulaic's ``C(month)[T.level]``.
    """
    codes = pd.Categorical(values, categories=list(levels))
    out = pd.DataFrame({f"C({name})[T.{lev}]": (codes == lev).astype(float) for lev in levels[1:]}, index=values.index)
    return out


def _split(formula: str, allow_group: bool) -> tuple[str, str, str | None]:
    """``"y ~ rhs | g"`` -> (lhs, rhs, g)."""
    if formula.count("~") != 1:
        raise FormulaError(
            f"formula {formula!r} needs exactly one '~' (outcome ~ regressors" + (" | group)" if allow_group else ")")
        )
    lhs, rhs = (part.strip() for part in formula.split("~"))
    group = None
    if "|" in rhs:
        rhs, _, group = (p.strip() for p in rhs.rpartition("|"))
        if not allow_group:
            raise FormulaError(
                f"formula {formula!r}: '| {group}' (a conditioned-out effect) belongs to clogit(); "
                f"for dummy fixed effects in a logit write '+ C({group})'"
            )
        if not re.fullmatch(r"[A-Za-z_]\w*", group):
            raise FormulaError(f"formula {formula!r}: after '|' give one group column (e.g. '| parent'); got {group!r}")
    if not lhs or not rhs:
        raise FormulaError(f"formula {formula!r} needs an outcome and at least one regressor")
    return lhs, rhs, group


def _top_terms(rhs: str) -> list[str]:
    """The right-hand side's additive terms at parenthesis depth 0."""
    terms, depth, cur = [], 0, ""
    for ch in rhs:
        depth += (ch in "([") - (ch in ")]")
        if ch == "+" and depth == 0:
            terms.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*terms, cur.strip()]


def _split_time_effect(rhs: str) -> tuple[str, str | None]:
    """Take the conditional logit's one ``C()`` term out of its right-hand side when it is a bare main
    effect ``C(var)`` whose variable appears in no other term (the categorical time-effects path);
    otherwise (no ``C()``, two or more, or one interacted) leave the right-hand side to formulaic."""
    if len(re.findall(r"\bC\(", rhs)) != 1:
        return rhs, None
    terms = _top_terms(rhs)
    for i, term in enumerate(terms):
        m = re.fullmatch(r"C\(\s*([A-Za-z_]\w*)\s*\)", term)
        others = terms[:i] + terms[i + 1 :]
        if m and not any(re.search(rf"\b{m.group(1)}\b", t) for t in others):
            return " + ".join(others) if others else "0", m.group(1)
    return rhs, None


def _parse(
    formula: str, columns: list[Any], extra: list[str], allow_group: bool
) -> tuple[str, str, str | None, str | None, Formula, list[str]]:
    """Split and parse ``formula`` against the data's ``columns`` (a pandas or a Dask frame's).

    Returns the outcome and right-hand sides, the group (``| group``) and bare ``C(time)`` variables
    (or None), the parsed formula, and the columns the formula and ``extra`` name (others are
    functions such as C, np.log, I); a named column not in the data raises :class:`FormulaError`.
    """
    lhs, rhs, group = _split(formula, allow_group)
    time_var = None
    if group is not None:
        rhs, time_var = _split_time_effect(rhs)
    try:
        parsed = Formula(f"{lhs} ~ {rhs}")
        needed = {
            str(v)
            for part in (parsed.lhs, parsed.rhs)
            for term in part
            for factor in term.factors
            for v in _factor_variables(factor)
        }
    except FormulaicError as err:
        raise FormulaError(f"cannot read formula {formula!r}: {err}") from None
    named = [c for c in (group, time_var, *extra) if c is not None]
    missing_cols = [c for c in named if c not in columns]
    if missing_cols:
        raise FormulaError(f"formula {formula!r}: columns {missing_cols} are not in the data (columns: {columns})")
    present = list(dict.fromkeys(c for c in [*sorted(needed), *named] if c in columns))
    return lhs, rhs, group, time_var, parsed, present


def _model_matrix(parsed: Formula, frame: pd.DataFrame, formula: str, lhs: str, na_action: str) -> Any:
    """formulaic's model matrices of ``frame``, its errors as :class:`FormulaError`; the outcome one column."""
    try:
        mm = parsed.get_model_matrix(frame, na_action=na_action)
    except (FormulaicError, KeyError, NameError, ValueError, TypeError) as err:
        raise FormulaError(f"cannot build the design of {formula!r}: {err}") from None
    if mm.lhs.shape[1] != 1:
        raise FormulaError(
            f"formula {formula!r}: the outcome must be one 0/1 column; {lhs!r} gives {list(mm.lhs.columns)}"
        )
    return mm


def _prepare(
    formula: str, data: pd.DataFrame, extra: list[str], allow_group: bool
) -> tuple[pd.DataFrame, np.ndarray, str, pd.DataFrame, _Design, str | None, list[DropRecord]]:
    """Parse, drop rows with missing values (recorded), and build the outcome and design."""
    if not isinstance(formula, str):
        raise FormulaError(
            f"the first argument is the formula (a string such as 'y ~ x'); got "
            f"{type(formula).__name__}. For the column API name the columns: logit(data, outcome='y', "
            "covariates=['x1']) or clogit(data, outcome='y', covariates=['x1'], group='parent')"
        )
    if not isinstance(data, pd.DataFrame):
        raise FormulaError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    lhs, rhs, group, time_var, parsed, present = _parse(formula, list(data.columns), extra, allow_group)
    complete = data[present].notna().all(axis=1).to_numpy()
    frame = data.loc[complete] if not complete.all() else data
    dropped = []
    if not complete.all():
        counts = data[present].isna().sum()
        what = ", ".join(f"{c} ({n:,})" for c, n in counts[counts > 0].items())
        dropped.append(DropRecord("rows", int((~complete).sum()), f"missing values in {what}"))
    if len(frame) == 0:
        raise FormulaError(f"formula {formula!r}: no row is complete in {present}")
    mm = _model_matrix(parsed, frame, formula, lhs, "raise")
    y = np.asarray(mm.lhs, dtype=float)[:, 0]
    outcome = str(mm.lhs.columns[0])
    levels: tuple[Any, ...] = ()
    if time_var is not None:
        levels = tuple(sorted(pd.unique(frame[time_var])))
    design = _Design(mm.rhs.model_spec, time_var, levels)
    x = design.get_model_matrix(frame)
    return frame, y, outcome, x, design, group, dropped


def _factor_variables(factor: Any) -> set[str]:
    """Data columns a formulaic factor reads (names in its expression)."""
    return set(re.findall(r"[A-Za-z_]\w*", str(factor.expr)))


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


def _extra_columns(*values: object) -> list[str]:
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, Mapping):
            out += [c for c in v.values() if isinstance(c, str)]
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
    """Whether a front-door call is the column form: a data frame first with the column keywords
    (``columns``, those given not None). A formula with a column keyword, or the column form with a
    second positional argument or a formula-only keyword (``formula_only``), is a :class:`FormulaError`
    naming the argument; a data frame without the column keywords is left to the formula path (its error)."""
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
    """Fit a binary logit from a formula, ``logit("y ~ x1 + x2", data)``, or from columns, ``logit(data,
    outcome="y", covariates=["x1", "x2"], cluster="office")``.

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

        return _formula_dask.logit(
            formula, data, vcov=vcov, weights=weights, offset=offset, adjustment=adjustment, t_reference=t_reference
        )
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    frame, y, outcome, x, design, _, dropped = _prepare(formula, data, _extra_columns(cluster, weights, offset), False)
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
    res = model.fit(cov_type, labels, adjustment=adjustment, t_reference=t_reference, outcome=outcome)
    return replace(
        res,
        formula=formula,
        data=frame,
        design=design,
        cluster_name=cluster if isinstance(cluster, str) else getattr(cluster, "name", None),
    )


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
    """Fit an exact fixed-effects (conditional) logit from ``"y ~ x1 + x2 + C(month) | group"``, or from
    columns, ``clogit(data, outcome="y", covariates=["x1", "x2"], group="parent", cluster="office")``.

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
    formula : str
    data : DataFrame or dask.dataframe.DataFrame
        A Dask DataFrame is fitted on its partitions (:mod:`famtrial.models._formula_dask`: the same
        numbers; weights, offset and cluster as column names).
    vcov : {"iid", "hetero"} or {"CRV1": column}, optional
        Default ``"iid"`` (``"hetero"``, clustered on the group, with pweights). The cluster column
        must be constant within groups (e.g. office).
    weights : str or array-like, optional
        Constant within group (Stata's rule); ``weight_type`` as
        :class:`~famtrial.models.clogit.ConditionalLogit`.
    offset : str or array-like, optional
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
    columns = {
        "outcome": outcome,
        "covariates": covariates,
        "group": group,
        "cluster": cluster,
        "robust": robust,
        "time_effects": time_effects,
    }
    if _column_form("clogit", formula, data, columns, vcov=vcov):
        return conditional_logit(
            formula,
            cast(str, outcome),
            cast(Sequence[str], covariates),
            cast(str, group),
            cluster,
            robust=bool(robust),
            adjustment=adjustment,
            t_reference=t_reference,
            offset=offset,
            weights=weights,
            weight_type=weight_type,
            time_effects=time_effects,
        )
    if isinstance(formula, str) and _split(formula, True)[2] is None:
        raise FormulaError(
            f"formula {formula!r} has no '| group' part: clogit needs the conditioned-out group, "
            "e.g. 'y ~ treat + C(month) | parent'"
        )
    if is_dask_dataframe(data):
        from famtrial.models import _formula_dask

        return _formula_dask.clogit(
            formula,
            data,
            vcov=vcov,
            weights=weights,
            weight_type=weight_type,
            offset=offset,
            adjustment=adjustment,
            t_reference=t_reference,
        )
    cov_type, cluster = parse_vcov(vcov) if vcov is not None else (None, None)
    frame, y, outcome, x, design, group, dropped = _prepare(
        formula, data, _extra_columns(cluster, weights, offset), True
    )
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
    res = model.fit(cov_type, labels, adjustment=adjustment, t_reference=t_reference, outcome=outcome)
    return replace(
        res,
        formula=formula,
        data=frame,
        design=design,
        fixed_effects=group,
        cluster_name=cluster if isinstance(cluster, str) else getattr(cluster, "name", None),
    )
