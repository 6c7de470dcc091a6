"""The formula's terms, shared by the pandas and the Dask front ends.

Used by :mod:`famtrial.models.formula` and :mod:`famtrial.models._formula_dask`: the ``y ~ rhs | group`` split,
formulaic's parse, the conditional logit's bare ``C(month)`` taken apart, model matrices with formulaic's errors as
:class:`FormulaError`, and the design a fit keeps (:class:`Design`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from formulaic import Formula, ModelSpec
from formulaic.errors import FormulaicError

from famtrial.errors import FormulaError

__all__ = [
    "Design",
    "extra_columns",
    "model_matrix",
    "one_level_categoricals",
    "parse_formula",
    "split_formula",
    "time_effect_dummies",
]


@dataclass(frozen=True)
class Design:
    """The right-hand side: formulaic's ModelSpec plus, for the conditional logit, time-effect dummies.

    Dense dummies of a categorical time effect (``C(month)``) are kept apart so that it can be routed to a dedicated
    path.
    """

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
        """The right-hand side's model matrix of ``frame`` (float, ``frame``'s index), time-effect dummies last."""
        mm = self.spec.get_model_matrix(frame, na_action=na_action)
        mm = pd.DataFrame(np.asarray(mm, dtype=float), columns=list(mm.columns), index=frame.index)
        if self.time_var is None:
            return mm
        return pd.concat([mm, time_effect_dummies(frame[self.time_var], self.time_var, self.time_levels)], axis=1)


def time_effect_dummies(values: pd.Series, name: str, levels: tuple[Any, ...]) -> pd.DataFrame:
    """Dense 0/1 dummies of a categorical time effect ``C(name)``, base level (the first) omitted.

    The design of new data for ``predict`` and ``margins``, and the regressors of a weighted
    conditional logit (the categorical time-effects path takes no weights). Column names follow
    formulaic's ``C(month)[T.level]``.
    """
    codes = pd.Categorical(values, categories=list(levels))
    out = pd.DataFrame({f"C({name})[T.{lev}]": (codes == lev).astype(float) for lev in levels[1:]}, index=values.index)
    return out


def split_formula(formula: str, allow_group: bool) -> tuple[str, str, str | None]:
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
    """Take the conditional logit's one ``C()`` term out of its right-hand side when it is a bare main effect.

    A bare main effect is ``C(var)`` whose variable appears in no other term (the categorical time-effects path);
    otherwise (no ``C()``, two or more, or one interacted) leave the right-hand side to formulaic.
    """
    if len(re.findall(r"\bC\(", rhs)) != 1:
        return rhs, None
    terms = _top_terms(rhs)
    for i, term in enumerate(terms):
        m = re.fullmatch(r"C\(\s*([A-Za-z_]\w*)\s*\)", term)
        others = terms[:i] + terms[i + 1 :]
        if m and not any(re.search(rf"\b{m.group(1)}\b", t) for t in others):
            return " + ".join(others) if others else "0", m.group(1)
    return rhs, None


def parse_formula(
    formula: str, columns: list[Any], extra: list[str], allow_group: bool
) -> tuple[str, str, str | None, str | None, Formula, list[str]]:
    """Split and parse ``formula`` against the data's ``columns`` (a pandas or a Dask frame's).

    Returns the outcome and right-hand sides, the group (``| group``) and bare ``C(time)`` variables
    (or None), the parsed formula, and the columns the formula and ``extra`` name (others are
    functions such as C, np.log, I); a named column not in the data raises :class:`FormulaError`.
    """
    lhs, rhs, group = split_formula(formula, allow_group)
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
    except (FormulaicError, SyntaxError) as err:  # formulaic's, or Python's for a term such as I(x +* 2)
        raise FormulaError(f"cannot read formula {formula!r}: {_plain(err)}") from None
    named = [c for c in (group, time_var, *extra) if c is not None]
    missing_cols = [c for c in named if c not in columns]
    if missing_cols:
        raise FormulaError(f"formula {formula!r}: columns {missing_cols} are not in the data (columns: {columns})")
    present = list(dict.fromkeys(c for c in [*sorted(needed), *named] if c in columns))
    return lhs, rhs, group, time_var, parsed, present


def model_matrix(parsed: Formula, frame: pd.DataFrame, formula: str, lhs: str, na_action: str) -> Any:
    """The model matrices of ``frame`` from formulaic, its errors as :class:`FormulaError`; the outcome one column."""
    try:
        mm = parsed.get_model_matrix(frame, na_action=na_action)
    except (FormulaicError, KeyError, NameError, ValueError, TypeError, SyntaxError) as err:
        raise FormulaError(f"cannot build the design of {formula!r}: {_plain(err)}") from None
    if mm.lhs.shape[1] != 1:
        raise FormulaError(
            f"formula {formula!r}: the outcome must be one 0/1 column; {lhs!r} gives {list(mm.lhs.columns)}"
        )
    return mm


def _plain(err: BaseException) -> str:
    """An error's text without terminal colour codes (formulaic marks the bad part of a formula with them)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    return f"{type(err).__name__}: {text}" if isinstance(err, SyntaxError) else text


def one_level_categoricals(design: Design, frame: pd.DataFrame) -> list[tuple[str, list[Any]]]:
    """The ``C(var)`` terms whose column holds fewer than two values in ``frame``: ``(var, values)``.

    Such a term has no contrast: formulaic gives it no column. The front doors record it in
    ``results.dropped`` (a ``"variable"`` record) rather than drop it without a word.
    """
    out = []
    for var in sorted(design.categorical_variables - {design.time_var}):
        if var in frame.columns:
            values = list(pd.unique(frame[var].dropna()))
            if len(values) < 2:
                out.append((var, values))
    return out


def _factor_variables(factor: Any) -> set[str]:
    """Data columns a formulaic factor reads (names in its expression)."""
    return set(re.findall(r"[A-Za-z_]\w*", str(factor.expr)))


def extra_columns(*values: object) -> list[str]:
    """The column names among ``values``: each string, and the string values of each mapping."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, Mapping):
            out += [c for c in v.values() if isinstance(c, str)]
    return out
