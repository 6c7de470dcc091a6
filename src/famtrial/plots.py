"""Figures 2 and 3: the monthly odds ratios of the offer with pointwise and simultaneous bands."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FixedLocator, NullLocator

from famtrial.monthly import MonthlyEffects

__all__ = ["plot_monthly"]

_TITLES = {"activation": "participation in activation programmes", "employed": "employment"}


def plot_monthly(effects: MonthlyEffects, ax=None, *, title: str | None = None, number: int | None = None):
    """OR by month on a log scale: 95% CI band, simultaneous band (if computed), line at 1,
    filled markers where p < alpha, and a caption with k offices and n parents. Returns the Figure."""
    f = effects.frame
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.0))
    fig = ax.figure
    x = np.arange(len(f))
    level = f"{100 * (1 - effects.alpha):g}%"
    ax.fill_between(x, f["ci_low"], f["ci_high"], color="#9ecae1", alpha=0.6, linewidth=0, label=f"{level} CI")
    if effects.band_critical is not None:
        ax.plot(x, f["band_low"], ls="--", color="#3b6e99", lw=0.9, label=f"simultaneous {level} band (sup-t)")
        ax.plot(x, f["band_high"], ls="--", color="#3b6e99", lw=0.9)
    ax.axhline(1.0, color="#555555", lw=0.9)
    ax.plot(x, f["or"], color="#08306b", lw=1.4)
    sig = (f["p"] < effects.alpha).to_numpy()
    ax.scatter(x[~sig], f["or"][~sig], s=16, facecolor="white", edgecolor="#08306b", zorder=3, label="OR")
    ax.scatter(x[sig], f["or"][sig], s=22, color="#cb181d", zorder=4, label=f"OR, p < {effects.alpha:g}")
    ax.set_yscale("log")
    lo = min(f["ci_low"].min(), f.get("band_low", f["ci_low"]).min())
    hi = max(f["ci_high"].max(), f.get("band_high", f["ci_high"]).max())
    ticks = [t for t in (0.25, 0.33, 0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0) if lo / 1.1 <= t <= hi * 1.1]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticklabels([f"{t:g}" for t in ticks])
    step = 3 if len(f) > 12 else 1
    ax.set_xticks(x[::step])
    ax.set_xticklabels(f["month"][::step], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.5, len(f) - 0.5)
    ax.set_ylabel("Odds ratio (offered vs ordinary), log scale")
    ax.set_xlabel("Month")
    what = _TITLES.get(effects.outcome, effects.outcome)
    prefix = f"Figure {number}. " if number else ""
    ax.set_title(title or f"{prefix}Effects of coordinated follow-up on {what}", fontsize=10, loc="left")
    fe = ", office fixed effects" if effects.fixed_effects else ""
    ax.text(0.0, -0.32, f"k = {effects.n_offices} offices, n = {effects.n_parents:,} parents; logit per month, "
            f"SE clustered by office{fe}. {f['month'].iloc[0]} to {f['month'].iloc[-1]}.",
            transform=ax.transAxes, fontsize=8, va="top")
    ax.legend(fontsize=7.5, loc="best", frameon=False, ncol=2)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    fig.tight_layout()
    return fig
