"""The analysis sample: the office exclusion rule, Table 2 and the participant flow (Figure 1).

The plan's rule (``[sample]``): an office is excluded when fewer than ``threshold`` of its listed
units (families or parents) are in the control arm (arm 0); ``rule = "none"`` analyses every
office. The family-coordinator paper evaluates a one-third rule on families: its Table 2 counts
parents, and on parents offices 4 (52/157 = 0.331) and 11 (42/127 = 0.331) fall below one third
yet are analysed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from typing import Any, get_args

import numpy as np
import pandas as pd

from famtrial._options import Role, Rule, Unit
from famtrial._parallel import is_dask_dataframe
from famtrial.data.panel import Panel
from famtrial.plan.spec import Columns
from famtrial.table import Table

__all__ = ["FlowCounts", "AnalysisSample", "office_counts", "exclusion_rule", "analysis_sample"]


_UNITS = get_args(Unit)

_RULES = get_args(Rule)


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
    rule_kind: Rule = "control_share"
    units: tuple[str, str, str] = ("parent", "family", "office")
    offered_label: str = "Offered"
    control_label: str = "Control"

    def noun(self, role: Role, n: int | None = None) -> str:
        """The trial's word for a unit (``flow.noun("family", 2)`` -> ``"families"``)."""
        from famtrial._text import plural

        word = self.units[("parent", "family", "office").index(role)]
        return word if n == 1 else plural(word)

    @property
    def rule(self) -> str:
        """The exclusion rule in words."""
        if self.rule_kind == "none":
            return f"every {self.noun('office', 1)} is analysed (no exclusion rule)"
        from famtrial._text import article

        office = self.noun("office", 1)
        named = f" ({self.control_label.lower()})" if self.control_label.lower() != "control" else ""
        return (
            f"{article(office)} {office} is excluded when fewer than "
            f"{_fraction(self.threshold)} of its listed {self.noun(self.unit)} are in the control arm{named}"
        )

    def to_frame(self) -> pd.DataFrame:
        """Every field as a row of a one-column frame (``count``)."""
        return pd.Series(asdict(self), name="count").to_frame()


def _check_unit(unit: object) -> None:
    if not isinstance(unit, str) or unit not in _UNITS:
        raise ValueError(f"unit={unit!r} is not one of {_UNITS}")


def _check_threshold(threshold: object) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, Fraction, np.integer, np.floating)):
        raise TypeError(f"threshold={threshold!r} must be a number strictly between 0 and 1 (e.g. threshold=1/3)")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold={threshold!r} must lie strictly between 0 and 1")


def _people(data: pd.DataFrame, cols: Columns) -> pd.DataFrame:
    """One row per parent (its first), from data sorted by parent and month: parent, family, office, arm."""
    parent = data[cols.parent].to_numpy()
    first = np.r_[True, parent[1:] != parent[:-1]]
    return data.loc[first, [cols.parent, cols.family, cols.office, cols.arm]]


