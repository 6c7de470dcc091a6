"""Tables 3 and 4: chi-square and t tests from the printed counts, checked against hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from famtrial.data.load import load_panel
from famtrial.plan.spec import load_plan
from famtrial.table import Table
from famtrial.trial.balance import BalanceTable, CorrelationTable, balance_table, correlation_table

N1, N0 = 964, 1573
# printed Table 3 counts: (treated, control)
COUNTS = {
    "female": (659, 1053),
    "married": (446, 704),
    "reduced_work_capacity": (336, 476),
    "activation": (168, 206),
    "employed": (304, 429),
}
# printed Table 3 moments: (mean, SD) treated, control
MOMENTS = {"year_of_birth": ((1977.67, 8.86), (1977.11, 8.99)), "n_children": ((2.31, 1.18), (2.27, 1.17))}


def _exact_moments(rng, n, mean, sd):
    z = rng.normal(size=n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def _baseline_from_counts(seed: int = 0) -> pd.DataFrame:
    """2537 parents with exactly the printed counts, and continuous rows with exactly the printed moments."""
    rng = np.random.default_rng(seed)
    frame = {"arm": np.r_[np.ones(N1, int), np.zeros(N0, int)]}
    for var, (k1, k0) in COUNTS.items():
        frame[var] = np.r_[
            rng.permutation(np.r_[np.ones(k1), np.zeros(N1 - k1)]),
            rng.permutation(np.r_[np.ones(k0), np.zeros(N0 - k0)]),
        ].astype(int)
    for var, ((m1, s1), (m0, s0)) in MOMENTS.items():
        frame[var] = np.r_[_exact_moments(rng, N1, m1, s1), _exact_moments(rng, N0, m0, s0)]
    return pd.DataFrame(frame)


def _pearson_by_hand(k1, n1, k0, n0):
    """sum (O - E)^2 / E over the 2x2 table; p for 1 df is erfc(sqrt(X2 / 2))."""
    observed = [[k1, n1 - k1], [k0, n0 - k0]]
    rows = [sum(r) for r in observed]
    cols = [k1 + k0, n1 + n0 - k1 - k0]
    total = n1 + n0
    chi2 = sum(
        (observed[i][j] - rows[i] * cols[j] / total) ** 2 / (rows[i] * cols[j] / total)
        for i in range(2)
        for j in range(2)
    )
    return chi2, math.erfc(math.sqrt(chi2 / 2))


def _pooled_t_by_hand(n1, m1, s1, n0, m0, s0):
    """Stata's ttesti: (mean0 - mean1) / (s_p sqrt(1/n0 + 1/n1))."""
    sp = math.sqrt(((n1 - 1) * s1**2 + (n0 - 1) * s0**2) / (n1 + n0 - 2))
    return (m0 - m1) / (sp * math.sqrt(1 / n1 + 1 / n0))


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _baseline_from_counts()


@pytest.fixture(scope="module")
def table3(data) -> BalanceTable:
    plan = load_plan()  # the paper's labels and arm names, given to a DataFrame explicitly
    return balance_table(
        data,
        "arm",
        binary=list(COUNTS),
        continuous=list(MOMENTS),
        labels=plan.labels,
        arm_labels=(plan.offered_label, plan.control_label),
        title="Table 3. Characteristics at baseline by arm",
    )


@pytest.mark.parametrize(
    "var, chi2, p", [("female", 0.548, 0.459), ("reduced_work_capacity", 5.796, 0.016), ("activation", 8.921, 0.003)]
)
def test_printed_chi_square_reproduced_from_counts(table3, var, chi2, p):
    row = table3.frame.loc[var]
    assert row["statistic"] == pytest.approx(chi2, abs=0.002)
    assert row["p"] == pytest.approx(p, abs=0.002)
    k1, k0 = COUNTS[var]
    hand_chi2, hand_p = _pearson_by_hand(k1, N1, k0, N0)
    assert row["statistic"] == pytest.approx(hand_chi2, rel=1e-12)
    assert row["p"] == pytest.approx(hand_p, rel=1e-9)


