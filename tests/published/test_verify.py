"""The published-number spec (against published.toml and the paper's text) and famtrial verify."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from famtrial.cli import main as cli_main
from famtrial.errors import ResultsError
from famtrial.published.verify import load_spec, verify

SHARED = Path(__file__).resolve().parents[3] / "shared"
PUBLISHED = SHARED / "paper" / "published.toml"
PAPER = SHARED / "seeds" / "001_a60fbdff538e47fd.txt"
BINARY = ["n_total", "pct_total", "n_treated", "pct_treated", "n_control", "pct_control", "chi2", "p"]
CONTINUOUS = ["mean_total", "sd_total", "mean_treated", "sd_treated", "mean_control", "sd_control", "t", "p"]
ORDER = [
    "experimental",
    "female",
    "year_of_birth",
    "married",
    "n_children",
    "immigrant",
    "reduced_work_capacity",
    "activation",
    "employed",
]


@pytest.fixture(scope="module")
def spec():
    return load_spec()


def _published_numbers(pub: dict) -> dict[str, object]:
    """Every number of published.toml under the contract's key (independent of the transcription script)."""
    out = {f"sample.{k}": v for k, v in pub["sample"].items()}
    out |= {f"design.{k}": v for k, v in pub["design"].items() if isinstance(v, int)}
    for part, flag in (("included", 1), ("excluded", 0)):
        for office, (coord, ordin) in pub["table2"][part].items():
            out |= {
                f"table2.{office}.coordinated": coord,
                f"table2.{office}.ordinary": ordin,
                f"table2.{office}.included": flag,
            }
    out |= dict(zip(("table3.n.total", "table3.n.treated", "table3.n.control"), pub["table3"]["n"]))
    for var, values in pub["table3"].items():
        if var not in ("n", "consistency_notes"):
            fields = CONTINUOUS if var in ("year_of_birth", "n_children") else BINARY
            out |= {f"table3.{var}.{f}": v for f, v in zip(fields, values, strict=True)}
    for row, values in pub["table4"].items():
        out |= {f"table4.{row}.{col}": v for col, v in zip(ORDER, values)}
    for table in ("table5", "table6"):
        for model, terms in pub[table].items():
            for term, values in terms.items():
                if term == "pseudo_r2":
                    out[f"{table}.{model}.pseudo_r2"] = values
                else:
                    out |= {f"{table}.{model}.{term}.{f}": v for f, v in zip(("or", "se", "ci_low", "ci_high"), values)}
    for outcome, facts in pub["monthly"].items():
        out[f"monthly.{outcome}.significant_months"] = ",".join(facts["significant_months"])
        for month, (odds, lo, hi) in zip(facts["significant_months"], facts.get("or_ci", [])):
            out |= {
                f"monthly.{outcome}.{month}.or": odds,
                f"monthly.{outcome}.{month}.ci_low": lo,
                f"monthly.{outcome}.{month}.ci_high": hi,
            }
    return out


def test_spec_holds_every_number_of_published_toml(spec):
    if not PUBLISHED.exists():
        pytest.skip("shared/paper/published.toml is not beside the checkout")
    expected = _published_numbers(tomllib.loads(PUBLISHED.read_text(encoding="utf-8")))
    wrong = {
        k: (v, spec[k].value if k in spec else "absent")
        for k, v in expected.items()
        if k not in spec or spec[k].value != v
    }
    assert not wrong
    # every compared number comes from published.toml (nothing invented)
    assert set(spec.numbers) <= set(expected)
    assert len(spec.numbers) == 284


def _paper_rows(text: str, start: str, stop: str) -> list[list[str]]:
    block = text[text.index(start) : text.index(stop, text.index(start))]
    return [re.sub(r"[(),\[\]]", " ", line.replace("\ufffd", "-")).split() for line in block.splitlines()]


