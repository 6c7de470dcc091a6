"""The summary of a fit: one object shown as text, HTML (Jupyter) or LaTeX.

``res.summary()`` returns a :class:`Summary`; ``print(res.summary())`` and ``str(res.summary())`` give
the text, a notebook shows the HTML table (``_repr_html_``), ``as_latex()`` gives a LaTeX tabular.

Number formats (statsmodels' and Stata's conventions, documented once here): coefficients, odds
ratios, standard errors and interval bounds with ``digits`` decimals (4); z (t) statistics with 2
decimals; p-values with 3 decimals, below 0.001 as ``<0.001`` (never ``2.39625e-197``). Terms the
estimator omitted (collinear variables, and whatever the results record in ``omitted``) show as a
row ``(omitted)``, as Stata's ``o.`` terms. ``keep=``/``drop=`` select rows by regular expression
(``re.search``, as pyfixest's ``etable(keep=, drop=)``): ``keep`` first (terms matching any pattern),
then ``drop`` (terms matching none).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from famtrial.errors import PostEstimationError

if TYPE_CHECKING:
    from famtrial.models.base import ModelResults

__all__ = ["Summary", "format_p", "select_terms", "summarize", "test_html"]

OMITTED = "(omitted)"


def format_p(p: float, digits: int = 3) -> str:
    """A p-value with ``digits`` decimals; below ``10**-digits`` as ``<0.001`` (digits=3); NaN as an empty cell."""
    if not np.isfinite(p):
        return ""
    floor = 10.0**-digits
    return f"<{floor:.{digits}f}" if p < floor else f"{p:.{digits}f}"


def _patterns(value: str | Sequence[str] | None, name: str) -> list[re.Pattern[str]]:
    """Compiled regular expressions of ``keep=``/``drop=`` (a string or a list of strings)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise PostEstimationError(f"{name}= takes regular expressions (strings); got {item!r}")
        try:
            out.append(re.compile(item))
        except re.error as exc:
            raise PostEstimationError(f"{name}={item!r} is not a regular expression: {exc}") from None
    return out


def select_terms(
    terms: Sequence[str], keep: str | Sequence[str] | None = None, drop: str | Sequence[str] | None = None
) -> list[str]:
    """The terms kept by ``keep`` (any pattern matches; all when None) and not matched by any ``drop`` pattern.

    Patterns are regular expressions matched anywhere in the name (``re.search``); escape a literal
    bracket or dot (``re.escape``), or match a plain part of the name such as ``"month"``. A ``keep`` that
    matches nothing raises, naming the terms, so a typo is not an empty table.
    """
    kept = list(terms)
    keeps, drops = _patterns(keep, "keep"), _patterns(drop, "drop")
    if keeps:
        kept = [t for t in kept if any(p.search(t) for p in keeps)]
        if not kept:
            raise PostEstimationError(f"keep={keep!r} matches none of the terms {list(terms)}")
    return [t for t in kept if not any(p.search(t) for p in drops)]


