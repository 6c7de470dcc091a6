"""Baseline balance (Table 3) and baseline correlations (Table 4).

Binary rows: n (%) in total and by arm, Pearson chi-square without continuity correction
(Stata ``tabulate x arm, chi2``). Continuous rows: mean (SD), two-sample t with equal variances
(Stata ``ttest x, by(arm)``, whose difference is mean(arm 0) - mean(arm 1), hence the paper's
negative t for year of birth), or Welch's t (``ttest x, by(arm) unequal``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.panel import Panel
from famtrial.tables import Table, stars

__all__ = ["BalanceTable", "CorrelationTable", "balance_table", "correlation_table", "LABELS"]

#: Row labels as printed in Tables 3 and 4.
LABELS = {
    "experimental": "Experimental condition", "arm": "Experimental condition", "female": "Female",
    "year_of_birth": "Year of birth", "married": "Married", "n_children": "Nr of children",
    "immigrant": "Immigrant", "reduced_work_capacity": "Reduced work capacity",
    "activation": "Activation", "employed": "Employed",
}
_PAPER_ORDER = ("female", "year_of_birth", "married", "n_children", "immigrant", "reduced_work_capacity",
                "activation", "employed")


def _is_binary(s: pd.Series) -> bool:
    return bool(s.dropna().isin([0, 1]).all())


def _roles(data: Panel | pd.DataFrame, arm: str, binary, continuous):
    if isinstance(data, Panel):
        cols = data.columns
        frame = data.baseline_frame()
        variables = [v for v in _PAPER_ORDER if v in (*cols.covariates, *cols.outcomes)]
        variables += [v for v in (*cols.covariates, *cols.outcomes) if v not in variables]
        arm = cols.arm
    else:
        frame = data
        variables = [*(binary or ()), *(continuous or ())]
    if binary is None and continuous is None:
        binary = [v for v in variables if _is_binary(frame[v])]
        continuous = [v for v in variables if v not in binary]
    binary, continuous = list(binary or ()), list(continuous or ())
    absent = [c for c in (arm, *binary, *continuous) if c not in frame.columns]
    if absent:
        raise ValueError(f"columns {absent} are not in the baseline data")
    order = [v for v in variables if v in binary or v in continuous] or [*binary, *continuous]
    return frame, arm, binary, continuous, order


@dataclass(frozen=True)
class BalanceTable:
    """Table 3: per-row statistics (``table``), a joint test that covariates predict the arm."""

    table: Table
    joint_test: dict

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    def to_numbers(self) -> dict[str, float]:
        """``table3.<var>.<field>`` keys for ``famtrial verify``."""
        out: dict[str, float] = {}
        f = self.frame
        for var, row in f.iterrows():
            if row["kind"] == "binary":
                fields = {"n_total": "n_total", "pct_total": "pct_total", "n_treated": "n_treated",
                          "pct_treated": "pct_treated", "n_control": "n_control", "pct_control": "pct_control",
                          "chi2": "statistic", "p": "p"}
            else:
                fields = {"mean_total": "mean_total", "sd_total": "sd_total", "mean_treated": "mean_treated",
                          "sd_treated": "sd_treated", "mean_control": "mean_control", "sd_control": "sd_control",
                          "t": "statistic", "p": "p"}
            out.update({f"table3.{var}.{k}": float(row[v]) for k, v in fields.items()})
        n = self.frame.attrs["n"]
        out.update({"table3.n.total": n[0], "table3.n.treated": n[1], "table3.n.control": n[2]})
        return out

    def __str__(self) -> str:
        j = self.joint_test
        return f"{self.table}\nJoint test (logit of arm on covariates): LR chi2({j['df']}) = {j['lr']:.3f}, p = {j['p']:.3f}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table.to_html()


def balance_table(data: Panel | pd.DataFrame, arm: str = "arm", binary: Sequence[str] | None = None,
                  continuous: Sequence[str] | None = None, *, equal_var: bool = True,
                  labels: Mapping[str, str] | None = None) -> BalanceTable:
    """Baseline characteristics by arm with chi-square and t tests (the paper's Table 3).

    ``data`` is one row per parent (e.g. ``panel.baseline_frame()``) or a Panel (its baseline
    month, with binary rows found as 0/1 columns). Beyond the paper: the standardized mean
    difference ``(m1 - m0) / sqrt((s1^2 + s0^2) / 2)``, the variance ratio ``s1^2 / s0^2``, and a
    joint likelihood-ratio test from a logit of the arm on all rows' variables.
    """
    frame, arm, binary, continuous, order = _roles(data, arm, binary, continuous)
    labels = {**LABELS, **(labels or {})}
    a = frame[arm].to_numpy()
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"the arm column {arm!r} must be 0/1")
    treated, control = frame[a == 1], frame[a == 0]
    rows, shown = {}, {}
    for var in order:
        x1, x0, x = treated[var].to_numpy(float), control[var].to_numpy(float), frame[var].to_numpy(float)
        m1, m0, s1, s0 = x1.mean(), x0.mean(), x1.std(ddof=1), x0.std(ddof=1)
        smd = (m1 - m0) / np.sqrt((s1 ** 2 + s0 ** 2) / 2)
        vr = s1 ** 2 / s0 ** 2
        if var in binary:
            table = np.array([[x1.sum(), len(x1) - x1.sum()], [x0.sum(), len(x0) - x0.sum()]])
            chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
            rows[var] = {"kind": "binary", "n_total": x.sum(), "pct_total": 100 * x.mean(), "n_treated": x1.sum(),
                         "pct_treated": 100 * m1, "n_control": x0.sum(), "pct_control": 100 * m0,
                         "statistic": chi2, "p": p, "smd": smd, "variance_ratio": vr}
            shown[var] = [f"{int(x.sum())} ({100 * x.mean():.2f})", f"{int(x1.sum())} ({100 * m1:.2f})",
                          f"{int(x0.sum())} ({100 * m0:.2f})", f"{chi2:.3f}"]
        else:
            # Stata ttest: difference = mean(arm 0) - mean(arm 1)
            t, p = stats.ttest_ind(x0, x1, equal_var=equal_var)
            rows[var] = {"kind": "continuous", "mean_total": x.mean(), "sd_total": x.std(ddof=1), "mean_treated": m1,
                         "sd_treated": s1, "mean_control": m0, "sd_control": s0, "statistic": t, "p": p,
                         "smd": smd, "variance_ratio": vr}
            shown[var] = [f"{x.mean():.2f} ({x.std(ddof=1):.2f})", f"{m1:.2f} ({s1:.2f})", f"{m0:.2f} ({s0:.2f})",
                          f"{t:.3f}"]
        shown[var] += [f"{p:.3f}", f"{smd:.3f}", f"{vr:.2f}"]
    numeric = pd.DataFrame.from_dict(rows, orient="index")
    numeric.attrs["n"] = (len(frame), len(treated), len(control))
    display = pd.DataFrame.from_dict(shown, orient="index", columns=[
        "Total", "Coordinated follow-up", "Ordinary follow-up", "chi2/t", "p-value", "SMD", "Variance ratio"])
    display.index = [labels.get(v, v) + (" (%)" if v in binary else " (SD)") for v in display.index]
    display.loc["N"] = [f"{len(frame)}", f"{len(treated)}", f"{len(control)}", "", "", "", ""]
    joint = _joint_test(frame, arm, order)
    test = "t (equal variances)" if equal_var else "Welch t"
    notes = (f"n (%) with Pearson chi-square (no continuity correction); mean (SD) with {test}, "
             "difference ordinary minus coordinated as Stata's ttest. SMD = standardized mean difference "
             f"(coordinated minus ordinary). Joint test, logit of arm on all rows: LR chi2({joint['df']}) = "
             f"{joint['lr']:.3f}, p = {joint['p']:.3f}.")
    title = f"Table 3. Characteristics at baseline by arm, n = {len(frame):,}"
    return BalanceTable(table=Table(frame=numeric, display=display, title=title, notes=notes), joint_test=joint)


def _joint_test(frame: pd.DataFrame, arm: str, variables: Sequence[str]) -> dict:
    """LR test that ``variables`` jointly do not predict the arm (logit of arm on them)."""
    from famtrial.models.logit import Logit

    x = frame[list(variables)].to_numpy(float)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1)
    res = Logit(frame[arm].to_numpy(float), x, names=list(variables)).fit()
    lr = 2 * (res.llf - res.llnull)
    df = len(res.params) - 1
    return {"lr": float(lr), "df": int(df), "p": float(stats.chi2.sf(lr, df))}


@dataclass(frozen=True)
class CorrelationTable:
    """Table 4: pairwise Pearson correlations at baseline (lower triangle) with stars."""

    table: Table
    correlations: pd.DataFrame
    pvalues: pd.DataFrame

    def to_numbers(self) -> dict[str, float]:
        """``table4.<rowvar>.<colvar>`` for the lower triangle."""
        names = list(self.correlations.index)
        return {f"table4.{names[i]}.{names[j]}": float(self.correlations.iloc[i, j])
                for i in range(len(names)) for j in range(i)}

    def __str__(self) -> str:
        return str(self.table)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.table.to_html()


def correlation_table(data: Panel | pd.DataFrame, variables: Sequence[str] | None = None, *, arm: str = "arm",
                      labels: Mapping[str, str] | None = None) -> CorrelationTable:
    """Pairwise Pearson correlations with n/% (binary) or mean/SD (continuous), as the paper's Table 4.

    The first variable is ``experimental`` (the arm). Stars from the correlation's t test,
    ``t = r sqrt((n-2)/(1-r^2))``: * p < .05, ** p < .01, *** p < .001.
    """
    if isinstance(data, Panel):
        frame = data.baseline_frame()
        arm = data.columns.arm
        if variables is None:
            cols = data.columns
            variables = [v for v in _PAPER_ORDER if v in (*cols.covariates, *cols.outcomes)]
    else:
        frame = data
        if variables is None:
            raise ValueError("give variables= when data is a DataFrame")
    names = ["experimental", *variables]
    x = pd.concat([frame[arm].rename("experimental"), frame[list(variables)]], axis=1).astype(float)
    n = len(x)
    r = x.corr()
    t = r * np.sqrt((n - 2) / np.clip(1 - r ** 2, 1e-300, None))
    p = pd.DataFrame(2 * stats.t.sf(np.abs(t), n - 2), index=names, columns=names)
    labels = {**LABELS, **(labels or {})}
    shown = []
    for i, v in enumerate(names):
        col = x[v]
        binary = _is_binary(col)
        desc = ([f"{int(col.sum())}", f"{100 * col.mean():.2f}"] if binary else [f"{col.mean():.2f}", f"{col.std():.2f}"])
        cells = [f"{r.iloc[i, j]:.2f}".replace("0.", ".", 1) + stars(p.iloc[i, j]) for j in range(i)]
        shown.append([*desc, *cells, "–", *[""] * (len(names) - i - 1)])
    display = pd.DataFrame(shown, index=[f"{i + 1}. {labels.get(v, v)}" for i, v in enumerate(names)],
                           columns=["n / M", "% / SD", *[str(i + 1) for i in range(len(names))]])
    numeric = r.copy()
    title = f"Table 4. Pairwise correlations at baseline, n = {n:,}"
    notes = "n and % for binary variables, mean and SD otherwise. * p < .05, ** p < .01, *** p < .001."
    return CorrelationTable(table=Table(frame=numeric, display=display, title=title, notes=notes),
                            correlations=r, pvalues=p)
