"""The trial analysis, in the order of a plan.

The analysis sample (:mod:`.sample`), baseline balance (:mod:`.balance`), the fixed-effects models
(:mod:`.effects`), the monthly series (:mod:`.monthly`, results in :mod:`.monthly_results`) and
few-cluster inference (:mod:`.few_cluster`). Each reads the trial from the panel's plan and calls the
numeric layer (:mod:`famtrial.models`, :mod:`famtrial.inference`) with plain columns.

``famtrial.trial`` was one module in 0.2: its names stay reachable here, loaded on first use (importing
a results class such as :mod:`.monthly_results` does not load the fitting code).
"""

from __future__ import annotations

from famtrial._compat import moved_names

#: 0.2's ``famtrial.trial`` names still defined in this package -> their module
_NAMES = {
    name: "famtrial.trial.effects"
    for name in (
        "treatment_indicators",
        "fe_design",
        "fe_model",
        "fe_models",
        "fit_plan_model",
        "paper_models",
        "trial_lpm",
    )
}

__all__ = sorted(_NAMES)

__getattr__ = moved_names(__name__, _NAMES)
