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
from typing import TYPE_CHECKING, Any

from famtrial import _compat
from famtrial._version import __version__

#: public name -> module that defines it
_EXPORTS = {
    "Plan": "plan.spec",
    "Columns": "plan.spec",
    "load_plan": "plan.spec",
    "shipped_plans": "plan.spec",
    "scaffold": "data.scaffold",
    "LoadReport": "data.panel",
    "Panel": "data.panel",
    "load_panel": "data.load",
    "AnalysisSample": "trial.sample",
    "FlowCounts": "trial.sample",
    "analysis_sample": "trial.sample",
    "exclusion_rule": "trial.sample",
    "office_counts": "trial.sample",
    "BalanceTable": "trial.balance",
    "CorrelationTable": "trial.balance",
    "JointTest": "trial.balance",
    "balance_table": "trial.balance",
    "correlation_table": "trial.balance",
    "fe_model": "trial.effects",
    "fe_models": "trial.effects",
    "paper_models": "trial.effects",
    "treatment_indicators": "trial.effects",
    "MonthlyEffects": "trial.monthly_results",
    "monthly_effects": "trial.monthly",
    "few_cluster_inference": "trial.few_cluster",
    "randomization_test": "trial.few_cluster",
    "ConditionalLogit": "models.clogit",
    "ConditionalLogitResults": "models.clogit",
    "conditional_logit": "models.clogit",
    "Logit": "models.logit",
    "LogitResults": "models.logit",
    "logit": "models.formula",
    "clogit": "models.formula",
    "WaldTest": "models.postestimation",
    "LRTest": "models.postestimation",
    "score_bootstrap": "inference.score_bootstrap",
    "Table": "table",
    "compare_models": "report.compare",
    "model_tables": "report.compare",
    "plot_monthly": "report.plots",
    "plot_flow": "report.flowchart",
    "VerifyReport": "published.verify",
    "load_spec": "published.verify",
    "verify": "published.verify",
    "reproduce": "pipeline",
    "Reproduction": "pipeline",
    "power": "simulation.power",
    "PowerResult": "simulation.power",
    "minimum_detectable_effect": "simulation.power",
    "TrialDesign": "simulation.design",
    "simulate_panel": "simulation.design",
    "load_design": "simulation.design",
    "calibrate": "simulation.calibrate",
    "FamtrialError": "errors",
    "PlanError": "errors",
    "PanelError": "errors",
    "DesignError": "errors",
    "ResultsError": "errors",
    "ModelInputError": "errors",
    "ModelTypeError": "errors",
    "SeparationError": "errors",
    "ConvergenceError": "errors",
    "FormulaError": "errors",
    "PostEstimationError": "errors",
    "NotIdentifiedError": "errors",
    "FamtrialWarning": "errors",
    "FamtrialDeprecationWarning": "errors",
    "FewClustersWarning": "errors",
}

__all__ = sorted([*_EXPORTS, "__version__"])

_compat.install()  # 0.2's module paths (famtrial.panel, famtrial.sample, ...) keep working, with a warning


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'famtrial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"famtrial.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static checkers and IDEs see the real names
    from famtrial.data.load import load_panel
    from famtrial.data.panel import LoadReport, Panel
    from famtrial.data.scaffold import scaffold
    from famtrial.errors import (
        ConvergenceError,
        DesignError,
        FamtrialDeprecationWarning,
        FamtrialError,
        FamtrialWarning,
        FewClustersWarning,
        FormulaError,
        ModelInputError,
        ModelTypeError,
        NotIdentifiedError,
        PanelError,
        PlanError,
        PostEstimationError,
        SeparationError,
    )
    from famtrial.inference.score_bootstrap import score_bootstrap
    from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults, conditional_logit
    from famtrial.models.formula import clogit, logit
    from famtrial.models.logit import Logit, LogitResults
    from famtrial.models.postestimation import LRTest, WaldTest
    from famtrial.pipeline import Reproduction, reproduce
    from famtrial.plan.spec import Columns, Plan, load_plan, shipped_plans
    from famtrial.published.verify import VerifyReport, load_spec, verify
    from famtrial.report.compare import compare_models, model_tables
    from famtrial.report.flowchart import plot_flow
    from famtrial.report.plots import plot_monthly
    from famtrial.simulation.calibrate import calibrate
    from famtrial.simulation.design import TrialDesign, load_design, simulate_panel
    from famtrial.simulation.power import PowerResult, minimum_detectable_effect, power
    from famtrial.table import Table
    from famtrial.trial.balance import BalanceTable, CorrelationTable, JointTest, balance_table, correlation_table
    from famtrial.trial.effects import fe_model, fe_models, paper_models, treatment_indicators
    from famtrial.trial.few_cluster import few_cluster_inference, randomization_test
    from famtrial.trial.monthly import monthly_effects
    from famtrial.trial.monthly_results import MonthlyEffects
    from famtrial.trial.sample import AnalysisSample, FlowCounts, analysis_sample, exclusion_rule, office_counts
