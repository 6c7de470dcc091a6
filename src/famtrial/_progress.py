r"""Progress for long loops (monthly fits, bootstraps, permutations).

A text bar on a terminal (``\r``-updated on stderr), one live line in Jupyter (``IPython.display``
when available), a few plain lines when stderr is a log file, nothing with ``enabled=False``.
No dependency beyond the standard library::

    with Progress(len(months), "monthly logits") as bar:
        for month in months:
            ...
            bar.update()

    for item in track(items, "permutations", enabled=progress):
        ...
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["Progress", "track", "Step"]

T = TypeVar("T")


def _in_notebook() -> bool:
    r"""True inside a Jupyter kernel (where ``\r`` on stderr does not animate)."""
    try:
        from IPython.core.getipython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60:d}:{seconds % 60:02d}"


class Progress:
    """A progress reporter: ``with Progress(total, desc, enabled=True) as bar: bar.update(n)``.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        What is counted, shown before the bar.
    enabled : bool
        ``False`` silences it completely.
    stream : file-like, optional
        Where the text goes (default ``sys.stderr``).
    min_interval : float
        Seconds between redraws on a terminal or in a notebook (the last step always draws).

    The line reads ``desc: [#######.....] 12/27 (44%) 0:03 elapsed, 0:04 left``. On a non-terminal
    stream (a log file, CI) it writes one line at each quarter and at the end.
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, stream=None, min_interval: float = 0.1):
        self.total, self.desc, self.enabled = max(int(total), 0), desc, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.min_interval = min_interval
        self.done = 0
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._handle = None
        self._notebook = enabled and stream is None and _in_notebook()
        self._tty = enabled and bool(getattr(self.stream, "isatty", lambda: False)())
        self._quarter = 0

    def line(self) -> str:
        """The current progress line."""
        width = 28
        frac = self.done / self.total if self.total else 1.0
        filled = int(width * frac)
        elapsed = time.perf_counter() - self._start
        left = f", {_clock(elapsed / self.done * (self.total - self.done))} left" if 0 < self.done < self.total else ""
        return (
            f"{self.desc}: [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
            f"({100 * frac:.0f}%) {_clock(elapsed)} elapsed{left}"
        )

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        if self._handle is not None:
            self._handle.update({"text/plain": self.line()}, raw=True)
        elif self._tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        if self._notebook:
            from IPython.display import display

            self._handle = display({"text/plain": self.line()}, raw=True, display_id=True)
        elif self._tty:
            self._draw(force=True)
        return self

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished steps."""
        self.done = min(self.done + n, self.total)
        if not self.enabled:
            return
        if self._handle is not None or self._tty:
            self._draw(force=self.done == self.total)
        elif self.total and self.done * 4 // self.total > self._quarter and self.done < self.total:
            self._quarter = self.done * 4 // self.total
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def __exit__(self, *exc) -> None:
        if not self.enabled:
            return
        if self._handle is not None:
            self._draw(force=True)
        else:
            self.stream.write(("\r" if self._tty else "") + self.line() + "\n")
            self.stream.flush()


def track(items: Iterable[T], desc: str, *, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` with a :class:`Progress` bar (``total`` defaults to ``len(items)``)."""
    if total is None:
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, desc, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.update()


class Step:
    """One step of a long run, timed, with a heartbeat: ``with Step("models", enabled=True): ...``.

    While the step runs, ``famtrial: <name> running, m:ss`` after ``first`` seconds and then every
    ``heartbeat`` seconds (so a step whose work happens elsewhere, on a cluster, leaves no silent gap);
    when it ends, ``famtrial: <name> done in m:ss (s.s s)``. A step that fails says ``failed after m:ss``
    only when it has said something before (an error in the first seconds stays the run's one message).
    ``seconds`` holds the step's wall time afterwards.
    """

    def __init__(
        self, name: str, *, enabled: bool = True, first: float = 2.0, heartbeat: float = 30.0, stream=None
    ) -> None:
        self.name, self.enabled, self.first, self.heartbeat = name, enabled, first, heartbeat
        self.stream = stream if stream is not None else sys.stderr
        self.seconds = 0.0
        self._said = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = 0.0

    def _say(self, text: str) -> None:
        self._said = True
        self.stream.write(f"famtrial: {self.name} {text}\n")
        self.stream.flush()

    def _beat(self) -> None:
        wait = self.first
        while not self._stop.wait(wait):
            self._say(f"running, {_clock(time.perf_counter() - self._start)}")
            wait = self.heartbeat

    def __enter__(self) -> Step:
        self._start = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._beat, name="famtrial-step", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, kind, *exc) -> None:
        self.seconds = time.perf_counter() - self._start
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.enabled:
            return
        if kind is None:
            self._say(f"done in {_clock(self.seconds)} ({self.seconds:.1f} s)")
        elif self._said:
            self._say(f"failed after {_clock(self.seconds)}")
