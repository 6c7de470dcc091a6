"""report.html: one self-contained page with every table and figure of a reproduce run."""

from __future__ import annotations

import base64
import io
import re

import pandas as pd
import pytest

import famtrial
from famtrial.data.panel import LoadReport
from famtrial.plan.spec import load_plan
from famtrial.published.verify import load_spec
from famtrial.report.html import ReportFigure, write_report
from famtrial.table import Table


@pytest.fixture(scope="module")
def casework(tmp_path_factory):
    out = tmp_path_factory.mktemp("casework")
    return famtrial.reproduce(None, out, plan="plans/casework.toml", inference=False, progress=False)


@pytest.mark.slow  # over 8 s: the full set runs it (the fast tier stays under two minutes)
def test_casework_report_holds_every_table_and_figure(casework):
    assert casework.report == casework.out / "report.html" and casework.report in casework.files
    page = casework.report.read_text(encoding="utf-8")
    plan = casework.plan
    md_tables = sorted(p for p in casework.files if p.suffix == ".md")
    assert len(md_tables) >= 5
    for path in md_tables:  # each table's title (the Markdown's bold caption) is a caption of the page
        title = path.read_text(encoding="utf-8").splitlines()[0].strip("*")
        assert f"<caption>{title}</caption>".replace("&", "&amp;") in page, title
    for series in plan.series:  # each monthly series' table
        frame = pd.read_csv(casework.out / f"monthly_{series.name}.csv")
        assert frame["month"].iloc[-1] in page
    # every figure, embedded as a PNG that decodes
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    figures = [p for p in casework.files if p.suffix == f".{plan.formats[0]}"]
    assert len(images) == len(figures) == 1 + len(plan.series)
    assert all(base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n" for data in images)
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', page) and "<script" not in page
    # sample flow and drop counts
    report = famtrial.load_panel(plan.resolve_data(), plan).report
    assert f"<td>{report.rows_read:,}</td>" in page and "Sample flow" in page and "rows kept" in page
    # nothing from the family-coordinator trial; the casework plan has no published spec, so no verify section
    assert plan.resolve_published() is None and "famtrial verify" not in page
    for word in ("coordinator", "HOLF", "NCT03102775", "activation programmes", "Table 6"):
        assert word not in page, word


def test_report_verify_section_counts_statuses(tmp_path):
    """With a published spec the page shows verify's summary at default tolerances, counted by status."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan = load_plan("nct03102775")
    spec = load_spec(plan.resolve_published())
    keys = [k for k in spec.numbers if k.startswith("table5.model1.")]
    numbers = {k: spec.numbers[k].value for k in keys}  # these match exactly: ok
    numbers[keys[0]] = spec.numbers[keys[0]].value + 1.0  # one drifts: FAIL
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    table = Table(pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": ["1.00"]}), title="Table 9. A & B")
    path = write_report(
        tmp_path / "report.html",
        plan=plan,
        tables=[table],
        figures=[ReportFigure("Figure 9. Drift", png.getvalue())],
        sample_summary="Analysis sample: rule",
        load_report=LoadReport(rows_read=12, rows_kept=10, dropped_missing={"married": 2}, rows_dropped_missing=2),
        numbers=numbers,
    )
    page = path.read_text(encoding="utf-8")
    n_missing = len(spec.numbers) - len(keys)
    n_note = sum(1 for k in keys[1:] if spec.numbers[k].inconsistent)
    assert "Published numbers (famtrial verify, default tolerances)" in page
    assert (
        f"verify: {len(spec.numbers)} published numbers: {len(keys) - 1 - n_note} ok, 1 FAIL, {n_missing} missing"
        in page
    )
    assert "<th>FAIL</th>\n      <td>1</td>" in page and f"<th>missing</th>\n      <td>{n_missing}</td>" in page
    assert "<caption>Table 9. A &amp; B</caption>" in page and "<figcaption>Figure 9. Drift</figcaption>" in page
    assert "<th>rows missing married</th>" in page
