"""Simulate a randomized trial's monthly panel from a declarative design (a TOML file).

Independent of the paper's calibrated replica (:mod:`famtrial.simulation.replica`): nothing here is a
paper constant. Every column name and every value code comes from the design, so a simulated
panel can look like any trial's registry extract.

The data-generating process, per parent ``i`` in family ``f``, office ``o`` and month ``t``::

    offices      groups of offices; per office: families ~ U{lo..hi}, control share ~ U(lo, hi)
    randomize    ``randomize = "family"`` (default): within each office, round(share * families)
                 families drawn to control (complete randomization by family within office);
                 ``"office"``: cluster randomization, round(mean share * offices) whole offices
                 drawn to control (the mean of the offices' drawn shares); 1 or 2 parents per family
    variant      one coordinated variant per office (balanced over offices, random order)
    covariates   time-invariant: binary (p) or integer (normal mean/sd, rounded, clipped);
                 time-varying: binary Markov chain (p at baseline, on/off switch probabilities)
                 or counts (Poisson at baseline, +1/-1 steps), walked from the baseline month
                 forwards and backwards with the same probabilities (both chains are reversible:
                 at stationarity the backward chain has the forward chain's law)
    outcome      logit P(y_it = 1) = a_i + u_o + trend * t + sum_k b_k (x_itk - c_k)
                                      + treat_it * (tau_v(o) + d_o)
                 a_i = mean + sd * (sqrt(rho) z_f + sqrt(1 - rho) z_i)   parent intercepts
                 u_o ~ N(0, office_intercept_sd^2),  d_o ~ N(0, office_effect_sd^2)
                 treat_it = 1[offered] * 1[month >= implementation]
                 c_k = the covariate's ``mean`` for integer covariates, 0 otherwise
    gaps         a share of parents miss 1..gap_max_months months (never the baseline month)
    compliance   optional ([compliance]): an offered family accepts with probability ``take_up``
                 (one-sided: controls never receive the offer) and only accepting families get
                 the effect, ``treat_it = 1[offered] 1[accepted] 1[month >= entry]``; each family
                 enters (is randomised) in a month drawn uniformly from ``entry_months`` months
                 starting at implementation (1: everyone at implementation). The columns
                 ``take_up_column`` (0/1) and ``entry_column`` (the entry month) are written.
                 Drawn from streams of their own: a design without [compliance] simulates the
                 same panel as before.

``t`` counts months from the first month (0, 1, ...). The baseline month is the month before
implementation. Given the parent intercepts the model is a fixed-effects logit, so the
conditional (fixed-effects) logit of ``y`` on ``treat``, the time-varying covariates and a
linear trend is consistent for ``tau`` when ``office_effect_sd = 0`` (Stata: ``clogit y treat
x trend, group(parent)``; R: ``survival::clogit(y ~ treat + x + trend + strata(parent))``).

Draws never depend on parameter values (every normal and uniform is drawn whatever the
effect sizes), so two designs that differ only in effects, trend or covariate slopes share
their random numbers: common random numbers for power curves.

Regenerate the shipped second example::

    famtrial simulate --design data/synthetic/casework.toml --out data/synthetic/casework_panel.parquet
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pandas as pd
from scipy.special import expit

from famtrial._options import CovariateKind, MonthFormat, Randomize
from famtrial._toml import DESIGN, Table
from famtrial.errors import DesignError

__all__ = [
    "DesignError",
    "TrialDesign",
    "Columns",
    "OfficeGroup",
    "Covariate",
    "Outcome",
    "Compliance",
    "simulate_panel",
    "load_design",
    "write_panel",
]


_MONTH_FORMATS = get_args(MonthFormat)

_RANDOMIZE = get_args(Randomize)

_KINDS = get_args(CovariateKind)
_TIME_VARYING = ("markov", "count")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- the design --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Columns:
    """Column names and value codes of the simulated panel (TOML section ``[columns]``).

    ``arm_offered``/``arm_control`` are the arm codes (text or integers); ``variant`` names the
    variant column (``None``: no variant column, allowed only without variants) and
    ``variant_control`` the code controls carry in it. ``month_format``: ``"yyyymm"`` (integer
    201904), ``"text"`` (``"2019-04"``) or ``"period"`` (pandas ``period[M]``).
    """

    parent: str = "parent_id"
    family: str = "family_id"
    office: str = "office"
    month: str = "month"
    month_format: MonthFormat = "text"
    arm: str = "arm"
    arm_offered: Any = 1
    arm_control: Any = 0
    variant: str | None = None
    variant_control: Any = "none"


@dataclass(frozen=True)
class OfficeGroup:
    """``n`` offices whose families and control share are drawn uniformly per office from the ranges."""

    n: int
    families: tuple[int, int]
    control_share: tuple[float, float]


@dataclass(frozen=True)
class Covariate:
    """One covariate (TOML ``[covariates.<name>]``); ``kind`` fixes which fields apply.

    binary: ``p``. integer: ``mean``, ``sd``, optional ``min``/``max`` (normal, rounded, clipped).
    markov: ``p`` at the baseline month, ``on`` = P(0 -> 1), ``off`` = P(1 -> 0) per month.
    count: ``mean`` (Poisson at baseline), ``up`` = P(+1), ``down`` = P(-1) per month, ``min``/``max``.
    """

    name: str
    kind: CovariateKind
    p: float = 0.0
    mean: float = 0.0
    sd: float = 0.0
    min: float = -math.inf
    max: float = math.inf
    on: float = 0.0
    off: float = 0.0
    up: float = 0.0
    down: float = 0.0

    @property
    def time_varying(self) -> bool:
        """Whether the covariate changes month to month (``markov`` and ``count``)."""
        return self.kind in _TIME_VARYING

    @property
    def centre(self) -> float:
        """What the covariate's slope acts around: ``mean`` for integers (birth years), else 0."""
        return self.mean if self.kind == "integer" else 0.0


