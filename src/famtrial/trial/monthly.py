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
from typing import Any, get_args

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from famtrial._options import MonthlyFixedEffects, check_bool
from famtrial._parallel import is_dask_dataframe
from famtrial._progress import Progress
from famtrial.data.panel import Panel
from famtrial.errors import ConvergenceError, SeparationError
from famtrial.inference.multiplicity import benjamini_hochberg, holm, sup_t_critical
from famtrial.models.covariance import Adjustment
from famtrial.models.logit import LogitResults, fit_logit_blocks, logit
from famtrial.plan.spec import Series, Variable
from famtrial.trial._once import few_clusters_once
from famtrial.trial.monthly_results import MonthlyEffects

__all__ = ["MonthlyEffects", "monthly_effects"]

_FIXED_EFFECTS = (None, *get_args(MonthlyFixedEffects))


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
    """``(rd, se, ci_low, ci_high, p)`` of each month's logit, one row per fit.

    The arithmetic of :func:`famtrial.models.postestimation.margins` (``discrete=True``, a column fit) on
    arrays, without building a frame per month (tests/trial/test_monthly.py checks they agree).
    """
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
    """The fitted months' rows (``keep``) joined to their parent's baseline values (``<v>_baseline``).

    Also returns the number of parents without a baseline row (not used).
    """
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


# -- 1. options: the arguments resolved against the panel and its plan --------------------------------


@dataclass(frozen=True)
class _Options:
    """``monthly_effects``' arguments resolved against the panel and its plan."""

    variable: Variable
    series: Series | None
    outcome: str  # the outcome's column
    base_vars: list[str]  # entered at their baseline-month value: the controls, then the outcome's own
    own_baseline: bool
    fixed_effects: MonthlyFixedEffects | None  # "office" or None
    cluster: str | None  # the cluster column
    base_month: pd.Period
    wanted: list[pd.Period]  # the fitted months
    arm: str
    office: str
    arm_codes: tuple[Any, Any] = (1, 0)  # the plan's codes of the offered and the control arm

    def in_user_codes(self, text: str) -> str:
        """A note with the arm's internal 0/1 replaced by the plan's codes: ``grp != 0`` -> ``grp = "T"``."""
        offered, control = (f'"{c}"' if isinstance(c, str) else str(c) for c in self.arm_codes)
        return text.replace(f"{self.arm} != 0", f"{self.arm} = {offered}").replace(
            f"{self.arm} == 0", f"{self.arm} = {control}"
        )

    @property
    def regressors_all(self) -> list[str]:
        """The offer and every baseline column, in the fits' order."""
        return [self.arm, *[f"{v}_baseline" for v in self.base_vars]]

    def regressors(self, month: pd.Period) -> tuple[list[str], list[str]]:
        """A month's regressors and its notes: in the baseline month the outcome's own baseline is left out."""
        regs_all = self.regressors_all
        if self.own_baseline and month.ordinal == self.base_month.ordinal:
            return [r for r in regs_all if r != f"{self.outcome}_baseline"], [
                "baseline month: the outcome's own baseline value is the outcome and is left out"
            ]
        return list(regs_all), []


