"""The sections of an analysis plan: one frozen class per TOML table.

A section's fields are its TOML keys, in the order a plan is written, so the reader
(:mod:`famtrial.plan.read`) and the writer (:mod:`famtrial.plan.write`) name the same keys. A field
with :data:`OPTIONAL` metadata is left out of the written TOML while it holds its default; a field with
:data:`TABLE_NAME` metadata is the name of its table (``[models.<name>]``), not a key inside it; one with
:data:`NAMED_TABLES` metadata holds such sections, written one table per name.
:class:`~famtrial.plan.spec.Plan` holds the sections; ``docs/plan.md`` documents every key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

__all__ = [
    "OPTIONAL",
    "TABLE_NAME",
    "NAMED_TABLES",
    "TrialInfo",
    "DataSource",
    "ColumnRoles",
    "UnitNouns",
    "Arms",
    "Treatment",
    "Variant",
    "Variants",
    "Months",
    "SampleRule",
    "Variable",
    "BalanceTables",
    "FEModel",
    "Series",
    "InferenceOptions",
    "OutputOptions",
    "Compliance",
    "Subgroups",
    "SinceRandomisation",
]

#: An arm code as the plan holds it: an integer, text or a boolean (floats with no fraction become integers).
Code = int | str | bool


#: Field metadata: the key is written only when its value differs from the field's default (its unset value).
OPTIONAL = {"optional": True}
#: Field metadata: the field holds the name of its table (``[models.<name>]``), not a key inside it.
TABLE_NAME = {"table_name": True}
#: Field metadata: a tuple of named sections, written as one table per name (``[variants.levels.<name>]``).
NAMED_TABLES = {"named_tables": True}


@dataclass(frozen=True)
class TrialInfo:
    """``[trial]``: which trial the plan analyses.

    Parameters
    ----------
    name : str
        The trial's name (required), in the report's headings.
    registry : str
        Its registry id (``NCT03102775``), if any.
    description : str
        One line on the trial.
    """

    name: str
    registry: str = field(default="", metadata=OPTIONAL)
    description: str = field(default="", metadata=OPTIONAL)


@dataclass(frozen=True)
class DataSource:
    """``[data]``: the plan's data file and what loading does with missing values.

    Parameters
    ----------
    missing : {"error", "drop"}
        A row missing an outcome or covariate stops loading, or is dropped (listwise, counted).
    path : str
        The default data file, relative to the plan file (``famtrial:`` = shipped data); ``""``: none.
    published : str
        The published-number spec ``famtrial verify`` compares with; ``""``: none.
    sep : str
        The field separator of a CSV data file (one character, e.g. ``";"``; TOML writes a tab as an escape).
    """

    missing: Missing = "error"
    path: str = field(default="", metadata=OPTIONAL)
    published: str = field(default="", metadata=OPTIONAL)
    sep: str = field(default=",", metadata=OPTIONAL)


@dataclass(frozen=True)
class ColumnRoles:
    """``[columns]``: which data column plays which role.

    Parameters
    ----------
    parent, family, office, month, arm : str
        The id columns, the calendar month and the randomized arm.
    variant : str or None
        The column of the offer's variant (coordinated model); ``None``: no variant column.
    start : str or None
        A per-parent treatment start month (missing = never treated); ``None``: none.
    take_up : str or None
        Whether the offered family accepted the offer (0/1, constant within a family; controls 0 or
        missing; checked when the panel is loaded): the complier analyses (``[compliance]``) and the
        monthly series' CACE columns; ``None``: take-up not recorded.
    entry : str or None
        Each family's randomisation (entry) month, in both arms: effects by months since
        randomisation (``[since_randomisation]``); ``None``: not recorded.
    """

    parent: str = "parent_id"
    family: str = "family_id"
    office: str = "office"
    month: str = "month"
    arm: str = "arm"
    variant: str | None = field(default=None, metadata=OPTIONAL)
    start: str | None = field(default=None, metadata=OPTIONAL)
    take_up: str | None = field(default=None, metadata=OPTIONAL)
    entry: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class UnitNouns:
    """``[units]``: the trial's words for its units, in tables, figures and notes.

    Parameters
    ----------
    parent, family, office : str
        The singular nouns (``"person"``, ``"household"``, ``"office"``).
    """

    parent: str = "parent"
    family: str = "family"
    office: str = "office"


@dataclass(frozen=True)
class Arms:
    """``[arms]``: the arm column's codes and the arms' labels.

    Parameters
    ----------
    offered, control : int, str or bool
        The codes of the offered and the control arm (different).
    offered_label, control_label : str
        Column headers and flow boxes.
    offered_key, control_key : str
        The arms' names in machine-readable outputs: the sample table's CSV headers
        (``<units>_<key>``) and its ``reproduced.csv`` keys (``<table>.<office>_<label>.<key>``).
        Plain names (letters, digits, underscores).
    """

    offered: Code = 1
    control: Code = 0
    offered_label: str = "Offered"
    control_label: str = "Control"
    offered_key: str = field(default="offered", metadata=OPTIONAL)
    control_key: str = field(default="control", metadata=OPTIONAL)


@dataclass(frozen=True)
class Treatment:
    """``[treatment]``: how the treatment terms are named.

    Parameters
    ----------
    name : str
        The term prefix: ``<name>_pooled`` and ``<name>_<variant>``.
    label : str
        The row label of the pooled term.
    description : str
        The phrase in titles ("Effects of *description* on ...").
    """

    name: str = "treat"
    label: str = "Treatment (pooled)"
    description: str = "the offer"


@dataclass(frozen=True)
class Variant:
    """A coordinated-model variant of the offer (``[variants.levels.<name>]``).

    Parameters
    ----------
    name : str
        The term suffix (``coordinator_<name>``); the name is itself a code of the variant.
    label : str
        The row label of the variant's term.
    codes : tuple of int or str
        Further codes of the variant column that mean this variant.
    """

    name: str = field(metadata=TABLE_NAME)
    label: str
    codes: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class Variants:
    """``[variants]``: the variants of the offer and how the variant column codes them.

    Parameters
    ----------
    control : str
        The variant name of control rows (the variant column's control value).
    control_codes : tuple of int or str
        Further codes meaning control.
    levels : tuple of Variant
        One per variant, in order; none when the offer has no variants.
    """

    control: str = "control"
    control_codes: tuple[int | str, ...] = ()
    levels: tuple[Variant, ...] = field(default=(), metadata=NAMED_TABLES)


@dataclass(frozen=True)
class Months:
    """``[months]``: the trial's months, as ``YYYY-MM`` text.

    Parameters
    ----------
    implementation : str
        The first month of the offer.
    baseline : str
        The month baseline tables describe and monthly controls come from.
    first, last : str or None
        A window: rows outside are removed (and counted); ``None``: open.
    """

    implementation: str
    baseline: str
    first: str | None = field(default=None, metadata=OPTIONAL)
    last: str | None = field(default=None, metadata=OPTIONAL)


@dataclass(frozen=True)
class SampleRule:
    """``[sample]``: the office exclusion rule, the sample table and the flow figure.

    Parameters
    ----------
    rule : {"control_share", "none"}
        Exclude offices with too few controls, or analyse every office.
    threshold : float
        The least control share an analysed office has (``threshold_text`` as a number).
    unit : {"family", "parent"}
        The units the rule counts.
    table, title : str
        The sample table's file name and caption.
    figure : str
        The flow figure's file name.
    threshold_text : str
        The threshold as the plan writes it (``"1/3"``; a number is written as a fraction when one
        with a denominator up to 1000 equals it).
    """

    rule: Rule = "control_share"
    threshold: float = 1 / 3
    unit: Unit = "family"
    table: str = "sample"
    title: str = "Participants per office by arm"
    figure: str = "flow"
    threshold_text: str = "1/3"


@dataclass(frozen=True)
class Variable:
    """An outcome (``[outcomes.<key>]``) or a covariate (``[covariates.<key>]``).

    Parameters
    ----------
    key : str
        The plan's name of the variable (model terms, published-number keys).
    column : str
        Its data column (default: the key).
    label : str
        Its label in tables.
    description : str
        An outcome's phrase in titles (covariates: ``""``).
    time : {"varying", "invariant"}
        Whether a covariate varies within a parent over months (outcomes: ``"varying"``).
    """

    key: str
    column: str
    label: str
    description: str = ""
    time: TimeVariation = "varying"


@dataclass(frozen=True)
class BalanceTables:
    """``[balance]``: the baseline table and the correlation table.

    Parameters
    ----------
    table, title : str
        The baseline table's file name and caption.
    correlations_table, correlations_title : str
        The correlation table's file name and caption.
    variables : tuple of str
        The keys of the baseline table's rows, in order; empty: covariates then outcomes.
    """

    table: str = "balance"
    title: str = "Characteristics at baseline by arm"
    correlations_table: str = "correlations"
    correlations_title: str = "Pairwise correlations at baseline"
    variables: tuple[str, ...] = field(default=(), metadata=OPTIONAL)


@dataclass(frozen=True)
class FEModel:
    """One fixed-effects (conditional) logit of the plan (``[models.<name>]``).

    ``clogit outcome treatment covariates time, group(parent) vce(cluster cluster)``.

    Parameters
    ----------
    name : str
        The model's name (its column in the table, its published-number keys).
    outcome : str
        An outcome key.
    treatment : {"pooled", "variants", "dynamic"}
        One pooled treatment term, one term per variant, or one term per month (``"dynamic"``: the event
        study ``outcome ~ i(month, arm, ref=reference) + covariates + C(month) | parent``, the offered arm's odds
        ratio in each month relative to the reference month; needs ``time = "months"``).
    covariates : tuple of str
        Time-varying covariate keys.
    time : {"linear", "months", "none"}
        A linear trend, month fixed effects, or none.
    cluster : {"office", "family", "parent", "none"}
        The cluster of the robust covariance (``"none"``: model-based).
    table : str
        The table the model is laid out in.
    reference : str or None
        A dynamic model's omitted month (``YYYY-MM``; default: the month before the implementation month).
    label : str
        The model's column header in its table (``""``: its name).
    """

    name: str = field(metadata=TABLE_NAME)
    outcome: str
    treatment: TreatmentKind = "pooled"
    covariates: tuple[str, ...] = ()
    time: TimeAdjustment = "linear"
    cluster: ClusterRole = "office"
    table: str = ""
    reference: str | None = field(default=None, metadata=OPTIONAL)
    label: str = field(default="", metadata=OPTIONAL)

    @property
    def split(self) -> bool:
        """One treatment term per variant rather than one pooled term."""
        return self.treatment == "variants"


@dataclass(frozen=True)
class Series:
    """A monthly series (``[series.<name>]``): one cross-sectional logit of ``outcome`` per month after implementation.

    Parameters
    ----------
    name : str
        Keys the numbers (``monthly.<name>.*``) and the CSV.
    outcome : str
        An outcome key.
    controls : tuple of str
        Variables entered at their baseline-month value.
    own_baseline : bool
        Also control for the outcome's own baseline value.
    office_effects : bool
        Office dummies (the within-office comparison).
    figure, title : str
        The figure's file name and an explicit title (``""``: derived).
    """

    name: str = field(metadata=TABLE_NAME)
    outcome: str
    controls: tuple[str, ...] = ()
    own_baseline: bool = True
    office_effects: bool = False
    figure: str = ""
    title: str = field(default="", metadata=OPTIONAL)


@dataclass(frozen=True)
class InferenceOptions:
    """``[inference]``: the few-cluster inference of the primary models.

    Parameters
    ----------
    models : tuple of str
        Models given cluster z, t(G-1), score bootstrap and randomization p-values.
    randomization_draws : int
        Randomization re-draws (at least 1).
    band_draws : int
        Multiplier draws of the monthly series' sup-t band (at least 99).
    seed : int
        The seed of every random step.
    bootstrap_weights : {"rademacher", "webb", "mammen"}
        The wild score bootstrap's weights.
    few_clusters : int
        Every delivered table note, figure caption and report section states the number of clusters
        G and, when G is below this threshold, a few-cluster caution (default 10, the threshold of
        :class:`~famtrial.errors.FewClustersWarning`).
    reference : {"normal", "t"}
        The reference distribution of the model tables' and the monthly series' cluster-robust
        p-values, intervals and sup-t band: the normal (the paper's, default) or t(G-1) (Stata's
        ``clogit, vce(cluster)`` after ``test`` with ``df(G-1)``; R ``lmtest::coeftest(fit, df = G - 1)``).
        ``inference.csv`` reports both whatever this key says.
    statistic : {"score", "wald", "coef"}
        The randomization test's statistic: the studentized score at the one restricted fit (default),
        the refitted cluster-robust Wald z, or the refitted coefficient (docs/inference.md).
    """

    models: tuple[str, ...] = ()
    randomization_draws: int = 199
    band_draws: int = 9999
    seed: int = 12345
    bootstrap_weights: BootstrapWeights = "rademacher"
    few_clusters: int = field(default=10, metadata=OPTIONAL)
    reference: Reference = field(default="normal", metadata=OPTIONAL)
    statistic: Statistic = field(default="score", metadata=OPTIONAL)


@dataclass(frozen=True)
class OutputOptions:
    """``[output]``: how figures and numbers are written.

    Parameters
    ----------
    formats : tuple of {"png", "pdf", "svg"}
        Figure file formats.
    digits : int
        Decimals in tables (0 to 6).
    leading_zero : bool
        ``False`` prints ``.90`` as the paper does.
    """

    formats: tuple[FigureFormat, ...] = ("png",)
    digits: int = 2
    leading_zero: bool = True


@dataclass(frozen=True)
class Compliance:
    """``[compliance]``: the complier average causal effect (CACE/LATE), run when ``columns.take_up`` is set.

    Parameters
    ----------
    models : tuple of str
        Plan models whose outcome, covariates, time adjustment and cluster the ITT, the 2SLS CACE and
        the Wald ratio use (the pooled treatment); empty: every model with a pooled treatment.
    table : str
        The CACE table's file name.
    """

    models: tuple[str, ...] = field(default=(), metadata=OPTIONAL)
    table: str = field(default="cace", metadata=OPTIONAL)


@dataclass(frozen=True)
class Subgroups:
    """``[subgroups]``: pre-specified subgroups, the effect per level from the fixed-effects logit.

    Parameters
    ----------
    variables : tuple of str
        Covariate keys (binary or categorical), taken at their baseline-month value; empty: none.
    models : tuple of str
        Plan models analysed by subgroup (their outcome, covariates, time and cluster; pooled
        treatment); empty: every model with a pooled treatment.
    reference : {"normal", "t"}
        The heterogeneity Wald test's reference: chi2(q) (``"normal"``) or F(q, G-1) (``"t"``, as
        the per-level CIs' t(G-1)).
    table, figure : str
        The subgroup table's and the forest plot's file names.
    """

    variables: tuple[str, ...] = field(default=(), metadata=OPTIONAL)
    models: tuple[str, ...] = field(default=(), metadata=OPTIONAL)
    reference: Reference = field(default="normal", metadata=OPTIONAL)
    table: str = field(default="subgroups", metadata=OPTIONAL)
    figure: str = field(default="forest", metadata=OPTIONAL)


@dataclass(frozen=True)
class SinceRandomisation:
    """``[since_randomisation]``: effects by months since randomisation, run when ``columns.entry`` is set.

    Parameters
    ----------
    bins : tuple of int
        The bins' lower edges in months since randomisation, increasing from 0 (``[0, 6, 12]``:
        months 0-5, 6-11, 12 and later).
    models : tuple of str
        Plan models analysed by time since randomisation; empty: every model with a pooled treatment.
    table, figure : str
        The table's and the figure's file names.
    """

    bins: tuple[int, ...] = field(default=(0, 6, 12, 18), metadata=OPTIONAL)
    models: tuple[str, ...] = field(default=(), metadata=OPTIONAL)
    table: str = field(default="since_randomisation", metadata=OPTIONAL)
    figure: str = field(default="since_randomisation", metadata=OPTIONAL)
