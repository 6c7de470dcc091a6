"""``famtrial freeze``: a results folder's numbers as a published-number spec, at the precision printed.

Once a report is delivered its numbers must not drift when the data pipeline, famtrial or numpy
changes. :func:`freeze` turns the folder ``famtrial reproduce`` wrote into a spec in the format of
``data/published/trial.toml`` (:func:`famtrial.published.verify.load_spec`), so that
``famtrial verify --results DIR --spec spec.toml`` (or
:func:`famtrial.testing.assert_matches_published` with ``spec=``) fails on any later drift.

Conventions (documented in docs/ci.md):

- **Every number of the run**: every key of ``reproduced.csv`` becomes one ``[numbers]`` entry.
- **At the precision printed**: a number's ``printed`` text has as many decimals as the report
  prints it with in its own table (``<table>.md``; a monthly series' row of its table in ``report.html``;
  every table of ``report.html`` for a key of no table). The cells are read as numbers
  (stars, parentheses, thousands separators, a missing leading zero and the Unicode minus are
  understood); a number is matched to a cell when it rounds to that cell's text at that cell's decimals,
  and the most decimals any matching cell shows are kept (two cells that print one number at 2 and 3
  decimals: 3). A number the report prints in no cell (a count shown as "yes", a p-value printed as
  "<.001") is frozen at ``unprinted_digits`` decimals (default 3) and its entry says so in ``note``;
  whole numbers are frozen as whole numbers. The default tolerance of ``verify`` is then half a unit
  of that last digit.
- **Text entries** (the significant months) are frozen as text and compared exactly (as sets).
- A number without an estimate (NaN in ``reproduced.csv``: a month whose logit separates) is not
  frozen: a comment line in the spec and :attr:`FrozenSpec.skipped` name it (``verify`` then lists it
  among the reproduced keys the spec lacks).
- ``[meta]`` records the plan (name, canonical hash :attr:`Plan.hash <famtrial.plan.spec.Plan.hash>`),
  the data file (name and SHA-256, :func:`famtrial._paths.file_sha256`), famtrial's version and the
  time of freezing, so a spec says what it froze.

Stata and R have no equivalent (the nearest is a hand-kept log of estimates compared with ``cf`` or
``all.equal``).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from famtrial._paths import file_sha256
from famtrial._toml import value_text
from famtrial._version import __version__
from famtrial.errors import SpecError
from famtrial.plan.spec import Plan, load_plan
from famtrial.published.verify import _reproduced

__all__ = ["FrozenSpec", "freeze", "printed_cells", "spec_meta"]

#: a number as the report prints it: optional sign, digits with thousands separators, optional decimals
_NUMBER = re.compile(r"[-\u2212]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?")
#: the decimals tried, most first (no table prints more)
_MAX_DECIMALS = 8


class _Tables(HTMLParser):
    """Every table of an HTML page: its caption and its rows, each a row header and the ``<td>`` texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[tuple[str, list[str]]]]] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._row: tuple[list[str], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.tables.append(("", []))
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = ([], [])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._caption is not None and self.tables:
            self.tables[-1] = ("".join(self._caption), self.tables[-1][1])
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            (self._row[1] if tag == "td" else self._row[0]).append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1][1].append(("".join(self._row[0]), self._row[1]))
            self._row = None

    def handle_data(self, data: str) -> None:
        for part in (self._caption, self._cell):
            if part is not None:
                part.append(data)


def _numbers_in(text: str) -> list[tuple[float, int]]:
    """Every number printed in a cell's text with its decimals (``"(.81, 1.36)"`` -> (0.81, 2), (1.36, 2))."""
    out = []
    for match in _NUMBER.finditer(text):
        token = match.group(0)
        if not any(ch.isdigit() for ch in token):
            continue
        clean = token.replace(",", "").replace("\u2212", "-")
        decimals = len(clean.split(".")[1]) if "." in clean else 0
        out.append((float(clean), decimals))
    return out


def _by_decimals(texts: list[str]) -> dict[int, set[str]]:
    """The numbers printed in ``texts`` by decimals: ``{decimals: {"1.05", "0.14", ...}}``."""
    out: dict[int, set[str]] = {}
    for text in texts:
        for number, decimals in _numbers_in(text):
            out.setdefault(decimals, set()).add(f"{number:.{decimals}f}")
    return out


def _markdown_cells(path: Path) -> list[str]:
    """The cells of a Markdown pipe table (``famtrial reproduce``'s ``<table>.md``)."""
    cells = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not set(line) <= set("|:- "):
            cells += [c.strip() for c in line.strip().strip("|").split("|")][1:]  # the row label is not a number
    return cells


