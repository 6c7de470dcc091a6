"""maketables picks famtrial's extractor (outcome header, FE mark, S.E. type, clusters, groups, odds ratios) beside
pyfixest and statsmodels models, to LaTeX, HTML, Typst and Word; statsmodels' summary_col reads famtrial results."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import famtrial
from famtrial.models.tables import FamtrialExtractor, exponentiate

maketables = pytest.importorskip("maketables")
docx = pytest.importorskip("docx")
smf = pytest.importorskip("statsmodels.formula.api")


@pytest.fixture(scope="module")
def panel():
    return pd.read_csv("tests/reference/clogit/panel_data.csv").rename(columns={"y": "activation", "g": "parent"})


@pytest.fixture(scope="module")
def fits(panel):
    fe = famtrial.clogit("activation ~ x1 + x2 | parent", panel, vcov={"CRV1": "cl"})
    cross = famtrial.logit("activation ~ x1 + x2", panel, vcov="hetero")
    theirs = smf.logit("activation ~ x1 + x2", panel).fit(disp=0, cov_type="cluster", cov_kwds={"groups": panel["cl"]})
    return fe, cross, theirs


def test_maketables_picks_famtrials_extractor_first(fits):
    fe, cross, theirs = fits
    from maketables.extractors import _EXTRACTOR_REGISTRY, get_extractor

    assert isinstance(_EXTRACTOR_REGISTRY[0], FamtrialExtractor)
    assert sum(isinstance(e, FamtrialExtractor) for e in _EXTRACTOR_REGISTRY) == 1
    assert isinstance(get_extractor(fe), FamtrialExtractor) and isinstance(
        get_extractor(exponentiate(fe)), FamtrialExtractor
    )
    assert not isinstance(get_extractor(theirs), FamtrialExtractor)  # statsmodels keeps its own


def _rows(tex: str) -> dict[str, list[str]]:
    """LaTeX body rows ``label & a & b \\`` as {label: [a, b]}."""
    out = {}
    for line in tex.splitlines():
        if line.count("&") >= 1 and line.rstrip().endswith("\\\\") and "makecell" not in line:
            cells = [c.strip() for c in line.rstrip()[:-2].split("&")]
            out[cells[0]] = cells[1:]
    return out


def test_etable_with_pyfixest_and_statsmodels_reads_famtrial_right(fits, panel, tmp_path):
    pf = pytest.importorskip("pyfixest")
    fe, cross, theirs = fits
    lpm = pf.feols("activation ~ x1 + x2 | parent", panel, vcov={"CRV1": "cl"})
    table = maketables.ETable([fe, lpm, theirs, cross])
    tex = table.make(type="tex")
    assert r"\multicolumn{4}{c}{activation}" in tex  # the outcome's name heads every column, not "y"
    rows = _rows(tex)
    assert rows["parent"] == ["x", "x", "-", "-"]  # the conditioned-out group is marked, as pyfixest's FE
    assert rows["S.E. type"] == ["by: cl", "by: cl", "cluster", "hetero"]
    assert rows["Clusters"][:2] == ["12", "12"] and rows["Groups"][0] == f"{fe.n_groups:,}"
    assert rows["Observations"] == [f"{fe.nobs:,}", f"{lpm._N:,}", f"{int(theirs.nobs):,}", f"{cross.nobs:,}"]
    assert rows["Pseudo R2"][0] == f"{fe.prsquared:.3f}"
    assert f"{fe.params['x1']:.3f}" in tex and f"({fe.bse['x1']:.3f})" in tex
    assert f"{theirs.params['x1']:.3f}" in tex and f"{lpm.coef()['x1']:.3f}" in tex
    html = table.make(type="gt").as_raw_html()
    typst = table.make(type="typst")
    for text in (html, typst):
        assert "activation" in text and "by: cl" in text and f"{fe.params['x1']:.3f}" in text
    out = tmp_path / "etable.docx"
    table.save(type="docx", file_name=str(out), show=False)
    cells = [c.text for t in docx.Document(str(out)).tables for r in t.rows for c in r.cells]
    assert "activation" in cells and "by: cl" in cells and "Groups" in cells
    assert any(f"{fe.params['x2']:.3f}" in c for c in cells)


def test_odds_ratios_through_exponentiate(fits):
    fe, _, _ = fits
    view = exponentiate(fe)
    table = FamtrialExtractor().coef_table(view)
    # Stata's `clogit, or`: exp(b), SE exp(b) se(b), the interval exp of the bounds, z and p of b
    b, se = fe.params.to_numpy(), fe.bse.to_numpy()
    np.testing.assert_allclose(table["b"], np.exp(b), rtol=1e-13)
    np.testing.assert_allclose(table["se"], np.exp(b) * se, rtol=1e-13)
    np.testing.assert_allclose(table["ci95l"], np.exp(b - 1.959963984540054 * se), rtol=1e-12)
    np.testing.assert_allclose(table["p"], fe.pvalues, rtol=0)
    tex = maketables.ETable([view, fe]).make(type="tex")
    assert f"{np.exp(b[0]):.3f}" in tex and f"{b[0]:.3f}" in tex and r"\multicolumn{2}{c}{activation}" in tex
    with pytest.raises(TypeError, match="exponentiate takes a famtrial results object; got DataFrame"):
        exponentiate(pd.DataFrame())


def test_summary_col_reads_famtrial_results(fits):
    from statsmodels.iolib.summary2 import summary_col

    fe, cross, theirs = fits
    assert fe.model.endog_names == "activation" and fe.model.exog_names == ["x1", "x2"]
    text = summary_col([fe, cross, theirs], stars=False, float_format="%.4f").as_text()
    header = text.splitlines()[2]
    # each column headed by its outcome (numbered when they repeat), as for statsmodels' own results
    assert header.split() == ["activation", "I", "activation", "II", "activation", "III"]
    for value in (fe.params["x1"], fe.bse["x2"], cross.params["x2"], theirs.params["x1"]):
        assert f"{value:.4f}" in text


@pytest.mark.subprocess
@pytest.mark.parametrize("order", ["maketables first", "famtrial first"])
def test_registration_whatever_the_import_order(order):
    imports = (
        "import maketables; import famtrial" if order == "maketables first" else "import famtrial; import maketables"
    )
    code = (
        f"{imports}; from maketables.extractors import _EXTRACTOR_REGISTRY as r; "
        "print(type(r[0]).__name__, sum(type(e).__name__ == 'FamtrialExtractor' for e in r))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["FamtrialExtractor", "1"]
