"""Monthly series figures (the paper's Figures 2 and 3): odds ratios of the offer with pointwise and simultaneous bands."""

from __future__ import annotations

from typing import Literal, cast

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from famtrial._text import plural
from famtrial.report._figure import OnceFigure, stack_below, wrap_text
from famtrial.trial.monthly_results import MonthlyEffects

__all__ = ["plot_monthly"]

_TICKS = (0.1, 0.2, 0.25, 0.33, 0.4, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 10.0)


def _check_monthly_args(effects: object, ax: object, scale: object) -> None:
    """Raise unless ``effects`` has months to plot, ``ax`` is an Axes or None and ``scale`` is known."""
    if not isinstance(effects, MonthlyEffects):
        raise TypeError(
            f"plot_monthly needs MonthlyEffects (from famtrial.monthly_effects), not {type(effects).__name__}"
        )
    if len(effects.frame) == 0:
        raise ValueError("effects has no months to plot")
    if ax is not None and not hasattr(ax, "figure"):
        raise TypeError(f"ax must be a matplotlib Axes (e.g. from plt.subplots()), not {type(ax).__name__}")
    if scale not in ("or", "rd"):
        raise ValueError(f"scale={scale!r} is not one of ('or', 'rd')")


def _draw_series(
    ax: Axes, effects: MonthlyEffects, x: np.ndarray, odds: bool, show_band: bool, base: np.ndarray
) -> str:
    """The pointwise CI, the sup-t band, the reference line and the estimates; returns the y quantity's name."""
    f = effects.frame
    level = f"{100 * (1 - effects.alpha):g}%"
    y, y_low, y_high = (
        (f["or"], f["ci_low"], f["ci_high"]) if odds else (100 * f["rd"], 100 * f["rd_ci_low"], 100 * f["rd_ci_high"])
    )
    ref, what_y = (1.0, "odds ratio") if odds else (0.0, "risk difference")
    ax.fill_between(x, y_low, y_high, color="#9ecae1", alpha=0.6, linewidth=0, label=f"{level} CI (pointwise)")
    if show_band:
        ax.plot(x, f["band_low"], ls="--", color="#3b6e99", lw=0.9, label=f"simultaneous {level} band (sup-t)")
        ax.plot(x, f["band_high"], ls="--", color="#3b6e99", lw=0.9)
    ax.axhline(ref, color="#444444", lw=1.0, zorder=2, label="_reference")
    ax.plot(x, y, color="#08306b", lw=1.4, zorder=2.5)
    sig = (f["p" if odds else "rd_p"] < effects.alpha).to_numpy() & ~base
    plain = ~sig & ~base
    ax.scatter(x[plain], y[plain], s=16, facecolor="white", edgecolor="#08306b", zorder=3, label=what_y)
    ax.scatter(x[sig], y[sig], s=24, color="#cb181d", zorder=4, label=f"{what_y}, p < {effects.alpha:g}")
    if base.any():
        ax.scatter(
            x[base],
            y[base],
            s=34,
            marker="D",
            color="#969696",
            edgecolor="#252525",
            zorder=4,
            label="baseline month (imbalance, not an effect)",
        )
    return what_y


