r"""Few-cluster inference for the plan's models: randomization tests and a table of p-values.

Randomization tests by re-drawing the trial's offer, and the table of cluster-robust z, t(G-1),
score-bootstrap and randomization p-values side by side.

This module builds the trial's assignment (:func:`family_design`: families within offices) and the
re-fit of a plan model (:func:`_fe_refit`, :func:`_monthly_refit`) from a panel; the re-draw engine
itself (:class:`famtrial.inference.randomization.FamilyDesign`, the executors, the p-value) is numerics
and lives in :mod:`famtrial.inference.randomization`. Stata: ``ritest arm _b[treat], strata(office)
cluster(family) reps(R): clogit ...``; R: ``ri2::conduct_ri``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast, get_args

import numpy as np
import pandas as pd

from famtrial._options import BootstrapWeights, Executor, RandomizationKind, Statistic, TimeAdjustment, check_choice
from famtrial._parallel import compute_each_partition, is_dask_dataframe, run_tasks
from famtrial._text import few_cluster_caution, plural
from famtrial.data.panel import Panel
from famtrial.errors import FamtrialDeprecationWarning, PlanError
from famtrial.inference.randomization import (
    FamilyDesign,
    RandomizationResult,
    Refit,
    draw_chunk,
    run_draws,
)
from famtrial.inference.score_bootstrap import WEIGHT_NAMES, ScoreBootstrapResult, score_bootstrap, wald_t_pvalue
from famtrial.inference.score_randomization import score_test_draws
from famtrial.models.base import ModelResults
from famtrial.plan.spec import Plan
from famtrial.table import Table
from famtrial.trial._once import few_clusters_once

__all__ = ["randomization_test", "family_design", "FewClusterInference", "few_cluster_inference"]


def _distinct(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop_duplicates()


def family_design(panel: Panel) -> FamilyDesign:
    """Families, their office and arm from a panel; each family must sit in one office and one arm.

    On a Dask panel each partition's distinct (family, office, arm) rows are combined on the client.
    """
    cols = panel.columns
    fam = panel.data[[cols.family, cols.office, cols.arm]]
    if is_dask_dataframe(fam):
        fam = pd.concat(compute_each_partition(fam, _distinct), ignore_index=True)
    fam = fam.drop_duplicates()
    dup = fam[cols.family].duplicated(keep=False)
    if dup.any():
        bad = fam.loc[dup, cols.family].unique()
        raise ValueError(
            f"{len(bad):,} families have more than one office or arm (e.g. family ids "
            f"{', '.join(map(str, bad[:5]))}); randomization by family needs one office and arm per family "
            f"(check columns {cols.family!r}, {cols.office!r}, {cols.arm!r})"
        )
    fam = fam.sort_values(cols.family)
    return FamilyDesign(
        family=fam[cols.family].to_numpy(),
        office=fam[cols.office].to_numpy(),
        arm=fam[cols.arm].to_numpy().astype(np.int8),
    )


def _fe_refit(
    panel: Panel,
    design: FamilyDesign,
    outcome: str,
    split: bool,
    trend: TimeAdjustment,
    term: str | None,
    statistic: Statistic,
    covariates: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, Refit]:
    from famtrial.trial.effects import fe_design, treatment_indicators

    cols, plan = panel.columns, panel.plan
    frame, regressors = fe_design(panel, outcome, split=split, trend=trend, covariates=covariates)
    treat = list(treatment_indicators(panel, split=split).columns)
    others = [r for r in regressors if r not in treat]
    post = (panel.data[cols.month] >= panel.implementation).to_numpy(dtype=float)
    if split:
        # the variant is the office's: take it from the office's offered families
        office_variant = (
            panel.data.loc[panel.data[cols.arm] == 1]
            .groupby(cols.office, observed=True)[cols.model]
            .first()
            .astype(str)
        )
        variant = panel.data[cols.office].map(office_variant).fillna(plan.control_variant).to_numpy()
        switches = np.column_stack([post * (variant == v.name) for v in plan.variants])
    else:
        switches = post[:, None]
    term = term or treat[0]
    if term not in treat:
        raise ValueError(f"term {term!r} is not a treatment term of this model ({treat})")
    return frame, Refit(
        kind="fe",
        y=frame[plan.outcome(outcome).column].to_numpy(dtype=float),
        exog=frame[others].to_numpy(dtype=float),
        names=(*treat, *others),
        family_code=np.searchsorted(design.family, panel.data[cols.family].to_numpy()),
        switches=switches,
        groups=frame[cols.parent].to_numpy(),
        clusters=frame[cols.office].to_numpy(),
        term_index=treat.index(term),
        statistic=statistic,
        # month codes (sorted), not Period objects: each fit factorizes its time column
        time=pd.factorize(frame[cols.month], sort=True)[0] if trend == "months" else None,
        time_name=cols.month,
    )


def _monthly_refit(
    panel: Panel,
    design: FamilyDesign,
    outcome: str,
    month: pd.Period,
    controls: Sequence[str],
    fixed_effects: str | None,
    statistic: Statistic,
) -> tuple[pd.DataFrame, Refit]:
    cols = panel.columns
    outcome = panel.plan.outcome(outcome).column
    controls = [panel.plan.variable(c).column for c in controls]
    month = pd.Period(month, "M")
    base_vars = list(dict.fromkeys([*controls, outcome]))
    if month == panel.baseline:  # as monthly_effects: the outcome's own baseline is the outcome there
        base_vars.remove(outcome)
    base = panel.baseline_frame()[[cols.parent, *base_vars]].rename(columns={v: f"{v}_baseline" for v in base_vars})
    cross = panel.data.loc[
        panel.data[cols.month] == month, [cols.parent, cols.family, cols.office, cols.arm, outcome]
    ].merge(base, on=cols.parent)
    if cross.empty:
        raise ValueError(f"no parent is observed in month {month} and at baseline {panel.baseline}")
    controls_cols = [f"{v}_baseline" for v in base_vars]
    x_other = np.column_stack([np.ones(len(cross)), cross[controls_cols].to_numpy(dtype=float)])
    fe_names: list[str] = []
    if fixed_effects is not None:  # office dummies but the first, as monthly_effects(fixed_effects="office")
        dummies = pd.get_dummies(cross[cols.office], prefix=cols.office, dtype=float).iloc[:, 1:]
        x_other = np.column_stack([x_other, dummies.to_numpy()])
        fe_names = [str(c) for c in dummies.columns]
    return cross, Refit(
        kind="monthly",
        y=cross[outcome].to_numpy(dtype=float),
        exog=x_other,
        names=(cols.arm, "Intercept", *controls_cols, *fe_names),
        family_code=np.searchsorted(design.family, cross[cols.family].to_numpy()),
        switches=np.ones((len(cross), 1)),
        groups=None,
        clusters=cross[cols.office].to_numpy(),
        term_index=0,
        statistic=statistic,
    )


def _statistic(statistic: object) -> Statistic:
    """The statistic's name, checked; 0.3's ``"z"`` is ``"wald"`` (with a deprecation warning)."""
    if statistic == "z":
        warnings.warn(
            'statistic="z" is now called statistic="wald" (the refitted model\'s cluster-robust z); "z" goes in 0.4',
            FamtrialDeprecationWarning,
            stacklevel=3,
        )
        return "wald"
    return cast(Statistic, check_choice(statistic, Statistic, "statistic", ValueError))


def _check_test_options(statistic: object, kind: object, n_perm: int, executor: object) -> None:
    check_choice(statistic, Statistic, "statistic", ValueError)
    if kind not in get_args(RandomizationKind):
        raise ValueError(f"kind={kind!r} is not one of {get_args(RandomizationKind)}")
    if n_perm < 1:
        raise ValueError(f"n_perm={n_perm} must be positive")
    check_choice(executor, Executor, "executor", ValueError)


@dataclass(frozen=True)
class _ModelOptions:
    """``randomization_test``'s options of the refitted model; each kind refuses the other's."""

    split: bool
    term: str | None
    month: str | pd.Period | None
    trend: TimeAdjustment
    covariates: Sequence[str] | None
    controls: Sequence[str] | None
    fixed_effects: Literal["office"] | None


def _fe_test_refit(
    panel: Panel, design: FamilyDesign, outcome: str, o: _ModelOptions, statistic: Statistic
) -> tuple[Refit, str]:
    """The fixed-effects model's refit and its description; the monthly-only options refused."""
    if o.month is not None or o.fixed_effects is not None:
        raise ValueError("month= and fixed_effects= are only used with kind='monthly' (Models 1-4 have parent effects)")
    if o.controls is not None:
        raise ValueError("controls= is used with kind='monthly' only (kind='fe' takes covariates=)")
    _, refit = _fe_refit(panel, design, outcome, o.split, o.trend, o.term, statistic, o.covariates)
    return refit, f"fixed-effects logit of {outcome}, {'split' if o.split else 'pooled'} treatment"


