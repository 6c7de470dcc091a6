"""The command line: one clear message and exit 2 on every user error, never a traceback; plan init/check/show."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_panel_frame
from famtrial.plan.spec import load_plan

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
ENV.pop("FAMTRIAL_TRACEBACK", None)


def famtrial(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "famtrial", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        input=input,
        timeout=600,
    )


def _user_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one clear message
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_version_help_and_module_entry():
    from famtrial import __version__

    assert famtrial("--version").stdout.strip() == f"famtrial {__version__}"
    shown = famtrial("--help")
    assert shown.returncode == 0 and "famtrial plan init my_panel.parquet > plan.toml" in shown.stdout
    assert famtrial().returncode == 2
    _user_error(famtrial("fly"), "unknown command 'fly'")


def test_import_is_lazy():
    code = "import famtrial, sys; print('matplotlib' in sys.modules, 'numba' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"]
    import famtrial as ft

    assert set(ft.__all__) <= set(dir(ft)) and callable(ft.load_plan)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        ft.nothing  # noqa: B018


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["reproduce", "--data", "nowhere.parquet"], ["panel file 'nowhere.parquet' does not exist"]),
        (["reproduce", "--plan", "nowhere.toml"], ["plan 'nowhere.toml' does not exist"]),
        (["reproduce", "--n-perm", "0"], ["argument --n-perm: 0 must be at least 1"]),
        (["reproduce", "--n-perm", "many"], ["argument --n-perm: 'many' is not a whole number"]),
        (["reproduce", "--formats", "gif", "--skip-inference"], ["unsupported figure format(s) ['gif']"]),
        (["reproduce", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["plan"], ["say init DATA, check PLAN or show PLAN"]),
        (["plan", "check", "nowhere.toml"], ["plan 'nowhere.toml' does not exist"]),
        (["plan", "init", "nowhere.csv"], ["panel file 'nowhere.csv' does not exist"]),
        (["verify", "--results", "nowhere/"], ["nowhere"]),
    ],
)
def test_user_errors_are_one_line(args, fragments, tmp_path):
    _user_error(famtrial(*args, cwd=tmp_path), *fragments)


def test_bad_files_and_plans(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    _user_error(famtrial("reproduce", "--data", "empty.csv", cwd=tmp_path), "'empty.csv' is empty (0 bytes)")
    make_panel_frame().head(30).to_csv(tmp_path / "semi.csv", sep=";", index=False)
    _user_error(famtrial("reproduce", "--data", "semi.csv", cwd=tmp_path), "looks like ';'-separated", "sep=';'")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    _user_error(famtrial("reproduce", "--data", "broken.parquet", cwd=tmp_path), "cannot be read as Parquet")
    (tmp_path / "garbage.dta").write_bytes(b"\x00\x01garbage")
    _user_error(famtrial("reproduce", "--data", "garbage.dta", cwd=tmp_path), "cannot be read as Stata .dta")
    (tmp_path / "bad.toml").write_text(
        "[trial]\nname = 'x'\n[months]\nimplementation = '2016-10'\n[models.m1]\noutcome = 'income'\n"
    )
    _user_error(
        famtrial("plan", "check", "bad.toml", cwd=tmp_path),
        "models.m1.outcome = 'income' is not an outcome of the plan",
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    _user_error(
        famtrial("reproduce", "--out", "file/sub", "--skip-inference", cwd=tmp_path),
        "cannot write to the output folder 'file/sub'",
    )


def test_plan_init_check_show(tmp_path):
    frame = make_panel_frame().rename(
        columns={"parent_id": "person", "family_id": "household", "office": "site", "activation": "act"}
    )
    frame.to_csv(tmp_path / "mine.csv", index=False)
    init = famtrial("plan", "init", "mine.csv", cwd=tmp_path)
    assert init.returncode == 0 and "GUESS" in init.stdout
    plan = load_plan(init.stdout)
    assert (plan.parent, plan.family, plan.office) == ("person", "household", "site")
    (tmp_path / "plan.toml").write_text(init.stdout)
    check = famtrial("plan", "check", "plan.toml", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "plan and data check out" in check.stdout and "rows: 1,440 read" in check.stdout
    shown = famtrial("plan", "show", "nct03102775")
    assert load_plan(shown.stdout) == load_plan("nct03102775")


def test_verify_into_a_closed_pipe(tmp_path):
    pd.DataFrame({"key": ["sample.offices_included"], "value": [14]}).to_csv(tmp_path / "reproduced.csv", index=False)
    shell = subprocess.run(
        f"{sys.executable} -m famtrial verify --results {tmp_path} --allow-missing | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert "BrokenPipe" not in shell.stderr and "Traceback" not in shell.stderr
