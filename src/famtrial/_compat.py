"""0.2's module paths, kept working for one release: the deprecation path of the 0.3 reorganisation.

famtrial 0.3 laid the package out as the analysis flows (``plan/``, ``data/``, ``trial/``,
``report/``, ``published/``, ``simulation/``). Every public name stays at ``famtrial.<name>``;
code that imported a name from its 0.2 module (``from famtrial.panel import Columns``) keeps
working with a :class:`~famtrial.errors.FamtrialDeprecationWarning` that names the new module.
The table below is the whole map (CHANGELOG, "0.3: where things moved"); it goes in 0.4.

The old modules are served by a finder on ``sys.meta_path`` (registered by ``famtrial/__init__``),
and names that left a module which still exists (``famtrial.trial``, ``famtrial.plan``,
``famtrial.report``, ``famtrial.inference.randomization``) by that module's ``__getattr__``
(:func:`moved_names`). Lookups import by name at run time: the layer contracts (``.importlinter``)
see no import, which is the point: the new modules do not depend on each other through this seam.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MOVED_MODULES", "MOVED_NAMES", "moved_names", "install"]

#: 0.2 module -> the 0.3 modules its names now live in (searched in order)
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    "famtrial.panel": ("famtrial.data.panel", "famtrial.data.load", "famtrial.plan.spec", "famtrial.errors"),
    "famtrial.sample": ("famtrial.trial.sample",),
    "famtrial.balance": ("famtrial.trial.balance",),
    "famtrial.monthly": ("famtrial.trial.monthly",),
    "famtrial.simulate": ("famtrial.simulation.design", "famtrial.simulation.calibrate", "famtrial.errors"),
    "famtrial.synthetic": ("famtrial.simulation.replica",),
    "famtrial.progress": ("famtrial._progress",),
    "famtrial.tables": ("famtrial.table",),
    "famtrial.plots": ("famtrial.report.plots",),
    "famtrial.flowchart": ("famtrial.report.flowchart",),
    "famtrial.audit": ("famtrial.published.audit",),
    "famtrial.models.errors": ("famtrial.errors", "famtrial.models.checks"),
    "famtrial.inference.power": ("famtrial.simulation.power",),
    "famtrial.inference.lpm": ("famtrial.models.lpm", "famtrial.trial.effects", "famtrial.report.compare"),
    "famtrial.inference._parallel": ("famtrial._parallel",),
    "famtrial.models.threads": ("famtrial._threads",),
}

#: names that left a 0.2 module which still exists: module -> {name: its 0.3 module}
MOVED_NAMES: dict[str, dict[str, str]] = {
    "famtrial.plan": {"scaffold": "famtrial.data.scaffold", "plural": "famtrial._text"},
    "famtrial.trial": {
        "compare_models": "famtrial.report.compare",
        "model_tables": "famtrial.report.compare",
        "fe_numbers": "famtrial.report.compare",
    },
    "famtrial.report": {"write_report": "famtrial.report.html", "ReportFigure": "famtrial.report.html"},
    "famtrial.inference.randomization": {
        "randomization_test": "famtrial.trial.few_cluster",
        "family_design": "famtrial.trial.few_cluster",
        "FewClusterInference": "famtrial.trial.few_cluster",
        "few_cluster_inference": "famtrial.trial.few_cluster",
    },
}


def _warn(old: str, name: str, new: str) -> None:
    from famtrial.errors import FamtrialDeprecationWarning

    # stacklevel 4: the caller's line (warn <- _warn <- _lookup <- a module's __getattr__ <- the import)
    warnings.warn(
        f"{old}.{name} moved to {new}.{name} in famtrial 0.3; import it from there (or as "
        f"famtrial.{name} where it is public). The old path goes in 0.4.",
        FamtrialDeprecationWarning,
        stacklevel=4,
    )


def _lookup(old: str, name: str, modules: Sequence[str]) -> Any:
    """``name`` from the first of ``modules`` that has it, warned once per old module and name.

    The warning names the module that defines the value (a class or function keeps its own module, though
    another module of the list may import it); the value is then kept in the old module's namespace, so
    ``from old import name`` (which looks the name up twice) warns once.
    """
    if name.startswith("__"):  # module dunders (__file__, __path__, ...) are not moved names
        raise AttributeError(name)
    for new in modules:
        module = importlib.import_module(new)
        if hasattr(module, name):
            value = getattr(module, name)
            home = getattr(value, "__module__", None)
            _warn(old, name, home if isinstance(home, str) and home.startswith("famtrial.") else new)
            setattr(sys.modules[old], name, value)
            return value
    raise AttributeError(
        f"module {old!r} has no attribute {name!r} (famtrial 0.3 moved it to one of {', '.join(modules)})"
    )


def moved_names(module: str, here: Mapping[str, str] | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` for 0.2's names of ``module``.

    The names :data:`MOVED_NAMES` lists for ``module`` come with the warning; ``here`` maps names the package
    still holds in a submodule to that submodule, loaded on first use (no warning).
    """
    table, local = MOVED_NAMES[module], dict(here or {})

    def __getattr__(name: str) -> Any:
        if name in local:
            value = getattr(importlib.import_module(local[name]), name)
            setattr(sys.modules[module], name, value)
            return value
        if name not in table:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return _lookup(module, name, (table[name],))

    return __getattr__


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        old = module.__name__
        modules = MOVED_MODULES[old]
        module.__doc__ = f"Moved in famtrial 0.3 to {', '.join(modules)} (deprecated path; see famtrial._compat)."
        module.__getattr__ = lambda name: _lookup(old, name, modules)  # type: ignore[method-assign]


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname in MOVED_MODULES:
            return importlib.machinery.ModuleSpec(fullname, _Loader())
        return None


def install() -> None:
    """Serve 0.2's module paths (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
