"""Every python block of README.md and docs/*.md runs as written, on data named the user's way.

Each file's blocks run in order in one namespace, in a folder that holds ``my_panel.parquet`` (the
shipped replica with every column renamed and recoded), ``my_plan.toml`` (the plan that maps it) and
``results/`` (``famtrial reproduce`` on the replica), the files the docs' examples name.
docs/ecosystem.md runs in its own test (tests/models/test_postestimation.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from conftest import renamed_replica  # noqa: E402

ROOT = Path(__file__).parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOCS = [
    p
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if BLOCK.search(p.read_text(encoding="utf-8")) and p.name != "ecosystem.md"
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    import famtrial

    folder = tmp_path_factory.mktemp("docs")
    data, plan_text = renamed_replica()
    data.to_parquet(folder / "my_panel.parquet")
    (folder / "my_plan.toml").write_text(plan_text, encoding="utf-8")
    famtrial.reproduce(None, folder / "results", inference=False, progress=False)
    return folder


def test_the_docs_have_python_examples():
    assert {p.name for p in DOCS} >= {"README.md", "user_guide.md", "plan.md", "user_guide_data.md"}


@pytest.mark.slow
# the docs' power example simulates trials of 5-6 offices, where the warning is what a reader sees too
@pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_python_blocks_run(doc, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    namespace: dict = {"__name__": f"docs_{doc.stem}", "display": print}
    for i, block in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8")), start=1):
        try:
            exec(compile(block, f"{doc.name} block {i}", "exec"), namespace)  # noqa: S102 - our own docs
        except Exception as exc:  # name the block that broke
            raise AssertionError(f"{doc.name}, python block {i} fails: {type(exc).__name__}: {exc}") from exc
        finally:
            plt.close("all")
    assert os.getcwd() == str(workdir)
