# Reference values for famtrial's analyses beyond intention to treat (issue 26), from R.
# Run from the repository root:  Rscript tests/reference/beyond_itt_reference.R
# Needs r-cran-aer, r-cran-sandwich, r-cran-survival, r-cran-estimatr. Writes tests/reference/beyond_itt/*.csv.
#
# Data: the shipped synthetic replica (data/synthetic/trial_panel.csv) with a take-up and an entry month
# given by formulas of the family id (so Python builds the same columns without sharing random numbers):
#   accepted    = 1 if arm == 1 and (family_id * 37) %% 100 < 75, else 0        (about 75% take-up)
#   entry month = 2016-10 + (family_id * 13) %% 20 months                        (October 2016 .. May 2018)
# The analysis sample is the plan's exclusion rule written here again: an office is analysed when at
# least 1/3 of its families are controls.
#
# 1. CACE (cace_*.csv): the LPM with parent effects by the within transformation (parent-demeaned
#    variables), a linear trend or month dummies, covariates n_children, married, reduced_work_capacity.
#    AER::ivreg(y ~ d + x | z + x) and lm for the ITT and the first stage; sandwich::vcovCL(type = "HC0",
#    cadjust = TRUE) (CR0 x G/(G-1), clustered by office); estimatr::iv_robust(fixed_effects = ~parent,
#    se_type = "CR0") as a cross-check of the 2SLS point estimate. The Wald ratio ITT / (p1 - p0) with
#    the parents' take-up shares, its delta-method SE from cluster influence values written from the formula.
# 2. Monthly CACE (cace_monthly.csv): per month from 2016-10, ivreg(y ~ d + base | arm + base) with the
#    series' baseline controls (reduced_work_capacity, activation, employed in 2016-10; the outcome's own
#    baseline left out in the baseline month), vcovCL HC0 x G/(G-1).
# 3. Subgroups (subgroups_*.csv): survival::clogit(y ~ treat:factor(s) + x + trend + strata(parent),
#    method = "exact"), the cluster-robust covariance V0 (sum_g S_g S_g') V0 x G/(G-1) with V0 = vcov(fit)
#    and S_g the office sums of each parent's exact conditional score, computed here by the recursion
#    over subsets (not by survival); the heterogeneity Wald test (chi2 and F(q, G-1)); p.adjust Holm/BH.
# 4. Time since randomisation (since_*.csv): the same with one term per bin of months since entry
#    (0-5, 6-11, 12-17, 18+), and the Wald test of equal bins.
suppressPackageStartupMessages({
  library(AER)
  library(sandwich)
  library(survival)
  library(estimatr)
})
out <- "tests/reference/beyond_itt"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
versions <- sprintf("R %s; AER %s; sandwich %s; survival %s; estimatr %s",
                    paste(R.version$major, R.version$minor, sep = "."), packageVersion("AER"),
                    packageVersion("sandwich"), packageVersion("survival"), packageVersion("estimatr"))

raw <- read.csv("data/synthetic/trial_panel.csv", stringsAsFactors = FALSE)
raw$accepted <- as.integer(raw$arm == 1 & (raw$family_id * 37) %% 100 < 75)
ym <- function(s) { p <- as.integer(strsplit(s, "-")[[1]]); p[1] * 12 + p[2] - 1 }
raw$mo <- vapply(raw$month, ym, numeric(1))
raw$entry <- ym("2016-10") + (raw$family_id * 13) %% 20
# the exclusion rule: offices with at least 1/3 control families
fam <- unique(raw[, c("family_id", "office", "arm")])
share <- tapply(fam$arm == 0, fam$office, mean)
keep <- as.integer(names(share)[share >= 1 / 3])
d <- raw[raw$office %in% keep, ]
d <- d[order(d$parent_id, d$mo), ]
impl <- ym("2016-10")
d$z <- as.integer(d$arm == 1 & d$mo >= impl)
d$dd <- d$z * d$accepted
d$trend <- d$mo - min(d$mo)
xs <- c("n_children", "married", "reduced_work_capacity")
G <- length(unique(d$office))
cadj <- G / (G - 1)
cat("analysed offices:", sort(keep), "rows", nrow(d), "parents", length(unique(d$parent_id)), "\n")

