"""docs/walkthrough.ipynb (executed by the docs build) runs top to bottom from an empty folder, committed without outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "docs" / "walkthrough.ipynb"


def test_walkthrough_is_committed_without_outputs_and_uses_shipped_data():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(not cell.get("outputs") for cell in code)
    source = "\n".join(cell.source for cell in code)
    assert "famtrial.examples.panel" in source and "data/" not in source and "read_parquet" not in source


@pytest.mark.slow
def test_walkthrough_executes_from_an_empty_folder(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("maketables")
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    nb = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("Conditional (fixed-effects) logit" in h and "&lt;0.001" in h for h in html)  # the Summary's HTML
    assert any("<caption>Wald test</caption>" in h for h in html)
    assert any("True" in o.get("text", "") for o in outputs)  # famtrial's and statsmodels' SEs agree
