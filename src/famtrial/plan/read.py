"""Reading a plan: one reader per TOML section, then one check that the sections' references resolve.

Every reader takes its section as a :class:`famtrial._toml.Table` (errors name the key path, unknown
keys are refused) and returns the section's frozen object (:mod:`famtrial.plan.sections`); it checks
what the section alone can tell (types, choices, months, bounds). :func:`_check_references` then
checks what one section says about another (a model's outcome is an outcome of the plan, a series'
controls are declared, the inference names models of the plan, ...). :func:`read_plan` runs them in
the order of the file and returns the parts of a :class:`~famtrial.plan.spec.Plan`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, NoReturn, TypedDict, cast, get_args

from famtrial._options import (
    BootstrapWeights,
    ClusterRole,
    FigureFormat,
    Missing,
    Reference,
    Rule,
    Statistic,
    TimeAdjustment,
    TimeVariation,
    TreatmentKind,
    Unit,
)
from famtrial._toml import NAME, PLAN, REQUIRED, Table
from famtrial.errors import PlanError
from famtrial.plan._outputs import check_output_names
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

__all__ = ["PlanParts", "read_plan"]

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class PlanParts(TypedDict):
    """The sections of a plan as read: the keyword arguments of :class:`~famtrial.plan.spec.Plan`."""

    trial: TrialInfo
    data: DataSource
    roles: ColumnRoles
    nouns: UnitNouns
    arms: Arms
    treatment: Treatment
    variant_coding: Variants
    months: Months
    sample: SampleRule
    outcomes: tuple[Variable, ...]
    covariates: tuple[Variable, ...]
    balance: BalanceTables
    models: tuple[FEModel, ...]
    tables: tuple[tuple[str, str], ...]
    series: tuple[Series, ...]
    compliance: Compliance
    subgroups: Subgroups
    since_randomisation: SinceRandomisation
    inference: InferenceOptions
    output: OutputOptions


def read_plan(raw: Mapping[str, Any], source: str) -> PlanParts:
    """Validate a parsed plan document into its sections.

    Parameters
    ----------
    raw : mapping
        The parsed TOML document.
    source : str
        The file named in every message (``"<plan>"``, ``"<string>"`` or a path).

    Returns
    -------
    PlanParts
        The sections, every reference between them checked; ``tables`` lists every model's table.

    Raises
    ------
    PlanError
        An unknown key, a wrong type or value, or a reference to something the plan lacks; the
        message names the key.
    """
    top = Table(raw, "", source, PLAN)
    trial = _trial(top.sub("trial", {}))
    data = _data(top.sub("data", {}))
    roles = _columns(top.sub("columns", {}))
    nouns = _units(top.sub("units", {}))
    arms = _arms(top.sub("arms", {}))
    treatment = _treatment(top.sub("treatment", {}))
    variant_coding = _variants(top.sub("variants", {}))
    months = _months(top.sub("months", {}))
    sample = _sample(top.sub("sample", {}), nouns)
    outcomes = _variables(top.tables("outcomes"), outcome=True)
    covariates = _variables(top.tables("covariates"), outcome=False)
    balance = _balance(top.sub("balance", {}))
    tables = _tables(top.tables("tables"))
    models = _models(top.tables("models"))
    series = _series(top.tables("series"))
    compliance = _compliance(top.sub("compliance", {}))
    subgroups = _subgroups(top.sub("subgroups", {}))
    since_randomisation = _since_randomisation(top.sub("since_randomisation", {}))
    inference = _inference(top.sub("inference", {}))
    output = _output(top.sub("output", {}))
    top.done()
    parts = PlanParts(
        trial=trial,
        data=data,
        roles=roles,
        nouns=nouns,
        arms=arms,
        treatment=treatment,
        variant_coding=variant_coding,
        months=months,
        sample=sample,
        outcomes=outcomes,
        covariates=covariates,
        balance=balance,
        models=models,
        tables=_with_model_tables(tables, models),
        series=series,
        compliance=compliance,
        subgroups=subgroups,
        since_randomisation=since_randomisation,
        inference=inference,
        output=output,
    )
    _check_references(parts, source)
    _check_beyond_itt(parts, source)
    return parts


# -- one reader per section ------------------------------------------------------------------------------
def _unique(reader: Table, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """A list of names (``reader.strings``) in which no name repeats."""
    names = reader.strings(key, default)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        reader.fail(key, f"names {repeated} more than once: list each once")
    return names


def _trial(t: Table) -> TrialInfo:
    """``[trial]``: the name is required."""
    info = TrialInfo(
        name=t.get("name", str), registry=t.get("registry", str, ""), description=t.get("description", str, "")
    )
    t.done()
    return info


def _data(d: Table) -> DataSource:
    """``[data]``: the data file, the published numbers and the rule for missing values."""
    path = d.get("path", str, "")
    missing: Missing = d.get("missing", str, "error", choices=get_args(Missing))
    sep = d.get("sep", str, ",")
    if len(sep) != 1 or sep in '"\n\r':
        d.fail("sep", f'= {sep!r} must be one character, e.g. ";" or "\\t" (tab)')
    data = DataSource(missing=missing, path=path, published=d.get("published", str, ""), sep=sep)
    d.done()
    return data


def _columns(c: Table) -> ColumnRoles:
    """``[columns]``: the role columns (an empty variant or start column means none)."""
    defaults = ColumnRoles()
    roles = ColumnRoles(
        parent=c.get("parent", str, defaults.parent),
        family=c.get("family", str, defaults.family),
        office=c.get("office", str, defaults.office),
        month=c.get("month", str, defaults.month),
        arm=c.get("arm", str, defaults.arm),
        variant=c.get("variant", str, "") or None,
        start=c.get("start", str, "") or None,
        take_up=c.get("take_up", str, "") or None,
        entry=c.get("entry", str, "") or None,
    )
    c.done()
    return roles


def _units(u: Table) -> UnitNouns:
    """``[units]``: each noun defaults to its role's name."""
    nouns = UnitNouns(
        parent=u.get("parent", str, "parent"),
        family=u.get("family", str, "family"),
        office=u.get("office", str, "office"),
    )
    for key in ("parent", "family", "office"):
        noun = getattr(nouns, key)
        if not noun.strip() or any(ord(ch) < 0x20 for ch in noun):
            u.fail(key, f"= {noun!r} must be a word (it names the {key}s in tables and messages)")
    u.done()
    return nouns


