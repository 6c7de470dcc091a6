"""Leave-one-out refits of a fitted logit or conditional logit: the CRV3 and HC3 jackknife covariances.

``fit.vcov({"CRV3": "office"})`` refits *the same model* (same regressors, weights and offset; the conditional
logit's time effects as dense dummies, which give the same estimates) once per cluster without that cluster's rows,
starting from the full-sample estimate, and returns :func:`famtrial.models.covariance.jackknife` of the G
replicates: Stata's ``logit ..., vce(jackknife, cluster(office))`` and ``clogit ..., group(parent)
vce(jackknife, cluster(office))`` (``center="estimate"``: the ``mse`` option). ``"HC3"`` is the same with each
row of a logit (each group of a conditional logit, Stata's unit of ``clogit, vce(jackknife)``) its own unit.

This is the exact jackknife, not a one-step approximation: R's ``sandwich::vcovCL(fit, type = "HC3")`` for a GLM
replaces each refit by one Newton step from the full estimate (and its cluster HC3 adjusts the working residuals),
so it differs from this in finite samples; pyfixest 0.60's ``CRV3`` for ``feglm`` refits Poisson models and is not
the logit's jackknife. Cost: G refits of a few Newton iterations each (HC3: one per row or group).

A replicate that cannot estimate every coefficient of the full model (leaving a cluster out removes all the
variation of a regressor, e.g. a fixed effect of the cluster variable itself, or makes a regressor separate the
outcome) raises :class:`~famtrial.errors.PostEstimationError` naming the unit and the coefficients: the
jackknife is not defined there, as Stata's ``jackknife`` reports missing replicates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from famtrial._options import JackknifeCenter, WeightType
from famtrial.errors import FamtrialError, PostEstimationError
from famtrial.models.covariance import Covariance, jackknife

__all__ = ["replicates", "jackknife_covariance"]


def _refit(model: Any, keep: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The same model's estimate on the rows ``keep`` (a mask over the rows the fit used), from ``start``."""
    names = list(model.exog_names)
    x, y, off = model.exog[keep], model.endog[keep], model.offset[keep]
    w = None if model.weights is None else model.weights[keep]
    weight_type: WeightType = model.weight_type or "fweight"
    # the same class as the fit's (no import of the estimators: they reach this module through vcov=)
    if hasattr(model, "score_groups"):
        sub: Any = type(model)(y, x, model.groups[keep], offset=off, names=names, weights=w, weight_type=weight_type)
    else:
        sub = type(model)(y, x, offset=off, names=names, add_constant=False, weights=w, weight_type=weight_type)
    if list(sub.exog_names) != names:
        lost = [n for n in names if n not in sub.exog_names]
        raise ValueError(f"the refit cannot estimate {lost}")
    cov = "robust" if weight_type == "pweight" and w is not None else "nonrobust"
    params: np.ndarray = sub.fit(cov, start=start).params.to_numpy()
    return params


def replicates(results: Any, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The leave-one-unit-out estimates: ``(G, k)`` rows in the order of the unique ``units``, and those units.

    Parameters
    ----------
    results : ModelResults
        An in-memory logit or conditional-logit fit (it keeps its model).
    units : ndarray
        One unit label per row the fit used (aligned with ``results.model.endog``).
    """
    model = results.model
    b = results.params.to_numpy()
    codes, uniques = pd.factorize(np.asarray(units), sort=True)
    out = np.empty((len(uniques), len(b)))
    for g, label in enumerate(uniques):
        keep = codes != g
        try:
            out[g] = _refit(model, keep, b)
        except (FamtrialError, ValueError, np.linalg.LinAlgError) as err:
            raise PostEstimationError(
                f"jackknife: leaving out unit {label!r} ({int((~keep).sum()):,} rows), {err}. Every replicate "
                "must estimate every coefficient: drop fixed effects of the cluster variable (or of a variable "
                "nested in it), or use {'CRV1': cluster}"
            ) from None
    return out, np.asarray(uniques)


def jackknife_covariance(
    results: Any,
    units: np.ndarray,
    *,
    clustered: bool,
    center: JackknifeCenter = "mean",
    t_reference: bool = False,
) -> Covariance:
    """:func:`famtrial.models.covariance.jackknife` of :func:`replicates`.

    Parameters
    ----------
    results : ModelResults
        The fit.
    units : ndarray
        One unit (cluster, row or group) label per row the fit used.
    clustered : bool
        Units are clusters (CRV3) rather than rows or groups (HC3).
    center : {"mean", "estimate"}
        The replicates' mean (Stata's default) or the full-sample estimate (Stata's ``mse``).
    t_reference : bool
        Record ``df = G - 1``.
    """
    model = results.model
    if model.weights is not None and model.weight_type == "fweight" and not clustered:
        raise PostEstimationError(
            "vcov='HC3' with fweights: a row stands for several observations, so leaving one row out is not the "
            "leave-one-out jackknife; expand the data or use {'CRV3': cluster}"
        )
    reps, _ = replicates(results, units)
    return jackknife(reps, results.params.to_numpy(), center=center, clustered=clustered, t_reference=t_reference)
