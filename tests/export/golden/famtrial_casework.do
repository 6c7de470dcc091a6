* famtrial export --to stata: the analysis plan 'Welfare casework trial (synthetic example)' as a do-file.
* Written by famtrial VERSION from the plan with canonical hash HASH.
* Run:  do THIS_FILE [DATA_FILE] [SPEC_FILE]
*   DATA_FILE: the panel (.dta or .csv), default below; SPEC_FILE: where the numbers go, in famtrial's
*   published-number spec format (default stata_spec.toml); compare them with famtrial's numbers:
*   famtrial verify --results RESULTS_DIR --spec SPEC_FILE
* Needs Stata 16 or newer; boottest (ssc install boottest) for the plan's score bootstrap.
* _put KEY EXPRESSION writes one number of the spec at ten decimals (missing values are left out).
version 16
clear all
set more off
args datafile specfile
if `"`datafile'"' == "" local datafile `"panel.csv"'
if `"`specfile'"' == "" local specfile "stata_spec.toml"

* ---- the spec: one line per number, famtrial's published-number format ----
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

* ---- reading: the panel, its months as Stata months, the arm and variant codes ----
if lower(substr(`"`datafile'"', -8, .)) == ".parquet" {
    display as error "Stata cannot read Parquet: save the panel as .dta or .csv and pass that file"
    exit 198
}
if lower(substr(`"`datafile'"', -4, .)) == ".dta" use `"`datafile'"', clear
else import delimited using `"`datafile'"', clear case(preserve) varnames(1)
capture confirm string variable ym
if _rc generate int _m = ym(floor(ym / 100), mod(ym, 100))
else generate int _m = ym(real(substr(ym, 1, 4)), real(substr(ym, 6, 2)))
assert !missing(_m)
format _m %tm
capture confirm string variable offer
if _rc tostring offer, generate(_arm_code) force
else generate _arm_code = offer
generate byte _arm = cond(_arm_code == "yes", 1, cond(_arm_code == "no", 0, .))
assert !missing(_arm)
capture confirm string variable variant
if _rc tostring variant, generate(_variant_code) force
else generate _variant_code = variant
generate _variant = "control" if inlist(_variant_code, "none")
replace _variant = "phone" if inlist(_variant_code, "phone")
replace _variant = "home" if inlist(_variant_code, "home")
replace _variant = "group" if inlist(_variant_code, "group")
assert _variant != ""

* ---- the sample rule (table1): an office is analysed when its control share of parent units >= 1/4 ----
egen byte _tag_unit = tag(kontor pid)
bysort kontor: egen double _u1 = total(_tag_unit * (_arm == 1))
bysort kontor: egen double _u0 = total(_tag_unit * (_arm == 0))
generate byte _included = (_u0 / (_u1 + _u0) >= 0.25)
egen byte _tag_parent = tag(kontor pid)
levelsof kontor, local(offices)
foreach o of local offices {
    capture confirm string variable kontor
    if _rc local at "kontor == `o'"
    else local at `"kontor == "`o'""'
    quietly count if `at' & _tag_parent & _arm == 1
    _put "table1.office_`o'.offered" r(N)
    quietly count if `at' & _tag_parent & _arm == 0
    _put "table1.office_`o'.control" r(N)
    quietly summarize _included if `at', meanonly
    _put "table1.office_`o'.included" r(max)
}
egen byte _tag_analysed = tag(pid) if _included
egen byte _tag_family = tag(hh) if _included
quietly count if _tag_analysed == 1
_put "sample.persons_included" r(N)
quietly count if _tag_analysed == 1 & _arm == 1
_put "sample.persons_treated" r(N)
quietly count if _tag_analysed == 1 & _arm == 0
_put "sample.persons_control" r(N)
quietly count if _tag_family == 1 & _arm == 1
_put "sample.households_treated" r(N)
quietly count if _tag_family == 1 & _arm == 0
_put "sample.households_control" r(N)
egen byte _tag_excluded = tag(pid) if !_included
quietly count if _tag_excluded == 1
_put "sample.persons_excluded" r(N)
egen byte _tag_office = tag(kontor) if _included
quietly count if _tag_office == 1
_put "sample.offices_included" r(N)
keep if _included

