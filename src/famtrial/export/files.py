"""``famtrial export``'s front door: :func:`export_plan` writes the do-file or the R script of a plan."""

from __future__ import annotations

from pathlib import Path

from famtrial._version import __version__
from famtrial.errors import ExportError
from famtrial.export import r as r_code
from famtrial.export import stata as stata_code
from famtrial.export.recipe import ExportTarget, recipe
from famtrial.plan.spec import Plan, load_plan

__all__ = ["export_plan"]


def export_plan(
    plan: Plan | str | Path | None,
    to: ExportTarget,
    out: str | Path = ".",
    *,
    data: str | Path | None = None,
) -> Path:
    """Write the plan's analysis as a Stata do-file or an R script into ``out``; return its path.

    Parameters
    ----------
    plan : Plan, path or shipped plan name
        The plan to translate (None: the shipped family-coordinator plan).
    to : {"stata", "r"}
        ``"stata"``: ``<stem>.do``; ``"r"``: ``<stem>.R`` (``<stem>``: ``famtrial_<plan file stem>``).
    out : str or Path
        The folder to write into (created).
    data : str or Path, optional
        The data file the code reads (default: the plan's ``[data] path``, as an absolute path; the
        script also takes the file as its first argument).

    Returns
    -------
    Path
        The file written. Run it with ``Rscript famtrial_<stem>.R [DATA] [SPEC]`` or
        ``do famtrial_<stem>.do [DATA] [SPEC]``; it writes SPEC (default ``r_spec.toml`` /
        ``stata_spec.toml``) for ``famtrial verify --results DIR --spec SPEC``.

    Notes
    -----
    Stata: ``clogit y terms x trend, group(parent) vce(cluster office)``, ``logit y arm x_b if month == m,
    vce(cluster office)``, ``boottest`` (SSC) for the plan's ``inference.models``. R:
    ``survival::clogit(..., method = "exact")`` with the cluster-robust covariance computed from the
    conditional scores in the script (``coxph`` refuses ``robust`` with the exact likelihood),
    ``glm`` + ``sandwich::vcovCL(type = "HC0")``, ``p.adjust(method = "holm" / "BH")``.
    """
    if to not in ("stata", "r"):
        raise ExportError(f"--to {to!r}: famtrial export writes 'stata' (a do-file) or 'r' (an R script)")
    loaded = load_plan(plan)
    rec = recipe(loaded, data)
    stem = "famtrial_" + (Path(loaded.source).stem if not loaded.source.startswith("<") else "plan")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"--out {str(folder)!r} is a file: give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    if to == "r":
        path = folder / f"{stem}.R"
        path.write_text(r_code.script(rec, version=__version__), encoding="utf-8")
    else:
        path = folder / f"{stem}.do"
        path.write_text(stata_code.do_file(rec, version=__version__), encoding="utf-8")
    return path