def _check_arguments(panel: Panel, fixed_effects: object, n_boot: object, alpha: float) -> None:
    if not isinstance(panel, Panel):
        raise TypeError(f"monthly_effects needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
    if fixed_effects not in _FIXED_EFFECTS:
        raise ValueError(f"fixed_effects={fixed_effects!r} is not one of {_FIXED_EFFECTS}")
    if not isinstance(n_boot, int) or n_boot < 1:
        raise ValueError(f"n_boot={n_boot!r} must be a positive integer")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1")


def _options(
    panel: Panel,
    outcome: str,
    *,
    months: Sequence[str] | None,
    controls: Sequence[str] | None,
    own_baseline: bool | None,
    baseline: str | None,
    cluster: str | None,
    fixed_effects: MonthlyFixedEffects | None,
    band: bool,
) -> _Options:
    """The series options (arguments, then the plan's series, then defaults), each checked against the panel."""
    cols = panel.columns
    variable, series, control_cols, own, fe = _series_options(panel, outcome, controls, own_baseline, fixed_effects)
    outcome = variable.column
    missing = [c for c in control_cols if c not in panel.data.columns]
    if missing:
        raise ValueError(f"controls {missing} are not columns of the panel; available: {list(panel.data.columns)}")
    cluster_col = cols.office if cluster == "office" else cluster
    if cluster_col is not None and cluster_col not in panel.data.columns:
        raise ValueError(f"cluster column {cluster!r} is not in the panel")
    if band and cluster_col is None:
        raise ValueError("the simultaneous band resamples clusters: pass cluster= or band=False")
    available = panel.months
    wanted = _months(panel, months, available)
    base_month = panel.baseline if baseline is None else _month_arg(baseline, "baseline")
    if base_month not in set(available):
        raise ValueError(f"baseline month {base_month} is not in the panel ({available[0]} .. {available[-1]})")
    return _Options(
        variable=variable,
        series=series,
        outcome=outcome,
        base_vars=list(dict.fromkeys([*control_cols, *([outcome] if own else [])])),
        own_baseline=own,
        fixed_effects=fe,
        cluster=cluster_col,
        base_month=base_month,
        wanted=wanted,
        arm=cols.arm,
        office=cols.office,
        arm_codes=(panel.plan.offered_code, panel.plan.control_code),
    )


# -- 2. cross-sections: the fitted months' rows joined to their baseline values ------------------------


@dataclass(frozen=True)
class _CrossSections:
    """Every fitted month's rows (``data``), where each month's rows are, and the office and cluster codes.

    On a Dask panel the rows are cells of identical rows and ``weights`` their row counts (fweights).
    """

    data: pd.DataFrame
    rows_of: dict[pd.Period, np.ndarray]  # a month's positions in ``data``, in data order
    office_code: np.ndarray
    cluster_code: np.ndarray | None  # codes in sorted label order: influence sums come out as groupby's
    cluster_labels: np.ndarray | None
    parents_without_baseline: int
    n_parents: int
    weights: np.ndarray | None = None  # frequency weights of the rows (None: each row counts once)

    def weights_of(self, rows: np.ndarray) -> np.ndarray | None:
        """The frequency weights of ``rows`` (None without weights)."""
        return None if self.weights is None else self.weights[rows]

    def count(self, rows: np.ndarray) -> int:
        """The number of observations in ``rows`` (with weights: their sum)."""
        return len(rows) if self.weights is None else int(self.weights[rows].sum())


def _cross_sections(panel: Panel, opts: _Options) -> _CrossSections:
    """The months' rows, in memory or reduced on the Dask workers (:mod:`famtrial.trial._monthly_dask`)."""
    cols = panel.columns
    keep = list(
        dict.fromkeys([cols.parent, cols.office, cols.month, cols.arm, opts.outcome, *filter(None, [opts.cluster])])
    )
    weights = None
    if is_dask_dataframe(panel.data):
        from famtrial.trial._monthly_dask import COUNT, monthly_cells

        data, no_base, n_parents = monthly_cells(panel, keep, opts.base_vars, opts.base_month, opts.wanted)
        weights = data.pop(COUNT).to_numpy(dtype=float)
    else:
        data, no_base = _monthly_rows(
            panel.data, cols.parent, cols.month, keep, opts.base_vars, opts.base_month, opts.wanted
        )
        n_parents = int(data[cols.parent].nunique())
    ordinals = data[cols.month].array.asi8
    order = np.argsort(ordinals, kind="stable")
    first, last = (
        np.searchsorted(ordinals[order], [m.ordinal for m in opts.wanted], side=side) for side in ("left", "right")
    )
    cluster_code, cluster_labels = (
        pd.factorize(data[opts.cluster].to_numpy(), sort=True) if opts.cluster else (None, None)
    )
    return _CrossSections(
        data=data,
        rows_of={month: order[a:b] for month, a, b in zip(opts.wanted, first, last)},
        office_code=pd.factorize(data[cols.office].to_numpy())[0],
        cluster_code=cluster_code,
        cluster_labels=cluster_labels,
        parents_without_baseline=no_base,
        n_parents=n_parents,
        weights=weights,
    )


# -- 3. fits: the regular months at once, the others month by month -----------------------------------


def _batched_fits(
    sections: _CrossSections, opts: _Options, *, adjustment: Adjustment, t_reference: bool
) -> dict[pd.Period, LogitResults | None]:
    """Without office dummies, every month's logit in one batched Newton (:func:`fit_logit_blocks`).

    A month it cannot fit as a regular block (something to drop) maps to None and is fitted alone.
    """
    if opts.fixed_effects is not None:
        return {}
    regs_all = opts.regressors_all
    values = sections.data[regs_all].to_numpy(dtype=float)
    y_all = sections.data[opts.outcome].to_numpy()
    cl_all = sections.data[opts.cluster].to_numpy() if opts.cluster else None
    blocks, names, weights = [], [], []
    for month in opts.wanted:
        regs, _ = opts.regressors(month)
        r = sections.rows_of[month]
        blocks.append(
            (y_all[r], values[r][:, [regs_all.index(c) for c in regs]], None if cl_all is None else cl_all[r])
        )
        names.append(regs)
        weights.append(sections.weights_of(r))
    if y_all.dtype.kind not in "biuf":  # other outcomes: Logit names the problem month by month
        return {}
    fits = fit_logit_blocks(
        blocks, names, adjustment=adjustment, t_reference=t_reference, outcome=opts.outcome, weights=weights
    )
    return dict(zip(opts.wanted, fits))


def _estimate_row(month: pd.Period, fit: LogitResults, arm: str, n_offices: int, notes: list[str]) -> dict[str, Any]:
    """A month's row of the frame from its fit: the offer's log odds, odds ratio, SEs and z."""
    j = fit.model.exog_names.index(arm)
    params = fit.params.to_numpy()
    b, se = float(params[j]), float(np.sqrt(fit.covariance.matrix[j, j]))
    return {
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


_Month = tuple[LogitResults | None, np.ndarray | None, dict[str, Any]]  # fit, its rows' cluster codes, row


def _fit_alone(
    sections: _CrossSections,
    opts: _Options,
    month: pd.Period,
    *,
    adjustment: Adjustment,
    t_reference: bool,
) -> _Month:
    """A month that needs its own fit (drops, office dummies): its fit, or a row with NaNs and the reason."""
    regs, notes = opts.regressors(month)
    cross = sections.data.iloc[sections.rows_of[month]].reset_index(drop=True)
    empty = {
        "month": str(month),
        **dict.fromkeys(("coef", "se_coef", "or", "se", "z"), np.nan),
        "n": sections.count(sections.rows_of[month]),
        "n_offices": int(cross[opts.office].nunique()),
    }
    try:
        fit = logit(
            cross,
            opts.outcome,
            regs,
            cluster=opts.cluster,
            adjustment=adjustment,
            t_reference=t_reference,
            fixed_effects=opts.office if opts.fixed_effects else None,
            weights=sections.weights_of(sections.rows_of[month]),
        )
    except (SeparationError, ConvergenceError, np.linalg.LinAlgError) as err:
        reason = opts.in_user_codes(str(err).split(". ")[0].rstrip("."))
        return None, None, {**empty, "note": "; ".join([*notes, f"no estimate: {reason}"])}
    notes += [opts.in_user_codes(d.describe()) for d in fit.dropped]
    if opts.arm not in fit.params.index:
        return None, None, {**empty, "note": "; ".join([*notes, f"no estimate: the offer ({opts.arm!r}) was dropped"])}
    used_rows = fit.model.used_rows
    used_codes = None if sections.cluster_code is None else sections.cluster_code[sections.rows_of[month][used_rows]]
    n_offices = int(cross[opts.office].iloc[used_rows].nunique())
    return fit, used_codes, _estimate_row(month, fit, opts.arm, n_offices, notes)


def _fit_month(
    sections: _CrossSections,
    opts: _Options,
    month: pd.Period,
    batched: LogitResults | None,
    *,
    adjustment: Adjustment,
    t_reference: bool,
) -> _Month:
    """A month's fit (batched, or alone), the cluster codes of its rows, and its row of the frame."""
    if batched is None:
        return _fit_alone(sections, opts, month, adjustment=adjustment, t_reference=t_reference)
    r = sections.rows_of[month]  # a regular month: nothing dropped, nothing to note
    used_codes = None if sections.cluster_code is None else sections.cluster_code[r]
    n_offices = int(np.count_nonzero(np.bincount(sections.office_code[r])))
    return batched, used_codes, _estimate_row(month, batched, opts.arm, n_offices, opts.regressors(month)[1])


def _influence(fit: LogitResults, arm: str, used_codes: np.ndarray, labels: np.ndarray) -> pd.Series:
    """The offer's cluster influence sums of a month (the band's input), for the clusters in the fit."""
    j = fit.model.exog_names.index(arm)
    params = fit.params.to_numpy()
    infl = fit.model.score_obs(params) @ fit.model.bread(params)[:, j]
    sums = np.bincount(used_codes, weights=infl, minlength=len(labels))
    seen = np.bincount(used_codes, minlength=len(labels)) > 0
    return pd.Series(sums[seen], index=labels[seen])


def _fit_months(
    sections: _CrossSections,
    opts: _Options,
    batched: dict[pd.Period, LogitResults | None],
    *,
    adjustment: Adjustment,
    t_reference: bool,
    band: bool,
    progress: bool,
) -> tuple[list[dict[str, Any]], list[LogitResults], list[pd.Series]]:
    """Every month's row, the fits of the months with an estimate, and their influence sums (with ``band``)."""
    rows, fits, influence = [], [], []
    with Progress(len(opts.wanted), f"monthly logits ({opts.outcome})", enabled=progress) as bar:
        for month in opts.wanted:
            fit, used_codes, row = _fit_month(
                sections, opts, month, batched.get(month), adjustment=adjustment, t_reference=t_reference
            )
            rows.append(row)
            if fit is not None:
                fits.append(fit)
                if band:
                    # the band needs a cluster (checked)
                    assert used_codes is not None and sections.cluster_labels is not None
                    influence.append(_influence(fit, opts.arm, used_codes, sections.cluster_labels))
            bar.update()
    return rows, fits, influence


# -- 4. pointwise inference, 5. multiplicity, 6. risk differences and the band -------------------------


def _pointwise(rows: list[dict[str, Any]], alpha: float, outcome: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The frame with pointwise intervals and p-values, and which months have an estimate.

    Intervals and p-values as ``LogitResults.pvalues`` / ``conf_int`` (normal, or t(G-1)); a
    SeparationError when no month has an estimate.
    """
    frame = pd.DataFrame(rows)
    ok = frame["coef"].notna().to_numpy()
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
    return frame, ok


def _multiplicity(frame: pd.DataFrame, ok: np.ndarray) -> None:
    """Holm (family-wise error) and Benjamini-Hochberg (false discovery rate) over the estimated months."""
    frame["p_holm"] = np.nan
    frame["p_bh"] = np.nan
    frame.loc[ok, "p_holm"] = holm(frame.loc[ok, "p"])
    frame.loc[ok, "p_bh"] = benjamini_hochberg(frame.loc[ok, "p"])


def _add_risk_differences(
    frame: pd.DataFrame, ok: np.ndarray, fits: Sequence[LogitResults], arm: str, alpha: float
) -> None:
    """The offer's risk difference each month: Stata ``margins, dydx(i.arm)`` after the month's logit.

    The average discrete change of P(y = 1) from arm 0 to 1, with delta-method SEs from the month's
    covariance.
    """
    changes = _risk_differences(fits, arm, alpha)
    for j, column in enumerate(("rd", "rd_se", "rd_ci_low", "rd_ci_high", "rd_p")):
        frame[column] = np.nan
        frame.loc[ok, column] = changes[:, j]


def _band(
    frame: pd.DataFrame,
    ok: np.ndarray,
    fits: Sequence[LogitResults],
    influence: list[pd.Series],
    *,
    alpha: float,
    n_boot: int,
    seed: int | None,
    t_reference: bool,
    progress: bool,
) -> tuple[float, int]:
    """The sup-t band's critical value and draws (:func:`sup_t_critical`); adds ``band_low``/``band_high``."""
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
    return crit, draws


def _results(
    panel: Panel,
    opts: _Options,
    sections: _CrossSections,
    frame: pd.DataFrame,
    fits: Sequence[LogitResults],
    *,
    band: tuple[float | None, int],
    adjustment: Adjustment,
    t_reference: bool,
    alpha: float,
) -> MonthlyEffects:
    """The results, with the plan's words for the units and the treatment."""
    plan, cols = panel.plan, panel.columns
    return MonthlyEffects(
        frame=frame,
        outcome=opts.outcome,
        controls=tuple(opts.base_vars),
        baseline=str(opts.base_month),
        cluster=opts.cluster,
        fixed_effects=opts.fixed_effects,
        adjustment=adjustment,
        t_reference=t_reference,
        alpha=alpha,
        band_critical=band[0],
        band_draws=band[1],
        n_offices=int(sections.data[cols.office].nunique()),
        n_parents=sections.n_parents,
        parents_without_baseline=sections.parents_without_baseline,
        results=tuple(fits),
        name=opts.series.name if opts.series else opts.variable.key,
        description=opts.variable.description,
        treatment=plan.treatment_description,
        units=(plan.unit("parent", 1), plan.unit("office", 1)),
        cluster_label=plan.unit("office", 1) if opts.cluster == cols.office else (opts.cluster or ""),
        few_clusters=plan.few_clusters,
    )


# -- the CACE columns (columns.take_up; docs/beyond_itt.md) -----------------------------------------------
#: the columns :func:`_add_cace` adds, named in the series' frame (``monthly_cace``'s name -> the frame's)
CACE_COLUMNS = {
    "take_up": "take_up",
    "itt": "itt_lpm",
    "itt_se": "itt_lpm_se",
    "cace": "cace",
    "cace_se": "cace_se",
    "cace_ci_low": "cace_ci_low",
    "cace_ci_high": "cace_ci_high",
    "cace_p": "cace_p",
}


def _wants_cace(panel: Panel, cace: object, *, cluster: str | None, baseline: str | None) -> bool:
    """Whether the series gets the CACE columns: ``cace``, by default when the plan names take-up."""
    if cace is None:
        cace = panel.columns.take_up is not None
    check_bool(cace, "cace")
    if not cace:
        return False
    if panel.columns.take_up is None:
        raise ValueError(
            f"cace=True: the plan {panel.plan.name!r} names no take-up column; set columns.take_up or pass cace=False"
        )
    unsupported = [
        what
        for what, bad in (
            ("a Dask panel", is_dask_dataframe(panel.data)),
            (f"cluster={cluster!r} (the CACE clusters by office)", cluster != "office"),
            (
                f"baseline={baseline!r} (the CACE's controls are at the plan's baseline month {panel.plan.baseline})",
                baseline is not None and _month_arg(baseline, "baseline") != panel.baseline,
            ),
        )
        if bad
    ]
    if unsupported:
        raise ValueError(
            f"the monthly CACE columns (cace=True) with {' and '.join(unsupported)} are not supported: "
            "pass cace=False, or leave those arguments at their defaults"
        )
    return True


def _add_cace(
    panel: Panel,
    frame: pd.DataFrame,
    opts: _Options,
    *,
    controls: Sequence[str] | None,
    own_baseline: bool | None,
    alpha: float,
) -> pd.DataFrame:
    """The series' frame with the CACE columns, by month (NaN in months before implementation)."""
    from famtrial.trial.compliance import monthly_cace

    cace = monthly_cace(
        panel,
        opts.variable.key,
        controls=controls,
        own_baseline=own_baseline,
        office_effects=opts.fixed_effects == "office",
        alpha=alpha,
    )
    cace = cace[["month", *CACE_COLUMNS]].rename(columns=CACE_COLUMNS)
    merged = frame.merge(cace, on="month", how="left", validate="one_to_one")
    merged.index = frame.index
    return merged


# -- the series ------------------------------------------------------------------------------------------


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
    t_reference: bool | None = None,
    alpha: float = 0.05,
    band: bool = True,
    n_boot: int = 999,
    seed: int | None = 20161001,
    progress: bool = True,
    cace: bool | None = None,
) -> MonthlyEffects:
    """One logit per month of ``outcome`` on the offer, with Holm/BH p-values and a sup-t band.

    Parameters
    ----------
    panel : Panel
        The analysis panel (e.g. ``analysis_sample(panel).panel``); its plan gives the columns, the
        implementation and baseline months and the series' defaults. A panel loaded with
        ``engine="dask"`` is reduced on the Dask workers (see Notes).
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
    t_reference : bool, optional
        Few-cluster option: p-values and CIs from t(G-1) instead of the normal, and the band's
        critical value carried to t(G-1) at the same per-month tail probability (see the docs).
        Default (None): the plan's ``[inference] reference`` (``"t"``: True).
    alpha : float
        Level of the pointwise CIs, the adjusted tests and the band (95% by default).
    band : bool
        Compute the sup-t simultaneous band (cluster multiplier bootstrap; needs ``cluster``).
    n_boot, seed : int
        Multiplier draws and their seed when there are more than 16 clusters (with 16 or fewer,
        every sign vector is enumerated and the band is exact and seed-free).
    progress : bool
        Show progress over the months.
    cace : bool, optional
        Add the complier average causal effect as columns of the series (``take_up``, ``itt_lpm``,
        ``itt_lpm_se``, ``cace``, ``cace_se``, ``cace_ci_low``, ``cace_ci_high``, ``cace_p``: risk
        differences, :func:`famtrial.trial.compliance.monthly_cace` with this series' controls, own
        baseline and office effects, clustered by office). Default (None): when the plan names
        ``columns.take_up``. Not with a Dask panel, ``cluster`` other than ``"office"`` or a
        ``baseline`` other than the plan's (each raises).

    Notes
    -----
    On a Dask panel (``load_panel(..., engine="dask")``) the workers collapse the fitted months'
    rows, joined to the baseline values, into cells of identical (month, office, cluster, offer,
    baseline values, outcome) with their counts; the client sums the cells over partitions and
    fits each month's logit on its cells with the counts as frequency weights (Stata ``fweight``),
    so every number, note and count equals the in-memory result and the client holds cells, not
    parents (``famtrial.trial._monthly_dask``; docs/scale.md). ``results`` then hold the cells and
    their weights. Continuous baseline controls make each parent its own cell, so the cells are then
    the months' cross-sections.

    Returns
    -------
    MonthlyEffects
        A month whose logit cannot estimate the offer (the outcome constant in that month, the
        offer or a control predicting it perfectly, no convergence) keeps its row with NaN
        estimates and the reason in ``note``, as a Stata loop with ``capture`` would; the other
        months are estimated and Holm, BH and the band use them.
    """
    _check_arguments(panel, fixed_effects, n_boot, alpha)
    t_reference = panel.plan.reference == "t" if t_reference is None else t_reference
    check_bool(t_reference, "t_reference")
    with_cace = _wants_cace(panel, cace, cluster=cluster, baseline=baseline)
    opts = _options(
        panel,
        outcome,
        months=months,
        controls=controls,
        own_baseline=own_baseline,
        baseline=baseline,
        cluster=cluster,
        fixed_effects=fixed_effects,
        band=band,
    )
    sections = _cross_sections(panel, opts)
    with few_clusters_once(f"the monthly series of {opts.outcome}"):  # once per series, not per month
        batched = _batched_fits(sections, opts, adjustment=adjustment, t_reference=t_reference)
        rows, fits, influence = _fit_months(
            sections, opts, batched, adjustment=adjustment, t_reference=t_reference, band=band, progress=progress
        )
    frame, ok = _pointwise(rows, alpha, opts.outcome)
    _multiplicity(frame, ok)
    _add_risk_differences(frame, ok, fits, opts.arm, alpha)
    crit, draws = None, 0
    if band:
        crit, draws = _band(
            frame,
            ok,
            fits,
            influence,
            alpha=alpha,
            n_boot=n_boot,
            seed=seed,
            t_reference=t_reference,
            progress=progress,
        )
    if with_cace:
        frame = _add_cace(panel, frame, opts, controls=controls, own_baseline=own_baseline, alpha=alpha)
    return _results(
        panel,
        opts,
        sections,
        frame,
        fits,
        band=(crit, draws),
        adjustment=adjustment,
        t_reference=t_reference,
        alpha=alpha,
    )