def test_married_is_0550_not_the_printed_slip(table3):
    """The paper prints chi2 = .486 = its p; the counts give 0.550, p = 0.458 (published.toml notes)."""
    row = table3.frame.loc["married"]
    assert round(row["statistic"], 3) == 0.550 and round(row["p"], 3) == 0.458
    assert row["statistic"] == pytest.approx(_pearson_by_hand(446, N1, 704, N0)[0], rel=1e-12)
    assert abs(row["statistic"] - 0.486) > 0.05


def test_counts_percentages_and_paper_formatting(table3):
    f = table3.frame.loc["activation"]
    assert (f["n_treated"], f["n_control"], f["n_total"]) == (168, 206, 374)
    assert f["pct_treated"] == pytest.approx(100 * 168 / 964) and f["pct_total"] == pytest.approx(100 * 374 / 2537)
    shown = table3.display
    assert shown.loc["Female (%)", "Total"] == "1712 (67.48)"
    assert shown.loc["Female (%)", "Coordinated follow-up"] == "659 (68.36)"
    assert shown.loc["Activation (%)", "Ordinary follow-up"] == "206 (13.10)"
    assert (shown.loc["Female (%)", "chi2/t"], shown.loc["Female (%)", "p-value"]) == ("0.548", "0.459")
    # activation: the counts give 8.9218 (8.922 to three decimals; the paper prints 8.921)
    assert (shown.loc["Activation (%)", "chi2/t"], shown.loc["Activation (%)", "p-value"]) == ("8.922", "0.003")
    assert shown.loc["Year of birth (SD)", "Coordinated follow-up"] == "1977.67 (8.86)"
    assert shown.loc["Year of birth (SD)", "Ordinary follow-up"] == "1977.11 (8.99)"
    assert shown.loc["Year of birth (SD)", "Total"].startswith("1977.32 (")
    assert list(shown.loc["N", ["Total", "Coordinated follow-up", "Ordinary follow-up"]]) == ["2537", "964", "1573"]
    assert table3.title == "Table 3. Characteristics at baseline by arm, n = 2,537"


def test_t_test_is_statas_equal_variance_with_control_minus_treated(table3, data):
    x1 = data.loc[data.arm == 1, "year_of_birth"].to_numpy()
    x0 = data.loc[data.arm == 0, "year_of_birth"].to_numpy()
    row = table3.frame.loc["year_of_birth"]
    # data built with exactly the printed moments: Stata's ttesti on the printed numbers
    hand = _pooled_t_by_hand(N1, 1977.67, 8.86, N0, 1977.11, 8.99)
    assert row["statistic"] == pytest.approx(hand, rel=1e-9)
    assert round(hand, 2) == -1.53  # the printed -1.510 is within rounding of the printed means
    assert row["statistic"] == pytest.approx(stats.ttest_ind(x0, x1).statistic, rel=1e-12)
    assert row["statistic"] < 0 < row["mean_treated"] - row["mean_control"]  # the paper's sign
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(hand), N1 + N0 - 2), rel=1e-8)
    assert (row["test"], row["kind"]) == ("t", "continuous")
    assert table3.frame.loc["n_children", "statistic"] == pytest.approx(
        _pooled_t_by_hand(N1, 2.31, 1.18, N0, 2.27, 1.17), rel=1e-9
    )


def test_welch_option(data):
    welch = balance_table(data, "arm", continuous=["year_of_birth"], equal_var=False)
    x1, x0 = (data.loc[data.arm == a, "year_of_birth"] for a in (1, 0))
    v1, v0 = x1.var() / N1, x0.var() / N0
    t_hand = (x0.mean() - x1.mean()) / math.sqrt(v1 + v0)
    df = (v1 + v0) ** 2 / (v1**2 / (N1 - 1) + v0**2 / (N0 - 1))
    row = welch.frame.loc["year_of_birth"]
    assert row["statistic"] == pytest.approx(t_hand, rel=1e-10) and row["test"] == "Welch t"
    assert row["p"] == pytest.approx(2 * stats.t.sf(abs(t_hand), df), rel=1e-8)
    assert "Welch t" in welch.notes and welch.equal_var is False


