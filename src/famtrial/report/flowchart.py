"""Figure 1: a CONSORT-style participant flow diagram drawn from :class:`~famtrial.trial.sample.FlowCounts`."""

from __future__ import annotations

from typing import NamedTuple, cast

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from famtrial.report._figure import OnceFigure
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


class _Arm(NamedTuple):
    """One arm's column of the diagram: its position, heading, colour, gid key and counts."""

    x: float
    heading: str
    colour: str
    key: str
    families: int
    parents: int
    families_excluded: int
    parents_excluded: int
    families_analysed: int
    parents_analysed: int


def _check_flow_args(flow: object, ax: object, title: object) -> None:
    """Raise ``TypeError`` unless ``flow``, ``ax`` and ``title`` are what :func:`plot_flow` takes."""
    if not isinstance(flow, FlowCounts):
        hint = " (pass sample.flow)" if hasattr(flow, "flow") and isinstance(flow.flow, FlowCounts) else ""
        raise TypeError(f"plot_flow needs FlowCounts (sample.flow), not {type(flow).__name__}{hint}")
    if ax is not None and not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, not {type(ax).__name__}")
    if not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string")


def _flow_axes(ax: Axes | None) -> tuple[Axes, Figure]:
    """The axes to draw into (a new 7.2 x 6.4 in figure when None), spanning 0-1 and turned off, and its figure."""
    if ax is None:
        new, ax = plt.subplots(figsize=(7.2, 6.4), FigureClass=OnceFigure)
        new.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.02)
    fig = cast(Figure, ax.figure)  # a SubFigure only for axes of a subfigure
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    return ax, fig


def _draw_listed(ax: Axes, flow: FlowCounts) -> None:
    """The top box (everyone listed) and the randomization fork beneath it."""
    families, parents = flow.families_listed, flow.parents_listed
    _box(
        ax,
        0.5,
        0.90,
        0.62,
        0.11,
        f"{flow.noun('family', 2).capitalize()} listed ({flow.offices:,} {flow.noun('office', flow.offices)})\n"
        f"{families:,} {flow.noun('family', families)}, {parents:,} {flow.noun('parent', parents)}",
        fontweight="bold",
        gid="listed",
    )
    _arrow(ax, (0.5, 0.845), (0.5, 0.79), head=False)
    _arrow(ax, (0.26, 0.79), (0.74, 0.79), head=False)
    ax.text(
        0.52,
        0.812,
        f"randomized by {flow.noun('family', 1)}",
        ha="left",
        va="center",
        fontsize=8,
        fontstyle="italic",
        color="#444444",
        transform=ax.transAxes,
    )


def _arms(flow: FlowCounts) -> tuple[_Arm, _Arm]:
    """The offered arm (left) and the ordinary arm (right) with their counts."""
    return (
        _Arm(
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
        _Arm(
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


def _draw_arm(ax: Axes, flow: FlowCounts, arm: _Arm) -> None:
    """One arm's column: randomized, excluded offices beside it, analysed."""

    def fam(n: int) -> str:
        return flow.noun("family", n)

    def par(n: int) -> str:
        return flow.noun("parent", n)

    def off(n: int) -> str:
        return flow.noun("office", n)

    x = arm.x
    trunk = x - 0.12
    _arrow(ax, (x, 0.79), (x, 0.725))
    _box(
        ax,
        x,
        0.665,
        0.40,
        0.12,
        f"{arm.heading}\n{arm.families:,} {fam(arm.families)}\n{arm.parents:,} {par(arm.parents)}",
        facecolor=arm.colour,
        gid=f"{arm.key}",
    )
    _arrow(ax, (trunk, 0.605), (trunk, 0.24))
    _arrow(ax, (trunk, 0.425), (x - 0.035, 0.425))
    fam_ex, par_ex = arm.families_excluded, arm.parents_excluded
    fam_an, par_an = arm.families_analysed, arm.parents_analysed
    _box(
        ax,
        x + 0.085,
        0.425,
        0.24,
        0.15,
        f"Excluded: in {flow.offices_excluded:,} {off(flow.offices_excluded)}\nwith too few controls\n"
        f"{fam_ex:,} {fam(fam_ex)}\n{par_ex:,} {par(par_ex)}",
        facecolor="#ffffff",
        gid=f"excluded_{arm.key}",
    )
    _box(
        ax,
        x,
        0.18,
        0.40,
        0.12,
        f"Analysed ({flow.offices_included:,} {off(flow.offices_included)})\n{fam_an:,} {fam(fam_an)}\n"
        f"{par_an:,} {par(par_an)}",
        facecolor=arm.colour,
        fontweight="bold",
        gid=f"analysed_{arm.key}",
    )


def _draw_rule(ax: Axes, flow: FlowCounts) -> None:
    """The exclusion rule as an italic footnote under the diagram."""
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
    _check_flow_args(flow, ax, title)
    ax, fig = _flow_axes(ax)
    _draw_listed(ax, flow)
    for arm in _arms(flow):
        _draw_arm(ax, flow, arm)
    _draw_rule(ax, flow)
    ax.set_title(title, fontsize=11, fontweight="bold", loc="left")
    return fig
