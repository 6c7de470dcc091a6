"""Figure 1: a CONSORT-style participant flow diagram drawn from :class:`~famtrial.trial.sample.FlowCounts`."""

from __future__ import annotations

from typing import cast

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from famtrial.trial.sample import FlowCounts

__all__ = ["plot_flow"]

_EDGE = "#333333"
_OFFERED, _ORDINARY, _NEUTRAL = "#e3eefa", "#fbeee0", "#f4f6f8"


def _box(
    ax: Axes,
    x: float,
    y: float,
    w: float,
    h: float,
    text: str,
    *,
    facecolor: str = _NEUTRAL,
    fontweight: str = "normal",
    gid: str | None = None,
) -> None:
    """A rounded box centred at (x, y) in axes coordinates with centred text."""
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.012",
            linewidth=1.0,
            edgecolor=_EDGE,
            facecolor=facecolor,
            transform=ax.transAxes,
            gid=gid,
        )
    )
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=9,
        fontweight=fontweight,
        linespacing=1.35,
        transform=ax.transAxes,
        gid=gid,
    )


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], head: bool = True) -> None:
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        xycoords="axes fraction",
        textcoords="axes fraction",
        arrowprops={"arrowstyle": "-|>" if head else "-", "color": _EDGE, "lw": 1.0, "shrinkA": 0, "shrinkB": 0},
    )


def plot_flow(flow: FlowCounts, ax: Axes | None = None, *, title: str = "Participant flow") -> Figure:
    """Draw the participant flow: listed -> randomized by arm -> excluded offices -> analysed.

    Parameters
    ----------
    flow : FlowCounts
        From :func:`famtrial.trial.sample.analysis_sample` (``sample.flow``).
    ax : matplotlib Axes, optional
        Draw into this axes (turned off); default a new 7.2 x 6.4 in figure (fits A4 width).
    title : str
        Figure title (the plan's report gives e.g. ``"Figure 1. Participant flow"``).

    Returns
    -------
    matplotlib.figure.Figure
        Save with ``fig.savefig("figure1.pdf")`` (PNG, PDF and SVG all work).
    """
    if not isinstance(flow, FlowCounts):
        hint = " (pass sample.flow)" if hasattr(flow, "flow") and isinstance(flow.flow, FlowCounts) else ""
        raise TypeError(f"plot_flow needs FlowCounts (sample.flow), not {type(flow).__name__}{hint}")
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, not {type(ax).__name__}")
    if not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string")
    if ax is None:
        new, ax = plt.subplots(figsize=(7.2, 6.4))
        new.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.02)
    fig = cast(Figure, ax.figure)  # a SubFigure only for axes of a subfigure
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")

    def fam(n: int) -> str:
        return flow.noun("family", n)

    def par(n: int) -> str:
        return flow.noun("parent", n)

    def off(n: int) -> str:
        return flow.noun("office", n)

    _box(
        ax,
        0.5,
        0.90,
        0.62,
        0.11,
        f"{fam(2).capitalize()} listed ({flow.offices:,} {off(flow.offices)})\n"
        f"{flow.families_listed:,} {fam(flow.families_listed)}, {flow.parents_listed:,} {par(flow.parents_listed)}",
        fontweight="bold",
        gid="listed",
    )
    _arrow(ax, (0.5, 0.845), (0.5, 0.79), head=False)
    _arrow(ax, (0.26, 0.79), (0.74, 0.79), head=False)
    ax.text(
        0.52,
        0.812,
        f"randomized by {fam(1)}",
        ha="left",
        va="center",
        fontsize=8,
        fontstyle="italic",
        color="#444444",
        transform=ax.transAxes,
    )

    arms = (
        (
            0.26,
            flow.offered_label,
            _OFFERED,
            "offered",
            flow.families_offered,
            flow.parents_offered,
            flow.families_excluded_offered,
            flow.parents_excluded_offered,
            flow.families_analysed_offered,
            flow.parents_analysed_offered,
        ),
        (
            0.74,
            flow.control_label,
            _ORDINARY,
            "ordinary",
            flow.families_ordinary,
            flow.parents_ordinary,
            flow.families_excluded_ordinary,
            flow.parents_excluded_ordinary,
            flow.families_analysed_ordinary,
            flow.parents_analysed_ordinary,
        ),
    )
    for x, heading, colour, key, n_fam, n_par, fam_ex, par_ex, fam_an, par_an in arms:
        trunk = x - 0.12
        _arrow(ax, (x, 0.79), (x, 0.725))
        _box(
            ax,
            x,
            0.665,
            0.40,
            0.12,
            f"{heading}\n{n_fam:,} {fam(n_fam)}\n{n_par:,} {par(n_par)}",
            facecolor=colour,
            gid=f"{key}",
        )
        _arrow(ax, (trunk, 0.605), (trunk, 0.24))
        _arrow(ax, (trunk, 0.425), (x - 0.035, 0.425))
        _box(
            ax,
            x + 0.085,
            0.425,
            0.24,
            0.15,
            f"Excluded: in {flow.offices_excluded:,} {off(flow.offices_excluded)}\nwith too few controls\n"
            f"{fam_ex:,} {fam(fam_ex)}\n{par_ex:,} {par(par_ex)}",
            facecolor="#ffffff",
            gid=f"excluded_{key}",
        )
        _box(
            ax,
            x,
            0.18,
            0.40,
            0.12,
            f"Analysed ({flow.offices_included:,} {off(flow.offices_included)})\n{fam_an:,} {fam(fam_an)}\n"
            f"{par_an:,} {par(par_an)}",
            facecolor=colour,
            fontweight="bold",
            gid=f"analysed_{key}",
        )
    ax.text(
        0.5,
        0.05,
        f"{flow.rule[0].upper()}{flow.rule[1:]}.",
        ha="center",
        va="center",
        fontsize=8,
        fontstyle="italic",
        color="#444444",
        transform=ax.transAxes,
        wrap=True,
    )
    ax.set_title(title, fontsize=11, fontweight="bold", loc="left")
    return fig
