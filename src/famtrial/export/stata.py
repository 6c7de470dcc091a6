"""The Stata translation of a plan (``famtrial export --to stata``): one self-contained do-file.

The do-file sets the plan's values as locals in its first lines and runs the analysis:

- the sample rule (``egen tag()``, the control share of families or parents per office);
- Table 3's balance (``tabulate x arm, chi2``; ``ttest x, by(arm)``) and Table 4's ``correlate``;
- each fixed-effects model: ``clogit y terms x [trend | i.month], group(parent) vce(cluster office)``
  (Stata's ``clogit`` maximises the exact conditional likelihood; ``vce(cluster)`` multiplies by
  G/(G-1)), and ``boottest`` (SSC; Roodman et al. 2019) for the plan's ``inference.models``;
- each monthly series: ``logit y arm x_baseline [i.office] if month == m, vce(cluster office)``, then
  Holm and Benjamini-Hochberg over the months, computed in the do-file from the sorted p-values.

It writes its numbers in famtrial's spec format (``file write``), keys as in ``reproduced.csv``.
The do-file is checked against a golden file (``tests/export/golden/``); its R twin
(:mod:`famtrial.export.r`) runs the same analysis and is compared with famtrial's numbers in the tests.
"""

from __future__ import annotations

from famtrial.export.recipe import Recipe

__all__ = ["do_file"]


def _q(value: str) -> str:
    """A Stata compound-quoted string."""
    return f'`"{value}"\''


def _codes(var: str, codes: tuple[str, ...]) -> str:
    """``inlist(var, "a", "b")`` on the text codes."""
    return "inlist(" + var + ", " + ", ".join(f'"{c}"' for c in codes) + ")"


def _ym(month: str) -> str:
    """``"2016-10"`` -> ``ym(2016, 10)``."""
    year, mon = month[:4], month[5:7]
    return f"ym({int(year)}, {int(mon)})"


def _header(rec: Recipe, version: str) -> list[str]:
    return [
        f"* famtrial export --to stata: the analysis plan {rec.plan_name!r} as a do-file.",
        f"* Written by famtrial {version} from the plan with canonical hash {rec.plan_hash}.",
        "* Run:  do THIS_FILE [DATA_FILE] [SPEC_FILE]",
        "*   DATA_FILE: the panel (.dta or .csv), default below; SPEC_FILE: where the numbers go, in famtrial's",
        "*   published-number spec format (default stata_spec.toml); compare them with famtrial's numbers:",
        "*   famtrial verify --results RESULTS_DIR --spec SPEC_FILE",
        "* Needs Stata 16 or newer; boottest (ssc install boottest) for the plan's score bootstrap.",
        "* _put KEY EXPRESSION writes one number of the spec at ten decimals (missing values are left out).",
        "version 16",
        "clear all",
        "set more off",
        "args datafile specfile",
        f'if `"`datafile\'"\' == "" local datafile {_q(rec.data)}',
        'if `"`specfile\'"\' == "" local specfile "stata_spec.toml"',
        "",
    ]


def _read(rec: Recipe) -> list[str]:
    lines = [
        "* ---- reading: the panel, its months as Stata months, the arm and variant codes ----",
        'if lower(substr(`"`datafile\'"\', -8, .)) == ".parquet" {',
        '    display as error "Stata cannot read Parquet: save the panel as .dta or .csv and pass that file"',
        "    exit 198",
        "}",
        'if lower(substr(`"`datafile\'"\', -4, .)) == ".dta" use `"`datafile\'"\', clear',
        "else import delimited using `\"`datafile'\"', clear case(preserve) varnames(1)",
        f"capture confirm string variable {rec.month}",
        f"if _rc generate int _m = ym(floor({rec.month} / 100), mod({rec.month}, 100))",
        f"else generate int _m = ym(real(substr({rec.month}, 1, 4)), real(substr({rec.month}, 6, 2)))",
        "assert !missing(_m)",
        "format _m %tm",
    ]
    if rec.first:
        lines.append(f"keep if _m >= {_ym(rec.first)}")
    if rec.last:
        lines.append(f"keep if _m <= {_ym(rec.last)}")
    lines += [
        f"capture confirm string variable {rec.arm}",
        f"if _rc tostring {rec.arm}, generate(_arm_code) force",
        f"else generate _arm_code = {rec.arm}",
        f'generate byte _arm = cond(_arm_code == "{rec.offered}", 1, cond(_arm_code == "{rec.control}", 0, .))',
        "assert !missing(_arm)",
    ]
    if rec.variants and rec.variant:
        lines += [
            f"capture confirm string variable {rec.variant}",
            f"if _rc tostring {rec.variant}, generate(_variant_code) force",
            f"else generate _variant_code = {rec.variant}",
            'generate _variant = "control" if ' + _codes("_variant_code", rec.variant_control),
        ]
        lines += [f'replace _variant = "{name}" if {_codes("_variant_code", codes)}' for name, codes in rec.variants]
        lines.append('assert _variant != ""')
    return lines + [""]


