"""Writing a plan: its TOML document, its TOML text, and what it runs in words.

:func:`to_dict` writes each section under its TOML table, each field under its own name (the key the
reader reads), so reading what it writes gives an equal plan. Fields with the
:data:`~famtrial.plan.sections.OPTIONAL` mark are left out while at their default; a table's name field
(:data:`~famtrial.plan.sections.TABLE_NAME`) keys its table. Three sections need words of their own:
``[sample]`` (the threshold as written; no threshold without a rule), ``[outcomes]`` and ``[covariates]``
(one :class:`~famtrial.plan.sections.Variable` class, two sets of keys) and ``[tables]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from famtrial._text import article
from famtrial._toml import dumps
from famtrial.plan.sections import SampleRule, Variable

if TYPE_CHECKING:
    from famtrial.plan.spec import Plan

__all__ = ["to_dict", "to_toml", "describe", "plan_hash"]


def _name(section: Any) -> str:
    """The name of a named section (its :data:`~famtrial.plan.sections.TABLE_NAME` field)."""
    name: str = next(getattr(section, f.name) for f in fields(section) if f.metadata.get("table_name"))
    return name


def _table(section: Any) -> dict[str, Any]:
    """A section's TOML table: every field under its name, optional ones only when set."""
    out: dict[str, Any] = {}
    for f in fields(section):
        value = getattr(section, f.name)
        if f.metadata.get("table_name") or (f.metadata.get("optional") and value == f.default):
            continue
        if f.metadata.get("named_tables"):
            out[f.name] = _named(value)
        else:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _named(sections: tuple[Any, ...]) -> dict[str, Any]:
    """Named sections (``[models.<name>]``) as one table per name, in order."""
    return {_name(v): _table(v) for v in sections}


def _sample(sample: SampleRule) -> dict[str, Any]:
    """``[sample]``: the threshold as the plan wrote it; threshold and unit only with a rule."""
    out: dict[str, Any] = {"rule": sample.rule}
    if sample.rule != "none":
        out.update(threshold=sample.threshold_text, unit=sample.unit)
    elif sample.unit != SampleRule.unit:
        out.update(unit=sample.unit)  # no rule: the unit still counts the sample table's control shares
    out.update(table=sample.table, title=sample.title, figure=sample.figure)
    return out


def _outcomes(outcomes: tuple[Variable, ...]) -> dict[str, Any]:
    return {v.key: {"column": v.column, "label": v.label, "description": v.description} for v in outcomes}


def _covariates(covariates: tuple[Variable, ...]) -> dict[str, Any]:
    return {v.key: {"column": v.column, "label": v.label, "time": v.time} for v in covariates}


def _titles(tables: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    return {name: {"title": title} for name, title in tables}


_WORDS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "sample": _sample,
    "outcomes": _outcomes,
    "covariates": _covariates,
    "tables": _titles,
}


def to_dict(plan: Plan) -> dict[str, Any]:
    """The plan as a TOML-shaped dict, in the order of a plan file (defaults written).

    Parameters
    ----------
    plan : Plan
        The plan.

    Returns
    -------
    dict
        ``{"trial": {...}, "data": {...}, "columns": {...}, ...}``; ``Plan.from_dict`` reads it back
        to an equal plan. ``[variants]`` is left out while it holds no level, code or control name.
    """
    out: dict[str, Any] = {}
    for f in fields(plan):
        if "toml" not in f.metadata:
            continue
        key, section = f.metadata["toml"], getattr(plan, f.name)
        if f.metadata.get("optional") and section == type(section)():
            continue
        words: Callable[[Any], dict[str, Any]] = _named if f.metadata.get("named_tables") else _table
        out[key] = _WORDS.get(key, words)(section)
    return out


def to_toml(plan: Plan, comments: Mapping[str, str] | None = None) -> str:
    """The plan as TOML text (``load_plan`` reads it back to an equal plan).

    Parameters
    ----------
    plan : Plan
        The plan.
    comments : mapping, optional
        A comment written above a dotted key (``"columns.arm"``) or a table (``"models"``).

    Returns
    -------
    str
        The TOML text.
    """
    return dumps(to_dict(plan), comments or {})


