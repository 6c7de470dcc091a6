"""Coefficient and event-study plots of fitted famtrial models (pyfixest's ``coefplot`` and ``iplot``).

Both take one results object or a mapping of label -> results (a :class:`~famtrial.models.multiple.FitCollection`,
or a dict), draw estimates with their confidence intervals under each fit's own covariance and reference
distribution (the intervals of ``conf_int``), and return the matplotlib Figure. By default the estimates are odds
ratios on a log axis with the reference line at 1 (``exponentiate=False``: log-odds, reference line at 0).
They consume results; they never fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from famtrial.errors import ModelInputError, ModelTypeError
from famtrial.models.base import ModelResults
from famtrial.models.terms import event_study_terms

__all__ = ["coefplot", "iplot"]

_TICKS = (0.1, 0.2, 0.25, 0.33, 0.4, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0)
_COLOURS = ("#08306b", "#cb181d", "#238b45", "#6a51a3", "#d94801", "#525252")


def _as_mapping(results: object, what: str) -> dict[str, ModelResults]:
    """One fit or a mapping of fits as ``{label: results}``; anything else a :class:`ModelTypeError`."""
    if isinstance(results, ModelResults):
        return {results.outcome: results}
    if isinstance(results, Mapping) and results and all(isinstance(r, ModelResults) for r in results.values()):
        return {str(k): v for k, v in results.items()}
    raise ModelTypeError(
        f"{what} needs a famtrial results object or a non-empty mapping label -> results (e.g. a FitCollection); "
        f"got {type(results).__name__}"
    )


def _check_common(alpha: object, ax: object) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ModelInputError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
    if ax is not None and not isinstance(ax, Axes):
        raise ModelTypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), not {type(ax).__name__}")


def _estimates(res: ModelResults, terms: Sequence[str], alpha: float, exponentiate: bool) -> pd.DataFrame:
    """Estimate and interval of ``terms`` (NaN where the fit lacks a term), exponentiated when asked."""
    ci = res.conf_int(alpha)
    out = pd.DataFrame({"est": res.params, "low": ci["lower"], "high": ci["upper"]}).reindex(list(terms))
    return np.exp(out) if exponentiate else out


def _value_axis(ax: Axes, values: np.ndarray, exponentiate: bool, horizontal: bool) -> None:
    """The log odds-ratio axis with readable ticks (or the plain log-odds axis) and the reference line."""
    axis = ax.xaxis if horizontal else ax.yaxis
    line = ax.axvline if horizontal else ax.axhline
    line(1.0 if exponentiate else 0.0, color="#444444", lw=1.0, zorder=1)
    if not exponentiate:
        return
    (ax.set_xscale if horizontal else ax.set_yscale)("log")
    finite = values[np.isfinite(values) & (values > 0)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.5, 2.0)
    lo, hi = min(lo, 1.0) / 1.15, max(hi, 1.0) * 1.15
    (ax.set_xlim if horizontal else ax.set_ylim)(lo, hi)
    ticks = [t for t in _TICKS if lo <= t <= hi]
    if len(ticks) > 9:  # a wide range: the round ratios only, so labels do not crowd
        ticks = [t for t in ticks if t in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0)]
    if len(ticks) >= 2:
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
        (ax.set_xticklabels if horizontal else ax.set_yticklabels)([f"{t:g}" for t in ticks])


def _se_words(res: ModelResults) -> str:
    """What an interval rests on, for the caption: the covariance's pyfixest name and clusters."""
    name = res.se_type
    if res.cov_type == "cluster" and res.cluster_name:
        name += f" by {res.cluster_name}, G = {res.n_clusters}"
    return name