def _monthly_test_refit(
    panel: Panel, design: FamilyDesign, outcome: str, o: _ModelOptions, statistic: Statistic
) -> tuple[Refit, str]:
    """A month's logit refit (controls default to the plan's series) and its description.

    ``split`` and ``term`` (options of the fixed-effects model only) are refused.
    """
    if o.month is None:
        raise ValueError("kind='monthly' needs month= (e.g. '2017-06')")
    if o.split or o.term is not None:
        raise ValueError("split= and term= apply to kind='fe' only (the monthly term is the arm)")
    if o.fixed_effects not in (None, "office"):
        raise ValueError(f"fixed_effects={o.fixed_effects!r} is not one of (None, 'office')")
    if o.covariates is not None:
        raise ValueError("covariates= is used with kind='fe' only (kind='monthly' takes controls=)")
    controls = o.controls
    if controls is None:
        series = panel.plan.series_for(outcome)
        controls = series.controls if series else ()
    month = pd.Period(o.month, "M")
    _, refit = _monthly_refit(panel, design, outcome, month, controls, o.fixed_effects, statistic)
    return refit, f"logit of {outcome} in {month}"


def _observed(design: FamilyDesign, refit: Refit) -> tuple[float, Refit]:
    """The observed statistic, and the refit warm-started at the observed estimates (close to every re-draw's)."""
    observed_fit = refit.fit(design.arm)
    name = refit.names[refit.term_index]
    if name not in observed_fit.params.index:
        raise ValueError(
            f"the observed model does not estimate {name} (dropped: "
            f"{'; '.join(d.describe() for d in observed_fit.dropped)})"
        )
    observed = float(observed_fit.params[name] if refit.statistic == "coef" else observed_fit.tvalues[name])
    return observed, replace(refit, start=observed_fit.params.to_numpy())