def _code(reader: Table, key: str, default: Any) -> int | str | bool:
    """An arm code: an integer, text or boolean (a float without fraction is the integer)."""
    value = reader.get(key, (int, str, bool, float), default)
    if isinstance(value, float):
        if not value.is_integer():
            reader.fail(key, f"= {value!r}: codes are integers or text")
        value = int(value)
    code: int | str | bool = value
    return code


def _plain_name(reader: Table, key: str, default: str) -> str:
    """A name for machine-readable outputs: letters, digits and underscores, starting with a letter."""
    value: str = reader.get(key, str, default)
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", value):
        reader.fail(key, f"= {value!r} must be a plain name (letters, digits, underscores), e.g. {default!r}")
    return value


def _arms(a: Table) -> Arms:
    """``[arms]``: two different codes and their labels."""
    offered, control = _code(a, "offered", 1), _code(a, "control", 0)
    if offered == control:
        a.fail("offered", f"and arms.control are both {offered!r}: the arms need different codes")
    arms = Arms(
        offered=offered,
        control=control,
        offered_label=a.get("offered_label", str, "Offered"),
        control_label=a.get("control_label", str, "Control"),
        offered_key=_plain_name(a, "offered_key", "offered"),
        control_key=_plain_name(a, "control_key", "control"),
    )
    if arms.offered_key == arms.control_key:
        a.fail("offered_key", f"and arms.control_key are both {arms.offered_key!r}: give the arms different keys")
    a.done()
    return arms


