"""``famtrial reproduce``: a trial's whole analysis plan on a panel, written to a folder.

Composition only: every number comes from the public API (load_panel, analysis_sample,
balance_table, correlation_table, fe_models, monthly_effects, few-cluster inference), driven by the
analysis plan; file names, titles and labels come from the plan. Importing this module does not
touch matplotlib's backend: figures are drawn, saved and closed.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import pandas as pd

from famtrial._options import Engine, FigureFormat, Missing, check_choice
from famtrial._parallel import is_dask_dataframe
from famtrial._progress import Step
from famtrial.data.panel import Panel
from famtrial.errors import PlanError
from famtrial.plan.register import Registration, registration_status
from famtrial.plan.spec import Plan, load_plan
from famtrial.published.manifest import MANIFEST
from famtrial.report.html import ReportFigure, write_report
from famtrial.table import Table

if TYPE_CHECKING:
    from famtrial.published.outputs import ResultsWriter

__all__ = ["reproduce", "Reproduction", "default_panel_path"]


def default_panel_path(plan: Plan | str | Path | None = None) -> Path:
    """The plan's default data file (``[data] path``; the shipped plan's: the synthetic replica)."""
    plan = load_plan(plan)
    path = plan.resolve_data()
    if path is None:
        raise PlanError(f"the plan {plan.name!r} names no data file ([data] path): pass the data")
    return path


@dataclass(frozen=True)
class Reproduction:
    """What ``reproduce`` wrote.

    The output folder, the files, every reproduced number, notes, ``report`` (the path of the
    self-contained ``report.html``), ``manifest`` (the path of ``manifest.json``: the run's
    files and their hashes, :mod:`famtrial.published.manifest`) and ``registration``: whether the plan
    that ran is its registered plan, else every deviating key
    (:func:`famtrial.plan.register.registration_status`; ``registration.to_dict()`` is the manifest's
    ``extra.registration``).
    """

    out: Path
    plan: Plan
    files: tuple[Path, ...] = ()
    numbers: dict[str, float | str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    report: Path | None = None
    manifest: Path | None = None
    registration: Registration | None = None

    def summary(self) -> str:
        """The files written, one a line, and the notes."""
        lines = [f"famtrial reproduce ({self.plan.name}): wrote {len(self.files)} files to {self.out}/"]
        lines += [f"  {p.name}" for p in self.files]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _figure_title(name: str, text: str) -> str:
    """``figure2`` + text -> ``Figure 2. text`` (a plan's figure names number the figures)."""
    m = re.fullmatch(r"(?i)fig(?:ure)?_?(\d+)", name)
    return f"Figure {m.group(1)}. {text}" if m else text


def _save_figure(fig: Any, name: str, formats: Sequence[str], output: _Output) -> bytes:
    """Save ``fig`` as ``name.<format>`` in every format, close it, and return it as PNG bytes (for report.html).

    Each format is rendered once (at 200 dpi); the PNG file's bytes are also the report's image
    (the page scales it to its width), so a figure is drawn once more only when PNG is not among
    ``formats`` (then at 110 dpi, for the report alone).
    """
    import io

    import matplotlib.pyplot as plt

    png = None
    for fmt in formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=200, bbox_inches="tight")
        output.path(f"{name}.{fmt}").write_bytes(buffer.getvalue())
        if fmt == "png":
            png = buffer.getvalue()
    if png is None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        png = buffer.getvalue()
    plt.close(fig)
    return png


def _data_identity(data: str | Path | pd.DataFrame | Panel | None, plan: Plan) -> dict[str, str]:
    """The manifest's ``data``: the file's name and SHA-256 (a frame's or Panel's content hash)."""
    from famtrial.published.outputs import data_identity

    if isinstance(data, Panel):  # its file when it was loaded from one, else its (in-memory) content
        loaded_from = Path(data.report.source)
        if data.report.source not in ("DataFrame", "Dask DataFrame") and loaded_from.exists():
            return data_identity(loaded_from)
        if isinstance(data.data, pd.DataFrame):
            return {"name": "Panel", "sha256": data_identity(data.data)["sha256"]}
        return {"name": loaded_from.name or data.report.source, "sha256": ""}  # a lazy Dask frame: not read to hash
    source = default_panel_path(plan) if data is None else data
    if isinstance(source, (str, Path)) and not Path(source).exists() and not glob.has_magic(str(source)):
        return {"name": Path(source).name, "sha256": ""}  # loading names the missing file
    return data_identity(source)


