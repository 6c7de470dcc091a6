"""Maximum-likelihood logit with an intercept and Stata's cluster-robust covariance.

``P(y_i = 1) = logistic(c + x_i' b + offset_i)``. Stata: ``logit y x, vce(cluster c)``
(factor G/(G-1)); R: ``glm(y ~ x, family = binomial)`` with ``sandwich::vcovCL(fit, cluster = ~c,
type = "HC0")`` (its default ``cadjust = TRUE`` supplies G/(G-1)). statsmodels'
``cov_type="cluster"`` additionally multiplies by (N-1)/(N-K) (``adjustment="statsmodels"``,
R ``vcovCL(type = "HC1")``). See ``docs/methods_monthly.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linprog
from scipy.special import expit, log_expit

from famtrial._options import CovType, WeightType, check_choice
from famtrial._parallel import is_dask_dataframe
from famtrial.errors import ConvergenceError, ModelInputError, SeparationError
from famtrial.models.base import DropRecord, LogitResults
from famtrial.models.checks import (
    check_columns,
    check_finite,
    check_frame,
    check_names,
    numeric_column,
    numeric_matrix,
)
from famtrial.models.covariance import Adjustment, Covariance, model_based, sandwich
from famtrial.models.design import EXTREME_ETA, check_weights, independent_columns, read_only
from famtrial.models.optim import newton

__all__ = ["Logit", "LogitResults", "logit", "SeparationError", "separating_direction"]


def separating_direction(x: np.ndarray, y: np.ndarray, tol: float = 1e-7) -> tuple[np.ndarray, int] | None:
    r"""Exact check for (quasi-)complete separation by linear programming (Konis 2007).

    Solves ``max_d sum_i s_i x_i'd`` subject to ``s_i x_i'd >= 0`` and ``-1 <= d_j <= 1`` with
    ``s_i = 2 y_i - 1`` (columns scaled to max |x| = 1). The ML estimate exists if and only if
    the optimum is 0. Returns ``None`` then, else ``(d, n_determined)``: the separating direction
    (on the scaled columns) and the number of rows it determines perfectly. R equivalent:
    ``detectseparation::detect_separation``.
    """
    x = np.asarray(x, dtype=float)
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    a = (2 * np.asarray(y, dtype=float) - 1)[:, None] * (x / scale)
    res = linprog(-a.sum(axis=0), A_ub=-a, b_ub=np.zeros(len(a)), bounds=[(-1, 1)] * a.shape[1], method="highs")
    if res.status != 0:
        return None
    margin = a @ res.x
    determined = int((margin > tol).sum())
    if determined == 0 or margin.min() < -tol:
        return None
    return res.x, determined


@dataclass(frozen=True)
class LogitDesign:
    """What :class:`Logit`'s constructor decides: the rows and regressors it fits, and why others went.

    ``y``, ``x`` (columns ``exog_names``, the constant first when ``has_constant``), ``offset`` and
    ``weights`` hold the rows used, ``used_rows`` their positions among the ``nobs_input`` input rows;
    ``dropped`` the drop records in the order they were made.
    """

    y: NDArray[np.float64]
    x: NDArray[np.float64]
    offset: NDArray[np.float64]
    weights: NDArray[np.float64] | None
    weight_type: WeightType | None
    exog_names: tuple[str, ...]
    has_constant: bool
    used_rows: NDArray[np.intp]
    dropped: tuple[DropRecord, ...]
    nobs_input: int


def logit_design(
    endog: ArrayLike,
    exog: ArrayLike | pd.DataFrame,
    *,
    offset: ArrayLike | None = None,
    names: Sequence[str] | None = None,
    add_constant: bool = True,
    weights: ArrayLike | None = None,
    weight_type: WeightType = "fweight",
) -> LogitDesign:
    """The logit's design in three steps.

    Validate, Stata's perfect-prediction rule for 0/1 regressors, collinear columns omitted in order. Arguments as
    :class:`Logit`.
    """
    y, x, off, names = _validate(endog, exog, offset, names)
    w = None if weights is None else check_weights(weights, weight_type, len(y))
    # rows counted as Stata counts observations: with fweights, each row as its weight
    count = w if w is not None and weight_type == "fweight" else None
    if len(y) and y.min() == y.max():  # a constant outcome is not separation: nothing to estimate
        n = _count(np.ones(len(y), dtype=bool), count)
        raise SeparationError(f"the outcome is {int(y[0])} in all {n:,} rows: nothing to estimate", rows=n)
    keep_rows, keep_cols, dropped = _perfect_predictions(x, y, names, count)
    names = [names[j] for j in keep_cols]
    y, x, off = y[keep_rows], x[keep_rows][:, keep_cols], off[keep_rows]
    if add_constant:
        x = np.column_stack([np.ones(len(y)), x])
        names = ["Intercept", *names]
    kept = independent_columns(x.T @ x)
    for j in sorted(set(range(x.shape[1])) - set(kept)):
        dropped.append(DropRecord("variable", 0, "collinear with earlier regressors (or constant)", (names[j],)))
    return LogitDesign(
        y=y,
        x=np.ascontiguousarray(x[:, kept]),
        offset=off,
        weights=None if w is None else w[keep_rows],
        weight_type=None if w is None else weight_type,
        exog_names=tuple(names[j] for j in kept),
        has_constant=add_constant,
        used_rows=np.flatnonzero(keep_rows),
        dropped=tuple(dropped),
        nobs_input=len(keep_rows),
    )


def _validate(
    endog: ArrayLike, exog: ArrayLike | pd.DataFrame, offset: ArrayLike | None, names: Sequence[str] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[str]]:
    """The outcome, regressors and offset as float arrays, checked (shapes, finite, a 0/1 outcome), and the names."""
    try:
        y = np.asarray(endog, dtype=float).ravel()
    except (TypeError, ValueError) as err:
        raise ModelInputError(f"the outcome (endog) is not numeric ({err}); recode it to 0/1") from None
    x = numeric_matrix(exog)  # names a text column
    if names is None:
        names = (
            [str(c) for c in exog.columns]
            if isinstance(exog, pd.DataFrame)
            else [f"x{j + 1}" for j in range(x.shape[1])]
        )
    names = list(names)
    if len(names) != x.shape[1] or len(y) != x.shape[0]:
        raise ValueError(
            f"endog has {len(y)} rows, exog {x.shape[0]} rows and {x.shape[1]} columns, "
            f"names {len(names)} entries: they must agree"
        )
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float).ravel()
    if len(off) != len(y):
        raise ValueError(f"offset has {len(off)} rows; the data have {len(y)}")
    for name, col in [("outcome", y), ("offset", off), *zip(names, x.T)]:
        check_finite(name, col)  # ModelInputError naming the column
    if not np.isin(y, (0.0, 1.0)).all():
        raise ModelInputError(
            f"the outcome must be 0/1; {int((~np.isin(y, (0.0, 1.0))).sum()):,} of {len(y):,} rows have other values"
        )
    return y, x, off, names


def _count(rows: NDArray[np.bool_], frequency: NDArray[np.float64] | None) -> int:
    """The number of observations among ``rows``: rows, or with frequency weights their sum (Stata's N)."""
    return int(rows.sum()) if frequency is None else int(round(float(frequency[rows].sum())))


def _perfect_predictions(
    x: NDArray[np.float64], y: NDArray[np.float64], names: list[str], frequency: NDArray[np.float64] | None = None
) -> tuple[NDArray[np.bool_], list[int], list[DropRecord]]:
    """Stata's rule, regressor by regressor: the rows kept, the columns kept and the drop records.

    Counts are observations: rows, or with ``frequency`` weights (fweights) their sums. A
    :class:`SeparationError` when the rows left have a constant outcome.
    """
    dropped: list[DropRecord] = []
    keep_rows = np.ones(len(y), dtype=bool)
    keep_cols = [
        j for j, name in enumerate(names) if not _perfect_dummy(x[:, j], y, keep_rows, name, dropped, frequency)
    ]
    y_left = y[keep_rows]
    if len(y_left) == 0 or y_left.min() == y_left.max():
        n_left = _count(keep_rows, frequency)
        what = f"{int(y_left[0])} in all {n_left:,} remaining rows" if len(y_left) else "left with no rows"
        if not dropped:
            raise SeparationError(f"the outcome is {what}: nothing to estimate")
        named = [r.names[0] for r in dropped]
        rules = "; ".join(r.reason.split(";")[0] for r in dropped)
        raise SeparationError(
            f"complete separation: {' and '.join(named)} predict(s) the outcome perfectly "
            f"({rules}; {_count(~keep_rows, frequency):,} rows) and the outcome is {what}: the ML "
            "estimate does not exist. Drop these regressors or restrict the sample",
            variables=named,
            rows=_count(np.ones(len(y), dtype=bool), frequency),
        )
    return keep_rows, keep_cols, dropped


def _perfect_dummy(
    col: np.ndarray,
    y: np.ndarray,
    keep_rows: np.ndarray,
    name: str,
    dropped: list[DropRecord],
    frequency: np.ndarray | None = None,
) -> bool:
    """Stata's rule for a 0/1 regressor.

    If ``col != 0`` (or ``col == 0``) predicts the outcome perfectly among the rows still kept, omit the regressor and
    those rows (recorded in ``dropped``, counted as observations: with ``frequency`` weights, their sum).
    """
    if not np.isin(col[keep_rows], (0.0, 1.0)).all():
        return False
    for value, label in ((1.0, "!= 0"), (0.0, "== 0")):
        on = keep_rows & (col == value)
        if on.any() and on.sum() < keep_rows.sum() and np.ptp(y[on]) == 0:
            outcome = "success" if y[on][0] == 1 else "failure"
            dropped.append(
                DropRecord(
                    "rows",
                    _count(on, frequency),
                    f"{name} {label} predicts {outcome} perfectly; {name} omitted and its rows not used",
                    (name,),
                )
            )
            keep_rows &= ~on
            return True
    return False


class Logit:
    """Binary logit by Newton's method with analytic score and Hessian.

    Log-likelihood ``sum_i [y_i eta_i - log(1 + exp(eta_i))]``, ``eta_i = x_i'b + offset_i``;
    score ``x_i (y_i - p_i)``; Hessian ``-sum_i p_i (1 - p_i) x_i x_i'``.

    Parameters
    ----------
    endog : array-like (n,)
        0/1 outcome.
    exog : array-like or DataFrame (n, k)
        Regressors, without the constant (``add_constant=True`` prepends ``Intercept``).
    offset : array-like (n,), optional
        Fixed term added to the linear predictor (Stata ``offset()``).
    names : sequence of str, optional
        Regressor names (default: the DataFrame's columns or ``x1..xk``).
    add_constant : bool
        Prepend a constant column named ``Intercept`` (default True, as Stata's ``logit`` without
        ``noconstant`` and R's ``glm`` without ``- 1``). Without it the start is 0 and ``llnull`` is the
        log-likelihood at b = 0.
    weights : array-like (n,), optional
        Row weights, as Stata's ``[fweight=w]`` or ``[pweight=w]`` (``weight_type``). Each row's
        log-likelihood, score and Hessian contribution is multiplied by ``w_i``.
    weight_type : {"fweight", "pweight"}
        ``"fweight"``: positive integer frequencies, a row stands for ``w_i`` identical observations
        (``nobs`` is ``sum w``; model-based, robust and cluster covariances equal those of the
        expanded data; R ``glm(weights = w)``). ``"pweight"``: positive sampling (inverse
        probability) weights; the likelihood is a pseudo-likelihood, so only the robust or
        cluster sandwich is valid (the default, as Stata; ``cov_type="nonrobust"`` raises), ``nobs``
        counts rows; R ``survey::svyglm`` with ``svydesign(ids = ~cluster, weights = ~w)``.
    dropped : sequence of DropRecord
        Drops made before the model (rows with missing values, a fixed effect's perfectly predicting
        level), listed first in ``dropped``.
    input_rows, nobs_input : optional, together
        The rows given are these positions of an input of ``nobs_input`` rows (the caller dropped the
        others): ``used_rows`` and ``clusters_of_rows`` then refer to that input.

    Notes
    -----
    As Stata's ``logit``: a 0/1 regressor one of whose values predicts the outcome perfectly
    ("x != 0 predicts failure perfectly") is omitted together with the rows it predicts, and the
    drop is recorded (:class:`~famtrial.models.base.DropRecord`). Collinear regressors are then
    omitted in order (recorded). Separation by any other regressor (or combination) cannot be
    repaired this way and raises :class:`SeparationError` naming the regressors; it is detected
    exactly (:func:`separating_direction`) whenever the fit reaches a fitted probability within
    3e-7 of 0 or 1. ``used_rows`` holds the positions of the input rows the fit uses.
    """

    #: the outcome's name, as statsmodels' ``model.endog_names`` (read by ``summary_col``); set by ``fit(outcome=)``
    endog_names: str = "y"

    def __init__(
        self,
        endog: ArrayLike,
        exog: ArrayLike | pd.DataFrame,
        *,
        offset: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        add_constant: bool = True,
        weights: ArrayLike | None = None,
        weight_type: WeightType = "fweight",
        dropped: Sequence[DropRecord] = (),
        input_rows: ArrayLike | None = None,
        nobs_input: int | None = None,
    ) -> None:
        if (input_rows is None) != (nobs_input is None):
            raise ValueError(
                "input_rows= and nobs_input= go together (the rows' positions in an input of nobs_input rows)"
            )
        design = logit_design(
            endog, exog, offset=offset, names=names, add_constant=add_constant, weights=weights, weight_type=weight_type
        )
        if input_rows is not None:
            rows = np.asarray(input_rows, dtype=np.intp).ravel()
            if len(rows) != design.nobs_input:
                raise ValueError(f"input_rows has {len(rows):,} positions; the data have {design.nobs_input:,} rows")
            design = replace(design, used_rows=rows[design.used_rows], nobs_input=int(cast(int, nobs_input)))
        self._adopt(replace(design, dropped=(*dropped, *design.dropped)))

    def _adopt(self, design: LogitDesign) -> None:
        """Take the estimation data and bookkeeping of ``design`` (the constructor's last step)."""
        self.weight_type: WeightType | None = design.weight_type
        self.nobs_input = design.nobs_input
        self.dropped: tuple[DropRecord, ...] = design.dropped
        self.used_rows = design.used_rows
        self._x, self._y, self._offset, self._w = design.x, design.y, design.offset, design.weights
        self.exog_names = list(design.exog_names)
        self._has_constant = design.has_constant
        self.nobs = len(self._y) if self._w is None or self.weight_type != "fweight" else int(round(self._w.sum()))

    # -- the estimation data, read-only (statsmodels' names) ------------------------------------------------
    @property
    def endog(self) -> np.ndarray:
        """The outcome of the rows used in estimation (after dropped rows), read-only."""
        return read_only(self._y)

    @property
    def exog(self) -> np.ndarray:
        """The regressors of the rows used (columns :attr:`exog_names`, the constant first if added), read-only."""
        return read_only(self._x)

    @property
    def weights(self) -> np.ndarray | None:
        """The weights of the rows used (None without weights), read-only."""
        return None if self._w is None else read_only(self._w)

    @property
    def offset(self) -> np.ndarray:
        """The offset of the rows used (zeros without one), read-only."""
        return read_only(self._offset)

    @classmethod
    def from_regular_block(
        cls, endog: np.ndarray, exog: np.ndarray, exog_names: Sequence[str], weights: np.ndarray | None = None
    ) -> Logit:
        """The model ``Logit(endog, exog[:, 1:], names=exog_names[1:], weights=weights)`` builds, without its checks.

        For :func:`fit_logit_blocks`, whose blocks are already checked as regular (:func:`_regular_blocks`):
        finite values, a 0/1 outcome with both values, the intercept as the first column of ``exog``, no
        0/1 regressor predicting the outcome and full column rank, so the constructor would drop nothing
        and use every row. No offset; ``weights`` are frequency weights (Stata ``fweight``) or None.

        Parameters
        ----------
        endog : ndarray (n,)
            0/1 outcome.
        exog : ndarray (n, k)
            Regressors with the intercept column first.
        exog_names : sequence of str
            ``k`` names, ``"Intercept"`` first.
        weights : ndarray (n,), optional
            Positive whole frequency weights: row i stands for ``weights[i]`` identical rows.
        """
        n = len(endog)
        model = cls.__new__(cls)
        model._adopt(
            LogitDesign(
                y=endog,
                x=np.ascontiguousarray(exog),
                offset=np.zeros(n),
                weights=weights,
                weight_type=None if weights is None else "fweight",
                exog_names=tuple(exog_names),
                has_constant=True,
                used_rows=np.arange(n),
                dropped=(),
                nobs_input=n,
            )
        )
        return model

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        outcome: str,
        covariates: Sequence[str],
        *,
        offset: ArrayLike | str | None = None,
        add_constant: bool = True,
        weights: ArrayLike | str | None = None,
        weight_type: WeightType = "fweight",
        dropped: Sequence[DropRecord] = (),
        input_rows: ArrayLike | None = None,
        nobs_input: int | None = None,
    ) -> Logit:
        """Build from DataFrame columns.

        ``offset`` and ``weights`` are column names or arrays; ``dropped``, ``input_rows`` and ``nobs_input`` as the
        constructor's.
        """
        data = check_frame(data)
        covariates = check_names(covariates)
        check_columns(
            data,
            outcome=outcome,
            covariates=covariates,
            offset=offset if isinstance(offset, str) else None,
            weights=weights if isinstance(weights, str) else None,
        )
        if data[outcome].dtype.kind not in "biuf":
            numeric_column(data, outcome, role="outcome")
        off = data[offset] if isinstance(offset, str) else offset
        w = data[weights] if isinstance(weights, str) else weights
        return cls(
            data[outcome],
            data[covariates],
            offset=off,
            names=covariates,
            add_constant=add_constant,
            weights=w,
            weight_type=weight_type,
            dropped=dropped,
            input_rows=input_rows,
            nobs_input=nobs_input,
        )

    def _weighted(self, values: np.ndarray) -> np.ndarray:
        """Multiply per-row contributions by the weights (no-op without weights)."""
        if self._w is None:
            return values
        weighted: np.ndarray = values * (self._w if values.ndim == 1 else self._w[:, None])
        return weighted

    def loglike(self, params: ArrayLike) -> float:
        """``sum_i [y_i eta_i - log(1 + exp(eta_i))]``."""
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        return float(np.sum(self._weighted(self._y * eta + log_expit(-eta))))

    def derivatives(self, params: ArrayLike) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient ``X'W(y - p)`` and Hessian ``-X' W diag(p(1-p)) X`` (W the weights)."""
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        p = expit(eta)
        ll = float(np.sum(self._weighted(self._y * eta + log_expit(-eta))))
        grad = self._x.T @ self._weighted(self._y - p)
        hess = -(self._x * self._weighted(p * (1 - p))[:, None]).T @ self._x
        return ll, grad, hess

    def score_obs(self, params: ArrayLike) -> np.ndarray:
        """Per-row score contributions ``w_i x_i (y_i - p_i)``, shape ``(rows, k)`` (rows ``used_rows``)."""
        eta = self._x @ np.asarray(params, dtype=float) + self._offset
        scores: np.ndarray = self._x * self._weighted(self._y - expit(eta))[:, None]
        return scores

    def robust_covariance(
        self,
        params: ArrayLike,
        clusters: NDArray[Any] | None = None,
        *,
        adjustment: Adjustment = "stata",
        t_reference: bool = False,
    ) -> Covariance:
        """Robust (``clusters=None``) or cluster sandwich at ``params``; ``clusters`` aligned with ``score_obs``.

        fweights: the expanded data's sandwich (``frequency``); pweights: scores ``w_i s_i``.
        """
        scores = self.score_obs(params)
        if self._w is not None and self.weight_type == "fweight":
            return sandwich(
                self.bread(params),
                scores / self._w[:, None],
                clusters,
                adjustment=adjustment,
                nobs=self.nobs,
                t_reference=t_reference,
                frequency=self._w,
            )
        return sandwich(
            self.bread(params), scores, clusters, adjustment=adjustment, nobs=self.nobs, t_reference=t_reference
        )

    def _raise_if_separated(self, cause: str = "") -> None:
        found = separating_direction(self._x, self._y)
        if found is None:
            if cause:
                raise SeparationError(
                    f"Newton iterations failed ({cause}) although no separation was found; "
                    "check the regressors' scaling and collinearity"
                )
            return
        # name a minimal set: drop regressors from the separating direction while separation persists
        support = [j for j, d in enumerate(found[0]) if abs(d) > 1e-6 and self.exog_names[j] != "Intercept"]
        const = [0] if self._has_constant else []
        for j in list(support):
            trial = [c for c in support if c != j]
            reduced = separating_direction(self._x[:, const + trial], self._y) if trial else None
            if reduced is not None:
                support, found = trial, reduced
        names = [self.exog_names[j] for j in support]
        determined = found[1]
        raise SeparationError(
            f"(quasi-)complete separation: {' + '.join(names) or 'the intercept'} predict(s) the outcome perfectly "
            f"for at least {determined:,} of {self.nobs:,} rows, so the ML estimate does not exist (the coefficients "
            "diverge). Drop or coarsen these regressors, restrict the sample, or use a penalized (Firth) logit",
            variables=names,
            rows=determined,
        )

    def fit(
        self,
        cov_type: CovType | None = None,
        clusters: ArrayLike | pd.Series | None = None,
        *,
        adjustment: Adjustment = "stata",
        t_reference: bool = False,
        start: ArrayLike | None = None,
        outcome: str = "y",
        maxiter: int = 100,
    ) -> LogitResults:
        """Maximum likelihood by Newton-Raphson.

        Parameters
        ----------
        cov_type : {"nonrobust", "robust", "cluster"}, optional
            Model-based ``(-H)^-1`` (Stata ``vce(oim)``), robust (``vce(robust)``) or cluster-robust
            (``vce(cluster c)``) sandwich. Default: ``"cluster"`` when ``clusters`` is given, else
            ``"robust"`` with pweights (as Stata) and ``"nonrobust"`` otherwise.
        clusters : array-like, one label per *input* row (before any perfect-prediction drop)
            Required with ``cov_type="cluster"``.
        adjustment : {"stata", "statsmodels", "none"}
            Sandwich factor G/(G-1); G/(G-1)(N-1)/(N-K); 1 (see :func:`~famtrial.models.covariance.sandwich`).
        t_reference : bool
            Use t(G-1) instead of the normal for p-values and intervals.
        start : array-like, optional
            Starting values (default: the intercept at logit(mean y), the rest 0).
        outcome : str
            The outcome's name in the results (``outcome`` of :class:`LogitResults`, shown by its summary);
            default ``"y"``.
        maxiter : int
            Most Newton iterations (default 100). A fit not converged by then raises
            :class:`SeparationError`, naming the regressors that separate when there are any.
        """
        if cov_type is None:
            cov_type = "cluster" if clusters is not None else "robust" if self.weight_type == "pweight" else "nonrobust"
        check_choice(cov_type, CovType, "cov_type")
        if (cov_type == "cluster") != (clusters is not None):
            raise ValueError("clusters= goes with cov_type='cluster', and only with it")
        if cov_type == "nonrobust" and self.weight_type == "pweight":
            raise ValueError(
                "pweights need a robust or cluster covariance (the model-based one is not valid "
                "for a pseudo-likelihood); use cov_type='robust' or 'cluster', as Stata does"
            )
        k = self._x.shape[1]
        if start is None:
            start = np.zeros(k)
            if self._has_constant:
                ybar = np.average(self._y, weights=self._w)
                start[0] = np.log(ybar / (1 - ybar))
        start = np.asarray(start, dtype=float)
        if start.shape != (k,):
            raise ValueError(f"start has shape {start.shape}; expected ({k},) for {self.exog_names}")
        try:
            opt = newton(self.derivatives, start, maxiter=maxiter)
        except (np.linalg.LinAlgError, ConvergenceError) as err:  # diverging estimates make -H singular
            self._raise_if_separated(str(err))
            raise
        eta = self._x @ opt.x + self._offset
        if not opt.converged or np.abs(eta).max() > EXTREME_ETA:
            self._raise_if_separated("" if opt.converged else f"no convergence in {maxiter} iterations")
        bread = np.linalg.inv(-opt.hessian)
        info: tuple[tuple[str, str], ...] = ()
        if cov_type == "nonrobust":
            cov = model_based(bread)
        else:
            labels = self.clusters_of_rows(clusters) if cov_type == "cluster" else None
            # labels None: each row its own cluster, factor N/(N-1) as Stata's vce(robust)
            cov = self.robust_covariance(opt.x, labels, adjustment=adjustment, t_reference=t_reference)
            info = (("Clusters", f"{cov.n_clusters:,}"),) if cov_type == "cluster" else ()
        if self._w is not None:
            info = (("Weights", f"{self.weight_type} (sum {self._w.sum():,.6g}, {len(self._w):,} rows)"), *info)
        self.endog_names = outcome
        return LogitResults(
            model_name="Logit (maximum likelihood)",
            outcome=outcome,
            params=pd.Series(opt.x, index=self.exog_names, name="params"),
            covariance=cov,
            nobs=self.nobs,
            llf=opt.llf,
            llnull=self.loglike_null(),
            converged=opt.converged,
            iterations=opt.iterations,
            dropped=tuple(self.dropped),
            info=info,
            model=self,
        )

    def clusters_of_rows(self, clusters: ArrayLike | pd.Series) -> NDArray[Any]:
        """Cluster labels of the rows the fit uses (aligned with ``score_obs``), from one label per input row."""
        c = np.asarray(clusters)
        if len(c) != self.nobs_input:
            raise ValueError(f"clusters has {len(c):,} rows; the data have {self.nobs_input:,}")
        if pd.isna(c).any():
            raise ValueError(
                f"the cluster labels have {int(pd.isna(c).sum()):,} missing values of {len(c):,}; "
                "fill or drop those rows first"
            )
        return c[self.used_rows]

    def bread(self, params: ArrayLike) -> np.ndarray:
        """``(-H)^-1`` at ``params``: the model-based covariance and the sandwich's bread."""
        inv: np.ndarray = np.linalg.inv(-self.derivatives(params)[2])
        return inv

    def loglike_null(self) -> float:
        """Intercept-only log-likelihood (with the offset), as Stata's ll_0; 0 coefficients without a constant."""
        if not self._has_constant:
            return self.loglike(np.zeros(self._x.shape[1]))
        if np.any(self._offset):
            null = Logit(
                self._y,
                np.zeros((len(self._y), 0)),
                offset=self._offset,
                weights=self._w,
                weight_type=self.weight_type or "fweight",
            )
            return newton(null.derivatives, np.zeros(1)).llf
        ybar = np.average(self._y, weights=self._w)
        return float(np.sum(self._weighted(self._y * np.log(ybar) + (1 - self._y) * np.log(1 - ybar))))


