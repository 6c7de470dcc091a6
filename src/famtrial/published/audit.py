"""Audit of the paper itself: recompute what its printed inputs determine and list contradictions.

In the spirit of statcheck and GRIM, :func:`audit_paper` takes only printed numbers (the spec,
``data/published/trial.toml``) and recomputes

- Table 2: column sums against the sample counts, the office exclusion rule (fewer than one third of
  an office's listed units in ordinary follow-up) applied to the printed parent counts, and the
  family arithmetic of the excluded offices;
- Table 3: totals (treated + control), percentages from counts (and whether any count gives the printed
  percentage), Pearson chi-square without continuity correction and its p from the counts, p from the
  printed chi-square, the pooled two-sample t from the printed means/SDs/ns (Stata's sign,
  mean(control) - mean(treated)) with the range of t over the rounding of the means and SDs, p from
  the printed t, and the total mean/SD implied by the arms;
- Table 4: descriptive columns against Table 3, correlations with the experimental condition implied
  by Table 3 (phi = sign * sqrt(chi2 / n) for binary rows, r = t / sqrt(t^2 + n - 2) for continuous
  rows), and stars against the p of each printed r at n = 2537;
- Tables 5-6: the 95% CI implied by OR and robust SE, ``exp(log OR +/- 1.96 SE / OR)`` (SE of the log
  odds by the delta method), over the rounding of OR and SE, and stars against the p implied by
  OR/SE and against whether the printed CI excludes 1;
- the monthly facts: each printed OR against the geometric midpoint of its CI, significance against
  the CI, and the 2016-10 (baseline) month against Table 3's baseline differences.

Each check reads ``consistent``: ``yes`` (the face-value recomputation, printed the paper's way, gives
the printed number), ``doubtful`` (it does not, but inputs within their printed rounding can, or only
under an assumption the paper does not state) or ``no`` (no inputs within their printed rounding give it). Statistics (chi-square, t, p, r) count as matching
when rounded or truncated: the paper truncates some (chi-square 5.7968 printed 5.796).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from famtrial.published.verify import Spec, _as_spec
from famtrial.table import Table, stars

__all__ = ["AuditReport", "audit_paper", "ci_from_or_se", "pearson_chi2", "pooled_t", "update_doc"]

Z95 = stats.norm.ppf(0.975)
BINARY = ("female", "married", "immigrant", "reduced_work_capacity", "activation", "employed")
CONTINUOUS = ("year_of_birth", "n_children")
TABLE4_ORDER = (
    "experimental",
    "female",
    "year_of_birth",
    "married",
    "n_children",
    "immigrant",
    "reduced_work_capacity",
    "activation",
    "employed",
)
DOC_BEGIN, DOC_END = "<!-- famtrial-audit:begin -->", "<!-- famtrial-audit:end -->"


def pearson_chi2(k_treated: float, n_treated: float, k_control: float, n_control: float) -> tuple[float, float]:
    """Pearson chi-square (1 df, no continuity correction) of a 2x2 table and its p.

    ``chi2 = N (a d - b c)^2 / (r1 r2 c1 c2)`` with a = k_treated, b = n_treated - a, c = k_control,
    d = n_control - c. Stata: ``tabulate x arm, chi2``; R: ``chisq.test(tab, correct = FALSE)``.
    """
    a, b, c, d = k_treated, n_treated - k_treated, k_control, n_control - k_control
    n = a + b + c + d
    chi2 = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    return chi2, float(stats.chi2.sf(chi2, 1))


def pooled_t(
    mean_treated: float, sd_treated: float, n_treated: int, mean_control: float, sd_control: float, n_control: int
) -> float:
    """Pooled-variance two-sample t with Stata's sign, ``(mean_control - mean_treated) / se``.

    ``se = s_p sqrt(1/n_t + 1/n_c)``, ``s_p^2 = ((n_t - 1) s_t^2 + (n_c - 1) s_c^2) / (n_t + n_c - 2)``.
    Stata: ``ttest x, by(arm)`` (group 0 minus group 1); R: ``t.test(x ~ arm, var.equal = TRUE)``
    has the same sign when control is the first level.
    """
    sp2 = ((n_treated - 1) * sd_treated**2 + (n_control - 1) * sd_control**2) / (n_treated + n_control - 2)
    return (mean_control - mean_treated) / math.sqrt(sp2 * (1 / n_treated + 1 / n_control))


def ci_from_or_se(odds_ratio: float, se: float, z: float = Z95) -> tuple[float, float]:
    """Wald CI of an odds ratio from the OR and its (delta-method) SE: ``exp(log OR -/+ z SE / OR)``.

    Stata's ``clogit, or`` reports ``SE(OR) = OR * SE(b)`` and the CI ``exp(b -/+ z SE(b))``.
    """
    se_log = se / odds_ratio
    return odds_ratio * math.exp(-z * se_log), odds_ratio * math.exp(z * se_log)


# --- printed-precision helpers ------------------------------------------------------------------------


def _unit(printed: str) -> float:
    return 10.0 ** -(len(printed.split(".")[1]) if "." in printed else 0)


def _interval(printed: str, truncation: bool) -> tuple[float, float]:
    """Values that print as ``printed`` when rounded (or, if ``truncation``, also when truncated to zero)."""
    value, unit = float(printed), _unit(printed)
    lo, hi = value - unit / 2, value + unit / 2
    if truncation:
        negative = printed.strip().startswith("-")
        lo, hi = (min(lo, value - unit), hi) if negative else (lo, max(hi, value + unit))
    return lo - 1e-9, hi + 1e-9


def _prints_as(x: float, printed: str, truncation: bool = False) -> bool:
    lo, hi = _interval(printed, truncation)
    return lo <= x <= hi


def _fmt(x: float, printed: str, extra: int = 2) -> str:
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return f"{x:.{decimals + extra}f}"


def _verdict(face_ok: bool, reachable: bool) -> str:
    return "yes" if face_ok else ("doubtful" if reachable else "no")


class _Checks:
    """Collects audit rows."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.rows: list[dict] = []

    def p(self, key: str) -> str:
        return self.spec[key].printed

    def v(self, key: str) -> float:
        return float(self.spec[key].value)

    def add(
        self, item: str, check: str, printed: str, recomputed: str, difference: float, consistent: str, explanation: str
    ) -> None:
        self.rows.append(
            {
                "item": item,
                "table": item.split(".")[0],
                "check": check,
                "printed": printed,
                "recomputed": recomputed,
                "difference": difference,
                "consistent": consistent,
                "explanation": explanation,
            }
        )

    def exact(
        self, item: str, check: str, printed_key: str, value: float, explanation_ok: str, explanation_bad: str
    ) -> None:
        printed = self.v(printed_key)
        same = value == printed
        self.add(
            item,
            check,
            self.p(printed_key),
            f"{value:g}",
            value - printed,
            "yes" if same else "no",
            explanation_ok if same else explanation_bad,
        )