@dataclass(frozen=True)
class Outcome:
    """One binary outcome's true model (TOML ``[outcomes.<name>]``); log-odds scale throughout.

    ``effects`` maps each variant (or ``""`` without variants) to its treatment log-OR;
    ``covariates`` maps covariate names to slopes.
    """

    name: str
    intercept_mean: float
    intercept_sd: float
    trend: float = 0.0
    effects: tuple[tuple[str, float], ...] = (("", 0.0),)
    office_effect_sd: float = 0.0
    office_intercept_sd: float = 0.0
    covariates: tuple[tuple[str, float], ...] = ()

    def effect(self, variant: str = "") -> float:
        """The treatment log-OR of ``variant`` (``""`` without variants)."""
        return dict(self.effects)[variant]


@dataclass(frozen=True)
class Compliance:
    """Take-up and staggered entry of the offer (TOML ``[compliance]``).

    ``take_up``: the probability an offered family accepts (controls cannot: one-sided
    non-compliance); only accepting families receive the outcomes' effects, so an outcome's
    ``effect`` is the complier effect (log-OR) and the ITT is diluted by the take-up share.
    ``entry_months``: families enter uniformly over this many months from implementation, and an
    accepting family's effect starts in its entry month. ``take_up_column`` and ``entry_column``
    name the written columns (``entry_column`` in the panel's month format).
    """

    take_up: float = 1.0
    entry_months: int = 1
    take_up_column: str = "take_up"
    entry_column: str = "entry_month"


