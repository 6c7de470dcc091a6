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
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any

from famtrial import _compat
from famtrial._version import __version__ as __version__

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
    "cace": "trial.compliance",
    "subgroup_analysis": "trial.subgroups",
    "effects_since_randomisation": "trial.since_randomisation",
    "plot_forest": "report.forest",
    "randomization_test": "trial.few_cluster",
    "ConditionalLogit": "models.clogit",
    "ConditionalLogitResults": "models.clogit",
    "conditional_logit": "models.clogit",
    "Logit": "models.logit",
    "LogitResults": "models.logit",
    "logit": "models.formula",
    "clogit": "models.formula",
    "fit_multiple": "models.multiple",
    "FitCollection": "models.multiple",
    "WaldTest": "models.postestimation",
    "LRTest": "models.postestimation",
    "score_bootstrap": "inference.score_bootstrap",
    "Table": "table",
    "compare_models": "report.compare",
    "coefplot": "report.coefplot",
    "iplot": "report.coefplot",
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
    "OptionError": "errors",
    "options": "_progress",
    "Options": "_progress",
    "ExistingFileError": "errors",
}

#: public submodules reachable as attributes (``famtrial.examples.panel()``)
_SUBMODULES = ("examples",)

__all__ = sorted([*_EXPORTS, *_SUBMODULES, "__version__"])

_compat.install()  # 0.2's module paths (famtrial.panel, famtrial.sample, ...) keep working, with a warning


class _MaketablesHook(importlib.abc.MetaPathFinder):
    """Puts famtrial's maketables extractor first in maketables' registry once ``maketables.extractors`` loads.

    maketables' statsmodels extractor would otherwise claim famtrial's results (see
    :mod:`famtrial.models.tables`). The hook only wraps that one module's loader; it imports nothing itself.
    """

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "maketables.extractors":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """maketables.extractors' own loader, then :func:`famtrial.models.tables.register`."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        from famtrial.models.tables import register

        register(module)


if "maketables.extractors" in sys.modules:  # maketables came first: register now
    from famtrial.models.tables import register as _register

    _register()
elif not any(isinstance(f, _MaketablesHook) for f in sys.meta_path):
    sys.meta_path.insert(0, _MaketablesHook())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"famtrial.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'famtrial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"famtrial.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static checkers and IDEs see the real names; `X as X` marks each as re-exported (PEP 484)
    from famtrial import examples as examples
    from famtrial._progress import Options as Options
    from famtrial._progress import options as options
    from famtrial.data.load import load_panel as load_panel
    from famtrial.data.panel import LoadReport as LoadReport
    from famtrial.data.panel import Panel as Panel
    from famtrial.data.scaffold import scaffold as scaffold
    from famtrial.errors import ConvergenceError as ConvergenceError
    from famtrial.errors import DesignError as DesignError
    from famtrial.errors import ExistingFileError as ExistingFileError
    from famtrial.errors import FamtrialDeprecationWarning as FamtrialDeprecationWarning
    from famtrial.errors import FamtrialError as FamtrialError
    from famtrial.errors import FamtrialWarning as FamtrialWarning
    from famtrial.errors import FewClustersWarning as FewClustersWarning
    from famtrial.errors import FormulaError as FormulaError
    from famtrial.errors import ModelInputError as ModelInputError
    from famtrial.errors import ModelTypeError as ModelTypeError
    from famtrial.errors import NotIdentifiedError as NotIdentifiedError
    from famtrial.errors import OptionError as OptionError
    from famtrial.errors import PanelError as PanelError
    from famtrial.errors import PlanError as PlanError
    from famtrial.errors import PostEstimationError as PostEstimationError
    from famtrial.errors import SeparationError as SeparationError
    from famtrial.inference.score_bootstrap import score_bootstrap as score_bootstrap
    from famtrial.models.clogit import ConditionalLogit as ConditionalLogit
    from famtrial.models.clogit import ConditionalLogitResults as ConditionalLogitResults
    from famtrial.models.clogit import conditional_logit as conditional_logit
    from famtrial.models.formula import clogit as clogit
    from famtrial.models.formula import logit as logit
    from famtrial.models.logit import Logit as Logit
    from famtrial.models.logit import LogitResults as LogitResults
    from famtrial.models.multiple import FitCollection as FitCollection
    from famtrial.models.multiple import fit_multiple as fit_multiple
    from famtrial.models.postestimation import LRTest as LRTest
    from famtrial.models.postestimation import WaldTest as WaldTest
    from famtrial.pipeline import Reproduction as Reproduction
    from famtrial.pipeline import reproduce as reproduce
    from famtrial.plan.spec import Columns as Columns
    from famtrial.plan.spec import Plan as Plan
    from famtrial.plan.spec import load_plan as load_plan
    from famtrial.plan.spec import shipped_plans as shipped_plans
    from famtrial.published.verify import VerifyReport as VerifyReport
    from famtrial.published.verify import load_spec as load_spec
    from famtrial.published.verify import verify as verify
    from famtrial.report.coefplot import coefplot as coefplot
    from famtrial.report.coefplot import iplot as iplot
    from famtrial.report.compare import compare_models as compare_models
    from famtrial.report.compare import model_tables as model_tables
    from famtrial.report.flowchart import plot_flow as plot_flow
    from famtrial.report.plots import plot_monthly as plot_monthly
    from famtrial.simulation.calibrate import calibrate as calibrate
    from famtrial.simulation.design import TrialDesign as TrialDesign
    from famtrial.simulation.design import load_design as load_design
    from famtrial.simulation.design import simulate_panel as simulate_panel
    from famtrial.simulation.power import PowerResult as PowerResult
    from famtrial.simulation.power import minimum_detectable_effect as minimum_detectable_effect
    from famtrial.simulation.power import power as power
    from famtrial.table import Table as Table
    from famtrial.trial.balance import BalanceTable as BalanceTable
    from famtrial.trial.balance import CorrelationTable as CorrelationTable
    from famtrial.trial.balance import JointTest as JointTest
    from famtrial.trial.balance import balance_table as balance_table
    from famtrial.trial.balance import correlation_table as correlation_table
    from famtrial.trial.effects import fe_model as fe_model
    from famtrial.trial.effects import fe_models as fe_models
    from famtrial.trial.effects import paper_models as paper_models
    from famtrial.trial.effects import treatment_indicators as treatment_indicators
    from famtrial.trial.few_cluster import few_cluster_inference as few_cluster_inference
    from famtrial.trial.few_cluster import randomization_test as randomization_test
    from famtrial.trial.monthly import monthly_effects as monthly_effects
    from famtrial.trial.monthly_results import MonthlyEffects as MonthlyEffects
    from famtrial.trial.sample import AnalysisSample as AnalysisSample
    from famtrial.trial.sample import FlowCounts as FlowCounts
    from famtrial.trial.sample import analysis_sample as analysis_sample
    from famtrial.trial.sample import exclusion_rule as exclusion_rule
    from famtrial.trial.sample import office_counts as office_counts
