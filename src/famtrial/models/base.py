"""The results interface every famtrial estimator returns.

Tables and plots consume only this interface: ``params``, ``bse``, ``tvalues``, ``pvalues``,
``conf_int()``, ``cov_params()``, ``odds_ratios()``, ``llf``, ``llnull``, ``prsquared``, ``nobs``,
``n_clusters``, ``dropped``, ``summary()`` and ``to_frame()``. Post-estimation (each returns new
objects; results stay immutable): ``vcov()``, ``wald_test()``, ``t_test()``, ``lr_test()``,
``predict()``, ``margins()``, ``tidy()``, ``glance()`` (see :mod:`famtrial.models.postestimation`),
and the ``__maketables_*__`` attributes that let ``maketables.ETable`` render famtrial models.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, cast

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.models.covariance import Adjustment, Covariance

if TYPE_CHECKING:
    from famtrial.models.clogit import ConditionalLogit
    from famtrial.models.logit import Logit
    from famtrial.models.postestimation import Hypotheses, LRTest, VcovSpec, WaldTest
    from famtrial.models.summary import Summary

from famtrial._options import Comparison, PredictScale

__all__ = ["ConditionalLogitResults", "DropRecord", "LogitResults", "ModelResults", "ScoreModel"]


class ScoreModel(Protocol):
    """A fitted model's likelihood, as the score bootstrap reads it (duck-typed).

    :class:`~famtrial.models.logit.Logit` and :class:`~famtrial.models.clogit.ConditionalLogit`
    satisfy it, as does any model with these members and either per-row scores (``score_obs``
    with ``clusters_of_rows``) or per-group scores (``score_groups`` with ``clusters_of_groups``),
    both with ``used_rows`` (the positions of the input rows the fit uses); or cluster sums of its
    scores (``cluster_score_sums`` with ``cluster_masses``, as
    :class:`~famtrial.models.distributed.PreparedConditionalLogit`).
    """

    @property
    def exog_names(self) -> list[str]:
        """The coefficients' names, in order."""
        ...

    def derivatives(self, params: Any) -> tuple[float, np.ndarray, np.ndarray]:
        """Log-likelihood, gradient and Hessian at ``params``."""
        ...


@dataclass(frozen=True)
class DropRecord:
    """Something an estimator set aside, with a count and the reason.

    ``kind`` is ``"groups"``, ``"rows"``, ``"variable"`` or ``"clusters"``; ``count`` how many
    (rows for a variable record: 0); ``names`` the variables or a few example ids.
    """

    kind: Literal["groups", "rows", "variable", "clusters"]
    count: int
    reason: str
    names: tuple[str, ...] = ()

    def describe(self) -> str:
        """e.g. ``1,204 groups (40,118 rows) dropped: all positive or all negative outcomes``."""
        if self.kind == "variable":
            return f"variable {', '.join(self.names)} omitted: {self.reason}"
        names = f" ({', '.join(self.names)})" if self.names else ""
        return f"{self.count:,} {self.kind}{names} dropped: {self.reason}"


