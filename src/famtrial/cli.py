"""The ``famtrial`` command: ``reproduce``, ``plan``, ``verify``, ``freeze``, ``export``, ``audit``, ``power``, ``simulate``, ``synthesize``.

Every argument parser of famtrial lives here; each command parses its options and calls plain library
functions (composition only).

Every user error (a missing file, a bad plan, a bad option) is one line on stderr and exit status
2; nothing prints a traceback (set ``FAMTRIAL_TRACEBACK=1`` to see one when reporting a bug). Heavy
libraries are imported only by the command that needs them, so ``famtrial --help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from famtrial._options import Engine
from famtrial.errors import FamtrialError

if TYPE_CHECKING:
    from famtrial.plan.spec import Plan

__all__ = ["main"]

_HELP = """usage: famtrial {reproduce,plan,verify,freeze,export,audit,power,simulate,synthesize} [options]

  reproduce   run an analysis plan on a panel: tables, figures, reproduced numbers
  plan        init DATA: scaffold a plan from your data; check PLAN: validate plan and data;
              register PLAN: record the plan's hash and date beside it
  verify      compare reproduced numbers with the published ones (exit 1 on drift)
  freeze      write a results folder's numbers as a spec, at the precision printed (for verify --spec)
  export      translate a plan's analysis into a Stata do-file or an R script
  audit       recompute the paper's printed statistics and list inconsistencies
  power       power and minimum detectable effects by simulation, from a scenario TOML
  simulate    simulate a trial panel from a design TOML (famtrial.simulation.design)
  synthesize  regenerate the synthetic replica from its TOML

Your own trial in three steps:
  famtrial plan init my_panel.parquet > plan.toml     # guesses marked GUESS
  famtrial plan check plan.toml                       # edit until it reads right
  famtrial reproduce --plan plan.toml --out results/

Run 'famtrial COMMAND --help' for the options of one command; 'famtrial --version'."""


class _UsageError(Exception):
    """A command-line mistake: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise _UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _silence_stdout() -> None:
    """Point stdout at the null device (its reader left or it is closed): later writes and the flush at exit are quiet."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor 1 at all
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - stdout for the rest of the run
    finally:
        os.close(devnull)


def _folder_problem(out: Path) -> str | None:
    """Why ``out`` cannot become an output folder (``None``: it can), without creating it."""
    if out.exists():
        return None if out.is_dir() else "is a file, not a folder: give a folder for the results"
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"cannot be created: {str(parent)!r} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: {str(parent)!r} is not writable"
    return None


def _fail(prog: str, err: object) -> int:
    """A command's own user error, ``PROG: message`` on stderr: exit 2."""
    print(f"{prog}: {err}", file=sys.stderr)
    return 2


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _reproduce(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="famtrial reproduce",
        description="Run an analysis plan (default: the family-coordinator trial's) on a panel and "
        "write its tables, figures and reproduced numbers.",
    )
    parser.add_argument(
        "--plan",
        default=None,
        help="analysis plan TOML or a shipped plan's name (default: nct03102775; also: casework)",
    )
    parser.add_argument(
        "--data", default=None, help="panel file (.csv, .parquet, .dta); default: the plan's [data] path"
    )
    parser.add_argument("--out", default="results", help="output folder (default: results/)")
    parser.add_argument(
        "--formats", default=None, help="figure formats, comma-separated: png,pdf,svg (default: the plan's)"
    )
    parser.add_argument(
        "--n-boot",
        type=_positive,
        default=None,
        help="multiplier draws for the sup-t band when there are more than 16 offices "
        "(default: the plan's inference.band_draws)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed of every random step (default: the plan's)")
    parser.add_argument(
        "--n-perm",
        type=_positive,
        default=None,
        help="randomization re-draws behind inference.csv (default: the plan's; 999+ for publication)",
    )
    parser.add_argument(
        "--skip-inference",
        action="store_true",
        help="skip the few-cluster inference (score bootstrap, randomization) behind inference.csv",
    )
    parser.add_argument(
        "--missing",
        choices=("error", "drop"),
        default=None,
        help="missing outcomes/covariates: raise or drop rows listwise, counted (default: the plan's)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--sep", default=None, help="field separator of a CSV panel (default: the plan's [data] sep)")
    parser.add_argument(
        "--engine",
        choices=get_args(Engine),
        default="pandas",
        help="pandas: the panel in memory (default); dask: --data a partitioned Parquet dataset (folder, "
        "glob or files), every step on a Dask cluster",
    )
    parser.add_argument(
        "--scheduler", default=None, help="--engine dask: address of a running Dask scheduler (tcp://host:8786)"
    )
    parser.add_argument(
        "--workers",
        type=_positive,
        default=None,
        help="--engine dask without --scheduler: local workers to start (default: one per core)",
    )
    args = parser.parse_args(argv)
    if args.engine != "dask" and (args.scheduler or args.workers):
        raise _UsageError("famtrial reproduce: --scheduler and --workers need --engine dask")
    if args.scheduler and args.workers:
        raise _UsageError(
            "famtrial reproduce: --workers starts local workers; with --scheduler the cluster has its own"
        )
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    from famtrial.pipeline import reproduce
    from famtrial.published.outputs import COMMAND

    formats = None if args.formats is None else tuple(f.strip() for f in args.formats.split(",") if f.strip())
    token = COMMAND.set(" ".join(["famtrial", "reproduce", *(shlex.quote(a) for a in argv)]))  # for manifest.json
    try:
        result = reproduce(
            args.data,
            args.out,
            plan=_with_sep(args.plan, args.sep),
            formats=formats,
            n_boot=args.n_boot,
            seed=args.seed,
            missing=args.missing,
            inference=not args.skip_inference,
            n_perm=args.n_perm,
            progress=not args.quiet,
            engine=args.engine,
            client=args.scheduler or args.workers,
        )
    finally:
        COMMAND.reset(token)
    print(result.summary())
    return 0


