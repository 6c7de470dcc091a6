"""The results interface every famtrial estimator returns.

Tables and plots consume only this interface: ``params``, ``bse``, ``tvalues``, ``pvalues``,
``conf_int()``, ``cov_params()``, ``odds_ratios()``, ``llf``, ``llnull``, ``prsquared``, ``nobs``,
``n_clusters``, ``dropped``, ``summary()`` and ``to_frame()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.models.covariance import Covariance

__all__ = ["DropRecord", "ModelResults"]


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

    # -- estimates and inference -------------------------------------------------------------
    def cov_params(self) -> pd.DataFrame:
        """Covariance matrix of ``params`` as a labelled DataFrame."""
        names = self.params.index
        return pd.DataFrame(self.covariance.matrix, index=names, columns=names)

    @property
    def cov_type(self) -> str:
        return self.covariance.cov_type

    @property
    def n_clusters(self) -> int | None:
        return self.covariance.n_clusters

    @property
    def bse(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.covariance.matrix)), index=self.params.index, name="bse")

    @property
    def tvalues(self) -> pd.Series:
        return (self.params / self.bse).rename("tvalues")

    def _dist(self):
        df = self.covariance.df
        return stats.norm if df is None else stats.t(df)

    @property
    def pvalues(self) -> pd.Series:
        return pd.Series(2 * self._dist().sf(np.abs(self.tvalues)), index=self.params.index, name="pvalues")

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald interval ``b +/- q * se`` with q the 1 - alpha/2 quantile (normal or t(df))."""
        q = self._dist().ppf(1 - alpha / 2)
        return pd.DataFrame({"lower": self.params - q * self.bse, "upper": self.params + q * self.bse})

    @property
    def prsquared(self) -> float:
        """McFadden's pseudo R2, ``1 - llf / llnull`` (Stata's "Pseudo R2")."""
        return 1.0 - self.llf / self.llnull

    def odds_ratios(self, alpha: float = 0.05) -> pd.DataFrame:
        """Odds ratios as Stata's ``, or``: OR = exp(b), SE = exp(b) * se(b) (delta method),
        z and p of b, and the CI as exp of the coefficient bounds."""
        ci = np.exp(self.conf_int(alpha))
        odds = np.exp(self.params)
        level = f"{100 * (1 - alpha):g}%"
        return pd.DataFrame({
            "OR": odds,
            "SE": odds * self.bse,
            "z": self.tvalues,
            "P>|z|": self.pvalues,
            f"[{level} lower": ci["lower"],
            f"{level} upper]": ci["upper"],
        })

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per term: coef, se, z, p, CI bounds, and the odds-ratio columns."""
        ci = self.conf_int(alpha)
        odds = self.odds_ratios(alpha)
        return pd.DataFrame({
            "coef": self.params, "se": self.bse, "z": self.tvalues, "p": self.pvalues,
            "ci_low": ci["lower"], "ci_high": ci["upper"],
            "or": odds["OR"], "or_se": odds["SE"],
            "or_ci_low": odds.iloc[:, 4], "or_ci_high": odds.iloc[:, 5],
        })

    # -- presentation --------------------------------------------------------------------------
    def _header(self) -> list[tuple[str, str]]:
        rows = [("Model", self.model_name), ("Outcome", self.outcome), ("Observations", f"{self.nobs:,}")]
        rows += list(self.info)
        rows += [
            ("Covariance", self.covariance.describe()),
            ("Log likelihood", f"{self.llf:.6f}"),
            ("Null log likelihood", f"{self.llnull:.6f}"),
            ("Pseudo R2", f"{self.prsquared:.4f}"),
            ("Converged", f"{self.converged} ({self.iterations} iterations)"),
        ]
        return rows

    def summary(self, alpha: float = 0.05, odds: bool = False) -> str:
        """Text summary: header, coefficient (or odds-ratio) table, and every drop record."""
        width = max(len(k) for k, _ in self._header())
        lines = [f"{k:<{width}} : {v}" for k, v in self._header()]
        table = self.odds_ratios(alpha) if odds else self.to_frame(alpha).iloc[:, :6]
        lines += ["", table.to_string(float_format=lambda v: f"{v:.6g}")]
        if self.dropped:
            lines += ["", "Dropped:"] + [f"  - {d.describe()}" for d in self.dropped]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "".join(f"<tr><th style='text-align:left'>{k}</th><td style='text-align:left'>{v}</td></tr>"
                       for k, v in self._header())
        drops = "".join(f"<li>{d.describe()}</li>" for d in self.dropped)
        table = self.to_frame().iloc[:, :6].to_html(float_format=lambda v: f"{v:.6g}", border=0)
        return f"<table>{head}</table>{table}" + (f"<p>Dropped:</p><ul>{drops}</ul>" if drops else "")
