"""The take-up column (``columns.take_up``) checked when the panel is loaded, not only when the CACE runs.

``load_panel`` (and so ``famtrial plan check`` with data and ``famtrial reproduce``) refuses a take-up
column that the complier average causal effect (:mod:`famtrial.trial.compliance`) could not use, with a
message naming the column, the number of families and examples:

1. values other than 0/1 (missing values are allowed in the control arm only);
2. a missing value for an offered family (whether it accepted is unknown);
3. take-up 1 in the control arm: famtrial's CACE assumes one-sided non-compliance, controls cannot
   receive the offer;
4. a value that varies within a family (take-up is the family's decision, one value per family).

The checks run on the loaded (converted, 0/1-coded arm) in-memory panel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from famtrial.errors import PanelError

if TYPE_CHECKING:
    from famtrial.plan.spec import Plan

__all__ = ["check_take_up"]


def _examples(values: pd.Series | np.ndarray) -> list[object]:
    return list(pd.unique(np.asarray(values, dtype=object))[:5])


def check_take_up(data: pd.DataFrame, plan: Plan) -> None:
    """Raise :class:`PanelError` when the plan's take-up column is not a usable 0/1 family-level take-up.

    Parameters
    ----------
    data : DataFrame
        The loaded panel (its arm coded 1 = offered, 0 = control).
    plan : Plan
        Its plan; nothing is checked when ``columns.take_up`` is not set.

    Raises
    ------
    PanelError
        Naming the column, the number of families concerned, up to five of them (or of the bad values)
        and the fix: values other than 0/1; missing for an offered family; 1 in the control arm
        (one-sided non-compliance); varying within a family.
    """
    cols = plan.columns
    column = cols.take_up
    if column is None:
        return
    values = data[column]
    fam = data[cols.family]

    def n_families(mask: np.ndarray) -> tuple[int, list[object], str]:
        fams = pd.unique(fam.to_numpy()[mask])
        return len(fams), _examples(fams), plan.unit("family", len(fams))

    numeric = pd.to_numeric(values, errors="coerce")
    bad = (values.notna() & ~numeric.isin([0, 1])).to_numpy()
    if bad.any():
        n, _, noun = n_families(bad)
        raise PanelError(
            f"column {column!r} (columns.take_up) holds values other than 0/1 for {n} {noun} "
            f"(e.g. {_examples(values[bad])}): code take-up 1 = accepted the offer, 0 = did not"
        )
    offered = data[cols.arm].to_numpy() == 1
    lacking = offered & numeric.isna().to_numpy()
    if lacking.any():
        n, examples, noun = n_families(lacking)
        raise PanelError(
            f"column {column!r} (columns.take_up) is missing for {n} offered {noun} (e.g. {examples}): "
            "record whether each offered family accepted (0 or 1)"
        )
    takers = ~offered & (numeric.to_numpy() == 1)
    if takers.any():
        n, examples, noun = n_families(takers)
        raise PanelError(
            f"column {column!r} (columns.take_up) is 1 for {n} control {noun} (e.g. {examples}): famtrial's CACE "
            "assumes one-sided non-compliance (controls cannot receive the offer); set take-up to 0 (or leave it "
            "missing) in the control arm"
        )
    per_family = numeric.groupby(fam.to_numpy(), sort=False).nunique(dropna=False)
    varying = per_family.index[per_family.to_numpy() > 1]
    if len(varying):
        raise PanelError(
            f"column {column!r} (columns.take_up) varies within {len(varying)} "
            f"{plan.unit('family', len(varying))} (e.g. {_examples(varying)}): take-up is the family's decision, "
            "one value per family; make it constant within each family"
        )
