"""Figures 2 and 3: the monthly odds ratios of the offer with pointwise and simultaneous bands."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from famtrial.monthly import MonthlyEffects

__all__ = ["plot_monthly"]

_TITLES = {"activation": "participation in activation programmes", "employed": "employment"}
_TICKS = (0.1, 0.2, 0.25, 0.33, 0.4, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0)


def plot_monthly(effects: MonthlyEffects, ax=None, *, band: bool = True, title: str | None = None,
                 number: int | None = None, caption: bool = True) -> Figure:
    """Odds ratio of the offer by month (the paper's Figures 2 and 3).

    Log-scale OR with its pointwise CI as a shaded band, the simultaneous sup-t band as dashed
    lines (when ``effects`` has one and ``band=True``), a reference line at OR = 1, filled red
    markers where the pointwise p < alpha, months on the x axis, and a caption with the number of
    offices k and parents n.

    Parameters
    ----------
    effects : MonthlyEffects
        From :func:`famtrial.monthly.monthly_effects`.
    ax : matplotlib Axes, optional
        Draw here (the figure's layout is left alone); default: a new 8 x 4.2 inch figure.
    band : bool
        Draw the simultaneous band if it was computed.
    title : str, optional
        Default ``"Figure {number}. Effects of coordinated follow-up on {outcome}"``.
    number : int, optional
        Figure number for the default title.
    caption : bool
        Write the k/n caption under the axes.

    Returns
    -------
    matplotlib.figure.Figure
        Save with ``fig.savefig("figure2.png", dpi=200, bbox_inches="tight")`` (PDF/SVG alike).
    """
    f = effects.frame
    if len(f) == 0:
        raise ValueError("effects has no months to plot")
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(8.0, 4.2))
    fig = ax.figure
    x = np.arange(len(f))
    level = f"{100 * (1 - effects.alpha):g}%"
    show_band = band and effects.band_critical is not None
    ax.fill_between(x, f["ci_low"], f["ci_high"], color="#9ecae1", alpha=0.6, linewidth=0,
                    label=f"{level} CI (pointwise)")
    if show_band:
        ax.plot(x, f["band_low"], ls="--", color="#3b6e99", lw=0.9, label=f"simultaneous {level} band (sup-t)")
        ax.plot(x, f["band_high"], ls="--", color="#3b6e99", lw=0.9)
    ax.axhline(1.0, color="#444444", lw=1.0, zorder=2, label="_OR = 1")
    ax.plot(x, f["or"], color="#08306b", lw=1.4, zorder=2.5)
    sig = (f["p"] < effects.alpha).to_numpy()
    ax.scatter(x[~sig], f["or"][~sig], s=16, facecolor="white", edgecolor="#08306b", zorder=3, label="odds ratio")
    ax.scatter(x[sig], f["or"][sig], s=24, color="#cb181d", zorder=4, label=f"odds ratio, p < {effects.alpha:g}")
    ax.set_yscale("log")
    lows = [f["ci_low"].min(), *([f["band_low"].min()] if show_band else [])]
    highs = [f["ci_high"].max(), *([f["band_high"].max()] if show_band else [])]
    lo, hi = min(min(lows), 1.0) / 1.08, max(max(highs), 1.0) * 1.08
    ax.set_ylim(lo, hi)
    ticks = [t for t in _TICKS if lo <= t <= hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([f"{t:g}" for t in ticks])
    step = 3 if len(f) > 12 else 1
    ax.set_xticks(x[::step])
    ax.set_xticklabels(f["month"].iloc[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(f) - 0.5)
    ax.set_ylabel("Odds ratio, offered vs ordinary (log scale)")
    ax.set_xlabel("Month")
    what = _TITLES.get(effects.outcome, effects.outcome)
    prefix = f"Figure {number}. " if number else ""
    ax.set_title(title if title is not None else f"{prefix}Effects of coordinated follow-up on {what}",
                 fontsize=10, loc="left")
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, frameon=False)
    if caption:
        fe = "; office fixed effects" if effects.fixed_effects else ""
        se = f"SE clustered by {effects.cluster}" if effects.cluster else "model-based SE"
        ax.text(0.0, -0.36, f"k = {effects.n_offices} offices, n = {effects.n_parents:,} parents. One logit per "
                f"month, {f['month'].iloc[0]} to {f['month'].iloc[-1]}; {se}{fe}; controls at baseline.",
                transform=ax.transAxes, fontsize=8, va="top")
    if own:
        fig.tight_layout()
    return fig