demean <- function(v, g) v - ave(v, g)

# ---- 1. CACE ----------------------------------------------------------------------------------------
cace_one <- function(y, model, time) {
  w <- d[, xs]
  if (time == "linear") w$trend <- d$trend
  if (time == "months") {
    m <- model.matrix(~ factor(d$mo))[, -1, drop = FALSE]
    colnames(m) <- paste0("m", seq_len(ncol(m)))
    w <- cbind(w, m)
  }
  dm <- data.frame(lapply(cbind(data.frame(y = d[[y]], dd = d$dd, z = d$z), w), demean, g = d$parent_id))
  dm <- dm[, c(TRUE, TRUE, TRUE, vapply(dm[, -(1:3)], function(v) max(abs(v)) > 1e-12, logical(1)))]
  wn <- setdiff(names(dm), c("y", "dd", "z"))
  f_iv <- as.formula(paste("y ~ dd +", paste(wn, collapse = " + "), "- 1 | z +", paste(wn, collapse = " + "), "- 1"))
  iv <- ivreg(f_iv, data = dm)
  v_iv <- vcovCL(iv, cluster = d$office, type = "HC0", cadjust = TRUE)
  f_ols <- function(lhs) as.formula(paste(lhs, "~ z +", paste(wn, collapse = " + "), "- 1"))
  rf <- lm(f_ols("y"), data = dm)
  fs <- lm(f_ols("dd"), data = dm)
  v_rf <- vcovCL(rf, cluster = d$office, type = "HC0", cadjust = TRUE)
  v_fs <- vcovCL(fs, cluster = d$office, type = "HC0", cadjust = TRUE)
  # cross-check of the 2SLS point estimate with estimatr's own fixed-effects absorption
  wraw <- setdiff(wn, grep("^m[0-9]+$", wn, value = TRUE))
  est_f <- as.formula(paste("y ~ dd +", paste(c(wraw, if (time == "months") "factor(mo)"), collapse = " + "),
                            "| z +", paste(c(wraw, if (time == "months") "factor(mo)"), collapse = " + ")))
  e <- iv_robust(est_f, data = cbind(d[, c("parent_id", "office", "mo", "dd", "z", "trend", xs)], y = d[[y]]),
                 fixed_effects = ~parent_id, clusters = office, se_type = "CR0")
  stopifnot(abs(coef(e)[["dd"]] - coef(iv)[["dd"]]) < 1e-8)
  # Wald ratio: ITT / (p1 - p0) with the parents' take-up shares; cluster influence values
  X <- model.matrix(rf)
  infl_rf <- rowsum(X * residuals(rf), d$office) %*% solve(crossprod(X))  # G x k
  itt <- coef(rf)[["z"]]
  per <- d[!duplicated(d$parent_id), c("parent_id", "office", "arm", "accepted")]
  p1 <- mean(per$accepted[per$arm == 1]); p0 <- mean(per$accepted[per$arm == 0])
  n1 <- sum(per$arm == 1); n0 <- sum(per$arm == 0)
  offices <- rownames(infl_rf)
  ip1 <- tapply(ifelse(per$arm == 1, (per$accepted - p1) / n1, 0), factor(per$office, levels = offices), sum)
  ip0 <- tapply(ifelse(per$arm == 0, (per$accepted - p0) / n0, 0), factor(per$office, levels = offices), sum)
  dp <- p1 - p0
  iw <- infl_rf[, "z"] / dp - itt * (ip1 - ip0) / dp^2
  data.frame(model = model, estimate = c("itt", "first_stage", "cace_2sls", "cace_wald", "take_up_offered", "take_up_control"),
             coef = c(itt, coef(fs)[["z"]], coef(iv)[["dd"]], itt / dp, p1, p0),
             se = c(sqrt(v_rf["z", "z"]), sqrt(v_fs["z", "z"]), sqrt(v_iv["dd", "dd"]), sqrt(cadj * sum(iw^2)), NA, NA),
             nobs = nrow(d), clusters = G, software = versions)
}
cace_res <- rbind(cace_one("activation", "model1", "linear"), cace_one("employed", "model3", "linear"),
                  cace_one("activation", "model1m", "months"))