def logit(
    data: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    cluster: str | None = None,
    *,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    fixed_effects: str | None = None,
    offset: ArrayLike | str | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
) -> LogitResults:
    """Fit a logit with an intercept from a DataFrame, optionally cluster-robust and with dummy fixed effects.

    Parameters
    ----------
    data : DataFrame or dask.dataframe.DataFrame
        One row per observation. A Dask DataFrame is fitted on its partitions
        (:func:`famtrial.models.distributed.logit`: no weights, ``offset`` a column name).
    outcome : str
        0/1 outcome column.
    covariates : sequence of str
        Regressor columns (the constant is added).
    cluster : str, optional
        Cluster column: cluster-robust covariance with factor ``adjustment``; model-based otherwise.
    adjustment : {"stata", "statsmodels", "none"}
        ``"stata"`` G/(G-1) = R ``vcovCL(type = "HC0")``; ``"statsmodels"`` G/(G-1)(N-1)/(N-K) =
        R ``vcovCL(type = "HC1")``; ``"none"`` = ``vcovCL(type = "HC0", cadjust = FALSE)``.
    t_reference : bool
        t(G-1) reference distribution for p-values and intervals (with ``cluster``).
    fixed_effects : str, optional
        Column whose levels get dummies (all but the first kept level; Stata ``i.office``). A level
        whose rows all share one outcome predicts it perfectly: it is dropped with its rows and
        recorded, as Stata's ``logit`` does.
    offset : str or array-like, optional
        Known term added to the linear predictor (Stata ``offset()``): a column name, or one value per
        row of ``data``.
    weights : str or array-like, optional
        Weight column or one weight per row; ``weight_type`` ``"fweight"`` or ``"pweight"`` as
        :class:`Logit` (pweights without ``cluster`` give the robust covariance, as Stata).
    weight_type : {"fweight", "pweight"}
        How ``weights`` count (default ``"fweight"``): frequencies (Stata ``[fweight=w]``) or sampling
        weights (``[pweight=w]``), as :class:`Logit`. Unused without ``weights``.

    Returns
    -------
    LogitResults

    Notes
    -----
    Stata: ``logit outcome covariates [i.fe] [fweight|pweight=w], vce(cluster cluster) or``.
    R: ``glm(outcome ~ covariates [+ factor(fe)], binomial)`` +
    ``sandwich::vcovCL(fit, cluster = ~cluster, type = "HC0")``.
    """
    from famtrial.models import distributed

    if is_dask_dataframe(data):
        if weights is not None:
            raise ModelInputError("weights with a Dask DataFrame are not supported: fit in memory")
        if offset is not None and not isinstance(offset, str):
            raise ModelInputError(
                f"offset with a Dask DataFrame must be a column name; got {type(offset).__name__}: "
                "add the offset as a column of the Dask DataFrame"
            )
        return distributed.logit(
            data,
            outcome,
            covariates,
            cluster,
            adjustment=adjustment,
            t_reference=t_reference,
            fixed_effects=fixed_effects,
            offset=offset,
        )
    data = check_frame(data)
    covariates = check_names(covariates)
    check_columns(
        data,
        outcome=outcome,
        covariates=covariates,
        cluster=cluster,
        fixed_effects=fixed_effects,
        offset=offset if isinstance(offset, str) else None,
    )
    frequency = None
    if weight_type == "fweight" and weights is not None:  # the dropped levels' rows counted as observations
        frequency = np.asarray(data[weights] if isinstance(weights, str) else weights, dtype=float).ravel()
    frame, covariates, pre_dropped, keep = _fixed_effect_dummies(data, outcome, covariates, fixed_effects, frequency)
    if offset is not None and not isinstance(offset, str):
        offset = np.asarray(offset, dtype=float)[keep]
    if isinstance(weights, str):
        if weights not in data.columns:
            raise ValueError(f"weights column {weights!r} is not in the data")
    elif weights is not None:
        weights = np.asarray(weights, dtype=float).ravel()
        if len(weights) != len(data):
            raise ValueError(f"weights has {len(weights):,} rows; the data have {len(data):,}")
        weights = weights[keep]
    # the model's input is ``data``: rows dropped for a perfectly predicting level count as input rows
    model = Logit.from_frame(
        frame,
        outcome,
        covariates,
        offset=offset,
        weights=weights,
        weight_type=weight_type,
        dropped=pre_dropped,
        input_rows=np.flatnonzero(keep),
        nobs_input=len(data),
    )
    if cluster is None:
        return model.fit(outcome=outcome, adjustment=adjustment)
    return model.fit("cluster", data[cluster], adjustment=adjustment, t_reference=t_reference, outcome=outcome)


