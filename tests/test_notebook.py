"""The reproduction notebook runs top to bottom (executed with nbclient; committed without outputs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "reproduce_trial.ipynb"


@pytest.mark.slow
def test_notebook_executes_and_shows_its_figures():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(not cell.get("outputs") for cell in code), "commit without outputs"
    source = "\n".join(cell.source for cell in code)
    assert "2537" not in source and "famtrial._" not in source and "from famtrial." not in source  # public API only
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3").execute()
    outputs = [o for cell in code for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "-> PASS" in text and not re.search(r"\b[1-9][0-9,]* FAIL", text)
    figures = [cell for cell in code if "plot_" in cell.source]
    assert len(figures) == 3
    for cell in figures:  # the inline backend draws: import famtrial must not switch matplotlib to Agg
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"no figure shown by: {cell.source[:60]}"
