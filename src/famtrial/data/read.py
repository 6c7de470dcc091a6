"""Reading a panel: a DataFrame as it is, a .csv, .parquet or .dta file, or a partitioned Parquet dataset.

From a file only the plan's columns are read (the header is read first, without rows). A file that
cannot be read raises :class:`~famtrial.errors.PanelError` naming the file, the reader's own error
shortened, and what to check; a ';', tab or '|'-separated CSV is named as such. With
``engine="dask"`` (or a Dask DataFrame as the source) the panel is a lazy Dask DataFrame whose text
columns are object columns, as ``pandas.read_parquet`` gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from famtrial._options import Engine
from famtrial._parallel import is_dask_dataframe, read_parquet
from famtrial.errors import PanelError

__all__ = ["read"]

_KINDS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".dta": "Stata .dta"}


def _detail(exc: Exception) -> str:
    """A reader's error shortened to its type and first line."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else 'no detail'}"


def _csv_columns(path: Path, sep: str = ",") -> list[str]:
    """A CSV file's header; an empty file, or a file separated by another of ',', ';', tab or '|' than ``sep``, is an error."""
    if path.stat().st_size == 0:
        raise PanelError(f"panel file {str(path)!r} is empty (0 bytes): check the export that wrote it")
    import csv

    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        raw = next(
            csv.reader(handle, delimiter=sep), []
        )  # the header as written (pandas renames a repeated name 'x.1')
    _refuse_duplicates(raw, f"panel file {str(path)!r}")
    header = pd.read_csv(path, nrows=0, sep=sep)
    names = list(map(str, header.columns))
    other = next((c for c in (",", ";", "\t", "|") if c != sep and len(names) == 1 and c in names[0]), None)
    if other is not None:
        shown = {"\t": "\\t"}.get(other, other)
        raise PanelError(
            f"panel file {str(path)!r} looks like '{shown}'-separated CSV (header {names[0][:60]!r}): "
            f"set [data] sep = \"{shown}\" in the plan (--sep '{shown}' on the command line; "
            f"load_panel reads the plan's sep), or save it comma-separated"
        )
    return names


def _refuse_duplicates(names: Sequence[object], where: str) -> None:
    """Two columns of one name: which one is the data? An error naming the column and how often it repeats."""
    seen: dict[str, int] = {}
    for name in map(str, names):
        seen[name] = seen.get(name, 0) + 1
    repeated = {name: n for name, n in seen.items() if n > 1}
    if repeated:
        shown = ", ".join(f"{name!r} {n} times" for name, n in list(repeated.items())[:5])
        raise PanelError(
            f"{where} has column(s) {list(repeated)[:5]} more than once ({shown}): famtrial would not know which "
            "one holds the data; rename or drop the repeats"
        )


def _file_columns(path: Path, sep: str = ",") -> list[str]:
    """The column names of a panel file, read without its rows (errors name the file and the fix)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return _csv_columns(path, sep)
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            names = list(pq.read_schema(path).names)
            _refuse_duplicates(names, f"panel file {str(path)!r}")
            return names
        if suffix == ".dta":
            with pd.read_stata(path, iterator=True, convert_categoricals=False) as reader:
                return list(reader.variable_labels())
    except PanelError:
        raise
    except Exception as exc:  # a corrupt or mislabelled file: the reader's own error, shortened
        kind = _KINDS[suffix]
        raise PanelError(
            f"panel file {str(path)!r} cannot be read as {kind} ({_detail(exc)}): check that the file is "
            f"complete and really {kind}"
        ) from None
    raise PanelError(f"cannot read {path.name!r}: give a .csv, .parquet or .dta file, or a pandas DataFrame")


def _read_file(source: str | Path, columns: list[str] | None, sep: str = ",") -> tuple[pd.DataFrame, str, list[str]]:
    """A .csv (fields separated by ``sep``), .parquet or .dta file's ``columns`` (those present) in memory."""
    path = Path(source)
    if not path.exists():
        raise PanelError(f"panel file {str(path)!r} does not exist")
    if path.is_dir():
        raise PanelError(
            f"panel file {str(path)!r} is a folder: give the file (.csv, .parquet or .dta), or load "
            "a folder of Parquet files (a partitioned dataset) with engine='dask'"
        )
    present = _file_columns(path, sep)
    use = present if columns is None else [c for c in present if c in set(columns)]
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, usecols=use, sep=sep)
        elif suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path, columns=use)
        else:  # .dta: %tm-formatted months arrive as datetimes; value labels stay codes
            frame = pd.read_stata(path, columns=use, convert_categoricals=False)
    except Exception as exc:
        raise PanelError(
            f"panel file {str(path)!r} cannot be read ({_detail(exc)}): check that the file is complete"
        ) from None
    return frame, str(path), present