@dataclass(frozen=True)
class TrialDesign:
    """A whole trial: columns and codes, months, offices, families, variants, covariates, outcomes.

    Build with :func:`load_design` (TOML) or directly; vary with :meth:`vary`. Months are
    ``"YYYY-MM"`` text; ``implementation`` is the first treated month, the baseline month the one
    before it.
    """

    columns: Columns
    first_month: str
    last_month: str
    implementation: str
    offices: tuple[OfficeGroup, ...]
    outcomes: tuple[Outcome, ...]
    covariates: tuple[Covariate, ...] = ()
    variants: tuple[str, ...] = ()
    office_label: str | None = None
    two_parent_share: float = 0.0
    family_correlation: float = 0.0
    gap_share: float = 0.0
    gap_max_months: int = 3
    randomize: Randomize = "family"
    seed: int = 0
    compliance: Compliance | None = None

    def __post_init__(self):
        _validate(self)

    @classmethod
    def from_toml(cls, path: str | Path) -> TrialDesign:
        """Read a design TOML (:func:`load_design`)."""
        return load_design(path)

    @classmethod
    def from_panel(cls, panel, *, outcomes: Sequence[str] | None = None) -> TrialDesign:
        """A design calibrated to a loaded trial panel (:func:`famtrial.simulation.calibrate.calibrate`)."""
        from famtrial.simulation.calibrate import calibrate

        return calibrate(panel, outcomes=outcomes)

    # -- derived -------------------------------------------------------------------------------
    @property
    def months(self) -> pd.PeriodIndex:
        """The trial's months, ``first_month`` to ``last_month``."""
        return pd.period_range(self.first_month, self.last_month, freq="M")

    @property
    def baseline(self) -> str:
        """The baseline month, the one before ``implementation`` (``"YYYY-MM"``)."""
        return str(pd.Period(self.implementation, "M") - 1)

    @property
    def n_offices(self) -> int:
        """The number of offices over all office groups."""
        return sum(g.n for g in self.offices)

    def office_labels(self) -> list:
        """Office labels in simulation order: ``office_label.format(k)`` for k = 1.., or integers."""
        n = self.n_offices
        if self.office_label is None:
            return list(range(1, n + 1))
        return [self.office_label.format(k) for k in range(1, n + 1)]

    @property
    def time_varying(self) -> tuple[str, ...]:
        """Names of the time-varying covariates, in the design's order."""
        return tuple(c.name for c in self.covariates if c.time_varying)

    @property
    def time_invariant(self) -> tuple[str, ...]:
        """Names of the time-invariant covariates, in the design's order."""
        return tuple(c.name for c in self.covariates if not c.time_varying)

    def outcome(self, name: str) -> Outcome:
        """The outcome called ``name``; a :class:`DesignError` when the design has none."""
        for o in self.outcomes:
            if o.name == name:
                return o
        raise DesignError(f"outcome {name!r} is not in the design; it has {[o.name for o in self.outcomes]}")

    # -- scenarios -----------------------------------------------------------------------------
    def vary(
        self,
        *,
        offices: int | None = None,
        families_per_office: int | Sequence[int] | None = None,
        months_pre: int | None = None,
        months_post: int | None = None,
        control_share: float | Sequence[float] | None = None,
        effect_or: float | None = None,
        outcome: str | None = None,
        seed: int | None = None,
    ) -> TrialDesign:
        """A copy with some design features changed (the scenarios of :func:`famtrial.simulation.power.power`).

        offices
            Total offices; every office group is scaled in proportion (largest remainder), so a
            design with 20 regular and 4 low-control offices keeps that 5:1 mix.
        families_per_office
            An int (every office) or a ``(low, high)`` range, for every group.
        months_pre, months_post
            Months before implementation (the baseline month included) and from implementation on.
        control_share
            A share or ``(low, high)`` range for every group (low-control groups included).
        effect_or
            Odds ratio of ``outcome`` (default: the first outcome) for every variant.
        """
        design = self
        if offices is not None:
            if not isinstance(offices, (int, np.integer)) or offices < 1:
                raise DesignError(f"offices={offices!r} must be a positive int")
            sizes = np.array([g.n for g in self.offices], float)
            raw = offices * sizes / sizes.sum()
            alloc = np.floor(raw).astype(int)
            alloc[np.argsort(-(raw - alloc), kind="stable")[: offices - alloc.sum()]] += 1
            groups = tuple(replace(g, n=int(k)) for g, k in zip(self.offices, alloc) if k > 0)
            design = replace(design, offices=groups)
        if families_per_office is not None:
            rng_f = _range(families_per_office, "families_per_office", int)
            design = replace(design, offices=tuple(replace(g, families=rng_f) for g in design.offices))
        if control_share is not None:
            rng_c = _range(control_share, "control_share", float)
            design = replace(design, offices=tuple(replace(g, control_share=rng_c) for g in design.offices))
        if months_pre is not None or months_post is not None:
            impl = pd.Period(self.implementation, "M")
            pre = (impl - pd.Period(self.first_month, "M")).n if months_pre is None else months_pre
            post = (pd.Period(self.last_month, "M") - impl).n + 1 if months_post is None else months_post
            if not isinstance(pre, (int, np.integer)) or pre < 1:
                raise DesignError(f"months_pre={months_pre!r} must be an int >= 1 (the baseline month)")
            if not isinstance(post, (int, np.integer)) or post < 1:
                raise DesignError(f"months_post={months_post!r} must be an int >= 1")
            design = replace(design, first_month=str(impl - int(pre)), last_month=str(impl + int(post) - 1))
        if effect_or is not None:
            if not (isinstance(effect_or, (int, float, np.number)) and effect_or > 0):
                raise DesignError(f"effect_or={effect_or!r} must be a positive odds ratio")
            target = self.outcomes[0].name if outcome is None else self.outcome(outcome).name
            tau = float(np.log(effect_or))
            outcomes = tuple(
                replace(o, effects=tuple((v, tau) for v, _ in o.effects)) if o.name == target else o
                for o in design.outcomes
            )
            design = replace(design, outcomes=outcomes)
        if seed is not None:
            design = replace(design, seed=int(seed))
        return design


def _range(value, name: str, kind) -> tuple:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return (kind(value), kind(value))
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        return (kind(value[0]), kind(value[1]))
    raise DesignError(f"{name}={value!r} must be a number or a [low, high] pair")


