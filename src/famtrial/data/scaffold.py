"""``famtrial plan init``: a commented analysis plan guessed from a data file or DataFrame.

Roles are guessed from column names, types and values (parent, family, office, month, arm, variant),
the months proposed from the data's middle month; every guess is marked ``# GUESS``. The text loads
with :func:`famtrial.load_plan` as it is. This module reads data (:mod:`famtrial.data`), so it sits
in the data layer: the plan layer itself never reads a data file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from famtrial._toml import NAME
from famtrial.data.months import parse_months
from famtrial.data.read import read
from famtrial.plan.spec import Plan, term_safe

__all__ = ["scaffold"]


_GUESSES = {
    "parent": ("parent", "person", "pid", "id", "individual", "client", "respondent"),
    "family": ("family", "household", "hh", "fam", "fid", "hid"),
    "office": ("office", "kontor", "site", "cluster", "centre", "center", "clinic", "school", "unit", "nav"),
    "month": ("month", "ym", "period", "date", "time", "yearmonth", "mnd"),
    "arm": ("arm", "treat", "treatment", "offer", "offered", "assigned", "group", "randomized", "experimental"),
    "variant": ("variant", "model", "version", "type"),
}


def _guess_role(columns: Sequence[str], role: str, taken: set[str]) -> str | None:
    words = _GUESSES[role]
    lowered = {c: c.lower() for c in columns if c not in taken}
    for w in words:  # exact, then prefix/suffix, then substring
        for c, low in lowered.items():
            if low == w:
                return c
    for w in words:
        for c, low in lowered.items():
            if low.startswith(w) or low.endswith(w):
                return c
    for w in words:
        for c, low in lowered.items():
            if w in low:
                return c
    return None


def scaffold(data: pd.DataFrame | str | Path, *, name: str | None = None) -> str:
    """A commented plan guessed from a panel (DataFrame or file): roles from names, types and values.

    Every guess is marked ``# GUESS`` with what it was based on; the months are proposed from the
    data's middle month and must be checked. The text loads with :func:`load_plan` as it is.

    Parameters
    ----------
    data : DataFrame or path
        The long panel, or a .csv, .parquet or .dta file of it.
    name : str, optional
        The trial's name; default: the file's name (``"my trial"`` for a DataFrame).

    Returns
    -------
    str
        The plan as commented TOML.
    """
    frame, where, _ = read(data)
    columns = list(map(str, frame.columns))
    frame = frame.set_axis(columns, axis=1)
    comments: dict[str, str] = {}
    roles = _guess_roles(frame, columns, comments)
    pid = frame[roles["parent"]] if roles["parent"] else pd.Series(np.arange(len(frame)))
    implementation = _guess_months(frame, roles, pid, comments)
    arm_codes = _guess_arm_codes(frame, roles, comments)
    outcomes, covariates = _guess_values(frame, columns, set(filter(None, roles.values())), pid, comments)
    raw = _plan_dict(where, name, roles, implementation, arm_codes, outcomes, covariates)
    if roles["variant"]:
        raw["columns"]["variant"] = roles["variant"]
        raw["variants"] = _guess_variants(frame, roles, arm_codes, comments)
    comments.update(_fixed_comments(where))
    return Plan.from_dict(raw, source="<scaffold>").to_toml(comments)


def _guess_roles(frame: pd.DataFrame, columns: list[str], comments: dict[str, str]) -> dict[str, str | None]:
    """The columns of parent, family, office, month, arm and variant (None where nothing fits)."""
    taken: set[str] = set()
    roles: dict[str, str | None] = {}
    for role in ("parent", "family", "office", "month", "arm", "variant"):
        col = _guess_role(columns, role, taken)
        if role == "arm" and col is not None and frame[col].nunique(dropna=True) != 2:
            col = next(
                (
                    c
                    for c in columns
                    if c not in taken
                    and frame[c].nunique(dropna=True) == 2
                    and any(w in c.lower() for w in _GUESSES["arm"])
                ),
                None,
            )
        roles[role] = col
        if col is not None:
            taken.add(col)
            comments[f"columns.{role}"] = f"GUESS from the column name {col!r}: check"
        elif role != "variant":
            comments[f"columns.{role}"] = f"GUESS FAILED: no column looks like the {role}; write its name"
    return roles


def _guess_months(frame: pd.DataFrame, roles: dict[str, str | None], pid: pd.Series, comments: dict[str, str]) -> str:
    """The implementation (and baseline) month proposed: the data's middle month, else 2000-01."""
    months_raw = None
    month = roles["month"]
    if month:
        try:
            months_raw = parse_months(frame[month], month, pid)
        except ValueError:
            comments["columns.month"] = f"GUESS: {month!r} does not parse as months: check the column"
    if months_raw is None or not months_raw.notna().any():
        comments["months.implementation"] = "GUESS FAILED: no month column; set the first month of the offer"
        return "2000-01"
    ordinals = np.sort(pd.unique(months_raw.array.asi8))
    mid = pd.Period(ordinal=int(ordinals[len(ordinals) // 2]), freq="M")
    comments["months.implementation"] = (
        f"GUESS: the middle month of the data ({ordinals.size} months, "
        f"{pd.Period(ordinal=int(ordinals[0]), freq='M')} .. "
        f"{pd.Period(ordinal=int(ordinals[-1]), freq='M')}). Set the first "
        "month of the offer"
    )
    comments["months.baseline"] = "GUESS: the month baseline characteristics describe (often the month before)"
    return str(mid)


def _guess_arm_codes(frame: pd.DataFrame, roles: dict[str, str | None], comments: dict[str, str]) -> tuple[Any, Any]:
    """The arm's offered and control codes: 1 and 0, or of two other values the one that reads as yes."""
    arm = roles["arm"]
    if not arm:
        return (1, 0)
    values = [v.item() if hasattr(v, "item") else v for v in pd.unique(frame[arm].dropna())]
    if set(values) <= {0, 1} or len(values) != 2:
        return (1, 0)
    positive = ("yes", "offered", "offer", "treatment", "treated", "intervention", "t", "y", "1")
    first = next((v for v in values if str(v).strip().lower() in positive), sorted(map(str, values))[-1])
    other = next(v for v in values if v != first and str(v) != str(first))
    comments["arms.offered"] = (
        f"GUESS: the arm column holds {values!r}; {first!r} taken as offered, {other!r} as control: check"
    )
    return (first, other)


def _guess_variants(
    frame: pd.DataFrame, roles: dict[str, str | None], arm_codes: tuple[Any, Any], comments: dict[str, str]
) -> dict[str, Any]:
    """The plan's [variants]: the variant column's values among offered rows, the control's name."""
    var = frame[roles["variant"]]
    arm = roles["arm"]
    if arm:
        control_vals = pd.unique(var[frame[arm] == arm_codes[1]].dropna())
        offered_vals = pd.unique(var[frame[arm] == arm_codes[0]].dropna())
        variant_values = sorted(map(str, offered_vals))
        control_name = str(control_vals[0]) if len(control_vals) == 1 else "control"
    else:
        variant_values, control_name = sorted(map(str, pd.unique(var.dropna()))), "control"
    comments["variants"] = (
        f"GUESS: the levels are the values of {roles['variant']!r} among offered rows; give each a label"
    )
    return {
        "control": control_name if NAME.match(control_name) else "control",
        "control_codes": [] if NAME.match(control_name) else [control_name],
        "levels": {term_safe(v): {"label": v, "codes": [v]} for v in variant_values},
    }


def _guess_values(
    frame: pd.DataFrame, columns: list[str], taken: set[str], pid: pd.Series, comments: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Outcomes (0/1 columns that change within a person) and covariates (other numeric columns)."""
    outcomes: dict[str, Any] = {}
    covariates: dict[str, Any] = {}
    counted: list[str] = []
    pcodes = pd.factorize(pid)[0]
    for c in columns:
        if c in taken:
            continue
        col = frame[c]
        if not (pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
            counted.append(c)
            continue
        values = col.dropna()
        binary = bool(values.isin([0, 1]).all()) and values.nunique() == 2
        varies = bool((pd.Series(col.to_numpy()).groupby(pcodes).nunique(dropna=True) > 1).any())
        key = term_safe(c) if not NAME.match(c) else c
        if binary and varies:
            outcomes[key] = {"column": c, "label": c}
        else:
            covariates[key] = {"column": c, "label": c, "time": "varying" if varies else "invariant"}
    if outcomes:
        comments["outcomes"] = (
            "GUESS: binary (0/1) columns that change within a person are proposed as outcomes;\n"
            "move covariates (e.g. a 0/1 status that changes) to [covariates.<name>]"
        )
    else:
        outcomes["outcome"] = {"column": "outcome", "label": "Outcome"}
        comments["outcomes"] = "GUESS FAILED: no 0/1 column varies within persons; name the outcome column"
    if covariates:
        comments["covariates"] = "GUESS: other numeric columns; 'time' from whether they change within a person"
    if counted:
        comments["covariates"] = comments.get("covariates", "") + (
            f"\nNot used (not numeric): {counted}. Recode categories as 0/1 dummies to use them."
        )
    return outcomes, covariates


def _plan_dict(
    where: str,
    name: str | None,
    roles: dict[str, str | None],
    implementation: str,
    arm_codes: tuple[Any, Any],
    outcomes: dict[str, Any],
    covariates: dict[str, Any],
) -> dict[str, Any]:
    """The plan as the dictionary its TOML holds (without [variants])."""
    varying = [k for k, v in covariates.items() if v["time"] == "varying"]
    return {
        "trial": {"name": name or (Path(where).stem if where != "DataFrame" else "my trial")},
        # the absolute path: the plan is printed, and may be saved anywhere (a relative path resolves
        # against the plan's folder)
        "data": {"path": str(Path(where).resolve()) if where != "DataFrame" else "", "missing": "error"},
        "columns": {r: (roles[r] or r) for r in ("parent", "family", "office", "month", "arm")},
        "arms": {
            "offered": arm_codes[0],
            "control": arm_codes[1],
            "offered_label": "Offered",
            "control_label": "Control",
        },
        "treatment": {"name": "treat", "label": "Offer (pooled)", "description": "the offer"},
        "months": {"implementation": implementation, "baseline": implementation},
        "sample": {"rule": "none", "table": "table1", "title": "Participants per site by arm", "figure": "figure1"},
        "outcomes": outcomes,
        "covariates": covariates,
        "balance": {
            "table": "table2",
            "title": "Characteristics at baseline by arm",
            "correlations_table": "table3",
            "correlations_title": "Pairwise correlations at baseline",
        },
        "models": {
            f"model{i + 1}": {
                "outcome": o,
                "treatment": "pooled",
                "covariates": varying,
                "time": "linear",
                "cluster": "office",
                "table": "table4",
            }
            for i, o in enumerate(outcomes)
        },
        "tables": {"table4": {"title": "Fixed-effects logit: effects of the offer"}},
        "series": {
            o: {"outcome": o, "controls": [], "own_baseline": True, "figure": f"figure{i + 2}"}
            for i, o in enumerate(outcomes)
        },
        "inference": {"models": ["model1"], "randomization_draws": 199},
    }


def _fixed_comments(where: str) -> dict[str, str]:
    """The comments of the sections scaffold does not guess."""
    return {
        "sample": (
            'GUESS: no exclusion rule. The paper\'s rule: rule = "control_share", threshold = "1/3",\n'
            'unit = "family" (an office is excluded when fewer than 1/3 of its families are controls)'
        ),
        "models": (
            "One fixed-effects logit per outcome, pooled offer, time-varying covariates, linear trend.\n"
            'treatment = "variants" splits the offer by variant; time = "months" for month effects'
        ),
        "trial": (
            f"famtrial analysis plan, scaffolded from {where} by 'famtrial plan init'.\n"
            "Every line marked GUESS was inferred from the data: check it, then run\n"
            "'famtrial plan check plan.toml' and 'famtrial reproduce --plan plan.toml'."
        ),
    }
