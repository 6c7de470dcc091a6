"""A results folder's manifest: which run wrote which files, and whether the folder still holds them.

``famtrial reproduce`` ends by writing ``manifest.json`` beside its files (see
:mod:`famtrial.published.outputs` for how the folder is written atomically). The manifest records:

- ``format``: the manifest's layout version (:data:`FORMAT`);
- ``famtrial``: the version that wrote it;
- ``plan``: the plan's name and canonical hash (:meth:`famtrial.plan.spec.Plan.hash`);
- ``data``: what was analysed, by name (a file name, never a folder path) and SHA-256 (a file's
  bytes, a Parquet dataset's files, or a DataFrame's content);
- ``command``: the command line (or the Python call) that ran;
- ``started`` and ``finished``: UTC times, ISO 8601;
- ``files``: every file of the run, ``{name: sha256}``;
- ``complete``: ``true`` once every file is in place; a run that starts into a folder first marks the
  folder's manifest incomplete, so an interrupted or failed rerun leaves a folder ``verify`` refuses;
- ``extra``: further records by other steps, ``{step: JSON value}`` (e.g. a plan registration's
  status), added with :meth:`Manifest.with_extra`; readers ignore the steps they do not know.

:func:`check_results` compares a folder with its manifest and raises :class:`~famtrial.errors.ResultsError`
naming the first file that does not match.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from famtrial._paths import file_sha256
from famtrial.errors import ResultsError

__all__ = ["MANIFEST", "FORMAT", "LOCK", "Manifest", "read_manifest", "check_results", "utc_now"]

#: the manifest's file name inside a results folder
MANIFEST = "manifest.json"
#: the lock file a run holds in its results folder (hidden; not a result)
LOCK = ".famtrial.lock"
#: the manifest's layout version
FORMAT = 1


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds (``2026-01-31T12:00:00Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class Manifest:
    """What one run wrote into a results folder (``manifest.json``).

    Parameters
    ----------
    famtrial : str
        The version that wrote the folder.
    plan : Mapping
        ``{"name": ..., "hash": ...}``: the plan and its canonical SHA-256.
    data : Mapping
        ``{"name": ..., "sha256": ...}``: the data's file name (or ``"DataFrame"``) and hash.
    command : str
        The command line or Python call.
    started, finished : str
        UTC times (ISO 8601); ``finished`` is empty while the run is incomplete.
    files : Mapping[str, str]
        Every file of the run, ``{name: sha256}``.
    complete : bool
        Whether every file of the run is in place.
    extra : Mapping[str, Any]
        Further records, ``{step: JSON value}``, added by other steps (:meth:`with_extra`).
    note : str
        Why the folder is incomplete, when it is.
    """

    famtrial: str
    plan: Mapping[str, str]
    data: Mapping[str, str]
    command: str
    started: str
    finished: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    complete: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("plan", "data", "files", "extra"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def with_extra(self, step: str, value: Any) -> Manifest:
        """A copy with ``extra[step] = value`` (a JSON value: text, number, bool, list or mapping).

        Raises ``ValueError`` when ``value`` cannot be written as JSON.
        """
        if not isinstance(step, str) or not step:
            raise TypeError(f"step must be a non-empty string, not {step!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"manifest entry {step!r} must be a JSON value ({exc})") from None
        return replace(self, extra={**self.extra, step: value})

    def to_dict(self) -> dict[str, Any]:
        """The manifest as its JSON document."""
        return {
            "format": FORMAT,
            "famtrial": self.famtrial,
            "plan": dict(self.plan),
            "data": dict(self.data),
            "command": self.command,
            "started": self.started,
            "finished": self.finished,
            "complete": self.complete,
            "note": self.note,
            "files": dict(sorted(self.files.items())),
            "extra": dict(self.extra),
        }

    def to_json(self) -> str:
        """The manifest as JSON text (indented, keys in a fixed order)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=True) + "\n"

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], *, source: str = MANIFEST) -> Manifest:
        """Read a manifest's JSON document (``source`` is named in errors)."""
        if not isinstance(raw, Mapping):
            raise ResultsError(f"{source} is not a famtrial manifest (a JSON object): run famtrial reproduce again")
        fmt = raw.get("format")
        if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > FORMAT or fmt < 1:
            raise ResultsError(
                f"{source} has manifest format {fmt!r}; this famtrial reads format {FORMAT} or older: "
                "upgrade famtrial or run famtrial reproduce again"
            )
        files = raw.get("files", {})
        if not isinstance(files, Mapping) or not all(isinstance(v, str) for v in files.values()):
            raise ResultsError(f"{source}: 'files' must map file names to SHA-256 hashes")
        try:
            return cls(
                famtrial=str(raw["famtrial"]),
                plan=dict(raw.get("plan", {})),
                data=dict(raw.get("data", {})),
                command=str(raw.get("command", "")),
                started=str(raw.get("started", "")),
                finished=str(raw.get("finished", "")),
                files=dict(files),
                complete=raw.get("complete") is True,
                extra=dict(raw.get("extra", {})),
                note=str(raw.get("note", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ResultsError(f"{source} is not a famtrial manifest ({exc}): run famtrial reproduce again") from None


def read_manifest(folder: str | Path) -> Manifest:
    """Read ``folder/manifest.json``; :class:`ResultsError` when it is absent or unreadable."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ResultsError(
            f"{str(folder)!r} has no {MANIFEST}: it is not a complete famtrial reproduce folder (an older, "
            "interrupted or hand-made one): run famtrial reproduce --out into it again"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path} cannot be read as JSON ({exc}): run famtrial reproduce again") from None
    return Manifest.from_dict(raw, source=str(path))


def check_results(folder: str | Path) -> Manifest:
    """Check that ``folder`` holds exactly the complete run its manifest describes; return the manifest.

    Refused (:class:`ResultsError`, naming the file): no manifest; an incomplete run (interrupted,
    failed, or still running); a file of the manifest missing, or whose SHA-256 differs (stale: another
    run's or edited); a file the manifest does not list (mixed in from another run). Hidden files (the
    lock) and sub-folders are not results and are not checked.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    if not manifest.complete:
        why = f" ({manifest.note})" if manifest.note else ""
        raise ResultsError(
            f"{folder / MANIFEST} marks the folder incomplete{why}: the last run into {str(folder)!r} did not "
            "finish; run famtrial reproduce again"
        )
    for name, digest in manifest.files.items():
        path = folder / name
        if Path(name).name != name or not path.is_file() or path.is_symlink():
            raise ResultsError(
                f"{path} is listed in {MANIFEST} but missing (or not a plain file): the folder is incomplete; "
                "run famtrial reproduce again"
            )
        if file_sha256(path) != digest:
            raise ResultsError(
                f"{path} differs from the file the run wrote (its SHA-256 is not the manifest's): it is stale or "
                "edited; run famtrial reproduce again"
            )
    known = {*manifest.files, MANIFEST}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.is_dir() or path.name in known:
            continue
        raise ResultsError(
            f"{path} is not a file of the run in {MANIFEST} (started {manifest.started}): it comes from another "
            "run or was added; remove it or run famtrial reproduce into an empty folder"
        )
    return manifest