def _redraw(
    design: FamilyDesign,
    refit: Refit,
    seeds: list[np.random.SeedSequence],
    *,
    n_jobs: int | None,
    executor: Executor,
    client: Any,
    progress: bool,
) -> np.ndarray:
    """Every re-draw's statistic: on a Dask-like client, or by the engine's executors (:func:`run_draws`)."""
    n_perm = len(seeds)
    desc = f"randomization ({n_perm:,} re-draws)"
    if client is None:
        return run_draws(design, refit, seeds, n_jobs=n_jobs, executor=executor, progress=progress, desc=desc)
    # the design and the refit go to every worker once; tasks carry only seeds
    tasks = [list(part) for part in np.array_split(np.array(seeds, dtype=object), min(n_perm, 64))]
    chunks = run_tasks(draw_chunk, tasks, shared=(design, refit), client=client, progress=progress, desc=desc)
    return np.concatenate([np.asarray(c, dtype=float) for c in chunks])


def randomization_test(
    panel: Panel,
    outcome: str,
    *,
    kind: RandomizationKind = "fe",
    split: bool = False,
    term: str | None = None,
    month: str | pd.Period | None = None,
    trend: TimeAdjustment = "linear",
    covariates: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    fixed_effects: Literal["office"] | None = None,
    statistic: Statistic = "score",
    n_perm: int = 999,
    seed: int | None = 20161001,
    n_jobs: int | None = None,
    executor: Executor = "auto",
    client: Any = None,
    progress: bool = True,
) -> RandomizationResult:
    """Randomization p-value of the offer's effect, re-drawing families within office.

    Parameters
    ----------
    panel : Panel
        The analysis panel (e.g. ``analysis_sample(panel).panel``).
    outcome : str
        An outcome of the panel's plan (key or column).
    kind : {"fe", "monthly"}
        ``"fe"``: the fixed-effects conditional logit of :func:`famtrial.trial.effects.fe_model`
        (``covariates``, default the plan's time-varying covariates; ``split=True`` gives one
        term per variant, ``term`` then picks e.g. ``<treatment>_<variant>``); ``"monthly"``: the
        logit of ``month``'s outcome on the arm and baseline ``controls`` (as
        :func:`famtrial.trial.monthly.monthly_effects`, default the plan's series controls;
        ``fixed_effects="office"`` adds office dummies).
    split : bool, default False
        ``kind="fe"`` only: one treatment term per variant instead of the pooled treatment (the
        re-drawn offer switches on each family's office variant).
    term : str, optional
        ``kind="fe"`` only: the treatment term tested (default: the model's first treatment term; with
        ``split=True`` e.g. ``<treatment>_<variant>``).
    month : str or Period, optional
        ``kind="monthly"`` only, and required there: the month whose logit is refitted (e.g. ``"2017-06"``).
    trend : {"linear", "months", "none"}, default "linear"
        The fixed-effects model's time adjustment (:func:`famtrial.trial.effects.fe_model`'s ``trend``):
        a linear trend, month effects or none. Not used with ``kind="monthly"``.
    covariates : sequence of str, optional
        ``kind="fe"`` only: the model's covariates (plan keys or columns; default the plan's
        time-varying covariates).
    controls : sequence of str, optional
        ``kind="monthly"`` only: variables (plan keys or columns) entered at their baseline-month value,
        beside the outcome's own baseline value (left out in the baseline month itself). Default: the
        plan's series for this outcome, else none.
    fixed_effects : {"office"}, optional
        ``kind="monthly"`` only: ``"office"`` adds office dummies (all but the first) to the month's logit.
    statistic : {"score", "wald", "coef"}
        ``"score"`` (default): the cluster-robust studentized score of the treatment at the one fit of the
        model without it (:mod:`famtrial.inference.score_randomization`; no refit per re-draw, about 1 ms
        for 999 re-draws after the restricted fit); ``"wald"``: the refitted model's cluster-robust z (one
        Newton fit per re-draw); ``"coef"``: the refitted coefficient. The studentized statistics keep the
        test valid for the weak null asymptotically; every statistic is exact under the sharp null.
        The default was chosen by the size and power study in docs/inference.md.
    n_perm : int
        Re-draws R.
    seed : int or None
        Seeds every re-draw (``SeedSequence(seed).spawn(n_perm)``).
    n_jobs : int or None
        Workers (default: all cores; 1: every re-draw in this thread).
    executor : {"auto", "threads", "processes"}
        Where ``n_jobs > 1`` workers run: threads of this process (no start-up; the fits spend
        most of their time in kernels that release the GIL), a spawned process pool (about 3 s to
        start), or ``"auto"``: threads, moving the rest to processes only when the threads are
        measured to leave more time unparallelised than the pool's start-up. Every executor gives
        the same draws (one kernel thread per re-draw).
    client : object, optional
        A Dask-like client (``map``/``gather``): the re-draws run there (``n_jobs`` and
        ``executor`` are then not used).
    progress : bool, default True
        Show a progress bar over the re-draws.

    Notes
    -----
    Stata: ``ritest arm _b[treat_pooled], reps(999) strata(office) cluster(family_id):
    clogit ..., group(parent_id) vce(cluster office)`` (with the treatment rebuilt from ``arm``).
    """
    statistic = _statistic(statistic)
    _check_test_options(statistic, kind, n_perm, executor)
    design = family_design(panel)
    if is_dask_dataframe(panel.data):
        return _dask_randomization_test(
            panel, design, outcome, kind, statistic, split, term, trend, covariates, seed, n_perm
        )
    options = _ModelOptions(split, term, month, trend, covariates, controls, fixed_effects)
    refit, what = (_fe_test_refit if kind == "fe" else _monthly_test_refit)(panel, design, outcome, options, statistic)
    seeds = np.random.SeedSequence(seed).spawn(n_perm)
    with few_clusters_once(f"the randomization test's {what}"):  # once for the test, not once per re-draw
        if statistic == "score":  # one restricted fit; every re-draw in closed form (no executor needed)
            observed, draws = score_test_draws(design, refit, seeds)
        else:
            observed, refit = _observed(design, refit)
            draws = _redraw(design, refit, seeds, n_jobs=n_jobs, executor=executor, client=client, progress=progress)
    return RandomizationResult.from_draws(
        design,
        term=refit.names[refit.term_index],
        statistic=statistic,
        observed=observed,
        draws=draws,
        n_perm=n_perm,
        seed=seed,
        description=what,
    )


