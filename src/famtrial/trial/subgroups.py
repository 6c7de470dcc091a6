r"""Pre-specified subgroups: the effect within each level of a baseline covariate, and the heterogeneity test.

For a subgroup variable ``s`` (a covariate of the plan, binary or categorical, taken at its value in the
plan's baseline month) with levels ``l = 1..L``, the plan model's exact fixed-effects logit is fitted with
the pooled treatment split by level:

``logit P(y_it = 1) = a_i + sum_l b_l * treat_it * 1[s_i = l] + x_it' g + f(t)``

(the level's main effect is constant within a parent and conditioned out with ``a_i``). ``exp(b_l)`` is
the odds ratio within level ``l``; this parametrisation is the interaction model
``treat + treat x 1[s = l]`` (l >= 2) re-expressed (``b_l = b + d_l``), so the heterogeneity test (the
joint Wald test of the interactions ``d_2 = ... = d_L = 0``) is the Wald test of ``b_2 - b_1 = ... =
b_L - b_1 = 0``, cluster-robust on the model's cluster: ``W`` against chi2(L-1) (``reference =
"normal"``), or ``W/(L-1)`` against F(L-1, G-1) (``"t"``; the per-level CIs then use t(G-1)).

Across the plan's subgroup variables (per model), the heterogeneity p-values are adjusted by Holm
(family-wise error) and Benjamini-Hochberg (false discovery rate). A variable not in ``[subgroups]
variables`` is **exploratory (post hoc)** and labelled so in every output; it is left out of the
adjustment of the pre-specified ones (the family of tests the plan fixed in advance).

Parents without a row in the baseline month have no subgroup value and are left out of the subgroup
fit (counted in ``parents_without_baseline``).

Stata: ``clogit y i.s#c.treat x trend, group(parent) vce(cluster office) or`` then
``testparm i.s#c.treat, equal`` (chi2; the F(q, G-1) form is ``reference = "t"``) and ``margins`` for
per-level effects.
R: ``survival::clogit(y ~ treat:factor(s) + x + trend + strata(parent), method = "exact")`` with
cluster-summed score residuals for the sandwich.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from famtrial._options import Reference, check_choice
from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.inference.multiplicity import benjamini_hochberg, holm
from famtrial.models.postestimation import WaldTest, wald_test
from famtrial.plan.spec import term_safe
from famtrial.table import Table
from famtrial.trial._beyond_itt import baseline_values, cluster_column, model_specs

__all__ = ["MAX_LEVELS", "SubgroupEffects", "SubgroupAnalysis", "subgroup_effects", "subgroup_analysis"]

#: The most levels a subgroup variable may have (more: dichotomise or group it first).
MAX_LEVELS = 10


@dataclass(frozen=True)
class SubgroupEffects:
    """The treatment effect within each level of one subgroup variable, for one plan model.

    Attributes
    ----------
    model, outcome, variable, label : str
        The plan model, its outcome key, the subgroup variable's key and label.
    exploratory : bool
        ``True`` for a variable not in the plan's ``[subgroups] variables`` (post hoc).
    levels : DataFrame
        One row per level (index: the level): ``term``, ``parents``, ``coef`` (log OR), ``se``, ``or``,
        ``ci_low``, ``ci_high`` (OR), ``p``.
    heterogeneity : WaldTest
        The joint Wald test that the level effects are equal.
    reference : {"normal", "t"}
        The reference distribution of the CIs and the test.
    parents_without_baseline : int
        Parents left out (no row in the baseline month).
    fit : ConditionalLogitResults
        The subgroup model's fit.
    """

    model: str
    outcome: str
    variable: str
    label: str
    exploratory: bool
    levels: pd.DataFrame
    heterogeneity: WaldTest
    reference: Reference
    parents_without_baseline: int
    fit: Any = field(repr=False, compare=False)

    @property
    def status(self) -> str:
        """``"pre-specified"`` or ``"exploratory (post hoc)"``."""
        return "exploratory (post hoc)" if self.exploratory else "pre-specified"


def _levels(values: pd.Series, key: str) -> list[Any]:
    levels = sorted(values.dropna().unique().tolist())
    if len(levels) < 2:
        raise PanelError(
            f"subgroup variable {key!r} has {len(levels)} level(s) at baseline: a subgroup needs 2 or more"
        )
    if len(levels) > MAX_LEVELS:
        raise PlanError(
            f"subgroup variable {key!r} has {len(levels)} levels at baseline (more than {MAX_LEVELS}): subgroups "
            "are binary or categorical; group or dichotomise it into a new column first"
        )
    return levels


def subgroup_effects(
    panel: Panel,
    variable: str,
    model: str | None = None,
    *,
    reference: Reference | None = None,
    alpha: float = 0.05,
) -> SubgroupEffects:
    """The effect of the offer within each level of ``variable``, from the plan model's FE logit.

    Parameters
    ----------
    panel : Panel
        The analysed panel.
    variable : str
        A covariate key or column of the plan (binary or categorical); its baseline-month value defines
        the subgroups. Not in ``[subgroups] variables``: labelled exploratory (post hoc).
    model : str, optional
        A plan model with a pooled treatment; default: the first of ``[subgroups] models`` (or of the
        plan's pooled models).
    reference : {"normal", "t"}, optional
        Default: the plan's ``[subgroups] reference``.
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    SubgroupEffects
        Per-level odds ratios and the heterogeneity test.

    Notes
    -----
    Formula in the module docstring. Stata: ``clogit y i.s#c.treat x trend, group(parent)
    vce(cluster office) or`` and ``test 0.s#c.treat = 1.s#c.treat``; R: ``survival::clogit(y ~
    treat:factor(s) + x + trend + strata(parent), method = "exact")`` with a cluster sandwich.
    """
    from famtrial.models.clogit import conditional_logit
    from famtrial.trial._args import _need_panel
    from famtrial.trial.effects import fe_design

    panel = _need_panel(panel, "subgroup_effects")
    plan, cols = panel.plan, panel.columns
    reference = check_choice(plan.subgroups.reference if reference is None else reference, Reference, "reference")
    spec = model_specs(plan, [model] if model is not None else plan.subgroups.models, "subgroups")[0]
    var = plan.variable(variable)
    if var not in plan.covariates:
        raise PlanError(
            f"subgroup variable {variable!r} is an outcome, not a covariate: subgroups are baseline covariates"
        )
    base, missing = baseline_values(panel, [var.column])
    levels = _levels(base[var.column], var.key)
    frame, regressors = fe_design(panel, spec.outcome, split=False, trend=spec.time, covariates=spec.covariates)
    treat = plan.term("pooled")
    level_of = frame[cols.parent].map(base[var.column])
    keep = level_of.notna().to_numpy()
    frame, level_of = frame.loc[keep], level_of[keep]
    terms = [f"{treat}_{term_safe(var.key)}_{term_safe(level)}" for level in levels]
    for level, term in zip(levels, terms, strict=True):
        frame[term] = frame[treat] * (level_of == level).to_numpy()
    cluster = cluster_column(panel, spec)
    if cluster not in frame.columns:
        frame[cluster] = panel.data.loc[frame.index, cluster]
    y = plan.outcome(spec.outcome).column
    fit = conditional_logit(
        frame,
        y,
        [*terms, *regressors[1:]],
        group=cols.parent,
        cluster=cluster,
        t_reference=reference == "t",
        time_effects=cols.month if spec.time == "months" else None,
    )
    lost = [level for level, term in zip(levels, terms, strict=True) if term not in fit.params.index]
    if lost:
        raise PanelError(
            f"the effect of the offer within {var.key} = {lost} cannot be estimated for model {spec.name!r} "
            "(no offered parent of that level with outcome variation): merge the level with another"
        )
    ci = fit.conf_int(alpha)
    per_parent = frame.drop_duplicates(cols.parent)[cols.parent].map(base[var.column])
    table = pd.DataFrame(
        {
            "term": terms,
            "parents": [int((per_parent == level).sum()) for level in levels],
            "coef": fit.params[terms].to_numpy(),
            "se": fit.bse[terms].to_numpy(),
            "or": np.exp(fit.params[terms].to_numpy()),
            "ci_low": np.exp(ci.loc[terms, "lower"].to_numpy()),
            "ci_high": np.exp(ci.loc[terms, "upper"].to_numpy()),
            "p": fit.pvalues[terms].to_numpy(),
        },
        index=pd.Index(levels, name=var.key),
    )
    names = list(fit.params.index)
    r = np.zeros((len(levels) - 1, len(names)))
    for j, term in enumerate(terms[1:]):
        r[j, names.index(term)], r[j, names.index(terms[0])] = 1.0, -1.0
    test = wald_test(fit, (r, np.zeros(len(levels) - 1)))
    return SubgroupEffects(
        model=spec.name,
        outcome=spec.outcome,
        variable=var.key,
        label=var.label,
        exploratory=var.key not in plan.subgroups.variables,
        levels=table,
        heterogeneity=test,
        reference=reference,
        parents_without_baseline=missing,
        fit=fit,
    )


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Every subgroup variable's effects for each model, the adjusted heterogeneity p-values and the pooled effects.

    Attributes
    ----------
    effects : tuple of SubgroupEffects
        One per model and variable, in the plan's order.
    tests : DataFrame
        One row per model and variable: ``statistic``, ``df_num``, ``df_denom``, ``distribution``, ``p``,
        ``p_holm``, ``p_bh`` (the adjustment across the model's pre-specified variables; exploratory
        variables are adjusted among themselves), ``status``.
    pooled : DataFrame
        Per model: the pooled effect ``or``, ``ci_low``, ``ci_high`` (the forest plot's reference line).
    alpha : float
        The CIs' level is ``1 - alpha``.
    """

    effects: tuple[SubgroupEffects, ...]
    tests: pd.DataFrame
    pooled: pd.DataFrame
    alpha: float = 0.05

    def table(self, *, digits: int = 2, title: str = "") -> Table:
        """The subgroup table: per model, variable and level the OR [CI]; the tests with Holm and BH p.

        Parameters
        ----------
        digits : int
            Decimals of the display.
        title : str
            The caption (default: a description).

        Returns
        -------
        Table
            ``frame`` with the numbers, ``display`` as printed; exploratory variables are labelled.
        """
        rows, shown = [], []
        tests = self.tests.set_index(["model", "variable"])
        for e in self.effects:
            t = tests.loc[(e.model, e.variable)]
            for level, row in e.levels.iterrows():
                rows.append(
                    {
                        "model": e.model,
                        "variable": e.variable,
                        "level": level,
                        "status": e.status,
                        **row.drop("term").to_dict(),
                        **{k: t[k] for k in ("p", "p_holm", "p_bh")},
                    }
                )
                shown.append(
                    {
                        "Model": e.model,
                        "Subgroup": f"{e.label} = {level}" + (" [exploratory, post hoc]" if e.exploratory else ""),
                        "Parents": f"{int(row['parents']):,}",
                        "OR [95% CI]": f"{row['or']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]",
                        "p": f"{row['p']:.3f}",
                        "Heterogeneity p (Holm, BH)": f"{t['p']:.3f} ({t['p_holm']:.3f}, {t['p_bh']:.3f})",
                    }
                )
        notes = (
            "Exact fixed-effects logit of the plan model with the offer split by the subgroup's baseline level; "
            "heterogeneity: joint cluster-robust Wald test of equal effects across levels "
            f"({'chi2' if self.effects and self.effects[0].reference == 'normal' else 'F(q, G-1)'}), Holm and "
            "Benjamini-Hochberg adjusted across the plan's pre-specified subgroups. Subgroups marked exploratory "
            "are not in the plan (post hoc) and are adjusted only among themselves."
        )
        return Table(
            frame=pd.DataFrame(rows),
            display=pd.DataFrame(shown),
            title=title or "Effects of the offer by pre-specified subgroup (odds ratios)",
            notes=notes,
        )

    def to_numbers(self) -> dict[str, float]:
        """``subgroups.<model>.<variable>.<level>.or`` / ``.p`` and ``subgroups.<model>.<variable>.p_het`` keys."""
        out: dict[str, float] = {}
        for e in self.effects:
            for level, row in e.levels.iterrows():
                out[f"subgroups.{e.model}.{e.variable}.{level}.or"] = float(row["or"])
                out[f"subgroups.{e.model}.{e.variable}.{level}.p"] = float(row["p"])
        for _, t in self.tests.iterrows():
            out[f"subgroups.{t['model']}.{t['variable']}.p_het"] = float(t["p"])
            out[f"subgroups.{t['model']}.{t['variable']}.p_het_holm"] = float(t["p_holm"])
        return out


