"""`mypy --strict` on a typical user script is clean: explicit re-exports, ``vcov()`` typed by the results' class."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the user's own configuration: pandas without pandas-stubs (famtrial does not require them) is untyped
# famtrial's own modules are found through MYPYPATH (the checkout's src/, installed or not); a user's mypy never
# reports errors inside an installed package, so neither does this one (its types are still used)
CONFIG = (
    "[mypy]\nstrict = True\n\n[mypy-pandas.*]\nignore_missing_imports = True\n\n"
    "[mypy-famtrial.*]\nignore_errors = True\n"
)


def _mypy(folder: Path, script: Path) -> subprocess.CompletedProcess[str]:
    (folder / "mypy.ini").write_text(CONFIG)
    env = {**os.environ, "MYPYPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(folder / ".mypy_cache"), str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.subprocess
def test_mypy_strict_on_a_user_script(tmp_path):
    pytest.importorskip("mypy")
    script = tmp_path / "analysis.py"  # outside the checkout: no pyproject [tool.mypy] applies
    shutil.copy(ROOT / "tests" / "typing" / "user_script.py", script)
    run = _mypy(tmp_path, script)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.slow
@pytest.mark.subprocess
def test_mypy_strict_sees_a_wrong_attribute(tmp_path):
    """The check can fail: a results attribute that does not exist is an error."""
    pytest.importorskip("mypy")
    script = tmp_path / "wrong.py"
    script.write_text(
        "import pandas as pd\nimport famtrial\n\n\ndef f(d: pd.DataFrame) -> int:\n"
        "    fit = famtrial.logit('y ~ x', d).vcov('hetero')\n    return fit.n_groups\n"
    )
    run = _mypy(tmp_path, script)
    assert run.returncode == 1 and '"LogitResults" has no attribute "n_groups"' in run.stdout, run.stdout