def _dask_randomization_test(
    panel: Panel,
    design: FamilyDesign,
    outcome: str,
    kind: object,
    statistic: Statistic,
    split: bool,
    term: str | None,
    trend: TimeAdjustment,
    covariates: Sequence[str] | None,
    seed: int | None,
    n_perm: int,
) -> RandomizationResult:
    """:func:`randomization_test` on a Dask panel: the fixed-effects model's score test, from sums (else refused)."""
    from famtrial.trial._inference_dask import dask_score_randomization

    if kind != "fe" or statistic != "score":
        raise PlanError(
            f"randomization_test(kind={kind!r}, statistic={statistic!r}) on a Dask panel: only the fixed-effects "
            "model's score statistic runs on the Dask workers (the others refit every re-draw on the rows); "
            "use kind='fe', statistic='score', or load the panel in memory"
        )
    plan = panel.plan
    terms = [plan.term(v.name) for v in plan.variants] if split else [plan.term("pooled")]
    with few_clusters_once(f"the randomization test of {outcome}"):
        return dask_score_randomization(
            panel,
            design,
            outcome,
            term or terms[0],
            split=split,
            trend=trend,
            covariates=covariates,
            seed=seed,
            n_perm=n_perm,
        )


@dataclass(frozen=True)
class FewClusterInference:
    """The pooled effects with four p-values side by side (and, optionally, the LPM)."""

    frame: pd.DataFrame
    n_perm: int
    n_clusters: int
    units: tuple[str, str] = ("family", "office")  # the trial's words: the randomized unit, the cluster
    bootstrap_weights: BootstrapWeights = "rademacher"  # the score bootstrap's weights (the plan's)
    bootstrap_draws: int = 0  # the score bootstrap's B (0: not run)
    bootstrap_enumerated: bool = True  # every sign vector used once (Rademacher, G <= 16)
    statistic: Statistic = "wald"  # the randomization test's statistic
    few_clusters: int = 10  # the plan's few-cluster threshold: below it the notes carry a caution

    @property
    def _floor_note(self) -> str:
        """The score bootstrap's resolution when a p-value sits at its bottom (enumerated sign vectors).

        With all B = 2^G Rademacher sign vectors enumerated the p-value is the share of them whose
        |t*| exceeds |t| strictly; they come in +- pairs with equal |t*|, and the observed vector and its
        mirror image tie and never count, so p moves in steps of 2 / B from 0. A p-value of 0 or 2 / B
        says only that no other pair, or one, gives a larger |t*| (boottest: the same steps).
        """
        if not (self.bootstrap_enumerated and self.bootstrap_draws and "p_score_bootstrap" in self.frame):
            return ""
        step = 2 / self.bootstrap_draws
        if not (self.frame["p_score_bootstrap"] <= step * (1 + 1e-9)).any():
            return ""
        return (
            f" With G = {self.n_clusters} the score bootstrap's p-values move in steps of 2/{self.bootstrap_draws:,} "
            f"= {step:.4f} (sign vectors come in +- pairs; the observed one and its mirror image never count), "
            f"and a p-value here is 0 or {step:.4f}: it says only that no other pair of sign vectors, or one, "
            "gives a larger |t*|, not a measured tail probability."
        )

    @property
    def _score_bound_note(self) -> str:
        """The score randomization statistic's bound: ``|T| <= sqrt(G - 1)`` (its cluster-robust SE is not re-centred).

        ``T = S / sqrt(G/(G-1) sum_c u_c^2)`` with ``S = sum_c u_c`` (Cauchy-Schwarz), so with few clusters and a
        large panel a component common to all clusters keeps every re-draw's ``|T|`` near the observed one.
        """
        if self.statistic != "score" or self.n_clusters < 2:
            return ""
        return (
            f" The score statistic's standard error is not re-centred, so |T| <= sqrt(G - 1) = "
            f"{np.sqrt(self.n_clusters - 1):.2f}: with few {plural(self.units[1])} and a large panel its randomization "
            "p-value can stay large beside a clear effect; read it with the score bootstrap (docs/inference.md)."
        )

    @property
    def _weights_note(self) -> str:
        """The score bootstrap's weights in words, e.g. "Rademacher weights, all 16,384 sign vectors"."""
        words = f"{WEIGHT_NAMES[self.bootstrap_weights]} weights"
        if not self.bootstrap_draws:
            return words
        if self.bootstrap_enumerated:
            return f"{words}, all {self.bootstrap_draws:,} sign vectors"
        return f"{words}, {self.bootstrap_draws:,} draws"

    @property
    def table(self) -> Table:
        """The effects as a :class:`Table`: OR, the four p-values, the score bootstrap's CI (and the LPM)."""
        f = self.frame
        display = pd.DataFrame(
            {
                "OR": f["or"].map("{:.3f}".format),
                "p (cluster z)": f["p_cluster_z"].map("{:.4f}".format),
                f"p (t({self.n_clusters - 1}))": f["p_t"].map("{:.4f}".format),
                "p (score bootstrap)": f["p_score_bootstrap"].map("{:.4f}".format),
                "95% CI (score bootstrap)": [
                    f"({a:.3f}, {b:.3f})" for a, b in zip(f["sb_or_ci_low"], f["sb_or_ci_high"])
                ],
                "p (randomization)": [f"{p:.4f} ({s:.4f})" for p, s in zip(f["p_randomization"], f["ri_mc_se"])],
            },
            index=f.index,
        )
        if "lpm_pp" in f:
            display["LPM (pp)"] = [f"{v:.2f} (p = {p:.4f})" for v, p in zip(f["lpm_pp"], f["p_lpm"])]
        unit, cluster = self.units
        notes = (
            f"Fixed-effects logit, clustered by {cluster} (G = {self.n_clusters}). p-values for H0: no effect: "
            "cluster-robust z (normal), the same z against t(G-1), the wild cluster score bootstrap "
            f"(boottest's statistic, {self._weights_note}), and randomization inference re-drawing "
            f"{plural(unit)} within {cluster} (R = {self.n_perm:,} re-draws, {_STATISTIC_WORDS[self.statistic]}; Monte Carlo "
            "SE in parentheses)." + self._score_bound_note + self._floor_note
        )
        caution = few_cluster_caution(
            self.n_clusters,
            self.few_clusters,
            clusters=plural(cluster),
            reference="the cluster z p-value uses the normal reference and may be too small",
        )
        if caution:  # the table shows t(G-1), the score bootstrap and randomization beside the normal z
            notes += " " + caution
        return Table(frame=f, display=display, title="Few-cluster inference for the treatment effects", notes=notes)

    def to_numbers(self) -> dict[str, float]:
        """``inference.<model>.<field>`` for ``reproduced.csv``."""
        return {
            f"inference.{model}.{field}": float(v) for model, row in self.frame.iterrows() for field, v in row.items()
        }


