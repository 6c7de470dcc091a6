"""balance_table and correlation_table on a Dask panel: built from per-partition sums, equal to the in-memory tables.

The reference is the in-memory run on the same rows (``load_panel(frame)``; its numbers are checked against
hand formulas, scipy, statsmodels and R in tests/trial/test_balance.py): every number of the frame, every
cell of the display, the notes, the title, the joint test and ``to_numbers()`` equal it to 1e-10
(relative), on the shipped replica written as 3 and 7 Parquet files of whole parents and as 5 files of
parents in random order with their rows shuffled, and on the third example (tests/examples/liaison:
other column names, text arm codes, late entry). The Dask runs use conftest's session LocalCluster
(2 worker processes x 1 thread). The moment pooling itself is checked against numpy (np.mean, np.cov,
np.corrcoef) on random data with a mean of 1e6, in the fast tier.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pickle
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial.data.load import load_panel
from famtrial.data.panel import Panel
from famtrial.plan.spec import load_plan
from famtrial.trial import _balance_dask
from famtrial.trial._balance_dask import pool
from famtrial.trial.balance import BalanceTable, CorrelationTable, balance_table, correlation_table

TOL = 1e-10
LIAISON = Path(__file__).parents[1] / "examples" / "liaison"


# -- the fast tier: the pooling formula against numpy ----------------------------------------------------
def _parts(x: np.ndarray, sizes: list[int]) -> list[dict]:
    """Per-part count, sums, min, max and centred cross-products, each from numpy's own covariance (ddof 0)."""
    out, start = [], 0
    for size in sizes:
        part = x[start : start + size]
        start += size
        cov = np.cov(part, rowvar=False, ddof=0).reshape(x.shape[1], x.shape[1]) if size > 1 else np.zeros((3, 3))
        total = np.array([part[:, j].sum() for j in range(x.shape[1])])  # 1-D sums: pairwise
        out.append({"n": size, "sum": total, "comoment": cov * size, "min": part.min(axis=0), "max": part.max(0)})
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pooled_moments_equal_numpy_with_a_large_mean(seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    x = np.column_stack(
        [
            1e6 + rng.normal(0, 1, n),  # a mean of 1e6 and an SD of 1: sum x^2 - n mean^2 loses ~12 digits
            1980 + rng.integers(-20, 20, n) + 0.5 * rng.normal(0, 1, n),
            rng.integers(0, 2, n).astype(float),
        ]
    )
    x[:, 1] += 0.3 * (x[:, 0] - 1e6)  # correlated
    cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
    sizes = np.diff(np.r_[0, cuts, n]).tolist()
    m = pool(_parts(x, sizes), 3)
    assert m.n == n
    np.testing.assert_allclose(m.mean, [x[:, j].mean() for j in range(3)], rtol=1e-14)
    # covariances in units of the SDs (a covariance near 0 has no relative precision to speak of)
    cov = np.cov(x, rowvar=False)
    scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    np.testing.assert_allclose(m.comoment / (n - 1) / scale, cov / scale, rtol=0, atol=TOL)
    np.testing.assert_allclose(np.diag(m.comoment) / (n - 1), np.var(x, axis=0, ddof=1), rtol=TOL)
    r = m.comoment / np.sqrt(np.outer(np.diag(m.comoment), np.diag(m.comoment)))
    np.testing.assert_allclose(r, np.corrcoef(x, rowvar=False), rtol=0, atol=TOL)
    np.testing.assert_array_equal(m.min, x.min(axis=0))
    np.testing.assert_array_equal(m.max, x.max(axis=0))
    # the textbook one-pass formula fails at this offset: the tolerance tells a stable pooling from it
    naive = (np.sum(x**2, axis=0) - n * x.mean(axis=0) ** 2) / (n - 1)
    assert abs(naive[0] / np.var(x[:, 0], ddof=1) - 1) > 1e-6


def test_pooled_constant_column_has_exactly_zero_variance():
    x = np.column_stack([np.full(30, 0.1), np.arange(30.0)])
    m = pool(_parts(x, [7, 11, 12]), 2)
    assert m.comoment[0, 0] == 0 and m.comoment[0, 1] == 0 and m.comoment[1, 1] > 0
    assert pool([], 2).n == 0


# -- the Dask tier ----------------------------------------------------------------------------------------
dask_tier = pytest.mark.dask


@pytest.fixture(scope="module")
def client(dask_client):
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    return dask_client


def _write_split(frame: pd.DataFrame, folder: Path, parent: str, n: int, *, shuffled: bool = False) -> Path:
    """``frame`` as ``n`` Parquet files of whole parents (consecutive blocks, or random parents with rows shuffled)."""
    folder.mkdir(parents=True)
    ids = np.sort(frame[parent].unique())
    if shuffled:
        ids = np.random.default_rng(28).permutation(ids)
    for i, chunk in enumerate(np.array_split(ids, n)):
        part = frame[frame[parent].isin(chunk)]
        if shuffled:
            part = part.sample(frac=1, random_state=i)
        part.to_parquet(folder / f"part-{i:02d}.parquet", index=False)
    return folder


def _same_frame(got: pd.DataFrame, expected: pd.DataFrame, unit: Sequence[str] = ()) -> None:
    """Numbers to TOL relative; columns in ``unit`` (correlations, p-values: on [-1, 1]) to TOL absolute."""
    assert list(got.index) == list(expected.index) and list(got.columns) == list(expected.columns)
    for column in expected.columns:
        a, b = expected[column], got[column]
        if pd.api.types.is_numeric_dtype(a.dtype):
            rtol, atol = (0, TOL) if column in unit else (TOL, 0)
            np.testing.assert_allclose(b.to_numpy(float), a.to_numpy(float), rtol=rtol, atol=atol, err_msg=str(column))
        else:
            assert a.tolist() == b.tolist(), column


def assert_same_balance(got: BalanceTable, expected: BalanceTable) -> None:
    _same_frame(got.frame, expected.frame)
    pd.testing.assert_frame_equal(got.display, expected.display)
    assert (got.title, got.notes, got.name, got.keys) == (expected.title, expected.notes, expected.name, expected.keys)
    assert (got.nobs, got.nobs_treated, got.nobs_control) == (
        expected.nobs,
        expected.nobs_treated,
        expected.nobs_control,
    )
    a, b = expected.joint_test, got.joint_test
    assert (b.df, b.nobs, b.variables, b.dropped) == (a.df, a.nobs, a.variables, a.dropped)
    assert b.lr == pytest.approx(a.lr, rel=TOL) and b.pvalue == pytest.approx(a.pvalue, rel=TOL, abs=1e-300)
    x, y = expected.to_numbers(), got.to_numbers()
    assert list(x) == list(y)
    np.testing.assert_allclose(list(y.values()), list(x.values()), rtol=TOL, atol=0)


def assert_same_correlations(got: CorrelationTable, expected: CorrelationTable) -> None:
    """Descriptives to TOL relative; correlations and their p-values (numbers on [-1, 1]) to TOL absolute.

    A correlation near 0 has no relative precision: with a mean of 1e6 pandas' own ``corr`` is 1e-11
    from the exact value (test_large_non_integer_means_equal_in_memory).
    """
    names = list(expected.correlations.columns)
    _same_frame(got.frame, expected.frame, unit=names)
    _same_frame(got.pvalues, expected.pvalues, unit=names)
    pd.testing.assert_frame_equal(got.display, expected.display)
    assert (got.title, got.notes, got.nobs, got.name, got.keys) == (
        expected.title,
        expected.notes,
        expected.nobs,
        expected.name,
        expected.keys,
    )
    x, y = expected.to_numbers(), got.to_numbers()
    assert list(x) == list(y)
    np.testing.assert_allclose(list(y.values()), list(x.values()), rtol=0, atol=TOL)


@pytest.fixture(scope="module")
def replica() -> pd.DataFrame:
    return pd.read_parquet(load_plan("nct03102775").resolve_data())


@pytest.fixture(scope="module")
def in_memory(replica) -> Panel:
    return load_panel(replica)


def _no_rows(panel: Panel):
    raise AssertionError("the Dask path computed the baseline rows")


@dask_tier
@pytest.mark.parametrize(("files", "shuffled"), [(3, False), (7, False), (5, True)])
def test_replica_tables_equal_in_memory(client, replica, in_memory, tmp_path, monkeypatch, files, shuffled):
    lazy = load_panel(
        str(_write_split(replica, tmp_path / "data", "parent_id", files, shuffled=shuffled)), engine="dask"
    )
    assert lazy.data.npartitions == files
    expected_balance, expected_corr = balance_table(in_memory), correlation_table(in_memory)
    monkeypatch.setattr(Panel, "baseline_frame", _no_rows)  # the client never receives the baseline rows
    assert_same_balance(balance_table(lazy), expected_balance)
    assert_same_correlations(correlation_table(lazy), expected_corr)
    assert expected_balance.joint_test.df == 8 and len(expected_corr.to_numbers()) == 36


@dask_tier
def test_options_roles_and_welch_equal_in_memory(client, replica, in_memory, tmp_path):
    lazy = load_panel(str(_write_split(replica, tmp_path / "data", "parent_id", 3)), engine="dask")
    for options in (
        {"equal_var": False},
        {"binary": ["married", "employed"], "continuous": ["year_of_birth", "female"]},  # a 0/1 column as continuous
        {"continuous": ["n_children"], "labels": {"n_children": "Children"}, "arm_labels": ("A", "B"), "title": "T"},
    ):
        assert_same_balance(balance_table(lazy, **options), balance_table(in_memory, **options))
    # a constant variable listed before the display order: the joint test names it, not a neighbour
    constant = {"binary": ["married", "female"], "continuous": ["year_of_birth"]}
    memory_married = dataclasses.replace(in_memory, data=in_memory.data.assign(married=np.int8(0)))
    lazy_married = dataclasses.replace(lazy, data=lazy.data.assign(married=np.int8(0)))
    expected = balance_table(memory_married, **constant)
    assert expected.joint_test.dropped == ("married",) and list(expected.frame.index)[-1] == "married"
    assert_same_balance(balance_table(lazy_married, **constant), expected)
    for variables in (["year_of_birth", "female"], ["activation"]):
        assert_same_correlations(correlation_table(lazy, variables), correlation_table(in_memory, variables))


def _shifted(replica: pd.DataFrame, offset: float) -> pd.DataFrame:
    """The replica with year of birth moved by ``offset`` plus a parent's own fraction (non-integer, a large mean)."""
    rng = np.random.default_rng(7)
    ids = replica["parent_id"].unique()
    fraction = pd.Series(rng.random(len(ids)), index=ids)
    return replica.assign(year_of_birth=replica["year_of_birth"] + offset + replica["parent_id"].map(fraction))


@dask_tier
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_large_non_integer_means_equal_in_memory(client, replica, tmp_path, offset):
    frame = _shifted(replica, offset)
    lazy = load_panel(str(_write_split(frame, tmp_path / "data", "parent_id", 7, shuffled=True)), engine="dask")
    memory = load_panel(frame)
    assert_same_balance(balance_table(lazy), balance_table(memory))
    got, expected = correlation_table(lazy), correlation_table(memory)
    pd.testing.assert_frame_equal(got.display, expected.display)
    # the exact correlations: the offset subtracted exactly (Sterbenz) before pandas' corr
    exact = correlation_table(load_panel(frame.assign(year_of_birth=frame["year_of_birth"] - offset)))
    for field in ("correlations", "pvalues"):
        np.testing.assert_allclose(getattr(got, field), getattr(exact, field), rtol=0, atol=TOL)
    error = np.nanmax(np.abs(got.correlations.to_numpy() - exact.correlations.to_numpy()))
    assert error < 1e-11
    if offset == 0:
        assert_same_correlations(got, expected)
    else:  # in memory, pandas' corr of the shifted column is itself ~1e-11 off; the sums are closer
        assert error <= np.nanmax(np.abs(expected.correlations.to_numpy() - exact.correlations.to_numpy()))


@dask_tier
def test_joint_test_by_distributed_newton_when_cells_are_too_many(client, replica, in_memory, tmp_path, monkeypatch):
    lazy = load_panel(str(_write_split(replica, tmp_path / "data", "parent_id", 3)), engine="dask")
    expected = balance_table(in_memory)
    monkeypatch.setattr(_balance_dask, "MAX_CELLS", 30)  # fewer than any partition's cells: no cells are sent
    sums = _balance_dask.baseline_sums(lazy, ["arm", "female", "year_of_birth"], ["arm", "female", "year_of_birth"])
    assert sums.cells() is None
    got = balance_table(lazy)
    assert_same_balance(got, expected)


def test_partition_returns_do_not_grow_with_parents(replica, in_memory):
    """What a partition sends is sums and cells: four times the parents (same values) send as many numbers."""
    plan_vars = ["female", "year_of_birth", "married", "n_children", "immigrant"]
    rows = in_memory.data
    copies = pd.concat([rows.assign(parent_id=rows["parent_id"] + k * 10_000_000) for k in range(4)], ignore_index=True)
    args = ("month", in_memory.baseline.ordinal, ["arm", *plan_vars], ["arm", *plan_vars], ["arm", *plan_vars], 10**6)
    one, four = (_balance_dask._partition_sums(f, *args) for f in (rows, copies))
    assert four["n"] == 4 * one["n"] > 2000
    assert len(four["cells"][0]) == len(one["cells"][0]) < one["n"] / 2
    assert abs(len(pickle.dumps(four)) - len(pickle.dumps(one))) < 0.02 * len(pickle.dumps(one))
    assert len(pickle.dumps(one)) < 40 * len(one["cells"][0]) * 8 + 20_000


def _liaison() -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("make_liaison", LIAISON / "make_liaison.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_panel()


@dask_tier
def test_liaison_example_equals_in_memory(client, tmp_path, monkeypatch):
    frame = _liaison()
    plan = load_plan(LIAISON / "liaison.toml")
    memory = load_panel(frame, plan)
    lazy = load_panel(str(_write_split(frame, tmp_path / "data", "guardian_no", 4, shuffled=True)), plan, engine="dask")
    expected_balance, expected_corr = balance_table(memory), correlation_table(memory)
    assert "Liaison worker" in expected_balance.display.columns and expected_balance.name == "tab_balance"
    monkeypatch.setattr(Panel, "baseline_frame", _no_rows)
    assert_same_balance(balance_table(lazy), expected_balance)
    assert_same_correlations(correlation_table(lazy), expected_corr)


def _message(call, *args, **kwargs) -> tuple[type, str]:
    with pytest.raises(Exception) as caught:
        call(*args, **kwargs)
    return type(caught.value), str(caught.value)


@dask_tier
def test_errors_say_what_the_in_memory_code_says(client, replica, in_memory, tmp_path):
    folder = _write_split(replica, tmp_path / "data", "parent_id", 3)
    lazy = load_panel(str(folder), engine="dask")
    cases = [
        (balance_table, {"binary": ["year_of_birth"]}),  # values outside 0/1, with examples in row order
        (balance_table, {"binary": ["n_children", "female"]}),
        (balance_table, {"binary": ["sex"]}),  # absent
        (balance_table, {"binary": ["female"], "continuous": ["female"]}),
        (balance_table, {"binary": "female"}),
        (correlation_table, {"variables": ["experimental"]}),
        (correlation_table, {"variables": ["nope"]}),
    ]
    for call, options in cases:
        expected = _message(call, in_memory, **options)
        assert _message(call, lazy, **options) == expected, options
    # hostile values put into the panels' data directly: missing, infinite, text, a single arm at baseline
    frames = {
        "missing": lambda d: d.assign(married=d["married"].astype(float).where(d["parent_id"] % 97 != 3)),
        "infinite": lambda d: d.assign(
            year_of_birth=d["year_of_birth"].astype(float).mask(d["parent_id"] % 89 == 5, np.inf)
        ),
        "text": lambda d: d.assign(n_children=d["n_children"].astype(str)),
        "one arm": lambda d: d.assign(arm=np.int8(1)),
    }
    for what, change in frames.items():
        memory = dataclasses.replace(in_memory, data=change(in_memory.data))
        dask_data = lazy.data.map_partitions(change, meta=change(lazy.data._meta))
        dask_panel = dataclasses.replace(lazy, data=dask_data)
        for call in (balance_table, correlation_table):
            expected = _message(call, memory)
            assert _message(call, dask_panel) == expected, (what, call.__name__)
            assert "column" in expected[1]
