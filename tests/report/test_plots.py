"""Figures 2/3: rendered to PNG (and SVG/PDF) and checked for content."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from conftest import path_panel  # noqa: E402
from famtrial.data.load import load_panel  # noqa: E402
from famtrial.report.plots import plot_monthly  # noqa: E402
from famtrial.trial.monthly import monthly_effects  # noqa: E402

PATH = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


@pytest.fixture(scope="module")
def effects():
    return monthly_effects(load_panel(path_panel(7, PATH)), "activation", progress=False)


def test_figure_has_the_expected_axes_and_artists(effects):
    fig = plot_monthly(effects, number=2)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title(loc="left").startswith("Figure 2. Effects of coordinated")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == list(effects.frame["month"].iloc[::3])  # months on the axis, every third
    assert any("k = 12 offices, n = 1,200 parents" in t.get_text().replace("\n", " ") for t in fig.texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [
        "95% CI (pointwise)",
        "simultaneous 95% band (sup-t)",
        "odds ratio",
        "odds ratio, p < 0.05",
        "baseline month (imbalance, not an effect)",
    ]
    # reference line at 1, the band drawn through every month, red markers exactly where p < 0.05
    assert any(np.allclose(line.get_ydata(), 1.0) for line in ax.get_lines())
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    np.testing.assert_allclose(dashed[0].get_ydata(), effects.frame["band_low"])
    red, diamond = ax.collections[-2].get_offsets(), ax.collections[-1].get_offsets()
    base = effects.frame["month"] == effects.baseline  # the baseline month: imbalance, never a red "effect"
    assert np.asarray(diamond)[:, 0].tolist() == effects.frame.index[base].tolist()
    assert any(
        "baseline month (2016-10) precedes the offer's effect" in t.get_text().replace("\n", " ") for t in fig.texts
    )
    sig = effects.frame.index[(effects.frame["p"] < 0.05) & ~base]
    assert len(sig) >= 2 and np.array_equal(np.asarray(red)[:, 0], sig.to_numpy())
    low, high = ax.get_ylim()
    assert low <= effects.frame["band_low"].min() and high >= effects.frame["band_high"].max()
    plt.close(fig)


def test_png_is_not_blank_and_has_the_band_colour(effects, tmp_path):
    fig = plot_monthly(effects, number=2)
    path = tmp_path / "figure2.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    img = matplotlib.image.imread(path)[..., :3]
    assert img.shape[0] > 300 and img.shape[1] > 600
    assert np.std(img) > 0.05 and (img.mean(axis=2) < 0.95).mean() > 0.05  # not blank
    band = np.array([0x9E, 0xCA, 0xE1]) / 255 * 0.6 + 0.4  # the CI fill over white
    assert (np.abs(img - band).max(axis=2) < 0.04).mean() > 0.02  # the shaded CI covers a visible area
    assert (np.abs(img - np.array([0xCB, 0x18, 0x1D]) / 255).max(axis=2) < 0.08).sum() > 20  # red markers


def test_draws_into_a_given_axes_and_other_formats(effects, tmp_path):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
    out = plot_monthly(effects, ax=right, band=False, title="no band", caption=False)
    assert out is fig and right.get_title(loc="left") == "no band" and not left.has_data()
    assert not [line for line in right.get_lines() if line.get_linestyle() == "--"] and not fig.texts
    for suffix in ("svg", "pdf"):
        fig.savefig(tmp_path / f"f.{suffix}")
        assert (tmp_path / f"f.{suffix}").stat().st_size > 5_000
    plt.close(fig)


def test_office_fixed_effects_caption_and_empty_input(effects):
    panel = load_panel(path_panel(3, [0.0, 0.5, 0.5], months=3))
    fe = monthly_effects(panel, "activation", fixed_effects="office", progress=False)
    fig = plot_monthly(fe)
    assert any("office fixed effects" in t.get_text().replace("\n", " ") for t in fig.texts)
    plt.close(fig)
    # the caption names the reference distribution of the intervals and p-values
    for t_reference, words in ((False, "normal reference"), (True, "t(G-1) reference")):
        fig = plot_monthly(monthly_effects(panel, "activation", t_reference=t_reference, progress=False))
        assert any(words in t.get_text().replace("\n", " ") for t in fig.texts), words
        plt.close(fig)
    empty = type(effects)(**{**effects.__dict__, "frame": effects.frame.iloc[:0]})
    with pytest.raises(ValueError, match="no months"):
        plot_monthly(empty)
