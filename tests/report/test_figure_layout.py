"""Figures: legend, axis labels, tick labels, title and caption never overlap (rendered text boxes), and one display per figure.

Overlap is measured with matplotlib's renderer (``famtrial.report._figure.text_boxes``: every drawn
text's window extent in display pixels) on the figures at their default size, the size
``famtrial reproduce`` saves and embeds in report.html. For the two shipped plans and the third
example (tests/examples/liaison), every monthly series of the plan is drawn.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import famtrial  # noqa: E402
from famtrial.errors import FewClustersWarning  # noqa: E402
from famtrial.report._figure import OnceFigure, text_boxes  # noqa: E402

LIAISON = Path(__file__).parents[1] / "examples" / "liaison"


def _overlaps(fig) -> list[tuple[str, str]]:
    boxes = text_boxes(fig)
    return [
        (a[:40], b[:40]) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1 :] if box_a.overlaps(box_b)
    ]


def _series_figures(panel):
    sample = famtrial.analysis_sample(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        for series in panel.plan.series:
            effects = famtrial.monthly_effects(sample.panel, series.outcome, n_boot=99, seed=1, progress=False)
            yield series.name, famtrial.plot_monthly(effects, number=2)
    yield "flow", famtrial.plot_flow(sample.flow, title="Figure 1. Participant flow")


def _liaison_panel():
    spec = importlib.util.spec_from_file_location("make_liaison", LIAISON / "make_liaison.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return famtrial.load_panel(module.build_panel(), LIAISON / "liaison.toml")


def _check(panel) -> None:
    for name, fig in _series_figures(panel):
        found = _overlaps(fig)
        texts = [t for t, _ in text_boxes(fig)]
        plt.close(fig)
        assert not found, (name, found)
        assert len(texts) > 5, name  # the measure saw the figure's texts


def test_overlap_detector_sees_an_overlap():
    fig, ax = plt.subplots()
    ax.set_xlabel("Month")
    ax.legend(handles=ax.plot([0, 1], label="a legend entry"), loc="upper center", bbox_to_anchor=(0.5, -0.05))
    try:
        assert _overlaps(fig), "a legend drawn on the axis label must be found"
    finally:
        plt.close(fig)


def test_liaison_figures_do_not_overlap():
    _check(_liaison_panel())


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["nct03102775", "casework"])
def test_shipped_plans_figures_do_not_overlap(plan):
    loaded = famtrial.load_plan(plan)
    _check(famtrial.load_panel(loaded.resolve_data(), loaded))


def test_figures_are_shown_once_in_a_notebook(monkeypatch):
    """The figure's display hook shows it and closes it in pyplot, so the inline backend's end-of-cell pass skips it."""
    pytest.importorskip("IPython")
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: shown.append(a))
    fig = plt.subplots(FigureClass=OnceFigure)[0]
    assert fig.number in plt.get_fignums()
    fig._ipython_display_()
    assert len(shown) == 1 and fig.number not in plt.get_fignums()


@pytest.mark.slow
def test_a_notebook_shows_each_figure_once():
    """In a real kernel (inline backend): returned, suppressed with ';' or assigned, each figure shows once."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    setup = (
        "import famtrial\n"
        "from famtrial.pipeline import default_panel_path\n"
        "sample = famtrial.analysis_sample(famtrial.load_panel(default_panel_path()))\n"
        "effects = famtrial.monthly_effects(sample.panel, 'activation', band=False, progress=False)"
    )
    shown = [
        "famtrial.plot_monthly(effects)",
        "famtrial.plot_monthly(effects);",
        "fig = famtrial.plot_monthly(effects)",
        "famtrial.plot_flow(sample.flow)",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(setup)] + [nbformat.v4.new_code_cell(c) for c in shown]
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    for cell in nb.cells[1:]:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, (cell.source, [o.get("output_type") for o in cell.outputs])
