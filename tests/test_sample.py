"""Office exclusion rule on the printed Table 2, the analysis sample, and Figure 1."""

from __future__ import annotations

import tomllib
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from conftest import make_panel_frame  # noqa: E402
from famtrial.flowchart import plot_flow  # noqa: E402
from famtrial.panel import load_panel  # noqa: E402
from famtrial.sample import analysis_sample, exclusion_rule  # noqa: E402

# Table 2 as printed (parents per office: coordinated, ordinary); copied from the paper so the test
# needs no file outside the repository.
TABLE2_INCLUDED = {1: (46, 97), 3: (63, 35), 4: (105, 52), 6: (71, 117), 9: (59, 35), 10: (49, 546), 11: (85, 42),
                   12: (86, 123), 13: (81, 57), 15: (61, 37), 17: (53, 57), 21: (57, 106), 25: (66, 46), 26: (82, 223)}
TABLE2_EXCLUDED = {2: (76, 1), 5: (103, 0), 7: (68, 16), 8: (26, 0), 14: (63, 15), 16: (74, 2), 18: (70, 2), 19: (44, 1),
                   20: (104, 0), 22: (92, 0), 23: (107, 5), 24: (82, 1), 27: (81, 11), 28: (53, 0), 29: (56, 1)}


def _table2_counts() -> pd.DataFrame:
    """Parent counts of Table 2 with a family structure that respects them: in every office the
    coordinated families are two-parent where needed to stay within the parents (so offices 4 and
    11, at 33.1% of parents, keep one third of their *families* in ordinary follow-up)."""
    rows = {}
    for office, (coord, ordinary) in {**TABLE2_INCLUDED, **TABLE2_EXCLUDED}.items():
        # ordinary families all single-parent; coordinated families: as many two-parent families
        # as 1/5 of the coordinated parents (a plausible share of couples)
        two = coord // 5
        rows[office] = {"parents_coordinated": coord, "parents_ordinary": ordinary,
                        "families_coordinated": coord - two, "families_ordinary": ordinary}
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def test_table2_matches_published_toml_when_available():
    path = Path(__file__).parents[2] / "shared" / "paper" / "published.toml"
    if not path.exists():
        pytest.skip("shared/paper/published.toml is not beside the checkout")
    pub = tomllib.loads(path.read_text())["table2"]
    for part, ours in (("included", TABLE2_INCLUDED), ("excluded", TABLE2_EXCLUDED)):
        assert {int(k.split("_")[1]): tuple(v) for k, v in pub[part].items()} == ours


def test_family_rule_recovers_the_14_included_offices():
    ruled = exclusion_rule(_table2_counts(), unit="family")
    assert sorted(ruled.index[ruled["included"]]) == sorted(TABLE2_INCLUDED)
    assert ruled.loc[ruled["included"], "parents_coordinated"].sum() == 964
    assert ruled.loc[ruled["included"], "parents_ordinary"].sum() == 1573


def test_parent_rule_would_drop_offices_4_and_11():
    ruled = exclusion_rule(_table2_counts(), unit="parent")
    dropped = set(TABLE2_INCLUDED) - set(ruled.index[ruled["included"]])
    assert dropped == {4, 11}
    assert ruled.loc[4, "control_share"] == pytest.approx(52 / 157)
    assert ruled.loc[11, "control_share"] == pytest.approx(42 / 127)


def test_rule_validates_its_options():
    with pytest.raises(ValueError, match="unit='office' is not one of"):
        exclusion_rule(_table2_counts(), unit="office")
    with pytest.raises(ValueError, match="threshold=1.5 must lie strictly between 0 and 1"):
        exclusion_rule(_table2_counts(), threshold=1.5)


def _unbalanced_panel():
    frame = make_panel_frame(n_families=120, offices=6)
    # office 6: everyone offered -> excluded
    frame.loc[frame["office"] == 6, "arm"] = 1
    frame.loc[frame["office"] == 6, "model"] = "holf"
    return frame


def test_analysis_sample_excludes_counts_and_flows():
    panel = load_panel(_unbalanced_panel())
    sample = analysis_sample(panel)
    assert sample.excluded_offices == [6]
    flow = sample.flow
    assert flow.parents_listed == 120 and flow.offices_excluded == 1 and flow.parents_excluded_offered == 20
    assert flow.parents_analysed_offered + flow.parents_analysed_ordinary == 100
    assert set(sample.panel.data["office"]) == {1, 2, 3, 4, 5}
    base = panel.data.drop_duplicates("parent_id")
    assert flow.parents_analysed_ordinary == int(((base["arm"] == 0) & (base["office"] != 6)).sum())
    numbers = sample.to_numbers()
    assert numbers["sample.offices_included"] == 5 and numbers["table2.office_6.included"] == 0
    assert numbers["sample.parents_excluded"] == 20
    t2 = sample.table2
    assert list(t2.display.index)[-1] == "Office 6" and "Included" in t2.display.columns
    assert "excluded: 1 offices, 20 parents" in t2.notes
    assert "excluded offices [6]" in sample.summary()


def test_figure1_renders_flow_counts(tmp_path):
    sample = analysis_sample(load_panel(_unbalanced_panel()))
    fig = plot_flow(sample.flow)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    f = sample.flow
    assert f"{f.families_listed:,} families, {f.parents_listed:,} parents" in texts
    assert f"{f.parents_analysed_ordinary:,} parents" in texts and "Excluded\n(1 offices)" in texts
    path = tmp_path / "figure1.png"
    fig.savefig(path, dpi=80)
    image = matplotlib.image.imread(path)
    assert image.shape[1] >= 500 and np.std(image[..., :3]) > 0.05  # not blank
