"""Locate the data shipped with famtrial (the synthetic replicas, the published numbers, the plans).

An installed wheel carries ``data/`` inside the package as ``famtrial/_data``; an editable
install or a source checkout reads the repository's ``data/`` folder directly.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir() -> Path:
    """Return the folder holding ``synthetic/`` and ``published/``."""
    for candidate in (_PACKAGE / "_data", _PACKAGE.parents[1] / "data"):
        if (candidate / "synthetic").is_dir():
            return candidate
    raise FileNotFoundError(
        "famtrial's data folder was not found: expected famtrial/_data in an installed wheel "
        "or data/ at the root of a source checkout"
    )


def plans_dir() -> Path:
    """Return the folder of the shipped analysis plans (``plans/`` in a checkout, ``famtrial/_data/plans`` installed)."""
    for candidate in (_PACKAGE / "_data" / "plans", _PACKAGE.parents[1] / "plans"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "famtrial's plans folder was not found: expected famtrial/_data/plans in an installed "
        "wheel or plans/ at the root of a source checkout"
    )


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks), as 64 hexadecimal digits."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: Windows device names: a file called ``con.csv`` or ``nul.md`` cannot be written there (any suffix)
_RESERVED_STEMS = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(1, 10)] + [f"lpt{i}" for i in range(1, 10)]
)
_MAX_STEM = 100


def stem_problem(name: object) -> str | None:
    """Why ``name`` is not a safe output file stem (``None``: it is one).

    A safe stem is one path component: letters, digits, ``_``, ``-`` and ``.``, starting with a letter
    or digit, no ``..``, at most 100 characters, not a Windows device name (``con``, ``nul``, ``com1``
    ...). So no separator, no absolute path, no parent folder, no hidden file: a file named after it
    stays inside the output folder on every operating system.
    """
    import re

    if not isinstance(name, str) or not name:
        return "is empty: give a file name such as 'table2'"
    if "/" in name or "\\" in name or name.startswith(("~", ".")) or ":" in name:
        return "is a path: give a plain file name (no folder, '/', '\\', ':', leading '.' or '~')"
    if ".." in name:
        return "contains '..': give a plain file name"
    if len(name) > _MAX_STEM:
        return f"is {len(name)} characters long: at most {_MAX_STEM}"
    if not re.fullmatch(r"[^\W_][\w.-]*", name) or name.endswith("."):
        return "must be letters, digits, '_', '-' or '.', starting with a letter or digit (e.g. 'table2')"
    if name.split(".")[0].casefold() in _RESERVED_STEMS:
        return "is a reserved device name on Windows: choose another name"
    return None
