"""Run independent tasks serially, on threads of this process, in a local process pool, or on a Dask client.

Used by the randomization test, power and the size study. Results never depend on the executor:
every task carries its own seed (``numpy.random.SeedSequence(seed).spawn``), and every task runs
the compiled kernels with one thread (same sums in the same order), so serial, threads,
processes and a Dask cluster give identical draws.

Threads (:func:`map_in_threads`) suit tasks whose time is mostly in the ``nogil`` numba kernels
(a re-draw's conditional-logit fit: 85% kernel): nothing to start and nothing to pickle, so they
pay from a few tasks. Processes (:func:`map_in_processes`) suit Python-heavy tasks (a simulated
trial), at a start-up of :data:`POOL_STARTUP_SECONDS`.

``client`` is duck-typed: any object with ``client.map(fn, items)`` returning futures and
``client.gather(futures)`` returning their results (``dask.distributed.Client`` qualifies; dask
itself is not a dependency). ``pure=False`` is passed when ``map`` accepts it (Dask would
otherwise hash every task's arguments to deduplicate them).

Shared data. Every executor calls a task as ``fn((*shared, item))`` (``fn(item)`` when ``shared``
is empty). What every task needs (the design, the refit's arrays: ~72 bytes a row) goes in
``shared`` and is sent once rather than pickled into every task: threads read it in place; local
processes receive it once each, in the pool's initializer (:func:`map_in_processes`, also behind
:func:`run_tasks`); on a client with ``scatter`` (Dask) it is scattered to every worker once
(``client.scatter(..., broadcast=True, hash=False)``) and the tasks carry only their item (a chunk
of seeds) and a reference. Every task in processes or on a client runs numba with one thread
(``famtrial._threads.set_max_threads(1)``): the parallelism is the processes' or workers',
and a kernel spawning its own threads in each would oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import inspect
import multiprocessing
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from famtrial._progress import Progress
from famtrial.errors import DaskNotInstalledError

__all__ = [
    "run_tasks",
    "resolve_jobs",
    "map_in_processes",
    "map_in_threads",
    "one_kernel_thread",
    "POOL_STARTUP_SECONDS",
    "INSTALL",
    "require_dask",
    "is_dask_dataframe",
    "get_client",
    "read_parquet",
    "compute_parts",
    "compute_each_partition",
    "gather",
    "dask_session",
]

#: Seconds until a fresh pool of spawned processes returns its first result (interpreter start,
#: importing famtrial, loading numba's cached kernels), measured 2.5-3 s on the project's 2-core
#: machine; executors choose processes only when the measured work saves more than this.
POOL_STARTUP_SECONDS = 3.0


def resolve_jobs(n_jobs: int | None) -> int:
    """``None`` or ``-1``: every core (``os.cpu_count()``); a positive int: that many processes."""
    if n_jobs is None or n_jobs == -1:
        return max(os.cpu_count() or 1, 1)
    if not isinstance(n_jobs, int) or n_jobs < 1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive int, -1 or None (all cores)")
    return n_jobs


def _single_threaded() -> None:
    """Worker initializer: one kernel thread per process, so processes do not oversubscribe cores."""
    from famtrial._threads import set_max_threads

    set_max_threads(1)


_SHARED: tuple = ()  # a pool process's copy of the tasks' shared data, set once by its initializer


def _init_process(shared: tuple) -> None:
    """Process-pool initializer: one kernel thread, and the shared data kept for every task."""
    global _SHARED
    _single_threaded()
    _SHARED = shared


def _apply(fn: Callable[[Any], Any], shared: tuple, item: Any) -> Any:
    """One task: ``fn((*shared, item))``, or ``fn(item)`` without shared data."""
    return fn((*shared, item)) if shared else fn(item)


def _call_in_process(fn: Callable[[Any], Any], item: Any) -> Any:
    return _apply(fn, _SHARED, item)


def _call_with_shared(item: Any, fn: Callable[[Any], Any], shared: tuple) -> Any:
    """A task on a Dask worker: ``shared`` arrives as the worker's copy of the scattered data."""
    _single_threaded()
    return _apply(fn, shared, item)


