"""Models expose, others read (issue 23, item 3): read-only ``endog``/``exog``/``weights``/``offset`` with
statsmodels' names, aligned with ``used_rows``; dropped rows go in through the constructor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from famtrial.models.base import DropRecord
from famtrial.models.clogit import ConditionalLogit, clogit_design
from famtrial.models.logit import Logit


def panel(seed: int = 5, groups: int = 80, months: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), months)
    frame = pd.DataFrame(
        {
            "y": rng.integers(0, 2, len(g)),
            "x": rng.normal(size=len(g)),
            "z": rng.integers(0, 2, len(g)).astype(float),
            "g": g,
            "month": np.tile(np.arange(months), groups),
            "off": rng.normal(0, 0.1, len(g)),
        }
    )
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # groups not contiguous


def test_clogit_exposes_its_estimation_data_read_only_and_aligned_with_used_rows():
    d = panel()
    w = d["g"].map(dict(enumerate(np.random.default_rng(2).integers(1, 4, 80)))).to_numpy(float)
    model = ConditionalLogit(d["y"], d[["x", "z"]], d["g"], offset=d["off"], weights=w)
    rows = model.used_rows
    np.testing.assert_array_equal(model.endog, d["y"].to_numpy(float)[rows])
    np.testing.assert_array_equal(model.exog, d[["x", "z"]].to_numpy()[rows])
    np.testing.assert_array_equal(model.offset, d["off"].to_numpy()[rows])
    np.testing.assert_array_equal(model.weights, w[rows])
    np.testing.assert_array_equal(model.groups, d["g"].to_numpy()[rows])
    assert model.group_sizes.sum() == len(rows) == model.exog.shape[0]
    b = np.array([0.3, -0.2])
    np.testing.assert_allclose(model.linear_predictor(b), model.exog @ b + model.offset, rtol=1e-13)
    for values in (model.endog, model.exog, model.offset, model.weights, model.groups):
        with pytest.raises(ValueError, match="read-only"):
            values[0] = 0


def test_clogit_exog_with_time_effects_holds_their_dummies():
    d = panel()
    model = ConditionalLogit(d["y"], d[["x"]], d["g"], time=d["month"])
    rows = model.used_rows
    dummies = pd.get_dummies(d["month"], dtype=float).to_numpy()[:, 1:]
    np.testing.assert_array_equal(model.exog, np.column_stack([d["x"].to_numpy(), dummies])[rows])
    b = np.linspace(-0.5, 0.5, len(model.exog_names))
    np.testing.assert_allclose(model.linear_predictor(b), model.exog @ b, rtol=1e-12, atol=1e-15)


def test_clogit_dropped_records_go_in_through_the_constructor():
    d = panel()
    before = DropRecord("rows", 3, "missing values in x (3)")
    model = ConditionalLogit(d["y"], d[["x"]], d["g"], dropped=[before])
    assert model.dropped[0] == before and model.dropped[1:] == clogit_design(d["y"], d[["x"]], d["g"]).dropped
    assert isinstance(model.dropped, tuple)


def test_clogit_weights_with_a_separating_regressor_screen_the_weights_too():
    """A regressor that separates within one group drops that group's determined row; the group weights
    are subset with it (before, the unscreened weights raised a spurious "weights vary" error)."""
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(60), 6)
    y = rng.integers(0, 2, len(g))
    d = np.zeros(len(g))
    d[0], y[0] = 1.0, 1
    w = np.repeat(rng.integers(1, 4, 60), 6).astype(float)
    x = rng.normal(size=len(g))
    weighted = ConditionalLogit(y, np.column_stack([x, d]), g, names=["x", "d"], weights=w).fit()
    assert [r.kind for r in weighted.dropped][:1] == ["rows"] and list(weighted.params.index) == ["x"]
    # fweights equal the expanded data
    rep = w.astype(int)
    expanded_g = np.repeat(g * 10, rep) + np.concatenate([np.arange(k) for k in rep])  # copy i of group g
    expanded = ConditionalLogit(
        np.repeat(y, rep), np.column_stack([np.repeat(x, rep), np.repeat(d, rep)]), expanded_g, names=["x", "d"]
    ).fit()
    np.testing.assert_allclose(weighted.params.to_numpy(), expanded.params.to_numpy(), rtol=1e-8)


def test_logit_rows_dropped_before_the_model_go_in_through_the_constructor():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 2))
    y = rng.integers(0, 2, 50)
    before = DropRecord("rows", 10, "office_3 != 0 predicts failure perfectly; office_3 omitted and its rows not used")
    model = Logit(y, x, dropped=[before], input_rows=np.arange(10, 60), nobs_input=60)
    assert model.dropped == (before,) and model.nobs_input == 60
    np.testing.assert_array_equal(model.used_rows, np.arange(10, 60))
    labels = np.repeat(np.arange(12), 5)
    np.testing.assert_array_equal(model.clusters_of_rows(labels), labels[10:])
    with pytest.raises(ValueError, match="go together"):
        Logit(y, x, input_rows=np.arange(50))
    with pytest.raises(ValueError, match="read-only"):
        model.exog[0, 0] = 1.0
