"""The trial's statistical analysis plan as data: a validated, frozen :class:`Plan`, read from TOML.

A plan says which column plays which role (ids, month, arm, coordinated-model variant), which value
codes mean what, the months (implementation, baseline), the office exclusion rule, the outcomes and
covariates with their labels, the fixed-effects models, the monthly series, the few-cluster
inference and the output. Every step of famtrial reads its roles, labels and titles from the plan
a :class:`~famtrial.data.panel.Panel` carries; no trial is written into the code. The family-coordinator
paper (NCT03102775) is one plan file among others (``famtrial.load_plan("nct03102775")``).

Variables (outcomes, covariates) have a *key*, the name the plan uses for them (model terms,
published-number keys), and a *column* in the data (default: the key). A renamed data set is
analysed by mapping the same keys to its columns.

A :class:`Plan` holds one frozen section per TOML table (:mod:`famtrial.plan.sections`), read by
:mod:`famtrial.plan.read` (one reader per section, then the references between sections) and written
back by :mod:`famtrial.plan.write`: ``Plan.to_toml()`` writes a plan back and
``load_plan(Plan.to_toml())`` gives an equal plan. This module adds the lookups (``plan.outcome(name)``,
``plan.model(name)``, ``plan.unit(role)``, ...), the flat attribute names of famtrial 0.2 and loading.
:func:`scaffold` guesses a commented plan from a data file (``famtrial plan init DATA``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from famtrial._options import BootstrapWeights, FigureFormat, Missing, Reference, Role, Rule, Statistic, Unit
from famtrial._paths import data_dir, plans_dir
from famtrial._text import plural
from famtrial._toml import NAME
from famtrial.errors import PlanError
from famtrial.plan import write
from famtrial.plan.read import read_plan
from famtrial.plan.sections import (
    Arms,
    BalanceTables,
    ColumnRoles,
    Compliance,
    DataSource,
    FEModel,
    InferenceOptions,
    Months,
    OutputOptions,
    SampleRule,
    Series,
    SinceRandomisation,
    Subgroups,
    Treatment,
    TrialInfo,
    UnitNouns,
    Variable,
    Variant,
    Variants,
)

__all__ = ["Plan", "Columns", "load_plan", "shipped_plans", "Variable", "Variant", "FEModel", "Series", "DEFAULT_PLAN"]

_SHIPPED_PREFIX = "famtrial:"
T = TypeVar("T")

#: The shipped plan used when none is given: the family-coordinator trial (the package's first example).
DEFAULT_PLAN = "nct03102775"


# -- the column roles --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Columns:
    """Which column plays which role: the column part of an analysis plan (:class:`~famtrial.plan.spec.Plan`).

    Parameters
    ----------
    parent, family, office, month, arm : str
        Identifier columns, the calendar month, and the randomized offer (1 offered, 0 control).
    model : str or None
        The offer's variant (coordinated model); ``None`` when absent. With a plan, its
        ``[variants]`` codes; with bare Columns, the variants are the column's values among
        offered parents.
    outcomes : tuple of str
        Binary (0/1) monthly outcomes.
    time_varying, time_invariant : tuple of str
        Numeric covariates (time-invariant ones drop out of fixed-effects models).
    start : str or None
        Optional per-parent treatment start month (missing = never treated).
    take_up, entry : str or None
        Optional take-up (0/1, the offered family accepted) and randomisation (entry) month columns.
    """

    parent: str = "parent_id"
    family: str = "family_id"
    office: str = "office"
    month: str = "month"
    arm: str = "arm"
    model: str | None = None
    outcomes: tuple[str, ...] = ()
    time_varying: tuple[str, ...] = ()
    time_invariant: tuple[str, ...] = ()
    start: str | None = None
    take_up: str | None = None
    entry: str | None = None

    def __post_init__(self) -> None:
        optional = ("model", "start", "take_up", "entry")
        for name in ("parent", "family", "office", "month", "arm", *optional):
            value = getattr(self, name)
            if not (isinstance(value, str) and value.strip()) and not (value is None and name in optional):
                raise TypeError(
                    f"Columns: {name}={value!r} must be a column name (a non-empty string)"
                    + ("" if name in ("parent", "family", "office", "month", "arm") else " or None")
                )
        for name in ("outcomes", "time_varying", "time_invariant"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            elif not isinstance(value, Iterable) or isinstance(value, Mapping):
                raise TypeError(f"Columns: {name}={value!r} must be a tuple of column names, e.g. {name}=('x', 'y')")
            value = tuple(value)
            bad = [v for v in value if not (isinstance(v, str) and v.strip())]
            if bad:
                raise TypeError(f"Columns: {name} holds {bad}, which are not column names (non-empty strings)")
            object.__setattr__(self, name, value)
        roles = self.required()
        repeated = sorted({c for c in roles if roles.count(c) > 1})
        if repeated:
            raise ValueError(f"Columns: {repeated} are given more than one role; each column plays one role")

    @property
    def covariates(self) -> tuple[str, ...]:
        """Time-varying then time-invariant covariates."""
        return (*self.time_varying, *self.time_invariant)

    @property
    def ids(self) -> tuple[str, ...]:
        """The parent, family and office id columns."""
        return (self.parent, self.family, self.office)

    def required(self) -> list[str]:
        """Every column the panel must have, in role order."""
        cols = [*self.ids, self.month, self.arm, *self.outcomes, *self.covariates]
        return cols + [c for c in (self.model, self.start, self.take_up, self.entry) if c is not None]


# -- the plan ----------------------------------------------------------------------------------------------
class _In(Generic[T]):
    """A flat 0.2 name of a plan attribute: read-only, the value of ``key`` in the plan's ``section``.

    ``dataclasses.replace(plan, last_month="2017-12")`` replaces the section's key (see ``Plan.__init__``).
    """

    def __init__(self, section: str, key: str) -> None:
        self.section, self.key = section, key
        self.__doc__ = f"``plan.{section}.{key}`` under its famtrial 0.2 name (read-only)."

    @overload
    def __get__(self, plan: None, owner: type) -> _In[T]: ...

    @overload
    def __get__(self, plan: object, owner: type) -> T: ...

    def __get__(self, plan: object, owner: type) -> T | _In[T]:
        if plan is None:
            return self
        value: T = getattr(getattr(plan, self.section), self.key)
        return value


def _section(toml: str, *, optional: bool = False, named: bool = False) -> Any:
    """A plan field holding the section written as the TOML table ``[toml]``.

    ``optional``: left out while it holds its default; ``named``: a tuple of named sections
    (``[models.<name>]``).
    """
    return field(metadata={"toml": toml, "optional": optional, "named_tables": named})


@dataclass(frozen=True, init=False)
class Plan:
    """A trial's analysis plan (frozen, validated). Build with :func:`load_plan` or :meth:`from_dict`.

    One frozen section per TOML table (:mod:`famtrial.plan.sections`; ``docs/plan.md`` documents
    every key): ``trial``, ``data``, ``roles`` (``[columns]``; :attr:`columns` gives a
    :class:`~famtrial.plan.spec.Columns` with the variables' columns too), ``nouns`` (``[units]``;
    :attr:`units` gives them as a tuple), ``arms``, ``treatment``, ``variant_coding`` (``[variants]``;
    :attr:`variants` gives its levels), ``months``, ``sample``, ``outcomes`` and ``covariates``
    (:class:`Variable`), ``balance``, ``models`` (:class:`FEModel`), ``tables`` (name and title of
    every model table), ``series`` (:class:`Series`), ``inference`` and ``output``. The flat names of
    famtrial 0.2 (``plan.implementation``, ``plan.control_variant``, ...) read the sections.

    Parameters
    ----------
    trial, data, roles, nouns, arms, treatment, variant_coding, months, sample, balance, inference, output
        The sections (:mod:`famtrial.plan.sections`).
    outcomes, covariates : tuple of Variable
        The plan's variables, in order.
    models : tuple of FEModel
        The fixed-effects logits.
    tables : tuple of (str, str)
        Every model table's name and title, titled ones first.
    series : tuple of Series
        The monthly series.
    compliance, subgroups, since_randomisation
        The optional analyses beyond intention to treat (:mod:`famtrial.plan.sections`; defaults: none run).
    source : str
        Where the plan was read from (not compared).
    **flat
        0.2 names of section keys (``last_month="2017-12"``), as ``dataclasses.replace`` passes them.
    """

    trial: TrialInfo = _section("trial")
    data: DataSource = _section("data")
    roles: ColumnRoles = _section("columns")
    nouns: UnitNouns = _section("units")
    arms: Arms = _section("arms")
    treatment: Treatment = _section("treatment")
    variant_coding: Variants = _section("variants", optional=True)
    months: Months = _section("months")
    sample: SampleRule = _section("sample")
    outcomes: tuple[Variable, ...] = _section("outcomes")
    covariates: tuple[Variable, ...] = _section("covariates")
    balance: BalanceTables = _section("balance")
    models: tuple[FEModel, ...] = _section("models", named=True)
    tables: tuple[tuple[str, str], ...] = _section("tables")
    series: tuple[Series, ...] = _section("series", named=True)
    compliance: Compliance = _section("compliance", optional=True)
    subgroups: Subgroups = _section("subgroups", optional=True)
    since_randomisation: SinceRandomisation = _section("since_randomisation", optional=True)
    inference: InferenceOptions = _section("inference")
    output: OutputOptions = _section("output")
    source: str = field(default="<plan>", compare=False)

    def __init__(
        self,
        *,
        trial: TrialInfo,
        data: DataSource,
        roles: ColumnRoles,
        nouns: UnitNouns,
        arms: Arms,
        treatment: Treatment,
        variant_coding: Variants,
        months: Months,
        sample: SampleRule,
        outcomes: tuple[Variable, ...],
        covariates: tuple[Variable, ...],
        balance: BalanceTables,
        models: tuple[FEModel, ...],
        tables: tuple[tuple[str, str], ...],
        series: tuple[Series, ...],
        inference: InferenceOptions,
        output: OutputOptions,
        compliance: Compliance = Compliance(),  # noqa: B008 (a frozen default)
        subgroups: Subgroups = Subgroups(),  # noqa: B008
        since_randomisation: SinceRandomisation = SinceRandomisation(),  # noqa: B008
        source: str = "<plan>",
        **flat: Any,
    ) -> None:
        given = locals()
        for f in fields(self):
            object.__setattr__(self, f.name, given[f.name])
        for name, value in flat.items():
            ref = type(self).__dict__.get(name)
            if not isinstance(ref, _In):
                raise TypeError(f"Plan() got an unexpected keyword argument {name!r}")
            object.__setattr__(self, ref.section, replace(getattr(self, ref.section), **{ref.key: value}))

    # -- the flat names of famtrial 0.2 (read-only) -------------------------------------------------------
    name = _In[str]("trial", "name")
    registry = _In[str]("trial", "registry")
    description = _In[str]("trial", "description")
    data_path = _In[str]("data", "path")
    missing = _In[Missing]("data", "missing")
    published = _In[str]("data", "published")
    sep = _In[str]("data", "sep")
    parent = _In[str]("roles", "parent")
    family = _In[str]("roles", "family")
    office = _In[str]("roles", "office")
    month = _In[str]("roles", "month")
    arm = _In[str]("roles", "arm")
    variant_column = _In[str | None]("roles", "variant")
    start = _In[str | None]("roles", "start")
    offered_code = _In[int | str | bool]("arms", "offered")
    control_code = _In[int | str | bool]("arms", "control")
    offered_label = _In[str]("arms", "offered_label")
    control_label = _In[str]("arms", "control_label")
    offered_key = _In[str]("arms", "offered_key")
    control_key = _In[str]("arms", "control_key")
    control_variant = _In[str]("variant_coding", "control")
    control_variant_codes = _In[tuple[int | str, ...]]("variant_coding", "control_codes")
    variants = _In[tuple[Variant, ...]]("variant_coding", "levels")
    treatment_name = _In[str]("treatment", "name")
    treatment_label = _In[str]("treatment", "label")
    treatment_description = _In[str]("treatment", "description")
    implementation = _In[str]("months", "implementation")
    baseline = _In[str]("months", "baseline")
    first_month = _In[str | None]("months", "first")
    last_month = _In[str | None]("months", "last")
    sample_rule = _In[Rule]("sample", "rule")
    threshold = _In[float]("sample", "threshold")
    threshold_text = _In[str]("sample", "threshold_text")
    sample_unit = _In[Unit]("sample", "unit")
    sample_table = _In[str]("sample", "table")
    sample_title = _In[str]("sample", "title")
    flow_figure = _In[str]("sample", "figure")
    balance_table = _In[str]("balance", "table")
    balance_title = _In[str]("balance", "title")
    balance_variables = _In[tuple[str, ...]]("balance", "variables")
    correlations_table = _In[str]("balance", "correlations_table")
    correlations_title = _In[str]("balance", "correlations_title")
    inference_models = _In[tuple[str, ...]]("inference", "models")
    randomization_draws = _In[int]("inference", "randomization_draws")
    band_draws = _In[int]("inference", "band_draws")
    seed = _In[int]("inference", "seed")
    bootstrap_weights = _In[BootstrapWeights]("inference", "bootstrap_weights")
    few_clusters = _In[int]("inference", "few_clusters")
    reference = _In[Reference]("inference", "reference")
    randomization_statistic = _In[Statistic]("inference", "statistic")
    formats = _In[tuple[FigureFormat, ...]]("output", "formats")
    digits = _In[int]("output", "digits")
    leading_zero = _In[bool]("output", "leading_zero")

    @property
    def units(self) -> tuple[str, str, str]:
        """The trial's nouns for parent, family and office (``[units]``) as a tuple."""
        return (self.nouns.parent, self.nouns.family, self.nouns.office)

    # -- lookups -----------------------------------------------------------------------------------
    @property
    def columns(self) -> Columns:
        """The column roles as :class:`famtrial.plan.spec.Columns` (data column names)."""
        return Columns(
            parent=self.roles.parent,
            family=self.roles.family,
            office=self.roles.office,
            month=self.roles.month,
            arm=self.roles.arm,
            model=self.roles.variant,
            outcomes=tuple(v.column for v in self.outcomes),
            time_varying=tuple(v.column for v in self.covariates if v.time == "varying"),
            time_invariant=tuple(v.column for v in self.covariates if v.time == "invariant"),
            start=self.roles.start,
            take_up=self.roles.take_up,
            entry=self.roles.entry,
        )

    @property
    def variables(self) -> tuple[Variable, ...]:
        """Covariates then outcomes."""
        return (*self.covariates, *self.outcomes)

    def variable(self, name: str) -> Variable:
        """The outcome or covariate with key or column ``name``."""
        for v in self.variables:
            if name in (v.key, v.column):
                return v
        raise PlanError(
            f"{name!r} is neither a key nor a column of the plan's outcomes or covariates; "
            f"outcomes: {[v.key for v in self.outcomes]}, covariates: {[v.key for v in self.covariates]}"
        )

    def outcome(self, name: str) -> Variable:
        """The outcome with key or column ``name`` (PlanError listing the outcomes otherwise)."""
        for v in self.outcomes:
            if name in (v.key, v.column):
                return v
        raise PlanError(
            f"{name!r} is not an outcome of the plan; its outcomes are "
            + ", ".join(f"{v.key!r} (column {v.column!r})" if v.key != v.column else repr(v.key) for v in self.outcomes)
        )

    def model(self, name: str) -> FEModel:
        """The model named ``name`` (PlanError listing the models otherwise)."""
        for m in self.models:
            if m.name == name:
                return m
        raise PlanError(f"{name!r} is not a model of the plan; its models are {[m.name for m in self.models]}")

    def table_title(self, name: str) -> str:
        """The title of the model table ``name`` (``""`` when untitled or unknown)."""
        return dict(self.tables).get(name, "")

    def models_in(self, table: str) -> tuple[FEModel, ...]:
        """The models laid out in ``table``, in the plan's order."""
        return tuple(m for m in self.models if m.table == table)

    @property
    def model_tables(self) -> tuple[str, ...]:
        """The tables the models belong to, in the order they first appear."""
        return tuple(dict.fromkeys(m.table for m in self.models))

    def series_for(self, outcome: str) -> Series | None:
        """The plan's monthly series of ``outcome`` (key or column), if any."""
        key = self.outcome(outcome).key
        return next((s for s in self.series if s.outcome == key), None)

    @property
    def labels(self) -> dict[str, str]:
        """Display labels by data column and by term: variables, treatment terms."""
        out = {v.column: v.label for v in self.variables}
        out[self.term("pooled")] = self.treatment.label
        out.update({self.term(v.name): v.label for v in self.variants})
        return out

    def key_of(self, column: str) -> str:
        """The plan key of a variable column (the column itself when it is no variable)."""
        return next((v.key for v in self.variables if v.column == column), column)

    def term(self, variant: str) -> str:
        """Treatment term name: ``<treatment>_pooled`` or ``<treatment>_<variant>``."""
        return f"{self.treatment.name}_{variant}"

    @property
    def treatment_terms(self) -> tuple[str, ...]:
        """The pooled term, then one term per variant."""
        return (self.term("pooled"), *(self.term(v.name) for v in self.variants))

    def unit(self, role: Role, n: int | None = None) -> str:
        """The noun for a unit role (``plan.unit("family", 2)`` -> ``"families"``)."""
        noun = self.units[("parent", "family", "office").index(role)]
        return noun if n == 1 else plural(noun)

    def with_months(self, implementation: str | None = None, baseline: str | None = None) -> Plan:
        """A copy with other implementation / baseline months (validated)."""
        raw = self.to_dict()
        if implementation is not None:
            raw["months"]["implementation"] = implementation
        if baseline is not None:
            raw["months"]["baseline"] = baseline
        return Plan.from_dict(raw, source=self.source)

    def resolve_data(self) -> Path | None:
        """The plan's default data file (``data.path``): relative to the plan file, or ``famtrial:`` shipped."""
        if not self.data.path:
            return None
        if self.data.path.startswith(_SHIPPED_PREFIX):
            return data_dir() / self.data.path[len(_SHIPPED_PREFIX) :]
        path = Path(self.data.path)
        if not path.is_absolute() and self.source not in ("<plan>", "<string>"):
            path = Path(self.source).parent / path
        return path

    def resolve_published(self) -> Path | None:
        """The published-number spec the plan's results are verified against, if any."""
        if not self.data.published:
            return None
        if self.data.published.startswith(_SHIPPED_PREFIX):
            return data_dir() / self.data.published[len(_SHIPPED_PREFIX) :]
        path = Path(self.data.published)
        return path if path.is_absolute() or self.source in ("<plan>", "<string>") else Path(self.source).parent / path

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "<plan>") -> Plan:
        """Validate a parsed TOML document; every problem raises :class:`PlanError` naming the key.

        Parameters
        ----------
        raw : mapping
            The parsed plan (``tomllib.loads(text)``).
        source : str
            The file named in messages and against which ``data.path`` is resolved.

        Returns
        -------
        Plan
            The validated plan (:mod:`famtrial.plan.read` reads it section by section).
        """
        return cls(**read_plan(raw, source), source=source)

    @classmethod
    def from_columns(
        cls,
        columns: Columns,
        *,
        implementation: str,
        baseline: str | None = None,
        variants: Iterable[str] = (),
        control_variant: str | None = None,
    ) -> Plan:
        """A plain plan for a :class:`~famtrial.plan.spec.Columns` mapping: labels are the column names.

        Used by ``load_panel(source, Columns(...), implementation=...)``; variant levels (when the
        columns name a variant column) are those found in the data.
        """
        raw: dict[str, Any] = {
            "trial": {"name": "trial"},
            "columns": {
                "parent": columns.parent,
                "family": columns.family,
                "office": columns.office,
                "month": columns.month,
                "arm": columns.arm,
                "variant": columns.model or "",
                "start": columns.start or "",
            },
            "months": {"implementation": implementation, "baseline": baseline or implementation},
            "outcomes": {c: {} for c in columns.outcomes},
            "covariates": {
                **{c: {"time": "varying"} for c in columns.time_varying},
                **{c: {"time": "invariant"} for c in columns.time_invariant},
            },
        }
        if columns.model is not None:
            raw["variants"] = {
                "control": control_variant or "control",
                "levels": {term_safe(v): {"label": str(v), "codes": [v]} for v in variants},
            }
        return cls.from_dict(raw, source="<columns>")

    # -- writing -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as a TOML-shaped dict (every key written, defaults included); see :func:`famtrial.plan.write.to_dict`."""
        return write.to_dict(self)

    def to_toml(self, comments: Mapping[str, str] | None = None) -> str:
        """The plan as TOML text (``load_plan`` reads it back to an equal plan).

        ``comments`` maps a dotted key (``"columns.arm"``) or a table (``"models"``) to a comment
        written above it (used by :func:`scaffold` to mark its guesses).
        """
        return write.to_toml(self, comments)

    @property
    def hash(self) -> str:
        """The plan's canonical SHA-256 (:func:`famtrial.plan.write.plan_hash`): equal plans, one hash."""
        return write.plan_hash(self)

    def describe(self) -> str:
        """What ``famtrial reproduce`` will run with this plan, in words (``famtrial plan check``)."""
        return write.describe(self)

    def __str__(self) -> str:
        return self.describe()


