"""``load_panel``: read a long panel for an analysis plan, validate it, and return a :class:`Panel`.

``load_panel`` maps the user's columns to roles (an analysis :class:`~famtrial.plan.spec.Plan`, or just
:class:`~famtrial.plan.spec.Columns`), reads only those columns (:mod:`famtrial.data.read`), maps the
plan's arm and variant codes, parses months as pandas ``period[M]`` (:mod:`famtrial.data.months`),
checks the panel's structure (:mod:`famtrial.data.checks`), and applies an explicit missing-value
policy. Every problem raises :class:`~famtrial.errors.PanelError` naming the column, the number of
offending rows, up to five example ids, and what to do. Validation is vectorized: the panel is
sorted once by (parent, month) and within-parent checks compare neighbouring rows, so 39 million
rows validate in seconds. A partitioned dataset or a Dask DataFrame goes to the Dask loader
(:mod:`famtrial.data._dask`), which makes the same checks and gives the same messages and report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, get_args

import pandas as pd

from famtrial._options import Engine, Missing, check_bool
from famtrial.data.checks import Checks, check_columns, validate
from famtrial.data.months import month_option
from famtrial.data.panel import LoadReport, Panel, plan_from_columns, structure
from famtrial.data.read import read
from famtrial.data.take_up import check_take_up
from famtrial.plan.spec import Columns

if TYPE_CHECKING:
    from famtrial.plan.spec import Plan

__all__ = ["load_panel"]

_MISSING = get_args(Missing)
_ENGINES = get_args(Engine)


def load_panel(
    source: pd.DataFrame | str | Path,
    plan: Plan | Columns | str | Path | None = None,
    *,
    columns: Columns | None = None,
    implementation: str | pd.Period | None = None,
    baseline: str | pd.Period | None = None,
    missing: Missing | None = None,
    engine: Engine | None = None,
    persist: bool = False,
) -> Panel:
    """Load a long panel (DataFrame, .csv, .parquet or .dta) for an analysis plan and validate it.

    Parameters
    ----------
    source : DataFrame or path
        One row per parent per month. Months may be ``period[M]``, datetimes (Stata ``%tm``
        columns read from .dta arrive so), Stata ``%tm`` integers (months since 1960m1),
        ``YYYYMM`` integers, or text ``'2016-10'``/``'2016m10'``/``'2016-10-01'``. From a file
        only the plan's columns are read.
    plan : Plan, path to a plan TOML, shipped plan name, or Columns, optional
        The analysis plan (:func:`famtrial.load_plan`): roles, arm and variant codes, months,
        outcomes and covariates. Default: the shipped family-coordinator plan. Bare
        :class:`Columns` (or ``columns=``) give a plain plan whose labels are the column names;
        ``implementation`` is then required.
    columns : Columns, optional
        The data's columns by role, instead of a plan: the same as passing :class:`Columns` as ``plan``
        (a plain plan whose labels are the column names, made from the data; ``implementation`` is then
        required). Giving both ``plan`` and ``columns`` (or Columns twice) is a ``TypeError``.
    implementation, baseline : str or Period, optional
        Override the plan's first month of the offer and baseline month.
    missing : {"error", "drop"}, optional
        Missing outcomes or covariates: raise, or drop those rows listwise (counted per column
        in ``Panel.report`` and shown by ``summary()``); default: the plan's ``data.missing``.
        Missing ids, months, arm or variant always raise.
    engine : {"pandas", "dask"}, optional
        ``"dask"``: ``source`` is a partitioned Parquet dataset (a folder, a glob such as
        ``"panel/*.parquet"`` or a list of files, one partition each) or a Dask DataFrame, and the
        panel's ``data`` a lazy Dask DataFrame (docs/scale.md); default: ``"dask"`` for a Dask
        DataFrame, else ``"pandas"``. The same checks, messages and report counts either way.
    persist : bool, optional
        With the Dask engine: keep each validated partition on the workers of the running
        ``dask.distributed`` client from the one pass that reads and validates it (spilled to their
        disks past their memory limit), so nothing reads or validates the files again (what
        ``famtrial reproduce --engine dask`` does). Default False: the panel's ``data`` is lazy and
        each computation reads and validates the partitions again (``panel.data.persist()`` later
        costs that pass once). Refused with the pandas engine.

    Returns
    -------
    Panel

    Raises
    ------
    PanelError
        An unreadable or empty file, missing or repeated columns, or the first failing check in the
        numbered order :mod:`famtrial.data.checks` lists. Gaps in a parent's months are allowed and counted.

    Notes
    -----
    Stata: ``xtset parent_id month`` (which also rejects repeated parent-months); R:
    ``plm::pdata.frame(data, index = c("parent_id", "month"))``.
    """
    plan, columns = _plan_or_columns(plan, columns)
    implementation = None if implementation is None else month_option(implementation, "implementation")
    baseline = None if baseline is None else month_option(baseline, "baseline")
    spec, missing = _spec(plan, columns, implementation, baseline, missing)
    _check_options(missing, engine)
    check_bool(persist, "persist")
    raw, source_name, present = read(
        source,
        (spec if isinstance(spec, Columns) else spec.columns).required(),
        engine,
        sep=spec.sep if not isinstance(spec, Columns) else ",",
    )
    if engine == "dask" or source_name == "Dask DataFrame":
        from famtrial.data._dask import load_partitioned
        from famtrial.data.read import dataset_files

        files = [str(f) for f in dataset_files(source)] if source_name != "Dask DataFrame" else []
        return load_partitioned(raw, source_name, present, spec, implementation, baseline, missing, files, persist)
    if persist:
        raise ValueError(
            "persist=True keeps a Dask panel's partitions on the workers: it needs engine='dask' "
            "(a partitioned Parquet dataset or a Dask DataFrame); an in-memory panel is already in memory"
        )
    return _load_in_memory(raw, source_name, present, spec, implementation, baseline, missing)


def _plan_or_columns(
    plan: Plan | Columns | str | Path | None, columns: Columns | None
) -> tuple[Plan | str | Path | None, Columns | None]:
    """The plan and the columns as given, bare Columns as the second argument moved to ``columns``."""
    from famtrial.plan.spec import Plan

    if isinstance(plan, Columns):
        if columns is not None:
            raise TypeError("give the columns once: as the second argument or as columns=, not both")
        plan, columns = None, plan
    if columns is not None and not isinstance(columns, Columns):
        raise TypeError(f"columns must be a famtrial.Columns, not {type(columns).__name__}")
    if columns is not None and plan is not None:
        raise TypeError("give a plan or columns, not both: the plan holds the columns ([columns] in its TOML)")
    if plan is not None and not isinstance(plan, (Plan, str, Path)):
        raise TypeError(
            f"plan must be a famtrial Plan, a plan file, a shipped plan's name or famtrial.Columns, "
            f"not {type(plan).__name__}"
        )
    return plan, columns


def _spec(
    plan: Plan | str | Path | None,
    columns: Columns | None,
    implementation: pd.Period | None,
    baseline: pd.Period | None,
    missing: Missing | None,
) -> tuple[Plan | Columns, Missing]:
    """The loaded plan with the months given, and the missing-value policy.

    For bare columns the plan is made from the data. The policy defaults to the plan's ``data.missing``,
    else ``"error"``.
    """
    from famtrial.plan.spec import load_plan

    if columns is not None:
        return columns, missing or "error"
    spec = load_plan(plan)
    if implementation is not None or baseline is not None:
        spec = spec.with_months(
            None if implementation is None else str(implementation), None if baseline is None else str(baseline)
        )
    return spec, spec.missing if missing is None else (missing or "error")


def _check_options(missing: object, engine: object) -> None:
    """``missing`` and ``engine`` are among their options (messages name the allowed values)."""
    if missing not in _MISSING:
        raise ValueError(f"missing={missing!r} is not one of {_MISSING}")
    if engine is not None and engine not in _ENGINES:
        raise ValueError(f"engine={engine!r} is not one of {_ENGINES}")


def _load_in_memory(
    raw: pd.DataFrame,
    source_name: str,
    present: list[str],
    spec: Plan | Columns,
    implementation: pd.Period | None,
    baseline: pd.Period | None,
    missing: Missing,
) -> Panel:
    """The in-memory branch of :func:`load_panel`.

    The plan (made from the data for bare columns), the columns checked, every check of
    :func:`~famtrial.data.checks.validate`, and the report.
    """
    plan = plan_from_columns(raw, spec, implementation, baseline) if isinstance(spec, Columns) else spec
    cols = plan.columns
    rows_read = len(raw)
    required = cols.required()
    check_columns(raw.columns, required, present, lambda: rows_read)
    data, agg = validate(raw[required].reset_index(drop=True), plan, missing, rows_read, Checks())
    check_take_up(data, plan)  # columns.take_up: 0/1, one-sided, one value per family (famtrial.data.take_up)
    report = LoadReport(
        rows_read=rows_read,
        rows_kept=len(data),
        source=source_name,
        dropped_missing=agg["counts"],
        rows_dropped_missing=agg["rows_dropped"],
        parents_dropped_missing=agg["parents_dropped"],
        rows_outside_window=agg["outside"],
        **{k: v for k, v in structure(data, cols, pd.Period(plan.baseline, "M")).items() if k != "rows_kept"},
    )
    return Panel(data=data, plan=plan, report=report)
