"""Published-estimate regression: compare reproduced numbers with the paper's, at printed precision.

The published numbers are data (``data/published/trial.toml``): each key of the contract
(``table5.model1.coordinator_pooled.or`` ...) with its value and its printed text, from which the
printed precision follows (``"1.05"`` -> 2 decimals). ``verify(results)`` lines every published
number up with the reproduced one (``reproduced.csv`` written by ``famtrial reproduce``, a mapping
or a key/value frame). A number passes when ``|reproduced - published| <= tolerance``:

- default tolerance: half a unit of the printed last digit (``"1.05"`` -> 0.005, ``"964"`` -> 0.5);
- the spec may set a tolerance per entry (``tolerance = 0.001`` for a statistic the paper truncates)
  or per table/prefix (its ``[tolerances]`` table);
- the caller widens (or narrows) per table, prefix, glob or key:
  ``tolerances={"table5": 0.02, "table5.*.or": 0.01, "table5.model1.coordinator_pooled.ci_low": 0.03}``;
  the most specific (longest) matching pattern wins, caller overrides win over the spec's, and a
  pattern that matches no published number is an error.

Text entries (``monthly.<outcome>.significant_months``) must match exactly as sets of months.
Entries the paper contradicts itself on (``inconsistent`` in the spec, found independently by
:func:`famtrial.published.audit.audit_paper`) get status ``note`` instead of ``FAIL`` when they differ.
``famtrial verify`` exits 1 when any number fails or is missing.
"""

from __future__ import annotations

import fnmatch
import html
import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from famtrial._paths import data_dir
from famtrial.published.manifest import MANIFEST, check_results
from famtrial.table import Table

__all__ = ["PublishedNumber", "Spec", "VerifyReport", "load_spec", "verify"]

_ENTRY_FIELDS = {"value", "printed", "stars", "note", "inconsistent", "tolerance"}


@dataclass(frozen=True)
class PublishedNumber:
    """One printed number: its value, its printed text and what the spec says about it.

    ``decimals`` (printed precision) is derived from ``printed``: ``".14"`` -> 2, ``"964"`` -> 0;
    ``None`` for text entries (compared exactly).
    """

    key: str
    value: float | str
    printed: str
    stars: str = ""
    note: str = ""
    inconsistent: str = ""
    tolerance: float | None = None

    @property
    def is_text(self) -> bool:
        """Whether the entry is text (compared exactly) rather than a number."""
        return isinstance(self.value, str)

    @property
    def decimals(self) -> int | None:
        """The printed precision: digits after the point in ``printed``; None for a text entry."""
        if self.is_text:
            return None
        return len(self.printed.split(".")[1]) if "." in self.printed else 0

    @property
    def half_unit(self) -> float | None:
        """Half a unit of the printed last digit (the default tolerance)."""
        decimals = self.decimals  # None for text entries
        return None if decimals is None else 0.5 * 10.0**-decimals


def _entry(key: str, raw: Mapping[str, Any], where: str) -> PublishedNumber:
    if not isinstance(raw, Mapping) or "value" not in raw or "printed" not in raw:
        raise ValueError(
            f"{where}: entry {key!r} needs at least 'value' and 'printed' (e.g. {{ value = 1.05, printed = \"1.05\" }})"
        )
    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        raise ValueError(
            f"{where}: entry {key!r} has unknown field(s) {sorted(unknown)}; allowed: {sorted(_ENTRY_FIELDS)}"
        )
    value, printed = raw["value"], str(raw["printed"])
    if not isinstance(value, str):
        try:
            parsed = float(printed.replace("\u2212", "-"))
        except ValueError:
            raise ValueError(f"{where}: entry {key!r} has printed text {printed!r}, which is not a number") from None
        if abs(parsed - float(value)) > 1e-12 * max(1.0, abs(parsed)):
            raise ValueError(f"{where}: entry {key!r}: value {value} disagrees with its printed text {printed!r}")
        value = float(value)
    tol = raw.get("tolerance")
    return PublishedNumber(
        key=key,
        value=value,
        printed=printed,
        stars=str(raw.get("stars", "")),
        note=str(raw.get("note", "")),
        inconsistent=str(raw.get("inconsistent", "")),
        tolerance=None if tol is None else float(tol),
    )


