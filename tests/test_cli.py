"""The command line: one clear message and exit 2 on every user error, never a traceback; plan init/check/show.

Every sub-command runs in process (``famtrial.cli.main([...])``, output read with ``capsys``); three
smoke tests, marked ``subprocess``, run the real ``famtrial`` entry: ``python -m famtrial``, the lazy
``import famtrial`` in a fresh interpreter, and ``famtrial verify | head`` into a closed pipe.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import famtrial as ft
from conftest import make_panel_frame
from famtrial.cli import main
from famtrial.plan.spec import load_plan

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}
ENV.pop("FAMTRIAL_TRACEBACK", None)


@dataclass
class Result:
    """What the command returned and printed (the shape of ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def famtrial(capsys, monkeypatch):
    """``famtrial(*args, cwd=...)``: ``famtrial ARGS`` in process, as the console script runs it."""
    monkeypatch.delenv("FAMTRIAL_TRACEBACK", raising=False)

    def run(*args: str, cwd: Path | None = None) -> Result:
        capsys.readouterr()
        with monkeypatch.context() as m:
            if cwd is not None:
                m.chdir(cwd)
            code = main(list(args))
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def famtrial_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m famtrial ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "famtrial", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=600,
    )


def _user_error(result: Result | subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr  # one clear message
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# -- the real entry point (subprocess smoke tests) -------------------------------------------------
@pytest.mark.subprocess
def test_module_entry_version_and_a_user_error():
    assert famtrial_process("--version").stdout.strip() == f"famtrial {ft.__version__}"
    shown = famtrial_process("--help")
    assert shown.returncode == 0 and "famtrial plan init my_panel.parquet > plan.toml" in shown.stdout
    assert famtrial_process().returncode == 2
    _user_error(famtrial_process("fly"), "unknown command 'fly'")
    _user_error(famtrial_process("plan", "check", "nowhere.toml"), "plan 'nowhere.toml' does not exist")


@pytest.mark.subprocess
def test_import_is_lazy():
    code = "import famtrial, sys; print('matplotlib' in sys.modules, 'numba' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"]


