"""margins(by=, at=, contrasts, comparison="ratio") against R by hand (tests/reference/margins_by_at_reference.R:
counterfactual predictions, the delta method with sandwich::vcovCL(cluster = ~office, type = "HC0"))."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import famtrial
from famtrial.errors import PostEstimationError

REF = Path(__file__).parents[1] / "reference"
RTOL = 1e-7  # R's gradient is by central differences (h = 1e-6)


@pytest.fixture(scope="module")
def fit():
    d = pd.read_csv(REF / "event_study" / "data.csv")
    d["region"] = np.array(["north", "south", "west"])[d["office"].str[1:].astype(int) % 3]
    return famtrial.logit("y ~ arm + x + C(region) + post", d, vcov={"CRV1": "office"})


@pytest.fixture(scope="module")
def r():
    return pd.read_csv(REF / "margins" / "by_at.csv", dtype={"key": str})


def _check(out, ref, column="ame"):
    np.testing.assert_allclose(out[column].to_numpy(), ref["estimate"].to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(out["se"].to_numpy(), ref["se"].to_numpy(), rtol=RTOL)


def test_by(fit, r):
    out = fit.margins("x", by="arm")
    assert out["arm"].tolist() == [0, 1] and (out["type"] == "derivative").all()
    _check(out, r[r["what"] == "by_arm"])


def test_at(fit, r):
    out = fit.margins("arm", discrete=True, at={"x": [-1, 1]})
    assert out["x"].tolist() == [-1, 1]
    _check(out, r[r["what"] == "at_x"])


def test_contrasts_of_a_multi_level_category(fit, r):
    out = fit.margins("region", discrete=True)
    assert out["type"].tolist() == ["contrast south - north", "contrast west - north"]
    _check(out, r[r["what"] == "contrast"])


def test_ratios(fit, r):
    out = fit.margins(["region", "arm"], discrete=True, comparison="ratio")
    assert out["type"].tolist() == ["ratio south / north", "ratio west / north", "ratio 1 / 0"]
    _check(out, r[r["what"] == "ratio"], "ratio")
    np.testing.assert_allclose(out["z"], (out["ratio"] - 1) / out["se"])  # tests ratio = 1
    both = fit.margins("arm", discrete=True, comparison="ratio", by="region", at={"post": 1})
    assert list(both.columns[:3]) == ["region", "post", "ratio"]
    _check(both, r[r["what"] == "ratio_by_region_at_post"], "ratio")


def test_default_output_is_unchanged(fit):
    out = fit.margins("x")
    assert list(out.columns) == ["ame", "se", "z", "p", "ci_low", "ci_high", "type"] and len(out) == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"variables": "x", "comparison": "ratio"}, "are derivatives"),
        ({"variables": "x", "comparison": "odds"}, "comparison='odds' is not one of"),
        ({"variables": "x", "by": "nope"}, "by='nope' is not a column"),
        ({"variables": "x", "at": {"nope": 1}}, "at= columns \\['nope'\\]"),
        ({"variables": "x", "discrete": True}, "not 0/1"),
        ({"variables": "region"}, "list them in discrete="),
    ],
)
def test_errors(fit, kwargs, match):
    with pytest.raises(PostEstimationError, match=match):
        fit.margins(**kwargs)


@pytest.mark.needs_r
def test_reference_script_reproduces_stored_values(tmp_path):
    """Re-run the R script in a scratch copy of the layout (it reads the event-study data) and compare."""
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    if subprocess.run(["Rscript", "-e", "library(sandwich)"], capture_output=True).returncode != 0:
        pytest.skip("R package sandwich not installed")
    reference = tmp_path / "repo" / "tests" / "reference"
    (reference / "event_study").mkdir(parents=True)
    shutil.copy(REF / "margins_by_at_reference.R", reference)
    shutil.copy(REF / "event_study" / "data.csv", reference / "event_study")
    subprocess.run(
        ["Rscript", "tests/reference/margins_by_at_reference.R"], cwd=tmp_path / "repo", check=True, capture_output=True
    )
    new = pd.read_csv(reference / "margins" / "by_at.csv")
    old = pd.read_csv(REF / "margins" / "by_at.csv")
    pd.testing.assert_frame_equal(new.drop(columns="software"), old.drop(columns="software"), rtol=1e-9)
