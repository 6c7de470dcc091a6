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
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from famtrial._options import CovType, WeightType, check_choice
from famtrial._parallel import is_dask_dataframe
from famtrial.errors import ConvergenceError, ModelInputError
from famtrial.models import _clogit_kernel as kernel
from famtrial.models import separation
from famtrial.models.base import ConditionalLogitResults, DropRecord
from famtrial.models.checks import (
    check_columns,
    check_finite,
    check_frame,
    check_names,
    numeric_column,
    numeric_matrix,
)
from famtrial.models.covariance import Adjustment, Covariance, model_based, sandwich
from famtrial.models.design import (
    WEIGHTS_WITH_TIME,
    check_weights,
    example_labels,
    independent_columns,
    level_labels,
    read_only,
    time_columns,
    weights_vary_error,
)
from famtrial.models.optim import newton

__all__ = ["ConditionalLogit", "ConditionalLogitResults", "conditional_logit"]


def _check_finite(name: str, values: np.ndarray) -> None:
    check_finite(name, values)  # ModelInputError naming the column, NaN and inf counted


@dataclass(frozen=True)
class _Rows:
    """The constructor's rows between its steps: validated, then grouped (``order``, ``starts``, ``labels``)."""

    y: NDArray[Any]
    xt: NDArray[np.float64]
    groups: NDArray[Any]
    offset: NDArray[np.float64]
    weights: NDArray[np.float64] | None
    names: list[str]
    order: NDArray[np.intp] | None = None
    starts: NDArray[np.intp] | None = None
    labels: NDArray[Any] | None = None


@dataclass(frozen=True)
class ClogitDesign:
    """What :class:`ConditionalLogit`'s constructor decides before weights and time effects.

    The rows are grouped (stable, so each group keeps its input order; ``order[i]`` is the input
    position of grouped row i, None when the input was grouped) and cleared of the rows a single
    separating regressor determines; ``starts`` bounds every remaining group, ``labels`` names it and
    ``informative`` marks those with outcome variation (``lo``/``hi`` bound these). ``xt`` holds the
    kept regressors (``exog_names``) transposed, ``null`` the closed-form b = 0 point (ll, score,
    Hessian; None with an offset), ``dropped`` every record so far, in the order of the steps.
    """

    y: NDArray[np.int8]
    xt: NDArray[np.float64]
    offset: NDArray[np.float64]
    weights: NDArray[np.float64] | None
    order: NDArray[np.intp] | None
    starts: NDArray[np.intp]
    labels: NDArray[Any]
    informative: NDArray[np.bool_]
    lo: NDArray[np.int64]
    hi: NDArray[np.int64]
    ones: NDArray[np.int64]
    exog_names: tuple[str, ...]
    null: tuple[float, NDArray[np.float64], NDArray[np.float64]] | None
    dropped: tuple[DropRecord, ...]
    nobs_input: int


def clogit_design(
    endog: ArrayLike,
    exog: ArrayLike | pd.DataFrame,
    groups: ArrayLike,
    *,
    offset: ArrayLike | None = None,
    names: Sequence[str] | None = None,
    weights: ArrayLike | None = None,
    weight_type: WeightType = "fweight",
) -> ClogitDesign:
    """The conditional logit's design in four steps.

    Validate, order by group, screen (separation by one regressor, groups without outcome variation), select the
    regressors. Arguments as :class:`ConditionalLogit`.
    """
    rows = _validate(endog, exog, groups, offset, names, weights, weight_type)
    rows = _group_rows(rows)
    rows, screened = _screen(rows)
    return _select(rows, *screened, nobs_input=len(rows.groups))