#: The randomization statistic in a table note.
_STATISTIC_WORDS = {
    "score": "studentized score statistic at the restricted fit",
    "wald": "refitted robust z statistic",
    "coef": "refitted coefficient",
}


def _inference_models(plan: Plan, models: Sequence[str] | None) -> list[str]:
    if isinstance(models, str):
        raise TypeError(f"models must be a list of model names, not the string {models!r}")
    names = list(plan.inference_models if models is None else models)
    if not names:
        raise ValueError(f"no models to test: the plan {plan.name!r} lists none in inference.models; pass models=")
    return names


def _term_row(
    fit: ModelResults, term: str, sb: ScoreBootstrapResult, ri: RandomizationResult, lin: Any
) -> dict[str, float]:
    """One treatment term's row: the estimate and its four p-values (and the LPM's, when fitted)."""
    sb_ci = sb.odds_ratio_conf_int() or (np.nan, np.nan)  # score_bootstrap inverts the test by default
    row = {
        "coef": fit.params[term],
        "or": np.exp(fit.params[term]),
        "z": fit.tvalues[term],
        "p_cluster_z": fit.pvalues[term],
        "p_t": wald_t_pvalue(fit, term),
        "score_statistic": sb.statistic,
        "p_score_bootstrap": sb.pvalue,
        "sb_or_ci_low": sb_ci[0],
        "sb_or_ci_high": sb_ci[1],
        "p_randomization": ri.pvalue,
        "ri_mc_se": ri.mc_se,
        "ri_draws": ri.n_perm,
    }
    if lin is not None:
        row.update(lpm_pp=100 * lin.params[term], p_lpm=lin.pvalues[term])
    return row


