"""famtrial export: the plan as a Stata do-file (checked against golden files) and an R script (run, and
compared with famtrial's numbers to 1e-6 on both shipped plans where R is installed)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import famtrial
from famtrial._version import __version__
from famtrial.cli import main
from famtrial.errors import ExportError
from famtrial.export import export_plan, recipe
from famtrial.plan.spec import load_plan
from famtrial.published.verify import verify

GOLDEN = Path(__file__).parent / "golden"
PLANS = ("nct03102775", "casework")


def _normalised(text: str) -> str:
    """The do-file without what changes with every release or plan schema: famtrial's version, the plan's hash."""
    text = text.replace(f"famtrial {__version__}", "famtrial VERSION")
    return re.sub(r"canonical hash [0-9a-f]{64}", "canonical hash HASH", text)


@pytest.mark.parametrize("plan", PLANS)
def test_do_file_matches_its_golden_file(plan, tmp_path):
    """The exported do-file, byte for byte (but version and hash), as reviewed in tests/export/golden/.

    After an intended change: FAMTRIAL_UPDATE_GOLDEN=1 python -m pytest tests/export -k golden, and
    review the diff of the golden file.
    """
    path = export_plan(plan, "stata", tmp_path, data="panel.csv")
    assert path.name == f"famtrial_{plan}.do"
    golden = GOLDEN / path.name
    text = _normalised(path.read_text(encoding="utf-8"))
    if os.environ.get("FAMTRIAL_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_do_file_runs_the_plan_s_models():
    text = (GOLDEN / "famtrial_nct03102775.do").read_text(encoding="utf-8")
    plan = load_plan("nct03102775")
    assert text.count("clogit ") == len(plan.models)
    assert (
        "clogit activation coordinator_pooled n_children married reduced_work_capacity trend, "
        "group(parent_id) vce(cluster office) or" in text
    )
    assert "boottest coordinator_pooled, weight(rademacher)" in text  # inference.models = model1, model3
    assert text.count("\nboottest ") == 2
    assert "logit activation _arm `controls', vce(cluster office)" in text
    casework = (GOLDEN / "famtrial_casework.do").read_text(encoding="utf-8")
    assert "ib(first)._m" in casework and "i.kontor, vce(cluster kontor)" in casework  # month FE; office FE
    assert "(_u0 / (_u1 + _u0) >= 0.25)" in casework and "tag(kontor pid)" in casework  # 1/4 of persons


def test_recipe_reads_the_plan():
    rec = recipe("casework", data="x.csv")
    assert (rec.parent, rec.office, rec.month, rec.offered, rec.control) == ("pid", "kontor", "ym", "yes", "no")
    assert [v for v, _ in rec.variants] == ["phone", "home", "group"] and rec.variant_control == ("none",)
    model = next(m for m in rec.models if m.name == "work_by_variant")
    assert model.terms == ("casework_phone", "casework_home", "casework_group") and model.time == "months"
    educ = next(s for s in rec.series if s.name == "educ")
    assert educ.base_vars == ("health", "work", "educ") and educ.office_effects
    nct = recipe("nct03102775", data="x.csv")
    assert nct.variants == (("local", ("local", "1")), ("holf", ("holf", "2"))) and nct.variant_control == (
        "ordinary",
        "0",
    )
    assert nct.threshold == 1 / 3 and nct.sample_unit == "family"


def test_export_refuses_what_it_cannot_translate(tmp_path, capsys):
    raw = tomllib.loads(load_plan().to_toml())
    raw["columns"]["start"] = "start_month"
    with pytest.raises(ExportError, match=r"\[columns\] start = 'start_month'"):
        export_plan(famtrial.Plan.from_dict(raw), "r", tmp_path, data="x.csv")
    with pytest.raises(ExportError, match="'stata'.*or 'r'"):
        export_plan("casework", "sas", tmp_path)  # type: ignore[arg-type]
    assert main(["export", "--plan", "casework", "--to", "sas"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["export", "--plan", "casework", "--to", "r", "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / "famtrial_casework.R").exists()


def test_r_script_says_why_it_computes_robust_errors_by_hand(tmp_path):
    text = export_plan("nct03102775", "r", tmp_path, data="panel.csv").read_text(encoding="utf-8")
    assert 'method = "exact"' in text and "refuses robust = TRUE" in text
    assert 'vcovCL(fit, cluster = cross[[COL$office]], type = "HC0")' in text
    assert 'p.adjust(rows$p, method = "holm")' in text and 'p.adjust(rows$p, method = "BH")' in text


# -- the R script run against famtrial (needs R with survival and sandwich) ---------------------------------


def _needs_r() -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    probe = subprocess.run(["Rscript", "-e", "library(survival); library(sandwich)"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("R packages survival and sandwich are not installed")


@pytest.mark.needs_r
@pytest.mark.parametrize("plan", PLANS)
def test_exported_r_script_matches_famtrial(plan, tmp_path):
    """Every number famtrial reproduce writes (sample, balance, correlations, the clogit models' OR, SE, CI
    and pseudo R2, the monthly ORs and CIs, the significant months) equals the R script's within 1e-6,
    and the monthly p-values (raw within 1e-6; Holm and BH within M * 1e-6) equal famtrial's
    monthly_<series>.csv. The casework plan's month fixed effects make R's exact clogit slow (about 20
    CPU minutes)."""
    _needs_r()
    import matplotlib

    matplotlib.use("Agg")
    loaded = load_plan(plan)
    data = tmp_path / "panel.csv"  # the same data, as CSV (R reads Parquet only with arrow)
    pd.read_parquet(loaded.resolve_data()).to_csv(data, index=False)
    script = export_plan(plan, "r", tmp_path, data=data)
    spec = tmp_path / "r_spec.toml"
    done = subprocess.run(["Rscript", str(script), str(data), str(spec)], capture_output=True, text=True, timeout=7200)
    assert done.returncode == 0, done.stderr[-2000:]
    run = famtrial.reproduce(None, tmp_path / "results", plan=plan, inference=False, progress=False)
    report = verify(run.out, spec)
    frame = report.frame
    assert report.ok and (frame["status"] == "ok").all(), report.failed
    assert set(frame.index) == set(run.numbers)  # R computed every number famtrial reproduced
    assert (frame["tolerance"].dropna() == 1e-6).all() and frame["difference"].abs().max() < 1e-6
    context = tomllib.loads(spec.read_text(encoding="utf-8"))["context"]
    for series in loaded.series:
        monthly = pd.read_csv(run.out / f"monthly_{series.name}.csv")
        # Holm and BH multiply a p-value by up to M (the months): its 1e-6 becomes M * 1e-6
        for field, tol in (("p", 1e-6), ("p_holm", len(monthly) * 1e-6), ("p_bh", len(monthly) * 1e-6)):
            got = [context[f"monthly.{series.name}.{m}.{field}"]["value"] for m in monthly["month"]]
            assert (abs(pd.Series(got) - monthly[field]) <= tol).all(), field