# --- Table 2 and the sample -----------------------------------------------------------------------------


def _table2_frame(c: _Checks) -> pd.DataFrame:
    """Table 2 as printed: coordinated and ordinary parents and the included flag, one row per office."""
    offices = sorted({int(k.split(".")[1].split("_")[1]) for k in c.spec.numbers if k.startswith("table2.office_")})
    return pd.DataFrame(
        {
            "coord": [c.v(f"table2.office_{o}.coordinated") for o in offices],
            "ord": [c.v(f"table2.office_{o}.ordinary") for o in offices],
            "included": [c.v(f"table2.office_{o}.included") == 1 for o in offices],
        },
        index=offices,
    )


def _table2_sums(c: _Checks, t2: pd.DataFrame) -> None:
    """Table 2's column sums and office counts against the sample and design counts."""
    inc, exc = t2[t2["included"]], t2[~t2["included"]]
    for item, check, key, value in (
        (
            "table2.sum.included_coordinated",
            "sum of included offices' coordinated parents",
            "sample.parents_treated",
            inc["coord"].sum(),
        ),
        (
            "table2.sum.included_ordinary",
            "sum of included offices' ordinary parents",
            "sample.parents_control",
            inc["ord"].sum(),
        ),
        (
            "table2.sum.excluded",
            "sum of excluded offices' parents",
            "sample.parents_excluded",
            (exc["coord"] + exc["ord"]).sum(),
        ),
        (
            "table2.sum.all",
            "sum of all offices' parents",
            "design.parents_all_offices",
            (t2["coord"] + t2["ord"]).sum(),
        ),
    ):
        c.exact(item, check, key, value, "Table 2 adds up", "Table 2 does not add up")
    c.exact(
        "table2.n_included_offices",
        "offices listed as included",
        "sample.offices_included",
        len(inc),
        "as printed",
        "count differs",
    )
    c.exact(
        "table2.n_excluded_offices",
        "offices listed as excluded (Methods: 15 of 29)",
        "text.offices_excluded",
        len(exc),
        "as printed",
        "count differs",
    )
    c.exact(
        "design.families",
        "offered + ordinary families",
        "design.families_listed",
        c.v("design.families_offered") + c.v("design.families_ordinary"),
        "as printed",
        "does not add up",
    )


def _table2_rule(c: _Checks, t2: pd.DataFrame) -> None:
    """The exclusion rule (ordinary share of parents >= 1/3) against Table 2's grouping."""
    share = t2["ord"] / (t2["coord"] + t2["ord"])
    rule = share >= 1 / 3
    agree = rule == t2["included"]
    for office in t2.index[~agree]:
        r = t2.loc[office]
        c.add(
            f"table2.office_{office}.included",
            "exclusion rule on parents: ordinary share >= 1/3",
            "included" if r["included"] else "excluded",
            "excluded" if r["included"] else "included",
            share[office] - 1 / 3,
            "no",
            f"{r['ord']:.0f}/{r['coord'] + r['ord']:.0f} = {share[office]:.3f} of the office's parents are in "
            f"ordinary follow-up, {'below' if share[office] < 1 / 3 else 'above'} one third: the rule as the "
            "Methods state it (parents) contradicts Table 2; the Analysis Plan states it on families",
        )
    c.add(
        "table2.exclusion_rule",
        "exclusion rule on parents, other offices",
        f"{int(agree.sum())} offices",
        f"{int(agree.sum())} agree",
        0.0,
        "yes",
        f"the parent-level rule reproduces Table 2's grouping for {int(agree.sum())} of {len(t2)} offices",
    )


