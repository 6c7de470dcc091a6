"""Separation in the conditional logit (and the logit's naming of it).

References: R survival::clogit, method = "exact", on the rows the rule keeps (stored by
tests/reference/separation_reference.R, which derives those rows from the construction of the data,
not from famtrial); brute-force pair checks; statsmodels for a no-separation control.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import rerun_r_script
from famtrial.errors import FamtrialError, SeparationError
from famtrial.models import separation
from famtrial.models.clogit import ConditionalLogit, conditional_logit
from famtrial.models.logit import logit

REF = Path(__file__).parents[1] / "reference" / "separation"
# R converged to eps = 1e-14 (as tests/reference/clogit_reference.R): estimates exact to ~1e-10
RTOL, ATOL_LL = 1e-8, 1e-8


@pytest.fixture(scope="module")
def quasi():
    return pd.read_csv(REF / "quasi_data.csv")


def test_quasi_complete_separation_drops_determined_rows_and_matches_r_on_the_rest(quasi):
    """`bad` is 1 only in positive months of every third parent: its coefficient is +infinity. The
    rule drops the rows it determines and omits it; the other estimates are R's clogit on the rest."""
    ref = pd.read_csv(REF / "quasi_rest_results.csv").set_index("term")
    res = conditional_logit(quasi, "y", ["treat", "x2", "bad"], "g")
    assert list(res.params.index) == ["treat", "x2"]
    np.testing.assert_allclose(res.params[ref.index], ref["coef"], rtol=RTOL)
    np.testing.assert_allclose(res.bse[ref.index], ref["se"], rtol=RTOL)
    assert res.llf == pytest.approx(ref["loglik"].iloc[0], abs=ATOL_LL)
    assert res.llnull == pytest.approx(ref["loglik0"].iloc[0], abs=ATOL_LL)
    assert res.nobs == ref["nobs"].iloc[0] and res.n_groups == ref["n_groups"].iloc[0]
    assert res.converged and res.iterations < 20
    rows = [d for d in res.dropped if d.kind == "rows"]
    # determined: the rows with bad = 1 (forced to 1), and every row of a parent whose positive
    # months all have bad = 1 (nothing left to estimate from: R drops those parents as all-0 later)
    ones = quasi.groupby("g")["y"].transform("sum")
    whole = quasi.groupby("g")["bad"].transform("sum") == ones
    expected = int(((quasi["bad"] == 1) | (whole & (ones > 0))).sum())
    assert expected > ref["dropped_rows"].iloc[0] == int(quasi["bad"].sum())
    assert len(rows) == 1 and rows[0].names == ("bad",) and rows[0].count == expected
    touched = quasi.loc[quasi["bad"] == 1, "g"].nunique()
    assert (
        f"bad != 0 predicts success perfectly within {touched:,} groups ({quasi.loc[whole & (ones > 0), 'g'].nunique()}"
        " of these groups wholly determined)"
    ) in rows[0].reason
    groups = [d for d in res.dropped if d.kind == "groups"][0]  # all-0/all-1 before any drop
    assert res.nobs + rows[0].count + int(groups.reason.split("(")[1].split(" rows")[0].replace(",", "")) == len(quasi)
    assert any(d.kind == "variable" and d.names == ("bad",) for d in res.dropped)
    assert "predicts success perfectly" in res.summary()
    # R on the full data reaches the same finite part (its `bad` runs off: NA with tight control,
    # 21.8 with "beta may be infinite" under R's defaults)
    full_r = pd.read_csv(REF / "quasi_full_r.csv").set_index("term")
    np.testing.assert_allclose(res.params, full_r.loc[["treat", "x2"], "coef"], rtol=1e-8)
    default_r = pd.read_csv(REF / "quasi_full_r_default.csv").set_index("term")
    assert "beta may be infinite" in default_r["warning"].iloc[0] and default_r.loc["bad", "coef"] > 20


