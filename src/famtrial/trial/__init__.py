"""The trial analysis, in the order of a plan: the analysis sample (:mod:`.sample`), baseline balance
(:mod:`.balance`), the fixed-effects models (:mod:`.effects`), the monthly series (:mod:`.monthly`) and
few-cluster inference (:mod:`.few_cluster`). Each reads the trial from the panel's plan and calls the
numeric layer (:mod:`famtrial.models`, :mod:`famtrial.inference`) with plain columns.
"""

from famtrial._compat import moved_names
from famtrial.trial.effects import (
    fe_design,
    fe_model,
    fe_models,
    fit_plan_model,
    paper_models,
    treatment_indicators,
    trial_lpm,
)

__all__ = ["treatment_indicators", "fe_design", "fe_model", "fe_models", "fit_plan_model", "paper_models", "trial_lpm"]

__getattr__ = moved_names(__name__)
