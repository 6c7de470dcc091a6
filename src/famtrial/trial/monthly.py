"""Monthly cross-sectional effects (the paper's Figures 2 and 3), with multiplicity control.

For each post-implementation month m, a logit of the month's outcome on the offer, controlling for
the plan's baseline variables (``[series.<name>] controls``) and the outcome's own baseline value,
clustered by office::

    logit P(y_im = 1) = c_m + b_m * arm_i + g_m' x_i(baseline)        [+ office dummies]

Stata, month by month: ``logit y arm x1_b x2_b y_b if month == m, vce(cluster office) or``
(``i.office`` added for office fixed effects). R: ``glm(..., family = binomial, subset = month == m)`` and
``sandwich::vcovCL(fit, cluster = ~office, type = "HC0")``. Details: ``docs/methods_monthly.md``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from famtrial._options import MonthlyFixedEffects
from famtrial._parallel import is_dask_dataframe
from famtrial._progress import Progress
from famtrial._text import plural
from famtrial.data.panel import Panel
from famtrial.errors import ConvergenceError, SeparationError
from famtrial.inference.multiplicity import benjamini_hochberg, holm, sup_t_critical
from famtrial.models.covariance import Adjustment
from famtrial.models.logit import LogitResults, fit_logit_blocks, logit
from famtrial.plan.spec import Series, Variable
from famtrial.table import Table

__all__ = ["MonthlyEffects", "monthly_effects"]

_FIXED_EFFECTS = (None, "office", "none")


@dataclass(frozen=True)
class MonthlyEffects:
    """Per-month odds ratios of the offer, with adjusted p-values and a simultaneous band.

    ``frame`` has one row per month: ``month`` (YYYY-MM), ``coef``/``se_coef`` (log odds), ``or``,
    ``se`` (delta method, Stata's ``, or``), ``ci_low``/``ci_high`` (pointwise), ``z``, ``p``,
    ``p_holm``, ``p_bh``, ``band_low``/``band_high`` (simultaneous; when computed), ``n``
    (parents in the fit), ``n_offices`` (clusters in the fit), ``note`` (drops, the baseline
    month, and why a month has no estimate), ``rd``/``rd_se``/``rd_ci_low``/``rd_ci_high``/``rd_p`` (the
    offer's risk difference as a proportion, the average discrete change of P(y = 1) from arm 0 to 1
    with delta-method SEs from the month's covariance: Stata ``margins, dydx(i.arm)`` after the
    month's ``logit ..., vce(cluster office)``; R ``marginaleffects::avg_comparisons(fit, variables =
    "arm", vcov = ~office)``). A month whose logit cannot estimate the offer
    (outcome constant, the offer predicting it perfectly) keeps its row with NaN estimates and
    the reason in ``note``; Holm, BH and the band then use the months that have estimates.
    ``results`` holds the fitted months' :class:`~famtrial.models.logit.LogitResults`.
    ``name`` keys the reproduced numbers (``monthly.<name>.*``); ``description`` and
    ``treatment`` word titles ("Effects of <treatment> on <description>").
    """

    frame: pd.DataFrame
    outcome: str
    controls: tuple[str, ...]
    baseline: str
    cluster: str | None
    fixed_effects: str | None
    adjustment: str
    t_reference: bool
    alpha: float
    band_critical: float | None
    band_draws: int
    n_offices: int
    n_parents: int
    parents_without_baseline: int
    results: tuple[LogitResults, ...]
    name: str = ""
    description: str = ""
    treatment: str = "the offer"
    units: tuple[str, str] = ("parent", "office")
    cluster_label: str = ""

    @property
    def estimated(self) -> pd.DataFrame:
        """The months with an estimate of the offer's effect."""
        return self.frame.loc[self.frame["coef"].notna()]

    @property
    def significant_months(self) -> list[str]:
        """Months with pointwise p < alpha (the paper's criterion)."""
        return list(self.frame.loc[self.frame["p"] < self.alpha, "month"])

    @property
    def table(self) -> Table:
        """Publication table: OR, pointwise CI, p (raw, Holm, BH), simultaneous band, n, offices."""
        f = self.frame
        level = f"{100 * (1 - self.alpha):g}%"

        def pair(lo: pd.Series, hi: pd.Series) -> list[str]:
            return ["" if pd.isna(a) else f"({a:.2f}, {b:.2f})" for a, b in zip(lo, hi)]

        def num(col: str, spec: str) -> pd.Series:
            return f[col].map(lambda v: "" if pd.isna(v) else format(v, spec))

        display = pd.DataFrame(
            {
                "OR": num("or", ".2f"),
                f"{level} CI": pair(f["ci_low"], f["ci_high"]),
                "p": num("p", ".3f"),
                "p (Holm)": num("p_holm", ".3f"),
                "p (BH)": num("p_bh", ".3f"),
            }
        )
        if self.band_critical is not None:
            display[f"simultaneous {level} band"] = pair(f["band_low"], f["band_high"])
        display["RD (pp)"] = num("rd", ".2%").str.rstrip("%")
        display[f"{level} CI (pp)"] = [
            "" if pd.isna(a) else f"({100 * a:.2f}, {100 * b:.2f})" for a, b in zip(f["rd_ci_low"], f["rd_ci_high"])
        ]
        display["n"] = f["n"].map("{:,}".format)
        display[plural(self.units[1])] = f["n_offices"].astype(str)
        display.index = pd.Index(f["month"], name="month")
        return Table(
            frame=f.set_index("month"),
            display=display,
            title=f"Monthly effects of {self.treatment} on {self.description or self.outcome} (odds ratios)",
            notes=self.summary(),
        )

    def summary(self) -> str:
        """What was fitted, how many months are significant, and how many chance alone would give."""
        f = self.frame
        m = len(self.estimated)
        sig = self.significant_months
        level = f"{100 * (1 - self.alpha):g}%"
        fe = f"{self.units[1]} fixed effects; " if self.fixed_effects else ""
        se = (
            f"SE clustered by {self.cluster_label or self.cluster} ({self.adjustment} factor"
            f"{'; t(G-1) reference' if self.t_reference else ''})"
            if self.cluster
            else "model-based SE"
        )
        lines = [
            f"{m} monthly logits of {self.outcome} on the offer ({f['month'].iloc[0]} .. {f['month'].iloc[-1]}"
            + (f"; {len(f) - m} of {len(f)} months without an estimate" if m < len(f) else "")
            + "); "
            f"controls at baseline ({self.baseline}): {', '.join(self.controls) or 'none'}; {fe}{se}; "
            f"k = {self.n_offices} {plural(self.units[1])}, n = {self.n_parents:,} {plural(self.units[0])}.",
            f"Significant at p < {self.alpha:g}: {len(sig)} of {m} months ({', '.join(sig) or 'none'}). "
            f"With no effect in any month, {self.alpha * m:.2f} would be significant by chance on average "
            f"(P(at least one) = {1 - (1 - self.alpha) ** m:.0%} if the months were independent).",
            f"Significant after Holm (family-wise error): {int((f['p_holm'] < self.alpha).sum())}; "
            f"after Benjamini-Hochberg (false discovery rate): {int((f['p_bh'] < self.alpha).sum())}.",
        ]
        if self.band_critical is not None:
            outside = list(f.loc[(f["band_low"] > 1) | (f["band_high"] < 1), "month"])
            ref = ", carried to t(G-1)" if self.t_reference else ""
            lines.append(
                f"Simultaneous {level} sup-t band (critical value {self.band_critical:.3f}{ref} vs "
                f"{stats.norm.ppf(1 - self.alpha / 2):.3f} pointwise; {self.band_draws:,} multiplier draws): "
                f"excludes OR = 1 in {len(outside)} months ({', '.join(outside) or 'none'})."
            )
        if self.parents_without_baseline:
            lines.append(
                f"{self.parents_without_baseline:,} {plural(self.units[0])} have no baseline-month row and "
                "are not used."
            )
        lines += [f"{month}: {note}" for month, note in zip(f["month"], f["note"]) if note]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return self.table.to_html()

    def to_numbers(self) -> dict[str, float | str]:
        """Contract keys: ``monthly.<name>.significant_months`` (comma-separated YYYY-MM) and
        ``monthly.<name>.<YYYY-MM>.or|ci_low|ci_high``; ``<name>`` is the plan's series name."""
        key = self.name or self.outcome
        out: dict[str, float | str] = {f"monthly.{key}.significant_months": ",".join(self.significant_months)}
        for row in self.frame[["month", "or", "ci_low", "ci_high"]].to_dict("records"):
            for field in ("or", "ci_low", "ci_high"):
                out[f"monthly.{key}.{row['month']}.{field}"] = float(row[field])
        return out


