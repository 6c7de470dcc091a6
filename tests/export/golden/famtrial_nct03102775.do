* famtrial export --to stata: the analysis plan 'Family coordinator trial' as a do-file.
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
capture confirm string variable month
if _rc generate int _m = ym(floor(month / 100), mod(month, 100))
else generate int _m = ym(real(substr(month, 1, 4)), real(substr(month, 6, 2)))
assert !missing(_m)
format _m %tm
capture confirm string variable arm
if _rc tostring arm, generate(_arm_code) force
else generate _arm_code = arm
generate byte _arm = cond(_arm_code == "1", 1, cond(_arm_code == "0", 0, .))
assert !missing(_arm)
capture confirm string variable model
if _rc tostring model, generate(_variant_code) force
else generate _variant_code = model
generate _variant = "control" if inlist(_variant_code, "ordinary", "0")
replace _variant = "local" if inlist(_variant_code, "local", "1")
replace _variant = "holf" if inlist(_variant_code, "holf", "2")
assert _variant != ""

* ---- the sample rule (table2): an office is analysed when its control share of family units >= 1/3 ----
egen byte _tag_unit = tag(office family_id)
bysort office: egen double _u1 = total(_tag_unit * (_arm == 1))
bysort office: egen double _u0 = total(_tag_unit * (_arm == 0))
generate byte _included = (_u0 / (_u1 + _u0) >= 0.3333333333333333)
egen byte _tag_parent = tag(office parent_id)
levelsof office, local(offices)
foreach o of local offices {
    capture confirm string variable office
    if _rc local at "office == `o'"
    else local at `"office == "`o'""'
    quietly count if `at' & _tag_parent & _arm == 1
    _put "table2.office_`o'.coordinated" r(N)
    quietly count if `at' & _tag_parent & _arm == 0
    _put "table2.office_`o'.ordinary" r(N)
    quietly summarize _included if `at', meanonly
    _put "table2.office_`o'.included" r(max)
}
egen byte _tag_analysed = tag(parent_id) if _included
egen byte _tag_family = tag(family_id) if _included
quietly count if _tag_analysed == 1
_put "sample.parents_included" r(N)
quietly count if _tag_analysed == 1 & _arm == 1
_put "sample.parents_treated" r(N)
quietly count if _tag_analysed == 1 & _arm == 0
_put "sample.parents_control" r(N)
quietly count if _tag_family == 1 & _arm == 1
_put "sample.families_treated" r(N)
quietly count if _tag_family == 1 & _arm == 0
_put "sample.families_control" r(N)
egen byte _tag_excluded = tag(parent_id) if !_included
quietly count if _tag_excluded == 1
_put "sample.parents_excluded" r(N)
egen byte _tag_office = tag(office) if _included
quietly count if _tag_office == 1
_put "sample.offices_included" r(N)
keep if _included