_PROGRAMS = r"""* ---- the spec: one line per number, famtrial's published-number format ----
capture program drop _put
program define _put
    gettoken key expression : 0
    local value = `expression'
    if missing(`value') exit
    local text = strtrim(string(`value', "%24.10f"))
    file write spec `""`key'" = { value = `text', printed = "`text'" }"' _n
end
local z = invnormal(0.975)
file open spec using `"`specfile'"', write replace text
file write spec "# Numbers of the plan's analysis computed in Stata by the do-file famtrial export wrote." _n
file write spec "[meta]" _n `"title = "Stata `c(stata_version)'""' _n `"source = "famtrial export --to stata""' _n _n
file write spec "[tolerances]" _n `""*" = { value = 1e-6, reason = "two implementations: the optimisers stop at different points below 1e-8" }"' _n _n
file write spec "[numbers]" _n
"""


def _sample(rec: Recipe) -> list[str]:
    unit = rec.family if rec.sample_unit == "family" else rec.parent
    rule = "1" if rec.sample_rule == "none" else f"(_u0 / (_u1 + _u0) >= {rec.threshold!r})"
    k = dict(rec.sample_keys)  # the plan's words in the sample's keys
    return [
        f"* ---- the sample rule ({rec.sample_table}): an office is analysed when its control share of "
        f"{rec.sample_unit} units >= {rec.threshold_text} ----",
        f"egen byte _tag_unit = tag({rec.office} {unit})",
        f"bysort {rec.office}: egen double _u1 = total(_tag_unit * (_arm == 1))",
        f"bysort {rec.office}: egen double _u0 = total(_tag_unit * (_arm == 0))",
        f"generate byte _included = {rule}",
        f"egen byte _tag_parent = tag({rec.office} {rec.parent})",
        f"levelsof {rec.office}, local(offices)",
        "foreach o of local offices {",
        f"    capture confirm string variable {rec.office}",
        f'    if _rc local at "{rec.office} == `o\'"',
        f'    else local at `"{rec.office} == "`o\'""\'',
        "    quietly count if `at' & _tag_parent & _arm == 1",
        f'    _put "{rec.sample_table}.{k["office"]}_`o\'.{k["offered"]}" r(N)',
        "    quietly count if `at' & _tag_parent & _arm == 0",
        f'    _put "{rec.sample_table}.{k["office"]}_`o\'.{k["control"]}" r(N)',
        "    quietly summarize _included if `at', meanonly",
        f'    _put "{rec.sample_table}.{k["office"]}_`o\'.included" r(max)',
        "}",
        f"egen byte _tag_analysed = tag({rec.parent}) if _included",
        f"egen byte _tag_family = tag({rec.family}) if _included",
        "quietly count if _tag_analysed == 1",
        f'_put "sample.{k["parents"]}_included" r(N)',
        "quietly count if _tag_analysed == 1 & _arm == 1",
        f'_put "sample.{k["parents"]}_treated" r(N)',
        "quietly count if _tag_analysed == 1 & _arm == 0",
        f'_put "sample.{k["parents"]}_control" r(N)',
        "quietly count if _tag_family == 1 & _arm == 1",
        f'_put "sample.{k["families"]}_treated" r(N)',
        "quietly count if _tag_family == 1 & _arm == 0",
        f'_put "sample.{k["families"]}_control" r(N)',
        f"egen byte _tag_excluded = tag({rec.parent}) if !_included",
        "quietly count if _tag_excluded == 1",
        f'_put "sample.{k["parents"]}_excluded" r(N)',
        f"egen byte _tag_office = tag({rec.office}) if _included",
        "quietly count if _tag_office == 1",
        f'_put "sample.{k["offices"]}_included" r(N)',
        "keep if _included",
        "",
    ]


