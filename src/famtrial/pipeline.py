"""``famtrial reproduce``: a trial's whole analysis plan on a panel, written to a folder.

Composition only: every number comes from the public API (load_panel, analysis_sample,
balance_table, correlation_table, fe_models, monthly_effects, few-cluster inference), driven by the
analysis plan; file names, titles and labels come from the plan. Importing this module does not
touch matplotlib's backend: figures are drawn, saved and closed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import pandas as pd

from famtrial._options import FigureFormat, Missing
from famtrial.data.panel import Panel
from famtrial.errors import PlanError
from famtrial.plan.register import Registration, registration_status
from famtrial.plan.spec import Plan, load_plan
from famtrial.report.html import ReportFigure, write_report
from famtrial.table import Table

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
    self-contained ``report.html``) and ``registration``: whether the plan that ran is its registered
    plan, else every deviating key (:func:`famtrial.plan.register.registration_status`;
    ``registration.to_dict()`` is the manifest's record).
    """

    out: Path
    plan: Plan
    files: tuple[Path, ...] = ()
    numbers: dict[str, float | str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    report: Path | None = None
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


def _save_figure(fig: Any, stem: Path, formats: Sequence[str], files: list[Path]) -> bytes:
    """Save ``fig`` in every format, close it, and return it as PNG bytes (for report.html).

    Each format is rendered once (at 200 dpi); the PNG file's bytes are also the report's image
    (the page scales it to its width), so a figure is drawn once more only when PNG is not among
    ``formats`` (then at 110 dpi, for the report alone).
    """
    import io

    import matplotlib.pyplot as plt

    png = None
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=200, bbox_inches="tight")
        path.write_bytes(buffer.getvalue())
        files.append(path)
        if fmt == "png":
            png = buffer.getvalue()
    if png is None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        png = buffer.getvalue()
    plt.close(fig)
    return png


def _writable(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".famtrial-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise PlanError(
            f"cannot write to the output folder {str(out)!r} ({exc.strerror or exc}): choose another --out folder"
        ) from None
    return out


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
) -> Reproduction:
    """Run a trial's analysis plan on ``data`` and write every table and figure to ``out``.

    Parameters
    ----------
    data : path, DataFrame or Panel, optional
        The long panel; a :class:`~famtrial.data.panel.Panel` brings its own plan. Default: the plan's
        ``[data] path`` (the shipped plan's: the synthetic replica).
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
        Show progress.

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
    (:func:`famtrial.plan.register.registration_status`, also ``Reproduction.registration``).
    """
    if not isinstance(out, (str, Path)):
        raise TypeError(f"out must be a folder name or Path, not {type(out).__name__}")
    if data is not None and not isinstance(data, (str, Path, pd.DataFrame, Panel)):
        raise TypeError(f"data must be a panel file, a DataFrame or a famtrial Panel, not {type(data).__name__}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TypeError(f"seed must be an integer, not {type(seed).__name__}")
    plan = _resolve_plan(data, plan, missing)
    registration = registration_status(plan)  # first: an edited registration file fails before any work
    run = _Settings.from_plan(plan, formats=formats, n_boot=n_boot, seed=seed, n_perm=n_perm)
    output = _Output(_writable(Path(out)), run.formats)
    panel = _load(data, plan, missing)
    sample = _sample_step(panel, plan, output)
    analysed = sample.panel
    _balance_step(analysed, plan, output)
    _models_step(analysed, plan, output)
    for series in plan.series:
        _monthly_step(analysed, plan, series, run, output, progress=progress)
    if inference and plan.inference_models:
        _inference_step(analysed, run, output, progress=progress)
    return _finish(output, plan, panel, sample, registration)


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
    """The files, tables, figures, numbers and notes a run writes into its output folder."""

    def __init__(self, out: Path, formats: Sequence[str]) -> None:
        self.out, self.formats = out, formats
        self.files: list[Path] = []
        self.numbers: dict[str, float | str] = {}
        self.notes: list[str] = []
        self.tables: list[Table] = []  # every table written, for report.html
        self.figures: list[ReportFigure] = []  # (title, PNG bytes) of every figure drawn, for report.html

    def table(self, tab: Table, name: str) -> None:
        """Write ``tab`` as ``name.csv`` and ``name.md``."""
        for suffix in (".csv", ".md"):
            self.files.append(tab.save(self.out / f"{name}{suffix}"))
        self.tables.append(tab)

    def figure(self, fig: Any, title: str, name: str) -> None:
        """Save ``fig`` as ``name.<format>`` in every format and keep it for report.html."""
        self.figures.append(ReportFigure(title, _save_figure(fig, self.out / name, self.formats, self.files)))


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


def _load(data: str | Path | pd.DataFrame | Panel | None, plan: Plan, missing: Missing | None) -> Panel:
    """The panel: as given, or loaded from ``data`` (default: the plan's data file)."""
    from famtrial.data.load import load_panel

    if isinstance(data, Panel):
        return data
    return load_panel(default_panel_path(plan) if data is None else data, plan, missing=missing)


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
    models = fe_models(analysed)
    n_parents = analysed.data[analysed.columns.parent].nunique()
    for name, tab in model_tables(models, plan, n_parents=n_parents).items():
        output.table(tab, name)
    output.numbers.update(fe_numbers(models, plan))


def _monthly_step(analysed: Panel, plan: Plan, series: Any, run: _Settings, output: _Output, *, progress: bool) -> None:
    """One monthly series: ``monthly_<name>.csv``, its table and its figure (Figures 2-3)."""
    from famtrial.report.plots import plot_monthly
    from famtrial.trial.monthly import monthly_effects

    effects = monthly_effects(analysed, series.outcome, seed=run.seed, n_boot=run.n_boot, progress=progress)
    output.notes.append(effects.summary().splitlines()[1])
    path = output.out / f"monthly_{series.name}.csv"
    effects.frame.to_csv(path, index=False)
    output.files.append(path)
    output.tables.append(effects.table)
    output.numbers.update(effects.to_numbers())
    what = plan.outcome(series.outcome).description
    title = series.title or _figure_title(series.figure, f"Effects of {plan.treatment_description} on {what}")
    output.figure(plot_monthly(effects, title=title), title, series.figure)


def _inference_step(analysed: Panel, run: _Settings, output: _Output, *, progress: bool) -> None:
    """Few-cluster inference for the plan's ``inference.models`` (``inference.csv``)."""
    from famtrial.trial.few_cluster import few_cluster_inference

    few = few_cluster_inference(analysed, n_perm=run.n_perm, seed=run.seed, progress=progress)
    output.table(few.table, "inference")
    output.numbers.update(few.to_numbers())


def _finish(
    output: _Output, plan: Plan, panel: Panel, sample: Any, registration: Registration | None = None
) -> Reproduction:
    """``reproduced.csv`` and ``report.html`` (with the plan's registration status), last."""
    numbers = output.numbers
    reproduced = pd.DataFrame({"key": list(numbers), "value": list(numbers.values())})
    reproduced.to_csv(output.out / "reproduced.csv", index=False)
    output.files.append(output.out / "reproduced.csv")
    report = write_report(
        output.out / "report.html",
        plan=plan,
        tables=output.tables,
        figures=output.figures,
        sample_summary=sample.summary(),
        load_report=panel.report,
        numbers=numbers,
        notes=output.notes[1:],
        registration=registration,
    )
    output.files.append(report)
    return Reproduction(
        out=output.out,
        plan=plan,
        files=tuple(output.files),
        numbers=numbers,
        notes=tuple(output.notes),
        report=report,
        registration=registration,
    )
