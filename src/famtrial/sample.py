"""The analysis sample: the office exclusion rule, Table 2 and the participant flow (Figure 1).

An office is excluded when fewer than ``threshold`` (default one third) of its listed units remain
in ordinary follow-up (arm 0). The paper evaluates the rule on families: Table 2 counts parents,
and on parents offices 4 (52/157 = 0.331) and 11 (42/127 = 0.331) fall below one third yet are
analysed, so ``unit="family"`` is the default and ``unit="parent"`` an option.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from famtrial.panel import Panel
from famtrial.tables import Table

__all__ = ["FlowCounts", "AnalysisSample", "office_counts", "exclusion_rule", "analysis_sample"]

Unit = Literal["family", "parent"]


@dataclass(frozen=True)
class FlowCounts:
    """Participant flow (CONSORT): families and parents at each step, by arm."""

    offices: int
    offices_included: int
    offices_excluded: int
    families_listed: int
    parents_listed: int
    families_offered: int
    parents_offered: int
    families_ordinary: int
    parents_ordinary: int
    families_excluded_offered: int
    parents_excluded_offered: int
    families_excluded_ordinary: int
    parents_excluded_ordinary: int
    families_analysed_offered: int
    parents_analysed_offered: int
    families_analysed_ordinary: int
    parents_analysed_ordinary: int

    def to_frame(self) -> pd.DataFrame:
        return pd.Series(asdict(self), name="count").to_frame()


def office_counts(panel: Panel) -> pd.DataFrame:
    """Per office: parents and families in each arm (one row per office, sorted by office)."""
    cols = panel.columns
    people = panel.data.drop_duplicates(cols.parent)[[cols.parent, cols.family, cols.office, cols.arm]]
    parents = people.pivot_table(index=cols.office, columns=cols.arm, values=cols.parent, aggfunc="count",
                                 fill_value=0).reindex(columns=[1, 0], fill_value=0)
    families = people.drop_duplicates(cols.family).pivot_table(index=cols.office, columns=cols.arm, values=cols.family,
                                                                aggfunc="count", fill_value=0).reindex(columns=[1, 0], fill_value=0)
    out = pd.DataFrame({"parents_coordinated": parents[1], "parents_ordinary": parents[0],
                        "families_coordinated": families[1], "families_ordinary": families[0]})
    out.index.name = "office"
    return out.sort_index()


def exclusion_rule(counts: pd.DataFrame, threshold: float = 1 / 3, unit: Unit = "family") -> pd.DataFrame:
    """Apply the rule to a per-office count table (columns ``{unit}s_coordinated``, ``{unit}s_ordinary``).

    Adds ``control_share`` = ordinary / (coordinated + ordinary) on ``unit`` and ``included`` =
    ``control_share >= threshold``.
    """
    if unit not in ("family", "parent"):
        raise ValueError(f"unit={unit!r} is not one of ('family', 'parent')")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must lie strictly between 0 and 1")
    plural = "families" if unit == "family" else "parents"
    need = [f"{plural}_coordinated", f"{plural}_ordinary"]
    absent = [c for c in need if c not in counts.columns]
    if absent:
        raise ValueError(f"the count table lacks {absent} needed for unit={unit!r}")
    total = counts[need].sum(axis=1)
    out = counts.copy()
    out["control_share"] = counts[need[1]] / total
    out["included"] = out["control_share"] >= threshold
    return out


@dataclass(frozen=True)
class AnalysisSample:
    """The analysis panel, Table 2, and the participant flow."""

    panel: Panel
    offices: pd.DataFrame
    flow: FlowCounts
    threshold: float
    unit: Unit

    @property
    def excluded_offices(self) -> list:
        return list(self.offices.index[~self.offices["included"]])

    @property
    def included_offices(self) -> list:
        return list(self.offices.index[self.offices["included"]])

    @property
    def table2(self) -> Table:
        """Table 2: parents per office and arm, included offices first, with the rule's share."""
        frame = pd.concat([self.offices[self.offices["included"]], self.offices[~self.offices["included"]]])
        display = pd.DataFrame({
            "Coordinated follow-up": frame["parents_coordinated"].map("{:,}".format),
            "Ordinary follow-up": frame["parents_ordinary"].map("{:,}".format),
            "Families coordinated / ordinary": [f"{a:,} / {b:,}" for a, b in
                                                zip(frame["families_coordinated"], frame["families_ordinary"])],
            f"Ordinary share ({self.unit}s)": frame["control_share"].map("{:.3f}".format),
            "Included": frame["included"].map({True: "yes", False: "no"}),
        })
        display.index = [f"Office {o}" for o in frame.index]
        f = self.flow
        title = (f"Table 2. Parents per office by experimental condition, k = {f.offices}, "
                 f"n = {f.parents_listed:,} parents")
        notes = (f"Included: {f.offices_included} offices, {f.parents_analysed_offered + f.parents_analysed_ordinary:,} "
                 f"parents; excluded: {f.offices_excluded} offices, "
                 f"{f.parents_excluded_offered + f.parents_excluded_ordinary:,} parents. An office is excluded when "
                 f"fewer than {self.threshold:.4g} of its {self.unit == 'family' and 'families' or 'parents'} "
                 "remain in ordinary follow-up.")
        return Table(frame=frame, display=display, title=title, notes=notes)

    def summary(self) -> str:
        f = self.flow
        return (f"Analysis sample (rule on {'families' if self.unit == 'family' else 'parents'}, threshold {self.threshold:.4g}): "
                f"{f.offices_included} of {f.offices} offices included; excluded offices {self.excluded_offices} "
                f"hold {f.families_excluded_offered + f.families_excluded_ordinary:,} families "
                f"({f.parents_excluded_offered + f.parents_excluded_ordinary:,} parents). Analysed: "
                f"{f.parents_analysed_offered:,} offered parents in {f.families_analysed_offered:,} families, "
                f"{f.parents_analysed_ordinary:,} ordinary parents in {f.families_analysed_ordinary:,} families.")

    def to_numbers(self) -> dict[str, float]:
        """Reproduced ``sample.*`` and ``table2.*`` numbers for ``famtrial verify``."""
        f = self.flow
        out = {
            "sample.offices_included": f.offices_included,
            "sample.parents_included": f.parents_analysed_offered + f.parents_analysed_ordinary,
            "sample.parents_treated": f.parents_analysed_offered,
            "sample.parents_control": f.parents_analysed_ordinary,
            "sample.families_treated": f.families_analysed_offered,
            "sample.families_control": f.families_analysed_ordinary,
            "sample.parents_excluded": f.parents_excluded_offered + f.parents_excluded_ordinary,
        }
        for office, row in self.offices.iterrows():
            out[f"table2.office_{office}.coordinated"] = int(row["parents_coordinated"])
            out[f"table2.office_{office}.ordinary"] = int(row["parents_ordinary"])
            out[f"table2.office_{office}.included"] = int(row["included"])
        return {k: float(v) for k, v in out.items()}