@dataclass(frozen=True)
class Spec:
    """A paper's published numbers.

    ``numbers`` (compared by :func:`verify`), ``context`` (printed inputs of the audit that no analysis
    reproduces), ``tolerances`` (per-table/prefix overrides).
    """

    numbers: Mapping[str, PublishedNumber]
    context: Mapping[str, PublishedNumber] = field(default_factory=dict)
    tolerances: Mapping[str, float] = field(default_factory=dict)
    title: str = ""
    source: str = ""

    def __getitem__(self, key: str) -> PublishedNumber:
        if key in self.numbers:
            return self.numbers[key]
        if key in self.context:
            return self.context[key]
        raise KeyError(f"{key!r} is not in the spec ({len(self.numbers)} numbers, {len(self.context)} context)")

    def __contains__(self, key: object) -> bool:
        return key in self.numbers or key in self.context

    def __iter__(self) -> Iterator[str]:
        return iter(self.numbers)

    def __len__(self) -> int:
        return len(self.numbers)

    def values(self) -> dict[str, float | str]:
        """``{key: published value}`` of the compared numbers (a results mapping that passes by construction)."""
        return {k: e.value for k, e in self.numbers.items()}

    def to_frame(self) -> pd.DataFrame:
        """One row per entry: value, printed, decimals, stars, tolerance, note, inconsistent, section."""
        rows = [
            {
                "key": e.key,
                "section": section,
                "value": e.value,
                "printed": e.printed,
                "decimals": e.decimals,
                "stars": e.stars,
                "tolerance": e.tolerance,
                "note": e.note,
                "inconsistent": e.inconsistent,
            }
            for section, entries in (("numbers", self.numbers), ("context", self.context))
            for e in entries.values()
        ]
        return pd.DataFrame(rows).set_index("key")


