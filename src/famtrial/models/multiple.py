"""Multiple estimation from one formula, as pyfixest and fixest: ``sw``, ``sw0``, ``csw``, ``csw0`` and several outcomes.

``famtrial.fit_multiple("y1 + y2 ~ arm + csw0(x1, x2) | parent", data, model="clogit")`` fits six models (two
outcomes times the regressor sets ``arm``, ``arm + x1``, ``arm + x1 + x2``) and returns a :class:`FitCollection`:
a read-only mapping of label -> results that :func:`famtrial.compare_models` (and maketables, and
:func:`famtrial.report.coefplot.coefplot`) take as it is.

The operators (fixest's ``stepwise`` functions; one of them per formula, as pyfixest):

==============  =====================================================
``sw(a, b)``    one model with ``a``, one with ``b``
``sw0(a, b)``   as ``sw``, plus one model with neither
``csw(a, b)``   cumulative: ``a``; ``a + b``
``csw0(a, b)``  cumulative with the empty step first: none; ``a``; ``a + b``
==============  =====================================================

An argument may be any term (``C(month)``, ``i(month, arm, ref='2016-09')``, ``x:z``). Several outcomes on the
left (``y1 + y2 ~ ...``) give one model per outcome, outer to the regressor steps. Each model is the ordinary
front door's fit of its own formula (``logit`` or ``clogit``, so its own rows: the missing values of the columns it
uses), with the same keyword arguments (``vcov=``, weights, ...). Labels are ``"<outcome> ~ <rhs>"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from famtrial._options import check_choice
from famtrial.errors import FormulaError
from famtrial.models.base import ModelResults
from famtrial.models.terms import _OPERATOR, _split_top, is_multiple

__all__ = ["FitCollection", "expand_formula", "fit_multiple", "is_multiple"]

MultipleModel = Literal["logit", "clogit"]


def _steps(operator: str, args: list[str]) -> list[list[str]]:
    """The regressor sets an operator stands for."""
    if operator in ("sw", "sw0"):
        steps = [[a] for a in args]
    else:
        steps = [args[: j + 1] for j in range(len(args))]
    return [[], *steps] if operator.endswith("0") else steps


def expand_formula(formula: str) -> list[tuple[str, str]]:
    """The single-model formulas of a multiple-estimation formula, as (label, formula) pairs in fitting order.

    Parameters
    ----------
    formula : str
        ``"y1 + y2 ~ x + csw(a, b) | group"``: outcomes joined by ``+``; at most one of ``sw``, ``sw0``, ``csw``,
        ``csw0`` on the right-hand side (an additive term of its own).

    Returns
    -------
    list of (str, str)
        The label ``"<outcome> ~ <rhs>"`` (without the group part) and the formula to fit.
    """
    if formula.count("~") != 1:
        raise FormulaError(f"formula {formula!r} needs exactly one '~'")
    lhs, rest = (p.strip() for p in formula.split("~"))
    rhs, bar, group = rest.partition("|")
    outcomes = _split_top(lhs, "+")
    if not all(outcomes):
        raise FormulaError(f"formula {formula!r}: an empty outcome left of '~'")
    terms = _split_top(rhs, "+")
    found = [(j, m) for j, t in enumerate(terms) if (m := re.fullmatch(r"(sw0|sw|csw0|csw)\((.*)\)", t.strip()))]
    stray = len(_OPERATOR.findall(rhs)) - len(found)
    if len(found) > 1 or stray:
        raise FormulaError(
            f"formula {formula!r}: one stepwise operator (sw, sw0, csw, csw0) per formula, as an additive term of its "
            "own (e.g. 'y ~ arm + csw(x1, x2)'); nest the models in two calls instead"
        )
    steps: list[list[str]] = [[]]
    position = len(terms)
    if found:
        position, m = found[0]
        args = [a for a in _split_top(m.group(2), ",") if a]
        if not args:
            raise FormulaError(f"formula {formula!r}: {m.group(1)}() needs at least one term")
        steps = _steps(m.group(1), args)
    out = []
    for y in outcomes:
        for step in steps:
            rhs_terms = [*terms[:position], *step, *terms[position + 1 :]]
            rhs_text = " + ".join(t for t in rhs_terms if t) or "0"
            label = f"{y} ~ {rhs_text}"
            out.append((label, label + (f" | {group.strip()}" if bar else "")))
    return out


@dataclass(frozen=True)
class FitCollection(Mapping[str, ModelResults]):
    """Several fits of one multiple-estimation formula: a read-only mapping label -> results, in fitting order.

    ``compare_models(collection)`` lays them side by side, ``coefplot(collection)`` plots them;
    ``collection.tidy()`` stacks their ``tidy()`` frames with a ``model`` column (pyfixest's ``FixestMulti``
    has ``.tidy()`` and ``.all_fitted_models`` the same way).

    Attributes
    ----------
    formula : str
        The multiple-estimation formula.
    models : tuple of (str, ModelResults)
        The labelled fits.
    """

    formula: str
    models: tuple[tuple[str, ModelResults], ...]

    def __getitem__(self, key: str | int) -> ModelResults:
        """A fit by label, or by position (``collection[0]``)."""
        if isinstance(key, int):
            return self.models[key][1]
        for label, res in self.models:
            if label == key:
                return res
        raise KeyError(f"{key!r} is not one of the models {[m for m, _ in self.models]}")

    def __iter__(self) -> Iterator[str]:
        return (label for label, _ in self.models)

    def __len__(self) -> int:
        return len(self.models)

    @property
    def all_fitted_models(self) -> dict[str, ModelResults]:
        """The fits as a plain dict (pyfixest's name)."""
        return dict(self.models)

    def tidy(self, conf_level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """Every model's :meth:`~famtrial.models.base.ModelResults.tidy` stacked, with the model's label first.

        Parameters
        ----------
        conf_level : float
            Confidence level of the intervals.
        exponentiate : bool
            Odds ratios (see ``tidy``).
        """
        frames = [res.tidy(conf_level, exponentiate).assign(model=label) for label, res in self.models]
        out = pd.concat(frames, ignore_index=True)
        return out[["model", *[c for c in out.columns if c != "model"]]]

    def __str__(self) -> str:
        lines = [f"{len(self)} models of {self.formula!r}:"]
        lines += [f"  [{j}] {label}: {res.nobs:,} observations" for j, (label, res) in enumerate(self.models)]
        return "\n".join(lines)


def fit_multiple(formula: str, data: Any, *, model: MultipleModel = "logit", **kwargs: Any) -> FitCollection:
    r"""Fit every model of a multiple-estimation formula (``sw``, ``sw0``, ``csw``, ``csw0``, ``y1 + y2 ~``).

    Parameters
    ----------
    formula : str
        ``"y ~ arm + csw0(x1, x2)"`` (logit) or ``"y ~ arm + sw(x1, x2) + C(month) | parent"`` (conditional logit);
        see :func:`expand_formula`.
    data : DataFrame
        The data, as for :func:`famtrial.logit` / :func:`famtrial.clogit`.
    model : {"logit", "clogit"}
        The front door each formula goes to.
    **kwargs
        Passed to that front door for every model (``vcov=``, ``weights=``, ...).

    Returns
    -------
    FitCollection
        label -> results, in fitting order (outcomes outer, steps inner).

    Notes
    -----
    pyfixest: ``pf.feols("y1 + y2 ~ csw0(x1, x2)", data)`` returns a ``FixestMulti``; fixest:
    ``feols(c(y1, y2) ~ csw0(x1, x2), data)``. Stata has no operator; it is a loop of ``logit``/``clogit`` calls
    stored with ``estimates store``.
    """
    check_choice(model, MultipleModel, "model", FormulaError)
    if not isinstance(formula, str):
        raise FormulaError(f"fit_multiple: the formula must be a string; got {type(formula).__name__}")
    from famtrial.models.formula import clogit, logit

    front = logit if model == "logit" else clogit
    fits = []
    for label, single in expand_formula(formula):
        try:
            fits.append((label, front(single, data, **kwargs)))
        except FormulaError as err:
            raise FormulaError(f"model {label!r} of {formula!r}: {err}") from None
    return FitCollection(formula, tuple(fits))