def _takes_pure(map_fn) -> bool:
    """Whether ``map_fn`` accepts a ``pure=`` keyword (Dask's ``Client.map`` does)."""
    try:
        params = inspect.signature(map_fn).parameters.values()
    except (TypeError, ValueError):  # no introspectable signature
        return False
    return any(p.name == "pure" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def run_tasks(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    shared: tuple = (),
    n_jobs: int | None = None,
    client=None,
    progress: bool = False,
    desc: str = "tasks",
) -> list:
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
    desc : str, default "tasks"
        The progress bar's label; `` (client)`` or `` (<n> processes)`` is appended when the tasks run on a
        client or in processes.
    """
    items = list(items)
    if client is not None:
        if not (callable(getattr(client, "map", None)) and callable(getattr(client, "gather", None))):
            raise TypeError(
                f"client must have map() and gather() methods (a dask.distributed.Client); got {type(client).__name__}"
            )
        with Progress(len(items), f"{desc} (client)", enabled=progress) as bar:
            if callable(getattr(client, "scatter", None)):  # Dask: shared data to every worker, once
                data = client.scatter([shared], broadcast=True, hash=False)[0]
                futures = client.map(_call_with_shared, items, fn=fn, shared=data, pure=False)
            else:
                tasks = [(*shared, item) for item in items] if shared else items
                futures = client.map(fn, tasks, pure=False) if _takes_pure(client.map) else client.map(fn, tasks)
            out = _gather_with_progress(client, futures, bar)
        return out
    jobs = min(resolve_jobs(n_jobs), max(len(items), 1))
    if jobs == 1:
        out = []
        with Progress(len(items), desc, enabled=progress) as bar:
            for item in items:
                out.append(_apply(fn, shared, item))
                bar.update()
        return out
    with Progress(len(items), f"{desc} ({jobs} processes)", enabled=progress) as bar:
        return map_in_processes(fn, items, shared=shared, jobs=jobs, bar=bar)


def _gather_with_progress(client: Any, futures: list[Any], bar: Progress) -> list:
    """The futures' results in order, the bar moved as each finishes (Dask's ``as_completed``), else once at the end."""
    try:
        from distributed import Future, as_completed
    except ImportError:  # a Dask-like client without distributed
        dask_futures = False
    else:
        dask_futures = all(isinstance(f, Future) for f in futures)
    if not dask_futures:
        out = list(client.gather(futures))
        bar.update(len(out))
        return out
    for _ in as_completed(futures):
        bar.update()
    return list(client.gather(futures))


def map_in_processes(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    shared: tuple = (),
    jobs: int,
    bar: Progress | None = None,
    units: Sequence[int] | None = None,
    heartbeat: float = 0.5,
) -> list:
    """``[fn((*shared, item)) for item in items]`` in ``jobs`` spawned processes (one numba thread each), in order.

    ``shared`` (the large, common part of every task) is pickled once per process, in the pool's
    initializer, not once per item. ``bar.update(units[i])`` as item i finishes (default 1 per
    item), and a redraw of the bar's clock every ``heartbeat`` seconds while waiting (so the
    start-up of the processes is not a silent gap).
    """
    items = list(items)
    units = [1] * len(items) if units is None else list(units)
    ctx = multiprocessing.get_context("spawn")  # numba's threading layers are not fork-safe
    results: list = [None] * len(items)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_process, initargs=(shared,)) as pool:
        with _script_not_rerun(fn):  # spawned while submitting
            futures = {pool.submit(_call_in_process, fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=heartbeat, return_when=FIRST_COMPLETED)
            for fut in done:
                results[futures[fut]] = fut.result()
            if bar is not None:
                bar.update(sum(units[futures[f]] for f in done))
    return results


_MAIN_LOCK = threading.Lock()


def _defined_in_main(fn: Callable[[Any], Any]) -> bool:
    """Whether ``fn`` (a function, or an instance of a class) is defined in the ``__main__`` script."""
    module = getattr(fn, "__module__", None) if isinstance(fn, types.FunctionType) else type(fn).__module__
    return module in ("__main__", "__mp_main__")


@contextlib.contextmanager
def _script_not_rerun(fn: Callable[[Any], Any]) -> Iterator[None]:
    """Spawn workers that do not re-run the user's script (no ``if __name__ == "__main__":`` guard needed).

    A spawned worker normally re-imports the parent's ``__main__`` (the script, as ``__mp_main__``) so that
    functions defined there can be unpickled; a script without the guard then starts the analysis again
    in every worker, whose own pool raises multiprocessing's bootstrapping ``RuntimeError`` and the parent
    waits forever. famtrial's tasks are famtrial's own functions: while the workers start, ``__main__``
    is replaced by an empty module, so :func:`multiprocessing.spawn.get_preparation_data` finds no script
    to re-run. A task defined in ``__main__`` needs the script: it is left alone (the user's own
    ``multiprocessing`` code, guard and all).
    """
    if _defined_in_main(fn):
        yield
        return
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


@dataclass
class _ThreadsState:
    """What :func:`map_in_threads`' workers share (read and written under its lock)."""

    next: int = 0
    done: int = 0
    cpu: float = 0.0
    error: BaseException | None = None