def _validate(d: TrialDesign) -> None:
    def bad(key: str, msg: str):
        raise DesignError(f"{key}: {msg}")

    for key, value in (("first", d.first_month), ("last", d.last_month), ("implementation", d.implementation)):
        if not (isinstance(value, str) and _MONTH.match(value)):
            bad(f"months.{key}", f"{value!r} is not a month; give 'YYYY-MM'")
    first, last, impl = (pd.Period(m, "M") for m in (d.first_month, d.last_month, d.implementation))
    if not first < impl <= last:
        bad(
            "months.implementation",
            f"{d.implementation} must fall after months.first ({d.first_month}, which "
            f"holds the baseline month at the latest) and not after months.last ({d.last_month})",
        )
    if not d.offices:
        bad("offices", "give at least one [[offices]] group")
    if d.randomize not in _RANDOMIZE:
        bad("randomize", f"{d.randomize!r} is not one of {_RANDOMIZE}")
    if d.randomize == "office" and d.n_offices < 2:
        bad("offices", "cluster randomization (randomize = 'office') needs at least 2 offices")
    for k, g in enumerate(d.offices):
        key = f"offices[{k}]"
        if g.n < 1:
            bad(f"{key}.n", f"{g.n} must be >= 1")
        fam_lo, fam_hi = g.families
        if not 2 <= fam_lo <= fam_hi:
            bad(f"{key}.families", f"[{fam_lo}, {fam_hi}] must satisfy 2 <= low <= high (each office needs both arms)")
        share_lo, share_hi = g.control_share
        if not 0 < share_lo <= share_hi < 1:
            bad(f"{key}.control_share", f"[{share_lo}, {share_hi}] must satisfy 0 < low <= high < 1")
    for name, number in (
        ("two_parent_share", d.two_parent_share),
        ("family_correlation", d.family_correlation),
        ("gap_share", d.gap_share),
    ):
        if not 0 <= number <= 1:
            bad(f"families.{name}" if name != "gap_share" else "gaps.share", f"{number} must lie in [0, 1]")
    if d.gap_max_months < 1:
        bad("gaps.max_months", f"{d.gap_max_months} must be >= 1")
    cols = d.columns
    if cols.month_format not in _MONTH_FORMATS:
        bad("columns.month_format", f"{cols.month_format!r} is not one of {_MONTH_FORMATS}")
    if cols.arm_offered == cols.arm_control:
        bad("columns.arm_offered", f"{cols.arm_offered!r} equals columns.arm_control; give two codes")
    if len(set(d.variants)) != len(d.variants):
        bad("variants", f"{list(d.variants)} repeats a code")
    if d.variants and cols.variant is None:
        bad("columns.variant", "variants are given, so name the variant column")
    if cols.variant_control in d.variants:
        bad("columns.variant_control", f"{cols.variant_control!r} is also a variant code")
    names = [
        cols.parent,
        cols.family,
        cols.office,
        cols.month,
        cols.arm,
        *([cols.variant] if cols.variant else []),
        *[o.name for o in d.outcomes],
        *[c.name for c in d.covariates],
    ]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        bad("columns", f"names {repeated} are used more than once (ids, month, arm, variant, outcomes, covariates)")
    for c in d.covariates:
        key = f"covariates.{c.name}"
        if c.kind not in _KINDS:
            bad(f"{key}.kind", f"{c.kind!r} is not one of {_KINDS}")
        for attr in ("p", "on", "off", "up", "down"):
            if not 0 <= getattr(c, attr) <= 1:
                bad(f"{key}.{attr}", f"{getattr(c, attr)} must be a probability in [0, 1]")
        if c.kind == "count" and c.up + c.down > 1:
            bad(f"{key}.up", f"up + down = {c.up + c.down} exceeds 1")
        if c.min > c.max:
            bad(f"{key}.min", f"{c.min} exceeds max {c.max}")
        if c.sd < 0 or (c.kind == "count" and c.mean < 0):
            bad(f"{key}", "sd and a count's mean must be >= 0")
    if d.compliance is not None:
        if not 0 < d.compliance.take_up <= 1:
            bad("compliance.take_up", f"{d.compliance.take_up} must lie in (0, 1]")
        after = len(pd.period_range(d.implementation, d.last_month, freq="M"))
        if not 1 <= d.compliance.entry_months <= after:
            bad(
                "compliance.entry_months",
                f"{d.compliance.entry_months} must lie in 1 .. {after} (implementation to months.last)",
            )
        clash = {d.compliance.take_up_column, d.compliance.entry_column} & set(names)
        if clash or d.compliance.take_up_column == d.compliance.entry_column:
            bad("compliance", f"column names {sorted(clash) or [d.compliance.entry_column]} are used more than once")
    if not d.outcomes:
        bad("outcomes", "give at least one [outcomes.<name>] section")
    expected = set(d.variants) if d.variants else {""}
    covs = {c.name for c in d.covariates}
    for o in d.outcomes:
        key = f"outcomes.{o.name}"
        got = {v for v, _ in o.effects}
        if got != expected:
            need = "one log-OR per variant " + str(sorted(expected)) if d.variants else "one number (no variants)"
            bad(f"{key}.effect", f"gives {sorted(got)}; give {need}")
        if o.intercept_sd < 0 or o.office_effect_sd < 0 or o.office_intercept_sd < 0:
            bad(key, "standard deviations must be >= 0")
        unknown = sorted({n for n, _ in o.covariates} - covs)
        if unknown:
            bad(f"{key}.covariates", f"{unknown} are not declared under [covariates]; declared: {sorted(covs)}")


