"""The plan as the plain values a translation reads (:func:`recipe`).

A :class:`Recipe` holds what the exported code needs and nothing of famtrial's objects: the columns,
the codes of the arms and variants, the months, the sample rule, the balance variables, the models
(outcome, treatment terms, covariates, time adjustment, cluster column, table) and the monthly series
(outcome, baseline controls, own baseline, office effects), each variable's column with its plan key
(the spec's keys are plan keys, so the exported numbers line up with ``reproduced.csv``).

A plan the translations cannot express raises :class:`~famtrial.errors.ExportError` naming the key:
a per-parent start-month column (``[columns] start``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from famtrial.errors import ExportError
from famtrial.plan.spec import Plan, load_plan

__all__ = ["ExportModel", "ExportSeries", "ExportTarget", "Recipe", "recipe"]

#: the languages ``famtrial export --to`` writes
ExportTarget = Literal["stata", "r"]


@dataclass(frozen=True)
class ExportModel:
    """One fixed-effects model: ``clogit outcome terms covariates time, group(parent) vce(cluster cluster)``."""

    name: str
    table: str
    outcome: str  # the outcome's column
    treatment: str  # "pooled" or "variants"
    terms: tuple[str, ...]  # the treatment terms (plan.term(...)), in order
    covariates: tuple[str, ...]  # columns
    time: str  # "linear", "months" or "none"
    cluster: str | None  # the cluster column; None: model-based


@dataclass(frozen=True)
class ExportSeries:
    """One monthly series: a logit per month from the implementation month on, with baseline controls."""

    name: str
    outcome: str  # the outcome's column
    base_vars: tuple[str, ...]  # columns entered at their baseline value (controls, then the outcome's own)
    own_baseline: bool
    office_effects: bool


@dataclass(frozen=True)
class Recipe:
    """A plan's analysis as plain values (see the module docstring)."""

    plan_name: str
    plan_hash: str
    data: str
    parent: str
    family: str
    office: str
    month: str
    arm: str
    variant: str | None
    offered: str
    control: str
    variants: tuple[tuple[str, tuple[str, ...]], ...]  # (name, codes as text: the name and its codes)
    variant_control: tuple[str, ...]
    implementation: str
    baseline: str
    first: str | None
    last: str | None
    sample_rule: str
    threshold: float
    threshold_text: str
    sample_unit: str
    sample_table: str
    sample_keys: tuple[tuple[str, str], ...]  # the plan's words in the sample's keys (as AnalysisSample.to_numbers)
    keys: tuple[tuple[str, str], ...]  # (column, plan key) of every variable
    balance_table: str
    balance_variables: tuple[str, ...]  # columns
    correlations_table: str
    treatment: str
    models: tuple[ExportModel, ...]
    series: tuple[ExportSeries, ...]
    bootstrap_models: tuple[str, ...]
    bootstrap_weights: str
    seed: int
    alpha: float = 0.05

    def key_of(self, column: str) -> str:
        """The plan key of a variable's column (the column itself for other terms)."""
        return dict(self.keys).get(column, column)


def _sample_keys(plan: Plan) -> tuple[tuple[str, str], ...]:
    """The words of the ``sample.*`` and ``<table>.<office>_<label>.*`` keys, as famtrial writes them.

    The plan's unit nouns (``parents``, ``families``, ``offices``, ``office``) and arm keys (``offered``,
    ``control``) made machine-readable, as :meth:`famtrial.trial.sample.AnalysisSample.to_numbers`.
    """
    from famtrial._text import key_name, plural

    parent, family, office = plan.units
    return (
        ("parents", key_name(plural(parent))),
        ("families", key_name(plural(family))),
        ("offices", key_name(plural(office))),
        ("office", key_name(office)),
        ("offered", plan.offered_key),
        ("control", plan.control_key),
    )


def _code(value: object) -> str:
    """A code as the text both languages compare (``True`` -> ``"1"``, ``1`` -> ``"1"``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def recipe(plan: Plan | str | Path | None = None, data: str | Path | None = None) -> Recipe:
    """The plan's analysis as plain values for a translation.

    Parameters
    ----------
    plan : Plan, path or shipped plan name, optional
        Default: the shipped family-coordinator plan.
    data : str or Path, optional
        The data file the code reads (default: the plan's ``[data] path``).

    Returns
    -------
    Recipe
        Columns, codes, months, sample rule, balance, models and series.
    """
    plan = load_plan(plan)
    cols = plan.columns
    if cols.start is not None:
        raise ExportError(
            f"the plan {plan.name!r} names a per-parent start-month column ([columns] start = {cols.start!r}): "
            "famtrial export translates the plan's one implementation month only; drop the key to export"
        )
    if data is None:
        resolved = plan.resolve_data()
        if resolved is None:
            raise ExportError(f"the plan {plan.name!r} names no data file ([data] path): pass the data (--data FILE)")
        data = resolved
    variants = tuple((v.name, tuple(dict.fromkeys([v.name, *(_code(c) for c in v.codes)]))) for v in plan.variants)
    control_codes = tuple(dict.fromkeys([plan.control_variant, *(_code(c) for c in plan.control_variant_codes)]))
    models = []
    for m in plan.models:
        terms = (plan.term("pooled"),) if m.treatment == "pooled" else tuple(plan.term(v.name) for v in plan.variants)
        cluster = {"office": cols.office, "family": cols.family, "parent": cols.parent, "none": None}[m.cluster]
        models.append(
            ExportModel(
                name=m.name,
                table=m.table,
                outcome=plan.variable(m.outcome).column,
                treatment=m.treatment,
                terms=terms,
                covariates=tuple(plan.variable(c).column for c in m.covariates),
                time=m.time,
                cluster=cluster,
            )
        )
    series = []
    for s in plan.series:
        outcome = plan.variable(s.outcome).column
        controls = [plan.variable(c).column for c in s.controls]
        series.append(
            ExportSeries(
                name=s.name,
                outcome=outcome,
                base_vars=tuple(dict.fromkeys([*controls, *([outcome] if s.own_baseline else [])])),
                own_baseline=s.own_baseline,
                office_effects=s.office_effects,
            )
        )
    balance_keys = plan.balance_variables or tuple(v.key for v in plan.variables)
    return Recipe(
        plan_name=plan.name,
        plan_hash=plan.hash,
        data=str(data),
        parent=cols.parent,
        family=cols.family,
        office=cols.office,
        month=cols.month,
        arm=cols.arm,
        variant=cols.model if plan.variants else None,
        offered=_code(plan.offered_code),
        control=_code(plan.control_code),
        variants=variants,
        variant_control=control_codes,
        implementation=str(plan.months.implementation),
        baseline=str(plan.months.baseline),
        first=plan.months.first,
        last=plan.months.last,
        sample_rule=plan.sample.rule,
        threshold=float(plan.sample.threshold),
        threshold_text=plan.sample.threshold_text,
        sample_unit=plan.sample.unit,
        sample_table=plan.sample.table,
        sample_keys=_sample_keys(plan),
        keys=tuple((v.column, v.key) for v in plan.variables),
        balance_table=plan.balance_table,
        balance_variables=tuple(plan.variable(k).column for k in balance_keys),
        correlations_table=plan.correlations_table,
        treatment=plan.treatment_name,
        models=tuple(models),
        series=tuple(series),
        bootstrap_models=tuple(plan.inference_models),
        bootstrap_weights=plan.bootstrap_weights,
        seed=plan.seed,
    )
