"""Shared fixtures (a small valid long panel in the replica's schema) and the test tiers.

The tiers (README "Running the tests"): ``python -m pytest`` runs the fast tier; pyproject's
``addopts`` deselects the markers ``slow``, ``dask``, ``subprocess``, ``processes`` and ``needs_r``,
which ``.ci/run`` runs next. This file holds what makes the tiers work:

- one Dask ``LocalCluster`` for the whole session (``dask_cluster``), started only when a selected
  test needs it; ``dask_client`` is a module's Client on it (the default client while the module runs);
- the Dask twins of the in-memory loader checks: a test that calls :func:`same_as_in_memory`
  (directly or through a helper of its module) runs twice, ``[memory]`` in the fast tier and
  ``[dask]`` (marked ``dask``: the Dask loader on 1, 3 and 7 partitions on the LocalCluster);
- the hypothesis profiles ``dev`` (the default: at most 10 examples per property, whatever the
  test's own ``@settings`` asks) and ``ci`` (each test's own count; 100 where it names none),
  chosen with the environment variable ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import contextvars
import inspect
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# -- hypothesis profiles ---------------------------------------------------------------------------
#: the most examples a property test draws under the ``dev`` profile
DEV_EXAMPLES = 10

try:
    from hypothesis import HealthCheck
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # hypothesis is in the test extra; the property modules importorskip it
    _hypothesis_settings = None
else:
    _hypothesis_settings.register_profile(
        "dev", max_examples=DEV_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    _hypothesis_settings.register_profile(
        "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
    )
    _hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _cap_hypothesis_examples(items: list[pytest.Item]) -> None:
    """Under the ``dev`` profile, property tests whose own ``@settings`` ask for more examples
    draw ``DEV_EXAMPLES`` (the ``ci`` profile runs each test's own count)."""
    if _hypothesis_settings is None or _hypothesis_settings.default.max_examples > DEV_EXAMPLES:
        return
    for item in items:
        test = getattr(item, "obj", None)
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if getattr(test, "is_hypothesis_test", False) and own is not None and own.max_examples > DEV_EXAMPLES:
            test._hypothesis_internal_use_settings = _hypothesis_settings(own, max_examples=DEV_EXAMPLES)


def make_panel_frame(
    seed: int = 3,
    n_families: int = 120,
    months: int = 12,
    first: str = "2016-04",
    offices: int = 6,
    effect: float = 0.5,
) -> pd.DataFrame:
    """A long panel (one parent per family) with a known treatment effect on activation."""
    rng = np.random.default_rng(seed)
    fam = np.arange(n_families)
    office = fam % offices + 1
    arm = (rng.random(n_families) < 0.5).astype(int)
    model = np.where(arm == 0, "ordinary", np.where(office % 2 == 0, "holf", "local"))
    period = pd.period_range(first, periods=months, freq="M")
    post = (period >= pd.Period("2016-10", "M")).astype(int)
    alpha = rng.normal(0, 1.5, n_families)
    rows = []
    for i in fam:
        rwc = (rng.random(months) < 0.3).astype(int)
        eta = alpha[i] + 0.8 * rwc + effect * arm[i] * post - 0.02 * np.arange(months)
        rows.append(
            pd.DataFrame(
                {
                    "parent_id": i,
                    "family_id": i,
                    "office": office[i],
                    "month": period.astype(str),
                    "arm": arm[i],
                    "model": model[i],
                    "activation": (rng.random(months) < 1 / (1 + np.exp(-eta))).astype(int),
                    "employed": (rng.random(months) < 0.3).astype(int),
                    "married": (rng.random(months) < 0.4).astype(int),
                    "n_children": rng.integers(1, 4, months),
                    "reduced_work_capacity": rwc,
                    "female": int(rng.random() < 0.6),
                    "year_of_birth": int(rng.integers(1960, 1995)),
                    "immigrant": int(rng.random() < 0.8),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def tiny_panel_frame() -> pd.DataFrame:
    return make_panel_frame()


def renamed_replica() -> tuple[pd.DataFrame, str]:
    """The shipped replica with every column renamed and the arm and variant recoded, and a plan that maps it.

    The same files the docs give a pip user (:func:`famtrial.examples.user_data`).
    """
    from famtrial.examples import user_data

    return user_data()


def rerun_r_script(tmp_path: Path, script: str, packages: tuple[str, ...] = ("survival",)) -> Path:
    """Run a committed reference script under tests/reference/ in a scratch copy of the folder layout;
    return the scratch ``tests/reference`` folder (the test skips when R or a package is absent)."""
    if shutil.which("Rscript") is None:
        pytest.skip("R is not installed")
    library = "; ".join(f"library({p})" for p in packages)
    if subprocess.run(["Rscript", "-e", library], capture_output=True).returncode != 0:
        pytest.skip(f"R package(s) {', '.join(packages)} not installed")
    reference = tmp_path / "repo" / "tests" / "reference"
    reference.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "reference" / script, reference)
    subprocess.run(["Rscript", f"tests/reference/{script}"], cwd=tmp_path / "repo", check=True, capture_output=True)
    return reference


# -- the Dask loader beside the in-memory one (load_panel(..., engine="dask")) ------------------------
PARTITIONS = (1, 3, 7)


@pytest.fixture(scope="session")
def dask_cluster():
    """One real dask.distributed LocalCluster (2 worker processes, 1 thread each) for the whole
    session, started when the first selected test needs it (None without dask)."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed
    except ImportError:
        yield None
        return
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, dashboard_address=None, worker_dashboard_address=None
    ) as cluster:
        yield cluster


def _module_needs_dask(request: pytest.FixtureRequest) -> bool:
    """Whether a selected test of the requesting module is marked ``dask`` (a fast-tier run of a
    module whose Dask twins are deselected starts no cluster)."""
    module = getattr(request, "module", None)
    items = getattr(request.session, "items", None)
    if module is None or items is None:
        return True
    return any(
        getattr(item, "module", None) is module and item.get_closest_marker("dask") is not None for item in items
    )


@pytest.fixture(scope="module")
def dask_client(request):
    """A Client on the session's LocalCluster (``dask_cluster``), the default client while the module
    runs; None without dask, or when no selected test of the module is marked ``dask``."""
    if not _module_needs_dask(request):
        yield None
        return
    cluster = request.getfixturevalue("dask_cluster")
    if cluster is None:
        yield None
        return
    import distributed

    with distributed.Client(cluster) as client:
        yield client


# -- Dask twins: the in-memory loader checks again on the Dask loader, in the dask tier -------------
#: whether the running test is in the dask tier (same_as_in_memory then runs the Dask loader too)
_DASK_TWIN: contextvars.ContextVar[bool] = contextvars.ContextVar("dask_twin", default=False)
#: conftest helpers whose callers get a Dask twin
_TWIN_HELPERS = frozenset({"same_as_in_memory"})
ENGINES = (pytest.param("memory", id="memory"), pytest.param("dask", id="dask", marks=pytest.mark.dask))


def _calls_twin_helper(function, depth: int = 2) -> bool:
    """Whether ``function`` calls a helper of ``_TWIN_HELPERS``: itself, in a nested function or
    lambda, or through a function of its own module (``depth`` levels down)."""
    module = sys.modules.get(getattr(function, "__module__", ""), None)
    seen: set[str] = set()

    def names(code: types.CodeType, depth: int) -> bool:
        if _TWIN_HELPERS & set(code.co_names):
            return True
        if any(isinstance(c, types.CodeType) and names(c, depth) for c in code.co_consts):
            return True
        if depth == 0 or module is None:
            return False
        for name in set(code.co_names) - seen:
            seen.add(name)
            other = getattr(module, name, None)
            if inspect.isfunction(other) and other.__module__ == module.__name__ and names(other.__code__, depth - 1):
                return True
        return False

    code = getattr(inspect.unwrap(function), "__code__", None)
    return code is not None and names(code, depth)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that calls same_as_in_memory and is not itself in the dask tier runs as ``[memory]``
    (the in-memory loader only) and ``[dask]`` (marked ``dask``: also the Dask loader)."""
    if metafunc.definition.get_closest_marker("dask") is None and _calls_twin_helper(metafunc.function):
        metafunc.parametrize("loader_engine", ENGINES, indirect=True)


@pytest.fixture(autouse=True)
def loader_engine(request):
    """``"dask"`` in a test marked ``dask`` (its Dask twins run, on the session's LocalCluster), else ``"memory"``."""
    engine = "dask" if request.node.get_closest_marker("dask") is not None else "memory"
    if engine == "dask" and _calls_twin_helper(request.function):
        request.getfixturevalue("dask_client")
    token = _DASK_TWIN.set(engine == "dask")
    yield engine
    _DASK_TWIN.reset(token)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _cap_hypothesis_examples(items)


def partitioned(frame: pd.DataFrame, n: int):
    """``frame`` as a Dask DataFrame of ``n`` consecutive row blocks cut where the parent id changes
    (a parent whose rows are not consecutive spans blocks, and the loader shuffles it together).
    Text columns stay object columns (as in the in-memory frame), not Dask's default pyarrow strings."""
    import dask
    import dask.dataframe as dd

    ids = frame["parent_id"].to_numpy() if "parent_id" in frame.columns else np.arange(len(frame))
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]) if len(frame) else np.zeros(1, int)
    cuts = sorted({0, len(frame), *(int(starts[int(i)]) for i in np.linspace(0, len(starts), n + 1)[1:-1])})
    pieces = [frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:])] or [frame]
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(lambda piece: piece, pieces, meta=frame.iloc[:0], enforce_metadata=False)


