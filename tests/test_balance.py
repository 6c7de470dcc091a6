"""Table 3 and Table 4: chi-square and t tests from the printed counts, with independent formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import make_panel_frame
from famtrial.balance import balance_table, correlation_table
from famtrial.panel import load_panel

N1, N0 = 964, 1573
# printed Table 3 counts: (treated, control)
COUNTS = {"female": (659, 1053), "married": (446, 704), "reduced_work_capacity": (336, 476),
          "activation": (168, 206), "employed": (304, 429)}


def _baseline_from_counts(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.r_[np.ones(N1, int), np.zeros(N0, int)]
    frame = {"arm": arm}
    for var, (k1, k0) in COUNTS.items():
        frame[var] = np.r_[rng.permutation(np.r_[np.ones(k1), np.zeros(N1 - k1)]),
                           rng.permutation(np.r_[np.ones(k0), np.zeros(N0 - k0)])].astype(int)
    frame["year_of_birth"] = np.r_[rng.normal(1977.67, 8.86, N1), rng.normal(1977.11, 8.99, N0)].round()
    return pd.DataFrame(frame)


def _pearson_by_hand(k1, n1, k0, n0):
    observed = np.array([[k1, n1 - k1], [k0, n0 - k0]], float)
    expected = observed.sum(1, keepdims=True) * observed.sum(0, keepdims=True) / observed.sum()
    chi2 = ((observed - expected) ** 2 / expected).sum()
    return chi2, stats.chi2.sf(chi2, 1)


@pytest.fixture(scope="module")
def table3():
    return balance_table(_baseline_from_counts(), "arm", binary=list(COUNTS), continuous=["year_of_birth"])


@pytest.mark.parametrize("var, chi2, p", [("female", 0.548, 0.459), ("reduced_work_capacity", 5.796, 0.016),
                                          ("activation", 8.921, 0.003)])
def test_printed_chi_square_reproduced_from_counts(table3, var, chi2, p):
    row = table3.frame.loc[var]
    assert row["statistic"] == pytest.approx(chi2, abs=0.002)
    assert row["p"] == pytest.approx(p, abs=0.002)
    hand = _pearson_by_hand(*COUNTS[var][:1], N1, COUNTS[var][1], N0)
    assert row["statistic"] == pytest.approx(hand[0], rel=1e-12) and row["p"] == pytest.approx(hand[1], rel=1e-10)


def test_married_is_0550_not_the_printed_slip(table3):
    """The paper prints chi2 = .486 = its p; the counts give 0.550 (published.toml notes)."""
    row = table3.frame.loc["married"]
    assert round(row["statistic"], 3) == 0.550 and round(row["p"], 3) == 0.458


def test_counts_percentages_and_display(table3):
    f = table3.frame.loc["activation"]
    assert (f["n_treated"], f["n_control"], f["n_total"]) == (168, 206, 374)
    assert f["pct_treated"] == pytest.approx(17.43, abs=0.005) and f["pct_total"] == pytest.approx(14.74, abs=0.005)
    shown = table3.table.display
    assert shown.loc["Activation (%)", "Total"] == "374 (14.74)"
    assert shown.loc["Female (%)", "chi2/t"] == "0.548"
    assert list(shown.loc["N", ["Total", "Coordinated follow-up", "Ordinary follow-up"]]) == ["2537", "964", "1573"]
    numbers = table3.to_numbers()
    assert numbers["table3.reduced_work_capacity.chi2"] == pytest.approx(5.796, abs=0.001)
    assert numbers["table3.n.treated"] == 964


def test_t_test_is_statas_equal_variance_with_control_minus_treated(table3):
    data = _baseline_from_counts()
    x1, x0 = data.loc[data.arm == 1, "year_of_birth"], data.loc[data.arm == 0, "year_of_birth"]
    sp = np.sqrt(((N1 - 1) * x1.var() + (N0 - 1) * x0.var()) / (N1 + N0 - 2))
    t_hand = (x0.mean() - x1.mean()) / (sp * np.sqrt(1 / N1 + 1 / N0))
    row = table3.frame.loc["year_of_birth"]
    assert row["statistic"] == pytest.approx(t_hand, rel=1e-10)
    assert row["statistic"] < 0 < row["mean_treated"] - row["mean_control"]  # the paper's sign
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(t_hand), N1 + N0 - 2), rel=1e-10)
    welch = balance_table(data, "arm", binary=[], continuous=["year_of_birth"], equal_var=False)
    assert welch.frame.loc["year_of_birth", "statistic"] == pytest.approx(stats.ttest_ind(x0, x1, equal_var=False)[0])


def test_smd_variance_ratio_and_joint_test(table3):
    data = _baseline_from_counts()
    row = table3.frame.loc["activation"]
    p1, p0 = 168 / N1, 206 / N0
    s1, s0 = np.sqrt(p1 * (1 - p1) * N1 / (N1 - 1)), np.sqrt(p0 * (1 - p0) * N0 / (N0 - 1))
    assert row["smd"] == pytest.approx((p1 - p0) / np.sqrt((s1 ** 2 + s0 ** 2) / 2), rel=1e-10)
    assert row["variance_ratio"] == pytest.approx(s1 ** 2 / s0 ** 2, rel=1e-10)
    import statsmodels.api as sm

    cols = [*COUNTS, "year_of_birth"]
    fit = sm.Logit(data["arm"], sm.add_constant(data[cols].astype(float))).fit(disp=0)
    assert table3.joint_test["lr"] == pytest.approx(fit.llr, rel=1e-6)
    assert table3.joint_test["df"] == len(cols)


def test_balance_and_correlations_from_a_panel(tmp_path):
    panel = load_panel(make_panel_frame())
    table = balance_table(panel)
    assert list(table.frame.index) == ["female", "year_of_birth", "married", "n_children", "immigrant",
                                       "reduced_work_capacity", "activation", "employed"]
    assert table.frame.loc["n_children", "kind"] == "continuous" and table.frame.loc["female", "kind"] == "binary"
    corr = correlation_table(panel)
    base = panel.baseline_frame()
    r = np.corrcoef(base["arm"], base["female"])[0, 1]
    assert corr.to_numbers()["table4.female.experimental"] == pytest.approx(r, rel=1e-12)
    n = len(base)
    r_ay = corr.correlations.loc["activation", "year_of_birth"]
    p = 2 * stats.t.sf(abs(r_ay) * np.sqrt((n - 2) / (1 - r_ay ** 2)), n - 2)
    assert corr.pvalues.loc["activation", "year_of_birth"] == pytest.approx(p, rel=1e-8)
    assert stats.pearsonr(base["activation"], base["year_of_birth"])[1] == pytest.approx(p, rel=1e-6)
    shown = corr.table.display
    assert shown.iloc[0, -len(shown) :].tolist()[0] == "–"
    for suffix in (".csv", ".md", ".tex", ".html"):
        text = table.table.save(tmp_path / f"table3{suffix}").read_text()
        assert ("reduced_work_capacity" if suffix == ".csv" else "Reduced work capacity") in text
    assert table.table.to_markdown().startswith("**Table 3.")
    assert "\\begin{tabular}" in corr.table.to_latex()
