"""Tables of fitted models side by side; these consume results, they never fit.

The plan's Tables 5-6 layout (odds ratios, CIs, stars, the notes that say what the numbers rest on), the
fixed-effects numbers of ``reproduced.csv``, and the clogit-beside-LPM table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from famtrial._options import check_bool, check_names
from famtrial._text import few_cluster_caution
from famtrial.errors import PlanError
from famtrial.models.base import ModelResults
from famtrial.models.clogit import ConditionalLogitResults
from famtrial.models.lpm import LPMResults
from famtrial.plan.spec import Plan
from famtrial.table import Table, stars

__all__ = ["compare_models", "model_tables", "fe_numbers", "lpm_table"]

_HIDDEN = ("trend",)  # regressors a table leaves out by default: the linear time trend


def _fmt(value: float, digits: int, leading_zero: bool = True) -> str:
    """Format with ``digits`` decimals; without the leading zero below 1 when asked (``.90``, ``12.23``)."""
    if pd.isna(value):
        return ""
    text = f"{value:.{digits}f}"
    if not leading_zero and text.startswith(("0.", "-0.")):
        return text.replace("0.", ".", 1)
    return text


def _time_terms(res: ModelResults) -> list[str]:
    """The categorical time (month) effects of a fit, if it has them."""
    name = getattr(getattr(res, "model", None), "time_name", None)
    return [] if name is None else [t for t in res.params.index if t.startswith(f"{name}[")]


def _time_note(results: Mapping[str, ModelResults]) -> str:
    terms = [set(r.params.index) for r in results.values()]
    linear = [("trend" in t) for t in terms]
    months = [getattr(getattr(r, "model", None), "time_name", None) is not None for r in results.values()]
    parts = []
    if all(linear):
        parts.append("adjusted for a linear time trend")
    elif any(linear):
        parts.append("models " + ", ".join(n for n, f in zip(results, linear) if f) + " adjusted for a linear trend")
    if all(months):
        parts.append("month fixed effects")
    elif any(months):
        parts.append("models " + ", ".join(n for n, f in zip(results, months) if f) + " with month fixed effects")
    return "; ".join(parts)


def _se_note(results: Mapping[str, ModelResults], names: Mapping[str, str]) -> str:
    kinds = []
    for res in results.values():
        cov = res.covariance
        if cov.label in ("CRV3", "HC3"):  # the jackknife (refits), not a sandwich
            unit = f"leave-one-cluster-out, G = {res.n_clusters}" if cov.label == "CRV3" else "leave-one-out"
            kinds.append(f"{cov.label} jackknife SE ({unit}; {cov.adjustment.split(', ', 1)[-1]})")
        elif cov.n_clusters_by:
            kinds.append(
                f"two-way cluster-robust SE ({res.cluster_name}, G = {cov.n_clusters_by[0]} and "
                f"{cov.n_clusters_by[1]}; factor G/(G-1) per dimension)"
            )
        elif res.cov_type == "cluster":
            name = dict(res.info).get("Cluster variable")
            name = names.get(name, name) if name is not None else None
            kinds.append(
                f"cluster-robust SE (clustered by {name}, G = {res.n_clusters})"
                if name
                else f"cluster-robust SE (G = {res.n_clusters})"
            )
        elif res.cov_type == "robust":
            kinds.append("robust SE")
        else:
            kinds.append("model-based SE")
        if res.covariance.df is not None:
            kinds[-1] += f", t({res.covariance.df}) reference"
    sandwiches = {
        r.covariance.adjustment
        for r in results.values()
        if r.cov_type != "nonrobust"
        and r.covariance.factor != 1.0
        and r.covariance.label is None
        and not r.covariance.n_clusters_by
    }
    if len(sandwiches) > 1:  # conventions differ (e.g. Stata's G/(G-1) beside statsmodels' factor): say which is which
        kinds = [
            k
            + (
                f", {r.covariance.adjustment} factor {r.covariance.factor:.4g}"
                if r.covariance.adjustment in sandwiches
                else ""
            )
            for k, r in zip(kinds, results.values())
        ]
    if len(set(kinds)) == 1:
        return kinds[0]
    return "; ".join(f"{n}: {k}" for n, k in zip(results, kinds))


def _check_results(results: object) -> None:
    """Raise ``TypeError`` unless ``results`` is a non-empty mapping of names to famtrial results."""
    if not isinstance(results, Mapping) or not results:
        raise TypeError(
            "compare_models needs a non-empty mapping of model name -> fitted results, e.g. "
            "{'model1': fit1, 'model2': fit2}"
        )
    bad = [n for n, r in results.items() if not isinstance(r, ModelResults)]
    if bad:
        raise TypeError(
            f"compare_models: {bad} are not famtrial results (got {', '.join(type(results[n]).__name__ for n in bad)})"
        )


def _check_layout(
    title: object, digits: object, alpha: object, n_parents: object, leading_zero: object, unit: object
) -> None:
    """Raise unless the title, digits, alpha, n_parents, leading_zero and unit of a table are valid."""
    if not isinstance(title, str):
        raise TypeError(f"title={title!r} must be a string")
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)) or not 0 <= digits <= 10:
        raise ValueError(f"digits={digits!r} must be a whole number from 0 to 10")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be a number strictly between 0 and 1")
    if n_parents is not None and (
        isinstance(n_parents, bool) or not isinstance(n_parents, (int, np.integer)) or n_parents < 0
    ):
        raise TypeError(f"n_parents={n_parents!r} must be a whole number >= 0 or None")
    check_bool(leading_zero, "leading_zero")
    if (
        isinstance(unit, str)
        or not isinstance(unit, Sequence)
        or len(unit) != 2
        or not all(isinstance(u, str) for u in unit)
    ):
        raise TypeError(f"unit={unit!r} must be two strings: (singular, plural), e.g. ('parent', 'parents')")


def _ordered_terms(results: Mapping[str, ModelResults], first: Sequence[str]) -> list[str]:
    """Every model's terms in order of appearance, the ``first`` ones moved to the top (stable)."""
    terms: list[str] = []
    for res in results.values():
        terms += [t for t in res.params.index if t not in terms]
    terms.sort(key=lambda t: t not in first)  # treatment rows first (stable)
    return terms