def _with_sep(plan: str | None, sep: str | None) -> Plan | str | None:
    """The plan as named, or (``--sep`` given) loaded with ``[data] sep`` replaced (``tab`` for a tab)."""
    if sep is None:
        return plan
    from dataclasses import replace

    from famtrial.plan.spec import load_plan

    sep = {"\\t": "\t", "tab": "\t"}.get(sep, sep)
    if len(sep) != 1:
        raise _UsageError(f"--sep {sep!r}: give one character, e.g. --sep ';' or --sep tab")
    loaded = load_plan(plan)
    return replace(loaded, data=replace(loaded.data, sep=sep))


def _plan(argv: Sequence[str]) -> int:
    parser = _Parser(prog="famtrial plan", description="Write or check an analysis plan.")
    sub = parser.add_subparsers(dest="action", metavar="{init,check,show,register}")
    init = sub.add_parser(
        "init", help="print a commented plan guessed from a data file (famtrial plan init DATA > plan.toml)"
    )
    init.add_argument("data", help="panel file (.csv, .parquet, .dta)")
    init.add_argument("--name", default=None, help="the trial's name (default: the file's stem)")
    check = sub.add_parser("check", help="validate a plan (and its data) without fitting; print what will run")
    check.add_argument("plan", help="plan TOML or a shipped plan's name")
    check.add_argument("--data", default=None, help="panel file (default: the plan's [data] path)")
    check.add_argument("--sep", default=None, help="field separator of a CSV panel (default: the plan's [data] sep)")
    init.add_argument("--sep", default=",", help="field separator of a CSV panel (default: ',')")
    show = sub.add_parser("show", help="print a plan (a shipped one by name) as complete TOML")
    show.add_argument("plan", help="plan TOML or a shipped plan's name (nct03102775, casework)")
    register = sub.add_parser(
        "register", help="record the plan's canonical hash and the date in a registration file beside it"
    )
    register.add_argument("plan", help="plan TOML file")
    register.add_argument("--force", action="store_true", help="replace an existing registration")
    for p in (init, check, show, register):
        p.error = parser.error  # type: ignore[method-assign]
    args = parser.parse_args(argv)
    if args.action is None:
        raise _UsageError(
            "famtrial plan: say init DATA, check PLAN or show PLAN (or register PLAN) (see 'famtrial plan --help')"
        )
    if args.action == "register":
        from famtrial.plan.register import register_plan

        print(register_plan(args.plan, force=args.force).summary())
        return 0
    from famtrial.data.scaffold import scaffold
    from famtrial.plan.spec import load_plan

    if args.action == "init":
        sys.stdout.write(scaffold(args.data, name=args.name, sep={"\\t": "\t", "tab": "\t"}.get(args.sep, args.sep)))
        return 0
    plan = load_plan(args.plan) if args.action == "show" else load_plan(_with_sep(args.plan, args.sep))
    if args.action == "show":
        sys.stdout.write(plan.to_toml())
        return 0
    print(plan.describe())
    from famtrial.data.load import load_panel
    from famtrial.data.plan_months import check_plan_months
    from famtrial.pipeline import default_panel_path
    from famtrial.trial.sample import analysis_sample

    panel = load_panel(args.data or default_panel_path(plan), plan)
    check_plan_months(panel)
    sample = analysis_sample(panel)
    print("\n" + panel.summary() + "\n\n" + sample.summary())
    print(
        "\nplan and data check out: 'famtrial reproduce --plan "
        f"{args.plan}{' --data ' + args.data if args.data else ''}' runs the analysis above"
    )
    return 0