@dataclass(frozen=True, eq=False)
class Summary:
    """A fit's summary: header, coefficient (or odds-ratio) table and notes. Read-only.

    Attributes
    ----------
    header : tuple of (str, str)
        Model, formula, outcome, counts, covariance, log likelihoods, convergence.
    table : DataFrame
        One row per shown term (numbers; omitted terms NaN) with columns ``coef`` (``OR`` when
        ``odds=True``), ``std err``, ``z`` (``t`` under a t(G-1) reference), ``P>|z|`` (``P>|t|``)
        and the interval bounds.
    omitted : tuple of str
        Terms the estimator left out, shown as ``(omitted)`` rows.
    notes : tuple of str
        What the estimator set aside (groups, rows, variables), one line each.
    digits : int
        Decimals of estimates, standard errors and bounds.
    """

    header: tuple[tuple[str, str], ...]
    table: pd.DataFrame
    omitted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    digits: int = 4

    def formatted(self) -> pd.DataFrame:
        """The table as strings: the number formats of the module docstring; omitted terms read ``(omitted)``."""
        stat = self.table.columns[2]
        pcol = self.table.columns[3]
        out = pd.DataFrame(index=self.table.index, columns=self.table.columns, dtype=object)
        for column in self.table.columns:
            values = self.table[column].to_numpy(dtype=float)
            if column == pcol:
                out[column] = [format_p(v) for v in values]
            elif column == stat:
                out[column] = [f"{v:.2f}" if np.isfinite(v) else "" for v in values]
            else:
                out[column] = [f"{v:.{self.digits}f}" if np.isfinite(v) else "" for v in values]
        for term in self.omitted:
            if term in out.index:
                out.loc[term] = [OMITTED] + [""] * (len(out.columns) - 1)
        return out

    def as_text(self) -> str:
        """The summary as plain text (what ``print`` shows)."""
        width = max((len(k) for k, _ in self.header), default=0)
        lines = [f"{k:<{width}} : {v}" for k, v in self.header]
        shown = self.formatted()
        lines += ["", shown.to_string() if len(shown) else "(no terms shown)"]
        if self.notes:
            lines += ["", "Dropped:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def as_html(self) -> str:
        """The summary as an HTML fragment: a header table, the coefficient table and the notes."""
        head = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self.header
        )
        table = self.formatted().to_html(border=0, escape=True, classes="famtrial-summary")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return f"<table>{head}</table>{table}" + (f"<p>Dropped:</p><ul>{notes}</ul>" if notes else "")

    def as_latex(self) -> str:
        r"""The coefficient table as a LaTeX ``tabular`` (booktabs rules), the header and notes below it.

        Special characters in term names (``_``, ``%``, ``&``, ``#``, ``$``) are escaped; ``<0.001``
        is written ``$<$0.001``.
        """
        special = {
            "\\": r"\textbackslash{}",
            "~": r"\textasciitilde{}",
            "^": r"\textasciicircum{}",
            "<": "$<$",
            ">": "$>$",
            "|": "$|$",
            **{c: "\\" + c for c in "_%&#${}"},
        }

        def tex(text: str) -> str:
            return "".join(special.get(c, c) for c in text)

        shown = self.formatted()
        columns = "l" + "r" * len(shown.columns)
        lines = [
            f"\\begin{{tabular}}{{{columns}}}",
            "\\toprule",
            " & ".join(["", *(tex(str(c)) for c in shown.columns)]) + " \\\\",
            "\\midrule",
        ]
        lines += [" & ".join([tex(str(term)), *(tex(v) for v in row)]) + " \\\\" for term, row in shown.iterrows()]
        lines += ["\\midrule"]
        lines += [f"\\multicolumn{{{len(shown.columns) + 1}}}{{l}}{{{tex(k)}: {tex(v)}}} \\\\" for k, v in self.header]
        lines += [f"\\multicolumn{{{len(shown.columns) + 1}}}{{l}}{{{tex(n)}}} \\\\" for n in self.notes]
        lines += ["\\bottomrule", "\\end{tabular}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.as_text()

    def __contains__(self, text: object) -> bool:
        """``"omitted" in res.summary()`` searches the text, as when ``summary()`` returned a string (0.3)."""
        return isinstance(text, str) and text in self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _repr_html_(self) -> str:
        return self.as_html()


def _omitted_terms(results: ModelResults) -> list[str]:
    """Terms the estimator omitted (:attr:`ModelResults.omitted`, read from the variable drop records), once each."""
    names = dict.fromkeys(term for term, _ in results.omitted)
    return [n for n in names if n not in results.params.index]


def summarize(
    results: ModelResults,
    alpha: float = 0.05,
    odds: bool = False,
    *,
    keep: str | Sequence[str] | None = None,
    drop: str | Sequence[str] | None = None,
    digits: int = 4,
) -> Summary:
    """The :class:`Summary` of a fit (what ``results.summary(...)`` returns).

    Parameters
    ----------
    results : ModelResults
        A logit or conditional-logit fit.
    alpha : float
        1 - the intervals' confidence level.
    odds : bool
        Odds ratios (Stata's ``, or``: exp(b), SE exp(b) se(b), the interval exp of the bounds)
        instead of coefficients.
    keep, drop : str or list of str, optional
        Regular expressions selecting the terms shown (see :func:`select_terms`).
    digits : int
        Decimals of estimates, standard errors and bounds.

    Returns
    -------
    Summary
        Text with ``str()``/``as_text()``, HTML in a notebook, ``as_latex()``.
    """
    if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 12:
        raise PostEstimationError(f"digits={digits!r} must be a whole number from 0 to 12")
    frame = results.odds_ratios(alpha) if odds else results.to_frame(alpha).iloc[:, :6]
    stat = "z" if results.covariance.df is None else "t"
    level = f"{100 * (1 - alpha):g}%"
    frame = frame.copy()
    frame.columns = ["OR" if odds else "coef", "std err", stat, f"P>|{stat}|", f"[{level} lower", f"{level} upper]"]
    omitted = _omitted_terms(results)
    if omitted:
        frame = pd.concat([frame, pd.DataFrame(np.nan, index=omitted, columns=frame.columns)])
    terms = select_terms(list(frame.index), keep, drop)
    return Summary(
        header=tuple(results._header()),
        table=frame.loc[terms],
        omitted=tuple(t for t in omitted if t in terms),
        notes=tuple(d.describe() for d in results.dropped),
        digits=digits,
    )


def test_html(title: str, hypotheses: Sequence[str], distribution: str, statistic: float, pvalue: float) -> str:
    """A test result as an HTML table: the hypotheses, the statistic with its distribution, and p (``<0.001`` style).

    The notebook display of :class:`~famtrial.models.postestimation.WaldTest` and
    :class:`~famtrial.models.postestimation.LRTest`.
    """
    rows = [("H0", "; ".join(hypotheses) or "-"), (distribution, f"{statistic:.4f}"), ("p-value", format_p(pvalue))]
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table><caption>{html.escape(title)}</caption>{body}</table>"