def _treatment(t: Table) -> Treatment:
    """``[treatment]``: the term prefix is a plain name."""
    name = t.get("name", str, "treat")
    if not NAME.match(name):
        t.fail("name", f"= {name!r} must be a plain name (letters, digits, underscores)")
    treatment = Treatment(
        name=name, label=t.get("label", str, "Treatment (pooled)"), description=t.get("description", str, "the offer")
    )
    t.done()
    return treatment


def _variants(v: Table) -> Variants:
    """``[variants]``: the control's name and codes, and the levels; no code means two variants."""
    control = v.get("control", str, "control")
    control_codes = tuple(v.get("control_codes", list, []))
    bad = [c for c in control_codes if isinstance(c, bool) or not isinstance(c, (int, str))]
    if bad:
        v.fail("control_codes", f"must list integers or text; {bad!r} are not")
    levels = tuple(_level(name, r) for name, r in v.tables("levels").items())
    v.done()
    if control in [level.name for level in levels]:
        v.fail("control", f"= {control!r} is also a variant level: name the control differently")
    seen: dict[str, str] = {}
    for level in levels:
        for c in (level.name, *level.codes):
            k = str(c).strip().lower()
            if k in seen and seen[k] != level.name:
                raise PlanError(f"{v.source}: variants.levels.{level.name}.codes: code {c!r} also means {seen[k]!r}")
            seen[k] = level.name
    return Variants(control=control, control_codes=control_codes, levels=levels)


def _level(name: str, r: Table) -> Variant:
    """``[variants.levels.<name>]``: its label and the codes (integers or text) that mean it."""
    codes = tuple(r.get("codes", list, []))
    bad = [c for c in codes if isinstance(c, bool) or not isinstance(c, (int, str))]
    if bad:
        r.fail("codes", f"must list integers or text; {bad!r} are not")
    level = Variant(name=name, label=r.get("label", str, name), codes=codes)
    r.done()
    return level


def _month(reader: Table, key: str, default: Any = REQUIRED) -> str | None:
    """A ``YYYY-MM`` month (``None`` when empty)."""
    value = reader.get(key, str, default)
    if value is None or value == "":
        return None
    if not _MONTH.match(value):
        reader.fail(key, f"= {value!r} is not a month: write 'YYYY-MM'")
    if not 1900 <= int(value[:4]) <= 2969:
        reader.fail(key, f"= {value!r} lies outside 1900-01 .. 2969-12 (the months a panel may hold)")
    month: str = value
    return month


def _months(m: Table) -> Months:
    """``[months]``: implementation (required) and baseline months, inside the window first .. last."""
    implementation = _month(m, "implementation")
    baseline = _month(m, "baseline", implementation)
    first, last = _month(m, "first", None), _month(m, "last", None)
    m.done()
    if implementation is None or baseline is None:
        m.fail(
            "implementation" if implementation is None else "baseline", "= '' is empty: write the month as 'YYYY-MM'"
        )
    if first and last and first > last:
        m.fail("first", f"= {first!r} is after months.last = {last!r}")
    for key, value in (("implementation", implementation), ("baseline", baseline)):
        if (first and value < first) or (last and value > last):
            m.fail(key, f"= {value!r} lies outside months.first .. months.last ({first or '...'} .. {last or '...'})")
    return Months(implementation=implementation, baseline=baseline, first=first, last=last)


def _fraction_text(value: float | str) -> str:
    """A threshold as text: as given, or a fraction with a denominator up to 1000 that equals it."""
    if isinstance(value, str):
        return value
    frac = Fraction(value).limit_denominator(1000)
    return f"{frac.numerator}/{frac.denominator}" if abs(float(frac) - value) < 1e-12 else repr(value)


def _threshold(reader: Table) -> float | None:
    """``sample.threshold``: a number or a fraction ``"1/3"`` strictly between 0 and 1 (``None``: not given)."""
    value = reader.get("threshold", (str, float, int), None)
    if value is None:
        return None
    try:
        number: float | None = float(Fraction(value)) if isinstance(value, str) else float(value)
    except (ValueError, ZeroDivisionError):
        number = None
    if number is None:
        reader.fail("threshold", f"= {value!r} is not a number or a fraction like '1/3'")
    if not 0 < number < 1:
        reader.fail("threshold", f"= {value!r} must lie strictly between 0 and 1")
    return number


