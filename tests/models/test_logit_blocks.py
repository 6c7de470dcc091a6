"""Many logits at once (fit_logit_blocks): against R glm + sandwich::vcovCL (stored), against one
Logit fit per block to 1e-10, and irregular blocks left to Logit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.models.logit import Logit, fit_logit_blocks

REF = Path(__file__).parents[1] / "reference" / "logit"
COVS = ["arm", "rwc", "base_y", "age"]


def _block(seed: int, n: int = 400):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.random(n) < 0.4, rng.random(n) < 0.3, rng.normal(size=n)]).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + x @ [0.6, -0.4, 0.3])))).astype(float)
    return y, x, rng.integers(0, 9, n)


@pytest.mark.parametrize(
    "adjustment, column", [("stata", "se_hc0"), ("statsmodels", "se_hc1"), ("none", "se_hc0_nocadjust")]
)
def test_a_block_matches_r_glm_and_vcovcl(adjustment, column):
    data = pd.read_csv(REF / "data.csv")
    res = pd.read_csv(REF / "results.csv").set_index("term")
    block = (data["y"].to_numpy(), data[COVS].to_numpy(), data["cl"].to_numpy())
    other = _block(1)
    fits = fit_logit_blocks([other, block, other], [["a", "b", "c"], COVS, ["a", "b", "c"]], adjustment=adjustment)
    fit = fits[1]
    np.testing.assert_allclose(fit.params[res.index], res["coef"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(fit.bse[res.index], res[column], rtol=1e-5)
    assert fit.llf == pytest.approx(res["loglik"].iloc[0], rel=1e-10) and fit.n_clusters == 15
    assert fits[0].params.equals(fits[2].params)


@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")  # few clusters here by construction
@pytest.mark.parametrize("clustered", [True, False])
@pytest.mark.parametrize("t_reference", [False, True])
def test_each_block_is_the_logit_fitted_alone(clustered, t_reference):
    blocks = [_block(s, n) for s, n in ((2, 300), (3, 500), (4, 450), (5, 520))]
    if not clustered:
        blocks = [(y, x, None) for y, x, _ in blocks]
    names = [["arm", "flag", "z"]] * len(blocks)
    fits = fit_logit_blocks(blocks, names, adjustment="statsmodels", t_reference=t_reference, outcome="y")
    for (y, x, cl), fit in zip(blocks, fits):
        model = Logit(y, x, names=["arm", "flag", "z"])
        alone = (
            model.fit("cluster", cl, adjustment="statsmodels", t_reference=t_reference)
            if clustered
            else model.fit(t_reference=t_reference)
        )
        np.testing.assert_allclose(fit.params, alone.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(fit.covariance.matrix, alone.covariance.matrix, rtol=1e-10, atol=1e-14)
        assert fit.llf == pytest.approx(alone.llf, rel=1e-12) and fit.llnull == pytest.approx(alone.llnull, rel=1e-12)
        assert (fit.iterations, fit.nobs, fit.info, fit.dropped) == (alone.iterations, alone.nobs, alone.info, ())
        assert (fit.covariance.n_clusters, fit.covariance.factor, fit.covariance.df, fit.covariance.cov_type) == (
            alone.covariance.n_clusters,
            alone.covariance.factor,
            alone.covariance.df,
            alone.covariance.cov_type,
        )
        # the model is the one Logit builds: same attributes, same values
        assert vars(fit.model).keys() == vars(model).keys()
        for key, value in vars(model).items():
            other = vars(fit.model)[key]
            assert np.array_equal(other, value) if isinstance(value, np.ndarray) else other == value, key
        np.testing.assert_allclose(
            fit.model.score_obs(fit.params.to_numpy()), model.score_obs(alone.params.to_numpy()), atol=1e-12
        )


def test_irregular_blocks_are_left_to_logit():
    y, x, cl = _block(6)
    constant = (np.zeros_like(y), x, cl)
    perfect_one = (np.where(x[:, 1] == 1, 1.0, y), x, cl)  # flag == 1 predicts success
    perfect_zero = (np.where(x[:, 0] == 0, 0.0, y), x, cl)  # arm == 0 predicts failure
    collinear = (y, np.column_stack([x[:, :2], x[:, 0] + x[:, 1]]), cl)
    separated = (y, np.column_stack([x[:, :2], y * 10 - 5 + x[:, 2] * 1e-3]), cl)  # z separates: no MLE
    missing_cluster = (y, x, np.where(np.arange(len(y)) == 3, np.nan, cl.astype(float)))
    regular = (y, x, cl)
    blocks = [constant, regular, perfect_one, perfect_zero, collinear, separated, missing_cluster]
    fits = fit_logit_blocks(blocks, [["arm", "flag", "z"]] * len(blocks))
    assert [f is not None for f in fits] == [False, True, False, False, False, False, False]
    with pytest.raises(ValueError):
        fit_logit_blocks([regular], [["arm", "flag"]])


def _collapsed(y, x, cl):
    """The rows of a block as cells of identical (y, x, cluster) and their counts."""
    frame = pd.DataFrame(np.column_stack([y, x, cl]), columns=[f"c{j}" for j in range(x.shape[1] + 2)])
    cells = frame.groupby(list(frame.columns), sort=False).size().rename("n").reset_index()
    values, counts = cells.iloc[:, :-1].to_numpy(), cells.iloc[:, -1].to_numpy(dtype=float)
    return (values[:, 0], values[:, 1:-1], values[:, -1]), counts


@pytest.mark.parametrize("adjustment", ["stata", "statsmodels"])
def test_frequency_weighted_cells_are_the_expanded_rows(adjustment):
    """fweights (Stata [fweight=w]): a block given as cells with counts is the block of its rows."""
    rng = np.random.default_rng(11)
    blocks, cells, counts = [], [], []
    for n in (600, 900):
        x = np.column_stack([rng.random(n) < 0.4, rng.random(n) < 0.3, rng.integers(0, 3, n)]).astype(float)
        y = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + x @ [0.6, -0.4, 0.3])))).astype(float)
        block = (y, x, rng.integers(0, 12, n))
        blocks.append(block)
        cell, count = _collapsed(*block)
        cells.append(cell)
        counts.append(count)
    names = [["arm", "flag", "k"]] * 2
    rows = fit_logit_blocks(blocks, names, adjustment=adjustment)
    weighted = fit_logit_blocks(cells, names, adjustment=adjustment, weights=counts)
    for a, b, cell in zip(weighted, rows, cells):
        assert len(a.model.endog) == len(cell[0]) < b.nobs  # the fit holds the cells
        np.testing.assert_allclose(a.params, b.params, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.covariance.matrix, b.covariance.matrix, rtol=1e-10, atol=1e-14)
        assert (a.nobs, a.n_clusters, a.covariance.factor) == (b.nobs, b.n_clusters, b.covariance.factor)
        assert a.llf == pytest.approx(b.llf, rel=1e-12) and a.llnull == pytest.approx(b.llnull, rel=1e-12)
    with pytest.raises(ValueError, match="1 weight arrays given for 2 blocks"):
        fit_logit_blocks(cells, names, weights=counts[:1])


def test_frequency_weighted_drops_count_the_expanded_rows():
    """A 0/1 regressor predicting the outcome, or a fixed-effect level: its rows counted with their weights."""
    rng = np.random.default_rng(12)
    n = 800
    x = np.column_stack([rng.random(n) < 0.4, rng.random(n) < 0.2]).astype(float)
    y = (rng.random(n) < 0.4).astype(float)
    y[x[:, 1] == 1] = 0.0  # flag predicts failure
    office = rng.integers(0, 6, n)
    y[office == 5] = 1.0  # office 5: every outcome 1
    data = pd.DataFrame({"y": y, "arm": x[:, 0], "flag": x[:, 1], "office": office})
    cells = data.groupby(list(data.columns), sort=False).size().rename("w").reset_index()
    from famtrial.models.logit import logit

    for fe in (None, "office"):
        rows = logit(data, "y", ["arm", "flag"], "office", fixed_effects=fe)
        weighted = logit(cells, "y", ["arm", "flag"], "office", fixed_effects=fe, weights="w")
        assert [d.describe() for d in weighted.dropped] == [d.describe() for d in rows.dropped]
        assert weighted.nobs == rows.nobs
        np.testing.assert_allclose(weighted.params, rows.params, rtol=1e-9)
        np.testing.assert_allclose(weighted.bse, rows.bse, rtol=1e-9)
