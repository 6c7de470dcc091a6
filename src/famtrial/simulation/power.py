r"""Power, minimum detectable effects and operating characteristics by simulation, for this analysis.

Each simulated trial is drawn from a source: the replica's generator (the default,
:func:`famtrial.simulation.replica.generate` in the size study's pure form), a :class:`famtrial.simulation.design.TrialDesign`
calibrated to a plan's data (:func:`famtrial.simulation.calibrate.calibrate`), or a given TrialDesign
(``simulate_panel``); it is put through the analysis (the plan's office exclusion rule and primary
fixed-effects logit with SE clustered by office, or for a bare design the ``threshold``/``unit``/``trend``
arguments) and tested with the chosen tests of ``H0: b = 0`` at level ``alpha``:

==================  ==================================================================================
``cluster_z``       cluster-robust Wald z against N(0, 1) (Stata ``clogit ..., vce(cluster office)``)
``t``               the same z against t(G - 1), G = analysed offices
``score_bootstrap`` wild cluster score bootstrap (Kline-Santos; Rademacher, all sign vectors when
                    G <= 16, else 9,999 seeded draws; Stata ``boottest``)
``randomization``   randomization inference: families re-drawn within office, robust z, ``ri_draws``
                    re-draws (exact size at any G; it can reject at ``alpha`` only when
                    ``1 / (ri_draws + 1) <= alpha``)
==================  ==================================================================================

Per scenario (one point of the grid over ``effect_or``, ``offices``, ``families_per_office``,
``months_pre``, ``months_post``, ``control_share``) and test, with R successful simulations::

    power      = #{p <= alpha} / R,             Monte Carlo SE = sqrt(power (1 - power) / R)
    bias       = mean(b^) - tau,                 Monte Carlo SE = SD(b^) / sqrt(R)
    coverage   = #{H0: b = tau not rejected} / R (cluster_z, t, score_bootstrap), same MC SE as power

``tau`` is the true conditional log-OR: ``log(effect_or)`` when given, otherwise the mean of the
design's variant effects for the outcome (the average office's effect). With office-level effect
heterogeneity (``office_effect_sd > 0``) the fixed-effects estimate targets an information-weighted
average of office effects, so bias then includes that difference.

Seeds: simulation r of every scenario draws from ``SeedSequence(seed).spawn(n_sims)[r]`` (the
panel from its child 0, the randomization re-draws from child 1, the bootstrap weights from child 2;
children 0 and 1 are the size study's, so ``benchmarks/size_study.py``'s replication with that
sequence is this simulation: :func:`one_trial`), so scenarios share their random
numbers (common random numbers: power curves are smooth in the effect, differences between
scenarios are estimated more precisely than the per-scenario MC SEs suggest) and results are
identical serially, in processes (``n_jobs``) or on a Dask client.

Stata's ``power`` and R's ``DeclareDesign`` have no fixed-effects logit with few-cluster inference;
the closest conventions are those of ``clustersampsi``/``power twoproportions, cluster`` for the
cross-sectional, cluster-randomized case, which :func:`design_effect_power` implements and the tests
compare with simulation (``analysis="cross_section"``).
"""

from __future__ import annotations

import itertools
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any, TypedDict, cast, get_args

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from famtrial._options import PowerAnalysis, PowerEstimand, PowerTest, TimeAdjustment, Unit, check_choice
from famtrial._parallel import one_kernel_thread, run_tasks
from famtrial._toml import DESIGN
from famtrial._toml import Table as TomlTable
from famtrial.errors import DesignError
from famtrial.simulation.design import TrialDesign, load_design, simulate_panel
from famtrial.table import Table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from famtrial.data.panel import Panel
    from famtrial.models.clogit import ConditionalLogitResults
    from famtrial.models.logit import LogitResults
    from famtrial.plan.spec import FEModel, Plan
    from famtrial.simulation.replica import ReplicaConfig

# a grid argument of power(): one value, a (low, high) range, or a list (or array) of them (a grid)
GridArg = float | int | tuple[float, float] | list[float | int | tuple[float, float]] | np.ndarray | None


__all__ = [
    "PowerResult",
    "MDEResult",
    "power",
    "one_trial",
    "minimum_detectable_effect",
    "design_effect_power",
    "marginal_icc",
    "run_scenario",
    "write_scenario_results",
    "TESTS",
    "GRID",
]

TESTS: tuple[str, ...] = get_args(PowerTest)
_ANALYSES = get_args(PowerAnalysis)
#: The arguments of :func:`power` that take a grid (a list of values).
GRID: tuple[str, ...] = ("effect_or", "offices", "families_per_office", "months_pre", "months_post", "control_share")
_LABELS = {
    "cluster_z": "cluster-robust z",
    "t": "z with t(G-1)",
    "score_bootstrap": "wild cluster score bootstrap",
    "randomization": "randomization inference",
}


# -- one simulated trial ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Options:
    outcome: str
    tests: tuple[str, ...]
    alpha: float
    analysis: PowerAnalysis
    threshold: float | None
    unit: Unit
    trend: TimeAdjustment
    ri_draws: int
    month: str | None
    plan: Plan | None = None  # the analysis plan of a plan or replica source, else None
    covariates: tuple[str, ...] | None = None  # the plan model's covariates (None: the design's time-varying)
    estimand: PowerEstimand = "itt"


#: the tests of the CACE (2SLS on the linear probability model: a cluster-robust z)
CACE_TESTS: tuple[str, ...] = ("cluster_z", "t")


def _analyse(panel: pd.DataFrame, design: Any, opts: _Options, truth: float, seeds: Sequence[int]) -> dict[str, Any]:
    """Analyse one simulated panel as the trial would be analysed: estimate, SE and the tests' p-values.

    The only place that calls the trial layer (loader, sample rule, primary model, tests).
    """
    if opts.estimand == "cace":
        return _analyse_cace(panel, design, opts, truth)
    sample = _sample(panel, design, opts)
    fit, clusters, term = _fit(sample, design, opts)
    est, se = float(fit.params[term]), float(fit.bse[term])
    n_clusters = fit.n_clusters
    assert n_clusters is not None  # both fits cluster on the office
    g = int(n_clusters)
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise ValueError(
            f"the estimate of {term} has SE {se:g} with G = {g} analysed offices "
            f"(the cluster-robust covariance needs more offices than the model has coefficients)"
        )
    out = {"estimate": est, "se": se, "offices_analysed": g, "parents_analysed": int(sample.report.parents)}
    return out | _tests(sample, fit, clusters, term, opts, truth, seeds)


def _analyse_cace(panel: pd.DataFrame, design: TrialDesign, opts: _Options, truth: float) -> dict[str, Any]:
    """One simulated trial's CACE (``estimand="cace"``): 2SLS on the LPM, the design's take-up instrumented by the offer.

    The panel is loaded with :func:`famtrial.simulation.compliance.design_plan` (its roles, take-up and
    entry columns, the fixed-effects model with ``trend`` and the design's time-varying covariates,
    clustered by office), put through the exclusion rule, and analysed by
    :func:`famtrial.trial.compliance.cace` (as :func:`~famtrial.simulation.compliance.cace_power` does).
    ``cluster_z``: ``|b / se| > z_{1-alpha/2}``; ``t``: the same ``b / se`` against t(G - 1).
    """
    from famtrial.data.load import load_panel
    from famtrial.simulation.compliance import design_plan
    from famtrial.trial.compliance import cace
    from famtrial.trial.sample import analysis_sample

    loaded = load_panel(panel, design_plan(design, outcome=opts.outcome, time=opts.trend))
    if opts.threshold is not None:
        loaded = analysis_sample(loaded, threshold=opts.threshold, unit=opts.unit, rule="control_share").panel
    r = cace(loaded, "primary", alpha=opts.alpha)
    est, se, g = float(r.estimates.loc["cace_2sls", "coef"]), float(r.estimates.loc["cace_2sls", "se"]), r.n_clusters
    if not (np.isfinite(est) and np.isfinite(se) and se > 0):
        raise ValueError(f"the CACE has SE {se:g} with G = {g} analysed offices")
    out: dict[str, Any] = {
        "estimate": est,
        "se": se,
        "offices_analysed": g,
        "parents_analysed": r.n_parents,
        "take_up": float(r.take_up.loc["offered", "share"]),
        "itt_estimate": float(r.estimates.loc["itt", "coef"]),
    }
    z, known = abs(est / se), np.isfinite(truth)
    for test in opts.tests:
        crit = stats.norm.isf(opts.alpha / 2) if test == "cluster_z" else stats.t(g - 1).isf(opts.alpha / 2)
        out[f"p_{test}"] = float(2 * (stats.norm.sf(z) if test == "cluster_z" else stats.t(g - 1).sf(z)))
        if known:
            out[f"cover_{test}"] = float(abs(est - truth) / se < crit)
    return out


