"""Office exclusion rule on the printed Table 2, the analysis sample, its numbers and summary."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from famtrial._paths import data_dir
from famtrial.data.load import load_panel
from famtrial.trial.sample import AnalysisSample, FlowCounts, analysis_sample, exclusion_rule, office_counts

SHARED_TOML = Path(__file__).resolve().parents[3] / "shared" / "paper" / "published.toml"


def _published() -> dict[str, float]:
    """The paper's numbers as committed in the repository (data/published/trial.toml)."""
    numbers = tomllib.loads((data_dir() / "published" / "trial.toml").read_text())["numbers"]
    return {k: v["value"] for k, v in numbers.items()}


def _table2() -> pd.DataFrame:
    """Printed Table 2: parents per office by arm, and whether the paper analysed the office."""
    pub = _published()
    offices = sorted({int(k.split(".")[1].split("_")[1]) for k in pub if k.startswith("table2.")})
    return pd.DataFrame(
        {
            "parents_coordinated": [pub[f"table2.office_{o}.coordinated"] for o in offices],
            "parents_ordinary": [pub[f"table2.office_{o}.ordinary"] for o in offices],
            "printed_included": [bool(pub[f"table2.office_{o}.included"]) for o in offices],
        },
        index=pd.Index(offices, name="office"),
    )


def _largest_remainder(total: int, weights: pd.Series) -> pd.Series:
    """Integers proportional to ``weights`` summing to ``total``."""
    share = weights / weights.sum() * total
    out = np.floor(share).astype(int)
    out[(share - out).sort_values(ascending=False).index[: total - out.sum()]] += 1
    return out


def _family_structure() -> pd.DataFrame:
    """Families per office and arm consistent with Table 2 and the printed family totals.

    Analysed offices hold 690 offered and 1124 ordinary families (964 and 1573 parents), so 274
    offered and 449 ordinary families have two parents. Couples are spread in proportion to the
    parents, except that the ordinary families of offices 4 and 11 are single parents (any couple
    there would take those offices below one third of families, contradicting the paper).
    Excluded offices: 1429 - 690 = 739 offered families; their 55 ordinary parents are 55
    single-parent families (the printed 1205 - 1124 = 81 cannot fit in 55 parents; see
    families_note in shared/paper/published.toml, beside the project).
    """
    t2 = _table2()
    inc = t2[t2["printed_included"]]
    exc = t2[~t2["printed_included"]]
    couples_c = pd.concat(
        [
            _largest_remainder(964 - 690, inc["parents_coordinated"]),
            _largest_remainder(int(exc["parents_coordinated"].sum()) - 739, exc["parents_coordinated"]),
        ]
    )
    ordinary_weights = inc["parents_ordinary"].where(~inc.index.isin([4, 11]), 0)
    couples_o = _largest_remainder(1573 - 1124, ordinary_weights).reindex(t2.index, fill_value=0)
    return t2.assign(
        families_coordinated=t2["parents_coordinated"] - couples_c.reindex(t2.index),
        families_ordinary=t2["parents_ordinary"] - couples_o,
    )


def test_repository_transcription_matches_the_shared_paper_file():
    if not SHARED_TOML.exists():
        pytest.skip("shared/paper/published.toml is not beside the checkout")
    shared = tomllib.loads(SHARED_TOML.read_text())
    t2 = _table2()
    for part, included in (("included", True), ("excluded", False)):
        for key, (coord, ordinary) in shared["table2"][part].items():
            row = t2.loc[int(key.split("_")[1])]
            assert (row["parents_coordinated"], row["parents_ordinary"], row["printed_included"]) == (
                coord,
                ordinary,
                included,
            )
    assert len(t2) == 29


def test_family_structure_respects_the_printed_counts():
    s = _family_structure()
    assert (s["families_coordinated"] <= s["parents_coordinated"]).all()
    assert (2 * s["families_coordinated"] >= s["parents_coordinated"]).all()
    assert (s["families_ordinary"] <= s["parents_ordinary"]).all()
    assert (2 * s["families_ordinary"] >= s["parents_ordinary"]).all()
    inc = s[s["printed_included"]]
    assert (inc["families_coordinated"].sum(), inc["families_ordinary"].sum()) == (690, 1124)
    assert (inc["parents_coordinated"].sum(), inc["parents_ordinary"].sum()) == (964, 1573)
    assert (
        s["families_coordinated"].sum() == 1429 and s["parents_coordinated"].sum() + s["parents_ordinary"].sum() == 3691
    )


