"""How many threads famtrial's compiled kernels use, and how to limit them.

The conditional-logit kernels are compiled with numba as ``nogil`` functions over a chunk of
groups and run on a plain Python thread pool, not numba's ``parallel=True`` (OpenMP/TBB)
layer: an idle pool thread blocks on a queue instead of spin-waiting, so a fit sharing the cores
with another process does not burn the cores it is waiting for, and each chunk is taken by
whichever thread is free (a descheduled thread delays only its own chunk).

The number of threads is the smallest of

* the cap: :func:`set_max_threads` / :func:`limit_threads`, else the ``FAMTRIAL_NUM_THREADS`` or
  ``NUMBA_NUM_THREADS`` environment variable, else the cores this process may run on;
* one inside a worker process (a ``multiprocessing``/``concurrent.futures`` pool, or a Dask worker),
  so that workers x threads never exceeds the cores;
* numba's own setting when numba's threading layer has been started (so an existing
  ``numba.set_num_threads(1)`` is honoured);
* the problem size: about one thread per :data:`WORK_PER_THREAD` units of work (a small fit is
  single-threaded: starting threads would cost more than they save).

Example (inference code that runs fits inside its own workers)::

    from famtrial._threads import limit_threads

    with limit_threads(1):
        results = [model.fit() for model in models]
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

__all__ = ["WORK_PER_THREAD", "limit_threads", "max_threads", "run_chunks", "set_max_threads", "threads_for"]

# work units (about one fused multiply-add each) per thread below which a second thread does not
# pay: dispatching a chunk to the pool costs ~50-100 us, and 2e6 units take ~1 ms on one core
WORK_PER_THREAD = 2e6

_cap: int | None = None
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _cores() -> int:
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def _env_cap() -> int | None:
    for name in ("FAMTRIAL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                n = int(value)
            except ValueError:
                raise ValueError(f"environment variable {name}={value!r} must be a positive integer") from None
            if n < 1:
                raise ValueError(f"environment variable {name}={value!r} must be a positive integer")
            return n
    return None


def _in_worker() -> bool:
    """Inside a process-pool worker or a Dask worker (where other workers share the cores)."""
    if multiprocessing.parent_process() is not None:
        return True
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            distributed.get_worker()
        except (ValueError, AttributeError):
            return False
        return True
    return False


def max_threads() -> int:
    """The most threads a kernel call may use here (before the problem-size rule)."""
    n = _cap if _cap is not None else (_env_cap() or _cores())
    if _cap is None and _in_worker():
        n = 1
    numba_parallel = sys.modules.get("numba.np.ufunc.parallel")
    if numba_parallel is not None and getattr(numba_parallel, "_is_initialized", False):
        import numba

        n = min(n, numba.get_num_threads())
    return max(n, 1)


def set_max_threads(n: int | None) -> None:
    """Cap the threads of every later kernel call in this process (``None``: back to the default).

    Call it as a process pool's ``initializer`` (``set_max_threads(1)``) or at the top of a Dask
    task. Process-wide: it applies to fits started from any thread.
    """
    global _cap
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"threads must be a positive int or None; got {n!r}")
    _cap = n


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """``with limit_threads(1): ...`` caps the kernels' threads inside the block, then restores the cap."""
    global _cap
    before = _cap
    set_max_threads(n)
    try:
        yield
    finally:
        _cap = before


def threads_for(work: float) -> int:
    """Threads for a kernel call of ``work`` units: one per :data:`WORK_PER_THREAD`, at most :func:`max_threads`."""
    return int(max(1, min(max_threads(), work // WORK_PER_THREAD)))


def _forget_pool() -> None:
    """In a forked child the parent's pool threads do not exist: start a new pool when needed."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool(n: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < n:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="famtrial-kernel")
            _pool_size = n
        return _pool


def run_chunks(task: Callable[[int, int], None], n_chunks: int, n_threads: int) -> None:
    """Run ``task(chunk, n_chunks)`` for every chunk, here or on the shared thread pool.

    In this thread when ``n_threads`` is 1, else on ``n_threads`` threads of the shared pool, each taking
    the next chunk when it finishes one (``task`` must release the GIL: a numba ``nogil`` kernel).
    """
    n_threads = min(n_threads, n_chunks)
    if n_threads <= 1:
        for c in range(n_chunks):
            task(c, n_chunks)
        return
    counter = iter(range(n_chunks))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                c = next(counter, None)
            if c is None:
                return
            task(c, n_chunks)

    pool = _get_pool(n_threads - 1)
    futures = [pool.submit(worker) for _ in range(n_threads - 1)]
    worker()  # the calling thread works too
    for future in futures:
        future.result()
