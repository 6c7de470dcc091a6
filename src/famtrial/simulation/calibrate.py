r"""A :class:`~famtrial.simulation.design.TrialDesign` calibrated to a loaded trial panel.

:func:`calibrate` reads a trial's panel in the steps of the design it builds: the months, the offices
and families (:func:`_office_groups`, :func:`_families_and_gaps`), the covariates' processes
(:func:`_covariates`), and per outcome the slopes and trend of a fixed-effects logit
(:func:`_slopes_and_trend`) and the intercepts' variance components by the method of moments
(:func:`_variance_components`); :func:`calibrate`'s docstring states every estimator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import expit

from famtrial.simulation.design import Columns, Covariate, OfficeGroup, Outcome, TrialDesign

if TYPE_CHECKING:
    from famtrial.data.panel import Panel
    from famtrial.plan.spec import Columns as PlanColumns
    from famtrial.plan.spec import Plan

__all__ = ["calibrate"]


def calibrate(panel: Panel, *, outcomes: Sequence[str] | None = None) -> TrialDesign:
    r"""A :class:`TrialDesign` calibrated to a loaded trial panel (``famtrial.load_panel(data, plan)``).

    The design keeps the plan's column names and codes (arm, variant), so a simulated panel loads
    with the same plan and goes through the plan's sample rule and models unchanged. Estimators
    (``y_it`` the outcome, ``i`` parent, ``o`` office, pre-implementation months only where stated):

    * **months**: the panel's first and last month and the plan's implementation month.
    * **offices**: two :class:`OfficeGroup`\ s, the offices that pass the plan's sample rule and those
      that fail it (the rule evaluated as :func:`famtrial.analysis_sample` does); in each, families per
      office uniform on ``mean +- sqrt(3) SD`` of the group's offices (the uniform with their mean and
      SD, at least 2) and the control share (of families) uniform on the observed [min, max]. Randomization by family within office.
    * **parents per family**: ``two_parent_share`` = share of families with two or more parents
      (the simulator makes families of one or two parents).
    * **gaps**: share of parents observed in fewer months than the panel has; ``max_months`` the
      largest number of months such a parent misses.
    * **covariates**: 0/1 time-varying: a Markov chain with ``p`` = mean in the baseline month and
      ``on`` = #(0 -> 1) / #(0 at t - 1), ``off`` = #(1 -> 0) / #(1 at t - 1) over consecutive observed
      months; other time-varying: a count with Poisson ``mean`` = baseline mean, ``up``/``down`` = shares of
      consecutive months that rise/fall, ``min``/``max`` observed; time-invariant 0/1: ``p`` = mean over
      parents; other time-invariant: integer normal with the parents' mean, SD, min and max.
    * **per outcome**, a fixed-effects logit of ``y`` on the pooled offer, the plan's time-varying
      covariates and a linear trend on every office (Stata ``clogit y treat x trend, group(parent)``):
      its slopes are the covariate slopes, its trend the ``trend`` and its offer coefficient the effect
      of every variant (a common effect; ``office_effect_sd = 0``, not identifiable from a few offices).
      Time-invariant covariates get slope 0: the fixed effects absorb them, and their contribution is
      part of the intercept variance below.
    * **intercepts** (method of moments on the pre-implementation months, ``n_i`` months of parent i,
      ``ybar_i`` its mean): ``m`` = mean of ``ybar_i``; between-parent variance of the probabilities
      ``V = Var(ybar_i) - mean(ybar_i (1 - ybar_i) / (n_i - 1))`` (the binomial within-parent part
      removed); ``(mu, s)`` solve ``E expit(mu + s Z) = m``, ``Var expit(mu + s Z) = V`` (Gauss-Hermite);
      the office share ``r`` of the logit-scale variance solves ``C(r) = V_o``, where ``C(r)`` is the
      covariance of two parents' probabilities whose logit intercepts correlate ``r`` and
      ``V_o = Var_o(mean_o ybar) - mean_o(Var_o(ybar) / n_o)`` (the between-office variance of the
      office means, sampling part removed); ``office_intercept_sd^2 = r s^2``, ``intercept_sd^2 =
      (1 - r) s^2``; ``intercept_mean = mu - trend * (mean pre-period month index) - sum_k slope_k *
      (baseline mean of x_k)``. ``family_correlation`` ``rho``: the shared share ``q`` solving
      ``C(q) - C(r)`` = mean product of the two parents' ``ybar`` (centred at their office mean) in
      two-parent families, ``rho = (q - r) / (1 - r)``, averaged over outcomes. (Shares on the logit
      scale, matched on the probability scale: a moment estimator, not a likelihood one.)

    The simulator's parents are conditionally independent over months given their intercept, so a
    calibrated design reproduces base rates, trends and variance components, not month-to-month
    persistence beyond what the intercepts imply.

    Parameters
    ----------
    panel : famtrial.Panel
        A loaded panel (its plan supplies columns, codes, months, the sample rule, the covariates).
    outcomes : sequence of str, optional
        Plan outcome keys to calibrate (default: all the plan's outcomes; the simulated panel needs
        every outcome the plan names to load).

    Returns
    -------
    TrialDesign
        With ``month_format = "period"``, the plan's arm and variant codes and column names.
    """
    from famtrial.data.panel import Panel

    if not isinstance(panel, Panel):
        raise TypeError(
            f"calibrate needs a famtrial Panel (famtrial.load_panel(data, plan)), not {type(panel).__name__}"
        )
    plan, cols, data = panel.plan, panel.columns, panel.data
    keys = [v.key for v in plan.outcomes] if outcomes is None else [plan.outcome(k).key for k in outcomes]
    impl = pd.Period(plan.implementation, "M")
    months = data[cols.month]
    first, last = months.min(), months.max()
    two, gap_share, gap_max = _families_and_gaps(data, cols, first, last)
    pre = _PrePeriod.of(data, cols, impl, first)
    outs, rhos = [], []
    for key in keys:
        outcome, rho = _outcome(panel, key, pre, at_base=data[months == impl - 1])
        outs.append(outcome)
        if rho is not None:
            rhos.append(rho)
    return TrialDesign(
        columns=_design_columns(cols, plan),
        first_month=str(first),
        last_month=str(last),
        implementation=str(impl),
        offices=_office_groups(data, cols, plan),
        outcomes=tuple(outs),
        covariates=_covariates(data, cols, plan, impl - 1),
        variants=tuple(v.name for v in plan.variants),
        two_parent_share=two,
        family_correlation=float(np.mean(rhos)) if rhos else 0.0,
        gap_share=gap_share,
        gap_max_months=gap_max,
        randomize="family",
        seed=plan.seed,
    )


# -- offices, families, gaps -----------------------------------------------------------------------------
def _office_groups(data: pd.DataFrame, cols: PlanColumns, plan: Plan) -> tuple[OfficeGroup, ...]:
    """The offices that pass the plan's sample rule and those that fail it, one :class:`OfficeGroup` each."""
    fam = data.drop_duplicates(cols.family)[[cols.family, cols.office, cols.arm]]
    per_office = fam.groupby(cols.office)[cols.arm].agg(families="size", offered="sum")
    per_office["control_share"] = 1 - per_office["offered"] / per_office["families"]
    if plan.sample_rule == "none":
        passes = pd.Series(True, index=per_office.index)
    else:
        unit = cols.family if plan.sample_unit == "family" else cols.parent
        units = data.drop_duplicates(unit).groupby(cols.office)[cols.arm].agg(["size", "sum"])
        passes = (1 - units["sum"] / units["size"]) >= plan.threshold - 1e-12
    groups = []
    for ok in (True, False):
        part = per_office[passes.reindex(per_office.index).to_numpy() == ok]
        if len(part):
            share = part["control_share"].clip(0.01, 0.99)
            f_mean, f_sd = float(part["families"].mean()), float(part["families"].std(ddof=0))
            half = np.sqrt(3) * f_sd  # a uniform with the offices' mean and SD of families
            families = (int(max(round(f_mean - half), 2)), int(max(round(f_mean + half), 2)))
            groups.append(
                OfficeGroup(n=len(part), families=families, control_share=(float(share.min()), float(share.max())))
            )
    return tuple(groups)


