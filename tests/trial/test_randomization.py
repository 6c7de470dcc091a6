"""Randomization inference: the re-draws respect the design, each re-draw's statistic equals a direct
refit through the public estimators, the p-value follows its formula, and executors agree.

The Dask path is tested on a real LocalCluster in tests/models/test_distributed.py; here a small duck-typed client (``map``/``gather``) checks the executor contract.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import make_panel_frame
from famtrial._parallel import resolve_jobs, run_tasks
from famtrial.data.load import load_panel
from famtrial.inference.randomization import ri_pvalue
from famtrial.models.clogit import conditional_logit
from famtrial.trial.few_cluster import family_design, randomization_test
from famtrial.trial.monthly import monthly_effects

# randomization inference is the few-cluster remedy: its panels have 6 offices on purpose, and the
# model fits behind each re-draw warn (tests/models/test_model_errors.py asserts the warning itself)
pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


def _two_parent_frame(seed: int = 3) -> pd.DataFrame:
    """The conftest panel with a second parent in 40 of its 120 families (same family, office, arm)."""
    base = make_panel_frame(seed=seed)
    rng = np.random.default_rng(seed + 1)
    extra = base.loc[base["family_id"] < 40].copy()
    extra["parent_id"] = extra["parent_id"] + 1000
    extra["activation"] = (rng.random(len(extra)) < 0.4).astype(int)
    return pd.concat([base, extra], ignore_index=True)


@pytest.fixture(scope="module")
def panel():
    return load_panel(_two_parent_frame())


class FakeClient:
    """Stands in for dask.distributed.Client: map returns 'futures', gather resolves them."""

    def __init__(self):
        self.calls = 0

    def map(self, fn, items, pure=True):
        self.calls += 1
        return [(fn, item) for item in items]

    def gather(self, futures):
        return [fn(item) for fn, item in futures]


class MinimalClient(FakeClient):
    """A client whose map takes no ``pure=`` keyword: only map(fn, items) and gather."""

    def map(self, fn, items):
        self.calls += 1
        return [(fn, item) for item in items]


def test_draws_keep_offices_and_offered_counts(panel):
    design = family_design(panel)
    assert len(design.family) == 120
    observed = design.offered_per_office()
    rng = np.random.default_rng(0)
    hits = np.zeros(len(design.family))
    for _ in range(400):
        arm = design.draw(rng)
        pd.testing.assert_series_equal(design.offered_per_office(arm), observed)
        hits += arm
    # each family is offered with probability (offered in its office) / (families in its office)
    share = pd.Series(design.arm).groupby(design.office).transform("mean").to_numpy()
    assert np.abs(hits / 400 - share).max() < 0.12
    assert not np.array_equal(arm, design.arm)


def test_family_design_rejects_split_families():
    frame = make_panel_frame()
    frame.loc[frame["parent_id"] == 5, "family_id"] = 6  # parent 5 joins family 6 (another office)
    with pytest.raises(ValueError, match="families have more than one office or arm"):
        family_design(_FakePanel(frame))


class _FakePanel:
    """Only what family_design reads (load_panel itself rejects a family in two offices)."""

    def __init__(self, data):
        from famtrial.plan.spec import Columns

        self.data, self.columns = data, Columns()


def test_pvalue_formula():
    p, se, r = ri_pvalue(2.0, np.array([0.5, -2.5, 1.9, 2.0, np.nan, -0.1]))
    assert r == 5 and p == pytest.approx((1 + 2) / 6) and se == pytest.approx(np.sqrt(p * (1 - p) / 5))


def test_each_draw_is_a_direct_refit(panel):
    res = randomization_test(panel, "activation", statistic="wald", n_perm=6, seed=11, n_jobs=1, progress=False)
    design = family_design(panel)
    data = panel.data
    seeds = np.random.SeedSequence(11).spawn(6)
    post = (data["month"] >= pd.Period("2016-10", "M")).to_numpy()
    months = data["month"].array.asi8
    for seed, draw in zip(seeds[:3], res.draws[:3]):
        arm = pd.Series(design.draw(np.random.default_rng(seed)), index=design.family)
        frame = data.assign(
            treat=arm.loc[data["family_id"]].to_numpy() * post, trend=(months - months.min()).astype(float)
        )
        fit = conditional_logit(
            frame,
            "activation",
            ["treat", "n_children", "married", "reduced_work_capacity", "trend"],
            "parent_id",
            cluster="office",
        )
        assert draw == pytest.approx(fit.tvalues["treat"], rel=1e-7)
    observed = conditional_logit(
        data.assign(treat=data["arm"] * post, trend=(months - months.min()).astype(float)),
        "activation",
        ["treat", "n_children", "married", "reduced_work_capacity", "trend"],
        "parent_id",
        cluster="office",
    )
    assert res.observed == pytest.approx(observed.tvalues["treat"], rel=1e-8)
    assert res.pvalue == ri_pvalue(res.observed, res.draws)[0]
    assert "offered count per office fixed" in res.summary()


def test_seeded_and_executor_independent(panel):
    serial = randomization_test(panel, "activation", n_perm=5, seed=4, statistic="coef", n_jobs=1, progress=False)
    again = randomization_test(panel, "activation", n_perm=5, seed=4, statistic="coef", n_jobs=1, progress=False)
    client = FakeClient()
    dask_like = randomization_test(
        panel, "activation", n_perm=5, seed=4, statistic="coef", client=client, progress=False
    )
    assert client.calls == 1
    assert np.array_equal(serial.draws, again.draws) and np.array_equal(serial.draws, dask_like.draws)
    minimal = MinimalClient()
    plain = randomization_test(panel, "activation", n_perm=5, seed=4, statistic="coef", client=minimal, progress=False)
    assert minimal.calls == 1 and np.array_equal(serial.draws, plain.draws)
    other = randomization_test(panel, "activation", n_perm=5, seed=5, statistic="coef", n_jobs=1, progress=False)
    assert not np.array_equal(serial.draws, other.draws)


def test_monthly_kind_matches_monthly_effects(panel):
    res = randomization_test(
        panel,
        "activation",
        kind="monthly",
        month="2017-01",
        statistic="wald",
        n_perm=4,
        seed=1,
        n_jobs=1,
        progress=False,
    )
    eff = monthly_effects(panel, "activation", months=["2017-01"], band=False, progress=False)
    assert res.observed == pytest.approx(eff.frame["z"].iloc[0], rel=1e-7)
    assert res.term == "arm" and len(res.draws) == 4
    res_fe = randomization_test(
        panel,
        "activation",
        kind="monthly",
        month="2017-01",
        fixed_effects="office",
        statistic="wald",
        n_perm=2,
        seed=1,
        n_jobs=1,
        progress=False,
    )
    eff_fe = monthly_effects(
        panel, "activation", months=["2017-01"], fixed_effects="office", band=False, progress=False
    )
    assert res_fe.observed == pytest.approx(eff_fe.frame["z"].iloc[0], rel=1e-7)


def test_split_model_term(panel):
    res = randomization_test(
        panel, "activation", split=True, term="coordinator_holf", n_perm=3, seed=2, n_jobs=1, progress=False
    )
    assert res.term == "coordinator_holf" and np.isfinite(res.draws).all()


def test_option_errors(panel):
    with pytest.raises(ValueError, match="statistic='t'"):
        randomization_test(panel, "activation", statistic="t", n_perm=2)
    with pytest.raises(ValueError, match="needs month="):
        randomization_test(panel, "activation", kind="monthly", n_perm=2)
    with pytest.raises(ValueError, match="term 'married' is not a treatment term"):
        randomization_test(panel, "activation", term="married", n_perm=2)
    with pytest.raises(TypeError, match="map\\(\\) and gather\\(\\)"):
        run_tasks(abs, [1], client=object())
    with pytest.raises(ValueError, match="n_jobs=0"):
        resolve_jobs(0)


@pytest.mark.processes
def test_process_pool_runs_in_order():
    assert run_tasks(math.factorial, range(8), n_jobs=2) == [math.factorial(i) for i in range(8)]


def test_month_effects_model_is_refitted_with_its_month_effects(panel):
    """A re-draw refits the model the plan fits: with month effects, the observed z is that model's z."""
    from famtrial.trial.effects import fe_model

    res = randomization_test(
        panel, "activation", trend="months", statistic="wald", n_perm=2, seed=3, n_jobs=1, progress=False
    )
    fit = fe_model(panel, "activation", trend="months")
    assert res.observed == pytest.approx(float(fit.tvalues["coordinator_pooled"]), rel=1e-9)
    assert res.observed != pytest.approx(
        float(fe_model(panel, "activation", trend="none").tvalues["coordinator_pooled"]), rel=1e-6
    )


