"""Baseline balance (Table 3) and baseline correlations (Table 4).

Binary rows: n (%) in total and by arm, Pearson chi-square without continuity correction
(Stata ``tabulate x arm, chi2``; R ``chisq.test(table(x, arm), correct = FALSE)``). Continuous
rows: mean (SD), two-sample t with equal variances (Stata ``ttest x, by(arm)``; R
``t.test(x ~ arm, var.equal = TRUE)``), whose difference is mean(arm 0) - mean(arm 1), hence the
paper's negative t for year of birth; or Welch's t (``ttest x, by(arm) unequal``).

On a Dask panel both tables are built from per-partition sums (:mod:`famtrial.trial._balance_dask`):
the same checks (:func:`_check_facts` reads the same facts of the rows, summed), the same rows
from moments, the same display and notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from famtrial._parallel import is_dask_dataframe
from famtrial.data.panel import Panel
from famtrial.table import Table, stars

__all__ = ["BalanceTable", "CorrelationTable", "JointTest", "balance_table", "correlation_table"]

_ARM_LABEL = "Experimental condition"


def _is_binary(s: pd.Series) -> bool:
    return bool(s.isin([0, 1]).all())


def _names(value: object, what: str) -> list[Any] | None:
    """A list of column names from a list/tuple argument; a bare string or a non-sequence is an error."""
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError(f"{what} must be a list of column names, not the string {value!r} (write [{value!r}])")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of column names, not {type(value).__name__}")
    names = list(value)
    repeated = sorted({str(v) for v in names if names.count(v) > 1})
    if repeated:
        raise ValueError(f"{what}: {repeated} are listed more than once")
    return names


def _check_text(value: object, what: str) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what}={value!r} must be a string")


def _check_labels(labels: object) -> None:
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(
            f"labels must be a mapping column -> label (e.g. {{'female': 'Female'}}), not {type(labels).__name__}"
        )


class _Facts(Protocol):
    """What :func:`_check_facts` asks of the baseline rows: one frame in memory, or sums over Dask partitions."""

    columns: pd.Index
    n: int

    def dtype(self, column: Any) -> Any:
        """The column's dtype."""

    def missing(self, column: Any) -> int:
        """Its missing values."""

    def infinite(self, column: Any) -> int:
        """Its infinite values (a float column)."""

    def outside(self, column: Any) -> tuple[int, list[Any]]:
        """Its values outside 0/1: the count and the first three distinct ones in row order."""

    def arms(self, arm: str) -> tuple[int, int]:
        """Rows in arm 1 and in arm 0 of the 0/1 column ``arm``."""


class _FrameFacts:
    """:class:`_Facts` of a frame in memory."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame, self.columns, self.n = frame, frame.columns, len(frame)

    def dtype(self, column: Any) -> Any:
        return self.frame[column].dtype

    def missing(self, column: Any) -> int:
        return int(self.frame[column].isna().sum())

    def infinite(self, column: Any) -> int:
        return int(np.isinf(self.frame[column].to_numpy(dtype=float)).sum())

    def outside(self, column: Any) -> tuple[int, list[Any]]:
        bad = ~self.frame[column].isin([0, 1])
        return int(bad.sum()), list(pd.unique(self.frame.loc[bad, column]))[:3]

    def arms(self, arm: str) -> tuple[int, int]:
        counts = self.frame[arm].astype(np.int64).value_counts()
        return int(counts.get(1, 0)), int(counts.get(0, 0))


def _check(frame: pd.DataFrame, arm: str, variables: Sequence[str], binary: Sequence[str]) -> None:
    """Columns present, unique, real-numeric, finite and complete; arm and binary rows 0/1 with both arms."""
    _check_facts(_FrameFacts(frame), arm, variables, binary)


def _check_facts(facts: _Facts, arm: str, variables: Sequence[str], binary: Sequence[str]) -> None:
    """:func:`_check` on the facts of the baseline rows (the same messages in memory and on Dask)."""
    if not isinstance(arm, str):
        raise TypeError(f"arm={arm!r} must be a column name (a string)")
    absent = [c for c in (arm, *variables) if c not in facts.columns]
    if absent:
        raise ValueError(f"columns {absent} are not in the baseline data; it has {list(facts.columns)[:20]}")
    if not variables:
        raise ValueError("no variables to describe: give binary=[...] and/or continuous=[...]")
    repeated = sorted({str(c) for c in facts.columns[facts.columns.duplicated()] if c in {arm, *variables}})
    if repeated:
        raise ValueError(f"columns {repeated} appear more than once in the baseline data: rename or drop the copies")
    for c in (arm, *variables):
        dtype = facts.dtype(c)
        if (
            not pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ) or pd.api.types.is_complex_dtype(dtype):
            raise ValueError(f"column {c!r} is not numeric ({dtype}): recode it as numbers")
        n_na = facts.missing(c)
        if n_na:
            raise ValueError(
                f"column {c!r} has {n_na:,} missing values of {facts.n:,}: drop or impute those rows "
                "first (load_panel(..., missing='drop') counts what it drops)"
            )
        if pd.api.types.is_float_dtype(dtype):
            n_inf = facts.infinite(c)
            if n_inf:
                raise ValueError(
                    f"column {c!r} has {n_inf:,} infinite values of {facts.n:,}: drop or fix those "
                    "rows first (load_panel counts +-inf as missing and missing='drop' drops them)"
                )
    for c in (arm, *binary):
        n_bad, examples = facts.outside(c)
        if n_bad:
            raise ValueError(f"column {c!r} has {n_bad:,} values outside 0/1 (e.g. {examples}): it must be binary")
    n1, n0 = facts.arms(arm)
    if n0 == 0 or n1 == 0:
        raise ValueError(f"column {arm!r}: both arms must be present (arm 1: {n1}, arm 0: {n0} rows)")


def _int_arm(frame: pd.DataFrame, arm: str) -> pd.DataFrame:
    """The frame with a True/False or nullable-integer arm as plain 0/1 integers."""
    if frame[arm].dtype == np.int8 or frame[arm].dtype == np.int64:
        return frame
    return frame.assign(**{arm: frame[arm].astype(np.int64)})


def _plan_variables(panel: Panel) -> list[str]:
    """Columns of the plan's balance variables (default: covariates then outcomes, in plan order)."""
    plan = panel.plan
    keys = plan.balance_variables or tuple(v.key for v in plan.variables)
    return [plan.variable(k).column for k in keys]