def printed_cells(results: str | Path, plan: Plan | str | Path | None = None) -> dict[str, dict[int, set[str]]]:
    """The numbers a run's tables print, per table, as text by decimals.

    Parameters
    ----------
    results : str or Path
        A folder written by ``famtrial reproduce``.
    plan : Plan, path or shipped plan name, optional
        The run's plan (default: the shipped family-coordinator plan): its series name the monthly tables.

    Returns
    -------
    dict
        ``{table: {decimals: {text, ...}}}``: one entry per ``<table>.md`` the run wrote (by its name),
        ``monthly.<series>.<YYYY-MM>`` per row of each monthly table of ``report.html``, and ``""`` for every
        cell of ``report.html`` (the fallback of a key whose table is not found).
    """
    folder, run_plan = Path(results), load_plan(plan)
    parser = _Tables()
    parser.feed((folder / "report.html").read_text(encoding="utf-8"))
    out = {"": _by_decimals([c for _, rows in parser.tables for _, cells in rows for c in cells])}
    for md in folder.glob("*.md"):
        out[md.stem] = _by_decimals(_markdown_cells(md))
    monthly = [rows for caption, rows in parser.tables if caption.startswith("Monthly effects of ")]
    for series, rows in zip(run_plan.series, monthly, strict=False):
        for header, cells in rows:
            out[f"monthly.{series.name}.{header.strip()}"] = _by_decimals(cells)
    return out


def _cells_of(key: str, cells: Mapping[str, dict[int, set[str]]], plan: Plan) -> dict[int, set[str]]:
    """The printed numbers of ``key``'s own table (of its month's row for a monthly series), else all."""
    parts = key.split(".")
    if parts[0] == "monthly" and len(parts) >= 4:
        return cells.get(".".join(parts[:3]), cells[""])
    table = plan.sample_table if parts[0] == "sample" else parts[0]
    return cells.get(table, cells[""])


def _printed(value: float, cells: Mapping[int, set[str]], unprinted_digits: int) -> tuple[str, bool]:
    """``value``'s printed text at the most decimals a report cell shows it with; ``(text, found)``."""
    if float(value).is_integer() and str(int(value)) in cells.get(0, ()):
        return str(int(value)), True  # a count printed as such (not a coincidental "1.000" elsewhere)
    for decimals in range(_MAX_DECIMALS, -1, -1):
        text = f"{value:.{decimals}f}"
        if text in cells.get(decimals, ()) or (text.startswith("-0") and text[1:] in cells.get(decimals, ())):
            if float(text) == 0.0:
                text = text.lstrip("-")
            return text, True
    if float(value).is_integer():
        return str(int(value)), True
    return f"{value:.{unprinted_digits}f}", False


@dataclass(frozen=True)
class FrozenSpec:
    """What :func:`freeze` wrote: the spec's path and text, and its counts."""

    path: Path | None
    text: str
    n_numbers: int
    n_text: int
    n_unprinted: int
    plan_hash: str
    data_sha256: str
    skipped: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: where, how many numbers, how many at the fallback precision."""
        where = str(self.path) if self.path is not None else "stdout"
        return (
            f"famtrial freeze: wrote {self.n_numbers} numbers and {self.n_text} text entries to {where} "
            f"({self.n_unprinted} not printed in report.html, frozen at the fallback precision); "
            f"plan {self.plan_hash[:12]}, data {self.data_sha256[:12]}"
        ) + (
            f"\n{len(self.skipped)} key(s) with no estimate (NaN) not frozen: {', '.join(self.skipped[:5])}"
            + (", ..." if len(self.skipped) > 5 else "")
            if self.skipped
            else ""
        )

    def __str__(self) -> str:
        return self.summary()


def _plan_of_results(results: Path, plan: Plan) -> None:
    """Refuse a results folder whose report names another plan than ``plan``."""
    report = results / "report.html"
    match = re.search(r"<h1>famtrial reproduce: (.*?)</h1>", report.read_text(encoding="utf-8"))
    if match is None:
        return
    import html

    ran = html.unescape(match.group(1))
    if ran != plan.name:
        raise SpecError(
            f"{report} was written by the plan {ran!r}, not {plan.name!r}: pass that run's plan (--plan PLAN)"
        )


def _entry(value: float | str, cells: Mapping[int, set[str]], unprinted_digits: int) -> tuple[str, bool]:
    """One ``[numbers]`` line's inline table and whether its number was found printed."""
    if isinstance(value, str):
        return f"{{ value = {value_text(value)}, printed = {value_text(value)} }}", True
    text, found = _printed(value, cells, unprinted_digits)
    note = "" if found else f', note = "not printed in report.html: frozen at {unprinted_digits} decimals"'
    return f"{{ value = {text}, printed = {value_text(text)}{note} }}", found


