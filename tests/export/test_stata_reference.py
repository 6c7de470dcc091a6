"""The exported R script's clogit against Stata's printed output (issue 27).

``famtrial export --to r`` fits each fixed-effects model with the R function ``fit_clogit()`` that its
template defines (``survival::clogit(method = "exact")``; with a cluster column, the cluster-robust
covariance from the exact scores, as the do-file's ``clogit ..., group() vce(cluster)``).
``tests/reference/stata_clogit_reference.R`` cuts that function out of the template and runs it on Stata's
``lowbirth2`` data (``tests/reference/stata_clogit/``, sources in its README) for
``clogit low smoke, group(pairid) or``, whose Stata output is printed in a public help file. The stored R
numbers must match every number Stata printed within half a unit of its last printed digit; the
``needs_r`` test reruns the R script.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from famtrial.export import export_plan

ROOT = Path(__file__).resolve().parents[2]
REF = ROOT / "tests" / "reference" / "stata_clogit"
SCRIPT = ROOT / "tests" / "reference" / "stata_clogit_reference.R"


def _stata() -> pd.DataFrame:
    return pd.read_csv(REF / "stata_printed.csv", comment="#").set_index("quantity")


def _r(path: Path) -> pd.Series:
    return pd.read_csv(path, comment="#").set_index("quantity")["value"]


def _compare(r: pd.Series) -> None:
    stata = _stata()
    for quantity, row in stata.iterrows():
        half_unit = 0.5 * 10.0 ** (-int(row["decimals"]))
        assert abs(r[quantity] - row["value"]) <= half_unit, (quantity, r[quantity], row["value"])


def test_stored_r_output_matches_stata_printed_clogit():
    """Number of obs, LR chi2, its p, the log likelihood, pseudo R2, and the odds ratio of smoke with its
    standard error, z, p and 95% CI: R's exported clogit equals what Stata printed, at Stata's precision."""
    stata = _stata()
    assert len(stata) == 13  # every number of the printed clogit (and the pair table) is checked
    _compare(_r(REF / "r_exported.csv"))


def test_reference_data_is_statas_lowbirth2():
    data = pd.read_csv(REF / "lowbirth2.csv")
    assert data.shape == (112, 9) and data["pairid"].nunique() == 56
    assert (data.groupby("pairid")["low"].agg(["sum", "count"]) == [1, 2]).all().all()


def test_the_exported_script_fits_its_models_with_the_compared_function(tmp_path):
    """The function the reference script cuts out is the one the exported script calls for every model."""
    text = export_plan("nct03102775", "r", tmp_path, data="panel.csv").read_text(encoding="utf-8")
    assert text.count("fit_clogit <- function(X, y, g, cluster = NULL)") == 1
    assert "m <- fit_clogit(X, as.numeric(a[[spec$outcome]]), a[[COL$parent]]," in text
    template = (ROOT / "src" / "famtrial" / "export" / "r.py").read_text(encoding="utf-8")
    start = template.index("exact_scores <- function(")
    stop = template.index("\nfor (spec in MODELS)")
    assert template[start:stop] in text  # the cut-out code is the exported code, character for character


@pytest.mark.needs_r
def test_rerun_r_reference_script(tmp_path):
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    probe = subprocess.run(["Rscript", "-e", "library(survival); library(sandwich)"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("R packages survival and sandwich are not installed")
    out = tmp_path / "r_exported.csv"
    done = subprocess.run(["Rscript", str(SCRIPT), str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh, stored = _r(out), _r(REF / "r_exported.csv")
    assert list(fresh.index) == list(stored.index)
    assert ((fresh - stored).abs() <= 1e-9 * (1 + stored.abs())).all()
    _compare(fresh)