def test_family_rule_recovers_exactly_the_14_analysed_offices():
    ruled = exclusion_rule(_family_structure(), unit="family")
    assert ruled["included"].tolist() == ruled["printed_included"].tolist()
    assert ruled["included"].sum() == 14
    # the share the rule used, recomputed by hand for office 4
    s = _family_structure().loc[4]
    assert ruled.loc[4, "control_share"] == s["families_ordinary"] / (
        s["families_ordinary"] + s["families_coordinated"]
    )


def test_parent_rule_would_drop_offices_4_and_11():
    ruled = exclusion_rule(_family_structure(), unit="parent")
    dropped = ruled.index[ruled["printed_included"] & ~ruled["included"]].tolist()
    assert dropped == [4, 11]
    assert ruled.loc[4, "control_share"] == pytest.approx(52 / 157) and 52 / 157 < 1 / 3
    assert ruled.loc[11, "control_share"] == pytest.approx(42 / 127) and 42 / 127 < 1 / 3
    assert not (ruled["included"] & ~ruled["printed_included"]).any()


def test_rule_boundary_is_exact_and_options_are_validated():
    counts = pd.DataFrame({"families_coordinated": [20, 7, 14], "families_ordinary": [10, 3, 6]}, index=[1, 2, 3])
    ruled = exclusion_rule(counts)  # 10/30 is exactly one third: included; 3/10, 6/20 are below
    assert ruled["included"].tolist() == [True, False, False]
    assert exclusion_rule(counts, threshold=0.3)["included"].tolist() == [True, True, True]
    with pytest.raises(ValueError, match="unit='office' is not one of"):
        exclusion_rule(counts, unit="office")
    with pytest.raises(ValueError, match="threshold=1.5 must lie strictly between 0 and 1"):
        exclusion_rule(counts, threshold=1.5)
    with pytest.raises(ValueError, match=r"lacks \['parents_coordinated', 'parents_ordinary'\]"):
        exclusion_rule(counts, unit="parent")
    with pytest.raises(ValueError, match=r"offices \[2\] have no listed families"):
        exclusion_rule(counts.assign(families_coordinated=[20, 0, 14], families_ordinary=[10, 0, 6]))


def _trial_panel(structure: pd.DataFrame) -> pd.DataFrame:
    """A two-month long panel with exactly the structure's families and parents per office and arm."""
    rows = []
    family = 0
    for office, s in structure.iterrows():
        for arm, kind in ((1, "coordinated"), (0, "ordinary")):
            families, parents = int(s[f"families_{kind}"]), int(s[f"parents_{kind}"])
            sizes = np.r_[np.full(parents - families, 2), np.full(2 * families - parents, 1)]
            for size in sizes:
                rows += [(family, office, arm)] * int(size)
                family += 1
    people = pd.DataFrame(rows, columns=["family_id", "office", "arm"])
    people["parent_id"] = np.arange(len(people)) + 10_000
    rng = np.random.default_rng(7)
    frame = people.loc[people.index.repeat(2)].reset_index(drop=True)
    frame["month"] = np.tile(["2016-09", "2016-10"], len(people))
    frame["model"] = np.where(frame["arm"] == 0, "ordinary", np.where(frame["office"] % 2 == 0, "holf", "local"))
    for c in ("activation", "employed", "married", "reduced_work_capacity", "female", "immigrant"):
        frame[c] = rng.integers(0, 2, len(frame))
    frame["n_children"] = rng.integers(1, 5, len(frame))
    frame["year_of_birth"] = rng.integers(1960, 1999, len(frame))
    return frame


@pytest.fixture(scope="module")
def trial_sample() -> AnalysisSample:
    return analysis_sample(load_panel(_trial_panel(_family_structure())))


def test_analysis_sample_reproduces_the_printed_sample_and_table2(trial_sample):
    numbers = trial_sample.to_numbers()
    published = _published()
    keys = [k for k in published if k.startswith(("sample.", "table2."))]
    assert len(keys) == 7 + 29 * 3 and set(keys) <= set(numbers)
    assert {k: numbers[k] for k in keys} == {k: float(published[k]) for k in keys}
    assert all(isinstance(v, float) for v in numbers.values())


