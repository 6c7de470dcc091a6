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
