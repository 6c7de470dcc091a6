"""The ``famtrial`` command: ``reproduce``, ``verify``, ``audit``, ``synthesize``. Composition only."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _reproduce(argv: Sequence[str]) -> int:
    from famtrial.reproduce import reproduce

    parser = argparse.ArgumentParser(prog="famtrial reproduce",
                                     description="Reproduce the trial's tables and figures (Tables 2-6, Figures 1-3).")
    parser.add_argument("--out", default="results", help="output folder (default: results/)")
    parser.add_argument("--data", default=None,
                        help="panel file (CSV, Parquet, .dta); default: the shipped synthetic replica")
    parser.add_argument("--formats", default="png", help="figure formats, comma-separated: png,pdf,svg")
    parser.add_argument("--n-boot", type=int, default=9999,
                        help="multiplier draws for the sup-t band when there are more than 16 offices (default 9999)")
    parser.add_argument("--seed", type=int, default=20161001, help="seed of the multiplier bootstrap")
    parser.add_argument("--n-perm", type=int, default=199,
                        help="randomization re-draws behind inference.csv (default 199; 999+ for publication)")
    parser.add_argument("--skip-inference", action="store_true",
                        help="skip the few-cluster inference (score bootstrap, randomization) behind inference.csv")
    parser.add_argument("--missing", choices=("error", "drop"), default="error",
                        help="missing outcomes/covariates: raise (default) or drop rows listwise, counted")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    result = reproduce(args.data, args.out, formats=formats, n_boot=args.n_boot, seed=args.seed,
                       missing=args.missing, inference=not args.skip_inference, n_perm=args.n_perm,
                       progress=not args.quiet)
    print(result.summary())
    return 0


def _synthesize(argv: Sequence[str]) -> int:
    from famtrial import synthetic

    return synthetic.main(list(argv)) or 0


def _verify(argv: Sequence[str]) -> int:
    from famtrial.verify import main as verify_main

    return verify_main(list(argv))


def _audit(argv: Sequence[str]) -> int:
    from famtrial.audit import audit_paper

    parser = argparse.ArgumentParser(prog="famtrial audit",
                                     description="Recompute the paper's printed statistics from its printed inputs.")
    parser.add_argument("--spec", default=None, help="published-number spec (default: the shipped trial spec)")
    parser.add_argument("--out", default=None, help="write the audit as Markdown to this file")
    args = parser.parse_args(argv)
    report = audit_paper(args.spec)
    text = report.to_markdown()
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    print(text)
    return 0


COMMANDS = {"reproduce": _reproduce, "verify": _verify, "audit": _audit, "synthesize": _synthesize}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``famtrial`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: famtrial {" + ",".join(COMMANDS) + "} [options]\n\n"
              "  reproduce   tables and figures of the trial on the shipped replica or your panel\n"
              "  verify      compare reproduced numbers with the published ones (exit 1 on drift)\n"
              "  audit       recompute the paper's printed statistics and list inconsistencies\n"
              "  synthesize  regenerate the synthetic replica from its TOML\n\n"
              "Run 'famtrial COMMAND --help' for the options of one command.")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"famtrial: unknown command {command!r}; choose one of {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    return COMMANDS[command](rest)


if __name__ == "__main__":
    raise SystemExit(main())
