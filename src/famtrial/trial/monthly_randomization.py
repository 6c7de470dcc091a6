r"""Randomization inference for the monthly series: every month's logit and the simultaneous (max-|T|) test.

One set of re-draws (families within offices, ``SeedSequence(seed).spawn(R)``) serves every month, so
the months' statistics are re-drawn jointly and the **simultaneous** p-value of a month is the
randomization counterpart of the sup-t band (Westfall and Young's single-step max-T adjustment)::

    p_m = (1 + #{r : |T*_rm| >= |T_m|}) / (1 + R)
    p_m^sim = (1 + #{r : max_m' |T*_rm'| >= |T_m|}) / (1 + R)

``p^sim`` controls the family-wise error over the months exactly under the sharp null (the max over
months is one statistic of the assignment). With ``statistic="score"`` (default) each month costs one
restricted logit and closed-form re-draws (:mod:`famtrial.inference.score_randomization`); with
``"wald"`` every month's logit is refitted per re-draw. Stata: ``ritest`` with a program returning
every month's statistic, then ``max``; R: ``ri2::conduct_ri`` with a multi-valued test function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from famtrial._options import Statistic
from famtrial.data.panel import Panel
from famtrial.inference.randomization import ri_pvalue, run_draws
from famtrial.inference.score_randomization import refit_score_design, score_statistics
from famtrial.trial.few_cluster import _monthly_refit, _observed, _statistic, family_design

__all__ = ["MonthlyRandomization", "monthly_randomization"]


@dataclass(frozen=True)
class MonthlyRandomization:
    """Each month's randomization p-value and its simultaneous (max-|T|) p-value.

    ``frame``: one row per month (``month``, ``observed``, ``p``, ``mc_se``, ``p_simultaneous``);
    ``draws``: the re-drawn statistics, ``(R, months)``.
    """

    outcome: str
    statistic: str
    frame: pd.DataFrame
    draws: np.ndarray
    n_perm: int
    seed: int | None

    def summary(self) -> str:
        """The months' p-values in words."""
        lines = [
            f"Randomization inference for the monthly logits of {self.outcome} ({self.statistic} statistic, "
            f"R = {self.n_perm:,} re-draws shared by every month, seed {self.seed}); simultaneous: max-|T| over months"
        ]
        for row in self.frame.itertuples():
            lines.append(
                f"{row.month}: T = {row.observed:.4f}, p = {row.p:.4f}, simultaneous p = {row.p_simultaneous:.4f}"
            )
        return "\n".join(lines)


def monthly_randomization(
    panel: Panel,
    outcome: str,
    *,
    months: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    statistic: Statistic = "score",
    n_perm: int = 999,
    seed: int | None = 20161001,
    n_jobs: int | None = None,
) -> MonthlyRandomization:
    """Randomization p-values of the offer in every month's logit, pointwise and simultaneous.

    Parameters
    ----------
    panel : Panel
        The analysis panel.
    outcome : str
        An outcome of the plan (key or column).
    months : sequence of str, optional
        The months (``"YYYY-MM"``); default every month from the implementation month on.
    controls : sequence of str, optional
        Baseline controls (default: the plan's series for this outcome), as
        :func:`famtrial.randomization_test` with ``kind="monthly"``.
    statistic : {"score", "wald", "coef"}
        The statistic (``"score"``: one restricted logit per month, closed-form re-draws).
    n_perm : int
        Re-draws R, shared by every month.
    seed : int or None
        Seeds the re-draws.
    n_jobs : int or None
        Threads for the refits of ``"wald"`` and ``"coef"``.

    Notes
    -----
    Formulas in the module docstring. Stata: ``ritest arm (r(t1)) (r(t2)) ..., strata(office)
    cluster(family)``; R: ``ri2::conduct_ri`` with a test function returning every month's statistic.
    """
    statistic = _statistic(statistic)
    if n_perm < 1:
        raise ValueError(f"n_perm={n_perm} must be positive")
    design = family_design(panel)
    available = pd.PeriodIndex(sorted(panel.data[panel.columns.month].unique()), freq="M")
    chosen = (
        [m for m in available if m >= panel.implementation] if months is None else [pd.Period(m, "M") for m in months]
    )
    absent = [str(m) for m in chosen if m not in set(available)]
    if absent or not chosen:
        raise ValueError(f"months {absent or '[]'} are not in the panel ({available[0]} .. {available[-1]})")
    if controls is None:
        series = panel.plan.series_for(outcome)
        controls = series.controls if series else ()
    seeds = np.random.SeedSequence(seed).spawn(n_perm)
    arms = design.draws(seeds) if statistic == "score" else None
    observed, columns = [], []
    for month in chosen:
        _, refit = _monthly_refit(panel, design, outcome, month, controls, None, statistic)
        if arms is not None:
            score = refit_score_design(refit, len(design.family))
            observed.append(float(score.statistics(design.arm)[0]))
            columns.append(score_statistics(score, arms))
        else:
            t, refit = _observed(design, refit)
            observed.append(t)
            columns.append(run_draws(design, refit, seeds, n_jobs=n_jobs, progress=False, desc=str(month)))
    draws = np.column_stack(columns)
    peak = np.nanmax(np.abs(draws), axis=1)
    rows = []
    for month, t, col in zip(chosen, observed, draws.T):
        p, se, _ = ri_pvalue(t, col)
        simultaneous = (1 + np.sum(peak >= abs(t) * (1 - 1e-10))) / (1 + len(peak))
        rows.append({"month": month, "observed": t, "p": p, "mc_se": se, "p_simultaneous": float(simultaneous)})
    return MonthlyRandomization(
        outcome=outcome,
        statistic=statistic,
        frame=pd.DataFrame(rows),
        draws=draws,
        n_perm=n_perm,
        seed=seed,
    )
