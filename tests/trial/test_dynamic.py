"""The plan's dynamic-effects model (``treatment = "dynamic"``): plan checks, the fit, and its figure in reproduce."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import famtrial
from conftest import make_panel_frame
from famtrial.data.load import load_panel
from famtrial.errors import PanelError, PlanError
from famtrial.plan.spec import Plan, load_plan
from famtrial.trial.effects import fe_models

pytestmark = pytest.mark.filterwarnings("ignore::famtrial.errors.FewClustersWarning")


def _raw(**model):
    raw = load_plan().to_dict()
    raw["models"]["dyn"] = {"outcome": "activation", "treatment": "dynamic", "time": "months", "table": "dynamic"}
    raw["models"]["dyn"].update(model)
    return raw


def test_dynamic_model_is_the_event_study_with_the_month_before_implementation():
    plan = Plan.from_dict(_raw())
    assert plan.model("dyn").reference is None
    assert Plan.from_dict(load_plan(plan.to_toml()).to_dict()) == plan  # written back and read again
    frame = make_panel_frame(seed=3)
    panel = load_panel(frame, plan)
    fit = fe_models(panel, models=["dyn"])["dyn"]
    months = sorted(str(m) for m in panel.data["month"].unique())
    assert [t for t in fit.params.index if "::" in t] == [f"month::{m}:arm" for m in months if m != "2016-09"]
    direct = famtrial.clogit(
        "activation ~ i(month, arm, ref='2016-09') + C(month) | parent_id",
        panel.data.assign(month=panel.data["month"].astype(str)),
        vcov={"CRV1": "office"},
    )
    np.testing.assert_allclose(fit.params.to_numpy(), direct.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(fit.bse.to_numpy(), direct.bse.to_numpy(), rtol=1e-10)
    chosen = fe_models(load_panel(frame, Plan.from_dict(_raw(reference="2016-06"))), models=["dyn"])["dyn"]
    assert "month::2016-06:arm" not in chosen.params.index and "month::2016-09:arm" in chosen.params.index


@pytest.mark.parametrize(
    "model, match",
    [
        ({"time": "linear"}, "needs 'months'"),
        ({"reference": "2016-13"}, "not a month"),
        ({"treatment": "pooled", "reference": "2016-09"}, "set treatment = 'dynamic'"),
    ],
)
def test_plan_refuses(model, match):
    with pytest.raises(PlanError, match=match):
        Plan.from_dict(_raw(**model))


def test_plan_refuses_dynamic_in_inference():
    raw = _raw()
    raw["inference"]["models"] = ["model1", "dyn"]
    with pytest.raises(PlanError, match="inference.models.*dynamic model 'dyn'"):
        Plan.from_dict(raw)


def test_reference_month_must_be_in_the_data():
    panel = load_panel(make_panel_frame(seed=3), Plan.from_dict(_raw(reference="2019-01")))
    with pytest.raises(PanelError, match="reference month 2019-01 is not a month of the data"):
        fe_models(panel, models=["dyn"])


@pytest.mark.slow
def test_reproduce_draws_the_event_study(tmp_path):
    raw = _raw()
    raw["models"] = {"dyn": raw["models"]["dyn"]}
    raw["inference"]["models"] = []
    raw["series"] = {}
    panel = load_panel(make_panel_frame(seed=3), Plan.from_dict(raw))
    run = famtrial.reproduce(panel, tmp_path / "out", inference=False, progress=False)
    assert (tmp_path / "out" / "dyn_event_study.png").exists()
    table = pd.read_csv(tmp_path / "out" / "dynamic.csv", index_col=0)
    assert "month::2016-10:arm" in table.index
    assert run is not None
