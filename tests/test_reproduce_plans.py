"""The second shipped plan runs end to end and its outputs speak only of its own trial."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import famtrial  # noqa: E402

PAPER_WORDS = re.compile(
    r"\b(coordinator|HOLF|activation|employ\w*|family|families|parents?|NCT03102775|2016-10)\b", re.IGNORECASE
)


@pytest.fixture(scope="module")
def casework(tmp_path_factory):
    out = tmp_path_factory.mktemp("casework")
    return famtrial.reproduce(None, out, plan="casework", n_perm=19, progress=False)


@pytest.mark.slow
def test_casework_runs_end_to_end(casework):
    plan = casework.plan
    names = {p.name for p in casework.files}
    assert {
        "table1.md",
        "table2.md",
        "table3.md",
        "table4.md",
        "table5.md",
        "figure1.png",
        "figure2.png",
        "figure3.png",
        "monthly_work.csv",
        "monthly_educ.csv",
        "inference.csv",
        "reproduced.csv",
    } <= names
    numbers = casework.numbers
    assert numbers["sample.offices_included"] == 20 and numbers["table1.office_K21.included"] == 0
    assert numbers["table2.n.total"] == numbers["sample.persons_included"]
    # the true log-ORs of the simulated trial: work 0.25 pooled (phone 0.10, home 0.35, group 0.30), educ 0
    assert 1.1 < numbers["table4.work.casework_pooled.or"] < 1.45
    assert numbers["table4.work_by_variant.casework_home.or"] > numbers["table4.work_by_variant.casework_phone.or"]
    assert 0.8 < numbers["table5.educ.casework_pooled.or"] < 1.25
    assert "monthly.work.2019-04.or" in numbers and "monthly.educ.2022-12.or" in numbers
    inference = pd.read_csv(casework.out / "inference.csv", index_col=0)
    assert list(inference.index) == ["work"] and inference.loc["work", "ri_draws"] == 19
    assert plan.name.startswith("Welfare casework trial")


@pytest.mark.slow
def test_casework_outputs_use_its_own_words(casework):
    out = casework.out
    table4 = (out / "table4.md").read_text()
    assert table4.startswith("**Table 4. Fixed-effects logit: paid work (month fixed effects)**")
    for label in (
        "Casework (any variant)",
        "Casework by phone",
        "Casework with home visits",
        "Casework in groups",
        "Number of children",
        "Health limitation",
        "Persons with outcome change",
        "n persons",
    ):
        assert label in table4
    assert "clustered by office, G = 20" in table4 and "month fixed effects" in table4 and "group = person" in table4
    table1 = (out / "table1.md").read_text()
    assert "Table 1. Persons per office by arm, k = 24, n = 2,966 persons" in table1
    assert "fewer than 1/4 of its listed persons are in the control arm (ordinary follow-up)" in table1
    assert "Casework offered" in (out / "table2.md").read_text()
    for path in out.glob("*.md"):  # nothing of the family-coordinator paper leaks into another trial's outputs
        assert not PAPER_WORDS.search(path.read_text()), (path.name, PAPER_WORDS.search(path.read_text()))
    assert not PAPER_WORDS.search("\n".join(casework.notes))


@pytest.mark.slow
def test_casework_figure_titles():
    plan = famtrial.load_plan("casework")
    panel = famtrial.analysis_sample(famtrial.load_panel(plan.resolve_data(), plan)).panel
    effects = famtrial.monthly_effects(panel, "educ", progress=False, n_boot=99)
    assert effects.fixed_effects == "office" and effects.controls == ("health", "work", "educ")
    fig = famtrial.plot_monthly(effects, number=3)
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Figure 3. Effects of coordinated casework on education or training"
    caption = " ".join(t.get_text().replace("\n", " ") for t in fig.texts)
    assert "k = 20 offices" in caption and "persons" in caption and "SE clustered by office" in caption
    assert "office fixed effects" in caption and not PAPER_WORDS.search(caption)