def reproduce(
    data: str | Path | pd.DataFrame | Panel | None = None,
    out: str | Path = "results",
    *,
    plan: Plan | str | Path | None = None,
    formats: Sequence[str] | None = None,
    n_boot: int | None = None,
    seed: int | None = None,
    missing: Missing | None = None,
    inference: bool = True,
    n_perm: int | None = None,
    progress: bool = True,
    engine: Engine = "pandas",
    client: Any = None,
) -> Reproduction:
    """Run a trial's analysis plan on ``data`` and write every table and figure to ``out``.

    Parameters
    ----------
    data : path, list of paths, DataFrame, Dask DataFrame or Panel, optional
        The long panel; a :class:`~famtrial.data.panel.Panel` brings its own plan. Default: the plan's
        ``[data] path`` (the shipped plan's: the synthetic replica). With ``engine="dask"``: a partitioned
        Parquet dataset (a folder, a glob such as ``"register/*.parquet"`` or a list of files, one
        partition each), a Dask DataFrame, or a Panel loaded with ``engine="dask"``.
    out : path
        Output folder (created).
    plan : Plan, path or shipped plan name, optional
        Default: the Panel's plan, else the family-coordinator plan (``"nct03102775"``).
    formats : sequence of {"png", "pdf", "svg"}, optional
        Figure formats (default: the plan's ``output.formats``).
    n_boot, seed : int, optional
        The sup-t band's multiplier draws (when there are more than 16 offices) and the seed of
        every random step (default: the plan's ``inference.band_draws`` and ``inference.seed``).
    missing : {"error", "drop"}, optional
        Missing outcomes/covariates (default: the plan's ``data.missing``).
    inference : bool
        Few-cluster inference for the plan's ``inference.models`` (``inference.csv``).
    n_perm : int, optional
        Randomization re-draws (default: the plan's ``inference.randomization_draws``).
    progress : bool
        Show progress: each step's wall time, a line after 2 s and every 30 s while a step runs, and the
        bars of the monthly fits and the re-draws.
    engine : {"pandas", "dask"}
        ``"pandas"``: the panel in memory. ``"dask"``: the panel stays partitioned on a Dask cluster and
        every step runs there or on per-partition results (docs/scale.md); the files and numbers are the
        in-memory run's.
    client : dask.distributed.Client, str or int, optional
        ``engine="dask"`` only: a Client (used, not closed), a scheduler address (``"tcp://host:8786"``:
        connect to that running cluster), or a number of local workers. Default: the running default
        client, else a ``LocalCluster`` sized to the machine (one single-threaded worker per core),
        started for the run and closed after it.

    Returns
    -------
    Reproduction
        The output folder, the files written, every reproduced number, notes and ``report``.

    Notes
    -----
    Writes, with the plan's names: the sample table and flow figure (the paper's Table 2 and
    Figure 1), the balance and correlation tables (Tables 3-4), each model table (Tables 5-6),
    each monthly series as ``monthly_<name>.csv`` and its figure (Figures 2-3), ``inference.csv``,
    and ``reproduced.csv`` (``key,value`` for ``famtrial verify``). Tables as CSV and Markdown.
    Last, ``report.html`` (:func:`famtrial.report.html.write_report`): one self-contained page with every
    table and figure, the load report's drop counts, the sample flow and, when the plan names a
    published spec, the verify summary at the spec's default tolerances; and whether the plan is the one
    registered beside it (``famtrial plan register``), else every deviating key
    (:func:`famtrial.plan.register.registration_status`, also ``Reproduction.registration``). Then
    ``manifest.json``: the famtrial version, plan and data hashes, the registration status, command,
    times and every file's SHA-256 (:mod:`famtrial.published.manifest`), which ``famtrial verify`` checks.

    The run is atomic (:mod:`famtrial.published.outputs`): it locks ``out`` (a second run into it is
    refused while this one runs), writes into a temporary folder beside it and moves the finished files
    in at the end; a run that fails or is killed leaves ``out`` marked incomplete. Files are never
    written through a symbolic link.
    """
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a folder name or Path, not {type(out).__name__}")
    _check_engine(engine, data, client)
    if data is not None and not isinstance(data, (str, Path, pd.DataFrame, Panel, list, tuple)):
        if not is_dask_dataframe(data):
            raise TypeError(f"data must be a panel file, a DataFrame or a famtrial Panel, not {type(data).__name__}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an integer, not {type(seed).__name__}")
    from famtrial.published.outputs import ResultsWriter, command_line

    plan = _resolve_plan(data, plan, missing)
    registration = registration_status(plan)  # first: an edited registration file fails before any work
    run = _Settings.from_plan(plan, formats=formats, n_boot=n_boot, seed=seed, n_perm=n_perm)
    if engine == "dask" and (plan.roles.take_up or plan.roles.entry or plan.subgroups.variables):
        raise PlanError(
            "the analyses beyond intention to treat (columns.take_up, columns.entry, [subgroups]) run in memory, "
            "not on the Dask engine: run engine='pandas' (--engine pandas), or leave those keys out of the plan"
        )
    identity = _data_identity(data, plan)
    plan_id = {"name": plan.name, "hash": plan.hash}
    with (
        ResultsWriter(Path(out), plan=plan_id, data=identity, command=command_line()) as writer,
        _session(engine, client) as session,
    ):
        output = _Output(writer, run.formats, identity)
        if registration is not None:
            output.manifest_entry("registration", registration.to_dict())
        return _run_steps(data, plan, missing, engine, run, output, session, inference, progress, registration)


