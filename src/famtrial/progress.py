"""Progress for long loops (monthly fits, bootstraps): a text bar on terminals, a live line in Jupyter."""

from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class Progress:
    """``with Progress(total, "monthly fits", enabled=True) as bar: ... bar.update()``.

    Writes to stderr (``\\r``-updated on a terminal, a single final line otherwise) or updates one
    display line in Jupyter. ``enabled=False`` silences it.
    """

    def __init__(self, total: int, desc: str, *, enabled: bool = True, stream=None):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.stream = stream or sys.stderr
        self.done = 0
        self._start = time.perf_counter()
        self._handle = None
        self._notebook = enabled and _in_notebook()
        self._tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def _line(self) -> str:
        width = 24
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.perf_counter() - self._start
        return f"{self.desc}: [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} ({elapsed:.1f} s)"

    def __enter__(self) -> Progress:
        if self._notebook:
            from IPython.display import display

            self._handle = display(self._line(), display_id=True)
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._handle is not None:
            self._handle.update(self._line())
        elif self._tty:
            self.stream.write("\r" + self._line())
            self.stream.flush()

    def __exit__(self, *exc) -> None:
        if self.enabled and self._handle is None:
            self.stream.write(("\r" if self._tty else "") + self._line() + "\n")
            self.stream.flush()
