"""``famtrial plan init``: a commented analysis plan guessed from a data file or DataFrame.

Roles are guessed from the data's structure first (one row per person-month, persons nested in
families nested in offices, an arm constant within family with two values, 0/1 outcomes,
time-invariant covariates) and names second; every guess is marked ``# GUESS`` with its evidence,
a tie the data and the names cannot break ``UNDECIDED`` with its candidates, and the implementation
month, which no data can tell, ``QUESTION``. The text loads
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
    "parent": ("parent", "person", "pid", "id", "individual", "client", "respondent", "guardian", "carer", "member"),
    "family": ("family", "household", "hh", "fam", "fid", "hid"),
    "office": ("office", "kontor", "site", "cluster", "centre", "center", "clinic", "district", "nav", "region"),
    "month": ("month", "ym", "period", "date", "time", "yearmonth", "mnd"),
    "arm": ("arm", "treat", "treatment", "offer", "offered", "assigned", "group", "grp", "randomized", "experimental"),
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


def _named(columns: Sequence[str], role: str) -> list[str]:
    """The ``columns`` whose name reads as ``role``, best match first."""
    out: list[str] = []
    rest = list(columns)
    while (found := _guess_role(rest, role, set(out))) is not None:
        out.append(found)
    return out


def scaffold(data: pd.DataFrame | str | Path, *, name: str | None = None, sep: str = ",") -> str:
    """A commented plan guessed from a panel (DataFrame or file): roles from the data's structure, then names.

    Every guess is marked ``# GUESS`` with its evidence (``guardian_no`` unique within each month,
    ``hh_id`` constant within person and grouping persons, ...); a tie is marked ``UNDECIDED``; the
    implementation month is a ``QUESTION`` (the data's first month as placeholder). The text loads
    with :func:`load_plan` as it is.

    Parameters
    ----------
    data : DataFrame or path
        The long panel, or a .csv, .parquet or .dta file of it.
    name : str, optional
        The trial's name; default: the file's name (``"my trial"`` for a DataFrame).
    sep : str
        The field separator of a CSV file (written to the plan's ``[data] sep`` when not ``","``).

    Returns
    -------
    str
        The plan as commented TOML.
    """
    frame, where, _ = read(data, sep=sep)
    columns = list(map(str, frame.columns))
    frame = frame.set_axis(columns, axis=1)
    comments: dict[str, str] = {}
    roles = _guess_roles(frame, columns, comments)
    pid = frame[roles["parent"]] if roles["parent"] else pd.Series(np.arange(len(frame)))
    implementation = _guess_months(frame, roles, pid, comments)
    arm_codes = _guess_arm_codes(frame, roles, comments)
    outcomes, covariates = _guess_values(frame, columns, set(filter(None, roles.values())), pid, comments)
    raw = _plan_dict(where, name, roles, implementation, arm_codes, outcomes, covariates)
    if sep != ",":
        raw["data"]["sep"] = sep
    if roles["variant"]:
        raw["columns"]["variant"] = roles["variant"]
        raw["variants"] = _guess_variants(frame, roles, arm_codes, comments)
    comments.update(_fixed_comments(where))
    return Plan.from_dict(raw, source="<scaffold>").to_toml(comments)


def _month_like(frame: pd.DataFrame, columns: list[str]) -> dict[str, pd.Series]:
    """Columns that read as months: text or dates that parse, or YYYYMM integers (not bare counters)."""
    out: dict[str, pd.Series] = {}
    ids = pd.Series(np.arange(len(frame)))
    for c in columns:
        col = frame[c]
        if pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            continue
        if pd.api.types.is_integer_dtype(col.dtype):
            v = col.dropna()
            if v.empty or not ((v >= 100001) & (v <= 999912) & (v % 100 >= 1) & (v % 100 <= 12)).all():
                continue  # an integer month must be YYYYMM: a counter (an id) would parse as Stata %tm
        try:
            parsed = parse_months(col, c, ids)
        except (ValueError, TypeError):
            continue
        if parsed.notna().all() and parsed.nunique() > 1:
            out[c] = parsed
    return out


def _constant_within(frame: pd.DataFrame, column: str, codes: np.ndarray) -> bool:
    """``column`` takes one value within each group of ``codes`` (missing counts as a value)."""
    values = pd.factorize(frame[column], use_na_sentinel=False)[0]
    first = np.full(codes.max() + 1, -1)
    first[codes[::-1]] = values[::-1]
    return bool((first[codes] == values).all())


def _pick(structural: list[str], role: str, columns: list[str], prefer: Any) -> tuple[str | None, str]:
    """Of the structural candidates, the one the name names, else by ``prefer``; and whether that was decided."""
    if not structural:
        return None, "none"
    named = [c for c in _named(columns, role) if c in structural]
    if named:
        return named[0], "named"
    if len(structural) == 1:
        return structural[0], "only"
    return sorted(structural, key=prefer)[0], "undecided"


def _guess_roles(frame: pd.DataFrame, columns: list[str], comments: dict[str, str]) -> dict[str, str | None]:
    """The columns of parent, family, office, month, arm and variant, from the data's structure first.

    One row per person-month: the month parses as months; the person id is unique within each
    month; the family is constant within person and groups persons; the office is constant within
    family and holds families of both arms; the arm is constant within family with two values.
    Names break ties; a tie names cannot break is marked UNDECIDED with the candidates. Each
    comment gives the evidence.
    """
    roles: dict[str, str | None] = dict.fromkeys(("parent", "family", "office", "month", "arm", "variant"))
    evidence: dict[str, str] = {}
    undecided: dict[str, list[str]] = {}

    def note(role: str, column: str | None, how: str, why: str, candidates: list[str]) -> None:
        roles[role] = column
        if column is None:
            return
        if how == "undecided":
            undecided[role] = candidates
            evidence[role] = f"UNDECIDED between {candidates}: {column!r} taken ({why}); check"
        else:
            named = " and its name" if how == "named" else ""
            evidence[role] = f"GUESS from the data{named}: {column!r} {why}"

    months = _month_like(frame, columns)
    month, how = _pick(list(months), "month", columns, lambda c: -months[c].nunique())
    if month is not None:
        m = months[month]
        note("month", month, how, f"parses as {m.nunique()} months ({m.min()} .. {m.max()})", list(months))
    free = [c for c in columns if c != month]
    if month is not None:
        person = [
            c
            for c in free
            if not pd.api.types.is_float_dtype(frame[c].dtype)
            and frame[c].nunique() < len(frame)
            and not frame.duplicated([c, month]).any()
        ]
        parent, how = _pick(person, "parent", columns, lambda c: frame[c].nunique())
        if parent is not None:
            note("parent", parent, how, f"is unique within each month ({frame[parent].nunique():,} values)", person)
    parent = roles["parent"]
    if parent is not None:
        pcodes = pd.factorize(frame[parent])[0]
        n_people = int(pcodes.max()) + 1
        within = [c for c in columns if c not in (parent, month) and _constant_within(frame, c, pcodes)]
        people = frame.drop_duplicates(parent)
        groups = [  # groups of a few persons each (a household, not a district), nested in a coarser column
            c
            for c in within
            if 2 < frame[c].nunique() <= n_people
            and not pd.api.types.is_float_dtype(frame[c].dtype)
            and people.groupby(c).size().median() <= 4
            and any(
                2 < frame[d].nunique() < frame[c].nunique() and _constant_within(frame, d, pd.factorize(frame[c])[0])
                for d in within
                if d != c
            )
        ]
        family, how = _pick(groups, "family", columns, lambda c: -frame[c].nunique())
        if family is not None:
            size = people.groupby(family).size()
            note(
                "family",
                family,
                how,
                f"is constant within {parent!r} and groups {size.min()}-{size.max()} persons ({size.size:,} values)",
                groups,
            )
        fam = roles["family"] or parent
        fcodes = pd.factorize(frame[fam])[0]
        above = [c for c in within if c != fam and _constant_within(frame, c, fcodes)]
        two = [c for c in above if frame[c].nunique() == 2]
        arm, how = _pick(two, "arm", columns, lambda c: pd.api.types.is_numeric_dtype(frame[c].dtype))
        if arm is not None:
            values = sorted(map(str, pd.unique(frame[arm].dropna())))
            note("arm", arm, how, f"is constant within {fam!r} with two values {values}", two)
        clusters = [
            c
            for c in above
            if c != roles["arm"]
            and 2 < frame[c].nunique() <= max(3, n_people // 5)
            and (arm is None or (frame.groupby(c)[arm].nunique() == 2).mean() >= 0.5)
        ]
        # of nested candidates (schools within districts) the coarsest: the level the others nest in
        office, how = _pick(clusters, "office", columns, lambda c: frame[c].nunique())
        if office is not None:
            both = "; both arms in each" if arm is not None else ""
            note(
                "office",
                office,
                how,
                f"holds whole {'families' if roles['family'] else 'persons'} ({frame[office].nunique()} values{both})",
                clusters,
            )
    taken = {c for c in roles.values() if c}
    variant = _guess_role(columns, "variant", taken)
    if variant is not None and roles["arm"] is not None and frame[variant].nunique(dropna=True) >= 2:
        roles["variant"] = variant
        evidence["variant"] = f"GUESS from the column name {variant!r}: check"
    for role in ("parent", "family", "office", "month", "arm"):
        if roles[role] is None:  # the structure decided nothing: the name alone, marked as such
            col = _guess_role(columns, role, {c for c in roles.values() if c})
            if col is not None and role == "arm" and frame[col].nunique(dropna=True) != 2:
                col = None
            roles[role] = col
            if col is not None:
                evidence[role] = (
                    f"GUESS from the column name {col!r} only (the data's structure does not show it): check"
                )
            else:
                evidence[role] = f"GUESS FAILED: no column looks like the {role}; write its name"
    for role, text in evidence.items():
        comments[f"columns.{role}"] = text
    return roles


def _guess_months(frame: pd.DataFrame, roles: dict[str, str | None], pid: pd.Series, comments: dict[str, str]) -> str:
    """The implementation month: a marked QUESTION (no data can tell), the data's first month as placeholder."""
    months_raw = None
    month = roles["month"]
    if month:
        try:
            months_raw = parse_months(frame[month], month, pid)
        except ValueError:
            comments["columns.month"] = f"GUESS: {month!r} does not parse as months: check the column"
    if months_raw is None or not months_raw.notna().any():
        comments["months.implementation"] = "QUESTION: no month column; set the first month of the offer"
        return "2000-01"
    ordinals = np.sort(pd.unique(months_raw.array.asi8))
    first = pd.Period(ordinal=int(ordinals[0]), freq="M")
    comments["months.implementation"] = (
        f"QUESTION (not a guess; no data can tell): the first month of the offer. The data's\n"
        f"{ordinals.size} months run {first} .. {pd.Period(ordinal=int(ordinals[-1]), freq='M')}; "
        "the first is written as a placeholder"
    )
    comments["months.baseline"] = "QUESTION: the month baseline characteristics describe (often the month before)"
    return str(first)


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