def _table2_families(c: _Checks, t2: pd.DataFrame) -> None:
    """Families against parents (one or two per family) in each arm of the included and excluded offices."""
    inc, exc = t2[t2["included"]], t2[~t2["included"]]
    fam_offered, fam_ordinary = c.v("design.families_offered"), c.v("design.families_ordinary")
    fam_t, fam_c = c.v("sample.families_treated"), c.v("sample.families_control")
    cells = {
        "included_offered": (fam_t, inc["coord"].sum(), "sample.families_treated"),
        "included_ordinary": (fam_c, inc["ord"].sum(), "sample.families_control"),
        "excluded_offered": (fam_offered - fam_t, exc["coord"].sum(), "design.families_offered"),
        "excluded_ordinary": (fam_ordinary - fam_c, exc["ord"].sum(), "design.families_ordinary"),
    }
    for name, (families, parents, _key) in cells.items():
        ok = families <= parents <= 2 * families
        derived = name.startswith("excluded")
        c.add(
            f"families.{name}",
            "families vs parents (1 or 2 parents per family)",
            f"{families:.0f} families" + (" (derived)" if derived else ""),
            f"{parents:.0f} parents",
            parents - families,
            "yes" if ok else "no",
            (
                f"{parents:.0f} parents fit {families:.0f} families"
                if ok
                else f"{fam_ordinary:.0f} - {fam_c:.0f} = {families:.0f} ordinary families would sit in the excluded "
                f"offices (of {c.v('design.families_listed'):.0f} - {fam_t + fam_c:.0f} = "
                f"{c.v('design.families_listed') - fam_t - fam_c:.0f} families there), but Table 2 shows only "
                f"{parents:.0f} ordinary parents in those offices"
            )
            if not ok or derived
            else f"{parents:.0f} parents fit {families:.0f} families",
        )


def _table2(c: _Checks) -> None:
    """Table 2 and the sample: sums, the exclusion rule, the family arithmetic."""
    t2 = _table2_frame(c)
    _table2_sums(c, t2)
    _table2_rule(c, t2)
    _table2_families(c, t2)


# --- Table 3 --------------------------------------------------------------------------------------------


def _grim(n: int, printed: str) -> list[int]:
    """Counts out of ``n`` whose percentage rounds to ``printed`` (GRIM)."""
    lo, hi = _interval(printed, truncation=False)
    return [k for k in range(int(lo * n / 100) - 1, int(hi * n / 100) + 2) if lo <= 100 * k / n <= hi]


def _table3_percentages(c: _Checks, key: str, k: dict[str, int], n: dict[str, int]) -> None:
    """Each printed percentage against its count, with the count GRIM says it needs when they differ."""
    for arm in ("total", "treated", "control"):
        pct, printed = 100 * k[arm] / n[arm], c.p(f"{key}.pct_{arm}")
        ok = _prints_as(pct, printed)
        counts = _grim(n[arm], printed)
        why = (
            f"{k[arm]}/{n[arm]} = {pct:.3f}%"
            if ok
            else f"{k[arm]}/{n[arm]} = {pct:.3f}%; "
            + (
                f"the printed {printed}% needs {counts[0]} of {n[arm]}"
                if counts
                else f"no count out of {n[arm]} gives {printed}%"
            )
        )
        c.add(
            f"{key}.pct_{arm}",
            "percentage from the count",
            printed,
            f"{pct:.2f}",
            pct - float(printed),
            "yes" if ok else "no",
            why,
        )