* ---- baseline balance (table2) and correlations (table3) at 2019-03 ----
preserve
keep if _m == ym(2019, 3)
quietly count
_put "table2.n.total" r(N)
quietly count if _arm == 1
_put "table2.n.treated" r(N)
quietly count if _arm == 0
_put "table2.n.control" r(N)
capture assert inlist(kids, 0, 1)
if !_rc {
    quietly summarize kids
    _put "table2.kids.n_total" r(sum)
    _put "table2.kids.pct_total" 100*r(mean)
    quietly summarize kids if _arm == 1
    _put "table2.kids.n_treated" r(sum)
    _put "table2.kids.pct_treated" 100*r(mean)
    quietly summarize kids if _arm == 0
    _put "table2.kids.n_control" r(sum)
    _put "table2.kids.pct_control" 100*r(mean)
    quietly tabulate kids _arm, chi2
    _put "table2.kids.chi2" r(chi2)
    _put "table2.kids.p" r(p)
}
else {
    quietly summarize kids
    _put "table2.kids.mean_total" r(mean)
    _put "table2.kids.sd_total" r(sd)
    quietly summarize kids if _arm == 1
    _put "table2.kids.mean_treated" r(mean)
    _put "table2.kids.sd_treated" r(sd)
    quietly summarize kids if _arm == 0
    _put "table2.kids.mean_control" r(mean)
    _put "table2.kids.sd_control" r(sd)
    quietly ttest kids, by(_arm)
    _put "table2.kids.t" r(t)
    _put "table2.kids.p" r(p)
}
capture assert inlist(health, 0, 1)
if !_rc {
    quietly summarize health
    _put "table2.health.n_total" r(sum)
    _put "table2.health.pct_total" 100*r(mean)
    quietly summarize health if _arm == 1
    _put "table2.health.n_treated" r(sum)
    _put "table2.health.pct_treated" 100*r(mean)
    quietly summarize health if _arm == 0
    _put "table2.health.n_control" r(sum)
    _put "table2.health.pct_control" 100*r(mean)
    quietly tabulate health _arm, chi2
    _put "table2.health.chi2" r(chi2)
    _put "table2.health.p" r(p)
}
else {
    quietly summarize health
    _put "table2.health.mean_total" r(mean)
    _put "table2.health.sd_total" r(sd)
    quietly summarize health if _arm == 1
    _put "table2.health.mean_treated" r(mean)
    _put "table2.health.sd_treated" r(sd)
    quietly summarize health if _arm == 0
    _put "table2.health.mean_control" r(mean)
    _put "table2.health.sd_control" r(sd)
    quietly ttest health, by(_arm)
    _put "table2.health.t" r(t)
    _put "table2.health.p" r(p)
}
capture assert inlist(cohab, 0, 1)
if !_rc {
    quietly summarize cohab
    _put "table2.cohab.n_total" r(sum)
    _put "table2.cohab.pct_total" 100*r(mean)
    quietly summarize cohab if _arm == 1
    _put "table2.cohab.n_treated" r(sum)
    _put "table2.cohab.pct_treated" 100*r(mean)
    quietly summarize cohab if _arm == 0
    _put "table2.cohab.n_control" r(sum)
    _put "table2.cohab.pct_control" 100*r(mean)
    quietly tabulate cohab _arm, chi2
    _put "table2.cohab.chi2" r(chi2)
    _put "table2.cohab.p" r(p)
}
else {
    quietly summarize cohab
    _put "table2.cohab.mean_total" r(mean)
    _put "table2.cohab.sd_total" r(sd)
    quietly summarize cohab if _arm == 1
    _put "table2.cohab.mean_treated" r(mean)
    _put "table2.cohab.sd_treated" r(sd)
    quietly summarize cohab if _arm == 0
    _put "table2.cohab.mean_control" r(mean)
    _put "table2.cohab.sd_control" r(sd)
    quietly ttest cohab, by(_arm)
    _put "table2.cohab.t" r(t)
    _put "table2.cohab.p" r(p)
}
capture assert inlist(woman, 0, 1)
if !_rc {
    quietly summarize woman
    _put "table2.woman.n_total" r(sum)
    _put "table2.woman.pct_total" 100*r(mean)
    quietly summarize woman if _arm == 1
    _put "table2.woman.n_treated" r(sum)
    _put "table2.woman.pct_treated" 100*r(mean)
    quietly summarize woman if _arm == 0
    _put "table2.woman.n_control" r(sum)
    _put "table2.woman.pct_control" 100*r(mean)
    quietly tabulate woman _arm, chi2
    _put "table2.woman.chi2" r(chi2)
    _put "table2.woman.p" r(p)
}
else {
    quietly summarize woman
    _put "table2.woman.mean_total" r(mean)
    _put "table2.woman.sd_total" r(sd)
    quietly summarize woman if _arm == 1
    _put "table2.woman.mean_treated" r(mean)
    _put "table2.woman.sd_treated" r(sd)
    quietly summarize woman if _arm == 0
    _put "table2.woman.mean_control" r(mean)
    _put "table2.woman.sd_control" r(sd)
    quietly ttest woman, by(_arm)
    _put "table2.woman.t" r(t)
    _put "table2.woman.p" r(p)
}
capture assert inlist(born, 0, 1)
if !_rc {
    quietly summarize born
    _put "table2.born.n_total" r(sum)
    _put "table2.born.pct_total" 100*r(mean)
    quietly summarize born if _arm == 1
    _put "table2.born.n_treated" r(sum)
    _put "table2.born.pct_treated" 100*r(mean)
    quietly summarize born if _arm == 0
    _put "table2.born.n_control" r(sum)
    _put "table2.born.pct_control" 100*r(mean)
    quietly tabulate born _arm, chi2
    _put "table2.born.chi2" r(chi2)
    _put "table2.born.p" r(p)
}
else {
    quietly summarize born
    _put "table2.born.mean_total" r(mean)
    _put "table2.born.sd_total" r(sd)
    quietly summarize born if _arm == 1
    _put "table2.born.mean_treated" r(mean)
    _put "table2.born.sd_treated" r(sd)
    quietly summarize born if _arm == 0
    _put "table2.born.mean_control" r(mean)
    _put "table2.born.sd_control" r(sd)
    quietly ttest born, by(_arm)
    _put "table2.born.t" r(t)
    _put "table2.born.p" r(p)
}
capture assert inlist(abroad, 0, 1)
if !_rc {
    quietly summarize abroad
    _put "table2.abroad.n_total" r(sum)
    _put "table2.abroad.pct_total" 100*r(mean)
    quietly summarize abroad if _arm == 1
    _put "table2.abroad.n_treated" r(sum)
    _put "table2.abroad.pct_treated" 100*r(mean)
    quietly summarize abroad if _arm == 0
    _put "table2.abroad.n_control" r(sum)
    _put "table2.abroad.pct_control" 100*r(mean)
    quietly tabulate abroad _arm, chi2
    _put "table2.abroad.chi2" r(chi2)
    _put "table2.abroad.p" r(p)
}
else {
    quietly summarize abroad
    _put "table2.abroad.mean_total" r(mean)
    _put "table2.abroad.sd_total" r(sd)
    quietly summarize abroad if _arm == 1
    _put "table2.abroad.mean_treated" r(mean)
    _put "table2.abroad.sd_treated" r(sd)
    quietly summarize abroad if _arm == 0
    _put "table2.abroad.mean_control" r(mean)
    _put "table2.abroad.sd_control" r(sd)
    quietly ttest abroad, by(_arm)
    _put "table2.abroad.t" r(t)
    _put "table2.abroad.p" r(p)
}
capture assert inlist(work, 0, 1)
if !_rc {
    quietly summarize work
    _put "table2.work.n_total" r(sum)
    _put "table2.work.pct_total" 100*r(mean)
    quietly summarize work if _arm == 1
    _put "table2.work.n_treated" r(sum)
    _put "table2.work.pct_treated" 100*r(mean)
    quietly summarize work if _arm == 0
    _put "table2.work.n_control" r(sum)
    _put "table2.work.pct_control" 100*r(mean)
    quietly tabulate work _arm, chi2
    _put "table2.work.chi2" r(chi2)
    _put "table2.work.p" r(p)
}
else {
    quietly summarize work
    _put "table2.work.mean_total" r(mean)
    _put "table2.work.sd_total" r(sd)
    quietly summarize work if _arm == 1
    _put "table2.work.mean_treated" r(mean)
    _put "table2.work.sd_treated" r(sd)
    quietly summarize work if _arm == 0
    _put "table2.work.mean_control" r(mean)
    _put "table2.work.sd_control" r(sd)
    quietly ttest work, by(_arm)
    _put "table2.work.t" r(t)
    _put "table2.work.p" r(p)
}
capture assert inlist(educ, 0, 1)
if !_rc {
    quietly summarize educ
    _put "table2.educ.n_total" r(sum)
    _put "table2.educ.pct_total" 100*r(mean)
    quietly summarize educ if _arm == 1
    _put "table2.educ.n_treated" r(sum)
    _put "table2.educ.pct_treated" 100*r(mean)
    quietly summarize educ if _arm == 0
    _put "table2.educ.n_control" r(sum)
    _put "table2.educ.pct_control" 100*r(mean)
    quietly tabulate educ _arm, chi2
    _put "table2.educ.chi2" r(chi2)
    _put "table2.educ.p" r(p)
}
else {
    quietly summarize educ
    _put "table2.educ.mean_total" r(mean)
    _put "table2.educ.sd_total" r(sd)
    quietly summarize educ if _arm == 1
    _put "table2.educ.mean_treated" r(mean)
    _put "table2.educ.sd_treated" r(sd)
    quietly summarize educ if _arm == 0
    _put "table2.educ.mean_control" r(mean)
    _put "table2.educ.sd_control" r(sd)
    quietly ttest educ, by(_arm)
    _put "table2.educ.t" r(t)
    _put "table2.educ.p" r(p)
}
quietly correlate _arm kids health cohab woman born abroad work educ
matrix _C = r(C)
_put "table3.kids.experimental" _C[2, 1]
_put "table3.health.experimental" _C[3, 1]
_put "table3.health.kids" _C[3, 2]
_put "table3.cohab.experimental" _C[4, 1]
_put "table3.cohab.kids" _C[4, 2]
_put "table3.cohab.health" _C[4, 3]
_put "table3.woman.experimental" _C[5, 1]
_put "table3.woman.kids" _C[5, 2]
_put "table3.woman.health" _C[5, 3]
_put "table3.woman.cohab" _C[5, 4]
_put "table3.born.experimental" _C[6, 1]
_put "table3.born.kids" _C[6, 2]
_put "table3.born.health" _C[6, 3]
_put "table3.born.cohab" _C[6, 4]
_put "table3.born.woman" _C[6, 5]
_put "table3.abroad.experimental" _C[7, 1]
_put "table3.abroad.kids" _C[7, 2]
_put "table3.abroad.health" _C[7, 3]
_put "table3.abroad.cohab" _C[7, 4]
_put "table3.abroad.woman" _C[7, 5]
_put "table3.abroad.born" _C[7, 6]
_put "table3.work.experimental" _C[8, 1]
_put "table3.work.kids" _C[8, 2]
_put "table3.work.health" _C[8, 3]
_put "table3.work.cohab" _C[8, 4]
_put "table3.work.woman" _C[8, 5]
_put "table3.work.born" _C[8, 6]
_put "table3.work.abroad" _C[8, 7]
_put "table3.educ.experimental" _C[9, 1]
_put "table3.educ.kids" _C[9, 2]
_put "table3.educ.health" _C[9, 3]
_put "table3.educ.cohab" _C[9, 4]
_put "table3.educ.woman" _C[9, 5]
_put "table3.educ.born" _C[9, 6]
_put "table3.educ.abroad" _C[9, 7]
_put "table3.educ.work" _C[9, 8]
restore