def test_drop_is_the_fit_without_the_determined_rows_including_cluster_robust_se(quasi):
    data = quasi.assign(cl=quasi["g"] // 10)
    res = conditional_logit(data, "y", ["treat", "x2", "bad"], "g", cluster="cl")
    rest = data.loc[data["bad"] == 0]
    direct = conditional_logit(rest, "y", ["treat", "x2"], "g", cluster="cl")
    np.testing.assert_allclose(res.params, direct.params, rtol=1e-12)
    np.testing.assert_allclose(res.bse, direct.bse, rtol=1e-10)
    assert res.n_clusters == direct.n_clusters
    used = res.model.used_rows  # positions in the input rows, none of them determined
    assert (data["bad"].to_numpy()[used] == 0).all() and len(used) == res.nobs


def test_issue_case_no_huge_odds_ratio_and_treatment_se_not_inflated():
    """The issue: OR 1.93e156 'converged' and a twelvefold treatment SE. Now the separating covariate
    is omitted with a count and the treatment's SE is that of the fit on the informative rows."""
    rng = np.random.default_rng(1)
    groups, months = 300, 24
    g = np.repeat(np.arange(groups), months)
    t = np.tile(np.arange(months), groups)
    treat = ((g % 2 == 0) & (t >= 12)).astype(float)
    x2 = rng.normal(size=len(g))
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-(rng.normal(-1, 1, groups)[g] + 0.5 * treat + 0.3 * x2)))).astype(int)
    bad = ((y == 1) & (g % 5 == 0) & (rng.random(len(g)) < 0.5)).astype(float)
    data = pd.DataFrame({"g": g, "y": y, "treat": treat, "x2": x2, "bad": bad, "cl": g // 20})
    res = conditional_logit(data, "y", ["treat", "x2", "bad"], "g", cluster="cl")
    odds = res.odds_ratios()
    assert "bad" not in odds.index and odds["OR"].max() < 10
    clean = conditional_logit(data.loc[data["bad"] == 0], "y", ["treat", "x2"], "g", cluster="cl")
    assert res.bse["treat"] == pytest.approx(clean.bse["treat"], rel=1e-10)


def test_negative_direction_predicts_failure():
    """A dummy that is 1 only in negative months: its coefficient is -infinity."""
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(80), 12)
    x = rng.normal(size=len(g))
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-(rng.normal(0, 1, 80)[g] + 0.5 * x)))).astype(int)
    flag = ((y == 0) & (g % 4 == 0) & (rng.random(len(g)) < 0.5)).astype(float)
    data = pd.DataFrame({"g": g, "y": y, "x": x, "flag": flag})
    res = conditional_logit(data, "y", ["x", "flag"], "g")
    rec = [d for d in res.dropped if d.kind == "rows"][0]
    zeros = pd.Series(1 - y).groupby(g).transform("sum").to_numpy()
    whole = (pd.Series(flag).groupby(g).transform("sum").to_numpy() == zeros) & (zeros > 0)
    assert "flag != 0 predicts failure perfectly" in rec.reason and rec.count == int(((flag == 1) | whole).sum())
    direct = conditional_logit(data.loc[flag == 0], "y", ["x"], "g")
    np.testing.assert_allclose(res.params, direct.params, rtol=1e-12)


def test_complete_separation_raises_naming_the_variable_and_groups(quasi):
    """`sep` equals the outcome: every informative group is determined. R runs out of iterations
    ("did not converge", coefficient 23.2, or NA with a tight tolerance); famtrial raises."""
    data = quasi.assign(sep=quasi["y"].astype(float))
    sums = data.groupby("g")["y"].agg(["sum", "size"])
    informative = int(((sums["sum"] > 0) & (sums["sum"] < sums["size"])).sum())
    with pytest.raises(
        SeparationError,
        match=rf"complete separation: sep predict\(s\) the outcome perfectly in "
        rf"every group with outcome variation \({informative:,} groups",
    ) as err:
        conditional_logit(data, "y", ["treat", "sep"], "g")
    assert err.value.variables == ("sep",) and err.value.groups == informative
    assert isinstance(err.value, FamtrialError) and isinstance(err.value, ValueError)
    r = pd.read_csv(REF / "complete_r_default.csv")
    assert "did not converge" in r["warning"].iloc[0]


def test_continuous_regressor_separating_every_group_raises():
    """An absorbing outcome (0s then 1s in every parent) with a linear trend: the trend separates."""
    rows = []
    rng = np.random.default_rng(8)
    for i in range(40):
        months = rng.integers(6, 20)
        switch = rng.integers(1, months)
        rows += [(i, m, int(m >= switch), rng.normal()) for m in range(months)]
    data = pd.DataFrame(rows, columns=["g", "month", "y", "z"]).assign(trend=lambda d: d["month"] / 12)
    with pytest.raises(SeparationError, match=r"trend predict\(s\) the outcome perfectly in every group") as err:
        conditional_logit(data, "y", ["z", "trend"], "g")
    assert err.value.variables == ("trend",)


