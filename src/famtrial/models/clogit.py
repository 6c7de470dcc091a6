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
        y = np.asarray(endog, dtype=float).ravel()
        x = np.asarray(exog, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if names is None:
            names = [str(c) for c in exog_frame.columns] if exog_frame is not None else [f"x{j + 1}" for j in range(x.shape[1])]
        names = list(names)
        g = np.asarray(groups)
        n = len(y)
        if x.shape[0] != n or len(g) != n:
            raise ValueError(f"endog ({n}), exog ({x.shape[0]}) and groups ({len(g)}) must have the same number of rows")
        if len(names) != x.shape[1]:
            raise ValueError(f"{len(names)} names given for {x.shape[1]} regressors")
        _check_finite("outcome", y)
        for j, name in enumerate(names):
            _check_finite(name, x[:, j])
        if pd.isna(g).any():
            raise ValueError(f"the group column has {int(pd.isna(g).sum()):,} missing labels; drop those rows first")
        bad = ~np.isin(y, (0.0, 1.0))
        if bad.any():
            raise ValueError(f"the outcome must be 0/1; {int(bad.sum()):,} rows have other values "
                             f"(e.g. {_examples(y[bad])}); recode it to 0/1")
        off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float).ravel()
        _check_finite("offset", off)
        self.nobs_input = n
        self.dropped: list[DropRecord] = []

        # order rows by group (stable, so within-group order is kept); data already grouped skip the copy
        codes, labels = pd.factorize(g, sort=False)
        if n > 1 and np.any(codes[1:] < codes[:-1]):
            order = np.argsort(codes, kind="stable")
            codes, y, x, off = codes[order], y[order], x[order], off[order]
        else:
            order = np.arange(n)
        starts_all = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        if len(starts_all) - 1 != len(labels):
            raise ValueError("internal error: groups are not contiguous after sorting")
        sizes = np.diff(starts_all)
        ysum = np.add.reduceat(y, starts_all[:-1])
        informative = (ysum > 0) & (ysum < sizes)
        n_bad = int((~informative).sum())
        if n_bad:
            rows_bad = int(sizes[~informative].sum())
            self.dropped.append(DropRecord("groups", n_bad, f"all positive or all negative outcomes ({rows_bad:,} rows)",
                                           tuple(map(str, labels[codes[starts_all[:-1]][~informative]][:5]))))
        if not informative.any():
            raise ValueError("no group has variation in the outcome (every group is all 0 or all 1): "
                             "the conditional likelihood is empty")
        if n_bad:
            keep_rows = np.repeat(informative, sizes)
            self._row_index = order[keep_rows]  # original row of each estimation row
            y, x, off, codes = y[keep_rows], x[keep_rows], off[keep_rows], codes[keep_rows]
        else:
            self._row_index = order
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True]).astype(np.int64)

        # regressors: drop those without within-group variation, then collinear ones (in order),
        # from the within-group cross-product matrix, accumulated in row blocks to save memory
        counts = np.diff(starts)
        means = np.add.reduceat(x, starts[:-1], axis=0) / counts[:, None]
        gram = np.zeros((x.shape[1], x.shape[1]))
        block = 1 << 20
        group_of_row = np.repeat(np.arange(len(counts)), counts)
        for lo in range(0, len(y), block):
            dev = x[lo:lo + block] - means[group_of_row[lo:lo + block]]
            gram += dev.T @ dev
        scale = np.maximum(np.einsum("ij,ij->j", x, x), 1.0)
        constant = np.diag(gram) <= 1e-20 * scale
        for j in np.flatnonzero(constant):
            self.dropped.append(DropRecord("variable", 0, "no within-group variation", (names[j],)))
        candidates = np.flatnonzero(~constant)
        kept = candidates[independent_columns(gram[np.ix_(candidates, candidates)])]
        for j in sorted(set(candidates) - set(kept)):
            self.dropped.append(DropRecord("variable", 0, "collinear with earlier regressors", (names[j],)))
        self.exog_names = [names[j] for j in kept]
        self._x = x if len(kept) == x.shape[1] else np.ascontiguousarray(x[:, kept])
        self._y = y.astype(np.int64)
        self._offset = off
        self._starts = starts
        self._depth, self._flip = kernel.group_sizes(self._y, starts)
        self.group_labels = labels[codes[starts[:-1]]]
        self.n_groups = len(starts) - 1
        self.nobs = len(y)

    @classmethod
    def from_frame(cls, data: pd.DataFrame, outcome: str, covariates: Sequence[str], group: str, *, offset=None):
        """Build from a DataFrame's columns (``offset`` a column name or an array)."""
        covariates = list(covariates)
        missing = [c for c in (outcome, *covariates, group) if c not in data.columns]
        if missing:
            raise ValueError(f"columns not in the data: {missing}")
        off = data[offset] if isinstance(offset, str) else offset
        return cls(data[outcome], data[covariates], data[group], offset=off, names=covariates)

    # -- likelihood ------------------------------------------------------------------------
    def _eval(self, params, want_hess: bool):
        params = np.asarray(params, dtype=float)
        if params.shape != (self._x.shape[1],):
            raise ValueError(f"params must have length {self._x.shape[1]} ({self.exog_names})")
        eta = self._x @ params + self._offset
        return kernel.derivatives(self._x, eta, self._y, self._starts, self._depth, self._flip, want_hess)

    def loglike(self, params) -> float:
        """Conditional log-likelihood at ``params``."""
        return float(self._eval(params, False)[0].sum())

    def derivatives(self, params) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian (analytic, from the recursion)."""
        ll, scores, hess = self._eval(params, True)
        return float(ll.sum()), scores.sum(axis=0), hess

    def score_groups(self, params) -> np.ndarray:
        """Per-group score contributions, ``(n_groups, k)``, rows in ``group_labels`` order."""
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
        c = c[self._row_index]
        codes = pd.factorize(c)[0]
        lo = np.minimum.reduceat(codes, self._starts[:-1])
        hi = np.maximum.reduceat(codes, self._starts[:-1])
        spanning = lo != hi
        if spanning.any():
            raise ValueError(f"clusters must nest groups: {int(spanning.sum()):,} groups span several clusters "
                             f"(e.g. groups {_examples(self.group_labels[spanning])}); cluster on a variable "
                             "that is constant within each group (e.g. office, not month)")
        return c[self._starts[:-1]]

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
        k = self._x.shape[1]
        start = np.zeros(k) if start is None else np.asarray(start, dtype=float)
        opt = newton(self.derivatives, start, tol=tol, maxiter=maxiter)
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
        llnull = self.loglike(np.zeros(k))  # Stata's ll_0: b = 0 on the estimation sample
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
    """
    if cluster is not None and robust:
        raise ValueError("give either cluster= or robust=True, not both")
    model = ConditionalLogit.from_frame(data, outcome, covariates, group, offset=offset)
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} is not in the data")
        return model.fit("cluster", data[cluster], adjustment=adjustment, t_reference=t_reference, outcome=outcome)
    return model.fit("robust" if robust else "nonrobust", adjustment=adjustment, t_reference=t_reference,
                     outcome=outcome)