* ---- baseline balance (table3) and correlations (table4) at 2016-10 ----
preserve
keep if _m == ym(2016, 10)
quietly count
_put "table3.n.total" r(N)
quietly count if _arm == 1
_put "table3.n.treated" r(N)
quietly count if _arm == 0
_put "table3.n.control" r(N)
capture assert inlist(female, 0, 1)
if !_rc {
    quietly summarize female
    _put "table3.female.n_total" r(sum)
    _put "table3.female.pct_total" 100*r(mean)
    quietly summarize female if _arm == 1
    _put "table3.female.n_treated" r(sum)
    _put "table3.female.pct_treated" 100*r(mean)
    quietly summarize female if _arm == 0
    _put "table3.female.n_control" r(sum)
    _put "table3.female.pct_control" 100*r(mean)
    quietly tabulate female _arm, chi2
    _put "table3.female.chi2" r(chi2)
    _put "table3.female.p" r(p)
}
else {
    quietly summarize female
    _put "table3.female.mean_total" r(mean)
    _put "table3.female.sd_total" r(sd)
    quietly summarize female if _arm == 1
    _put "table3.female.mean_treated" r(mean)
    _put "table3.female.sd_treated" r(sd)
    quietly summarize female if _arm == 0
    _put "table3.female.mean_control" r(mean)
    _put "table3.female.sd_control" r(sd)
    quietly ttest female, by(_arm)
    _put "table3.female.t" r(t)
    _put "table3.female.p" r(p)
}
capture assert inlist(year_of_birth, 0, 1)
if !_rc {
    quietly summarize year_of_birth
    _put "table3.year_of_birth.n_total" r(sum)
    _put "table3.year_of_birth.pct_total" 100*r(mean)
    quietly summarize year_of_birth if _arm == 1
    _put "table3.year_of_birth.n_treated" r(sum)
    _put "table3.year_of_birth.pct_treated" 100*r(mean)
    quietly summarize year_of_birth if _arm == 0
    _put "table3.year_of_birth.n_control" r(sum)
    _put "table3.year_of_birth.pct_control" 100*r(mean)
    quietly tabulate year_of_birth _arm, chi2
    _put "table3.year_of_birth.chi2" r(chi2)
    _put "table3.year_of_birth.p" r(p)
}
else {
    quietly summarize year_of_birth
    _put "table3.year_of_birth.mean_total" r(mean)
    _put "table3.year_of_birth.sd_total" r(sd)
    quietly summarize year_of_birth if _arm == 1
    _put "table3.year_of_birth.mean_treated" r(mean)
    _put "table3.year_of_birth.sd_treated" r(sd)
    quietly summarize year_of_birth if _arm == 0
    _put "table3.year_of_birth.mean_control" r(mean)
    _put "table3.year_of_birth.sd_control" r(sd)
    quietly ttest year_of_birth, by(_arm)
    _put "table3.year_of_birth.t" r(t)
    _put "table3.year_of_birth.p" r(p)
}
capture assert inlist(married, 0, 1)
if !_rc {
    quietly summarize married
    _put "table3.married.n_total" r(sum)
    _put "table3.married.pct_total" 100*r(mean)
    quietly summarize married if _arm == 1
    _put "table3.married.n_treated" r(sum)
    _put "table3.married.pct_treated" 100*r(mean)
    quietly summarize married if _arm == 0
    _put "table3.married.n_control" r(sum)
    _put "table3.married.pct_control" 100*r(mean)
    quietly tabulate married _arm, chi2
    _put "table3.married.chi2" r(chi2)
    _put "table3.married.p" r(p)
}
else {
    quietly summarize married
    _put "table3.married.mean_total" r(mean)
    _put "table3.married.sd_total" r(sd)
    quietly summarize married if _arm == 1
    _put "table3.married.mean_treated" r(mean)
    _put "table3.married.sd_treated" r(sd)
    quietly summarize married if _arm == 0
    _put "table3.married.mean_control" r(mean)
    _put "table3.married.sd_control" r(sd)
    quietly ttest married, by(_arm)
    _put "table3.married.t" r(t)
    _put "table3.married.p" r(p)
}
capture assert inlist(n_children, 0, 1)
if !_rc {
    quietly summarize n_children
    _put "table3.n_children.n_total" r(sum)
    _put "table3.n_children.pct_total" 100*r(mean)
    quietly summarize n_children if _arm == 1
    _put "table3.n_children.n_treated" r(sum)
    _put "table3.n_children.pct_treated" 100*r(mean)
    quietly summarize n_children if _arm == 0
    _put "table3.n_children.n_control" r(sum)
    _put "table3.n_children.pct_control" 100*r(mean)
    quietly tabulate n_children _arm, chi2
    _put "table3.n_children.chi2" r(chi2)
    _put "table3.n_children.p" r(p)
}
else {
    quietly summarize n_children
    _put "table3.n_children.mean_total" r(mean)
    _put "table3.n_children.sd_total" r(sd)
    quietly summarize n_children if _arm == 1
    _put "table3.n_children.mean_treated" r(mean)
    _put "table3.n_children.sd_treated" r(sd)
    quietly summarize n_children if _arm == 0
    _put "table3.n_children.mean_control" r(mean)
    _put "table3.n_children.sd_control" r(sd)
    quietly ttest n_children, by(_arm)
    _put "table3.n_children.t" r(t)
    _put "table3.n_children.p" r(p)
}
capture assert inlist(immigrant, 0, 1)
if !_rc {
    quietly summarize immigrant
    _put "table3.immigrant.n_total" r(sum)
    _put "table3.immigrant.pct_total" 100*r(mean)
    quietly summarize immigrant if _arm == 1
    _put "table3.immigrant.n_treated" r(sum)
    _put "table3.immigrant.pct_treated" 100*r(mean)
    quietly summarize immigrant if _arm == 0
    _put "table3.immigrant.n_control" r(sum)
    _put "table3.immigrant.pct_control" 100*r(mean)
    quietly tabulate immigrant _arm, chi2
    _put "table3.immigrant.chi2" r(chi2)
    _put "table3.immigrant.p" r(p)
}
else {
    quietly summarize immigrant
    _put "table3.immigrant.mean_total" r(mean)
    _put "table3.immigrant.sd_total" r(sd)
    quietly summarize immigrant if _arm == 1
    _put "table3.immigrant.mean_treated" r(mean)
    _put "table3.immigrant.sd_treated" r(sd)
    quietly summarize immigrant if _arm == 0
    _put "table3.immigrant.mean_control" r(mean)
    _put "table3.immigrant.sd_control" r(sd)
    quietly ttest immigrant, by(_arm)
    _put "table3.immigrant.t" r(t)
    _put "table3.immigrant.p" r(p)
}
capture assert inlist(reduced_work_capacity, 0, 1)
if !_rc {
    quietly summarize reduced_work_capacity
    _put "table3.reduced_work_capacity.n_total" r(sum)
    _put "table3.reduced_work_capacity.pct_total" 100*r(mean)
    quietly summarize reduced_work_capacity if _arm == 1
    _put "table3.reduced_work_capacity.n_treated" r(sum)
    _put "table3.reduced_work_capacity.pct_treated" 100*r(mean)
    quietly summarize reduced_work_capacity if _arm == 0
    _put "table3.reduced_work_capacity.n_control" r(sum)
    _put "table3.reduced_work_capacity.pct_control" 100*r(mean)
    quietly tabulate reduced_work_capacity _arm, chi2
    _put "table3.reduced_work_capacity.chi2" r(chi2)
    _put "table3.reduced_work_capacity.p" r(p)
}
else {
    quietly summarize reduced_work_capacity
    _put "table3.reduced_work_capacity.mean_total" r(mean)
    _put "table3.reduced_work_capacity.sd_total" r(sd)
    quietly summarize reduced_work_capacity if _arm == 1
    _put "table3.reduced_work_capacity.mean_treated" r(mean)
    _put "table3.reduced_work_capacity.sd_treated" r(sd)
    quietly summarize reduced_work_capacity if _arm == 0
    _put "table3.reduced_work_capacity.mean_control" r(mean)
    _put "table3.reduced_work_capacity.sd_control" r(sd)
    quietly ttest reduced_work_capacity, by(_arm)
    _put "table3.reduced_work_capacity.t" r(t)
    _put "table3.reduced_work_capacity.p" r(p)
}
capture assert inlist(activation, 0, 1)
if !_rc {
    quietly summarize activation
    _put "table3.activation.n_total" r(sum)
    _put "table3.activation.pct_total" 100*r(mean)
    quietly summarize activation if _arm == 1
    _put "table3.activation.n_treated" r(sum)
    _put "table3.activation.pct_treated" 100*r(mean)
    quietly summarize activation if _arm == 0
    _put "table3.activation.n_control" r(sum)
    _put "table3.activation.pct_control" 100*r(mean)
    quietly tabulate activation _arm, chi2
    _put "table3.activation.chi2" r(chi2)
    _put "table3.activation.p" r(p)
}
else {
    quietly summarize activation
    _put "table3.activation.mean_total" r(mean)
    _put "table3.activation.sd_total" r(sd)
    quietly summarize activation if _arm == 1
    _put "table3.activation.mean_treated" r(mean)
    _put "table3.activation.sd_treated" r(sd)
    quietly summarize activation if _arm == 0
    _put "table3.activation.mean_control" r(mean)
    _put "table3.activation.sd_control" r(sd)
    quietly ttest activation, by(_arm)
    _put "table3.activation.t" r(t)
    _put "table3.activation.p" r(p)
}
capture assert inlist(employed, 0, 1)
if !_rc {
    quietly summarize employed
    _put "table3.employed.n_total" r(sum)
    _put "table3.employed.pct_total" 100*r(mean)
    quietly summarize employed if _arm == 1
    _put "table3.employed.n_treated" r(sum)
    _put "table3.employed.pct_treated" 100*r(mean)
    quietly summarize employed if _arm == 0
    _put "table3.employed.n_control" r(sum)
    _put "table3.employed.pct_control" 100*r(mean)
    quietly tabulate employed _arm, chi2
    _put "table3.employed.chi2" r(chi2)
    _put "table3.employed.p" r(p)
}
else {
    quietly summarize employed
    _put "table3.employed.mean_total" r(mean)
    _put "table3.employed.sd_total" r(sd)
    quietly summarize employed if _arm == 1
    _put "table3.employed.mean_treated" r(mean)
    _put "table3.employed.sd_treated" r(sd)
    quietly summarize employed if _arm == 0
    _put "table3.employed.mean_control" r(mean)
    _put "table3.employed.sd_control" r(sd)
    quietly ttest employed, by(_arm)
    _put "table3.employed.t" r(t)
    _put "table3.employed.p" r(p)
}
quietly correlate _arm female year_of_birth married n_children immigrant reduced_work_capacity activation employed
matrix _C = r(C)
_put "table4.female.experimental" _C[2, 1]
_put "table4.year_of_birth.experimental" _C[3, 1]
_put "table4.year_of_birth.female" _C[3, 2]
_put "table4.married.experimental" _C[4, 1]
_put "table4.married.female" _C[4, 2]
_put "table4.married.year_of_birth" _C[4, 3]
_put "table4.n_children.experimental" _C[5, 1]
_put "table4.n_children.female" _C[5, 2]
_put "table4.n_children.year_of_birth" _C[5, 3]
_put "table4.n_children.married" _C[5, 4]
_put "table4.immigrant.experimental" _C[6, 1]
_put "table4.immigrant.female" _C[6, 2]
_put "table4.immigrant.year_of_birth" _C[6, 3]
_put "table4.immigrant.married" _C[6, 4]
_put "table4.immigrant.n_children" _C[6, 5]
_put "table4.reduced_work_capacity.experimental" _C[7, 1]
_put "table4.reduced_work_capacity.female" _C[7, 2]
_put "table4.reduced_work_capacity.year_of_birth" _C[7, 3]
_put "table4.reduced_work_capacity.married" _C[7, 4]
_put "table4.reduced_work_capacity.n_children" _C[7, 5]
_put "table4.reduced_work_capacity.immigrant" _C[7, 6]
_put "table4.activation.experimental" _C[8, 1]
_put "table4.activation.female" _C[8, 2]
_put "table4.activation.year_of_birth" _C[8, 3]
_put "table4.activation.married" _C[8, 4]
_put "table4.activation.n_children" _C[8, 5]
_put "table4.activation.immigrant" _C[8, 6]
_put "table4.activation.reduced_work_capacity" _C[8, 7]
_put "table4.employed.experimental" _C[9, 1]
_put "table4.employed.female" _C[9, 2]
_put "table4.employed.year_of_birth" _C[9, 3]
_put "table4.employed.married" _C[9, 4]
_put "table4.employed.n_children" _C[9, 5]
_put "table4.employed.immigrant" _C[9, 6]
_put "table4.employed.reduced_work_capacity" _C[9, 7]
_put "table4.employed.activation" _C[9, 8]
restore