def load_spec(path: str | Path | None = None) -> Spec:
    """Read a published-number spec (TOML); default: the trial's, ``data/published/trial.toml``.

    Layout: ``[numbers]`` (``"key" = { value = 1.05, printed = "1.05", stars = "*", note = "...",
    inconsistent = "...", tolerance = 0.01 }``, only ``value`` and ``printed`` required), optional
    ``[context]`` with the same entries, ``[tolerances]`` (``table4 = { value = 0.01, reason = "..." }``
    or ``table4 = 0.01``) and ``[meta]`` (``title``, ``source``).
    """
    if path is not None and not isinstance(path, (str, Path)):
        raise TypeError(f"spec must be a path to a spec TOML or None, not {type(path).__name__}")
    path = Path(path) if path is not None else data_dir() / "published" / "trial.toml"
    if not path.exists():
        raise FileNotFoundError(f"spec {path} does not exist")
    if path.is_dir():
        raise ValueError(f"spec {str(path)!r} is a folder: give the spec's .toml file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"spec {str(path)!r} is not valid TOML ({exc})") from None
    unknown = set(raw) - {"meta", "numbers", "context", "tolerances"}
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {sorted(unknown)}; allowed: meta, numbers, context, tolerances")
    if not raw.get("numbers"):
        raise ValueError(f"{path} has no [numbers] table")
    numbers = {k: _entry(k, v, str(path)) for k, v in raw["numbers"].items()}
    context = {k: _entry(k, v, str(path)) for k, v in raw.get("context", {}).items()}
    tolerances = {k: float(v["value"] if isinstance(v, Mapping) else v) for k, v in raw.get("tolerances", {}).items()}
    meta = raw.get("meta", {})
    return Spec(
        numbers=numbers,
        context=context,
        tolerances=tolerances,
        title=str(meta.get("title", "")),
        source=str(meta.get("source", path)),
    )


def _as_spec(spec: Spec | str | Path | None) -> Spec:
    if spec is None or isinstance(spec, (str, Path)):
        return load_spec(spec)
    if isinstance(spec, Spec):
        return spec
    raise TypeError(f"spec must be a Spec, a path to a spec TOML or None, not {type(spec).__name__}")


def _reproduced(results: object) -> dict[str, object]:
    """Reproduced numbers as ``{key: value}`` from a folder, a CSV path, a mapping or a key/value frame."""
    if isinstance(results, (str, Path)):
        path = Path(results)
        folder = path if path.is_dir() else path.parent
        if (folder / MANIFEST).exists() or (path.is_dir() and (path / "reproduced.csv").exists()):
            check_results(folder)  # no manifest, stale, mixed or incomplete: refused, naming the file
        path = path / "reproduced.csv" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(
                f"{path} does not exist: run `famtrial reproduce --out DIR` first "
                "(verify reads DIR/reproduced.csv with columns key,value)"
            )
        if path.stat().st_size == 0:
            raise ValueError(f"results file {str(path)!r} is empty (0 bytes): run `famtrial reproduce` again")
        try:
            results = pd.read_csv(path, dtype={"key": str, "value": str}, keep_default_na=False)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ValueError(
                f"results file {str(path)!r} cannot be read as CSV with columns key,value "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
            ) from None
    if isinstance(results, pd.DataFrame):
        missing = {"key", "value"} - set(results.columns)
        if missing:
            raise ValueError(
                f"a results frame needs columns 'key' and 'value'; missing {sorted(missing)} "
                f"(got {list(results.columns)})"
            )
        dup = results["key"][results["key"].duplicated()]
        if len(dup):
            raise ValueError(f"results have {len(dup)} duplicated key(s), e.g. {dup.iloc[0]!r}: keep one row per key")
        results = dict(zip(results["key"], results["value"]))
    if not isinstance(results, Mapping):
        raise TypeError(
            "results must be a results folder, a reproduced.csv path, a mapping key -> value "
            f"or a DataFrame with columns key,value; not {type(results).__name__}"
        )
    if not results:
        raise ValueError(
            "results are empty (no reproduced numbers): give the folder written by famtrial reproduce, "
            "its reproduced.csv, or a mapping key -> value"
        )
    bad = [k for k in results if not isinstance(k, str)]
    if bad:
        raise TypeError(f"results keys must be strings such as 'table5.model1.coordinator_pooled.or'; got {bad[:3]}")
    return dict(results)


def _matches(key: str, pattern: str) -> bool:
    """Whether ``pattern`` matches the whole key or a prefix of whole key parts (``table5.model1``).

    The pattern may hold ``fnmatch`` wildcards (``table5.*.or``, ``table?.model4``).
    """
    return fnmatch.fnmatchcase(key, pattern) or fnmatch.fnmatchcase(key, pattern + ".*")


def _tolerance(entry: PublishedNumber, spec_tol: Mapping[str, float], user_tol: Mapping[str, float]) -> float | None:
    """The tolerance of ``entry``; None for a text entry (compared exactly).

    Caller override (most specific, i.e. longest, matching pattern) > entry tolerance > spec pattern
    tolerance > half a printed unit.
    """

    def most_specific(table: Mapping[str, float]) -> float | None:
        hits = [p for p in table if _matches(entry.key, p)]
        return table[max(hits, key=len)] if hits else None

    for candidate in (most_specific(user_tol), entry.tolerance, most_specific(spec_tol)):
        if candidate is not None:
            return float(candidate)
    return entry.half_unit


def _months(value: object) -> frozenset[str]:
    return frozenset(m.strip() for m in str(value).split(",") if m.strip())


def _compare(entry: PublishedNumber, got: Any, tol: float | None) -> dict[str, Any]:
    """One side-by-side row (status before applying the entry's ``inconsistent`` flag)."""
    row: dict[str, Any] = {"reproduced": got, "difference": math.nan, "tolerance": math.nan}
    if entry.is_text:
        same = _months(got) == _months(entry.value)
        return row | {"reproduced": str(got), "status": "ok" if same else "FAIL"}
    try:
        number = float(got)
    except (TypeError, ValueError):
        return row | {"reproduced": str(got), "status": "FAIL", "why": f"reproduced {got!r} is not a number"}
    diff = number - float(entry.value)
    assert tol is not None  # a numeric entry has a tolerance (at least half a printed unit)
    ok = math.isfinite(diff) and abs(diff) <= tol * (1 + 1e-9) + 1e-12
    return row | {"reproduced": number, "difference": diff, "tolerance": tol, "status": "ok" if ok else "FAIL"}


@dataclass(frozen=True)
class VerifyReport:
    """Published vs reproduced, one row per published number.

    ``table.frame`` columns: ``published`` (value), ``printed``, ``reproduced``, ``difference``
    (reproduced - published), ``tolerance``, ``status`` (``ok``, ``FAIL``, ``missing``, ``note``: differs
    where the paper contradicts itself), ``note``. ``unmatched``: reproduced keys the spec lacks (ignored,
    but listed). ``allow_missing``: whether missing numbers count as failures.
    """

    table: Table
    unmatched: tuple[str, ...] = ()
    allow_missing: bool = False

    @property
    def frame(self) -> pd.DataFrame:
        """Every published number, one row each (``table.frame``)."""
        return self.table.frame

    @property
    def failed(self) -> pd.DataFrame:
        """Rows that fail: ``FAIL``, and ``missing`` unless ``allow_missing``."""
        bad = ["FAIL"] if self.allow_missing else ["FAIL", "missing"]
        return self.frame[self.frame["status"].isin(bad)]

    @property
    def n_failed(self) -> int:
        """The number of rows in :attr:`failed`."""
        return len(self.failed)

    @property
    def ok(self) -> bool:
        """Whether no number fails (``famtrial verify`` exits 0)."""
        return self.n_failed == 0

    def summary(self) -> str:
        """The counts per status and PASS or FAIL, then the reproduced keys the spec lacks (up to five named)."""
        counts = self.frame["status"].value_counts()
        parts = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "FAIL", "missing", "note"))
        text = f"verify: {len(self.frame)} published numbers: {parts} -> {'PASS' if self.ok else 'FAIL'}" + (
            " (missing allowed)" if self.allow_missing and counts.get("missing", 0) else ""
        )
        if self.unmatched:
            shown = ", ".join(self.unmatched[:5]) + (", ..." if len(self.unmatched) > 5 else "")
            text += f"\n{len(self.unmatched)} reproduced key(s) not in the spec, not compared: {shown}"
        return text

    def to_markdown(self) -> str:
        """The summary and the table as Markdown."""
        return self.summary().replace("\n", "\n\n") + "\n\n" + self.table.to_markdown()

    def __str__(self) -> str:
        shown: str = self.table.display.to_string()
        return self.summary() + "\n" + shown

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.summary())}</p>" + self.table.to_html()


