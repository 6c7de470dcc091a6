"""Exact fixed-effects (conditional) logit with Stata-identical cluster-robust inference.

The model, for parent (group) i and month t::

    P(y_it = 1) = logistic(a_i + x_it' b)

conditions the group effects a_i out: given k_i = sum_t y_it, the probability of the observed
pattern is ``exp(sum_{t: y_it=1} x_it' b) / e_k(exp(x_i1' b), ..., exp(x_iT' b))``, where e_k is
the elementary symmetric polynomial of degree k_i (Chamberlain 1980). Groups with all-0 or all-1
outcomes carry no information and are dropped (counted); regressors with no within-group
variation, or collinear with earlier ones, are omitted (as Stata marks them "omitted").

Stata: ``clogit y x1 x2, group(g) vce(cluster c) or``.
R: ``survival::clogit(y ~ x1 + x2 + strata(g), method = "exact")`` (no cluster-robust SE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numba
import numpy as np
import pandas as pd

from famtrial.models import _clogit_kernel as kernel
from famtrial.models.base import DropRecord, ModelResults
from famtrial.models.covariance import Adjustment, model_based, sandwich
from famtrial.models.design import independent_columns
from famtrial.models.optim import newton

__all__ = ["ConditionalLogit", "ConditionalLogitResults", "conditional_logit"]

CovType = Literal["nonrobust", "robust", "cluster"]
_COV_TYPES = ("nonrobust", "robust", "cluster")


def _examples(values: np.ndarray, n: int = 5) -> str:
    return ", ".join(map(str, pd.unique(values)[:n]))


def _check_finite(name: str, values: np.ndarray) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(f"column {name!r} has {int(bad.sum()):,} missing or infinite values; "
                         "drop or impute those rows before fitting (famtrial.load_panel(..., missing='drop') counts them)")


@dataclass(frozen=True, kw_only=True)
class ConditionalLogitResults(ModelResults):
    """Results of :class:`ConditionalLogit`: the common interface plus group counts and the model."""

    n_groups: int
    model: ConditionalLogit


class ConditionalLogit:
    r"""Exact conditional (fixed-effects) logit.

    Log-likelihood, summed over groups g with outcome variation (k_g ones among T_g rows)::

        l(b) = sum_g [ sum_{t: y=1} eta_gt - log e_{k_g}(exp(eta_g1), ..., exp(eta_gT)) ],
        eta_gt = x_gt' b + offset_gt

    The denominators come from the recursion E_j <- E_j + w_t E_{j-1} (Gail, Lubin and
    Rubinstein 1981), with first and second derivatives carried through it (numba kernel,
    parallel over groups); groups with more ones than zeros are complemented, so the recursion
    depth is min(k, T-k).

    Parameters
    ----------
    endog : array-like (n,)
        0/1 outcome.
    exog : array-like (n, p)
        Regressors (no constant: it is not identified).
    groups : array-like (n,)
        Group labels (the fixed effects: parents).
    offset : array-like (n,), optional
        Known term added to ``x'b`` (used for restricted fits in test inversion).
    names : sequence of str, optional
        Regressor names (taken from a DataFrame's columns when not given).

    Notes
    -----
    Stata ``clogit y x, group(g)``; R ``survival::clogit(y ~ x + strata(g), method = "exact")``.
    """

    def __init__(self, endog, exog, groups, *, offset=None, names: Sequence[str] | None = None):
        exog_frame = exog if isinstance(exog, pd.DataFrame) else None
        # the kernel reads the covariates transposed, (p, n): a DataFrame's float block already is
        x = np.asarray(exog, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        xt = np.ascontiguousarray(x.T)
        y = np.asarray(endog).ravel()
        if names is None:
            names = [str(c) for c in exog_frame.columns] if exog_frame is not None else [f"x{j + 1}" for j in range(xt.shape[0])]
        names = list(names)
        g = np.asarray(groups)
        n = len(y)
        if xt.shape[1] != n or len(g) != n:
            raise ValueError(f"endog ({n}), exog ({xt.shape[1]}) and groups ({len(g)}) must have the same number of rows")
        if len(names) != xt.shape[0]:
            raise ValueError(f"{len(names)} names given for {xt.shape[0]} regressors")
        if y.dtype.kind not in "iub":
            y = y.astype(float)
            _check_finite("outcome", y)
        if kernel.count_bad(xt, False):
            for j, name in enumerate(names):
                _check_finite(name, xt[j])
        if g.dtype.kind not in "iub" and pd.isna(g).any():
            raise ValueError(f"the group column has {int(pd.isna(g).sum()):,} missing labels; drop those rows first")
        if kernel.count_bad(y, True):
            bad = (y != 0) & (y != 1)
            raise ValueError(f"the outcome must be 0/1; {int(bad.sum()):,} rows have other values "
                             f"(e.g. {_examples(y[bad])}); recode it to 0/1")
        y = y.astype(np.int8)
        off = np.zeros(0) if offset is None else np.asarray(offset, dtype=float).ravel()
        if len(off) not in (0, n):
            raise ValueError(f"offset has {len(off)} rows; the data have {n}")
        _check_finite("offset", off)
        if not off.any():
            off = np.zeros(0)  # no offset: the kernel skips it
        self.nobs_input = n
        self.dropped: list[DropRecord] = []

        # order rows by group (stable, so within-group order is kept); grouped data skip the copy
        starts_all = np.concatenate(([0], np.flatnonzero(g[1:] != g[:-1]) + 1, [n]))
        labels = g[starts_all[:-1]]
        order = None
        if len(pd.unique(labels)) != len(labels):  # some group's rows are not contiguous
            codes, labels = pd.factorize(g, sort=False)
            order = np.argsort(codes, kind="stable")
            y, xt = y[order], xt[:, order]
            off = off[order] if len(off) else off
            starts_all = np.concatenate(([0], np.flatnonzero(np.diff(codes[order])) + 1, [n]))
        sizes = np.diff(starts_all)
        ysum = np.add.reduceat(y, starts_all[:-1], dtype=np.int64)
        informative = (ysum > 0) & (ysum < sizes)
        n_bad = int((~informative).sum())
        if n_bad:
            self.dropped.append(DropRecord("groups", n_bad, f"all positive or all negative outcomes ({int(sizes[~informative].sum()):,} rows)",
                                           tuple(map(str, labels[~informative][:5]))))
        if not informative.any():
            raise ValueError("no group has variation in the outcome (every group is all 0 or all 1): "
                             "the conditional likelihood is empty")
        self._order, self._starts_all, self._informative = order, starts_all, informative
        self._lo = starts_all[:-1][informative].astype(np.int64)
        self._hi = starts_all[1:][informative].astype(np.int64)
        self._y = y

        # regressors: drop those without within-group variation, then collinear ones (in order),
        # from the within-group cross-product matrix; the same pass gives the closed-form b = 0 point
        gram, sumsq, ll0, score0, hess0 = kernel.null_point(xt, self._y, self._lo, self._hi)
        constant = np.diag(gram) <= 1e-20 * np.maximum(sumsq, 1.0)
        for j in np.flatnonzero(constant):
            self.dropped.append(DropRecord("variable", 0, "no within-group variation", (names[j],)))
        candidates = np.flatnonzero(~constant)
        kept = candidates[independent_columns(gram[np.ix_(candidates, candidates)])]
        for j in sorted(set(candidates) - set(kept)):
            self.dropped.append(DropRecord("variable", 0, "collinear with earlier regressors", (names[j],)))
        self.exog_names = [names[j] for j in kept]
        self._xt = xt if len(kept) == xt.shape[0] else xt[kept]
        self._offset = off
        # log-likelihood, score and Hessian at b = 0 (the start and Stata's ll_0), when there is no offset
        self._null = None if len(off) else (ll0, score0[kept], hess0[np.ix_(kept, kept)])
        self._flip, self._batches, self._batch_depth = kernel.plan(ysum[informative], sizes[informative])
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (params, group scores) of the last evaluation
        self.group_labels = labels[informative]
        self.n_groups = len(self._lo)
        self.nobs = int((self._hi - self._lo).sum())

    @property
    def used_rows(self) -> np.ndarray:
        """Positions of the input rows the fit uses (rows of informative groups), in estimation order."""
        rows = np.flatnonzero(np.repeat(self._informative, np.diff(self._starts_all)))
        return rows if self._order is None else self._order[rows]

    @classmethod
    def from_frame(cls, data: pd.DataFrame, outcome: str, covariates: Sequence[str], group: str, *, offset=None):
        """Build from a DataFrame's columns (``offset`` a column name or an array)."""
        covariates = list(covariates)
        missing = [c for c in (outcome, *covariates, group) if c not in data.columns]
        if missing:
            raise ValueError(f"columns not in the data: {missing}")
        off = data[offset] if isinstance(offset, str) else offset
        xt = np.empty((len(covariates), len(data)))  # one copy, straight into the kernel's layout
        for j, c in enumerate(covariates):
            xt[j] = data[c].to_numpy(dtype=float)
        return cls(data[outcome], xt.T, data[group], offset=off, names=covariates)

    # -- likelihood ------------------------------------------------------------------------
    def _eval(self, params, want_hess: bool):
        params = np.array(params, dtype=float)  # a fresh contiguous copy: one kernel signature
        if params.shape != (self._xt.shape[0],):
            raise ValueError(f"params must have length {self._xt.shape[0]} ({self.exog_names})")
        out = kernel.derivatives(self._xt, params, self._offset, self._y, self._lo, self._hi, self._flip,
                                 self._batches, self._batch_depth, want_hess, 4 * numba.get_num_threads())
        self._last = (params, out[1])
        return out

    def loglike(self, params) -> float:
        """Conditional log-likelihood at ``params``."""
        return float(self._eval(params, False)[0].sum())

    def gradient(self, params) -> tuple[float, np.ndarray]:
        """Log-likelihood and gradient (the recursion without second derivatives)."""
        ll, scores, _ = self._eval(params, False)
        return float(ll.sum()), scores.sum(axis=0)

    def derivatives(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian (analytic, from the recursion)."""
        ll, scores, hess = self._eval(params, True)
        return float(ll.sum()), scores.sum(axis=0), hess

    def score_groups(self, params) -> np.ndarray:
        """Per-group score contributions, ``(n_groups, k)``, rows in ``group_labels`` order."""
        if self._last is not None and np.array_equal(self._last[0], params):
            return self._last[1].copy()  # the fit's last Newton evaluation was at these params
        return self._eval(params, False)[1]

    def clusters_of_groups(self, clusters) -> np.ndarray:
        """Cluster label of each kept group, checking that every group lies within one cluster.

        ``clusters`` is aligned with the rows given to the constructor.
        """
        c = np.asarray(clusters)
        if len(c) != self.nobs_input:
            raise ValueError(f"clusters has {len(c)} rows; the data have {self.nobs_input}")
        if pd.isna(c).any():
            raise ValueError(f"the cluster column has {int(pd.isna(c).sum()):,} missing labels; drop those rows first")
        if self._order is not None:
            c = c[self._order]
        codes = pd.factorize(c)[0]
        lo = np.minimum.reduceat(codes, self._starts_all[:-1])[self._informative]
        hi = np.maximum.reduceat(codes, self._starts_all[:-1])[self._informative]
        spanning = lo != hi
        if spanning.any():
            raise ValueError(f"clusters must nest groups: {int(spanning.sum()):,} groups span several clusters "
                             f"(e.g. groups {_examples(self.group_labels[spanning])}); cluster on a variable "
                             "that is constant within each group (e.g. office, not month)")
        return c[self._lo]

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, cov_type: CovType = "nonrobust", clusters=None, *, adjustment: Adjustment = "stata",
            t_reference: bool = False, start=None, tol: float = 1e-18, maxiter: int = 100,
            outcome: str = "y") -> ConditionalLogitResults:
        """Maximise the conditional likelihood by Newton's method; covariance as ``cov_type``.

        ``"cluster"`` needs ``clusters`` (per input row); ``"robust"`` clusters on the group
        itself. The sandwich is ``G/(G-1) (-H)^-1 (sum_g u_g u_g') (-H)^-1`` with G the clusters
        that keep at least one informative group, as Stata's ``clogit, vce(cluster c)``.
        """
        if cov_type not in _COV_TYPES:
            raise ValueError(f"cov_type={cov_type!r} is not one of {_COV_TYPES}")
        if cov_type == "cluster" and clusters is None:
            raise ValueError("cov_type='cluster' needs clusters=")
        if cov_type != "cluster" and clusters is not None:
            raise ValueError(f"clusters= is only used with cov_type='cluster' (got cov_type={cov_type!r})")
        k = self._xt.shape[0]
        initial = self._null if start is None else None
        start = np.zeros(k) if start is None else np.asarray(start, dtype=float)
        opt = newton(self.derivatives, start, initial=initial, gradient=self.gradient, tol=tol, maxiter=maxiter)
        bread = np.linalg.inv(-opt.hessian)
        if cov_type == "nonrobust":
            cov = model_based(bread)
            info_clusters = ()
        else:
            # Stata's clogit, vce(robust) clusters on the group itself
            labels = self.clusters_of_groups(clusters) if cov_type == "cluster" else self.group_labels
            cov = sandwich(bread, self.score_groups(opt.x), labels, adjustment=adjustment, nobs=self.nobs,
                           t_reference=t_reference)
            info_clusters = (("Clusters", f"{cov.n_clusters:,}"),)
        # Stata's ll_0: b = 0 on the estimation sample
        llnull = self._null[0] if self._null is not None else self.loglike(np.zeros(k))
        return ConditionalLogitResults(
            model_name="Conditional (fixed-effects) logit, exact likelihood",
            outcome=outcome,
            params=pd.Series(opt.x, index=self.exog_names, name="params"),
            covariance=cov,
            nobs=self.nobs,
            llf=opt.llf,
            llnull=llnull,
            converged=opt.converged,
            iterations=opt.iterations,
            dropped=tuple(self.dropped),
            info=(("Groups", f"{self.n_groups:,}"), *info_clusters),
            n_groups=self.n_groups,
            model=self,
        )


def conditional_logit(data: pd.DataFrame, outcome: str, covariates: Sequence[str], group: str,
                      cluster: str | None = None, *, robust: bool = False, adjustment: Adjustment = "stata",
                      t_reference: bool = False, offset=None) -> ConditionalLogitResults:
    """Fit an exact fixed-effects logit from a DataFrame.

    ``logit P(y_gt = 1) = a_g + x_gt' b``, conditional likelihood (``a_g`` conditioned out).
    ``cluster`` names a column constant within groups (cluster-robust SE, factor G/(G-1));
    ``robust=True`` clusters on the group. ``t_reference`` uses t(G-1) for p-values and CIs.

    Stata: ``clogit outcome covariates, group(group) vce(cluster cluster) or``.
    R: ``survival::clogit(outcome ~ covariates + strata(group), method = "exact")``.
    A ``dask.dataframe.DataFrame`` is fitted on its cluster: :func:`famtrial.models.distributed.conditional_logit`.
    """
    from famtrial.models import distributed
    if distributed.is_dask_dataframe(data):
        return distributed.conditional_logit(data, outcome, covariates, group, cluster, robust=robust,
                                             adjustment=adjustment, t_reference=t_reference, offset=offset)
    if cluster is not None and robust:
        raise ValueError("give either cluster= or robust=True, not both")
    model = ConditionalLogit.from_frame(data, outcome, covariates, group, offset=offset)
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} is not in the data")
        return model.fit("cluster", data[cluster], adjustment=adjustment, t_reference=t_reference, outcome=outcome)
    return model.fit("robust" if robust else "nonrobust", adjustment=adjustment, t_reference=t_reference,
                     outcome=outcome)
