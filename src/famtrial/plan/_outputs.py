"""The files a plan makes ``famtrial reproduce`` write, checked when the plan is read.

Every output name a plan gives (the sample, balance, correlation and model tables, the flow figure,
each series' figure and its ``monthly_<series>.csv``, a dynamic model's ``<model>_event_study`` figure,
and the CACE, subgroup and time-since-randomisation outputs when they run) must be a safe file stem
(:func:`famtrial._paths.stem_problem`: one path component, no ``..``, no device name) and no two outputs
may share a file; the run's own names (``reproduced``, ``report``, ``manifest``, ``inference``) are
reserved whatever the suffix. File names are compared case-blind (two names that differ only in case are
one file on Windows and macOS). Figures are counted in every format, so a plan stays valid whatever
``--formats`` a run chooses.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from famtrial._paths import stem_problem
from famtrial.errors import PlanError

if TYPE_CHECKING:
    from famtrial.plan.read import PlanParts

__all__ = ["RUN_FILES", "RESERVED", "TABLE_SUFFIXES", "FIGURE_SUFFIXES", "check_output_names"]

#: the files every run writes whatever the plan says, with the step that writes them
RUN_FILES: dict[str, str] = {
    "reproduced.csv": "the reproduced numbers",
    "report.html": "the report",
    "manifest.json": "the manifest",
    "inference.csv": "the few-cluster inference table",
    "inference.md": "the few-cluster inference table",
}
#: the stems of the run's own files: no plan output may take one (``report.md`` beside ``report.html`` misleads)
RESERVED = {
    "reproduced": "the reproduced numbers",
    "report": "the report",
    "manifest": "the manifest",
    "inference": "the few-cluster inference table",
}
TABLE_SUFFIXES = (".csv", ".md")
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def _named(parts: PlanParts) -> Iterator[tuple[str, str, tuple[str, ...]]]:
    """Every output the plan names: ``(key, stem, suffixes)`` in the order of the file."""
    sample, balance = parts["sample"], parts["balance"]
    yield "sample.table", sample.table, TABLE_SUFFIXES
    yield "sample.figure", sample.figure, FIGURE_SUFFIXES
    yield "balance.table", balance.table, TABLE_SUFFIXES
    yield "balance.correlations_table", balance.correlations_table, TABLE_SUFFIXES
    seen: set[str] = set()
    for model in parts["models"]:
        if model.table not in seen:  # models share their table: one output
            seen.add(model.table)
            yield f"models.{model.name}.table", model.table, TABLE_SUFFIXES
    for name, _ in parts["tables"]:
        if name not in seen:
            seen.add(name)
            yield f"tables.{name}", name, TABLE_SUFFIXES
    for model in parts["models"]:
        if model.treatment == "dynamic":
            yield f"models.{model.name} (its event-study figure)", f"{model.name}_event_study", FIGURE_SUFFIXES
    for series in parts["series"]:
        yield f"series.{series.name}", f"monthly_{series.name}", (".csv",)
        yield f"series.{series.name}.figure", series.figure, FIGURE_SUFFIXES
    # the analyses beyond intention to treat, when they run (docs/beyond_itt.md); the monthly CACE is a
    # column of monthly_<series>.csv, not a file of its own
    roles = parts["roles"]
    if roles.take_up is not None:
        yield "compliance.table", parts["compliance"].table, TABLE_SUFFIXES
    if parts["subgroups"].variables:
        yield "subgroups.table", parts["subgroups"].table, TABLE_SUFFIXES
        yield "subgroups.figure", parts["subgroups"].figure, FIGURE_SUFFIXES
    if roles.entry is not None:
        yield "since_randomisation.table", parts["since_randomisation"].table, TABLE_SUFFIXES
        yield "since_randomisation.figure", parts["since_randomisation"].figure, FIGURE_SUFFIXES


def check_output_names(parts: PlanParts, source: str) -> None:
    """Raise :class:`PlanError` naming the key when an output name is unsafe or two outputs share a file.

    Parameters
    ----------
    parts : PlanParts
        The plan's sections as read.
    source : str
        The plan's file, named in the message.
    """
    owners = {name.casefold(): f"{what} ({name})" for name, what in RUN_FILES.items()}
    for key, stem, suffixes in _named(parts):
        problem = stem_problem(stem)
        if problem:
            raise PlanError(f"{source}: {key} = {stem!r} {problem}")
        if stem.casefold() in RESERVED:
            raise PlanError(
                f"{source}: {key} = {stem!r} is the name of {RESERVED[stem.casefold()]}, which every run writes: "
                "give it another name"
            )
        for suffix in suffixes:
            file = f"{stem}{suffix}"
            other = owners.get(file.casefold())
            if other is not None:
                raise PlanError(
                    f"{source}: {key} = {stem!r} writes {file}, which {other} also writes: give it another name"
                )
            owners[file.casefold()] = f"{key} ({file})"
