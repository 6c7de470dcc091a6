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
from formulaic.transforms import stateful_transform

from famtrial.errors import FormulaError

__all__ = [
    "FORMULA_CONTEXT",
    "Design",
    "event_study_terms",
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
        mm = self.spec.get_model_matrix(frame, na_action=na_action, context=FORMULA_CONTEXT)
        mm = pd.DataFrame(np.asarray(mm, dtype=float), columns=rename_columns(mm.columns), index=frame.index)
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
        # an event-study term i(month, treat) is dense regressors of its own: it leaves C(month) on the time path
        others = [t for t in terms[:i] + terms[i + 1 :] if not re.fullmatch(r"i\(.*\)", t)]
        if m and not any(re.search(rf"\b{m.group(1)}\b", t) for t in others):
            rest = terms[:i] + terms[i + 1 :]
            return " + ".join(rest) if rest else "0", m.group(1)
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
        rhs = _treatment_interactions(rhs)
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
    missing_cols = list(dict.fromkeys(c for c in named if c not in columns))  # each named once
    if missing_cols:
        raise FormulaError(f"formula {formula!r}: columns {missing_cols} are not in the data (columns: {columns})")
    present = list(dict.fromkeys(c for c in [*sorted(needed), *named] if c in columns))
    return lhs, rhs, group, time_var, parsed, present


def model_matrix(parsed: Formula, frame: pd.DataFrame, formula: str, lhs: str, na_action: str) -> Any:
    """The model matrices of ``frame`` from formulaic, its errors as :class:`FormulaError`; the outcome one column."""
    try:
        mm = parsed.get_model_matrix(frame, na_action=na_action, context=FORMULA_CONTEXT)
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


# -- event studies: i(var, treat, ref=) ------------------------------------------------------------


def _same_level(level: Any, ref: Any) -> bool:
    """Whether a level is the reference: equal, or equal as text (``ref='2016-09'`` for a monthly period)."""
    return bool(level == ref) or str(level) == str(ref)


@stateful_transform  # type: ignore[untyped-decorator]
def i(var: Any, treat: Any = None, ref: Any = None, _state: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Pyfixest's ``i(var, treat, ref=)``: one column ``treat * 1[var == level]`` per level but the reference.

    Without ``treat`` the columns are the level dummies. The levels are those of the estimation rows, sorted, and kept
    in the design (formulaic's transform state) so that new data (``predict``, ``margins``) get the same columns.
    ``ref`` names the omitted level (its coefficient is 0 by construction: the event study's normalised period); it
    may be a list of levels. Without ``ref`` every level keeps a column (pyfixest's rule).
    """
    state = _state if _state is not None else {}
    values = np.asarray(var)
    if "levels" not in state:
        state["levels"] = sorted(pd.unique(values[~pd.isna(values)]))
    levels = list(state["levels"])
    refs = list(ref) if isinstance(ref, (list, tuple)) else [] if ref is None else [ref]
    unknown = [r for r in refs if not any(_same_level(lev, r) for lev in levels)]
    if unknown:
        raise ValueError(
            f"i(): ref={unknown[0]!r} is not a level of the variable (levels: {[str(v) for v in levels]}); "
            "give one of them, e.g. the last month before the intervention"
        )
    t = np.ones(len(values)) if treat is None else np.asarray(treat, dtype=float)
    return {
        str(level): (values == level).astype(float) * t
        for level in levels
        if not any(_same_level(level, r) for r in refs)
    }


#: The functions a famtrial formula may call beyond formulaic's own (``C``, ``np``, ``I``, ...).
FORMULA_CONTEXT: dict[str, Any] = {"i": i}

_I_NAME = re.compile(r"i\(\s*([A-Za-z_]\w*)\s*(?:,\s*([A-Za-z_]\w*)\s*)?(?:,[^\[]*)?\)\[(.*)\]")


def rename_columns(columns: Any) -> list[str]:
    """Formulaic's names of ``i()`` columns in pyfixest's spelling: ``i(month, arm, ref=...)[2016-10]`` -> ``month::2016-10:arm``.

    Other names are left as formulaic gives them; an ``i()`` column inside an interaction keeps its other factors.
    """

    def one(name: str) -> str:
        parts = str(name).split(":")
        out = []
        for part in parts:
            m = _I_NAME.fullmatch(part)
            out.append(f"{m.group(1)}::{m.group(3)}" + (f":{m.group(2)}" if m.group(2) else "") if m else part)
        return ":".join(out)

    return [one(c) for c in columns]


def event_study_terms(names: Any, var: str, treat: str | None = None) -> list[str]:
    """The coefficient names of ``i(var, treat, ...)`` among ``names`` (pyfixest's ``var::level[:treat]``), in order."""
    suffix = f":{treat}" if treat else ""
    pattern = re.compile(rf"{re.escape(var)}::(.+){re.escape(suffix)}")
    return [str(n) for n in names if pattern.fullmatch(str(n)) and (treat or ":" not in str(n).split("::", 1)[1])]


_TREATMENT = r"C\(\s*([A-Za-z_]\w*)\s*,\s*(?:Treatment|contr\.treatment)\(\s*(?:reference\s*=\s*|base\s*=\s*)?([^()]+?)\s*\)\s*\)"


def _treatment_interactions(rhs: str) -> str:
    """The conditional logit's ``C(month, Treatment(r)):arm`` (either order) -> ``i(month, arm, ref=r)``.

    There the treatment's main effect (constant within groups) is conditioned out and absent from the formula, so
    formulaic (as R) encodes the interacted category with every level; the reference would be ignored and a
    collinear level dropped instead. The event-study term omits the chosen one. (In a logit formulaic honours the
    reference when ``arm`` is a main effect, and without it every level is identified, as in R: left alone.)
    """
    terms = _top_terms(rhs)
    out = []
    for term in terms:
        m = re.fullmatch(rf"{_TREATMENT}\s*:\s*([A-Za-z_]\w*)", term) or re.fullmatch(
            rf"([A-Za-z_]\w*)\s*:\s*{_TREATMENT}", term
        )
        if m is None:
            out.append(term)
        elif term.startswith("C("):
            out.append(f"i({m.group(1)}, {m.group(3)}, ref={m.group(2)})")
        else:
            out.append(f"i({m.group(2)}, {m.group(1)}, ref={m.group(3)})")
    return " + ".join(out)


# -- multiple estimation (models/multiple.py expands; the front doors refuse) ----------------------------
_OPERATOR = re.compile(r"(?<![\w.])(sw0|sw|csw0|csw)\(")


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside parentheses and brackets, parts stripped."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += (ch in "([") - (ch in ")]")
        if ch == sep and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [*parts, cur.strip()]


def is_multiple(formula: str) -> bool:
    """Whether ``formula`` asks for several models (a stepwise operator, or several outcomes left of ``~``)."""
    if not isinstance(formula, str) or "~" not in formula:
        return False
    lhs = formula.split("~", 1)[0]
    return bool(_OPERATOR.search(formula)) or len(_split_top(lhs, "+")) > 1