def _sample(panel: pd.DataFrame, design: Any, opts: _Options) -> Panel:
    """The simulated panel loaded (by the plan, or with a bare design's roles) and put through the rule."""
    from famtrial.data.load import load_panel
    from famtrial.plan.spec import Columns
    from famtrial.trial.sample import analysis_sample

    if opts.plan is not None:  # a plan's or the replica's analysis: the plan loads its own columns and codes
        loaded = load_panel(panel, opts.plan)
    else:  # a bare design: recode the arm to 0/1 and drop the variant, roles from the design
        cols = design.columns
        data = panel.assign(**{cols.arm: (panel[cols.arm] == cols.arm_offered).astype(np.int8)})
        if cols.variant is not None:
            data = data.drop(columns=cols.variant)
        roles = Columns(
            parent=cols.parent,
            family=cols.family,
            office=cols.office,
            month=cols.month,
            arm=cols.arm,
            model=None,
            outcomes=tuple(o.name for o in design.outcomes),
            time_varying=design.time_varying,
            time_invariant=design.time_invariant,
        )
        loaded = load_panel(data, roles, implementation=design.implementation, baseline=design.baseline)
    if opts.threshold is None:
        return loaded
    return analysis_sample(loaded, threshold=opts.threshold, unit=opts.unit, rule="control_share").panel


def _fit(sample: Panel, design: Any, opts: _Options) -> tuple[ConditionalLogitResults | LogitResults, pd.Series, str]:
    """``(fit, clusters, term)`` of one simulated trial.

    The fixed-effects logit (or a month's cross-sectional logit), the office of each fitted row and the
    treatment's term.
    """
    from famtrial.models.logit import logit
    from famtrial.trial.effects import fe_design, fe_model

    office = sample.columns.office
    fit: ConditionalLogitResults | LogitResults
    if opts.analysis == "fe":
        fit = fe_model(sample, opts.outcome, trend=opts.trend, covariates=opts.covariates)
        frame, _ = fe_design(sample, opts.outcome, trend=opts.trend, covariates=opts.covariates)
        return fit, frame[office], sample.plan.term("pooled")
    month = pd.Period(opts.month or design.last_month, "M")
    frame = sample.data.loc[sample.data[sample.columns.month] == month]
    fit = logit(frame, opts.outcome, [sample.columns.arm], cluster=office)
    return fit, frame[office], sample.columns.arm


def _tests(
    sample: Panel,
    fit: ConditionalLogitResults | LogitResults,
    clusters: pd.Series,
    term: str,
    opts: _Options,
    truth: float,
    seeds: Sequence[int],
) -> dict[str, float]:
    """Each test's p-value of ``H0: b = 0`` (``p_<test>``).

    For the fixed-effects model also whether its interval covers the truth (``cover_<test>``).
    ``seeds``: the score bootstrap's, the randomization test's.
    """
    from famtrial.inference.score_bootstrap import score_bootstrap, wald_t_pvalue
    from famtrial.trial.few_cluster import randomization_test

    seed_sb, seed_ri = seeds
    est, se = float(fit.params[term]), float(fit.bse[term])
    g = int(cast(int, fit.n_clusters))
    out: dict[str, float] = {}
    z_crit = stats.norm.isf(opts.alpha / 2)
    t_crit = stats.t(g - 1).isf(opts.alpha / 2)
    covers = opts.analysis == "fe"  # the cross-sectional logit estimates a marginal log-OR, not tau
    for test in opts.tests:
        if test == "cluster_z":
            out["p_cluster_z"] = float(fit.pvalues[term])
            if covers:
                out["cover_cluster_z"] = float(abs(est - truth) / se < z_crit)
        elif test == "t":
            out["p_t"] = wald_t_pvalue(fit, term)
            if covers:
                out["cover_t"] = float(abs(est - truth) / se < t_crit)
        elif test == "score_bootstrap":
            out["p_score_bootstrap"] = score_bootstrap(fit, term, clusters, conf_int=False, seed=seed_sb).pvalue
            if covers:
                out["cover_score_bootstrap"] = float(
                    score_bootstrap(fit, term, clusters, null=truth, conf_int=False, seed=seed_sb).pvalue > opts.alpha
                )
        else:
            out["p_randomization"] = randomization_test(
                sample,
                opts.outcome,
                trend=opts.trend,
                n_perm=opts.ri_draws,
                covariates=opts.covariates,
                seed=seed_ri,
                n_jobs=1,
                progress=False,
            ).pvalue
    return out


@dataclass(frozen=True)
class _Simulation:
    """One task: simulate scenario ``scenario``'s trial number ``sim`` and analyse it (picklable)."""

    opts: _Options

    def __call__(
        self, task: tuple[int, int, TrialDesign | ReplicaConfig, float, np.random.SeedSequence]
    ) -> dict[str, Any]:
        scenario, sim, design, truth, seq = task
        # the children spawn(3) would give, without mutating ``seq`` (shared by every scenario's simulation r):
        # 0 the panel, 1 the randomization re-draws, 2 the bootstrap weights; children 0 and 1 are those of
        # benchmarks/size_study.py (seed_seq.spawn(2)), so a size-study replication is a power() simulation
        data_seed, ri_seed, sb_seed = (
            int(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, k)).generate_state(1)[0])
            for k in range(3)
        )
        row: dict[str, Any] = {"scenario": scenario, "sim": sim}
        try:
            if isinstance(design, TrialDesign):
                panel = simulate_panel(design, seed=data_seed)
            else:  # the replica's generator (famtrial.simulation.replica.ReplicaConfig)
                from famtrial.simulation.replica import generate

                panel = generate(design, seed=data_seed)
            row |= _analyse(panel, design, self.opts, truth, [sb_seed, ri_seed])
        except (ValueError, RuntimeError, ArithmeticError, np.linalg.LinAlgError) as exc:
            # a trial the analysis cannot handle (no office passes the rule, separation, no convergence):
            # recorded and counted, never silently dropped
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        return row


# -- results -----------------------------------------------------------------------------------------------
def _rate(x: pd.Series) -> tuple[float, float]:
    x = x.dropna()
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    r = float(x.mean())
    return r, float(np.sqrt(r * (1 - r) / n))


def _truth_column(scenarios: pd.DataFrame) -> str:
    """The scenarios' true value of the estimate: the complier risk difference for the CACE, else the log-OR."""
    return "true_cace_rd" if "true_cace_rd" in scenarios else "true_log_or"


