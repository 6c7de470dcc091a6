"""docs/api.md documents every public name, shows an example of each, and its Sphinx roles render as links."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path

import famtrial
from famtrial.models.base import ModelResults

ROOT = Path(__file__).resolve().parents[1]
API = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
BLOCKS = "\n".join(re.findall(r"^```python\n(.*?)^```", API, re.S | re.M))
ENTRIES = re.findall(r"^::: (famtrial[\w.]*)$", API, re.M)


def test_every_public_name_has_an_entry():
    documented = {entry.rsplit(".", 1)[-1] for entry in ENTRIES} | set(ENTRIES)
    missing = [n for n in famtrial.__all__ if n not in documented and f"famtrial.{n}" not in documented]
    assert missing == ["__version__", "options"]  # the version and the options object (an Options): named in the prose
    assert "famtrial.__version__" in API and "famtrial.options" in API


def test_every_entry_resolves_to_the_exported_object():
    for entry in ENTRIES:
        module, _, name = entry.rpartition(".")
        try:
            target = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError):
            target = importlib.import_module(entry)  # a module entry (famtrial.examples)
        if name in famtrial.__all__:
            assert getattr(famtrial, name) is target, entry


def test_every_public_function_and_class_appears_in_an_example():
    names = [n for n in famtrial.__all__ if not n.startswith("_")]
    callables = [n for n in names if callable(getattr(famtrial, n)) and not issubclass_exc(getattr(famtrial, n))]
    missing = [n for n in callables if not re.search(rf"\b{n}\b", BLOCKS)]
    assert missing == [], f"no example in docs/api.md for {missing}"


def issubclass_exc(obj: object) -> bool:
    return inspect.isclass(obj) and issubclass(obj, BaseException | Warning)


def test_post_estimation_methods_are_documented():
    methods = [
        n for n, v in vars(ModelResults).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))
    ]
    assert {"vcov", "wald_test", "t_test", "lr_test", "predict", "margins", "tidy", "glance", "summary"} <= set(methods)
    assert "famtrial.models.base.ModelResults" in ENTRIES  # rendered with every public member
    for name in ("vcov", "wald_test", "t_test", "lr_test", "predict", "margins", "tidy", "glance", "summary"):
        assert re.search(rf"\.{name}\(", BLOCKS), name


def test_sphinx_roles_render_as_optional_links():
    spec = importlib.util.spec_from_file_location("sphinx_roles", ROOT / "docs" / "_ext" / "sphinx_roles.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:  # griffe comes with the docs extra
        import pytest

        pytest.skip("griffe is not installed")
    text = "See :func:`~famtrial.models.postestimation.margins`, :class:`famtrial.Plan` and :data:`cap <a.B>`."
    out = module.render_roles(text)
    assert out == (
        'See <autoref identifier="famtrial.models.postestimation.margins" optional><code>margins()</code></autoref>, '
        '<autoref identifier="famtrial.Plan" optional><code>famtrial.Plan</code></autoref> and '
        '<autoref identifier="a.B" optional><code>cap</code></autoref>.'
    )
    assert ":func:" not in module.render_roles(famtrial.models.base.ModelResults.vcov.__doc__)
