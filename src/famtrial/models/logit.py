"""Maximum-likelihood logit with an intercept and Stata's cluster-robust covariance.

``P(y_i = 1) = logistic(c + x_i' b + offset_i)``. Stata: ``logit y x, vce(cluster c)``
(factor G/(G-1)); R: ``glm(y ~ x, family = binomial)`` with ``sandwich::vcovCL(fit, cluster = ~c,
type = "HC0")``. statsmodels' ``cov_type="cluster"`` additionally multiplies by (N-1)/(N-K)
(``adjustment="statsmodels"``, R ``vcovCL(type = "HC1")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from famtrial.models.base import DropRecord, ModelResults
from famtrial.models.covariance import Adjustment, model_based, sandwich
from famtrial.models.design import independent_columns
from famtrial.models.optim import ConvergenceError, newton

__all__ = ["Logit", "LogitResults", "logit", "SeparationError"]

CovType = Literal["nonrobust", "robust", "cluster"]
_COV_TYPES = ("nonrobust", "robust", "cluster")


class SeparationError(ValueError):
    """The outcome is perfectly predicted by a regressor: the ML estimate does not exist."""


@dataclass(frozen=True, kw_only=True)
class LogitResults(ModelResults):
    """Results of :class:`Logit`; ``llnull`` is the intercept-only log-likelihood (Stata's ll_0)."""

    model: Logit


class Logit:
    """Binary logit by Newton's method with analytic score and Hessian.

    Log-likelihood ``sum_i [y_i eta_i - log(1 + exp(eta_i))]``; score ``x_i (y_i - p_i)``;
    Hessian ``-sum_i p_i (1 - p_i) x_i x_i'``.

    Collinear regressors are omitted in order (recorded). Rows whose outcome a dummy regressor
    predicts perfectly are dropped with that dummy, as Stata's ``logit`` does ("x != 0 predicts
    failure perfectly"); separation by any other regressor raises :class:`SeparationError`.
    """

    def __init__(self, endog, exog, *, offset=None, names: Sequence[str] | None = None, add_constant: bool = True):
        y = np.asarray(endog, dtype=float).ravel()
        x = np.asarray(exog, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if names is None:
            names = [str(c) for c in exog.columns] if isinstance(exog, pd.DataFrame) else [f"x{j + 1}" for j in range(x.shape[1])]
        names = list(names)
        if len(names) != x.shape[1] or len(y) != x.shape[0]:
            raise ValueError("endog, exog and names disagree in size")
        for j, name in enumerate(["outcome", *names]):
            col = y if j == 0 else x[:, j - 1]
            if not np.isfinite(col).all():
                raise ValueError(f"column {name!r} has {int((~np.isfinite(col)).sum()):,} missing or infinite values; "
                                 "drop or impute those rows first")
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError(f"the outcome must be 0/1; {int((~np.isin(y, (0.0, 1.0))).sum()):,} rows have other values")
        off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float).ravel()
        self.dropped: list[DropRecord] = []
        keep_rows = np.ones(len(y), dtype=bool)
        # perfect prediction by a dummy: drop the dummy and the rows it predicts (Stata's logit)
        for j, name in enumerate(names):
            col = x[:, j]
            if np.isin(col, (0.0, 1.0)).all() and col.any():
                on = (col == 1) & keep_rows
                if on.any() and (np.all(y[on] == 0) or np.all(y[on] == 1)):
                    outcome = "failure" if np.all(y[on] == 0) else "success"
                    self.dropped.append(DropRecord("rows", int(on.sum()), f"{name} != 0 predicts {outcome} perfectly; "
                                                   f"{name} omitted with its rows", (name,)))
                    keep_rows &= ~on
        y, x, off = y[keep_rows], x[keep_rows], off[keep_rows]
        self._row_index = np.flatnonzero(keep_rows)
        if add_constant:
            x = np.column_stack([np.ones(len(y)), x])
            names = ["Intercept", *names]
        kept = independent_columns(x)
        for j in sorted(set(range(x.shape[1])) - set(kept)):
            self.dropped.append(DropRecord("variable", 0, "collinear with earlier regressors (or constant)", (names[j],)))
        self._x = np.ascontiguousarray(x[:, kept])
        self.exog_names = [names[j] for j in kept]
        self._y, self._offset = y, off
        self._has_constant = add_constant
        self.nobs_input = len(keep_rows)
        self.nobs = len(y)
        if y.min() == y.max():
            raise SeparationError(f"the outcome is {int(y[0])} in all {len(y):,} rows: nothing to estimate")

    @classmethod
    def from_frame(cls, data: pd.DataFrame, outcome: str, covariates: Sequence[str], *, offset=None,
                   add_constant: bool = True):
        covariates = list(covariates)
        missing = [c for c in (outcome, *covariates) if c not in data.columns]
        if missing:
            raise ValueError(f"columns not in the data: {missing}")
        off = data[offset] if isinstance(offset, str) else offset
        return cls(data[outcome], data[covariates], offset=off, names=covariates, add_constant=add_constant)

    def loglike(self, params) -> float:
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        return float(np.sum(self._y * eta + log_expit(-eta)))

    def derivatives(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        p = expit(eta)
        ll = float(np.sum(self._y * eta + log_expit(-eta)))
        grad = self._x.T @ (self._y - p)
        hess = -(self._x * (p * (1 - p))[:, None]).T @ self._x
        return ll, grad, hess

    def score_obs(self, params) -> np.ndarray:
        """Per-observation scores ``x_i (y_i - p_i)``, ``(nobs, k)``."""
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        return self._x * (self._y - expit(eta))[:, None]

    def _check_separation(self, params: np.ndarray, converged: bool) -> None:
        eta = self._x @ params + self._offset
        fitted = expit(eta)
        perfect = ((fitted > 1 - 1e-10) & (self._y == 1)) | ((fitted < 1e-10) & (self._y == 0))
        if not converged or np.abs(params).max() > 30 or perfect.mean() > 0.5:
            culprit = [n for n, b in zip(self.exog_names, params) if abs(b) > 15] or self.exog_names
            raise SeparationError(
                f"quasi-complete separation: {int(perfect.sum()):,} of {self.nobs:,} rows are predicted perfectly "
                f"and the estimates diverge (regressors {culprit}); the ML estimate does not exist. Drop or "
                "coarsen those regressors, or use a penalized (Firth) logit")

    def fit(self, cov_type: CovType = "nonrobust", clusters=None, *, adjustment: Adjustment = "stata",
            t_reference: bool = False, start=None, outcome: str = "y", maxiter: int = 100) -> LogitResults:
        """Newton-Raphson ML; ``cov_type="cluster"`` with ``clusters`` (per input row), or ``"robust"``."""
        if cov_type not in _COV_TYPES:
            raise ValueError(f"cov_type={cov_type!r} is not one of {_COV_TYPES}")
        if (cov_type == "cluster") != (clusters is not None):
            raise ValueError("clusters= goes with cov_type='cluster', and only with it")
        k = self._x.shape[1]
        if start is None:
            start = np.zeros(k)
            if self._has_constant:
                ybar = self._y.mean()
                start[0] = np.log(ybar / (1 - ybar))
        try:
            opt = newton(self.derivatives, np.asarray(start, dtype=float), maxiter=maxiter)
        except (np.linalg.LinAlgError, ConvergenceError) as err:  # diverging estimates: a singular Hessian
            raise SeparationError(f"quasi-complete separation: Newton iterations diverge ({err}); the ML estimate "
                                  "does not exist. Drop or coarsen the regressors that predict the outcome "
                                  "perfectly, or use a penalized (Firth) logit") from err
        self._check_separation(opt.x, opt.converged)
        bread = np.linalg.inv(-opt.hessian)
        info: tuple = ()
        if cov_type == "nonrobust":
            cov = model_based(bread)
        else:
            labels = None
            if cov_type == "cluster":
                c = np.asarray(clusters)
                if len(c) != self.nobs_input:
                    raise ValueError(f"clusters has {len(c)} rows; the data have {self.nobs_input}")
                if pd.isna(c).any():
                    raise ValueError(f"the cluster column has {int(pd.isna(c).sum()):,} missing labels")
                labels = c[self._row_index]
            # labels None: each row its own cluster, factor N/(N-1) as Stata's vce(robust)
            cov = sandwich(bread, self.score_obs(opt.x), labels, adjustment=adjustment, nobs=self.nobs,
                           t_reference=t_reference)
            info = (("Clusters", f"{cov.n_clusters:,}"),) if cov_type == "cluster" else ()
        return LogitResults(
            model_name="Logit (maximum likelihood)", outcome=outcome,
            params=pd.Series(opt.x, index=self.exog_names, name="params"), covariance=cov, nobs=self.nobs,
            llf=opt.llf, llnull=self._llnull(), converged=opt.converged, iterations=opt.iterations,
            dropped=tuple(self.dropped), info=info, model=self,
        )

    def _llnull(self) -> float:
        """Intercept-only log-likelihood (with the offset), as Stata's ll_0."""
        if not self._has_constant:
            return self.loglike(np.zeros(self._x.shape[1]))
        null = Logit(self._y, np.zeros((self.nobs, 0)), offset=self._offset)
        return null.fit().llf if np.any(self._offset) else float(
            np.sum(self._y * np.log(self._y.mean()) + (1 - self._y) * np.log(1 - self._y.mean())))


def logit(data: pd.DataFrame, outcome: str, covariates: Sequence[str], cluster: str | None = None, *,
          adjustment: Adjustment = "stata", t_reference: bool = False, fixed_effects: str | None = None,
          offset=None) -> LogitResults:
    """Fit a logit from a DataFrame, optionally clustered and with dummy fixed effects.

    ``fixed_effects="office"`` adds one dummy per office but the first (Stata ``i.office``);
    offices whose outcome is all 0 or all 1 are dropped with their rows (recorded), as Stata does.

    Stata: ``logit outcome covariates [i.fe], vce(cluster cluster) or``.
    R: ``glm(outcome ~ covariates, binomial)`` + ``sandwich::vcovCL(fit, cluster = ~cluster, type = "HC0")``.
    """
    covariates = list(covariates)
    frame = data
    if fixed_effects is not None:
        if fixed_effects not in data.columns:
            raise ValueError(f"fixed_effects column {fixed_effects!r} is not in the data")
        dummies = pd.get_dummies(data[fixed_effects], prefix=fixed_effects, dtype=float).iloc[:, 1:]
        frame = pd.concat([data, dummies], axis=1)
        covariates = [*covariates, *dummies.columns]
    model = Logit.from_frame(frame, outcome, covariates, offset=offset)
    if cluster is None:
        return model.fit(outcome=outcome)
    if cluster not in data.columns:
        raise ValueError(f"cluster column {cluster!r} is not in the data")
    return model.fit("cluster", data[cluster], adjustment=adjustment, t_reference=t_reference, outcome=outcome)
