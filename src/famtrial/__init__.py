"""famtrial: randomized trials with monthly panel data.

A trial's statistical analysis plan (:func:`load_plan`, ``plans/*.toml``) drives every step: load and
validate a long panel, the analysis sample (office exclusion rule), baseline balance, exact
fixed-effects logit with Stata-identical cluster-robust errors, monthly cross-sectional logits with
multiplicity control, few-cluster inference, figures, and published-number regression. The
Norwegian family coordinator trial (NCT03102775) is the shipped plan ``"nct03102775"``.

Imports are lazy: ``import famtrial`` loads neither matplotlib nor numba until a function needs them.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from famtrial._version import __version__

#: public name -> module that defines it
_EXPORTS = {
    "AnalysisSample": "sample", "FlowCounts": "sample", "analysis_sample": "sample", "exclusion_rule": "sample",
    "office_counts": "sample",
    "BalanceTable": "balance", "CorrelationTable": "balance", "JointTest": "balance", "balance_table": "balance",
    "correlation_table": "balance",
    "plot_flow": "flowchart",
    "ConditionalLogit": "models.clogit", "ConditionalLogitResults": "models.clogit",
    "conditional_logit": "models.clogit",
    "Logit": "models.logit", "LogitResults": "models.logit", "SeparationError": "models.logit",
    "logit": "models.formula", "clogit": "models.formula", "FormulaError": "models.formula",
    "NotIdentifiedError": "models.postestimation", "PostEstimationError": "models.postestimation",
    "WaldTest": "models.postestimation", "LRTest": "models.postestimation",
    "ConvergenceError": "models.errors", "FamtrialError": "models.errors", "FewClustersWarning": "models.errors",
    "ModelInputError": "models.errors", "ModelTypeError": "models.errors",
    "MonthlyEffects": "monthly", "monthly_effects": "monthly",
    "Columns": "panel", "LoadReport": "panel", "Panel": "panel", "PanelError": "panel", "load_panel": "panel",
    "Plan": "plan", "PlanError": "plan", "load_plan": "plan", "scaffold": "plan", "shipped_plans": "plan",
    "plot_monthly": "plots",
    "reproduce": "reproduce", "Reproduction": "reproduce",
    "Table": "tables",
    "VerifyReport": "verify", "load_spec": "verify", "verify": "verify",
    "compare_models": "trial", "fe_model": "trial", "fe_models": "trial", "paper_models": "trial",
    "treatment_indicators": "trial", "model_tables": "trial",
    "few_cluster_inference": "inference.randomization", "randomization_test": "inference.randomization",
    "score_bootstrap": "inference.score_bootstrap",
    "power": "inference.power", "PowerResult": "inference.power", "minimum_detectable_effect": "inference.power",
    "TrialDesign": "simulate", "simulate_panel": "simulate", "load_design": "simulate", "calibrate": "simulate",
}

__all__ = sorted([*_EXPORTS, "__version__"])


class _Package(types.ModuleType):
    """famtrial's module type: a public function keeps its name when its same-named submodule is imported.

    ``famtrial.verify`` and ``famtrial.reproduce`` are functions; importing ``famtrial.verify``
    (the module) would otherwise rebind the package attribute to the module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            return  # the submodule stays reachable as sys.modules["famtrial.<name>"]
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'famtrial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"famtrial.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


sys.modules[__name__].__class__ = _Package

if TYPE_CHECKING:  # static checkers and IDEs see the real names
    from famtrial.balance import BalanceTable, CorrelationTable, JointTest, balance_table, correlation_table
    from famtrial.flowchart import plot_flow
    from famtrial.inference.power import PowerResult, minimum_detectable_effect, power
    from famtrial.inference.randomization import few_cluster_inference, randomization_test
    from famtrial.inference.score_bootstrap import score_bootstrap
    from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults, conditional_logit
    from famtrial.models.errors import (
        ConvergenceError,
        FamtrialError,
        FewClustersWarning,
        ModelInputError,
        ModelTypeError,
    )
    from famtrial.models.formula import FormulaError, clogit, logit
    from famtrial.models.logit import Logit, LogitResults, SeparationError
    from famtrial.models.postestimation import LRTest, NotIdentifiedError, PostEstimationError, WaldTest
    from famtrial.monthly import MonthlyEffects, monthly_effects
    from famtrial.panel import Columns, LoadReport, Panel, PanelError, load_panel
    from famtrial.plan import Plan, PlanError, load_plan, scaffold, shipped_plans
    from famtrial.plots import plot_monthly
    from famtrial.reproduce import Reproduction, reproduce
    from famtrial.sample import AnalysisSample, FlowCounts, analysis_sample, exclusion_rule, office_counts
    from famtrial.simulate import TrialDesign, calibrate, load_design, simulate_panel
    from famtrial.tables import Table
    from famtrial.trial import compare_models, fe_model, fe_models, model_tables, paper_models, treatment_indicators
    from famtrial.verify import VerifyReport, load_spec, verify