def _fixed_effect_dummies(
    data: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    fixed_effects: str | None,
    frequency: NDArray[np.float64] | None = None,
) -> tuple[pd.DataFrame, list[str], list[DropRecord], NDArray[np.bool_]]:
    """Dummies of ``fixed_effects`` (all but the first kept level) after Stata's rule.

    A level whose rows all share one outcome is dropped with its rows (recorded, counted as observations: with
    ``frequency`` weights, their sum). Returns the frame with the dummies, the covariates with their names, the drop
    records and which rows of ``data`` are kept.
    """
    if fixed_effects is None:
        return data, covariates, [], np.ones(len(data), dtype=bool)
    pre_dropped: list[DropRecord] = []
    groups = data.groupby(fixed_effects, sort=True)
    share = groups[outcome].agg(["min", "max", "size"])
    if frequency is not None:
        share["size"] = pd.Series(frequency, index=data.index).groupby(data[fixed_effects], sort=True).sum().round()
    perfect = share.loc[share["min"] == share["max"]]
    for level, row in perfect.iterrows():
        what = "success" if row["min"] == 1 else "failure"
        name = f"{fixed_effects}_{level}"
        pre_dropped.append(
            DropRecord(
                "rows",
                int(row["size"]),
                f"{name} != 0 predicts {what} perfectly; {name} omitted and its rows not used",
                (name,),
            )
        )
    keep = ~data[fixed_effects].isin(perfect.index).to_numpy()
    frame = data.loc[keep]
    dummies = pd.get_dummies(frame[fixed_effects], prefix=fixed_effects, dtype=float).iloc[:, 1:]
    frame = pd.concat([frame, dummies], axis=1)
    covariates = [*covariates, *dummies.columns]
    return frame, covariates, pre_dropped, keep