def office_counts(panel: Panel) -> pd.DataFrame:
    """Per office: parents and families in each arm (one row per office, sorted by office).

    On a Dask panel (``load_panel(..., engine="dask")``) one row per parent is gathered from the
    partitions (a parents x 4 frame on the client), then counted as in memory.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"office_counts needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
    cols = panel.columns
    if is_dask_dataframe(panel.data):  # one row per parent from each partition (each holds whole parents)
        people = panel.data.map_partitions(_people, cols).compute()
    else:
        people = _people(panel.data, cols)

    def by_arm(frame: pd.DataFrame) -> pd.DataFrame:
        counts = frame.groupby([cols.office, cols.arm]).size().unstack(cols.arm, fill_value=0)
        return counts.reindex(columns=[1, 0], fill_value=0)

    parents, families = by_arm(people), by_arm(people.drop_duplicates(cols.family))
    out = pd.DataFrame(
        {
            "parents_coordinated": parents[1],
            "parents_ordinary": parents[0],
            "families_coordinated": families[1],
            "families_ordinary": families[0],
        }
    )
    out.index.name = "office"
    return out.sort_index()


def exclusion_rule(counts: pd.DataFrame, threshold: float = 1 / 3, unit: Unit = "family") -> pd.DataFrame:
    """Apply the rule to a per-office count table (columns ``{unit}s_coordinated``, ``{unit}s_ordinary``).

    Adds ``control_share`` = ordinary / (coordinated + ordinary) on ``unit`` and ``included`` =
    ``control_share >= threshold``, decided in exact integer arithmetic (``threshold`` as a
    fraction, so an office at exactly one third is included). Pure: needs only the count table,
    e.g. Table 2's printed counts.
    """
    if not isinstance(counts, pd.DataFrame):
        raise TypeError(
            f"exclusion_rule needs the per-office count table (a DataFrame from office_counts(panel)), "
            f"not {type(counts).__name__}"
        )
    _check_unit(unit)
    _check_threshold(threshold)
    plural = "families" if unit == "family" else "parents"
    need = [f"{plural}_coordinated", f"{plural}_ordinary"]
    absent = [c for c in need if c not in counts.columns]
    if absent:
        raise ValueError(f"the count table lacks {absent} needed for unit={unit!r}")
    for c in need:
        col = counts[c]
        if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            raise ValueError(f"count column {c!r} is {col.dtype}, not numbers: give whole-number counts")
        values = col.to_numpy(dtype=float, na_value=np.nan)
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            raise ValueError(
                f"count column {c!r}: offices {list(counts.index[bad])[:5]} have missing, infinite or "
                "fractional counts: give whole-number counts"
            )
    coordinated, ordinary = (counts[c].to_numpy(np.int64) for c in need)
    total = coordinated + ordinary
    if (total <= 0).any() or (coordinated < 0).any() or (ordinary < 0).any():
        raise ValueError(
            f"offices {list(counts.index[(total <= 0) | (coordinated < 0) | (ordinary < 0)])} "
            f"have no listed {plural} or negative counts"
        )
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
    title: str = ""
    name: str = "sample"
    arm_keys: tuple[str, str] = ("offered", "control")

    def _key(self, role: Role, n: int | None = None) -> str:
        """The trial's noun for ``role`` as a part of a machine-readable name (``parents``, ``district``)."""
        from famtrial._text import key_name

        return key_name(self.flow.noun(role, n))

    def _csv_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The sample table's numbers under the plan's words: ``<units>_<arm key>`` columns, the office noun."""
        offered, control = self.arm_keys
        parents, families = self._key("parent"), self._key("family")
        names = {
            "parents_coordinated": f"{parents}_{offered}",
            "parents_ordinary": f"{parents}_{control}",
            "families_coordinated": f"{families}_{offered}",
            "families_ordinary": f"{families}_{control}",
        }
        out = frame.rename(columns=names)
        out.index.name = self._key("office", 1)
        return out

    @property
    def excluded_offices(self) -> list[Any]:
        """Labels of the offices the rule excludes."""
        return list(self.offices.index[~self.offices["included"]])

    @property
    def included_offices(self) -> list[Any]:
        """Labels of the analysed offices."""
        return list(self.offices.index[self.offices["included"]])

    @property
    def table2(self) -> Table:
        """Table 2: parents and families per office and arm, included offices first, with the rule's share."""
        frame = pd.concat([self.offices[self.offices["included"]], self.offices[~self.offices["included"]]])
        f = self.flow
        families, parents, office = f.noun("family").capitalize(), f.noun("parent"), f.noun("office", 1).capitalize()
        display = pd.DataFrame(
            {
                f.offered_label: frame["parents_coordinated"].map("{:,}".format),
                f.control_label: frame["parents_ordinary"].map("{:,}".format),
                f"{families} ({f.offered_label.lower()})": frame["families_coordinated"].map("{:,}".format),
                f"{families} ({f.control_label.lower()})": frame["families_ordinary"].map("{:,}".format),
                f"Control share ({f.noun(self.unit)})": frame["control_share"].map("{:.3f}".format),
                "Included": frame["included"].map({True: "yes", False: "no"}),
            }
        )
        display.index = pd.Index([f"{office} {o}" for o in frame.index], name=office)
        title = (
            f"{self.title}, k = {f.offices}, n = {f.parents_listed:,} {parents}"
            if self.title
            else f"{parents.capitalize()} per {f.noun('office', 1)} by arm, k = {f.offices}, n = {f.parents_listed:,} {parents}"
        )
        analysed = f.parents_analysed_offered + f.parents_analysed_ordinary
        excluded = f.parents_excluded_offered + f.parents_excluded_ordinary
        notes = (
            f"Included: {f.offices_included} {f.noun('office', f.offices_included)}, {analysed:,} {parents}; "
            f"excluded: {f.offices_excluded} {f.noun('office', f.offices_excluded)}, {excluded:,} {parents}. "
            f"Rule: {f.rule}."
        )
        return Table(frame=self._csv_frame(frame), display=display, title=title, notes=notes)

    def summary(self) -> str:
        """The rule, the excluded offices with their counts, and the analysed sample."""
        f = self.flow
        fam, par = f.noun("family"), f.noun("parent")
        lines = [
            f"Analysis sample: {f.rule}",
            f"{f.noun('office')}: {f.offices_included} of {f.offices} included, {f.offices_excluded} excluded "
            f"{self.excluded_offices}",
            f"excluded: {f.families_excluded_offered:,} offered and {f.families_excluded_ordinary:,} control "
            f"{fam} ({f.parents_excluded_offered:,} and {f.parents_excluded_ordinary:,} {par})",
            f"analysed: {f.families_analysed_offered:,} offered and {f.families_analysed_ordinary:,} control "
            f"{fam} ({f.parents_analysed_offered:,} and {f.parents_analysed_ordinary:,} {par})",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def to_numbers(self) -> dict[str, float]:
        """Reproduced ``sample.*`` and ``<name>.office_<label>.*`` numbers for ``famtrial verify``."""
        f = self.flow
        offices, parents, families = self._key("office"), self._key("parent"), self._key("family")
        office = self._key("office", 1)
        out = {
            f"sample.{offices}_included": f.offices_included,
            f"sample.{parents}_included": f.parents_analysed_offered + f.parents_analysed_ordinary,
            f"sample.{parents}_treated": f.parents_analysed_offered,
            f"sample.{parents}_control": f.parents_analysed_ordinary,
            f"sample.{families}_treated": f.families_analysed_offered,
            f"sample.{families}_control": f.families_analysed_ordinary,
            f"sample.{parents}_excluded": f.parents_excluded_offered + f.parents_excluded_ordinary,
        }
        offered, control = self.arm_keys
        for label, row in self.offices.iterrows():
            out[f"{self.name}.{office}_{label}.{offered}"] = int(row["parents_coordinated"])
            out[f"{self.name}.{office}_{label}.{control}"] = int(row["parents_ordinary"])
            out[f"{self.name}.{office}_{label}.included"] = int(row["included"])
        return {k: float(v) for k, v in out.items()}


def analysis_sample(
    panel: Panel, *, threshold: float | None = None, unit: Unit | None = None, rule: Rule | None = None
) -> AnalysisSample:
    """Exclude offices with too few controls (the plan's rule) and report the sample table and the flow.

    The rule: office o is analysed when ``control_o / (offered_o + control_o) >= threshold``,
    counted on families or parents; ``rule="none"`` analyses every office. ``threshold``,
    ``unit`` and ``rule`` default to the panel's plan (``[sample]``). Every excluded office,
    family and parent is counted in ``flow`` and shown in ``summary()``.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"analysis_sample needs a famtrial Panel (from load_panel), not {type(panel).__name__}")
    plan = panel.plan
    rule = plan.sample_rule if rule is None else rule
    if not isinstance(rule, str) or rule not in _RULES:
        raise ValueError(f"rule={rule!r} is not one of {_RULES}")
    if rule == "none" and threshold is not None:
        raise ValueError("threshold= has no meaning with rule='none' (every office is analysed)")
    threshold = plan.threshold if threshold is None else threshold
    unit = plan.sample_unit if unit is None else unit
    _check_unit(unit)
    if rule != "none":
        _check_threshold(threshold)
    counts = office_counts(panel)
    if rule == "none":
        offices = counts.copy()
        plural = "families" if unit == "family" else "parents"
        total = offices[f"{plural}_coordinated"] + offices[f"{plural}_ordinary"]
        offices["control_share"] = offices[f"{plural}_ordinary"] / total
        offices["included"] = True
    else:
        offices = exclusion_rule(counts, threshold, unit)
    inc = offices[offices["included"]].sum(numeric_only=True)
    exc = offices[~offices["included"]].sum(numeric_only=True)
    tot = offices.sum(numeric_only=True)
    flow = FlowCounts(
        offices=len(offices),
        offices_included=int(offices["included"].sum()),
        offices_excluded=int((~offices["included"]).sum()),
        families_listed=int(tot["families_coordinated"] + tot["families_ordinary"]),
        parents_listed=int(tot["parents_coordinated"] + tot["parents_ordinary"]),
        families_offered=int(tot["families_coordinated"]),
        parents_offered=int(tot["parents_coordinated"]),
        families_ordinary=int(tot["families_ordinary"]),
        parents_ordinary=int(tot["parents_ordinary"]),
        families_excluded_offered=int(exc.get("families_coordinated", 0)),
        parents_excluded_offered=int(exc.get("parents_coordinated", 0)),
        families_excluded_ordinary=int(exc.get("families_ordinary", 0)),
        parents_excluded_ordinary=int(exc.get("parents_ordinary", 0)),
        families_analysed_offered=int(inc.get("families_coordinated", 0)),
        parents_analysed_offered=int(inc.get("parents_coordinated", 0)),
        families_analysed_ordinary=int(inc.get("families_ordinary", 0)),
        parents_analysed_ordinary=int(inc.get("parents_ordinary", 0)),
        threshold=threshold,
        unit=unit,
        rule_kind=rule,
        units=plan.units,
        offered_label=plan.offered_label,
        control_label=plan.control_label,
    )
    if flow.offices_included == 0:
        raise ValueError(
            f"no {flow.noun('office', 1)} meets the rule (control share >= {threshold:.4g} of "
            f"{flow.noun(unit)}); lower the threshold or check the arm coding"
        )
    return AnalysisSample(
        panel=panel.restrict(offices.index[offices["included"]]),
        offices=offices,
        flow=flow,
        threshold=threshold,
        unit=unit,
        title=plan.sample_title,
        name=plan.sample_table,
        arm_keys=(plan.offered_key, plan.control_key),
    )
