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

``Plan.to_toml()`` writes a plan back; ``load_plan(Plan.to_toml())`` gives an equal plan.
:func:`scaffold` guesses a commented plan from a data file (``famtrial plan init DATA``).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, get_args

from famtrial._options import (
    BootstrapWeights,
    ClusterRole,
    FigureFormat,
    Missing,
    Role,
    Rule,
    TimeAdjustment,
    TimeVariation,
    TreatmentKind,
    Unit,
)
from famtrial._paths import data_dir, plans_dir
from famtrial._text import plural
from famtrial.errors import PlanError

__all__ = ["Plan", "Columns", "load_plan", "shipped_plans", "Variable", "Variant", "FEModel", "Series", "DEFAULT_PLAN"]


Cluster = ClusterRole


_TIME = get_args(TimeAdjustment)
_TREATMENT = get_args(TreatmentKind)
_CLUSTER = get_args(ClusterRole)
_UNITS = get_args(Unit)
_RULES = get_args(Rule)
_FORMATS = get_args(FigureFormat)
_WEIGHTS = get_args(BootstrapWeights)
_MISSING = get_args(Missing)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHIPPED_PREFIX = "famtrial:"


#: The shipped plan used when none is given: the family-coordinator trial (the package's first example).
DEFAULT_PLAN = "nct03102775"


