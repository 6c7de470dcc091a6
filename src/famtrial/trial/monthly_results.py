"""The monthly series' results: per-month odds ratios of the offer, adjusted p-values, a simultaneous band.

:class:`MonthlyEffects` is what :func:`famtrial.trial.monthly.monthly_effects` returns. It lives apart
from the fits so that reports (:mod:`famtrial.report.plots`, tables) read the results without importing
the module that fits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from scipy import stats

from famtrial._text import few_cluster_caution, key_name, plural
from famtrial.table import Table

if TYPE_CHECKING:
    from famtrial.models.logit import LogitResults

__all__ = ["MonthlyEffects"]


@dataclass(frozen=True)
class MonthlyEffects:
    """Per-month odds ratios of the offer, with adjusted p-values and a simultaneous band.

    ``frame`` has one row per month: ``month`` (YYYY-MM), ``coef``/``se_coef`` (log odds), ``or``,
    ``se`` (delta method, Stata's ``, or``), ``ci_low``/``ci_high`` (pointwise), ``z``, ``p``,
    ``p_holm``, ``p_bh``, ``band_low``/``band_high`` (simultaneous; when computed), ``n``
    (parents in the fit), ``n_offices`` (clusters in the fit), ``note`` (drops, the baseline
    month, and why a month has no estimate), ``rd``/``rd_se``/``rd_ci_low``/``rd_ci_high``/``rd_p`` (the
    offer's risk difference as a proportion, the average discrete change of P(y = 1) from arm 0 to 1
    with delta-method SEs from the month's covariance: Stata ``margins, dydx(i.arm)`` after the
    month's ``logit ..., vce(cluster office)``; R ``marginaleffects::avg_comparisons(fit, variables =
    "arm", vcov = ~office)``); with ``columns.take_up`` (``monthly_effects(cace=)``) also ``take_up`` (the
    offered parents' take-up share in the month), ``itt_lpm``/``itt_lpm_se`` (the linear probability
    model's ITT) and ``cace``/``cace_se``/``cace_ci_low``/``cace_ci_high``/``cace_p`` (the complier
    effect by 2SLS, risk differences; NaN before implementation). A month whose logit cannot estimate the offer
    (outcome constant, the offer predicting it perfectly) keeps its row with NaN estimates and
    the reason in ``note``; Holm, BH and the band then use the months that have estimates.
    ``results`` holds the fitted months' :class:`~famtrial.models.logit.LogitResults`.
    ``name`` keys the reproduced numbers (``monthly.<name>.*``); ``description`` and
    ``treatment`` word titles ("Effects of <treatment> on <description>").
    """

    frame: pd.DataFrame
    outcome: str
    controls: tuple[str, ...]
    baseline: str
    cluster: str | None
    fixed_effects: str | None
    adjustment: str
    t_reference: bool
    alpha: float
    band_critical: float | None
    band_draws: int
    n_offices: int
    n_parents: int
    parents_without_baseline: int
    results: tuple[LogitResults, ...]
    name: str = ""
    description: str = ""
    treatment: str = "the offer"
    units: tuple[str, str] = ("parent", "office")
    cluster_label: str = ""
    few_clusters: int = 10

    @property
    def caution(self) -> str:
        """The few-cluster caution (``""`` unless clustered on fewer than ``few_clusters`` clusters)."""
        clustered = [r.n_clusters for r in self.results if r.cov_type == "cluster" and r.n_clusters]
        if not self.cluster or not clustered:
            return ""
        g = min(clustered)  # the month with the fewest clusters
        clusters = plural(self.cluster_label) if self.cluster_label else "clusters"
        return few_cluster_caution(g, self.few_clusters, g - 1 if self.t_reference else None, clusters)

    def csv_frame(self) -> pd.DataFrame:
        """``frame`` as ``monthly_<name>.csv`` writes it: ``n_offices`` named by the plan (``n_districts``)."""
        return self.frame.rename(columns={"n_offices": f"n_{key_name(plural(self.units[1]))}"})

    @property
    def estimated(self) -> pd.DataFrame:
        """The months with an estimate of the offer's effect."""
        return self.frame.loc[self.frame["coef"].notna()]

    @property
    def significant_months(self) -> list[str]:
        """Months with pointwise p < alpha (the paper's criterion)."""
        return list(self.frame.loc[self.frame["p"] < self.alpha, "month"])

    @property
    def table(self) -> Table:
        """Publication table: OR, pointwise CI, p (raw, Holm, BH), simultaneous band, n, offices."""
        f = self.frame
        level = f"{100 * (1 - self.alpha):g}%"

        def pair(lo: pd.Series, hi: pd.Series) -> list[str]:
            return ["" if pd.isna(a) else f"({a:.2f}, {b:.2f})" for a, b in zip(lo, hi)]

        def num(col: str, spec: str) -> pd.Series:
            return f[col].map(lambda v: "" if pd.isna(v) else format(v, spec))

        display = pd.DataFrame(
            {
                "OR": num("or", ".2f"),
                f"{level} CI": pair(f["ci_low"], f["ci_high"]),
                "p": num("p", ".3f"),
                "p (Holm)": num("p_holm", ".3f"),
                "p (BH)": num("p_bh", ".3f"),
            }
        )
        if self.band_critical is not None:
            display[f"simultaneous {level} band"] = pair(f["band_low"], f["band_high"])
        display["RD (pp)"] = num("rd", ".2%").str.rstrip("%")
        display[f"{level} CI (pp)"] = [
            "" if pd.isna(a) else f"({100 * a:.2f}, {100 * b:.2f})" for a, b in zip(f["rd_ci_low"], f["rd_ci_high"])
        ]
        if "cace" in f:  # columns.take_up: the complier effect (docs/beyond_itt.md)
            display["CACE (pp)"] = ["" if pd.isna(v) else f"{100 * v:.2f}" for v in f["cace"]]
            display[f"{level} CI, CACE (pp)"] = [
                "" if pd.isna(a) else f"({100 * a:.2f}, {100 * b:.2f})"
                for a, b in zip(f["cace_ci_low"], f["cace_ci_high"])
            ]
        display["n"] = f["n"].map("{:,}".format)
        display[plural(self.units[1])] = f["n_offices"].astype(str)
        display.index = pd.Index(f["month"], name="month")
        return Table(
            frame=f.set_index("month"),
            display=display,
            title=f"Monthly effects of {self.treatment} on {self.description or self.outcome} (odds ratios)",
            notes=self.summary(),
        )

    def summary(self) -> str:
        """What was fitted, how many months are significant, and how many chance alone would give."""
        f = self.frame
        m = len(self.estimated)
        sig = self.significant_months
        level = f"{100 * (1 - self.alpha):g}%"
        fe = f"{self.units[1]} fixed effects; " if self.fixed_effects else ""
        se = (
            f"SE clustered by {self.cluster_label or self.cluster} ({self.adjustment} factor"
            f"{'; t(G-1) reference' if self.t_reference else '; normal reference'})"
            if self.cluster
            else "model-based SE"
        )
        lines = [
            f"{m} monthly logits of {self.outcome} on the offer ({f['month'].iloc[0]} .. {f['month'].iloc[-1]}"
            + (f"; {len(f) - m} of {len(f)} months without an estimate" if m < len(f) else "")
            + "); "
            f"controls at baseline ({self.baseline}): {', '.join(self.controls) or 'none'}; {fe}{se}; "
            f"k = {self.n_offices} {plural(self.units[1])}, n = {self.n_parents:,} {plural(self.units[0])}.",
            f"Significant at p < {self.alpha:g}: {len(sig)} of {m} months ({', '.join(sig) or 'none'}). "
            f"With no effect in any month, {self.alpha * m:.2f} would be significant by chance on average "
            f"(P(at least one) = {1 - (1 - self.alpha) ** m:.0%} if the months were independent).",
            f"Significant after Holm (family-wise error): {int((f['p_holm'] < self.alpha).sum())}; "
            f"after Benjamini-Hochberg (false discovery rate): {int((f['p_bh'] < self.alpha).sum())}.",
        ]
        if self.band_critical is not None:
            outside = list(f.loc[(f["band_low"] > 1) | (f["band_high"] < 1), "month"])
            ref = ", carried to t(G-1)" if self.t_reference else ""
            lines.append(
                f"Simultaneous {level} sup-t band (critical value {self.band_critical:.3f}{ref} vs "
                f"{stats.norm.ppf(1 - self.alpha / 2):.3f} pointwise; {self.band_draws:,} multiplier draws): "
                f"excludes OR = 1 in {len(outside)} months ({', '.join(outside) or 'none'})."
            )
        if self.parents_without_baseline:
            lines.append(
                f"{self.parents_without_baseline:,} {plural(self.units[0])} have no baseline-month row and "
                "are not used."
            )
        if self.caution:
            lines.append(self.caution)
        lines += [f"{month}: {note}" for month, note in zip(f["month"], f["note"]) if note]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return self.table.to_html()

    def to_numbers(self) -> dict[str, float | str]:
        """Contract keys of the series for ``famtrial verify``.

        ``monthly.<name>.significant_months`` (comma-separated YYYY-MM) and
        ``monthly.<name>.<YYYY-MM>.or|ci_low|ci_high``; ``<name>`` is the plan's series name.
        """
        key = self.name or self.outcome
        out: dict[str, float | str] = {f"monthly.{key}.significant_months": ",".join(self.significant_months)}
        for row in self.frame[["month", "or", "ci_low", "ci_high"]].to_dict("records"):
            for field in ("or", "ci_low", "ci_high"):
                out[f"monthly.{key}.{row['month']}.{field}"] = float(row[field])
        return out
