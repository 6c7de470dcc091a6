"""Published-estimate regression: compare reproduced numbers with the paper's, at printed precision.

``verify(results)`` lines up every published number (the spec, ``data/published/trial.toml``) with
the reproduced one (``reproduced.csv`` from ``famtrial reproduce``, a mapping, or a key/value
frame). A number passes when ``|reproduced - published| <= tolerance``; the default tolerance is
half a unit of the printed last digit (``1.05`` -> 0.005), widened per table, prefix or key with
``tolerances={"table5": 0.01, "table5.model1.coordinator_pooled.ci_low": 0.03}`` (the most
specific prefix wins). Entries the paper contradicts itself on are reported as ``inconsistent``,
never failed. ``famtrial verify`` exits 1 when anything fails.
"""

from __future__ import annotations

import argparse
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from famtrial._paths import data_dir
from famtrial.tables import Table

__all__ = ["load_spec", "verify", "VerifyReport", "main"]


def load_spec(path: str | Path | None = None) -> dict[str, dict]:
    """The published numbers: ``{key: {"value", "decimals", ["inconsistent"]}}`` (default: the trial)."""
    path = Path(path) if path is not None else data_dir() / "published" / "trial.toml"
    spec = tomllib.loads(path.read_text(encoding="utf-8")).get("numbers")
    if not spec:
        raise ValueError(f"{path} has no [numbers] table")
    return spec


def _reproduced(results) -> dict[str, float | str]:
    if isinstance(results, (str, Path)):
        path = Path(results)
        path = path / "reproduced.csv" if path.is_dir() else path
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist: run `famtrial reproduce --out DIR` first")
        results = pd.read_csv(path, dtype={"key": str, "value": str}, keep_default_na=False)
    if isinstance(results, pd.DataFrame):
        if not {"key", "value"} <= set(results.columns):
            raise ValueError("a results frame needs columns 'key' and 'value'")
        results = dict(zip(results["key"], results["value"]))
    out: dict[str, float | str] = {}
    for key, value in dict(results).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = "" if value is None else str(value)
    return out


def _tolerance(key: str, entry: Mapping, tolerances: Mapping[str, float]) -> float:
    """User override (most specific prefix) > the spec entry's own tolerance > half a printed unit."""
    best, length = None, -1
    for prefix, tol in tolerances.items():
        if (key == prefix or key.startswith(prefix + ".")) and len(prefix) > length:
            best, length = tol, len(prefix)
    if best is not None:
        return best
    return float(entry.get("tolerance", 0.5 * 10.0 ** (-int(entry["decimals"]))))


@dataclass(frozen=True)
class VerifyReport:
    """Side by side: published (as printed), reproduced, difference, tolerance, status."""

    table: Table

    @property
    def frame(self) -> pd.DataFrame:
        return self.table.frame

    @property
    def failed(self) -> pd.DataFrame:
        return self.frame[self.frame["status"].isin(["FAIL", "missing"])]

    @property
    def n_failed(self) -> int:
        return len(self.failed)

    @property
    def ok(self) -> bool:
        return self.n_failed == 0

    def summary(self) -> str:
        counts = self.frame["status"].value_counts()
        parts = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "FAIL", "missing", "skipped", "inconsistent"))
        return f"verify: {len(self.frame)} published numbers: {parts} -> {'PASS' if self.ok else 'FAIL'}"

    def __str__(self) -> str:
        return self.summary() + "\n" + self.table.display.to_string()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return f"<p>{self.summary()}</p>" + self.table.to_html()


def verify(results, spec: Mapping[str, dict] | str | Path | None = None, *,
           tolerances: Mapping[str, float] | None = None, tables: Sequence[str] | None = None,
           allow_missing: bool = False) -> VerifyReport:
    """Compare reproduced numbers with the published spec.

    Parameters
    ----------
    results : path to a results folder or reproduced.csv, mapping key -> value, or key/value DataFrame
    spec : mapping, path, or None for the shipped trial spec
    tolerances : per table / prefix / key absolute tolerances overriding half a printed unit
    tables : only keys starting with these prefixes (e.g. ``["table2", "table3"]``)
    allow_missing : do not fail on published numbers the results lack
    """
    spec = load_spec(spec) if spec is None or isinstance(spec, (str, Path)) else spec
    got = _reproduced(results)
    tolerances = dict(tolerances or {})
    rows = []
    for key, entry in spec.items():
        if tables and not any(key == t or key.startswith(t + ".") for t in tables):
            continue
        published, decimals = entry["value"], int(entry["decimals"])
        reproduced = got.get(key)
        row = {"key": key, "published": published, "reproduced": reproduced, "difference": None,
               "tolerance": None, "status": "", "note": entry.get("inconsistent", entry.get("note", ""))}
        if reproduced is None:
            row["status"] = "missing"
        elif decimals < 0 or isinstance(published, str):
            row["status"] = "ok" if str(reproduced) == str(published) else "FAIL"
        else:
            tol = _tolerance(key, entry, tolerances)
            diff = float(reproduced) - float(published)
            row.update(difference=diff, tolerance=tol, status="ok" if abs(diff) <= tol + 1e-12 else "FAIL")
        if "inconsistent" in entry and row["status"] != "missing":
            row["status"] = "inconsistent"
        if row["status"] == "missing" and allow_missing:
            row["status"] = "skipped"
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("key")
    fmt = lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else (  # noqa: E731
        f"{v:.6g}" if isinstance(v, float) else str(v))
    display = frame.map(fmt)
    return VerifyReport(Table(frame=frame, display=display, title="Published vs reproduced",
                              notes="tolerance: half a unit of the printed last digit unless widened"))


def _parse_tolerances(items: Sequence[str]) -> dict[str, float]:
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"--tolerance takes PREFIX=VALUE (e.g. table5=0.01), got {item!r}")
        key, value = item.split("=", 1)
        out[key.strip()] = float(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``famtrial verify --results DIR [--spec PATH] [--tolerance P=V ...] [--tables a,b] [--out F]``."""
    parser = argparse.ArgumentParser(prog="famtrial verify",
                                     description="Compare reproduced numbers with the published ones; exit 1 on drift.")
    parser.add_argument("--results", required=True, help="folder written by famtrial reproduce (or reproduced.csv)")
    parser.add_argument("--spec", default=None, help="published-number spec (default: the trial's)")
    parser.add_argument("--tolerance", action="append", default=[], metavar="PREFIX=VALUE",
                        help="widen the tolerance of a table, prefix or key (repeatable)")
    parser.add_argument("--tables", default=None, help="comma-separated prefixes to check (default: all)")
    parser.add_argument("--allow-missing", action="store_true", help="do not fail on numbers the results lack")
    parser.add_argument("--out", default=None, help="write the side-by-side table (.md, .csv, .html, .tex)")
    parser.add_argument("--all", action="store_true", help="print every row, not only failures")
    args = parser.parse_args(argv)
    tables = [t.strip() for t in args.tables.split(",")] if args.tables else None
    report = verify(args.results, args.spec, tolerances=_parse_tolerances(args.tolerance), tables=tables,
                    allow_missing=args.allow_missing)
    if args.out:
        report.table.save(args.out)
    shown = report.table.display if args.all else report.table.display.loc[report.failed.index]
    print(report.summary())
    if len(shown):
        print(shown.to_string())
    return 0 if report.ok else 1