def test_z_is_the_deprecated_name_of_wald(panel):
    from famtrial.errors import FamtrialDeprecationWarning

    wald = randomization_test(panel, "activation", statistic="wald", n_perm=2, seed=3, n_jobs=1, progress=False)
    with pytest.warns(FamtrialDeprecationWarning, match='statistic="wald"'):
        old = randomization_test(panel, "activation", statistic="z", n_perm=2, seed=3, n_jobs=1, progress=False)
    assert old.statistic == "wald" and np.array_equal(old.draws, wald.draws)


def test_score_and_wald_share_the_redraws_and_agree_on_the_sign(panel):
    """The same seeds give the same re-draws to both statistics; the statistics differ but order alike."""
    score = randomization_test(panel, "activation", n_perm=30, seed=5, progress=False)
    wald = randomization_test(panel, "activation", statistic="wald", n_perm=30, seed=5, n_jobs=1, progress=False)
    assert score.statistic == "score" and score.n_perm == 30
    assert np.sign(score.observed) == np.sign(wald.observed)
    assert np.corrcoef(score.draws, wald.draws)[0, 1] > 0.9


@pytest.mark.processes
def test_thread_and_process_executors_give_the_serial_draws_bitwise(panel):
    """Re-draws on threads of this process (one kernel thread each) sum in the serial order: the draws
    are bitwise equal to the serial ones, and to a process pool's, whatever thread finishes first."""
    serial = randomization_test(panel, "activation", statistic="wald", n_perm=9, seed=21, n_jobs=1, progress=False)
    threads = randomization_test(
        panel, "activation", statistic="wald", n_perm=9, seed=21, n_jobs=3, executor="threads", progress=False
    )
    processes = randomization_test(
        panel, "activation", statistic="wald", n_perm=9, seed=21, n_jobs=2, executor="processes", progress=False
    )
    assert np.array_equal(threads.draws, serial.draws) and np.array_equal(processes.draws, serial.draws)
    assert threads.pvalue == serial.pvalue
    with pytest.raises(ValueError, match="executor='dask'"):
        randomization_test(panel, "activation", n_perm=2, executor="dask")


