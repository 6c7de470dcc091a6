"""The R translation of a plan (``famtrial export --to r``): one self-contained script.

The script sets the plan's values (columns, codes, months, rule, models, series) in its first lines
and runs the analysis below them, written once for every plan:

- the sample rule (offices whose control share of families or parents is at least the threshold);
- Table 3/4's balance (``chisq.test(correct = FALSE)``, ``t.test(var.equal = TRUE)``) and ``cor``;
- each fixed-effects model with ``survival::clogit(method = "exact")`` and, because ``coxph`` refuses
  ``robust = TRUE`` with the exact likelihood, the cluster-robust covariance computed in the script
  from each parent's score of the exact conditional likelihood,
  ``V = G/(G-1) B (sum_g u_g u_g') B`` (Stata's ``vce(cluster)``; ``B`` = ``vcov(fit)``);
- each monthly series with ``glm(family = binomial)`` and ``sandwich::vcovCL(type = "HC0")``
  (``cadjust = TRUE``: the same ``G/(G-1)``), Holm and BH with ``p.adjust``.

It writes its numbers in famtrial's spec format under the same keys as ``reproduced.csv``, at ten
decimals, with a spec-wide tolerance of 1e-6 (``[tolerances] "*"``); the monthly p-values (raw, Holm,
BH), which famtrial writes to ``monthly_<series>.csv`` rather than ``reproduced.csv``, go under
``[context]`` (read, not compared, by ``famtrial verify``).
"""

from __future__ import annotations

from famtrial.export.recipe import Recipe

__all__ = ["script"]


def _str(value: str | None) -> str:
    """An R string literal (``NA`` for None)."""
    if value is None:
        return "NA_character_"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _vec(values: tuple[str, ...] | list[str]) -> str:
    """An R character vector."""
    return "character(0)" if not values else "c(" + ", ".join(_str(v) for v in values) + ")"


def _header(rec: Recipe, version: str) -> str:
    """The plan's values as R assignments."""
    variants = (
        "list(" + ", ".join(f"{_str(name)} = {_vec(codes)}" for name, codes in rec.variants) + ")"
        if rec.variants
        else "list()"
    )
    models = ",\n  ".join(
        f"list(name = {_str(m.name)}, table = {_str(m.table)}, outcome = {_str(m.outcome)}, terms = {_vec(m.terms)}, treatment = {_str(m.treatment)}, covariates = {_vec(m.covariates)}, time = {_str(m.time)}, cluster = {_str(m.cluster)})"
        for m in rec.models
    )
    series = ",\n  ".join(
        "list(name = {}, outcome = {}, base_vars = {}, own_baseline = {}, office_effects = {})".format(
            _str(s.name),
            _str(s.outcome),
            _vec(s.base_vars),
            "TRUE" if s.own_baseline else "FALSE",
            "TRUE" if s.office_effects else "FALSE",
        )
        for s in rec.series
    )
    keys = ", ".join(f"{_str(col)} = {_str(key)}" for col, key in rec.keys)
    sample_keys = ", ".join(f"{role} = {_str(word)}" for role, word in rec.sample_keys)
    return f"""# famtrial export --to r: the analysis plan {rec.plan_name!r} as an R script.
# Written by famtrial {version} from the plan with canonical hash {rec.plan_hash}.
# Run:  Rscript THIS_FILE [DATA_FILE] [SPEC_FILE]
#   DATA_FILE: the panel (.csv; .dta with haven or foreign; .parquet with arrow), default below.
#   SPEC_FILE: where the numbers go, in famtrial's published-number spec format (default r_spec.toml);
#   compare them with famtrial's: famtrial verify --results RESULTS_DIR --spec SPEC_FILE
# Needs R >= 4.0 with the packages survival and sandwich.
# The few-cluster score bootstrap of the plan's inference.models is not translated to R (the
# do-file runs boottest); every other number of famtrial reproduce is.

suppressPackageStartupMessages({{
  library(survival)
  library(sandwich)
}})

# ---- the plan (famtrial export wrote these from the plan; the analysis below reads only them) ----
DATA_FILE <- {_str(rec.data)}
COL <- list(parent = {_str(rec.parent)}, family = {_str(rec.family)}, office = {_str(rec.office)},
            month = {_str(rec.month)}, arm = {_str(rec.arm)}, variant = {_str(rec.variant)})
OFFERED <- {_str(rec.offered)}   # the arm column's codes, compared as text
CONTROL <- {_str(rec.control)}
VARIANTS <- {variants}   # variant -> its codes (as text)
VARIANT_CONTROL <- {_vec(list(rec.variant_control))}
IMPLEMENTATION <- {_str(rec.implementation)}
BASELINE <- {_str(rec.baseline)}
FIRST_MONTH <- {_str(rec.first)}
LAST_MONTH <- {_str(rec.last)}
SAMPLE_RULE <- {_str(rec.sample_rule)}
THRESHOLD <- {rec.threshold!r}   # {rec.threshold_text}
SAMPLE_UNIT <- {_str(rec.sample_unit)}
SAMPLE_TABLE <- {_str(rec.sample_table)}
KEY <- list({sample_keys})   # the plan's words in the sample's keys
KEYS <- c({keys})   # column -> plan key (the spec's keys)
BALANCE_TABLE <- {_str(rec.balance_table)}
BALANCE_VARIABLES <- {_vec(list(rec.balance_variables))}
CORRELATIONS_TABLE <- {_str(rec.correlations_table)}
TREATMENT <- {_str(rec.treatment)}
MODELS <- list(
  {models}
)
SERIES <- list(
  {series}
)
ALPHA <- {rec.alpha!r}
"""