def _table3_chi2(c: _Checks, key: str, k: dict[str, int], n: dict[str, int]) -> None:
    """The Pearson chi-square from the counts, its p, and the p of the printed chi-square."""
    chi2, p = pearson_chi2(k["treated"], n["treated"], k["control"], n["control"])
    pchi, pp = c.p(f"{key}.chi2"), c.p(f"{key}.p")
    ok = _prints_as(chi2, pchi, truncation=True)
    why = f"Pearson chi2 of {k['treated']}/{n['treated']} vs {k['control']}/{n['control']} = {chi2:.4f}"
    if ok and not _prints_as(chi2, pchi):
        why += " (printed truncated)"
    if not ok:
        if pchi == pp:
            why += f"; the printed chi2 equals the printed p ({pp}): a transcription slip"
        share_t, share_c = c.v(f"{key}.pct_treated") / 100, c.v(f"{key}.pct_control") / 100
        from_pct, _ = pearson_chi2(share_t * n["treated"], n["treated"], share_c * n["control"], n["control"])
        if not all(_prints_as(100 * k[a] / n[a], c.p(f"{key}.pct_{a}")) for a in ("treated", "control")):
            why += f"; the printed percentages give {from_pct:.3f}, the printed counts do not"
    c.add(
        f"{key}.chi2",
        "Pearson chi2 from the counts",
        pchi,
        f"{chi2:.3f}",
        chi2 - float(pchi),
        "yes" if ok else "no",
        why,
    )
    ok = _prints_as(p, pp, truncation=True)
    c.add(
        f"{key}.p",
        "p of the chi2 from the counts",
        pp,
        f"{p:.4f}",
        p - float(pp),
        "yes" if ok else "no",
        f"P(chi2_1 > {chi2:.3f}) = {p:.4f}",
    )
    p_printed = float(stats.chi2.sf(float(pchi), 1))
    ok = _prints_as(p_printed, pp, truncation=True)
    c.add(
        f"{key}.p_of_printed_chi2",
        "p of the printed chi2",
        pp,
        f"{p_printed:.4f}",
        p_printed - float(pp),
        "yes" if ok else "no",
        f"P(chi2_1 > {pchi}) = {p_printed:.4f}" + ("" if ok else ": the printed chi2 and p do not belong together"),
    )


def _table3_binary(c: _Checks, var: str, n: dict[str, int]) -> None:
    """One binary row of Table 3: the arms' counts, the percentages, the chi-square and its p."""
    key = f"table3.{var}"
    k = {arm: int(c.v(f"{key}.n_{arm}")) for arm in ("total", "treated", "control")}
    c.exact(
        f"{key}.n_total",
        "n_treated + n_control",
        f"{key}.n_total",
        k["treated"] + k["control"],
        "arms add up",
        "arms do not add up",
    )
    _table3_percentages(c, key, k, n)
    _table3_chi2(c, key, k, n)


def _t_box(c: _Checks, key: str, n: dict[str, int]) -> tuple[float, float]:
    """Range of the pooled t over the rounding of the printed means and SDs (t is monotone in each)."""
    ends = []
    for field in ("mean_treated", "sd_treated", "mean_control", "sd_control"):
        lo, hi = _interval(c.p(f"{key}.{field}"), truncation=False)
        ends.append((lo, hi))
    ts = [pooled_t(mt, st, n["treated"], mc, sc, n["control"]) for mt, st, mc, sc in itertools.product(*ends)]
    return min(ts), max(ts)


_ARM_FIELDS = ("mean_treated", "sd_treated", "mean_control", "sd_control")


def _table3_total_mean(c: _Checks, key: str, n: dict[str, int]) -> None:
    """The printed total mean against the one the arms' means imply (and their rounding allows)."""
    mt, mc = c.v(f"{key}.mean_treated"), c.v(f"{key}.mean_control")
    nt, nc, N = n["treated"], n["control"], n["total"]
    mean_total = (nt * mt + nc * mc) / N
    corners = list(itertools.product(*(_interval(c.p(f"{key}.{f}"), False) for f in ("mean_treated", "mean_control"))))
    means = [(nt * a + nc * b) / N for a, b in corners]
    printed = c.p(f"{key}.mean_total")
    lo, hi = _interval(printed, False)
    c.add(
        f"{key}.mean_total",
        "total mean from the arms' means",
        printed,
        f"{mean_total:.4f}",
        mean_total - float(printed),
        _verdict(_prints_as(mean_total, printed), min(means) <= hi and max(means) >= lo),
        f"({nt} x {mt} + {nc} x {mc}) / {N} = {mean_total:.4f}; arms' means within rounding give "
        f"{min(means):.4f} to {max(means):.4f}",
    )


def _table3_total_sd(c: _Checks, key: str, n: dict[str, int]) -> None:
    """The printed total SD against the one the arms' means and SDs imply (and their rounding allows)."""
    nt, nc, N = n["treated"], n["control"], n["total"]

    def sd_total(a, sa, b, sb):
        return math.sqrt(((nt - 1) * sa**2 + (nc - 1) * sb**2 + nt * nc / N * (a - b) ** 2) / (N - 1))

    sd = sd_total(*(c.v(f"{key}.{f}") for f in _ARM_FIELDS))
    boxes = [_interval(c.p(f"{key}.{f}"), False) for f in _ARM_FIELDS]
    sds = [sd_total(*x) for x in itertools.product(*boxes)]
    printed = c.p(f"{key}.sd_total")
    lo, hi = _interval(printed, False)
    c.add(
        f"{key}.sd_total",
        "total SD from the arms' means and SDs",
        printed,
        f"{sd:.4f}",
        sd - float(printed),
        _verdict(_prints_as(sd, printed), min(sds) <= hi and max(sds) >= lo),
        f"within rounding of the arms' means and SDs: {min(sds):.4f} to {max(sds):.4f}",
    )


