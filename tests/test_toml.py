"""famtrial._toml: the one TOML table reader (plan and design wording) and the one writer."""

from __future__ import annotations

import ast
import math
import tomllib
from pathlib import Path

import pytest

import famtrial
from famtrial._toml import DESIGN, NAME, PLAN, Table, dumps, value_text
from famtrial.errors import DesignError, PlanError


def _plan(raw: object, path: str = "months") -> Table:
    return Table(raw, path, "plan.toml", PLAN)


def _design(raw: object, path: str = "months") -> Table:
    return Table(raw, path, "design.toml", DESIGN)


@pytest.mark.parametrize(
    "read, message",
    [
        (lambda: _plan({}).get("first", str), "plan.toml: months.first is required"),
        (lambda: _plan({}, "").get("first", str), "plan.toml: first is required"),
        (lambda: _plan({"first": 3}).get("first", str), "plan.toml: months.first must be str, not int (3)"),
        (lambda: _plan({"n": "3"}).get("n", (int, float)), "plan.toml: months.n must be int or float, not str ('3')"),
        (lambda: _plan({"n": True}).get("n", int), "plan.toml: months.n must be int, not a boolean"),
        (
            lambda: _plan({"rule": "all"}).get("rule", str, choices=("a", "b")),
            "plan.toml: months.rule = 'all' is not one of ['a', 'b']",
        ),
        (lambda: _plan([1]), "plan.toml: [months] must be a table (key = value lines), not list"),
        (lambda: _plan({"t": 5}).sub("t", {}), "plan.toml: [months.t] must be a table (key = value lines), not int"),
        (
            lambda: _plan({"x": [1, "a"]}).strings("x"),
            "plan.toml: months.x must be a list of names (strings); [1] are not",
        ),
        (
            lambda: _plan({"m": {"bad name": {}}}).tables("m"),
            "plan.toml: months.m.bad name is not a usable name: use letters, digits and underscores, "
            "not starting with a digit",
        ),
    ],
)
def test_plan_wording(read, message):
    with pytest.raises(PlanError) as info:
        read()
    assert str(info.value) == message


@pytest.mark.parametrize(
    "read, message",
    [
        (
            lambda: _design({}).get("first", str, what="'YYYY-MM' text"),
            "design.toml: months.first: is missing; give 'YYYY-MM' text",
        ),
        (lambda: _design({}).get("first", str), "design.toml: months.first: is missing; give a value"),
        (lambda: _design({"n": "3"}).get("n", int, 0, "an integer"), "design.toml: months.n: '3' is not an integer"),
        (lambda: _design({"n": True}).get("n", int), "design.toml: months.n: True is not <class 'int'>"),
        (lambda: _design({"n": 1.5}).number("n") and None, None),
        (lambda: _design({"n": "a"}).number("n"), "design.toml: months.n: 'a' is not a number"),
        (
            lambda: _design({"r": "all"}).get("r", str, choices=("family", "office")),
            "design.toml: months.r: 'all' is not one of ('family', 'office')",
        ),
        (lambda: _design([1], ""), "design.toml: : must be a table, got list"),
        (lambda: _design({}).sub("t"), "design.toml: months.t: is missing; give a table"),
        (lambda: _design({"t": 5}).sub("t", {}), "design.toml: months.t: 5 is not a table"),
        (
            lambda: _design({"r": [1, 2, 3]}).range("r", int),
            "design.toml: months.r: [1, 2, 3] must be a [low, high] pair of numbers",
        ),
    ],
)
def test_design_wording(read, message):
    if message is None:
        read()
        return
    with pytest.raises(DesignError) as info:
        read()
    assert str(info.value) == message


def test_unknown_keys_in_both_wordings():
    plan = _plan({"a": 1, "zz": 2, "b": 3})
    plan.get("a", int)
    with pytest.raises(PlanError) as info:
        plan.done()
    assert str(info.value) == "plan.toml: unknown key(s) ['zz', 'b'] in [months]; known keys there: a"
    with pytest.raises(PlanError, match=r"in the top level; known keys there: \(none\)"):
        _plan({"x": 1}, "").done()
    design = _design({"a": 1, "zz": 2, "b": 3})
    design.get("a", int)
    with pytest.raises(DesignError) as info:
        design.done()
    assert str(info.value) == "design.toml: months: unknown keys ['b', 'zz']; check their spelling"


def test_reader_returns_values_and_defaults():
    t = _plan({"a": 1, "r": [2, 3], "names": ["x"], "sub": {"k": True}})
    assert t.get("a", int) == 1 and t.get("missing", str, "d") == "d"
    assert t.range("r", float) == (2.0, 3.0) and t.strings("names") == ("x",)
    sub = t.sub("sub", {})
    assert sub.path == "months.sub" and sub.get("k", bool) is True and sub.raw == {"k": True}
    assert t.sub("none", {}).raw == {}
    t.done()
    sub.done()


def test_the_writer_writes_what_tomllib_reads():
    doc = {
        "a": {"s": 'quote " and \\ and\nnewline', "i": 3, "f": 0.25, "b": False, "l": ["x", 1, 1.5]},
        "b": {"c": {"d": 1}, "e": {}},
    }
    text = dumps(doc, {"a": "the a table", "a.i": "an integer\non two lines", "b.c": "nested"})
    assert tomllib.loads(text) == doc
    assert text.startswith("# the a table\n[a]\n") and "# an integer\n# on two lines\ni = 3\n" in text
    assert "\n# nested\n[b.c]\nd = 1\n" in text and "[b.e]" in text and text.endswith("\n")
    assert [value_text(v) for v in (math.inf, -math.inf, math.nan, True)] == ["inf", "-inf", "nan", "true"]
    with pytest.raises(TypeError, match="cannot write dict to TOML"):
        value_text({"a": 1})


def test_names():
    assert NAME.match("model_1") and not NAME.match("1model") and not NAME.match("a b")


def test_toml_is_in_the_base_layer():
    """_toml imports nothing of famtrial but errors (import-linter checks it too)."""
    tree = ast.parse(Path(famtrial.__file__).with_name("_toml.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m and m.startswith("famtrial")} == {"famtrial.errors"}


def test_design_reader_is_the_one_reader():
    from famtrial.simulation import design, power

    assert not hasattr(design, "_Reader") and not hasattr(power, "_Reader")  # no second reader
    reader = Table({"n": "x"}, "", "scenario.toml", DESIGN)
    with pytest.raises(DesignError, match="scenario.toml: n: 'x' is not an integer"):
        reader.get("n", int, 1, "an integer")
