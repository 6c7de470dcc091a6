"""Example data and plans shipped with famtrial, by name: what the documentation's examples read.

Everything here works from an empty folder after ``pip install famtrial`` (the files live inside the
installed package, ``famtrial/_data``):

* :func:`panel` - a shipped panel as a DataFrame: ``"replica"`` (the synthetic replica of the Norwegian
  family coordinator trial, 14,328 parents x 27 months) or ``"casework"`` (a simulated casework trial);
* :func:`plan` - a shipped analysis plan by name (``"nct03102775"``, ``"casework"``; as
  :func:`famtrial.load_plan`);
* :func:`write_user_files` - ``my_panel.parquet`` and ``my_plan.toml`` in a folder: the replica with
  every column renamed and recoded the way a register extract might name them (``pid``, ``kontor``,
  ``ym`` as YYYYMM integers, ``offered`` as "yes"/"no", ...) and the plan that maps those names to
  famtrial's roles. The user guide's examples read these two files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from famtrial.errors import ExistingFileError, PlanError
from famtrial.plan.spec import Plan, load_plan, shipped_plans

__all__ = ["PANELS", "panel", "panel_path", "plan", "user_data", "write_user_files"]

#: shipped panel name -> the shipped plan whose data it is
PANELS = {"replica": "nct03102775", "casework": "casework"}

#: the replica's columns -> the names :func:`write_user_files` gives them
USER_NAMES = {
    "parent_id": "pid",
    "family_id": "fid",
    "office": "kontor",
    "month": "ym",
    "arm": "offered",
    "model": "variant",
    "activation": "active",
    "employed": "employed_flag",
    "married": "gift",
    "n_children": "nkids",
    "reduced_work_capacity": "redwc",
    "female": "kvinne",
    "year_of_birth": "born",
    "immigrant": "innvandrer",
}


def panel_path(name: str = "replica") -> Path:
    """The file of a shipped panel (``"replica"`` or ``"casework"``).

    Parameters
    ----------
    name : str
        A key of :data:`PANELS`.

    Returns
    -------
    Path
        The Parquet file inside the installed package (or the checkout's ``data/``).

    Examples
    --------
    >>> famtrial.examples.panel_path("replica").name
    'trial_panel.parquet'
    """
    if name not in PANELS:
        raise PlanError(f"no shipped panel {name!r}: choose one of {sorted(PANELS)}")
    path = load_plan(PANELS[name]).resolve_data()
    if path is None:  # every shipped plan names its shipped panel (tests/test_docs.py loads both)
        raise PlanError(f"the shipped plan {PANELS[name]!r} names no data file")
    return path


def panel(name: str = "replica") -> pd.DataFrame:
    """A shipped panel as a DataFrame, one row per person-month.

    Parameters
    ----------
    name : str
        ``"replica"`` (the trial's synthetic replica; columns ``parent_id``, ``family_id``, ``office``,
        ``month``, ``arm``, ``model``, the outcomes and covariates) or ``"casework"``.

    Returns
    -------
    DataFrame

    Examples
    --------
    >>> famtrial.examples.panel("replica").shape
    (143647, 14)
    """
    return pd.read_parquet(panel_path(name))


def plan(name: str = "nct03102775") -> Plan:
    """A shipped analysis plan by name (``famtrial.load_plan(name)``).

    Parameters
    ----------
    name : str
        One of ``famtrial.shipped_plans()``: ``"nct03102775"`` (the trial) or ``"casework"``.

    Returns
    -------
    Plan

    Examples
    --------
    >>> famtrial.examples.plan("casework").name
    'Welfare casework trial (synthetic example)'
    """
    if name not in shipped_plans():
        raise PlanError(f"no shipped plan {name!r}: choose one of {sorted(shipped_plans())}")
    return load_plan(name)


def user_data() -> tuple[pd.DataFrame, str]:
    """The replica under a user's names and codes, and the TOML text of the plan that maps them.

    Columns are renamed by :data:`USER_NAMES`; the arm is ``"yes"``/``"no"``, the variant ``"none"``,
    ``"L"``, ``"H"``, the month a YYYYMM integer. The plan is the trial's with its ``[columns]``,
    codes and outcome/covariate columns pointed at those names, and no data path.

    Returns
    -------
    tuple of (DataFrame, str)
    """
    trial = load_plan("nct03102775")
    data = panel("replica")
    renamed = data.rename(columns=USER_NAMES)
    renamed["offered"] = np.where(data["arm"] == 1, "yes", "no")
    renamed["variant"] = data["model"].map({"ordinary": "none", "local": "L", "holf": "H"})
    renamed["ym"] = pd.PeriodIndex(data["month"], freq="M").strftime("%Y%m").astype(int)
    raw = tomllib.loads(trial.to_toml())
    raw["columns"] = {
        "parent": "pid",
        "family": "fid",
        "office": "kontor",
        "month": "ym",
        "arm": "offered",
        "variant": "variant",
    }
    raw["arms"].update(offered="yes", control="no")
    raw["variants"].update(control="ordinary", control_codes=["none"])
    raw["variants"]["levels"]["local"]["codes"] = ["L"]
    raw["variants"]["levels"]["holf"]["codes"] = ["H"]
    for section in ("outcomes", "covariates"):
        for key, entry in raw[section].items():
            entry["column"] = USER_NAMES[key]
    raw["data"].pop("path", None)
    return renamed, Plan.from_dict(raw).to_toml()


def write_user_files(folder: str | Path = ".", *, overwrite: bool = False) -> dict[str, Path]:
    """Write ``my_panel.parquet`` and ``my_plan.toml`` (:func:`user_data`) into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Where to write (created if missing).
    overwrite : bool
        Replace existing files (default: an existing file raises, naming it).

    Returns
    -------
    dict
        ``{"panel": path, "plan": path}``.

    Examples
    --------
    >>> files = famtrial.examples.write_user_files("example")  # doctest: +SKIP
    >>> famtrial.load_panel(files["panel"], famtrial.load_plan(files["plan"]))  # doctest: +SKIP
    """
    folder = Path(folder)
    files = {"panel": folder / "my_panel.parquet", "plan": folder / "my_plan.toml"}
    existing = [str(p) for p in files.values() if p.exists()]
    if existing and not overwrite:
        raise ExistingFileError(f"{', '.join(existing)} exist(s): pass overwrite=True to replace them")
    folder.mkdir(parents=True, exist_ok=True)
    data, text = user_data()
    data.to_parquet(files["panel"])
    files["plan"].write_text(text, encoding="utf-8")
    return files
