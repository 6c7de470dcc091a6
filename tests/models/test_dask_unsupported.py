"""Options the Dask path does not take are refused before any work, naming the option (no client needed)."""

import numpy as np
import pandas as pd
import pytest

from famtrial.errors import ModelInputError
from famtrial.models.clogit import conditional_logit
from famtrial.models.logit import logit

dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def ddf():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 60), "x": rng.normal(size=60), "g": np.repeat(np.arange(12), 5)})
    return dd.from_pandas(frame, npartitions=2)


def test_array_offset_and_weights_are_refused_on_dask(ddf):
    with pytest.raises(ModelInputError, match="offset with a Dask DataFrame must be a column name; got ndarray"):
        logit(ddf, "y", ["x"], offset=np.zeros(60))
    with pytest.raises(ModelInputError, match="weights with a Dask DataFrame are not supported"):
        logit(ddf, "y", ["x"], weights=np.ones(60))
    with pytest.raises(ModelInputError, match="offset with a Dask DataFrame must be a column name; got list"):
        conditional_logit(ddf, "y", ["x"], "g", offset=[0.0] * 60)