# -- TOML ----------------------------------------------------------------------------------------------
# One reader per table of the design file, each through famtrial._toml's reader in the design's wording.


def _table(raw: object, path: str, source: str) -> Table:
    """A table of a design file: errors are :class:`DesignError` naming ``source`` and the key path."""
    return Table(raw, path, source, DESIGN)


def _code(r: Table, key: str, default):
    return r.get(key, (str, int), default, "a text or integer code")


def design_from_dict(raw: Mapping, source: str = "design") -> TrialDesign:
    """Build a :class:`TrialDesign` from parsed TOML (see ``data/synthetic/casework.toml``).

    Parameters
    ----------
    raw : mapping
        The parsed design.
    source : str
        The name of the file in messages.

    Returns
    -------
    TrialDesign
        The design (not yet checked against itself: :class:`TrialDesign` does that).

    Raises
    ------
    DesignError
        A missing, unknown or mistyped key, naming ``source`` and the key path.
    """
    top = _table(raw, "", source)
    seed = int(top.get("seed", int, 0, "an integer"))
    randomize = top.get("randomize", str, "family", f"one of {_RANDOMIZE}", choices=_RANDOMIZE)
    columns = _read_columns(top.sub("columns", {}))
    months = _read_months(top.sub("months"))
    two, rho = _read_families(top.sub("families", {}))
    groups = _read_offices(top)
    office_label = _read_office_label(top)
    variants = tuple(top.get("variants", list, [], "a list of variant codes"))
    if not all(isinstance(v, str) for v in variants):
        top.fail("variants", f"{list(variants)} must be text codes")
    gap_share, gap_max = _read_gaps(top.sub("gaps", {}))
    covs = _read_covariates(top.sub("covariates", {}))
    outs = _read_outcomes(top.sub("outcomes"))
    compliance = _read_compliance(top.sub("compliance")) if "compliance" in raw else None
    top.done()
    return TrialDesign(
        columns=columns,
        first_month=months["first"],
        last_month=months["last"],
        implementation=months["implementation"],
        offices=groups,
        outcomes=outs,
        covariates=covs,
        variants=variants,
        office_label=office_label,
        two_parent_share=two,
        family_correlation=rho,
        gap_share=gap_share,
        gap_max_months=gap_max,
        randomize=randomize,
        seed=seed,
        compliance=compliance,
    )


def _read_compliance(c: Table) -> Compliance:
    """``[compliance]``: take-up share, entry months and the two column names."""
    defaults = Compliance()
    out = Compliance(
        take_up=c.number("take_up", defaults.take_up),
        entry_months=int(c.get("entry_months", int, defaults.entry_months, "a whole number of months")),
        take_up_column=c.get("take_up_column", str, defaults.take_up_column, "a column name"),
        entry_column=c.get("entry_column", str, defaults.entry_column, "a column name"),
    )
    c.done()
    return out


def _read_columns(c: Table) -> Columns:
    """``[columns]``: names and codes (each defaults to :class:`Columns`')."""
    defaults = Columns()
    columns = Columns(
        parent=c.get("parent", str, defaults.parent, "a column name"),
        family=c.get("family", str, defaults.family, "a column name"),
        office=c.get("office", str, defaults.office, "a column name"),
        month=c.get("month", str, defaults.month, "a column name"),
        month_format=c.get("month_format", str, defaults.month_format, f"one of {_MONTH_FORMATS}"),
        arm=c.get("arm", str, defaults.arm, "a column name"),
        arm_offered=_code(c, "arm_offered", defaults.arm_offered),
        arm_control=_code(c, "arm_control", defaults.arm_control),
        variant=c.get("variant", str, None, "a column name"),
        variant_control=_code(c, "variant_control", defaults.variant_control),
    )
    if columns.month_format not in _MONTH_FORMATS:
        c.fail("month_format", f"{columns.month_format!r} is not one of {_MONTH_FORMATS}")
    c.done()
    return columns


def _read_months(m: Table) -> dict[str, str]:
    """``[months]``: first, last and implementation, each ``'YYYY-MM'`` (required)."""
    months = {k: m.get(k, str, what="'YYYY-MM' text") for k in ("first", "last", "implementation")}
    for k, v in months.items():
        if not _MONTH.match(v):
            m.fail(k, f"{v!r} is not a month; give 'YYYY-MM'")
    m.done()
    return months


def _read_families(f: Table) -> tuple[float, float]:
    """``[families]``: the share of two-parent families and the parents' intercept correlation."""
    two = f.number("two_parent_share", 0.0)
    rho = f.number("correlation", 0.0)
    f.done()
    return two, rho


