"""Safe to share (issue 25): output names from a plan, the atomic results folder, its manifest, escaping.

The path cases aim at sub-folders of a temporary folder and hash the whole tree before and after:
nothing outside ``--out`` may change (and for a refused plan, nothing at all). The results folder's
writer is exercised directly (cheap); one small ``reproduce`` run checks the manifest, report.html and
verify end to end. The killed and concurrent runs are real processes: test_safe_outputs_processes.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from famtrial._paths import file_sha256, stem_problem
from famtrial.cli import main as cli_main
from famtrial.errors import PlanError, ResultsError
from famtrial.plan.spec import Plan, load_plan
from famtrial.published.manifest import MANIFEST, Manifest, check_results, read_manifest
from famtrial.published.outputs import ResultsWriter, data_identity
from famtrial.published.verify import verify
from famtrial.table import Table, csv_guard


def tree_hash(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its content hash (a link's target text, a folder's marker)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def outside(tree: dict[str, str], out: str) -> dict[str, str]:
    return {k: v for k, v in tree.items() if not (k == out or k.startswith(out + "/"))}


def plan_with(section: str, key: str, value: object, name: str = "nct03102775") -> dict:
    raw = load_plan(name).to_dict()
    target = raw
    for part in section.split("."):
        target = target.setdefault(part, {})
    target[key] = value
    return raw


# -- output names, checked when the plan is read -------------------------------------------------------------
UNSAFE = ["../README", "/abs/path", "sub/table", "..", "a\\b", ".hidden", "con", "NUL.txt", "c:x", "", "~x", "x" * 101]


@pytest.mark.parametrize("value", UNSAFE)
@pytest.mark.parametrize(
    "section, key, shown",
    [
        ("sample", "table", "sample.table"),
        ("sample", "figure", "sample.figure"),
        ("balance", "table", "balance.table"),
        ("balance", "correlations_table", "balance.correlations_table"),
        ("series.activation", "figure", "series.activation.figure"),
        ("models.model1", "table", "models.model1.table"),
    ],
)
def test_unsafe_output_names_refused_at_load(section, key, shown, value):
    with pytest.raises(PlanError, match=rf"{shown.replace('.', chr(92) + '.')} = "):
        Plan.from_dict(plan_with(section, key, value))


def test_unsafe_series_and_table_keys_refused():
    raw = load_plan("nct03102775").to_dict()
    raw["series"]["x/../y"] = dict(raw["series"]["activation"], figure="figure9")
    with pytest.raises(PlanError, match=r"series\.x/\.\./y"):
        Plan.from_dict(raw)
    raw = load_plan("nct03102775").to_dict()
    raw["tables"]["../t"] = {"title": "x"}
    with pytest.raises(PlanError, match=r"tables\.\.\./t"):
        Plan.from_dict(raw)


@pytest.mark.parametrize(
    "section, key, value, words",
    [
        ("sample", "figure", "figure2", ("series.activation.figure = 'figure2'", "sample.figure")),
        ("series.employment", "figure", "figure1", ("series.employment.figure = 'figure1'", "sample.figure")),
        ("balance", "table", "reproduced", ("balance.table = 'reproduced'", "the reproduced numbers")),
        ("sample", "figure", "report", ("sample.figure = 'report'", "the report")),
        ("sample", "table", "Manifest", ("sample.table = 'Manifest'", "the manifest")),
        ("balance", "correlations_table", "inference", ("balance.correlations_table = 'inference'", "inference")),
        ("sample", "table", "monthly_activation", ("series.activation", "sample.table")),
        ("sample", "table", "TABLE3", ("balance.table = 'table3'", "sample.table (TABLE3.csv)")),  # case-blind
    ],
)
def test_outputs_that_share_a_file_refused(section, key, value, words):
    with pytest.raises(PlanError) as err:
        Plan.from_dict(plan_with(section, key, value))
    for word in words:
        assert word in str(err.value)


def test_stem_problem_accepts_plain_names():
    for name in ("table2", "figure_1", "monthly-activation", "t.5", "Tabelle_Ä"):
        assert stem_problem(name) is None, name
    assert all(stem_problem(bad) for bad in UNSAFE)


def test_refused_plan_changes_nothing_anywhere(tmp_path, capsys):
    """plan check and reproduce with a traversing plan: exit 2 naming the key, the whole tree unchanged."""
    (tmp_path / "README.md").write_text("keep me")
    (tmp_path / "work").mkdir()
    plan = tmp_path / "work" / "plan.toml"
    raw = plan_with("sample", "table", "../../README")
    raw["data"]["path"] = str(load_plan("nct03102775").resolve_data())
    from famtrial._toml import dumps

    plan.write_text(dumps(raw))
    before = tree_hash(tmp_path)
    assert cli_main(["plan", "check", str(plan)]) == 2
    assert "sample.table = '../../README'" in capsys.readouterr().err
    out = tmp_path / "work" / "results"
    assert cli_main(["reproduce", "--plan", str(plan), "--out", str(out), "--quiet"]) == 2
    assert "sample.table" in capsys.readouterr().err
    assert tree_hash(tmp_path) == before


# -- the results folder: lock, temporary folder, manifest ------------------------------------------------------
def write_run(out: Path, files: dict[str, str], **extra) -> Manifest:
    with ResultsWriter(out, plan={"name": "p", "hash": "h"}, data={"name": "d.csv", "sha256": "x"}, command="t") as w:
        for name, text in files.items():
            w.path(name).write_text(text)
        return w.commit(extra)


def test_writer_moves_files_in_and_describes_them(tmp_path):
    out = tmp_path / "res"
    manifest = write_run(out, {"a.csv": "1", "b.md": "2"}, registration={"status": "registered"})
    assert sorted(p.name for p in out.iterdir()) == [".famtrial.lock", "a.csv", "b.md", MANIFEST]
    assert manifest.complete and manifest.files == {
        "a.csv": file_sha256(out / "a.csv"),
        "b.md": file_sha256(out / "b.md"),
    }
    assert read_manifest(out) == manifest and check_results(out) == manifest
    assert manifest.extra["registration"] == {"status": "registered"}  # another step's entry
    raw = json.loads((out / MANIFEST).read_text())
    assert {
        "format",
        "famtrial",
        "plan",
        "data",
        "command",
        "started",
        "finished",
        "files",
        "complete",
        "extra",
    } <= set(raw)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".res.famtrial-")]  # the temporary folder is gone
    # a rerun replaces the files and removes those of the previous run it does not write
    write_run(out, {"a.csv": "3"})
    assert sorted(p.name for p in out.iterdir()) == [".famtrial.lock", "a.csv", MANIFEST]
    assert check_results(out).files == {"a.csv": file_sha256(out / "a.csv")}


def test_manifest_extra_entries_and_format():
    m = Manifest(famtrial="0.3", plan={"name": "p", "hash": "h"}, data={}, command="c", started="t")
    m2 = m.with_extra("registration", {"status": "frozen", "hash": "abc"})
    assert m.extra == {} and m2.extra == {"registration": {"status": "frozen", "hash": "abc"}}
    assert Manifest.from_dict(json.loads(m2.to_json())) == m2
    with pytest.raises(ValueError, match="JSON value"):
        m.with_extra("x", object())
    with pytest.raises(ResultsError, match="format 99"):
        Manifest.from_dict(dict(m.to_dict(), format=99))


@pytest.mark.parametrize("name", ["../x.csv", "/tmp/x.csv", "sub/x.csv", MANIFEST, ".hidden"])
def test_writer_refuses_unsafe_file_names(tmp_path, name):
    with pytest.raises(ResultsError, match="output file name"):
        write_run(tmp_path / "res", {name: "x"})


def test_symbolic_link_in_out_refused_before_any_work(tmp_path):
    (tmp_path / "target.txt").write_text("precious")
    out = tmp_path / "res"
    out.mkdir()
    (out / "table2.csv").symlink_to(tmp_path / "target.txt")
    before = tree_hash(tmp_path)
    with pytest.raises(ResultsError, match="table2.csv' is a symbolic link"):
        write_run(out, {"table2.csv": "payload"})
    after = tree_hash(tmp_path)
    assert outside(after, "res") == outside(before, "res") and (tmp_path / "target.txt").read_text() == "precious"
    assert os.readlink(out / "table2.csv") == str(tmp_path / "target.txt")


def test_symbolic_link_appearing_during_the_run_refused_at_commit(tmp_path):
    (tmp_path / "target.txt").write_text("precious")
    out = tmp_path / "res"
    with pytest.raises(ResultsError, match="Nothing was moved"):
        with ResultsWriter(out, plan={}, data={}, command="t") as w:
            w.path("a.csv").write_text("payload")
            (out / "a.csv").symlink_to(tmp_path / "target.txt")
            w.commit()
    assert (tmp_path / "target.txt").read_text() == "precious"
    with pytest.raises(ResultsError):
        check_results(out)


def test_failed_rerun_leaves_a_folder_verify_refuses(tmp_path):
    out = tmp_path / "res"
    write_run(out, {"reproduced.csv": "key,value\nsample.offices_included,14\n"})
    assert verify(out, tables=["sample"], allow_missing=True) is not None  # the complete run verifies
    with pytest.raises(RuntimeError, match="boom"):
        with ResultsWriter(out, plan={}, data={}, command="t") as w:
            w.path("reproduced.csv").write_text("key,value\nsample.offices_included,99\n")
            raise RuntimeError("boom")
    assert (out / "reproduced.csv").read_text().endswith(",14\n")  # the old file was not touched
    with pytest.raises(ResultsError, match="incomplete .*did not finish"):
        verify(out)
    assert not [p for p in tmp_path.iterdir() if ".famtrial-" in p.name]


def test_leftover_temporary_folders_of_killed_runs_are_removed(tmp_path):
    leftover = tmp_path / ".res.famtrial-dead"
    leftover.mkdir()
    (leftover / "a.csv").write_text("old")
    write_run(tmp_path / "res", {"a.csv": "new"})
    assert not leftover.exists()


def test_second_writer_refused_while_the_first_holds_the_lock(tmp_path):
    out = tmp_path / "res"
    with ResultsWriter(out, plan={}, data={}, command="t") as first:
        with pytest.raises(ResultsError, match=rf"another famtrial run \(pid {os.getpid()}"):
            ResultsWriter(out, plan={}, data={}, command="t").__enter__()
        first.path("a.csv").write_text("1")
        first.commit()
    write_run(out, {"a.csv": "2"})  # released: the next run goes ahead


@pytest.mark.parametrize("damage", ["edit", "remove", "add", "incomplete"])
def test_verify_refuses_a_stale_mixed_or_incomplete_folder_naming_the_file(tmp_path, damage):
    out = tmp_path / "res"
    write_run(out, {"reproduced.csv": "key,value\nsample.offices_included,14\n", "table2.md": "t"})
    if damage == "edit":
        (out / "table2.md").write_text("an older run's table")
        words = ("table2.md", "differs")
    elif damage == "remove":
        (out / "table2.md").unlink()
        words = ("table2.md", "missing")
    elif damage == "add":
        (out / "table7.csv").write_text("another run's table")
        words = ("table7.csv", "not a file of the run")
    else:
        raw = json.loads((out / MANIFEST).read_text())
        (out / MANIFEST).write_text(json.dumps(dict(raw, complete=False, note="killed")))
        words = (MANIFEST, "incomplete (killed)")
    with pytest.raises(ResultsError) as err:
        verify(out)
    assert all(w in str(err.value) for w in words), str(err.value)
    assert cli_main(["verify", "--results", str(out)]) == 2


def test_data_identity_names_the_file_not_its_folder(tmp_path):
    path = tmp_path / "secret" / "folder" / "panel.csv"
    path.parent.mkdir(parents=True)
    path.write_text("a,b\n1,2\n")
    assert data_identity(path) == {"name": "panel.csv", "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest()}
    frame = pd.DataFrame({"a": [1, 2]})
    assert data_identity(frame)["sha256"] == data_identity(frame.copy())["sha256"]
    assert data_identity(frame)["sha256"] != data_identity(frame.assign(a=[1, 3]))["sha256"]


# -- escaping ---------------------------------------------------------------------------------------------
def hostile_table() -> Table:
    frame = pd.DataFrame(
        {"office": ['=HYPERLINK("http://x")', "+SUM(A1)", "-2.5", "@cmd", "plain", "-x|y"], "n": [1, 2, 3, 4, 5, 6]},
        index=pd.Index(["<script>alert(1)</script>", "a|b", "line\nbreak", "=1+1", "ok", "x\x07y"], name="row"),
    )
    return Table(frame=frame, display=frame.astype(str), title="<b>T</b>\nitle", notes="<img src=x onerror=1>")


def test_csv_cells_that_start_a_formula_are_guarded():
    text = hostile_table().to_csv()
    rows = text.splitlines()
    assert "'=HYPERLINK" in text and "'+SUM(A1)" in text and "'@cmd" in text and "'=1+1" in text
    assert ",-2.5," in text and "'-2.5" not in text and "'-x|y" in text  # a number stays a number; text does not
    assert rows[0] == "row,office,n"
    assert csv_guard(-3) == -3 and csv_guard("-3e2") == "-3e2" and csv_guard("=1") == "'=1"


def test_markdown_escapes_html_and_table_syntax():
    md = hostile_table().to_markdown()
    assert "<script>" not in md and "&lt;script>" in md and "<b>" not in md and "<img" not in md
    assert r"a\|b" in md and "line break" in md and "\x07" not in md
    body = [line for line in md.splitlines() if line.startswith("|")]
    assert all(line.count("|") - line.count(r"\|") == 4 for line in body)  # 3 columns: 4 unescaped bars


def test_latex_html_and_docx_escape():
    tab = hostile_table()
    tex = tab.to_latex()
    assert r"\textbackslash" not in tex.split("tabular")[0] and "\x07" not in tex and "line break" in tex
    page = tab.to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page
    pytest.importorskip("docx")
    tab.to_docx(Path(os.environ.get("TMPDIR", "/tmp")) / f"famtrial-escape-{os.getpid()}.docx")  # no XML error


def test_verify_report_html_display_escapes_keys():
    report = verify(
        {"<img src=x onerror=alert(1)>": 1.0, "sample.offices_included": 14}, tables=["sample"], allow_missing=True
    )
    shown = report._repr_html_()
    assert "<img" not in shown and "&lt;img" in shown


def test_power_out_pointing_at_a_file_fails_before_simulating(tmp_path, capsys):
    from famtrial._paths import data_dir

    target = tmp_path / "a_file"
    target.write_text("mine")
    scenario = data_dir() / "synthetic" / "casework_power.toml"
    assert cli_main(["power", str(scenario), "--out", str(target), "--quiet"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err and target.read_text() == "mine"
    assert cli_main(["power", str(scenario), "--out", str(target / "sub"), "--quiet"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_model_results_html_display_escapes_data_names():
    import numpy as np

    import famtrial as ft

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 200), "x": rng.normal(size=200)})
    frame["<b>x</b>"] = frame["x"]
    fit = ft.logit(frame, outcome="y", covariates=["<b>x</b>"])
    shown = fit._repr_html_()
    assert "<b>x</b>" not in shown and "&lt;b&gt;x&lt;/b&gt;" in shown


def test_a_panel_is_identified_by_its_file_or_its_content(tmp_path):
    from conftest import make_panel_frame
    from famtrial.data.load import load_panel
    from famtrial.pipeline import _data_identity

    frame = make_panel_frame()
    frame.to_csv(tmp_path / "panel.csv", index=False)
    from_file = load_panel(tmp_path / "panel.csv")
    assert _data_identity(from_file, from_file.plan) == data_identity(tmp_path / "panel.csv")
    in_memory = load_panel(frame)
    identity = _data_identity(in_memory, in_memory.plan)
    assert identity["name"] == "Panel" and identity["sha256"] == data_identity(in_memory.data)["sha256"]
    assert _data_identity(frame, in_memory.plan) == data_identity(frame)