def same_as_in_memory(frame: pd.DataFrame, *args, **kwargs):
    """Load ``frame`` in memory and, in the dask tier (a test marked ``dask``: the ``[dask]`` twin),
    with the Dask loader on 1, 3 and 7 partitions: the same error message word for word, or the same
    report and rows (rows of the Dask panel in parent order). In the fast tier (``[memory]``) and
    without dask installed only the in-memory load runs. Returns the in-memory panel or error."""
    import importlib.util
    from dataclasses import replace

    from famtrial.data.load import load_panel

    try:
        expected = load_panel(frame, *args, **kwargs)
    except (ValueError, TypeError) as err:
        expected = err
    for n in PARTITIONS if _DASK_TWIN.get() and importlib.util.find_spec("distributed") else ():
        try:
            got = load_panel(partitioned(frame, n), *args, **kwargs)
        except (ValueError, TypeError) as err:
            got = err
        if isinstance(expected, Exception):
            assert type(got) is type(expected) and str(got) == str(expected), (n, str(got), str(expected))
        else:
            assert not isinstance(got, Exception), (n, got)
            assert replace(got.report, source="DataFrame") == expected.report, n
            data = got.data.compute()
            order = np.argsort(pd.factorize(data["parent_id"], sort=True)[0], kind="stable")
            pd.testing.assert_frame_equal(data.take(order).reset_index(drop=True), expected.data)
    return expected