def _model_columns(
    results: Mapping[str, ModelResults], terms: list[str], alpha: float, level: str, digits: int, leading_zero: bool
) -> tuple[dict[tuple[str, str], pd.Series], dict[tuple[str, str], list[str]]]:
    """Per model, the numeric columns (OR, SE, CI, p) and the printed ones (OR with stars, SE, CI)."""
    numeric, shown = {}, {}

    def fmt(value: float) -> str:
        return _fmt(value, digits, leading_zero)

    for name, res in results.items():
        odds = res.to_frame(alpha).reindex(terms)
        for field, src in (
            ("or", "or"),
            ("se", "or_se"),
            ("ci_low", "or_ci_low"),
            ("ci_high", "or_ci_high"),
            ("p", "p"),
        ):
            numeric[(name, field)] = odds[src]
        omitted = dict(res.omitted)
        shown[(name, "OR")] = [
            "(omitted)" if t in omitted and pd.isna(o) else ("" if pd.isna(o) else fmt(o) + stars(p))
            for t, o, p in zip(terms, odds["or"], odds["p"])
        ]
        shown[(name, "Robust SE" if res.cov_type != "nonrobust" else "SE")] = [fmt(v) for v in odds["or_se"]]
        shown[(name, level)] = [
            "" if pd.isna(lo) else f"({fmt(lo)}, {fmt(hi)})" for lo, hi in zip(odds["or_ci_low"], odds["or_ci_high"])
        ]
    return numeric, shown


