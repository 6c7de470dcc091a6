r"""Progress for long loops (monthly fits, bootstraps, permutations), the global options and famtrial's logger.

A text bar on a terminal (``\r``-updated on stderr), one live line in Jupyter (``IPython.display``
when available), a few plain lines when stderr is a log file, nothing with ``enabled=False``.
A bar shows only once its work has run for ``famtrial.options.progress_delay`` seconds (1 s), so a
loop of 0.05 s prints nothing; ``famtrial.options.progress = False`` (or the environment variable
``FAMTRIAL_PROGRESS=0`` before the import) silences every bar, whatever a function's ``progress=``.
No dependency beyond the standard library::

    with Progress(len(months), "monthly logits") as bar:
        for month in months:
            ...
            bar.update()

    for item in track(items, "permutations", enabled=progress):
        ...
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from famtrial.errors import OptionError

__all__ = ["Options", "Progress", "Step", "logger", "options", "track"]

T = TypeVar("T")

#: famtrial's logger: notices (the kernels' one compile notice per process, ...) go here at INFO level
logger = logging.getLogger("famtrial")


class _NoticeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes famtrial's notices to stderr (``famtrial: <message>``) while logging is not configured.

    Once the application configures logging (the root logger has a handler), the records reach that
    configuration by propagation instead and this handler stays silent, so nothing is printed twice.
    ``logging.getLogger("famtrial").setLevel(logging.WARNING)`` silences the notices.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("famtrial: %(message)s"))

    @property  # type: ignore[override]
    def stream(self):  # stderr at the time of writing (pytest's capsys and notebooks replace sys.stderr)
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass

    def emit(self, record: logging.LogRecord) -> None:
        if not logging.getLogger().handlers:
            super().emit(record)


if not any(isinstance(h, _NoticeHandler) for h in logger.handlers):
    logger.addHandler(_NoticeHandler())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)

_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on", ""}


class Options:
    """famtrial's global switches: ``famtrial.options.progress = False``.

    Attributes
    ----------
    progress : bool
        Whether progress bars show at all (default True; the environment variable
        ``FAMTRIAL_PROGRESS=0``/``false``/``off`` at import sets False). A function's own
        ``progress=False`` silences its bar whatever this says; ``progress=True`` shows it only while
        this is True.
    progress_delay : float
        Seconds a loop must run before its bar appears (default 1.0; 0 shows every bar at once).
    """

    __slots__ = ("_delay", "_progress")

    def __init__(self) -> None:
        value = os.environ.get("FAMTRIAL_PROGRESS", "1").strip().lower()
        if value not in _OFF | _ON:
            raise OptionError(
                f"FAMTRIAL_PROGRESS={os.environ['FAMTRIAL_PROGRESS']!r} is not one of 0/1, false/true, off/on, no/yes"
            )
        self._progress = value not in _OFF
        self._delay = 1.0

    @property
    def progress(self) -> bool:
        """Whether progress bars show (see the class docstring)."""
        return self._progress

    @progress.setter
    def progress(self, value: bool) -> None:
        if not isinstance(value, bool):
            raise OptionError(f"famtrial.options.progress={value!r} must be True or False")
        self._progress = value

    @property
    def progress_delay(self) -> float:
        """Seconds of work before a bar appears."""
        return self._delay

    @progress_delay.setter
    def progress_delay(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise OptionError(f"famtrial.options.progress_delay={value!r} must be a number of seconds >= 0")
        self._delay = float(value)

    def __repr__(self) -> str:
        return f"famtrial.options(progress={self.progress}, progress_delay={self.progress_delay:g})"


#: the one global options object (``famtrial.options``)
options = Options()


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
    delay : float, optional
        Seconds of work before anything shows (default ``famtrial.options.progress_delay``, 1 s):
        a loop that ends sooner prints nothing.

    The line reads ``desc: [#######.....] 12/27 (44%) 0:03 elapsed, 0:04 left``. On a non-terminal
    stream (a log file, CI) it writes one line at each quarter and at the end.
    """

    def __init__(
        self,
        total: int,
        desc: str,
        *,
        enabled: bool = True,
        stream=None,
        min_interval: float = 0.1,
        delay: float | None = None,
    ):
        enabled = bool(enabled) and options.progress
        self.total, self.desc, self.enabled = max(int(total), 0), desc, enabled
        self.delay = options.progress_delay if delay is None else float(delay)
        self._shown = False
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

    def _due(self) -> bool:
        """Whether the bar shows: it has shown already, or the work has run for ``delay`` seconds."""
        if not self._shown and time.perf_counter() - self._start >= self.delay:
            self._shown = True
            if self._notebook:
                from IPython.display import display

                self._handle = display({"text/plain": self.line()}, raw=True, display_id=True)
        return self._shown

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not self._due() or (not force and now - self._last_draw < self.min_interval):
            return
        self._last_draw = now
        if self._handle is not None:
            self._handle.update({"text/plain": self.line()}, raw=True)
        elif self._tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def __enter__(self) -> Progress:
        self._start = time.perf_counter()
        if self.enabled and (self._notebook or self._tty):
            self._draw(force=True)
        return self

    def update(self, n: int = 1) -> None:
        """Record ``n`` more finished steps."""
        self.done = min(self.done + n, self.total)
        if not self.enabled:
            return
        if self._notebook or self._tty:
            self._draw(force=self.done == self.total)
        elif self.total and self.done * 4 // self.total > self._quarter and self.done < self.total and self._due():
            self._quarter = self.done * 4 // self.total
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def __exit__(self, *exc) -> None:
        if not self.enabled or not self._due():
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
