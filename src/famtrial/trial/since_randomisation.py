r"""Effects by time since randomisation: the offer's effect in bins of months since each family's entry.

Families entered the trial (were randomised) in different months, so calendar months mix families at
different points of their time in the programme. With the plan's per-family entry month
(``columns.entry``, both arms) and bins with lower edges ``e_1 = 0 < e_2 < ... < e_B`` (``[since_randomisation]
bins``), months since randomisation are ``k_it = month_t - entry_i`` and the plan model's exact
fixed-effects logit is fitted with one treatment term per bin:

``logit P(y_it = 1) = a_i + sum_b c_b * arm_i * 1[e_b <= k_it < e_(b+1)] + x_it' g + f(t)``

(the last bin open above). Months before a family's entry (``k < 0``) and control rows are untreated,
the comparison of the fixed-effects model. ``exp(c_b)`` is the odds ratio ``e_b`` to ``e_(b+1) - 1``
months after randomisation; a joint cluster-robust Wald test of ``c_1 = ... = c_B`` asks whether the
effect changes with time in the programme (chi2(B-1), or F(B-1, G-1) with ``t_reference``). A bin no
offered parent with outcome variation reaches is left out and named in ``notes``.

Stata: ``gen k = month - entry`` and ``clogit y c.arm#i.kbin x trend, group(parent) vce(cluster office) or``
(with ``kbin`` the bin of ``k``, and ``arm#kbin`` zero before entry); R:
``survival::clogit(y ~ treat_b1 + ... + treat_bB + x + trend + strata(parent), method = "exact")`` with a
cluster sandwich of the score residuals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from famtrial.data.months import parse_months
from famtrial.data.panel import Panel
from famtrial.errors import PanelError, PlanError
from famtrial.models.postestimation import WaldTest, wald_test
from famtrial.table import Table
from famtrial.trial._beyond_itt import cluster_column, family_values, model_specs

__all__ = ["SinceRandomisationEffects", "effects_since_randomisation", "months_since_entry", "since_table"]


def months_since_entry(panel: Panel) -> pd.Series:
    """Each row's months since its family's entry (randomisation) month, ``month - entry``.

    Parameters
    ----------
    panel : Panel
        A panel whose plan names ``columns.entry`` (a month in any form the panel's months take).

    Returns
    -------
    Series
        Integers (negative before entry).

    Raises
    ------
    PlanError
        The plan names no entry column.
    PanelError
        An unreadable or missing entry month, or one varying within a family.
    """
    column = panel.columns.entry
    values = family_values(panel, column, "entry")
    assert column is not None  # family_values refuses None
    cols = panel.columns
    entry = (
        values if isinstance(values.dtype, pd.PeriodDtype) else parse_months(values, column, panel.data[cols.parent])
    )
    if entry.isna().any():
        fams = panel.data.loc[entry.isna().to_numpy(), cols.family].unique()
        raise PanelError(
            f"column {column!r} (columns.entry) is missing for {len(fams)} {panel.plan.unit('family', len(fams))} "
            f"(e.g. {list(fams[:5])}): record every family's randomisation month, in both arms"
        )
    month = panel.data[cols.month].array.asi8
    return pd.Series(month - entry.array.asi8, index=panel.data.index, name="months_since_entry")


def _bin_labels(bins: Sequence[int]) -> list[str]:
    edges = list(bins)
    return [f"{lo}-{hi - 1}" if hi - 1 > lo else f"{lo}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)] + [
        f"{edges[-1]}+"
    ]


@dataclass(frozen=True)
class SinceRandomisationEffects:
    """The offer's effect by months since randomisation, for one plan model.

    Attributes
    ----------
    model, outcome : str
        The plan model and its outcome key.
    bins : tuple of int
        The bins' lower edges.
    frame : DataFrame
        One row per estimated bin: ``bin`` (label), ``low``, ``high`` (``NaN``: open), ``term``,
        ``offered_rows`` (offered rows in the bin), ``coef``, ``se``, ``or``, ``ci_low``, ``ci_high``, ``p``.
    equality : WaldTest or None
        The joint Wald test of equal effects across the estimated bins (None with one bin).
    notes : tuple of str
        Bins left out.
    fit : ConditionalLogitResults
        The fit.
    """

    model: str
    outcome: str
    bins: tuple[int, ...]
    frame: pd.DataFrame
    equality: WaldTest | None
    notes: tuple[str, ...] = ()
    fit: Any = field(default=None, repr=False, compare=False)

    def to_numbers(self) -> dict[str, float]:
        """``since.<model>.<bin>.or`` / ``.p`` and ``since.<model>.p_equal`` keys."""
        out = {f"since.{self.model}.{r['bin']}.or": float(r["or"]) for _, r in self.frame.iterrows()}
        out.update({f"since.{self.model}.{r['bin']}.p": float(r["p"]) for _, r in self.frame.iterrows()})
        if self.equality is not None:
            out[f"since.{self.model}.p_equal"] = self.equality.pvalue
        return out


def effects_since_randomisation(
    panel: Panel,
    model: str | None = None,
    *,
    bins: Sequence[int] | None = None,
    t_reference: bool = False,
    alpha: float = 0.05,
) -> SinceRandomisationEffects:
    """The offer's odds ratio in bins of months since randomisation, from the plan model's FE logit.

    Parameters
    ----------
    panel : Panel
        The analysed panel; its plan names ``columns.entry``.
    model : str, optional
        A plan model with a pooled treatment; default: the first of ``[since_randomisation] models`` (or
        of the plan's pooled models).
    bins : sequence of int, optional
        Lower edges, from 0 and increasing; default: the plan's ``[since_randomisation] bins``.
    t_reference : bool
        t(G-1) CIs and an F(B-1, G-1) equality test instead of normal and chi2.
    alpha : float
        The CIs' level is ``1 - alpha``.

    Returns
    -------
    SinceRandomisationEffects
        One row per bin and the equality test.

    Notes
    -----
    Formula in the module docstring. Stata: ``clogit y c.arm#i.kbin x trend, group(parent)
    vce(cluster office) or``; R: ``survival::clogit(y ~ treat_b1 + ... + x + trend + strata(parent),
    method = "exact")`` with a cluster sandwich.
    """
    from famtrial.models.clogit import conditional_logit
    from famtrial.trial._args import _need_panel
    from famtrial.trial.effects import fe_design

    panel = _need_panel(panel, "effects_since_randomisation")
    plan, cols = panel.plan, panel.columns
    edges = tuple(plan.since_randomisation.bins if bins is None else bins)
    if not edges or edges[0] != 0 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise PlanError(f"bins={list(edges)} must start at 0 and increase (lower edges in months since randomisation)")
    spec = model_specs(plan, [model] if model is not None else plan.since_randomisation.models, "since_randomisation")[
        0
    ]
    k = months_since_entry(panel).to_numpy()
    frame, regressors = fe_design(panel, spec.outcome, split=False, trend=spec.time, covariates=spec.covariates)
    offered = (panel.data[cols.arm].to_numpy() == 1) & (k >= 0)
    labels = _bin_labels(edges)
    highs = [*edges[1:], np.inf]
    terms, rows, notes = [], [], []
    for lo, hi, label in zip(edges, highs, labels, strict=True):
        term = f"{plan.term('pooled')}_since_{label.replace('-', '_').replace('+', 'plus')}"
        inside = offered & (k >= lo) & (k < hi)
        if not inside.any():
            notes.append(f"bin {label}: no offered row that many months after entry (left out)")
            continue
        frame[term] = inside.astype(np.int8)
        terms.append(term)
        rows.append(
            {
                "bin": label,
                "low": lo,
                "high": hi - 1 if np.isfinite(hi) else np.nan,
                "term": term,
                "offered_rows": int(inside.sum()),
            }
        )
    cluster = cluster_column(panel, spec)
    if cluster not in frame.columns:
        frame[cluster] = panel.data[cluster]
    fit = conditional_logit(
        frame,
        plan.outcome(spec.outcome).column,
        [*terms, *regressors[1:]],
        group=cols.parent,
        cluster=cluster,
        t_reference=t_reference,
        time_effects=cols.month if spec.time == "months" else None,
    )
    kept = [t for t in terms if t in fit.params.index]
    for r in rows:
        if r["term"] not in kept:
            notes.append(f"bin {r['bin']}: not estimable (no within-parent variation; left out)")
    out = pd.DataFrame([r for r in rows if r["term"] in kept])
    if out.empty:
        raise PanelError(f"no bin of months since randomisation can be estimated for model {spec.name!r}")
    ci = fit.conf_int(alpha).loc[kept]
    out = out.assign(
        coef=fit.params[kept].to_numpy(),
        se=fit.bse[kept].to_numpy(),
        **{"or": np.exp(fit.params[kept].to_numpy())},
        ci_low=np.exp(ci["lower"].to_numpy()),
        ci_high=np.exp(ci["upper"].to_numpy()),
        p=fit.pvalues[kept].to_numpy(),
    )
    equality = None
    if len(kept) > 1:
        names = list(fit.params.index)
        restriction = np.zeros((len(kept) - 1, len(names)))
        for j, term in enumerate(kept[1:]):
            restriction[j, names.index(term)], restriction[j, names.index(kept[0])] = 1.0, -1.0
        equality = wald_test(fit, (restriction, np.zeros(len(kept) - 1)))
    return SinceRandomisationEffects(
        model=spec.name, outcome=spec.outcome, bins=edges, frame=out, equality=equality, notes=tuple(notes), fit=fit
    )


def since_table(results: Sequence[SinceRandomisationEffects], *, digits: int = 2, title: str = "") -> Table:
    """The table of effects by months since randomisation: per model and bin the OR [CI], p and the equality test.

    Parameters
    ----------
    results : sequence of SinceRandomisationEffects
        One per model.
    digits : int
        Decimals of the display.
    title : str
        The caption (default: a description).

    Returns
    -------
    Table
        ``frame`` with the numbers and ``display`` as printed.
    """
    frames, shown = [], []
    for r in results:
        frames.append(r.frame.drop(columns="term").assign(model=r.model, outcome=r.outcome))
        equal = "" if r.equality is None else f"{r.equality.pvalue:.3f}"
        for _, row in r.frame.iterrows():
            shown.append(
                {
                    "Model": r.model,
                    "Months since randomisation": row["bin"],
                    "Offered rows": f"{int(row['offered_rows']):,}",
                    "OR [95% CI]": f"{row['or']:.{digits}f} [{row['ci_low']:.{digits}f}, {row['ci_high']:.{digits}f}]",
                    "p": f"{row['p']:.3f}",
                    "Equal effects p": equal,
                }
            )
    return Table(
        frame=pd.concat(frames, ignore_index=True),
        display=pd.DataFrame(shown),
        title=title or "Effects of the offer by months since randomisation (odds ratios)",
        notes=(
            "Exact fixed-effects logit of the plan model with one offer term per bin of months since the family's "
            "randomisation (entry) month; months before entry and controls are untreated. Cluster-robust SE; "
            "'Equal effects p': joint Wald test that the bins' effects are equal."
        ),
    )
