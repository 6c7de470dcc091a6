"""A typical user script: mypy --strict must pass on it (tests/test_typing.py)."""

from __future__ import annotations

import pandas as pd

import famtrial
from famtrial import ConditionalLogitResults, LogitResults, Table, WaldTest


def fit(panel: pd.DataFrame) -> tuple[ConditionalLogitResults, LogitResults]:
    fe = famtrial.clogit("activation ~ treat + C(month) | parent_id", panel, vcov={"CRV1": "office"})
    robust = fe.vcov("hetero")
    groups: int = robust.n_groups  # vcov() keeps the concrete class
    print(groups, robust.summary())
    cross = famtrial.logit("activation ~ arm + married", panel)
    test: WaldTest = cross.wald_test("arm = married")
    print(test.pvalue, famtrial.__version__)
    return fe, cross.vcov({"CRV1": "office"})


def plan_table() -> Table | None:
    plan = famtrial.load_plan("nct03102775")
    print(plan.name)
    return None
