r"""Take-up and entry month in simulated trials: the replica's calibration and power for the CACE.

**The replica** (:mod:`famtrial.simulation.replica`) carries no take-up: the shipped panel is the
paper's intention-to-treat data. :func:`replica_take_up` adds the two columns the analyses beyond ITT
need, from the paper's facts:

- *calibrated*: 29 offices with two family coordinators each recruited until each had 10-11 families
  who accepted, so 58 x 10.5 = 609 accepting families; the take-up share is 609 over the offered
  families of the panel (``REPLICA_ACCEPTING_FAMILIES`` / offered families; 0.42 on the shipped
  replica's 1,455 offered families). Recruitment ran from October 2016 to May 2018, so entry months
  span those 20 months.
- *assumed* (the paper does not report them): acceptance independent of the family's characteristics
  and office (a Bernoulli draw per offered family), entry months uniform over the 20 months and
  independent of take-up, and the same entry distribution in the control arm (randomisation month).

**The simulator** (:class:`famtrial.simulation.design.TrialDesign`) has a ``[compliance]`` section
(:class:`~famtrial.simulation.design.Compliance`): an offered family accepts with probability
``take_up`` and only accepting families receive the effect (an outcome's ``effect`` is then the
complier log-OR), from their entry month. :func:`cace_power` simulates such trials and reports the
power of the CACE (2SLS) and of the ITT (the LPM), each a cluster-robust z test at ``alpha``, with
Monte Carlo standard errors.

With a constant linear predictor (``intercept_sd = 0``, no trend, slopes or office effects) the complier
effect on the probability scale is known exactly: ``expit(mean + effect) - expit(mean)``
(:func:`complier_risk_difference`), which the 2SLS CACE estimates without bias in large samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from famtrial.errors import DesignError
from famtrial.plan.spec import Plan
from famtrial.simulation.design import TrialDesign, simulate_panel

__all__ = [
    "REPLICA_ACCEPTING_FAMILIES",
    "REPLICA_RECRUITMENT",
    "replica_take_up",
    "design_plan",
    "complier_risk_difference",
    "CACEPower",
    "cace_power",
]

#: The paper's accepting families: 29 offices x 2 coordinators x 10-11 families (midpoint 10.5).
REPLICA_ACCEPTING_FAMILIES = 29 * 2 * 10.5
#: The paper's recruitment months (first, last): families entered over these 20 months.
REPLICA_RECRUITMENT = ("2016-10", "2018-05")


def replica_take_up(
    data: pd.DataFrame,
    plan: Plan | None = None,
    *,
    seed: int = 26,
    take_up_column: str = "accepted",
    entry_column: str = "entry_month",
) -> tuple[pd.DataFrame, Plan]:
    """The replica with a take-up and an entry-month column calibrated to the paper, and its plan.

    Parameters
    ----------
    data : DataFrame
        The replica's long panel (``famtrial.load_plan().resolve_data()`` read with pandas) or any panel
        of that plan.
    plan : Plan, optional
        Its plan (default: the shipped family-coordinator plan).
    seed : int
        Seed of the take-up and entry draws.
    take_up_column, entry_column : str
        Names of the added columns.

    Returns
    -------
    (DataFrame, Plan)
        The data with ``take_up_column`` (0/1, controls 0) and ``entry_column`` (``YYYY-MM``), and the plan
        with ``columns.take_up`` and ``columns.entry`` set.

    Notes
    -----
    Calibrated: the take-up share ``609 / offered families`` (capped at 1) and the 20 recruitment
    months; assumed: independent Bernoulli acceptance and uniform entry months (module docstring).
    """
    from famtrial.plan.spec import load_plan

    plan = load_plan(plan)
    roles, arms = plan.roles, plan.arms
    for column in (take_up_column, entry_column):
        if column in data.columns:
            raise DesignError(
                f"data already has a column {column!r}: choose another name (take_up_column=, entry_column=)"
            )
    families = data.drop_duplicates(roles.family)[[roles.family, roles.arm]]
    offered = (families[roles.arm] == arms.offered).to_numpy()
    if not offered.any():
        raise DesignError(f"no family of the data is in the offered arm ({roles.arm} = {arms.offered!r})")
    share = min(1.0, REPLICA_ACCEPTING_FAMILIES / offered.sum())
    rng = np.random.default_rng(seed)
    accepted = (rng.random(len(families)) < share) & offered
    months = pd.period_range(*REPLICA_RECRUITMENT, freq="M").astype(str)
    entry = months.to_numpy()[rng.integers(0, len(months), len(families))]
    by_family = pd.DataFrame(
        {take_up_column: accepted.astype(np.int8), entry_column: entry}, index=families[roles.family]
    )
    out = data.join(by_family, on=roles.family)
    raw = plan.to_dict()
    raw["columns"].update(take_up=take_up_column, entry=entry_column)
    return out, Plan.from_dict(raw, source=plan.source)


def design_plan(design: TrialDesign, *, outcome: str | None = None, time: str = "linear") -> Plan:
    """The analysis plan of a simulated trial: its roles, take-up and entry columns, one pooled FE model.

    Parameters
    ----------
    design : TrialDesign
        A design with ``[compliance]``.
    outcome : str, optional
        The model's outcome (default: the design's first).
    time : {"linear", "months", "none"}
        The model's time adjustment.

    Returns
    -------
    Plan
        Every office analysed (no exclusion rule); the model ``primary`` clustered by office with the
        time-varying covariates. With ``entry_months > 1`` the entry column is the plan's ``columns.start``
        (the offer switches on in each family's entry month, as the simulator's effect does); with one
        entry month it is ``columns.entry``.
    """
    if design.compliance is None:
        raise DesignError("the design has no [compliance] section: give take_up (and entry_months) to simulate take-up")
    cols, comp = design.columns, design.compliance
    outcome = outcome or design.outcomes[0].name
    design.outcome(outcome)
    raw: dict[str, Any] = {
        "trial": {"name": "simulated trial"},
        "columns": {
            "parent": cols.parent,
            "family": cols.family,
            "office": cols.office,
            "month": cols.month,
            "arm": cols.arm,
            "take_up": comp.take_up_column,
            # staggered entry: the offer (the instrument) switches on in each family's entry month, so the
            # entry column is the plan's per-parent start month; with one entry month, the entry role
            **({"start": comp.entry_column} if comp.entry_months > 1 else {"entry": comp.entry_column}),
        },
        "arms": {"offered": cols.arm_offered, "control": cols.arm_control},
        "months": {"implementation": design.implementation, "baseline": design.baseline},
        "sample": {"rule": "none"},
        "outcomes": {o.name: {} for o in design.outcomes},
        "covariates": {c.name: {"time": "varying" if c.time_varying else "invariant"} for c in design.covariates},
        "models": {"primary": {"outcome": outcome, "covariates": list(design.time_varying), "time": time}},
    }
    return Plan.from_dict(raw, source="<simulated design>")


def complier_risk_difference(design: TrialDesign, outcome: str | None = None) -> float:
    """The generating complier effect on the probability scale, when the design makes it one number.

    ``expit(intercept_mean + effect) - expit(intercept_mean)``: exact when every row has the same
    linear predictor (``intercept_sd = 0``, no trend, covariate slopes, office intercepts or office
    effects, no variants); otherwise a :class:`DesignError` (the complier effect then varies by row).

    Parameters
    ----------
    design : TrialDesign
        The design.
    outcome : str, optional
        Default: the design's first outcome.

    Returns
    -------
    float
        The complier risk difference.
    """
    o = design.outcome(outcome or design.outcomes[0].name)
    varying = {
        "intercept_sd": o.intercept_sd,
        "trend": o.trend,
        "office_effect_sd": o.office_effect_sd,
        "office_intercept_sd": o.office_intercept_sd,
        "covariate slopes": sum(abs(b) for _, b in o.covariates),
        "variants": len(design.variants),
    }
    nonzero = [k for k, v in varying.items() if v]
    if nonzero:
        raise DesignError(
            f"outcome {o.name!r}: the complier effect varies by row ({', '.join(nonzero)} not zero); "
            "a single generating risk difference needs a constant linear predictor"
        )
    return float(expit(o.intercept_mean + o.effect("")) - expit(o.intercept_mean))


@dataclass(frozen=True)
class CACEPower:
    """Power for the CACE and the ITT from simulated trials (:func:`cace_power`).

    Attributes
    ----------
    sims : DataFrame
        One row per simulated trial: ``seed``, ``itt``, ``itt_se``, ``take_up``, ``cace``, ``cace_se``, ``cace_wald``.
    alpha : float
        The tests' level.
    power : DataFrame
        Rows ``itt`` and ``cace``: ``power`` (share of trials with ``|z| > z_{1-alpha/2}``), ``mc_se``
        (its Monte Carlo SE), ``mean`` (mean estimate), ``mean_mc_se`` (its Monte Carlo SE).
    """

    sims: pd.DataFrame
    alpha: float
    power: pd.DataFrame

    def summary(self) -> str:
        """The power table as text."""
        table: str = self.power.to_string(float_format=lambda v: f"{v:.4f}")
        return (
            f"power from {len(self.sims)} simulated trials (alpha = {self.alpha:g}; cluster-robust z tests):\n{table}"
        )


def cace_power(
    design: TrialDesign, *, n_sims: int = 200, alpha: float = 0.05, seed: int = 0, outcome: str | None = None
) -> CACEPower:
    """Simulate ``n_sims`` trials of ``design`` and estimate the power of the CACE and the ITT.

    Parameters
    ----------
    design : TrialDesign
        A design with ``[compliance]`` (take-up share and entry months).
    n_sims : int
        Simulated trials (seeds ``seed``, ``seed + 1``, ...).
    alpha : float
        Two-sided level.
    seed : int
        The first trial's seed.
    outcome : str, optional
        Default: the design's first outcome.

    Returns
    -------
    CACEPower
        The per-trial estimates and the power with Monte Carlo SEs ``sqrt(p (1 - p) / n_sims)``.

    Notes
    -----
    Each trial: :func:`~famtrial.simulation.design.simulate_panel`, ``load_panel`` with
    :func:`design_plan`, and :func:`famtrial.trial.compliance.cace` (2SLS on the LPM with parent effects
    and a linear trend, clustered by office). Stata: ``simulate`` around ``xtivreg``; R: a loop around
    ``estimatr::iv_robust``.
    """
    from scipy import stats

    from famtrial.data.load import load_panel
    from famtrial.trial.compliance import cace

    if not isinstance(n_sims, int) or isinstance(n_sims, bool) or n_sims < 2:
        raise DesignError(f"n_sims={n_sims!r} must be an integer >= 2")
    if not 0 < alpha < 1:
        raise DesignError(f"alpha={alpha!r} must lie in (0, 1)")
    plan = design_plan(design, outcome=outcome)
    rows = []
    for s in range(seed, seed + n_sims):
        panel = load_panel(simulate_panel(design, seed=s), plan)
        r = cace(panel, "primary")
        e = r.estimates
        rows.append(
            {
                "seed": s,
                "itt": e.loc["itt", "coef"],
                "itt_se": e.loc["itt", "se"],
                "take_up": r.take_up.loc["offered", "share"],
                "cace": e.loc["cace_2sls", "coef"],
                "cace_se": e.loc["cace_2sls", "se"],
                "cace_wald": e.loc["cace_wald", "coef"],
            }
        )
    sims = pd.DataFrame(rows)
    crit = stats.norm.isf(alpha / 2)
    out = {}
    for name in ("itt", "cace"):
        reject = (np.abs(sims[name] / sims[f"{name}_se"]) > crit).to_numpy()
        p = float(reject.mean())
        out[name] = {
            "power": p,
            "mc_se": float(np.sqrt(p * (1 - p) / n_sims)),
            "mean": float(sims[name].mean()),
            "mean_mc_se": float(sims[name].std(ddof=1) / np.sqrt(n_sims)),
        }
    return CACEPower(sims=sims, alpha=alpha, power=pd.DataFrame(out).T)
