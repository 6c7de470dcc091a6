"""The third example, a school-home liaison trial (tests/examples/liaison): its delivered files speak its words.

The panel is built by ``make_liaison.py`` (famtrial.simulation plus late entry, ISO-date months and
distractor columns): guardians in households in 11 districts, arms "T"/"C", no variants, a rare
outcome; a one-fifth rule leaves G = 9 districts. Counts are checked against pandas on the generated
file, independently of famtrial's sample code.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from fractions import Fraction
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import famtrial  # noqa: E402
from famtrial.errors import FewClustersWarning  # noqa: E402

HERE = Path(__file__).parent / "liaison"
# the shipped plans' vocabulary (the family-coordinator paper and the casework example); "family-wise" is statistics
OTHER_WORDS = re.compile(
    r"\b(parents?|famil(y|ies)(?!-wise)|offices?|coordinat\w*|ordinary|HOLF|NAV|activation|employ\w*|casework|"
    r"persons?|kontor)\b",
    re.IGNORECASE,
)
CAUTION = "Few clusters: G = 9 districts, fewer than 10"


def _make_liaison():
    spec = importlib.util.spec_from_file_location("make_liaison", HERE / "make_liaison.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def liaison_frame():
    return _make_liaison().build_panel()


@pytest.fixture(scope="module")
def liaison_run(tmp_path_factory, liaison_frame):
    out = tmp_path_factory.mktemp("liaison")
    path = out / "liaison_panel.csv"
    liaison_frame.to_csv(path, index=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = famtrial.reproduce(path, out / "results", plan=HERE / "liaison.toml", n_perm=19, progress=False)
    return run, caught


def _text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":  # the page's words, not its embedded images or its stylesheet (font-family)
        text = re.sub(r"<style>.*?</style>", "", re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", text), flags=re.S)
    return text


def test_the_generated_panel_is_what_the_example_promises(liaison_frame):
    frame = liaison_frame
    assert set(frame["grp"]) == {"T", "C"} and frame["district"].nunique() == 11
    assert frame["period"].str.fullmatch(r"\d{4}-\d{2}-01").all()  # ISO dates
    first = frame.groupby("guardian_no")["period"].min()
    assert (first > frame["period"].min()).mean() > 0.1  # late entry
    assert 0.01 < frame["referral"].mean() < 0.06  # a rare outcome
    assert frame.groupby("hh_id")["grp"].nunique().max() == 1


def test_no_other_trial_words_in_any_delivered_file(liaison_run):
    run, _ = liaison_run
    delivered = [p for p in run.files if p.suffix in (".csv", ".md", ".html")]
    assert {p.suffix for p in delivered} == {".csv", ".md", ".html"}
    for path in delivered:
        found = OTHER_WORDS.search(_text(path))
        assert not found, (path.name, found.group(0), _text(path)[max(0, found.start() - 80) : found.end() + 40])
    assert not OTHER_WORDS.search("\n".join(run.notes))
    keys = set(run.numbers)
    assert {"sample.districts_included", "sample.guardians_included", "tab_sample.district_D01.offered"} <= keys
    assert "district,guardians_offered,guardians_control,households_offered,households_control" in _text(
        run.out / "tab_sample.csv"
    )
    assert "n_districts" in pd.read_csv(run.out / "monthly_referral.csv").columns


def test_few_cluster_caution_in_every_inferential_artefact(liaison_run):
    run, caught = liaison_run
    out = run.out
    for name in ("tab_models.md", "inference.md"):
        assert CAUTION in _text(out / name), name
    report = _text(out / "report.html")
    assert report.count(CAUTION) >= 5  # the clusters section, the model table, two monthly tables, inference
    assert 'class="caution"' in report
    # the monthly series' captions: the figures drawn from the run's series carry it too
    panel = famtrial.load_panel(out.parent / "liaison_panel.csv", HERE / "liaison.toml")
    sample = famtrial.analysis_sample(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        effects = famtrial.monthly_effects(sample.panel, "referral", n_boot=99, progress=False)
    fig = famtrial.plot_monthly(effects)
    assert any(CAUTION in t.get_text() for t in fig.texts)
    matplotlib.pyplot.close(fig)
    # the warning: once per model (two models, the inference fit), not once per month or re-draw
    few = [w for w in caught if issubclass(w.category, FewClustersWarning)]
    assert 1 <= len(few) <= 4, [str(w.message)[:80] for w in few]


def test_report_counts_the_rule_exclusions_apart_from_the_load(liaison_run, liaison_frame):
    run, _ = liaison_run
    report = _text(run.out / "report.html")
    # the rule, recomputed with pandas: a district is excluded when fewer than 1/5 of its households are controls
    households = liaison_frame.drop_duplicates("hh_id")
    share = households.groupby("district")["grp"].apply(lambda g: Fraction(int((g == "C").sum()), len(g)))
    excluded = sorted(share.index[share < Fraction(1, 5)])
    assert excluded == ["D10", "D11"]
    rows_out = int(liaison_frame["district"].isin(excluded).sum())
    guardians_out = liaison_frame.loc[liaison_frame["district"].isin(excluded), "guardian_no"].nunique()

    def cell(label: str) -> str:
        found = re.search(rf"<th>{re.escape(label)}</th>\s*<td>([^<]*)</td>", report)
        assert found, label
        return found.group(1)

    assert cell("districts excluded by the rule") == "2"
    assert cell("districts excluded (labels)") == "D10, D11"
    assert cell("rows excluded") == f"{rows_out:,}"
    assert cell("guardians excluded") == f"{guardians_out:,}"
    assert cell("rows analysed") == f"{len(liaison_frame) - rows_out:,}"
    assert cell("rows read") == f"{len(liaison_frame):,}"
    assert "restricted before the run" not in report  # the load removed no district


def test_omitted_terms_are_shown_with_their_reason(liaison_run):
    run, _ = liaison_run
    table = _text(run.out / "tab_models.md")
    assert re.search(r"\| Rural address \| \(omitted\) \|", table)
    assert "Omitted: Rural address in Referral (no within-group variation)." in table
    assert "| Referral |" in table and "| Attendance |" in table  # the plan's model labels head the columns
    assert "ref.or" in (run.out / "tab_models.csv").read_text()  # the CSV keeps the model names


def test_reference_key_gives_t_g_minus_1_in_model_tables_and_monthly_series(liaison_frame):
    """``[inference] reference = "t"``: p-values and intervals against t(G-1), computed here with scipy."""
    import numpy as np
    from scipy import stats

    plan = famtrial.load_plan(HERE / "liaison.toml")
    raw = plan.to_dict()
    raw["inference"]["reference"] = "t"
    t_plan = famtrial.load_plan(raw)
    sample = famtrial.analysis_sample(famtrial.load_panel(liaison_frame, t_plan))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        fit = famtrial.fe_models(sample.panel, models=["ref"])["ref"]
        normal = famtrial.fe_models(sample.panel, models=["ref"], t_reference=False)["ref"]
        monthly = famtrial.monthly_effects(sample.panel, "referral", band=False, progress=False)
    g = fit.n_clusters
    assert g == 9 and fit.covariance.df == g - 1 and normal.covariance.df is None
    z = fit.params / fit.bse
    np.testing.assert_allclose(fit.pvalues, 2 * stats.t.sf(np.abs(z), g - 1), rtol=1e-12)
    np.testing.assert_allclose(normal.pvalues, 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    ci = fit.conf_int()
    np.testing.assert_allclose(ci["upper"] - fit.params, stats.t.ppf(0.975, g - 1) * fit.bse, rtol=1e-12)
    est = monthly.estimated
    np.testing.assert_allclose(est["p"], 2 * stats.t.sf(np.abs(est["coef"] / est["se_coef"]), g - 1), rtol=1e-10)
    from famtrial.report.compare import model_tables

    table = model_tables({"ref": fit}, t_plan)["tab_models"]
    assert "t(8) reference" in table.notes and "use the t(8) reference (t(G-1))" in table.notes
    assert "use the t(8) reference" in monthly.summary()


def test_messages_use_the_arm_codes_of_the_data(liaison_frame):
    frame = liaison_frame.copy()
    month = (frame["period"] == "2021-06-01") & (frame["grp"] == "T")
    frame.loc[month, "referral"] = 0  # the offered arm never referred that month: it predicts failure perfectly
    sample = famtrial.analysis_sample(famtrial.load_panel(frame, HERE / "liaison.toml"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        effects = famtrial.monthly_effects(sample.panel, "referral", band=False, progress=False)
    note = effects.frame.set_index("month").loc["2021-06", "note"]
    assert 'grp = "T" predicts failure perfectly' in note and "!= 0" not in note


def test_plan_init_needs_only_the_edits_no_data_can_answer(liaison_frame, tmp_path):
    """From ``plan init``: set the months (a QUESTION), the rule and the words; the numbers equal the written plan's."""
    import tomllib

    import numpy as np

    from famtrial.data.scaffold import scaffold
    from famtrial.plan.sections import FEModel
    from famtrial.trial.effects import fit_plan_model

    path = tmp_path / "liaison.csv"
    liaison_frame.to_csv(path, index=False)
    text = scaffold(path)
    assert "QUESTION" in text and "UNDECIDED" not in text.split("[units]")[0]
    raw = tomllib.loads(text)
    written = famtrial.load_plan(HERE / "liaison.toml")
    # the edits: the months, the exclusion rule and the words (nothing about columns, codes or outcomes)
    raw["months"] = {"implementation": written.implementation, "baseline": written.baseline}
    raw["sample"].update(rule="control_share", threshold="1/5", unit="family")
    raw["units"] = {"parent": "guardian", "family": "household", "office": "district"}
    guessed = famtrial.load_plan(raw)
    assert (guessed.parent, guessed.family, guessed.office, guessed.month, guessed.arm) == (
        written.parent,
        written.family,
        written.office,
        written.month,
        written.arm,
    )
    assert (guessed.offered_code, guessed.control_code) == ("T", "C")
    assert {"referral", "attend"} <= {v.column for v in guessed.outcomes}
    ours = famtrial.analysis_sample(famtrial.load_panel(path, guessed))
    theirs = famtrial.analysis_sample(famtrial.load_panel(path, written))
    assert ours.excluded_offices == theirs.excluded_offices == ["D10", "D11"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        spec = FEModel("m", "referral", covariates=("siblings",), time="linear", cluster="office")
        a, b = fit_plan_model(ours.panel, spec), fit_plan_model(theirs.panel, spec)
    assert a.params.index.tolist() == ["treat_pooled", "siblings", "trend"]  # the scaffold's treatment name
    np.testing.assert_array_equal(a.params.to_numpy(), b.params.to_numpy())
    np.testing.assert_array_equal(a.bse.to_numpy(), b.bse.to_numpy())


def test_freeze_then_verify_round_trips_on_the_third_trial(liaison_run, tmp_path):
    """Issue 27 on a trial of its own words: every number frozen, verified, and one changed number named."""
    import tomllib

    import pandas as pd

    from famtrial.published.freeze import freeze
    from famtrial.published.verify import load_spec, verify

    run, _ = liaison_run
    data = run.out.parent / "liaison_panel.csv"
    frozen = freeze(run.out, tmp_path / "spec.toml", plan=HERE / "liaison.toml", data=data)
    reproduced = pd.read_csv(run.out / "reproduced.csv")
    assert set(load_spec(frozen.path).numbers) == set(reproduced["key"])
    report = verify(run.out, frozen.path)
    assert report.ok and (report.frame["status"] == "ok").all(), report.failed
    assert tomllib.loads(frozen.text)["meta"]["plan_hash"] == run.plan.hash
    # a drifted number fails, named by its key (the run's numbers as a mapping, one OR moved by 0.1)
    numbers = dict(zip(reproduced["key"], reproduced["value"], strict=True))
    key = next(k for k in numbers if k.endswith(".or"))
    numbers[key] = float(numbers[key]) + 0.1
    drifted = verify(numbers, frozen.path)
    assert not drifted.ok and len(drifted.failed) == 1 and key in drifted.failed.to_string()