def _month_arg(value: str | pd.Period, name: str) -> pd.Period:
    """One month argument (``'YYYY-MM'`` or a Period) as a Period, or a ValueError naming the argument."""
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ValueError(f"{name}={value!r} is not a month: write 'YYYY-MM' (e.g. '2017-06')")
    return pd.Period(value, "M")


def _months(panel: Panel, months: Sequence[str] | None, available: pd.PeriodIndex) -> list[pd.Period]:
    if months is None:
        return [m for m in available if m >= panel.implementation]
    if isinstance(months, (str, pd.Period)):
        raise TypeError(f"months must be a list of months, not the single value {months!r} (write [{months!r}])")
    wanted = [_month_arg(m, "months") for m in months]
    if not wanted:
        raise ValueError(
            "months=[] selects no month: give at least one 'YYYY-MM', or None for every month from "
            "the implementation month on"
        )
    absent = [str(m) for m in wanted if m not in set(available)]
    if absent:
        raise ValueError(f"months {absent} are not in the panel ({available[0]} .. {available[-1]})")
    return wanted


def _series_options(
    panel: Panel,
    outcome: str,
    controls: Sequence[str] | None,
    own_baseline: bool | None,
    fixed_effects: MonthlyFixedEffects | None,
) -> tuple[Variable, Series | None, list[str], bool, MonthlyFixedEffects | None]:
    """The outcome's column and the series options: arguments first, then the plan's series, then defaults."""
    plan = panel.plan
    variable = plan.outcome(outcome)
    series = plan.series_for(variable.key)
    if controls is None:
        controls = [plan.variable(c).column for c in series.controls] if series else []
    elif isinstance(controls, str):
        raise TypeError(f"controls must be a list of names, not the string {controls!r} (write [{controls!r}])")
    else:
        controls = [plan.variable(c).column if c not in panel.data.columns else c for c in controls]
    if own_baseline is None:
        own_baseline = series.own_baseline if series else True
    if fixed_effects is None:
        fixed_effects = "office" if series and series.office_effects else None
    elif fixed_effects == "none":
        fixed_effects = None
    return variable, series, controls, own_baseline, fixed_effects


