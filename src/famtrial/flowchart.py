"""Figure 1: a CONSORT-style participant flow diagram drawn from :class:`~famtrial.sample.FlowCounts`."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from famtrial.sample import FlowCounts

__all__ = ["plot_flow"]


def _box(ax, x, y, w, h, text, **kw):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.008,rounding_size=0.01",
                                linewidth=1.0, edgecolor="#333333", facecolor=kw.pop("facecolor", "#f4f6f8")))
    ax.text(x, y, text, ha="center", va="center", fontsize=kw.pop("fontsize", 8.5), wrap=True, **kw)


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 1.0})


def plot_flow(flow: FlowCounts, ax=None, *, threshold_text: str = "fewer than one third of\nfamilies remain in\nordinary follow-up"):
    """Draw the participant flow: listed -> randomized by arm -> excluded offices -> analysed.

    Returns the matplotlib Figure (A4 width, 7.5 x 6 in); pass ``ax=`` to draw into an existing axes.
    """
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 6.0))
    fig = fig or ax.figure
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    left, right, mid = 0.33, 0.67, 0.5
    _box(ax, mid, 0.88, 0.6, 0.1,
         f"Families on the coordinators' lists\n{flow.families_listed:,} families, {flow.parents_listed:,} parents, "
         f"{flow.offices} offices", fontweight="bold")
    _box(ax, left, 0.64, 0.32, 0.11,
         f"Offered a family coordinator\n{flow.families_offered:,} families\n{flow.parents_offered:,} parents",
         facecolor="#e3eefa")
    _box(ax, right, 0.64, 0.32, 0.11,
         f"Ordinary follow-up\n{flow.families_ordinary:,} families\n{flow.parents_ordinary:,} parents",
         facecolor="#fbeee0")
    for x, side, fam, par in ((left, 0.1, flow.families_excluded_offered, flow.parents_excluded_offered),
                              (right, 0.9, flow.families_excluded_ordinary, flow.parents_excluded_ordinary)):
        _box(ax, side, 0.38, 0.17, 0.16, f"Excluded\n({flow.offices_excluded} offices)\n{fam:,} families\n{par:,} parents",
             facecolor="#ffffff", fontsize=8)
        _arrow(ax, (x, 0.585), (x, 0.16))
        _arrow(ax, (x, 0.38), (side + (0.085 if side < mid else -0.085), 0.38))
    _box(ax, left, 0.10, 0.32, 0.11,
         f"Analysed ({flow.offices_included} offices)\n{flow.families_analysed_offered:,} families\n"
         f"{flow.parents_analysed_offered:,} parents", facecolor="#e3eefa", fontweight="bold")
    _box(ax, right, 0.10, 0.32, 0.11,
         f"Analysed ({flow.offices_included} offices)\n{flow.families_analysed_ordinary:,} families\n"
         f"{flow.parents_analysed_ordinary:,} parents", facecolor="#fbeee0", fontweight="bold")
    _arrow(ax, (mid, 0.83), (left, 0.695))
    _arrow(ax, (mid, 0.83), (right, 0.695))
    ax.text(mid, 0.38, f"Offices excluded when\n{threshold_text}", ha="center", va="center", fontsize=7.5,
            fontstyle="italic", color="#444444")
    ax.set_title("Figure 1. Participant flow", fontsize=10, fontweight="bold", loc="left")
    return fig