def subgroup_analysis(
    panel: Panel,
    variables: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    *,
    reference: Reference | None = None,
    alpha: float = 0.05,
) -> SubgroupAnalysis:
    """:func:`subgroup_effects` for every model and variable, with Holm and BH across the variables.

    Parameters
    ----------
    panel : Panel
        The analysed panel.
    variables : sequence of str, optional
        Subgroup variables; default: the plan's ``[subgroups] variables``. Any not in the plan are
        exploratory (post hoc).
    models : sequence of str, optional
        Plan models; default: the plan's ``[subgroups] models`` (or every pooled model).
    reference : {"normal", "t"}, optional
        Default: the plan's ``[subgroups] reference``.
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    SubgroupAnalysis
        The effects, the adjusted tests and the pooled effects.
    """
    from famtrial.trial._args import _need_panel
    from famtrial.trial.effects import fit_plan_model

    panel = _need_panel(panel, "subgroup_analysis")
    plan = panel.plan
    if isinstance(variables, str):
        raise TypeError(f"variables must be a list of covariate keys, not the string {variables!r}")
    names = list(plan.subgroups.variables if variables is None else variables)
    if not names:
        raise PlanError(
            f"the plan {plan.name!r} lists no subgroup variables: set [subgroups] variables or pass variables="
        )
    specs = model_specs(plan, plan.subgroups.models if models is None else tuple(models), "subgroups")
    reference = check_choice(plan.subgroups.reference if reference is None else reference, Reference, "reference")
    effects, tests, pooled = [], [], []
    for spec in specs:
        found = [subgroup_effects(panel, v, spec.name, reference=reference, alpha=alpha) for v in names]
        effects += found
        rows = pd.DataFrame(
            {
                "model": spec.name,
                "variable": [e.variable for e in found],
                "status": [e.status for e in found],
                "statistic": [e.heterogeneity.statistic for e in found],
                "df_num": [e.heterogeneity.df_num for e in found],
                "df_denom": [e.heterogeneity.df_denom for e in found],
                "distribution": [e.heterogeneity.distribution for e in found],
                "p": [e.heterogeneity.pvalue for e in found],
            }
        )
        rows["p_holm"], rows["p_bh"] = np.nan, np.nan
        for exploratory in (False, True):
            mask = np.array([e.exploratory == exploratory for e in found])
            if mask.any():
                rows.loc[mask, "p_holm"] = holm(rows.loc[mask, "p"].to_numpy())
                rows.loc[mask, "p_bh"] = benjamini_hochberg(rows.loc[mask, "p"].to_numpy())
        tests.append(rows)
        fit = fit_plan_model(panel, spec, t_reference=reference == "t")
        term = plan.term("pooled")
        ci = np.exp(fit.conf_int(alpha).loc[term])
        pooled.append(
            {"model": spec.name, "or": float(np.exp(fit.params[term])), "ci_low": ci["lower"], "ci_high": ci["upper"]}
        )
    return SubgroupAnalysis(
        effects=tuple(effects),
        tests=pd.concat(tests, ignore_index=True),
        pooled=pd.DataFrame(pooled).set_index("model"),
        alpha=alpha,
    )
