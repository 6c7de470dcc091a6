"""famtrial: randomized trials with monthly panel data.

Reproduces the effect evaluation of the Norwegian family coordinator trial (NCT03102775) and runs
the same analysis on your own panel: load and validate, analysis sample (office exclusion rule),
baseline balance, exact fixed-effects logit with Stata-identical cluster-robust errors, monthly
cross-sectional logits with multiplicity control, figures, and published-number regression.
"""

from famtrial.balance import BalanceTable, CorrelationTable, JointTest, balance_table, correlation_table
from famtrial.flowchart import plot_flow
from famtrial.models.clogit import ConditionalLogit, ConditionalLogitResults, conditional_logit
from famtrial.models.logit import Logit, LogitResults, SeparationError, logit
from famtrial.monthly import MonthlyEffects, monthly_effects
from famtrial.panel import Columns, LoadReport, Panel, PanelError, load_panel
from famtrial.plots import plot_monthly
from famtrial.reproduce import reproduce
from famtrial.sample import AnalysisSample, FlowCounts, analysis_sample, exclusion_rule, office_counts
from famtrial.tables import Table
from famtrial.verify import VerifyReport, load_spec, verify
from famtrial.trial import compare_models, fe_model, paper_models, treatment_indicators

__version__ = "0.1.0"

__all__ = [
    "AnalysisSample", "BalanceTable", "CorrelationTable", "FlowCounts", "JointTest", "LoadReport",
    "VerifyReport", "exclusion_rule", "load_spec", "office_counts", "verify", "Columns", "ConditionalLogit", "ConditionalLogitResults", "Logit", "LogitResults",
    "MonthlyEffects", "Panel", "PanelError", "SeparationError", "Table", "analysis_sample", "balance_table",
    "compare_models", "conditional_logit", "correlation_table", "fe_model", "load_panel", "logit",
    "monthly_effects", "paper_models", "plot_flow", "plot_monthly", "reproduce", "treatment_indicators",
]