def _regular_blocks(X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Which blocks :class:`Logit` would fit as given.

    Outcome not constant, no 0/1 regressor value predicting the outcome perfectly, no collinear column (intercept
    included). ``X`` (B, n_max, k) holds the constant first and zero rows as padding; ``Y`` (B, n_max) the outcomes;
    ``W`` (B, n_max) the rows' frequency weights (0 on padding): counts are the expanded rows'.
    """
    sizes = W.sum(axis=1)
    ones = (W * Y).sum(axis=1)
    regular = (sizes > 0) & (ones > 0) & (ones < sizes)
    for j in range(1, X.shape[2]):
        col = X[:, :, j]
        binary = ((col == 0) | (col == 1)).all(axis=1)
        on = (W * col).sum(axis=1)  # rows with the value 1 (on binary blocks)
        y_on = (W * col * Y).sum(axis=1)  # their ones
        for n_on, y_val in ((on, y_on), (sizes - on, ones - y_on)):
            perfect = (n_on > 0) & (n_on < sizes) & ((y_val == 0) | (y_val == n_on))
            regular &= ~(binary & perfect)
    # independent_columns keeps every column iff each column's residual after projection on the
    # earlier ones, the squared Cholesky pivot, exceeds 1e-10 of its diagonal entry
    grams = np.matmul(np.swapaxes(X * W[:, :, None], 1, 2), X)
    try:
        pivots = np.diagonal(np.linalg.cholesky(grams[regular]), axis1=1, axis2=2) ** 2
        regular[regular] = (pivots > 1e-10 * np.diagonal(grams[regular], axis1=1, axis2=2)).all(axis=1)
    except np.linalg.LinAlgError:  # a singular Gram matrix: check block by block
        for b in np.flatnonzero(regular):
            regular[b] = len(independent_columns(grams[b])) == X.shape[2]
    out: np.ndarray = regular
    return out


def fit_logit_blocks(
    blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    names: Sequence[Sequence[str]],
    *,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    outcome: str = "y",
    tol: float = 1e-18,
    maxiter: int = 100,
    weights: Sequence[np.ndarray | None] | None = None,
) -> list[LogitResults | None]:
    """Many logits with an intercept at once (e.g. one per month): one batched Newton iteration for all.

    Parameters
    ----------
    blocks : sequence of ``(y, x, clusters)``
        Each block's 0/1 outcome (n_b,), regressors without the constant (n_b, k_b), and cluster
        labels (n_b,) for the cluster-robust covariance, or ``None`` for the model-based one.
    names : sequence of sequences of str
        Each block's regressor names.
    adjustment, t_reference, outcome
        As :meth:`Logit.fit`.
    tol, maxiter
        Newton's convergence threshold on the decrement ``g' (-H)^-1 g`` (default 1e-18) and its most
        iterations (default 100), as :func:`~famtrial.models.optim.newton` under :meth:`Logit.fit`; a block
        not converged within ``maxiter`` gives ``None``.
    weights : sequence of ndarray or None, optional
        Per block, frequency weights of its rows (Stata ``[fweight=w]``: row i stands for ``w_i``
        identical rows; positive whole numbers, not checked here) or None (each row counts once).
        The fit, ``nobs``, the covariance and its small-sample factor are the expanded rows' (``nobs``
        is the weights' sum, as Stata's fweights), and each result's model carries the weights.

    Returns
    -------
    list
        Per block, the :class:`LogitResults` that ``Logit(y, x, names=...).fit(...)`` gives (same
        start, the same Newton steps with step halving and the same convergence criterion, so the
        estimates agree to rounding), or ``None`` for a block that needs :class:`Logit`'s special
        handling: a constant outcome, a 0/1 regressor value predicting the outcome perfectly,
        collinear columns, non-finite values, a singular Hessian, no convergence or fitted
        probabilities within 3e-7 of 0 or 1 (the separation check). Fit those with
        :class:`Logit`, which drops, reports or raises as documented there.

    Notes
    -----
    Blocks with the same number of regressors are stacked into ``(B, n_max, k)`` arrays (rows
    padded with weight 0) so each Newton step is a few batched array operations instead of one
    Python-level fit per block. Stata: ``logit y x if block == b, vce(cluster c)`` for each b.
    """
    out: list[LogitResults | None] = [None] * len(blocks)
    if len(names) != len(blocks):
        raise ValueError(f"{len(names)} name lists given for {len(blocks)} blocks")
    freq: list[np.ndarray | None] = [None] * len(blocks) if weights is None else list(weights)
    if len(freq) != len(blocks):
        raise ValueError(f"{len(freq)} weight arrays given for {len(blocks)} blocks")
    by_k: dict[int, list[int]] = {}
    for b, (yb, xb, _) in enumerate(blocks):
        xb = np.asarray(xb)
        if xb.ndim != 2 or xb.shape[0] != len(yb) or xb.shape[1] != len(names[b]):
            raise ValueError(f"block {b}: y has {len(yb)} rows, x has shape {xb.shape}, {len(names[b])} names")
        wb = freq[b]
        if wb is not None and np.shape(wb) != (len(yb),):
            raise ValueError(f"block {b}: y has {len(yb)} rows, weights have shape {np.shape(wb)}")
        by_k.setdefault(xb.shape[1], []).append(b)
    for members in by_k.values():
        for b, res in zip(
            members,
            _fit_same_k(
                [blocks[b] for b in members],
                [names[b] for b in members],
                [freq[b] for b in members],
                adjustment=adjustment,
                t_reference=t_reference,
                outcome=outcome,
                tol=tol,
                maxiter=maxiter,
            ),
        ):
            out[b] = res
    return out


def _fit_same_k(
    blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    names: Sequence[Sequence[str]],
    weights: Sequence[np.ndarray | None],
    *,
    adjustment: Adjustment,
    t_reference: bool,
    outcome: str,
    tol: float,
    maxiter: int,
) -> list[LogitResults | None]:
    """:func:`fit_logit_blocks` for blocks with the same number of regressors.

    Rows of a block with the same regressors and cluster are collapsed into one cell with its
    count n_c and number of ones s_c (with frequency weights: their sums): the log-likelihood ``sum_c [s_c eta_c - n_c log(1 + e^eta_c)]``,
    its derivatives and the cluster sums of the scores are those of the rows, summed in another
    order. With 0/1 regressors (arm, baseline indicators) a block of thousands of rows has a few
    hundred cells at most. Steps: stack, collapse into cells, batched Newton, results.
    """
    result: list[LogitResults | None] = [None] * len(blocks)
    sizes = np.array([len(yb) for yb, _, _ in blocks])
    X, Y, W = _stack_blocks(blocks, len(names[0]) + 1, sizes, weights)
    if not (np.isfinite(X).all() and np.isfinite(Y).all() and ((Y == 0) | (Y == 1)).all()):
        return result  # Logit names the column and the count
    # cluster labels Logit.fit would reject (wrong length, missing) leave the block to it
    labelled = [c is None or (len(c) == n and not pd.isna(c).any()) for (_, _, c), n in zip(blocks, sizes)]
    use = np.flatnonzero(_regular_blocks(X, Y, W) & np.array(labelled))
    if not len(use):
        return result
    cells = _Cells.collapse(X, Y, W, sizes[use], use, blocks)
    params, llf, hess, eta, iterations, keep = _batched_newton(cells, tol, maxiter)
    fitted = np.flatnonzero(keep)
    if not len(fitted):
        return result
    bread = np.linalg.inv(-hess[fitted])
    sums, present = cells.cluster_score_sums(eta)
    indexes: dict[tuple[str, ...], pd.Index] = {}  # one Index per list of names
    for i, j in enumerate(fitted.tolist()):
        b, n = int(use[j]), int(cells.n_b[j])
        model = Logit.from_regular_block(Y[b, :n], X[b, :n], ["Intercept", *names[b]], weights[b])
        index = indexes.get(tuple(model.exog_names))
        if index is None:
            index = indexes[tuple(model.exog_names)] = pd.Index(model.exog_names)
        if not cells.clustered[j]:
            cov, info = model_based(bread[i]), cast(tuple[tuple[str, str], ...], ())
        else:
            # the sandwich of the cluster sums, one row per cluster: Stata's vce(cluster) factor G/(G-1)
            cov = replace(
                sandwich(
                    bread[i], sums[j][present[j]], None, adjustment=adjustment, nobs=model.nobs, t_reference=t_reference
                ),
                cov_type="cluster",
            )
            info = (("Clusters", f"{cov.n_clusters:,}"),)
        model.endog_names = outcome
        result[b] = LogitResults(
            model_name="Logit (maximum likelihood)",
            outcome=outcome,
            params=pd.Series(params[j], index=index, name="params"),
            covariance=cov,
            nobs=model.nobs,
            llf=float(llf[j]),
            llnull=model.loglike_null(),
            converged=True,
            iterations=int(iterations[j]),
            dropped=(),
            info=info,
            model=model,
        )
    return result


def _stack_blocks(
    blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    k: int,
    sizes: np.ndarray,
    weights: Sequence[np.ndarray | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B, n_max, k) regressors, the constant first, (B, n_max) outcomes and (B, n_max) frequency weights.

    Zero rows are padding, with weight 0 (they add nothing to sums, Gram matrices or counts); rows
    without weights weigh 1.
    """
    nmax = int(sizes.max())
    X = np.zeros((len(blocks), nmax, k))
    Y = np.zeros((len(blocks), nmax))
    W = np.zeros((len(blocks), nmax))
    for b, (yb, xb, _) in enumerate(blocks):
        X[b, : sizes[b], 0] = 1.0
        X[b, : sizes[b], 1:] = xb
        Y[b, : sizes[b]] = np.asarray(yb, dtype=float).ravel()
        W[b, : sizes[b]] = 1.0 if weights[b] is None else np.asarray(weights[b], dtype=float)
    return X, Y, W