* ---- the fixed-effects models: exact conditional logit, cluster-robust (G/(G-1)) ----
generate byte coordinator_pooled = _arm * (_m >= ym(2016, 10))
generate byte coordinator_local = _arm * (_m >= ym(2016, 10)) * (_variant == "local")
generate byte coordinator_holf = _arm * (_m >= ym(2016, 10)) * (_variant == "holf")
quietly summarize _m
generate double trend = _m - r(min)   // months since the panel's first month
* model1 (table5)
clogit activation coordinator_pooled n_children married reduced_work_capacity trend, group(parent_id) vce(cluster office) or
_put "table5.model1.coordinator_pooled.or" exp(_b[coordinator_pooled])
_put "table5.model1.coordinator_pooled.se" exp(_b[coordinator_pooled]) * _se[coordinator_pooled]
_put "table5.model1.coordinator_pooled.ci_low" exp(_b[coordinator_pooled] - `z' * _se[coordinator_pooled])
_put "table5.model1.coordinator_pooled.ci_high" exp(_b[coordinator_pooled] + `z' * _se[coordinator_pooled])
_put "table5.model1.n_children.or" exp(_b[n_children])
_put "table5.model1.n_children.se" exp(_b[n_children]) * _se[n_children]
_put "table5.model1.n_children.ci_low" exp(_b[n_children] - `z' * _se[n_children])
_put "table5.model1.n_children.ci_high" exp(_b[n_children] + `z' * _se[n_children])
_put "table5.model1.married.or" exp(_b[married])
_put "table5.model1.married.se" exp(_b[married]) * _se[married]
_put "table5.model1.married.ci_low" exp(_b[married] - `z' * _se[married])
_put "table5.model1.married.ci_high" exp(_b[married] + `z' * _se[married])
_put "table5.model1.reduced_work_capacity.or" exp(_b[reduced_work_capacity])
_put "table5.model1.reduced_work_capacity.se" exp(_b[reduced_work_capacity]) * _se[reduced_work_capacity]
_put "table5.model1.reduced_work_capacity.ci_low" exp(_b[reduced_work_capacity] - `z' * _se[reduced_work_capacity])
_put "table5.model1.reduced_work_capacity.ci_high" exp(_b[reduced_work_capacity] + `z' * _se[reduced_work_capacity])
_put "table5.model1.trend.or" exp(_b[trend])
_put "table5.model1.trend.se" exp(_b[trend]) * _se[trend]
_put "table5.model1.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table5.model1.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table5.model1.pseudo_r2" e(r2_p)
* the plan's few-cluster inference for model1: the wild cluster score bootstrap
boottest coordinator_pooled, weight(rademacher) reps(9999) seed(20161001) nograph
file write spec `"# boottest model1 coordinator_pooled: p = `=r(p)'"' _n
* model2 (table5)
clogit activation coordinator_local coordinator_holf n_children married reduced_work_capacity trend, group(parent_id) vce(cluster office) or
_put "table5.model2.coordinator_local.or" exp(_b[coordinator_local])
_put "table5.model2.coordinator_local.se" exp(_b[coordinator_local]) * _se[coordinator_local]
_put "table5.model2.coordinator_local.ci_low" exp(_b[coordinator_local] - `z' * _se[coordinator_local])
_put "table5.model2.coordinator_local.ci_high" exp(_b[coordinator_local] + `z' * _se[coordinator_local])
_put "table5.model2.coordinator_holf.or" exp(_b[coordinator_holf])
_put "table5.model2.coordinator_holf.se" exp(_b[coordinator_holf]) * _se[coordinator_holf]
_put "table5.model2.coordinator_holf.ci_low" exp(_b[coordinator_holf] - `z' * _se[coordinator_holf])
_put "table5.model2.coordinator_holf.ci_high" exp(_b[coordinator_holf] + `z' * _se[coordinator_holf])
_put "table5.model2.n_children.or" exp(_b[n_children])
_put "table5.model2.n_children.se" exp(_b[n_children]) * _se[n_children]
_put "table5.model2.n_children.ci_low" exp(_b[n_children] - `z' * _se[n_children])
_put "table5.model2.n_children.ci_high" exp(_b[n_children] + `z' * _se[n_children])
_put "table5.model2.married.or" exp(_b[married])
_put "table5.model2.married.se" exp(_b[married]) * _se[married]
_put "table5.model2.married.ci_low" exp(_b[married] - `z' * _se[married])
_put "table5.model2.married.ci_high" exp(_b[married] + `z' * _se[married])
_put "table5.model2.reduced_work_capacity.or" exp(_b[reduced_work_capacity])
_put "table5.model2.reduced_work_capacity.se" exp(_b[reduced_work_capacity]) * _se[reduced_work_capacity]
_put "table5.model2.reduced_work_capacity.ci_low" exp(_b[reduced_work_capacity] - `z' * _se[reduced_work_capacity])
_put "table5.model2.reduced_work_capacity.ci_high" exp(_b[reduced_work_capacity] + `z' * _se[reduced_work_capacity])
_put "table5.model2.trend.or" exp(_b[trend])
_put "table5.model2.trend.se" exp(_b[trend]) * _se[trend]
_put "table5.model2.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table5.model2.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table5.model2.pseudo_r2" e(r2_p)
* model3 (table6)
clogit employed coordinator_pooled n_children married reduced_work_capacity trend, group(parent_id) vce(cluster office) or
_put "table6.model3.coordinator_pooled.or" exp(_b[coordinator_pooled])
_put "table6.model3.coordinator_pooled.se" exp(_b[coordinator_pooled]) * _se[coordinator_pooled]
_put "table6.model3.coordinator_pooled.ci_low" exp(_b[coordinator_pooled] - `z' * _se[coordinator_pooled])
_put "table6.model3.coordinator_pooled.ci_high" exp(_b[coordinator_pooled] + `z' * _se[coordinator_pooled])
_put "table6.model3.n_children.or" exp(_b[n_children])
_put "table6.model3.n_children.se" exp(_b[n_children]) * _se[n_children]
_put "table6.model3.n_children.ci_low" exp(_b[n_children] - `z' * _se[n_children])
_put "table6.model3.n_children.ci_high" exp(_b[n_children] + `z' * _se[n_children])
_put "table6.model3.married.or" exp(_b[married])
_put "table6.model3.married.se" exp(_b[married]) * _se[married]
_put "table6.model3.married.ci_low" exp(_b[married] - `z' * _se[married])
_put "table6.model3.married.ci_high" exp(_b[married] + `z' * _se[married])
_put "table6.model3.reduced_work_capacity.or" exp(_b[reduced_work_capacity])
_put "table6.model3.reduced_work_capacity.se" exp(_b[reduced_work_capacity]) * _se[reduced_work_capacity]
_put "table6.model3.reduced_work_capacity.ci_low" exp(_b[reduced_work_capacity] - `z' * _se[reduced_work_capacity])
_put "table6.model3.reduced_work_capacity.ci_high" exp(_b[reduced_work_capacity] + `z' * _se[reduced_work_capacity])
_put "table6.model3.trend.or" exp(_b[trend])
_put "table6.model3.trend.se" exp(_b[trend]) * _se[trend]
_put "table6.model3.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table6.model3.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table6.model3.pseudo_r2" e(r2_p)
* the plan's few-cluster inference for model3: the wild cluster score bootstrap
boottest coordinator_pooled, weight(rademacher) reps(9999) seed(20161001) nograph
file write spec `"# boottest model3 coordinator_pooled: p = `=r(p)'"' _n
* model4 (table6)
clogit employed coordinator_local coordinator_holf n_children married reduced_work_capacity trend, group(parent_id) vce(cluster office) or
_put "table6.model4.coordinator_local.or" exp(_b[coordinator_local])
_put "table6.model4.coordinator_local.se" exp(_b[coordinator_local]) * _se[coordinator_local]
_put "table6.model4.coordinator_local.ci_low" exp(_b[coordinator_local] - `z' * _se[coordinator_local])
_put "table6.model4.coordinator_local.ci_high" exp(_b[coordinator_local] + `z' * _se[coordinator_local])
_put "table6.model4.coordinator_holf.or" exp(_b[coordinator_holf])
_put "table6.model4.coordinator_holf.se" exp(_b[coordinator_holf]) * _se[coordinator_holf]
_put "table6.model4.coordinator_holf.ci_low" exp(_b[coordinator_holf] - `z' * _se[coordinator_holf])
_put "table6.model4.coordinator_holf.ci_high" exp(_b[coordinator_holf] + `z' * _se[coordinator_holf])
_put "table6.model4.n_children.or" exp(_b[n_children])
_put "table6.model4.n_children.se" exp(_b[n_children]) * _se[n_children]
_put "table6.model4.n_children.ci_low" exp(_b[n_children] - `z' * _se[n_children])
_put "table6.model4.n_children.ci_high" exp(_b[n_children] + `z' * _se[n_children])
_put "table6.model4.married.or" exp(_b[married])
_put "table6.model4.married.se" exp(_b[married]) * _se[married]
_put "table6.model4.married.ci_low" exp(_b[married] - `z' * _se[married])
_put "table6.model4.married.ci_high" exp(_b[married] + `z' * _se[married])
_put "table6.model4.reduced_work_capacity.or" exp(_b[reduced_work_capacity])
_put "table6.model4.reduced_work_capacity.se" exp(_b[reduced_work_capacity]) * _se[reduced_work_capacity]
_put "table6.model4.reduced_work_capacity.ci_low" exp(_b[reduced_work_capacity] - `z' * _se[reduced_work_capacity])
_put "table6.model4.reduced_work_capacity.ci_high" exp(_b[reduced_work_capacity] + `z' * _se[reduced_work_capacity])
_put "table6.model4.trend.or" exp(_b[trend])
_put "table6.model4.trend.se" exp(_b[trend]) * _se[trend]
_put "table6.model4.trend.ci_low" exp(_b[trend] - `z' * _se[trend])
_put "table6.model4.trend.ci_high" exp(_b[trend] + `z' * _se[trend])
_put "table6.model4.pseudo_r2" e(r2_p)

* ---- the monthly series: one logit per month, baseline controls, Holm and BH over months ----
* series activation: activation
preserve
keep if _m == ym(2016, 10)
keep parent_id reduced_work_capacity activation employed
foreach v of varlist reduced_work_capacity activation employed {
    rename `v' `v'_baseline
}
tempfile base
save `base'
restore
tempname post
tempfile months
postfile `post' str7 month double(b se) using `months'
levelsof _m if _m >= ym(2016, 10), local(fitted)
foreach t of local fitted {
    preserve
    quietly keep if _m == `t'
    quietly merge 1:1 parent_id using `base', keep(match) nogenerate
    local controls reduced_work_capacity_baseline activation_baseline employed_baseline
    if `t' == ym(2016, 10) local controls : subinstr local controls "activation_baseline" ""
    quietly logit activation _arm `controls', vce(cluster office)
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
    local key = "monthly.activation." + month[`i']
    _put "`key'.or" exp(b[`i'])
    _put "`key'.ci_low" exp(b[`i'] - `z' * se[`i'])
    _put "`key'.ci_high" exp(b[`i'] + `z' * se[`i'])
    if p[`i'] < 0.05 local significant = cond("`significant'" == "", month[`i'], "`significant'," + month[`i'])
}
file write spec `""monthly.activation.significant_months" = { value = "`significant'", printed = "`significant'" }"' _n
restore

* series employment: employed
preserve
keep if _m == ym(2016, 10)
keep parent_id reduced_work_capacity activation employed
foreach v of varlist reduced_work_capacity activation employed {
    rename `v' `v'_baseline
}
tempfile base
save `base'
restore
tempname post
tempfile months
postfile `post' str7 month double(b se) using `months'
levelsof _m if _m >= ym(2016, 10), local(fitted)
foreach t of local fitted {
    preserve
    quietly keep if _m == `t'
    quietly merge 1:1 parent_id using `base', keep(match) nogenerate
    local controls reduced_work_capacity_baseline activation_baseline employed_baseline
    if `t' == ym(2016, 10) local controls : subinstr local controls "employed_baseline" ""
    quietly logit employed _arm `controls', vce(cluster office)
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
    local key = "monthly.employment." + month[`i']
    _put "`key'.or" exp(b[`i'])
    _put "`key'.ci_low" exp(b[`i'] - `z' * se[`i'])
    _put "`key'.ci_high" exp(b[`i'] + `z' * se[`i'])
    if p[`i'] < 0.05 local significant = cond("`significant'" == "", month[`i'], "`significant'," + month[`i'])
}
file write spec `""monthly.employment.significant_months" = { value = "`significant'", printed = "`significant'" }"' _n
restore

file close spec
display as text "wrote `specfile'"