def test_printed_text_and_stars_match_the_paper(spec):
    if not PAPER.exists():
        pytest.skip("the paper is not beside the checkout")
    text = PAPER.read_text(encoding="utf-8")
    labels3 = {
        "Female": "female",
        "Year": "year_of_birth",
        "Married": "married",
        "Nr": "n_children",
        "Immigrant": "immigrant",
        "Reduced": "reduced_work_capacity",
        "Activation": "activation",
        "Employed": "employed",
    }
    rows3 = {
        labels3[r[0]]: [t for t in r if re.fullmatch(r"-?\d*\.?\d+", t)]
        for r in _paper_rows(text, "Female (%)", "N 2537")
        if r and r[0] in labels3
    }
    assert len(rows3) == 8
    for var, tokens in rows3.items():
        fields = CONTINUOUS if var in ("year_of_birth", "n_children") else BINARY
        assert tokens == [spec[f"table3.{var}.{f}"].printed for f in fields], var
    rows4 = [r for r in _paper_rows(text, "1. Experimental condition", "Frequencies (n)") if r and r[0].endswith(".")]
    assert len(rows4) == 9
    for i, row in enumerate(rows4):
        cells = [t for t in row if re.fullmatch(r"-?\d*\.?\d+\**", t)]
        var = ORDER[i]
        first, second = ("n", "pct") if var not in ("year_of_birth", "n_children") else ("mean", "sd")
        assert cells[:2] == [spec[f"table4.{var}.{first}"].printed, spec[f"table4.{var}.{second}"].printed]
        assert cells[2:] == [spec[f"table4.{var}.{c}"].printed + spec[f"table4.{var}.{c}"].stars for c in ORDER[:i]]
    terms = {
        "pooled": ["coordinator_pooled"],
        "coordinator": ["coordinator_local"],
        "HOLF": ["coordinator_holf"],
        "children": ["n_children"] * 2,
        "Married": ["married"] * 2,
        "Reduced": ["reduced_work_capacity"] * 2,
    }
    for table, models, stop in (
        ("table5", ("model1", "model2"), "Models 1 and 2"),
        ("table6", ("model3", "model4"), "Models 3 and 4"),
    ):
        start = text.index("Family coordinator (pooled)", text.index(f"Table {table[-1]}. Fixed"))
        for row in _paper_rows(text[start:], "Family", stop):
            name = next(
                (w for w in ("pooled", "HOLF", "children", "Married", "Reduced") if w in row),
                "coordinator" if row[:2] == ["Family", "coordinator"] else None,
            )
            if name is None:
                continue
            cells = [t for t in row if re.fullmatch(r"-?\d*\.?\d+\**", t)]
            use = [models[0]] if name == "pooled" else [models[1]] if name in ("coordinator", "HOLF") else models
            got = [cells[4 * j : 4 * j + 4] for j in range(len(use))]
            for model, term, four in zip(use, terms[name], got):
                base = f"{table}.{model}.{term}"
                assert four == [
                    spec[f"{base}.or"].printed + spec[f"{base}.or"].stars,
                    spec[f"{base}.se"].printed,
                    spec[f"{base}.ci_low"].printed,
                    spec[f"{base}.ci_high"].printed,
                ], base


def test_printed_precision_sets_the_default_tolerance(spec):
    assert spec["table3.female.pct_total"].decimals == 2 and spec["table3.female.n_total"].decimals == 0
    assert spec["table3.year_of_birth.t"].printed == "-1.510" and spec["table3.year_of_birth.t"].decimals == 3
    assert spec["table5.model1.coordinator_pooled.se"].printed == ".14"
    report = verify(spec.values())
    assert report.ok and report.n_failed == 0 and set(report.frame["status"]) == {"ok"}
    key = "table5.model1.coordinator_pooled.or"
    assert report.frame.loc[key, "tolerance"] == pytest.approx(0.005)
    assert report.frame.loc["sample.parents_included", "tolerance"] == pytest.approx(0.5)
    assert report.frame.loc["table3.female.chi2", "tolerance"] == pytest.approx(0.0005)
    inside = verify(dict(spec.values(), **{key: 1.05 + 0.0049}))
    outside = verify(dict(spec.values(), **{key: 1.05 + 0.0051}))
    assert inside.ok and not outside.ok and list(outside.failed.index) == [key]
    assert outside.frame.loc[key, "difference"] == pytest.approx(0.0051)