@dataclass(frozen=True)
class _Cells:
    """The blocks ``use`` collapsed into cells (block, cluster, regressor values), padded per block.

    ``C`` (B, c_max, k) their regressors, ``N`` their row counts, ``S`` their ones (padding: count 0, x = 0),
    both weighted by the rows' frequency weights; ``nobs`` each block's (weighted) count;
    ``cell_block``, ``cell_cluster``, ``slot`` and ``x`` each cell's block, cluster code, place in its block and
    regressors; ``g`` the number of cluster codes.
    """

    C: np.ndarray
    Ct: np.ndarray
    N: np.ndarray
    S: np.ndarray
    n_b: np.ndarray
    nobs: np.ndarray
    cell_block: np.ndarray
    cell_cluster: np.ndarray
    slot: np.ndarray
    x: np.ndarray
    g: int
    clustered: list[bool]

    @classmethod
    def collapse(
        cls,
        X: np.ndarray,
        Y: np.ndarray,
        W: np.ndarray,
        n_b: np.ndarray,
        use: np.ndarray,
        blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    ) -> _Cells:
        """The cells of the blocks ``use`` (rows ``n_b`` each) of the stacked ``X``, ``Y`` and weights ``W``."""
        k = X.shape[2]
        pos = np.arange(X.shape[1])[None, :] < n_b[:, None]
        rows_x, rows_y, rows_w = X[use][pos], Y[use][pos], W[use][pos]
        rows_block = np.repeat(np.arange(len(use)), n_b)
        clustered = [blocks[int(b)][2] is not None for b in use]
        labels_all = np.concatenate(
            [np.asarray(blocks[int(b)][2]) if c else np.zeros(n, dtype=int) for b, c, n in zip(use, clustered, n_b)]
        )
        cluster_code, cluster_labels = pd.factorize(labels_all)
        g = len(cluster_labels)
        # cells: (block, cluster, regressor values) in mixed radix when the codes fit in 62 bits
        key, radix = rows_block * g + cluster_code, len(use) * g
        for j in range(1, k):
            codes, uniques = pd.factorize(rows_x[:, j])
            if radix * len(uniques) >= 2**62:
                key = np.arange(len(rows_y))  # too many combinations: one cell per row
                break
            key, radix = key * len(uniques) + codes, radix * len(uniques)
        # cells numbered in order of first appearance: rows come block by block, so cells do too
        cell_of_row, cells = pd.factorize(key)
        first = np.empty(len(cells), dtype=np.int64)
        first[cell_of_row[::-1]] = np.arange(len(key))[::-1]
        cell_block, cell_cluster = rows_block[first], cluster_code[first]
        count = np.bincount(cell_of_row, weights=rows_w, minlength=len(first))
        ones = np.bincount(cell_of_row, weights=rows_y * rows_w, minlength=len(first))
        per_block = np.bincount(cell_block, minlength=len(use))
        cmax = int(per_block.max())
        slot = np.arange(len(first)) - np.r_[0, np.cumsum(per_block)][cell_block]
        C = np.zeros((len(use), cmax, k))
        C[cell_block, slot] = rows_x[first]
        N = np.zeros((len(use), cmax))
        N[cell_block, slot] = count
        S = np.zeros((len(use), cmax))
        S[cell_block, slot] = ones
        Ct = np.ascontiguousarray(np.swapaxes(C, 1, 2))
        return cls(C, Ct, N, S, n_b, N.sum(axis=1), cell_block, cell_cluster, slot, rows_x[first], g, clustered)

    def evaluate(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per block: log-likelihood, gradient, Hessian and the cells' linear predictors at ``params`` (B, k)."""
        eta = np.matmul(self.C, params[:, :, None])[:, :, 0]
        q = expit(-eta)  # 1 - p, accurate where p is near 1; log(1 - p) = log_expit(-eta)
        p = 1.0 - q
        ll = np.sum(self.S * eta + self.N * np.log(q), axis=1)
        grad = np.matmul(self.Ct, (self.S - self.N * p)[:, :, None])[:, :, 0]
        hess = -np.matmul(self.Ct * (self.N * p * q)[:, None, :], self.C)
        return ll, grad, hess, eta

    def cluster_score_sums(self, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cluster sums of the scores x (y - p), cell by cell: (B, G, k), and which clusters each block has."""
        n_use, k = len(self.n_b), self.C.shape[2]
        resid = (self.S - self.N * expit(eta))[self.cell_block, self.slot]
        at = self.cell_block * self.g + self.cell_cluster
        sums = np.column_stack(
            [np.bincount(at, weights=resid * col, minlength=n_use * self.g) for col in np.ascontiguousarray(self.x.T)]
        ).reshape(n_use, self.g, k)
        present = np.bincount(at, minlength=n_use * self.g).reshape(n_use, self.g) > 0
        return sums, present


def _batched_newton(
    cells: _Cells, tol: float, maxiter: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`~famtrial.models.optim.newton` for every block at once.

    The same start, steps, step halving and convergence criterion. Returns params, llf, Hessian, linear predictors,
    iterations and which blocks :class:`Logit` would accept as fitted (converged, no fitted p near 0 or 1).
    """
    N, S, Ct, C, n_b = cells.N, cells.S, cells.Ct, cells.C, cells.nobs
    n_use, k = len(n_b), C.shape[2]
    # Logit.fit's start, the intercept at logit(mean y), where p = mean y in every row: closed form
    ybar = S.sum(axis=1) / n_b
    params = np.zeros((n_use, k))
    params[:, 0] = np.log(ybar / (1 - ybar))
    eta = np.where(N > 0, params[:, :1], 0.0)
    llf = S.sum(axis=1) * params[:, 0] + n_b * log_expit(-params[:, 0])
    grad = np.matmul(Ct, (S - N * ybar[:, None])[:, :, None])[:, :, 0]
    hess = -(ybar * (1 - ybar))[:, None, None] * np.matmul(Ct * N[:, None, :], C)
    active = np.ones(n_use, dtype=bool)
    failed = np.zeros(n_use, dtype=bool)
    iterations = np.zeros(n_use, dtype=int)
    converged = np.zeros(n_use, dtype=bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if not len(idx):
            break
        try:
            step = np.linalg.solve(-hess[idx], grad[idx][:, :, None])[:, :, 0]
        except np.linalg.LinAlgError:  # some Hessian is singular: leave these blocks to Logit
            failed[idx] = True
            break
        decrement = np.einsum("bk,bk->b", grad[idx], step)
        done = (decrement < tol) | ~np.isfinite(decrement)
        converged[idx[done]] = np.isfinite(decrement[done])
        active[idx[done]] = False
        idx, step = idx[~done], step[~done]
        pending = np.ones(len(idx), dtype=bool)
        for _ in range(40):  # step halving, block by block, as newton()
            if not pending.any():
                break
            cand = params.copy()
            cand[idx[pending]] += step[pending]
            new_ll, new_grad, new_hess, new_eta = cells.evaluate(cand)
            ok = pending & np.isfinite(new_ll[idx]) & (new_ll[idx] >= llf[idx] - 1e-12 * (1 + np.abs(llf[idx])))
            take = idx[ok]
            params[take], llf[take], grad[take], hess[take], eta[take] = (
                cand[take],
                new_ll[take],
                new_grad[take],
                new_hess[take],
                new_eta[take],
            )
            iterations[take] += 1
            pending &= ~ok
            step[pending] /= 2
        if pending.any():  # step halving failed: Logit.fit raises ConvergenceError
            failed[idx[pending]] = True
            active[idx[pending]] = False
    keep = converged & ~failed & (np.abs(np.where(N > 0, eta, 0.0)).max(axis=1) <= EXTREME_ETA)
    return params, llf, hess, eta, iterations, keep