def _sample(s: Table, nouns: UnitNouns) -> SampleRule:
    """``[sample]``: the exclusion rule (no threshold without a rule), its table and the flow figure."""
    rule: Rule = s.get("rule", str, "control_share", choices=get_args(Rule))
    threshold = _threshold(s)
    if rule == "none" and threshold is not None:
        s.fail("threshold", "is set but sample.rule = 'none': drop the threshold or set the rule")
    text = _fraction_text(s.raw.get("threshold", "1/3"))
    unit: Unit = s.get("unit", str, "family", choices=get_args(Unit))
    sample = SampleRule(
        rule=rule,
        threshold=threshold if threshold is not None else 1 / 3,
        unit=unit,
        table=s.get("table", str, "sample"),
        title=s.get("title", str, f"{nouns.parent.capitalize()}s per {nouns.office} by arm"),
        figure=s.get("figure", str, "flow"),
        threshold_text=text,
    )
    s.done()
    return sample


def _variables(tables: Mapping[str, Table], *, outcome: bool) -> tuple[Variable, ...]:
    """``[outcomes.<key>]`` (column, label, description) or ``[covariates.<key>]`` (column, label, time)."""
    out = []
    for key, r in tables.items():
        column, label = r.get("column", str, key), r.get("label", str, key)
        if outcome:
            variable = Variable(key, column, label, description=r.get("description", str, label.lower()))
        else:
            variable = Variable(key, column, label, time=r.get("time", str, "varying", choices=get_args(TimeVariation)))
        r.done()
        out.append(variable)
    return tuple(out)


def _balance(b: Table) -> BalanceTables:
    """``[balance]``: the baseline and correlation tables and the baseline table's rows."""
    table, title = b.get("table", str, "balance"), b.get("title", str, "Characteristics at baseline by arm")
    variables = _unique(b, "variables")
    balance = BalanceTables(
        table=table,
        title=title,
        correlations_table=b.get("correlations_table", str, "correlations"),
        correlations_title=b.get("correlations_title", str, "Pairwise correlations at baseline"),
        variables=variables,
    )
    b.done()
    return balance


def _tables(tables: Mapping[str, Table]) -> tuple[tuple[str, str], ...]:
    """``[tables.<name>]``: each model table's title."""
    out = []
    for name, r in tables.items():
        out.append((name, r.get("title", str, "")))
        r.done()
    return tuple(out)


def _models(tables: Mapping[str, Table]) -> tuple[FEModel, ...]:
    """``[models.<name>]``: the fixed-effects logits."""
    out = []
    for name, r in tables.items():
        outcome = r.get("outcome", str)
        treatment: TreatmentKind = r.get("treatment", str, "pooled", choices=get_args(TreatmentKind))
        covariates = _unique(r, "covariates")
        table = r.get("table", str, "effects")
        time: TimeAdjustment = r.get("time", str, "linear", choices=get_args(TimeAdjustment))
        cluster: ClusterRole = r.get("cluster", str, "office", choices=get_args(ClusterRole))
        reference = _month(r, "reference", None)
        label = r.get("label", str, "")
        out.append(FEModel(name, outcome, treatment, covariates, time, cluster, table, reference, label))
        r.done()
    return tuple(out)


def _with_model_tables(tables: tuple[tuple[str, str], ...], models: Iterable[FEModel]) -> tuple[tuple[str, str], ...]:
    """The titled tables, then every other table a model names (untitled), in the models' order."""
    out = dict(tables)
    for m in models:
        out.setdefault(m.table, "")
    return tuple(out.items())