def test_flow_counts_every_family_and_parent(trial_sample):
    f = trial_sample.flow
    assert isinstance(f, FlowCounts) and (f.threshold, f.unit) == (1 / 3, "family")
    assert (f.offices, f.offices_included, f.offices_excluded) == (29, 14, 15)
    assert (f.families_listed, f.parents_listed) == (1429 + 1179, 3691)
    assert (f.families_offered, f.families_ordinary) == (1429, 1179)
    assert (f.families_excluded_offered, f.parents_excluded_offered) == (739, 1099)
    assert (f.families_excluded_ordinary, f.parents_excluded_ordinary) == (55, 55)
    assert (f.families_analysed_offered, f.parents_analysed_offered) == (690, 964)
    assert (f.families_analysed_ordinary, f.parents_analysed_ordinary) == (1124, 1573)
    assert f.parents_offered == f.parents_excluded_offered + f.parents_analysed_offered
    assert f.families_ordinary == f.families_excluded_ordinary + f.families_analysed_ordinary
    assert f.to_frame().loc["parents_listed", "count"] == 3691


def test_restricted_panel_and_excluded_offices(trial_sample):
    excluded = [2, 5, 7, 8, 14, 16, 18, 19, 20, 22, 23, 24, 27, 28, 29]
    assert trial_sample.excluded_offices == excluded
    assert trial_sample.included_offices == [1, 3, 4, 6, 9, 10, 11, 12, 13, 15, 17, 21, 25, 26]
    panel = trial_sample.panel
    assert sorted(panel.data["office"].unique()) == trial_sample.included_offices
    assert panel.report.parents == 2537 and panel.report.offices_removed == tuple(excluded)
    assert len(panel.baseline_frame()) == 2537


def test_table2_layout_and_summary(trial_sample):
    t2 = trial_sample.table2
    shown = t2.display
    assert list(shown.index[:14]) == [f"Office {o}" for o in trial_sample.included_offices]
    assert list(shown.index[14:]) == [f"Office {o}" for o in trial_sample.excluded_offices]
    assert list(shown.columns) == [
        "Coordinated follow-up",
        "Ordinary follow-up",
        "Families (coordinated follow-up)",
        "Families (ordinary follow-up)",
        "Control share (families)",
        "Included",
    ]
    assert shown.loc["Office 10"].tolist()[:2] == ["49", "546"] and shown.loc["Office 5", "Included"] == "no"
    assert t2.frame.loc[4, "included"] and t2.frame.loc[4, "parents_ordinary"] == 52
    assert t2.title == "Table 2. Parents per office by experimental condition, k = 29, n = 3,691 parents"
    assert (
        "excluded: 15 offices, 1,154 parents" in t2.notes
        and "Rule: an office is excluded when fewer than 1/3 of its listed families are in the control arm" in t2.notes
    )
    text = trial_sample.summary()
    assert text.startswith(
        "Analysis sample: an office is excluded when fewer than 1/3 of its listed families "
        "are in the control arm (ordinary follow-up)"
    )
    assert "offices: 14 of 29 included, 15 excluded [2, 5, 7" in text
    assert "excluded: 739 offered and 55 control families (1,099 and 55 parents)" in text
    assert "analysed: 690 offered and 1,124 control families (964 and 1,573 parents)" in text
    assert "| Office 26 | 82 | 223 |" in t2.to_markdown()


def test_parent_rule_on_a_panel():
    sample = analysis_sample(load_panel(_trial_panel(_family_structure())), unit="parent")
    assert {4, 11} <= set(sample.excluded_offices) and sample.flow.offices_included == 12
    assert sample.flow.parents_analysed_ordinary == 1573 - 52 - 42
    assert "Control share (parents)" in sample.table2.display.columns


def test_office_counts_and_errors():
    frame = _trial_panel(_family_structure().loc[[1, 2]])
    panel = load_panel(frame)
    counts = office_counts(panel)
    people = frame.drop_duplicates("parent_id")
    assert counts.loc[1, "parents_coordinated"] == ((people["office"] == 1) & (people["arm"] == 1)).sum() == 46
    assert (
        counts.loc[2, "families_ordinary"]
        == people.loc[(people["office"] == 2) & (people["arm"] == 0), "family_id"].nunique()
    )
    only_excluded = load_panel(frame[frame["office"] == 2])
    with pytest.raises(ValueError, match="no office meets the rule"):
        analysis_sample(only_excluded)
    with pytest.raises(TypeError, match="needs a famtrial Panel"):
        analysis_sample(frame)
    with pytest.raises(ValueError, match="unit='household' is not one of"):
        analysis_sample(panel, unit="household")
