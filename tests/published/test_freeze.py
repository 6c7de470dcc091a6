"""famtrial freeze: a run's numbers as a spec at the printed precision; verify round-trips and catches drift."""

from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest

import famtrial
from famtrial._paths import file_sha256
from famtrial.cli import main
from famtrial.errors import SpecError
from famtrial.plan.spec import load_plan
from famtrial.published.freeze import _numbers_in, _printed, freeze
from famtrial.published.verify import load_spec, verify
from famtrial.testing import assert_matches_published

pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A reproduce run of the shipped plan on a small panel (6 offices, 12 months), from a CSV file."""
    import matplotlib

    matplotlib.use("Agg")
    from conftest import make_panel_frame

    folder = tmp_path_factory.mktemp("tiny")
    data = folder / "panel.csv"
    make_panel_frame().to_csv(data, index=False)
    run = famtrial.reproduce(data, folder / "results", inference=False, progress=False)
    return data, run


def test_numbers_in_a_cell_with_their_decimals():
    assert _numbers_in("(.81, 1.36)") == [(0.81, 2), (1.36, 2)]
    assert _numbers_in("12.23***") == [(12.23, 2)]
    assert _numbers_in("1712 (67.48)") == [(1712.0, 0), (67.48, 2)]
    assert _numbers_in("2,537") == [(2537.0, 0)]
    assert _numbers_in("\u2212.25***") == [(-0.25, 2)]
    assert _numbers_in("yes") == []


def test_printed_precision_is_the_cell_s():
    cells = {2: {"1.05", "0.14", "-0.25"}, 3: {"0.459"}, 0: {"2537"}}
    assert _printed(1.0486741, cells, 3) == ("1.05", True)
    assert _printed(-0.2531, cells, 3) == ("-0.25", True)
    assert _printed(0.45912, cells, 3) == ("0.459", True)
    assert _printed(2537.0, cells, 3) == ("2537", True)
    # printed nowhere: the fallback precision, flagged; whole numbers stay whole
    assert _printed(0.123456, cells, 4) == ("0.1235", False)
    assert _printed(7.0, cells, 3) == ("7", True)


def test_freeze_then_verify_round_trips(tiny_run, tmp_path):
    data, run = tiny_run
    frozen = freeze(run.out, tmp_path / "spec.toml", data=data)
    spec = load_spec(frozen.path)
    reproduced = pd.read_csv(run.out / "reproduced.csv")
    # every number of the run is in the spec
    assert set(spec.numbers) == set(reproduced["key"]) and frozen.n_numbers + frozen.n_text == len(reproduced)
    report = verify(run.out, frozen.path)
    assert report.ok and (report.frame["status"] == "ok").all(), report.failed
    assert_matches_published(run.out, spec=frozen.path)
    # the meta records the plan's canonical hash and the data file's SHA-256
    meta = tomllib.loads(frozen.text)["meta"]
    assert meta["plan_hash"] == load_plan().hash == run.plan.hash
    assert meta["data_sha256"] == file_sha256(data) and meta["data"] == "panel.csv"


def test_frozen_precision_is_the_tables(tiny_run, tmp_path):
    """An OR printed '1.05' in its table is frozen as 1.05 (tolerance 0.005), a count as a whole number."""
    data, run = tiny_run
    spec = load_spec(freeze(run.out, tmp_path / "spec.toml", data=data).path)
    table5 = (run.out / "table5.md").read_text(encoding="utf-8")
    entry = spec["table5.model1.coordinator_pooled.or"]
    assert entry.decimals == 2 and re.search(rf"\|\s*{entry.printed.lstrip('0')}\**\s*\|", table5)
    assert spec["sample.parents_included"].decimals == 0
    assert spec["sample.parents_included"].value == run.numbers["sample.parents_included"]
    month = next(k for k in spec.numbers if k.startswith("monthly.") and k.endswith(".or"))
    assert spec[month].decimals == 2  # the monthly table prints ORs at 2 decimals
    assert spec["monthly.activation.significant_months"].is_text


def test_verify_fails_naming_the_number_that_drifted(tiny_run, tmp_path):
    data, run = tiny_run
    path = freeze(run.out, tmp_path / "spec.toml", data=data).path
    numbers = dict(run.numbers)
    numbers["table5.model1.coordinator_pooled.or"] = float(numbers["table5.model1.coordinator_pooled.or"]) + 0.01
    report = verify(numbers, path)
    assert not report.ok and list(report.failed.index) == ["table5.model1.coordinator_pooled.or"]
    with pytest.raises(
        AssertionError, match=r"1 of \d+ published numbers .*\n.*table5\.model1\.coordinator_pooled\.or"
    ):
        assert_matches_published(numbers, spec=path)


def test_freeze_command_and_verify_spec(tiny_run, tmp_path, capsys):
    data, run = tiny_run
    spec = tmp_path / "ci" / "spec.toml"
    assert main(["freeze", "--results", str(run.out), "--data", str(data), "--out", str(spec)]) == 0
    assert "famtrial freeze: wrote" in capsys.readouterr().out
    assert main(["verify", "--results", str(run.out), "--spec", str(spec)]) == 0
    assert "-> PASS" in capsys.readouterr().out


def test_freeze_refuses_what_it_cannot_freeze(tiny_run, tmp_path, capsys):
    data, run = tiny_run
    with pytest.raises(SpecError, match="not a folder"):
        freeze(tmp_path / "nowhere", data=data)
    with pytest.raises(SpecError, match="written by the plan 'Family coordinator trial', not 'Welfare casework"):
        freeze(run.out, plan="casework", data=data)
    with pytest.raises(SpecError, match="does not exist: pass the file"):
        freeze(run.out, data=tmp_path / "missing.csv")
    with pytest.raises(SpecError, match="unprinted_digits"):
        freeze(run.out, data=data, unprinted_digits=-1)
    (tmp_path / "empty").mkdir()
    assert main(["freeze", "--results", str(tmp_path / "empty"), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "report.html does not exist" in err and "Traceback" not in err


@pytest.mark.slow
def test_one_changed_data_row_fails_verify_naming_numbers(tiny_run, tmp_path):
    """Perturb one row of the data (one parent-month's outcome), reproduce again: verify names what moved."""
    data, run = tiny_run
    spec = freeze(run.out, tmp_path / "spec.toml", data=data).path
    frame = pd.read_csv(data)
    row = frame.index[(frame["month"] == "2017-01") & (frame["arm"] == 1)][0]
    frame.loc[row, "activation"] = 1 - frame.loc[row, "activation"]
    changed = tmp_path / "changed.csv"
    frame.to_csv(changed, index=False)
    again = famtrial.reproduce(changed, tmp_path / "again", inference=False, progress=False)
    report = verify(again.out, spec)
    assert not report.ok
    failed = set(report.failed.index)
    assert "monthly.activation.2017-01.or" in failed  # the month whose row changed
    assert all(k.startswith(("table", "monthly.activation", "sample")) for k in failed)
    with pytest.raises(AssertionError, match=r"monthly\.activation\.2017-01\.or"):
        assert_matches_published(again.out, spec=spec)


@pytest.mark.slow
@pytest.mark.parametrize("plan", ["nct03102775", "casework"])
def test_shipped_plans_round_trip(plan, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    run = famtrial.reproduce(None, tmp_path / "results", plan=plan, inference=False, progress=False)
    spec = freeze(run.out, tmp_path / "spec.toml", plan=plan).path
    report = verify(run.out, spec)
    assert report.ok and report.n_failed == 0 and (report.frame["status"] == "ok").all()


def test_a_number_without_estimate_is_named_not_frozen(tiny_run, tmp_path):
    """A NaN in reproduced.csv (a month with no estimate) is left out of the spec, named in a comment."""
    import shutil

    data, run = tiny_run
    copy = tmp_path / "results"
    shutil.copytree(run.out, copy)
    frame = pd.read_csv(copy / "reproduced.csv", dtype=str, keep_default_na=False)
    key = next(k for k in frame["key"] if k.startswith("monthly.") and k.endswith(".ci_low"))
    frame.loc[frame["key"] == key, "value"] = "nan"
    frame.to_csv(copy / "reproduced.csv", index=False)
    # the run's manifest records the edited file (else the folder is refused as stale, issue 25)
    import json

    from famtrial._paths import file_sha256

    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["reproduced.csv"] = file_sha256(copy / "reproduced.csv")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    frozen = freeze(copy, tmp_path / "spec.toml", data=data)
    assert frozen.skipped == (key,) and key not in load_spec(frozen.path).numbers
    assert f'# "{key}": nan in reproduced.csv (no estimate), not frozen' in frozen.text
    assert "1 key(s) with no estimate (NaN) not frozen" in frozen.summary()
