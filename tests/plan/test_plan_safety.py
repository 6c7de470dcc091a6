"""Plans that used to pass ``plan check`` and fail late (issue 25): refused at load, naming the key.

Also: ``to_toml`` round-trips any label (control characters escaped; a property test over generated
labels), plans never carry formulas, a plan file is read with a size limit and only when regular, and
``plan init`` writes a data path that still resolves when the plan is saved elsewhere.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from famtrial.cli import main as cli_main
from famtrial.errors import PlanError
from famtrial.plan.spec import Plan, load_plan, shipped_plans

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def raw_plan() -> dict:
    return copy.deepcopy(load_plan("nct03102775").to_dict())


@pytest.mark.parametrize(
    "section, key, value, words",
    [
        ("units", "parent", "", ("units.parent", "must be a word")),
        ("units", "office", "  ", ("units.office", "must be a word")),
        ("inference", "seed", -1, ("inference.seed", "0 or more")),
        ("months", "baseline", "0000-05", ("months.baseline", "1900-01 .. 2969-12")),
        ("months", "implementation", "3000-01", ("months.implementation", "1900-01 .. 2969-12")),
        ("balance", "variables", ["female", "female"], ("balance.variables", "['female'] more than once")),
        ("variants", "control_codes", [[0]], ("variants.control_codes", "integers or text")),
        ("variants", "control_codes", [True], ("variants.control_codes", "integers or text")),
        ("output", "formats", ["png", "png"], ("output.formats", "more than once")),
    ],
)
def test_plans_that_failed_late_are_refused_at_load(section, key, value, words):
    raw = raw_plan()
    raw.setdefault(section, {})[key] = value
    with pytest.raises(PlanError) as err:
        Plan.from_dict(raw)
    for word in words:
        assert word in str(err.value)


def test_repeated_covariates_controls_and_inference_models_refused():
    raw = raw_plan()
    model = next(iter(raw["models"]))
    raw["models"][model]["covariates"] = ["married", "married"]
    with pytest.raises(PlanError, match=rf"models\.{model}\.covariates names \['married'\] more than once"):
        Plan.from_dict(raw)
    raw = raw_plan()
    raw["series"]["activation"]["controls"] = ["female", "female"]
    with pytest.raises(PlanError, match=r"series\.activation\.controls names \['female'\]"):
        Plan.from_dict(raw)
    raw = raw_plan()
    raw["inference"]["models"] = [model, model]
    with pytest.raises(PlanError, match=r"inference\.models names"):
        Plan.from_dict(raw)


def test_plan_check_names_the_key_and_exits_2(tmp_path, capsys):
    raw = raw_plan()
    raw["units"]["parent"] = ""
    path = tmp_path / "plan.toml"
    path.write_text(Plan.from_dict(raw_plan()).to_toml().replace('parent = "parent"', 'parent = ""', 1))
    code = cli_main(["plan", "check", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "units.parent" in err and "Traceback" not in err


def test_plan_files_read_only_when_regular_and_small(tmp_path):
    if Path("/dev/zero").exists():
        with pytest.raises(PlanError, match="not a regular file"):
            load_plan("/dev/zero")
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    with pytest.raises(PlanError, match="larger than 1024 KiB"):
        load_plan(big)


LABELS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(label=LABELS, title=LABELS, noun=LABELS.filter(lambda s: s.strip() and not any(ord(c) < 32 for c in s)))
def test_to_toml_round_trips_any_label(label, title, noun):
    """``load_plan(plan.to_toml()) == plan`` for generated labels (control characters, quotes, backslashes)."""
    raw = raw_plan()
    raw["arms"]["offered_label"] = label
    raw["treatment"]["description"] = label + "\x00\x1f\x7f"
    raw["sample"]["title"] = title
    raw["tables"][next(iter(raw["tables"]))]["title"] = title + "\r\n\t"
    raw["outcomes"]["activation"]["label"] = label or "x"
    raw["units"]["family"] = noun
    plan = Plan.from_dict(raw)
    assert load_plan(plan.to_toml()) == plan


def test_keys_that_need_quotes_round_trip():
    from famtrial._toml import dumps

    doc = {"tables": {"t.5": {"title": "dotted \x01"}, "a b": {"title": 'q"'}}, "x": {"k": "\u2028"}}
    text = dumps(doc)
    assert '[tables."t.5"]' in text and tomllib.loads(text) == doc


def test_plans_never_carry_formulas():
    """A plan's models are declared columns, never formula text: a formula key is refused, none is shipped."""
    for name, path in shipped_plans().items():
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
        text = repr(doc)
        assert "formula" not in text and "~" not in text, name
    for section in ("models", "series", "outcomes"):
        raw = raw_plan()
        first = next(iter(raw[section]))
        raw[section][first]["formula"] = "y ~ I(__import__('os').system('echo owned'))"
        with pytest.raises(PlanError, match="formula"):
            Plan.from_dict(raw)


def test_plan_init_writes_a_path_that_resolves_from_anywhere(tmp_path, monkeypatch, capsys):
    from conftest import make_panel_frame

    data = tmp_path / "data" / "panel.csv"
    data.parent.mkdir()
    make_panel_frame().to_csv(data, index=False)
    monkeypatch.chdir(tmp_path / "data")
    assert cli_main(["plan", "init", "panel.csv"]) == 0
    text = capsys.readouterr().out
    saved = tmp_path / "elsewhere" / "plan.toml"
    saved.parent.mkdir()
    saved.write_text(text)
    assert load_plan(saved).resolve_data() == data.resolve()
