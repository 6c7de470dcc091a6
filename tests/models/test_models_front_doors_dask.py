"""famtrial 0.1's column call through the front doors on a Dask DataFrame (issue 23, item 5): the same
params and standard errors as the column API and the formula form on the same Dask DataFrame, and as
the in-memory fit (1e-10, room only for the order of sums over partitions).

A real ``dask.distributed.LocalCluster`` (conftest's ``dask_client``), as tests/models/test_formula_dask.py.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import famtrial  # noqa: E402
from conftest import (
    make_frame,  # noqa: E402
    partitioned,  # noqa: E402
)
from famtrial.models.clogit import conditional_logit  # noqa: E402
from famtrial.models.logit import logit as column_logit  # noqa: E402

pytestmark = pytest.mark.dask  # every test runs on the session's LocalCluster (conftest.dask_client)

RTOL = 1e-10


def same(a, b, rtol: float = 0.0) -> None:
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), rtol=rtol, atol=0)
    np.testing.assert_allclose(a.bse.to_numpy(), b.bse.to_numpy(), rtol=rtol, atol=0)


def test_the_01_calls_on_dask_equal_the_column_api_the_formula_and_in_memory(dask_client):
    frame = make_frame().rename(columns={"parent": "parent_id"})
    ddf = partitioned(frame, 3)
    old = famtrial.logit(ddf, outcome="y", covariates=["x1"], cluster="office")  # famtrial 0.1, verbatim
    same(old, column_logit(ddf, "y", ["x1"], "office"))
    same(old, famtrial.logit("y ~ x1", ddf, vcov={"CRV1": "office"}), RTOL)
    same(old, famtrial.logit(frame, outcome="y", covariates=["x1"], cluster="office"), RTOL)

    old = famtrial.clogit(ddf, outcome="y", covariates=["x1", "x2"], group="parent_id", cluster="office")
    same(old, conditional_logit(ddf, "y", ["x1", "x2"], "parent_id", "office"))
    same(old, famtrial.clogit("y ~ x1 + x2 | parent_id", ddf, vcov={"CRV1": "office"}), RTOL)
    same(old, famtrial.clogit(frame, outcome="y", covariates=["x1", "x2"], group="parent_id", cluster="office"), RTOL)
