"""Wald tests of more restrictions than the covariance has rank for (issue 24, "two wrong numbers").

A cluster-robust V has rank at most G - 1: 6 restrictions with G = 5 clusters used to give a negative
chi2. famtrial tests the estimable part, as Stata's ``test`` does (constraints dropped, df = kept); the
reference is an independent numpy computation: the rank of each growing set of rows of ``R V^(1/2)``
(``numpy.linalg.matrix_rank``, from an eigendecomposition of V) decides which restriction is kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from famtrial import logit
from famtrial.errors import FamtrialWarning

pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


def _data(seed: int = 4, clusters: int = 5, n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cl = rng.integers(0, clusters, n)
    level = rng.integers(0, 7, n)  # a 7-level factor: 6 dummies
    eta = -0.3 + 0.2 * level / 7 + 0.4 * rng.normal(size=n) + 0.3 * rng.normal(size=clusters)[cl]
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "level": level, "x": rng.normal(size=n), "cl": cl})


def _reference(r: np.ndarray, q: np.ndarray, b: np.ndarray, v: np.ndarray) -> tuple[list[int], float]:
    vals, vecs = np.linalg.eigh(v)
    half = vecs * np.sqrt(np.clip(vals, 0, None))
    a = r @ half
    kept: list[int] = []
    for j in range(len(r)):
        if np.linalg.matrix_rank(a[[*kept, j]], tol=1e-7 * np.abs(a).max()) > len(kept):
            kept.append(j)
    d = (r @ b - q)[kept]
    return kept, float(d @ np.linalg.inv(a[kept] @ a[kept].T) @ d)


def test_more_restrictions_than_clusters_test_the_estimable_part() -> None:
    fit = logit("y ~ C(level) + x", _data(), vcov={"CRV1": "cl"})
    terms = [t for t in fit.params.index if t.startswith("C(level)")]
    assert len(terms) == 6 and fit.n_clusters == 5
    with pytest.warns(FamtrialWarning, match=r"rank 4 < 6 restrictions .*G - 1 = 4"):
        w = fit.wald_test([f"{t} = 0" for t in terms])
    r = np.array([[1.0 if p == t else 0.0 for p in fit.params.index] for t in terms])
    kept, chi2 = _reference(r, np.zeros(6), fit.params.to_numpy(), fit.cov_params().to_numpy())
    assert w.df_num == len(kept) == 4
    assert len(w.dropped) == 2 and w.dropped == tuple(w.restrictions[j] for j in range(6) if j not in kept)
    assert w.statistic >= 0
    assert w.statistic == pytest.approx(chi2, rel=1e-6)
    assert "2 dropped" in str(w)


def test_dependent_restrictions_are_dropped_with_a_model_based_covariance() -> None:
    fit = logit("y ~ C(level) + x", _data())
    r = np.zeros((3, len(fit.params)))
    ix = list(fit.params.index).index("x")
    r[0, ix], r[1, ix], r[2, 1] = 1.0, 2.0, 1.0  # x = 0 twice (2x = 0), and one dummy
    with pytest.warns(FamtrialWarning, match="dropping 1"):
        w = fit.wald_test((r, np.zeros(3)))
    kept, chi2 = _reference(r, np.zeros(3), fit.params.to_numpy(), fit.cov_params().to_numpy())
    assert kept == [0, 2] and w.df_num == 2 and w.statistic == pytest.approx(chi2, rel=1e-9)


def test_full_rank_tests_are_unchanged() -> None:
    fit = logit("y ~ C(level) + x", _data(), vcov={"CRV1": "cl"})
    w = fit.wald_test("x = 0")
    assert w.dropped == () and w.df_num == 1
    assert w.statistic == pytest.approx(float(fit.tvalues["x"] ** 2), rel=1e-10)