def test_smd_variance_ratio_and_joint_test(table3, data):
    row = table3.frame.loc["activation"]
    p1, p0 = 168 / N1, 206 / N0
    s1, s0 = math.sqrt(p1 * (1 - p1) * N1 / (N1 - 1)), math.sqrt(p0 * (1 - p0) * N0 / (N0 - 1))
    assert row["smd"] == pytest.approx((p1 - p0) / math.sqrt((s1**2 + s0**2) / 2), rel=1e-10)
    assert row["variance_ratio"] == pytest.approx(s1**2 / s0**2, rel=1e-10)
    cols = [*COUNTS, *MOMENTS]
    fit = sm.Logit(data["arm"], sm.add_constant(data[cols].astype(float))).fit(disp=0)
    joint = table3.joint_test
    assert joint.lr == pytest.approx(fit.llr, rel=1e-6) and joint.pvalue == pytest.approx(fit.llr_pvalue, rel=1e-5)
    assert (joint.df, joint.nobs, joint.dropped) == (len(cols), 2537, ())
    # llnull by hand: the intercept-only logit fits the arm share
    share = N1 / (N1 + N0)
    assert fit.llnull == pytest.approx(N1 * math.log(share) + N0 * math.log(1 - share), rel=1e-8)
    assert f"LR chi2({len(cols)}) = {joint.lr:.3f}" in table3.notes and str(joint) in table3.notes


def test_to_numbers_gives_the_contract_keys(table3):
    numbers = table3.to_numbers()
    for var in COUNTS:
        for field in ("n_total", "pct_total", "n_treated", "pct_treated", "n_control", "pct_control", "chi2", "p"):
            assert f"balance.{var}.{field}" in numbers
    for var in MOMENTS:
        for field in ("mean_total", "sd_total", "mean_treated", "sd_treated", "mean_control", "sd_control", "t", "p"):
            assert f"balance.{var}.{field}" in numbers
    assert numbers["balance.reduced_work_capacity.chi2"] == pytest.approx(_pearson_by_hand(336, N1, 476, N0)[0])
    assert numbers["balance.female.n_treated"] == 659 and numbers["balance.year_of_birth.sd_control"] == pytest.approx(
        8.99
    )
    assert (numbers["balance.n.total"], numbers["balance.n.treated"], numbers["balance.n.control"]) == (2537, 964, 1573)
    assert len(numbers) == 8 * len(table3.frame) + 3


def test_result_is_a_table_and_exports(table3, tmp_path):
    assert isinstance(table3, Table) and isinstance(table3.table, Table)
    for suffix in (".csv", ".md", ".tex", ".html"):
        text = table3.save(tmp_path / f"table3{suffix}").read_text()
        assert ("reduced_work_capacity" if suffix == ".csv" else "Reduced work capacity") in text
    assert table3.to_markdown().startswith("**Table 3.")
    assert "1712 (67.48)" in str(table3) and "Joint test" in repr(table3)


def test_constant_row_is_described_but_not_tested(data):
    frame = data.assign(pilot=0)
    table = balance_table(frame, "arm", binary=["pilot", "female"])
    row = table.frame.loc["pilot"]
    assert np.isnan(row["statistic"]) and np.isnan(row["p"]) and row["n_total"] == 0
    assert table.display.loc["pilot (%)", "chi2/t"] == "" and "Constant, not tested: ['pilot']" in table.notes
    assert table.joint_test.dropped == ("pilot",) and table.joint_test.df == 1


def test_input_errors(data):
    with pytest.raises(ValueError, match=r"column 'female' has 3 missing values of 2,537: drop or impute"):
        balance_table(
            data.astype({"female": float}).assign(female=lambda d: d["female"].where(d.index > 2)), binary=["female"]
        )
    with pytest.raises(ValueError, match=r"column 'year_of_birth' has 2,537 values outside 0/1"):
        balance_table(data, binary=["year_of_birth"])
    with pytest.raises(ValueError, match=r"column 'arm': both arms must be present \(arm 1: 964, arm 0: 0"):
        balance_table(data[data.arm == 1], binary=["female"])
    with pytest.raises(ValueError, match=r"columns \['sex'\] are not in the baseline data"):
        balance_table(data, binary=["sex"])
    with pytest.raises(ValueError, match="give binary=.* for a DataFrame"):
        balance_table(data)
    with pytest.raises(ValueError, match=r"\['female'\] are given as both binary and continuous"):
        balance_table(data, binary=["female"], continuous=["female"])
    with pytest.raises(TypeError, match="equal_var='no' must be True or False"):
        balance_table(data, binary=["female"], equal_var="no")
    with pytest.raises(ValueError, match="column 'group' is not numeric"):
        balance_table(data.assign(group="a"), continuous=["group"])


