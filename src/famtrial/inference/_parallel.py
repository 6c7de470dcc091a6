"""Run independent tasks serially, in a local process pool, or on a user's Dask client.

Used by the randomization test and the size study. Results never depend on the executor: every
task carries its own seed (``numpy.random.SeedSequence(seed).spawn``), so serial, ``n_jobs=2`` and
a Dask cluster give identical draws.

``client`` is duck-typed: any object with ``client.map(fn, items)`` returning futures and
``client.gather(futures)`` returning their results (``dask.distributed.Client`` qualifies; dask
itself is not a dependency). ``pure=False`` is passed when ``map`` accepts it (Dask would
otherwise hash every task's arguments to deduplicate them).

Data every task needs (the design, the refit's arrays: ~72 bytes a row) go in ``shared``, sent
once rather than pickled into every task: on a client with ``scatter`` (Dask) they are scattered
to every worker once (``client.scatter(..., broadcast=True, hash=False)``) and the tasks carry
only their item (a chunk of seeds) and a reference; local processes receive them once each, in
the pool's initializer. Every task, in processes or on a client, runs numba with one thread
(``numba.set_num_threads(1)``, a per-thread setting): the parallelism is the processes' or
workers', and a kernel spawning its own threads in each would oversubscribe the cores.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from famtrial.progress import Progress

__all__ = ["run_tasks", "resolve_jobs"]


def resolve_jobs(n_jobs: int | None) -> int:
    """``None`` or ``-1``: every core (``os.cpu_count()``); a positive int: that many processes."""
    if n_jobs is None or n_jobs == -1:
        return max(os.cpu_count() or 1, 1)
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive int, -1 or None (all cores)")
    return n_jobs


def _single_threaded() -> None:
    """Worker initializer: one numba thread per process, so processes do not oversubscribe cores."""
    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # numba absent or already at one thread
        pass


_SHARED: tuple = ()  # a pool process's copy of run_tasks(shared=...), set by its initializer


def _init_shared(shared: tuple) -> None:
    global _SHARED
    _single_threaded()
    _SHARED = shared


def _call_with_pool_shared(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn((*_SHARED, item))


def _call_with_shared(item: Any, fn: Callable[[Any], Any], shared: tuple) -> Any:
    """A task on a Dask worker: ``shared`` arrives as the worker's copy of the scattered data."""
    _single_threaded()
    return fn((*shared, item)) if shared else fn(item)


def _takes_pure(map_fn) -> bool:
    """Whether ``map_fn`` accepts a ``pure=`` keyword (Dask's ``Client.map`` does)."""
    try:
        params = inspect.signature(map_fn).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature
        return False
    return any(p.name == "pure" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def run_tasks(fn: Callable[[Any], Any], items: Sequence[Any], *, shared: tuple = (), n_jobs: int | None = None,
              client=None, progress: bool = False, desc: str = "tasks") -> list:
    """``[fn((*shared, item)) for item in items]``, in order, run serially, in processes or on ``client``.

    Parameters
    ----------
    fn : callable
        A picklable callable (module-level function or instance of a module-level class) when
        run in processes or on a client.
    items : sequence
        One task each.
    shared : tuple
        Leading elements of every task's argument, sent once per process or worker (scattered
        with ``broadcast=True`` on a Dask client) rather than with every task. Empty: ``fn(item)``.
    n_jobs : int or None
        Local processes (``None``/-1: all cores; 1: serial, in this process). Ignored with ``client``.
    client : object, optional
        Dask-like client with ``map`` and ``gather``; tasks run there.
    progress : bool
        Show a progress bar (per finished task; on a client, once all are gathered).
    """
    items = list(items)
    if client is not None:
        if not (callable(getattr(client, "map", None)) and callable(getattr(client, "gather", None))):
            raise TypeError(f"client must have map() and gather() methods (a dask.distributed.Client); got {type(client).__name__}")
        with Progress(len(items), f"{desc} (client)", enabled=progress) as bar:
            if callable(getattr(client, "scatter", None)):  # Dask: shared data to every worker, once
                data = client.scatter([shared], broadcast=True, hash=False)[0]
                futures = client.map(_call_with_shared, items, fn=fn, shared=data, pure=False)
            else:
                tasks = [(*shared, item) for item in items] if shared else items
                futures = client.map(fn, tasks, pure=False) if _takes_pure(client.map) else client.map(fn, tasks)
            out = list(client.gather(futures))
            bar.update(len(out))
        return out
    jobs = min(resolve_jobs(n_jobs), max(len(items), 1))
    if jobs == 1:
        out = []
        with Progress(len(items), desc, enabled=progress) as bar:
            for item in items:
                out.append(fn((*shared, item)) if shared else fn(item))
                bar.update()
        return out
    # "spawn": numba's threading layers are not fork-safe
    ctx = multiprocessing.get_context("spawn")
    results: list = [None] * len(items)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_shared, initargs=(shared,)) as pool, \
            Progress(len(items), f"{desc} ({jobs} processes)", enabled=progress) as bar:
        futures = {(pool.submit(_call_with_pool_shared, fn, item) if shared else pool.submit(fn, item)): i
                   for i, item in enumerate(items)}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            bar.update()
    return results