_BODY = r"""
# ---- reading ---------------------------------------------------------------------------------
args <- commandArgs(trailingOnly = TRUE)
data_file <- if (length(args) >= 1) args[[1]] else DATA_FILE
spec_file <- if (length(args) >= 2) args[[2]] else "r_spec.toml"

read_panel <- function(path) {
  ext <- tolower(tools::file_ext(path))
  if (ext == "csv") return(read.csv(path, stringsAsFactors = FALSE, check.names = FALSE))
  if (ext == "dta") {
    if (requireNamespace("haven", quietly = TRUE)) return(as.data.frame(haven::zap_labels(haven::read_dta(path))))
    return(foreign::read.dta(path, convert.factors = FALSE))
  }
  if (ext == "parquet") {
    if (!requireNamespace("arrow", quietly = TRUE))
      stop("reading ", path, " needs the R package arrow (or save the panel as CSV and pass that file)")
    return(as.data.frame(arrow::read_parquet(path)))
  }
  stop("unsupported data file ", path, ": give a .csv, .dta or .parquet file")
}

# months as integers: year * 12 + (month - 1), from "YYYY-MM[-DD]" text, YYYYMM numbers or dates
month_index <- function(x) {
  if (inherits(x, "Date") || inherits(x, "POSIXt")) x <- format(x, "%Y-%m")
  if (is.numeric(x)) {
    y <- x %/% 100
    m <- x %% 100
  } else {
    s <- substr(as.character(x), 1, 7)
    y <- suppressWarnings(as.integer(substr(s, 1, 4)))
    m <- suppressWarnings(as.integer(substr(s, 6, 7)))
  }
  bad <- is.na(y) | is.na(m) | m < 1 | m > 12
  if (any(bad)) stop(sum(bad), " month value(s) are not YYYY-MM or YYYYMM, e.g. ", x[which(bad)[1]])
  as.integer(y * 12 + (m - 1))
}
month_label <- function(i) sprintf("%04d-%02d", i %/% 12L, i %% 12L + 1L)

d <- read_panel(data_file)
needed <- unique(c(unlist(COL[!is.na(unlist(COL))]), names(KEYS)))
missing_cols <- setdiff(needed, names(d))
if (length(missing_cols)) stop("the data lack the plan's column(s): ", paste(missing_cols, collapse = ", "))
d$.m <- month_index(d[[COL$month]])
if (!is.na(FIRST_MONTH)) d <- d[d$.m >= month_index(FIRST_MONTH), ]
if (!is.na(LAST_MONTH)) d <- d[d$.m <= month_index(LAST_MONTH), ]
arm_code <- as.character(d[[COL$arm]])
d$.arm <- ifelse(arm_code == OFFERED, 1L, ifelse(arm_code == CONTROL, 0L, NA_integer_))
if (anyNA(d$.arm)) stop(sum(is.na(d$.arm)), " row(s) have an arm code other than ", OFFERED, " or ", CONTROL)
if (length(VARIANTS)) {
  code <- as.character(d[[COL$variant]])
  d$.variant <- ifelse(code %in% VARIANT_CONTROL, "control", NA_character_)
  for (v in names(VARIANTS)) d$.variant[code %in% VARIANTS[[v]]] <- v
  if (anyNA(d$.variant)) stop(sum(is.na(d$.variant)), " row(s) have a variant code the plan does not list")
}

numbers <- list()
context <- list()   # numbers famtrial reports outside reproduced.csv (the monthly p-values: monthly_<series>.csv)
put <- function(key, value) {
  if (length(value) == 1 && !is.na(value)) numbers[[key]] <<- value
}
key_of <- function(column) if (column %in% names(KEYS)) KEYS[[column]] else column

# ---- the sample rule (Table 2): an office is analysed when its control share >= THRESHOLD ------------
n_distinct <- function(x) length(unique(x))
unit_col <- if (SAMPLE_UNIT == "family") COL$family else COL$parent
offices <- sort(unique(d[[COL$office]]))
included <- character(0)
for (o in offices) {
  rows <- d[[COL$office]] == o
  u1 <- n_distinct(d[[unit_col]][rows & d$.arm == 1L])
  u0 <- n_distinct(d[[unit_col]][rows & d$.arm == 0L])
  keep <- SAMPLE_RULE == "none" || (u0 / (u1 + u0) >= THRESHOLD)
  label <- as.character(o)
  put(sprintf("%s.%s_%s.%s", SAMPLE_TABLE, KEY$office, label, KEY$offered), n_distinct(d[[COL$parent]][rows & d$.arm == 1L]))
  put(sprintf("%s.%s_%s.%s", SAMPLE_TABLE, KEY$office, label, KEY$control), n_distinct(d[[COL$parent]][rows & d$.arm == 0L]))
  put(sprintf("%s.%s_%s.included", SAMPLE_TABLE, KEY$office, label), as.numeric(keep))
  if (keep) included <- c(included, label)
}
in_sample <- as.character(d[[COL$office]]) %in% included
a <- d[in_sample, ]
put(sprintf("sample.%s_included", KEY$offices), length(included))
put(sprintf("sample.%s_treated", KEY$parents), n_distinct(a[[COL$parent]][a$.arm == 1L]))
put(sprintf("sample.%s_control", KEY$parents), n_distinct(a[[COL$parent]][a$.arm == 0L]))
put(sprintf("sample.%s_included", KEY$parents), n_distinct(a[[COL$parent]]))
put(sprintf("sample.%s_treated", KEY$families), n_distinct(a[[COL$family]][a$.arm == 1L]))
put(sprintf("sample.%s_control", KEY$families), n_distinct(a[[COL$family]][a$.arm == 0L]))
put(sprintf("sample.%s_excluded", KEY$parents), n_distinct(d[[COL$parent]][!in_sample]))

# ---- baseline balance (Table 3) and correlations (Table 4) -----------------------------------------
b <- a[a$.m == month_index(BASELINE), ]
put(sprintf("%s.n.total", BALANCE_TABLE), nrow(b))
put(sprintf("%s.n.treated", BALANCE_TABLE), sum(b$.arm == 1L))
put(sprintf("%s.n.control", BALANCE_TABLE), sum(b$.arm == 0L))
for (v in BALANCE_VARIABLES) {
  x <- as.numeric(b[[v]]); x1 <- x[b$.arm == 1L]; x0 <- x[b$.arm == 0L]
  k <- sprintf("%s.%s", BALANCE_TABLE, key_of(v))
  if (all(x %in% c(0, 1))) {   # binary: count (%), Pearson chi2 without continuity correction
    for (g in list(list("total", x), list("treated", x1), list("control", x0))) {
      put(sprintf("%s.n_%s", k, g[[1]]), sum(g[[2]]))
      put(sprintf("%s.pct_%s", k, g[[1]]), 100 * mean(g[[2]]))
    }
    tab <- matrix(c(sum(x1), length(x1) - sum(x1), sum(x0), length(x0) - sum(x0)), 2, byrow = TRUE)
    if (all(colSums(tab) > 0)) {
      test <- suppressWarnings(chisq.test(tab, correct = FALSE))
      put(paste0(k, ".chi2"), unname(test$statistic)); put(paste0(k, ".p"), test$p.value)
    }
  } else {                       # continuous: mean (SD), t with equal variances (control - offered, as Stata)
    for (g in list(list("total", x), list("treated", x1), list("control", x0))) {
      put(sprintf("%s.mean_%s", k, g[[1]]), mean(g[[2]]))
      put(sprintf("%s.sd_%s", k, g[[1]]), sd(g[[2]]))
    }
    test <- t.test(x0, x1, var.equal = TRUE)
    put(paste0(k, ".t"), unname(test$statistic)); put(paste0(k, ".p"), test$p.value)
  }
}
cm <- cor(cbind(experimental = b$.arm, as.matrix(b[, BALANCE_VARIABLES, drop = FALSE])))
cnames <- c("experimental", vapply(BALANCE_VARIABLES, key_of, ""))
for (i in seq_along(cnames)) for (j in seq_len(i - 1))
  put(sprintf("%s.%s.%s", CORRELATIONS_TABLE, cnames[i], cnames[j]), cm[i, j])

# ---- the fixed-effects models (Tables 5-6) ---------------------------------------------------------
post <- as.integer(a$.m >= month_index(IMPLEMENTATION))
a[[paste0(TREATMENT, "_pooled")]] <- a$.arm * post
for (v in names(VARIANTS)) a[[paste0(TREATMENT, "_", v)]] <- a$.arm * post * (a$.variant == v)
a$trend <- as.numeric(a$.m - min(a$.m))   # months since the panel's first month
months_all <- sort(unique(a$.m))
for (m in months_all[-1]) a[[sprintf("%s[%s]", COL$month, month_label(m))]] <- as.numeric(a$.m == m)

# Each parent's score of the exact conditional likelihood at beta: for a parent with rows t = 1..n
# and k = sum(y) events, u = sum_t y_t x_t - E[sum_t y_t x_t | sum_t y_t = k], the expectation over
# every way of choosing k of the n rows with weights exp(x_t' beta). R's coxph refuses robust = TRUE
# with method = "exact" (its score residuals are for the Breslow/Efron partial likelihoods), so the
# scores are computed here by the recursion over rows: S[j, m] = sum over m-subsets of rows 1..j of
# the product of weights, and its gradient G[j, m, ] (Gail, Lubin and Rubinstein 1981).
exact_scores <- function(X, y, group, beta) {
  eta <- drop(X %*% beta)
  scores <- matrix(0, length(unique(group)), ncol(X), dimnames = list(as.character(unique(group)), colnames(X)))
  for (gi in split(seq_along(y), group)) {
    k <- sum(y[gi]); n <- length(gi)
    if (k == 0 || k == n) next
    w <- exp(eta[gi] - max(eta[gi]))   # a common factor cancels in the ratio below
    S <- c(1, rep(0, k)); G <- matrix(0, k + 1, ncol(X))
    for (j in seq_len(n)) {
      xj <- X[gi[j], ]
      G[2:(k + 1), ] <- G[2:(k + 1), ] + w[j] * (G[1:k, , drop = FALSE] + outer(S[1:k], xj))
      S[2:(k + 1)] <- S[2:(k + 1)] + w[j] * S[1:k]
    }
    scores[as.character(group[gi[1]]), ] <- colSums(X[gi, , drop = FALSE] * y[gi]) - G[k + 1, ] / S[k + 1]
  }
  scores
}

# One fixed-effects model: y on the columns of X within the groups g by clogit(method = "exact") and,
# given each row's cluster, the cluster-robust covariance from the groups' exact scores (Stata's
# clogit y X, group(g) vce(cluster cluster)); without it, the model-based covariance (Stata's default).
# famtrial's tests run this function, as written here, on the data of a clogit whose Stata output is
# printed (tests/reference/stata_clogit_reference.R).
fit_clogit <- function(X, y, g, cluster = NULL) {
  frame <- data.frame(y = y, g = g, X, check.names = FALSE)
  formula <- as.formula(paste("y ~", paste(colnames(X), collapse = " + "), "+ strata(g)"))
  fit <- clogit(formula, data = frame, method = "exact", control = coxph.control(eps = 1e-12, toler.chol = 1e-14, iter.max = 200))
  beta <- coef(fit)
  used <- !is.na(beta)   # a column clogit could not estimate (collinear) is left out, as famtrial drops it
  B <- fit$var[used, used, drop = FALSE]
  V <- B
  if (!is.null(cluster)) {
    U <- exact_scores(X[, used, drop = FALSE], frame$y, frame$g, beta[used])
    group_cluster <- tapply(as.character(cluster), frame$g, function(z) z[1])
    informative <- tapply(frame$y, frame$g, function(z) sum(z) > 0 && sum(z) < length(z))
    cl <- group_cluster[rownames(U)][informative[rownames(U)]]
    Ug <- rowsum(U[informative[rownames(U)], , drop = FALSE], cl)
    G <- nrow(Ug)
    V <- G / (G - 1) * B %*% crossprod(Ug) %*% B
  }
  list(fit = fit, beta = beta, used = used, B = B, V = V)
}

for (spec in MODELS) {
  regs <- c(spec$terms, spec$covariates)
  if (spec$time == "linear") regs <- c(regs, "trend")
  if (spec$time == "months") regs <- c(regs, sprintf("%s[%s]", COL$month, month_label(months_all[-1])))
  X <- as.matrix(a[, regs, drop = FALSE]); storage.mode(X) <- "double"
  colnames(X) <- paste0("x", seq_along(regs))
  m <- fit_clogit(X, as.numeric(a[[spec$outcome]]), a[[COL$parent]],
                  if (is.na(spec$cluster)) NULL else a[[spec$cluster]])
  fit <- m$fit; beta <- m$beta; used <- m$used; V <- m$V
  se <- sqrt(diag(V)); b_used <- beta[used]; z <- qnorm(1 - ALPHA / 2)
  for (i in seq_along(b_used)) {
    term <- regs[used][i]
    k <- sprintf("%s.%s.%s", spec$table, spec$name, key_of(term))
    put(paste0(k, ".or"), exp(b_used[i]))
    put(paste0(k, ".se"), exp(b_used[i]) * se[i])
    put(paste0(k, ".ci_low"), exp(b_used[i] - z * se[i]))
    put(paste0(k, ".ci_high"), exp(b_used[i] + z * se[i]))
  }
  put(sprintf("%s.%s.pseudo_r2", spec$table, spec$name), 1 - fit$loglik[2] / fit$loglik[1])
}

# ---- the monthly series (Figures 2-3): one logit per month, baseline controls, office clusters -----
base_month <- month_index(BASELINE)
for (s in SERIES) {
  base <- a[a$.m == base_month, c(COL$parent, s$base_vars), drop = FALSE]
  names(base) <- c(COL$parent, paste0(s$base_vars, "_baseline"))
  rows <- data.frame()
  for (m in months_all[months_all >= month_index(IMPLEMENTATION)]) {
    cross <- a[a$.m == m, c(COL$parent, COL$office, ".arm", s$outcome)]
    cross <- merge(cross, base, by = COL$parent, sort = FALSE)
    regs <- c(".arm", paste0(s$base_vars, "_baseline"))
    if (s$own_baseline && m == base_month) regs <- setdiff(regs, paste0(s$outcome, "_baseline"))
    if (s$office_effects) {   # office dummies; offices whose outcome is constant this month are dropped
      varies <- tapply(cross[[s$outcome]], cross[[COL$office]], function(z) length(unique(z)) > 1)
      cross <- cross[cross[[COL$office]] %in% names(varies)[varies], ]
    }
    X <- as.matrix(cross[, regs, drop = FALSE]); storage.mode(X) <- "double"
    if (s$office_effects) X <- cbind(X, model.matrix(~ factor(cross[[COL$office]]))[, -1, drop = FALSE])
    X <- cbind(`(Intercept)` = 1, X)
    y <- as.numeric(cross[[s$outcome]])
    fit <- glm.fit(X, y, family = binomial(), control = glm.control(epsilon = 1e-12, maxit = 100))
    keep <- !is.na(fit$coefficients)
    fit <- glm(y ~ X[, keep] - 1, family = binomial(), control = glm.control(epsilon = 1e-12, maxit = 100))
    V <- vcovCL(fit, cluster = cross[[COL$office]], type = "HC0")
    arm <- which(colnames(X)[keep] == ".arm")
    bm <- coef(fit)[arm]; sem <- sqrt(V[arm, arm])
    rows <- rbind(rows, data.frame(month = month_label(m), b = bm, se = sem, p = 2 * pnorm(-abs(bm / sem))))
  }
  rows$p_holm <- p.adjust(rows$p, method = "holm")
  rows$p_bh <- p.adjust(rows$p, method = "BH")
  z <- qnorm(1 - ALPHA / 2)
  for (i in seq_len(nrow(rows))) {
    k <- sprintf("monthly.%s.%s", s$name, rows$month[i])
    put(paste0(k, ".or"), exp(rows$b[i]))
    put(paste0(k, ".ci_low"), exp(rows$b[i] - z * rows$se[i]))
    put(paste0(k, ".ci_high"), exp(rows$b[i] + z * rows$se[i]))
    context[[paste0(k, ".p")]] <- rows$p[i]
    context[[paste0(k, ".p_holm")]] <- rows$p_holm[i]
    context[[paste0(k, ".p_bh")]] <- rows$p_bh[i]
  }
  numbers[[sprintf("monthly.%s.significant_months", s$name)]] <- paste(rows$month[rows$p < ALPHA], collapse = ",")
}

# ---- the spec: famtrial's published-number format (famtrial verify --spec) --------------------------
toml_string <- function(x) paste0('"', gsub('"', '\\"', gsub("\\", "\\\\", x, fixed = TRUE), fixed = TRUE), '"')
lines <- c(
  "# Numbers of the plan's analysis computed in R by the script famtrial export wrote.",
  "# Compare with famtrial's: famtrial verify --results RESULTS_DIR --spec THIS_FILE",
  "[meta]",
  paste0("title = ", toml_string(sprintf("R %s.%s (survival %s, sandwich %s)", R.version$major, R.version$minor,
                                         packageVersion("survival"), packageVersion("sandwich")))),
  paste0("source = ", toml_string(paste("famtrial export --to r;", basename(data_file)))),
  "",
  "[tolerances]",
  '"*" = { value = 1e-6, reason = "two implementations: the optimisers stop at different points below 1e-8" }',
  "",
  "[numbers]"
)
entry <- function(key, value) {
  if (is.character(value)) {
    text <- toml_string(value)
    return(sprintf("%s = { value = %s, printed = %s }", toml_string(key), text, text))
  }
  text <- formatC(value, format = "f", digits = 10)
  sprintf("%s = { value = %s, printed = \"%s\" }", toml_string(key), text, text)
}
for (key in names(numbers)) lines <- c(lines, entry(key, numbers[[key]]))
# [context]: printed by famtrial in monthly_<series>.csv (p, p_holm, p_bh), not compared by famtrial verify
lines <- c(lines, "", "[context]")
for (key in names(context)) lines <- c(lines, entry(key, context[[key]]))
writeLines(lines, spec_file)
cat("wrote", spec_file, "with", length(numbers), "numbers\n")
"""


def script(rec: Recipe, *, version: str) -> str:
    """The R script of a recipe: the plan's values, then the analysis.

    Parameters
    ----------
    rec : Recipe
        The plan's values (:func:`famtrial.export.recipe.recipe`).
    version : str
        famtrial's version, named in the header.

    Returns
    -------
    str
        The script's text.
    """
    return _header(rec, version) + _BODY