def _families_and_gaps(data: pd.DataFrame, cols: PlanColumns, first: Any, last: Any) -> tuple[float, float, int]:
    """``(two_parent_share, gap_share, gap_max_months)``: two-parent families, parents with gaps, the longest gap."""
    parents_per_family = data.drop_duplicates(cols.parent).groupby(cols.family).size()
    two = float((parents_per_family >= 2).mean())
    n_months = (last - first).n + 1
    observed = data.groupby(cols.parent).size()
    gap_share = float((observed < n_months).mean())
    gap_max = int(max(1, (n_months - observed).max()))
    return two, gap_share, gap_max


def _design_columns(cols: PlanColumns, plan: Plan) -> Columns:
    """The simulated panel's columns and codes: the plan's, months as ``period[M]``."""
    return Columns(
        parent=cols.parent,
        family=cols.family,
        office=cols.office,
        month=cols.month,
        month_format="period",
        arm=cols.arm,
        arm_offered=plan.offered_code,
        arm_control=plan.control_code,
        variant=plan.variant_column if plan.variants else None,
        variant_control=plan.control_variant,
    )


# -- covariate processes ---------------------------------------------------------------------------------
def _covariates(data: pd.DataFrame, cols: PlanColumns, plan: Plan, base: pd.Period) -> tuple[Covariate, ...]:
    """Each plan covariate's process: Markov chain or count walk (time-varying), binary or integer (invariant)."""
    at_base = data[data[cols.month] == base]
    ordered = data.sort_values([cols.parent, cols.month])
    same = (ordered[cols.parent].to_numpy()[1:] == ordered[cols.parent].to_numpy()[:-1]) & (
        np.diff(ordered[cols.month].map(lambda m: m.ordinal).to_numpy()) == 1
    )  # consecutive observed months of one parent
    covs = []
    for v in plan.covariates:
        x = data[v.column]
        binary = bool(x.isin([0, 1]).all())
        if v.time == "varying":
            xs = ordered[v.column].to_numpy(float)
            transitions = xs[:-1][same], xs[1:][same]
            covs.append(_varying(v.column, x, binary, transitions, at_base[v.column].to_numpy(float)))
        else:
            covs.append(_invariant(v.column, binary, data.drop_duplicates(cols.parent)[v.column].to_numpy(float)))
    return tuple(covs)