def _validate(
    endog: ArrayLike,
    exog: ArrayLike | pd.DataFrame,
    groups: ArrayLike,
    offset: ArrayLike | None,
    names: Sequence[str] | None,
    weights: ArrayLike | None,
    weight_type: WeightType,
) -> _Rows:
    """The input as arrays, checked: shapes, finite numbers, a 0/1 outcome, group labels, offset and weights."""
    x = numeric_matrix(exog)  # names a text column
    # the kernel reads the covariates transposed, (p, n): a DataFrame's float block already is
    xt = np.ascontiguousarray(x.T)
    y = np.asarray(endog).ravel()
    if names is None:
        names = (
            [str(c) for c in exog.columns]
            if isinstance(exog, pd.DataFrame)
            else [f"x{j + 1}" for j in range(xt.shape[0])]
        )
    names = list(names)
    g = np.asarray(groups)
    n = len(y)
    if xt.shape[1] != n or len(g) != n:
        raise ValueError(f"endog ({n}), exog ({xt.shape[1]}) and groups ({len(g)}) must have the same number of rows")
    if len(names) != xt.shape[0]:
        raise ValueError(f"{len(names)} names given for {xt.shape[0]} regressors")
    if y.dtype.kind not in "iub":
        try:
            y = y.astype(float)
        except (TypeError, ValueError) as err:
            raise ModelInputError(f"the outcome (endog) is not numeric ({err}); recode it to 0/1") from None
        _check_finite("outcome", y)
    if kernel.count_bad(xt, False):
        for j, name in enumerate(names):
            _check_finite(name, xt[j])
    if g.dtype.kind not in "iub" and pd.isna(g).any():
        raise ValueError(f"the group column has {int(pd.isna(g).sum()):,} missing labels; drop those rows first")
    if kernel.count_bad(y, True):
        bad = (y != 0) & (y != 1)
        raise ValueError(
            f"the outcome must be 0/1; {int(bad.sum()):,} rows have other values "
            f"(e.g. {example_labels(y[bad])}); recode it to 0/1"
        )
    off = np.zeros(0) if offset is None else np.asarray(offset, dtype=float).ravel()
    if len(off) not in (0, n):
        raise ValueError(f"offset has {len(off)} rows; the data have {n}")
    _check_finite("offset", off)
    if not off.any():
        off = np.zeros(0)  # no offset: the kernel skips it
    w = None if weights is None else check_weights(weights, weight_type, n)
    return _Rows(y.astype(np.int8), xt, g, off, w, names)


def _group_rows(rows: _Rows) -> _Rows:
    """Rows ordered by group (stable, so within-group order is kept); grouped data skip the copy."""
    g, n = rows.groups, len(rows.y)
    starts = np.concatenate(([0], np.flatnonzero(g[1:] != g[:-1]) + 1, [n]))
    labels = g[starts[:-1]]
    if len(pd.unique(labels)) == len(labels):  # every group's rows are contiguous
        return replace(rows, starts=starts, labels=labels)
    codes, labels = pd.factorize(g, sort=False)
    order = np.argsort(codes, kind="stable")
    return replace(
        rows,
        y=rows.y[order],
        xt=rows.xt[:, order],
        offset=rows.offset[order] if len(rows.offset) else rows.offset,
        weights=rows.weights[order] if rows.weights is not None else None,
        order=order,
        starts=np.concatenate(([0], np.flatnonzero(np.diff(codes[order])) + 1, [n])),
        labels=labels,
    )


def _screen(rows: _Rows) -> tuple[_Rows, tuple[NDArray[np.bool_], NDArray[np.int64], list[DropRecord]]]:
    """The rows a single separating regressor determines dropped, and the groups with outcome variation.

    See models/separation.py. Returns (rows, (informative, ones per group, drop records)).
    """
    assert rows.starts is not None and rows.labels is not None  # grouped (_group_rows)
    dropped: list[DropRecord] = []
    screened = separation.screen(rows.xt, rows.y, rows.starts, rows.names)
    if screened is not None:
        keep, records = screened
        dropped += records
        left = np.add.reduceat(keep.astype(np.int64), rows.starts[:-1])
        rows = replace(
            rows,
            y=rows.y[keep],
            xt=rows.xt[:, keep],
            offset=rows.offset[keep] if len(rows.offset) else rows.offset,
            weights=rows.weights[keep] if rows.weights is not None else None,
            order=np.flatnonzero(keep) if rows.order is None else rows.order[keep],
            starts=np.concatenate(([0], np.cumsum(left[left > 0]))),
            labels=rows.labels[left > 0],
        )
    assert rows.starts is not None and rows.labels is not None
    sizes = np.diff(rows.starts)
    ones = np.add.reduceat(rows.y, rows.starts[:-1], dtype=np.int64)
    informative = (ones > 0) & (ones < sizes)
    n_bad = int((~informative).sum())
    if n_bad:
        dropped.append(
            DropRecord(
                "groups",
                n_bad,
                f"all positive or all negative outcomes ({int(sizes[~informative].sum()):,} rows)",
                tuple(map(str, rows.labels[~informative][:5])),
            )
        )
    if not informative.any():
        raise ModelInputError(
            "no group has variation in the outcome (every group is all 0 or all 1): the conditional likelihood is empty"
        )
    return rows, (informative, ones, dropped)


