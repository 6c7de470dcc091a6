"""famtrial verify, the pytest helper, and the published spec against shared/paper/published.toml."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from famtrial.testing import assert_matches_published
from famtrial.verify import load_spec, main, verify

SHARED = Path(__file__).parents[2] / "shared" / "paper" / "published.toml"


def _published_values(spec):
    return {k: v["value"] for k, v in spec.items()}


def test_spec_matches_every_number_in_published_toml():
    if not SHARED.exists():
        pytest.skip("shared/paper/published.toml is not beside the checkout")
    pub = tomllib.loads(SHARED.read_text())
    spec = load_spec()
    assert spec["table5.model1.coordinator_pooled.ci_high"]["value"] == pub["table5"]["model1"]["coordinator_pooled"][3]
    assert spec["table3.female.chi2"]["value"] == pub["table3"]["female"][6]
    assert spec["table2.office_10.ordinary"]["value"] == 546
    assert spec["monthly.activation.significant_months"]["value"] == ",".join(pub["monthly"]["activation"]["significant_months"])
    n_numbers = (7 + 3 * 29 + 3 + 8 * 8 + sum(len(v) for v in pub["table4"].values())
                 + sum(4 * (len(t) - 1) + 1 for tab in ("table5", "table6") for t in pub[tab].values()) + 2 + 9)
    assert len(spec) == n_numbers


def test_printed_precision_and_default_tolerance():
    spec = load_spec()
    assert spec["table3.female.pct_total"]["decimals"] == 2 and spec["table3.female.n_total"]["decimals"] == 0
    exact = _published_values(spec)
    report = verify(exact)
    assert report.ok and report.n_failed == 0
    moved = dict(exact, **{"table5.model1.coordinator_pooled.or": 1.05 + 0.0051})
    report = verify(moved)
    assert not report.ok and list(report.failed.index) == ["table5.model1.coordinator_pooled.or"]
    assert report.frame.loc["table5.model1.coordinator_pooled.or", "tolerance"] == pytest.approx(0.005)
    assert verify(moved, tolerances={"table5": 0.01}).ok
    assert not verify(moved, tolerances={"table5": 0.01, "table5.model1.coordinator_pooled.or": 0.001}).ok


def test_inconsistent_entries_are_reported_not_failed():
    spec = load_spec()
    values = dict(_published_values(spec), **{"table3.married.chi2": 0.550})
    report = verify(values)
    assert report.ok and report.frame.loc["table3.married.chi2", "status"] == "inconsistent"
    assert "0.550" in report.frame.loc["table3.married.chi2", "note"]


def test_missing_numbers_fail_unless_allowed_and_tables_select():
    values = {"table2.office_1.coordinated": 46}
    assert verify(values, tables=["table2.office_1.coordinated"]).ok
    report = verify(values, tables=["table2"])
    assert not report.ok and (report.frame["status"] == "missing").sum() == 29 * 3 - 1
    assert verify(values, tables=["table2"], allow_missing=True).ok


def test_cli_exit_codes_and_results_folder(tmp_path):
    values = _published_values(load_spec())
    pd.DataFrame({"key": list(values), "value": list(values.values())}).to_csv(tmp_path / "reproduced.csv", index=False)
    assert main(["--results", str(tmp_path), "--out", str(tmp_path / "report.md")]) == 0
    assert "| table2.office_1.coordinated |" in (tmp_path / "report.md").read_text()
    values["table6.model3.married.or"] = 2.0
    pd.DataFrame({"key": list(values), "value": list(values.values())}).to_csv(tmp_path / "reproduced.csv", index=False)
    out = subprocess.run([sys.executable, "-m", "famtrial.cli", "verify", "--results", str(tmp_path)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "table6.model3.married.or" in out.stdout and "FAIL" in out.stdout


def test_pytest_helper_message(tmp_path):
    values = _published_values(load_spec())
    assert_matches_published(values)
    values["table5.model2.coordinator_holf.ci_low"] = 0.9
    with pytest.raises(AssertionError) as info:
        assert_matches_published(values, tables=["table5"])
    msg = str(info.value)
    assert "table5.model2.coordinator_holf.ci_low: published 0.79, reproduced 0.9" in msg
    assert "tolerance 0.005" in msg
    test_file = tmp_path / "test_user.py"
    test_file.write_text("from famtrial.testing import assert_matches_published\n"
                         f"def test_published():\n    assert_matches_published({{'sample.parents_included': 2500}}, "
                         "tables=['sample.parents_included'])\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", str(test_file)], capture_output=True, text=True,
                         cwd=tmp_path)
    assert run.returncode == 1
    assert "sample.parents_included: published 2537, reproduced 2500 (difference -37" in run.stdout