def _roles(data: Panel | pd.DataFrame, arm: str, binary: Any, continuous: Any) -> Any:
    """Baseline frame, arm column, binary and continuous rows in display order."""
    binary, continuous = _names(binary, "binary"), _names(continuous, "continuous")
    if isinstance(data, Panel):
        frame, arm = data.baseline_frame(), data.columns.arm
        variables = _plan_variables(data)
    else:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data must be a DataFrame (one row per parent) or a Panel, not {type(data).__name__}")
        if binary is None and continuous is None:
            raise ValueError("give binary=[...] and/or continuous=[...] for a DataFrame (a Panel supplies its roles)")
        frame, variables = data, list(data.columns)
    binary, order = _choose(_FrameFacts(frame), arm, variables, binary, continuous)
    return _int_arm(frame, arm), arm, binary, order


def _choose(facts: _Facts, arm: str, variables: list[Any], binary: Any, continuous: Any) -> tuple[list[Any], list[Any]]:
    """The binary rows and every row in display order, checked; with neither list given, 0/1 columns are binary."""
    if binary is None and continuous is None:
        binary = [v for v in variables if facts.outside(v)[0] == 0]  # _is_binary
        continuous = [v for v in variables if v not in binary]
    binary, continuous = list(binary or ()), list(continuous or ())
    both = sorted(set(binary) & set(continuous))
    if both:
        raise ValueError(f"{both} are given as both binary and continuous")
    chosen = [*binary, *continuous]
    _check_facts(facts, arm, chosen, binary)
    order = [v for v in variables if v in chosen] + [v for v in chosen if v not in variables]
    return binary, order


@dataclass(frozen=True)
class JointTest:
    """Likelihood-ratio test that the baseline rows jointly do not predict the arm.

    ``lr = 2 (llf - llnull)`` from a logit of the arm on the rows' variables, chi-square with
    ``df`` degrees of freedom (Stata: ``logit arm x1 ... xk`` then ``e(chi2)``; R:
    ``anova(glm(arm ~ ., binomial), test = "LRT")``). ``dropped`` lists variables the logit could
    not use (constant or collinear).
    """

    lr: float
    df: int
    pvalue: float
    nobs: int
    variables: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    def __str__(self) -> str:
        tail = f"; not used: {list(self.dropped)}" if self.dropped else ""
        return (
            f"Joint test (logit of arm on {len(self.variables) - len(self.dropped)} baseline variables): "
            f"LR chi2({self.df}) = {self.lr:.3f}, p {'< 0.001' if self.pvalue < 0.001 else f'= {self.pvalue:.3f}'}, "
            f"n = {self.nobs:,}{tail}"
        )


