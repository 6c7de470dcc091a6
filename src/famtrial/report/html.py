"""``report.html``: one self-contained page with everything a ``famtrial reproduce`` run wrote.

The page holds every table (as HTML, with caption and notes), every figure (embedded as a base64
PNG ``data:`` URI, so the file can be mailed or archived alone), the sample flow summary, the load
report with its drop counts and, when the plan names a published spec, the ``famtrial verify``
summary at the spec's default tolerances. It has no scripts, stylesheets or images outside itself.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from famtrial._text import few_cluster_caution, plural
from famtrial.data.panel import LoadReport
from famtrial.plan.register import Registration
from famtrial.plan.spec import Plan
from famtrial.table import Table
from famtrial.trial.sample import AnalysisSample

__all__ = ["ReportFigure", "write_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 75rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { font-weight: bold; text-align: left; padding-bottom: 0.4rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
.verify { border-left: 4px solid #888; padding-left: 0.8rem; }
.caution { border-left: 4px solid #c60; padding-left: 0.8rem; }
"""


@dataclass(frozen=True)
class ReportFigure:
    """A figure for the report: its title and the PNG image bytes."""

    title: str
    png: bytes


def _figure_html(figure: ReportFigure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    title = html.escape(figure.title)
    return f'<figure><img alt="{title}" src="data:image/png;base64,{data}"><figcaption>{title}</figcaption></figure>'


def _counts_frame(rows: Sequence[tuple[str, int | str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"count": [f"{n:,}" if isinstance(n, int) else n for _, n in rows]},
        index=pd.Index([r for r, _ in rows], name=""),
    )


def _drop_counts(report: LoadReport, units: tuple[str, str, str] = ("parent", "family", "office")) -> pd.DataFrame:
    """Rows read, kept and removed by each reason when loading (the load report's counts; not the sample's rule)."""
    rows: list[tuple[str, int | str]] = [
        ("rows read", report.rows_read),
        ("rows kept", report.rows_kept),
        ("rows outside the plan's months", report.rows_outside_window),
        ("rows dropped for missing values (listwise)", report.rows_dropped_missing),
    ]
    rows += [(f"rows missing {column}", n) for column, n in report.dropped_missing.items()]
    rows += [(f"{plural(units[0])} who lost every row to missing values", report.parents_dropped_missing)]
    if report.offices_removed:  # a panel restricted before the run (the sample's rule is counted apart)
        rows += [
            (f"rows removed with {plural(units[2])} restricted before the run", report.rows_removed_by_restriction),
            (f"{plural(units[2])} restricted before the run", len(report.offices_removed)),
        ]
    return _counts_frame(rows)


def _exclusion_counts(sample: AnalysisSample, before: LoadReport) -> pd.DataFrame:
    """The analysis sample's exclusions by the plan's rule: clusters, units and rows, excluded and analysed."""
    f = sample.flow
    after = sample.panel.report
    rows_excluded = after.rows_removed_by_restriction - before.rows_removed_by_restriction
    excluded = ", ".join(map(str, sample.excluded_offices)) or "none"
    rows: list[tuple[str, int | str]] = [
        (f"{f.noun('office')} excluded by the rule", f.offices_excluded),
        (f"{f.noun('office')} excluded (labels)", excluded),
        (f"{f.noun('family')} excluded", f.families_excluded_offered + f.families_excluded_ordinary),
        (f"{f.noun('parent')} excluded", f.parents_excluded_offered + f.parents_excluded_ordinary),
        ("rows excluded", rows_excluded),
        (f"{f.noun('office')} analysed", f.offices_included),
        (f"{f.noun('family')} analysed", f.families_analysed_offered + f.families_analysed_ordinary),
        (f"{f.noun('parent')} analysed", f.parents_analysed_offered + f.parents_analysed_ordinary),
        ("rows analysed", after.rows_kept),
    ]
    return _counts_frame(rows)


def _clusters_html(plan: Plan, sample: AnalysisSample) -> str:
    """The clusters section: G analysed, the reference distribution and, below the threshold, the caution."""
    g = sample.flow.offices_included
    clusters = plan.unit("office")
    reference = "t(G-1)" if plan.reference == "t" else "the normal distribution"
    caution = few_cluster_caution(g, plan.few_clusters, g - 1 if plan.reference == "t" else None, clusters)
    text = (
        f"The analysis clusters on {g} {plan.unit('office', g)} (G = {g}). Model tables and monthly series "
        f"use {reference} as the reference of their cluster-robust p-values and intervals "
        f"(<code>[inference] reference</code>); <code>inference.csv</code> gives the cluster z, t(G-1), "
        "score bootstrap and randomization p-values side by side."
    )
    warn = f'<p class="caution"><strong>{html.escape(caution)}</strong></p>' if caution else ""
    return f"<h3>Clusters</h3><p>{text}</p>{warn}"


def _described(report: LoadReport, units: tuple[str, str, str], data_label: str | None) -> str:
    """The load report's lines with the source named by ``data_label`` (else its file name, no folder)."""
    lines = report.describe(units).split("\n")
    if lines and lines[0].startswith("source: "):
        lines[0] = f"source: {data_label or Path(report.source).name or report.source}"
    return "\n".join(lines)


def _registration_html(registration: Registration) -> list[str]:
    """The plan's registration status and, when it deviates, the deviations table (one row per key)."""
    parts = ["<h2>Analysis plan and registration</h2>", f"<p>{html.escape(registration.summary().splitlines()[0])}</p>"]
    if registration.deviations:
        rows = pd.DataFrame(
            {
                "registered": [
                    "absent" if d.registered is None else repr(d.registered) for d in registration.deviations
                ],
                "ran": ["absent" if d.ran is None else repr(d.ran) for d in registration.deviations],
            },
            index=pd.Index([d.key for d in registration.deviations], name="plan key"),
        )
        parts += [
            "<h3>Deviations from the registered plan</h3>",
            Table(frame=rows, display=rows, title="Deviations from the registered plan (key by key)").to_html(),
        ]
    return parts


def write_report(
    path: str | Path,
    *,
    plan: Plan,
    tables: Sequence[Table],
    figures: Sequence[ReportFigure],
    sample_summary: str,
    load_report: LoadReport,
    numbers: Mapping[str, float | str],
    notes: Sequence[str] = (),
    sample: AnalysisSample | None = None,
    beyond_itt: Sequence[Table | ReportFigure] = (),
    data_label: str | None = None,
    registration: Registration | None = None,
) -> Path:
    """Write ``report.html`` for one reproduce run and return its path.

    Parameters
    ----------
    path : str or Path
        The file to write.
    plan : Plan
        The run's plan: its name and title head the page; its published spec
        (:meth:`Plan.resolve_published`), when there is one, is verified against ``numbers`` at the
        spec's default tolerances (the numbers in the page are labelled as such).
    tables : sequence of Table
        Every table the run wrote, in order.
    figures : sequence of ReportFigure
        Every figure the run drew, as PNG bytes.
    sample_summary : str
        The analysis sample's rule and counts (:meth:`AnalysisSample.summary`).
    load_report : LoadReport
        The load report of the loaded panel (before the office exclusion).
    numbers : Mapping[str, float or str]
        The reproduced numbers (``reproduced.csv``).
    notes : sequence of str
        Further lines of the run (monthly summaries).
    sample : AnalysisSample, optional
        The analysis sample: its exclusions by the plan's rule (clusters, units, rows) are reported
        apart from the load's drops, and its clusters G with the few-cluster caution (below the
        plan's ``[inference] few_clusters``) and the reference distribution used.
    beyond_itt : sequence of Table or ReportFigure
        The analyses beyond intention to treat (CACE, subgroups, time since randomisation), in order,
        in their own section after the figures; none: no section.
    data_label : str, optional
        How the page names the data (``reproduce``: the file's name and SHA-256), in place of the load
        report's source; default: the source's file name only. The page never shows a folder path, so
        a shared report does not reveal where the data lives.
    registration : Registration, optional
        Whether the plan that ran is its registered plan (:func:`famtrial.plan.register.registration_status`);
        the page states it and, when the plan deviates, lists every differing key (a deviations section).

    Returns
    -------
    Path
        ``path``.
    """
    from famtrial.published.verify import verify

    units = plan.units
    parts = [
        f"<h1>famtrial reproduce: {html.escape(plan.name)}</h1>",
        f"<p>{len(tables)} tables and {len(figures)} figures written by <code>famtrial reproduce</code>.</p>",
        "<h2>Data and sample</h2>",
        f"<h3>Load report</h3><pre>{html.escape(_described(load_report, units, data_label))}</pre>",
        Table(
            frame=_drop_counts(load_report, units),
            display=_drop_counts(load_report, units),
            title="Loading: rows read, kept and dropped",
        ).to_html(),
    ]
    if sample is not None:
        counts = _exclusion_counts(sample, load_report)
        parts += [
            f"<h3>Analysis sample</h3><p>{html.escape(sample.flow.rule[:1].upper() + sample.flow.rule[1:])}.</p>",
            Table(frame=counts, display=counts, title="Analysis sample: excluded by the rule and analysed").to_html(),
            _clusters_html(plan, sample),
        ]
    parts.append(f"<h3>Sample flow</h3><pre>{html.escape(sample_summary)}</pre>")
    if notes:
        parts.append("<pre>" + html.escape("\n".join(notes)) + "</pre>")
    if registration is not None:
        parts += _registration_html(registration)
    spec = plan.resolve_published()
    if spec is not None:
        report = verify(dict(numbers), spec, allow_missing=True)
        counts = report.frame["status"].value_counts()
        count_rows = pd.DataFrame(
            {"numbers": [str(int(counts.get(s, 0))) for s in ("ok", "FAIL", "missing", "note")]},
            index=pd.Index(["ok", "FAIL", "missing", "note"], name="status"),
        )
        parts += [
            '<h2>Published numbers (famtrial verify, default tolerances)</h2><div class="verify">',
            "<p>Reproduced numbers against the published spec "
            f"<code>{html.escape(spec.name)}</code> at the spec's default tolerances (half a unit of the "
            "printed last digit unless the spec says otherwise); <code>famtrial verify</code> with "
            "<code>--tolerance</code> applies wider ones. Numbers the run did not reproduce count as "
            "missing.</p>",
            f"<pre>{html.escape(report.summary())}</pre>",
            Table(frame=count_rows, display=count_rows, title="verify: published numbers by status").to_html(),
            "</div>",
        ]
    else:
        parts.append(
            "<h2>Published numbers</h2><p>The plan names no published spec (<code>[data] published</code>): "
            "no reproduced number is checked against a printed one.</p>"
        )
    parts.append("<h2>Tables</h2>")
    parts += [table.to_html() for table in tables]
    parts.append("<h2>Figures</h2>")
    parts += [_figure_html(figure) for figure in figures]
    if beyond_itt:
        parts.append("<h2>Beyond intention to treat</h2>")
        parts += [item.to_html() if isinstance(item, Table) else _figure_html(item) for item in beyond_itt]
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>famtrial reproduce: {html.escape(plan.name)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path
