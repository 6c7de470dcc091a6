"""The analysis plan: a trial's statistical analysis plan as a validated, frozen object.

:mod:`famtrial.plan.spec` holds the plan and its parts (:class:`Plan`, :class:`Columns`, :class:`Variable`,
:class:`Variant`, :class:`FEModel`, :class:`Series`), the TOML reader and writer, and the shipped plans.
The plan layer reads no data file (``famtrial plan init`` lives in :mod:`famtrial.data.scaffold`).
"""

from famtrial._compat import moved_names
from famtrial.errors import PlanError
from famtrial.plan.spec import DEFAULT_PLAN, Columns, FEModel, Plan, Series, Variable, Variant, load_plan, shipped_plans

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
]

__getattr__ = moved_names(__name__)