def _power(argv: Sequence[str]) -> int:
    parser = _Parser(prog="famtrial power", description="Power of the trial's analysis by simulation.")
    parser.add_argument("scenario", help="scenario TOML")
    parser.add_argument("--out", default="power", help="output folder (default: ./power)")
    parser.add_argument("--n-sims", type=int, default=None, help="override n_sims")
    parser.add_argument("--n-jobs", type=int, default=None, help="override n_jobs")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    args = parser.parse_args(argv)
    out = Path(args.out)
    problem = _folder_problem(out)  # before the simulation, not after it
    if problem:
        return _fail(parser.prog, f"--out {args.out!r} {problem}")
    import matplotlib

    matplotlib.use("Agg")  # the command line draws to files only
    from famtrial.simulation.power import run_scenario, write_scenario_results

    try:
        result, outputs = run_scenario(args.scenario, n_sims=args.n_sims, n_jobs=args.n_jobs, progress=not args.quiet)
    except (FamtrialError, ValueError, TypeError) as err:
        return _fail(parser.prog, err)
    written = write_scenario_results(result, out, outputs)
    print(result.describe())
    print(f"wrote {out}/{', '.join(written)}")
    return 0


def _simulate(argv: Sequence[str]) -> int:
    parser = _Parser(prog="famtrial simulate", description="Simulate a trial panel from a design TOML.")
    parser.add_argument("--design", required=True, help="design TOML (e.g. data/synthetic/casework.toml)")
    parser.add_argument("--out", required=True, help="output file: .parquet or .csv")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the design's)")
    args = parser.parse_args(argv)
    from famtrial.simulation.design import PANEL_SUFFIXES, load_design, simulate_panel, write_panel

    try:
        design = load_design(args.design)
    except FamtrialError as err:
        return _fail(parser.prog, err)
    out = Path(args.out)
    if out.suffix.lower() not in PANEL_SUFFIXES:
        return _fail(parser.prog, f"--out {out.name!r}: give a .parquet or .csv file")
    panel = simulate_panel(design, seed=args.seed)
    write_panel(panel, out)
    print(
        f"wrote {out}: {len(panel):,} rows, {panel[design.columns.parent].nunique():,} parents, "
        f"{panel[design.columns.family].nunique():,} families, {design.n_offices} offices, "
        f"{len(design.months)} months"
    )
    return 0