def path_panel(seed, path, n_families=1200, offices=12, months=None, share=None, office_sd=0.3):
    """Parents x months from 2016-10 with an effect path (log odds per month) on activation for the
    offered arm. ``share``: offered share per office (default 0.4 everywhere)."""
    months = len(path) if months is None else months
    rng = np.random.default_rng(seed)
    fam = np.arange(n_families)
    office = fam % offices + 1
    p_arm = np.full(offices, 0.4) if share is None else np.asarray(share)
    arm = (rng.random(n_families) < p_arm[office - 1]).astype(int)
    period = pd.period_range("2016-10", periods=months, freq="M")
    shift = (
        np.linspace(-office_sd * 2, office_sd * 2, offices)[office - 1]
        if share is not None
        else rng.normal(0, office_sd, offices)[office - 1]
    )
    a = rng.normal(-1.5, 1.0, n_families)
    rwc = (rng.random(n_families) < 0.3).astype(int)
    eta = a[:, None] + shift[:, None] + 0.5 * rwc[:, None] + arm[:, None] * np.asarray(path)[None, :months]
    y = (rng.random((n_families, months)) < 1 / (1 + np.exp(-eta))).astype(int)
    emp = (rng.random((n_families, months)) < 0.3).astype(int)
    return pd.DataFrame(
        {
            "parent_id": np.repeat(fam, months),
            "family_id": np.repeat(fam, months),
            "office": np.repeat(office, months),
            "month": np.tile(period.astype(str), n_families),
            "arm": np.repeat(arm, months),
            "model": np.repeat(np.where(arm == 1, "local", "ordinary"), months),
            "activation": y.ravel(),
            "employed": emp.ravel(),
            "married": 0,
            "n_children": 1,
            "reduced_work_capacity": np.repeat(rwc, months),
            "female": 1,
            "year_of_birth": 1980,
            "immigrant": 0,
        }
    )


def make_frame(seed: int = 11, parents: int = 150, months: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parent = np.repeat(np.arange(parents), months)
    office = rng.integers(0, 14, parents)[parent]
    x1 = rng.normal(size=len(parent))
    x2 = rng.integers(0, 2, len(parent)).astype(float)
    alpha = rng.normal(0, 1, parents)[parent]
    y = (rng.random(len(parent)) < 1 / (1 + np.exp(-(alpha + 0.5 * x1 - 0.4 * x2)))).astype(int)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "office": office, "parent": parent})
