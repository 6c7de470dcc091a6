"""The audit of the paper: recomputations against scipy, and the known inconsistencies found on its own."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from famtrial._paths import data_dir
from famtrial.published.audit import (
    DOC_BEGIN,
    DOC_END,
    audit_paper,
    ci_from_or_se,
    pearson_chi2,
    pooled_t,
    update_doc,
)
from famtrial.published.verify import load_spec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "verify.md"
COUNTS = {
    "female": (659, 1053),
    "married": (446, 704),
    "immigrant": (760, 1266),
    "reduced_work_capacity": (336, 476),
    "activation": (168, 206),
    "employed": (304, 429),
}


@pytest.fixture(scope="module")
def audit():
    return audit_paper()


@pytest.mark.parametrize("var", list(COUNTS))
def test_chi2_formula_matches_scipy(var):
    a, b = COUNTS[var]
    table = np.array([[a, 964 - a], [b, 1573 - b]])
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert pearson_chi2(a, 964, b, 1573) == pytest.approx((chi2, p), rel=1e-12)


def test_t_formula_matches_scipy_with_statas_sign():
    res = stats.ttest_ind_from_stats(1977.11, 8.99, 1573, 1977.67, 8.86, 964, equal_var=True)
    assert pooled_t(1977.67, 8.86, 964, 1977.11, 8.99, 1573) == pytest.approx(res.statistic, rel=1e-12)
    assert res.statistic < 0  # control - treated, as Stata's ttest by(arm) prints it


def test_or_ci_matches_a_log_scale_normal_interval():
    lo, hi = stats.norm.interval(0.95, loc=math.log(1.05), scale=0.14 / 1.05)
    assert ci_from_or_se(1.05, 0.14) == pytest.approx((math.exp(lo), math.exp(hi)), rel=1e-12)


def _row(audit, item):
    return audit.frame.loc[item]


@pytest.mark.parametrize(
    "item",
    [
        "table3.married.chi2",
        "table3.married.p",
        "table3.immigrant.pct_treated",
        "table3.immigrant.pct_control",
        "table3.immigrant.chi2",
        "table3.employed.chi2",
        "families.excluded_ordinary",
        "table2.office_4.included",
        "table2.office_11.included",
        "table4.reduced_work_capacity.n",
        "table4.experimental.pct",
        "table4.year_of_birth.experimental",
        "table4.activation.reduced_work_capacity.stars",
        "table6.model3.n_children.stars",
    ],
)
def test_known_inconsistencies_are_found(audit, item):
    assert _row(audit, item)["consistent"] == "no", _row(audit, item)["explanation"]


def test_n_children_t_is_flagged_but_reachable_within_rounding(audit):
    row = _row(audit, "table3.n_children.t")
    assert row["consistent"] == "doubtful" and "table3.n_children.t" in audit.flagged.index
    res = stats.ttest_ind_from_stats(2.27, 1.17, 1573, 2.31, 1.18, 964, equal_var=True)
    assert float(row["recomputed"]) == pytest.approx(res.statistic, abs=5e-4)
    # the printed -.956 is reachable at the edge of the means' rounding (means 2.3149 and 2.2651)
    edge = stats.ttest_ind_from_stats(2.2651, 1.17, 1573, 2.3149, 1.18, 964, equal_var=True).statistic
    assert edge < -0.956


@pytest.mark.parametrize("var", ["female", "reduced_work_capacity", "activation"])
def test_correct_chi2_entries_are_not_flagged(audit, var):
    for field in ("chi2", "p", "p_of_printed_chi2", "pct_treated", "pct_control", "pct_total", "n_total"):
        assert _row(audit, f"table3.{var}.{field}")["consistent"] == "yes", field
    a, b = COUNTS[var]
    chi2 = stats.chi2_contingency(np.array([[a, 964 - a], [b, 1573 - b]]), correction=False)[0]
    assert float(_row(audit, f"table3.{var}.chi2")["recomputed"]) == pytest.approx(chi2, abs=5e-4)


def test_consistent_parts_of_the_paper_pass(audit):
    for item in (
        "table2.sum.included_coordinated",
        "table2.sum.included_ordinary",
        "table2.sum.excluded",
        "table2.sum.all",
        "table2.exclusion_rule",
        "families.included_offered",
        "families.included_ordinary",
        "table3.year_of_birth.p_of_printed_t",
        "table3.n_children.p_of_printed_t",
        "table5.model1.reduced_work_capacity.stars",
        "table5.model1.married.stars",
        "table4.reduced_work_capacity.experimental",
        "table4.activation.experimental",
        "monthly.activation.2018-08.or",
        "monthly.activation.2018-08.significant",
    ):
        assert _row(audit, item)["consistent"] == "yes", item
    assert not audit.findings.index.str.startswith("table3.female").any()


def test_audit_follows_the_spec(tmp_path):
    """Correcting the printed slip in a copy of the spec clears the finding (the audit reads the spec)."""
    text = (data_dir() / "published" / "trial.toml").read_text(encoding="utf-8")
    fixed = text.replace(
        '"table3.married.chi2" = { value = 0.486, printed = ".486"',
        '"table3.married.chi2" = { value = 0.550, printed = ".550"',
    )
    assert fixed != text
    path = tmp_path / "fixed.toml"
    path.write_text(fixed, encoding="utf-8")
    assert audit_paper(path).frame.loc["table3.married.chi2", "consistent"] == "yes"
    assert audit_paper(load_spec(path)).frame.loc["table3.married.p", "consistent"] == "no"


def test_markdown_and_docs_in_sync(audit, tmp_path):
    md = audit.to_markdown()
    assert md.startswith("audit: ") and "| table3.married.chi2 |" in md and "| table3.female.chi2 |" not in md
    assert "| table3.female.chi2 |" in audit.to_markdown(flagged_only=False)
    doc = DOCS.read_text(encoding="utf-8")
    block = doc.split(DOC_BEGIN, 1)[1].split(DOC_END, 1)[0].strip()
    assert block == md.strip(), "docs/verify.md is stale: run famtrial.published.audit.update_doc('docs/verify.md')"
    copy = tmp_path / "verify.md"
    copy.write_text(f"intro\n{DOC_BEGIN}\nSTALE-BLOCK\n{DOC_END}\nrest\n", encoding="utf-8")
    update_doc(copy, audit)
    assert (
        copy.read_text().startswith("intro\n")
        and copy.read_text().endswith("rest\n")
        and "STALE-BLOCK" not in copy.read_text()
    )
    (tmp_path / "plain.md").write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="markers"):
        update_doc(tmp_path / "plain.md", audit)
