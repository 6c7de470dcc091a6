"""Multiple estimation (sw, sw0, csw, csw0, several outcomes) and the tables that take the collection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import famtrial
from famtrial.errors import FormulaError
from famtrial.models.multiple import expand_formula, is_multiple

REF = Path(__file__).parents[1] / "reference" / "event_study"


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(REF / "data.csv").assign(z=lambda d: 1 - d["y"])


@pytest.mark.parametrize(
    "formula, expected",
    [
        ("y ~ a + sw(b, c)", ["y ~ a + b", "y ~ a + c"]),
        ("y ~ a + sw0(b, c)", ["y ~ a", "y ~ a + b", "y ~ a + c"]),
        ("y ~ csw(b, c) + a", ["y ~ b + a", "y ~ b + c + a"]),
        ("y ~ a + csw0(b, C(m, Treatment(2)))", ["y ~ a", "y ~ a + b", "y ~ a + b + C(m, Treatment(2))"]),
        ("y1 + y2 ~ a", ["y1 ~ a", "y2 ~ a"]),
        ("y1 + y2 ~ sw(a, b) | g", ["y1 ~ a | g", "y1 ~ b | g", "y2 ~ a | g", "y2 ~ b | g"]),
    ],
)
def test_expand_formula(formula, expected):
    assert is_multiple(formula)
    assert [f for _, f in expand_formula(formula)] == expected


def test_single_formulas_are_not_multiple():
    for f in ("y ~ a + I(a + b)", "y ~ switch + cswx", "y ~ C(month) | parent"):
        assert not is_multiple(f)


@pytest.mark.parametrize("formula", ["y ~ sw(a) + csw(b)", "y ~ a:sw(b, c)", "y ~ a + csw()"])
def test_expand_formula_errors(formula):
    with pytest.raises(FormulaError):
        expand_formula(formula)


def test_fit_multiple_equals_the_single_fits(panel):
    fc = famtrial.fit_multiple(
        "y + z ~ treat + csw0(x, C(month)) | parent", panel, model="clogit", vcov={"CRV1": "office"}
    )
    assert len(fc) == 6 and list(fc)[1] == "y ~ treat + x"
    for label, res in fc.items():
        single = famtrial.clogit(expand_formula(label + " | parent")[0][1], panel, vcov={"CRV1": "office"})
        pd.testing.assert_series_equal(res.params, single.params)
        pd.testing.assert_series_equal(res.bse, single.bse)
    assert fc[0] is fc["y ~ treat"]
    tidy = fc.tidy()
    assert list(tidy.columns[:2]) == ["model", "term"] and set(tidy["model"]) == set(fc)
    table = famtrial.compare_models(fc)
    assert list(dict.fromkeys(table.display.columns.get_level_values(0))) == list(fc)


def test_front_doors_point_at_fit_multiple(panel):
    with pytest.raises(FormulaError, match="fit_multiple"):
        famtrial.logit("y ~ csw(x, arm)", panel)
    with pytest.raises(FormulaError, match="fit_multiple"):
        famtrial.clogit("y + z ~ x | parent", panel)
    with pytest.raises(FormulaError, match="model 'y ~ nope'"):
        famtrial.fit_multiple("y ~ sw(x, nope)", panel)


def test_mixed_table_notes_say_which_convention(panel):
    a = famtrial.logit("y ~ treat + x", panel, vcov={"CRV1": "office"})
    b = famtrial.logit("y ~ treat + x", panel, vcov={"CRV1": "office"}, adjustment="statsmodels")
    c = famtrial.logit("y ~ treat + x", panel, vcov={"CRV3": "office"})
    d = famtrial.logit("y ~ treat + x", panel, vcov={"CRV1": "office + month"})
    notes = famtrial.compare_models({"stata": a, "sm": b, "jk": c, "2way": d}).notes
    assert "stata: cluster-robust SE" in notes and "stata factor 1.067" in notes and "statsmodels factor" in notes
    assert "jk: CRV3 jackknife SE (leave-one-cluster-out, G = 16; centred on the replicate mean)" in notes
    assert "2way: two-way cluster-robust SE (office + month, G = 16 and 14" in notes