def _series(tables: Mapping[str, Table]) -> tuple[Series, ...]:
    """``[series.<name>]``: the monthly series (outcome default: the name; figure: ``monthly_<name>``)."""
    out = []
    for name, r in tables.items():
        series = Series(
            name=name,
            outcome=r.get("outcome", str, name),
            controls=_unique(r, "controls"),
            own_baseline=r.get("own_baseline", bool, True),
            office_effects=r.get("office_effects", bool, False),
            figure=r.get("figure", str, f"monthly_{name}"),
            title=r.get("title", str, ""),
        )
        r.done()
        out.append(series)
    return tuple(out)


def _inference(i: Table) -> InferenceOptions:
    """``[inference]``: the models, the draws (199 and 9999 by default), the seed, the bootstrap weights, the statistic."""
    models = _unique(i, "models")
    draws = i.get("randomization_draws", int, 199)
    if draws < 1:
        i.fail("randomization_draws", f"= {draws} must be at least 1 (999 or more for publication)")
    band_draws = i.get("band_draws", int, 9999)
    if band_draws < 99:
        i.fail("band_draws", f"= {band_draws} must be at least 99")
    seed = i.get("seed", int, 12345)
    if seed < 0:
        i.fail("seed", f"= {seed} must be a whole number, 0 or more (numpy's seeds)")
    weights: BootstrapWeights = i.get("bootstrap_weights", str, "rademacher", choices=get_args(BootstrapWeights))
    reference: Reference = i.get("reference", str, "normal", choices=get_args(Reference))
    few = i.get("few_clusters", int, 10)
    if few < 2:
        i.fail("few_clusters", f"= {few} must be at least 2 (the caution shows when G is below it)")
    statistic: Statistic = i.get("statistic", str, "score", choices=get_args(Statistic))
    i.done()
    return InferenceOptions(
        models=models,
        randomization_draws=draws,
        band_draws=band_draws,
        seed=seed,
        bootstrap_weights=weights,
        few_clusters=few,
        reference=reference,
        statistic=statistic,
    )


def _output(o: Table) -> OutputOptions:
    """``[output]``: one or more figure formats, 0 to 6 digits, the leading zero."""
    formats = _unique(o, "formats", ("png",))
    allowed = get_args(FigureFormat)
    if not formats or any(f not in allowed for f in formats):
        o.fail("formats", f"= {list(formats)}: give one or more of {list(allowed)}")
    digits = o.get("digits", int, 2)
    if not 0 <= digits <= 6:
        o.fail("digits", f"= {digits} must be between 0 and 6")
    leading_zero = o.get("leading_zero", bool, True)
    output = OutputOptions(formats=cast(tuple[FigureFormat, ...], formats), digits=digits, leading_zero=leading_zero)
    o.done()
    return output


def _compliance(c: Table) -> Compliance:
    """``[compliance]``: the models the CACE uses and its table."""
    defaults = Compliance()
    out = Compliance(models=c.strings("models", ()), table=c.get("table", str, defaults.table))
    c.done()
    return out


def _subgroups(s: Table) -> Subgroups:
    """``[subgroups]``: the pre-specified subgroup variables, the models, the test's reference, table and figure."""
    defaults = Subgroups()
    variables = s.strings("variables", ())
    repeated = sorted({v for v in variables if variables.count(v) > 1})
    if repeated:
        s.fail("variables", f"names {repeated} more than once: list each subgroup variable once")
    reference: Reference = s.get("reference", str, defaults.reference, choices=get_args(Reference))
    out = Subgroups(
        variables=variables,
        models=s.strings("models", ()),
        reference=reference,
        table=s.get("table", str, defaults.table),
        figure=s.get("figure", str, defaults.figure),
    )
    s.done()
    return out


def _since_randomisation(r: Table) -> SinceRandomisation:
    """``[since_randomisation]``: increasing integer bin edges from 0, the models, table and figure."""
    defaults = SinceRandomisation()
    bins = r.get("bins", list, list(defaults.bins))
    if not bins or any(isinstance(b, bool) or not isinstance(b, int) for b in bins):
        r.fail("bins", f"= {bins!r}: give the bins' lower edges as whole months, e.g. [0, 6, 12]")
    if bins[0] != 0 or any(later <= earlier for earlier, later in zip(bins, bins[1:], strict=False)):
        r.fail("bins", f"= {bins!r} must start at 0 and increase (lower edges in months since randomisation)")
    out = SinceRandomisation(
        bins=tuple(bins),
        models=r.strings("models", ()),
        table=r.get("table", str, defaults.table),
        figure=r.get("figure", str, defaults.figure),
    )
    r.done()
    return out