# -- a Panel as input and Table 4 -------------------------------------------------------------------
@pytest.fixture(scope="module")
def panel():
    from conftest import make_panel_frame

    return load_panel(make_panel_frame())


def test_balance_from_a_panel_uses_its_roles_and_baseline(panel):
    table = balance_table(panel)
    assert list(table.frame.index) == [
        "female",
        "year_of_birth",
        "married",
        "n_children",
        "immigrant",
        "reduced_work_capacity",
        "activation",
        "employed",
    ]
    assert table.frame.loc["n_children", "kind"] == "continuous" and table.frame.loc["female", "kind"] == "binary"
    base = panel.baseline_frame()
    k1, k0 = (int(base.loc[base.arm == a, "married"].sum()) for a in (1, 0))
    n1, n0 = int((base.arm == 1).sum()), int((base.arm == 0).sum())
    assert table.frame.loc["married", "statistic"] == pytest.approx(_pearson_by_hand(k1, n1, k0, n0)[0], rel=1e-12)
    assert table.nobs == len(base) == 120
    subset = balance_table(panel, binary=["married"], continuous=["year_of_birth"])
    assert list(subset.frame.index) == ["year_of_birth", "married"]


def test_correlations_match_independent_references(panel):
    corr = correlation_table(panel)
    assert isinstance(corr, CorrelationTable) and isinstance(corr, Table)
    base = panel.baseline_frame()
    names = [
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
    assert list(corr.correlations.index) == names
    numbers = corr.to_numbers()
    assert len(numbers) == 9 * 8 // 2 and "table4.employed.experimental" in numbers
    matrix = np.corrcoef(base[["arm", *names[1:]]].to_numpy(float), rowvar=False)
    for i in range(1, 9):
        for j in range(i):
            r, p = stats.pearsonr(base[["arm", *names[1:]][i]], base[["arm", *names[1:]][j]])
            assert numbers[f"table4.{names[i]}.{names[j]}"] == pytest.approx(matrix[i, j], rel=1e-10, abs=1e-14)
            assert corr.pvalues.iloc[i, j] == pytest.approx(p, rel=1e-6, abs=1e-12)


def test_correlation_layout_stars_and_descriptives():
    rng = np.random.default_rng(5)
    n = 400
    arm = rng.integers(0, 2, n)
    strong = arm + rng.normal(0, 0.5, n)  # r about .7: ***
    frame = pd.DataFrame({"arm": arm, "score": strong, "female": rng.integers(0, 2, n)})
    corr = correlation_table(frame, ["score", "female"], labels={"score": "Score", "female": "Female"})
    shown = corr.display
    assert list(shown.columns) == ["M", "n", "SD", "%", "1", "2", "3"]
    assert list(shown.index) == ["1. Experimental condition", "2. Score", "3. Female"]
    r = np.corrcoef(arm, strong)[0, 1]
    assert shown.loc["2. Score", "1"] == f"{r:.2f}" + "***"  # a DataFrame has no plan: leading zeros
    assert shown.loc["2. Score", "2"] == "–" and shown.loc["1. Experimental condition", "2"] == ""
    assert shown.loc["2. Score", "M"] == f"{strong.mean():.2f}" and shown.loc["2. Score", "n"] == ""
    assert shown.loc["3. Female", "n"] == str(frame["female"].sum())
    assert shown.loc["3. Female", "%"] == f"{100 * frame['female'].mean():.2f}"
    r_f = corr.correlations.loc["female", "score"]
    p_f = 2 * stats.t.sf(abs(r_f) * math.sqrt((n - 2) / (1 - r_f**2)), n - 2)
    expected_stars = "*" * sum(p_f < a for a in (0.05, 0.01, 0.001))
    assert shown.loc["3. Female", "2"] == f"{r_f:.2f}" + expected_stars
    assert corr.frame.loc["female", "n"] == frame["female"].sum() and np.isnan(corr.frame.loc["female", "mean"])
    with pytest.raises(ValueError, match="give variables"):
        correlation_table(frame)
    with pytest.raises(ValueError, match="'experimental' names the arm"):
        correlation_table(frame.rename(columns={"score": "experimental"}), ["experimental"])
