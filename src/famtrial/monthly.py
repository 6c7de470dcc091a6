"""Monthly cross-sectional effects (the paper's Figures 2 and 3), with honest multiplicity.

For each post-implementation month m, a logit of the month's outcome on the offer, controlling for
the baseline-imbalanced variables and the outcome's own baseline value, clustered by office::

    logit P(y_im = 1) = c + b_m * arm_i + g' x_i(baseline)

Stata, month by month: ``logit y arm rwc_b activation_b employed_b if month == m, vce(cluster office) or``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.inference.multiplicity import benjamini_hochberg, holm, sup_t_critical
from famtrial.models.covariance import Adjustment
from famtrial.models.logit import LogitResults, logit
from famtrial.panel import Panel
from famtrial.progress import Progress
from famtrial.tables import Table

__all__ = ["MonthlyEffects", "monthly_effects", "PAPER_CONTROLS"]

#: The baseline-imbalanced variables of Table 3 (plus the outcome's own baseline value).
PAPER_CONTROLS = ("reduced_work_capacity", "activation", "employed")
_KEY = {"employed": "employment"}


@dataclass(frozen=True)
class MonthlyEffects:
    """Per-month odds ratios of the offer, with adjusted p-values and a simultaneous band."""

    frame: pd.DataFrame
    outcome: str
    controls: tuple[str, ...]
    fixed_effects: str | None
    alpha: float
    band_critical: float | None
    band_draws: int
    n_offices: int
    n_parents: int
    results: tuple[LogitResults, ...]

    @property
    def table(self) -> Table:
        f = self.frame
        display = pd.DataFrame({
            "OR": f["or"].map("{:.2f}".format), "95% CI": [f"({a:.2f}, {b:.2f})" for a, b in zip(f["ci_low"], f["ci_high"])],
            "p": f["p"].map("{:.3f}".format), "p (Holm)": f["p_holm"].map("{:.3f}".format),
            "p (BH)": f["p_bh"].map("{:.3f}".format), "n": f["n"].map("{:,}".format)})
        if self.band_critical is not None:
            display["simultaneous band"] = [f"({a:.2f}, {b:.2f})" for a, b in zip(f["band_low"], f["band_high"])]
        display.index = f["month"]
        return Table(frame=f.set_index("month"), display=display, title=f"Monthly effects on {self.outcome}",
                     notes=self.summary())

    def summary(self) -> str:
        f = self.frame
        m = len(f)
        sig = int((f["p"] < self.alpha).sum())
        lines = [f"{m} monthly logits of {self.outcome} on the offer (controls: {', '.join(self.controls)}; "
                 f"{'office fixed effects; ' if self.fixed_effects else ''}SE clustered by office, k = {self.n_offices}, "
                 f"n = {self.n_parents:,} parents).",
                 f"Significant at p < {self.alpha:g}: {sig} of {m} months ({', '.join(f.loc[f['p'] < self.alpha, 'month']) or 'none'}); "
                 f"{self.alpha * m:.2f} would be expected by chance if no month had an effect.",
                 f"After Holm: {int((f['p_holm'] < self.alpha).sum())}; after Benjamini-Hochberg: "
                 f"{int((f['p_bh'] < self.alpha).sum())}."]
        if self.band_critical is not None:
            outside = int(((f["band_low"] > 1) | (f["band_high"] < 1)).sum())
            lines.append(f"Simultaneous {100 * (1 - self.alpha):g}% sup-t band (critical value {self.band_critical:.3f}, "
                         f"{self.band_draws:,} multiplier draws): excludes 1 in {outside} months.")
        notes = f["note"].loc[f["note"] != ""]
        lines += [f"{m_}: {n}" for m_, n in zip(f.loc[notes.index, "month"], notes)]
        return "\n".join(lines)

    def to_numbers(self) -> dict[str, float | str]:
        """``monthly.<outcome>.significant_months`` and ``monthly.<outcome>.<YYYY-MM>.or|ci_low|ci_high``."""
        key = _KEY.get(self.outcome, self.outcome)
        f = self.frame
        out: dict[str, float | str] = {
            f"monthly.{key}.significant_months": ",".join(f.loc[f["p"] < self.alpha, "month"])}
        for _, row in f.iterrows():
            for field in ("or", "ci_low", "ci_high", "p"):
                out[f"monthly.{key}.{row['month']}.{field}"] = float(row[field])
        return out


def monthly_effects(panel: Panel, outcome: str, *, months: Sequence[str] | None = None,
                    controls: Sequence[str] = PAPER_CONTROLS, cluster: str | None = "office",
                    fixed_effects: Literal["office"] | None = None, adjustment: Adjustment = "stata",
                    alpha: float = 0.05, band: bool = True, n_boot: int = 9999, seed: int | None = 20161001,
                    progress: bool = True) -> MonthlyEffects:
    """One logit per month (implementation .. last month) of ``outcome`` on the offer.

    Controls are baseline values (``panel.baseline``) of ``controls`` plus the outcome's own; in
    the baseline month itself the outcome's own baseline value *is* the outcome, so it is left out
    there (noted in the ``note`` column). ``fixed_effects="office"`` adds office dummies, comparing
    offered and ordinary parents within offices (the offered share ranges from 8% to 67% across
    the trial's offices). Adjusted p-values (Holm, Benjamini-Hochberg) and a sup-t simultaneous
    band (cluster multiplier bootstrap) cover the whole series.
    """
    if fixed_effects not in (None, "office"):
        raise ValueError(f"fixed_effects={fixed_effects!r} is not one of (None, 'office')")
    cols = panel.columns
    if outcome not in cols.outcomes:
        raise ValueError(f"outcome {outcome!r} is not one of the panel's outcomes {cols.outcomes}")
    base_vars = list(dict.fromkeys([*controls, outcome]))
    base = panel.baseline_frame()[[cols.parent, *base_vars]].rename(columns={v: f"{v}_baseline" for v in base_vars})
    data = panel.data[[cols.parent, cols.office, cols.month, cols.arm, outcome]].merge(base, on=cols.parent, how="inner")
    all_months = panel.months
    wanted = [m for m in all_months if m >= panel.implementation] if months is None else \
        [pd.Period(m, "M") for m in months]
    cluster_col = cols.office if cluster == "office" else cluster
    rows, fits, influence_cols, offices_all = [], [], [], pd.Index([])
    with Progress(len(wanted), f"monthly logits ({outcome})", enabled=progress) as bar:
        for month in wanted:
            cross = data.loc[data[cols.month] == month]
            regs = [cols.arm] + [f"{v}_baseline" for v in base_vars]
            note = ""
            if month == panel.baseline:
                regs.remove(f"{outcome}_baseline")
                note = "baseline month: the outcome's own baseline value equals the outcome and is left out"
            fit = logit(cross, outcome, regs, cluster=cluster_col, adjustment=adjustment,
                        fixed_effects=cols.office if fixed_effects else None)
            b, se = fit.params[cols.arm], fit.bse[cols.arm]
            z = b / se
            q = stats.norm.ppf(1 - alpha / 2)
            dropped = "; ".join(d.describe() for d in fit.dropped)
            rows.append({"month": str(month), "coef": b, "se_coef": se, "or": np.exp(b), "se": np.exp(b) * se,
                         "ci_low": np.exp(b - q * se), "ci_high": np.exp(b + q * se), "z": z,
                         "p": 2 * stats.norm.sf(abs(z)), "n": fit.nobs,
                         "n_offices": cross[cols.office].nunique(), "note": "; ".join(x for x in (note, dropped) if x)})
            fits.append(fit)
            if band:
                j = fit.params.index.get_loc(cols.arm)
                bread = fit.cov_params().to_numpy() if fit.cov_type == "nonrobust" else \
                    np.linalg.inv(-fit.model.derivatives(fit.params.to_numpy())[2])
                infl = fit.model.score_obs(fit.params.to_numpy()) @ bread[:, j]
                labels = cross[cluster_col].to_numpy()[fit.model._row_index]
                influence_cols.append(pd.Series(infl).groupby(labels).sum())
            bar.update()
    frame = pd.DataFrame(rows)
    frame["p_holm"] = holm(frame["p"])
    frame["p_bh"] = benjamini_hochberg(frame["p"])
    crit, draws = None, 0
    if band:
        influence = pd.concat(influence_cols, axis=1).fillna(0.0).to_numpy()
        crit, draws = sup_t_critical(influence, frame["se_coef"].to_numpy(), alpha=alpha, n_boot=n_boot, seed=seed)
        frame["band_low"] = np.exp(frame["coef"] - crit * frame["se_coef"])
        frame["band_high"] = np.exp(frame["coef"] + crit * frame["se_coef"])
    return MonthlyEffects(frame=frame, outcome=outcome, controls=tuple(base_vars), fixed_effects=fixed_effects,
                          alpha=alpha, band_critical=crit, band_draws=draws,
                          n_offices=int(data[cols.office].nunique()), n_parents=int(data[cols.parent].nunique()),
                          results=tuple(fits))