def _as_value(raw: object) -> float | str:
    """A reproduced.csv value as a float, or the text (significant months) it is."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw)
    try:
        return float(text)
    except ValueError:
        return text


def freeze(
    results: str | Path,
    out: str | Path | None = None,
    *,
    plan: Plan | str | Path | None = None,
    data: str | Path | None = None,
    unprinted_digits: int = 3,
    title: str | None = None,
) -> FrozenSpec:
    """Write every number of a ``famtrial reproduce`` folder as a published-number spec, at its printed precision.

    Parameters
    ----------
    results : str or Path
        The folder ``famtrial reproduce`` wrote (``reproduced.csv`` and ``report.html``).
    out : str or Path, optional
        The spec file to write (TOML); None: only return the text.
    plan : Plan, path or shipped plan name, optional
        The plan the run used (default: the shipped family-coordinator plan, reproduce's default); its
        canonical hash goes into ``[meta]``. A report written by another plan is refused.
    data : str or Path, optional
        The data file the run read (default: the plan's ``[data] path``); its SHA-256 goes into ``[meta]``.
    unprinted_digits : int
        Decimals of a non-integer number the report prints in no cell (default 3).
    title : str, optional
        The spec's title (default: the plan's name and the date).

    Returns
    -------
    FrozenSpec
        The path and text written, the counts, the plan's hash and the data's SHA-256.

    Notes
    -----
    An entry ``key = { value = v, printed = "t" }`` with ``v = float(t)`` and ``t`` the number at its
    printed decimals ``d``; :func:`~famtrial.published.verify.verify` passes a later run when
    ``|reproduced - v| <= 0.5 * 10**-d``. No Stata or R equivalent.
    """
    if not isinstance(results, (str, Path)):
        raise TypeError(f"results must be the folder famtrial reproduce wrote, not {type(results).__name__}")
    if isinstance(unprinted_digits, bool) or not isinstance(unprinted_digits, int) or not 0 <= unprinted_digits <= 12:
        raise SpecError(f"unprinted_digits={unprinted_digits!r} must be a whole number from 0 to 12")
    folder = Path(results)
    if not folder.is_dir():
        raise SpecError(
            f"--results {str(folder)!r} is not a folder: give the folder famtrial reproduce wrote (--out DIR)"
        )
    report = folder / "report.html"
    if not report.exists():
        raise SpecError(f"{report} does not exist: freeze needs the report of a complete famtrial reproduce run")
    run_plan = load_plan(plan)
    _plan_of_results(folder, run_plan)
    data_path = Path(data) if data is not None else run_plan.resolve_data()
    if data_path is None:
        raise SpecError(f"the plan {run_plan.name!r} names no data file ([data] path): pass the data (--data FILE)")
    if not Path(data_path).is_file():
        raise SpecError(f"data file {str(data_path)!r} does not exist: pass the file the run read (--data FILE)")
    numbers = _reproduced(folder)
    cells = printed_cells(folder, run_plan)
    plan_hash, data_sha = run_plan.hash, file_sha256(data_path)
    when = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    lines = [
        f"# Published-number spec frozen by famtrial freeze from {folder.name}/ (famtrial {__version__}).",
        "# Each entry: value (as printed) and printed (its text, which fixes the printed precision; the",
        "# default tolerance of famtrial verify is half a unit of its last digit). Check a later run with",
        f"#   famtrial verify --results DIR --spec {Path(out).name if out is not None else 'spec.toml'}",
        "",
        "[meta]",
        f"title = {value_text(title or f'{run_plan.name}: numbers frozen {when[:10]}')}",
        f"source = {value_text(f'famtrial freeze --results {folder.name}')}",
        f"plan = {value_text(run_plan.name)}",
        f"plan_hash = {value_text(plan_hash)}",
        f"data = {value_text(Path(data_path).name)}",
        f"data_sha256 = {value_text(data_sha)}",
        f"famtrial = {value_text(__version__)}",
        f"frozen = {value_text(when)}",
        "",
        "[numbers]",
    ]
    n_text = n_unprinted = n_numbers = 0
    skipped: list[str] = []
    for key, raw in numbers.items():
        value = _as_value(raw)
        if isinstance(value, float) and not math.isfinite(value):  # no estimate (a month that separates)
            skipped.append(key)
            lines.append(f"# {value_text(key)}: {value} in reproduced.csv (no estimate), not frozen")
            continue
        entry, found = _entry(value, _cells_of(key, cells, run_plan), unprinted_digits)
        n_text += isinstance(value, str)
        n_numbers += not isinstance(value, str)
        n_unprinted += not found
        lines.append(f"{value_text(key)} = {entry}")
    text = "\n".join(lines) + "\n"
    path = None
    if out is not None:
        path = Path(out)
        if path.is_dir():
            raise SpecError(f"--out {str(path)!r} is a folder: give the spec's file name (e.g. spec.toml)")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return FrozenSpec(
        path=path,
        text=text,
        n_numbers=n_numbers,
        n_text=n_text,
        n_unprinted=n_unprinted,
        plan_hash=plan_hash,
        data_sha256=data_sha,
        skipped=tuple(skipped),
    )


def spec_meta(spec: str | Path) -> dict[str, Any]:
    """The ``[meta]`` table of a spec file (``plan_hash``, ``data_sha256`` ... of a frozen one)."""
    import tomllib

    try:
        return dict(tomllib.loads(Path(spec).read_text(encoding="utf-8")).get("meta", {}))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"spec {str(spec)!r} cannot be read ({exc})") from None