write.csv(cace_res, file.path(out, "cace.csv"), row.names = FALSE)

# ---- 2. the monthly series' CACE column -------------------------------------------------------------------
base <- d[d$mo == impl, c("parent_id", "reduced_work_capacity", "activation", "employed")]
names(base)[-1] <- paste0(names(base)[-1], "_b")
monthly <- NULL
for (m in sort(unique(d$mo[d$mo >= impl]))) {
  s <- merge(d[d$mo == m, ], base, by = "parent_id")
  s$dd <- s$arm * s$accepted
  ctrl <- c("reduced_work_capacity_b", if (m != impl) "activation_b", "employed_b")
  f <- as.formula(paste("activation ~ dd +", paste(ctrl, collapse = " + "), "| arm +", paste(ctrl, collapse = " + ")))
  iv <- ivreg(f, data = s)
  v <- vcovCL(iv, cluster = s$office, type = "HC0", cadjust = TRUE)
  itt <- lm(as.formula(paste("activation ~ arm +", paste(ctrl, collapse = " + "))), data = s)
  vi <- vcovCL(itt, cluster = s$office, type = "HC0", cadjust = TRUE)
  monthly <- rbind(monthly, data.frame(month = sprintf("%d-%02d", m %/% 12, m %% 12 + 1), n = nrow(s),
                                       itt = coef(itt)[["arm"]], itt_se = sqrt(vi["arm", "arm"]),
                                       cace = coef(iv)[["dd"]], cace_se = sqrt(v["dd", "dd"])))
}
monthly$software <- versions
write.csv(monthly, file.path(out, "cace_monthly.csv"), row.names = FALSE)

# ---- 3./4. exact conditional logit with a cluster sandwich of the exact conditional scores -------------
# Score of stratum i: sum_t y_t x_t - E[sum_t y_t x_t | sum_t y_t = k], the expectation by the recursion
# B_j(m) = B_{j-1}(m) + w_j B_{j-1}(m-1), D_j(m) = D_{j-1}(m) + w_j (x_j B_{j-1}(m-1) + D_{j-1}(m-1)),
# w_j = exp(eta_j - mean eta); E = D_n(k) / B_n(k).
stratum_scores <- function(X, y, eta, strata) {
  S <- matrix(0, length(unique(strata)), ncol(X), dimnames = list(unique(strata), colnames(X)))
  idx <- split(seq_along(y), factor(strata, levels = unique(strata)))
  for (s in names(idx)) {
    r <- idx[[s]]
    k <- sum(y[r]); n <- length(r)
    if (k == 0 || k == n) next
    w <- exp(eta[r] - mean(eta[r]))
    B <- c(1, rep(0, k))
    D <- matrix(0, k + 1, ncol(X))
    for (j in seq_len(n)) {
      xj <- X[r[j], ]
      Bs <- c(0, B[-(k + 1)])
      Ds <- rbind(0, D[-(k + 1), , drop = FALSE])
      D <- D + w[j] * (outer(Bs, xj) + Ds)
      B <- B + w[j] * Bs
    }
    S[s, ] <- colSums(X[r, , drop = FALSE] * y[r]) - D[k + 1, ] / B[k + 1]
  }
  S
}