def test_thread_executor_keeps_order_reports_progress_and_raises_task_errors():
    from famtrial._parallel import map_in_threads
    from famtrial._progress import Progress

    class Bar(Progress):
        def __init__(self):
            super().__init__(6, "t", enabled=False)
            self.calls = []

        def update(self, n=1):
            self.calls.append(n)
            super().update(n)

    bar = Bar()
    out, cpu = map_in_threads(lambda t: t[0] * t[1], range(6), shared=(10,), jobs=3, bar=bar)
    assert out == [0, 10, 20, 30, 40, 50] and cpu >= 0 and bar.done == 6 and sum(bar.calls) == 6

    def fails(i):
        if i == 3:
            raise KeyError("task 3")
        return i

    with pytest.raises(KeyError, match="task 3"):
        map_in_threads(fails, range(8), jobs=2)


def test_monthly_randomization_shares_redraws_and_adjusts_by_the_max(panel):
    """Each month's statistic and p equal randomization_test's (same seed, same re-draws); the
    simultaneous p is the share of re-draws whose largest |T| over months reaches the month's |T|."""
    from famtrial.trial.monthly_randomization import monthly_randomization

    months = ["2017-01", "2017-03"]
    res = monthly_randomization(panel, "activation", months=months, n_perm=60, seed=4)
    for j, month in enumerate(months):
        one = randomization_test(panel, "activation", kind="monthly", month=month, n_perm=60, seed=4, progress=False)
        assert res.frame["observed"].iloc[j] == pytest.approx(one.observed, rel=1e-12)
        assert np.array_equal(res.draws[:, j], one.draws) and res.frame["p"].iloc[j] == one.pvalue
    peak = np.abs(res.draws).max(axis=1)
    for t, p_sim, p in zip(res.frame["observed"], res.frame["p_simultaneous"], res.frame["p"]):
        assert p_sim == pytest.approx((1 + np.sum(peak >= abs(t))) / 61) and p_sim >= p
    assert "simultaneous" in res.summary()