* ---- the fixed-effects models: exact conditional logit, cluster-robust (G/(G-1)) ----
generate byte casework_pooled = _arm * (_m >= ym(2019, 4))
generate byte casework_phone = _arm * (_m >= ym(2019, 4)) * (_variant == "phone")
generate byte casework_home = _arm * (_m >= ym(2019, 4)) * (_variant == "home")
generate byte casework_group = _arm * (_m >= ym(2019, 4)) * (_variant == "group")
quietly summarize _m
generate double trend = _m - r(min)   // months since the panel's first month
* work (table4)
clogit work casework_pooled kids health cohab ib(first)._m, group(pid) vce(cluster kontor) or
_put "table4.work.casework_pooled.or" exp(_b[casework_pooled])
_put "table4.work.casework_pooled.se" exp(_b[casework_pooled]) * _se[casework_pooled]
_put "table4.work.casework_pooled.ci_low" exp(_b[casework_pooled] - `z' * _se[casework_pooled])
_put "table4.work.casework_pooled.ci_high" exp(_b[casework_pooled] + `z' * _se[casework_pooled])
_put "table4.work.kids.or" exp(_b[kids])
_put "table4.work.kids.se" exp(_b[kids]) * _se[kids]
_put "table4.work.kids.ci_low" exp(_b[kids] - `z' * _se[kids])
_put "table4.work.kids.ci_high" exp(_b[kids] + `z' * _se[kids])
_put "table4.work.health.or" exp(_b[health])
_put "table4.work.health.se" exp(_b[health]) * _se[health]
_put "table4.work.health.ci_low" exp(_b[health] - `z' * _se[health])
_put "table4.work.health.ci_high" exp(_b[health] + `z' * _se[health])
_put "table4.work.cohab.or" exp(_b[cohab])
_put "table4.work.cohab.se" exp(_b[cohab]) * _se[cohab]
_put "table4.work.cohab.ci_low" exp(_b[cohab] - `z' * _se[cohab])
_put "table4.work.cohab.ci_high" exp(_b[cohab] + `z' * _se[cohab])
levelsof _m if e(sample), local(months)
gettoken first months : months
foreach t of local months {
    local key "table4.work.ym[`=string(year(dofm(`t')), "%04.0f")'-`=string(month(dofm(`t')), "%02.0f")']"
    capture _put "`key'.or" exp(_b[`t'._m])
    capture _put "`key'.se" exp(_b[`t'._m]) * _se[`t'._m]
    capture _put "`key'.ci_low" exp(_b[`t'._m] - `z' * _se[`t'._m])
    capture _put "`key'.ci_high" exp(_b[`t'._m] + `z' * _se[`t'._m])
}
_put "table4.work.pseudo_r2" e(r2_p)
* the plan's few-cluster inference for work: the wild cluster score bootstrap
boottest casework_pooled, weight(rademacher) reps(9999) seed(20190401) nograph
file write spec `"# boottest work casework_pooled: p = `=r(p)'"' _n
* work_by_variant (table4)
clogit work casework_phone casework_home casework_group kids health cohab ib(first)._m, group(pid) vce(cluster kontor) or
_put "table4.work_by_variant.casework_phone.or" exp(_b[casework_phone])
_put "table4.work_by_variant.casework_phone.se" exp(_b[casework_phone]) * _se[casework_phone]
_put "table4.work_by_variant.casework_phone.ci_low" exp(_b[casework_phone] - `z' * _se[casework_phone])
_put "table4.work_by_variant.casework_phone.ci_high" exp(_b[casework_phone] + `z' * _se[casework_phone])
_put "table4.work_by_variant.casework_home.or" exp(_b[casework_home])
_put "table4.work_by_variant.casework_home.se" exp(_b[casework_home]) * _se[casework_home]
_put "table4.work_by_variant.casework_home.ci_low" exp(_b[casework_home] - `z' * _se[casework_home])
_put "table4.work_by_variant.casework_home.ci_high" exp(_b[casework_home] + `z' * _se[casework_home])
_put "table4.work_by_variant.casework_group.or" exp(_b[casework_group])
_put "table4.work_by_variant.casework_group.se" exp(_b[casework_group]) * _se[casework_group]
_put "table4.work_by_variant.casework_group.ci_low" exp(_b[casework_group] - `z' * _se[casework_group])
_put "table4.work_by_variant.casework_group.ci_high" exp(_b[casework_group] + `z' * _se[casework_group])
_put "table4.work_by_variant.kids.or" exp(_b[kids])
_put "table4.work_by_variant.kids.se" exp(_b[kids]) * _se[kids]
_put "table4.work_by_variant.kids.ci_low" exp(_b[kids] - `z' * _se[kids])
_put "table4.work_by_variant.kids.ci_high" exp(_b[kids] + `z' * _se[kids])
_put "table4.work_by_variant.health.or" exp(_b[health])
_put "table4.work_by_variant.health.se" exp(_b[health]) * _se[health]
_put "table4.work_by_variant.health.ci_low" exp(_b[health] - `z' * _se[health])
_put "table4.work_by_variant.health.ci_high" exp(_b[health] + `z' * _se[health])
_put "table4.work_by_variant.cohab.or" exp(_b[cohab])
_put "table4.work_by_variant.cohab.se" exp(_b[cohab]) * _se[cohab]
_put "table4.work_by_variant.cohab.ci_low" exp(_b[cohab] - `z' * _se[cohab])
_put "table4.work_by_variant.cohab.ci_high" exp(_b[cohab] + `z' * _se[cohab])
levelsof _m if e(sample), local(months)
gettoken first months : months
foreach t of local months {
    local key "table4.work_by_variant.ym[`=string(year(dofm(`t')), "%04.0f")'-`=string(month(dofm(`t')), "%02.0f")']"
    capture _put "`key'.or" exp(_b[`t'._m])
    capture _put "`key'.se" exp(_b[`t'._m]) * _se[`t'._m]
    capture _put "`key'.ci_low" exp(_b[`t'._m] - `z' * _se[`t'._m])
    capture _put "`key'.ci_high" exp(_b[`t'._m] + `z' * _se[`t'._m])
}
_put "table4.work_by_variant.pseudo_r2" e(r2_p)
* educ (table5)
clogit educ casework_pooled kids health cohab trend, group(pid) vce(cluster kontor) or
_put "table5.educ.casework_pooled.or" exp(_b[casework_pooled])
_put "table5.educ.casework_pooled.se" exp(_b[casework_pooled]) * _se[casework_pooled]
_put "table5.educ.casework_pooled.ci_low" exp(_b[casework_pooled] - `z' * _se[casework_pooled])
_put "table5.educ.casework_pooled.ci_high" exp(_b[casework_pooled] + `z' * _se[casework_pooled])
_put "table5.educ.kids.or" exp(_b[kids])
_put "table5.educ.kids.se" exp(_b[kids]) * _se[kids]
_put "table5.educ.kids.ci_low" exp(_b[kids] - `z' * _se[kids])
_put "table5.educ.kids.ci_high" exp(_b[kids] + `z' * _se[kids])
_put "table5.educ.health.or" exp(_b[health])
_put "table5.educ.health.se" exp(_b[health]) * _se[health]
_put "table5.educ.health.ci_low" exp(_b[health] - `z' * _se[health])
_put "table5.educ.health.ci_high" exp(_b[health] + `z' * _se[health])
_put "table5.educ.cohab.or" exp(_b[cohab])
_put "table5.educ.cohab.se" exp(_b[cohab]) * _se[cohab]
_put "table5.educ.cohab.ci_low" exp(_b[cohab] - `z' * _se[cohab])
_put "table5.educ.cohab.ci_high" exp(_b[cohab] + `z' * _se[cohab])
_put "table5.educ.trend.or" exp(_b[trend])
_put "table5.educ.trend.se" exp(_b[trend]) * _se[trend]
_put "table5.educ.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table5.educ.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table5.educ.pseudo_r2" e(r2_p)
* educ_by_variant (table5)
clogit educ casework_phone casework_home casework_group kids health cohab trend, group(pid) vce(cluster kontor) or
_put "table5.educ_by_variant.casework_phone.or" exp(_b[casework_phone])
_put "table5.educ_by_variant.casework_phone.se" exp(_b[casework_phone]) * _se[casework_phone]
_put "table5.educ_by_variant.casework_phone.ci_low" exp(_b[casework_phone] - `z' * _se[casework_phone])
_put "table5.educ_by_variant.casework_phone.ci_high" exp(_b[casework_phone] + `z' * _se[casework_phone])
_put "table5.educ_by_variant.casework_home.or" exp(_b[casework_home])
_put "table5.educ_by_variant.casework_home.se" exp(_b[casework_home]) * _se[casework_home]
_put "table5.educ_by_variant.casework_home.ci_low" exp(_b[casework_home] - `z' * _se[casework_home])
_put "table5.educ_by_variant.casework_home.ci_high" exp(_b[casework_home] + `z' * _se[casework_home])
_put "table5.educ_by_variant.casework_group.or" exp(_b[casework_group])
_put "table5.educ_by_variant.casework_group.se" exp(_b[casework_group]) * _se[casework_group]
_put "table5.educ_by_variant.casework_group.ci_low" exp(_b[casework_group] - `z' * _se[casework_group])
_put "table5.educ_by_variant.casework_group.ci_high" exp(_b[casework_group] + `z' * _se[casework_group])
_put "table5.educ_by_variant.kids.or" exp(_b[kids])
_put "table5.educ_by_variant.kids.se" exp(_b[kids]) * _se[kids]
_put "table5.educ_by_variant.kids.ci_low" exp(_b[kids] - `z' * _se[kids])
_put "table5.educ_by_variant.kids.ci_high" exp(_b[kids] + `z' * _se[kids])
_put "table5.educ_by_variant.health.or" exp(_b[health])
_put "table5.educ_by_variant.health.se" exp(_b[health]) * _se[health]
_put "table5.educ_by_variant.health.ci_low" exp(_b[health] - `z' * _se[health])
_put "table5.educ_by_variant.health.ci_high" exp(_b[health] + `z' * _se[health])
_put "table5.educ_by_variant.cohab.or" exp(_b[cohab])
_put "table5.educ_by_variant.cohab.se" exp(_b[cohab]) * _se[cohab]
_put "table5.educ_by_variant.cohab.ci_low" exp(_b[cohab] - `z' * _se[cohab])
_put "table5.educ_by_variant.cohab.ci_high" exp(_b[cohab] + `z' * _se[cohab])
_put "table5.educ_by_variant.trend.or" exp(_b[trend])
_put "table5.educ_by_variant.trend.se" exp(_b[trend]) * _se[trend]
_put "table5.educ_by_variant.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table5.educ_by_variant.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table5.educ_by_variant.pseudo_r2" e(r2_p)

* ---- the monthly series: one logit per month, baseline controls, Holm and BH over months ----
* series work: work
preserve
keep if _m == ym(2019, 3)
keep pid health kids work
foreach v of varlist health kids work {
    rename `v' `v'_baseline
}
tempfile base
save `base'
restore
tempname post
tempfile months
postfile `post' str7 month double(b se) using `months'
levelsof _m if _m >= ym(2019, 4), local(fitted)
foreach t of local fitted {
    preserve
    quietly keep if _m == `t'
    quietly merge 1:1 pid using `base', keep(match) nogenerate
    local controls health_baseline kids_baseline work_baseline
    if `t' == ym(2019, 3) local controls : subinstr local controls "work_baseline" ""
    quietly logit work _arm `controls', vce(cluster kontor)
    post `post' ("`=string(year(dofm(`t')), "%04.0f")'-`=string(month(dofm(`t')), "%02.0f")'") (_b[_arm]) (_se[_arm])
    restore
}
postclose `post'
preserve
use `months', clear
generate double p = 2 * normal(-abs(b / se))
quietly count
local M = r(N)
sort p
generate double p_holm = min(1, p * (`M' - _n + 1))
replace p_holm = max(p_holm, p_holm[_n - 1]) if _n > 1
gsort -p
generate double p_bh = min(1, p * `M' / (`M' - _n + 1))
replace p_bh = min(p_bh, p_bh[_n - 1]) if _n > 1
sort month
local significant ""
forvalues i = 1/`M' {
    local key = "monthly.work." + month[`i']
    _put "`key'.or" exp(b[`i'])
    _put "`key'.ci_low" exp(b[`i'] - `z' * se[`i'])
    _put "`key'.ci_high" exp(b[`i'] + `z' * se[`i'])
    if p[`i'] < 0.05 local significant = cond("`significant'" == "", month[`i'], "`significant'," + month[`i'])
}
file write spec `""monthly.work.significant_months" = { value = "`significant'", printed = "`significant'" }"' _n
restore

* series educ: educ
preserve
keep if _m == ym(2019, 3)
keep pid health work educ
foreach v of varlist health work educ {
    rename `v' `v'_baseline
}
tempfile base
save `base'
restore
tempname post
tempfile months
postfile `post' str7 month double(b se) using `months'
levelsof _m if _m >= ym(2019, 4), local(fitted)
foreach t of local fitted {
    preserve
    quietly keep if _m == `t'
    quietly merge 1:1 pid using `base', keep(match) nogenerate
    local controls health_baseline work_baseline educ_baseline
    if `t' == ym(2019, 3) local controls : subinstr local controls "educ_baseline" ""
    bysort kontor: egen double _sd = sd(educ)
    quietly keep if _sd > 0 & !missing(_sd)
    quietly logit educ _arm `controls' i.kontor, vce(cluster kontor)
    post `post' ("`=string(year(dofm(`t')), "%04.0f")'-`=string(month(dofm(`t')), "%02.0f")'") (_b[_arm]) (_se[_arm])
    restore
}
postclose `post'
preserve
use `months', clear
generate double p = 2 * normal(-abs(b / se))
quietly count
local M = r(N)
sort p
generate double p_holm = min(1, p * (`M' - _n + 1))
replace p_holm = max(p_holm, p_holm[_n - 1]) if _n > 1
gsort -p
generate double p_bh = min(1, p * `M' / (`M' - _n + 1))
replace p_bh = min(p_bh, p_bh[_n - 1]) if _n > 1
sort month
local significant ""
forvalues i = 1/`M' {
    local key = "monthly.educ." + month[`i']
    _put "`key'.or" exp(b[`i'])
    _put "`key'.ci_low" exp(b[`i'] - `z' * se[`i'])
    _put "`key'.ci_high" exp(b[`i'] + `z' * se[`i'])
    if p[`i'] < 0.05 local significant = cond("`significant'" == "", month[`i'], "`significant'," + month[`i'])
}
file write spec `""monthly.educ.significant_months" = { value = "`significant'", printed = "`significant'" }"' _n
restore

file close spec
display as text "wrote `specfile'"