# -- reading helpers: every error names the key path -------------------------------------------------
class _Reader:
    """Typed access to one TOML table; unknown keys and wrong types raise PlanError naming the path."""

    def __init__(self, raw: Any, path: str, source: str):
        if not isinstance(raw, Mapping):
            raise PlanError(f"{source}: [{path}] must be a table (key = value lines), not {type(raw).__name__}")
        self.raw, self.path, self.source = dict(raw), path, source
        self.used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.path}.{key}" if self.path else f"{self.source}: {key}"

    def fail(self, key: str, problem: str) -> PlanError:
        return PlanError(f"{self.where(key)} {problem}")

    def get(
        self, key: str, kind: type | tuple[type, ...], default: Any = ..., *, choices: Sequence[Any] | None = None
    ) -> Any:
        self.used.add(key)
        if key not in self.raw:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.raw[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            raise self.fail(key, f"must be {' or '.join(k.__name__ for k in kinds)}, not a boolean")
        if not isinstance(value, kinds):
            raise self.fail(
                key, f"must be {' or '.join(k.__name__ for k in kinds)}, not {type(value).__name__} ({value!r})"
            )
        if choices is not None and value not in choices:
            raise self.fail(key, f"= {value!r} is not one of {list(choices)}")
        return value

    def strings(self, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self.get(key, list, list(default))
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise self.fail(key, f"must be a list of names (strings); {bad!r} are not")
        return tuple(value)

    def table(self, key: str, default: Mapping[str, Any] | None = None) -> _Reader:
        self.used.add(key)
        raw = self.raw.get(key, default if default is not None else {})
        return _Reader(raw, f"{self.path}.{key}" if self.path else key, self.source)

    def tables(self, key: str) -> dict[str, _Reader]:
        outer = self.table(key)
        out = {}
        for name, raw in outer.raw.items():
            if not _NAME.match(name):
                raise outer.fail(
                    name, "is not a usable name: use letters, digits and underscores, not starting with a digit"
                )
            out[name] = _Reader(raw, f"{outer.path}.{name}", self.source)
        outer.used.update(out)
        return out

    def done(self) -> None:
        unknown = [k for k in self.raw if k not in self.used]
        if unknown:
            known = ", ".join(sorted(self.used)) or "(none)"
            where = f"[{self.path}]" if self.path else "the top level"
            raise PlanError(f"{self.source}: unknown key(s) {unknown} in {where}; known keys there: {known}")


def _month(reader: _Reader, key: str, default: Any = ...) -> str | None:
    value = reader.get(key, str, default)
    if value is None or value == "":
        return None
    if not _MONTH.match(value):
        raise reader.fail(key, f"= {value!r} is not a month: write 'YYYY-MM'")
    month: str = value
    return month


def _fraction_text(value: float | str) -> str:
    if isinstance(value, str):
        return value
    frac = Fraction(value).limit_denominator(1000)
    return f"{frac.numerator}/{frac.denominator}" if abs(float(frac) - value) < 1e-12 else repr(value)


def _threshold(reader: _Reader) -> float | None:
    value = reader.get("threshold", (str, float, int), None)
    if value is None:
        return None
    try:
        number = float(Fraction(value)) if isinstance(value, str) else float(value)
    except (ValueError, ZeroDivisionError):
        raise reader.fail("threshold", f"= {value!r} is not a number or a fraction like '1/3'") from None
    if not 0 < number < 1:
        raise reader.fail("threshold", f"= {value!r} must lie strictly between 0 and 1")
    return number


def _code(reader: _Reader, key: str, default: Any) -> int | str | bool:
    value = reader.get(key, (int, str, bool, float), default)
    if isinstance(value, float):
        if not value.is_integer():
            raise reader.fail(key, f"= {value!r}: codes are integers or text")
        value = int(value)
    code: int | str | bool = value
    return code


# -- the parts of a plan ---------------------------------------------------------------------------
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

    def __post_init__(self) -> None:
        for name in ("parent", "family", "office", "month", "arm", "model", "start"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value.strip()) and not (value is None and name in ("model", "start")):
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
        return cols + [c for c in (self.model, self.start) if c is not None]


@dataclass(frozen=True)
class Variable:
    """An outcome or covariate: its key in the plan, its data column, label and (outcomes) description."""

    key: str
    column: str
    label: str
    description: str = ""
    time: TimeVariation = "varying"


@dataclass(frozen=True)
class Variant:
    """A coordinated-model variant of the offer: name (term suffix), label, and the codes that mean it."""

    name: str
    label: str
    codes: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class FEModel:
    """One fixed-effects (conditional) logit of the plan: ``clogit outcome treatment covariates time, group(parent)``."""

    name: str
    outcome: str
    treatment: TreatmentKind = "pooled"
    covariates: tuple[str, ...] = ()
    time: TimeAdjustment = "linear"
    cluster: Cluster = "office"
    table: str = ""

    @property
    def split(self) -> bool:
        """One treatment term per variant rather than one pooled term."""
        return self.treatment == "variants"


@dataclass(frozen=True)
class Series:
    """A monthly series: one cross-sectional logit of ``outcome`` on the offer per month after implementation."""

    name: str
    outcome: str
    controls: tuple[str, ...] = ()
    own_baseline: bool = True
    office_effects: bool = False
    figure: str = ""
    title: str = ""


@dataclass(frozen=True)
class Plan:
    """A trial's analysis plan (frozen, validated). Build with :func:`load_plan` or :meth:`from_dict`.

    Attributes mirror the TOML sections: ``trial`` (name, registry), ``columns`` roles
    (:attr:`columns` gives a :class:`~famtrial.plan.spec.Columns`), ``arms`` codes and labels,
    ``variants``, ``treatment`` naming, ``months``, the ``sample`` rule, ``outcomes`` and
    ``covariates`` (:class:`Variable`), ``balance``, ``models`` (:class:`FEModel`), ``tables``,
    ``series`` (:class:`Series`), ``inference`` and ``output``. See ``docs/plan.md``.
    """

    name: str
    registry: str = ""
    description: str = ""
    source: str = field(default="<plan>", compare=False)
    # data
    data_path: str = ""
    missing: Missing = "error"
    published: str = ""
    # roles
    parent: str = "parent_id"
    family: str = "family_id"
    office: str = "office"
    month: str = "month"
    arm: str = "arm"
    variant_column: str | None = None
    start: str | None = None
    units: tuple[str, str, str] = ("parent", "family", "office")
    # arms and variants
    offered_code: int | str | bool = 1
    control_code: int | str | bool = 0
    offered_label: str = "Offered"
    control_label: str = "Control"
    control_variant: str = "control"
    control_variant_codes: tuple[int | str, ...] = ()
    variants: tuple[Variant, ...] = ()
    treatment_name: str = "treat"
    treatment_label: str = "Treatment (pooled)"
    treatment_description: str = "the offer"
    # months
    implementation: str = ""
    baseline: str = ""
    first_month: str | None = None
    last_month: str | None = None
    # sample
    sample_rule: Rule = "control_share"
    threshold: float = 1 / 3
    threshold_text: str = "1/3"
    sample_unit: Unit = "family"
    sample_table: str = "sample"
    sample_title: str = "Participants per office by arm"
    flow_figure: str = "flow"
    # variables
    outcomes: tuple[Variable, ...] = ()
    covariates: tuple[Variable, ...] = ()
    # balance
    balance_table: str = "balance"
    balance_title: str = "Characteristics at baseline by arm"
    balance_variables: tuple[str, ...] = ()
    correlations_table: str = "correlations"
    correlations_title: str = "Pairwise correlations at baseline"
    # models, tables, series
    models: tuple[FEModel, ...] = ()
    tables: tuple[tuple[str, str], ...] = ()
    series: tuple[Series, ...] = ()
    # inference
    inference_models: tuple[str, ...] = ()
    randomization_draws: int = 199
    band_draws: int = 9999
    seed: int = 12345
    bootstrap_weights: str = "rademacher"
    # output
    formats: tuple[str, ...] = ("png",)
    digits: int = 2
    leading_zero: bool = True

    # -- lookups -----------------------------------------------------------------------------------
    @property
    def columns(self) -> Columns:
        """The column roles as :class:`famtrial.plan.spec.Columns` (data column names)."""
        return Columns(
            parent=self.parent,
            family=self.family,
            office=self.office,
            month=self.month,
            arm=self.arm,
            model=self.variant_column,
            outcomes=tuple(v.column for v in self.outcomes),
            time_varying=tuple(v.column for v in self.covariates if v.time == "varying"),
            time_invariant=tuple(v.column for v in self.covariates if v.time == "invariant"),
            start=self.start,
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
        for m in self.models:
            if m.name == name:
                return m
        raise PlanError(f"{name!r} is not a model of the plan; its models are {[m.name for m in self.models]}")

    def table_title(self, name: str) -> str:
        return dict(self.tables).get(name, "")

    def models_in(self, table: str) -> tuple[FEModel, ...]:
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
        out[self.term("pooled")] = self.treatment_label
        out.update({self.term(v.name): v.label for v in self.variants})
        return out

    def key_of(self, column: str) -> str:
        """The plan key of a variable column (the column itself when it is no variable)."""
        return next((v.key for v in self.variables if v.column == column), column)

    def term(self, variant: str) -> str:
        """Treatment term name: ``<treatment>_pooled`` or ``<treatment>_<variant>``."""
        return f"{self.treatment_name}_{variant}"

    @property
    def treatment_terms(self) -> tuple[str, ...]:
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
        if not self.data_path:
            return None
        if self.data_path.startswith(_SHIPPED_PREFIX):
            return data_dir() / self.data_path[len(_SHIPPED_PREFIX) :]
        path = Path(self.data_path)
        if not path.is_absolute() and self.source not in ("<plan>", "<string>"):
            path = Path(self.source).parent / path
        return path

    def resolve_published(self) -> Path | None:
        """The published-number spec the plan's results are verified against, if any."""
        if not self.published:
            return None
        if self.published.startswith(_SHIPPED_PREFIX):
            return data_dir() / self.published[len(_SHIPPED_PREFIX) :]
        path = Path(self.published)
        return path if path.is_absolute() or self.source in ("<plan>", "<string>") else Path(self.source).parent / path

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = "<plan>") -> Plan:
        """Validate a parsed TOML document; every problem raises :class:`PlanError` naming the key."""
        top = _Reader(raw, "", source)
        trial = top.table("trial")
        name = trial.get("name", str)
        registry = trial.get("registry", str, "")
        description = trial.get("description", str, "")
        trial.done()

        data = top.table("data")
        data_path = data.get("path", str, "")
        missing = data.get("missing", str, "error", choices=_MISSING)
        published = data.get("published", str, "")
        data.done()

        cols = top.table("columns")
        roles = {
            r: cols.get(r, str, d)
            for r, d in (
                ("parent", "parent_id"),
                ("family", "family_id"),
                ("office", "office"),
                ("month", "month"),
                ("arm", "arm"),
            )
        }
        variant_column = cols.get("variant", str, "") or None
        start = cols.get("start", str, "") or None
        cols.done()

        units_r = top.table("units")
        units = tuple(units_r.get(r, str, r) for r in ("parent", "family", "office"))
        units_r.done()

        arms = top.table("arms")
        offered_code = _code(arms, "offered", 1)
        control_code = _code(arms, "control", 0)
        if offered_code == control_code:
            raise arms.fail("offered", f"and arms.control are both {offered_code!r}: the arms need different codes")
        offered_label = arms.get("offered_label", str, "Offered")
        control_label = arms.get("control_label", str, "Control")
        arms.done()

        treat = top.table("treatment")
        treatment_name = treat.get("name", str, "treat")
        if not _NAME.match(treatment_name):
            raise treat.fail("name", f"= {treatment_name!r} must be a plain name (letters, digits, underscores)")
        treatment_label = treat.get("label", str, "Treatment (pooled)")
        treatment_description = treat.get("description", str, "the offer")
        treat.done()

        var = top.table("variants")
        control_variant = var.get("control", str, "control")
        control_codes = tuple(var.get("control_codes", list, []))
        levels = []
        for vname, level in var.tables("levels").items():
            codes = tuple(level.get("codes", list, []))
            bad = [c for c in codes if isinstance(c, bool) or not isinstance(c, (int, str))]
            if bad:
                raise level.fail("codes", f"must list integers or text; {bad!r} are not")
            levels.append(Variant(name=vname, label=level.get("label", str, vname), codes=codes))
            level.done()
        var.done()
        if levels and variant_column is None:
            raise PlanError(
                f"{source}: [variants] lists levels {[v.name for v in levels]} but columns.variant is "
                "not set: name the data column that holds the variant"
            )
        if control_variant in [v.name for v in levels]:
            raise var.fail("control", f"= {control_variant!r} is also a variant level: name the control differently")
        codes_seen: dict[str, str] = {}
        for v in levels:
            for c in (v.name, *v.codes):
                k = str(c).strip().lower()
                if k in codes_seen and codes_seen[k] != v.name:
                    raise PlanError(
                        f"{source}: variants.levels.{v.name}.codes: code {c!r} also means {codes_seen[k]!r}"
                    )
                codes_seen[k] = v.name

        months = top.table("months")
        implementation = _month(months, "implementation")
        baseline = _month(months, "baseline", implementation)
        first, last = _month(months, "first", None), _month(months, "last", None)
        months.done()
        if implementation is None or baseline is None:
            raise months.fail(
                "implementation" if implementation is None else "baseline",
                "= '' is empty: write the month as 'YYYY-MM'",
            )
        if first and last and first > last:
            raise PlanError(f"{source}: months.first = {first!r} is after months.last = {last!r}")
        for key, value in (("implementation", implementation), ("baseline", baseline)):
            if (first and value < first) or (last and value > last):
                raise PlanError(
                    f"{source}: months.{key} = {value!r} lies outside months.first .. months.last "
                    f"({first or '...'} .. {last or '...'})"
                )

        sample = top.table("sample")
        rule = sample.get("rule", str, "control_share", choices=_RULES)
        threshold = _threshold(sample)
        if rule == "none" and threshold is not None:
            raise sample.fail("threshold", "is set but sample.rule = 'none': drop the threshold or set the rule")
        threshold_raw = sample.raw.get("threshold", "1/3")
        unit = sample.get("unit", str, "family", choices=_UNITS)
        sample_table = sample.get("table", str, "sample")
        sample_title = sample.get("title", str, f"{units[0].capitalize()}s per {units[2]} by arm")
        flow_figure = sample.get("figure", str, "flow")
        sample.done()

        def variables(key: str, outcome: bool) -> tuple[Variable, ...]:
            out = []
            for vkey, r in top.tables(key).items():
                out.append(
                    Variable(
                        key=vkey,
                        column=r.get("column", str, vkey),
                        label=r.get("label", str, vkey),
                        description=r.get("description", str, r.raw.get("label", vkey).lower()) if outcome else "",
                        time="varying" if outcome else r.get("time", str, "varying", choices=("varying", "invariant")),
                    )
                )
                r.done()
            return tuple(out)

        outcomes, covariates = variables("outcomes", True), variables("covariates", False)
        keys = [v.key for v in (*covariates, *outcomes)]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise PlanError(f"{source}: {dup} are declared both as outcome and covariate")
        columns_used = [
            *roles.values(),
            *([variant_column] if variant_column else []),
            *([start] if start else []),
            *(v.column for v in (*covariates, *outcomes)),
        ]
        dup = sorted({c for c in columns_used if columns_used.count(c) > 1})
        if dup:
            raise PlanError(f"{source}: data column(s) {dup} are given more than one role: each column plays one role")
        known_vars = {v.key for v in (*covariates, *outcomes)}
        outcome_keys = {v.key for v in outcomes}
        covariate_keys = {v.key for v in covariates}

        bal = top.table("balance")
        balance_table = bal.get("table", str, "balance")
        balance_title = bal.get("title", str, "Characteristics at baseline by arm")
        balance_variables = bal.strings("variables", ())
        unknown = [v for v in balance_variables if v not in known_vars]
        if unknown:
            raise bal.fail(
                "variables", f"names {unknown}, which the plan does not declare; declared: {sorted(known_vars)}"
            )
        correlations_table = bal.get("correlations_table", str, "correlations")
        correlations_title = bal.get("correlations_title", str, "Pairwise correlations at baseline")
        bal.done()

        tables_r = top.tables("tables")
        tables = []
        for tname, r in tables_r.items():
            tables.append((tname, r.get("title", str, "")))
            r.done()

        models = []
        for mname, r in top.tables("models").items():
            outcome = r.get("outcome", str)
            if outcome not in outcome_keys:
                raise r.fail(
                    "outcome", f"= {outcome!r} is not an outcome of the plan; outcomes: {sorted(outcome_keys)}"
                )
            treatment = r.get("treatment", str, "pooled", choices=_TREATMENT)
            if treatment == "variants" and not levels:
                raise r.fail("treatment", "= 'variants' needs [variants.levels.<name>] tables (the plan has none)")
            covs = r.strings("covariates", ())
            unknown = [c for c in covs if c not in covariate_keys]
            if unknown:
                raise r.fail(
                    "covariates",
                    f"names {unknown}, which are not covariates of the plan; covariates: {sorted(covariate_keys)}",
                )
            invariant = [c for c in covs if next(v for v in covariates if v.key == c).time == "invariant"]
            if invariant:
                raise r.fail(
                    "covariates",
                    f"names time-invariant covariate(s) {invariant}: they are constant within "
                    "a parent and drop out of a fixed-effects model; leave them out",
                )
            table = r.get("table", str, "effects")
            models.append(
                FEModel(
                    name=mname,
                    outcome=outcome,
                    treatment=treatment,
                    covariates=covs,
                    time=r.get("time", str, "linear", choices=_TIME),
                    cluster=r.get("cluster", str, "office", choices=_CLUSTER),
                    table=table,
                )
            )
            r.done()
        table_names = {t for t, _ in tables}
        for m in models:
            if m.table not in table_names:
                tables.append((m.table, ""))
                table_names.add(m.table)
        fixed_names = {sample_table, balance_table, correlations_table}
        clash = sorted(fixed_names & {m.table for m in models})
        if clash or len(fixed_names) < 3:
            raise PlanError(
                f"{source}: table names must differ: sample.table, balance.table, "
                f"balance.correlations_table and the model tables share {clash or 'a name'}"
            )

        series = []
        for sname, r in top.tables("series").items():
            outcome = r.get("outcome", str, sname)
            if outcome not in outcome_keys:
                raise r.fail(
                    "outcome", f"= {outcome!r} is not an outcome of the plan; outcomes: {sorted(outcome_keys)}"
                )
            controls = r.strings("controls", ())
            unknown = [c for c in controls if c not in known_vars]
            if unknown:
                raise r.fail(
                    "controls", f"names {unknown}, which the plan does not declare; declared: {sorted(known_vars)}"
                )
            series.append(
                Series(
                    name=sname,
                    outcome=outcome,
                    controls=controls,
                    own_baseline=r.get("own_baseline", bool, True),
                    office_effects=r.get("office_effects", bool, False),
                    figure=r.get("figure", str, f"monthly_{sname}"),
                    title=r.get("title", str, ""),
                )
            )
            r.done()

        inf = top.table("inference")
        inference_models = inf.strings("models", ())
        unknown = [m for m in inference_models if m not in {m.name for m in models}]
        if unknown:
            raise inf.fail(
                "models", f"names {unknown}, which are not models of the plan; models: {[m.name for m in models]}"
            )
        draws = inf.get("randomization_draws", int, 199)
        if draws < 1:
            raise inf.fail("randomization_draws", f"= {draws} must be at least 1 (999 or more for publication)")
        band_draws = inf.get("band_draws", int, 9999)
        if band_draws < 99:
            raise inf.fail("band_draws", f"= {band_draws} must be at least 99")
        seed = inf.get("seed", int, 12345)
        weights = inf.get("bootstrap_weights", str, "rademacher", choices=_WEIGHTS)
        inf.done()

        out = top.table("output")
        formats = out.strings("formats", ("png",))
        bad = [f for f in formats if f not in _FORMATS]
        if bad or not formats:
            raise out.fail("formats", f"= {list(formats)}: give one or more of {list(_FORMATS)}")
        digits = out.get("digits", int, 2)
        if not 0 <= digits <= 6:
            raise out.fail("digits", f"= {digits} must be between 0 and 6")
        leading_zero = out.get("leading_zero", bool, True)
        out.done()
        top.done()

        return cls(
            name=name,
            registry=registry,
            description=description,
            source=source,
            data_path=data_path,
            missing=missing,
            published=published,
            **roles,
            variant_column=variant_column,
            start=start,
            units=units,
            offered_code=offered_code,
            control_code=control_code,
            offered_label=offered_label,
            control_label=control_label,
            control_variant=control_variant,
            control_variant_codes=control_codes,
            variants=tuple(levels),
            treatment_name=treatment_name,
            treatment_label=treatment_label,
            treatment_description=treatment_description,
            implementation=implementation,
            baseline=baseline,
            first_month=first,
            last_month=last,
            sample_rule=rule,
            threshold=threshold if threshold is not None else 1 / 3,
            threshold_text=_fraction_text(threshold_raw),
            sample_unit=unit,
            sample_table=sample_table,
            sample_title=sample_title,
            flow_figure=flow_figure,
            outcomes=outcomes,
            covariates=covariates,
            balance_table=balance_table,
            balance_title=balance_title,
            balance_variables=balance_variables,
            correlations_table=correlations_table,
            correlations_title=correlations_title,
            models=tuple(models),
            tables=tuple(tables),
            series=tuple(series),
            inference_models=inference_models,
            randomization_draws=draws,
            band_draws=band_draws,
            seed=seed,
            bootstrap_weights=weights,
            formats=formats,
            digits=digits,
            leading_zero=leading_zero,
        )

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
                "levels": {_term_safe(v): {"label": str(v), "codes": [v]} for v in variants},
            }
        return cls.from_dict(raw, source="<columns>")

    # -- writing -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as a TOML-shaped dict (every key written, defaults included)."""
        trial = {"name": self.name}
        if self.registry:
            trial["registry"] = self.registry
        if self.description:
            trial["description"] = self.description
        out: dict[str, Any] = {"trial": trial}
        data: dict[str, str] = {"missing": self.missing}
        if self.data_path:
            data["path"] = self.data_path
        if self.published:
            data["published"] = self.published
        out["data"] = data
        cols = {
            "parent": self.parent,
            "family": self.family,
            "office": self.office,
            "month": self.month,
            "arm": self.arm,
        }
        if self.variant_column:
            cols["variant"] = self.variant_column
        if self.start:
            cols["start"] = self.start
        out["columns"] = cols
        out["units"] = dict(zip(("parent", "family", "office"), self.units))
        out["arms"] = {
            "offered": self.offered_code,
            "control": self.control_code,
            "offered_label": self.offered_label,
            "control_label": self.control_label,
        }
        out["treatment"] = {
            "name": self.treatment_name,
            "label": self.treatment_label,
            "description": self.treatment_description,
        }
        if self.variants:
            out["variants"] = {
                "control": self.control_variant,
                "control_codes": list(self.control_variant_codes),
                "levels": {v.name: {"label": v.label, "codes": list(v.codes)} for v in self.variants},
            }
        months = {"implementation": self.implementation, "baseline": self.baseline}
        if self.first_month:
            months["first"] = self.first_month
        if self.last_month:
            months["last"] = self.last_month
        out["months"] = months
        sample: dict[str, str] = {"rule": self.sample_rule}
        if self.sample_rule != "none":
            sample.update(threshold=self.threshold_text, unit=self.sample_unit)
        sample.update(table=self.sample_table, title=self.sample_title, figure=self.flow_figure)
        out["sample"] = sample
        out["outcomes"] = {
            v.key: {"column": v.column, "label": v.label, "description": v.description} for v in self.outcomes
        }
        out["covariates"] = {v.key: {"column": v.column, "label": v.label, "time": v.time} for v in self.covariates}
        balance: dict[str, Any] = {
            "table": self.balance_table,
            "title": self.balance_title,
            "correlations_table": self.correlations_table,
            "correlations_title": self.correlations_title,
        }
        if self.balance_variables:
            balance["variables"] = list(self.balance_variables)
        out["balance"] = balance
        out["models"] = {
            m.name: {
                "outcome": m.outcome,
                "treatment": m.treatment,
                "covariates": list(m.covariates),
                "time": m.time,
                "cluster": m.cluster,
                "table": m.table,
            }
            for m in self.models
        }
        out["tables"] = {t: {"title": title} for t, title in self.tables}
        out["series"] = {
            s.name: {
                "outcome": s.outcome,
                "controls": list(s.controls),
                "own_baseline": s.own_baseline,
                "office_effects": s.office_effects,
                "figure": s.figure,
                **({"title": s.title} if s.title else {}),
            }
            for s in self.series
        }
        out["inference"] = {
            "models": list(self.inference_models),
            "randomization_draws": self.randomization_draws,
            "band_draws": self.band_draws,
            "seed": self.seed,
            "bootstrap_weights": self.bootstrap_weights,
        }
        out["output"] = {"formats": list(self.formats), "digits": self.digits, "leading_zero": self.leading_zero}
        return out

    def to_toml(self, comments: Mapping[str, str] | None = None) -> str:
        """The plan as TOML text (``load_plan`` reads it back to an equal plan).

        ``comments`` maps a dotted key (``"columns.arm"``) or a table (``"models"``) to a comment
        written above it (used by :func:`scaffold` to mark its guesses).
        """
        return _dump(self.to_dict(), comments or {})

    def describe(self) -> str:
        """What ``famtrial reproduce`` will run with this plan, in words (``famtrial plan check``)."""
        lines = [f"Plan {self.name!r}" + (f" ({self.registry})" if self.registry else "") + f" from {self.source}"]
        lines.append(
            f"roles: {self.unit('parent', 1)} {self.parent!r}, {self.unit('family', 1)} {self.family!r}, "
            f"{self.unit('office', 1)} {self.office!r}, month {self.month!r}, arm {self.arm!r} "
            f"({self.offered_code!r} = {self.offered_label}, {self.control_code!r} = {self.control_label})"
        )
        if self.variants:
            lines.append(
                f"variants in {self.variant_column!r}: "
                + ", ".join(f"{v.name} ({v.label})" for v in self.variants)
                + f"; control {self.control_variant!r}"
            )
        lines.append(
            f"months: implementation {self.implementation}, baseline {self.baseline}"
            + (
                f", window {self.first_month or '...'} .. {self.last_month or '...'}"
                if self.first_month or self.last_month
                else ""
            )
        )
        if self.sample_rule == "none":
            lines.append("sample: every office analysed (no exclusion rule)")
        else:
            lines.append(
                f"sample: an {self.unit('office', 1)} is excluded when fewer than {self.threshold_text} of "
                f"its {self.unit(self.sample_unit)} are in the control arm ({self.sample_table})"
            )
        lines.append("outcomes: " + ", ".join(f"{v.key} [{v.column}]" for v in self.outcomes))
        lines.append("covariates: " + (", ".join(f"{v.key} [{v.column}, {v.time}]" for v in self.covariates) or "none"))
        lines.append(f"balance: {self.balance_table}, {self.correlations_table}")
        for m in self.models:
            lines.append(
                f"{m.table}/{m.name}: clogit {m.outcome} on {m.treatment} treatment"
                + (f" + {', '.join(m.covariates)}" if m.covariates else "")
                + {"linear": " + linear trend", "months": " + month effects", "none": ""}[m.time]
                + f", group({self.unit('parent', 1)})"
                + (f", cluster({m.cluster})" if m.cluster != "none" else "")
            )
        for s in self.series:
            lines.append(
                f"{s.figure}: monthly logits of {s.outcome} on the offer, controls at baseline: "
                + (", ".join(s.controls) or "none")
                + ("; own baseline" if s.own_baseline else "")
                + ("; office effects" if s.office_effects else "")
            )
        if self.inference_models:
            lines.append(
                f"inference: {', '.join(self.inference_models)} with {self.randomization_draws} "
                "randomization re-draws and the wild score bootstrap"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def _term_safe(value: object) -> str:
    text = re.sub(r"[^A-Za-z0-9_]+", "_", str(value).strip().lower()).strip("_") or "v"
    return text if _NAME.match(text) else f"v_{text}"


# -- TOML writer (the plan's subset: tables, strings, numbers, booleans, flat lists) -------------------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _dump(doc: Mapping[str, Any], comments: Mapping[str, str]) -> str:
    lines: list[str] = []

    def comment(key: str) -> None:
        lines.extend(f"# {line}".rstrip() for line in comments.get(key, "").splitlines())

    def table(node: Mapping[str, Any], path: str) -> None:
        scalars = [(k, v) for k, v in node.items() if not isinstance(v, Mapping)]
        if path and (scalars or not node):
            lines.append("")
            comment(path)
            lines.append(f"[{path}]")
        elif path in comments:
            lines.append("")
            comment(path)
        for k, v in scalars:
            comment(f"{path}.{k}" if path else k)
            lines.append(f"{k} = {_value(v)}")
        for k, v in node.items():
            if isinstance(v, Mapping):
                table(v, f"{path}.{k}" if path else k)

    table(doc, "")
    return "\n".join(lines).strip("\n") + "\n"


# -- loading ---------------------------------------------------------------------------------------
def shipped_plans() -> dict[str, Path]:
    """The plans shipped with famtrial, by name (``nct03102775``: the paper; ``casework``: a second example)."""
    return {p.stem: p for p in sorted(plans_dir().glob("*.toml"))}


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
        where = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanError(f"plan {where!r} cannot be read as text: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{where}: not valid TOML ({exc})") from None
    return Plan.from_dict(raw, source=where)
