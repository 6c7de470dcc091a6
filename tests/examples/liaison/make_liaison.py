"""Build the liaison trial's panel (famtrial's third example) from ``design.toml``.

Usage: ``python tests/examples/liaison/make_liaison.py OUT.csv``. The panel is simulated with
:func:`famtrial.simulation.design.simulate_panel` and then given what neither shipped example has:
late entry (a fifth of guardians enter one to five months after the first month, never after the
baseline month), ISO-date months (``"2020-03-01"``) and two distractor columns a role guesser must
not take for roles: ``school`` (varies within a district and within a household's guardians'
district only through the household) and ``lone_parent`` (0/1, constant within a household).
Deterministic: the same file on every run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from famtrial.simulation.design import load_design, simulate_panel

HERE = Path(__file__).resolve().parent
DESIGN = HERE / "design.toml"
PLAN = HERE / "liaison.toml"


def build_panel(seed: int = 20200301) -> pd.DataFrame:
    """The liaison panel: simulated, with late entry, ISO-date months and two distractor columns."""
    design = load_design(DESIGN)
    panel = simulate_panel(design, seed=seed)
    rng = np.random.default_rng(seed + 1)
    months = pd.PeriodIndex(panel["period"], freq="M")
    first = months.min()
    baseline = pd.Period(design.implementation, "M") - 1
    latest_delay = (baseline - first).n
    guardians = panel["guardian_no"].unique()
    delay = np.where(rng.random(len(guardians)) < 0.2, rng.integers(1, min(5, latest_delay) + 1, len(guardians)), 0)
    entry = pd.Series(delay, index=guardians).reindex(panel["guardian_no"]).to_numpy()
    position = np.asarray([(m - first).n for m in months])
    panel = panel.loc[position >= entry].reset_index(drop=True)
    households = panel["hh_id"].unique()
    lone = pd.Series((rng.random(len(households)) < 0.4).astype(np.int8), index=households)
    school = pd.Series(rng.integers(1, 4, len(households)), index=households)
    panel["lone_parent"] = lone.reindex(panel["hh_id"]).to_numpy()
    panel["school"] = panel["district"] + "-S" + school.reindex(panel["hh_id"]).astype(str).to_numpy()
    panel["period"] = pd.PeriodIndex(panel["period"], freq="M").to_timestamp().strftime("%Y-%m-%d")
    return panel


def main(argv: list[str] | None = None) -> int:
    """Write the panel to the CSV file named on the command line."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: make_liaison.py OUT.csv", file=sys.stderr)
        return 2
    build_panel().to_csv(args[0], index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