def _fit_rows(
    results: Mapping[str, ModelResults],
    n_parents: int | None,
    digits: int,
    leading_zero: bool,
    unit: tuple[str, str],
) -> dict[str, dict[tuple[str, str], str]]:
    """The printed rows under the terms: pseudo R2, the groups used and (if given) the number of parents."""
    groups = unit[1].capitalize() + " with outcome change"
    extra = {
        "Pseudo R2": {(n, "OR"): _fmt(r.prsquared, digits, leading_zero) for n, r in results.items()},
        groups: {(n, "OR"): f"{getattr(r, 'n_groups', r.nobs):,}" for n, r in results.items()},
    }
    if n_parents is not None:
        extra[f"n {unit[1]}"] = {(n, "OR"): f"{n_parents:,}" for n in results}
    return extra


def _omitted_note(results: Mapping[str, ModelResults], labels: Mapping[str, str]) -> str:
    """The omitted terms with their reasons, per model (Stata's "(omitted)"); empty when none."""
    parts = [
        f"{labels.get(term, term)} in {name} ({reason})"
        for name, res in results.items()
        for term, reason in res.omitted
        if term not in res.params.index
    ]
    return f" Omitted: {'; '.join(parts)}." if parts else ""


def _caution_note(results: Mapping[str, ModelResults], few_clusters: int, clusters: str) -> str:
    """The few-cluster caution for the table's clustered models with the fewest clusters (empty when none is few)."""
    clustered = [r for r in results.values() if r.cov_type == "cluster" and r.n_clusters is not None]
    if not clustered:
        return ""
    fewest = min(clustered, key=lambda r: r.n_clusters or 0)
    caution = few_cluster_caution(fewest.n_clusters, few_clusters, fewest.covariance.df, clusters)
    return f" {caution}" if caution else ""


def _compare_notes(
    results: Mapping[str, ModelResults], cluster_names: Mapping[str, str], unit: tuple[str, str], level: str
) -> str:
    """The table's note: the estimators, the covariance each model used, the time adjustment, the stars."""
    estimators = sorted({r.model_name for r in results.values()})
    group = f", group = {unit[0]}" if any(isinstance(r, ConditionalLogitResults) for r in results.values()) else ""
    time = _time_note(results)
    return (
        f"{'; '.join(estimators)}{group}. Odds ratios with {_se_note(results, cluster_names)} and {level}"
        + (f"; {time}" if time else "")
        + ". * p < .05, ** p < .01, *** p < .001."
    )


