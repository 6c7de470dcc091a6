"""coefplot and iplot: what they draw is the fits' odds ratios and intervals, the reference level at 1."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import famtrial
from famtrial.errors import ModelInputError, ModelTypeError

matplotlib.use("Agg")
REF = Path(__file__).parents[1] / "reference" / "event_study"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "data.csv")


@pytest.fixture(scope="module")
def event(panel):
    return famtrial.logit("y ~ arm + i(month, arm, ref='2016-09') + x + C(month)", panel, vcov={"CRV1": "office"})


def _series(ax):
    """(x, y, y_low, y_high, x_low, x_high) of each errorbar container drawn on ``ax`` (NaN where nothing is drawn)."""

    def ends(segments, column, how):
        return np.array([how(np.reshape(seg, (-1, 2))[:, column]) if np.size(seg) else np.nan for seg in segments])

    out = []
    for container in ax.containers:
        x, y = container.lines[0].get_data()
        segs = container.lines[2][0].get_segments()
        out.append(
            (
                np.asarray(x, float),
                np.asarray(y, float),
                ends(segs, 1, np.min),
                ends(segs, 1, np.max),
                ends(segs, 0, np.min),
                ends(segs, 0, np.max),
            )
        )
    return out


def test_iplot_draws_odds_ratios_with_the_reference_at_one(event, tmp_path):
    fig = famtrial.iplot(event, "month", "arm", mark="2016-10")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    x, y, low, high, _, _ = _series(ax)[0]
    levels = sorted(pd.read_csv(REF / "data.csv")["month"].unique())
    ci = event.conf_int()
    expected = [1.0 if m == "2016-09" else np.exp(event.params[f"month::{m}:arm"]) for m in levels]
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    j = levels.index("2016-12")
    np.testing.assert_allclose([low[j], high[j]], np.exp(ci.loc["month::2016-12:arm"]), rtol=1e-12)
    assert any(
        abs(line.get_xdata()[0] - (levels.index("2016-10") - 0.5)) < 1e-12
        for line in ax.lines
        if line.get_linestyle() == "--"
    )
    assert [t.get_text() for t in ax.get_xticklabels()][0] == levels[0]
    fig.savefig(tmp_path / "iplot.png")


def test_coefplot_of_a_collection(panel):
    fc = famtrial.fit_multiple("y ~ treat + csw(x, arm)", panel, vcov={"CRV1": "office"})
    fig = famtrial.coefplot(fc, exponentiate=False)
    ax = fig.axes[0]
    drawn = _series(ax)
    assert len(drawn) == 2 and ax.get_xscale() == "linear"
    x, _, _, _, lo, hi = drawn[1]
    res = fc[1]
    np.testing.assert_allclose(x, res.params[["treat", "x", "arm"]], rtol=1e-12)
    np.testing.assert_allclose(lo, res.conf_int()["lower"][["treat", "x", "arm"]], rtol=1e-12)
    assert np.isnan(drawn[0][0][2])  # the first model has no arm
    assert [t.get_text() for t in ax.get_yticklabels()] == ["treat", "x", "arm"]


def test_plot_errors(event):
    with pytest.raises(ModelTypeError, match="results object or a non-empty mapping"):
        famtrial.coefplot([event])
    with pytest.raises(ModelInputError, match="in none of the models"):
        famtrial.coefplot(event, ["nope"])
    with pytest.raises(ModelInputError, match="no i\\(week"):
        famtrial.iplot(event, "week")
    with pytest.raises(ModelInputError, match="mark='2020-01' is not a level"):
        famtrial.iplot(event, mark="2020-01")