def _table3_t(c: _Checks, key: str, n: dict[str, int]) -> tuple[float, float, float]:
    """The pooled t from the printed means/SDs/ns against the printed t; returns t and its range over rounding."""
    mt, st, mc, sc = (c.v(f"{key}.{f}") for f in _ARM_FIELDS)
    nt, nc = n["treated"], n["control"]
    t = pooled_t(mt, st, nt, mc, sc, nc)
    t_lo, t_hi = _t_box(c, key, n)
    pt = c.p(f"{key}.t")
    plo, phi = _interval(pt, truncation=True)
    face, reachable = _prints_as(t, pt, truncation=True), t_lo <= phi and t_hi >= plo
    why = (
        f"({mc} - {mt}) / se = {t:.3f} from the printed means/SDs (pooled, n = {nt}/{nc}); means and SDs "
        f"within their rounding give t from {t_lo:.3f} to {t_hi:.3f}"
    )
    if not face and reachable:
        # the mean difference the printed t needs, at the printed SDs
        se = (mc - mt) / t
        need = float(pt) * se
        why += (
            f"; the printed t needs a mean difference of {need:+.4f} (printed means differ by "
            f"{mc - mt:+.2f}; rounding allows up to {mc - mt - 0.01:+.2f} / {mc - mt + 0.01:+.2f}): "
            "reachable only near the edge of the means' rounding"
        )
    c.add(
        f"{key}.t",
        "pooled t from the printed means/SDs/ns",
        pt,
        f"{t:.3f}",
        t - float(pt),
        _verdict(face, reachable),
        why,
    )
    return t, t_lo, t_hi


def _table3_t_p(c: _Checks, key: str, N: int, t: float, t_lo: float, t_hi: float) -> None:
    """The printed p against the p of the recomputed t (over the means' rounding) and of the printed t."""
    pt = c.p(f"{key}.t")
    p_face = 2 * stats.t.sf(abs(t), N - 2)
    pp = c.p(f"{key}.p")
    p_range = sorted(2 * stats.t.sf(abs(x), N - 2) for x in (t_lo, t_hi) if x * t > 0)
    c.add(
        f"{key}.p_of_means",
        "p of the t from the printed means/SDs",
        pp,
        f"{p_face:.4f}",
        p_face - float(pp),
        _verdict(
            _prints_as(p_face, pp, True),
            bool(p_range) and p_range[0] <= float(pp) + 0.001 and p_range[-1] >= float(pp) - 0.0005,
        ),
        f"2 P(t_{N - 2} > {abs(t):.3f}) = {p_face:.4f}",
    )
    p_printed = 2 * stats.t.sf(abs(float(pt)), N - 2)
    ok = _prints_as(p_printed, pp, True)
    c.add(
        f"{key}.p_of_printed_t",
        "p of the printed t",
        pp,
        f"{p_printed:.4f}",
        p_printed - float(pp),
        "yes" if ok else "no",
        f"2 P(t_{N - 2} > {abs(float(pt))}) = {p_printed:.4f}",
    )


def _table3_continuous(c: _Checks, var: str, n: dict[str, int]) -> None:
    """One continuous row of Table 3: the total mean and SD, the pooled t and its p."""
    key = f"table3.{var}"
    _table3_total_mean(c, key, n)
    _table3_total_sd(c, key, n)
    t, t_lo, t_hi = _table3_t(c, key, n)
    _table3_t_p(c, key, n["total"], t, t_lo, t_hi)


# --- Table 4 --------------------------------------------------------------------------------------------


def _r_interval(printed: str) -> tuple[float, float]:
    """|r| range of a printed correlation (rounded or truncated toward zero)."""
    lo, hi = _interval(printed, truncation=True)
    if lo <= 0 <= hi:
        return 0.0, max(abs(lo), abs(hi))
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


def _p_of_r(r: float, n: int) -> float:
    if r >= 1:
        return 0.0
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return float(2 * stats.t.sf(t, n - 2))


def _table4_descriptives(c: _Checks, n: dict[str, int]) -> None:
    """Table 4's descriptive columns against Table 3, and the share of parents offered."""
    N = n["total"]
    pairs = {
        "experimental": (("n", "table3.n.treated"),),
        **{v: (("n", f"table3.{v}.n_total"), ("pct", f"table3.{v}.pct_total")) for v in BINARY},
        **{v: (("mean", f"table3.{v}.mean_total"), ("sd", f"table3.{v}.sd_total")) for v in CONTINUOUS},
    }
    for var, fields in pairs.items():
        for field, t3 in fields:
            key = f"table4.{var}.{field}"
            if key not in c.spec:
                continue
            same = c.v(key) == c.v(t3)
            c.add(
                key,
                f"descriptive column vs {t3}",
                c.p(key),
                c.p(t3),
                c.v(key) - c.v(t3),
                "yes" if same else "no",
                "as in Table 3" if same else f"Table 3 prints {c.p(t3)}: a typo in Table 4",
            )
    if "table4.experimental.pct" in c.spec:
        pct, printed = 100 * n["treated"] / N, c.p("table4.experimental.pct")
        ok = _prints_as(pct, printed)
        c.add(
            "table4.experimental.pct",
            "share of parents offered a coordinator",
            printed,
            f"{pct:.2f}",
            pct - float(printed),
            "yes" if ok else "no",
            f"{n['treated']}/{N} = {pct:.3f}%" + ("" if ok else f": rounds to {pct:.0f}; {printed} only by truncation"),
        )