def _risk_differences(fits: Sequence[LogitResults], arm: str, alpha: float) -> np.ndarray:
    """``(rd, se, ci_low, ci_high, p)`` of each month's logit: the arithmetic of
    :func:`famtrial.models.postestimation.margins` (``discrete=True``, a column fit) on arrays, one
    row per fit, without building a frame per month (tests/test_monthly.py checks they agree)."""
    out = np.empty((len(fits), 5))
    for i, fit in enumerate(fits):
        model = fit.model
        b = fit.params.to_numpy()
        w = model.weights if model.weights is not None else np.ones(len(model.endog))
        w = w / w.sum()
        j = list(fit.params.index).index(arm)
        x1, x0 = model.exog.copy(), model.exog.copy()
        x1[:, j], x0[:, j] = 1.0, 0.0
        p1, p0 = expit(x1 @ b + model.offset), expit(x0 @ b + model.offset)
        grad = (w * p1 * (1 - p1)) @ x1 - (w * p0 * (1 - p0)) @ x0
        out[i, :2] = float(w @ (p1 - p0)), float(np.sqrt(grad @ fit.covariance.matrix @ grad))
    # the results' reference distribution: normal, or t(G-1) when the fit has degrees of freedom
    df = np.array([np.nan if fit.covariance.df is None else fit.covariance.df for fit in fits], dtype=float)
    t = np.isfinite(df)
    crit = np.where(t, stats.t.ppf(1 - alpha / 2, np.where(t, df, 1.0)), stats.norm.ppf(1 - alpha / 2))
    stat = np.abs(out[:, 0] / out[:, 1])
    out[:, 2], out[:, 3] = out[:, 0] - crit * out[:, 1], out[:, 0] + crit * out[:, 1]
    out[:, 4] = 2 * np.where(t, stats.t.sf(stat, np.where(t, df, 1.0)), stats.norm.sf(stat))
    return out


