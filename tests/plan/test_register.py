"""Plan registration: the hash and date beside the plan, and every key a run's plan changed since."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest

import famtrial
from famtrial.cli import main
from famtrial.errors import RegistrationError
from famtrial.plan.register import (
    deviations,
    flatten,
    register_plan,
    registration_path,
    registration_status,
)
from famtrial.plan.spec import load_plan

pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")

WHEN = dt.datetime(2017, 3, 1, 12, 0, tzinfo=dt.UTC)


def _plan_file(tmp_path, name="casework"):
    path = tmp_path / "plan.toml"
    path.write_text(load_plan(name).to_toml(), encoding="utf-8")
    return path


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_register_writes_hash_date_and_plan_beside_it(tmp_path):
    path = _plan_file(tmp_path)
    done = register_plan(path, when=WHEN)
    assert done.path == registration_path(path) == tmp_path / "plan.registration.toml"
    raw = tomllib.loads(done.path.read_text(encoding="utf-8"))
    assert raw["registration"]["hash"] == load_plan(path).hash == done.plan_hash
    assert raw["registration"]["registered"] == "2017-03-01T12:00:00Z" and raw["registration"]["plan"] == "plan.toml"
    assert famtrial.Plan.from_dict(raw["plan"]) == load_plan(path)  # the registered plan itself
    status = registration_status(load_plan(path))
    assert status.status == "registered" and status.is_registered and status.deviations == ()
    assert status.to_dict() == {
        "status": "registered",
        "plan_hash": done.plan_hash,
        "registration": "plan.registration.toml",
        "registered_hash": done.plan_hash,
        "registered_at": "2017-03-01T12:00:00Z",
        "deviations": [],
    }


def test_layout_and_comments_do_not_deviate(tmp_path):
    path = _plan_file(tmp_path)
    register_plan(path)
    path.write_text("# a comment\n" + path.read_text(encoding="utf-8").replace(" = ", "   =   "), encoding="utf-8")
    assert registration_status(load_plan(path)).status == "registered"


@pytest.mark.parametrize(
    ("old", "new", "key", "registered", "ran"),
    [
        ('threshold = "1/4"', 'threshold = "1/3"', "sample.threshold", "1/4", "1/3"),
        ("randomization_draws = 99", "randomization_draws = 999", "inference.randomization_draws", 99, 999),
        ('implementation = "2019-04"', 'implementation = "2019-05"', "months.implementation", "2019-04", "2019-05"),
    ],
)
def test_changing_one_key_lists_exactly_that_key(tmp_path, old, new, key, registered, ran):
    path = _plan_file(tmp_path)
    register_plan(path)
    _edit(path, old, new)
    status = registration_status(load_plan(path))
    assert status.status == "deviates" and not status.is_registered
    assert [(d.key, d.registered, d.ran) for d in status.deviations] == [(key, registered, ran)]
    assert status.to_dict()["deviations"] == [{"key": key, "registered": registered, "ran": ran}]
    assert f"in 1 key:\n  {key}: registered {registered!r}, ran {ran!r}" in status.summary()


def test_a_model_s_cluster_and_an_added_key(tmp_path):
    path = _plan_file(tmp_path)
    register_plan(path)
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    raw["models"]["educ"]["cluster"] = "family"
    raw["months"]["last"] = "2022-06"
    path.write_text(famtrial.Plan.from_dict(raw).to_toml(), encoding="utf-8")
    found = registration_status(load_plan(path)).deviations
    assert [(d.key, d.registered, d.ran) for d in found] == [
        ("models.educ.cluster", "office", "family"),
        ("months.last", None, "2022-06"),
    ]
    assert found[1].describe() == "months.last: registered absent, ran '2022-06'"


def test_flatten_and_deviations_of_documents():
    assert flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": "x"}) == {"a.b": 1, "a.c.d": [1, 2], "e": "x"}
    plan = load_plan("casework")
    assert deviations(plan, plan) == ()


def test_not_registered_and_refusals(tmp_path):
    assert registration_status(load_plan("casework")).status == "not registered"  # no file beside the plan
    path = _plan_file(tmp_path)
    assert registration_status(load_plan(path)).to_dict()["registration"] is None
    register_plan(path)
    with pytest.raises(RegistrationError, match="registered already; pass --force"):
        register_plan(path)
    register_plan(path, force=True)
    with pytest.raises(RegistrationError, match="needs a plan TOML file"):
        register_plan("casework")
    # an edited registration is refused, naming the file
    reg = registration_path(path)
    reg.write_text(reg.read_text(encoding="utf-8").replace('"1/4"', '"1/2"'), encoding="utf-8")
    with pytest.raises(RegistrationError, match="was edited"):
        registration_status(load_plan(path))


def test_plan_register_command(tmp_path, capsys):
    path = _plan_file(tmp_path)
    assert main(["plan", "register", str(path)]) == 0
    assert "famtrial plan register: wrote" in capsys.readouterr().out
    assert main(["plan", "register", str(path)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "Traceback" not in err
    assert main(["plan", "register", str(path), "--force"]) == 0


def test_reproduce_states_the_deviations_in_report_html(tmp_path):
    """A run of a plan changed after registration: the Reproduction and report.html list the changed key."""
    import matplotlib

    matplotlib.use("Agg")
    from conftest import make_panel_frame

    path = tmp_path / "plan.toml"
    raw = tomllib.loads(load_plan().to_toml())
    raw["data"].pop("path")
    raw["data"].pop("published")
    path.write_text(famtrial.Plan.from_dict(raw).to_toml(), encoding="utf-8")
    register_plan(path)
    _edit(path, "randomization_draws = 199", "randomization_draws = 99")
    run = famtrial.reproduce(make_panel_frame(), tmp_path / "out", plan=path, inference=False, progress=False)
    assert run.registration is not None and run.registration.status == "deviates"
    assert [d.key for d in run.registration.deviations] == ["inference.randomization_draws"]
    page = run.report.read_text(encoding="utf-8")
    assert "<h2>Analysis plan and registration</h2>" in page
    assert "deviates from the registered plan" in page and "Deviations from the registered plan" in page
    assert "<th>inference.randomization_draws</th>" in page and "<td>199</td>" in page and "<td>99</td>" in page
