"""Every python block of README.md and docs/*.md runs as written, as a pip user would run it.

Each file's blocks run in order in one namespace, in a fresh empty folder outside the checkout, against
the imported (installed) package: the files the examples read (``my_panel.parquet``, ``my_plan.toml``,
``results/``) are made by the docs' own blocks (``famtrial.examples.write_user_files()``,
``famtrial.reproduce``), and no block reads a path of the source checkout (checked below).
docs/ecosystem.md also runs in the fast tier (tests/models/test_formula.py).
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
    if BLOCK.search(p.read_text(encoding="utf-8"))
]
#: paths that exist only in a source checkout
CHECKOUT_PATHS = re.compile(r"""["'](?:\./)?(?:data|plans|tests|src|notebooks|benchmarks)/""")


@pytest.fixture
def workdir(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


def test_the_docs_have_python_examples():
    assert {p.name for p in DOCS} >= {"README.md", "user_guide.md", "plan.md", "user_guide_data.md", "ecosystem.md"}


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_block_reads_the_checkout(doc):
    for i, block in enumerate(BLOCK.findall(doc.read_text(encoding="utf-8")), start=1):
        assert not CHECKOUT_PATHS.search(block), f"{doc.name}, python block {i} reads a path of the source checkout"


def test_user_files_are_not_overwritten(tmp_path):
    import famtrial

    (tmp_path / "my_plan.toml").write_text("# the user's own plan")
    with pytest.raises(famtrial.ExistingFileError, match=r"my_plan.toml exist\(s\): pass overwrite=True"):
        famtrial.examples.write_user_files(tmp_path)
    assert (tmp_path / "my_plan.toml").read_text() == "# the user's own plan"
    assert not (tmp_path / "my_panel.parquet").exists()


@pytest.mark.slow
def test_the_user_files_are_the_renamed_replica(tmp_path):
    """famtrial.examples.write_user_files gives the docs' my_panel.parquet/my_plan.toml: the same panel as the
    tests' renamed replica (conftest), which loads under the plan that maps it."""
    import pandas as pd

    import famtrial

    files = famtrial.examples.write_user_files(tmp_path)
    data, plan_text = renamed_replica()
    pd.testing.assert_frame_equal(pd.read_parquet(files["panel"]), data)
    assert files["plan"].read_text(encoding="utf-8") == plan_text
    with pytest.raises(famtrial.ExistingFileError, match="my_panel.parquet"):
        famtrial.examples.write_user_files(tmp_path)


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
    assert not (workdir / "data").exists() and not (workdir / "plans").exists()