def coefplot(
    results: ModelResults | Mapping[str, ModelResults],
    terms: Sequence[str] | None = None,
    *,
    exponentiate: bool = True,
    alpha: float = 0.05,
    labels: Mapping[str, str] | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Estimates and confidence intervals of one or several fits, one row per term (horizontal).

    Parameters
    ----------
    results : ModelResults or mapping of str to ModelResults
        One fit, or several (a :class:`~famtrial.models.multiple.FitCollection`): each model's points are offset
        within a term's row and coloured, with a legend.
    terms : sequence of str, optional
        The terms to plot, in order (default: every term of every model but the intercept and the conditional
        logit's categorical time effects; regular expressions are not used, names must match).
    exponentiate : bool
        Odds ratios exp(b) and exp(CI) on a log axis with the line at 1 (default); False: log-odds, line at 0.
    alpha : float
        1 - the intervals' confidence level (each fit's own covariance and reference distribution).
    labels : mapping of str to str, optional
        Row labels for terms.
    title : str
        The axes' title.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    pyfixest ``pf.coefplot([fit1, fit2], coord_flip=True)``; Stata ``coefplot m1 m2, eform xline(1)``; R
    ``modelsummary::modelplot(list(m1, m2), exponentiate = TRUE)``.
    """
    fits = _as_mapping(results, "coefplot")
    _check_common(alpha, ax)
    if terms is None:
        seen: list[str] = []
        for res in fits.values():
            time = getattr(getattr(res, "model", None), "time_name", None)
            seen += [
                t
                for t in res.params.index
                if t not in seen and t != "Intercept" and not (time is not None and str(t).startswith(f"{time}["))
            ]
        terms = seen
    terms = list(terms)
    unknown = [t for t in terms if not any(t in r.params.index for r in fits.values())]
    if unknown or not terms:
        raise ModelInputError(
            f"coefplot: terms {unknown} are in none of the models (terms: {sorted({str(t) for r in fits.values() for t in r.params.index})})"
            if unknown
            else "coefplot: no term to plot"
        )
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(7.0, 1.6 + 0.25 * len(fits) + 0.42 * len(terms) * max(1, min(len(fits), 3) * 0.6))
        )
    else:
        fig = ax.figure  # type: ignore[assignment]
    y = np.arange(len(terms))[::-1].astype(float)
    width = 0.7 / len(fits)
    allvals = []
    for j, (label, res) in enumerate(fits.items()):
        est = _estimates(res, terms, alpha, exponentiate)
        pos = y + (len(fits) - 1) * width / 2 - j * width
        colour = _COLOURS[j % len(_COLOURS)]
        ax.errorbar(
            est["est"],
            pos,
            xerr=[est["est"] - est["low"], est["high"] - est["est"]],
            fmt="o",
            color=colour,
            ms=5,
            capsize=2.5,
            lw=1.2,
            label=f"{label} ({_se_words(res)})",
        )
        allvals.append(est.to_numpy().ravel())
    _value_axis(ax, np.concatenate(allvals), exponentiate, horizontal=True)
    ax.set_yticks(y)
    ax.set_yticklabels([(labels or {}).get(t, t) for t in terms])
    level = f"{100 * (1 - alpha):g}%"
    ax.set_xlabel(f"odds ratio ({level} CI, log scale)" if exponentiate else f"log-odds coefficient ({level} CI)")
    if title:
        ax.set_title(title)
    ax.grid(axis="x", color="#dddddd", lw=0.6, zorder=0)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=1, frameon=False)
    fig.tight_layout()
    return fig


def _i_levels(res: ModelResults, var: str, treat: str | None) -> tuple[list[str], list[str]]:
    """The levels of ``i(var, treat, ...)`` in the fit's design (sorted, as the transform kept them) and the omitted ones."""
    design = getattr(res, "design", None)
    state = getattr(getattr(design, "spec", None), "transform_state", {}) or {}
    present = [
        t.split("::", 1)[1].rsplit(f":{treat}", 1)[0] if treat else t.split("::", 1)[1]
        for t in event_study_terms(res.params.index, var, treat)
    ]
    for key, value in state.items():
        m = re.match(r"i\(\s*([A-Za-z_]\w*)\s*(?:,\s*([A-Za-z_]\w*))?", str(key))
        if m and m.group(1) == var and (m.group(2) or None) == treat and isinstance(value, dict) and "levels" in value:
            levels = [str(v) for v in value["levels"]]
            return levels, [lev for lev in levels if lev not in present]
    return present, []


def iplot(
    results: ModelResults | Mapping[str, ModelResults],
    var: str = "month",
    treat: str | None = None,
    *,
    mark: Any = None,
    exponentiate: bool = True,
    alpha: float = 0.05,
    title: str = "",
    ax: Axes | None = None,
) -> Figure:
    """The event-study plot of an ``i(var, treat, ref=)`` term: one point and interval per level, in level order.

    The reference level(s) (omitted from the fit) are drawn at the line (odds ratio 1) as open squares without an
    interval, so the normalisation is visible; ``mark`` draws a dashed vertical line before that level (the
    implementation month: the first treated month).

    Parameters
    ----------
    results : ModelResults or mapping of str to ModelResults
        One fit or several (each its own colour, offset slightly).
    var : str
        The ``i()`` term's first argument (the period variable).
    treat : str, optional
        Its second argument (``None`` for ``i(var)`` alone). With one ``i()`` term the default finds it.
    mark : optional
        A level of ``var`` (e.g. ``"2016-10"``) before which a dashed line marks the intervention.
    exponentiate : bool
        Odds ratios on a log axis, the line at 1 (default); False: log-odds, the line at 0.
    alpha : float
        1 - the intervals' confidence level (pointwise).
    title : str
        The axes' title.
    ax : matplotlib Axes, optional
        Where to draw; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    pyfixest ``fit.iplot()`` / ``pf.iplot([fit1, fit2])``; fixest ``iplot()``; Stata ``coefplot, vertical
    keep(*.month#1.arm) eform yline(1) xline(...)``. The intervals are pointwise, not a simultaneous band.
    """
    fits = _as_mapping(results, "iplot")
    _check_common(alpha, ax)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8.0, 4.6 + 0.2 * len(fits)))
    else:
        fig = ax.figure  # type: ignore[assignment]
    allvals: list[np.ndarray] = []
    order: list[str] = []
    for j, (label, res) in enumerate(fits.items()):
        t = treat
        if t is None:
            found = {
                str(n).split("::", 1)[1].split(":", 1)[1]
                for n in res.params.index
                if str(n).startswith(f"{var}::") and ":" in str(n).split("::", 1)[1]
            }
            t = found.pop() if len(found) == 1 else None
        names = event_study_terms(res.params.index, var, t)
        if not names:
            raise ModelInputError(
                f"iplot: model {label!r} has no i({var}{', ' + t if t else ''}, ...) terms (terms like "
                f"'{var}::<level>{':' + t if t else ''}'); fit e.g. 'y ~ i({var}, arm, ref=...) + ...'"
            )
        levels, refs = _i_levels(res, var, t)
        order = order or levels
        est = _estimates(res, names, alpha, exponentiate)
        est.index = [n.split("::", 1)[1].rsplit(f":{t}", 1)[0] if t else n.split("::", 1)[1] for n in names]
        zero = 1.0 if exponentiate else 0.0
        for r in refs:  # the normalised level on the line: the series runs through it
            est.loc[r] = [zero, zero, zero]
        est = est.loc[[lev for lev in levels if lev in est.index]]
        x = np.array([levels.index(lev) for lev in est.index], dtype=float) + (j - (len(fits) - 1) / 2) * 0.12
        colour = _COLOURS[j % len(_COLOURS)]
        ax.errorbar(
            x,
            est["est"],
            yerr=[est["est"] - est["low"], est["high"] - est["est"]],
            fmt="o-",
            color=colour,
            ms=4.5,
            capsize=2.5,
            lw=1.1,
            label=f"{label} ({_se_words(res)})",
        )
        if refs:
            xr = [levels.index(r) for r in refs]
            ax.scatter(
                xr,
                [1.0 if exponentiate else 0.0] * len(xr),
                marker="s",
                s=40,
                facecolor="white",
                edgecolor=colour,
                zorder=4,
                label=f"reference {', '.join(refs)} (normalised)" if j == 0 else None,
            )
        allvals.append(est.to_numpy().ravel())
    _value_axis(ax, np.concatenate(allvals), exponentiate, horizontal=False)
    if mark is not None:
        if str(mark) not in order:
            raise ModelInputError(f"iplot: mark={mark!r} is not a level of {var} (levels: {order})")
        ax.axvline(
            order.index(str(mark)) - 0.5, color="#888888", ls="--", lw=1.0, zorder=1, label=f"intervention ({mark})"
        )
    step = max(1, len(order) // 14)
    ax.set_xticks(range(0, len(order), step))
    ax.set_xticklabels(order[::step], rotation=45, ha="right")
    ax.set_xlim(-0.6, len(order) - 0.4)
    level = f"{100 * (1 - alpha):g}%"
    ax.set_ylabel(f"odds ratio ({level} CI, log scale)" if exponentiate else f"log-odds ({level} CI)")
    ax.set_xlabel(var)
    if title:
        ax.set_title(title)
    ax.grid(axis="y", color="#dddddd", lw=0.6, zorder=0)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    fig.tight_layout()
    return fig