def _implied_r(c: _Checks, var: str, n: dict[str, int]) -> tuple[float, str]:
    """The correlation of ``var`` with the offer implied by Table 3, and how it was derived."""
    N = n["total"]
    if var in BINARY:
        kt, kc = c.v(f"table3.{var}.n_treated"), c.v(f"table3.{var}.n_control")
        chi2, _ = pearson_chi2(kt, n["treated"], kc, n["control"])
        r = math.copysign(math.sqrt(chi2 / N), kt / n["treated"] - kc / n["control"])
        return r, f"phi = sign(p_t - p_c) sqrt(chi2/n) from Table 3's counts = {r:+.4f}"
    mt, st, mc, sc = (c.v(f"table3.{var}.{f}") for f in _ARM_FIELDS)
    t = -pooled_t(mt, st, n["treated"], mc, sc, n["control"])
    r = t / math.sqrt(t * t + N - 2)
    return r, f"r = t / sqrt(t^2 + n - 2) with t = {t:+.3f} (treated - control) from Table 3's means = {r:+.4f}"


def _table4_offer_correlations(c: _Checks, n: dict[str, int]) -> None:
    """Each printed correlation with the experimental condition against the one Table 3 implies."""
    for var in BINARY + CONTINUOUS:
        key = f"table4.{var}.experimental"
        if key not in c.spec:
            continue
        r, how = _implied_r(c, var, n)
        printed = c.p(key)
        ok = _prints_as(r, printed, truncation=True)
        if not ok and _prints_as(-r, printed, truncation=True):
            how += (
                "; the printed value has the opposite sign: the treated arm has the larger mean, so the "
                "correlation with the offer is positive (the sign of Stata's t, control - treated, not of r)"
            )
        c.add(
            key,
            "correlation with the offer implied by Table 3",
            printed,
            f"{r:+.3f}",
            r - float(printed),
            "yes" if ok else "no",
            how + (" (printed truncated)" if ok and not _prints_as(r, printed) else ""),
        )


def _table4_stars(c: _Checks, N: int) -> None:
    """Each printed correlation's stars against the p its rounding allows at ``N``."""
    for row_i, row in enumerate(TABLE4_ORDER):
        for col in TABLE4_ORDER[:row_i]:
            key = f"table4.{row}.{col}"
            if key not in c.spec.numbers:
                continue
            entry = c.spec[key]
            lo, hi = _r_interval(entry.printed)
            p_hi, p_lo = _p_of_r(lo, N), _p_of_r(hi, N)
            reachable = range(len(stars(p_hi)), len(stars(p_lo)) + 1)
            ok = len(entry.stars) in reachable
            c.add(
                f"{key}.stars",
                f"stars vs p of r at n = {N}",
                (entry.printed + entry.stars),
                f"p {p_lo:.2g} to {p_hi:.2g}",
                float("nan"),
                "yes" if ok else "no",
                f"|r| in [{lo:.3f}, {hi:.3f}] gives p from {p_lo:.2g} to {p_hi:.2g}: "
                + (
                    "'" + "', '".join("*" * s for s in reachable) + "'"
                    if ok
                    else f"'{entry.stars or 'no star'}' needs p {'< .001' if len(entry.stars) == 3 else 'in range'}; "
                    f"possible: {', '.join(('*' * s) or 'none' for s in reachable)}"
                ),
            )


def _table4(c: _Checks, n: dict[str, int]) -> None:
    """Table 4: descriptive columns and offer correlations against Table 3, and the stars."""
    _table4_descriptives(c, n)
    _table4_offer_correlations(c, n)
    _table4_stars(c, n["total"])


# --- Tables 5 and 6 -------------------------------------------------------------------------------------