def compare_models(
    results: Mapping[str, ModelResults],
    *,
    title: str = "",
    labels: Mapping[str, str] | None = None,
    hide: Sequence[str] = _HIDDEN,
    n_parents: int | None = None,
    digits: int = 2,
    alpha: float = 0.05,
    leading_zero: bool = True,
    first: Sequence[str] = (),
    unit: tuple[str, str] = ("parent", "parents"),
    cluster_names: Mapping[str, str] | None = None,
    column_labels: Mapping[str, str] | None = None,
    few_clusters: int = 10,
    clusters: str = "clusters",
) -> Table:
    """Lay fitted models side by side: OR (stars), SE of the OR, CI; pseudo R2 and groups.

    ``results`` may mix any famtrial results (logit and conditional logit in one table); terms
    absent from a model are blank. ``display`` has a two-level column index: the model name, then
    ``OR`` / ``SE`` (``Robust SE`` for a sandwich covariance) / the CI, and every export renders
    both levels. ``frame`` holds, per model, OR, SE, CI bounds, p for every term (columns ``model.field``),
    and the pseudo R2 and number of groups used. Terms starting with a ``hide`` prefix (the time
    trend) and month effects stay in ``frame`` but not in ``display``. ``first`` lists terms shown
    first (the treatment terms). ``labels`` maps terms to row labels, ``cluster_names`` cluster
    columns to the words the notes use (``{"kontor": "office"}``). The notes are derived from the
    results: the estimator, the covariance (and cluster variable) each model used, the time
    adjustment found among the terms. Terms a model omitted (no within-group variation, collinear
    with earlier regressors) are shown as ``(omitted)`` in its OR column, hidden terms (the trend)
    included, and the note gives each one's reason (Stata's ``(omitted)`` rows; R's NA).
    ``column_labels`` maps model names to column headers (the plan's ``label``); ``frame`` keeps
    the names. When the clustered models' fewest clusters G is below ``few_clusters`` the note adds a
    few-cluster caution naming the reference distribution (``clusters``: the clusters' plural noun).
    """
    _check_results(results)
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(f"labels must be a mapping term -> row label, not {type(labels).__name__}")
    hide, first = tuple(check_names(hide, "hide")), tuple(check_names(first, "first"))
    _check_layout(title, digits, alpha, n_parents, leading_zero, unit)
    if isinstance(few_clusters, bool) or not isinstance(few_clusters, (int, np.integer)) or few_clusters < 2:
        raise ValueError(f"few_clusters={few_clusters!r} must be a whole number >= 2")
    labels = {"trend": "Linear trend", **dict(labels or {})}
    terms = _ordered_terms(results, first)
    omitted = [t for r in results.values() for t, _ in r.omitted if t not in r.params.index]
    terms += [t for t in dict.fromkeys(omitted) if t not in terms]
    level = f"{100 * (1 - alpha):g}% CI"
    numeric, shown = _model_columns(results, terms, alpha, level, digits, leading_zero)
    frame = pd.DataFrame(numeric, index=terms)
    display = pd.DataFrame(shown, index=terms)
    time_terms = {t for r in results.values() for t in _time_terms(r)}
    keep = [t for t in terms if t in omitted or (not any(t.startswith(h) for h in hide) and t not in time_terms)]
    display = display.loc[keep].rename(index=labels)
    extra = _fit_rows(results, n_parents, digits, leading_zero, unit)
    display = pd.concat([display, pd.DataFrame.from_dict(extra, orient="index")]).fillna("")
    display = display[list(shown)]  # the models' order, OR / SE / CI within each
    headers = dict(column_labels or {})
    display.columns = pd.MultiIndex.from_tuples([(headers.get(m, m), f) for m, f in shown])
    for name, res in results.items():
        frame.loc["pseudo_r2", (name, "or")] = res.prsquared
        frame.loc["n_groups", (name, "or")] = getattr(res, "n_groups", res.nobs)
    frame.columns = [f"{model}.{field}" for model, field in frame.columns]
    named = {headers.get(n, n): r for n, r in results.items()}  # the notes name models as the columns do
    notes = (
        _compare_notes(named, cluster_names or {}, unit, level)
        + _omitted_note(named, labels)
        + _caution_note(results, few_clusters, clusters)
    )
    return Table(frame=frame, display=display, title=title, notes=notes)


def model_tables(
    results: Mapping[str, ConditionalLogitResults], plan: Plan, *, n_parents: int | None = None
) -> dict[str, Table]:
    """The plan's model tables (e.g. Tables 5 and 6): each table's models side by side, labelled from the plan."""
    if not isinstance(results, Mapping):
        raise TypeError(
            f"results must be a mapping model name -> fitted results (from fe_models), not {type(results).__name__}"
        )
    if not isinstance(plan, Plan):
        raise TypeError(
            f"plan must be a famtrial Plan (panel.plan or famtrial.load_plan(...)), not {type(plan).__name__}"
        )
    unknown = [name for name in results if name not in {m.name for m in plan.models}]
    if unknown:
        raise PlanError(
            f"results: {unknown} are not models of the plan; its models are {[m.name for m in plan.models]}"
        )
    out = {}
    for table in plan.model_tables:
        members = {m.name: results[m.name] for m in plan.models_in(table) if m.name in results}
        if members:
            out[table] = compare_models(
                members,
                title=plan.table_title(table),
                labels=plan.labels,
                n_parents=n_parents,
                digits=plan.digits,
                leading_zero=plan.leading_zero,
                first=plan.treatment_terms,
                unit=(plan.unit("parent", 1), plan.unit("parent")),
                cluster_names={getattr(plan, r): plan.unit(r, 1) for r in ("parent", "family", "office")},
                column_labels={m.name: m.label for m in plan.models if m.label},
                few_clusters=plan.few_clusters,
                clusters=plan.unit("office"),
            )
    return out