def test_tolerance_overrides_most_specific_wins(spec):
    key = "table5.model1.coordinator_pooled.ci_low"
    moved = dict(spec.values(), **{key: 0.81 + 0.02})
    assert not verify(moved).ok
    assert not verify(moved, tolerances={"table5": 0.01}).ok
    assert verify(moved, tolerances={"table5": 0.01, key: 0.03}).ok
    assert not verify(moved, tolerances={"table5": 0.03, "table5.model1": 0.001}).ok
    assert verify(moved, tolerances={"table5": 0.03}).frame.loc[key, "tolerance"] == 0.03
    # spec-level: Table 4 truncates (one printed unit); the truncated chi-squares one unit too
    assert verify(spec.values()).frame.loc["table4.female.experimental", "tolerance"] == pytest.approx(0.01)
    assert verify(spec.values()).frame.loc["table3.activation.chi2", "tolerance"] == pytest.approx(0.001)
    assert verify(dict(spec.values(), **{"table3.activation.chi2": 8.9218})).ok
    with pytest.raises(ValueError, match="table5"):
        verify(spec.values(), tolerances={"table5": -1})


def test_glob_tolerances_and_patterns_that_match_nothing(spec):
    ci_key, or_key = "table5.model1.coordinator_pooled.ci_low", "table5.model2.coordinator_local.or"
    moved = dict(spec.values(), **{ci_key: 0.81 + 0.02, or_key: 1.00 + 0.02})
    frame = verify(moved, tolerances={"table5": 0.03, "table5.*.or": 0.01}).frame
    assert frame.loc[ci_key, "tolerance"] == 0.03 and frame.loc[or_key, "tolerance"] == 0.01
    assert frame.loc["table5.model1.married.or", "tolerance"] == 0.01
    assert list(frame.index[frame["status"] == "FAIL"]) == [or_key]
    # the full key is longer than the glob, so it wins
    assert verify(moved, tolerances={"table5": 0.03, "table5.*.or": 0.01, or_key: 0.03}).ok
    model4 = verify(spec.values(), tables=["table?.model4"]).frame.index
    assert len(model4) > 0 and all(k.startswith("table6.model4.") for k in model4)
    for typo in ("tabel5", "table5.*.odds", "table5.model1.coordinator"):
        with pytest.raises(ValueError, match="matches no published number"):
            verify(spec.values(), tolerances={typo: 0.1})


def test_inconsistent_entries_are_notes_not_failures(spec):
    values = dict(spec.values(), **{"table3.married.chi2": 0.550, "table3.employed.chi2": 5.286})
    report = verify(values)
    assert report.ok
    assert report.frame.loc["table3.married.chi2", "status"] == "note"
    assert "0.550" in report.frame.loc["table3.married.chi2", "note"]
    # a consistent entry fails for the same size of miss
    assert not verify(dict(spec.values(), **{"table3.female.chi2": 0.61})).ok


def test_significant_months_compare_as_sets(spec, tmp_path):
    key = "monthly.activation.significant_months"
    same = verify(dict(spec.values(), **{key: "2018-10, 2018-08,2018-09"}))
    assert same.frame.loc[key, "status"] == "ok"
    # a different set differs: the spec flags 2016-10 as a paper inconsistency, so it is a note ...
    extra = verify(dict(spec.values(), **{key: "2016-10,2018-08,2018-09,2018-10"}))
    assert extra.frame.loc[key, "status"] == "note" and extra.ok
    # ... while a month set without that flag fails
    path = tmp_path / "months.toml"
    path.write_text('[numbers]\n"monthly.x.significant_months" = { value = "2018-08,2018-09", printed = "" }\n')
    assert not verify({"monthly.x.significant_months": "2018-08"}, path).ok
    assert verify({"monthly.x.significant_months": "2018-09,2018-08"}, path).ok


def test_missing_numbers_and_table_selection(spec):
    values = {"table2.office_1.coordinated": 46}
    assert verify(values, tables=["table2.office_1.coordinated"]).ok
    report = verify(values, tables=["table2"])
    assert not report.ok and (report.frame["status"] == "missing").sum() == 29 * 3 - 1
    assert report.n_failed == 29 * 3 - 1
    allowed = verify(values, tables="table2", allow_missing=True)
    assert allowed.ok and (allowed.frame["status"] == "missing").sum() == 29 * 3 - 1
    assert "missing allowed" in allowed.summary()
    with pytest.raises(ValueError, match="table7"):
        verify(values, tables=["table7"])


