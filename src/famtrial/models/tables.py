"""famtrial results in other packages' tables: maketables' extractor and statsmodels' ``summary_col``.

**maketables.** maketables 0.2 asks its registered extractors before the plug-in attributes, and its
statsmodels extractor claims any object with ``params``, ``bse`` and ``pvalues``, famtrial's results
included: it headed the column ``y``, left the fixed-effects row unmarked and the S.E.-type, cluster
and group rows out. :class:`FamtrialExtractor` reads famtrial's results right and is put first in
maketables' registry (:func:`register`), which happens by itself: when ``famtrial`` is imported after
``maketables``, and, through an import hook, when ``maketables`` is imported after ``famtrial``.
Odds ratios: ``ETable([famtrial.models.tables.exponentiate(fit)])`` shows
exp(b) with the delta-method SE exp(b) se(b) and the interval exp of the bounds, the p-values of b
(Stata's ``, or``; R ``broom::tidy(fit, exponentiate = TRUE)``, which keeps se(b) instead).

Table rows (maketables' statistic keys): ``N`` (observations used), ``se_type`` (``iid``, ``hetero``
or ``by: <cluster>``, as pyfixest writes them), ``n_clusters``, ``n_groups`` (conditional logit: the
groups with outcome variation), ``pseudo_r2`` (McFadden), ``ll``; the fixed-effects row marks the
conditioned-out group (a formula fit's ``| parent``; ``group`` for a column fit).

**summary_col.** ``statsmodels.iolib.summary2.summary_col([fit, ...])`` reads ``fit.model.endog_names``
and ``fit.model.exog_names``, which famtrial's estimators carry (the outcome's name and the terms).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from famtrial.models.base import ConditionalLogitResults, ModelResults

__all__ = ["FamtrialExtractor", "OddsRatioView", "coef_table", "exponentiate", "register"]

_STAT_LABELS = {
    "N": "Observations",
    "se_type": "S.E. type",
    "n_clusters": "Clusters",
    "n_groups": "Groups",
    "pseudo_r2": "Pseudo R2",
    "ll": "Log likelihood",
    "aic": "AIC",
    "bic": "BIC",
}


@dataclass(frozen=True)
class OddsRatioView:
    """A fit shown as odds ratios in maketables (what :func:`exponentiate` returns).

    ``results`` is the fit; every table attribute but the coefficients is the fit's own.
    """

    results: ModelResults

    def coef_table(self) -> pd.DataFrame:
        """exp(b), exp(b) se(b) (delta method), the z of b, its p, and exp of the 95% and 90% bounds."""
        table = coef_table(self.results)
        odds = np.exp(table["b"])
        out = table.assign(b=odds, se=odds * table["se"])
        for bound in ("ci95l", "ci95u", "ci90l", "ci90u"):
            out[bound] = np.exp(table[bound])
        return out


def exponentiate(results: ModelResults) -> OddsRatioView:
    """The fit as odds ratios for ``maketables.ETable`` (Stata's ``, or``).

    Parameters
    ----------
    results : ModelResults
        A logit or conditional-logit fit.

    Returns
    -------
    OddsRatioView
        Pass it to ``maketables.ETable`` in place of the fit.

    Examples
    --------
    >>> maketables.ETable([exponentiate(fe), exponentiate(cross)])  # doctest: +SKIP
    """
    if not isinstance(results, ModelResults):
        raise TypeError(f"exponentiate takes a famtrial results object; got {type(results).__name__}")
    return OddsRatioView(results)


def coef_table(results: ModelResults) -> pd.DataFrame:
    """The coefficient table maketables reads: ``b, se, t, p`` and the 95% and 90% bounds, indexed ``Coefficient``."""
    ci95, ci90 = results.conf_int(0.05), results.conf_int(0.10)
    return pd.DataFrame(
        {
            "b": results.params,
            "se": results.bse,
            "t": results.tvalues,
            "p": results.pvalues,
            "ci95l": ci95["lower"],
            "ci95u": ci95["upper"],
            "ci90l": ci90["lower"],
            "ci90u": ci90["upper"],
        }
    ).rename_axis("Coefficient")


def _fit(model: Any) -> ModelResults:
    return model.results if isinstance(model, OddsRatioView) else model


class FamtrialExtractor:
    """maketables' ``ModelExtractor`` for famtrial's results and their :class:`OddsRatioView`."""

    def can_handle(self, model: Any) -> bool:
        """Whether ``model`` is a famtrial fit or an odds-ratio view of one."""
        return isinstance(model, (ModelResults, OddsRatioView))

    def coef_table(self, model: Any) -> pd.DataFrame:
        """The coefficient table (odds ratios for a view)."""
        return model.coef_table() if isinstance(model, OddsRatioView) else coef_table(model)

    def depvar(self, model: Any) -> str:
        """The outcome's name (the column header)."""
        return _fit(model).outcome

    def fixef_string(self, model: Any) -> str | None:
        """The conditioned-out group (``"parent_id"``; ``"group"`` for a column fit), None for a logit without."""
        fit = _fit(model)
        if fit.fixed_effects:
            return fit.fixed_effects
        return "group" if isinstance(fit, ConditionalLogitResults) else None

    def stat(self, model: Any, key: str) -> Any:
        """A statistic by maketables' key (None when the fit has none)."""
        fit = _fit(model)
        if key == "se_type":
            return f"by: {fit.cluster_name}" if fit.cov_type == "cluster" and fit.cluster_name else fit.se_type
        values = {
            "N": fit.nobs,
            "n_clusters": fit.n_clusters if fit.cov_type == "cluster" else None,
            "n_groups": getattr(fit, "n_groups", None),
            "pseudo_r2": fit.prsquared,
            "ll": fit.llf,
            "llnull": fit.llnull,
            "aic": fit.aic,
            "bic": fit.bic,
        }
        return values.get(key)

    def vcov_info(self, model: Any) -> dict[str, Any]:
        """``{"vcov_type": "iid" | "hetero" | "CRV1", "clustervar": name or None}`` (pyfixest's spelling)."""
        fit = _fit(model)
        return {"vcov_type": fit.se_type, "clustervar": fit.cluster_name}

    def var_labels(self, model: Any) -> dict[str, str] | None:
        """No variable labels (maketables' ``labels=`` sets them)."""
        return None

    def supported_stats(self, model: Any) -> set[str]:
        """The statistic keys this fit has a value for."""
        return {k for k in _STAT_LABELS if self.stat(model, k) is not None}

    def stat_labels(self, model: Any) -> dict[str, str] | None:
        """Row labels of the statistics."""
        return dict(_STAT_LABELS)

    def default_stat_keys(self, model: Any) -> list[str] | None:
        """Observations, S.E. type, clusters (cluster-robust fits), groups (conditional logit), pseudo R2, log likelihood."""
        fit = _fit(model)
        keys = ["N", "se_type"]
        keys += ["n_clusters"] if fit.cov_type == "cluster" else []
        keys += ["n_groups"] if isinstance(fit, ConditionalLogitResults) else []
        return [*keys, "pseudo_r2", "ll"]

    def sample_split(self, model: Any) -> str | None:
        """No sample splits."""
        return None


def register(extractors: ModuleType | None = None) -> None:
    """Put :class:`FamtrialExtractor` first in maketables' registry (once; nothing if maketables is not loaded).

    Parameters
    ----------
    extractors : module, optional
        ``maketables.extractors`` (default: the loaded module, if any).
    """
    module = extractors if extractors is not None else sys.modules.get("maketables.extractors")
    registry = getattr(module, "_EXTRACTOR_REGISTRY", None)
    if not isinstance(registry, list) or any(isinstance(e, FamtrialExtractor) for e in registry):
        return
    registry.insert(0, FamtrialExtractor())  # before the statsmodels extractor, which would claim the results
