"""Writing a results folder atomically: a lock, a temporary folder beside it, a manifest last.

A run (:class:`ResultsWriter`, used by :func:`famtrial.pipeline.reproduce`):

1. creates ``--out`` and takes its lock (``--out/.famtrial.lock``, an operating-system lock that dies
   with the process): a second run into the same folder is refused while the first holds it, so two
   runs never interleave;
2. marks the folder's existing manifest incomplete (``note`` says which run started), so a rerun that
   fails or is killed leaves a folder that ``famtrial verify`` refuses instead of the old numbers
   beside half of the new ones;
3. writes every file into a fresh temporary folder beside ``--out`` (``.<out>.famtrial-XXXX``, on the
   same file system), never into ``--out`` itself;
4. at the end refuses if any destination in ``--out`` is a symbolic link (nothing is moved then), writes
   an incomplete manifest listing the new files, moves each file in (``os.replace``: a file is replaced
   whole, never written through), removes the files the previous manifest listed that this run did not
   write, and writes the complete manifest (itself replaced atomically);
5. removes the temporary folder and releases the lock, on success or failure.

Leftover temporary folders of killed runs into the same folder are removed by the next run.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from famtrial._paths import file_sha256, stem_problem
from famtrial.errors import ResultsError
from famtrial.published.manifest import LOCK, MANIFEST, Manifest, read_manifest, utc_now

__all__ = ["ResultsWriter", "data_identity", "command_line"]


#: the command line being run, set by :mod:`famtrial.cli` (``famtrial reproduce --out ...``)
COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("famtrial_command", default=None)


def command_line() -> str:
    """The command that runs: ``famtrial ...`` as typed (set by the CLI in :data:`COMMAND`), else the Python program."""
    import shlex

    given = COMMAND.get()
    if given is not None:
        return given
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return " ".join(["python", *(shlex.quote(a) for a in [program, *sys.argv[1:]] if a)])


def _frame_sha256(frame: Any) -> str:
    """SHA-256 of a DataFrame's content: column names, dtypes and pandas' per-row hashes (index included)."""
    import hashlib

    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def data_identity(data: Any) -> dict[str, str]:
    """The data of a run as ``{"name": ..., "sha256": ...}``: a file's name (no folder) and its bytes' hash.

    A partitioned Parquet folder hashes its files' names and hashes (sorted); a DataFrame its content
    (:func:`pandas.util.hash_pandas_object`); ``name`` never holds a folder path, so a shared report or
    manifest does not reveal where the data lives.
    """
    import glob
    import hashlib

    from famtrial._parallel import is_dask_dataframe

    def files_sha256(files: list[Path], root: Path | None) -> str:
        h = hashlib.sha256()
        for part in sorted(files):
            name = part.relative_to(root).as_posix() if root is not None else part.name
            h.update(f"{name}\0{file_sha256(part)}\n".encode())
        return h.hexdigest()

    if isinstance(data, (list, tuple)):  # the files of a partitioned dataset (the Dask engine)
        files = [Path(p) for p in data]
        return {"name": f"{len(files)} files", "sha256": files_sha256(files, None)}
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.is_dir():
            return {"name": path.name, "sha256": files_sha256([p for p in path.rglob("*") if p.is_file()], path)}
        if not path.exists() and glob.has_magic(str(data)):  # a glob of partition files
            matched = [Path(p) for p in glob.glob(str(data)) if Path(p).is_file()]
            return {"name": path.name, "sha256": files_sha256(matched, None) if matched else ""}
        return {"name": path.name, "sha256": file_sha256(path)}
    if is_dask_dataframe(data):  # lazy: not read to be hashed
        return {"name": "Dask DataFrame", "sha256": ""}
    return {"name": type(data).__name__, "sha256": _frame_sha256(data)}


def _lock(handle: IO[bytes]) -> bool:
    """Take an exclusive, non-blocking lock on ``handle``; ``False`` when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by replacing it whole (a hidden temporary file in the same folder)."""
    if path.is_symlink():
        raise ResultsError(f"{path} is a symbolic link: famtrial never writes through one; remove it")
    temp = path.with_name(f".{path.name}.tmp")
    temp.unlink(missing_ok=True)
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


class ResultsWriter:
    """One run's results folder, written atomically (see the module's description).

    Parameters
    ----------
    out : str or Path
        The results folder (created with its parents).
    plan : Mapping
        ``{"name": ..., "hash": ...}`` of the run's plan.
    data : Mapping
        ``{"name": ..., "sha256": ...}`` (:func:`data_identity`).
    command : str
        The command line or Python call recorded in the manifest.

    Use as a context manager; write each file to :meth:`path`, then :meth:`commit`. Leaving the block
    without committing (an error) removes the temporary folder and leaves the folder marked incomplete.
    """

    def __init__(self, out: str | Path, *, plan: Mapping[str, str], data: Mapping[str, str], command: str) -> None:
        self.out = Path(out)
        self.manifest = Manifest(
            famtrial=_version(), plan=plan, data=data, command=command, started=utc_now(), note="running"
        )
        self.temp: Path | None = None
        self._handle: IO[bytes] | None = None
        self._previous: Manifest | None = None
        self._created = False

    # -- opening -----------------------------------------------------------------------------------
    def __enter__(self) -> ResultsWriter:
        out = self.out
        self._created = not out.exists()
        if out.exists() and not out.is_dir():
            raise ResultsError(f"--out {str(out)!r} is a file, not a folder: choose a folder name")
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ResultsError(
                f"cannot write to the output folder {str(out)!r} ({exc.strerror or exc}): choose another --out folder"
            ) from None
        self._take_lock()
        try:
            self._refuse_links()
            self._mark_previous()
            self._remove_leftovers()
            try:
                self.temp = Path(tempfile.mkdtemp(prefix=f".{out.resolve().name}.famtrial-", dir=out.resolve().parent))
            except OSError as exc:
                raise ResultsError(
                    f"cannot create a temporary folder beside {str(out)!r} ({exc.strerror or exc}): famtrial "
                    "writes there first and moves the finished files in; choose an --out in a writable folder"
                ) from None
        except BaseException:
            self._release()
            raise
        return self

    def _take_lock(self) -> None:
        path = self.out / LOCK
        if path.is_symlink():
            raise ResultsError(f"{path} is a symbolic link: famtrial never writes through one; remove it")
        try:
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            handle = os.fdopen(os.open(path, flags, 0o644), "r+b")
        except OSError as exc:
            raise ResultsError(
                f"cannot write to the output folder {str(self.out)!r} ({exc.strerror or exc}): "
                "choose another --out folder"
            ) from None
        if not _lock(handle):
            try:
                holder = handle.read(200).decode(errors="replace").strip() or "another process"
            except OSError:  # Windows: the holder's locked byte cannot be read
                holder = "another process"
            handle.close()
            raise ResultsError(
                f"another famtrial run ({holder}) is writing to {str(self.out)!r} (it holds {LOCK}): wait for it to "
                "finish or choose another --out folder"
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {self.manifest.started}".encode())
        handle.flush()
        self._handle = handle

    def _refuse_links(self) -> None:
        """Refuse a folder holding a symbolic link (before any work): famtrial never writes through one."""
        links = sorted(p.name for p in self.out.iterdir() if p.is_symlink())
        if links:
            raise ResultsError(
                f"{str(self.out / links[0])!r} is a symbolic link ({len(links)} in {str(self.out)!r}): famtrial never "
                "writes through one (it would overwrite the file it points to); remove the link(s) or choose "
                "another --out folder"
            )

    def _mark_previous(self) -> None:
        """Mark the folder's manifest incomplete: from now on the folder holds no finished run."""
        if not (self.out / MANIFEST).exists() and not (self.out / MANIFEST).is_symlink():
            return
        try:
            previous = read_manifest(self.out)
        except ResultsError:
            previous = None
        self._previous = previous
        started = f"a run started {self.manifest.started} (pid {os.getpid()}) did not finish"
        base = previous or self.manifest
        _write_atomic(self.out / MANIFEST, replace(base, complete=False, note=started).to_json())

    def _remove_leftovers(self) -> None:
        """Remove temporary folders of earlier runs into this folder that were killed (the lock is ours)."""
        parent, prefix = self.out.resolve().parent, f".{self.out.resolve().name}.famtrial-"
        with contextlib.suppress(OSError):
            for path in parent.iterdir():
                if path.name.startswith(prefix) and path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)

    # -- writing -----------------------------------------------------------------------------------
    def path(self, name: str) -> Path:
        """Where to write the run's file ``name`` (inside the temporary folder); the name must be safe."""
        if self.temp is None:
            raise RuntimeError("ResultsWriter.path() outside its with-block")
        stem, dot, suffix = name.rpartition(".")
        problem = stem_problem(stem if dot else name) or (None if suffix.isalnum() else "has an unsafe suffix")
        if problem or name == MANIFEST:
            raise ResultsError(f"output file name {name!r} {problem or 'is the manifest'}: choose another name")
        return self.temp / name

    def commit(self, extra: Mapping[str, Any] | None = None) -> Manifest:
        """Move the finished files into the folder and write the complete manifest; return it."""
        assert self.temp is not None, "commit() outside the with-block"
        names = sorted(p.name for p in self.temp.iterdir())
        for name in (*names, MANIFEST):
            dest = self.out / name
            if dest.is_symlink():
                raise ResultsError(
                    f"{dest} is a symbolic link: famtrial never writes through one (it would overwrite the file it "
                    "points to); remove the link or choose another --out folder. Nothing was moved."
                )
            if dest.is_dir():
                raise ResultsError(f"{dest} is a folder: remove it or choose another --out folder. Nothing was moved.")
        files = {name: file_sha256(self.temp / name) for name in names}
        manifest = replace(self.manifest, files=files, note="moving the files in")
        for step, value in (extra or {}).items():
            manifest = manifest.with_extra(step, value)
        _write_atomic(self.out / MANIFEST, manifest.to_json())
        for name in names:
            os.replace(self.temp / name, self.out / name)
        for name in self._previous.files if self._previous else ():
            if name not in files and Path(name).name == name and name != MANIFEST:
                stale = self.out / name
                if stale.is_file() or stale.is_symlink():
                    stale.unlink()
        manifest = replace(manifest, complete=True, finished=utc_now(), note="")
        _write_atomic(self.out / MANIFEST, manifest.to_json())
        self.manifest = manifest
        return manifest

    # -- closing -----------------------------------------------------------------------------------
    def _release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                self._handle.seek(0)
                self._handle.truncate()
            self._handle.close()  # closing releases the lock
            self._handle = None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.temp is not None:
            shutil.rmtree(self.temp, ignore_errors=True)
            self.temp = None
        self._release()
        if error is not None and self._created:  # a failed first run leaves no folder behind
            with contextlib.suppress(OSError):
                (self.out / LOCK).unlink()
                self.out.rmdir()  # only when empty


def _version() -> str:
    from famtrial._version import __version__

    return str(__version__)