def plan_hash(plan: Plan) -> str:
    """The plan's canonical hash: SHA-256 of its TOML document as canonical JSON (sorted keys).

    Two plans that read to equal :class:`~famtrial.plan.spec.Plan` objects have one hash, whatever
    their files' layout, comments or key order; any change of a value changes it.

    Parameters
    ----------
    plan : Plan
        The plan.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    import hashlib
    import json

    text = json.dumps(to_dict(plan), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def describe(plan: Plan) -> str:
    """What ``famtrial reproduce`` will run with the plan, in words (``famtrial plan check``).

    Parameters
    ----------
    plan : Plan
        The plan.

    Returns
    -------
    str
        One line per part: roles, variants, months, sample rule, variables, tables, models, series,
        inference.
    """
    return "\n".join([*_describe_data(plan), *_describe_analysis(plan)])


def _describe_data(plan: Plan) -> list[str]:
    """Roles, variants, months and the sample rule."""
    roles, arms, months, sample = plan.roles, plan.arms, plan.months, plan.sample
    lines = [f"Plan {plan.name!r}" + (f" ({plan.registry})" if plan.registry else "") + f" from {plan.source}"]
    lines.append(
        f"roles: {plan.unit('parent', 1)} {roles.parent!r}, {plan.unit('family', 1)} {roles.family!r}, "
        f"{plan.unit('office', 1)} {roles.office!r}, month {roles.month!r}, arm {roles.arm!r} "
        f"({arms.offered!r} = {arms.offered_label}, {arms.control!r} = {arms.control_label})"
    )
    if plan.variants:
        lines.append(
            f"variants in {roles.variant!r}: "
            + ", ".join(f"{v.name} ({v.label})" for v in plan.variants)
            + f"; control {plan.control_variant!r}"
        )
    window = f", window {months.first or '...'} .. {months.last or '...'}" if months.first or months.last else ""
    lines.append(f"months: implementation {months.implementation}, baseline {months.baseline}" + window)
    if sample.rule == "none":
        lines.append("sample: every office analysed (no exclusion rule)")
    else:
        lines.append(
            f"sample: {article(plan.unit('office', 1))} {plan.unit('office', 1)} is excluded when fewer than {sample.threshold_text} of "
            f"its {plan.unit(sample.unit)} are in the control arm ({sample.table})"
        )
    return lines


def _describe_analysis(plan: Plan) -> list[str]:
    """Variables, tables, models, series and inference."""
    lines = ["outcomes: " + ", ".join(f"{v.key} [{v.column}]" for v in plan.outcomes)]
    lines.append("covariates: " + (", ".join(f"{v.key} [{v.column}, {v.time}]" for v in plan.covariates) or "none"))
    lines.append(f"balance: {plan.balance.table}, {plan.balance.correlations_table}")
    for m in plan.models:
        lines.append(
            f"{m.table}/{m.name}: clogit {m.outcome} on {m.treatment} treatment"
            + (f" (reference {m.reference})" if m.reference else "")
            + (f" + {', '.join(m.covariates)}" if m.covariates else "")
            + {"linear": " + linear trend", "months": " + month effects", "none": ""}[m.time]
            + f", group({plan.unit('parent', 1)})"
            + (f", cluster({m.cluster})" if m.cluster != "none" else "")
        )
    for s in plan.series:
        lines.append(
            f"{s.figure}: monthly logits of {s.outcome} on the offer, controls at baseline: "
            + (", ".join(s.controls) or "none")
            + ("; own baseline" if s.own_baseline else "")
            + ("; office effects" if s.office_effects else "")
        )
    lines += _describe_beyond_itt(plan)
    inference = plan.inference
    if inference.models:
        lines.append(
            f"inference: {', '.join(inference.models)} with {inference.randomization_draws} "
            "randomization re-draws and the wild score bootstrap"
        )
    return lines


def _describe_beyond_itt(plan: Plan) -> list[str]:
    """The optional analyses beyond intention to treat the plan asks for (none: no line)."""
    lines = []
    if plan.roles.take_up:
        models = ", ".join(plan.compliance.models) or "every pooled model"
        lines.append(f"{plan.compliance.table}: CACE (2SLS and Wald) with take-up {plan.roles.take_up!r}: {models}")
    if plan.subgroups.variables:
        models = ", ".join(plan.subgroups.models) or "every pooled model"
        lines.append(
            f"{plan.subgroups.table}: subgroups {', '.join(plan.subgroups.variables)} ({models}; "
            f"{plan.subgroups.reference} reference, Holm and BH)"
        )
    if plan.roles.entry:
        models = ", ".join(plan.since_randomisation.models) or "every pooled model"
        bins = ", ".join(map(str, plan.since_randomisation.bins))
        lines.append(
            f"{plan.since_randomisation.table}: effects by months since entry {plan.roles.entry!r}, bins from [{bins}]: {models}"
        )
    return lines