def _log_odds_axis(ax: Axes, f: pd.DataFrame, show_band: bool) -> None:
    """A log y axis covering the CIs (and band) and 1, ticked at round odds ratios."""
    ax.set_yscale("log")
    lows = [f["ci_low"].min(), *([f["band_low"].min()] if show_band else [])]
    highs = [f["ci_high"].max(), *([f["band_high"].max()] if show_band else [])]
    lo, hi = min(min(lows), 1.0) / 1.08, max(max(highs), 1.0) * 1.08
    ax.set_ylim(lo, hi)
    ticks = [t for t in _TICKS if lo <= t <= hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([f"{t:g}" for t in ticks])


def _thin_log_ticks(ax: Axes) -> None:
    """Drop odds-ratio ticks whose labels would touch: from 1 outwards, keep a tick 1.4 label heights from the last kept.

    Measured on the axes' final height in display pixels, so a wide range on a short axis (0.33,
    0.4, 0.5 close together) keeps every other round value and no two labels overlap.
    """
    ticks = list(ax.yaxis.get_majorticklocs())
    if len(ticks) < 2:
        return
    to_pixels = ax.transData.transform
    size = max(float(label.get_fontsize()) for label in ax.get_yticklabels()) * ax.figure.dpi / 72
    y = {t: float(to_pixels((0, t))[1]) for t in ticks}
    kept = [min(ticks, key=lambda t: abs(np.log(t)))]  # the tick nearest OR = 1 (1 itself when shown)
    for side in (sorted(t for t in ticks if t > kept[0]), sorted((t for t in ticks if t < kept[0]), reverse=True)):
        last = kept[0]
        for t in side:
            if abs(y[t] - y[last]) >= 1.4 * size:
                kept.append(t)
                last = t
    kept.sort()
    ax.yaxis.set_major_locator(FixedLocator(kept))
    ax.set_yticklabels([f"{t:g}" for t in kept])


def _label_axes(
    ax: Axes, effects: MonthlyEffects, x: np.ndarray, odds: bool, title: str | None, number: int | None
) -> None:
    """Month ticks, axis labels, the title, the grid and the legend under the axes."""
    f = effects.frame
    step = 3 if len(f) > 12 else 1
    ax.set_xticks(x[::step])
    ax.set_xticklabels(f["month"].iloc[::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(f) - 0.5)
    ax.set_ylabel(
        "Odds ratio, offered vs control (log scale)" if odds else "Risk difference (pp), offered minus control"
    )
    ax.set_xlabel("Month")
    what = effects.description or effects.outcome
    prefix = f"Figure {number}. " if number else ""
    ax.set_title(
        title if title is not None else f"{prefix}Effects of {effects.treatment} on {what}", fontsize=10, loc="left"
    )
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4, frameon=False)


def _caption_text(effects: MonthlyEffects, base: np.ndarray, what_y: str) -> str:
    """The caption: k offices, n parents, the months, the SE, gaps, the baseline month, the few-cluster caution."""
    f = effects.frame
    fe = f"; {effects.units[1]} fixed effects" if effects.fixed_effects else ""
    se = f"SE clustered by {effects.cluster_label or effects.cluster}" if effects.cluster else "model-based SE"
    se += f", {'t(G-1)' if effects.t_reference else 'normal'} reference"
    missing = int(f["coef"].isna().sum())
    gaps = f" {missing} month{'s' if missing != 1 else ''} without an estimate (gaps)." if missing else ""
    at_base = (
        f" The baseline month ({effects.baseline}) precedes the offer's effect: its {what_y} shows baseline imbalance."
        if base.any()
        else ""
    )
    caution = f" {effects.caution}" if effects.caution else ""
    return (
        f"k = {effects.n_offices} {plural(effects.units[1])}, n = {effects.n_parents:,} "
        f"{plural(effects.units[0])}. One logit per month, {f['month'].iloc[0]} to {f['month'].iloc[-1]}; "
        f"{se}{fe}; controls at baseline.{gaps}{at_base}{caution}"
    )


def plot_monthly(
    effects: MonthlyEffects,
    ax: Axes | None = None,
    *,
    band: bool = True,
    title: str | None = None,
    number: int | None = None,
    caption: bool = True,
    scale: Literal["or", "rd"] = "or",
) -> Figure:
    """Odds ratio of the offer by month (the paper's Figures 2 and 3).

    Log-scale OR with its pointwise CI as a shaded band, the simultaneous sup-t band as dashed
    lines (when ``effects`` has one and ``band=True``), a reference line at OR = 1, filled red
    markers where the pointwise p < alpha after implementation, months on the x axis, and a caption
    with the number of offices k and parents n. The baseline month, when the series includes it,
    is drawn as a grey diamond whatever its p-value: a difference there is baseline imbalance, not
    an effect of the offer (the caption says so). Months without an estimate are gaps.

    Parameters
    ----------
    effects : MonthlyEffects
        From :func:`famtrial.trial.monthly.monthly_effects`.
    ax : matplotlib Axes, optional
        Draw here (the figure's layout is left alone); default: a new 8 x 4.2 inch figure.
    band : bool
        Draw the simultaneous band if it was computed.
    title : str, optional
        Default ``"Figure {number}. Effects of {treatment} on {outcome description}"`` (from the plan).
    number : int, optional
        Figure number for the default title.
    caption : bool
        Write the k/n caption under the axes.
    scale : {"or", "rd"}
        Odds ratios on a log axis (default), or the offer's risk difference in percentage points
        (``effects.frame["rd"]``, Stata ``margins, dydx(i.arm)``) on a linear axis with its
        pointwise CI (the sup-t band is on the log-odds scale and is drawn with odds ratios only).

    Returns
    -------
    matplotlib.figure.Figure
        Save with ``fig.savefig("figure2.png", dpi=200, bbox_inches="tight")`` (PDF/SVG alike).
    """
    _check_monthly_args(effects, ax, scale)
    f = effects.frame
    own = ax is None
    if ax is None:
        ax = plt.subplots(figsize=(8.0, 4.2), FigureClass=OnceFigure)[1]
    fig = cast(Figure, ax.figure)  # a SubFigure only for axes of a subfigure
    x = np.arange(len(f))
    odds = scale == "or"
    show_band = odds and band and effects.band_critical is not None
    base = (f["month"] == effects.baseline).to_numpy()
    what_y = _draw_series(ax, effects, x, odds, show_band, base)
    if odds:
        _log_odds_axis(ax, f, show_band)
    _label_axes(ax, effects, x, odds, title, number)
    if own:
        fig.tight_layout()
    blocks: list[Artist] = [legend] if (legend := ax.get_legend()) is not None else []
    if caption:
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        width = ax.get_window_extent(renderer).width
        text = wrap_text(_caption_text(effects, base, what_y), width, 8, renderer)
        blocks.append(fig.text(0.0, 0.0, text, fontsize=8, va="top", ha="left", gid="caption"))
    stack_below(ax, blocks, resize=own)
    if odds:
        _thin_log_ticks(ax)
    return fig