def _run_steps(
    data: Any,
    plan: Plan,
    missing: Missing | None,
    engine: Engine,
    run: _Settings,
    output: _Output,
    session: Any,
    inference: bool,
    progress: bool,
    registration: Registration | None,
) -> Reproduction:
    """The analysis, step by step, each timed (a heartbeat while it runs when ``progress``)."""
    with Step("loading and validation", enabled=progress):
        panel = _load(data, plan, missing, engine)
    with Step("exclusion rule and flow", enabled=progress):
        sample = _sample_step(panel, plan, output)
    analysed = sample.panel
    with Step("balance and correlations", enabled=progress):
        _balance_step(analysed, plan, output)
    with Step("fixed-effects models", enabled=progress):
        _models_step(analysed, plan, output)
    monthly = {}
    for series in plan.series:
        with Step(f"monthly series {series.name}", enabled=progress):
            monthly[series.name] = _monthly_step(analysed, plan, series, run, output, progress=progress)
    with Step("analyses beyond intention to treat", enabled=progress):
        _beyond_itt_step(analysed, plan, monthly, output)
    if inference and plan.inference_models:
        with Step("few-cluster inference", enabled=progress):
            _inference_step(analysed, run, output, progress=progress, client=session)
    with Step("tables, figures and report", enabled=progress):
        return _finish(output, plan, panel, sample, registration)


def _check_engine(engine: object, data: object, client: object) -> None:
    """``engine`` is an option, and ``data`` and ``client`` go with it (an unsupported combination named)."""
    check_choice(engine, Engine, "engine", PlanError)
    dask_data = is_dask_dataframe(data) or (isinstance(data, Panel) and is_dask_dataframe(data.data))
    if engine == "pandas":
        if client is not None:
            raise PlanError("client= needs engine='dask' (the pandas engine runs in this process): pass engine='dask'")
        if dask_data:
            raise PlanError("engine='pandas' with a Dask DataFrame or Dask panel: pass engine='dask'")
        if isinstance(data, (list, tuple)):
            raise PlanError("engine='pandas' reads one panel file, not a list of files: pass engine='dask'")
    elif isinstance(data, pd.DataFrame) or (isinstance(data, Panel) and not dask_data):
        raise PlanError(
            "engine='dask' with an in-memory DataFrame or Panel: write it as partitioned Parquet (or pass a Dask "
            "DataFrame), or run engine='pandas'"
        )


def _session(engine: Engine, client: Any) -> Any:
    """The Dask client of the run (``famtrial._parallel.dask_session``), or nothing for the pandas engine."""
    import contextlib

    if engine == "pandas":
        return contextlib.nullcontext()
    from famtrial._parallel import dask_session

    return dask_session(client)