def read(
    source: object, columns: list[str] | None = None, engine: Engine | None = None, sep: str = ","
) -> tuple[pd.DataFrame, str, list[str]]:
    """The panel, its name and all its column names; from a file, only ``columns`` (those present) are read.

    Parameters
    ----------
    source : object
        A DataFrame, a path to a .csv, .parquet or .dta file, a Dask DataFrame, or (``engine="dask"``)
        a folder, glob or list of Parquet files.
    columns : list of str, optional
        The columns to read from a file; default: all.
    engine : {"pandas", "dask"}, optional
        ``"dask"``: read a partitioned Parquet dataset lazily.
    sep : str
        The field separator of a CSV file (the plan's ``[data] sep``; pandas ``read_csv(sep=)``).

    Returns
    -------
    frame : DataFrame
        In memory, or a lazy Dask DataFrame (annotated as ``Panel.data`` is).
    name : str
        ``"DataFrame"``, ``"Dask DataFrame"``, the file's path or the dataset's name.
    present : list of str
        Every column the source has.

    Raises
    ------
    TypeError
        A source of the wrong kind (a loaded Panel, a Dask DataFrame with ``engine="pandas"``, ...).
    PanelError
        A file or dataset that does not exist or cannot be read.
    """
    if is_dask_dataframe(source):
        if engine == "pandas":
            raise TypeError(
                "source is a Dask DataFrame: load it with engine='dask' (or leave engine unset), "
                "or pass source.compute() to load it in memory"
            )
        lazy: pd.DataFrame = source  # a Dask DataFrame, annotated as Panel.data is
        _refuse_duplicates(list(lazy.columns), "the DataFrame")  # as in memory
        return lazy, "Dask DataFrame", list(map(str, lazy.columns))
    if engine == "dask":
        return _read_dataset(source, columns)
    if isinstance(source, pd.DataFrame):
        _refuse_duplicates(list(source.columns), "the DataFrame")
        return source, "DataFrame", list(source.columns)
    if hasattr(source, "data") and hasattr(source, "plan") and isinstance(source.data, pd.DataFrame):
        raise TypeError(
            "source is already a loaded famtrial Panel: use it directly (load_panel takes a file or a DataFrame)"
        )
    if not isinstance(source, (str, Path)):
        raise TypeError(
            f"source must be a DataFrame or a path to a .csv, .parquet or .dta file, not {type(source).__name__}"
        )
    return _read_file(source, columns, sep)


def _read_dataset(source: object, columns: list[str] | None) -> tuple[Any, str, list[str]]:
    """A partitioned Parquet dataset (folder, glob or list of files) as a lazy Dask DataFrame of ``columns``."""
    if isinstance(source, pd.DataFrame):
        raise TypeError(
            "engine='dask' loads a partitioned Parquet dataset (a folder, a glob or a list of files) "
            "or a Dask DataFrame; a pandas DataFrame loads in memory: leave engine unset"
        )
    paths = [source] if isinstance(source, (str, Path)) else source
    if not isinstance(paths, (list, tuple)) or not paths or not all(isinstance(p, (str, Path)) for p in paths):
        raise TypeError(
            f"with engine='dask', source must be a folder, a glob or a list of Parquet files, "
            f"not {type(source).__name__}"
        )
    name = str(source) if isinstance(source, (str, Path)) else f"{len(paths)} Parquet files"
    if isinstance(source, (str, Path)) and not any(ch in str(source) for ch in "*?[") and not Path(source).exists():
        raise PanelError(f"panel dataset {str(source)!r} does not exist")
    target = str(source) if isinstance(source, (str, Path)) else [str(p) for p in paths]
    _check_partition_files(dataset_files(source), name, columns)
    import dask

    try:  # text columns as object columns, as pandas.read_parquet gives them (not Dask's pyarrow strings)
        with dask.config.set({"dataframe.convert-string": False}):
            present = list(map(str, read_parquet(target, None).columns))
            use = present if columns is None else [c for c in present if c in set(columns)]
            frame = read_parquet(target, use)
    except (OSError, ValueError, TypeError) as exc:  # pyarrow's errors derive from these
        raise PanelError(
            f"panel dataset {name!r} cannot be read as Parquet ({_detail(exc)}): give a folder, a glob or "
            "a list of Parquet files with one schema"
        ) from None
    return frame, name, present


def dataset_files(source: object) -> list[Path]:
    """The Parquet files of a dataset (a folder, a glob or a list of files), in the order Dask reads them."""
    import glob

    if isinstance(source, (list, tuple)):
        return [Path(p) for p in source]
    text = str(source)
    if any(ch in text for ch in "*?["):
        return [Path(p) for p in sorted(glob.glob(text))]
    path = Path(text)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".parquet", ".pq"))
    return [path]


def _check_partition_files(files: list[Path], name: str, columns: list[str] | None) -> None:
    """Every partition file's footer reads and has the columns the other files have; errors name the file."""
    import pyarrow.parquet as pq

    schemas: dict[Path, list[str]] = {}
    for file in files:
        try:
            schemas[file] = list(pq.read_schema(file).names)
        except Exception as exc:  # a corrupt, truncated or non-Parquet file: the reader's error, shortened
            raise PanelError(
                f"partition file {str(file)!r} of panel dataset {name!r} cannot be read as Parquet ({_detail(exc)}): "
                "check that the file is complete, or remove it from the dataset"
            ) from None
        _refuse_duplicates(schemas[file], f"partition file {str(file)!r} of panel dataset {name!r}")
    wanted = set(columns) if columns is not None else None
    every = {c for names in schemas.values() for c in names if wanted is None or c in wanted}
    for file, names in schemas.items():
        lacking = sorted(every - set(names))
        if lacking:
            raise PanelError(
                f"partition file {str(file)!r} of panel dataset {name!r} lacks column(s) {lacking} that other "
                "partition files have: every file of a dataset needs the same columns; rewrite that file"
            )