def fe_numbers(results: Mapping[str, ConditionalLogitResults], plan: Plan) -> dict[str, float]:
    """Reproduced numbers for ``famtrial verify``: ``<table>.<model>.<term>.or|se|ci_low|ci_high`` and ``pseudo_r2``.

    Terms are named by their plan keys, so a renamed data set gives the same keys.
    """
    out: dict[str, float] = {}
    for name, res in results.items():
        table = plan.model(name).table
        frame = res.to_frame()
        for term, row in frame.iterrows():
            key = plan.key_of(term)
            for field, src in (("or", "or"), ("se", "or_se"), ("ci_low", "or_ci_low"), ("ci_high", "or_ci_high")):
                out[f"{table}.{name}.{key}.{field}"] = float(row[src])
        out[f"{table}.{name}.pseudo_r2"] = float(res.prsquared)
    return out


def lpm_table(
    clogit: Mapping[str, ModelResults],
    lpms: Mapping[str, LPMResults],
    *,
    terms: Sequence[str],
    title: str = "Conditional logit and linear probability model",
    alpha: float = 0.05,
) -> Table:
    """Treatment effects side by side: clogit OR (95% CI) and LPM percentage points (95% CI), per model.

    ``terms``: the treatment terms to show (e.g. ``panel.plan.treatment_terms``).
    """
    rows, shown = [], []
    for name, fit in clogit.items():
        lin = lpms.get(name)
        ci = fit.conf_int(alpha)
        lin_frame = lin.to_frame(alpha) if lin is not None else None
        for term in [t for t in terms if t in fit.params.index]:
            row: dict[str, Any] = {
                "model": name,
                "term": term,
                "or": float(np.exp(fit.params[term])),
                "or_ci_low": float(np.exp(ci.loc[term, "lower"])),
                "or_ci_high": float(np.exp(ci.loc[term, "upper"])),
                "p_clogit": float(fit.pvalues[term]),
            }
            if lin_frame is not None and term in lin_frame.index:
                lr = lin_frame.loc[term]
                row.update(
                    pp=float(lr["coef_pp"]),
                    pp_ci_low=float(lr["ci_low_pp"]),
                    pp_ci_high=float(lr["ci_high_pp"]),
                    p_lpm=float(lr["p"]),
                )
            rows.append(row)
            shown.append(
                {
                    "OR (clogit)": f"{row['or']:.2f}{stars(row['p_clogit'])}",
                    f"{100 * (1 - alpha):g}% CI": f"({row['or_ci_low']:.2f}, {row['or_ci_high']:.2f})",
                    "pp (LPM)": f"{row['pp']:.2f}{stars(row['p_lpm'])}" if "pp" in row else "",
                    f"{100 * (1 - alpha):g}% CI (pp)": f"({row['pp_ci_low']:.2f}, {row['pp_ci_high']:.2f})"
                    if "pp" in row
                    else "",
                }
            )
    frame = pd.DataFrame(rows).set_index(["model", "term"])
    display = pd.DataFrame(shown, index=[f"{m}: {t}" for m, t in frame.index])
    notes = (
        "Conditional logit: odds ratio, parent effects conditioned out, linear trend. LPM: OLS with parent "
        "and month fixed effects, effect in percentage points. Both cluster-robust by office (G/(G-1)). "
        "* p < .05, ** p < .01, *** p < .001."
    )
    return Table(frame=frame, display=display, title=title, notes=notes)