def _model_rows(
    panel: Panel, name: str, weights: BootstrapWeights, *, lpm: bool, seed: int | None, **redraws: Any
) -> tuple[dict[str, dict[str, float]], int, list[ScoreBootstrapResult]]:
    """A plan model's rows (one per treatment term), its number of clusters and its score-bootstrap results.

    ``redraws``: ``n_perm``, ``n_jobs``, ``executor``, ``client`` and ``progress`` of :func:`randomization_test`.
    """
    from famtrial.trial.effects import fe_design, fit_plan_model, trial_lpm

    plan = panel.plan
    spec = plan.model(name)
    if spec.cluster != "office":
        raise ValueError(
            f"model {name!r} clusters on {spec.cluster!r}: few-cluster inference re-draws families "
            "within offices and needs cluster = 'office'"
        )
    if is_dask_dataframe(panel.data):
        return _dask_model_rows(panel, spec, weights, lpm=lpm, seed=seed, **redraws)
    fit = fit_plan_model(panel, spec)
    frame, _ = fe_design(panel, spec.outcome, split=spec.split, trend=spec.time, covariates=spec.covariates)
    lin = trial_lpm(panel, spec.outcome, split=spec.split) if lpm else None
    rows, tests = {}, []
    for term in [t for t in fit.params.index if t in plan.treatment_terms]:
        sb = score_bootstrap(fit, term, frame[panel.columns.office], weights=weights, seed=seed)
        with few_clusters_once(f"model {name}", quiet=True):  # the model's own fit above has warned
            ri = randomization_test(
                panel,
                spec.outcome,
                split=spec.split,
                term=term,
                trend=spec.time,
                covariates=spec.covariates,
                seed=seed,
                **redraws,
            )
        rows[name if not spec.split else f"{name}.{term}"] = _term_row(fit, term, sb, ri, lin)
        tests.append(sb)
    return rows, fit.n_clusters or 0, tests  # clustered on office (checked above)