def _balance(rec: Recipe) -> list[str]:
    t = rec.balance_table
    lines = [
        f"* ---- baseline balance ({t}) and correlations ({rec.correlations_table}) at {rec.baseline} ----",
        "preserve",
        f"keep if _m == {_ym(rec.baseline)}",
        "quietly count",
        f'_put "{t}.n.total" r(N)',
        "quietly count if _arm == 1",
        f'_put "{t}.n.treated" r(N)',
        "quietly count if _arm == 0",
        f'_put "{t}.n.control" r(N)',
    ]
    for column in rec.balance_variables:
        key = f"{t}.{rec.key_of(column)}"
        lines += [
            f"capture assert inlist({column}, 0, 1)",
            "if !_rc {",
            f"    quietly summarize {column}",
            f'    _put "{key}.n_total" r(sum)',
            f'    _put "{key}.pct_total" 100*r(mean)',
            f"    quietly summarize {column} if _arm == 1",
            f'    _put "{key}.n_treated" r(sum)',
            f'    _put "{key}.pct_treated" 100*r(mean)',
            f"    quietly summarize {column} if _arm == 0",
            f'    _put "{key}.n_control" r(sum)',
            f'    _put "{key}.pct_control" 100*r(mean)',
            f"    quietly tabulate {column} _arm, chi2",
            f'    _put "{key}.chi2" r(chi2)',
            f'    _put "{key}.p" r(p)',
            "}",
            "else {",
            f"    quietly summarize {column}",
            f'    _put "{key}.mean_total" r(mean)',
            f'    _put "{key}.sd_total" r(sd)',
            f"    quietly summarize {column} if _arm == 1",
            f'    _put "{key}.mean_treated" r(mean)',
            f'    _put "{key}.sd_treated" r(sd)',
            f"    quietly summarize {column} if _arm == 0",
            f'    _put "{key}.mean_control" r(mean)',
            f'    _put "{key}.sd_control" r(sd)',
            f"    quietly ttest {column}, by(_arm)",
            f'    _put "{key}.t" r(t)',
            f'    _put "{key}.p" r(p)',
            "}",
        ]
    names = ["experimental", *(rec.key_of(c) for c in rec.balance_variables)]
    lines += [f"quietly correlate _arm {' '.join(rec.balance_variables)}", "matrix _C = r(C)"]
    for i in range(len(names)):
        for j in range(i):
            lines.append(f'_put "{rec.correlations_table}.{names[i]}.{names[j]}" _C[{i + 1}, {j + 1}]')
    return [*lines, "restore", ""]


def _models(rec: Recipe) -> list[str]:
    lines = [
        "* ---- the fixed-effects models: exact conditional logit, cluster-robust (G/(G-1)) ----",
        f"generate byte {rec.treatment}_pooled = _arm * (_m >= {_ym(rec.implementation)})",
    ]
    lines += [
        f'generate byte {rec.treatment}_{name} = _arm * (_m >= {_ym(rec.implementation)}) * (_variant == "{name}")'
        for name, _ in rec.variants
    ]
    lines += [
        "quietly summarize _m",
        "generate double trend = _m - r(min)   // months since the panel's first month",
    ]
    for m in rec.models:
        time = {"linear": " trend", "months": " ib(first)._m", "none": ""}[m.time]
        vce = f" vce(cluster {m.cluster})" if m.cluster else ""
        regs = [*m.terms, *m.covariates, *(["trend"] if m.time == "linear" else [])]
        lines += [
            f"* {m.name} ({m.table})",
            f"clogit {m.outcome} {' '.join([*m.terms, *m.covariates])}{time}, group({rec.parent}){vce} or",
        ]
        for term in regs:
            key = f"{m.table}.{m.name}.{rec.key_of(term)}"
            lines += [
                f'_put "{key}.or" exp(_b[{term}])',
                f'_put "{key}.se" exp(_b[{term}]) * _se[{term}]',
                f'_put "{key}.ci_low" exp(_b[{term}] - `z\' * _se[{term}])',
                f'_put "{key}.ci_high" exp(_b[{term}] + `z\' * _se[{term}])',
            ]
        if m.time == "months":
            lines += [
                "levelsof _m if e(sample), local(months)",
                "gettoken first months : months",
                "foreach t of local months {",
                f'    local key "{m.table}.{m.name}.{rec.month}[`=string(year(dofm(`t\')), "%04.0f")\'-`=string(month(dofm(`t\')), "%02.0f")\']"',
                "    capture _put \"`key'.or\" exp(_b[`t'._m])",
                "    capture _put \"`key'.se\" exp(_b[`t'._m]) * _se[`t'._m]",
                "    capture _put \"`key'.ci_low\" exp(_b[`t'._m] - `z' * _se[`t'._m])",
                "    capture _put \"`key'.ci_high\" exp(_b[`t'._m] + `z' * _se[`t'._m])",
                "}",
            ]
        lines.append(f'_put "{m.table}.{m.name}.pseudo_r2" e(r2_p)')
        if m.name in rec.bootstrap_models:
            for term in m.terms:
                lines += [
                    f"* the plan's few-cluster inference for {m.name}: the wild cluster score bootstrap",
                    f"boottest {term}, weight({rec.bootstrap_weights}) reps(9999) seed({rec.seed}) nograph",
                    f"file write spec `\"# boottest {m.name} {term}: p = `=r(p)'\"' _n",
                ]
    return [*lines, ""]