def _joint_test(frame: pd.DataFrame, arm: str, variables: Sequence[str]) -> JointTest:
    from famtrial.models.logit import Logit

    x = frame[list(variables)].to_numpy(float)
    sd = x.std(axis=0)
    constant = [v for v, s in zip(variables, sd) if s == 0]
    use = [v for v, s in zip(variables, sd) if s > 0]
    z = (x[:, sd > 0] - x[:, sd > 0].mean(axis=0)) / sd[sd > 0]  # scaling leaves the LR unchanged
    res = Logit(frame[arm].to_numpy(float), z, names=use).fit()
    return _joint_result(res, variables, constant, use)


def _joint_result(res: Any, variables: Sequence[str], constant: Sequence[str], use: Sequence[str]) -> JointTest:
    """The :class:`JointTest` of the arm's logit ``res`` on the non-constant variables ``use``."""
    used = [n for n in res.params.index if n != "Intercept"]
    lr = float(2 * (res.llf - res.llnull))
    dropped = (*constant, *[v for v in use if v not in used])
    return JointTest(
        lr=lr,
        df=len(used),
        pvalue=float(stats.chi2.sf(lr, len(used))),
        nobs=int(res.nobs),
        variables=tuple(variables),
        dropped=dropped,
    )


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class BalanceTable(Table):
    """Table 3: one row per baseline variable (``frame``: unrounded; ``display``: as printed).

    ``frame`` columns: ``kind`` (binary/continuous), ``n_*``/``pct_*`` (binary) or
    ``mean_*``/``sd_*`` (continuous) for ``total``, ``treated`` (arm 1) and ``control`` (arm 0),
    ``statistic`` (chi-square or t), ``test``, ``p``, ``smd``, ``variance_ratio``.
    """

    joint_test: JointTest
    nobs: int
    nobs_treated: int
    nobs_control: int
    equal_var: bool = True
    name: str = "balance"
    keys: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> Table:
        """The plain publication table (frame, display, title, notes)."""
        return Table(frame=self.frame, display=self.display, title=self.title, notes=self.notes)

    def to_numbers(self) -> dict[str, float]:
        """``<name>.<var>.<field>`` keys for ``famtrial verify`` (and ``<name>.n.*``).

        ``<var>`` is the plan's key of the column (``keys``), so renamed data give the same keys.
        """
        out: dict[str, float] = {}
        keys, t = dict(self.keys), self.name
        for var, row in self.frame.iterrows():
            stat = "chi2" if row["kind"] == "binary" else "t"
            fields = ("n", "pct") if row["kind"] == "binary" else ("mean", "sd")
            key = keys.get(var, var)
            for group in ("total", "treated", "control"):
                out.update({f"{t}.{key}.{f}_{group}": float(row[f"{f}_{group}"]) for f in fields})
            out[f"{t}.{key}.{stat}"] = float(row["statistic"])
            out[f"{t}.{key}.p"] = float(row["p"])
        out.update(
            {
                f"{t}.n.total": float(self.nobs),
                f"{t}.n.treated": float(self.nobs_treated),
                f"{t}.n.control": float(self.nobs_control),
            }
        )
        return out


def _binary_row(x: np.ndarray, x1: np.ndarray, x0: np.ndarray) -> dict[str, Any]:
    observed = np.array([[x1.sum(), len(x1) - x1.sum()], [x0.sum(), len(x0) - x0.sum()]])
    if (observed.sum(axis=0) == 0).any():  # constant: no test
        chi2 = p = np.nan
    else:
        chi2, p, _, _ = stats.chi2_contingency(observed, correction=False)
    return {
        "kind": "binary",
        "test": "chi2",
        "n_total": x.sum(),
        "pct_total": 100 * x.mean(),
        "n_treated": x1.sum(),
        "pct_treated": 100 * x1.mean(),
        "n_control": x0.sum(),
        "pct_control": 100 * x0.mean(),
        "statistic": float(chi2),
        "p": float(p),
    }


def _continuous_row(x: np.ndarray, x1: np.ndarray, x0: np.ndarray, equal_var: bool) -> dict[str, Any]:
    if x1.std() == 0 and x0.std() == 0:
        t = p = np.nan
    else:  # Stata's ttest: difference = mean(arm 0) - mean(arm 1)
        t, p = stats.ttest_ind(x0, x1, equal_var=equal_var)
    return {
        "kind": "continuous",
        "test": "t" if equal_var else "Welch t",
        "mean_total": x.mean(),
        "sd_total": x.std(ddof=1),
        "mean_treated": x1.mean(),
        "sd_treated": x1.std(ddof=1),
        "mean_control": x0.mean(),
        "sd_control": x0.std(ddof=1),
        "statistic": float(t),
        "p": float(p),
    }


def _fmt(value: float, spec: str) -> str:
    return "" if pd.isna(value) else format(value, spec)