def _display(frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    def fmt(value: Any, digits: int) -> str:
        if isinstance(value, float) and math.isnan(value):
            return ""
        return str(int(value)) if digits == 3 and float(value).is_integer() else f"{value:.{digits}f}"

    rows = {}
    for key, r in frame.iterrows():
        d = spec.numbers[key].decimals or 0
        number = isinstance(r["reproduced"], float)
        rows[key] = {
            "published": r["printed"],
            "reproduced": fmt(r["reproduced"], d + 3)
            if number
            else ("" if r["reproduced"] is None else str(r["reproduced"])),
            "difference": fmt(r["difference"], d + 3) if number else "",
            "tolerance": f"{r['tolerance']:.4g}" if number and not math.isnan(r["tolerance"]) else "",
            "status": r["status"],
            "note": r["note"],
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("key")


def _check_verify_args(tolerances: object, tables: object, allow_missing: object) -> None:
    """Raise ``TypeError`` unless the options of :func:`verify` have the types it takes."""
    if not isinstance(allow_missing, bool):
        raise TypeError(f"allow_missing={allow_missing!r} must be True or False")
    if tolerances is not None and not isinstance(tolerances, Mapping):
        raise TypeError(
            f"tolerances must be a mapping pattern -> tolerance (e.g. {{'table5': 0.01}}), "
            f"not {type(tolerances).__name__}"
        )
    if (
        tables is not None
        and not isinstance(tables, str)
        and (
            isinstance(tables, Mapping)
            or not isinstance(tables, Sequence)
            or not all(isinstance(t, str) for t in tables)
        )
    ):
        raise TypeError(f"tables must be a list of prefixes or globs (e.g. ['table5']), not {tables!r}")


def _user_tolerances(tolerances: Mapping[str, float] | None, spec: Spec) -> dict[str, float]:
    """The caller's tolerances, each a number >= 0 whose pattern matches a published number."""
    user_tol = dict(tolerances or {})
    for prefix, tol in user_tol.items():
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
            raise ValueError(f"tolerance for {prefix!r} must be a number >= 0, got {tol!r}")
        if not any(_matches(k, prefix) for k in spec.numbers):
            raise ValueError(
                f"tolerance for {prefix!r} matches no published number (a typo?); patterns are keys, "
                "prefixes such as 'table5.model1' or globs such as 'table5.*.or'"
            )
    return user_tol


def _selected(spec: Spec, tables: str | Sequence[str] | None) -> list[str]:
    """The published keys under ``tables`` (all without it); each prefix must match one."""
    selected = list(spec.numbers)
    if tables is not None:
        prefixes = [tables] if isinstance(tables, str) else list(tables)
        for prefix in prefixes:
            if not any(_matches(k, prefix) for k in spec.numbers):
                groups = sorted({k.split(".")[0] for k in spec.numbers})
                raise ValueError(f"tables: {prefix!r} matches no published number; tables in the spec: {groups}")
        selected = [k for k in selected if any(_matches(k, p) for p in prefixes)]
    return selected


def _verify_row(key: str, entry: PublishedNumber, got: Mapping[str, object], limit: float | None) -> dict[str, Any]:
    """One published number beside its reproduced value (missing, compared, or a note where the paper contradicts itself)."""
    row: dict[str, Any]
    if key not in got:
        row = {
            "reproduced": None,
            "difference": math.nan,
            "tolerance": math.nan if entry.is_text else limit,
            "status": "missing",
        }
    else:
        row = _compare(entry, got[key], limit)
    note = entry.inconsistent or entry.note
    if row["status"] == "FAIL" and entry.inconsistent:
        row["status"] = "note"
    note = "; ".join(filter(None, [row.pop("why", ""), note]))
    return {"published": entry.value, "printed": entry.printed, **row, "note": note}


def verify(
    results: str | Path | Mapping[str, object] | pd.DataFrame,
    spec: Spec | str | Path | None = None,
    *,
    tolerances: Mapping[str, float] | None = None,
    tables: Sequence[str] | None = None,
    allow_missing: bool = False,
) -> VerifyReport:
    """Compare reproduced numbers with the published ones, each within its printed rounding.

    Parameters
    ----------
    results : str, Path, Mapping or DataFrame
        A results folder holding ``reproduced.csv`` (``key,value``), that CSV's path, a mapping
        ``key -> value``, or a DataFrame with columns ``key`` and ``value``. A folder (or a CSV in a
        folder with a ``manifest.json``) is first checked against its manifest
        (:func:`famtrial.published.manifest.check_results`): a folder without one, of an unfinished
        run, or holding a file the run did not write (stale, mixed) is refused with
        :class:`~famtrial.errors.ResultsError` naming the file. A bare CSV is compared as it is.
    spec : Spec, str, Path or None
        Published numbers (:func:`load_spec`); None: the trial's shipped spec.
    tolerances : Mapping[str, float], optional
        Absolute tolerances per table, prefix, glob or key (``{"table5": 0.02, "table5.*.or": 0.01}``);
        the most specific (longest) matching pattern wins and overrides the spec. Default: the spec's
        own, else half a unit of the printed last digit.
    tables : sequence of str, optional
        Compare only keys under these prefixes or globs (``["table5", "monthly.activation"]``,
        ``["table?.model4"]``); each must match.
    allow_missing : bool
        Report published numbers absent from ``results`` as ``missing`` without failing.

    Returns
    -------
    VerifyReport
        ``.table`` side by side, ``.ok``, ``.n_failed``, ``.failed``, ``summary()``, ``to_markdown()``.

    Notes
    -----
    Number ``k`` passes when ``|reproduced_k - published_k| <= tol_k``, with ``tol_k`` = ``0.5 * 10**-d_k``
    for ``d_k`` printed decimals unless overridden. Text entries (significant months) compare as sets.
    Stata/R have no equivalent; it is the published-number analogue of a regression test.
    """
    _check_verify_args(tolerances, tables, allow_missing)
    spec = _as_spec(spec)
    got = _reproduced(results)
    user_tol = _user_tolerances(tolerances, spec)
    rows = {}
    for key in _selected(spec, tables):
        entry = spec.numbers[key]
        rows[key] = _verify_row(key, entry, got, _tolerance(entry, spec.tolerances, user_tol))
    frame = pd.DataFrame.from_dict(rows, orient="index").rename_axis("key")
    if frame.empty:
        raise ValueError("nothing to verify: the spec has no numbers under the selected tables")
    unmatched = tuple(sorted(set(got) - set(spec.numbers) - set(spec.context)))
    table = Table(
        frame=frame,
        display=_display(frame, spec),
        title="Published vs reproduced",
        notes="published: as printed; difference: reproduced - published; tolerance: half a unit of "
        "the printed last digit unless widened; note: the paper contradicts itself here "
        "(reported, not failed).",
    )
    return VerifyReport(table=table, unmatched=unmatched, allow_missing=allow_missing)