def analysis_sample(panel: Panel, *, threshold: float = 1 / 3, unit: Unit = "family") -> AnalysisSample:
    """Exclude offices with too few controls and report Table 2 and the participant flow.

    The rule: office o is analysed when ``ordinary_o / (offered_o + ordinary_o) >= threshold``,
    counted on families (default) or parents. Every excluded office, family and parent is counted
    in ``flow`` and shown in ``summary()``.
    """
    offices = exclusion_rule(office_counts(panel), threshold, unit)
    inc = offices[offices["included"]].sum(numeric_only=True)
    exc = offices[~offices["included"]].sum(numeric_only=True)
    tot = offices.sum(numeric_only=True)
    flow = FlowCounts(
        offices=len(offices), offices_included=int(offices["included"].sum()),
        offices_excluded=int((~offices["included"]).sum()),
        families_listed=int(tot["families_coordinated"] + tot["families_ordinary"]),
        parents_listed=int(tot["parents_coordinated"] + tot["parents_ordinary"]),
        families_offered=int(tot["families_coordinated"]), parents_offered=int(tot["parents_coordinated"]),
        families_ordinary=int(tot["families_ordinary"]), parents_ordinary=int(tot["parents_ordinary"]),
        families_excluded_offered=int(exc.get("families_coordinated", 0)),
        parents_excluded_offered=int(exc.get("parents_coordinated", 0)),
        families_excluded_ordinary=int(exc.get("families_ordinary", 0)),
        parents_excluded_ordinary=int(exc.get("parents_ordinary", 0)),
        families_analysed_offered=int(inc.get("families_coordinated", 0)),
        parents_analysed_offered=int(inc.get("parents_coordinated", 0)),
        families_analysed_ordinary=int(inc.get("families_ordinary", 0)),
        parents_analysed_ordinary=int(inc.get("parents_ordinary", 0)),
    )
    if flow.offices_included == 0:
        raise ValueError(f"no office meets the rule (ordinary share >= {threshold:.4g} of {unit}s); "
                         "lower threshold= or check the arm coding")
    return AnalysisSample(panel=panel.restrict(offices.index[offices["included"]]), offices=offices, flow=flow,
                          threshold=threshold, unit=unit)