def _or_rows(c: _Checks) -> None:
    grid = np.linspace(-0.5, 0.5, 201)
    for key in [k for k in c.spec.numbers if k.startswith(("table5.", "table6.")) and k.endswith(".or")]:
        base = key[:-3]
        o, s = c.spec[key], c.spec[f"{base}.se"]
        plo, phi = c.p(f"{base}.ci_low"), c.p(f"{base}.ci_high")
        lo, hi = ci_from_or_se(float(o.value), float(s.value))
        face = _prints_as(lo, plo) and _prints_as(hi, phi)
        O, S = np.meshgrid(float(o.value) + grid * _unit(o.printed), float(s.value) + grid * _unit(s.printed))
        L, H = O * np.exp(-Z95 * S / O), O * np.exp(Z95 * S / O)
        a, b = _interval(plo, False), _interval(phi, False)
        hit = (L >= a[0]) & (L <= a[1]) & (H >= b[0]) & (H <= b[1])
        why = (
            f"exp(log {o.printed} -/+ 1.96 x {s.printed}/{o.printed}) = ({lo:.3f}, {hi:.3f}); OR and SE within "
            f"rounding give low {L.min():.3f} to {L.max():.3f}, high {H.min():.3f} to {H.max():.3f}"
        )
        if not hit.any():
            why += "; no OR/SE within rounding gives both printed bounds"
        c.add(
            f"{base}.ci",
            "95% CI from OR and robust SE",
            f"({plo}, {phi})",
            f"({lo:.3f}, {hi:.3f})",
            max(abs(lo - float(plo)), abs(hi - float(phi))),
            _verdict(face, bool(hit.any())),
            why,
        )

        p = 2 * stats.norm.sf(np.abs(np.log(O)) / (S / O))
        reachable = range(len(stars(float(p.max()))), len(stars(float(p.min()))) + 1)
        excludes_one = float(plo) > 1 or float(phi) < 1
        ok = len(o.stars) in reachable and (len(o.stars) > 0) == excludes_one
        p_face = 2 * stats.norm.sf(abs(math.log(float(o.value))) / (float(s.value) / float(o.value)))
        why = (
            f"z = log OR / (SE/OR): p = {p_face:.4f} at the printed OR/SE, {p.min():.4f} to {p.max():.4f} within "
            f"rounding; the printed CI {'excludes' if excludes_one else 'includes'} 1"
        )
        if not ok:
            why += (
                f"; '{o.stars or 'no star'}' is not reachable (possible: "
                f"{', '.join(('*' * k) or 'none' for k in reachable)})"
            )
        c.add(
            f"{base}.stars",
            "stars vs p from OR/SE and vs the CI",
            o.printed + o.stars,
            f"p {p_face:.4f}",
            float("nan"),
            "yes" if ok else "no",
            why,
        )


# --- monthly facts --------------------------------------------------------------------------------------


def _monthly(c: _Checks, n: dict[str, int]) -> None:
    for outcome, t3 in (("activation", "activation"), ("employment", "employed")):
        key = f"monthly.{outcome}.significant_months"
        if key not in c.spec:
            continue
        months = [m for m in str(c.spec[key].value).split(",") if m]
        for month in months:
            base = f"monthly.{outcome}.{month}"
            o, plo, phi = c.p(f"{base}.or"), c.p(f"{base}.ci_low"), c.p(f"{base}.ci_high")
            mid = math.sqrt(float(plo) * float(phi))
            a, b = _interval(plo, False), _interval(phi, False)
            lo_mid, hi_mid = math.sqrt(a[0] * b[0]), math.sqrt(a[1] * b[1])
            olo, ohi = _interval(o, False)
            c.add(
                f"{base}.or",
                "OR vs the geometric midpoint of its CI",
                o,
                f"{mid:.3f}",
                mid - float(o),
                _verdict(_prints_as(mid, o), lo_mid <= ohi and hi_mid >= olo),
                f"sqrt({plo} x {phi}) = {mid:.4f}; CI bounds within rounding give {lo_mid:.4f} to {hi_mid:.4f}",
            )
            sig = float(plo) > 1 or float(phi) < 1
            c.add(
                f"{base}.significant",
                "listed as significant vs the CI",
                "significant",
                "CI excludes 1" if sig else "CI includes 1",
                float("nan"),
                "yes" if sig else "no",
                f"({plo}, {phi})",
            )
        # the baseline month: Table 3 compares the arms at the first post month
        first = str(c.spec["design.implementation"].value) if "design.implementation" in c.spec else "2016-10"
        kt, kc = c.v(f"table3.{t3}.n_treated"), c.v(f"table3.{t3}.n_control")
        odds = (kt / (n["treated"] - kt)) / (kc / (n["control"] - kc))
        se = math.sqrt(1 / kt + 1 / (n["treated"] - kt) + 1 / kc + 1 / (n["control"] - kc))
        lo, hi = odds * math.exp(-Z95 * se), odds * math.exp(Z95 * se)
        p_base = c.p(f"table3.{t3}.p")
        conflict = first not in months and float(p_base) < 0.05
        c.add(
            f"monthly.{outcome}.{first}",
            f"{first} not significant vs Table 3 at {first}",
            "not significant" if first not in months else "significant",
            f"crude OR {odds:.2f} ({lo:.2f}, {hi:.2f})",
            float("nan"),
            "doubtful" if conflict else "yes",
            (
                f"Table 3 shows the arms differing in {t3} at {first} (p = {p_base}; crude OR {odds:.2f}, "
                f"95% CI {lo:.2f} to {hi:.2f}). The monthly model adjusts for the outcome's baseline value, which "
                f"at {first} is the outcome itself (the model is degenerate); a {first} estimate close to 1 and "
                "not significant holds only if that month was fitted differently"
            )
            if conflict
            else f"Table 3's baseline p = {p_base}",
        )


