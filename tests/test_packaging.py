"""Packaging: the wheel's data (Parquet replica, not its CSV twin), py.typed, LICENSE, one version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import famtrial

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_wheel_ships_every_synthetic_file_but_the_csv_twin():
    shipped = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    synthetic = {
        str(p.relative_to(ROOT)) for p in (ROOT / "data" / "synthetic").iterdir() if p.is_file() and p.suffix != ".pyc"
    }
    listed = {source for source in shipped if source.startswith("data/synthetic")}
    assert "data/synthetic/trial_panel.csv" in synthetic  # the twin exists in the source tree ...
    # ... and is left out with the developer script that regenerates the replica
    assert listed == synthetic - {"data/synthetic/trial_panel.csv", "data/synthetic/calibrate.py"}
    assert all(shipped[s] == "famtrial/_data/" + s.removeprefix("data/") for s in listed)


def test_typed_licensed_versioned():
    assert (ROOT / "src" / "famtrial" / "py.typed").is_file()
    assert "MIT License" in (ROOT / "LICENSE").read_text() and "famtrial developers" in (ROOT / "LICENSE").read_text()
    project = _pyproject()["project"]
    assert "version" in project["dynamic"] and "statsmodels>=0.14" not in project["dependencies"]
    assert f"## {famtrial.__version__} " in (ROOT / "CHANGELOG.md").read_text()


def test_wheel_ships_no_developer_script():
    shipped = _pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert not [source for source in shipped if source.endswith(".py")]
    assert not [source for source in shipped if (ROOT / source).is_dir() and any((ROOT / source).rglob("*.py"))]
    assert "data/published/trial.toml" in shipped  # the published numbers' spec, without transcribe.py