def test_combination_of_regressors_is_caught_after_the_fit_and_named(quasi):
    """No single regressor separates, but comb - x2 = 100 bad does: the fit diverges, the exact LP
    finds the direction and the error names both regressors and the groups."""
    data = quasi.assign(comb=quasi["x2"] + 100 * quasi["bad"])
    with pytest.raises(
        SeparationError,
        match=r"the combination of comb \+ x2 predicts the outcome perfectly "
        r"within (\d+) of (\d+) groups",
    ) as err:
        conditional_logit(data, "y", ["treat", "comb", "x2"], "g")
    assert set(err.value.variables) == {"comb", "x2"}
    assert err.value.groups == quasi.loc[quasi["bad"] == 1, "g"].nunique()
    ones = quasi.groupby("g")["y"].transform("sum")
    whole = (quasi.groupby("g")["bad"].transform("sum") == ones) & (ones > 0)
    assert err.value.rows == int(((quasi["bad"] == 1) | whole).sum())  # as the one-regressor screen counts


def test_lp_direction_agrees_with_brute_force_pairs():
    """The LP's direction satisfies every within-group pair inequality, with some strict; and on data
    without separation it returns None (checked against the fitted finite MLE)."""
    rng = np.random.default_rng(2)
    g = np.repeat(np.arange(30), 6)
    x = rng.normal(size=(len(g), 2))
    y = (rng.random(len(g)) < 0.4).astype(int)
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1, len(g)]
    sizes = np.diff(starts)
    k = np.add.reduceat(y, starts[:-1])
    inf = (k > 0) & (k < sizes)
    lo, hi = starts[:-1][inf], starts[1:][inf]
    assert separation.direction(np.ascontiguousarray(x.T), y, lo, hi) is None
    x[:, 1] = np.where(y == 1, 1.0, 0.0) * (g % 3 == 0) + 0.1 * x[:, 0]  # 0.1 x0 - x1 ... a combination
    found = separation.direction(np.ascontiguousarray(x.T), y, lo, hi)
    assert found is not None
    d, det = found
    z = x @ d
    for a, b in zip(lo, hi):
        ones, zeros = z[a:b][y[a:b] == 1], z[a:b][y[a:b] == 0]
        assert ones.min() >= zeros.max() - 1e-9
    assert det.any()


def test_extreme_but_overlapping_conditional_data_are_fitted_not_flagged():
    """A strong continuous regressor spreads the linear predictor beyond the trigger (so the exact LP
    runs) but does not separate: the fit goes on and equals statsmodels' conditional logit."""
    from statsmodels.discrete.conditional_models import (
        ConditionalLogit as SMConditionalLogit,
    )

    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(200), 15)
    x = rng.normal(size=len(g)) * 2
    y = (rng.random(len(g)) < 1 / (1 + np.exp(-(rng.normal(0, 1, 200)[g] + 4 * x)))).astype(int)
    model = ConditionalLogit(y, x[:, None], g, names=["x"])
    res = model.fit()
    b = res.params.to_numpy()
    assert separation.diverging(model._xt, b, model._y, model._lo, model._hi)  # the LP did run
    sm = SMConditionalLogit(y, x[:, None], groups=g).fit(disp=0)
    np.testing.assert_allclose(b, sm.params, rtol=1e-5)


def test_logit_complete_separation_after_the_dummy_drop_names_the_variable():
    """The issue: 'the outcome is 0 in all 664 remaining rows' named nothing. Stata's logit stops
    with 'outcome = arm > 0 predicts data perfectly'; famtrial names arm."""
    rng = np.random.default_rng(0)
    arm = rng.integers(0, 2, 900)
    data = pd.DataFrame({"y": arm, "arm": arm, "age": rng.normal(size=900)})
    with pytest.raises(
        SeparationError,
        match=r"complete separation: arm predict\(s\) the outcome perfectly "
        r"\(arm != 0 predicts success perfectly",
    ) as err:
        logit(data, "y", ["arm", "age"])
    assert err.value.variables == ("arm",)
    assert str(int((arm == 0).sum())) in str(err.value)


@pytest.mark.needs_r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is not installed")
def test_reference_script_reproduces_stored_values(tmp_path):
    reference = rerun_r_script(tmp_path, "separation_reference.R")
    for name in ("quasi_data.csv", "quasi_rest_results.csv", "quasi_full_r.csv"):
        new = pd.read_csv(reference / "separation" / name)
        old = pd.read_csv(REF / name)
        pd.testing.assert_frame_equal(
            new.drop(columns="software", errors="ignore"), old.drop(columns="software", errors="ignore"), rtol=1e-9
        )