def _series(rec: Recipe) -> list[str]:
    lines = ["* ---- the monthly series: one logit per month, baseline controls, Holm and BH over months ----"]
    for s in rec.series:
        base = " ".join(s.base_vars)
        fe = f" i.{rec.office}" if s.office_effects else ""
        lines += [
            f"* series {s.name}: {s.outcome}",
            "preserve",
            f"keep if _m == {_ym(rec.baseline)}",
            f"keep {rec.parent} {base}",
            f"foreach v of varlist {base} {{",
            "    rename `v' `v'_baseline",
            "}",
            "tempfile base",
            "save `base'",
            "restore",
            "tempname post",
            "tempfile months",
            "postfile `post' str7 month double(b se) using `months'",
            f"levelsof _m if _m >= {_ym(rec.implementation)}, local(fitted)",
            "foreach t of local fitted {",
            "    preserve",
            "    quietly keep if _m == `t'",
            f"    quietly merge 1:1 {rec.parent} using `base', keep(match) nogenerate",
            f"    local controls {' '.join(v + '_baseline' for v in s.base_vars)}",
        ]
        if s.own_baseline:
            lines.append(
                f'    if `t\' == {_ym(rec.baseline)} local controls : subinstr local controls "{s.outcome}_baseline" ""'
            )
        if s.office_effects:
            lines += [
                f"    bysort {rec.office}: egen double _sd = sd({s.outcome})",
                "    quietly keep if _sd > 0 & !missing(_sd)",
            ]
        lines += [
            f"    quietly logit {s.outcome} _arm `controls'{fe}, vce(cluster {rec.office})",
            '    post `post\' ("`=string(year(dofm(`t\')), "%04.0f")\'-`=string(month(dofm(`t\')), "%02.0f")\'") '
            "(_b[_arm]) (_se[_arm])",
            "    restore",
            "}",
            "postclose `post'",
            "preserve",
            "use `months', clear",
            "generate double p = 2 * normal(-abs(b / se))",
            "quietly count",
            "local M = r(N)",
            "sort p",
            "generate double p_holm = min(1, p * (`M' - _n + 1))",
            "replace p_holm = max(p_holm, p_holm[_n - 1]) if _n > 1",
            "gsort -p",
            "generate double p_bh = min(1, p * `M' / (`M' - _n + 1))",
            "replace p_bh = min(p_bh, p_bh[_n - 1]) if _n > 1",
            "sort month",
            'local significant ""',
            "forvalues i = 1/`M' {",
            f'    local key = "monthly.{s.name}." + month[`i\']',
            "    _put \"`key'.or\" exp(b[`i'])",
            "    _put \"`key'.ci_low\" exp(b[`i'] - `z' * se[`i'])",
            "    _put \"`key'.ci_high\" exp(b[`i'] + `z' * se[`i'])",
            f'    if p[`i\'] < {rec.alpha!r} local significant = cond("`significant\'" == "", month[`i\'], "`significant\'," + month[`i\'])',
            "}",
            f'file write spec `""monthly.{s.name}.significant_months" = {{ value = "`significant\'", printed = "`significant\'" }}"\' _n',
            "restore",
            "",
        ]
    return lines


def do_file(rec: Recipe, *, version: str) -> str:
    """The do-file of a recipe: the plan's values, then the analysis.

    Parameters
    ----------
    rec : Recipe
        The plan's values (:func:`famtrial.export.recipe.recipe`).
    version : str
        famtrial's version, named in the header.

    Returns
    -------
    str
        The do-file's text.
    """
    lines = [
        *_header(rec, version),
        _PROGRAMS,
        *_read(rec),
        *_sample(rec),
        *_balance(rec),
        *_models(rec),
        *_series(rec),
        "file close spec",
        'display as text "wrote `specfile\'"',
    ]
    return "\n".join(lines) + "\n"
