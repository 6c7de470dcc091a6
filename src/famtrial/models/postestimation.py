"""Post-estimation for famtrial's logit and conditional logit.

Covariance switching, Wald, t and LR tests, predictions, average marginal effects, and broom-shaped frames.

Every function takes a fitted :class:`~famtrial.models.base.ModelResults` and returns new objects;
nothing refits and nothing mutates the results. The results' methods (``fit.vcov(...)``,
``fit.wald_test(...)``, ...) call these functions.

Reference distributions: the normal (chi-squared for joint tests) unless the covariance records
``df = G - 1`` (``t_reference=True``), then t(G-1) (F(r, G-1) for joint tests).
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numba as nb
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.special import expit

from famtrial.errors import FamtrialWarning, NotIdentifiedError, PostEstimationError
from famtrial.models.covariance import Adjustment, model_based

if TYPE_CHECKING:  # base.ModelResults delegates its methods here at run time
    from famtrial.models.base import ModelResults

from famtrial._options import Comparison, CovType, JackknifeCenter, PredictScale, VcovName, check_choice

__all__ = [
    "PostEstimationError",
    "NotIdentifiedError",
    "VcovSpec",
    "WaldTest",
    "LRTest",
    "with_vcov",
    "refit_vcov",
    "vcov_columns",
    "restrictions",
    "wald_test",
    "t_test",
    "lr_test",
    "predict",
    "conditional_probabilities",
    "margins",
    "tidy",
    "glance",
]

VcovSpec = VcovName | Mapping[str, Any]
#: restrictions: text (one string, commas between restrictions), a list of strings, or (R, q)
Hypotheses = str | Sequence[str] | tuple[np.ndarray, np.ndarray]
_VCOV_NAMES: dict[str, Literal["nonrobust", "robust"]] = {
    "iid": "nonrobust",
    "nonrobust": "nonrobust",
    "hetero": "robust",
    "robust": "robust",
    "HC1": "robust",  # pyfixest's spelling of "hetero"
    "HC3": "robust",  # the leave-one-out jackknife (computed after the fit)
}


# -- covariance switching ---------------------------------------------------------------------


def parse_vcov(vcov: VcovSpec) -> tuple[CovType, Any]:
    """``"iid"``/``"hetero"``/``{"CRV1": cluster}`` -> (cov_type, cluster).

    The forms a fit's covariance is computed from directly. The jackknife (``"HC3"``, ``{"CRV3": c}``) and two-way
    clustering (``{"CRV1": "a + b"}``) are computed after the fit (:func:`refit_vcov` says which); for them this
    returns the cov_type and the cluster given (the first cluster column for two-way).
    """
    if isinstance(vcov, str):
        if vcov not in _VCOV_NAMES:
            raise PostEstimationError(
                f"vcov={vcov!r} is not one of {sorted(_VCOV_NAMES)}, {{'CRV1': column}}, {{'CRV1': 'a + b'}} "
                "or {'CRV3': column}"
            )
        return _VCOV_NAMES[vcov], None
    if isinstance(vcov, Mapping):
        keys = list(vcov)
        if keys not in (["CRV1"], ["CRV3"], ["CRV3", "center"]):
            raise PostEstimationError(
                f"vcov={dict(vcov)!r}: the dictionary forms are {{'CRV1': column}} (cluster-robust, Stata's G/(G-1) "
                "factor; see adjustment=), {'CRV1': 'a + b'} (two-way) and {'CRV3': column} (the leave-one-cluster-"
                "out jackknife; optional 'center': 'mean' or 'estimate')"
            )
        return "cluster", vcov[keys[0]]
    raise PostEstimationError(
        f"vcov must be a string, {{'CRV1': column}} or {{'CRV3': column}}; got {type(vcov).__name__}"
    )


def _two_way_columns(cluster: Any) -> list[str] | None:
    """``"office + month"`` (pyfixest's two-way spelling) -> ``["office", "month"]``; None for one cluster."""
    if isinstance(cluster, str) and "+" in cluster:
        names = [c.strip() for c in cluster.split("+")]
        if len(names) != 2 or not all(names):
            raise PostEstimationError(
                f"vcov={{'CRV1': {cluster!r}}}: two-way clustering takes exactly two columns, e.g. 'office + month'"
            )
        return names
    return None


def refit_vcov(vcov: VcovSpec | None) -> bool:
    """Whether ``vcov`` is computed after the fit by :func:`with_vcov` (jackknife, two-way) rather than by the fit."""
    if vcov is None:
        return False
    if isinstance(vcov, str):
        return vcov == "HC3"
    return isinstance(vcov, Mapping) and ("CRV3" in vcov or _two_way_columns(vcov.get("CRV1")) is not None)


def vcov_columns(vcov: VcovSpec | None) -> list[str]:
    """The data columns ``vcov`` names (the cluster column or columns)."""
    if not isinstance(vcov, Mapping):
        return []
    value = next(iter(vcov.values()), None)
    return _two_way_columns(value) or ([value] if isinstance(value, str) else [])


def _model(results: ModelResults) -> Any:
    """The estimator behind a results object (every famtrial results class keeps it as ``model``)."""
    model = getattr(results, "model", None)
    if model is None:
        raise PostEstimationError(f"{type(results).__name__} does not keep its model")
    return model


def _clogit(results: ModelResults) -> bool:
    """Whether the results are a conditional logit's (its model has per-group scores)."""
    return hasattr(_model(results), "score_groups")


def _cluster_labels(results: ModelResults, cluster: ArrayLike | str) -> tuple[np.ndarray, str | None]:
    """One cluster label per row given to the model, from a column name of ``results.data`` or an array."""
    if isinstance(cluster, str):
        if results.data is None:
            raise PostEstimationError(
                f"vcov={{'CRV1': {cluster!r}}} names a column, but these results do not keep "
                "their data (only formula fits do); pass the labels: {'CRV1': data['office']}"
            )
        if cluster not in results.data.columns:
            raise PostEstimationError(
                f"cluster column {cluster!r} is not in the data (columns: {list(results.data.columns)})"
            )
        return results.data[cluster].to_numpy(), cluster
    labels = np.asarray(cluster)
    return labels, getattr(cluster, "name", None)


def with_vcov(
    results: ModelResults, vcov: VcovSpec, *, adjustment: Adjustment = "stata", t_reference: bool = False
) -> ModelResults:
    r"""The same estimates with another covariance, as a new results object (no refit of the estimates).

    Parameters
    ----------
    results : ModelResults
        A logit or conditional-logit fit.
    vcov : {"iid", "hetero", "HC1", "HC3"}, {"CRV1": cluster}, {"CRV1": "a + b"} or {"CRV3": cluster}
        pyfixest's names.

        * ``"iid"`` (alias ``"nonrobust"``): model-based ``(-H)^-1``, Stata ``vce(oim)``.
        * ``"hetero"`` (aliases ``"robust"``, ``"HC1"``): the robust sandwich, Stata ``vce(robust)`` (factor
          N/(N-1); the conditional logit clusters on the group, as Stata's ``clogit, vce(robust)``).
        * ``"HC3"``: the leave-one-out jackknife with exact refits (:mod:`famtrial.models.jackknife`): each row of
          a logit, each group of a conditional logit left out in turn; Stata ``vce(jackknife)``.
        * ``{"CRV1": c}``: cluster-robust sandwich, Stata ``vce(cluster c)`` (factor G/(G-1)), with ``c`` a
          column of ``results.data`` or one label per row given to the model; R ``sandwich::vcovCL(fit,
          cluster = ~c, type = "HC0")``.
        * ``{"CRV1": "a + b"}``: two-way clustering (Cameron, Gelbach and Miller), each dimension's own
          factor (:func:`famtrial.models.covariance.two_way`); R ``vcovCL(fit, cluster = ~ a + b, type = "HC0")``.
          With a conditional logit both columns must be constant within groups.
        * ``{"CRV3": c}``: the leave-one-cluster-out jackknife with refits of the same model, Stata
          ``vce(jackknife, cluster(c))``; ``{"CRV3": c, "center": "estimate"}`` centres on the full-sample
          estimate (Stata's ``mse``) instead of the replicates' mean.
    adjustment : {"stata", "statsmodels", "none"}
        Finite-sample factor of the sandwiches (see :mod:`famtrial.models.covariance`); the jackknife's is
        (G-1)/G whatever this says.
    t_reference : bool
        Record t(G-1) as the reference distribution (few clusters; for two-way G is the smaller dimension's).

    Notes
    -----
    The bread is ``(-H)^-1`` at the estimates and the scores are recomputed from the model, so the
    result equals a fit with that covariance (tested). pweight fits have no model-based covariance.
    """
    cov_type, cluster = parse_vcov(vcov)
    model = _model(results)
    params = results.params.to_numpy()
    name = None
    two_way = _two_way_columns(cluster) if cov_type == "cluster" else None
    if vcov == "HC3" or (isinstance(vcov, Mapping) and "CRV3" in vcov):
        cov, name = _jackknife(results, model, vcov, cluster, t_reference)
    elif two_way is not None:
        cov = _two_way(results, model, params, two_way, adjustment, t_reference)
        name = " + ".join(two_way)
    elif cov_type == "nonrobust":
        if getattr(model, "weight_type", None) == "pweight":
            raise PostEstimationError(
                "vcov='iid' is not valid with pweights (a pseudo-likelihood): use 'hetero' "
                "or {'CRV1': cluster}, as Stata"
            )
        if t_reference:
            raise PostEstimationError("t_reference=True needs a cluster covariance (it uses t(G-1))")
        cov = model_based(np.linalg.inv(-model.derivatives(params)[2]))
    elif cov_type == "robust":
        cov = model.robust_covariance(params, None, adjustment=adjustment, t_reference=t_reference)
    else:
        labels, name = _cluster_labels(results, cluster)
        rows = (
            model.clusters_of_groups(labels) if hasattr(model, "clusters_of_groups") else model.clusters_of_rows(labels)
        )
        cov = model.robust_covariance(params, rows, adjustment=adjustment, t_reference=t_reference)
    info = tuple((k, v) for k, v in results.info if k != "Clusters")
    if cov.cov_type == "cluster" and cov_type == "cluster":
        g = f"{cov.n_clusters:,}" if not cov.n_clusters_by else " and ".join(f"{n:,}" for n in cov.n_clusters_by[:2])
        info = (*info, ("Clusters", g))
    return dataclasses.replace(results, covariance=cov, info=info, cluster_name=name)


def _unit_labels(model: Any, labels: np.ndarray, what: str) -> np.ndarray:
    """One label per row the fit used (logit) or per kept group (conditional logit), from one per input row."""
    try:
        if hasattr(model, "clusters_of_groups"):
            out: np.ndarray = model.clusters_of_groups(labels)
        else:
            out = model.clusters_of_rows(labels)
    except ValueError as err:
        raise PostEstimationError(f"{what}: {err}") from None
    return out


def _two_way(
    results: ModelResults,
    model: Any,
    params: np.ndarray,
    columns: list[str],
    adjustment: Adjustment,
    t_reference: bool,
) -> Any:
    """Two-way cluster-robust covariance of the fit on two columns of its data."""
    from famtrial.models.covariance import two_way

    first, second = (
        _unit_labels(model, _cluster_labels(results, c)[0], f"two-way cluster column {c!r}") for c in columns
    )
    clogit = hasattr(model, "score_groups")
    scores = model.score_groups(params) if clogit else model.score_obs(params)
    bread = np.linalg.inv(-model.derivatives(params)[2])
    return two_way(bread, scores, first, second, adjustment=adjustment, nobs=model.nobs, t_reference=t_reference)


def _jackknife(
    results: ModelResults, model: Any, vcov: VcovSpec, cluster: Any, t_reference: bool
) -> tuple[Any, str | None]:
    """The HC3 or CRV3 jackknife covariance (refits) and the cluster's name."""
    from famtrial.models.jackknife import jackknife_covariance

    if not hasattr(model, "exog_names") or not hasattr(model, "endog"):
        raise PostEstimationError(f"the jackknife refits the model; {type(results).__name__} does not keep one")
    clogit = hasattr(model, "score_groups")
    if vcov == "HC3":
        units = np.repeat(np.arange(model.n_groups), model.group_sizes) if clogit else np.arange(len(model.endog))
        return jackknife_covariance(results, units, clustered=False, t_reference=t_reference), None
    assert isinstance(vcov, Mapping)
    center = vcov.get("center", "mean")
    check_choice(center, JackknifeCenter, "vcov['center']", PostEstimationError)
    if _two_way_columns(cluster) is not None:
        raise PostEstimationError(
            f"vcov={dict(vcov)!r}: the CRV3 jackknife takes one cluster column (two-way: {{'CRV1': 'a + b'}})"
        )
    labels, name = _cluster_labels(results, cluster)
    units = _unit_labels(model, labels, "CRV3 cluster")
    if clogit:
        units = np.repeat(units, model.group_sizes)
    cov = jackknife_covariance(results, units, clustered=True, center=center, t_reference=t_reference)
    return cov, name


# -- linear restrictions ----------------------------------------------------------------------
def _equation(lhs: str, rhs: str, names: list[str]) -> tuple[np.ndarray, float]:
    """One restriction ``lhs = rhs`` as (row of R, q), read by formulaic's ``LinearConstraints``.

    The parameter names in ``lhs``/``rhs`` are already quoted in backticks; each side is parenthesised so
    that a signed right-hand side (``= -1``) reads as one.
    """
    from formulaic.utils.constraints import LinearConstraints

    spec = LinearConstraints.from_spec(f"({lhs}) = ({rhs})", variable_names=names)
    return np.asarray(spec.constraint_matrix, dtype=float)[0], float(spec.constraint_values[0])


def restrictions(names: Sequence[str], hypotheses: Hypotheses) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Restriction matrix ``R``, right-hand side ``q`` and labels from text, as statsmodels' ``wald_test``.

    ``hypotheses`` is one string (restrictions separated by commas), a list of strings, or an
    ``(R, q)`` pair. Each restriction is a linear equation in the parameter names, e.g.
    ``"local = holf"``, ``"2*local - holf = 1"``, ``"(a + b)/2 = c"``, ``"a = b = c"`` (two restrictions:
    a = b and b = c; ``==`` reads as ``=``) or ``"a"`` (``a = 0``). Names are matched whole (longest
    first), so ``C(month)[T.2016-10]`` can be written as is. Each equation is read by formulaic's
    ``LinearConstraints`` (the parser of ``formulaic.utils.constraints``, also statsmodels' and
    pyfixest's syntax); famtrial adds the chains, ``==``, whole-name matching and the error messages.
    """
    from formulaic.errors import FormulaSyntaxError

    names = list(names)
    k = len(names)
    if isinstance(hypotheses, tuple) and len(hypotheses) == 2 and not isinstance(hypotheses[0], str):
        r = np.atleast_2d(np.asarray(hypotheses[0], dtype=float))
        q = np.atleast_1d(np.asarray(hypotheses[1], dtype=float))
        if r.shape[1] != k or r.shape[0] != len(q):
            raise PostEstimationError(f"R has shape {r.shape} and q {q.shape}; expected (r, {k}) and (r,) for {names}")
        return r, q, [f"R[{i}] b = {q[i]:g}" for i in range(len(q))]
    items = [hypotheses] if isinstance(hypotheses, str) else list(hypotheses)
    texts = [t.strip() for item in items for t in item.split(",") if t.strip()]
    if not texts:
        raise PostEstimationError("no restriction given; e.g. wald_test('treat_a = treat_b') or wald_test('x')")
    pattern = re.compile("|".join(f"(?<![\\w.]){re.escape(n)}(?![\\w.])" for n in sorted(names, key=len, reverse=True)))
    rows: list[np.ndarray] = []
    rhs: list[float] = []
    labels: list[str] = []
    for text in texts:
        quoted = pattern.sub(lambda m: f"`{m.group(0)}`", text)
        sides = [side.strip() for side in quoted.replace("==", "=").split("=")]
        if len(sides) == 1:
            sides.append("0")
        for lhs, right in zip(sides[:-1], sides[1:]):
            try:
                row, value = _equation(lhs, right, names)
            except (FormulaSyntaxError, KeyError, RuntimeError, ValueError):
                unquoted = re.sub(r"`[^`]*`", " ", f"{lhs} {right}")
                unknown = sorted(set(re.findall(r"[A-Za-z_][\w.]*", unquoted)))
                hint = f"unknown terms {unknown}; " if unknown else ""
                raise PostEstimationError(
                    f"cannot read restriction {text!r} ({hint}the parameters are {names}); "
                    "write a linear equation such as 'a = b' or '2*a - b = 0'"
                ) from None
            if not row.any():
                raise PostEstimationError(f"restriction {text!r} involves no parameter (parameters: {names})")
            rows.append(row)
            rhs.append(value)
            labels.append(text if len(sides) == 2 else f"{text} [{len(labels) + 1}]")
    r = np.vstack(rows)
    if np.linalg.matrix_rank(r) < len(r):
        raise PostEstimationError(f"the {len(r)} restrictions {texts} are linearly dependent; drop the redundant ones")
    return r, np.asarray(rhs), labels


@dataclass(frozen=True)
class WaldTest:
    """A joint Wald test of ``R b = q`` with the results' covariance V.

    ``statistic`` is ``W = (Rb - q)' (R V R')^-1 (Rb - q)`` (chi2(r)) or, under a t(G-1)
    reference, ``F = W / r`` compared with F(r, G-1). When ``R V R'`` has rank below the number of
    restrictions (a cluster-robust V has rank at most G - 1), the restrictions it cannot test are
    ``dropped`` (as Stata's ``test``: "Constraint 2 dropped") and ``df_num`` is the number kept.
    """

    statistic: float
    df_num: int
    df_denom: int | None
    pvalue: float
    distribution: Literal["chi2", "F"]
    restrictions: tuple[str, ...]
    dropped: tuple[str, ...] = ()

    def __str__(self) -> str:
        dist = f"chi2({self.df_num})" if self.df_denom is None else f"F({self.df_num}, {self.df_denom})"
        text = f"Wald test of {'; '.join(self.restrictions)}: {dist} = {self.statistic:.6g}, p = {self.pvalue:.6g}"
        if self.dropped:
            text += f" ({len(self.dropped)} dropped, the covariance cannot test them: {'; '.join(self.dropped)})"
        return text

    def _repr_html_(self) -> str:
        from famtrial.models.summary import test_html

        dist = f"chi2({self.df_num})" if self.df_denom is None else f"F({self.df_num}, {self.df_denom})"
        return test_html("Wald test", self.restrictions, dist, self.statistic, self.pvalue)


#: A restriction whose variance, net of the restrictions kept before it, is below this share of its own
#: variance is linearly dependent on them in the covariance's metric and is dropped.
RANK_TOLERANCE = 1e-10


def _estimable(m: np.ndarray) -> list[int]:
    """The restrictions kept, in order: each whose variance given the kept ones is not ~0 (``m = R V R'``)."""
    kept: list[int] = []
    for j in range(m.shape[0]):
        own = m[j, j]
        if not own > 0:
            continue
        if kept:
            cross = m[kept, j]
            own = own - float(cross @ np.linalg.solve(m[np.ix_(kept, kept)], cross))
        if own > RANK_TOLERANCE * m[j, j]:
            kept.append(j)
    return kept


def wald_test(results: ModelResults, hypotheses: Hypotheses) -> WaldTest:
    """Joint Wald test of linear restrictions with the results' covariance and reference distribution.

    Stata: ``test local = holf`` after ``logit``/``clogit`` (chi2; with a t(G-1) reference the F
    form ``W/r`` against F(r, G-1), as Stata's ``test`` after a clustered linear regression).
    R: ``car::linearHypothesis(fit, "local = holf", vcov. = V, test = "Chisq")``.

    Rank. ``R V R'`` must be invertible; a cluster-robust V has rank at most G - 1, so more than G - 1
    restrictions (e.g. 23 month effects with 22 clusters) cannot all be tested. The restrictions are
    taken in order and each one whose variance, net of those kept before it, is below
    :data:`RANK_TOLERANCE` of its own is dropped (Stata's ``test`` drops constraints the same way and
    says so); the test is of the estimable part, ``df`` the number kept, and the dropped ones are
    listed in the result and in a :class:`~famtrial.errors.FamtrialWarning`. R's
    ``car::linearHypothesis`` refuses such a test. The statistic is never negative.
    """
    r, q, labels = restrictions(results.params.index, hypotheses)
    diff = r @ results.params.to_numpy() - q
    m = r @ results.covariance.matrix @ r.T
    kept = _estimable(m)
    if not kept:
        raise PostEstimationError(
            f"no restriction of {'; '.join(labels)} can be tested: R V R' is zero (the covariance gives "
            "the restricted combinations no variance)"
        )
    dropped = tuple(label for j, label in enumerate(labels) if j not in kept)
    if dropped:
        limit = f" (a cluster-robust V has rank at most G - 1 = {results.n_clusters - 1})" if results.n_clusters else ""
        warnings.warn(
            f"R V R' has rank {len(kept)} < {len(labels)} restrictions{limit}: testing the {len(kept)} estimable "
            f"ones and dropping {len(dropped)}: {'; '.join(dropped)}",
            FamtrialWarning,
            stacklevel=3,
        )
    w = max(0.0, float(diff[kept] @ np.linalg.solve(m[np.ix_(kept, kept)], diff[kept])))
    rank, df = len(kept), results.covariance.df
    if df is None:
        return WaldTest(w, rank, None, float(stats.chi2.sf(w, rank)), "chi2", tuple(labels), dropped)
    f = w / rank
    return WaldTest(f, rank, df, float(stats.f.sf(f, rank, df)), "F", tuple(labels), dropped)


def t_test(results: ModelResults, hypotheses: Hypotheses, alpha: float = 0.05) -> pd.DataFrame:
    """Each restriction separately: ``estimate = Rb - q``, its SE ``sqrt(R V R')``, z (or t), p and interval.

    Stata: ``lincom local - holf``. Columns ``estimate, se, z (t), p, ci_low, ci_high``.
    """
    r, q, labels = restrictions(results.params.index, hypotheses)
    est = r @ results.params.to_numpy() - q
    se = np.sqrt(np.einsum("ij,jk,ik->i", r, results.covariance.matrix, r))
    dist = results.reference_distribution()
    z = est / se
    crit = dist.ppf(1 - alpha / 2)
    stat = "z" if results.covariance.df is None else "t"
    return pd.DataFrame(
        {
            "estimate": est,
            "se": se,
            stat: z,
            "p": 2 * dist.sf(np.abs(z)),
            "ci_low": est - crit * se,
            "ci_high": est + crit * se,
        },
        index=pd.Index(labels, name="restriction"),
    )


@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio test ``2 (llf_full - llf_restricted)`` ~ chi2(df)."""

    statistic: float
    df: int
    pvalue: float
    restricted: tuple[str, ...]

    def __str__(self) -> str:
        return f"LR test: chi2({self.df}) = {self.statistic:.6g}, p = {self.pvalue:.6g}"

    def _repr_html_(self) -> str:
        from famtrial.models.summary import test_html

        restricted = tuple(f"{name} = 0" for name in self.restricted)
        return test_html("Likelihood-ratio test", restricted, f"chi2({self.df})", self.statistic, self.pvalue)


def lr_test(results: ModelResults, other: ModelResults, *, force: bool = False) -> LRTest:
    """Likelihood-ratio test of two nested fits of the same model on the same observations.

    The fit with fewer parameters is the restricted one; its terms must all appear in the other.
    As Stata's ``lrtest``, the test is refused after a robust or cluster covariance or pweights
    (the likelihood does not describe the data's dependence) unless ``force=True``.
    R: ``anova(restricted, full, test = "LRT")`` or ``lmtest::lrtest``.
    """
    if type(results) is not type(other):
        raise PostEstimationError(
            f"lr_test compares fits of one model; got {type(results).__name__} and {type(other).__name__}"
        )
    if results.nobs != other.nobs:
        raise PostEstimationError(
            f"the fits use different observations ({results.nobs:,} and {other.nobs:,}); "
            "an LR test needs the same estimation sample"
        )
    small, big = sorted((results, other), key=lambda f: len(f.params))
    extra = [t for t in small.params.index if t not in big.params.index]
    if extra or len(small.params) == len(big.params):
        raise PostEstimationError(
            "the fits are not nested: "
            + (
                f"terms {extra} of the smaller fit are not in the larger one"
                if extra
                else "both have the same number of parameters"
            )
        )
    if not force:
        for f in (small, big):
            weighted = getattr(getattr(f, "model", None), "weight_type", None) == "pweight"
            if f.cov_type != "nonrobust" or weighted:
                raise PostEstimationError(
                    "LR test likely invalid after a robust/cluster covariance or pweights "
                    "(Stata's lrtest refuses too): use wald_test, or lr_test(..., force=True)"
                )
    stat = 2.0 * (big.llf - small.llf)
    df = len(big.params) - len(small.params)
    return LRTest(
        stat, df, float(stats.chi2.sf(stat, df)), tuple(t for t in big.params.index if t not in small.params.index)
    )


# -- predictions ------------------------------------------------------------------------------
def _design(results: ModelResults, frame: pd.DataFrame) -> np.ndarray:
    """The model's design matrix (kept columns, in order) for the rows of ``frame``."""
    names = list(results.params.index)
    if results.design is not None:
        mm = results.design.get_model_matrix(frame, na_action="raise")
        missing = [n for n in names if n not in mm.columns]
        if missing:
            raise PostEstimationError(
                f"the new data do not produce the columns {missing} (e.g. a level of a C() "
                "term the fit used is absent); give data with those levels"
            )
        design: np.ndarray = mm[names].to_numpy(dtype=float)
        return design
    cols = [n for n in names if n != "Intercept"]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise PostEstimationError(f"columns {missing} are not in the data (the model's regressors: {cols})")
    x = frame[cols].to_numpy(dtype=float)
    return np.column_stack([np.ones(len(frame)), x]) if "Intercept" in names else x


def _estimation_index(results: ModelResults) -> pd.Index:
    rows = _model(results).used_rows
    return results.data.index[rows] if results.data is not None else pd.Index(rows, name="row")


@nb.njit(cache=True)
def _cond_prob_kernel(eta: np.ndarray, starts: np.ndarray, ones: np.ndarray) -> np.ndarray:  # pragma: no cover
    out = np.empty(eta.shape[0])
    for g in range(starts.shape[0] - 1):
        s, e = starts[g], starts[g + 1]
        t_len = e - s
        k = ones[g]
        if k == 0 or k == t_len:
            out[s:e] = 0.0 if k == 0 else 1.0
            continue
        flip = 2 * k > t_len
        kk = t_len - k if flip else k
        v = -eta[s:e] if flip else eta[s:e].copy()
        w = np.exp(v - v.max())
        pre = np.zeros((t_len + 1, kk + 1))
        suf = np.zeros((t_len + 2, kk + 1))
        pre[0, 0] = 1.0
        for t in range(t_len):
            pre[t + 1, 0] = 1.0
            for j in range(1, kk + 1):
                pre[t + 1, j] = pre[t, j] + w[t] * pre[t, j - 1]
        suf[t_len + 1, 0] = 1.0
        suf[t_len, 0] = 1.0
        for t in range(t_len - 1, -1, -1):
            suf[t + 1, 0] = 1.0
            for j in range(1, kk + 1):
                suf[t + 1, j] = suf[t + 2, j] + w[t] * suf[t + 2, j - 1]
        ek = pre[t_len, kk]
        for t in range(t_len):
            acc = 0.0
            for a in range(kk):
                acc += pre[t, a] * suf[t + 2, kk - 1 - a]
            p = w[t] * acc / ek
            out[s + t] = 1.0 - p if flip else p
    return out


def conditional_probabilities(eta: np.ndarray, groups: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Each row's probability of a positive outcome within its group, given the group's total.

    For group g with k_g ones among rows with ``w_t = exp(eta_t)``::

        P(y_t = 1 | sum_s y_s = k_g) = w_t e_{k_g - 1}(w_{-t}) / e_{k_g}(w)

    (e_k the elementary symmetric polynomial; ``w_{-t}`` all weights but row t), which is
    ``d log e_k / d eta_t`` and sums to k_g within the group; 0 or 1 for groups with k_g = 0 or
    k_g = T_g. With one positive per group it is ``w_t / sum_s w_s``: Stata's ``predict, pc1``.
    Computed with prefix and suffix polynomials (weights scaled by the group maximum), on the
    complement when k_g > T_g / 2.
    """
    eta = np.asarray(eta, dtype=float)
    codes, _ = pd.factorize(np.asarray(groups), sort=False)
    order = np.argsort(codes, kind="stable")
    sc = codes[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(sc)) + 1, [len(sc)])).astype(np.int64)
    ones = np.add.reduceat(np.asarray(y, dtype=np.int64)[order], starts[:-1]) if len(sc) else np.zeros(0, np.int64)
    prob = _cond_prob_kernel(eta[order], starts, ones.astype(np.int64))
    if not np.isfinite(prob).all():
        raise PostEstimationError(
            "conditional probabilities overflowed: linear predictors within a group span "
            "more than ~700; check the regressors' scaling"
        )
    out = np.empty_like(prob)
    out[order] = prob
    return out


def predict(results: ModelResults, data: pd.DataFrame | None = None, which: PredictScale = "prob") -> pd.Series:
    r"""Predictions on the estimation rows (``data=None``) or on new data.

    Logit: ``which="prob"`` gives ``P(y = 1) = logistic(x'b + offset)`` (Stata ``predict, pr``;
    R ``predict(fit, type = "response")``); ``"linear"`` gives ``x'b + offset`` (Stata ``xb``,
    R ``type = "link"``). New data get no offset.

    Conditional logit: ``"linear"`` is ``x'b`` without the group effect, which is conditioned out
    and not estimated (Stata ``predict, xb``); ``"prob"`` is each row's probability of a positive
    outcome within its group *given the group's number of positives*
    (:func:`conditional_probabilities`; Stata ``pc1`` when each group has one positive). It needs
    the outcome and group of every row: the estimation rows, or new data holding the outcome and
    the ``fixed_effects`` column of a formula fit. Unconditional probabilities P(y = 1) are not
    identified without the fixed effects.

    Returns a Series indexed by the rows' labels (the data's index, or row positions).
    """
    check_choice(which, PredictScale, "which", PostEstimationError)
    model = _model(results)
    clogit = hasattr(model, "score_groups")
    b = results.params.to_numpy()
    if data is None:
        if clogit:
            # the rows used (informative groups), sorted by group: aligned with used_rows
            eta = model.linear_predictor(b)
            if which == "prob":
                eta = conditional_probabilities(
                    eta, np.repeat(np.arange(model.n_groups), model.group_sizes), model.endog
                )
            return pd.Series(eta, index=_estimation_index(results), name=which)
        eta = model.exog @ b + model.offset
        index = _estimation_index(results)
    else:
        eta = _design(results, data) @ b
        index = data.index
        if clogit and which == "prob":
            group = results.fixed_effects
            if group is None or group not in data.columns or results.outcome not in data.columns:
                raise PostEstimationError(
                    "conditional probabilities need each row's outcome and group: give data with "
                    f"the outcome column {results.outcome!r} and the group column "
                    f"({group or 'known only for formula fits'})"
                )
            return pd.Series(
                conditional_probabilities(eta, data[group].to_numpy(), data[results.outcome].to_numpy()),
                index=index,
                name="prob",
            )
    if clogit or which == "linear":
        return pd.Series(eta, index=index, name="linear")
    return pd.Series(expit(eta), index=index, name="prob")


# -- average marginal effects -----------------------------------------------------------------
def margins(
    results: ModelResults,
    variables: str | Sequence[str] | None = None,
    *,
    discrete: bool | Sequence[str] = False,
    alpha: float = 0.05,
    by: str | None = None,
    at: Mapping[str, Any] | None = None,
    comparison: Comparison = "difference",
) -> pd.DataFrame:
    r"""Average marginal effects (risk differences or risk ratios) of a logit, with delta-method standard errors.

    For variable v and estimation rows i (weights w_i when the fit is weighted; else 1):

    * derivative (Stata ``margins, dydx(v)`` with ``c.v``; the default)::

          AME_v = sum_i w_i p_i (1 - p_i) (dX_i/dv) b / sum_i w_i

      where ``dX_i/dv`` is the derivative of the row's design with respect to v (the unit vector
      of v's coefficient for a plain regressor; central differences through a formula's
      transformations and interactions);
    * discrete change (Stata ``margins, dydx(v)`` with ``i.v``, a 0/1 variable: ``discrete=True``
      or v listed in ``discrete``)::

          AME_v = sum_i w_i [p_i(v = 1) - p_i(v = 0)] / sum_i w_i

      the average risk difference, in probability units (x 100: percentage points);
    * contrasts of a multi-level category (a ``C()`` term or a text column of a formula fit, listed in
      ``discrete``): one row per level l but the base (the first sorted level, the treatment coding's),
      ``sum_i w_i [p_i(v = l) - p_i(v = base)] / sum_i w_i`` (Stata ``margins r(b).v``, i.e. ``dydx(i.v)``;
      marginaleffects ``avg_comparisons(fit, variables = "v")``);
    * ``comparison="ratio"``: for discrete changes and contrasts the risk ratio of the averages
      ``sum_i w_i p_i(v = l) / sum_i w_i p_i(v = base)`` (marginaleffects ``comparison = "ratioavg"``;
      Stata ``margins v, ...`` then ``nlcom _b[1.v]/_b[0.v]``), its interval on the ratio scale (delta method).

    ``by="col"``: the same averages within each level of a column of the data (rows of the level only; Stata
    ``margins, dydx(v) over(col)``; marginaleffects ``by = "col"``). ``at={"col": value or list}``: every
    estimation row's ``col`` set to each value (all combinations of several columns), then averaged: effects at
    representative values (Stata ``margins, dydx(v) at(col = (a b))``; marginaleffects ``newdata =
    datagrid(col = ..., grid_type = "counterfactual")``).

    The standard error is the delta method ``sqrt(g' V g)``, g the gradient of the estimate with respect
    to b and V the results' covariance (cluster-robust when the fit is), treating the regressors
    as fixed: Stata's default ``vce(delta)``; R ``marginaleffects::avg_slopes(fit, vcov = ~office)``
    (slopes for numeric v, ``avg_comparisons`` for the changes). p-values and intervals use the
    results' reference distribution (normal, or t(G-1)); the ratio's z tests ratio = 1.

    Parameters
    ----------
    results : ModelResults
        A logit fit (column or formula form); after a conditional logit this raises
        :class:`NotIdentifiedError` (below).
    variables : str or sequence of str, optional
        Regressors (columns of the data for a formula fit). Default: every term but the intercept
        (column fits) or every numeric variable of the formula's right-hand side.
    discrete : bool or sequence of str
        ``True``: all ``variables`` as 0/1 discrete changes (contrasts for multi-level categories); a list:
        those variables only.
    alpha : float
        1 - confidence level.
    by : str, optional
        A column of the fit's data: one row per variable and level (formula fits).
    at : mapping of str to value or list, optional
        Columns of the data set to representative values (formula fits).
    comparison : {"difference", "ratio"}
        Discrete changes and contrasts as differences of average probabilities (default) or their ratio.

    Returns
    -------
    DataFrame
        Indexed by variable: ``ame`` (``ratio`` under ``comparison="ratio"``), ``se``, ``z`` (or ``t``), ``p``,
        ``ci_low``, ``ci_high``, ``type`` (``derivative``, ``discrete 0 -> 1``, ``contrast B - A`` or
        ``ratio B / A``); with ``by`` a column of that name, with ``at`` one column per ``at`` key, first.

    Raises
    ------
    NotIdentifiedError
        After a conditional logit: the marginal effect ``p(1 - p) b`` needs each group's fixed
        effect, which the conditional likelihood conditions out and never estimates, so average
        partial effects are not identified (only the odds ratio exp(b) is). Use the linear
        probability model with the same fixed effects (:func:`famtrial.models.lpm`), whose
        coefficient is an average effect in probability units.
    """
    model = _model(results)
    if hasattr(model, "score_groups"):
        raise NotIdentifiedError(
            "average marginal effects are not identified after a conditional (fixed-effects) logit: the effect on "
            "P(y = 1) depends on each group's fixed effect, which the conditional likelihood conditions out and does "
            "not estimate; only the odds ratio exp(b) is identified. For effects in probability units fit the linear "
            "probability model with the same fixed effects (famtrial.models.lpm)"
        )
    check_choice(comparison, Comparison, "comparison", PostEstimationError)
    frame = results.data.iloc[model.used_rows] if results.design is not None and results.data is not None else None
    variables, disc = _margins_variables(results, frame, variables, discrete)
    if comparison == "ratio" and set(variables) - disc:
        raise PostEstimationError(
            f"comparison='ratio' is a ratio of average probabilities at two values: {sorted(set(variables) - disc)} "
            "are derivatives; list them in discrete= (0/1 or categories) or use comparison='difference'"
        )
    grid, groups = _margins_grid(frame, by, at, len(model.endog))
    w_all = model.weights if model.weights is not None else np.ones(len(model.endog))
    rows, keys = [], []
    for at_values in grid:
        rows_frame = frame.assign(**at_values) if at_values and frame is not None else frame
        for level, mask in groups:
            w = np.where(mask, w_all, 0.0)
            w = w / w.sum()
            for v in variables:
                for est, grad, kind in _effects_of(results, model, rows_frame, v, w, v in disc, comparison):
                    se = float(np.sqrt(grad @ results.covariance.matrix @ grad))
                    rows.append((v, est, se, kind))
                    keys.append({**({by: level} if by is not None else {}), **at_values})
    out = _effects_frame(results, rows, alpha, null=1.0 if comparison == "ratio" else 0.0)
    if comparison == "ratio":
        out = out.rename(columns={"ame": "ratio"})
    if by is not None or at:
        front = pd.DataFrame(keys, index=out.index)
        out = pd.concat([front, out], axis=1)
    return out


def _margins_grid(
    frame: pd.DataFrame | None, by: str | None, at: Mapping[str, Any] | None, n: int
) -> tuple[list[dict[str, Any]], list[tuple[Any, np.ndarray]]]:
    """The ``at`` combinations (a list of column -> value) and the ``by`` groups (level, row mask) of :func:`margins`.

    ``n`` is the number of estimation rows.
    """
    if (by is not None or at) and frame is None:
        raise PostEstimationError(
            "margins(by=, at=) reads columns of the fit's data: fit with a formula (famtrial.logit('y ~ ...', data))"
        )
    groups: list[tuple[Any, np.ndarray]] = [(None, np.ones(n, dtype=bool))]
    if by is not None:
        assert frame is not None
        if not isinstance(by, str) or by not in frame.columns:
            raise PostEstimationError(f"margins: by={by!r} is not a column of the fit's data ({list(frame.columns)})")
        values = frame[by].to_numpy()
        groups = [(level, values == level) for level in sorted(pd.unique(values))]
    grid: list[dict[str, Any]] = [{}]
    if at:
        assert frame is not None
        if not isinstance(at, Mapping):
            raise PostEstimationError(
                f"margins: at= is a mapping column -> value(s), e.g. {{'age': [30, 40]}}; got {at!r}"
            )
        missing = [c for c in at if c not in frame.columns]
        if missing:
            raise PostEstimationError(
                f"margins: at= columns {missing} are not in the fit's data ({list(frame.columns)})"
            )
        for column, values in at.items():
            values = list(values) if isinstance(values, (list, tuple, np.ndarray, pd.Series)) else [values]
            if not values:
                raise PostEstimationError(f"margins: at={{{column!r}: []}} gives no value")
            grid = [{**g, column: v} for g in grid for v in values]
    return grid, groups


def _effects_of(
    results: ModelResults, model: Any, frame: pd.DataFrame | None, v: str, w: np.ndarray, disc: bool, comparison: str
) -> list[tuple[float, np.ndarray, str]]:
    """The estimates of variable ``v`` (one, or one per non-base level of a category): (estimate, gradient, type)."""
    if not disc:
        ame, grad = _derivative(results, model, frame, v, w)
        return [(ame, grad, "derivative")]
    if frame is None:  # a column fit: the regressor's own column
        if not np.isin(model.exog[:, list(results.params.index).index(v)], (0, 1)).all():
            raise PostEstimationError(
                f"margins: {v!r} is not 0/1, so it has no discrete 0 -> 1 change; drop it from discrete= to get the "
                "derivative"
            )
    elif not (pd.api.types.is_numeric_dtype(frame[v]) and np.isin(frame[v].to_numpy(), (0, 1)).all()):
        if v not in results.design.categorical_variables and pd.api.types.is_numeric_dtype(frame[v]):
            raise PostEstimationError(
                f"margins: {v!r} is not 0/1, so it has no discrete 0 -> 1 change; drop it from discrete= to get the "
                f"derivative, or enter it as C({v}) for contrasts of its levels"
            )
        data = results.data if results.data is not None else frame
        levels = sorted(pd.unique(data[v].dropna()))  # the fit's levels (all rows), base first
        return [_change(results, model, frame, v, w, lev, levels[0], comparison) for lev in levels[1:]]
    return [_change(results, model, frame, v, w, 1, 0, comparison)]


def _change(
    results: ModelResults, model: Any, frame: pd.DataFrame | None, v: str, w: np.ndarray, hi: Any, lo: Any, how: str
) -> tuple[float, np.ndarray, str]:
    """The average change of P(y = 1) from ``v = lo`` to ``v = hi`` (difference or ratio) and its gradient in b."""
    b = results.params.to_numpy()
    if frame is not None:
        dtype = frame[v].dtype
        x1 = _design(results, frame.assign(**{v: pd.Series([hi] * len(frame), index=frame.index).astype(dtype)}))
        x0 = _design(results, frame.assign(**{v: pd.Series([lo] * len(frame), index=frame.index).astype(dtype)}))
    else:
        names = list(results.params.index)
        j = names.index(v)
        x1, x0 = model.exog.copy(), model.exog.copy()
        x1[:, j], x0[:, j] = 1.0, 0.0
    off = model.offset
    p1, p0 = expit(x1 @ b + off), expit(x0 @ b + off)
    m1, m0 = float(w @ p1), float(w @ p0)
    g1, g0 = (w * p1 * (1 - p1)) @ x1, (w * p0 * (1 - p0)) @ x0
    binary = (hi, lo) == (1, 0)
    if how == "ratio":
        return m1 / m0, (g1 * m0 - m1 * g0) / m0**2, "ratio 1 / 0" if binary else f"ratio {hi} / {lo}"
    return m1 - m0, g1 - g0, "discrete 0 -> 1" if binary else f"contrast {hi} - {lo}"


def _margins_variables(
    results: ModelResults, frame: pd.DataFrame | None, variables: str | Sequence[str] | None, discrete: Any
) -> tuple[list[str], set[str]]:
    """The variables of :func:`margins` (checked against the model's) and those taken as discrete changes.

    ``frame``: a formula fit's estimation rows (None for a column fit, whose variables are its terms).
    """
    names = list(results.params.index)
    if frame is not None:
        candidates = [v for v in results.design.rhs_variables if v in frame.columns]
        categorical = {
            v
            for v in candidates
            if v in results.design.categorical_variables or not pd.api.types.is_numeric_dtype(frame[v])
        }
    else:
        candidates = [n for n in names if n != "Intercept"]
        categorical = set()
    if variables is None:
        variables = [v for v in candidates if v not in categorical]
    variables = [variables] if isinstance(variables, str) else list(variables)
    unknown = [v for v in variables if v not in candidates]
    if unknown:
        raise PostEstimationError(f"margins: {unknown} are not regressors of the model (choose from {candidates})")
    disc = set(variables) if discrete is True else set() if discrete is False else set(discrete)
    if disc - set(variables):
        raise PostEstimationError(f"discrete={sorted(disc - set(variables))} are not among the variables {variables}")
    no_slope = sorted((categorical & set(variables)) - disc)
    if no_slope:
        raise PostEstimationError(
            f"margins: {no_slope} enter as categories (C() or non-numeric), which have no "
            "derivative; list them in discrete= for the 0 -> 1 change or the contrasts of their levels"
        )
    return variables, disc


def _derivative(
    results: ModelResults, model: Any, frame: pd.DataFrame | None, v: str, w: np.ndarray
) -> tuple[float, np.ndarray]:
    """The average derivative of P(y = 1) with respect to ``v`` and its gradient with respect to b."""
    names, b, x, off = list(results.params.index), results.params.to_numpy(), model.exog, model.offset
    if frame is not None:
        col = frame[v].to_numpy(dtype=float)
        h = 1e-6 * (np.abs(col) + 1)  # exact for terms linear or quadratic in v
        dx = _design(results, frame.assign(**{v: col + h})) - _design(results, frame.assign(**{v: col - h}))
        dx /= (2 * h)[:, None]
    else:
        dx = np.zeros_like(x)
        dx[:, names.index(v)] = 1.0
    if frame is not None:  # the rows as given (``at=`` values set), not the estimation design
        x = _design(results, frame)
    p = expit(x @ b + off)
    s = p * (1 - p)
    slope = dx @ b
    return float(w @ (s * slope)), (w * s) @ dx + (w * s * (1 - 2 * p) * slope) @ x


def _effects_frame(
    results: ModelResults, rows: list[tuple[str, float, float, str]], alpha: float, null: float = 0.0
) -> pd.DataFrame:
    """The effects with their z (or t) statistics against ``null``, p-values and intervals under the results' reference."""
    dist = results.reference_distribution()
    frame_out = pd.DataFrame(rows, columns=["variable", "ame", "se", "type"]).set_index("variable")
    stat = "z" if results.covariance.df is None else "t"
    frame_out[stat] = (frame_out["ame"] - null) / frame_out["se"]
    frame_out["p"] = 2 * dist.sf(np.abs(frame_out[stat]))
    crit = dist.ppf(1 - alpha / 2)
    frame_out["ci_low"] = frame_out["ame"] - crit * frame_out["se"]
    frame_out["ci_high"] = frame_out["ame"] + crit * frame_out["se"]
    return frame_out[["ame", "se", stat, "p", "ci_low", "ci_high", "type"]]


# -- broom-shaped frames ----------------------------------------------------------------------
def tidy(results: ModelResults, conf_level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
    """One row per term with broom's columns.

    ``term, estimate, std.error, statistic, p.value, conf.low, conf.high``. ``exponentiate=True`` gives odds ratios:
    estimate and interval exponentiated, ``std.error`` left on the coefficient scale, as ``broom::tidy(fit, exponentiate
    = TRUE)``.
    """
    ci = results.conf_int(1 - conf_level)
    est, lo, hi = results.params, ci["lower"], ci["upper"]
    if exponentiate:
        est, lo, hi = np.exp(est), np.exp(lo), np.exp(hi)
    return pd.DataFrame(
        {
            "term": results.params.index,
            "estimate": est.to_numpy(),
            "std.error": results.bse.to_numpy(),
            "statistic": results.tvalues.to_numpy(),
            "p.value": results.pvalues.to_numpy(),
            "conf.low": lo.to_numpy(),
            "conf.high": hi.to_numpy(),
        }
    )


def glance(results: ModelResults) -> pd.DataFrame:
    """One row of model statistics with broom's names.

    Logit (``broom::glance.glm``): ``null.deviance`` (-2 llnull), ``df.null`` (N - 1), ``logLik``,
    ``AIC``, ``BIC``, ``deviance`` (-2 llf, the 0/1 outcome's saturated log-likelihood being 0),
    ``df.residual`` (N - k), ``nobs``. Conditional logit (``broom::glance.coxph``): ``nobs``,
    ``n.groups``, ``statistic.log`` (LR chi2 against b = 0), ``p.value.log``, ``logLik``, ``AIC``,
    ``BIC``. Both add ``pseudo.r.squared``, ``vcov.type`` and ``n.clusters``.
    """
    k = len(results.params)
    common = {"logLik": results.llf, "AIC": results.aic, "BIC": results.bic, "nobs": results.nobs}
    if _clogit(results):
        lr = 2 * (results.llf - results.llnull)
        row = {
            "nobs": results.nobs,
            "n.groups": getattr(results, "n_groups", None),
            "statistic.log": lr,
            "p.value.log": float(stats.chi2.sf(lr, k)),
            **common,
        }
    else:
        row = {
            "null.deviance": -2 * results.llnull,
            "df.null": results.nobs - 1,
            **common,
            "deviance": -2 * results.llf,
            "df.residual": results.nobs - k,
        }
    row.update({"pseudo.r.squared": results.prsquared, "vcov.type": results.se_type, "n.clusters": results.n_clusters})
    return pd.DataFrame([row])