def _synthesize(argv: Sequence[str]) -> int:
    parser = _Parser(prog="famtrial synthesize", description="Regenerate the synthetic replica.")
    parser.add_argument("--config", default=None, help="replica TOML (default: the shipped replica.toml)")
    parser.add_argument("--out", default="data/synthetic", help="output folder (default: data/synthetic)")
    parser.add_argument("--no-csv", action="store_true", help="write only the Parquet file")
    args = parser.parse_args(argv)
    from famtrial.simulation.replica import write_replica

    path = write_replica(args.out, args.config, csv=not args.no_csv)
    print(f"wrote {path} (sha256 {(Path(args.out) / 'trial_panel.sha256').read_text().strip()})")
    return 0


def _tolerances(items: Sequence[str]) -> dict[str, float]:
    """``--tolerance PATTERN=VALUE`` options as ``{pattern: value}``."""
    out = {}
    for item in items:
        prefix, sep, value = item.partition("=")
        try:
            out[prefix.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not prefix.strip():
            raise ValueError(f"--tolerance takes PATTERN=VALUE (e.g. table5=0.01), got {item!r}")
    return out


def _verify(argv: Sequence[str]) -> int:
    """Print the side-by-side table; exit 1 when any number fails or is missing (unless allowed)."""
    parser = _Parser(
        prog="famtrial verify",
        description="Compare reproduced numbers with the published ones, each within "
        "half a unit of its printed last digit; exit 1 on any failure.",
    )
    parser.add_argument("--results", required=True, help="folder written by famtrial reproduce (or its reproduced.csv)")
    parser.add_argument("--spec", default=None, help="published-number spec TOML (default: the trial's)")
    parser.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="PATTERN=VALUE",
        help="absolute tolerance for a table, prefix, glob or key, e.g. table5=0.02, "
        "'table5.*.or=0.01' (repeatable; the longest matching pattern wins)",
    )
    parser.add_argument("--tables", default=None, help="comma-separated prefixes or globs to compare (default: all)")
    parser.add_argument("--allow-missing", action="store_true", help="do not fail on numbers the results lack")
    parser.add_argument("--failures-only", action="store_true", help="print only FAIL, missing and note rows")
    parser.add_argument("--out", default=None, help="also write the table to a file (.md, .csv, .html, .tex)")
    args = parser.parse_args(argv)
    from famtrial.published.verify import verify

    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    try:
        report = verify(
            args.results,
            args.spec,
            tolerances=_tolerances(args.tolerance),
            tables=tables,
            allow_missing=args.allow_missing,
        )
    except (FamtrialError, FileNotFoundError, ValueError) as err:
        return _fail(parser.prog, err)
    if args.out:
        if Path(args.out).suffix == ".md":
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(report.to_markdown(), encoding="utf-8")
        else:
            report.table.save(args.out)
    shown = report.table.display
    if args.failures_only:
        shown = shown[shown["status"] != "ok"]
    verdict = 0 if report.ok else 1  # the exit status is the verdict, whatever happens to stdout
    try:
        print(report.summary())
        if len(shown):
            print(shown.to_string())
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):  # 'verify | head' left, or stdout closed: say nothing more
        _silence_stdout()
    return verdict


def _freeze(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="famtrial freeze",
        description="Write every number of a famtrial reproduce folder as a published-number spec, at the "
        "precision the report prints it, with the plan's hash and the data's hash (check later runs with "
        "famtrial verify --spec).",
    )
    parser.add_argument("--results", required=True, help="folder written by famtrial reproduce")
    parser.add_argument("--out", default=None, help="spec TOML to write (default: print it)")
    parser.add_argument(
        "--plan", default=None, help="the run's plan TOML or shipped plan's name (default: nct03102775)"
    )
    parser.add_argument("--data", default=None, help="the run's data file (default: the plan's [data] path)")
    parser.add_argument(
        "--unprinted-digits",
        type=int,
        default=3,
        help="decimals of a number the report does not print (default: 3)",
    )
    args = parser.parse_args(argv)
    from famtrial.published.freeze import freeze

    frozen = freeze(args.results, args.out, plan=args.plan, data=args.data, unprinted_digits=args.unprinted_digits)
    if args.out is None:
        sys.stdout.write(frozen.text)
    else:
        print(frozen.summary())
    return 0


