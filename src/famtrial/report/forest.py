"""Figures beyond intention to treat: the subgroup forest plot and effects by months since randomisation.

:func:`plot_forest` draws one odds ratio with its CI per subgroup level (log scale), grouped by subgroup
variable with the heterogeneity test's p-value (raw, Holm, BH), and the pooled effect as a dashed
reference line; exploratory (post hoc) subgroups are marked in their heading. :func:`plot_since_randomisation`
draws the odds ratio by bin of months since randomisation, beside the calendar-month series
(:func:`famtrial.report.plots.plot_monthly`) when one is given.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from famtrial.trial.monthly_results import MonthlyEffects
from famtrial.trial.since_randomisation import SinceRandomisationEffects
from famtrial.trial.subgroups import SubgroupAnalysis

__all__ = ["plot_forest", "plot_since_randomisation"]

_TICKS = (0.1, 0.2, 0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 10.0)


def _or_ticks(axis: object, low: float, high: float) -> None:
    """Plain odds-ratio ticks on a log axis between ``low`` and ``high`` (no scientific minor labels)."""
    ticks = [t for t in _TICKS if low <= t <= high] or [1.0]
    axis.set_major_locator(FixedLocator(ticks))  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))  # type: ignore[attr-defined]
    axis.set_minor_locator(NullLocator())  # type: ignore[attr-defined]


def _forest_axes(ax: Axes, analysis: SubgroupAnalysis, model: str) -> None:
    """One model's forest: headings, level rows, CIs, the null and the pooled line."""
    tests = analysis.tests.set_index(["model", "variable"])
    labels, y, rows = [], 0.0, []
    for e in [e for e in analysis.effects if e.model == model]:
        t = tests.loc[(e.model, e.variable)]
        tag = " [exploratory, post hoc]" if e.exploratory else ""
        labels.append(
            (y, f"{e.label}{tag}: heterogeneity p = {t['p']:.3f} (Holm {t['p_holm']:.3f}, BH {t['p_bh']:.3f})", True)
        )
        y -= 1
        for level, row in e.levels.iterrows():
            rows.append((y, row, e.exploratory))
            labels.append((y, f"    {e.label} = {level}  (n = {int(row['parents']):,})", False))
            y -= 1
        y -= 0.4
    for yy, row, exploratory in rows:
        color = "#7f7f7f" if exploratory else "#08306b"
        ax.plot([row["ci_low"], row["ci_high"]], [yy, yy], color=color, lw=1.4)
        ax.scatter([row["or"]], [yy], s=36, marker="s", color=color, zorder=3)
    ax.axvline(1.0, color="#444444", lw=1.0)
    if model in analysis.pooled.index:
        pooled = analysis.pooled.loc[model]
        ax.axvline(pooled["or"], color="#cb181d", ls="--", lw=1.0, label=f"pooled OR {pooled['or']:.2f}")
        ax.axvspan(pooled["ci_low"], pooled["ci_high"], color="#cb181d", alpha=0.08, lw=0)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_xscale("log")
    low = min([r["ci_low"] for _, r, _ in rows] + [1.0])
    high = max([r["ci_high"] for _, r, _ in rows] + [1.0])
    ax.set_xlim(low / 1.08, high * 1.08)
    _or_ticks(ax.xaxis, low / 1.08, high * 1.08)
    ax.set_yticks([yy for yy, _, _ in labels])
    ax.set_yticklabels([text for _, text, _ in labels], fontsize=8)
    for tick, (_, _, heading) in zip(ax.get_yticklabels(), labels, strict=True):
        tick.set_fontweight("bold" if heading else "normal")
    ax.set_ylim(y + 0.2, 0.8)
    level = f"{100 * (1 - analysis.alpha):g}%"
    ax.set_xlabel(f"odds ratio of the offer ({level} CI, log scale)")
    ax.set_title(model, fontsize=10)
    ax.grid(axis="x", color="#dddddd", lw=0.6)


def plot_forest(analysis: SubgroupAnalysis, *, title: str = "") -> Figure:
    """Forest plot of the subgroup effects: one panel per model, ORs with CIs per level, the pooled OR as a line.

    Parameters
    ----------
    analysis : SubgroupAnalysis
        From :func:`famtrial.trial.subgroups.subgroup_analysis`.
    title : str
        The figure's title.

    Returns
    -------
    Figure
        The figure (exploratory subgroups grey and labelled "exploratory, post hoc").
    """
    if not isinstance(analysis, SubgroupAnalysis):
        raise TypeError(f"plot_forest needs a SubgroupAnalysis (subgroup_analysis(...)), not {type(analysis).__name__}")
    models = list(dict.fromkeys(e.model for e in analysis.effects))
    n_rows = max(sum(len(e.levels) + 1.4 for e in analysis.effects if e.model == m) for m in models)
    fig, axes = plt.subplots(1, len(models), figsize=(9.5 * len(models), 1.2 + 0.34 * n_rows), squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        _forest_axes(ax, analysis, model)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_since_randomisation(
    effects: Sequence[SinceRandomisationEffects],
    *,
    monthly: Sequence[MonthlyEffects | None] | None = None,
    title: str = "",
) -> Figure:
    """The offer's OR by months since randomisation, each model beside its calendar-month series.

    Parameters
    ----------
    effects : sequence of SinceRandomisationEffects
        One per model (a row of the figure each).
    monthly : sequence of MonthlyEffects or None, optional
        The calendar-month series of each model's outcome, drawn on the left (None: none).
    title : str
        The figure's title.

    Returns
    -------
    Figure
        One row per model: the calendar-month series (when given) and the bins' ORs with CIs.
    """
    from famtrial.report.plots import plot_monthly

    effects = list(effects)
    if not effects or not all(isinstance(e, SinceRandomisationEffects) for e in effects):
        raise TypeError("plot_since_randomisation needs one or more SinceRandomisationEffects")
    series = list(monthly) if monthly is not None else [None] * len(effects)
    if len(series) != len(effects):
        raise ValueError(f"monthly has {len(series)} series for {len(effects)} effects: give one (or None) per model")
    beside = any(s is not None for s in series)
    fig, axes = plt.subplots(
        len(effects), 2 if beside else 1, figsize=(13 if beside else 6.5, 5.2 * len(effects)), squeeze=False
    )
    for row, (e, s) in enumerate(zip(effects, series, strict=True)):
        ax = axes[row, -1]
        f = e.frame
        x = np.arange(len(f))
        ax.fill_between(x, f["ci_low"], f["ci_high"], color="#9ecae1", alpha=0.6, lw=0, label="95% CI")
        ax.plot(x, f["or"], color="#08306b", marker="o", lw=1.4, label="odds ratio")
        ax.axhline(1.0, color="#444444", lw=1.0)
        ax.set_yscale("log")
        low, high = min(float(f["ci_low"].min()), 1.0), max(float(f["ci_high"].max()), 1.0)
        _or_ticks(ax.yaxis, low / 1.05, high * 1.05)
        ax.set_xticks(x)
        ax.set_xticklabels(f["bin"])
        ax.set_xlabel("months since randomisation")
        ax.set_ylabel("odds ratio of the offer (log scale)")
        p = "" if e.equality is None else f"; equal effects p = {e.equality.pvalue:.3f}"
        ax.set_title(f"{e.model}: by time since randomisation{p}", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        if beside:
            if s is not None:
                plot_monthly(s, ax=axes[row, 0], title=f"{e.model}: by calendar month", caption=False)
            else:
                axes[row, 0].set_axis_off()
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
