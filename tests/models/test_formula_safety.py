"""Formula errors (issue 25): Python syntax errors are FormulaError; a one-level C() term is recorded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import famtrial as ft
from famtrial.errors import FormulaError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 300
    return pd.DataFrame(
        {"y": rng.integers(0, 2, n), "x": rng.normal(size=n), "g": ["only"] * n, "h": rng.integers(0, 3, n)}
    )


@pytest.mark.parametrize("formula", ["y ~ I(x +* 2)", "y ~ I(x ==)", "y ~ x + I(", "y ~ x +"])
def test_syntax_errors_are_formula_errors(data, formula):
    with pytest.raises(FormulaError, match="cannot read formula") as err:
        ft.logit(formula, data)
    assert "\x1b[" not in str(err.value)  # no terminal colour codes in the message


def test_one_level_categorical_is_recorded(data):
    fit = ft.logit("y ~ x + C(g) + C(h)", data)
    records = [d for d in fit.dropped if d.kind == "variable"]
    assert [r.names for r in records] == [("C(g)",)]
    assert "one level in the data (['only'])" in records[0].describe()
    assert not any("C(g)" in name for name in fit.params.index)
    assert any("C(h)" in name for name in fit.params.index)  # a term with levels stays


def test_docs_say_formulas_are_code():
    from pathlib import Path

    import famtrial.models.formula as formula

    assert "A formula is Python code" in (formula.__doc__ or "")
    docs = Path(__file__).resolve().parents[2] / "docs" / "security.md"
    text = " ".join(docs.read_text(encoding="utf-8").split())
    assert (
        "formulas are python code" in text.lower()
        and "never fit a formula that comes from an untrusted" in text.lower()
    )


@pytest.mark.dask
def test_one_level_categorical_is_recorded_on_dask(dask_client, data):
    pytest.importorskip("dask.dataframe")
    from conftest import partitioned

    expected = ft.logit("y ~ x + C(g) + C(h)", data)
    got = ft.logit("y ~ x + C(g) + C(h)", partitioned(data, 3))
    assert got.dropped == expected.dropped and list(got.params.index) == list(expected.params.index)