@dataclass(frozen=True)
class _Settings:
    """A run's settings: the figure formats and the random steps' sizes and seed, the plan's unless given."""

    formats: tuple[str, ...]
    n_boot: int
    seed: int | None
    n_perm: int

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        *,
        formats: Sequence[str] | None,
        n_boot: int | None,
        seed: int | None,
        n_perm: int | None,
    ) -> _Settings:
        chosen = tuple(plan.formats if formats is None else formats)
        bad = sorted(set(chosen) - set(get_args(FigureFormat)))
        if bad or not chosen:
            raise PlanError(f"unsupported figure format(s) {bad or list(chosen)}: use png, pdf or svg")
        n_boot = plan.band_draws if n_boot is None else n_boot
        n_perm = plan.randomization_draws if n_perm is None else n_perm
        for name, value in (("n_boot", n_boot), ("n_perm", n_perm)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise PlanError(f"{name}={value!r} must be a positive integer")
        if not plan.outcomes:
            raise PlanError(f"the plan {plan.name!r} declares no outcome: add [outcomes.<name>] tables")
        return cls(formats=chosen, n_boot=n_boot, seed=plan.seed if seed is None else seed, n_perm=n_perm)


class _Output:
    """The files, tables, figures, numbers and notes a run writes into its output folder.

    Files are written through :meth:`path` into the run's temporary folder
    (:class:`~famtrial.published.outputs.ResultsWriter`) and moved into ``out`` by :func:`_finish`;
    ``files`` lists their final paths. A step records a manifest entry with :meth:`manifest_entry`.
    """

    def __init__(self, writer: ResultsWriter, formats: Sequence[str], data: Mapping[str, str]) -> None:
        self.writer, self.out, self.formats, self.data = writer, writer.out, formats, data
        self.files: list[Path] = []
        self.extra: dict[str, Any] = {}  # manifest entries of steps: {step: JSON value}
        self.numbers: dict[str, float | str] = {}
        self.notes: list[str] = []
        self.tables: list[Table] = []  # every table written, for report.html
        self.figures: list[ReportFigure] = []  # (title, PNG bytes) of every figure drawn, for report.html
        self.beyond_itt: list[Table | ReportFigure] = []  # the CACE, subgroup and time-since sections, in order

    def path(self, name: str) -> Path:
        """Where to write the run's file ``name`` now (listed in ``files`` at its final place)."""
        self.files.append(self.out / name)
        return self.writer.path(name)

    def manifest_entry(self, step: str, value: Any) -> None:
        """Record ``value`` (a JSON value) under ``step`` in the manifest's ``extra``."""
        self.extra[step] = value

    def table(self, tab: Table, name: str) -> None:
        """Write ``tab`` as ``name.csv`` and ``name.md``."""
        for suffix in (".csv", ".md"):
            tab.save(self.path(f"{name}{suffix}"))
        self.tables.append(tab)

    def figure(self, fig: Any, title: str, name: str) -> None:
        """Save ``fig`` as ``name.<format>`` in every format and keep it for report.html."""
        self.figures.append(ReportFigure(title, _save_figure(fig, name, self.formats, self)))


def _resolve_plan(
    data: str | Path | pd.DataFrame | Panel | None, plan: Plan | str | Path | None, missing: Missing | None
) -> Plan:
    """The run's plan: a Panel's own (``plan`` and ``missing`` must not contradict it), else ``plan`` or the default."""
    if not isinstance(data, Panel):
        return load_plan(plan)
    if plan is not None and load_plan(plan) != data.plan:
        raise PlanError(
            "data is a Panel loaded with another plan: pass plan=None (the Panel's plan is used) "
            "or load the data again with this plan"
        )
    if missing is not None:
        raise PlanError("missing= applies when loading: the Panel is already loaded")
    return data.plan


def _load(data: Any, plan: Plan, missing: Missing | None, engine: Engine = "pandas") -> Panel:
    """The panel: as given, or loaded from ``data`` (default: the plan's data file) with ``engine``."""
    from famtrial.data.load import load_panel
    from famtrial.data.plan_months import check_plan_months

    if isinstance(data, Panel):
        panel = data
        if engine == "dask":  # a panel the user loaded lazily: its partitions read and validated once more, kept
            from famtrial.trial._dask_steps import persist_panel

            panel = persist_panel(panel)
    else:  # with the Dask engine each partition is read and validated once, and kept on the workers
        source = default_panel_path(plan) if data is None else data
        panel = load_panel(source, plan, missing=missing, engine=engine, persist=engine == "dask")
    check_plan_months(panel)  # every month the plan names has rows, before anything is fitted
    return panel


def _sample_step(panel: Panel, plan: Plan, output: _Output) -> Any:
    """The exclusion rule: the sample table (Table 2) and the flow figure (Figure 1)."""
    from famtrial.report.flowchart import plot_flow
    from famtrial.trial.sample import analysis_sample

    sample = analysis_sample(panel)
    output.notes.append(sample.summary())
    output.table(sample.table2, plan.sample_table)
    output.numbers.update(sample.to_numbers())
    flow_title = _figure_title(plan.flow_figure, "Participant flow")
    output.figure(plot_flow(sample.flow, title=flow_title), flow_title, plan.flow_figure)
    return sample


def _balance_step(analysed: Panel, plan: Plan, output: _Output) -> None:
    """Baseline balance and correlations (Tables 3-4)."""
    from famtrial.trial.balance import balance_table, correlation_table

    for result, name in (
        (balance_table(analysed), plan.balance_table),
        (correlation_table(analysed), plan.correlations_table),
    ):
        output.table(result.table, name)
        output.numbers.update(result.to_numbers())


def _models_step(analysed: Panel, plan: Plan, output: _Output) -> None:
    """The plan's fixed-effects models and their tables (Tables 5-6)."""
    from famtrial.report.compare import fe_numbers, model_tables
    from famtrial.trial.effects import fe_models

    if not plan.models:
        return
    from famtrial.trial._dask_steps import count_parents

    models = fe_models(analysed)
    n_parents = count_parents(analysed)
    for name, tab in model_tables(models, plan, n_parents=n_parents).items():
        output.table(tab, name)
    output.numbers.update(fe_numbers(models, plan))
    _dynamic_figures(analysed, plan, models, output)


def _dynamic_figures(analysed: Panel, plan: Plan, models: Any, output: _Output) -> None:
    """The event-study figure (odds ratio per month, the implementation month marked) of each dynamic model."""
    from famtrial.report.coefplot import iplot

    for spec in plan.models:
        if spec.treatment == "dynamic" and spec.name in models:
            label = plan.outcome(spec.outcome).label
            title = f"Dynamic effects of the offer on {label} ({spec.name}): odds ratio by month"
            fig = iplot(
                {spec.name: models[spec.name]},
                analysed.columns.month,
                analysed.columns.arm,
                mark=str(analysed.implementation),
                title=title,
            )
            output.figure(fig, title, f"{spec.name}_event_study")


def _monthly_step(analysed: Panel, plan: Plan, series: Any, run: _Settings, output: _Output, *, progress: bool) -> Any:
    """One monthly series: ``monthly_<name>.csv``, its table and its figure (Figures 2-3)."""
    from famtrial.report.plots import plot_monthly
    from famtrial.trial.monthly import monthly_effects

    effects = monthly_effects(analysed, series.outcome, seed=run.seed, n_boot=run.n_boot, progress=progress)
    output.notes.append(effects.summary().splitlines()[1])
    effects.csv_frame().to_csv(output.path(f"monthly_{series.name}.csv"), index=False)
    output.tables.append(effects.table)
    output.numbers.update(effects.to_numbers())
    what = plan.outcome(series.outcome).description
    title = series.title or _figure_title(series.figure, f"Effects of {plan.treatment_description} on {what}")
    output.figure(plot_monthly(effects, title=title), title, series.figure)
    return effects


def _beyond_itt_step(analysed: Panel, plan: Plan, monthly: dict[str, Any], output: _Output) -> None:
    """The optional analyses beyond ITT, each when the plan asks for it (a plan without them writes nothing).

    ``columns.take_up``: the CACE table (the monthly CACE is in each series' ``monthly_<name>.csv``); ``[subgroups]
    variables``: the subgroup table and forest plot; ``columns.entry``: the table and figure of effects by
    months since randomisation, beside the calendar-month series of the model's outcome.
    """
    from famtrial.report.forest import plot_forest, plot_since_randomisation
    from famtrial.trial.compliance import cace_models, cace_table
    from famtrial.trial.since_randomisation import effects_since_randomisation, since_table
    from famtrial.trial.subgroups import subgroup_analysis

    def table(tab: Table, name: str) -> None:
        for suffix in (".csv", ".md"):
            tab.save(output.path(f"{name}{suffix}"))
        output.beyond_itt.append(tab)

    def figure(fig: Any, title: str, name: str) -> None:
        output.beyond_itt.append(ReportFigure(title, _save_figure(fig, name, output.formats, output)))

    if plan.roles.take_up is not None:
        results = cace_models(analysed)
        table(cace_table(list(results.values()), digits=plan.digits), plan.compliance.table)
        for r in results.values():
            output.numbers.update(r.to_numbers())
    if plan.subgroups.variables:
        subgroups = subgroup_analysis(analysed)
        table(subgroups.table(digits=plan.digits), plan.subgroups.table)
        output.numbers.update(subgroups.to_numbers())
        title = f"Effects of {plan.treatment_description} by pre-specified subgroup"
        figure(plot_forest(subgroups, title=title), title, plan.subgroups.figure)
    if plan.roles.entry is not None:
        since = [effects_since_randomisation(analysed, spec.name) for spec in _since_models(plan)]
        table(since_table(since, digits=plan.digits), plan.since_randomisation.table)
        for e in since:
            output.numbers.update(e.to_numbers())
        beside = [monthly.get(s.name) if (s := plan.series_for(e.outcome)) is not None else None for e in since]
        title = f"Effects of {plan.treatment_description} by months since randomisation and by calendar month"
        figure(plot_since_randomisation(since, monthly=beside, title=title), title, plan.since_randomisation.figure)


def _since_models(plan: Plan) -> list[Any]:
    from famtrial.trial._beyond_itt import model_specs

    return model_specs(plan, plan.since_randomisation.models, "since_randomisation")


def _inference_step(analysed: Panel, run: _Settings, output: _Output, *, progress: bool, client: Any = None) -> None:
    """Few-cluster inference for the plan's ``inference.models`` (``inference.csv``).

    On a Dask panel with the score statistic: from sums over the workers' partitions
    (:mod:`famtrial.trial._inference_dask`); with the Wald or coefficient statistic (a refit per
    re-draw): on the informative parents' rows in memory, the re-draws on the cluster
    (:func:`famtrial.trial._dask_steps.inference_panel`).
    """
    from famtrial.trial.few_cluster import few_cluster_inference

    if is_dask_dataframe(analysed.data) and analysed.plan.randomization_statistic != "score":
        from famtrial.trial._dask_steps import inference_panel

        analysed = inference_panel(analysed)
    few = few_cluster_inference(analysed, n_perm=run.n_perm, seed=run.seed, progress=progress, client=client)
    output.table(few.table, "inference")
    output.numbers.update(few.to_numbers())


def _finish(
    output: _Output, plan: Plan, panel: Panel, sample: Any, registration: Registration | None = None
) -> Reproduction:
    """``reproduced.csv`` and ``report.html`` (with the plan's registration status), last."""
    numbers = output.numbers
    reproduced = pd.DataFrame({"key": list(numbers), "value": list(numbers.values())})
    reproduced.to_csv(output.path("reproduced.csv"), index=False)
    write_report(
        output.path("report.html"),
        plan=plan,
        tables=output.tables,
        figures=output.figures,
        sample_summary=sample.summary(),
        load_report=panel.report,
        numbers=numbers,
        notes=output.notes[1:],
        sample=sample,
        beyond_itt=output.beyond_itt,
        data_label=f"{output.data['name']} (sha256 {output.data['sha256'] or 'unknown'})",
        registration=registration,
    )
    output.writer.commit(output.extra)
    report = output.out / "report.html"
    return Reproduction(
        out=output.out,
        plan=plan,
        files=tuple(output.files),
        numbers=numbers,
        notes=tuple(output.notes),
        report=report,
        manifest=output.out / MANIFEST,
        registration=registration,
    )