def _dask_model_rows(
    panel: Panel, spec: Any, weights: BootstrapWeights, *, lpm: bool, seed: int | None, **redraws: Any
) -> tuple[dict[str, dict[str, float]], int, list[ScoreBootstrapResult]]:
    """:func:`_model_rows` on a Dask panel (:mod:`famtrial.trial._inference_dask`): the score statistic only."""
    from famtrial.trial._inference_dask import dask_model_rows

    if lpm:
        raise PlanError("lpm=True is not available on a Dask panel: run the linear-probability twin in memory")
    if redraws["statistic"] != "score":
        raise PlanError(
            f"statistic={redraws['statistic']!r} refits the model for every re-draw, which runs on the rows: on a "
            "Dask panel use statistic='score' ([inference] statistic = \"score\"), or load the panel in memory"
        )
    with few_clusters_once(f"model {spec.name}", quiet=True):
        fit, tests = dask_model_rows(panel, spec, family_design(panel), weights, seed=seed, n_perm=redraws["n_perm"])
    rows = {
        (spec.name if not spec.split else f"{spec.name}.{term}"): _term_row(fit, term, sb, ri, None)
        for term, (sb, ri) in tests.items()
    }
    return rows, fit.n_clusters or 0, [sb for sb, _ in tests.values()]


