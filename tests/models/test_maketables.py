"""maketables renders famtrial results (its plug-in interface) beside statsmodels models; Table saves .docx."""

import numpy as np
import pandas as pd
import pytest

from famtrial.models.formula import clogit, logit
from famtrial.table import Table

maketables = pytest.importorskip("maketables")
docx = pytest.importorskip("docx")
sm = pytest.importorskip("statsmodels.api")


@pytest.fixture(scope="module")
def fits():
    d = pd.read_csv("tests/reference/logit/data.csv")
    p = pd.read_csv("tests/reference/clogit/panel_data.csv")
    ours = logit("y ~ arm + rwc + age", d, vcov={"CRV1": "cl"})
    fe = clogit("y ~ x1 + x2 | g", p, vcov={"CRV1": "cl"})
    x = sm.add_constant(d[["arm", "rwc"]])
    theirs = sm.Logit(d["y"], x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": d["cl"]})
    return ours, fe, theirs


def test_plugin_attributes(fits):
    ours, fe, _ = fits
    table = ours.__maketables_coef_table__
    assert list(table.columns) == ["b", "se", "t", "p", "ci95l", "ci95u"]
    np.testing.assert_allclose(table["se"], ours.bse, rtol=0)
    assert ours.__maketables_stat__("N") == 1500 and ours.__maketables_stat__("se_type") == "by: cl"
    assert ours.__maketables_stat__("n_clusters") == 15 and ours.__maketables_stat__("nope") is None
    assert ours.__maketables_depvar__ == "y" and ours.__maketables_fixef_string__ is None
    assert fe.__maketables_fixef_string__ == "g" and fe.__maketables_stat__("n_groups") == fe.n_groups
    assert ours.__maketables_vcov_info__ == {"vcov_type": "CRV1", "clustervar": "cl"}
    assert ours.vcov("hetero").__maketables_stat__("se_type") == "hetero"


def test_etable_renders_famtrial_beside_statsmodels(fits, tmp_path):
    ours, fe, theirs = fits
    table = maketables.ETable([ours, fe, theirs])
    tex = table.make(type="tex")
    html = table.make(type="html")
    for value in (
        f"{ours.params['arm']:.3f}",
        f"({ours.bse['arm']:.3f})",
        f"{fe.params['x1']:.3f}",
        f"{theirs.params['arm']:.3f}",
    ):
        assert value in tex
    assert "1,500" in tex and f"{fe.nobs:,}" in tex
    assert "Pseudo" in tex
    assert f"{ours.params['arm']:.3f}" in str(html)
    out = tmp_path / "etable.docx"
    table.save(type="docx", file_name=str(out), show=False)
    text = "\n".join(c.text for t in docx.Document(str(out)).tables for r in t.rows for c in r.cells)
    assert f"{ours.params['arm']:.3f}" in text and f"{fe.params['x2']:.3f}" in text


def test_table_saves_docx(tmp_path):
    frame = pd.DataFrame(
        {("Model 1", "OR"): [1.25, 0.8], ("Model 1", "SE"): [0.1, 0.05], ("Model 2", "OR"): [1.3, 0.7]},
        index=pd.Index(["treat", "married"], name="term"),
    )
    display = frame.map(lambda v: f"{v:.2f}")
    path = Table(frame, display, title="Table 5", notes="Cluster-robust SE.").save(tmp_path / "t.docx")
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Table 5" and paragraphs[-1] == "Cluster-robust SE."
    rows = [[c.text for c in r.cells] for r in document.tables[0].rows]
    assert rows[0] == ["", "Model 1", "Model 1", "Model 2"]  # Model 1 is one merged cell over OR and SE
    assert rows[1] == ["term", "OR", "SE", "OR"]
    assert rows[2] == ["treat", "1.25", "0.10", "1.30"] and rows[3] == ["married", "0.80", "0.05", "0.70"]
    with pytest.raises(ValueError, match=r"use one of \['.csv', '.docx', '.html', '.md', '.tex'\]"):
        Table(frame, display).save(tmp_path / "t.pdf")
