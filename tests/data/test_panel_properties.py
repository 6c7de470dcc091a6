"""Property tests of load_panel (hypothesis): random valid panels, one random corruption each.

A corrupted panel raises PanelError naming the corrupted column (never a pandas/numpy/pyarrow
exception); a valid one loads; with ``missing="drop"`` every row read is kept, dropped for a
missing or infinite value (counted per column), or outside the plan's window:
``rows_read == rows_kept + rows_dropped_missing + rows_outside_window``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from famtrial.data.load import load_panel
from famtrial.errors import PanelError
from famtrial.plan.spec import load_plan

PLAN = load_plan()  # the shipped plan: parent_id, family_id, office, month, arm, model, 2 outcomes, 6 covariates
IMPLEMENTATION = pd.Period(PLAN.implementation, "M")
OUTCOMES = list(PLAN.columns.outcomes)
COVARIATES = list(PLAN.columns.covariates)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw) -> pd.DataFrame:
    """A valid long panel: 4-12 families of 1-2 parents in 1-3 offices, 3-8 months around the
    implementation month, both arms, unbalanced (gaps), at least two months per parent, and at least
    one two-parent family."""
    n_families = draw(st.integers(4, 12))
    n_months = draw(st.integers(3, 8))
    before = draw(st.integers(0, n_months - 1))  # months before the implementation month
    n_offices = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    months = pd.period_range(IMPLEMENTATION - before, periods=n_months, freq="M")
    arm = rng.integers(0, 2, n_families)
    arm[:2] = (0, 1)
    office = rng.integers(1, n_offices + 1, n_families)
    parents = rng.integers(1, 3, n_families)
    parents[0] = 2
    rows, pid = [], 0
    for f in range(n_families):
        variant = "ordinary" if arm[f] == 0 else ("local" if office[f] % 2 else "holf")
        for _ in range(parents[f]):
            keep = rng.random(n_months) < 0.8
            keep[rng.choice(n_months, 2, replace=False)] = True
            m = months[keep]
            n = len(m)
            row = {
                "parent_id": pid,
                "family_id": 100 + f,
                "office": office[f],
                "month": m.astype(str),
                "arm": arm[f],
                "model": variant,
            }
            row.update({c: rng.integers(0, 2, n) for c in OUTCOMES})
            row.update({c: rng.integers(0, 4, n).astype(float) for c in COVARIATES})
            rows.append(pd.DataFrame(row))
            pid += 1
    return pd.concat(rows, ignore_index=True)[PLAN.columns.required()]


def _parent_rows(frame: pd.DataFrame, parent) -> np.ndarray:
    return np.flatnonzero(frame["parent_id"].to_numpy() == parent)


def _corrupt(frame: pd.DataFrame, kind: str, data) -> tuple[pd.DataFrame, str]:
    """``frame`` with one corruption of ``kind``, and the column the error must name."""
    out = frame.copy()
    row = data.draw(st.integers(0, len(out) - 1), label="row")

    def put(column, value):
        numeric = pd.api.types.is_numeric_dtype(out[column].dtype)
        if isinstance(value, str) or not numeric:  # text into numbers, or a float into text: an object column
            out[column] = out[column].astype(object)
        elif out[column].dtype.kind != "f":
            out[column] = out[column].astype(float)
        out.loc[row, column] = value

    if kind in ("nan", "inf"):
        choices = [*PLAN.columns.ids, "month", "arm", "model", *OUTCOMES, *COVARIATES]
        if kind == "inf":
            choices.remove("model")
        column = data.draw(st.sampled_from(choices), label="column")
        put(column, np.nan if kind == "nan" else data.draw(st.sampled_from([np.inf, -np.inf]), label="sign"))
        return out, column
    if kind == "duplicate":
        return pd.concat([out, out.iloc[[row]]], ignore_index=True), "month"
    if kind == "wrong type":
        column = data.draw(
            st.sampled_from(["family_id", "office", "month", "arm", "model", *OUTCOMES, *COVARIATES]), label="column"
        )
        put(column, data.draw(st.sampled_from(["x", "n/a", "1,5", "--"]), label="text"))
        return out, column
    if kind == "month out of range":
        put("month", data.draw(st.sampled_from(["1899-12", "3000-01", "2016-13", "2016-00", "16-10"]), label="month"))
        return out, "month"
    if kind == "arm flip within a parent":  # one row's arm and variant flipped together: the arm changes
        flipped = 1 - out.loc[row, "arm"]
        out.loc[row, ["arm", "model"]] = [flipped, "local" if flipped else "ordinary"]
        return out, "arm"
    if kind == "family in two offices":  # the second parent of a two-parent family moves office
        sizes = out.groupby("family_id")["parent_id"].nunique()
        family = data.draw(st.sampled_from(sorted(sizes.index[sizes > 1])), label="family")
        second = out.loc[out["family_id"] == family, "parent_id"].max()
        out.loc[_parent_rows(out, second), "office"] = 99
        return out, "office"
    if kind == "variant inconsistent with arm":
        out.loc[row, "model"] = "local" if out.loc[row, "arm"] == 0 else "ordinary"
        return out, "model"
    raise AssertionError(kind)


KINDS = [
    "nan",
    "inf",
    "duplicate",
    "wrong type",
    "month out of range",
    "arm flip within a parent",
    "family in two offices",
    "variant inconsistent with arm",
]


@FAST
@given(frame=panels())
def test_a_random_valid_panel_loads(frame):
    panel = load_panel(frame, PLAN)
    r = panel.report
    assert r.rows_read == r.rows_kept == len(frame) and r.parents == frame["parent_id"].nunique()
    assert r.families == frame["family_id"].nunique() and r.dropped_missing == {}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=panels(), kind=st.sampled_from(KINDS), data=st.data())
def test_a_corruption_raises_a_panel_error_naming_its_column(frame, kind, data):
    bad, column = _corrupt(frame, kind, data)
    with pytest.raises(PanelError) as info:
        load_panel(bad, PLAN)
    assert str(info.value).startswith(f"column {column!r}:"), (kind, column, str(info.value))


@FAST
@given(frame=panels(), data=st.data())
def test_missing_drop_counts_every_row(frame, data):
    """NaN/inf in random outcome and covariate cells, a random window of months: nothing is lost uncounted."""
    bad = frame.copy()
    value_cols = [*OUTCOMES, *COVARIATES]
    bad[value_cols] = bad[value_cols].astype(float)
    n_cells = data.draw(st.integers(0, max(1, len(bad) // 4)), label="cells")
    for _ in range(n_cells):
        row = data.draw(st.integers(0, len(bad) - 1))
        bad.loc[row, data.draw(st.sampled_from(value_cols))] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    months = pd.PeriodIndex(bad["month"], freq="M")
    first = data.draw(st.sampled_from([None, *sorted({str(m) for m in months if m <= IMPLEMENTATION})]))
    last = data.draw(st.sampled_from([None, *sorted({str(m) for m in months if m >= IMPLEMENTATION})]))
    plan = replace(PLAN, first_month=first, last_month=last)
    inside = np.ones(len(bad), bool)
    if first:
        inside &= months >= pd.Period(first, "M")
    if last:
        inside &= months <= pd.Period(last, "M")
    kept = bad.loc[inside, value_cols]
    lost = ~np.isfinite(kept.to_numpy())
    expected = {c: int(n) for c, n in zip(value_cols, lost.sum(axis=0)) if n}
    try:
        panel = load_panel(bad, plan, missing="drop")
    except PanelError as err:  # everything, or one whole arm, dropped: said so, never silently
        assert "empty after dropping" in str(err) or "both arms" in str(err), str(err)
        return
    r = panel.report
    assert r.rows_read == len(bad)
    assert r.rows_read == r.rows_kept + r.rows_dropped_missing + r.rows_outside_window
    assert r.rows_outside_window == int((~inside).sum())
    assert r.rows_dropped_missing == int(lost.any(axis=1).sum())
    assert r.dropped_missing == expected
    assert np.isfinite(panel.data[value_cols].to_numpy(float)).all()