# -- what one section says about another --------------------------------------------------------------------
def _refuse(source: str, path: str, problem: str) -> NoReturn:
    """A :class:`PlanError` naming the key ``path``, worded as the section readers' errors."""
    Table({}, "", source, PLAN).fail(path, problem)


def _check_references(parts: PlanParts, source: str) -> None:
    """Every name one section gives another section resolves, and no column or table name is used twice.

    Checked in the order of the file: variant levels need the variant column; outcome and covariate
    keys differ and each data column plays one role; the balance rows, the models' outcomes,
    treatments and covariates, the series' outcomes and controls and the inference's models are
    declared; the sample, balance, correlation and model tables have different names.
    """
    levels = parts["variant_coding"].levels
    if levels and parts["roles"].variant is None:
        raise PlanError(
            f"{source}: [variants] lists levels {[v.name for v in levels]} but columns.variant is "
            "not set: name the data column that holds the variant"
        )
    _check_columns(parts, source)
    known = {v.key for v in (*parts["covariates"], *parts["outcomes"])}
    unknown = [v for v in parts["balance"].variables if v not in known]
    if unknown:
        _refuse(
            source, "balance.variables", f"names {unknown}, which the plan does not declare; declared: {sorted(known)}"
        )
    for model in parts["models"]:
        _check_model(model, parts, source)
    balance = parts["balance"]
    fixed = {parts["sample"].table, balance.table, balance.correlations_table}
    clash = sorted(fixed & {m.table for m in parts["models"]})
    if clash or len(fixed) < 3:
        raise PlanError(
            f"{source}: table names must differ: sample.table, balance.table, "
            f"balance.correlations_table and the model tables share {clash or 'a name'}"
        )
    for series in parts["series"]:
        _check_series(series, parts, source)
    names = [m.name for m in parts["models"]]
    unknown = [m for m in parts["inference"].models if m not in names]
    if unknown:
        _refuse(source, "inference.models", f"names {unknown}, which are not models of the plan; models: {names}")
    check_output_names(parts, source)


def _check_columns(parts: PlanParts, source: str) -> None:
    """Outcome and covariate keys differ; each data column plays one role."""
    variables = (*parts["covariates"], *parts["outcomes"])
    keys = [v.key for v in variables]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise PlanError(f"{source}: {dup} are declared both as outcome and covariate")
    roles = parts["roles"]
    used = [
        *(roles.parent, roles.family, roles.office, roles.month, roles.arm),
        *(c for c in (roles.variant, roles.start, roles.take_up, roles.entry) if c),
        *(v.column for v in variables),
    ]
    dup = sorted({c for c in used if used.count(c) > 1})
    if dup:
        raise PlanError(f"{source}: data column(s) {dup} are given more than one role: each column plays one role")


def _outcome_of_the_plan(outcome: str, parts: PlanParts, source: str, path: str) -> None:
    outcomes = {v.key for v in parts["outcomes"]}
    if outcome not in outcomes:
        _refuse(source, path, f"= {outcome!r} is not an outcome of the plan; outcomes: {sorted(outcomes)}")


def _check_model(model: FEModel, parts: PlanParts, source: str) -> None:
    """A model's outcome is an outcome, a variants treatment has variants, its covariates are time-varying covariates."""
    where = f"models.{model.name}"
    _outcome_of_the_plan(model.outcome, parts, source, f"{where}.outcome")
    if model.treatment == "variants" and not parts["variant_coding"].levels:
        _refuse(source, f"{where}.treatment", "= 'variants' needs [variants.levels.<name>] tables (the plan has none)")
    _check_dynamic(model, parts, source)
    covariates = {v.key: v for v in parts["covariates"]}
    unknown = [c for c in model.covariates if c not in covariates]
    if unknown:
        _refuse(
            source,
            f"{where}.covariates",
            f"names {unknown}, which are not covariates of the plan; covariates: {sorted(covariates)}",
        )
    invariant = [c for c in model.covariates if covariates[c].time == "invariant"]
    if invariant:
        _refuse(
            source,
            f"{where}.covariates",
            f"names time-invariant covariate(s) {invariant}: they are constant within "
            "a parent and drop out of a fixed-effects model; leave them out",
        )