def _read_offices(top: Table) -> tuple[OfficeGroup, ...]:
    """``[[offices]]``: groups of ``n`` offices with ranges of families and control shares."""
    groups = []
    for i, g in enumerate(top.get("offices", list, what="an array of tables [[offices]]")):
        r = _table(g, f"offices[{i}]", top.source)
        n = r.get("n", int, what="an integer number of offices")
        groups.append(
            OfficeGroup(n=n, families=r.range("families", int), control_share=r.range("control_share", float))
        )
        r.done()
    return tuple(groups)


def _read_office_label(top: Table) -> str | None:
    """``office_label``: a format string for the office number (``'K{:02d}'``), if any."""
    office_label = top.get("office_label", str, None, "a format string such as 'K{:02d}'")
    if office_label is not None:
        try:
            office_label.format(1)
        except (ValueError, IndexError, KeyError) as exc:
            top.fail("office_label", f"{office_label!r} is not a format string for the office number ({exc})")
    return office_label


def _read_gaps(g: Table) -> tuple[float, int]:
    """``[gaps]``: the share of parents with gaps and the longest gap in months."""
    gap_share = g.number("share", 0.0)
    gap_max = g.get("max_months", int, 3, "an integer")
    g.done()
    return gap_share, gap_max


_COVARIATE_KEYS = {
    "binary": (("p",), ()),
    "integer": (("mean", "sd"), ("min", "max")),
    "markov": (("p", "on", "off"), ()),
    "count": (("mean", "up", "down"), ("min", "max")),
}


def _read_covariates(table: Table) -> tuple[Covariate, ...]:
    """``[covariates.<name>]``: a kind and the kind's parameters (required, then optional)."""
    covs = []
    for name in table.raw:
        r = table.sub(name)
        kind = r.get("kind", str, what=f"one of {_KINDS}", choices=_KINDS)
        need, allowed = _COVARIATE_KEYS[kind]
        values = {k: r.number(k) for k in need}
        values.update({k: r.number(k) for k in allowed if k in r.raw})
        covs.append(Covariate(name=name, kind=kind, **values))
        r.done()
    table.done()
    return tuple(covs)


def _read_outcomes(table: Table) -> tuple[Outcome, ...]:
    """``[outcomes.<name>]``: intercepts, trend, the effect (one log-OR or one per variant), slopes."""
    outs = []
    for name in table.raw:
        r = table.sub(name)
        effect = r.get("effect", (int, float, dict), what="a log-OR, or a table of log-ORs per variant")
        if isinstance(effect, dict):
            e = _table(effect, r.key("effect"), r.source)
            effects = tuple((str(v), e.number(v)) for v in effect)
        else:
            effects = (("", float(effect)),)
        slopes = r.sub("covariates", {})
        outs.append(
            Outcome(
                name=name,
                intercept_mean=r.number("intercept_mean"),
                intercept_sd=r.number("intercept_sd"),
                trend=r.number("trend", 0.0),
                effects=effects,
                office_effect_sd=r.number("office_effect_sd", 0.0),
                office_intercept_sd=r.number("office_intercept_sd", 0.0),
                covariates=tuple((k, slopes.number(k)) for k in slopes.raw),
            )
        )
        slopes.done()
        r.done()
    table.done()
    return tuple(outs)


def load_design(path: str | Path) -> TrialDesign:
    """Read a design TOML; every error is a :class:`DesignError` naming the file and the key.

    Parameters
    ----------
    path : str or Path
        The design file.

    Returns
    -------
    TrialDesign
        The design.
    """
    path = Path(path)
    if not path.exists():
        raise DesignError(f"design file {str(path)!r} does not exist")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(f"{path}: not valid TOML ({exc})") from None
    try:
        return design_from_dict(raw, str(path))
    except DesignError as exc:
        msg = str(exc)
        raise DesignError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None