clogit_cluster <- function(y, X, parent, office) {
  df <- data.frame(y = y, X, parent = parent, check.names = FALSE)
  terms <- colnames(X)
  f <- as.formula(paste("y ~", paste(sprintf("`%s`", terms), collapse = " + "), "+ strata(parent)"))
  fit <- clogit(f, data = df, method = "exact", control = coxph.control(eps = 1e-12, iter.max = 100))
  b <- coef(fit)
  names(b) <- terms
  S <- stratum_scores(X, y, drop(X %*% b), parent)
  office_of <- tapply(office, parent, function(v) v[1])[rownames(S)]
  Sg <- rowsum(S, office_of)
  V0 <- vcov(fit)
  V <- cadj * V0 %*% crossprod(Sg) %*% V0
  dimnames(V) <- list(terms, terms)
  list(b = b, V = V, score_max = max(abs(colSums(S))), loglik = fit$loglik[2])
}

wald <- function(b, V, terms) {
  q <- length(terms) - 1
  R <- matrix(0, q, length(b)); colnames(R) <- names(b)
  for (j in seq_len(q)) { R[j, terms[j + 1]] <- 1; R[j, terms[1]] <- -1 }
  rb <- R %*% b
  W <- drop(t(rb) %*% solve(R %*% V %*% t(R)) %*% rb)
  c(W = W, q = q, p_chi2 = pchisq(W, q, lower.tail = FALSE), F = W / q, p_F = pf(W / q, q, G - 1, lower.tail = FALSE))
}

rows <- NULL; tests <- NULL
for (spec in list(c("model1", "activation"), c("model3", "employed"))) {
  for (s in c("female", "immigrant")) {
    lev <- d[[s]]  # time-invariant: its baseline value
    X <- cbind(sapply(sort(unique(lev)), function(l) d$z * (lev == l)), as.matrix(d[, xs]), trend = d$trend)
    colnames(X)[seq_along(unique(lev))] <- paste0("treat_", s, "_", sort(unique(lev)))
    r <- clogit_cluster(d[[spec[2]]], X, d$parent_id, d$office)
    tt <- colnames(X)[seq_along(unique(lev))]
    se <- sqrt(diag(r$V))[tt]
    rows <- rbind(rows, data.frame(model = spec[1], variable = s, level = sort(unique(lev)), coef = r$b[tt], se = se,
                                   p = 2 * pnorm(-abs(r$b[tt] / se)), score_max = r$score_max, software = versions))
    w <- wald(r$b, r$V, tt)
    tests <- rbind(tests, data.frame(model = spec[1], variable = s, statistic = w[["W"]], q = w[["q"]],
                                     p = w[["p_chi2"]], F = w[["F"]], p_F = w[["p_F"]], software = versions))
  }
}
tests$p_holm <- ave(tests$p, tests$model, FUN = function(p) p.adjust(p, "holm"))
tests$p_bh <- ave(tests$p, tests$model, FUN = function(p) p.adjust(p, "BH"))
write.csv(rows, file.path(out, "subgroups_levels.csv"), row.names = FALSE)
write.csv(tests, file.path(out, "subgroups_tests.csv"), row.names = FALSE)

k <- d$mo - d$entry
lo <- c(0, 6, 12, 18); hi <- c(6, 12, 18, Inf)
Xb <- sapply(seq_along(lo), function(b) as.integer(d$arm == 1 & k >= lo[b] & k < hi[b]))
colnames(Xb) <- c("since_0_5", "since_6_11", "since_12_17", "since_18plus")
since <- NULL
for (spec in list(c("model1", "activation"), c("model3", "employed"))) {
  X <- cbind(Xb, as.matrix(d[, xs]), trend = d$trend)
  r <- clogit_cluster(d[[spec[2]]], X, d$parent_id, d$office)
  tt <- colnames(Xb)
  se <- sqrt(diag(r$V))[tt]
  w <- wald(r$b, r$V, tt)
  since <- rbind(since, data.frame(model = spec[1], term = tt, coef = r$b[tt], se = se, p = 2 * pnorm(-abs(r$b[tt] / se)),
                                   p_equal = w[["p_chi2"]], W_equal = w[["W"]], score_max = r$score_max,
                                   software = versions))
}
write.csv(since, file.path(out, "since.csv"), row.names = FALSE)
cat("wrote", out, "\n")