@dataclass(frozen=True, kw_only=True)
class ModelResults:
    """Fitted model: estimates, covariance and bookkeeping. Read-only.

    ``pvalues`` and ``conf_int`` use the normal distribution, or t(df) when the covariance
    records ``df`` (the few-clusters option, t(G-1)).
    """

    model_name: str
    outcome: str
    params: pd.Series
    covariance: Covariance
    nobs: int
    llf: float
    llnull: float
    converged: bool
    iterations: int
    dropped: tuple[DropRecord, ...] = ()
    info: tuple[tuple[str, str], ...] = field(default=())
    #: the formula of a formula fit (:mod:`famtrial.models.formula`), else None
    formula: str | None = None
    #: the rows given to the model (a formula fit's data after dropping rows with missing values);
    #: ``vcov({"CRV1": "office"})`` and ``predict``/``margins`` read columns from it
    data: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    #: formulaic ModelSpec of the right-hand side (rebuilds the design for new data), else None
    design: Any = field(default=None, repr=False, compare=False)
    #: the conditioned-out (fixed) effect's column, e.g. ``"parent"``, else None
    fixed_effects: str | None = None
    #: the cluster column's name when known (formula fits, ``vcov({"CRV1": name})``)
    cluster_name: str | None = None

    # -- estimates and inference -------------------------------------------------------------
    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of ``params`` as a labelled DataFrame."""
        names = self.params.index
        return pd.DataFrame(self.covariance.matrix, index=names, columns=names)

    @property
    def cov_type(self) -> str:
        """The covariance's kind: ``"nonrobust"``, ``"robust"`` or ``"cluster"``."""
        return self.covariance.cov_type

    @property
    def n_clusters(self) -> int | None:
        """Clusters G entering the sandwich (under ``"robust"`` each row or group its own); None if model-based."""
        return self.covariance.n_clusters

    @property
    def bse(self) -> pd.Series:
        """Standard errors of ``params``: square roots of the covariance's diagonal."""
        return pd.Series(np.sqrt(np.diag(self.covariance.matrix)), index=self.params.index, name="bse")

    @property
    def tvalues(self) -> pd.Series:
        """The z (or t) statistics, ``params / bse``."""
        return (self.params / self.bse).rename("tvalues")

    def reference_distribution(self) -> Any:
        """The reference distribution of the z (or t) statistics.

        The standard normal, or t(df) when the covariance records ``df`` (``t_reference=True``: t(G-1)).
        """
        df = self.covariance.df
        return stats.norm if df is None else stats.t(df)

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values of ``tvalues`` under :meth:`reference_distribution`."""
        return pd.Series(
            2 * self.reference_distribution().sf(np.abs(self.tvalues)), index=self.params.index, name="pvalues"
        )

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald interval ``b +/- q * se`` with q the 1 - alpha/2 quantile (normal or t(df))."""
        q = self.reference_distribution().ppf(1 - alpha / 2)
        return pd.DataFrame({"lower": self.params - q * self.bse, "upper": self.params + q * self.bse})

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo R2, ``1 - llf / llnull`` (Stata's "Pseudo R2")."""
        return 1.0 - self.llf / self.llnull

    def odds_ratios(self, alpha: float = 0.05) -> pd.DataFrame:
        """Odds ratios as Stata's ``, or``.

        OR = exp(b), SE = exp(b) * se(b) (delta method), z and p of b, and the CI as exp of the coefficient bounds.
        """
        ci = np.exp(self.conf_int(alpha))
        odds = np.exp(self.params)
        level = f"{100 * (1 - alpha):g}%"
        return pd.DataFrame(
            {
                "OR": odds,
                "SE": odds * self.bse,
                "z": self.tvalues,
                "P>|z|": self.pvalues,
                f"[{level} lower": ci["lower"],
                f"{level} upper]": ci["upper"],
            }
        )

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per term: coef, se, z, p, CI bounds, and the odds-ratio columns."""
        ci = self.conf_int(alpha)
        odds = self.odds_ratios(alpha)
        return pd.DataFrame(
            {
                "coef": self.params,
                "se": self.bse,
                "z": self.tvalues,
                "p": self.pvalues,
                "ci_low": ci["lower"],
                "ci_high": ci["upper"],
                "or": odds["OR"],
                "or_se": odds["SE"],
                "or_ci_low": odds.iloc[:, 4],
                "or_ci_high": odds.iloc[:, 5],
            }
        )

    # -- post-estimation (famtrial.models.postestimation) ------------------------------------
    def vcov(self, vcov: VcovSpec, *, adjustment: Adjustment = "stata", t_reference: bool = False) -> Self:
        """The same fit with another covariance, without refitting (a new results object).

        ``vcov``: ``"iid"`` (model-based, Stata ``vce(oim)``), ``"hetero"`` (robust, ``vce(robust)``)
        or ``{"CRV1": "office"}`` (cluster-robust, ``vce(cluster office)``; a column of ``data`` or
        one label per row given to the model). See :func:`~famtrial.models.postestimation.with_vcov`.
        The result has the class of ``self`` (a conditional logit's keeps ``n_groups``).
        """
        from famtrial.models.postestimation import with_vcov

        # with_vcov builds the new results with dataclasses.replace, which keeps the class
        return cast(Self, with_vcov(self, vcov, adjustment=adjustment, t_reference=t_reference))

    def wald_test(self, hypotheses: Hypotheses) -> WaldTest:
        """Joint Wald test of linear restrictions, e.g. ``"local = holf"``.

        See :func:`~famtrial.models.postestimation.wald_test`.
        """
        from famtrial.models.postestimation import wald_test

        return wald_test(self, hypotheses)

    def t_test(self, hypotheses: Hypotheses, alpha: float = 0.05) -> pd.DataFrame:
        """Each linear restriction's estimate, SE, z (t), p and interval.

        See :func:`~famtrial.models.postestimation.t_test`.
        """
        from famtrial.models.postestimation import t_test

        return t_test(self, hypotheses, alpha=alpha)

    def lr_test(self, other: ModelResults, *, force: bool = False) -> LRTest:
        """Likelihood-ratio test against a nested fit; see :func:`~famtrial.models.postestimation.lr_test`."""
        from famtrial.models.postestimation import lr_test

        return lr_test(self, other, force=force)

    def predict(self, data: pd.DataFrame | None = None, which: PredictScale = "prob") -> pd.Series:
        """Predicted probabilities or the linear predictor.

        See :func:`~famtrial.models.postestimation.predict`.
        """
        from famtrial.models.postestimation import predict

        return predict(self, data, which=which)

    def margins(
        self,
        variables: str | Sequence[str] | None = None,
        *,
        discrete: bool | Sequence[str] = False,
        alpha: float = 0.05,
        by: str | None = None,
        at: Mapping[str, Any] | None = None,
        comparison: Comparison = "difference",
    ) -> pd.DataFrame:
        """Average marginal effects with delta-method SEs (Stata ``margins, dydx()``), by group or at values.

        See :func:`~famtrial.models.postestimation.margins`.
        """
        from famtrial.models.postestimation import margins

        return margins(self, variables, discrete=discrete, alpha=alpha, by=by, at=at, comparison=comparison)

    def tidy(self, conf_level: float = 0.95, exponentiate: bool = False) -> pd.DataFrame:
        """One row per term with broom's columns; see :func:`~famtrial.models.postestimation.tidy`."""
        from famtrial.models.postestimation import tidy

        return tidy(self, conf_level=conf_level, exponentiate=exponentiate)

    def glance(self) -> pd.DataFrame:
        """One row of model statistics with broom's column names.

        See :func:`~famtrial.models.postestimation.glance`.
        """
        from famtrial.models.postestimation import glance

        return glance(self)

    @property
    def aic(self) -> float:
        """``-2 llf + 2 k`` (Stata ``estat ic``; R ``AIC``)."""
        return -2 * self.llf + 2 * len(self.params)

    @property
    def bic(self) -> float:
        """``-2 llf + k log(nobs)`` (Stata ``estat ic`` with N = nobs; R ``BIC``)."""
        return -2 * self.llf + len(self.params) * float(np.log(self.nobs))

    @property
    def se_type(self) -> str:
        """The covariance's label in pyfixest: ``"iid"``, ``"hetero"``, ``"CRV1"``, ``"CRV3"`` or ``"HC3"``."""
        if self.covariance.label is not None:
            return self.covariance.label
        return {"nonrobust": "iid", "robust": "hetero", "cluster": "CRV1"}[self.cov_type]

    # -- maketables plug-in interface (maketables' PLUGIN_EXTRACTOR_FORMAT) --------------------
    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        ci = self.conf_int(0.05)
        return pd.DataFrame(
            {
                "b": self.params,
                "se": self.bse,
                "t": self.tvalues,
                "p": self.pvalues,
                "ci95l": ci["lower"],
                "ci95u": ci["upper"],
            }
        ).rename_axis("Coefficient")

    def __maketables_stat__(self, key: str) -> Any:
        stats_ = {
            "N": self.nobs,
            "ll": self.llf,
            "llnull": self.llnull,
            "pseudo_r2": self.prsquared,
            "aic": self.aic,
            "bic": self.bic,
            "n_clusters": self.n_clusters,
            "se_type": (
                f"by: {self.cluster_name}" if self.cov_type == "cluster" and self.cluster_name else self.se_type
            ),
            "n_groups": getattr(self, "n_groups", None),
        }
        return stats_.get(key)

    @property
    def __maketables_depvar__(self) -> str:
        return self.outcome

    @property
    def __maketables_fixef_string__(self) -> str | None:
        return self.fixed_effects

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return {"vcov_type": self.se_type, "clustervar": self.cluster_name}

    @property
    def __maketables_stat_labels__(self) -> dict[str, str]:
        return {
            "pseudo_r2": "Pseudo R2",
            "ll": "Log likelihood",
            "n_clusters": "Clusters",
            "n_groups": "Groups",
            "se_type": "S.E. type",
            "N": "Observations",
        }

    @property
    def __maketables_default_stat_keys__(self) -> list[str]:
        keys = ["N", "se_type", "pseudo_r2", "ll"]
        return keys + (["n_groups"] if hasattr(self, "n_groups") else [])

    # -- presentation --------------------------------------------------------------------------
    def _header(self) -> list[tuple[str, str]]:
        rows = [("Model", self.model_name), ("Outcome", self.outcome), ("Observations", f"{self.nobs:,}")]
        if self.formula is not None:
            rows.insert(1, ("Formula", self.formula))
        rows += list(self.info)
        rows += [
            (
                "Covariance",
                self.covariance.describe()
                + (f", by {self.cluster_name}" if self.cov_type == "cluster" and self.cluster_name else ""),
            ),
            ("Log likelihood", f"{self.llf:.6f}"),
            ("Null log likelihood", f"{self.llnull:.6f}"),
            ("Pseudo R2", f"{self.prsquared:.4f}"),
            ("Converged", f"{self.converged} ({self.iterations} iterations)"),
        ]
        return rows

    @property
    def omitted(self) -> tuple[tuple[str, str], ...]:
        """Terms the estimator omitted, with the reason: ``(term, reason)`` pairs, in the order omitted.

        Stata lists them in its coefficient table as ``(omitted)``; R's ``coef()`` gives them NA.
        Read from the variable records of ``dropped`` (no within-group variation, collinear with
        earlier regressors, separation).
        """
        return tuple((name, d.reason) for d in self.dropped if d.kind == "variable" for name in d.names)

    def summary(
        self,
        alpha: float = 0.05,
        odds: bool = False,
        *,
        keep: str | Sequence[str] | None = None,
        drop: str | Sequence[str] | None = None,
        digits: int = 4,
    ) -> Summary:
        """The fit's summary: header, coefficient (or odds-ratio) table, omitted terms and every drop record.

        A :class:`~famtrial.models.summary.Summary`: ``print(res.summary())`` or ``str(...)`` gives
        text, a notebook shows HTML, ``.as_latex()`` a LaTeX tabular. p-values below 0.001 read
        ``<0.001``; ``keep``/``drop`` are regular expressions selecting terms (as pyfixest's
        ``etable``); ``odds=True`` shows odds ratios (Stata's ``, or``). Stata: ``logit``/``clogit``
        output; R: ``summary(fit)``.

        Examples
        --------
        >>> fit = famtrial.clogit("activation ~ treat + C(month) | parent_id", panel)  # doctest: +SKIP
        >>> print(fit.summary(odds=True, drop="month"))  # doctest: +SKIP
        """
        from famtrial.models.summary import summarize

        return summarize(self, alpha, odds, keep=keep, drop=drop, digits=digits)

    def __str__(self) -> str:
        return self.summary().as_text()

    def _repr_html_(self) -> str:
        return self.summary().as_html()


@dataclass(frozen=True, kw_only=True)
class LogitResults(ModelResults):
    """Results of :class:`Logit`.

    ``llnull`` is the intercept-only log-likelihood (Stata's ll_0, with the offset when there is one).
    """

    model: Logit  # a fit on a Dask DataFrame keeps a DistributedFit (a description) instead


@dataclass(frozen=True, kw_only=True)
class ConditionalLogitResults(ModelResults):
    """Results of :class:`ConditionalLogit`: the common interface plus group counts and the model."""

    n_groups: int
    model: ConditionalLogit  # a fit on a Dask DataFrame keeps a DistributedFit (a description) instead