def _varying(
    name: str, x: pd.Series, binary: bool, transitions: tuple[np.ndarray, np.ndarray], xb: np.ndarray
) -> Covariate:
    """A time-varying covariate from its month-to-month ``transitions`` (previous, next) and baseline values ``xb``."""
    prev, nxt = transitions
    if binary:
        on = float(((prev == 0) & (nxt == 1)).sum() / max((prev == 0).sum(), 1))
        off = float(((prev == 1) & (nxt == 0)).sum() / max((prev == 1).sum(), 1))
        return Covariate(name=name, kind="markov", p=float(xb.mean()), on=on, off=off)
    return Covariate(
        name=name,
        kind="count",
        mean=float(max(xb.mean(), 0.0)),
        up=float((nxt > prev).mean()),
        down=float((nxt < prev).mean()),
        min=float(x.min()),
        max=float(x.max()),
    )


def _invariant(name: str, binary: bool, xp: np.ndarray) -> Covariate:
    """A time-invariant covariate from its values per parent ``xp``."""
    if binary:
        return Covariate(name=name, kind="binary", p=float(xp.mean()))
    return Covariate(
        name=name,
        kind="integer",
        mean=float(xp.mean()),
        sd=float(xp.std(ddof=1)),
        min=float(xp.min()),
        max=float(xp.max()),
    )


# -- outcomes ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PrePeriod:
    """The pre-implementation months: rows, mean month index, each parent's office and family."""

    rows: pd.DataFrame
    mean_month: float
    office: pd.Series
    family: pd.Series
    parent: str

    @classmethod
    def of(cls, data: pd.DataFrame, cols: PlanColumns, impl: pd.Period, first: pd.Period) -> _PrePeriod:
        pre = data[data[cols.month] < impl]
        parents = pre.drop_duplicates(cols.parent).set_index(cols.parent)
        return cls(
            rows=pre,
            mean_month=float(((pre[cols.month] - first).map(lambda d: d.n)).mean()),
            office=parents[cols.office],
            family=parents[cols.family],
            parent=cols.parent,
        )


def _outcome(panel: Panel, key: str, pre: _PrePeriod, at_base: pd.DataFrame) -> tuple[Outcome, float | None]:
    """One outcome's true model, and its family correlation ``rho``.

    ``rho`` is None when two-parent families do not identify it.
    """
    plan = panel.plan
    column = plan.outcome(key).column
    trend, effect, slopes = _slopes_and_trend(panel, key)
    mu, s, r, rho = _variance_components(pre, column)
    shift = sum(slope * float(at_base[c].mean()) for c, slope in slopes)
    outcome = Outcome(
        name=column,
        intercept_mean=float(mu - trend * pre.mean_month - shift),
        intercept_sd=float(s * np.sqrt(1 - r)),
        trend=trend,
        effects=tuple((v.name, effect) for v in plan.variants) or (("", effect),),
        office_intercept_sd=float(s * np.sqrt(r)),
        covariates=slopes,
    )
    return outcome, rho


def _slopes_and_trend(panel: Panel, key: str) -> tuple[float, float, tuple[tuple[str, float], ...]]:
    """``(trend, effect, slopes)`` of the fixed-effects logit of ``key``.

    The logit is on the offer, the time-varying covariates and a linear trend.
    """
    from famtrial.trial.effects import fe_model

    plan = panel.plan
    varying = [v.key for v in plan.covariates if v.time == "varying"]
    fit = fe_model(panel, key, trend="linear", covariates=varying, cluster=None)
    trend = float(fit.params["trend"])
    effect = float(fit.params[plan.term("pooled")])
    slopes = tuple((plan.variable(k).column, float(fit.params[plan.variable(k).column])) for k in varying)
    return trend, effect, slopes


