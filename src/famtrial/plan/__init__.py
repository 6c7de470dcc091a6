"""The analysis plan: a trial's statistical analysis plan as a validated, frozen object.

:mod:`famtrial.plan.sections` holds one frozen class per TOML section, :mod:`famtrial.plan.read` one
reader per section and the check of the references between them, :mod:`famtrial.plan.write` the way
back (``to_dict``, ``to_toml``, ``describe``), and :mod:`famtrial.plan.spec` the plan itself
(:class:`Plan`, :class:`Columns`, the lookups) and the shipped plans. The plan layer reads no data file
(``famtrial plan init`` lives in :mod:`famtrial.data.scaffold`).
"""

from famtrial._compat import moved_names
from famtrial.errors import PlanError
from famtrial.plan.sections import (
    Arms,
    BalanceTables,
    ColumnRoles,
    DataSource,
    FEModel,
    InferenceOptions,
    Months,
    OutputOptions,
    SampleRule,
    Series,
    Treatment,
    TrialInfo,
    UnitNouns,
    Variable,
    Variant,
    Variants,
)
from famtrial.plan.spec import DEFAULT_PLAN, Columns, Plan, load_plan, shipped_plans

__all__ = [
    "Plan",
    "PlanError",
    "Columns",
    "Variable",
    "Variant",
    "FEModel",
    "Series",
    "DEFAULT_PLAN",
    "load_plan",
    "shipped_plans",
    "TrialInfo",
    "DataSource",
    "ColumnRoles",
    "UnitNouns",
    "Arms",
    "Treatment",
    "Variants",
    "Months",
    "SampleRule",
    "BalanceTables",
    "InferenceOptions",
    "OutputOptions",
]

__getattr__ = moved_names(__name__)
