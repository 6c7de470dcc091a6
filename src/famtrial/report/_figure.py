"""The figures famtrial draws: shown once in a notebook, and text laid out below the axes without overlap.

:class:`OnceFigure` is a :class:`matplotlib.figure.Figure` made by pyplot (so ``plt.show()`` and the
notebook's inline backend show it) that a notebook cell returning it does not show a second time:
the inline backend already shows every pyplot figure of the cell at its end, and IPython would
display the returned figure again. :func:`stack_below` places a legend and a caption under an
axes, measured with the figure's renderer, so they never overlap the tick labels, the axis label
or each other.
"""

from __future__ import annotations

from typing import Any, cast

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

__all__ = ["OnceFigure", "stack_below", "text_boxes", "wrap_text"]

_PAD_PT = 6.0  # the gap between the stacked blocks, in points


class OnceFigure(Figure):
    """A pyplot figure displayed once in a notebook, whether the cell returns it or not.

    IPython shows a cell's returned value through ``_ipython_display_``, and the inline backend
    shows every pyplot figure of the cell at its end through ``display`` (which calls the same
    hook): a returned figure would show twice. The hook shows the figure as a PNG and then closes
    it in pyplot, so the backend's end-of-cell pass (which skips closed figures) does not show it
    again; a figure not returned (assigned, or the line ended with ``;``) is shown by that pass,
    through the hook, once.
    """

    def _ipython_display_(self) -> None:
        import io

        import matplotlib.pyplot as plt
        from IPython import display as ipython

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        ipython.display(ipython.Image(data=buffer.getvalue(), format="png"))  # type: ignore[no-untyped-call,attr-defined]
        plt.close(self)  # shown: pyplot's end-of-cell pass leaves a closed figure alone


def wrap_text(text: str, width: float, fontsize: float, renderer: Any) -> str:
    """``text`` broken at spaces into lines no wider than ``width`` display pixels at ``fontsize`` (measured)."""
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=fontsize)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and renderer.get_text_width_height_descent(trial, font, ismath=False)[0] > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return "\n".join(lines)


def _height(artist: Artist, renderer: Any) -> float:
    return float(artist.get_window_extent(renderer).height)


def _tight_bottom(ax: Axes, renderer: Any) -> float:
    """The bottom of the axes with its tick labels and axis label, without the legend (display pixels)."""
    box = ax.get_tightbbox(renderer, bbox_extra_artists=[])
    return float(box.y0) if box is not None else float(ax.get_window_extent(renderer).y0)


def stack_below(ax: Axes, blocks: list[Artist], *, resize: bool) -> None:
    """Stack ``blocks`` (a legend, a caption) under ``ax``'s tick labels and axis label, top to bottom.

    Each block is anchored at its top (a legend at ``loc="upper center"``, a text at ``va="top"``)
    in figure coordinates, one pad (6 pt) below the previous block's measured bottom. With
    ``resize`` (the figure is the function's own) the figure grows downwards by what the blocks
    need, the axes keeping their size in inches, so nothing is cut at the default size either.
    """
    fig = cast(Figure, ax.figure)  # a SubFigure's axes: its figure's canvas and size alike
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    dpi = fig.dpi
    pad = _PAD_PT * dpi / 72
    below_axes = ax.get_window_extent(renderer).y0 - _tight_bottom(ax, renderer)
    need = below_axes + sum(pad + _height(b, renderer) for b in blocks) + pad
    if resize:
        width, height = fig.get_size_inches()
        pos = ax.get_position()
        top_in, axes_in = (1 - pos.y1) * height, pos.height * height
        bottom_in = need / dpi
        new_height = top_in + axes_in + bottom_in
        fig.set_size_inches(width, new_height)
        ax.set_position(Bbox.from_bounds(pos.x0, bottom_in / new_height, pos.width, axes_in / new_height))
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    y = _tight_bottom(ax, renderer) - pad  # display pixels
    to_figure = fig.transFigure.inverted()
    for block in blocks:
        top = to_figure.transform((0, y))[1]
        box = ax.get_window_extent(renderer)
        if hasattr(block, "set_bbox_to_anchor"):  # a legend: its upper centre under the axes' centre
            centre = to_figure.transform((box.x0 + box.width / 2, 0))[0]
            block.set_bbox_to_anchor((centre, top), transform=fig.transFigure)
        else:
            x = to_figure.transform((box.x0, 0))[0]
            block.set_transform(fig.transFigure)
            block.set_position((x, top))  # type: ignore[attr-defined]
        y -= _height(block, renderer) + pad


def text_boxes(fig: Figure) -> list[tuple[str, Bbox]]:
    """Every visible text of ``fig`` (titles, tick labels, axis labels, legend entries, captions) with its rendered box.

    For tests and checks of a figure's layout: boxes in display pixels from the figure's renderer.
    """
    from matplotlib.text import Text

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    texts: list[Text] = list(fig.texts)
    for ax in fig.axes:
        texts += [getattr(ax, n) for n in ("title", "_left_title", "_right_title")]  # the three title slots
        texts += [ax.xaxis.label, ax.yaxis.label]
        texts += [t for t in ax.texts]
        for axis in (ax.xaxis, ax.yaxis):  # the ticks drawn: inside the view interval
            low, high = sorted(axis.get_view_interval())
            texts += [
                tick.label1
                for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                if low <= tick.get_loc() <= high and tick.label1.get_visible()
            ]
        legend = ax.get_legend()
        if legend is not None:
            texts += list(legend.get_texts()) + [legend.get_title()]
    for legend in fig.legends:
        texts += list(legend.get_texts()) + [legend.get_title()]
    unique = list({id(t): t for t in texts}.values())
    return [(t.get_text(), t.get_window_extent(renderer)) for t in unique if t.get_visible() and t.get_text().strip()]
