"""Every sub-command's parser, in process through ``famtrial.cli.main``: help, a bad option, a user error.

A user error is one line on stderr and exit status 2, never a traceback; help is exit 0 on stdout. The
subprocess smoke tests of the console script are in ``test_cli.py``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from famtrial import cli
from famtrial._paths import data_dir
from famtrial.errors import ConvergenceError, DesignError

COMMANDS = ("reproduce", "plan", "verify", "freeze", "export", "audit", "power", "simulate", "synthesize")
CASEWORK = data_dir() / "synthetic" / "casework.toml"


@pytest.fixture(autouse=True)
def _no_traceback(monkeypatch):
    monkeypatch.delenv("FAMTRIAL_TRACEBACK", raising=False)


def _one_line(capsys, argv: list[str], code: int = 2) -> str:
    """Run ``famtrial ARGV`` in process; assert the exit status and one line on stderr; return that line."""
    assert cli.main(argv) == code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_the_command_table_is_the_help_text():
    assert tuple(cli.COMMANDS) == COMMANDS
    for command in COMMANDS:
        assert f"  {command} " in cli._HELP


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command, capsys):
    assert cli.main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: famtrial {command}")


#: each command's required arguments, so that the parser reaches the unknown option
REQUIRED = {
    "verify": ["--results", "r"],
    "freeze": ["--results", "r"],
    "export": ["--plan", "p", "--to", "r"],
    "power": ["s.toml"],
    "simulate": ["--design", "d.toml", "--out", "x.csv"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_option_is_one_line(command, capsys):
    line = _one_line(capsys, [command, *REQUIRED.get(command, []), "--bogus"])
    assert line.endswith("unrecognized arguments: --bogus (see 'famtrial " + command + " --help')")
    assert f"famtrial {command}: " in line and "--bogus" in line and f"(see 'famtrial {command} --help')" in line


def test_top_level(capsys):
    assert cli.main(["--version"]) == 0 and capsys.readouterr().out.startswith("famtrial ")
    assert cli.main(["--help"]) == 0 and "Your own trial in three steps" in capsys.readouterr().out
    assert cli.main([]) == 2 and "usage: famtrial" in capsys.readouterr().err
    assert "unknown command 'fly'" in _one_line(capsys, ["fly"])


@pytest.mark.parametrize(
    "argv, words",
    [
        (["reproduce", "--n-perm", "0"], ["argument --n-perm: 0 must be at least 1"]),
        (["reproduce", "--missing", "maybe"], ["argument --missing: invalid choice: 'maybe'"]),
        (["plan"], ["say init DATA, check PLAN or show PLAN"]),
        (["plan", "show"], ["famtrial plan: ", "required: plan"]),
        (["power"], ["the following arguments are required: scenario"]),
        (["power", "s.toml", "--n-sims", "many"], ["argument --n-sims: invalid int value: 'many'"]),
        (["simulate", "--out", "x.csv"], ["the following arguments are required: --design"]),
        (["simulate", "--design", "d.toml", "--out", "x.csv", "--seed", "x"], ["argument --seed: invalid int"]),
        (["verify"], ["the following arguments are required: --results"]),
    ],
)
def test_parser_errors_name_the_option(argv, words, capsys):
    line = _one_line(capsys, argv)
    assert line.startswith(f"error: famtrial {argv[0]}")
    for word in words:
        assert word in line, line


def test_power_user_errors(tmp_path, capsys):
    assert _one_line(capsys, ["power", str(tmp_path / "nowhere.toml")]) == (
        f"famtrial power: scenario file {str(tmp_path / 'nowhere.toml')!r} does not exist"
    )
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(f'design = "{CASEWORK}"\n[analysis]\nthreshhold = 0.3\n')
    line = _one_line(capsys, ["power", str(scenario), "--out", str(tmp_path / "out")])
    assert line == f"famtrial power: {scenario}: analysis: unknown keys ['threshhold']; check their spelling"
    scenario.write_text(f'design = "{CASEWORK}"\nn_sims = 2\n[grid]\noffices = [0]\n')
    line = _one_line(capsys, ["power", str(scenario), "--quiet"])
    assert line == "famtrial power: scenario {'offices': 0}: offices=0 must be a positive int"
    scenario.write_text(f'design = "{CASEWORK}"\nn_sims = 2\n[analysis]\nunit = "household"\n')
    line = _one_line(capsys, ["power", str(scenario), "--quiet"])
    assert line == "famtrial power: unit='household' is not one of 'family', 'parent'"
    assert not (tmp_path / "out").exists()


def test_simulate_user_errors(tmp_path, capsys, monkeypatch):
    line = _one_line(capsys, ["simulate", "--design", str(tmp_path / "nowhere.toml"), "--out", "x.parquet"])
    assert line == f"famtrial simulate: design file {str(tmp_path / 'nowhere.toml')!r} does not exist"

    def no_simulation(*args, **kwargs):
        raise AssertionError("a bad --out is refused before simulating")

    monkeypatch.setattr("famtrial.simulation.design.simulate_panel", no_simulation)
    out = tmp_path / "sub" / "x.txt"
    line = _one_line(capsys, ["simulate", "--design", str(CASEWORK), "--out", str(out)])
    assert line == "famtrial simulate: --out 'x.txt': give a .parquet or .csv file"
    assert not out.parent.exists()


def test_simulate_writes_csv(tmp_path, capsys):
    from famtrial.simulation.design import load_design, simulate_panel

    out = tmp_path / "sim" / "panel.csv"
    assert cli.main(["simulate", "--design", str(CASEWORK), "--out", str(out), "--seed", "3"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: ")
    expected = simulate_panel(load_design(CASEWORK), seed=3)
    assert len(pd.read_csv(out)) == len(expected)


def test_write_panel_refuses_other_files(tmp_path):
    from famtrial.simulation.design import write_panel

    with pytest.raises(DesignError, match="'panel.xlsx': give a .parquet or .csv file"):
        write_panel(pd.DataFrame({"a": [1]}), tmp_path / "panel.xlsx")


def test_synthesize_user_error(tmp_path, capsys):
    line = _one_line(capsys, ["synthesize", "--config", str(tmp_path / "nowhere.toml"), "--out", str(tmp_path)])
    assert line.startswith("famtrial: error: ") and "nowhere.toml" in line


@pytest.fixture
def results(tmp_path):
    pd.DataFrame({"key": ["sample.offices_included"], "value": [14]}).to_csv(tmp_path / "reproduced.csv", index=False)
    return tmp_path / "reproduced.csv"  # a bare CSV (a folder needs the manifest famtrial reproduce writes)


@pytest.mark.parametrize(
    "extra, line",
    [
        (["--tolerance", "bad"], "famtrial verify: --tolerance takes PATTERN=VALUE (e.g. table5=0.01), got 'bad'"),
        (["--tolerance", "=0.1"], "famtrial verify: --tolerance takes PATTERN=VALUE (e.g. table5=0.01), got '=0.1'"),
        (["--tolerance", "tabel5=0.8"], "famtrial verify: tolerance for 'tabel5' matches no published number"),
        (["--tables", "nope"], "famtrial verify: tables: 'nope' matches no published number"),
    ],
)
def test_verify_user_errors(results, extra, line, capsys):
    assert _one_line(capsys, ["verify", "--results", str(results), *extra]).startswith(line)


def test_verify_missing_results(tmp_path, capsys):
    line = _one_line(capsys, ["verify", "--results", str(tmp_path / "nowhere")])
    assert line.startswith("famtrial verify: ") and "run `famtrial reproduce --out DIR` first" in line


def test_verify_exit_status_and_report(results, capsys):
    assert cli.main(["verify", "--results", str(results), "--tables", "sample"]) == 1
    assert "6 missing" in capsys.readouterr().out
    out = results.parent / "v" / "report.md"
    argv = ["verify", "--results", str(results), "--tables", "sample", "--allow-missing", "--failures-only"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "PASS (missing allowed)" in shown and "sample.offices_included" not in shown
    assert "sample.offices_included" in out.read_text()
    assert cli.main(["verify", "--results", str(results), "--tolerance", "sample=0.5", "--allow-missing"]) == 0


def test_audit_writes_markdown(tmp_path, capsys):
    out = tmp_path / "audit.md"
    assert cli.main(["audit", "--out", str(out)]) == 0
    assert out.read_text() in capsys.readouterr().out


def test_famtrial_errors_are_user_errors_and_others_internal(monkeypatch, capsys):
    def fails(error):
        def audit_paper(spec=None):
            raise error

        return audit_paper

    monkeypatch.setattr("famtrial.published.audit.audit_paper", fails(ConvergenceError("no convergence in 3 steps")))
    assert _one_line(capsys, ["audit"]) == "famtrial: error: no convergence in 3 steps"
    monkeypatch.setattr("famtrial.published.audit.audit_paper", fails(RuntimeError("a bug")))
    line = _one_line(capsys, ["audit"], code=3)
    assert line.startswith("famtrial: internal error (RuntimeError): a bug.")
    monkeypatch.setenv("FAMTRIAL_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["audit"])