def map_in_threads(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    shared: tuple = (),
    jobs: int,
    bar: Progress | None = None,
    heartbeat: float = 0.5,
) -> tuple[list, float]:
    """``[fn((*shared, item)) for item in items]`` on ``jobs`` threads of this process, in order.

    For tasks whose time is mostly in ``nogil`` compiled kernels (a re-draw's conditional-logit
    fit): no start-up and nothing pickled. Each thread takes the next item when it finishes one.
    The caller fixes the kernels' own thread count (:func:`one_kernel_thread` around the call: the
    cap is process-wide, so it must not be changed from inside the tasks). ``bar.update()`` from
    this thread as items finish, at least every ``heartbeat`` seconds. Returns the results and the
    CPU seconds the tasks used (the sum of each thread's ``time.thread_time``), so a caller can
    compare the threads' wall time with the work they did. The first exception raised by a task
    is re-raised here after the other threads stop taking items.
    """
    items = list(items)
    results: list = [None] * len(items)
    lock = threading.Lock()
    finished = threading.Condition(lock)
    state = _ThreadsState()

    def worker() -> None:
        while True:
            with lock:
                i = state.next
                if i >= len(items) or state.error is not None:
                    return
                state.next = i + 1
            t0 = time.thread_time()
            try:
                value = _apply(fn, shared, items[i])
            except BaseException as err:  # handed to the calling thread
                with finished:
                    state.error = state.error or err
                    finished.notify()
                return
            with finished:
                results[i] = value
                state.done += 1
                state.cpu += time.thread_time() - t0
                finished.notify()

    shown = 0
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(items))), thread_name_prefix="famtrial-task") as pool:
        futures = [pool.submit(worker) for _ in range(max(1, min(jobs, len(items))))]
        running = True
        while running:
            with finished:
                if state.done < len(items) and state.error is None:  # checked under the lock: no lost wake-up
                    finished.wait(timeout=heartbeat)
                done, running = state.done, state.done < len(items) and state.error is None
            if bar is not None:
                bar.update(done - shown)  # also redraws the clock when nothing finished
                shown = done
        for future in futures:
            future.result()
    if state.error is not None:
        raise state.error
    return results, state.cpu


@contextlib.contextmanager
def one_kernel_thread() -> Iterator[None]:
    """Run the block with the conditional-logit kernel on one thread (the cap is restored afterwards).

    Many small fits in a row (re-draws) gain little from the threaded kernel and lose much when
    other processes share the cores; with one thread here, as in every pool worker, the kernel
    also sums in the same order wherever a re-draw runs, so the draws are identical in this
    process and in workers (:func:`famtrial._threads.limit_threads`).
    """
    from famtrial._threads import limit_threads

    with limit_threads(1):
        yield


# -- Dask: the optional engine, reached through these helpers only ---------------------------------
#: What to install for the Dask support.
INSTALL = 'pip install "famtrial[dask]"'


def require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as err:
        raise DaskNotInstalledError(
            f"famtrial's Dask support needs dask[dataframe] and distributed, which are not "
            f"installed ({err}); install them with: {INSTALL}"
        ) from None


