r"""Beyond intention to treat: the complier average causal effect (CACE, LATE) where take-up is recorded.

The offer ``Z_it = arm_i * 1[month >= implementation]`` is randomized; the treatment received is
``D_it = Z_it * takeup_i``, where ``takeup_i`` (the plan's ``columns.take_up``) says whether the
offered family accepted. Controls cannot receive the offer (one-sided non-compliance), so
``D_it = 0`` for every control row and a control recording take-up is refused.

Estimands and estimators, on the linear probability model with the plan model's fixed effects
(parent effects; a linear trend, month effects or none as the model's ``time``; its time-varying
covariates ``x_it``):

- **ITT** (risk difference): ``y_it = a_i + f(t) + pi_y Z_it + x_it' g + e_it`` by OLS; ``pi_y``.
- **First stage**: the same regression of ``D_it``; ``pi_d`` (the take-up the offer causes, in the
  panel's weighting).
- **CACE by 2SLS**: ``y_it = a_i + f(t) + beta D_it + x_it' g + u_it`` with ``D_it`` instrumented by
  ``Z_it``; parent effects by the within transformation (exact for one-way effects), month effects as
  dummies; :class:`linearmodels.iv.IV2SLS` on the demeaned data, cluster-robust (the covariates and time
  terms partialled out by least squares first, Frisch-Waugh-Lovell: the same estimate and sandwich).
- **CACE by the Wald ratio**: ``ITT / (p_1 - p_0)`` with ``p_a`` the share of parents in arm ``a`` whose
  family took the offer up (``p_0 = 0`` under one-sided non-compliance); delta-method SE
  ``se^2 = c sum_g (IF_itt,g / Dp - ITT (IF_p1,g - IF_p0,g) / Dp^2)^2`` from the clusters' influence
  values ``IF_itt,g = [(X'X)^-1 sum_{i in g} x_i e_i]_Z`` and ``IF_pa,g = sum_{i in g, arm a} (t_i - p_a) / n_a``.

Covariance: cluster-robust on the model's cluster (``cluster = "none"``: the parent), CR0 times
``c = G/(G-1)`` (the LPM's convention, :mod:`famtrial.models.lpm`); normal reference. Assumptions
(stated in every output): randomization of the offer, the exclusion restriction (the offer affects the
outcome only through take-up), monotonicity (no defiers; automatic with one-sided non-compliance)
and a non-zero first stage; the CACE is the effect among compliers (here: the families that accept).

Stata: ``ivregress 2sls y x i.month (d = z), vce(cluster office)`` after ``xtset parent`` and
``xtivreg y x i.month (d = z), fe vce(cluster office)``; R: ``AER::ivreg(y ~ d + x | z + x)`` on the
demeaned data with ``sandwich::vcovCL(fit, cluster = ~office, type = "HC0", cadjust = TRUE)``, or
``estimatr::iv_robust(y ~ d + x | z + x, fixed_effects = ~parent, clusters = office)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.table import Table
from famtrial.trial._beyond_itt import baseline_values, cluster_column, model_specs, within

__all__ = ["ASSUMPTIONS", "CACEResults", "cace", "cace_models", "cace_table", "take_up", "monthly_cace"]

#: The identifying assumptions, written into every CACE output.
ASSUMPTIONS = (
    "randomization: the offer is independent of potential outcomes and take-up",
    "exclusion restriction: the offer changes the outcome only through take-up",
    "monotonicity: no one takes up because they were not offered (no defiers; automatic here: "
    "controls cannot receive the offer)",
    "relevance: the offer changes take-up (first stage not zero)",
)


def take_up(panel: Panel) -> pd.Series:
    """The rows' take-up as 0/1 floats: the plan's ``columns.take_up``, 0 for control rows.

    Parameters
    ----------
    panel : Panel
        A panel whose plan names ``columns.take_up``.

    Returns
    -------
    Series
        One value per row: 1 when the parent's family was offered and accepted.

    Raises
    ------
    PlanError
        The plan names no take-up column.
    PanelError
        Values other than 0/1, missing values in the offered arm, take-up recorded in the control arm
        (one-sided non-compliance), or take-up varying within a family; the message counts the families.
    """
    from famtrial.data.take_up import check_take_up

    column = panel.columns.take_up
    if column is None:
        raise PlanError(
            f"the plan {panel.plan.name!r} names no take_up column: set columns.take_up = '<column>' in the plan"
        )
    check_take_up(panel.data, panel.plan)  # the load's check (a Panel built another way is checked here too)
    data, cols = panel.data, panel.columns
    offered = data[cols.arm].to_numpy() == 1
    numeric = pd.to_numeric(data[column], errors="coerce")
    return pd.Series(np.where(offered, numeric.fillna(0).to_numpy(), 0.0), index=data.index, name=column)


@dataclass(frozen=True)
class CACEResults:
    """The ITT, the take-up by arm and the CACE of one plan model (:func:`cace`).

    Attributes
    ----------
    model, outcome : str
        The plan model and its outcome key.
    estimates : DataFrame
        Rows ``itt``, ``first_stage``, ``cace_2sls``, ``cace_wald``; columns ``coef``, ``se``, ``z``,
        ``p``, ``ci_low``, ``ci_high`` (probability units).
    take_up : DataFrame
        Per arm (``offered``, ``control``): ``parents``, ``takers``, ``share``.
    nobs, n_parents, n_clusters : int
        Rows, parents and clusters of the estimation sample.
    cluster : str
        The cluster column.
    alpha : float
        The CIs' level is ``1 - alpha``.
    assumptions : tuple of str
        The identifying assumptions (:data:`ASSUMPTIONS`).
    iv : object
        linearmodels' ``IVResults`` of the 2SLS fit (its covariance is CR0; ``estimates`` carries G/(G-1)).
    """

    model: str
    outcome: str
    estimates: pd.DataFrame
    take_up: pd.DataFrame
    nobs: int
    n_parents: int
    n_clusters: int
    cluster: str
    alpha: float = 0.05
    assumptions: tuple[str, ...] = ASSUMPTIONS
    iv: Any = field(default=None, repr=False, compare=False)

    @property
    def params(self) -> pd.Series:
        """The four estimates (statsmodels' name)."""
        return self.estimates["coef"]

    @property
    def bse(self) -> pd.Series:
        """Their cluster-robust standard errors."""
        return self.estimates["se"]

    def conf_int(self) -> pd.DataFrame:
        """``lower``/``upper`` at level ``1 - alpha`` (normal reference)."""
        return self.estimates[["ci_low", "ci_high"]].set_axis(["lower", "upper"], axis=1)

    def to_numbers(self) -> dict[str, float]:
        """``cace.<model>.<estimate>.<field>`` and ``cace.<model>.take_up_<arm>`` keys."""
        out: dict[str, float] = {}
        for name, row in self.estimates.iterrows():
            for f in ("coef", "se", "p"):
                out[f"cace.{self.model}.{name}.{f}"] = float(row[f])
        for arm, row in self.take_up.iterrows():
            out[f"cace.{self.model}.take_up_{arm}"] = float(row["share"])
        return out

    def summary(self) -> str:
        """The estimates, the take-up by arm and the assumptions, as text."""
        lines = [
            f"CACE of {self.model!r} (outcome {self.outcome!r}): {self.nobs:,} rows, {self.n_parents:,} parents, "
            f"{self.n_clusters} clusters ({self.cluster}); risk differences, cluster-robust SE (CR0 x G/(G-1))",
            self.estimates.to_string(float_format=lambda v: f"{v:.4f}"),
            "take-up by arm:",
            self.take_up.to_string(float_format=lambda v: f"{v:.4f}"),
            "assumptions:",
            *(f"  - {a}" for a in self.assumptions),
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _estimate_rows(coef: np.ndarray, se: np.ndarray, alpha: float) -> pd.DataFrame:
    z = coef / se
    crit = stats.norm.isf(alpha / 2)
    return pd.DataFrame(
        {
            "coef": coef,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": coef - crit * se,
            "ci_high": coef + crit * se,
        },
        index=pd.Index(["itt", "first_stage", "cace_2sls", "cace_wald"]),
    )


def _ols_influence(z: np.ndarray, y: np.ndarray, codes: np.ndarray, n_clusters: int) -> tuple[float, np.ndarray]:
    """The coefficient of ``z`` and its clusters' influence values ``sum_{i in g} z_i e_i / z'z``.

    ``z`` and ``y`` have the other regressors partialled out (Frisch-Waugh-Lovell), so this is the
    coefficient and the influence of the full regression's ``(X'X)^-1 sum_{i in g} x_i e_i`` for ``z``.
    """
    zz = float(z @ z)
    b = float(z @ y) / zz
    return b, np.bincount(codes, weights=z * (y - b * z), minlength=n_clusters) / zz


def cace(panel: Panel, model: str | None = None, *, alpha: float = 0.05) -> CACEResults:
    """The complier average causal effect of one plan model: ITT, take-up by arm, 2SLS and Wald CACE.

    Parameters
    ----------
    panel : Panel
        The analysed panel; its plan names ``columns.take_up``.
    model : str, optional
        A plan model with a pooled treatment (its outcome, covariates, time adjustment and cluster);
        default: the first of ``[compliance] models`` (or of the plan's pooled models).
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    CACEResults
        Estimates in probability units, the take-up table and the assumptions.

    Notes
    -----
    See the module docstring for the formulas. Stata: ``xtivreg y x i.month (d = z), fe vce(cluster office)``;
    R: ``AER::ivreg(y_dm ~ d_dm + x_dm | z_dm + x_dm)`` on parent-demeaned data with
    ``sandwich::vcovCL(fit, cluster = ~office, type = "HC0", cadjust = TRUE)``.
    """
    from linearmodels.iv import IV2SLS

    from famtrial.trial._args import _need_panel
    from famtrial.trial.effects import fe_design

    panel = _need_panel(panel, "cace")
    if not (isinstance(alpha, float) and 0 < alpha < 1):
        raise ValueError(f"alpha={alpha!r} must be a number between 0 and 1")
    plan, cols = panel.plan, panel.columns
    spec = model_specs(plan, [model] if model is not None else plan.compliance.models, "compliance")[0]
    takes = take_up(panel)
    frame, regressors = fe_design(panel, spec.outcome, split=False, trend=spec.time, covariates=spec.covariates)
    z_name = plan.term("pooled")
    ycol = plan.outcome(spec.outcome).column
    exog = frame[regressors[1:]].astype(float)
    if spec.time == "months":
        dummies = pd.get_dummies(frame[cols.month].astype(str), prefix="month", drop_first=True, dtype=float)
        exog = pd.concat([exog, dummies], axis=1)
    z = frame[z_name].astype(float)
    d = (z * takes).rename("took_up")
    parents = pd.factorize(frame[cols.parent])[0]
    dm = within(pd.concat([frame[ycol].astype(float), d, z, exog], axis=1), parents)
    keep = [c for c in exog.columns if float(np.abs(dm[c]).max()) > 1e-12]  # no within variation: absorbed
    cluster = cluster_column(panel, spec)
    codes, labels = pd.factorize(panel.data[cluster])
    g = len(labels)
    if g < 2:
        raise PanelError(
            f"the CACE's cluster-robust covariance needs 2 or more clusters of {cluster!r}; the panel has {g}"
        )
    c = g / (g - 1)
    # Frisch-Waugh-Lovell: partial the exogenous regressors out of y, d and z first (least squares), so
    # linearmodels fits one endogenous regressor and one instrument (the same estimate, residuals and
    # cluster sandwich for beta as with the regressors in; much faster on a long panel)
    part = dm[[ycol, "took_up", z_name]]
    if keep:
        w = dm[keep].to_numpy()
        part = part - w @ np.linalg.lstsq(w, part.to_numpy(), rcond=None)[0]
    fit = IV2SLS(part[ycol], None, part["took_up"], part[z_name]).fit(
        cov_type="clustered", clusters=pd.Series(codes, index=dm.index), debiased=False
    )
    beta, se_iv = float(fit.params["took_up"]), float(np.sqrt(c * fit.cov.loc["took_up", "took_up"]))
    zt = part[z_name].to_numpy()
    itt, if_y = _ols_influence(zt, part[ycol].to_numpy(), codes, g)
    first, if_d = _ols_influence(zt, part["took_up"].to_numpy(), codes, g)
    per = pd.DataFrame({"arm": panel.data[cols.arm].to_numpy(), "t": takes.to_numpy(), "g": codes})
    per = per.groupby(panel.data[cols.parent].to_numpy(), sort=False).first()
    shares, if_p = {}, {}
    rows = []
    for arm, name in ((1, "offered"), (0, "control")):
        sub = per[per["arm"] == arm]
        n = len(sub)
        p = float(sub["t"].mean()) if n else float("nan")
        shares[name] = p
        if_p[name] = np.bincount(sub["g"].to_numpy(), weights=(sub["t"].to_numpy() - p) / max(n, 1), minlength=g)
        rows.append({"arm": name, "parents": n, "takers": int(sub["t"].sum()), "share": p})
    dp = shares["offered"] - shares["control"]
    if not dp > 0:
        raise PanelError(
            f"no offered {plan.unit('family', 1)} took the offer up (column {cols.take_up!r}): the CACE is not identified"
        )
    if_wald = if_y / dp - itt * (if_p["offered"] - if_p["control"]) / dp**2
    coef = np.array([itt, first, beta, itt / dp])
    se = np.sqrt(c * np.array([np.sum(if_y**2), np.sum(if_d**2), se_iv**2 / c, np.sum(if_wald**2)]))
    return CACEResults(
        model=spec.name,
        outcome=spec.outcome,
        estimates=_estimate_rows(coef, se, alpha),
        take_up=pd.DataFrame(rows).set_index("arm"),
        nobs=len(frame),
        n_parents=len(per),
        n_clusters=g,
        cluster=cluster,
        alpha=alpha,
        iv=fit,
    )


def cace_models(panel: Panel, models: Sequence[str] | None = None, *, alpha: float = 0.05) -> dict[str, CACEResults]:
    """:func:`cace` for each model of ``[compliance] models`` (default: every pooled model of the plan).

    Parameters
    ----------
    panel : Panel
        The analysed panel (its plan names ``columns.take_up``).
    models : sequence of str, optional
        Plan model names; default: the plan's ``[compliance] models``.
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    dict
        Model name -> :class:`CACEResults`.
    """
    names = panel.plan.compliance.models if models is None else tuple(models)
    return {spec.name: cace(panel, spec.name, alpha=alpha) for spec in model_specs(panel.plan, names, "compliance")}


def cace_table(results: Sequence[CACEResults], *, digits: int = 2, title: str = "") -> Table:
    """The CACE table: per model the ITT, the take-up by arm, the 2SLS and the Wald CACE (percentage points).

    Parameters
    ----------
    results : sequence of CACEResults
        One per model.
    digits : int
        Decimals of the display.
    title : str
        The caption (default: a description).

    Returns
    -------
    Table
        ``frame``: one row per model and estimate (probability units); ``display``: ``coef [CI]`` in
        percentage points and the take-up shares in percent. The notes state the assumptions.
    """
    rows, shown = [], []
    for r in results:
        for name, est in r.estimates.iterrows():
            rows.append({"model": r.model, "outcome": r.outcome, "estimate": name, **est.to_dict()})
            shown.append(
                {
                    "Model": r.model,
                    "Estimate": {
                        "itt": "ITT (risk difference)",
                        "first_stage": "First stage (take-up caused by the offer)",
                        "cace_2sls": "CACE, 2SLS",
                        "cace_wald": "CACE, Wald ratio ITT / take-up",
                    }[str(name)],
                    "Percentage points [95% CI]": f"{100 * est['coef']:.{digits}f} "
                    f"[{100 * est['ci_low']:.{digits}f}, {100 * est['ci_high']:.{digits}f}]",
                    "p": f"{est['p']:.3f}",
                }
            )
        for arm, tk in r.take_up.iterrows():
            rows.append(
                {
                    "model": r.model,
                    "outcome": r.outcome,
                    "estimate": f"take_up_{arm}",
                    "coef": tk["share"],
                    "se": np.nan,
                }
            )
            shown.append(
                {
                    "Model": r.model,
                    "Estimate": f"Take-up share, {arm} arm",
                    "Percentage points [95% CI]": f"{100 * tk['share']:.{digits}f}% ({int(tk['takers'])} of {int(tk['parents'])})",
                    "p": "",
                }
            )
    notes = (
        "Linear probability model with the plan model's parent fixed effects and time adjustment; the offer "
        "instruments take-up (one-sided non-compliance). Cluster-robust SE (CR0 x G/(G-1)), normal reference. "
        "Assumptions: " + "; ".join(ASSUMPTIONS) + "."
    )
    return Table(
        frame=pd.DataFrame(rows),
        display=pd.DataFrame(shown),
        title=title or "Complier average causal effect (CACE): effect among families who accepted the offer",
        notes=notes,
    )


def monthly_cace(
    panel: Panel,
    outcome: str,
    *,
    controls: Sequence[str] | None = None,
    own_baseline: bool | None = None,
    office_effects: bool | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The monthly series' CACE column: per month from implementation, ITT and CACE risk differences.

    For each month ``m`` from the implementation month, on the parents observed in ``m``:
    ``y_im = c + pi arm_i + g' x_i(baseline) [+ office dummies] + e`` by OLS (ITT), and
    ``y_im = c + beta d_i + g' x_i(baseline) [+ office dummies] + u`` with ``d_i = arm_i takeup_i``
    instrumented by ``arm_i`` (2SLS, CACE); both cluster-robust by office (CR0 x G/(G-1)), normal
    reference. The controls default to the plan's series of ``outcome`` (its controls, own baseline
    and office effects), as the monthly logits; in the baseline month the outcome's own baseline is left out.

    Parameters
    ----------
    panel : Panel
        The analysed panel (its plan names ``columns.take_up``).
    outcome : str
        An outcome key or column.
    controls : sequence of str, optional
        Variables entered at their baseline value (default: the series').
    own_baseline, office_effects : bool, optional
        Default: the series' (own baseline True, office effects False without a series).
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    DataFrame
        ``month, n, take_up, itt, itt_se, cace, cace_se, cace_ci_low, cace_ci_high, cace_p``.

    Notes
    -----
    Stata: ``ivregress 2sls y x_base i.office (d = arm) if month == m, vce(cluster office)``; R:
    ``AER::ivreg(y ~ d + x | arm + x, subset = month == m)`` with ``sandwich::vcovCL(type = "HC0", cadjust = TRUE)``.
    """
    from linearmodels.iv import IV2SLS

    plan, cols = panel.plan, panel.columns
    key = plan.outcome(outcome).key
    series = plan.series_for(key)
    controls = list(series.controls if series else ()) if controls is None else list(controls)
    own = (series.own_baseline if series else True) if own_baseline is None else own_baseline
    office = (series.office_effects if series else False) if office_effects is None else office_effects
    y = plan.outcome(key).column
    base_cols = [plan.variable(v).column for v in controls] + ([y] if own else [])
    base_cols = list(dict.fromkeys(base_cols))
    base, _ = baseline_values(panel, base_cols)
    base = base.add_suffix("_baseline")
    takes = take_up(panel)
    data = panel.data.assign(_takeup=takes.to_numpy())
    implementation = pd.Period(plan.implementation, freq="M")
    baseline = pd.Period(plan.baseline, freq="M")
    crit = stats.norm.isf(alpha / 2)
    out = []
    for month in sorted(m for m in data[cols.month].unique() if m >= implementation):
        rows = data[data[cols.month] == month].join(base, on=cols.parent, how="inner")
        regs = [f"{c}_baseline" for c in base_cols if not (month == baseline and c == y)]
        x = rows[regs].astype(float)
        if office:
            x = pd.concat([x, pd.get_dummies(rows[cols.office], prefix="office", drop_first=True, dtype=float)], axis=1)
        x = x.loc[:, x.std() > 0].assign(const=1.0)
        arm = rows[cols.arm].astype(float).rename("arm")
        d = (arm * rows["_takeup"]).rename("took_up")
        codes, labels = pd.factorize(rows[cols.office])
        g = len(labels)
        clusters = pd.Series(codes, index=rows.index)
        itt = IV2SLS(rows[y].astype(float), pd.concat([arm, x], axis=1), None, None).fit(
            cov_type="clustered", clusters=clusters, debiased=False
        )
        iv = IV2SLS(rows[y].astype(float), x, d, arm).fit(cov_type="clustered", clusters=clusters, debiased=False)
        c = g / (g - 1)
        b, se = float(iv.params["took_up"]), float(np.sqrt(c * iv.cov.loc["took_up", "took_up"]))
        out.append(
            {
                "month": str(month),
                "n": len(rows),
                "take_up": float(rows.loc[arm == 1, "_takeup"].mean()),
                "itt": float(itt.params["arm"]),
                "itt_se": float(np.sqrt(c * itt.cov.loc["arm", "arm"])),
                "cace": b,
                "cace_se": se,
                "cace_ci_low": b - crit * se,
                "cace_ci_high": b + crit * se,
                "cace_p": float(2 * stats.norm.sf(abs(b / se))),
            }
        )
    return pd.DataFrame(out)
