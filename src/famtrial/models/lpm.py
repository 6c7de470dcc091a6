r"""Linear probability model with parent and month fixed effects: the robustness check beside the clogit.

``y_it = a_i + d_t + b * treat_it + x_it' g + e_it`` by OLS after absorbing parent (a_i) and
month (d_t) effects, cluster-robust by office with factor G/(G-1). ``b`` is the change in the
probability of the outcome; :class:`LPMResults` reports it also in percentage points (x 100).
Unlike the conditional logit, the LPM keeps parents without outcome change (they absorb into a_i
and contribute nothing to b, but count in N).

Stata: ``reghdfe y treat x, absorb(parent month) vce(cluster office)`` (which also multiplies by
(N-1)/(N-K); here the factor is G/(G-1) only); R: ``fixest::feols(y ~ treat + x | parent + month, cluster = ~office)``.
linearmodels: ``PanelOLS(y, X, entity_effects=True, time_effects=True).fit(cov_type="clustered",
clusters=office, debiased=False, auto_df=False, count_effects=False)`` times G/(G-1).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from linearmodels.panel import PanelOLS

from famtrial.models.base import ModelResults
from famtrial.models.covariance import Covariance

if TYPE_CHECKING:
    from famtrial.models.summary import Summary

__all__ = ["LPMResults", "lpm"]


@dataclass(frozen=True, kw_only=True)
class LPMResults(ModelResults):
    """Two-way fixed-effects LPM: the common interface, within R2, and effects in percentage points.

    ``llf``/``llnull`` are not defined for OLS and are NaN; ``odds_ratios`` does not apply.
    """

    rsquared_within: float
    n_entities: int
    n_periods: int
    linearmodels: object  # the linearmodels PanelEffectsResults, for its own summary

    def odds_ratios(self, alpha: float = 0.05) -> pd.DataFrame:
        """Not defined for a linear probability model: always raises :class:`TypeError`."""
        raise TypeError(
            "a linear probability model has no odds ratios: use to_frame() (coefficients in "
            "probability units and percentage points)"
        )

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """coef, se, z, p, CI (probability units) and the same in percentage points (``*_pp``)."""
        ci = self.conf_int(alpha)
        return pd.DataFrame(
            {
                "coef": self.params,
                "se": self.bse,
                "z": self.tvalues,
                "p": self.pvalues,
                "ci_low": ci["lower"],
                "ci_high": ci["upper"],
                "coef_pp": 100 * self.params,
                "se_pp": 100 * self.bse,
                "ci_low_pp": 100 * ci["lower"],
                "ci_high_pp": 100 * ci["upper"],
            }
        )

    @property
    def prsquared(self) -> float:
        """NaN: a linear probability model has no pseudo R2 (see ``rsquared_within``)."""
        return float("nan")

    def _header(self) -> list[tuple[str, str]]:
        return [
            ("Model", self.model_name),
            ("Outcome", self.outcome),
            ("Observations", f"{self.nobs:,}"),
            ("Parents (entity effects)", f"{self.n_entities:,}"),
            ("Months (time effects)", f"{self.n_periods:,}"),
            ("Covariance", self.covariance.describe()),
            ("Within R2", f"{self.rsquared_within:.4f}"),
        ]

    def summary(
        self,
        alpha: float = 0.05,
        odds: bool = False,
        *,
        keep: str | Sequence[str] | None = None,
        drop: str | Sequence[str] | None = None,
        digits: int = 4,
    ) -> Summary:
        """The fit's :class:`~famtrial.models.summary.Summary`, with the effects in percentage points too.

        ``odds=True`` raises :class:`TypeError` (no odds ratios); ``keep``/``drop`` and ``digits`` as
        :meth:`ModelResults.summary`.
        """
        if odds:
            raise TypeError("a linear probability model has no odds ratios")
        from famtrial.models.summary import summarize

        base = summarize(self, alpha, keep=keep, drop=drop, digits=digits)
        points = self.to_frame(alpha).filter(like="_pp")
        return dataclasses.replace(base, table=base.table.join(points))


def lpm(
    data: pd.DataFrame, outcome: str, regressors: Sequence[str], entity: str, time: str, cluster: str
) -> LPMResults:
    """Fit ``outcome ~ regressors + entity effects + time effects`` by OLS, clustered by ``cluster``.

    ``time`` may hold periods, dates or integers. Covariance: linearmodels' clustered sandwich
    (no linearmodels df factor) times G/(G-1), as the clogit's; normal reference. Stata's
    ``reghdfe`` further multiplies by (N-1)/(N-K) (K: regressors and non-nested effects).
    """
    regressors = list(regressors)
    missing = [c for c in (outcome, *regressors, entity, time, cluster) if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in the data: {missing}")
    used = data[[outcome, *regressors, entity, time, cluster]]
    bad = used.isna().any(axis=1)
    if bad.any():
        cols = used.columns[used.isna().any()].tolist()
        raise ValueError(f"{int(bad.sum()):,} rows have missing values in {cols}; drop or impute them first")
    t = used[time]
    t_code = pd.factorize(t, sort=True)[0]
    frame = used.assign(_t=t_code).set_index([entity, "_t"])
    model = PanelOLS(
        frame[outcome].astype(float),
        frame[regressors].astype(float),
        entity_effects=True,
        time_effects=True,
        drop_absorbed=False,
    )
    # no degrees-of-freedom factor from linearmodels (its defaults scale by N/(N-K-effects)): G/(G-1) applied here
    res = model.fit(cov_type="clustered", clusters=frame[[cluster]], debiased=False, auto_df=False, count_effects=False)
    g = int(used[cluster].nunique())
    cov = Covariance(
        matrix=g / (g - 1) * res.cov.to_numpy(),
        cov_type="cluster",
        n_clusters=g,
        factor=g / (g - 1),
        adjustment="stata",
    )
    return LPMResults(
        model_name="Linear probability model, parent and month fixed effects (OLS, within)",
        outcome=outcome,
        params=pd.Series(res.params.to_numpy(), index=regressors, name="params"),
        covariance=cov,
        nobs=int(res.nobs),
        llf=float("nan"),
        llnull=float("nan"),
        converged=True,
        iterations=0,
        info=(("Clusters", f"{g:,}"),),
        rsquared_within=float(res.rsquared_within),
        n_entities=int(res.entity_info["total"]),
        n_periods=int(res.time_info["total"]),
        linearmodels=res,
    )
