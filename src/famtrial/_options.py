"""Every option famtrial accepts by name, declared once as a ``Literal`` type, and the one check of a value.

A function or plan key that takes one of these options annotates it with the type below and checks the
value with :func:`check_choice`, whose message names the argument, the value and every allowed choice;
the allowed values are read from the type (``typing.get_args``), so a type and its check cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, get_args

import numpy as np

from famtrial.errors import ModelInputError

__all__ = [
    "check_choice",
    "check_bool",
    "check_names",
    "TimeAdjustment",
    "TreatmentKind",
    "ClusterRole",
    "Unit",
    "Role",
    "Rule",
    "FigureFormat",
    "BootstrapWeights",
    "Reference",
    "Missing",
    "Engine",
    "TimeVariation",
    "MonthlyFixedEffects",
    "CovType",
    "Adjustment",
    "WeightType",
    "VcovName",
    "JackknifeCenter",
    "Comparison",
    "PredictScale",
    "Statistic",
    "RandomizationKind",
    "Executor",
    "MonthFormat",
    "Randomize",
    "CovariateKind",
    "PowerTest",
    "PowerAnalysis",
    "PowerEstimand",
]

# -- the plan and the trial layer -------------------------------------------------------------------
#: A fixed-effects model's time adjustment: a linear trend, month fixed effects, or none.
TimeAdjustment = Literal["linear", "months", "none"]
#: The treatment as one pooled indicator, one per variant, or one per month (an event study: dynamic effects).
TreatmentKind = Literal["pooled", "variants", "dynamic"]
#: The cluster of a plan model's covariance (a role of the plan), or none.
ClusterRole = Literal["office", "family", "parent", "none"]
#: The unit the exclusion rule and power count.
Unit = Literal["family", "parent"]
#: An identifier role of the plan.
Role = Literal["parent", "family", "office"]
#: The office exclusion rule.
Rule = Literal["control_share", "none"]
#: Figure file formats.
FigureFormat = Literal["png", "pdf", "svg"]
#: Wild (score) bootstrap weights: Rademacher, Webb's six-point, Mammen's two-point.
BootstrapWeights = Literal["rademacher", "webb", "mammen"]
#: The reference distribution of a cluster-robust Wald p-value and interval: normal (chi2 for a joint
#: test), or t(G-1) (F(q, G-1)) with G clusters.
Reference = Literal["normal", "t"]
#: What loading does with a row missing a required value.
Missing = Literal["error", "drop"]
#: Where a panel lives: in memory, or partitioned on Dask.
Engine = Literal["pandas", "dask"]
#: Whether a covariate varies within a person over months.
TimeVariation = Literal["varying", "invariant"]
#: A monthly series' fixed effects.
MonthlyFixedEffects = Literal["office", "none"]

# -- models and inference --------------------------------------------------------------------------------
#: A fitted covariance: model-based, heteroskedasticity-robust, or cluster-robust.
CovType = Literal["nonrobust", "robust", "cluster"]
#: The finite-sample factor of a robust covariance.
Adjustment = Literal["stata", "statsmodels", "none"]
#: Stata's weight types the estimators accept.
WeightType = Literal["fweight", "pweight"]
#: The formula front ends' named covariances (``vcov=``), besides a ``{"CRV1": column}`` mapping.
VcovName = Literal["iid", "nonrobust", "hetero", "robust", "HC1", "HC3"]
#: The centring of a jackknife covariance (CRV3, HC3): the replicates' mean (Stata's default) or the estimate (``mse``).
JackknifeCenter = Literal["mean", "estimate"]
#: How margins compares average probabilities at two values: their difference or their ratio.
Comparison = Literal["difference", "ratio"]
#: Predictions on the probability or the linear (log-odds) scale.
PredictScale = Literal["prob", "linear"]
#: A randomization test's statistic: the cluster-robust studentized score at the one restricted fit (no refit
#: per re-draw), the refitted model's cluster-robust Wald z, or the refitted coefficient. (0.3's ``"z"`` is
#: ``"wald"``, accepted with a deprecation warning.)
Statistic = Literal["score", "wald", "coef"]
#: The model a randomization test re-fits: the fixed-effects model or a month's logit.
RandomizationKind = Literal["fe", "monthly"]
#: Where re-draws and simulations run.
Executor = Literal["auto", "threads", "processes"]

# -- simulation --------------------------------------------------------------------------------------------
#: How a simulated panel writes its months.
MonthFormat = Literal["yyyymm", "text", "period"]
#: The simulated trial's unit of randomization.
Randomize = Literal["family", "office"]
#: A simulated covariate's process.
CovariateKind = Literal["binary", "integer", "markov", "count"]
#: The tests power reports.
PowerTest = Literal["cluster_z", "t", "score_bootstrap", "randomization"]
#: Power's analysis: the fixed-effects model or a cross-section.
PowerAnalysis = Literal["fe", "cross_section"]
#: What power plans the trial for: the intention-to-treat effect or the complier effect (CACE).
PowerEstimand = Literal["itt", "cace"]


def check_choice(value: Any, choices: Any, name: str, error: type[Exception] = ModelInputError) -> Any:
    """``value`` if it is one of the ``Literal`` type ``choices``' values, else ``error`` naming ``name``.

    Examples
    --------
    >>> check_choice("cluster", Literal["nonrobust", "robust", "cluster"], "cov_type")
    'cluster'
    """
    allowed = get_args(choices)
    if value not in allowed:
        raise error(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def check_bool(value: object, name: str) -> None:
    """A ``TypeError`` naming ``name`` unless ``value`` is True or False (numpy booleans included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={value!r} must be True or False")


def check_names(value: object, what: str) -> list[Any]:
    """A list of names; a bare string, a mapping or a non-iterable is a ``TypeError`` naming the argument."""
    if isinstance(value, str):
        raise TypeError(f"{what} must be a list of names, not the string {value!r} (write [{value!r}])")
    if isinstance(value, Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a list of names, not {type(value).__name__}")
    return list(value)