def _summarise(sims: pd.DataFrame, scenarios: pd.DataFrame, tests: Sequence[str], alpha: float) -> pd.DataFrame:
    rows = []
    for sid in scenarios.index:
        grp = sims[sims["scenario"] == sid]
        ok = grp[grp["error"].isna()] if "error" in grp else grp
        n = len(ok)
        truth = scenarios.loc[sid, _truth_column(scenarios)]
        est = ok["estimate"] if n else pd.Series(dtype=float)
        row = {
            "scenario": sid,
            "simulations": len(grp),
            "failed": len(grp) - n,
            "bias": float(est.mean() - truth) if n else np.nan,
            "bias_mc_se": float(est.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
            "mean_estimate": float(est.mean()) if n else np.nan,
            "sd_estimate": float(est.std(ddof=1)) if n > 1 else np.nan,
            "mean_se": float(ok["se"].mean()) if n else np.nan,
            "offices_analysed": float(ok["offices_analysed"].mean()) if n else np.nan,
            "parents_analysed": float(ok["parents_analysed"].mean()) if n else np.nan,
        }
        for test in tests:
            row[f"power_{test}"], row[f"power_{test}_mc_se"] = _rate(ok[f"p_{test}"] <= alpha) if n else (np.nan,) * 2
            cover = f"cover_{test}"
            row[f"coverage_{test}"], row[f"coverage_{test}_mc_se"] = (
                _rate(ok[cover]) if n and cover in ok else (np.nan, np.nan)
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("scenario")


@dataclass(frozen=True)
class MDEResult:
    """The smallest odds ratio with power >= ``target`` for ``test``, found by bisection on log OR.

    ``evaluations`` lists every evaluated OR with its power and MC SE (same seeds at every OR:
    common random numbers). ``mde_or`` is the upper end of the final bracket ``(lower_or,
    upper_or)``: the smallest evaluated OR whose estimated power reached the target.
    """

    test: str
    target: float
    mde_or: float
    lower_or: float
    upper_or: float
    evaluations: pd.DataFrame
    n_sims: int
    elapsed: float

    def summary(self) -> str:
        """One line: the minimum detectable OR, its bracket and the simulations it took."""
        return (
            f"minimum detectable OR for power {self.target:.0%} ({_LABELS[self.test]}): {self.mde_or:.3f} "
            f"(bracket {self.lower_or:.3f} .. {self.upper_or:.3f}; {len(self.evaluations)} evaluations of "
            f"{self.n_sims} simulations each, {self.elapsed:.0f} s)"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass(frozen=True, repr=False)
class PowerResult:
    """Power per test and scenario, with Monte Carlo SEs and the estimates' operating characteristics.

    Attributes
    ----------
    scenarios : DataFrame
        One row per scenario (index ``scenario``): the grid arguments (``None``: the design's own
        value), the true log-OR ``true_log_or``.
    summary : DataFrame
        Per scenario: ``power_<test>`` and ``power_<test>_mc_se``, ``coverage_<test>`` (and MC SE),
        ``bias`` (and ``bias_mc_se``), ``mean_estimate``, ``sd_estimate``, ``mean_se``, mean
        ``offices_analysed`` and ``parents_analysed``, ``simulations`` and ``failed``.
    simulations : DataFrame
        One row per simulated trial: ``scenario``, ``sim``, ``estimate``, ``se``, ``p_<test>``,
        ``cover_<test>``, ``error`` (the reason a trial could not be analysed, else missing).
    tests, alpha, n_sims, seed, outcome, analysis, elapsed
        The run's settings and its wall time in seconds.
    varied, model
        The grid arguments given; the analysis in words (model, time adjustment, covariates, rule, plan).
    estimand : {"itt", "cace"}
        What was tested: the offer's log-OR, or the CACE (``estimate`` a risk difference, the truth the
        scenarios' ``true_cace_rd``; :func:`power`).
    """

    scenarios: pd.DataFrame
    summary: pd.DataFrame
    simulations: pd.DataFrame
    tests: tuple[str, ...]
    alpha: float
    n_sims: int
    seed: int | None
    outcome: str
    analysis: str
    elapsed: float
    varied: tuple[str, ...] = field(default=())
    model: str = "fixed-effects logit (parent effects, linear trend), SE clustered by office"
    estimand: str = "itt"

    def power(self, test: str | None = None) -> pd.DataFrame:
        """Long table: one row per scenario and test with the grid values, ``power`` and ``mc_se``."""
        tests = self.tests if test is None else (self._check(test),)
        parts = []
        for t in tests:
            part = self.scenarios[list(self.varied)].copy()
            part["test"] = t
            part["power"] = self.summary[f"power_{t}"]
            part["mc_se"] = self.summary[f"power_{t}_mc_se"]
            parts.append(part)
        return pd.concat(parts).reset_index()

    def _check(self, test: str) -> str:
        if test not in self.tests:
            raise ValueError(f"test={test!r} was not run; this result has {list(self.tests)}")
        return test

    def minimum_detectable_effect(self, power: float = 0.8, test: str = "score_bootstrap") -> pd.DataFrame:
        """The smallest OR (> 1) reaching ``power``, interpolated on the simulated ``effect_or`` grid.

        Per combination of the other varied arguments: the first grid interval ``[OR_k, OR_k+1]``
        (ORs >= 1, ascending) where power crosses ``power``, linear interpolation in log OR, and an
        MC SE of the interpolated log OR, ``SE(power at the crossing) / slope``. ``mde_or`` is
        missing when the grid's largest OR stays below the target (``reached = "above grid"``) or
        its smallest OR already exceeds it (``"below grid"``). For a search by simulation rather
        than interpolation, see :func:`minimum_detectable_effect`.
        """
        test = self._check(test)
        if not 0 < power < 1:
            raise ValueError(f"power={power!r} must lie strictly between 0 and 1")
        if "effect_or" not in self.varied:
            raise ValueError(
                "minimum_detectable_effect needs a grid of effect_or values (e.g. effect_or=[1.0, 1.1, "
                "1.2, 1.3, 1.5]); or call famtrial.simulation.power.minimum_detectable_effect"
            )
        frame = self.scenarios.join(self.summary[[f"power_{test}", f"power_{test}_mc_se"]])
        frame = frame[frame["effect_or"] >= 1]
        others = [v for v in self.varied if v != "effect_or"]
        rows = []
        groups = frame.groupby(others, sort=False, dropna=False) if others else [((), frame)]
        for key, grp in groups:
            grp = grp.sort_values("effect_or")
            ors, pw, se = (grp[c].to_numpy(float) for c in ("effect_or", f"power_{test}", f"power_{test}_mc_se"))
            row = dict(zip(others, key if isinstance(key, tuple) else (key,)))
            row.update(mde_or=np.nan, mde_log_or_mc_se=np.nan, reached="above grid")
            if len(pw) and pw[0] >= power:
                row["reached"] = "below grid"
            else:
                for k in range(len(pw) - 1):
                    if pw[k] < power <= pw[k + 1]:
                        x0, x1 = np.log(ors[k]), np.log(ors[k + 1])
                        slope = (pw[k + 1] - pw[k]) / (x1 - x0)
                        x = x0 + (power - pw[k]) / slope
                        w = (x - x0) / (x1 - x0)
                        row.update(
                            mde_or=float(np.exp(x)),
                            reached="interpolated",
                            mde_log_or_mc_se=float(np.hypot((1 - w) * se[k], w * se[k + 1]) / slope),
                        )
                        break
            rows.append(row)
        return pd.DataFrame(rows)

    def table(self, *, digits: int = 1) -> Table:
        """Power per test (percent, MC SE), bias, SD of estimates vs mean SE, coverage, per scenario."""
        s = self.summary

        def pct(v: float, e: float) -> str:
            return "" if pd.isna(v) else f"{100 * v:.{digits}f} ({100 * e:.{digits}f})"

        display = self.scenarios[list(self.varied)].astype(object).copy()
        for t in self.tests:
            display[f"power, {_LABELS[t]}"] = [pct(v, e) for v, e in zip(s[f"power_{t}"], s[f"power_{t}_mc_se"])]
        display["bias (MC SE)"] = [
            f"{b:+.3f} ({e:.3f})" if pd.notna(b) else "" for b, e in zip(s["bias"], s["bias_mc_se"])
        ]
        display["SD of estimates / mean SE"] = [f"{a:.3f} / {b:.3f}" for a, b in zip(s["sd_estimate"], s["mean_se"])]
        for t in self.tests:
            if s[f"coverage_{t}"].notna().any():
                display[f"coverage, {_LABELS[t]}"] = [
                    pct(v, e) for v, e in zip(s[f"coverage_{t}"], s[f"coverage_{t}_mc_se"])
                ]
        display["offices analysed"] = s["offices_analysed"].map("{:.1f}".format)
        display["simulations (failed)"] = [f"{n} ({f})" for n, f in zip(s["simulations"], s["failed"])]
        model = self.model if self.analysis == "fe" else "cross-sectional logit on the arm, SE clustered by office"
        notes = (
            f"{self.n_sims} simulated trials per scenario (seed {self.seed}), outcome {self.outcome}; {model}. "
            f"Power: rejection of H0: no effect at {self.alpha:g}, percent (Monte Carlo SE). Bias: mean "
            + (
                "CACE estimate (risk difference) minus the generating complier risk difference. Coverage: "
                "non-rejection of the generating complier risk difference. "
                if self.estimand == "cace"
                else "log-OR estimate minus the true log-OR. Coverage: non-rejection of the true log-OR. "
            )
            + f"Run time {self.elapsed:.0f} s."
        )
        return Table(
            frame=self.scenarios.join(s), display=display, title=f"Power by simulation ({self.outcome})", notes=notes
        )

    def plot(
        self,
        x: str = "offices",
        *,
        tests: Sequence[str] | None = None,
        ax: Axes | None = None,
        target: float | None = 0.8,
        title: str | None = None,
    ) -> Figure:
        """Power curves against ``x`` (a varied grid argument), one line per test, with 95% MC error bars.

        Error bars: +-1.96 Monte Carlo SE. With other arguments varied as well, each combination
        gets its own line (labelled). Returns the matplotlib Figure; ``ax=`` draws into given axes.
        """
        import matplotlib.pyplot as plt

        if x not in self.varied:
            raise ValueError(f"x={x!r} is not a varied grid argument; varied: {list(self.varied)}")
        tests = self.tests if tests is None else tuple(self._check(t) for t in tests)
        own = ax is None
        if ax is None:
            ax = plt.subplots(figsize=(7.0, 4.2))[1]
        fig = cast("Figure", ax.figure)  # a SubFigure only for axes of a subfigure
        others = [v for v in self.varied if v != x]
        frame = self.scenarios.join(self.summary)
        markers = "osD^v<>"
        for i, t in enumerate(tests):
            groups = frame.groupby(others, sort=False, dropna=False) if others else [((), frame)]
            for key, grp in groups:
                grp = grp.sort_values(x)
                key = key if isinstance(key, tuple) else (key,)
                label = _LABELS[t] + "".join(f", {k} = {_fmt(v)}" for k, v in zip(others, key))
                ax.errorbar(
                    [_fmt_x(v) for v in grp[x]],
                    grp[f"power_{t}"],
                    yerr=1.96 * grp[f"power_{t}_mc_se"],
                    marker=markers[i % len(markers)],
                    ms=4,
                    capsize=2.5,
                    lw=1.2,
                    label=label,
                )
        if target is not None:
            ax.axhline(target, color="#888888", lw=0.8, ls="--")
        ax.axhline(self.alpha, color="#888888", lw=0.8, ls=":")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel({"offices": "Offices randomized", "effect_or": "True odds ratio"}.get(x, x.replace("_", " ")))
        ax.set_ylabel(f"Power (rejects at {self.alpha:g})")
        ax.set_title(title if title is not None else f"Power by simulation: {self.outcome}", fontsize=10, loc="left")
        ax.grid(color="#dddddd", lw=0.5)
        ax.legend(fontsize=7.5, frameon=False)
        ax.text(
            0.0,
            -0.16,
            f"{self.n_sims} simulated trials per point; bars: 95% Monte Carlo intervals.",
            transform=ax.transAxes,
            fontsize=8,
            va="top",
        )
        if own:
            fig.tight_layout()
        return fig

    def describe(self) -> str:
        """The run in words: its settings, then per scenario each test's power (MC SE), bias and SD vs mean SE."""
        lines = [
            f"Power by simulation: outcome {self.outcome}, analysis {self.analysis}"
            f"{' (estimand: the CACE, risk differences)' if self.estimand == 'cace' else ''}, {self.n_sims} trials per "
            f"scenario, {len(self.scenarios)} scenarios, alpha {self.alpha:g}, seed {self.seed}, "
            f"{self.elapsed:.0f} s"
        ]
        for sid, row in self.scenarios.iterrows():
            what = ", ".join(f"{k} = {_fmt(row[k])}" for k in self.varied) or "the design as given"
            s = self.summary.loc[sid]
            rates = ", ".join(
                f"{t} {100 * s[f'power_{t}']:.1f}% ({100 * s[f'power_{t}_mc_se']:.1f})" for t in self.tests
            )
            lines.append(
                f"  {what}: {rates}; bias {s['bias']:+.3f}, SD {s['sd_estimate']:.3f} vs mean SE "
                f"{s['mean_se']:.3f}; failed {int(s['failed'])}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.describe()


def _fmt(v: object) -> str:
    if isinstance(v, tuple):
        return f"{_fmt(v[0])}-{_fmt(v[1])}"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _fmt_x(v: float | tuple[float, float]) -> float:
    """A grid value's position on the x axis: the value, or a range's midpoint."""
    return float(np.mean(v)) if isinstance(v, tuple) else v


# -- the entry points --------------------------------------------------------------------------------------
def _grid_values(name: str, value: object) -> list[Any]:
    """A grid argument as a list of values: lists are grids, anything else (tuples = ranges) one value."""
    if value is None:
        return [None]
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{name}=[] is empty: give at least one value")
        return [tuple(v) if isinstance(v, list) else v for v in value]
    if isinstance(value, np.ndarray):
        values: list[Any] = value.tolist()
        return values
    return [value]


# -- where the trials come from ----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    """A resolved first argument of :func:`power`: the generator and the analysis."""

    outcome: str  # the outcome as the analysis names it (plan key, or the design's outcome)
    column: str  # the outcome's data column (what the generator calls it)
    threshold: float | None
    unit: Unit
    trend: TimeAdjustment
    generator: TrialDesign | ReplicaConfig  # a design, or the replica's generator (famtrial.simulation.replica)
    plan: Plan | None = None
    covariates: tuple[str, ...] | None = None


class _PlanAnalysis(TypedDict):
    """The analysis part of a :class:`_Source` from a plan (:func:`_plan_analysis`)."""

    outcome: str
    column: str
    threshold: float | None
    unit: Unit
    trend: TimeAdjustment
    plan: Plan
    covariates: tuple[str, ...]


def _primary(plan: Plan, outcome: str | None) -> FEModel:
    """The plan's primary model: the first pooled model of the first model table (of ``outcome``, if given).

    A plan without a pooled model of the outcome gets its first "variants" model of it, fitted pooled.
    """
    from dataclasses import replace as _replace

    ordered = [m for table in plan.model_tables for m in plan.models_in(table)]
    key = None if outcome is None else plan.outcome(outcome).key
    candidates = [m for m in ordered if key is None or m.outcome == key]
    if not candidates:
        raise ValueError(
            f"outcome={outcome!r}: plan {plan.name!r} has no model of it; its models' outcomes are "
            f"{sorted({m.outcome for m in ordered})}"
        )
    if key is None:
        candidates = [m for m in candidates if m.outcome == candidates[0].outcome]
    pooled = [m for m in candidates if not m.split]
    return pooled[0] if pooled else _replace(candidates[0], treatment="pooled")


def _plan_analysis(
    plan: Plan,
    outcome: str | None,
    threshold: float | None | EllipsisType,
    unit: Unit | None,
    trend: TimeAdjustment | None,
) -> _PlanAnalysis:
    given = [
        name
        for name, v in (("threshold", threshold is not ...), ("unit", unit is not None), ("trend", trend is not None))
        if v
    ]
    if given:
        raise ValueError(
            f"{given} cannot be combined with a plan or the replica: the analysis is the plan's "
            f"[sample] rule and primary model; change the plan, or pass a TrialDesign"
        )
    spec = _primary(plan, outcome)
    rule = plan.sample_rule != "none"
    return _PlanAnalysis(
        outcome=spec.outcome,
        column=plan.outcome(spec.outcome).column,
        threshold=plan.threshold if rule else None,
        unit=plan.sample_unit,
        trend=spec.time,
        plan=plan,
        covariates=tuple(spec.covariates),
    )


def _resolve_source(
    source: object,
    *,
    outcome: str | None,
    threshold: float | None | EllipsisType,
    unit: Unit | None,
    trend: TimeAdjustment | None,
) -> _Source:
    """The generator and the analysis for :func:`power`'s first argument (see its docstring)."""
    from famtrial.plan.spec import DEFAULT_PLAN, Plan, load_plan, shipped_plans

    if source is None or (isinstance(source, str) and source == "replica"):
        from famtrial.simulation.replica import ReplicaConfig

        plan = load_plan(DEFAULT_PLAN)
        analysis = _plan_analysis(plan, outcome, threshold, unit, trend)
        cfg = ReplicaConfig.load()
        if analysis["column"] not in cfg.outcomes:
            raise ValueError(f"outcome={outcome!r}: the replica generates {sorted(cfg.outcomes)}")
        return _Source(generator=cfg, **analysis)
    if isinstance(source, (str, Path)) and not isinstance(source, Plan):
        path = Path(source)
        is_plan = str(source) in shipped_plans()
        if not is_plan and path.suffix.lower() == ".toml" and path.exists():
            try:
                raw = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise DesignError(f"{path}: not valid TOML ({exc})") from None
            is_plan = "trial" in raw or "models" in raw  # a plan; a design has [months] first/last and [offices]
        if is_plan:
            source = load_plan(source)
        elif path.suffix.lower() == ".toml" or path.exists():
            source = load_design(path)
        else:
            raise ValueError(
                f"source={str(source)!r} is neither 'replica', a shipped plan "
                f"({sorted(shipped_plans())}) nor an existing plan or design TOML"
            )
    if isinstance(source, Plan):
        from famtrial.data.load import load_panel
        from famtrial.simulation.calibrate import calibrate

        data = source.resolve_data()
        if data is None:
            raise ValueError(
                f"plan {source.name!r} names no data ([data] path): calibrating needs the trial's "
                "panel; give the plan a [data] path or pass a TrialDesign"
            )
        analysis = _plan_analysis(source, outcome, threshold, unit, trend)
        design = calibrate(load_panel(data, source))
        return _Source(generator=design, **analysis)
    if not isinstance(source, TrialDesign):
        raise TypeError(
            f"source must be None/'replica', a Plan or plan name, a TrialDesign or a TOML path, "
            f"not {type(source).__name__}"
        )
    name = source.outcomes[0].name if outcome is None else source.outcome(outcome).name
    return _Source(
        outcome=name,
        column=name,
        threshold=1 / 3 if threshold is ... else threshold,
        unit="family" if unit is None else unit,
        trend="linear" if trend is None else trend,
        generator=source,
    )


def _replica_scenario(cfg: ReplicaConfig, column: str, effect_or: object) -> tuple[ReplicaConfig, float]:
    """The replica's generator for one scenario (the size study's pure model) and its true log-OR."""
    import dataclasses

    params = cfg.outcomes[column]
    if effect_or is None:
        tau_local, tau_holf = params.tau_local, params.tau_holf
    else:
        if not (isinstance(effect_or, (int, float, np.number)) and effect_or > 0):
            raise ValueError(f"effect_or={effect_or!r} must be a positive odds ratio")
        tau_local = tau_holf = float(np.log(effect_or))
    scenario = cfg.with_outcome(
        column,
        tau_local=tau_local,
        tau_holf=tau_holf,
        office_effect_sd_local=0.0,
        office_effect_sd_holf=0.0,
        office_sd_trend=0.0,
        path={},
    )
    scenario = dataclasses.replace(scenario, panel=scenario.panel | {"force_baseline": False})
    return scenario, float(np.mean([tau_local, tau_holf]))


def one_trial(
    seed_sequence: np.random.SeedSequence,
    source: TrialDesign | str | Path | None = None,
    *,
    effect_or: float | None = None,
    tests: Sequence[str] = TESTS,
    alpha: float = 0.05,
    ri_draws: int = 19,
    outcome: str | None = None,
) -> dict[str, Any]:
    """Simulate and analyse one trial exactly as :func:`power`'s simulation with this seed sequence does.

    ``power(source, effect_or=OR, seed=s)`` draws its simulation r from
    ``SeedSequence(s).spawn(n_sims)[r]``; ``one_trial(that sequence, source, effect_or=OR)`` returns the
    same row (``estimate``, ``se``, ``p_<test>``, ``cover_<test>``; or ``error``). The size study
    (``benchmarks/size_study.py``) runs its replications through this function.
    """
    src = _resolve_source(source, outcome=outcome, threshold=..., unit=None, trend=None)
    generator: TrialDesign | ReplicaConfig
    if not isinstance(src.generator, TrialDesign):  # the replica's generator
        generator, truth = _replica_scenario(src.generator, src.column, effect_or)
    else:
        generator = src.generator if effect_or is None else src.generator.vary(outcome=src.column, effect_or=effect_or)
        truth = float(np.mean([e for _, e in generator.outcome(src.column).effects]))
    opts = _Options(
        outcome=src.outcome,
        tests=tuple(tests),
        alpha=float(alpha),
        analysis="fe",
        threshold=src.threshold,
        unit=src.unit,
        trend=src.trend,
        ri_draws=int(ri_draws),
        month=None,
        plan=src.plan,
        covariates=src.covariates,
    )
    with one_kernel_thread():
        return _Simulation(opts)((0, 0, generator, truth, seed_sequence))


def power(
    source: TrialDesign | str | Path | None = None,
    *,
    outcome: str | None = None,
    effect_or: GridArg = None,
    offices: GridArg = None,
    families_per_office: GridArg = None,
    months_pre: GridArg = None,
    months_post: GridArg = None,
    control_share: GridArg = None,
    n_sims: int = 100,
    tests: Sequence[str] | None = None,
    alpha: float = 0.05,
    analysis: PowerAnalysis = "fe",
    threshold: float | None | EllipsisType = ...,
    unit: Unit | None = None,
    trend: TimeAdjustment | None = None,
    ri_draws: int = 19,
    month: str | None = None,
    seed: int | None = 20261130,
    n_jobs: int | None = 1,
    client: Any = None,
    progress: bool = True,
    estimand: PowerEstimand = "itt",
) -> PowerResult:
    """Power of the trial's analysis by simulation, over a grid of design choices.

    Parameters
    ----------
    source : TrialDesign, Plan, str, path or None
        What generates the trials and how they are analysed:

        * ``None`` or ``"replica"`` (default): the shipped replica's generator
          (:func:`famtrial.simulation.replica.generate` with ``replica.toml``, calibrated to the paper), in the
          size study's pure form (``benchmarks/size_study.py``: a common effect ``log(effect_or)`` for
          both variants, no office-level effects or trends, no month path, every month following the
          model), analysed by the ``nct03102775`` plan. Only ``effect_or`` can vary (the generator
          has the paper's offices); for grids over offices, families or months use
          ``"nct03102775"``.
        * a :class:`famtrial.Plan`, a shipped plan name (``"nct03102775"``, ``"casework"``) or a
          plan TOML: trials from :func:`famtrial.simulation.calibrate.calibrate` of the plan's data (the panel
          the plan's ``[data]`` names), analysed with the plan's sample rule and its primary model:
          the first model of the plan's first model table with treatment "pooled" (a "variants"
          model is fitted pooled), with the plan's covariates, time adjustment and column names.
        * a :class:`TrialDesign` or a design TOML: trials from that design, analysed with
          ``threshold``, ``unit`` and ``trend`` below (no plan).
    outcome : str, optional
        The analysed outcome (default: the primary model's for a plan or the replica, the design's
        first for a design). For a plan, the first pooled model of that outcome in table order.
    effect_or, offices, families_per_office, months_pre, months_post, control_share
        Grid arguments (:meth:`TrialDesign.vary`). Each is ``None`` (the design's own value), one
        value, or a **list** of values: the grid is their Cartesian product. A range is a tuple:
        ``families_per_office=(60, 90)`` is one range, ``[(60, 90), (120, 180)]`` a grid of two.
        ``effect_or`` sets the outcome's odds ratio for every variant.
    n_sims : int
        Simulated trials per scenario.
    tests : sequence of {"cluster_z", "t", "score_bootstrap", "randomization"}, optional
        The tests of ``H0: b = 0`` run on every simulated trial (default: all four, or for
        ``estimand="cace"`` the two it supports, ``cluster_z`` and ``t``; distinct names, at least one): the cluster-robust z, the same z against t(G - 1), the wild cluster score bootstrap
        and randomization inference (``ri_draws`` re-draws; not with ``analysis="cross_section"``). See
        the module's table.
    alpha : float
        Level of every test.
    analysis : {"fe", "cross_section"}
        ``"fe"``: the primary fixed-effects logit (parent effects, time-varying covariates of the
        design, ``trend``), SE clustered by office. ``"cross_section"``: a logit of the outcome in
        ``month`` (default: the last month) on the arm, SE clustered by office (the analytic
        cross-check's analysis; ``randomization`` is then not available).
    threshold, unit, trend
        For a TrialDesign only (default, written ``...``/``None``: 1/3 on families, linear trend): the office exclusion rule of
        :func:`famtrial.analysis_sample` (``threshold=None``: no rule) and the time adjustment. With a
        plan or the replica the plan's ``[sample]`` rule and model apply; giving them raises.
    ri_draws : int
        Re-draws per randomization test (19: exact 5% test, rejects only when the observed |z|
        beats all 19).
    month : "YYYY-MM", optional
        The month of ``analysis="cross_section"``'s logit (default: the design's last month); not used
        with ``analysis="fe"``.
    seed : int or None
        Seeds every simulation (``SeedSequence(seed).spawn(n_sims)``, shared across scenarios).
    n_jobs, client
        Serial (``n_jobs=1``), local processes (``n_jobs``; -1 or None: all cores) or a Dask-like
        ``client``; the results are identical.
    progress : bool
        A progress line with the time left.
    estimand : {"itt", "cace"}
        What the trial is planned for. ``"itt"`` (default): the offer's effect, the fixed-effects logit
        above. ``"cace"``: the complier average causal effect, for a :class:`TrialDesign` with a
        ``[compliance]`` table (take-up share, entry months; ``docs/beyond_itt.md``): each trial's CACE by
        two-stage least squares on the linear probability model (parent effects, ``trend``, the design's
        time-varying covariates; the design's take-up instrumented by the offer; SE clustered by office,
        CR0 x G/(G-1)), as :func:`famtrial.simulation.compliance.cace_power` computes it; ``effect_or`` is
        then the complier odds ratio (only families who accept receive the effect), ``estimate`` the CACE
        (a risk difference), and bias and coverage are against the generating complier risk difference
        ``expit(a + log OR) - expit(a)`` (``true_cace_rd``; missing, and so are they, when the design's
        linear predictor varies by row). Tests: ``cluster_z`` and ``t`` (z against t(G - 1)); the score
        bootstrap and randomization inference of the CACE are not available, nor are a plan or the
        replica as source, or ``analysis="cross_section"`` (each raises). Stata: ``simulate`` around
        ``xtivreg y x trend (d = z), fe vce(cluster office)``; R: a loop around
        ``estimatr::iv_robust(y ~ d + x + trend | z + x + trend, fixed_effects = ~parent, clusters = office)``.

    Returns
    -------
    PowerResult
    """
    check_choice(estimand, PowerEstimand, "estimand", ValueError)
    src = _resolve_source(source, outcome=outcome, threshold=threshold, unit=unit, trend=trend)
    if tests is None:
        tests = CACE_TESTS if estimand == "cace" else TESTS
    tests = _check_arguments(src, tuple(tests), analysis, alpha, n_sims, ri_draws)
    if estimand == "cace":
        _check_cace(src, tests, analysis)
    grid = {
        "effect_or": effect_or,
        "offices": offices,
        "families_per_office": families_per_office,
        "months_pre": months_pre,
        "months_post": months_post,
        "control_share": control_share,
    }
    scenarios, designs, varied = _scenarios(src, grid)
    if estimand == "cace":
        scenarios["true_cace_rd"] = [_complier_rd(d, src.column) for d in designs]
    opts = _Options(
        outcome=src.outcome,
        tests=tests,
        alpha=float(alpha),
        analysis=analysis,
        threshold=src.threshold,
        unit=src.unit,
        trend=src.trend,
        ri_draws=int(ri_draws),
        month=month,
        plan=src.plan,
        covariates=src.covariates,
        estimand=estimand,
    )
    sims, elapsed = _simulate(opts, scenarios, designs, n_sims, seed, n_jobs=n_jobs, client=client, progress=progress)
    return PowerResult(
        scenarios=scenarios,
        summary=_summarise(sims, scenarios, tests, alpha),
        simulations=sims,
        tests=tests,
        alpha=float(alpha),
        n_sims=int(n_sims),
        seed=seed,
        outcome=src.outcome,
        analysis=analysis,
        elapsed=elapsed,
        varied=varied,
        model=_model_text(src, estimand),
        estimand=estimand,
    )


def _check_cace(src: _Source, tests: tuple[str, ...], analysis: PowerAnalysis) -> None:
    """``estimand="cace"``'s unsupported combinations, each named (a plan or replica, a cross-section, tests)."""
    if not isinstance(src.generator, TrialDesign) or src.plan is not None:
        raise ValueError(
            "estimand='cace' with a plan or the replica as source is not supported: pass a TrialDesign (or a "
            "design TOML) with a [compliance] table (take_up, entry_months)"
        )
    if src.generator.compliance is None:
        raise ValueError(
            "estimand='cace': the design has no [compliance] table; give take_up (the offered families' "
            "acceptance probability) and entry_months to simulate take-up"
        )
    if analysis != "fe":
        raise ValueError(f"estimand='cace' with analysis={analysis!r} is not supported: use analysis='fe'")
    other = [t for t in tests if t not in CACE_TESTS]
    if other:
        raise ValueError(
            f"estimand='cace' with tests {other} is not supported: the CACE is tested with {list(CACE_TESTS)}"
        )


def _complier_rd(design: TrialDesign | ReplicaConfig, outcome: str) -> float:
    """The generating complier risk difference of a scenario, or NaN when it varies by row."""
    from famtrial.simulation.compliance import complier_risk_difference

    assert isinstance(design, TrialDesign)
    try:
        return complier_risk_difference(design, outcome)
    except DesignError:
        return float("nan")


def _check_arguments(
    src: _Source, tests: tuple[str, ...], analysis: PowerAnalysis, alpha: float, n_sims: int, ri_draws: int
) -> tuple[str, ...]:
    """:func:`power`'s arguments checked against each other and the source; ``tests`` as given, checked."""
    if src.plan is not None and analysis != "fe":
        raise ValueError(
            f"analysis={analysis!r} with a plan or the replica is not supported: the analysis is the "
            "plan's primary model; use analysis='fe' or pass a TrialDesign"
        )
    unknown = [t for t in tests if t not in TESTS]
    if unknown or not tests or len(set(tests)) != len(tests):
        raise ValueError(f"tests={list(tests)}: give distinct tests from {list(TESTS)}")
    check_choice(analysis, PowerAnalysis, "analysis", ValueError)
    if analysis == "cross_section" and "randomization" in tests:
        raise ValueError(
            "tests='randomization' with analysis='cross_section' is not supported (the randomization "
            "test re-draws the fixed-effects model); drop it or use analysis='fe'"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must lie strictly between 0 and 1")
    if not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise ValueError(f"n_sims={n_sims!r} must be an int >= 2")
    if "randomization" in tests and (not isinstance(ri_draws, (int, np.integer)) or 1 / (ri_draws + 1) > alpha):
        raise ValueError(
            f"ri_draws={ri_draws!r}: the randomization test needs 1/(ri_draws + 1) <= alpha = {alpha:g} "
            f"to reject at all; use ri_draws >= {int(np.ceil(1 / alpha - 1))}"
        )
    check_choice(src.unit, Unit, "unit", ValueError)
    check_choice(src.trend, TimeAdjustment, "trend", ValueError)
    if src.threshold is not None and not 0 < src.threshold < 1:
        raise ValueError(f"threshold={src.threshold!r} must lie strictly between 0 and 1, or be None (no rule)")
    return tests


def _scenarios(
    src: _Source, grid: dict[str, GridArg]
) -> tuple[pd.DataFrame, list[TrialDesign | ReplicaConfig], tuple[str, ...]]:
    """The grid's scenarios, the generator of each and the grid arguments varied.

    One row per scenario: the grid values, the true log-OR, offices and months.
    """
    values = {k: _grid_values(k, v) for k, v in grid.items()}
    varied = tuple(k for k, v in grid.items() if v is not None)
    if not isinstance(src.generator, TrialDesign):  # the replica's generator
        fixed = [k for k in varied if k != "effect_or"]
        if fixed:
            raise ValueError(
                f"{fixed} cannot vary with the replica's generator (it has the paper's offices, "
                "families and months); use power('nct03102775', ...) (a TrialDesign calibrated to the "
                "replica's data) or a TrialDesign"
            )
    rows: list[dict[str, Any]] = []
    designs: list[TrialDesign | ReplicaConfig] = []
    for combo in itertools.product(*values.values()):
        kw = dict(zip(values, combo))
        if not isinstance(src.generator, TrialDesign):  # the replica's generator
            replica_scenario, truth = _replica_scenario(src.generator, src.column, kw["effect_or"])
            rows.append(
                {**{k: kw[k] for k in grid}, "true_log_or": truth, "offices_randomized": np.nan, "months": np.nan}
            )
            designs.append(replica_scenario)
            continue
        try:
            d = src.generator.vary(outcome=src.column, **kw)
        except DesignError as exc:
            raise ValueError(f"scenario { ({k: kw[k] for k in varied}) }: {exc}") from None
        effects = [e for _, e in d.outcome(src.column).effects]
        rows.append(
            {
                **{k: kw[k] for k in grid},
                "true_log_or": float(np.mean(effects)),
                "offices_randomized": d.n_offices,
                "months": len(d.months),
            }
        )
        designs.append(d)
    scenarios = pd.DataFrame(rows)
    scenarios.index.name = "scenario"
    return scenarios, designs, varied


def _simulate(
    opts: _Options,
    scenarios: pd.DataFrame,
    designs: Sequence[TrialDesign | ReplicaConfig],
    n_sims: int,
    seed: int | None,
    *,
    n_jobs: int | None,
    client: Any,
    progress: bool,
) -> tuple[pd.DataFrame, float]:
    """Every scenario's ``n_sims`` trials simulated and analysed.

    Simulation r of each scenario draws from ``SeedSequence(seed).spawn(n_sims)[r]``. Returns one row per
    trial, and the wall time in seconds.
    """
    seqs = np.random.SeedSequence(seed).spawn(n_sims)
    tasks = [
        (s, r, d, float(scenarios.loc[s, _truth_column(scenarios)]), seqs[r])
        for s, d in enumerate(designs)
        for r in range(n_sims)
    ]
    start = time.perf_counter()
    with one_kernel_thread():  # serial runs and an in-process client; worker processes set their own
        out = run_tasks(
            _Simulation(opts),
            tasks,
            n_jobs=n_jobs,
            client=client,
            progress=progress,
            desc=f"power ({len(designs)} scenarios x {n_sims} trials)",
        )
    elapsed = time.perf_counter() - start
    sims = pd.DataFrame(out)
    if "error" not in sims:
        sims["error"] = pd.Series([None] * len(sims), dtype=object)
    ok = sims["error"].isna()
    if not ok.any():
        raise ValueError(f"no simulated trial could be analysed; first error: {sims['error'].iloc[0]}")
    return sims, elapsed


def _model_text(src: _Source, estimand: PowerEstimand = "itt") -> str:
    """The analysis in words: model, time adjustment, covariates, SE, the exclusion rule, the plan."""
    time_text = {"linear": "linear trend", "months": "month effects", "none": "no time adjustment"}[src.trend]
    if estimand == "cace":
        return (
            f"CACE (risk difference) by 2SLS on the linear probability model (parent effects, {time_text}"
            + (f", {', '.join(src.covariates)}" if src.covariates else "")
            + "), take-up instrumented by the offer, SE clustered by office; "
            + ("no exclusion rule" if src.threshold is None else f"offices with a control share >= {src.threshold:.3g}")
        )
    rule = (
        "no exclusion rule"
        if src.threshold is None
        else f"offices with a control share >= {src.threshold:.3g} of {src.unit}s"
    )
    return (
        f"fixed-effects logit (parent effects, {time_text}"
        + (f", {', '.join(src.covariates)}" if src.covariates else "")
        + f"), SE clustered by office; {rule}"
        + (f"; plan {src.plan.name!r}" if src.plan is not None else "")
    )


def minimum_detectable_effect(
    source: TrialDesign | str | Path | None = None,
    *,
    power_target: float = 0.8,
    test: str | None = None,
    effect_range: tuple[float, float] = (1.0, 2.0),
    tol: float = 0.01,
    n_sims: int = 100,
    progress: bool = False,
    **kwargs: Any,
) -> MDEResult:
    """The smallest OR with power >= ``power_target`` for ``test``, by bisection on log OR with simulation.

    Every evaluation simulates ``n_sims`` trials at one OR with the same seeds (common random
    numbers, so the estimated power curve is nearly monotone), keeping the bracket ``(lo, hi)``
    with power(lo) < target <= power(hi) until ``hi / lo <= 1 + tol``. ``effect_range[1]`` must
    reach the target (checked first). Other keyword arguments go to :func:`power` (one value each,
    no grids). Precision: the answer carries the Monte Carlo error of power at the MDE divided by
    the curve's slope there; raise ``n_sims`` to narrow it. ``test`` defaults to ``"score_bootstrap"``,
    or ``"cluster_z"`` with ``estimand="cace"`` (then the search is over the complier odds ratio; see
    :func:`power`).
    """
    if test is None:
        test = "cluster_z" if kwargs.get("estimand") == "cace" else "score_bootstrap"
    lo, hi = (float(v) for v in effect_range)
    if not 0 < lo < hi:
        raise ValueError(f"effect_range={effect_range!r} must satisfy 0 < low < high")
    if not 0 < power_target < 1:
        raise ValueError(f"power_target={power_target!r} must lie strictly between 0 and 1")
    if tol <= 0:
        raise ValueError(f"tol={tol!r} must be positive")
    grids = [k for k in GRID if isinstance(kwargs.get(k), list)]
    if grids or "effect_or" in kwargs or "tests" in kwargs:
        raise ValueError(
            f"minimum_detectable_effect searches over effect_or for one test: pass single values "
            f"(not lists) for {grids or GRID[1:]}, and test= instead of tests="
        )
    evals = []
    start = time.perf_counter()

    def at(or_: float) -> float:
        res = power(source, effect_or=or_, tests=(test,), n_sims=n_sims, progress=progress, **kwargs)
        s = res.summary.iloc[0]
        evals.append({"effect_or": or_, "power": s[f"power_{test}"], "mc_se": s[f"power_{test}_mc_se"]})
        return float(s[f"power_{test}"])

    if at(hi) < power_target:
        raise ValueError(f"power at OR = {hi:g} is {evals[-1]['power']:.3f} < {power_target:g}: widen effect_range")
    if at(lo) >= power_target:
        raise ValueError(
            f"power at OR = {lo:g} is already {evals[-1]['power']:.3f} >= {power_target:g}: lower effect_range[0]"
        )
    while hi / lo > 1 + tol:
        mid = float(np.sqrt(lo * hi))
        if at(mid) >= power_target:
            hi = mid
        else:
            lo = mid
    return MDEResult(
        test=test,
        target=power_target,
        mde_or=hi,
        lower_or=lo,
        upper_or=hi,
        evaluations=pd.DataFrame(evals),
        n_sims=n_sims,
        elapsed=time.perf_counter() - start,
    )


# -- the analytic cross-check --------------------------------------------------------------------------------
def marginal_icc(intercept: float, office_sd: float, parent_sd: float, nodes: int = 60) -> tuple[float, float]:
    """``(p, ICC)`` of y = 1[u < expit(intercept + u_o + a_i)] on the observed (0/1) scale.

    ``u_o ~ N(0, office_sd^2)`` shared within office, ``a_i ~ N(0, parent_sd^2)``:
    ``p = E[expit(.)]``, ``ICC = Var_o(E[y | u_o]) / (p (1 - p))`` (Gauss-Hermite quadrature,
    ``nodes`` points per dimension).
    """
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    cond = expit(intercept + office_sd * x[:, None] + parent_sd * x[None, :]) @ w  # E[y | u_o] at the nodes
    p = float(cond @ w)
    return p, float((((cond - p) ** 2) @ w) / (p * (1 - p)))


def design_effect_power(
    p0: float, p1: float, n0: int, n1: int, m: float, icc0: float, icc1: float | None = None, alpha: float = 0.05
) -> float:
    """Two-sided power of the Wald test of the log-OR in a cluster-randomized cross-section.

    ``Var(log OR^) = DE_1 / (n1 p1 (1 - p1)) + DE_0 / (n0 p0 (1 - p0))`` with the design effect
    ``DE = 1 + (m - 1) ICC`` (m persons per cluster, ICC per arm);
    ``power = Phi(|b| / SE - z) + Phi(-|b| / SE - z)``, ``b = logit(p1) - logit(p0)``,
    ``z = Phi^-1(1 - alpha/2)``. Stata: ``power twoproportions p0 p1, cluster m(m) rho(icc)``
    (which uses the difference in proportions; the log-OR Wald test is the delta-method twin).
    """
    icc1 = icc0 if icc1 is None else icc1
    b = np.log(p1 / (1 - p1)) - np.log(p0 / (1 - p0))
    var = (1 + (m - 1) * icc1) / (n1 * p1 * (1 - p1)) + (1 + (m - 1) * icc0) / (n0 * p0 * (1 - p0))
    z = stats.norm.isf(alpha / 2)
    se = np.sqrt(var)
    return float(stats.norm.cdf(abs(b) / se - z) + stats.norm.cdf(-abs(b) / se - z))


# -- scenario files -------------------------------------------------------------------------------------------
def _read_scenario(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(power keyword arguments, outputs)`` from a scenario TOML; errors name the key."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DesignError(f"scenario file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(f"{path}: not valid TOML ({exc})") from None
    top = TomlTable(raw, "", str(path), DESIGN)
    if ("plan" in raw) == ("design" in raw):
        top.fail(
            "plan",
            'give exactly one of plan = "<shipped plan name or plan TOML>" (or "replica") and design = "<design TOML>"',
        )
    if "plan" in raw:
        plan = top.get("plan", str, what="'replica', a shipped plan name or a plan TOML's path")
        local = path.parent / plan
        kwargs: dict[str, Any] = {
            "source": str(local) if plan.endswith(".toml") and not Path(plan).is_absolute() else plan
        }
    else:
        design_path = Path(top.get("design", str, what="the design TOML's path (relative to this file)"))
        kwargs = {"source": design_path if design_path.is_absolute() else path.parent / design_path}
    kwargs["outcome"] = top.get("outcome", str, None, "an outcome name")
    kwargs["n_sims"] = top.get("n_sims", int, 100, "an integer")
    kwargs["seed"] = top.get("seed", int, 20261130, "an integer")
    kwargs["alpha"] = top.number("alpha", 0.05)
    tests = top.get("tests", list, None, f"a list from {list(TESTS)}")
    kwargs["tests"] = None if tests is None else tuple(tests)  # None: power()'s default for the estimand
    kwargs["n_jobs"] = top.get("n_jobs", int, 1, "an integer (-1: all cores)")
    a = top.sub("analysis", {})
    kwargs["analysis"] = a.get("model", str, "fe", f"one of {_ANALYSES}")
    # threshold, unit, trend: for a design only (default 1/3 on families, linear); a plan brings its own
    if "threshold" in a.raw:
        threshold = a.get("threshold", (int, float, str), what="a share, or 'none'")
        if isinstance(threshold, str) and threshold != "none":
            a.fail("threshold", f"{threshold!r} is not a share or 'none'")
        kwargs["threshold"] = None if threshold == "none" else float(threshold)
    if "unit" in a.raw:
        kwargs["unit"] = a.get("unit", str, what="'family' or 'parent'")
    if "trend" in a.raw:
        kwargs["trend"] = a.get("trend", str, what="'linear', 'months' or 'none'")
    kwargs["ri_draws"] = a.get("ri_draws", int, 19, "an integer")
    kwargs["month"] = a.get("month", str, None, "'YYYY-MM'")
    kwargs["estimand"] = a.get("estimand", str, "itt", "'itt' or 'cace' (the complier effect; docs/beyond_itt.md)")
    a.done()
    g = top.sub("grid", {})
    for key in GRID:
        if key in g.raw:
            value = g.get(key, (int, float, list), what="a value or a list of values")
            kwargs[key] = value
    g.done()
    o = top.sub("output", {})
    outputs = {
        "mde_power": o.number("mde_power", 0.8),
        "mde_test": o.get("mde_test", str, "score_bootstrap", "a test"),
        "plot_x": o.get("plot_x", str, "offices", "a grid argument"),
    }
    o.done()
    top.done()
    return kwargs, outputs


def run_scenario(
    path: str | Path, *, n_sims: int | None = None, n_jobs: int | None = None, progress: bool = True
) -> tuple[PowerResult, dict[str, Any]]:
    """Run a scenario TOML's :func:`power`: ``(result, outputs)``, ``outputs`` its ``[output]`` settings.

    ``n_sims`` and ``n_jobs``, when given, override the file's. Every problem with the file is a
    :class:`~famtrial.errors.DesignError` naming the key; :func:`power`'s own checks raise ``ValueError``.
    ``famtrial power SCENARIO.toml --out DIR`` runs this and :func:`write_scenario_results`.

    The scenario TOML (``plan = "casework"``, ``"nct03102775"``, ``"replica"`` or a plan TOML instead
    of ``design``: trials calibrated to the plan's data, the plan's rule and primary model; then
    ``[analysis]`` takes no threshold, unit or trend)::

        design = "casework.toml"        # relative to the scenario file
        outcome = "work"
        n_sims = 200
        seed = 1
        tests = ["cluster_z", "t", "score_bootstrap"]
        n_jobs = 2
        [analysis]
        threshold = 0.25                # or "none"
        unit = "parent"
        estimand = "itt"                # or "cace": a design with [compliance]; tests default to cluster_z, t
        [grid]                          # lists are grids; [[60, 90]] is one range
        effect_or = [1.0, 1.2, 1.4]
        offices = [12, 24, 36]
        [output]
        mde_power = 0.8
        mde_test = "score_bootstrap"
        plot_x = "offices"
    """
    kwargs, outputs = _read_scenario(Path(path))
    if n_sims is not None:
        kwargs["n_sims"] = n_sims
    if n_jobs is not None:
        kwargs["n_jobs"] = n_jobs
    return power(kwargs.pop("source"), progress=progress, **kwargs), outputs


def write_scenario_results(result: PowerResult, out: str | Path, outputs: dict[str, Any]) -> tuple[str, ...]:
    """Write the power study's files into the folder ``out`` (created); returns the names written.

    ``power.csv``, ``simulations.csv``, ``power.md`` and (when ``outputs["plot_x"]`` was varied)
    ``power.png``.

    ``power.md`` holds :meth:`PowerResult.table` and, when ``effect_or`` was varied and
    ``outputs["mde_test"]`` run, the minimum detectable OR for ``outputs["mde_power"]``
    (:meth:`PowerResult.minimum_detectable_effect`).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = result.table()
    result.scenarios.join(result.summary).to_csv(folder / "power.csv")
    result.simulations.to_csv(folder / "simulations.csv", index=False)
    text = [f"# {table.title}", "", table.to_markdown(), "", table.notes]
    if "effect_or" in result.varied and outputs["mde_test"] in result.tests:
        mde = result.minimum_detectable_effect(outputs["mde_power"], outputs["mde_test"])
        text += [
            "",
            f"Minimum detectable OR for power {outputs['mde_power']:g} ({outputs['mde_test']}, "
            "interpolated on the effect grid):",
            "",
            mde.to_markdown(index=False),
        ]
    (folder / "power.md").write_text("\n".join(text) + "\n")
    written: tuple[str, ...] = ("power.csv", "simulations.csv", "power.md")
    if outputs["plot_x"] in result.varied:
        fig = result.plot(outputs["plot_x"])
        fig.savefig(folder / "power.png", dpi=150, bbox_inches="tight")
        written += ("power.png",)
    return written