def _export(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="famtrial export",
        description="Translate a plan's analysis (sample rule, balance, fixed-effects models, monthly series, "
        "multiplicity) into a Stata do-file or an R script that writes its numbers as a spec.",
    )
    parser.add_argument("--plan", required=True, help="plan TOML or a shipped plan's name")
    parser.add_argument("--to", required=True, choices=("stata", "r"), help="stata (a do-file) or r (an R script)")
    parser.add_argument("--out", default=".", help="output folder (default: the current folder)")
    parser.add_argument("--data", default=None, help="the data file the script reads (default: the plan's)")
    args = parser.parse_args(argv)
    from famtrial.export import export_plan

    path = export_plan(args.plan, args.to, args.out, data=args.data)
    print(f"famtrial export: wrote {path}")
    return 0


def _audit(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="famtrial audit", description="Recompute the paper's printed statistics from its printed inputs."
    )
    parser.add_argument("--spec", default=None, help="published-number spec (default: the shipped trial spec)")
    parser.add_argument("--out", default=None, help="write the audit as Markdown to this file")
    args = parser.parse_args(argv)
    from famtrial.published.audit import audit_paper

    report = audit_paper(args.spec)
    text = report.to_markdown()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "reproduce": _reproduce,
    "plan": _plan,
    "verify": _verify,
    "freeze": _freeze,
    "export": _export,
    "audit": _audit,
    "power": _power,
    "simulate": _simulate,
    "synthesize": _synthesize,
}


#: exceptions that are a user's mistake (bad data, plan, option or path): famtrial's own (one tree), the
#: operating system's about a path, and the ValueError/TypeError of a library function given a bad value
_USER_ERRORS = (
    FamtrialError,
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
    ValueError,
    TypeError,
)


def _run(command: Callable[[Sequence[str]], int], rest: Sequence[str]) -> int:
    try:
        return command(rest)
    except _UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help: argparse printed it and exits
        return done.code if isinstance(done.code, int) else 0
    except KeyboardInterrupt:
        print("famtrial: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # 'famtrial reproduce ... | head': the reader left after the work was done; say nothing
        _silence_stdout()
        return 0
    except Exception as err:  # noqa: BLE001 - the command line shows one line, never a traceback
        if os.environ.get("FAMTRIAL_TRACEBACK"):
            raise
        text = str(err).strip().strip('"') or type(err).__name__
        if isinstance(err, _USER_ERRORS):
            print(f"famtrial: error: {text}", file=sys.stderr)
            return 2
        print(
            f"famtrial: internal error ({type(err).__name__}): {text}. Please report it with the command you ran; "
            "FAMTRIAL_TRACEBACK=1 shows the traceback.",
            file=sys.stderr,
        )
        return 3


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``famtrial`` console script (and ``python -m famtrial``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if sys.stdout is None:  # started with stdout closed ('famtrial ... >&-'): print to nowhere, keep the status
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - stdout for the rest of the run
    if argv and argv[0] in ("-V", "--version"):
        from famtrial._version import __version__

        print(f"famtrial {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        print(_HELP, file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(
            f"famtrial: error: unknown command {command!r}; choose one of {', '.join(COMMANDS)} "
            "(see 'famtrial --help')",
            file=sys.stderr,
        )
        return 2
    try:
        return _run(COMMANDS[command], rest)
    finally:
        try:
            sys.stdout.flush()
        except (BrokenPipeError, ValueError, OSError):
            _silence_stdout()


if __name__ == "__main__":
    raise SystemExit(main())