def few_cluster_inference(
    panel: Panel,
    models: Sequence[str] | None = None,
    *,
    n_perm: int = 999,
    seed: int | None = 20161001,
    lpm: bool = False,
    n_jobs: int | None = None,
    executor: Executor = "auto",
    client: Any = None,
    progress: bool = True,
    statistic: Statistic | None = None,
) -> FewClusterInference:
    """The plan's models' treatment effects with cluster-robust z, t(G-1), score-bootstrap and randomization p-values.

    ``models`` names models of the panel's plan (default: its ``inference.models``). Split
    models give a row per variant term (``model2.<treatment>_<variant>``). ``lpm=True`` adds the
    linear-probability twin (percentage points). Score bootstrap: the plan's ``[inference]
    bootstrap_weights`` (Rademacher by default: all sign vectors when G <= 16; Webb and Mammen weights
    drawn, 9,999 draws seeded by ``seed``), interval by test inversion; the table's note names the
    weights. Randomization: ``statistic`` (default the plan's ``[inference] statistic``, ``"score"`` unless
    set), ``n_perm`` re-draws (``n_jobs``, ``executor`` and ``client`` as :func:`randomization_test`).
    """
    plan = panel.plan
    statistic = _statistic(plan.randomization_statistic if statistic is None else statistic)
    names = _inference_models(plan, models)
    weights = check_choice(plan.bootstrap_weights, BootstrapWeights, "inference.bootstrap_weights", ValueError)
    rows: dict[str, dict[str, float]] = {}
    n_clusters, tests = 0, []
    for name in names:
        model_rows, n_clusters, model_tests = _model_rows(
            panel,
            name,
            weights,
            lpm=lpm,
            seed=seed,
            statistic=statistic,
            n_perm=n_perm,
            n_jobs=n_jobs,
            executor=executor,
            client=client,
            progress=progress,
        )
        rows.update(model_rows)
        tests += model_tests
    return FewClusterInference(
        frame=pd.DataFrame.from_dict(rows, orient="index"),
        n_perm=n_perm,
        n_clusters=n_clusters,
        units=(plan.unit("family", 1), plan.unit("office", 1)),
        bootstrap_weights=weights,
        bootstrap_draws=tests[-1].n_draws if tests else 0,
        bootstrap_enumerated=tests[-1].enumerated if tests else True,
        few_clusters=plan.few_clusters,
        statistic=statistic,
    )
