"""``famtrial export``: a plan's analysis as a Stata do-file or an R script, for reviewers who trust those.

:func:`export_plan` translates the plan (sample rule, baseline balance and correlations, the
fixed-effects models with the plan's clustering, the monthly series with their multiplicity
adjustments, and the few-cluster score bootstrap where the plan asks for it) into code that reads the
same data file and writes its numbers in famtrial's published-number spec format, so
``famtrial verify --results DIR --spec r_spec.toml`` compares famtrial's numbers with Stata's or R's.

- :mod:`famtrial.export.files`: :func:`export_plan`, the front door (``famtrial export``).
- :mod:`famtrial.export.recipe`: the plan as the plain values both translations read.
- :mod:`famtrial.export.r`: the R script (``survival::clogit(method = "exact")`` with cluster-robust
  SEs from the conditional scores computed in the script, ``glm`` + ``sandwich::vcovCL``, ``p.adjust``).
- :mod:`famtrial.export.stata`: the do-file (``clogit ..., group() vce(cluster)``, ``logit``, ``boottest``).
"""

from famtrial.export.files import export_plan
from famtrial.export.recipe import Recipe, recipe

__all__ = ["Recipe", "export_plan", "recipe"]