# -- simulation -------------------------------------------------------------------------------------
def _people(design: TrialDesign, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per parent (office index, family, arm 0/1) and the variant index of each office."""
    fam_n_groups, share_groups = [], []
    for g in design.offices:
        fam_n_groups.append(rng.integers(g.families[0], g.families[1] + 1, size=g.n))
        share_groups.append(rng.uniform(g.control_share[0], g.control_share[1], size=g.n))
    fam_n, share = np.concatenate(fam_n_groups), np.concatenate(share_groups)
    n_off = len(fam_n)
    k = max(len(design.variants), 1)
    variant_of_office = rng.permutation(np.resize(np.arange(k), n_off))
    office_of_family = np.repeat(np.arange(n_off), fam_n)
    n_control = np.clip(np.rint(share * fam_n).astype(int), 1, fam_n - 1)
    # complete randomization within office: a uniform per family, the n_control smallest go to control
    u = rng.random(len(office_of_family))
    order = np.lexsort((u, office_of_family))
    rank = np.empty_like(order)
    starts = np.r_[0, np.cumsum(fam_n)[:-1]]
    rank[order] = np.arange(len(order)) - np.repeat(starts, fam_n)
    control = rank < n_control[office_of_family]
    two = rng.random(len(office_of_family)) < design.two_parent_share
    u_office = rng.random(n_off)
    if design.randomize == "office":
        k_control = int(np.clip(np.rint(share.mean() * n_off), 1, n_off - 1))
        control = (np.argsort(np.argsort(u_office)) < k_control)[office_of_family]
    size = 1 + two.astype(int)
    fam = np.repeat(np.arange(len(size)), size)
    people = pd.DataFrame({"office": office_of_family[fam], "family": fam + 1, "arm": (~control[fam]).astype(np.int8)})
    return people, variant_of_office


def _markov(start: np.ndarray, T: int, b: int, on: float, off: float, rng: np.random.Generator) -> np.ndarray:
    """0/1 chains equal to ``start`` at month ``b``, switching on/off each month forwards and backwards."""
    out = np.empty((len(start), T))
    out[:, b] = start
    u = rng.random((len(start), T))
    for direction, stop in ((1, T), (-1, -1)):
        for t in range(b + direction, stop, direction):
            out[:, t] = np.where(out[:, t - direction] == 1, u[:, t] >= off, u[:, t] < on)
    return out


def _walk(
    start: np.ndarray, T: int, b: int, up: float, down: float, lo: float, hi: float, rng: np.random.Generator
) -> np.ndarray:
    """Counts equal to ``start`` at month ``b``, +1 / -1 steps each month, kept within [lo, hi]."""
    out = np.empty((len(start), T))
    out[:, b] = start
    u = rng.random((len(start), T))
    for direction, stop in ((1, T), (-1, -1)):
        for t in range(b + direction, stop, direction):
            step = np.where(u[:, t] < up, 1, np.where(u[:, t] > 1 - down, -1, 0))
            out[:, t] = np.clip(out[:, t - direction] + step, lo, hi)
    return out


def _covariate(c: Covariate, n: int, T: int, b: int, rng: np.random.Generator) -> np.ndarray:
    """(n,) for time-invariant, (n, T) for time-varying covariates; one stream per covariate."""
    if c.kind == "binary":
        return (rng.random(n) < c.p).astype(float)
    if c.kind == "integer":
        return np.clip(np.rint(c.mean + c.sd * rng.standard_normal(n)), c.min, c.max)
    if c.kind == "markov":
        return _markov((rng.random(n) < c.p).astype(float), T, b, c.on, c.off, rng)
    lo = max(c.min, 0.0)
    start = np.clip(rng.poisson(c.mean, n), lo, c.max)
    return _walk(start.astype(float), T, b, c.up, c.down, lo, c.max, rng)


def _month_values(months: pd.PeriodIndex, fmt: MonthFormat):
    if fmt == "yyyymm":
        return (months.year * 100 + months.month).to_numpy().astype(np.int32)
    if fmt == "text":
        return months.astype(str).to_numpy()
    return months


def _treated(
    design: TrialDesign, arm: np.ndarray, family: np.ndarray, T: int, b: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``treat`` (n x T), each parent's take-up and entry-month index.

    Without ``design.compliance``: offered parents from implementation (index ``b + 1``), nothing drawn.
    With it: one uniform per family for take-up and one entry month per family, from
    ``SeedSequence(seed).spawn(7)``'s children 5 and 6 (the first five are the other parts' streams).
    """
    n_fam = int(family.max()) + 1
    accepted = np.ones(len(arm), bool)
    entry = np.full(len(arm), b + 1)
    if design.compliance is not None:
        take_stream, entry_stream = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)[5:])
        accepted = (take_stream.random(n_fam) < design.compliance.take_up)[family] & (arm == 1)
        entry = b + 1 + entry_stream.integers(0, design.compliance.entry_months, n_fam)[family]
    treat = (arm == 1)[:, None] & accepted[:, None] & (np.arange(T)[None, :] >= entry[:, None])
    return treat.astype(np.int64), accepted, entry


