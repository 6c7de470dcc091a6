"""monthly_effects on a Dask panel (load_panel(..., engine="dask")) equals the in-memory series.

Every column of the frame (OR, SE, CIs, p, Holm/BH, the band, risk differences), the notes
(baseline month, dropped offices, months without an estimate) and the counts agree with the
in-memory ``monthly_effects`` to 1e-10 on 1, 3 and 7 partitions (the Dask series fitted on the
partitions' summed cells with their counts as frequency weights), on a real
``dask.distributed.LocalCluster`` (2 processes; conftest.dask_client). The in-memory series is
itself checked against per-month logits and Stata/R in tests/trial/test_monthly.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from conftest import (
    PARTITIONS,  # noqa: E402
    path_panel,  # noqa: E402
)
from famtrial.data.load import load_panel  # noqa: E402
from famtrial.trial.monthly import monthly_effects  # noqa: E402
from famtrial.trial.monthly_results import MonthlyEffects  # noqa: E402

pytestmark = pytest.mark.dask  # every test runs on the session's LocalCluster (conftest.dask_client)

TOL = 1e-10


@pytest.fixture(scope="module", autouse=True)
def _client(dask_client):
    return dask_client


def write_files(frame: pd.DataFrame, n: int, folder) -> None:
    """``frame`` as ``n`` Parquet files of whole parents, in a shuffled parent order (so offices
    and clusters span partitions)."""
    folder.mkdir()
    ids = frame["parent_id"].unique()
    blocks = np.array_split(np.random.default_rng(n).permutation(ids), n)
    for i, block in enumerate(blocks):
        frame[frame["parent_id"].isin(block)].to_parquet(folder / f"part-{i:03d}.parquet", index=False)


def assert_same(got: MonthlyEffects, expected: MonthlyEffects) -> None:
    pd.testing.assert_frame_equal(got.frame, expected.frame, check_exact=False, rtol=TOL, atol=TOL)
    for field in (
        "band_critical",
        "band_draws",
        "n_offices",
        "n_parents",
        "parents_without_baseline",
        "controls",
        "baseline",
        "cluster",
        "fixed_effects",
        "name",
    ):
        a, b = getattr(got, field), getattr(expected, field)
        assert (a == pytest.approx(b, rel=TOL, abs=TOL)) if isinstance(a, float) else a == b, field
    assert len(got.results) == len(expected.results)
    for a, b in zip(got.results, expected.results):
        np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=TOL, atol=TOL)
        np.testing.assert_allclose(a.covariance.matrix, b.covariance.matrix, rtol=TOL, atol=TOL)
        assert a.nobs == b.nobs and list(a.params.index) == list(b.params.index)
    assert got.summary() == expected.summary()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    path = [0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    out = path_panel(11, path, n_families=900)
    # a month whose outcome is 0 everywhere: a row with NaN estimates and the reason in its note
    out.loc[out["month"] == "2017-03", "activation"] = 0
    # a parent without a baseline row (counted, not used)
    return out.loc[~((out["parent_id"] == 5) & (out["month"] == "2016-10"))].reset_index(drop=True)


@pytest.mark.parametrize("n", PARTITIONS)
def test_series_equals_in_memory(frame, tmp_path, n):
    write_files(frame, n, tmp_path / "panel")
    lazy, memory = load_panel(tmp_path / "panel", engine="dask"), load_panel(frame)
    assert lazy.data.npartitions == n
    expected = monthly_effects(memory, "activation", progress=False)
    got = monthly_effects(lazy, "activation", progress=False)
    assert expected.frame["coef"].isna().sum() == 1 and expected.parents_without_baseline == 1
    assert_same(got, expected)
    # the client fitted cells with their counts (fweights), not one row per parent
    for fit in got.results:
        assert len(fit.model.endog) * 2 < fit.nobs and fit.model.weights.sum() == fit.nobs


OPTIONS = [
    {"fixed_effects": "office"},
    {"t_reference": True, "adjustment": "statsmodels"},
    {"cluster": None, "band": False},
    {"controls": ["reduced_work_capacity"], "own_baseline": False, "months": ["2016-11", "2017-02", "2017-03"]},
    {"baseline": "2016-11", "n_boot": 199, "seed": 5},
    {"controls": ["year_of_birth", "reduced_work_capacity"]},  # a many-valued control: cells of about one row
]


@pytest.fixture(scope="module")
def irregular() -> pd.DataFrame:
    """Months the batched fit leaves to Logit: office 4's outcome 0 in 2016-12 (dropped with office
    fixed effects), reduced work capacity predicting the outcome in 2017-02 (dropped with its rows),
    a constant outcome in 2017-01 (no estimate)."""
    out = path_panel(3, [0.0, 0.3, 0.6, 0.6, 0.0, 0.0], n_families=1200)
    out.loc[(out["office"] == 4) & (out["month"] == "2016-12"), "activation"] = 0
    out.loc[out["month"] == "2017-01", "activation"] = 0
    rwc = out.groupby("parent_id")["reduced_work_capacity"].transform("first") == 1
    out.loc[(out["month"] == "2017-02") & rwc, "activation"] = 1
    out["year_of_birth"] = out["parent_id"] * 7 % 36 - 18  # centred: the intercept stays well conditioned
    return out


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o))
@pytest.mark.parametrize("n", [3, 7])
def test_options_and_irregular_months_equal_in_memory(irregular, tmp_path, n, options):
    write_files(irregular, n, tmp_path / "panel")
    lazy, memory = load_panel(tmp_path / "panel", engine="dask"), load_panel(irregular)
    expected = monthly_effects(memory, "activation", progress=False, **options)
    got = monthly_effects(lazy, "activation", progress=False, **options)
    assert_same(got, expected)
    if options.get("fixed_effects"):
        assert "office_4 != 0 predicts failure perfectly" in got.frame.set_index("month").loc["2016-12", "note"]


def test_other_outcome_and_errors_as_in_memory(irregular, tmp_path):
    write_files(irregular, 3, tmp_path / "panel")
    lazy, memory = load_panel(tmp_path / "panel", engine="dask"), load_panel(irregular)
    kw = dict(band=False, progress=False, months=["2016-11", "2016-12"])
    assert_same(monthly_effects(lazy, "employed", **kw), monthly_effects(memory, "employed", **kw))
    for bad in (dict(controls=["nowhere"]), dict(months=["2030-01"]), dict(cluster="nowhere")):
        with pytest.raises(ValueError) as want:
            monthly_effects(memory, "activation", **kw | bad)
        with pytest.raises(ValueError) as got:
            monthly_effects(lazy, "activation", **kw | bad)
        assert str(got.value) == str(want.value)
    with pytest.raises(Exception) as want:
        monthly_effects(memory, "activation", **kw | dict(months=["2017-01"]))
    with pytest.raises(Exception) as got:
        monthly_effects(lazy, "activation", **kw | dict(months=["2017-01"]))
    assert type(got.value) is type(want.value) and str(got.value) == str(want.value)


def test_restricted_panel_with_empty_partitions_equals_in_memory(irregular, tmp_path):
    """Files of whole offices, then the panel restricted to three offices: most partitions hold no
    row of the restricted panel."""
    folder = tmp_path / "panel"
    folder.mkdir()
    for i, block in enumerate(np.array_split(np.arange(1, 13), 6)):
        irregular[irregular["office"].isin(block)].to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    lazy = load_panel(folder, engine="dask").restrict([1, 2, 7])
    memory = load_panel(irregular).restrict([1, 2, 7])
    assert lazy.data.npartitions == 6
    kw = dict(progress=False, months=["2016-11", "2016-12", "2017-03"])
    assert_same(monthly_effects(lazy, "activation", **kw), monthly_effects(memory, "activation", **kw))
