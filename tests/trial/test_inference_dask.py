"""Few-cluster inference on a Dask panel (famtrial.trial._inference_dask) equals the in-memory inference.

The score bootstrap (p-value, statistic, the test-inversion interval) and the score randomization
test (observed statistic, every re-draw, p) computed from sums over the workers' partitions agree
with the in-memory functions to 1e-10 on the replica split into 3 files with rows shuffled: a split
(variants) model, month effects, and the pooled models of the plan's inference. The in-memory
functions are themselves checked against boottest's log and an independent numpy implementation
(tests/inference/). The client never receives a row: what the partitions send back is counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from famtrial.data.load import load_panel  # noqa: E402
from famtrial.data.panel import Panel  # noqa: E402
from famtrial.errors import PlanError  # noqa: E402
from famtrial.models.distributed import PreparedConditionalLogit  # noqa: E402
from famtrial.plan.spec import load_plan  # noqa: E402
from famtrial.trial.few_cluster import family_design, few_cluster_inference, randomization_test  # noqa: E402
from famtrial.trial.sample import analysis_sample  # noqa: E402

pytestmark = pytest.mark.dask

TOL = 1e-10
N_PERM = 19


@pytest.fixture(scope="module", autouse=True)
def _client(dask_client):
    return dask_client


@pytest.fixture(scope="module")
def panels(tmp_path_factory):
    """The replica's analysis panel in memory and on Dask (3 files of random parents, rows shuffled)."""
    plan = load_plan("nct03102775")
    frame = pd.read_parquet(plan.resolve_data())
    folder = tmp_path_factory.mktemp("split")
    ids = np.random.default_rng(5).permutation(frame["parent_id"].unique())
    for i, chunk in enumerate(np.array_split(ids, 3)):
        part = frame[frame["parent_id"].isin(chunk)].sample(frac=1, random_state=i)
        part.to_parquet(folder / f"part-{i}.parquet", index=False)
    memory = analysis_sample(load_panel(frame, plan)).panel
    dask = analysis_sample(load_panel(folder, plan, engine="dask")).panel
    return memory, dask


@pytest.fixture
def counted(monkeypatch):
    """What the prepared models' partitions send to the client, in numbers; rows never (the gather path refused)."""
    sent: list[int] = []
    original = PreparedConditionalLogit.map

    def counting(self, fn, **kwargs):
        out = original(self, fn, **kwargs)
        sent.append(sum(np.size(x) for piece in out for x in (piece if isinstance(piece, tuple) else (piece,))))
        return out

    def refuse(*args, **kwargs):
        raise AssertionError("the Dask inference brought rows to the client")

    monkeypatch.setattr(PreparedConditionalLogit, "map", counting)
    monkeypatch.setattr("famtrial.trial._dask_steps.inference_panel", refuse)
    monkeypatch.setattr(Panel, "baseline_frame", refuse)
    return sent


def test_split_model_equals_in_memory(panels, counted):
    memory, dask = panels
    kw = dict(models=["model2"], n_perm=N_PERM, progress=False)
    expected = few_cluster_inference(memory, **kw)
    got = few_cluster_inference(dask, **kw)
    assert len(expected.frame) == len(memory.plan.variants) >= 2  # a row per variant term
    pd.testing.assert_frame_equal(got.frame, expected.frame, check_exact=False, rtol=TOL, atol=TOL)
    assert got.table.notes == expected.table.notes and got.n_clusters == expected.n_clusters
    # per family and per cluster pieces only: a few numbers per family, far fewer than the rows
    families = len(family_design(memory).family)
    assert max(counted) <= 12 * families < len(memory.data) / 2


def test_pooled_models_equal_in_memory(panels, counted):
    memory, dask = panels
    kw = dict(n_perm=N_PERM, progress=False, seed=3)
    expected, got = few_cluster_inference(memory, **kw), few_cluster_inference(dask, **kw)
    pd.testing.assert_frame_equal(got.frame, expected.frame, check_exact=False, rtol=TOL, atol=TOL)


def test_month_effects_randomization_equals_in_memory(panels, counted):
    memory, dask = panels
    kw = dict(trend="months", n_perm=N_PERM, progress=False)
    expected = randomization_test(memory, "employed", **kw)
    got = randomization_test(dask, "employed", **kw)
    assert got.observed == pytest.approx(expected.observed, rel=TOL, abs=TOL)
    np.testing.assert_allclose(got.draws, expected.draws, rtol=TOL, atol=TOL)
    assert (got.pvalue, got.n_perm, got.n_families, got.n_offices) == (
        expected.pvalue,
        expected.n_perm,
        expected.n_families,
        expected.n_offices,
    )
    assert got.summary() == expected.summary()


def test_refit_statistics_and_lpm_are_refused_by_name(panels):
    _, dask = panels
    with pytest.raises(PlanError, match="statistic='wald' refits the model for every re-draw"):
        few_cluster_inference(dask, n_perm=N_PERM, progress=False, statistic="wald")
    with pytest.raises(PlanError, match="lpm=True is not available on a Dask panel"):
        few_cluster_inference(dask, n_perm=N_PERM, progress=False, lpm=True)
    with pytest.raises(PlanError, match=r"randomization_test\(kind='monthly', statistic='score'\) on a Dask panel"):
        randomization_test(dask, "activation", kind="monthly", month="2017-06", n_perm=N_PERM, progress=False)