def _monthly_rows(
    panel_data: pd.DataFrame,
    parent: str,
    month: str,
    keep: list[str],
    base_vars: list[str],
    base_month: pd.Period,
    wanted: Sequence[pd.Period],
) -> tuple[pd.DataFrame, int]:
    """The fitted months' rows (``keep``) joined to their parent's baseline values (``<v>_baseline``),
    and the number of parents without a baseline row (not used)."""
    month_ordinals = panel_data[month].array.asi8  # period[M] as integers: fast comparisons
    base = panel_data.loc[month_ordinals == base_month.ordinal, [parent, *base_vars]]
    base = base.rename(columns={v: f"{v}_baseline" for v in base_vars})
    data = panel_data.loc[np.isin(month_ordinals, [m.ordinal for m in wanted]), keep]
    # an inner join on the parent (one baseline row each), rows in the panel's order, as DataFrame.merge
    at = pd.Index(base[parent]).get_indexer(data[parent])
    has = at >= 0
    no_base = len(pd.unique(data[parent].to_numpy()[~has]))
    data = pd.DataFrame(
        {
            **{c: data[c].array[has] for c in data.columns},
            **{c: base[c].to_numpy()[at[has]] for c in base.columns if c != parent},
        }
    )
    return data, no_base


def monthly_effects(
    panel: Panel,
    outcome: str,
    *,
    months: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    own_baseline: bool | None = None,
    baseline: str | None = None,
    cluster: str | None = "office",
    fixed_effects: MonthlyFixedEffects | None = None,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    alpha: float = 0.05,
    band: bool = True,
    n_boot: int = 999,
    seed: int | None = 20161001,
    progress: bool = True,
) -> MonthlyEffects:
    """One logit per month of ``outcome`` on the offer, with Holm/BH p-values and a sup-t band.

    Parameters
    ----------
    panel : Panel
    outcome : str
        An outcome of the panel's plan: its key or its column.
    months : sequence of "YYYY-MM", optional
        Default: every month from the implementation month to the last.
    controls : sequence of str, optional
        Variables (plan keys or columns) entered at their baseline-month value. Default: the
        plan's series for this outcome (``[series.<name>] controls``), else none.
    own_baseline : bool, optional
        Also control for the outcome's baseline value (once, if it is already a control). In the
        baseline month itself it equals the outcome and is left out (noted in ``note``).
        Default: the plan's series, else True.
    baseline : "YYYY-MM", optional
        Month whose values are the controls (default ``panel.baseline``).
    cluster : str or None
        Cluster column (``"office"`` is the plan's office column); ``None`` gives model-based SEs.
    fixed_effects : {None, "office", "none"}
        Office dummies: compare offered and control parents within offices. Offices whose outcome
        is all 0 or all 1 in a month are dropped for that month (recorded in ``note``). Default
        (None): the plan's series ``office_effects``.
    adjustment : {"stata", "statsmodels", "none"}
        Cluster factor: G/(G-1) (Stata); G/(G-1)(N-1)/(N-K); 1.
    t_reference : bool
        Few-cluster option: p-values and CIs from t(G-1) instead of the normal, and the band's
        critical value carried to t(G-1) at the same per-month tail probability (see the docs).
    alpha : float
        Level of the pointwise CIs, the adjusted tests and the band (95% by default).
    band : bool
        Compute the sup-t simultaneous band (cluster multiplier bootstrap; needs ``cluster``).
    n_boot, seed : int
        Multiplier draws and their seed when there are more than 16 clusters (with 16 or fewer,
        every sign vector is enumerated and the band is exact and seed-free).
    progress : bool
        Show progress over the months.

    Notes
    -----
    On a Dask panel (``load_panel(..., engine="dask")``) the workers collapse the fitted months'
    rows, joined to the baseline values, into cells of identical (month, office, cluster, offer,
    baseline values, outcome) with their counts; the client sums the cells over partitions,
    expands them into the months' rows and fits them as in memory, so every number, note and count
    equals the in-memory result (``famtrial.trial._monthly_dask``; docs/scale.md). Continuous baseline
    controls make each parent its own cell, so the transfer is then the months' cross-sections.

    Returns
    -------
    MonthlyEffects
        A month whose logit cannot estimate the offer (the outcome constant in that month, the
        offer or a control predicting it perfectly, no convergence) keeps its row with NaN
        estimates and the reason in ``note``, as a Stata loop with ``capture`` would; the other
        months are estimated and Holm, BH and the band use them.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"monthly_effects needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
    if fixed_effects not in _FIXED_EFFECTS:
        raise ValueError(f"fixed_effects={fixed_effects!r} is not one of {_FIXED_EFFECTS}")
    if not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot={n_boot!r} must be a positive integer")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1")
    cols, plan = panel.columns, panel.plan
    variable, series, controls, own_baseline, fixed_effects = _series_options(
        panel, outcome, controls, own_baseline, fixed_effects
    )
    outcome = variable.column
    missing = [c for c in controls if c not in panel.data.columns]
    if missing:
        raise ValueError(f"controls {missing} are not columns of the panel; available: {list(panel.data.columns)}")
    cluster_col = cols.office if cluster == "office" else cluster
    if cluster_col is not None and cluster_col not in panel.data.columns:
        raise ValueError(f"cluster column {cluster!r} is not in the panel")
    if band and cluster_col is None:
        raise ValueError("the simultaneous band resamples clusters: pass cluster= or band=False")
    base_vars = list(dict.fromkeys([*controls, *([outcome] if own_baseline else [])]))
    available = panel.months
    wanted = _months(panel, months, available)

    base_month = panel.baseline if baseline is None else _month_arg(baseline, "baseline")
    if base_month not in set(available):
        raise ValueError(f"baseline month {base_month} is not in the panel ({available[0]} .. {available[-1]})")
    keep = list(
        dict.fromkeys(
            [cols.parent, cols.office, cols.month, cols.arm, outcome, *([cluster_col] if cluster_col else [])]
        )
    )
    if is_dask_dataframe(panel.data):  # the months' cells reduced on the workers (famtrial.trial._monthly_dask)
        from famtrial.trial._monthly_dask import monthly_cells

        data, no_base, n_parents = monthly_cells(panel, keep, base_vars, base_month, wanted)
    else:
        data, no_base = _monthly_rows(panel.data, cols.parent, cols.month, keep, base_vars, base_month, wanted)
        n_parents = int(data[cols.parent].nunique())

    regs_all = [cols.arm, *[f"{v}_baseline" for v in base_vars]]

    def regressors(month: pd.Period) -> tuple[list[str], list[str]]:
        if own_baseline and month.ordinal == base_month.ordinal:
            return [r for r in regs_all if r != f"{outcome}_baseline"], [
                "baseline month: the outcome's own baseline value is the outcome and is left out"
            ]
        return list(regs_all), []

    # every month's rows (in data order) and, without office dummies, all regular months' logits at once
    ordinals = data[cols.month].array.asi8
    order = np.argsort(ordinals, kind="stable")
    first, last = (
        np.searchsorted(ordinals[order], [m.ordinal for m in wanted], side=side) for side in ("left", "right")
    )
    rows_of = {month: order[a:b] for month, a, b in zip(wanted, first, last)}
    batched: dict[pd.Period, LogitResults | None] = {}
    if fixed_effects is None:
        values = data[regs_all].to_numpy(dtype=float)
        y_all = data[outcome].to_numpy()
        cl_all = data[cluster_col].to_numpy() if cluster_col else None
        blocks, names = [], []
        for month in wanted:
            regs, _ = regressors(month)
            r = rows_of[month]
            blocks.append(
                (y_all[r], values[r][:, [regs_all.index(c) for c in regs]], None if cl_all is None else cl_all[r])
            )
            names.append(regs)
        if y_all.dtype.kind in "biuf":  # other outcomes: Logit names the problem month by month
            batched = dict(
                zip(
                    wanted,
                    fit_logit_blocks(blocks, names, adjustment=adjustment, t_reference=t_reference, outcome=outcome),
                )
            )
    offices = data[cols.office].to_numpy()
    office_code = pd.factorize(offices)[0]
    clusters_all = data[cluster_col].to_numpy() if cluster_col else None
    # cluster codes in sorted label order: a month's influence sums come out as groupby would give them
    cluster_code, cluster_labels = pd.factorize(clusters_all, sort=True) if cluster_col else (None, None)
    rows, fits, influence = [], [], []
    with Progress(len(wanted), f"monthly logits ({outcome})", enabled=progress) as bar:
        for month in wanted:
            regs, notes = regressors(month)
            fit = batched.get(month)
            if fit is not None:  # a regular month: nothing dropped, nothing to note
                r = rows_of[month]
                used_codes = None if cluster_code is None else cluster_code[r]
                n_offices = int(np.count_nonzero(np.bincount(office_code[r])))
            else:
                cross = data.iloc[rows_of[month]].reset_index(drop=True)
                empty = {
                    "month": str(month),
                    "coef": np.nan,
                    "se_coef": np.nan,
                    "or": np.nan,
                    "se": np.nan,
                    "z": np.nan,
                    "n": len(cross),
                    "n_offices": int(cross[cols.office].nunique()),
                }
                try:
                    fit = logit(
                        cross,
                        outcome,
                        regs,
                        cluster=cluster_col,
                        adjustment=adjustment,
                        t_reference=t_reference,
                        fixed_effects=cols.office if fixed_effects else None,
                    )
                except (SeparationError, ConvergenceError, np.linalg.LinAlgError) as err:
                    reason = str(err).split(". ")[0].rstrip(".")
                    rows.append({**empty, "note": "; ".join([*notes, f"no estimate: {reason}"])})
                    bar.update()
                    continue
                notes += [d.describe() for d in fit.dropped]
                if cols.arm not in fit.params.index:
                    rows.append(
                        {**empty, "note": "; ".join([*notes, f"no estimate: the offer ({cols.arm!r}) was dropped"])}
                    )
                    bar.update()
                    continue
                used = cross.iloc[fit.model.used_rows]
                used_codes = None if cluster_code is None else cluster_code[rows_of[month][fit.model.used_rows]]
                n_offices = int(used[cols.office].nunique())
            j = fit.model.exog_names.index(cols.arm)
            params = fit.params.to_numpy()
            b, se = float(params[j]), float(np.sqrt(fit.covariance.matrix[j, j]))
            rows.append(
                {
                    "month": str(month),
                    "coef": b,
                    "se_coef": se,
                    "or": np.exp(b),
                    "se": np.exp(b) * se,
                    "z": b / se,
                    "df": fit.covariance.df,
                    "n": fit.nobs,
                    "n_offices": n_offices,
                    "note": "; ".join(notes),
                }
            )
            fits.append(fit)
            if band:
                assert used_codes is not None and cluster_labels is not None  # the band needs a cluster (checked)
                infl = fit.model.score_obs(params) @ fit.model.bread(params)[:, j]
                sums = np.bincount(used_codes, weights=infl, minlength=len(cluster_labels))
                seen = np.bincount(used_codes, minlength=len(cluster_labels)) > 0
                influence.append(pd.Series(sums[seen], index=cluster_labels[seen]))
            bar.update()
    frame = pd.DataFrame(rows)
    ok = frame["coef"].notna().to_numpy()
    # p-values and pointwise intervals as LogitResults.pvalues / conf_int: normal, or t(G-1)
    df = frame.pop("df").to_numpy(dtype=float) if "df" in frame else np.full(len(frame), np.nan)
    normal = ok & np.isnan(df)
    tdist = ok & ~np.isnan(df)
    z, se_coef, coef = (frame[c].to_numpy(dtype=float) for c in ("z", "se_coef", "coef"))
    p, q = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
    p[normal], q[normal] = 2 * stats.norm.sf(np.abs(z[normal])), stats.norm.ppf(1 - alpha / 2)
    p[tdist], q[tdist] = 2 * stats.t.sf(np.abs(z[tdist]), df[tdist]), stats.t.ppf(1 - alpha / 2, df[tdist])
    frame.insert(frame.columns.get_loc("z"), "ci_low", np.exp(coef - q * se_coef))
    frame.insert(frame.columns.get_loc("z"), "ci_high", np.exp(coef + q * se_coef))
    frame.insert(frame.columns.get_loc("z") + 1, "p", p)
    if not ok.any():
        raise SeparationError(
            f"no month has an estimate of the offer's effect on {outcome!r}: "
            + "; ".join(f"{m}: {n}" for m, n in zip(frame["month"], frame["note"]))
        )
    frame["p_holm"] = np.nan
    frame["p_bh"] = np.nan
    frame.loc[ok, "p_holm"] = holm(frame.loc[ok, "p"])
    frame.loc[ok, "p_bh"] = benjamini_hochberg(frame.loc[ok, "p"])
    # the offer's risk difference each month (average discrete change of P(y = 1) from arm 0 to 1, with
    # delta-method SEs from the month's covariance): Stata margins, dydx(i.arm) after the month's logit
    changes = _risk_differences(fits, cols.arm, alpha)
    for j, column in enumerate(("rd", "rd_se", "rd_ci_low", "rd_ci_high", "rd_p")):
        frame[column] = np.nan
        frame.loc[ok, column] = changes[:, j]
    crit, draws = None, 0
    if band:
        stacked = pd.concat(influence, axis=1).fillna(0.0).to_numpy()  # clusters absent in a month add 0
        factors = np.array([fit.covariance.factor for fit in fits])
        crit, draws = sup_t_critical(
            stacked,
            frame.loc[ok, "se_coef"].to_numpy(),
            factor=factors,
            alpha=alpha,
            n_boot=n_boot,
            seed=seed,
            progress=progress,
        )
        crit_m = np.full(len(fits), crit)
        if t_reference:  # same per-month two-sided tail probability under t(G-1)
            crit_m = np.array([stats.t(f.covariance.df).isf(stats.norm.sf(crit)) for f in fits])
        frame["band_low"] = np.nan
        frame["band_high"] = np.nan
        frame.loc[ok, "band_low"] = np.exp(frame.loc[ok, "coef"] - crit_m * frame.loc[ok, "se_coef"])
        frame.loc[ok, "band_high"] = np.exp(frame.loc[ok, "coef"] + crit_m * frame.loc[ok, "se_coef"])
    return MonthlyEffects(
        frame=frame,
        outcome=outcome,
        controls=tuple(base_vars),
        baseline=str(base_month),
        cluster=cluster_col,
        fixed_effects=fixed_effects,
        adjustment=adjustment,
        t_reference=t_reference,
        alpha=alpha,
        band_critical=crit,
        band_draws=draws,
        n_offices=int(data[cols.office].nunique()),
        n_parents=n_parents,
        parents_without_baseline=no_base,
        results=tuple(fits),
        name=series.name if series else variable.key,
        description=variable.description,
        treatment=plan.treatment_description,
        units=(plan.unit("parent", 1), plan.unit("office", 1)),
        cluster_label=plan.unit("office", 1) if cluster_col == cols.office else (cluster_col or ""),
    )