@pytest.mark.subprocess
def test_verify_into_a_closed_pipe(tmp_path):
    pd.DataFrame({"key": ["sample.offices_included"], "value": [14]}).to_csv(tmp_path / "reproduced.csv", index=False)
    shell = subprocess.run(
        f"{sys.executable} -m famtrial verify --results {tmp_path / 'reproduced.csv'} --allow-missing | head -1",
        shell=True,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert "BrokenPipe" not in shell.stderr and "Traceback" not in shell.stderr


# -- in process ------------------------------------------------------------------------------------
def test_version_and_help(famtrial):
    assert famtrial("--version").stdout.strip() == f"famtrial {ft.__version__}"
    assert famtrial("-V").stdout.strip() == f"famtrial {ft.__version__}"
    shown = famtrial("--help")
    assert shown.returncode == 0 and "famtrial plan init my_panel.parquet > plan.toml" in shown.stdout
    bare = famtrial()
    assert bare.returncode == 2 and "famtrial plan init my_panel.parquet > plan.toml" in bare.stderr
    _user_error(famtrial("fly"), "unknown command 'fly'")


def test_every_public_name_resolves():
    assert set(ft.__all__) <= set(dir(ft)) and callable(ft.load_plan)
    assert all(getattr(ft, name) is not None for name in ft.__all__)
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
def test_user_errors_are_one_line(famtrial, args, fragments, tmp_path):
    _user_error(famtrial(*args, cwd=tmp_path), *fragments)


def test_bad_files_and_plans(famtrial, tmp_path):
    (tmp_path / "empty.csv").write_text("")
    _user_error(famtrial("reproduce", "--data", "empty.csv", cwd=tmp_path), "'empty.csv' is empty (0 bytes)")
    make_panel_frame().head(30).to_csv(tmp_path / "semi.csv", sep=";", index=False)
    _user_error(famtrial("reproduce", "--data", "semi.csv", cwd=tmp_path), "looks like ';'-separated", "--sep ';'")
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


def test_plan_init_check_show(famtrial, tmp_path):
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


def test_sep_from_the_plan_or_the_command_line_and_months_checked(famtrial, tmp_path):
    """A ';'-separated panel reads with --sep or [data] sep; a baseline month without rows stops plan check."""
    frame = make_panel_frame().rename(columns={"parent_id": "person", "family_id": "household", "office": "site"})
    frame.to_csv(tmp_path / "semi.csv", index=False, sep=";")
    init = famtrial("plan", "init", "semi.csv", "--sep", ";", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    plan = load_plan(init.stdout)
    assert plan.sep == ";" and (plan.parent, plan.family, plan.office) == ("person", "household", "site")
    (tmp_path / "plan.toml").write_text(init.stdout)
    assert famtrial("plan", "check", "plan.toml", cwd=tmp_path).returncode == 0
    comma = init.stdout.replace('sep = ";"\n', "")
    (tmp_path / "comma.toml").write_text(comma)
    _user_error(famtrial("plan", "check", "comma.toml", cwd=tmp_path), "[data] sep", "--sep ';'")
    assert famtrial("plan", "check", "comma.toml", "--sep", ";", cwd=tmp_path).returncode == 0
    last = str(pd.Period(load_plan(init.stdout).implementation, "M") + 40)
    late = init.stdout.replace(f'baseline = "{plan.baseline}"', f'baseline = "{last}"')
    (tmp_path / "late.toml").write_text(late)
    _user_error(famtrial("plan", "check", "late.toml", cwd=tmp_path), f"[months] baseline = '{last}' has no rows")


# -- the sub-commands that do the work, in process (their parsers: test_cli_parsers.py) ---------------
@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """``famtrial reproduce`` on conftest's small panel (120 families, 6 offices, 12 months), no inference."""
    folder = tmp_path_factory.mktemp("reproduce")
    make_panel_frame().to_csv(folder / "small.csv", index=False)
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        with pytest.warns(ft.FewClustersWarning, match="only G = 6 clusters"):
            code = main(["reproduce", "--data", "small.csv", "--out", "out", "--skip-inference", "--quiet"])
    finally:
        os.chdir(cwd)
    return code, folder / "out"


def test_reproduce_writes_every_table_and_figure(reproduced):
    code, out = reproduced
    assert code == 0
    names = {p.name for p in out.iterdir()}
    assert {"table2.md", "table5.md", "table6.md", "figure1.png", "reproduced.csv", "report.html"} <= names
    numbers = pd.read_csv(out / "reproduced.csv").set_index("key")["value"]
    assert float(numbers["sample.offices_included"]) == 6


def test_reproduce_writes_a_manifest_and_names_the_data_by_file(reproduced):
    """manifest.json lists every file with its hash, the plan's hash and the data's; report.html shows no folder."""
    from famtrial._paths import file_sha256
    from famtrial.published.manifest import check_results

    _, out = reproduced
    manifest = check_results(out)
    data_hash = file_sha256(out.parent / "small.csv")
    assert manifest.complete and manifest.data == {"name": "small.csv", "sha256": data_hash}
    assert manifest.plan == {"name": load_plan("nct03102775").name, "hash": load_plan("nct03102775").hash}
    assert set(manifest.files) == {p.name for p in out.iterdir() if not p.name.startswith(".")} - {"manifest.json"}
    assert manifest.command.startswith("famtrial reproduce --data small.csv")
    page = (out / "report.html").read_text(encoding="utf-8")
    assert f"source: small.csv (sha256 {data_hash})" in page and str(out.parent) not in page


def test_verify_on_the_output(famtrial, reproduced):
    _, out = reproduced
    drift = famtrial("verify", "--results", str(out), "--allow-missing", "--failures-only")
    assert drift.returncode == 1 and "FAIL" in drift.stdout  # a small simulated panel is not the paper
    _user_error(famtrial("verify", "--results", str(out), "--tolerance", "table6"), "--tolerance takes PATTERN=VALUE")


def test_power_and_synthesize(famtrial, tmp_path):
    from famtrial._paths import data_dir

    casework = data_dir() / "synthetic" / "casework.toml"
    (tmp_path / "scenario.toml").write_text(
        f'design = "{casework.as_posix()}"\noutcome = "work"\nn_sims = 2\nseed = 4\ntests = ["t"]\n'
        '[analysis]\nthreshold = 0.25\nunit = "parent"\n'
        "[grid]\neffect_or = [1.5]\noffices = [4]\nmonths_pre = 3\nmonths_post = 3\nfamilies_per_office = [[20, 25]]\n"
    )
    with pytest.warns(ft.FewClustersWarning):
        power = famtrial("power", "scenario.toml", "--out", "power", "--quiet", cwd=tmp_path)
    assert power.returncode == 0 and "effect_or = 1.5, offices = 4" in power.stdout
    assert {p.name for p in (tmp_path / "power").iterdir()} >= {"power.csv", "simulations.csv", "power.md"}
    replica = famtrial("synthesize", "--out", "synthetic", "--no-csv", cwd=tmp_path)
    assert replica.returncode == 0 and "trial_panel.parquet" in replica.stdout
    shipped = (data_dir() / "synthetic" / "trial_panel.sha256").read_text().strip()
    assert (tmp_path / "synthetic" / "trial_panel.sha256").read_text().strip() == shipped