def term_safe(value: object) -> str:
    """A variant value as a plain name (a term suffix): lower case, runs of other characters as ``_``."""
    text = re.sub(r"[^A-Za-z0-9_]+", "_", str(value).strip().lower()).strip("_") or "v"
    return text if NAME.match(text) else f"v_{text}"


# -- loading ---------------------------------------------------------------------------------------
def shipped_plans() -> dict[str, Path]:
    """The plans shipped with famtrial, by name (``nct03102775``: the paper; ``casework``: a second example)."""
    return {p.stem: p for p in sorted(plans_dir().glob("*.toml"))}


#: the largest plan file read (a plan is a few KiB; 1 MiB leaves room for generated ones)
_MAX_PLAN_BYTES = 1 << 20


def load_plan(source: str | Path | Mapping[str, Any] | Plan | None = None) -> Plan:
    """Read and validate an analysis plan.

    Parameters
    ----------
    source : path, name, TOML text, mapping or Plan, optional
        A ``.toml`` file; the name of a shipped plan (``"nct03102775"``, ``"casework"``); TOML
        text (anything containing a newline); a parsed mapping; default: the paper's plan.

    Raises
    ------
    PlanError
        A file that does not exist or is not TOML, an unknown key, a wrong type or value, or a
        reference to something the plan lacks (a model naming an undeclared outcome); the message
        names the key.
    """
    if source is None:
        source = DEFAULT_PLAN
    if isinstance(source, Plan):
        return source
    if isinstance(source, Mapping):
        return Plan.from_dict(source)
    if not isinstance(source, (str, Path)):
        raise TypeError(
            f"plan must be a path, a shipped plan's name, TOML text, a mapping or a Plan, not {type(source).__name__}"
        )
    text, where = None, str(source)
    if isinstance(source, str) and "\n" in source:
        text, where = source, "<string>"
    else:
        shipped = shipped_plans()
        path = shipped.get(str(source), Path(source))
        if not path.exists():
            raise PlanError(
                f"plan {str(source)!r} does not exist: give a .toml file or a shipped plan's name "
                f"({', '.join(shipped) or 'none found'}); 'famtrial plan init DATA > plan.toml' writes one"
            )
        if path.is_dir():
            raise PlanError(f"plan {str(path)!r} is a folder: give the plan's .toml file")
        if not path.is_file():  # a device (/dev/zero), a pipe or a socket: never read without limit
            raise PlanError(f"plan {str(path)!r} is not a regular file: give the plan's .toml file")
        where = str(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(_MAX_PLAN_BYTES + 1)
            if len(data) > _MAX_PLAN_BYTES:
                raise PlanError(
                    f"plan {where!r} is larger than {_MAX_PLAN_BYTES // 1024} KiB: a plan is a short TOML file; "
                    "check that this is the plan"
                )
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(f"plan {where!r} cannot be read as text: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{where}: not valid TOML ({exc})") from None
    return Plan.from_dict(raw, source=where)
