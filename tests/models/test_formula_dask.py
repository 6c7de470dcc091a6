"""famtrial.clogit / famtrial.logit on a Dask DataFrame equal the in-memory formula fits (1e-10).

A real ``dask.distributed.LocalCluster`` (conftest's ``dask_client``: 2 worker processes, 1 thread
each). The in-memory formula fits are checked against R elsewhere (tests/models/test_formula.py and the
models' reference tests); here the reference is the in-memory formula fit on the same frame, on 1,
3 and 7 partitions cut at parent boundaries. Tolerance 1e-10, relative for estimates and SEs,
absolute for log-likelihoods: room only for the order of floating-point sums over partitions.
The data have rows with missing values (the formula's complete-case drop), a categorical level
present in one partition only, a partition whose rows all miss a regressor, uninformative parents,
a regressor constant within parents (omitted) and offices (clusters) spanning partitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import famtrial  # noqa: E402
from conftest import PARTITIONS, partitioned  # noqa: E402
from famtrial.errors import (
    DaskFormulaError,  # noqa: E402
    FormulaError,  # noqa: E402
)
from famtrial.models.base import DropRecord  # noqa: E402

pytestmark = pytest.mark.dask  # every test runs on the session's LocalCluster (conftest.dask_client)

RTOL, ATOL_LL = 1e-10, 1e-10


def make_frame(seed: int = 7, parents: int = 420, months: int = 9) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parent = np.repeat(np.arange(parents), months)
    n = len(parent)
    office = rng.integers(0, 15, parents)[parent]
    alpha = rng.normal(0, 1.2, parents)[parent]
    x1 = rng.normal(size=n)
    g = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    g[parent >= parents - 20] = "d"  # a level only in the last partition
    month = np.tile(pd.date_range("2016-04-01", periods=months, freq="MS").to_numpy(), parents)
    eta = alpha + 0.6 * x1 + 0.4 * (g == "b") - 0.3 * (g == "d") + 0.1 * np.tile(np.arange(months), parents)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int64)
    y[parent < 60] = 1  # uninformative parents: the first of 7 partitions holds no informative one
    frame = pd.DataFrame(
        {
            "parent_id": parent,
            "office": office,
            "y": y,
            "x1": x1,
            "z": rng.gamma(2.0, size=n),
            "g": g,
            "month": month,
            "office_level": office.astype(float),
            "w": rng.integers(1, 4, parents)[parent].astype(float),
            "off": 0.1 * rng.normal(size=n),
        }
    )
    frame.loc[[3, 50, 700], "x1"] = np.nan
    frame.loc[[11, 900], "g"] = None
    frame.loc[(frame.parent_id >= 120) & (frame.parent_id < 180), "z"] = np.nan  # the third of 7 partitions
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


def assert_same(got, expected) -> None:
    assert list(got.params.index) == list(expected.params.index)
    np.testing.assert_allclose(got.params.to_numpy(), expected.params.to_numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(got.bse.to_numpy(), expected.bse.to_numpy(), rtol=RTOL, atol=1e-12)
    assert abs(got.llf - expected.llf) < ATOL_LL and abs(got.llnull - expected.llnull) < ATOL_LL
    assert got.nobs == expected.nobs and got.n_clusters == expected.n_clusters
    assert got.dropped == expected.dropped
    assert got.outcome == expected.outcome and got.formula == expected.formula
    assert got.cluster_name == expected.cluster_name and got.cov_type == expected.cov_type


CLOGIT_CASES = [
    ("y ~ x1 + C(g) + office_level + C(month) | parent_id", {"vcov": {"CRV1": "office"}}),
    ("y ~ x1 + np.log(z) + x1:C(g) + C(month) | parent_id", {}),
    ("y ~ x1 + C(g) + C(month) | parent_id", {"weights": "w", "vcov": {"CRV1": "office"}}),
    ("y ~ x1 + C(g) | parent_id", {"offset": "off", "vcov": {"CRV1": "office"}, "t_reference": True}),
]


@pytest.mark.parametrize("formula,kwargs", CLOGIT_CASES)
def test_clogit_equals_in_memory(dask_client, frame, formula, kwargs):
    expected = famtrial.clogit(formula, frame, **kwargs)
    for n in PARTITIONS:
        got = famtrial.clogit(formula, partitioned(frame, n), **kwargs)
        assert_same(got, expected)
        assert got.n_groups == expected.n_groups and got.fixed_effects == "parent_id"
        assert got.model.n_partitions == n


def test_clogit_time_effects_take_the_categorical_path(dask_client, frame):
    """A bare C(month) runs the distributed time-effects kernel, with formulaic's names; the drop
    records name them the same way."""
    formula = "y ~ x1 + C(month) | parent_id"
    expected = famtrial.clogit(formula, frame)
    got = famtrial.clogit(formula, partitioned(frame, 3))
    assert got.model.time_name == "C(month)"
    assert "Formula" in str(got.summary()) and "Dask partitions" in str(got.summary())
    assert got.params.index[1].startswith("C(month)[T.2016-05-01")
    assert_same(got, expected)
    # the design predicts on new pandas rows as the in-memory fit's does
    rows = frame.dropna().head(20)
    np.testing.assert_allclose(got.predict(rows, which="linear"), expected.predict(rows, which="linear"), rtol=RTOL)


@pytest.mark.parametrize(
    "formula,kwargs",
    [
        ("y ~ x1 + C(g) + C(office)", {"vcov": {"CRV1": "office"}}),
        ("y ~ x1 + np.log(z) + I(x1**2) + x1:C(g)", {"offset": "off"}),
    ],
)
def test_logit_equals_in_memory(dask_client, frame, formula, kwargs):
    expected = famtrial.logit(formula, frame, **kwargs)
    for n in PARTITIONS:
        assert_same(famtrial.logit(formula, partitioned(frame, n), **kwargs), expected)


@pytest.mark.parametrize(
    "call,formula,kwargs,match",
    [
        ("clogit", "y ~ center(x1) + C(month) | parent_id", {}, r"\['center\(x1\)'\].*learnt from the data"),
        ("logit", "y ~ scale(x1)", {}, r"\['scale\(x1\)'\]"),
        ("logit", "y ~ x1 + lag(z)", {}, r"\['lag\(z\)'\] read neighbouring rows"),
        ("clogit", "y ~ x1 + C(x1 > 0) | parent_id", {}, r"categorical term 'C\(x1 > 0\)'"),
        ("clogit", "y ~ x1 | parent_id", {"weights": np.ones(3780)}, r"weights must be a column name.*ndarray"),
        ("clogit", "y ~ x1 | parent_id", {"vcov": {"CRV1": np.zeros(3780)}}, r"cluster.*must be a column name"),
        ("logit", "y ~ x1", {"weights": "w"}, r"weights= is not supported by logit on a Dask"),
        ("logit", "y ~ x1", {"vcov": "hetero"}, r"vcov='hetero' is not supported by logit on a Dask"),
        ("logit", "y ~ 0 + x1", {}, r"no intercept"),
    ],
)
def test_unsupported_raise_naming_the_option(dask_client, frame, call, formula, kwargs, match):
    with pytest.raises(DaskFormulaError, match=match):
        getattr(famtrial, call)(formula, partitioned(frame, 3), **kwargs)


def test_errors_as_in_memory(dask_client, frame):
    """Missing columns and a design formulaic cannot build: the in-memory messages."""
    for formula, kwargs in [("y ~ x1 | parent_id", {"vcov": {"CRV1": "region"}}), ("y ~ x1 + C(g) | nosuch", {})]:
        with pytest.raises(FormulaError) as mem:
            famtrial.clogit(formula, frame, **kwargs)
        with pytest.raises(FormulaError) as dsk:
            famtrial.clogit(formula, partitioned(frame, 3), **kwargs)
        assert str(dsk.value) == str(mem.value)
    with pytest.raises(FormulaError, match="cannot build the design"):
        famtrial.logit("y ~ x1 + nosuch", partitioned(frame, 3))


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_design_error_in_a_partition_as_in_memory(dask_client, frame):
    """A transformation giving NaN on some rows (log of a negative) raises the in-memory message,
    from the partition that holds them."""
    formula = "y ~ np.log(x1) | parent_id"
    with pytest.raises(FormulaError) as mem:
        famtrial.clogit(formula, frame)
    with pytest.raises(FormulaError) as dsk:
        famtrial.clogit(formula, partitioned(frame, 3))
    assert str(dsk.value) == str(mem.value)


def test_dask_default_dtypes(dask_client, frame):
    """Dask's own conversion of text to ``string[pyarrow]`` (``dd.from_pandas``), a boolean and a
    categorical column with unused categories: the in-memory fit of the pandas frame."""
    import dask.dataframe as dd

    data = frame.assign(b=frame.x1 > 0.5, cat=pd.Categorical(frame.g.fillna("a"), categories=["d", "c", "b", "a", "z"]))
    formula = "y ~ x1 + g + b + cat + C(month) | parent_id"
    expected = famtrial.clogit(formula, data, vcov={"CRV1": "office"})
    assert "cat[T.z]" in expected.params.index or any("cat[T.z]" in d.names for d in expected.dropped)
    for n in PARTITIONS:
        ddf = dd.from_pandas(data, npartitions=n, sort=False)
        assert str(ddf.dtypes["g"]) != "object"
        assert_same(famtrial.clogit(formula, ddf, vcov={"CRV1": "office"}), expected)


def test_clogit_hetero_equals_the_robust_column_fit(dask_client, frame):
    """``vcov="hetero"`` (robust, clustered on the group; Stata ``vce(robust)``) against the
    in-memory column API with ``robust=True`` on the complete rows, with month effects."""
    complete = frame.dropna(subset=["x1", "z"])
    expected = famtrial.conditional_logit(
        complete, "y", ["x1", "z"], group="parent_id", robust=True, time_effects="month"
    )
    for n in PARTITIONS:
        got = famtrial.clogit("y ~ x1 + z + C(month) | parent_id", partitioned(frame, n), vcov="hetero")
        assert got.cov_type == expected.cov_type and got.n_clusters == expected.n_clusters
        np.testing.assert_allclose(got.params.to_numpy(), expected.params.to_numpy(), rtol=RTOL)
        np.testing.assert_allclose(got.bse.to_numpy(), expected.bse.to_numpy(), rtol=RTOL)
        assert abs(got.llf - expected.llf) < ATOL_LL and got.nobs == expected.nobs
        assert got.dropped[0] == DropRecord(
            "rows", int(len(frame) - len(complete)), "missing values in x1 (3), z (540)"
        )


def test_design_of_an_emptied_partition(dask_client, frame):
    """The partition whose rows all miss ``z`` gives an empty design with the others' columns and dtypes."""
    from famtrial.models import _formula_dask

    design, outcome, regressors, *_ = _formula_dask._prepare(
        "y ~ np.log(z) + C(g) | parent_id", partitioned(frame, 7), [], True, False
    )
    pieces = [p.compute() for p in design.to_delayed()]
    assert [len(p) == 0 for p in pieces] == [False, False, True, False, False, False, False]
    assert all(list(p.columns) == list(pieces[0].columns) and (p.dtypes == pieces[0].dtypes).all() for p in pieces)
    # the one bare C() of a clogit is its categorical time effect: one column, not dummies
    assert outcome == "y" and regressors == ["np.log(z)"] and "C(g)" in pieces[0].columns