def is_dask_dataframe(obj: object) -> bool:
    """Whether ``obj`` is a Dask DataFrame (checked without importing dask)."""
    root = type(obj).__module__.split(".")[0]
    return root in ("dask", "dask_expr") and hasattr(obj, "map_partitions") and hasattr(obj, "columns")


def get_client(client: Any) -> Any:
    """``client`` itself, else the running dask.distributed Client (an error saying how to start one)."""
    require_dask()
    if client is not None:
        return client
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        raise ValueError(
            "fitting a Dask DataFrame needs a running dask.distributed Client: "
            "`from dask.distributed import Client; client = Client()` starts a local cluster, "
            '`Client("tcp://scheduler-address:8786")` connects to a running one'
        ) from None


def read_parquet(path: Any, columns: Sequence[str] | None, *, filters: Any = None) -> Any:
    """A partitioned Parquet dataset (a directory, a glob or a list of files) as a lazy Dask DataFrame.

    Only ``columns`` are read (column projection; ``None``: all), and each file is one partition
    (``split_row_groups=False``), so a dataset written one block of whole parents per file is
    aligned on the parent and the fits never shuffle it. ``filters`` (pyarrow's DNF, e.g.
    ``[("month", "==", "2017-06")]``) skips row groups and rows, for one month's cross-section.
    Nothing is read until a fit (or ``.compute()``).
    """
    require_dask()
    import dask.dataframe as dd

    columns = None if columns is None else list(dict.fromkeys(columns))
    return dd.read_parquet(path, columns=columns, filters=filters, split_row_groups=False, aggregate_files=False)


def compute_parts(client: Any, ddf: Any, fn: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """One future per partition holding ``fn(partition, **kwargs)``, kept in worker memory."""
    from dask.delayed import delayed

    parts = ddf.to_delayed()
    return client.compute([delayed(fn, pure=False)(p, **kwargs) for p in parts])


_T = TypeVar("_T")


def compute_each_partition(ddf: Any, fn: Callable[..., _T], *args: object, pure: bool | None = None) -> list[_T]:
    """``fn(partition, *args)`` of every partition of the Dask DataFrame ``ddf``, in partition order.

    The partitions are computed together by the current scheduler (``dask.compute`` of
    ``dask.delayed(fn, pure=pure)`` tasks; no client needed).
    """
    from dask.base import compute
    from dask.delayed import delayed

    return list(compute(*[delayed(fn, pure=pure)(p, *args) for p in ddf.to_delayed()]))


def gather(client: Any, fn: Callable[..., Any], futures: list[Any], **kwargs: Any) -> list[Any]:
    """``fn`` of every future's value, on the workers, gathered in order."""
    return client.gather(client.map(fn, futures, pure=False, **kwargs))


@contextlib.contextmanager
def dask_session(client: Any = None) -> Iterator[Any]:
    """The Dask client a whole run uses, the default client while the block runs; what it started is closed after.

    Parameters
    ----------
    client : Client, str, int or None
        A ``dask.distributed.Client`` (used as is, not closed); a scheduler address such as
        ``"tcp://10.0.0.5:8786"`` (a Client connected to that running cluster, closed after; the cluster
        keeps running); a positive int (a ``LocalCluster`` of that many workers, one thread each, started
        and closed); or None: the running default client if there is one, else a ``LocalCluster`` sized to
        the machine (``os.cpu_count()`` workers of one thread, memory shared equally), started and closed.

    Yields
    ------
    Client
        The client (also the default client inside the block).
    """
    require_dask()
    from distributed import Client, LocalCluster, default_client

    if isinstance(client, bool) or (client is not None and not isinstance(client, (str, int))):
        if isinstance(client, bool) or not callable(getattr(client, "submit", None)):
            raise TypeError(
                f"client must be a dask.distributed Client, a scheduler address or a number of local workers, "
                f"not {type(client).__name__}"
            )
        with client.as_current():
            yield client
        return
    if client is None:
        try:
            running = default_client()
        except ValueError:
            running = None
        if running is not None:
            with running.as_current():
                yield running
            return
    if isinstance(client, str):
        with Client(client) as connected, connected.as_current():
            yield connected
        return
    workers = resolve_jobs(client)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        Client(cluster) as started,
        started.as_current(),
    ):
        yield started
