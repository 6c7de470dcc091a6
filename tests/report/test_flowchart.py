"""Figure 1: the participant flow renders every count, legibly, in PNG/PDF/SVG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from famtrial.report.flowchart import plot_flow  # noqa: E402
from famtrial.trial.sample import FlowCounts  # noqa: E402

# The paper's flow (Figure 1 / Table 2): families and parents by arm and office status.
PAPER_FLOW = FlowCounts(
    offices=29,
    offices_included=14,
    offices_excluded=15,
    families_listed=2608,
    parents_listed=3691,
    families_offered=1429,
    parents_offered=2063,
    families_ordinary=1179,
    parents_ordinary=1628,
    families_excluded_offered=739,
    parents_excluded_offered=1099,
    families_excluded_ordinary=55,
    parents_excluded_ordinary=55,
    families_analysed_offered=690,
    parents_analysed_offered=964,
    families_analysed_ordinary=1124,
    parents_analysed_ordinary=1573,
    offered_label="Offered a family coordinator",
    control_label="Ordinary follow-up",
)


@pytest.fixture
def figure():
    fig = plot_flow(PAPER_FLOW, title="Figure 1. Participant flow")
    yield fig
    plt.close(fig)


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


def test_every_count_is_drawn(figure):
    texts = _texts(figure)
    assert "Families listed (29 offices)\n2,608 families, 3,691 parents" in texts
    assert "Offered a family coordinator\n1,429 families\n2,063 parents" in texts
    assert "Ordinary follow-up\n1,179 families\n1,628 parents" in texts
    assert "Excluded: in 15 offices\nwith too few controls\n739 families\n1,099 parents" in texts
    assert "Excluded: in 15 offices\nwith too few controls\n55 families\n55 parents" in texts
    assert "Analysed (14 offices)\n690 families\n964 parents" in texts
    assert "Analysed (14 offices)\n1,124 families\n1,573 parents" in texts
    assert (
        "An office is excluded when fewer than 1/3 of its listed families are in the control arm (ordinary "
        "follow-up)." in texts
    )
    assert figure.axes[0].get_title(loc="left") == "Figure 1. Participant flow"
    assert len(figure.axes[0].patches) == 7  # listed, 2 arms, 2 excluded, 2 analysed


def test_rule_text_follows_the_flow():
    flow = FlowCounts(**{**PAPER_FLOW.__dict__, "unit": "parent", "threshold": 0.25, "offices_excluded": 1})
    assert flow.rule == (
        "an office is excluded when fewer than 1/4 of its listed parents are in the control arm (ordinary follow-up)"
    )
    fig = plot_flow(flow)
    joined = "\n".join(_texts(fig))
    assert "fewer than 1/4 of its listed parents" in joined and "Excluded: in 1 office\n" in joined
    plt.close(fig)


def test_text_fits_inside_boxes_and_nothing_overlaps(figure):
    """Each box's text lies inside its box; no two texts overlap, no arrow crosses a text; all on the page."""
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in ax.patches}
    texts = [(t.get_gid(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]
    arrows = [t.get_window_extent(renderer) for t in ax.texts if not t.get_text()]
    assert len(texts) == 9 and len(arrows) == 8
    fig_box = figure.bbox
    for gid, extent in texts:
        assert (
            fig_box.x0 <= extent.x0 and extent.x1 <= fig_box.x1 and fig_box.y0 <= extent.y0 <= extent.y1 <= fig_box.y1
        )
        if gid is not None:
            box = boxes[gid]
            assert box.x0 + 2 < extent.x0 and extent.x1 < box.x1 - 2, gid
            assert box.y0 + 2 < extent.y0 and extent.y1 < box.y1 - 2, gid
    for i, (_, a) in enumerate(texts):
        for _, b in texts[i + 1 :]:
            assert not a.overlaps(b)
        assert not any(a.overlaps(arrow) for arrow in arrows)
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not boxes[a].overlaps(boxes[b]), (a, b)


def test_png_is_drawn_at_a4_width(figure, tmp_path):
    path = tmp_path / "figure1.png"
    figure.savefig(path, dpi=100)
    image = matplotlib.image.imread(path)
    width_in = image.shape[1] / 100
    assert 6.0 <= width_in <= 8.27  # fits an A4 page (8.27 in)
    ink = (image[..., :3].mean(axis=2) < 0.5).mean()  # dark pixels: text, lines, arrows
    tint = (np.abs(image[..., 0] - image[..., 2]) > 0.05).mean()  # the coloured arm boxes
    assert 0.01 < ink < 0.2 and tint > 0.05


@pytest.mark.parametrize("fmt, magic", [("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_vector_formats(figure, tmp_path, fmt, magic):
    path = tmp_path / f"figure1.{fmt}"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG keeps text as text
        figure.savefig(path)
    content = path.read_bytes()
    assert content.startswith(magic) and len(content) > 5_000
    if fmt == "svg":
        assert b"1,573 parents" in content and b"Excluded: in 15 offices" in content


def test_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    out = plot_flow(PAPER_FLOW, ax=right)
    assert out is fig and len(right.patches) == 7 and not left.patches and not right.axison
    plt.close(fig)
    with pytest.raises(TypeError, match=r"plot_flow needs FlowCounts \(sample.flow\)"):
        plot_flow({"offices": 29})


def test_the_trial_s_own_words():
    flow = FlowCounts(
        **{
            **PAPER_FLOW.__dict__,
            "units": ("person", "household", "site"),
            "offered_label": "Coached",
            "control_label": "Control",
            "offices_excluded": 1,
            "families_excluded_ordinary": 1,
        }
    )
    fig = plot_flow(flow, title="Flow")
    joined = "\n".join(_texts(fig))
    assert "Households listed (29 sites)" in joined and "Coached\n1,429 households\n2,063 persons" in joined
    assert "Excluded: in 1 site\n" in joined and "\n1 household\n" in joined and "randomized by household" in joined
    assert flow.rule == "a site is excluded when fewer than 1/3 of its listed households are in the control arm"
    assert fig.axes[0].get_title(loc="left") == "Flow"
    plt.close(fig)
