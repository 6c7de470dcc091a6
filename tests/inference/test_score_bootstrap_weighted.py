"""After a weighted fit the score bootstrap's cluster shares are the clusters' shares of the weights (boottest).

Reference: tests/reference/score_bootstrap_weighted_reference.py, numpy written from boottest.mata's
``ClustShare = panelsum(wt, info) / sumwt``; 18 clusters, all 2^18 sign vectors, so both p-values are exact
and must be equal.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from famtrial.inference.score_bootstrap import score_bootstrap
from famtrial.models.logit import Logit

_spec = importlib.util.spec_from_file_location(
    "sb_weighted_reference", Path(__file__).parents[1] / "reference" / "score_bootstrap_weighted_reference.py"
)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FamtrialWarning")


def _data(seed: int = 9, g: int = 18, n: int = 900):
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, g, n)
    size = rng.uniform(0.2, 5.0, g)[cl]  # weights differ by cluster: weighted and unweighted shares differ
    x1 = rng.normal(size=n) + 0.3 * rng.normal(size=g)[cl]
    treat = (rng.random(g) < 0.5)[cl].astype(float)
    eta = -0.5 + 0.3 * x1 + 0.25 * treat + 0.3 * rng.normal(size=g)[cl]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return y, np.column_stack([np.ones(n), treat, x1]), size * rng.uniform(0.5, 1.5, n), cl


def test_weighted_logit_shares_are_weight_shares_as_boottest():
    y, x, w, cl = _data()
    fit = Logit(y, x[:, 1:], names=["treat", "x1"], weights=w, weight_type="pweight").fit("cluster", cl)
    ours = score_bootstrap(fit, "treat", cl, enumerate_max=18, conf_int=False)
    assert ours.enumerated and ours.n_draws == 2**18
    t, p = ref.weighted_logit_score_bootstrap(y, x, w, cl, 1)
    _, p_unweighted = ref.weighted_logit_score_bootstrap(y, x, w, cl, 1, weighted_shares=False)
    assert p != p_unweighted  # the shares matter for these data: the test can fail
    assert ours.statistic == pytest.approx(t, rel=1e-7)
    assert ours.pvalue == p


def test_unweighted_fit_keeps_observation_shares():
    y, x, _, cl = _data(seed=10)
    fit = Logit(y, x[:, 1:], names=["treat", "x1"]).fit("cluster", cl)
    ours = score_bootstrap(fit, "treat", cl, enumerate_max=18, conf_int=False)
    t, p = ref.weighted_logit_score_bootstrap(y, x, np.ones(len(y)), cl, 1)
    assert ours.statistic == pytest.approx(t, rel=1e-7) and ours.pvalue == p