def test_results_forms_and_bad_input(spec, tmp_path):
    values = spec.values()
    frame = pd.DataFrame({"key": list(values), "value": list(values.values())})
    frame.to_csv(tmp_path / "reproduced.csv", index=False)
    assert verify(tmp_path / "reproduced.csv").ok and verify(frame).ok
    with pytest.raises(ResultsError, match="no manifest.json"):  # a folder must be a whole run (the manifest)
        verify(tmp_path)
    extra = verify(dict(values, **{"monthly.activation.2016-10.or": 1.3}))
    assert extra.unmatched == ("monthly.activation.2016-10.or",) and "not compared" in extra.summary()
    with pytest.raises(ValueError, match="'value'"):
        verify(frame.rename(columns={"value": "estimate"}))
    with pytest.raises(ValueError, match="duplicated"):
        verify(pd.concat([frame, frame.head(1)]))
    with pytest.raises(FileNotFoundError, match="famtrial reproduce"):
        verify(tmp_path / "nowhere")
    bad = verify(dict(values, **{"sample.parents_included": "n/a"}))
    assert bad.frame.loc["sample.parents_included", "status"] == "FAIL"
    assert "not a number" in bad.frame.loc["sample.parents_included", "note"]
    assert bad.frame.loc["sample.parents_treated", "status"] == "ok"


def test_spec_validation(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('[numbers]\n"a.b" = { value = 1.05, printed = "1.50" }\n')
    with pytest.raises(ValueError, match="disagrees with its printed text"):
        load_spec(path)
    path.write_text('[numbers]\n"a.b" = { value = 1.05, printed = "1.05", tolerence = 0.1 }\n')
    with pytest.raises(ValueError, match="tolerence"):
        load_spec(path)
    path.write_text('[numbers]\n"a.b" = { value = 1.05, printed = "1.05" }\n[tolerances]\na = 0.1\n')
    custom = load_spec(path)
    assert verify({"a.b": 1.14}, custom).ok and not verify({"a.b": 1.16}, custom).ok


def test_report_renders(spec):
    report = verify(dict(spec.values(), **{"table6.model3.married.or": 2.0}))
    md = report.to_markdown()
    assert md.startswith("verify: 284 published numbers: 283 ok, 1 FAIL")
    row = next(line for line in md.splitlines() if line.startswith("| table6.model3.married.or |"))
    assert row.split("|")[2:7] == [" 1.27 ", " 2.00000 ", " 0.73000 ", " 0.005 ", " FAIL "]
    assert "table6.model3.married.or" in str(report)


@pytest.mark.subprocess
def test_cli_exit_codes(spec, tmp_path, capsys):
    values = spec.values()  # a bare reproduced.csv (a folder needs the manifest famtrial reproduce writes)
    pd.DataFrame({"key": list(values), "value": list(values.values())}).to_csv(tmp_path / "reproduced.csv", index=False)
    assert (
        cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--out", str(tmp_path / "report.md")]) == 0
    )
    assert "| table2.office_1.coordinated |" in (tmp_path / "report.md").read_text()
    values = dict(values, **{"table6.model3.married.or": 2.0})
    pd.DataFrame({"key": list(values), "value": list(values.values())}).to_csv(tmp_path / "reproduced.csv", index=False)
    capsys.readouterr()
    assert cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--failures-only"]) == 1
    out = capsys.readouterr().out
    assert "table6.model3.married.or" in out and "table2.office_1.coordinated" not in out
    assert (
        cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--tolerance", "table6.model3.married=0.8"])
        == 0
    )
    assert cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--tables", "table7"]) == 2
    assert cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--tolerance", "tabel6=0.8"]) == 2
    assert (
        cli_main(["verify", "--results", str(tmp_path / "reproduced.csv"), "--tolerance", "table6"]) == 2
    )  # a usage error, not a failed number
    assert "--tolerance takes PATTERN=VALUE" in capsys.readouterr().err
    code = f"from famtrial.cli import main; raise SystemExit(main(['verify', '--results', {str(tmp_path / 'reproduced.csv')!r}]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 1 and "table6.model3.married.or" in run.stdout and "FAIL" in run.stdout