def _check_dynamic(model: FEModel, parts: PlanParts, source: str) -> None:
    """A dynamic (event-study) model has month effects, one start month and a reference inside the window."""
    where = f"models.{model.name}"
    if model.treatment != "dynamic":
        if model.reference is not None:
            _refuse(source, f"{where}.reference", "is the omitted month of a dynamic model: set treatment = 'dynamic'")
        return
    if model.time != "months":
        _refuse(source, f"{where}.time", f"= {model.time!r}: a dynamic model (treatment = 'dynamic') needs 'months'")
    if parts["roles"].start is not None:
        _refuse(
            source,
            f"{where}.treatment",
            "= 'dynamic' takes the plan's one implementation month; with per-parent start months "
            f"(columns.start = {parts['roles'].start!r}) the periods differ by parent, which this model does not do",
        )
    if model.name in parts["inference"].models:
        _refuse(
            source, "inference.models", f"names the dynamic model {model.name!r}; few-cluster inference is for one term"
        )
    first, last = parts["months"].first, parts["months"].last
    ref = model.reference
    if ref is not None and ((first is not None and ref < first) or (last is not None and ref > last)):
        _refuse(source, f"{where}.reference", f"= {ref!r} is outside the months {first} .. {last}")


def _check_series(series: Series, parts: PlanParts, source: str) -> None:
    """A series' outcome is an outcome of the plan and its controls are declared."""
    _outcome_of_the_plan(series.outcome, parts, source, f"series.{series.name}.outcome")
    known = {v.key for v in (*parts["covariates"], *parts["outcomes"])}
    unknown = [c for c in series.controls if c not in known]
    if unknown:
        _refuse(
            source,
            f"series.{series.name}.controls",
            f"names {unknown}, which the plan does not declare; declared: {sorted(known)}",
        )


def _check_beyond_itt(parts: PlanParts, source: str) -> None:
    """``[compliance]``, ``[subgroups]`` and ``[since_randomisation]`` name models and covariates of the plan.

    A non-default ``[compliance]`` needs ``columns.take_up``; a non-default ``[since_randomisation]``
    needs ``columns.entry``; subgroup variables are covariates of the plan; every section's models
    are models of the plan with a pooled treatment.
    """
    roles = parts["roles"]
    if parts["compliance"] != Compliance() and roles.take_up is None:
        _refuse(source, "compliance", "is set but columns.take_up is not: name the data column of take-up")
    if parts["since_randomisation"] != SinceRandomisation() and roles.entry is None:
        _refuse(
            source, "since_randomisation", "is set but columns.entry is not: name the data column of the entry month"
        )
    covariates = [v.key for v in parts["covariates"]]
    unknown = [v for v in parts["subgroups"].variables if v not in covariates]
    if unknown:
        _refuse(
            source,
            "subgroups.variables",
            f"names {unknown}, which are not covariates of the plan; covariates: {covariates}",
        )
    models = {m.name: m for m in parts["models"]}
    for key in ("compliance", "subgroups", "since_randomisation"):
        section: Compliance | Subgroups | SinceRandomisation = parts[key]  # type: ignore[literal-required]
        unknown = [m for m in section.models if m not in models]
        if unknown:
            _refuse(
                source, f"{key}.models", f"names {unknown}, which are not models of the plan; models: {list(models)}"
            )
        split = [m for m in section.models if models[m].split]
        if split:
            _refuse(
                source,
                f"{key}.models",
                f"names {split}, whose treatment is 'variants': name models with a pooled treatment",
            )