def _check_balance_options(equal_var: object, labels: object, title: object, arm_labels: object) -> None:
    """Raise ``TypeError`` unless the display options of :func:`balance_table` have the types it takes."""
    if not isinstance(equal_var, bool):
        raise TypeError(f"equal_var={equal_var!r} must be True or False")
    _check_labels(labels)
    _check_text(title, "title")
    if arm_labels is not None and (
        isinstance(arm_labels, str)
        or not isinstance(arm_labels, Sequence)
        or len(arm_labels) != 2
        or not all(isinstance(a, str) for a in arm_labels)
    ):
        raise TypeError(f"arm_labels={arm_labels!r} must be two strings: (offered header, control header)")


def _balance_row(x: np.ndarray, x1: np.ndarray, x0: np.ndarray, binary: bool, equal_var: bool) -> dict[str, Any]:
    """One variable's numbers: the test row plus the standardized mean difference and the variance ratio."""
    row = _binary_row(x, x1, x0) if binary else _continuous_row(x, x1, x0, equal_var)
    s1, s0 = x1.std(ddof=1), x0.std(ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        row["smd"] = float((x1.mean() - x0.mean()) / np.sqrt((s1**2 + s0**2) / 2))
        row["variance_ratio"] = float(s1**2 / s0**2)
    return row


def _balance_cells(row: Mapping[str, Any], binary: bool) -> list[str]:
    """One variable's printed cells: n (%) or mean (SD) per group, the test, p, SMD and variance ratio."""
    if binary:
        cells = [f"{int(row[f'n_{g}'])} ({row[f'pct_{g}']:.2f})" for g in ("total", "treated", "control")]
    else:
        cells = [f"{row[f'mean_{g}']:.2f} ({row[f'sd_{g}']:.2f})" for g in ("total", "treated", "control")]
    return [
        *cells,
        _fmt(row["statistic"], ".3f"),
        _fmt(row["p"], ".3f"),
        _fmt(row["smd"], ".3f"),
        _fmt(row["variance_ratio"], ".2f"),
    ]


def _balance_notes(equal_var: bool, joint: JointTest, rows: Mapping[str, Mapping[str, Any]]) -> str:
    """The note under Table 3: the tests, SMD and variance ratio, the joint test and untested rows."""
    untested = [v for v, r in rows.items() if pd.isna(r["statistic"])]
    test = "t (equal variances)" if equal_var else "Welch t"
    return (
        f"n (%) with Pearson chi-square (no continuity correction); mean (SD) with {test}, difference "
        "control minus offered as Stata's ttest. SMD = standardized mean difference (offered minus "
        f"control) over sqrt((s1^2 + s0^2)/2); variance ratio s1^2/s0^2. {joint}."
        + (f" Constant, not tested: {untested}." if untested else "")
    )


def balance_table(
    data: Panel | pd.DataFrame,
    arm: str = "arm",
    binary: Sequence[str] | None = None,
    continuous: Sequence[str] | None = None,
    *,
    equal_var: bool = True,
    labels: Mapping[str, str] | None = None,
    arm_labels: tuple[str, str] | None = None,
    title: str | None = None,
) -> BalanceTable:
    """Baseline characteristics by arm with chi-square and t tests (the paper's Table 3).

    Parameters
    ----------
    data : DataFrame or Panel
        One row per parent (e.g. ``panel.baseline_frame()``), or a Panel: its baseline month, its
        arm, and its plan's balance variables (0/1 columns binary, others continuous), labels,
        arm labels and title.
    arm : str, default "arm"
        0/1 column (1 = offered); ignored for a Panel.
    binary, continuous : sequence of str, optional
        Rows described as n (%) with a chi-square test, or mean (SD) with a t test. Required for
        a DataFrame; for a Panel they select and classify rows.
    equal_var : bool, default True
        Pooled-variance t (Stata ``ttest``); ``False``: Welch (``ttest ..., unequal``).
    labels : mapping, optional
        Display labels by column name (default for a Panel: the plan's labels; else the names).
    arm_labels : (str, str), optional
        Column headers of the offered and control arms (default for a Panel: the plan's).
    title : str, optional
        Caption before ", n = ..." (default for a Panel: the plan's ``balance.title``).

    Returns
    -------
    BalanceTable
        A :class:`~famtrial.table.Table` with ``joint_test`` and ``to_numbers()``.

    Notes
    -----
    Binary: Pearson ``X2 = sum (O - E)^2 / E`` over the 2x2 table, 1 df, no continuity
    correction. Continuous: ``t = (m0 - m1) / (s_p sqrt(1/n0 + 1/n1))``,
    ``s_p^2 = ((n0-1) s0^2 + (n1-1) s1^2) / (n0 + n1 - 2)``. Beyond the paper: the standardized
    mean difference ``(m1 - m0) / sqrt((s1^2 + s0^2) / 2)``, the variance ratio ``s1^2 / s0^2``,
    and :class:`JointTest`. Constant rows get no test (blank).

    On a Dask panel (``load_panel(..., engine="dask")``) no baseline row reaches the client: each
    partition sends per arm the count, the sums, the minima and maxima and the centred
    cross-products of the variables, and the cells (distinct arm and variable rows with their counts)
    for the joint test, whose logit is fitted on the cells with frequency weights (Stata
    ``[fweight=count]``: the expanded rows), or as a Newton summed over partitions when the cells
    exceed ``MAX_CELLS`` (:mod:`famtrial.trial._balance_dask`). The table equals the in-memory one to
    rounding (1e-10 in tests/trial/test_balance_dask.py); its errors are the in-memory ones.
    """
    _check_balance_options(equal_var, labels, title, arm_labels)
    if isinstance(data, Panel) and is_dask_dataframe(data.data):
        numbers = _dask_balance_numbers(data, binary, continuous, equal_var)
    else:
        numbers = _balance_numbers(data, arm, binary, continuous, equal_var)
    plan = data.plan if isinstance(data, Panel) else None
    labels = {**(plan.labels if plan else {}), **(labels or {})}
    head_offered, head_control = arm_labels or (
        (plan.offered_label, plan.control_label) if plan else ("Offered", "Control")
    )
    title = title if title is not None else (plan.balance_title if plan else "Characteristics at baseline by arm")
    rows, binary = numbers.rows, numbers.binary
    shown = {var: _balance_cells(rows[var], var in binary) for var in rows}
    numeric = pd.DataFrame.from_dict(rows, orient="index")
    numeric.index.name = "variable"
    display = pd.DataFrame.from_dict(
        shown,
        orient="index",
        columns=["Total", head_offered, head_control, "chi2/t", "p-value", "SMD", "Variance ratio"],
    )
    display.index = [labels.get(v, v) + (" (%)" if v in binary else " (SD)") for v in display.index]
    display.loc["N"] = [f"{numbers.nobs}", f"{numbers.nobs_treated}", f"{numbers.nobs_control}", "", "", "", ""]
    return BalanceTable(
        frame=numeric,
        display=display,
        title=f"{title}, n = {numbers.nobs:,}",
        notes=_balance_notes(equal_var, numbers.joint, rows),
        joint_test=numbers.joint,
        nobs=numbers.nobs,
        nobs_treated=numbers.nobs_treated,
        nobs_control=numbers.nobs_control,
        equal_var=equal_var,
        name=plan.balance_table if plan else "balance",
        keys=tuple((v.column, v.key) for v in plan.variables) if plan else (),
    )


@dataclass(frozen=True)
class _BalanceNumbers:
    """Table 3's numbers before display: one row dict per variable in display order, the counts, the joint test."""

    rows: dict[str, dict[str, Any]]
    binary: list[str]
    nobs: int
    nobs_treated: int
    nobs_control: int
    joint: JointTest


def _balance_numbers(data: Any, arm: str, binary: Any, continuous: Any, equal_var: bool) -> _BalanceNumbers:
    """Table 3's numbers from the baseline rows in memory."""
    frame, arm, binary, order = _roles(data, arm, binary, continuous)
    a = frame[arm].to_numpy()
    treated, control = frame.loc[a == 1], frame.loc[a == 0]
    rows = {}
    for var in order:
        x, x1, x0 = (f[var].to_numpy(float) for f in (frame, treated, control))
        rows[var] = _balance_row(x, x1, x0, var in binary, equal_var)
    return _BalanceNumbers(
        rows=rows,
        binary=list(binary),
        nobs=len(frame),
        nobs_treated=len(treated),
        nobs_control=len(control),
        joint=_joint_test(frame, arm, order),
    )


def _baseline_sums(panel: Panel, columns: Sequence[Any], cells_of: Sequence[Any] | None = None) -> Any:
    """The Dask panel's baseline sums (:mod:`famtrial.trial._balance_dask`); its own error when the month has no rows."""
    from famtrial.trial._balance_dask import baseline_sums

    sums = baseline_sums(panel, columns, cells_of)
    if sums.n == 0:
        panel.baseline_frame()  # raises its PanelError (no rows at the baseline month), computing no rows
    return sums


def _dask_balance_numbers(panel: Panel, binary: Any, continuous: Any, equal_var: bool) -> _BalanceNumbers:
    """Table 3's numbers from per-partition sums of a Dask panel's baseline month (no row reaches the client).

    The same checks, rows and joint test as :func:`_balance_numbers` on ``panel.baseline_frame()``.
    """
    binary, continuous = _names(binary, "binary"), _names(continuous, "continuous")
    arm, variables = panel.columns.arm, _plan_variables(panel)
    chosen = variables if binary is None and continuous is None else [*(binary or ()), *(continuous or ())]
    sums = _baseline_sums(panel, [arm, *variables, *chosen], [arm, *chosen])
    binary, order = _choose(sums, arm, variables, binary, continuous)
    arms = {a: sums.moments(a) for a in (1, 0)}
    total = sums.moments()
    rows = {}
    for var in order:
        j = sums.position(var)
        rows[var] = _balance_row_from_moments(total, arms[1], arms[0], j, var in binary, equal_var)
    return _BalanceNumbers(
        rows=rows,
        binary=list(binary),
        nobs=total.n,
        nobs_treated=arms[1].n,
        nobs_control=arms[0].n,
        joint=_dask_joint_test(panel, sums, total, order),
    )


def _sd(m: Any, j: int, ddof: int = 1) -> float:
    """Column ``j``'s standard deviation from pooled moments ``m`` (``np.std(x, ddof=ddof)``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt(m.comoment[j, j] / (m.n - ddof)))


def _balance_row_from_moments(total: Any, m1: Any, m0: Any, j: int, binary: bool, equal_var: bool) -> dict[str, Any]:
    """:func:`_balance_row` from pooled moments: counts of ones, means and SDs per arm."""
    s1, s0 = _sd(m1, j), _sd(m0, j)
    if binary:
        k, k1, k0 = (float(m.sum[j]) for m in (total, m1, m0))
        observed = np.array([[k1, m1.n - k1], [k0, m0.n - k0]])
        if (observed.sum(axis=0) == 0).any():  # constant: no test
            chi2 = p = np.nan
        else:
            chi2, p, _, _ = stats.chi2_contingency(observed, correction=False)
        row: dict[str, Any] = {
            "kind": "binary",
            "test": "chi2",
            "n_total": k,
            "pct_total": 100 * (k / total.n),
            "n_treated": k1,
            "pct_treated": 100 * (k1 / m1.n),
            "n_control": k0,
            "pct_control": 100 * (k0 / m0.n),
            "statistic": float(chi2),
            "p": float(p),
        }
    else:
        if s1 == 0 and s0 == 0:
            t = p = np.nan
        else:  # Stata's ttest: difference = mean(arm 0) - mean(arm 1)
            t, p = stats.ttest_ind_from_stats(m0.mean[j], s0, m0.n, m1.mean[j], s1, m1.n, equal_var=equal_var)
        row = {
            "kind": "continuous",
            "test": "t" if equal_var else "Welch t",
            "mean_total": float(total.mean[j]),
            "sd_total": _sd(total, j),
            "mean_treated": float(m1.mean[j]),
            "sd_treated": s1,
            "mean_control": float(m0.mean[j]),
            "sd_control": s0,
            "statistic": float(t),
            "p": float(p),
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        row["smd"] = float((m1.mean[j] - m0.mean[j]) / np.sqrt((s1**2 + s0**2) / 2))
        row["variance_ratio"] = float(np.float64(s1) ** 2 / np.float64(s0) ** 2)
    return row


def _dask_joint_test(panel: Panel, sums: Any, total: Any, variables: Sequence[str]) -> JointTest:
    """:func:`_joint_test` on the summed cells (a frequency-weighted logit), or a distributed Newton without them.

    The variables are standardized with the pooled mean and population SD, as in memory. Stata's fweights
    are the expanded rows, so the cells' fit has the rows' log-likelihoods, ``nobs`` and drops.
    """
    from famtrial.models.logit import Logit
    from famtrial.trial._balance_dask import distributed_joint_logit

    positions = [sums.position(v) for v in variables]
    mean = total.mean[positions]
    sd = np.array([_sd(total, j, ddof=0) for j in positions])
    constant = [v for v, s in zip(variables, sd) if s == 0]
    use = [v for v, s in zip(variables, sd) if s > 0]
    cells = sums.cells()
    if cells is None:
        res = distributed_joint_logit(panel, use, mean[sd > 0], sd[sd > 0])
        return _joint_result(res, variables, constant, use)
    cols = sums.cell_columns  # the cells' columns 0, 1, ... (the arm first)
    at = [cols.index(v) for v in variables]
    x = cells[at].to_numpy(float)
    z = (x[:, sd > 0] - mean[sd > 0]) / sd[sd > 0]
    counts = cells["count"].to_numpy()
    res = Logit(cells[0].to_numpy(float), z, names=use, weights=counts, weight_type="fweight").fit()
    return _joint_result(res, variables, constant, use)


def _dask_correlation_numbers(
    panel: Panel, names: list[Any] | None
) -> tuple[int, dict[str, _Column], pd.DataFrame, pd.DataFrame]:
    """Table 4's numbers from per-partition sums of a Dask panel's baseline month (as :func:`_correlation_inputs`)."""
    arm = panel.columns.arm
    variables = _plan_variables(panel) if names is None else names
    sums = _baseline_sums(panel, [arm, *variables])
    if "experimental" in variables:
        raise ValueError("'experimental' names the arm in Table 4: rename that column")
    _check_facts(sums, arm, variables, [])
    if sums.n < 3:
        raise ValueError(
            f"correlation_table needs at least 3 rows (the tests use n - 2 degrees of freedom); "
            f"the baseline data have {sums.n}"
        )
    total = sums.moments()
    at = [sums.position(c) for c in [arm, *variables]]
    labels = ["experimental", *variables]
    c = total.comoment[np.ix_(at, at)]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = c / np.sqrt(np.outer(np.diag(c), np.diag(c)))
    r = pd.DataFrame(r, index=labels, columns=labels)
    columns = {
        v: _Column(sums.is_binary(col), float(total.sum[j]), float(total.sum[j] / total.n), _sd(total, j))
        for v, col, j in zip(labels, [arm, *variables], at)
    }
    return total.n, columns, r, _pearson_p(r, total.n)


@dataclass(frozen=True, kw_only=True, repr=False, eq=False)
class CorrelationTable(Table):
    """Table 4: pairwise Pearson correlations at baseline (lower triangle) with stars.

    ``frame``: per variable ``n``/``pct`` (binary) or ``mean``/``sd`` (continuous), then the
    full correlation matrix; ``correlations`` and ``pvalues`` are the square matrices.
    """

    correlations: pd.DataFrame
    pvalues: pd.DataFrame
    nobs: int
    name: str = "correlations"
    keys: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> Table:
        """The plain publication table (frame, display, title, notes)."""
        return Table(frame=self.frame, display=self.display, title=self.title, notes=self.notes)

    def to_numbers(self) -> dict[str, float]:
        """``<name>.<rowvar>.<colvar>`` for the lower triangle (first column ``experimental``), by plan keys."""
        keys = dict(self.keys)
        names = [keys.get(n, n) for n in self.correlations.index]
        return {
            f"{self.name}.{names[i]}.{names[j]}": float(self.correlations.iloc[i, j])
            for i in range(len(names))
            for j in range(i)
        }


def _short(r: float, leading_zero: bool) -> str:
    """Two decimals, without the leading zero if asked (``.01``, ``-.25``, as the paper prints)."""
    text = f"{r:.2f}"
    return text if leading_zero else text.replace("0.", ".", 1)


def _correlation_inputs(
    data: Panel | pd.DataFrame, variables: Sequence[str] | None, labels: object, title: object, arm: str
) -> tuple[pd.DataFrame, str, list[Any]]:
    """The checked baseline frame, its arm column and the variables after the arm."""
    names = _names(variables, "variables")
    _check_labels(labels)
    _check_text(title, "title")
    if isinstance(data, Panel):
        frame, arm = data.baseline_frame(), data.columns.arm
        if names is None:
            names = _plan_variables(data)
    elif isinstance(data, pd.DataFrame):
        frame = data
        if names is None:
            raise ValueError("give variables=[...] when data is a DataFrame")
    else:
        raise TypeError(f"data must be a DataFrame (one row per parent) or a Panel, not {type(data).__name__}")
    if "experimental" in names:
        raise ValueError("'experimental' names the arm in Table 4: rename that column")
    _check(frame, arm, names, [])
    if len(frame) < 3:
        raise ValueError(
            f"correlation_table needs at least 3 rows (the tests use n - 2 degrees of freedom); "
            f"the baseline data have {len(frame)}"
        )
    return frame, arm, names


def _pearson(x: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pearson correlations of the columns of ``x`` and their two-sided p from t with n - 2 df."""
    r = x.corr()
    return r, _pearson_p(r, len(x))


def _pearson_p(r: pd.DataFrame, n: int) -> pd.DataFrame:
    """Two-sided p of correlations ``r`` from ``t = r sqrt((n - 2) / (1 - r^2))`` with n - 2 df."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt((n - 2) / (1 - r**2))
    return pd.DataFrame(2 * stats.t.sf(np.abs(t), n - 2), index=r.index, columns=r.columns)


@dataclass(frozen=True)
class _Column:
    """One column of Table 4 described: whether it is 0/1, its sum, mean and SD (ddof 1)."""

    binary: bool
    sum: float
    mean: float
    sd: float


def _describe(x: pd.DataFrame) -> dict[str, _Column]:
    """:class:`_Column` of every column of ``x`` (in memory)."""
    return {v: _Column(_is_binary(x[v]), x[v].sum(), x[v].mean(), x[v].std()) for v in x.columns}


def _correlation_rows(
    columns: Mapping[str, _Column], r: pd.DataFrame, p: pd.DataFrame, leading_zero: bool
) -> tuple[dict[str, dict[str, float]], list[list[str]]]:
    """Per variable, n/% or mean/SD (numeric), and its printed row: descriptives, the lower triangle, a dash."""
    names = list(columns)
    desc, shown = {}, []
    for i, v in enumerate(names):
        col = columns[v]
        binary = col.binary
        desc[v] = (
            {"n": col.sum, "pct": 100 * col.mean, "mean": np.nan, "sd": np.nan}
            if binary
            else {"n": np.nan, "pct": np.nan, "mean": col.mean, "sd": col.sd}
        )
        cells = [
            "" if pd.isna(r.iloc[i, j]) else _short(r.iloc[i, j], leading_zero) + stars(p.iloc[i, j]) for j in range(i)
        ]
        shown.append(
            [
                f"{col.mean:.2f}" if not binary else "",
                f"{int(col.sum)}" if binary else "",
                f"{col.sd:.2f}" if not binary else "",
                f"{100 * col.mean:.2f}" if binary else "",
                *cells,
                "–",
                *[""] * (len(names) - i - 1),
            ]
        )
    return desc, shown


def correlation_table(
    data: Panel | pd.DataFrame,
    variables: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    *,
    arm: str = "arm",
    title: str | None = None,
) -> CorrelationTable:
    """Pairwise Pearson correlations with n/% (binary) or M/SD (continuous): the paper's Table 4.

    Parameters
    ----------
    data : DataFrame or Panel
        One row per parent, or a Panel (its baseline month, arm, and plan).
    variables : sequence of str
        Variables after the arm (default for a Panel: the plan's balance variables).
    labels : mapping, optional
        Display labels by column (default for a Panel: the plan's).
    arm : str, default "arm"
        Becomes the first variable, ``experimental``; ignored for a Panel.
    title : str, optional
        Caption before ", n = ..." (default for a Panel: the plan's ``balance.correlations_title``).

    Notes
    -----
    Stars from ``t = r sqrt((n - 2) / (1 - r^2))`` with ``n - 2`` df: * p < .05, ** p < .01,
    *** p < .001 (Stata ``pwcorr x1 ... xk, sig``; R ``cor.test``).

    On a Dask panel the correlations come from the centred cross-products summed over partitions
    (pooled within and between partitions and arms, stable with large means); no row reaches the
    client (:mod:`famtrial.trial._balance_dask`).
    """
    plan = data.plan if isinstance(data, Panel) else None
    if isinstance(data, Panel) and is_dask_dataframe(data.data):
        names = _names(variables, "variables")
        _check_labels(labels)
        _check_text(title, "title")
        n, columns, r, p = _dask_correlation_numbers(data, names)
    else:
        frame, arm, variables = _correlation_inputs(data, variables, labels, title, arm)
        x = pd.concat([frame[arm].rename("experimental"), frame[variables]], axis=1).astype(float)
        n, columns = len(x), _describe(x)
        r, p = _pearson(x)
    names = list(columns)
    labels = {"experimental": _ARM_LABEL, **(plan.labels if plan else {}), **(labels or {})}
    desc, shown = _correlation_rows(columns, r, p, plan.leading_zero if plan else True)
    display = pd.DataFrame(
        shown,
        index=[f"{i + 1}. {labels.get(v, v)}" for i, v in enumerate(names)],
        columns=["M", "n", "SD", "%", *[str(i + 1) for i in range(len(names))]],
    )
    display.index.name = "Variable"
    numeric = pd.concat([pd.DataFrame.from_dict(desc, orient="index"), r], axis=1)
    numeric.index.name = "variable"
    constant = [v for v in names if columns[v].sd == 0]
    title = title if title is not None else (plan.correlations_title if plan else "Pairwise correlations at baseline")
    notes = (
        "n and % for binary variables, mean (M) and SD otherwise. Pearson correlations; * p < .05, "
        "** p < .01, *** p < .001." + (f" Constant (no correlation): {constant}." if constant else "")
    )
    return CorrelationTable(
        frame=numeric,
        display=display,
        title=f"{title}, n = {n:,}",
        notes=notes,
        correlations=r,
        pvalues=p,
        nobs=n,
        name=plan.correlations_table if plan else "correlations",
        keys=tuple((v.column, v.key) for v in plan.variables) if plan else (),
    )