def _select(
    rows: _Rows, informative: NDArray[np.bool_], ones: NDArray[np.int64], dropped: list[DropRecord], *, nobs_input: int
) -> ClogitDesign:
    """Regressors without within-group variation, then collinear ones (in order), omitted.

    Read from the within-group cross-product matrix; the same pass gives the closed-form b = 0 point.
    """
    assert rows.starts is not None and rows.labels is not None
    lo = rows.starts[:-1][informative].astype(np.int64)
    hi = rows.starts[1:][informative].astype(np.int64)
    names = rows.names
    gram, sumsq, ll0, score0, hess0 = kernel.null_point(rows.xt, rows.y, lo, hi)
    constant = np.diag(gram) <= 1e-20 * np.maximum(sumsq, 1.0)
    for c in np.flatnonzero(constant):
        dropped.append(DropRecord("variable", 0, "no within-group variation", (names[c],)))
    candidates = np.flatnonzero(~constant)
    kept = candidates[independent_columns(gram[np.ix_(candidates, candidates)])]
    for c in sorted(set(candidates) - set(kept)):
        dropped.append(DropRecord("variable", 0, "collinear with earlier regressors", (names[c],)))
    return ClogitDesign(
        y=rows.y,
        xt=rows.xt if len(kept) == rows.xt.shape[0] else rows.xt[kept],
        offset=rows.offset,
        weights=rows.weights,
        order=rows.order,
        starts=rows.starts,
        labels=rows.labels,
        informative=informative,
        lo=lo,
        hi=hi,
        ones=ones[informative],
        exog_names=tuple(names[c] for c in kept),
        # log-likelihood, score and Hessian at b = 0 (the start and Stata's ll_0), when there is no offset
        null=None if len(rows.offset) else (ll0, score0[kept], hess0[np.ix_(kept, kept)]),
        dropped=tuple(dropped),
        nobs_input=nobs_input,
    )


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
    weights : array-like (n,), optional
        Row weights, constant within each group (Stata's ``clogit`` rule; an error names the first
        group where they vary). Group g's log-likelihood, score and Hessian are multiplied by its
        weight w_g. The kernel returns per-group log-likelihoods and scores but a Hessian summed
        over groups, so the weights enter through the data: the kernel sees ``x_gt sqrt(w_g)`` with
        offset ``(1 - sqrt(w_g)) x_gt'b``, which leaves every linear predictor at ``x_gt'b`` and
        multiplies group g's Hessian by w_g and its score by sqrt(w_g); the log-likelihoods and
        scores are then scaled by w_g and sqrt(w_g). One kernel pass per evaluation, exact up to
        rounding; it keeps a weighted copy of the regressors.
    weight_type : {"fweight", "pweight"}
        How ``weights`` count (default ``"fweight"``). ``"fweight"``: positive whole numbers, the group
        stands for w_g identical groups (``nobs`` sums the weights over rows; covariances equal those of
        the expanded data; Stata ``[fweight=w]``). ``"pweight"``: sampling weights; only the robust (on
        the group) or cluster sandwich is valid and is the default (Stata ``[pweight=w]``).
    time : array-like (n,), optional
        Categorical time (e.g. month) of each row: adds one effect per level after the regressors,
        named ``f"{time_name}[{level}]"`` (``month[2016-11]``; dates as ``YYYY-MM-DD``, or ``YYYY-MM``
        when every level is the first of a month). Levels are sorted; the first (lowest) is the
        base and has no parameter, as Stata's ``i.month`` (base = lowest level) and R's
        ``factor(month)`` (first level). Levels without within-group variation in the estimation
        sample, or collinear with the regressors and earlier levels (e.g. the last month when a
        linear trend is among the regressors), are omitted and listed in ``dropped`` (Stata marks
        them "omitted"; R reports NA).
    time_name : str
        Name used for the time effects (default ``"month"``).
    time_labels : sequence of str, optional
        Names of the effects of the levels after the base, in sorted level order (one per level;
        default ``f"{time_name}[{level}]"``). The formula front end passes formulaic's names
        (``C(month)[T.3]``).
    dropped : sequence of DropRecord
        Drops made before the model (e.g. a formula's rows with missing values), listed first in
        ``dropped``.

    Notes
    -----
    Stata ``clogit y x [fweight|pweight=w], group(g)``; R ``survival::clogit(y ~ x + strata(g), method = "exact")``.
    With ``time``: Stata ``clogit y x i.month, group(g)``; R ``clogit(y ~ x + factor(month) +
    strata(g), method = "exact")``.

    The constructor's steps (validate, order by group, screen, select) are :func:`clogit_design`;
    the estimation data are read-only properties with statsmodels' names (``endog``, ``exog``,
    ``weights``, ``offset``; rows as ``used_rows``).

    Time effects are not dense dummy columns. Each row switches on one time effect, so per group
    the kernel needs the rows' inclusion probabilities ``pi_t`` (prefix and suffix polynomials,
    O(T k)) and their covariance ``C = Cov(z)`` (pairwise inclusion probabilities from the prefix
    polynomials with one row removed, O(T^2 k)); the score is ``U'(y - pi)`` and the Hessian
    ``-U' C U`` with ``U = [X, D]``, formed as ``X' C X``, the rows of ``C X`` scattered to their
    months, and C scattered to month pairs. A fit costs O(sum_g T_g^2 (k_g + p)) per Hessian
    instead of O(sum_g T_g k_g (p + M)^2) with M dense dummies, and gives the same numbers. The
    collinearity check for the levels is made on the information matrix at b = 0 (within-group
    cross-products weighted by ``k_g (T_g - k_g) / (T_g (T_g - 1))``).

    Separation (:mod:`famtrial.models.separation`, docs/methods.md "Separation"): a regressor that
    alone orders every group's positive rows above its negative rows (its coefficient would be
    infinite) is omitted with the rows it determines, counted in ``dropped`` (Stata ``logit``'s
    "x != 0 predicts success perfectly" rule, within groups); separation left by a combination of
    regressors raises :class:`~famtrial.errors.SeparationError` naming them, never a
    "converged" infinite estimate. Bad input raises
    :class:`~famtrial.errors.ModelInputError` naming the column.
    """

    #: the outcome's name, as statsmodels' ``model.endog_names`` (read by ``summary_col``); set by ``fit(outcome=)``
    endog_names: str = "y"

    def __init__(
        self,
        endog: ArrayLike,
        exog: ArrayLike | pd.DataFrame,
        groups: ArrayLike,
        *,
        offset: ArrayLike | None = None,
        names: Sequence[str] | None = None,
        weights: ArrayLike | None = None,
        weight_type: WeightType = "fweight",
        time: ArrayLike | pd.Series | None = None,
        time_name: str = "month",
        time_labels: Sequence[str] | None = None,
        dropped: Sequence[DropRecord] = (),
    ) -> None:
        design = clogit_design(
            endog, exog, groups, offset=offset, names=names, weights=weights, weight_type=weight_type
        )
        self.nobs_input = design.nobs_input
        self.dropped: tuple[DropRecord, ...] = (*dropped, *design.dropped)
        self._order, self._starts_all, self._informative = design.order, design.starts, design.informative
        self._lo, self._hi = design.lo, design.hi
        self._y, self._xt, self._offset = design.y, design.xt, design.offset
        self.exog_names = list(design.exog_names)
        self._null = design.null
        self._flip, self._batches, self._batch_depth = kernel.plan(design.ones, design.hi - design.lo)
        self.weight_type: WeightType | None = None
        self._gw: np.ndarray | None = None
        if design.weights is not None:
            self._set_group_weights(design.weights, weight_type, design.labels)
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (params, group scores) of the last evaluation
        self.group_labels = design.labels[design.informative]
        self.n_groups = len(self._lo)
        self.nobs = int((self._hi - self._lo).sum())
        if self._gw is not None and self.weight_type == "fweight":
            self.nobs = int(round((self._gw * (self._hi - self._lo)).sum()))
        self._time_col: np.ndarray | None = None
        if time is not None:
            if design.weights is not None:
                raise ModelInputError(WEIGHTS_WITH_TIME)
            self._setup_time(time, time_name, time_labels)
        elif time_labels is not None:
            raise ValueError("time_labels names the time effects: give time= as well")

    def _set_group_weights(self, w: NDArray[np.float64], weight_type: WeightType, labels: NDArray[Any]) -> None:
        """One weight per informative group and the kernel's weighted regressors ``x sqrt(w)``.

        The weights are checked constant within every group; the regressors' rows are in the model's sorted order.
        """
        starts = self._starts_all[:-1]
        varies = np.minimum.reduceat(w, starts) != np.maximum.reduceat(w, starts)
        if varies.any():
            raise weights_vary_error(labels[np.flatnonzero(varies)[0]], int(varies.sum()))
        self.weight_type = weight_type
        self._gw = w[self._lo]
        self._null = None  # the closed-form b = 0 point is unweighted
        self._sqrt_w = np.sqrt(w)
        self._xt_w = np.ascontiguousarray(self._xt * self._sqrt_w)

    @property
    def used_rows(self) -> np.ndarray:
        """Positions of the input rows the fit uses (rows of informative groups), in estimation order."""
        rows = np.flatnonzero(self._in_groups())
        return rows if self._order is None else self._order[rows]

    def _in_groups(self) -> NDArray[np.bool_]:
        """Which of the model's grouped rows belong to an informative group (the rows used)."""
        mask: NDArray[np.bool_] = np.repeat(self._informative, np.diff(self._starts_all))
        return mask

    # -- the estimation data, read-only (statsmodels' names), rows as ``used_rows`` -------------------
    @property
    def endog(self) -> NDArray[np.float64]:
        """The 0/1 outcome of the rows used (informative groups, in estimation order), read-only."""
        return read_only(self._y[self._in_groups()].astype(float))

    @property
    def exog(self) -> NDArray[np.float64]:
        """The regressors of the rows used (columns :attr:`exog_names`), read-only.

        With time effects their dummies (the row's kept level 1, others 0) follow the regressors.
        """
        x = self._xt.T[self._in_groups()]
        if self._time_col is None:
            return read_only(np.ascontiguousarray(x))
        col = self._time_col[self._in_groups()]
        out = np.zeros((len(x), len(self.exog_names)))
        out[:, : x.shape[1]] = x
        rows = np.flatnonzero(col >= 0)
        out[rows, col[rows]] = 1.0
        return read_only(out)

    @property
    def weights(self) -> NDArray[np.float64] | None:
        """The weight of each row used (its group's weight; None without weights), read-only."""
        return None if self._gw is None else read_only(np.repeat(self._gw, self._hi - self._lo))

    @property
    def offset(self) -> NDArray[np.float64]:
        """The offset of the rows used (zeros without one), read-only."""
        used = self._in_groups()
        return read_only(self._offset[used] if len(self._offset) else np.zeros(int(used.sum())))

    @property
    def groups(self) -> NDArray[Any]:
        """The group label of each row used, read-only (rows of a group are consecutive)."""
        return read_only(np.repeat(self.group_labels, self._hi - self._lo))

    @property
    def group_sizes(self) -> NDArray[np.int64]:
        """The number of rows of each kept group (``group_labels`` order), read-only."""
        return read_only(self._hi - self._lo)

    def _setup_time(self, time: ArrayLike | pd.Series, name: str, effect_names: Sequence[str] | None = None) -> None:
        """Categorical time effects: codes per row, levels, the b = 0 point and the omitted levels."""
        t = time.to_numpy() if isinstance(time, (pd.Series, pd.Index)) else np.asarray(time)
        if t.ndim != 1 or len(t) != self.nobs_input:
            raise ValueError(f"time ({name!r}) has {len(t)} rows; the data have {self.nobs_input}")
        n_missing = int(pd.isna(t).sum())
        if n_missing:
            raise ValueError(f"the time column {name!r} has {n_missing:,} missing values; drop those rows first")
        codes, levels = pd.factorize(t, sort=True)
        levels = pd.Index(levels)
        if self._order is not None:
            codes = codes[self._order]
        labels = level_labels(levels)
        p = self._xt.shape[0]
        k_all = p + len(levels) - 1
        col = np.where(codes > 0, p + codes - 1, -1).astype(np.int64)
        ll0, scores0, hess0 = kernel.time_derivatives(
            self._xt, col, np.zeros(k_all), self._offset, self._y, self._lo, self._hi, True
        )
        used = col[np.repeat(self._informative, np.diff(self._starts_all))]  # rows of informative groups
        count = np.bincount(used[used >= 0], minlength=k_all)[p:]
        if effect_names is None:
            effect_names = [f"{name}[{lab}]" for lab in labels[1:]]
        elif len(effect_names) != len(levels) - 1:
            raise ValueError(
                f"time_labels has {len(effect_names)} names; the time column {name!r} has "
                f"{len(levels)} levels, so give {len(levels) - 1} (the base level has no effect)"
            )
        kept, names, dropped = time_columns(-hess0, count, self.exog_names, list(map(str, effect_names)))
        self.dropped += tuple(dropped)
        position = np.full(k_all, -1, np.int64)
        position[kept] = np.arange(len(kept))
        kept_x = kept[kept < p]
        if len(kept_x) < p:
            self._xt = self._xt[kept_x]
        self._time_col = np.where(col >= 0, position[np.maximum(col, 0)], -1)
        self.exog_names = [names[j] for j in kept]
        self.time_levels = levels
        self.time_base = labels[0]
        self.time_name = name
        self._null = (float(ll0.sum()), scores0.sum(axis=0)[kept], hess0[np.ix_(kept, kept)])

    @classmethod
    def from_frame(
        cls,
        data: pd.DataFrame,
        outcome: str,
        covariates: Sequence[str],
        group: str,
        *,
        offset: ArrayLike | str | None = None,
        weights: ArrayLike | str | None = None,
        weight_type: WeightType = "fweight",
        time_effects: str | None = None,
    ) -> ConditionalLogit:
        """Build from a DataFrame's columns.

        ``offset`` and ``weights`` are column names or arrays; ``time_effects`` is the name of a categorical time
        column, e.g. ``"month"`` (see the class's ``time``).
        """
        data = check_frame(data)
        covariates = check_names(covariates)
        check_columns(
            data,
            outcome=outcome,
            covariates=covariates,
            group=group,
            offset=offset if isinstance(offset, str) else None,
            weights=weights if isinstance(weights, str) else None,
            time_effects=time_effects,
        )
        off = data[offset] if isinstance(offset, str) else offset
        xt = np.empty((len(covariates), len(data)))  # one copy, straight into the kernel's layout
        for j, c in enumerate(covariates):
            xt[j] = numeric_column(data, c)
        if data[outcome].dtype.kind not in "biuf":
            numeric_column(data, outcome, role="outcome")
        w = data[weights] if isinstance(weights, str) else weights
        time = data[time_effects] if time_effects is not None else None
        return cls(
            data[outcome],
            xt.T,
            data[group],
            offset=off,
            names=covariates,
            weights=w,
            weight_type=weight_type,
            time=time,
            time_name=time_effects or "month",
        )

    # -- likelihood ------------------------------------------------------------------------
    def _eval(
        self, params: ArrayLike, want_hess: bool
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        params = np.array(params, dtype=float)  # a fresh contiguous copy: one kernel signature
        if params.shape != (len(self.exog_names),):
            raise ValueError(f"params must have length {len(self.exog_names)} ({self.exog_names})")
        if self._time_col is not None:
            out = kernel.time_derivatives(
                self._xt, self._time_col, params, self._offset, self._y, self._lo, self._hi, want_hess
            )
        elif self._gw is None:
            out = kernel.derivatives(
                self._xt,
                params,
                self._offset,
                self._y,
                self._lo,
                self._hi,
                self._flip,
                self._batches,
                self._batch_depth,
                want_hess,
            )
        else:
            # x sqrt(w) with offset (1 - sqrt(w)) x'b: the same linear predictors, Hessian times w_g
            off = (1 - self._sqrt_w) * (params @ self._xt) + (self._offset if len(self._offset) else 0.0)
            ll, scores, hess = kernel.derivatives(
                self._xt_w,
                params,
                off,
                self._y,
                self._lo,
                self._hi,
                self._flip,
                self._batches,
                self._batch_depth,
                want_hess,
            )
            out = (ll * self._gw, scores * np.sqrt(self._gw)[:, None], hess)
        self._last = (params, out[1])
        return out

    def linear_predictor(self, params: ArrayLike) -> NDArray[np.float64]:
        """``x'b`` plus the row's time effect and offset for every row used.

        Aligned with :attr:`endog` and ``used_rows``; the group effect is conditioned out and not included.
        """
        params = np.asarray(params, dtype=float)
        p = self._xt.shape[0]
        eta: NDArray[np.float64] = self._xt.T @ params[:p]
        if self._time_col is not None:
            eta = eta + np.where(self._time_col >= 0, params[np.maximum(self._time_col, 0)], 0.0)
        eta = eta + self._offset if len(self._offset) else eta
        return eta[self._in_groups()]

    def loglike(self, params: ArrayLike) -> float:
        """Conditional log-likelihood at ``params``."""
        return float(self._eval(params, False)[0].sum())

    def gradient(self, params: ArrayLike) -> tuple[float, NDArray[np.float64]]:
        """Log-likelihood and gradient (the recursion without second derivatives)."""
        ll, scores, _ = self._eval(params, False)
        return float(ll.sum()), scores.sum(axis=0)

    def derivatives(self, params: ArrayLike) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
        """Log-likelihood, gradient and Hessian (analytic, from the recursion)."""
        ll, scores, hess = self._eval(params, True)
        return float(ll.sum()), scores.sum(axis=0), hess

    def score_groups(self, params: ArrayLike) -> NDArray[np.float64]:
        """Per-group score contributions, ``(n_groups, k)``, rows in ``group_labels`` order."""
        if self._last is not None and np.array_equal(self._last[0], params):
            return self._last[1].copy()  # the fit's last Newton evaluation was at these params
        scores: NDArray[np.float64] = self._eval(params, False)[1]
        return scores

    def clusters_of_groups(self, clusters: ArrayLike | pd.Series) -> NDArray[Any]:
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
            raise ValueError(
                f"clusters must nest groups: {int(spanning.sum()):,} groups span several clusters "
                f"(e.g. groups {example_labels(self.group_labels[spanning])}); cluster on a variable "
                "that is constant within each group (e.g. office, not month)"
            )
        return c[self._lo]

    def robust_covariance(
        self,
        params: ArrayLike,
        labels: NDArray[Any] | None,
        *,
        adjustment: Adjustment = "stata",
        t_reference: bool = False,
        bread: NDArray[np.float64] | None = None,
    ) -> Covariance:
        """Sandwich covariance at ``params`` from the group scores.

        ``labels`` is one cluster per kept group, or None for Stata's ``vce(robust)`` (clusters on the group). fweights:
        the expanded data's sandwich (every copy of a group its own cluster under ``vce(robust)``).
        """
        inv: NDArray[np.floating[Any]] = np.linalg.inv(-self.derivatives(params)[2]) if bread is None else bread
        scores = self.score_groups(params)
        if self._gw is not None and self.weight_type == "fweight":
            return sandwich(
                inv,
                scores / self._gw[:, None],
                labels,
                adjustment=adjustment,
                nobs=self.nobs,
                t_reference=t_reference,
                frequency=self._gw,
            )
        labels = self.group_labels if labels is None else labels
        return sandwich(inv, scores, labels, adjustment=adjustment, nobs=self.nobs, t_reference=t_reference)

    # -- fitting ---------------------------------------------------------------------------
    def fit(
        self,
        cov_type: CovType | None = None,
        clusters: ArrayLike | pd.Series | None = None,
        *,
        adjustment: Adjustment = "stata",
        t_reference: bool = False,
        start: ArrayLike | None = None,
        tol: float = 1e-18,
        maxiter: int = 100,
        outcome: str = "y",
    ) -> ConditionalLogitResults:
        """Maximise the conditional likelihood by Newton's method; covariance as ``cov_type``.

        ``"cluster"`` needs ``clusters`` (per input row); ``"robust"`` clusters on the group
        itself. The sandwich is ``G/(G-1) (-H)^-1 (sum_g u_g u_g') (-H)^-1`` with G the clusters
        that keep at least one informative group, as Stata's ``clogit, vce(cluster c)``. Default
        ``cov_type``: ``"cluster"`` with ``clusters``, else ``"robust"`` with pweights, else ``"nonrobust"``.
        """
        if cov_type is None:
            cov_type = "cluster" if clusters is not None else "robust" if self.weight_type == "pweight" else "nonrobust"
        if cov_type == "nonrobust" and self.weight_type == "pweight":
            raise ValueError(
                "pweights need a robust or cluster covariance (the model-based one is not valid for a "
                "pseudo-likelihood); use cov_type='robust' or 'cluster', as Stata does"
            )
        check_choice(cov_type, CovType, "cov_type")
        if cov_type == "cluster" and clusters is None:
            raise ValueError("cov_type='cluster' needs clusters=")
        if cov_type != "cluster" and clusters is not None:
            raise ValueError(f"clusters= is only used with cov_type='cluster' (got cov_type={cov_type!r})")
        k = len(self.exog_names)
        initial = self._null if start is None else None
        start = np.zeros(k) if start is None else np.asarray(start, dtype=float)
        try:
            opt = newton(self.derivatives, start, initial=initial, gradient=self.gradient, tol=tol, maxiter=maxiter)
        except (np.linalg.LinAlgError, ConvergenceError) as err:  # diverging estimates: exact separation check
            separation.raise_if_separated(self._xt, self._y, self._lo, self._hi, self.exog_names, str(err))
            raise ConvergenceError(
                f"Newton iterations failed ({err}) although the exact check finds no separation; "
                f"check the scaling and within-group collinearity of {self.exog_names}"
            ) from err
        if not opt.converged or separation.diverging(self._xt, opt.x, self._y, self._lo, self._hi):
            cause = "" if opt.converged else f"no convergence in {maxiter} iterations"
            separation.raise_if_separated(self._xt, self._y, self._lo, self._hi, self.exog_names, cause)
        bread = np.linalg.inv(-opt.hessian)
        if cov_type == "nonrobust":
            cov = model_based(bread)
            info_clusters: tuple[tuple[str, str], ...] = ()
        else:
            # Stata's clogit, vce(robust) clusters on the group itself
            labels = self.clusters_of_groups(clusters) if cov_type == "cluster" else None
            cov = self.robust_covariance(opt.x, labels, adjustment=adjustment, t_reference=t_reference, bread=bread)
            info_clusters = (("Clusters", f"{cov.n_clusters:,}"),)
            cluster_name = getattr(clusters, "name", None)
            if cov_type == "cluster" and cluster_name is not None:
                info_clusters += (("Cluster variable", str(cluster_name)),)
        if self._gw is not None:
            info_clusters = (
                ("Weights", f"{self.weight_type} (one per group, sum {self._gw.sum():,.6g})"),
                *info_clusters,
            )
        # Stata's ll_0: b = 0 on the estimation sample
        llnull = self._null[0] if self._null is not None else self.loglike(np.zeros(k))
        self.endog_names = outcome
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


def conditional_logit(
    data: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str],
    group: str,
    cluster: str | None = None,
    *,
    robust: bool = False,
    adjustment: Adjustment = "stata",
    t_reference: bool = False,
    offset: ArrayLike | str | None = None,
    weights: ArrayLike | str | None = None,
    weight_type: WeightType = "fweight",
    time_effects: str | None = None,
) -> ConditionalLogitResults:
    """Fit an exact fixed-effects logit from a DataFrame.

    ``logit P(y_gt = 1) = a_g + x_gt' b``, conditional likelihood (``a_g`` conditioned out).
    ``cluster`` names a column constant within groups (cluster-robust SE, factor G/(G-1));
    ``robust=True`` clusters on the group. ``t_reference`` uses t(G-1) for p-values and CIs.
    ``weights`` (column name or array, constant within group) and ``weight_type`` as
    :class:`ConditionalLogit`; pweights without ``cluster`` give the robust covariance.

    ``time_effects`` names a categorical time column (e.g. ``"month"``): one effect per level, the
    first (lowest) level the base, estimated without dense dummies (see :class:`ConditionalLogit`).

    Stata: ``clogit outcome covariates, group(group) vce(cluster cluster) or``
    (with ``time_effects="month"``: ``clogit outcome covariates i.month, ...``).
    R: ``survival::clogit(outcome ~ covariates + strata(group), method = "exact")``
    (with time effects: ``... + factor(month) + strata(group)``).
    A ``dask.dataframe.DataFrame`` is fitted on its cluster: :func:`famtrial.models.distributed.conditional_logit`.
    """
    from famtrial.models import distributed

    if is_dask_dataframe(data):
        if offset is not None and not isinstance(offset, str):
            raise ModelInputError(
                f"offset with a Dask DataFrame must be a column name; got {type(offset).__name__}: "
                "add the offset as a column of the Dask DataFrame"
            )
        return distributed.conditional_logit(
            data,
            outcome,
            covariates,
            group,
            cluster,
            robust=robust,
            adjustment=adjustment,
            t_reference=t_reference,
            offset=offset,
            weights=weights,
            weight_type=weight_type,
            time_effects=time_effects,
        )
    if cluster is not None and robust:
        raise ValueError("give either cluster= or robust=True, not both")
    check_columns(check_frame(data), cluster=cluster)
    model = ConditionalLogit.from_frame(
        data,
        outcome,
        covariates,
        group,
        offset=offset,
        weights=weights,
        weight_type=weight_type,
        time_effects=time_effects,
    )
    if cluster is not None:
        return model.fit("cluster", data[cluster], adjustment=adjustment, t_reference=t_reference, outcome=outcome)
    return model.fit("robust" if robust else None, adjustment=adjustment, t_reference=t_reference, outcome=outcome)