# --- report ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditReport:
    """The audit: one row per check.

    ``table.frame`` has the columns item, table, check, printed, recomputed, difference, consistent,
    explanation. ``findings``: rows with ``consistent == "no"``; ``flagged``: rows that are not ``yes``
    (``no`` and ``doubtful``).
    """

    table: Table

    @property
    def frame(self) -> pd.DataFrame:
        """Every check, one row each (``table.frame``)."""
        return self.table.frame

    @property
    def findings(self) -> pd.DataFrame:
        """The inconsistent checks (``consistent == "no"``)."""
        return self.frame[self.frame["consistent"] == "no"]

    @property
    def flagged(self) -> pd.DataFrame:
        """The checks that are not consistent: ``no`` and ``doubtful``."""
        return self.frame[self.frame["consistent"] != "yes"]

    def summary(self) -> str:
        """One line: how many checks, and how many are consistent, doubtful and inconsistent."""
        counts = self.frame["consistent"].value_counts()
        return (
            f"audit: {len(self.frame)} checks of the paper's printed numbers: {counts.get('yes', 0)} consistent, "
            f"{counts.get('doubtful', 0)} doubtful (only within the rounding of their inputs), "
            f"{counts.get('no', 0)} inconsistent"
        )

    def to_markdown(self, *, flagged_only: bool = True) -> str:
        """Markdown: the summary, the counts per table, and the flagged checks (or all with ``flagged_only=False``)."""
        frame = self.flagged if flagged_only else self.frame
        per = self.frame.groupby("table", sort=False)["consistent"].value_counts().unstack(fill_value=0)
        per = per.reindex(columns=["yes", "doubtful", "no"], fill_value=0)
        counts = Table(frame=per, display=per.astype(str), title="Checks per table")
        view = frame.drop(columns=["table"]).copy()
        view["difference"] = view["difference"].map(lambda x: "" if pd.isna(x) else f"{x:+.4g}")
        flagged = Table(
            frame=frame,
            display=view.astype(str),
            title="Flagged checks" if flagged_only else "All checks",
            notes="consistent: yes = the face-value recomputation gives the printed number; doubtful = "
            "only inputs within their printed rounding (or an unstated assumption) give it; "
            "no = nothing within rounding gives it.",
        )
        return f"{self.summary()}\n\n{counts.to_markdown()}\n{flagged.to_markdown()}"

    def __str__(self) -> str:
        return self.summary() + "\n" + self.flagged.drop(columns=["explanation"]).to_string()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from html import escape

        return f"<p>{escape(self.summary())}</p>" + self.table.to_html()


def audit_paper(spec: Spec | str | Path | None = None) -> AuditReport:
    """Recompute the paper's printed statistics from its printed inputs and list contradictions.

    Parameters
    ----------
    spec : Spec, str, Path or None
        The published numbers (:func:`famtrial.published.verify.load_spec`); None: the trial's shipped spec.

    Returns
    -------
    AuditReport
        ``.table`` (every check), ``.findings`` (inconsistent), ``.flagged`` (inconsistent or doubtful), ``summary()``, ``to_markdown()``.

    Notes
    -----
    Only printed numbers are used, never data. The checks and formulas are listed in the module
    docstring; a statcheck-like audit (R: ``statcheck``) covers only the t/chi2/p triplets.
    """
    spec = _as_spec(spec)
    c = _Checks(spec)
    n = {
        "total": int(c.v("table3.n.total")),
        "treated": int(c.v("table3.n.treated")),
        "control": int(c.v("table3.n.control")),
    }
    c.exact(
        "table3.n.total",
        "n_treated + n_control",
        "table3.n.total",
        n["treated"] + n["control"],
        "arms add up",
        "arms do not add up",
    )
    _table2(c)
    for var in BINARY:
        _table3_binary(c, var, n)
    for var in CONTINUOUS:
        _table3_continuous(c, var, n)
    _table4(c, n)
    _or_rows(c)
    _monthly(c, n)
    frame = pd.DataFrame(c.rows).set_index("item")
    display = frame.copy()
    display["difference"] = display["difference"].map(lambda x: "" if pd.isna(x) else f"{x:+.4g}")
    return AuditReport(
        Table(
            frame=frame,
            display=display.astype(str),
            title="Audit of the printed numbers",
            notes="consistent: yes / doubtful (reachable only within the rounding of the printed "
            "inputs) / no (not reachable).",
        )
    )


def update_doc(path: str | Path, report: AuditReport | None = None) -> Path:
    """Replace the audit between the markers in the Markdown file ``path``.

    The text between ``<!-- famtrial-audit:begin -->`` and ``<!-- famtrial-audit:end -->`` becomes
    ``report.to_markdown()`` (default ``report``: the audit of the shipped spec).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if DOC_BEGIN not in text or DOC_END not in text:
        raise ValueError(f"{path} lacks the markers {DOC_BEGIN} and {DOC_END}")
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    body = (report or audit_paper()).to_markdown()
    path.write_text(f"{head}{DOC_BEGIN}\n{body}\n{DOC_END}{tail}", encoding="utf-8")
    return path