def _variance_components(pre: _PrePeriod, column: str) -> tuple[float, float, float, float | None]:
    """``(mu, s, r, rho)`` of the logit-normal intercepts, by the method of moments.

    Their mean and SD, the office share ``r`` of their variance and the family correlation ``rho`` (None
    when not identified).
    """
    ybar, n_i, ids = _parent_means(pre.rows[column], pre.rows[pre.parent])
    keep = n_i >= 2
    ybar, n_i, ids = ybar[keep], n_i[keep], ids[keep]
    m = float(ybar.mean())
    v_total = float(ybar.var(ddof=1) - np.mean(ybar * (1 - ybar) / (n_i - 1)))
    office = pre.office.reindex(ids).to_numpy()
    frame = pd.DataFrame({"ybar": ybar, "office": office, "family": pre.family.reindex(ids).to_numpy()})
    by_office = frame.groupby("office")["ybar"]
    v_office = float(by_office.mean().var(ddof=1) - (by_office.var(ddof=1) / by_office.size()).mean())
    mu, s = _match_logit_normal(m, v_total)
    r = _share_for(mu, s, v_office)
    frame["dev"] = frame["ybar"] - by_office.transform("mean")
    pairs = frame.groupby("family")["dev"].agg(["size", "first", "last"])
    pairs = pairs[pairs["size"] == 2]
    rho = None
    if len(pairs) > 1 and s > 0 and r < 1:
        shared = _share_for(mu, s, float((pairs["first"] * pairs["last"]).mean()), floor=r)
        rho = (shared - r) / (1 - r)
    return mu, s, r, rho


def _parent_means(y: pd.Series, parent: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    g = y.groupby(parent, sort=True)
    return g.mean().to_numpy(float), g.size().to_numpy(float), g.mean().index


# -- logit-normal moments --------------------------------------------------------------------------------
def _logit_normal_moments(mu: float, sd: float, nodes: int = 40) -> tuple[float, float]:
    """Mean and variance of ``expit(mu + sd Z)``, Z ~ N(0, 1) (Gauss-Hermite quadrature)."""
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    p = expit(mu + sd * x)
    w = w / w.sum()
    m = float(p @ w)
    return m, float(((p - m) ** 2) @ w)


def _match_logit_normal(mean: float, var: float) -> tuple[float, float]:
    """``(mu, sd)`` with ``E expit(mu + sd Z) = mean`` and ``Var expit(mu + sd Z) = var`` (moment match).

    ``sd`` is capped at 10 (a variance beyond what sd = 10 gives is met at the cap).
    """
    from scipy.optimize import brentq

    mean = float(np.clip(mean, 1e-4, 1 - 1e-4))
    var = max(float(var), 0.0)

    def mu_for(sd: float) -> float:
        return float(brentq(lambda mu: _logit_normal_moments(mu, sd)[0] - mean, -100, 100))

    if var <= 1e-10:
        return mu_for(0.0), 0.0
    top = 10.0  # an intercept SD of 10 on the logit scale: nearly all parents at 0 or 1 throughout
    if _logit_normal_moments(mu_for(top), top)[1] <= var:
        return mu_for(top), top
    sd = brentq(lambda sd: _logit_normal_moments(mu_for(sd), sd)[1] - var, 1e-6, top)
    return mu_for(sd), float(sd)


def _shared_cov(mu: float, sd: float, share: float, nodes: int = 40) -> float:
    """Covariance of ``expit(mu + sd U_1)`` and ``expit(mu + sd U_2)``: ``Var_S(E[expit | S])``.

    ``U_1, U_2`` are N(0, 1) with correlation ``share`` (a common component ``S`` of variance ``share``).
    """
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    share = float(np.clip(share, 0.0, 1.0))
    cond = expit(mu + sd * (np.sqrt(share) * x[:, None] + np.sqrt(1 - share) * x[None, :])) @ w
    m = float(cond @ w)
    return float(((cond - m) ** 2) @ w)


def _share_for(mu: float, sd: float, cov: float, floor: float = 0.0) -> float:
    """The correlation ``share`` in [floor, 1] with ``_shared_cov(mu, sd, share) - _shared_cov(mu, sd, floor) = cov``."""
    from scipy.optimize import brentq

    base = _shared_cov(mu, sd, floor)

    def f(share: float) -> float:
        return _shared_cov(mu, sd, share) - base - cov

    if sd <= 0 or f(floor) >= 0:
        return floor
    if f(1.0) <= 0:
        return 1.0
    return float(brentq(f, floor, 1.0))
