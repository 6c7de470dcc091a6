"""The analysis sample: the office exclusion rule, Table 2 and the participant flow (Figure 1).

An office is excluded when fewer than ``threshold`` (default one third) of its listed units remain
in ordinary follow-up (arm 0). The paper evaluates the rule on families: Table 2 counts parents,
and on parents offices 4 (52/157 = 0.331) and 11 (42/127 = 0.331) fall below one third yet are
analysed, so ``unit="family"`` is the default and ``unit="parent"`` an option.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd

from famtrial.panel import Panel
from famtrial.tables import Table

__all__ = ["FlowCounts", "AnalysisSample", "office_counts", "exclusion_rule", "analysis_sample"]

Unit = Literal["family", "parent"]
_UNITS = ("family", "parent")


def _fraction(threshold: float) -> str:
    rule = Fraction(threshold).limit_denominator(1000)
    return f"{rule.numerator}/{rule.denominator}" if abs(float(rule) - threshold) < 1e-12 else f"{threshold:.4g}"


@dataclass(frozen=True)
class FlowCounts:
    """Participant flow (CONSORT): families and parents at each step, by arm, and the rule applied."""

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
    threshold: float = 1 / 3
    unit: Unit = "family"

    @property
    def rule(self) -> str:
        """The exclusion rule in words."""
        plural = "families" if self.unit == "family" else "parents"
        return (f"an office is excluded when fewer than {_fraction(self.threshold)} of its listed {plural} "
                "remain in ordinary follow-up")

    def to_frame(self) -> pd.DataFrame:
        return pd.Series(asdict(self), name="count").to_frame()


def office_counts(panel: Panel) -> pd.DataFrame:
    """Per office: parents and families in each arm (one row per office, sorted by office)."""
    cols = panel.columns
    parent = panel.data[cols.parent].to_numpy()
    first = np.r_[True, parent[1:] != parent[:-1]]  # data are sorted by parent, month
    people = panel.data.loc[first, [cols.parent, cols.family, cols.office, cols.arm]]
    def by_arm(frame: pd.DataFrame) -> pd.DataFrame:
        counts = frame.groupby([cols.office, cols.arm]).size().unstack(cols.arm, fill_value=0)
        return counts.reindex(columns=[1, 0], fill_value=0)

    parents, families = by_arm(people), by_arm(people.drop_duplicates(cols.family))
    out = pd.DataFrame({"parents_coordinated": parents[1], "parents_ordinary": parents[0],
                        "families_coordinated": families[1], "families_ordinary": families[0]})
    out.index.name = "office"
    return out.sort_index()


def exclusion_rule(counts: pd.DataFrame, threshold: float = 1 / 3, unit: Unit = "family") -> pd.DataFrame:
    """Apply the rule to a per-office count table (columns ``{unit}s_coordinated``, ``{unit}s_ordinary``).

    Adds ``control_share`` = ordinary / (coordinated + ordinary) on ``unit`` and ``included`` =
    ``control_share >= threshold``, decided in exact integer arithmetic (``threshold`` as a
    fraction, so an office at exactly one third is included). Pure: needs only the count table,
    e.g. Table 2's printed counts.
    """
    if unit not in _UNITS:
        raise ValueError(f"unit={unit!r} is not one of {_UNITS}")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must lie strictly between 0 and 1")
    plural = "families" if unit == "family" else "parents"
    need = [f"{plural}_coordinated", f"{plural}_ordinary"]
    absent = [c for c in need if c not in counts.columns]
    if absent:
        raise ValueError(f"the count table lacks {absent} needed for unit={unit!r}")
    coordinated, ordinary = (counts[c].to_numpy(np.int64) for c in need)
    total = coordinated + ordinary
    if (total <= 0).any() or (coordinated < 0).any() or (ordinary < 0).any():
        raise ValueError(f"offices {list(counts.index[(total <= 0) | (coordinated < 0) | (ordinary < 0)])} "
                         f"have no listed {plural} or negative counts")
    rule = Fraction(threshold).limit_denominator(10**6)
    out = counts.copy()
    out["control_share"] = ordinary / total
    out["included"] = ordinary * rule.denominator >= rule.numerator * total
    return out


@dataclass(frozen=True, repr=False)
class AnalysisSample:
    """The analysis panel, Table 2 and the participant flow.

    Attributes
    ----------
    panel : Panel
        The panel restricted to the included offices (its report lists the removed offices).
    offices : DataFrame
        Per office (sorted by label): parents and families by arm, ``control_share`` on ``unit``,
        ``included``.
    flow : FlowCounts
    threshold : float
    unit : {"family", "parent"}
    """

    panel: Panel
    offices: pd.DataFrame
    flow: FlowCounts
    threshold: float
    unit: Unit

    @property
    def excluded_offices(self) -> list:
        """Labels of the offices the rule excludes."""
        return list(self.offices.index[~self.offices["included"]])

    @property
    def included_offices(self) -> list:
        """Labels of the analysed offices."""
        return list(self.offices.index[self.offices["included"]])

    @property
    def table2(self) -> Table:
        """Table 2: parents and families per office and arm, included offices first, with the rule's share."""
        frame = pd.concat([self.offices[self.offices["included"]], self.offices[~self.offices["included"]]])
        plural = "families" if self.unit == "family" else "parents"
        display = pd.DataFrame({
            "Coordinated follow-up": frame["parents_coordinated"].map("{:,}".format),
            "Ordinary follow-up": frame["parents_ordinary"].map("{:,}".format),
            "Families coordinated": frame["families_coordinated"].map("{:,}".format),
            "Families ordinary": frame["families_ordinary"].map("{:,}".format),
            f"Ordinary share ({plural})": frame["control_share"].map("{:.3f}".format),
            "Included": frame["included"].map({True: "yes", False: "no"}),
        })
        display.index = pd.Index([f"Office {o}" for o in frame.index], name="Office")
        f = self.flow
        title = (f"Table 2. Parents per office by experimental condition, k = {f.offices}, "
                 f"n = {f.parents_listed:,} parents")
        analysed = f.parents_analysed_offered + f.parents_analysed_ordinary
        excluded = f.parents_excluded_offered + f.parents_excluded_ordinary
        notes = (f"Included: {f.offices_included} offices, {analysed:,} parents; excluded: {f.offices_excluded} "
                 f"offices, {excluded:,} parents. Rule: {f.rule}.")
        return Table(frame=frame, display=display, title=title, notes=notes)

    def summary(self) -> str:
        """The rule, the excluded offices with their counts, and the analysed sample."""
        f = self.flow
        lines = [f"Analysis sample: {f.rule} (arm 0)",
                 f"offices: {f.offices_included} of {f.offices} included, {f.offices_excluded} excluded "
                 f"{self.excluded_offices}",
                 f"excluded: {f.families_excluded_offered:,} offered and {f.families_excluded_ordinary:,} ordinary "
                 f"families ({f.parents_excluded_offered:,} and {f.parents_excluded_ordinary:,} parents)",
                 f"analysed: {f.families_analysed_offered:,} offered and {f.families_analysed_ordinary:,} ordinary "
                 f"families ({f.parents_analysed_offered:,} and {f.parents_analysed_ordinary:,} parents)"]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

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
    if not isinstance(panel, Panel):
        raise TypeError(f"analysis_sample needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
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
        threshold=threshold, unit=unit,
    )
    if flow.offices_included == 0:
        raise ValueError(f"no office meets the rule (ordinary share >= {threshold:.4g} of {unit}s); "
                         "lower threshold= or check the arm coding")
    return AnalysisSample(panel=panel.restrict(offices.index[offices["included"]]), offices=offices, flow=flow,
                          threshold=threshold, unit=unit)