def simulate_panel(design: TrialDesign, seed: int | None = None) -> pd.DataFrame:
    """The long panel (one row per parent per month) of one simulated trial.

    Parameters
    ----------
    design : TrialDesign
        The trial to simulate, from :func:`load_design`, :meth:`TrialDesign.from_panel` or built directly.
    seed : int, optional
        Default: ``design.seed``. Deterministic given design and seed (``numpy.random.default_rng``;
        each part of the process draws from its own child stream of ``SeedSequence(seed)``).

    Returns
    -------
    DataFrame
        Columns in order: parent, family, office, month, arm, variant (if named), outcomes, take-up
        and entry month (with ``[compliance]``), time-varying covariates, time-invariant covariates;
        names and codes from ``design.columns``.
        Sorted by office, family, parent, month.
    """
    if not isinstance(design, TrialDesign):
        raise TypeError(f"design must be a TrialDesign (load_design(path)), not {type(design).__name__}")
    seed = design.seed if seed is None else seed
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    rng_design, rng_cov, rng_latent, rng_y, rng_gap = streams
    people, variant_of_office = _people(design, rng_design)
    n = len(people)
    months = design.months
    T = len(months)
    impl = pd.Period(design.implementation, "M")
    b = int((impl - 1 - months[0]).n)
    office = people["office"].to_numpy()
    arm = people["arm"].to_numpy()
    n_off = design.n_offices
    cov_values = {}
    for c in design.covariates:
        cov_values[c.name] = _covariate(c, n, T, b, np.random.default_rng(rng_cov.integers(2**63)))
    fam_index = people["family"].to_numpy() - 1
    treat, accepted, entry = _treated(design, arm, fam_index, T, b, seed)
    t_index = np.arange(T, dtype=float)
    outcome_values = {}
    for o in design.outcomes:
        # drawn whatever the parameters: common random numbers across effect sizes and slopes
        z_fam = rng_latent.standard_normal(int(fam_index.max()) + 1)[fam_index]
        z_par = rng_latent.standard_normal(n)
        z_off = rng_latent.standard_normal((n_off, 2))
        u = rng_y.random((n, T))
        rho = design.family_correlation
        a = o.intercept_mean + o.intercept_sd * (np.sqrt(rho) * z_fam + np.sqrt(1 - rho) * z_par)
        a = a + o.office_intercept_sd * z_off[office, 0]
        if design.variants:
            tau_v = np.array([o.effect(v) for v in design.variants])[variant_of_office]
        else:
            tau_v = np.full(n_off, o.effect(""))
        tau = (tau_v + o.office_effect_sd * z_off[:, 1])[office]
        eta = a[:, None] + o.trend * t_index[None, :] + treat * tau[:, None]
        for name, slope in o.covariates:
            c = next(c for c in design.covariates if c.name == name)
            x = cov_values[name] - c.centre
            eta = eta + slope * (x if x.ndim == 2 else x[:, None])
        outcome_values[o.name] = (u < expit(eta)).astype(np.int8)
    keep = np.ones((n, T), bool)
    gap_u = rng_gap.random(n)
    for i in np.flatnonzero(gap_u < design.gap_share):
        k = min(int(rng_gap.integers(1, design.gap_max_months + 1)), T - 1)
        keep[i, rng_gap.choice(np.r_[0:b, b + 1 : T], size=k, replace=False)] = False
    rows = np.flatnonzero(keep.ravel())
    cols = design.columns

    def rep(values) -> np.ndarray:
        return np.repeat(np.asarray(values), T)[rows]

    labels = np.asarray(design.office_labels(), dtype=object if design.office_label else np.int32)
    out = {
        cols.parent: rep(np.arange(1, n + 1, dtype=np.int32)),
        cols.family: rep(people["family"].astype(np.int32)),
        cols.office: rep(labels[office]),
        cols.month: np.tile(np.asarray(_month_values(months, cols.month_format)), n)[rows],
    }
    out[cols.arm] = rep(np.where(arm == 1, cols.arm_offered, cols.arm_control))
    if cols.variant is not None:
        codes = np.asarray(design.variants or ("",), dtype=object)[variant_of_office[office]]
        out[cols.variant] = rep(np.where(arm == 1, codes, cols.variant_control))
    for name, y in outcome_values.items():
        out[name] = y.ravel()[rows]
    if design.compliance is not None:
        out[design.compliance.take_up_column] = rep(accepted.astype(np.int8))
        out[design.compliance.entry_column] = rep(np.asarray(_month_values(months, cols.month_format))[entry])
    for c in sorted(design.covariates, key=lambda c: not c.time_varying):
        v = cov_values[c.name]
        v = v.ravel()[rows] if v.ndim == 2 else rep(v)
        out[c.name] = v.astype(
            np.int8 if c.kind in ("binary", "markov") else np.int16 if c.kind == "count" else np.int32
        )
    frame = pd.DataFrame(out)
    if cols.month_format == "period":
        frame[cols.month] = frame[cols.month].astype("period[M]")
    return frame


#: the file types :func:`write_panel` writes, by suffix (Parquet or CSV)
PANEL_SUFFIXES = (".parquet", ".pq", ".csv")


def write_panel(panel: pd.DataFrame, path: str | Path) -> Path:
    """Write a simulated panel to ``path``: CSV for ``.csv``, Parquet (zstd) for ``.parquet``/``.pq``.

    The parent folder is created. ``famtrial simulate --design DESIGN.toml --out PATH [--seed N]``
    runs :func:`load_design`, :func:`simulate_panel` and this.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in PANEL_SUFFIXES:
        raise DesignError(f"{out.name!r}: give a .parquet or .csv file")
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        panel.to_csv(out, index=False)
    else:
        panel.to_parquet(out, index=False, compression="zstd")
    return out
